//! Output helpers shared by subcommands: JSON documents and progress bars.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

/// Prints one JSON document on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A byte progress bar when stdout is a terminal and JSON was not asked for.
pub fn byte_bar(json: bool) -> Option<ProgressBar> {
    if json || !std::io::stdout().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {bytes_per_sec} [{bar:30}] {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    Some(bar)
}

/// Human-readable byte count.
pub fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}
