//! `vigil analyze FILE...`: continuity analysis of files without storing
//! them, for diagnosis and for checking a recorder model (R7).

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::output;

/// Arguments of `vigil analyze`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Media files to analyse.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Smallest hole reported as a gap, seconds.
    #[arg(long, default_value_t = vigil_ingest::DEFAULT_MIN_GAP_S, value_name = "SECONDS")]
    min_gap: f64,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Entry {
    path: String,
    #[serde(flatten)]
    analysis: Option<vigil_media::Analysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs `vigil analyze`.
pub fn run(_ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let mut entries = Vec::new();
    for f in &args.files {
        let (analysis, error) = match vigil_media::analyse(f, args.min_gap) {
            Ok(a) => (Some(a), None),
            Err(e) => (None, Some(e.to_string())),
        };
        entries.push(Entry {
            path: f.display().to_string(),
            analysis,
            error,
        });
    }
    if args.json {
        output::print_json(&serde_json::json!({ "files": entries }))?;
    } else {
        for e in &entries {
            match (&e.analysis, &e.error) {
                (Some(a), _) => {
                    crate::say!(
                        "{}: {} ({:?}), {:.3} s readable",
                        e.path,
                        a.format,
                        a.method,
                        a.duration_s
                    );
                    if let Some(d) = &a.damaged {
                        crate::say!("  DAMAGED: {d}");
                    }
                    for s in &a.streams {
                        crate::say!(
                            "  {} #{} {}: {} frames, starts {:.3} s, ends {:.3} s, frame {:.4} s, {} dropped",
                            s.kind.as_str(), s.index, s.codec, s.frames, s.start_s, s.end_s, s.frame_s, s.dropped_frames
                        );
                        for g in &s.gaps {
                            crate::say!(
                                "    {} at {:.3} s for {:.3} s{}",
                                g.kind.as_str().to_uppercase(),
                                g.offset_s,
                                g.duration_s,
                                g.detail
                                    .as_deref()
                                    .map(|d| format!(": {d}"))
                                    .unwrap_or_default()
                            );
                        }
                    }
                }
                (None, Some(err)) => crate::say!("{}: UNREADABLE: {err}", e.path),
                (None, None) => {}
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
