//! `vigil audit`: the hash-chained audit log (R20): who did what, when.
//! Served by vigild (`GET /api/v1/audit`) or in-process on your own store.
//! `vigil audit prove --from OLD`: the consistency proof an auditor checks
//! offline (`vigil checkpoint verify OLD --proof FILE --key KEY`).

use std::process::ExitCode;
use vigil_service::ops;

use anyhow::Context;
use vigil_service::checkpoints::ConsistencyQuery;
use vigil_service::queries::AuditQuery;

use crate::output;

/// Arguments of `vigil audit`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    cmd: Option<Sub>,
    /// Only rows whose action starts with this (e.g. `clip.`, `gap.explained`).
    #[arg(long)]
    action: Option<String>,
    /// Only rows about this subject (a clip, gap, request or user id).
    #[arg(long)]
    subject: Option<String>,
    /// With --subject a recording: its interruptions' rows too (its whole
    /// trail: detected, explained, co-signed, reviewed).
    #[arg(long, requires = "subject")]
    related: bool,
    /// Only rows by this person (a user name).
    #[arg(long, value_name = "USER")]
    actor: Option<String>,
    /// Only rows written from this time (RFC 3339, or YYYY-MM-DD for
    /// midnight UTC). The audit log goes by when each row was written.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only rows written before this time (RFC 3339, or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Only rows after this sequence number (the last row of the page before).
    #[arg(long, value_name = "SEQ")]
    after: Option<i64>,
    /// At most this many rows (a page of a long log; 1–100000).
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Only this station's log (at the agency centre, which holds every
    /// station's; a station's log is only its own).
    #[arg(long, value_name = "NAME")]
    station: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Print the proof (JSON) that the log extends a kept checkpoint, to
    /// check offline.
    Prove(ProveArgs),
}

/// Arguments of `vigil audit prove`.
#[derive(Debug, clap::Args)]
pub struct ProveArgs {
    /// The checkpoint kept (a file from `vigil checkpoint`), or its size.
    #[arg(long, value_name = "OLD")]
    from: String,
    /// Prove up to this size [default: the newest checkpoint's].
    #[arg(long, value_name = "SIZE")]
    to: Option<u64>,
}

fn prove(ctx: &super::Ctx, args: ProveArgs) -> anyhow::Result<ExitCode> {
    let from = match args.from.parse::<u64>() {
        Ok(n) => n,
        Err(_) => {
            let text = std::fs::read_to_string(&args.from).with_context(|| {
                format!(
                    "--from {}: neither a size nor a readable checkpoint file",
                    args.from
                )
            })?;
            let notes = crate::proof::notes(&text);
            let note = notes
                .last()
                .with_context(|| format!("{} holds no checkpoint", args.from))?;
            // The size line, read without the key: the proof is checked,
            // with the key, by `vigil checkpoint verify`.
            note.lines()
                .nth(1)
                .and_then(|l| l.parse::<u64>().ok())
                .with_context(|| {
                    format!(
                        "{}: not a checkpoint (no tree size on its second line)",
                        args.from
                    )
                })?
        }
    };
    let q = ConsistencyQuery { from, to: args.to };
    let doc = ctx.run::<ops::Consistency>((), q)?;
    if doc["proof"].is_null() {
        anyhow::bail!(
            "no proof: {}",
            doc["problem"].as_str().unwrap_or("the log cannot prove it")
        );
    }
    output::print_json(&doc)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `vigil audit`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    if let Some(Sub::Prove(p)) = args.cmd {
        return prove(ctx, p);
    }
    let until = args.until.as_deref().map(super::parse_time).transpose()?;
    let since = args.since.as_deref().map(super::parse_time).transpose()?;
    super::check_period(("--since", since), ("--until", until))?;
    let q = AuditQuery {
        action: args.action,
        subject: args.subject,
        related: Some(args.related),
        actor: args.actor,
        since: since.map(vigil_service::model::rfc3339),
        until: until.map(vigil_service::model::rfc3339),
        after: args.after,
        limit: args.limit,
        station: args.station,
    };
    let doc = ctx.run::<ops::Audit>((), q)?;
    if args.json {
        output::print_json(&doc)?;
    } else {
        let rows = doc["audit"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        use vigil_i18n::Msg;
        let w = output::Words::from_env();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
        // At the agency centre each row names its station's log.
        let stations = rows.iter().any(|e| e["station"].is_string());
        let mut heads = vec![
            Msg::Seq,
            Msg::When,
            Msg::Who,
            Msg::Action,
            Msg::Subject,
            Msg::ColDetail,
        ];
        if stations {
            heads.insert(0, Msg::Station);
        }
        let mut table = output::Table::new(&w.heads(&heads)).right(&[usize::from(stations)]);
        for e in rows {
            let station = stations.then(|| text(&e["station"]));
            table.row(station.into_iter().chain([
                e["seq"].to_string(),
                w.local(&e["at"]),
                text(&e["actor"]),
                vigil_i18n::actions::said(&text(&e["action"]), w.lang),
                text(&e["subject"]),
                e["detail"].to_string(),
            ]));
        }
        table.print();
        crate::say!(
            "{}\n{}",
            w.fmt(
                if stations {
                    Msg::CountStationLogRows
                } else {
                    Msg::CountAuditRows
                },
                &[("n", &rows.len().to_string())]
            ),
            w.zone_line()
        );
        if doc["more"] == true {
            crate::say!(
                "{}",
                w.fmt(Msg::MoreThanShown, &[("n", &rows.len().to_string())])
            );
        }
        if let Some(next) = doc["next"].as_i64() {
            crate::say!(
                "{}",
                w.fmt(Msg::AuditNextPage, &[("next", &next.to_string())])
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
