//! `vigil ingest DIR`: copy a recorder's mounted storage into the store.

use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::ProgressBar;
use serde::Serialize;
use vigil_ingest::{IngestOptions, Progress};

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

#[derive(Serialize)]
struct JsonReport<'a> {
    files: &'a [vigil_ingest::StoredFile],
    skipped: &'a [vigil_ingest::Skipped],
    failed: &'a [vigil_ingest::Failed],
    run: &'a str,
}

struct Bar {
    bar: ProgressBar,
    base: u64,
}

impl Progress for Bar {
    fn begin(&mut self, _files: usize, bytes: u64) {
        self.bar.set_length(bytes);
    }
    fn file(&mut self, path: &str) {
        self.bar.set_message(path.to_owned());
    }
    fn bytes(&mut self, done: u64) {
        self.bar.set_position(self.base + done);
    }
    fn file_done(&mut self, bytes: u64) {
        self.base += bytes;
        self.bar.set_position(self.base);
    }
}

/// Runs `vigil ingest`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let (mut store, id) = ctx.open(crate::identity::CUSTODY, "ingesting")?;
    anyhow::ensure!(
        args.min_gap > 0.0 && args.min_gap < args.join_window,
        "--min-gap must be above 0 and below --join-window"
    );
    let naming = vigil_ingest::naming::Naming::with_seq_patterns(&args.seq_pattern)
        .map_err(|e| anyhow::anyhow!("--seq-pattern: {e}"))?;
    let opts = IngestOptions {
        device: args.device,
        officer: args.officer,
        actor: id.actor(),
        continuity: vigil_ingest::Continuity {
            min_gap_s: args.min_gap,
            join_window_s: args.join_window,
            naming,
            clock_offset_s: 0.0,
            clock_trusted: true,
        },
    };
    let report = match output::byte_bar(args.json) {
        Some(bar) => {
            let mut p = Bar { bar, base: 0 };
            let r = vigil_ingest::ingest_dir(&mut store, &args.dir, &opts, &mut p);
            p.bar.finish_and_clear();
            r?
        }
        None => vigil_ingest::ingest_dir(&mut store, &args.dir, &opts, &mut vigil_ingest::Silent)?,
    };
    if args.json {
        output::print_json(&JsonReport {
            files: &report.files,
            skipped: &report.skipped,
            failed: &report.failed,
            run: &report.run,
        })?;
    } else {
        print_text(&report);
    }
    if !args.json {
        let open = store.gaps(&vigil_store::GapFilter {
            open_only: true,
            device: opts.device.clone(),
            ..Default::default()
        })?;
        if !open.is_empty() {
            crate::say!(
                "{} interruption(s) of this recorder need an explanation (R8): vigil gaps --open{}",
                open.len(),
                opts.device
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
            eprintln!("vigil: error: {} was not stored: {}", f.path, f.error);
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
