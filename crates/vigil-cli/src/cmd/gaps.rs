//! `vigil gaps`: the gap log (R7–R9): every interruption, open or explained.

use std::process::ExitCode;

use serde::Serialize;
use vigil_store::{Gap, GapFilter};

use crate::output;

/// Default hours after which an open interruption is overdue.
pub const DEFAULT_DEADLINE_H: i64 = 24;

/// Arguments of `vigil gaps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only interruptions still needing an explanation.
    #[arg(long)]
    open: bool,
    /// Only this officer's.
    #[arg(long, value_name = "ID")]
    officer: Option<String>,
    /// Only this recorder's.
    #[arg(long, value_name = "SERIAL")]
    device: Option<String>,
    /// Only interruptions at or after this time (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Open interruptions found more than this many hours ago are overdue.
    #[arg(long, default_value_t = DEFAULT_DEADLINE_H, value_name = "HOURS")]
    deadline: i64,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonGaps<'a> {
    gaps: &'a [Gap],
}

/// Runs `vigil gaps`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    if let Some(since) = &args.since {
        anyhow::Context::context(super::parse_time(since), "--since")?;
    }
    let (mut store, id) = ctx.open(crate::identity::ANYONE, "listing interruptions")?;
    let mut gaps = store.gaps(&GapFilter {
        open_only: args.open,
        officer: args.officer,
        device: args.device,
        since: args.since,
        overdue_after_s: args.deadline * 3600,
        ..Default::default()
    })?;
    // Overdue first, then in time order (the store's order).
    gaps.sort_by_key(|g| !g.overdue);
    // R20: every read is attributable.
    store.record_read(
        &id.actor(),
        "gaps.listed",
        "gaps",
        &serde_json::json!({"shown": gaps.len()}),
    )?;
    if args.json {
        output::print_json(&JsonGaps { gaps: &gaps })?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::say!(
        "{:<17}  {:<13}  {:<9}  {:<6}  {:>9}  {:>9}  {:<24}  PATH",
        "GAP",
        "KIND",
        "STATUS",
        "STREAM",
        "OFFSET",
        "DURATION",
        "WALL CLOCK"
    );
    for g in &gaps {
        let status = match (g.status, g.overdue) {
            ("explained", _) => "explained",
            (_, true) => "OVERDUE",
            (s, false) => s,
        };
        let path = match (&g.previous_path, &g.missing) {
            (Some(prev), Some(missing)) => format!("{prev} .. [{missing} missing] .. {}", g.path),
            (Some(prev), None) => format!("{prev} -> {}", g.path),
            _ => g.path.clone(),
        };
        crate::say!(
            "{:<17}  {:<13}  {:<9}  {:<6}  {:>9}  {:>8.3}s  {:<24}  {}",
            g.id,
            g.kind.as_str(),
            status,
            g.stream.as_deref().unwrap_or("-"),
            g.offset_s
                .map(|o| format!("{o:.3}s"))
                .unwrap_or_else(|| "-".into()),
            g.duration_s,
            g.wall_start.as_deref().unwrap_or("-"),
            path
        );
    }
    let open = gaps.iter().filter(|g| g.status != "explained").count();
    let overdue = gaps.iter().filter(|g| g.overdue).count();
    crate::say!(
        "{} interruptions, {open} open, {overdue} overdue",
        gaps.len()
    );
    Ok(ExitCode::SUCCESS)
}
