//! `vigil verify`: re-read every object, check both hashes, every clip's
//! object, the audit chain, its Merkle tree and every kept checkpoint, and
//! every recording's continuity against the gap log (R7, R10). Exit 0 only when all of it holds. Runs
//! inside vigild (its progress streamed back) or in-process on your store.

use std::process::ExitCode;
use vigil_service::op;
use vigil_service::ops;

use vigil_service::jobs::Sink;

use super::Door;
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
    let mut sink = output::BarSink(output::byte_bar(args.json));
    if let Some(bar) = &sink.0 {
        bar.set_message("re-reading objects");
    }
    let report: vigil_service::model::VerifyReport = match ctx.door() {
        Door::Daemon(c) => {
            let doc =
                c.stream::<ops::Verify>(&(), &op::Empty {}, &mut |d, t, f| sink.progress(d, t, f))?;
            serde_json::from_value(doc)?
        }
        Door::Embedded => {
            let (mut store, id) = ctx.open_for_verify("verifying the store")?;
            ops::Verify::run(&mut store, &id, &mut sink)?
        }
    };
    drop(sink);
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
            "{}: {} objects ({}) re-read, {} clips, {} audit rows and their Merkle tree checked, {} recordings analysed again, {} problems",
            if report.ok { "OK" } else { "FAILED" },
            report.objects_checked,
            output::bytes(report.bytes_checked),
            report.clips_checked,
            report.audit_rows_checked,
            report.recordings_reanalysed,
            report.problems.len()
        );
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
