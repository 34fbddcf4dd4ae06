//! `vigil ingest DIR`: copy a recorder's mounted storage into the store.

use std::path::PathBuf;
use std::process::ExitCode;
use vigil_service::ops;

use vigil_service::jobs::{IngestRequest, Sink};

use super::Door;
use crate::output;

/// Arguments of `vigil ingest`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The recorder's mounted storage.
    dir: PathBuf,
    /// The recorder's serial number.
    #[arg(long, value_name = "SERIAL")]
    device: Option<String>,
    /// The officer the recorder is bound to.
    #[arg(long, value_name = "ID")]
    officer: Option<String>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// Smallest hole in the recording that is an interruption, seconds (R7).
    #[arg(long, default_value_t = vigil_ingest::DEFAULT_MIN_GAP_S, value_name = "SECONDS")]
    min_gap: f64,
    /// Longest pause between clips that still joins them into one recording
    /// session, seconds.
    #[arg(long, default_value_t = vigil_ingest::DEFAULT_JOIN_WINDOW_S, value_name = "SECONDS")]
    join_window: f64,
    /// Extra regular expression whose first group is the file's sequence
    /// number (tried before the built-in patterns; repeatable).
    #[arg(long, value_name = "REGEX")]
    seq_pattern: Vec<String>,
}

/// Runs `vigil ingest`: inside vigild (which reads DIR as its own user and
/// streams progress back) or in-process on a store you own.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let dir = if args.dir.is_absolute() {
        args.dir.clone()
    } else {
        std::env::current_dir()?.join(&args.dir)
    };
    let req = IngestRequest {
        dir,
        device: args.device,
        officer: args.officer,
        min_gap: args.min_gap,
        join_window: args.join_window,
        seq_pattern: args.seq_pattern,
    };
    let mut sink = output::BarSink(output::byte_bar(args.json));
    let doc = match ctx.door() {
        Door::Daemon(c) => {
            c.stream::<ops::Ingest>(&(), &req, &mut |d, t, f| sink.progress(d, t, f))?
        }
        Door::Embedded => {
            let (mut store, id) = ctx.open(crate::identity::CUSTODY, "ingesting")?;
            ops::Ingest::run(
                &mut store,
                &id,
                &req,
                &vigil_service::sources::Sources::process(),
                &mut sink,
            )?
        }
    };
    drop(sink);
    let report: vigil_ingest::IngestReport = serde_json::from_value(doc.clone())?;
    if args.json {
        output::print_json(&doc)?;
    } else {
        print_text(&report);
        let open = doc["open_interruptions"].as_u64().unwrap_or(0);
        if open > 0 {
            crate::say!(
                "{open} interruption(s) of this recorder need an explanation (R8): vigil gaps --open{}",
                req.device
                    .as_deref()
                    .map(|d| format!(" --device {d}"))
                    .unwrap_or_default()
            );
        }
    }
    if report.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &report.failed {
            eprintln!(
                "vigil: error: {}",
                output::printable(&format!("{} was not stored: {}", f.path, f.error))
            );
        }
        eprintln!(
            "vigil: {} of {} files were not stored; fix the cause and run the same command again",
            report.failed.len(),
            report.failed.len() + report.files.len()
        );
        Ok(ExitCode::from(1))
    }
}

fn print_text(r: &vigil_ingest::IngestReport) {
    let mut new = 0u64;
    let mut bytes = 0u64;
    for f in &r.files {
        let state = if f.duplicate { "duplicate" } else { "stored" };
        let damaged = f
            .damage_reason
            .as_ref()
            .map(|r| format!("  DAMAGED: {r}"))
            .unwrap_or_default();
        crate::say!(
            "{state:<9}  {}  {:>10}  {}{damaged}",
            &f.blake3[..16],
            output::bytes(f.bytes),
            f.path
        );
        if !f.duplicate {
            new += 1;
            bytes += f.bytes;
        }
    }
    for s in &r.skipped {
        crate::say!("skipped    {}: {}", s.path, s.reason);
    }
    let damaged = r.files.iter().filter(|f| f.damaged).count();
    crate::say!(
        "{} files: {new} new ({}), {} already stored, {damaged} damaged, {} skipped, {} failed (run {})",
        r.files.len() + r.failed.len(),
        output::bytes(bytes),
        r.files.len() as u64 - new,
        r.skipped.len(),
        r.failed.len(),
        r.run
    );
}
