//! `vigil audit`: the hash-chained audit log (R20): who did what, when.
//! Served by vigild (`GET /api/v1/audit`) or in-process on your own store.

use std::process::ExitCode;

use vigil_service::queries::{self, AuditQuery};

use super::Door;
use crate::identity::AUDIT;
use crate::output;

/// Arguments of `vigil audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only rows whose action starts with this (e.g. `clip.`, `gap.explained`).
    #[arg(long)]
    action: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil audit`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let q = AuditQuery {
        action: args.action,
    };
    let doc = match ctx.door() {
        Door::Daemon(c) => c.get_with("/api/v1/audit", &q)?,
        Door::Embedded => {
            let (mut store, id) = ctx.open(AUDIT, "reading the audit log")?;
            queries::audit(&mut store, &id, &q)?
        }
    };
    if args.json {
        output::print_json(&doc)?;
    } else {
        let rows = doc["audit"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
        let mut table =
            output::Table::new(&["SEQ", "AT", "ACTOR", "ACTION", "SUBJECT", "DETAIL"]).right(&[0]);
        for e in rows {
            table.row([
                e["seq"].to_string(),
                text(&e["at"]),
                text(&e["actor"]),
                text(&e["action"]),
                text(&e["subject"]),
                e["detail"].to_string(),
            ]);
        }
        table.print();
        crate::say!("{} rows (verify the chain with `vigil verify`)", rows.len());
    }
    Ok(ExitCode::SUCCESS)
}
