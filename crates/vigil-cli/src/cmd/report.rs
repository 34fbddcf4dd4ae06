//! `vigil report ingest|gaps|stats`: what came in and what needs attention,
//! for the custodian (R1, R4, R5, R8, R9) and the auditor (R19), rendered
//! where the store is (`vigil-service::reports`) in text, CSV, JSON or HTML,
//! and written here to stdout or `--out`.

use std::process::ExitCode;
use vigil_service::op::Endpoint;
use vigil_service::ops;

use anyhow::Context;
use vigil_service::reports::{self, ReportQuery};

use crate::output;

/// Arguments of `vigil report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    kind: Kind,
}

#[derive(Debug, clap::Args)]
struct Common {
    /// From this time (YYYY-MM-DD or RFC 3339) [default: 24 h ago].
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Until this time [default: now].
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// text, csv, json or html.
    #[arg(long, default_value = "text")]
    format: String,
    /// The same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Only this station's (at the agency centre, whose statistics are
    /// across stations; a station reports only on itself).
    #[arg(long, value_name = "NAME")]
    station: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Kind {
    /// Shift/day ingest report: per officer and recorder, clips, hours,
    /// bytes, late ingests, damaged files, interruptions, drift, faults.
    Ingest(Common),
    /// The gap log for auditors: every interruption with its explanation;
    /// overdue first.
    Gaps(Common),
    /// Statistics over a period (R19): recording hours, interruption rate,
    /// late-ingest rate, explanation turnaround, per officer.
    Stats(Common),
}

fn emit(c: &Common, text: String) -> anyhow::Result<()> {
    match &c.out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            // On a terminal, text is escaped like every human-readable line;
            // CSV, JSON and HTML are documents and go out byte for byte. A
            // closed pipe (`| head`) ends the output quietly.
            let shown = if c.format == "text" {
                output::printable(&text)
            } else {
                std::borrow::Cow::Borrowed(text.as_str())
            };
            output::write_quietly(shown.as_bytes());
            Ok(())
        }
    }
}

/// Runs `vigil report`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let (c, kind) = match args.kind {
        Kind::Ingest(c) => (c, "ingest"),
        Kind::Gaps(c) => (c, "gaps"),
        Kind::Stats(c) => (c, "stats"),
    };
    let mut c = c;
    if c.json {
        c.format = "json".into();
    }
    anyhow::ensure!(
        reports::FORMATS.contains(&c.format.as_str()),
        "--format {:?}: one of {}",
        c.format,
        reports::FORMATS.join(", ")
    );
    let until = c.until.as_deref().map(super::parse_time).transpose()?;
    let since = c.since.as_deref().map(super::parse_time).transpose()?;
    super::check_period(("--since", since), ("--until", until))?;
    let q = ReportQuery {
        since: since.map(vigil_service::model::rfc3339),
        until: until.map(vigil_service::model::rfc3339),
        format: Some(c.format.clone()),
        // The printable page follows LANG.
        lang: Some(vigil_i18n::Lang::from_env().code().to_owned()),
        station: c.station.clone(),
    };
    let text = match ctx.door() {
        super::Door::Daemon(client) => {
            client.get_text_with(&ops::Report::path(&kind.to_owned()), &q)?
        }
        super::Door::Embedded => {
            let (mut store, id) = ctx.open(crate::identity::ANYONE, "reading reports")?;
            vigil_desk::printed::document(ops::Report::run(
                &mut store,
                &id,
                kind,
                &q,
                &crate::zone(),
            )?)
        }
    };
    emit(&c, text)?;
    Ok(ExitCode::SUCCESS)
}
