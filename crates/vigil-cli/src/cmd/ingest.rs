//! `vigil ingest DIR`: copy a recorder's mounted storage into the store.

use std::path::{Path, PathBuf};
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
pub fn run(store_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let mut store = super::open_store(store_path)?;
    let opts = IngestOptions {
        device: args.device,
        officer: args.officer,
        actor: crate::actor::current(),
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
        print!(
            "{state:<9}  {}  {:>10}  {}",
            &f.blake3[..16],
            output::bytes(f.bytes),
            f.path
        );
        if let Some(reason) = &f.damage_reason {
            print!("  DAMAGED: {reason}");
        }
        println!();
        if !f.duplicate {
            new += 1;
            bytes += f.bytes;
        }
    }
    for s in &r.skipped {
        println!("skipped    {}: {}", s.path, s.reason);
    }
    let damaged = r.files.iter().filter(|f| f.damaged).count();
    println!(
        "{} files: {new} new ({}), {} already stored, {damaged} damaged, {} skipped, {} failed (run {})",
        r.files.len() + r.failed.len(),
        output::bytes(bytes),
        r.files.len() as u64 - new,
        r.skipped.len(),
        r.failed.len(),
        r.run
    );
}
