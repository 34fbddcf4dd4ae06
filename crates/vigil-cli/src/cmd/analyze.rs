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
    /// Say, per stream, why each verdict was reached: how the times were
    /// read, the times on both sides of each interruption, the rule that
    /// fired.
    #[arg(long, conflicts_with = "json")]
    explain: bool,
    /// Files analysed at once (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
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
    let entries = analyse_all(&args.files, args.min_gap, args.jobs);
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
                    if args.explain {
                        explain_file(a, args.min_gap);
                    }
                    if let Some(d) = &a.damaged {
                        crate::say!("  DAMAGED: {d}");
                    }
                    for s in &a.streams {
                        crate::say!(
                            "  {} #{} {}: {} frames, starts {:.3} s, ends {:.3} s, frame {:.4} s, {} dropped",
                            s.kind.as_str(), s.index, s.codec, s.frames, s.start_s, s.end_s, s.frame_s, s.dropped_frames
                        );
                        if args.explain {
                            explain_stream(s);
                        }
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
                            if args.explain {
                                crate::say!("      rule: {}", g.kind.rule());
                            }
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

/// Analyses every file, on `jobs` threads or as many as the machine has cores (each
/// file on one thread: FFmpeg's demuxers share nothing between contexts),
/// and returns the results in the order the files were named.
fn analyse_all(files: &[PathBuf], min_gap: f64, jobs: Option<u16>) -> Vec<Entry> {
    let one = |f: &PathBuf| {
        let (analysis, error) = match vigil_media::analyse(f, min_gap) {
            Ok(a) => (Some(a), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Entry {
            path: f.display().to_string(),
            analysis,
            error,
        }
    };
    let workers = jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .min(files.len());
    if workers <= 1 {
        return files.iter().map(one).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Entry)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(f) = files.get(i) else { break };
                        mine.push((i, one(f)));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, e)| e).collect()
}

/// How the file's times were read and what decides damage.
fn explain_file(a: &vigil_media::Analysis, min_gap: f64) {
    let how = match a.method {
        vigil_media::Method::Index => {
            "times read from the container's own sample index (no media data read)"
        }
        vigil_media::Method::Packets => "times read by demuxing every packet (nothing decoded)",
    };
    crate::say!("  how: {how}; smallest gap {min_gap:.3} s");
    crate::say!(
        "  damage: {}",
        match &a.damaged {
            Some(_) => "the file holds less than it declares, or could not be read to its end",
            None => "none: the file reads to its end and holds what its header declares",
        }
    );
}

/// What one stream's verdicts rest on.
fn explain_stream(s: &vigil_media::StreamReport) {
    crate::say!(
        "    frames {} of {} declared; nominal frame {:.6} s; presented {:.6}–{:.6} s",
        s.frames,
        s.declared_frames
            .map_or("none".to_owned(), |d| d.to_string()),
        s.frame_s,
        s.start_s,
        s.end_s
    );
    if let Some(n) = &s.note {
        crate::say!("    note: {n}");
    }
    if s.gaps.is_empty() {
        crate::say!("    no interruption: no frame starts a smallest gap or more after the one before, and the stream does not stop early");
    }
}
