//! `vigil dock status|pull|enroll PATH`: a docking station named by hand,
//! for manual use and diagnosis (`vigil-service::docks`). The same safety
//! rules as the daemon: a file is erased from a recorder only after it is
//! stored, indexed and verified (R2).

use std::process::ExitCode;
use vigil_service::ops;

use vigil_service::docks::{DockPath, PullRequest};

use crate::output;

/// Arguments of `vigil dock`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// The dock's identity and every slot's status.
    Status {
        /// The dock's serial device (e.g. /dev/serial/by-id/...vigil-dock...).
        path: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Empty one or all docked recorders into the store.
    Pull {
        /// The dock's serial device.
        path: String,
        /// Only this slot.
        #[arg(long)]
        slot: Option<u8>,
        /// Keep the files on the recorder (no erase).
        #[arg(long)]
        keep: bool,
        /// Print one JSON document (the `files` document of `vigil ingest`).
        #[arg(long)]
        json: bool,
    },
    /// Give a factory-new dock this station's key.
    Enroll {
        /// The dock's serial device.
        path: String,
    },
}

/// Runs `vigil dock`: the dock is opened where the store and its station
/// key are (by vigild for its clients).
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Sub::Enroll { path } => {
            let p = DockPath { path };
            let doc = ctx.run::<ops::DockEnroll>((), p)?;
            crate::say!(
                "dock {} enrolled to this station",
                doc["dock"].as_str().unwrap_or("-")
            );
            Ok(ExitCode::SUCCESS)
        }
        Sub::Status { path, json } => {
            let p = DockPath { path };
            let doc = ctx.run::<ops::DockStatus>((), p)?;
            if json {
                output::print_json(&doc)?;
                return Ok(ExitCode::SUCCESS);
            }
            let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
            let dock = &doc["dock"];
            crate::say!(
                "dock {} (firmware {}), {} slots",
                text(&dock["serial"]),
                text(&dock["firmware"]),
                dock["slots"]
            );
            for s in doc["slots"].as_array().into_iter().flatten() {
                let r = &s["recorder"];
                if r.is_null() {
                    crate::say!("  slot {:>2}: empty", s["slot"]);
                    continue;
                }
                crate::say!(
                    "  slot {:>2}: {} ({}) officer {}  battery {}%{}  used {} free {}  faults {}",
                    s["slot"],
                    text(&r["serial"]),
                    text(&r["model"]),
                    text(&r["officer"]),
                    r["battery_pct"],
                    if r["charging"] == true {
                        " charging"
                    } else {
                        ""
                    },
                    output::bytes(r["storage_used"].as_u64().unwrap_or(0)),
                    output::bytes(r["storage_free"].as_u64().unwrap_or(0)),
                    r["faults"]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Sub::Pull {
            path,
            slot,
            keep,
            json,
        } => {
            let r = PullRequest { path, slot, keep };
            let mut bar = output::BarSink(output::byte_bar(json));
            let doc = match ctx.door() {
                super::Door::Daemon(c) => c.stream::<ops::DockPull>(&(), &r, &mut |d, t, f| {
                    vigil_service::jobs::Sink::progress(&mut bar, d, t, f)
                })?,
                super::Door::Embedded => {
                    let (mut store, id) = ctx.open(crate::identity::ANYONE, "using a dock")?;
                    ops::DockPull::run(&mut store, &id, &r, &mut bar)?
                }
            };
            drop(bar);
            let failed = doc["failed"].as_array().map_or(0, Vec::len);
            if json {
                output::print_json(&doc)?;
            } else {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
                let count = |v: &serde_json::Value| v.as_array().map_or(0, Vec::len);
                for p in doc["recorders"].as_array().into_iter().flatten() {
                    let faults = count(&p["faults"]);
                    crate::say!(
                        "slot {} recorder {} (officer {}): {} files stored, {} erased, {} kept, clock drift {:+.3} s, battery {}%{}",
                        p["slot"],
                        text(&p["serial"]),
                        text(&p["officer"]),
                        count(&p["files"]),
                        count(&p["erased"]),
                        count(&p["kept"]),
                        p["drift_ms"].as_f64().unwrap_or(0.0) / 1000.0,
                        p["battery_pct"],
                        if faults == 0 { String::new() } else { format!(", FAULTS {}", p["faults"]) }
                    );
                    for k in p["kept"].as_array().into_iter().flatten() {
                        crate::say!(
                            "  kept on recorder: {}: {}",
                            text(&k["path"]),
                            text(&k["reason"])
                        );
                    }
                    for f in p["failed"].as_array().into_iter().flatten() {
                        crate::say!("  NOT STORED: {}: {}", text(&f["path"]), text(&f["error"]));
                    }
                }
            }
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
