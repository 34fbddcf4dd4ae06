//! `vigil status`: the live view for the officer at the dock and the
//! custodian: each dock, slot, recorder, officer, state, progress and rate,
//! last error, the desk listener and its certificate fingerprint. Asked of
//! the daemon on its socket (any Vigil user may), or read from the status
//! file it keeps in a store you can read (`vigild.status.json`).

use std::process::ExitCode;
use vigil_service::op::{self};
use vigil_service::ops;

use anyhow::Context;

use crate::output;

/// Arguments of `vigil status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the status document as JSON.
    #[arg(long)]
    json: bool,
}

fn alive(pid: i64) -> bool {
    i32::try_from(pid)
        .ok()
        .filter(|&p| p > 0)
        .and_then(rustix::process::Pid::from_raw)
        .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
}

/// Runs `vigil status`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let doc = match ctx.door() {
        // The live board, from the daemon itself (any mapped user).
        super::Door::Daemon(c) => c.call::<ops::Status>(&(), &op::Empty {})?,
        super::Door::Embedded => from_file(ctx)?,
    };
    show(doc, args.json)
}

/// The status file vigild keeps in a store you can read.
fn from_file(ctx: &super::Ctx) -> anyhow::Result<serde_json::Value> {
    let store_path = ctx.store.as_path();
    let path = store_path.join("vigild.status.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!(
                "vigild has never run on the store {} (no {})",
                store_path.display(),
                path.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut doc: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let running = alive(doc["pid"].as_i64().unwrap_or(0));
    doc["running"] = serde_json::json!(running);
    Ok(doc)
}

fn show(doc: serde_json::Value, json: bool) -> anyhow::Result<ExitCode> {
    let running = doc["running"] == true;
    if json {
        output::print_json(&doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::say!(
        "vigild {} (pid {}), updated {}",
        if running { "running" } else { "NOT RUNNING" },
        doc["pid"],
        doc["updated_at"].as_str().unwrap_or("-")
    );
    let free = doc["store_free_bytes"].as_u64().unwrap_or(0);
    crate::say!(
        "store {}: {} free{}",
        doc["store"].as_str().unwrap_or("-"),
        output::bytes(free),
        if doc["store_full"] == true {
            "  FULL: taking no data, erasing nothing until space is freed"
        } else {
            ""
        }
    );
    if let Some(addr) = doc["desk"]["addr"].as_str() {
        crate::say!(
            "desk API on {addr} (TLS), certificate SHA-256 {}",
            doc["desk"]["fingerprint"].as_str().unwrap_or("?")
        );
    }
    for d in doc["docks"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        crate::say!(
            "dock {} {} {}{}",
            d["path"].as_str().unwrap_or("-"),
            d["serial"].as_str().unwrap_or("?"),
            if d["connected"] == true {
                "connected".to_owned()
            } else if let Some(at) = d["lost_at"].as_str() {
                format!("LOST since {at}: its device is gone (unplugged, or failed)")
            } else {
                "DISCONNECTED".to_owned()
            },
            d["last_error"]
                .as_str()
                .map(|e| format!("  last error: {e}"))
                .unwrap_or_default()
        );
    }
    for u in doc["unknown_devices"].as_array().into_iter().flatten() {
        crate::say!(
            "UNKNOWN USB DEVICE {} \"{}\"{} on port {} ({}): not a recorder or dock of this station; not mounted, not served",
            u["id"].as_str().unwrap_or("?"),
            u["name"].as_str().unwrap_or(""),
            u["serial"]
                .as_str()
                .map(|s| format!(" serial {s}"))
                .unwrap_or_default(),
            u["port"].as_str().unwrap_or("?"),
            u["kind"].as_str().unwrap_or("?")
        );
    }
    crate::say!(
        "{:<34} {:<10} {:<8} {:<12} {:>21} {:>10}  NOTE",
        "RECORDER",
        "SERIAL",
        "OFFICER",
        "STATE",
        "PROGRESS",
        "RATE"
    );
    for r in doc["recorders"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        let done = r["bytes_done"].as_u64().unwrap_or(0);
        let total = r["bytes_total"].as_u64().unwrap_or(0);
        let mut note = Vec::new();
        if let Some(f) = r["faults"].as_array().filter(|f| !f.is_empty()) {
            note.push(format!("faults {f:?}"));
        }
        if let Some(d) = r["drift_ms"].as_i64().filter(|d| d.abs() >= 1000) {
            note.push(format!("clock drift {:+.1} s", d as f64 / 1000.0));
        }
        let failed: Vec<&serde_json::Value> = r["failed_files"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        if let Some(n) = r["left_on_recorder"].as_u64().filter(|n| *n > 0) {
            note.push(format!(
                "NOT EMPTIED: {n} file{} left on the recorder, dock it again",
                if n == 1 { "" } else { "s" }
            ));
        }
        if let Some(e) = r["last_error"].as_str().filter(|_| failed.is_empty()) {
            note.push(e.to_owned());
        }
        crate::say!(
            "{:<34} {:<10} {:<8} {:<12} {:>21} {:>8}/s  {}",
            r["source"].as_str().unwrap_or("-"),
            r["serial"].as_str().unwrap_or("-"),
            r["officer"].as_str().unwrap_or("-"),
            r["state"].as_str().unwrap_or("-"),
            format!("{}/{}", output::bytes(done), output::bytes(total)),
            output::bytes(r["rate_bps"].as_u64().unwrap_or(0)),
            note.join("; ")
        );
        for f in failed {
            crate::say!(
                "    failed: {}: {}",
                f["path"].as_str().unwrap_or("?"),
                f["error"].as_str().unwrap_or("?")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
