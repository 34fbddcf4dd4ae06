//! `vigil dock status|pull|enroll PATH`: talk to a docking station directly,
//! for manual use and diagnosis. The same safety rules as the daemon: a
//! file is erased from a recorder only after it is stored, indexed and
//! verified (R2).

use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;
use vigil_dock::client::is_unauthorized;
use vigil_dock::pull::{PullOptions, Pulled};
use vigil_dock::Client;

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

fn connect(
    store: &mut vigil_store::Store,
    path: &str,
    actor: &str,
) -> anyhow::Result<(Client, [u8; 32])> {
    let key = vigil_dock::key::station_key(store.root())?;
    match Client::connect(path, &key) {
        Ok(c) => Ok((c, key)),
        Err(e) => {
            if is_unauthorized(&e) {
                // Logged on the host side too (the dock logs its refusal).
                store.record_event(
                    actor,
                    "dock.refused",
                    path,
                    &serde_json::json!({ "error": e.to_string() }),
                )?;
            }
            Err(e).with_context(|| format!("connecting to the dock at {path}"))
        }
    }
}

#[derive(Serialize)]
struct PullJson<'a> {
    files: Vec<&'a vigil_ingest::StoredFile>,
    skipped: Vec<&'a vigil_ingest::Skipped>,
    failed: Vec<&'a vigil_ingest::Failed>,
    recorders: &'a [Pulled],
    /// Bytes on the wire in each direction (payload efficiency).
    link: LinkStats,
}

#[derive(Serialize)]
struct LinkStats {
    bytes_in: u64,
    bytes_out: u64,
    payload: u64,
}

/// Runs `vigil dock`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let (mut store, id) = ctx.open(crate::identity::CUSTODY, "using a dock")?;
    let actor = id.actor();
    match args.command {
        Sub::Enroll { path } => {
            let key = vigil_dock::key::station_key(store.root())?;
            let mut c =
                Client::open(&path).with_context(|| format!("opening the dock at {path}"))?;
            c.enroll(&key)
                .with_context(|| format!("enrolling the dock at {path}"))?;
            c.authenticate(&key)
                .context("authenticating after enrolment")?;
            store.record_event(
                &actor,
                "dock.enrolled",
                &c.dock.serial,
                &serde_json::json!({ "path": path, "firmware": c.dock.firmware.as_str() }),
            )?;
            crate::say!("dock {} enrolled to this station", c.dock.serial);
            Ok(ExitCode::SUCCESS)
        }
        Sub::Status { path, json } => {
            let (mut c, _) = connect(&mut store, &path, &actor)?;
            let slots = c.status()?;
            if json {
                let slots: Vec<serde_json::Value> = slots
                    .iter()
                    .map(|s| match &s.recorder {
                        None => serde_json::json!({"slot": s.slot, "recorder": null}),
                        Some(r) => serde_json::json!({"slot": s.slot, "recorder": {
                            "serial": r.serial.as_str(), "model": r.model.as_str(), "firmware": r.firmware.as_str(),
                            "officer": r.officer.as_str(), "battery_pct": r.battery_pct, "charging": r.charging,
                            "storage_used": r.storage_used, "storage_free": r.storage_free, "clock_ms": r.clock_ms,
                            "faults": r.faults.as_slice(), "mass_storage": r.mass_storage,
                        }}),
                    })
                    .collect();
                output::print_json(&serde_json::json!({
                    "dock": {"serial": c.dock.serial.as_str(), "firmware": c.dock.firmware.as_str(), "slots": c.dock.slots},
                    "slots": slots,
                }))?;
            } else {
                crate::say!(
                    "dock {} (firmware {}), {} slots",
                    c.dock.serial,
                    c.dock.firmware,
                    c.dock.slots
                );
                for s in &slots {
                    match &s.recorder {
                        None => crate::say!("  slot {:>2}: empty", s.slot),
                        Some(r) => crate::say!(
                            "  slot {:>2}: {} ({}) officer {}  battery {}%{}  used {} free {}  faults {:?}",
                            s.slot,
                            r.serial,
                            r.model,
                            r.officer,
                            r.battery_pct,
                            if r.charging { " charging" } else { "" },
                            output::bytes(r.storage_used),
                            output::bytes(r.storage_free),
                            r.faults.as_slice()
                        ),
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Sub::Pull {
            path,
            slot,
            keep,
            json,
        } => {
            let (mut c, key) = connect(&mut store, &path, &actor)?;
            let opts = PullOptions {
                slot,
                actor,
                continuity: vigil_ingest::Continuity::default(),
                erase: !keep,
                skip: Vec::new(),
            };
            let pulled = vigil_dock::pull::pull(&mut store, &mut c, &key, &opts)?;
            let failed = pulled.iter().map(|p| p.report.failed.len()).sum::<usize>();
            if json {
                output::print_json(&PullJson {
                    files: pulled.iter().flat_map(|p| &p.report.files).collect(),
                    skipped: pulled.iter().flat_map(|p| &p.report.skipped).collect(),
                    failed: pulled.iter().flat_map(|p| &p.report.failed).collect(),
                    recorders: &pulled,
                    link: LinkStats {
                        bytes_in: c.wire_in,
                        bytes_out: c.wire_out,
                        payload: pulled
                            .iter()
                            .flat_map(|p| &p.report.files)
                            .map(|f| f.bytes)
                            .sum(),
                    },
                })?;
            } else {
                for p in &pulled {
                    crate::say!(
                        "slot {} recorder {} (officer {}): {} files stored, {} erased, {} kept, clock drift {:+.3} s, battery {}%{}",
                        p.slot,
                        p.serial,
                        p.officer,
                        p.report.files.len(),
                        p.erased.len(),
                        p.kept.len(),
                        p.drift_ms as f64 / 1000.0,
                        p.battery_pct,
                        if p.faults.is_empty() { String::new() } else { format!(", FAULTS {:?}", p.faults) }
                    );
                    for k in &p.kept {
                        crate::say!("  kept on recorder: {}: {}", k.path, k.reason);
                    }
                    for f in &p.report.failed {
                        crate::say!("  NOT STORED: {}: {}", f.path, f.error);
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
