//! `vigil verify`: re-read every object, check both hashes, every clip's
//! object and the audit chain (R10). Exit 0 only when all of it holds.

use std::process::ExitCode;

use crate::output;

/// Arguments of `vigil verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil verify`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let (mut store, id) = ctx.open_for_verify("verifying the store")?;
    let actor = id.actor();
    let bar = output::byte_bar(args.json);
    if let Some(bar) = &bar {
        bar.set_length(store.indexed_bytes()?);
        bar.set_message("re-reading objects");
    }
    let report = store.verify(&actor, &mut |done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if args.json {
        output::print_json(&report)?;
    } else {
        for p in &report.problems {
            crate::say!("BAD      {} {}: {}", p.kind, p.subject, p.detail);
        }
        for w in &report.warnings {
            crate::say!("warning  {} {}: {}", w.kind, w.subject, w.detail);
        }
        crate::say!(
            "{}: {} objects ({}) re-read, {} clips, {} audit rows checked, {} problems",
            if report.ok { "OK" } else { "FAILED" },
            report.objects_checked,
            output::bytes(report.bytes_checked),
            report.clips_checked,
            report.audit_rows_checked,
            report.problems.len()
        );
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
