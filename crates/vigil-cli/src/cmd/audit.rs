//! `vigil audit`: the hash-chained audit log (R20): who did what, when.

use std::process::ExitCode;

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
    let (mut store, id) = ctx.open(AUDIT, "reading the audit log")?;
    let rows: Vec<_> = store
        .audit_entries()?
        .into_iter()
        .filter(|e| {
            args.action
                .as_deref()
                .is_none_or(|a| e.action.starts_with(a))
        })
        .collect();
    // Reading the log is itself on the record (R20), after what was read.
    store.record_read(
        &id.actor(),
        "audit.read",
        "audit",
        &serde_json::json!({"rows": rows.len(), "action": args.action}),
    )?;
    if args.json {
        output::print_json(&serde_json::json!({ "audit": rows }))?;
    } else {
        for e in &rows {
            crate::say!(
                "{:>6}  {}  {:<24} {:<22} {}  {}",
                e.seq,
                e.at,
                e.actor,
                e.action,
                e.subject,
                e.detail
            );
        }
        crate::say!("{} rows (verify the chain with `vigil verify`)", rows.len());
    }
    Ok(ExitCode::SUCCESS)
}
