//! The live status board: every dock, recorder and the store, as the
//! workers report them. Written atomically to `<store>/vigild.status.json`
//! whenever it changes (at most every 250 ms), which is what `vigil status`
//! reads: no socket to secure, and the file works for anyone who may read
//! the store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

/// File name of the status document inside the store.
pub const STATUS_FILE: &str = "vigild.status.json";

/// One recorder being served.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Recorder {
    /// `dock PATH slot N` or `mount DIR`.
    pub source: String,
    /// Dock serial, for docked recorders.
    pub dock: Option<String>,
    /// Slot, for docked recorders.
    pub slot: Option<u8>,
    /// Recorder serial.
    pub serial: String,
    /// Officer it is bound to.
    pub officer: Option<String>,
    /// detected, identified, clock_synced, pulling, analysing, verified,
    /// erased, done, parked, failed.
    pub state: String,
    /// Bytes done.
    pub bytes_done: u64,
    /// Bytes to do.
    pub bytes_total: u64,
    /// Current rate, bytes per second.
    pub rate_bps: u64,
    /// Last error, if any.
    pub last_error: Option<String>,
    /// Battery, percent (docked recorders).
    pub battery_pct: Option<u8>,
    /// Fault codes reported (R4).
    pub faults: Vec<u16>,
    /// Clock drift found at docking, ms (R5).
    pub drift_ms: Option<i64>,
    /// Files of this docking that could not be stored, each with why.
    pub failed_files: Vec<FileProblem>,
    /// Files still on the recorder after its pull (failed, or stored but
    /// not erased): the recorder was not emptied and must be docked again.
    pub left_on_recorder: u64,
    #[serde(skip)]
    started: Option<Instant>,
}

/// A file and what went wrong with it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct FileProblem {
    /// Its path on the recorder.
    pub path: String,
    /// Why.
    pub error: String,
}

/// One dock.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Dock {
    /// Device path.
    pub path: String,
    /// Serial, once connected.
    pub serial: Option<String>,
    /// Connected and authenticated now.
    pub connected: bool,
    /// Last error, if any.
    pub last_error: Option<String>,
    /// When it was last connected (RFC 3339 UTC).
    pub connected_at: Option<String>,
    /// When it went away (RFC 3339 UTC): the dock's device is gone. A lost
    /// dock stays on the board until it is back, so a dock that failed does
    /// not look like a quiet station.
    pub lost_at: Option<String>,
}

/// The whole board.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Board {
    /// Daemon process id.
    pub pid: u32,
    /// When it started.
    pub started_at: String,
    /// Last change.
    pub updated_at: String,
    /// The store directory.
    pub store: String,
    /// Free bytes in the store's file system.
    pub store_free_bytes: u64,
    /// Taking no data because the store is (nearly) full.
    pub store_full: bool,
    /// Docks by path.
    pub docks: BTreeMap<String, Dock>,
    /// Recorders by source.
    pub recorders: BTreeMap<String, Recorder>,
    /// USB devices plugged in that are not the station's recorders or
    /// docks: not mounted, not served.
    pub unknown_devices: Vec<crate::devices::UnknownDevice>,
    /// The desk listener, when configured: its address and the SHA-256
    /// fingerprint of its certificate (what a desk pins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desk: Option<Desk>,
    #[serde(skip)]
    dirty: bool,
}

/// The desk (TLS) listener.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Desk {
    /// Where it listens.
    pub addr: String,
    /// The certificate's SHA-256 fingerprint.
    pub fingerprint: String,
}

/// The board, shared between workers.
#[derive(Debug, Clone)]
pub struct Shared(Arc<Mutex<Board>>);

impl Shared {
    /// A fresh board.
    pub fn new(store: &Path) -> Self {
        Self(Arc::new(Mutex::new(Board {
            pid: std::process::id(),
            started_at: vigil_store::now_rfc3339(),
            store: store.display().to_string(),
            dirty: true,
            ..Default::default()
        })))
    }

    /// Changes the board.
    pub fn update<T>(&self, f: impl FnOnce(&mut Board) -> T) -> T {
        let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
        b.dirty = true;
        f(&mut b)
    }

    /// Changes one recorder's entry (created on first use).
    pub fn recorder(&self, source: &str, f: impl FnOnce(&mut Recorder)) {
        self.update(|b| {
            let r = b
                .recorders
                .entry(source.to_owned())
                .or_insert_with(|| Recorder {
                    source: source.to_owned(),
                    state: "detected".into(),
                    ..Default::default()
                });
            f(r);
        });
    }

    /// Sets a recorder's state.
    pub fn state(&self, source: &str, state: &str) {
        tracing::info!(%source, %state, "recorder state");
        self.recorder(source, |r| {
            r.state = state.to_owned();
            if state == "identified" {
                // A new pull: what the last one left is no longer news.
                r.failed_files.clear();
                r.left_on_recorder = 0;
                r.last_error = None;
            }
            if state == "pulling" {
                r.started = Some(Instant::now());
            }
        });
    }

    /// Sets a recorder's progress.
    pub fn bytes(&self, source: &str, done: u64, total: u64) {
        self.recorder(source, |r| {
            r.bytes_done = done;
            r.bytes_total = total;
            if let Some(t) = r.started {
                let secs = t.elapsed().as_secs_f64();
                if secs > 0.0 {
                    r.rate_bps = (done as f64 / secs) as u64;
                }
            }
        });
    }

    /// The board as the status document (what `GET /api/v1/status` serves).
    pub fn document(&self) -> serde_json::Value {
        let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
        b.updated_at = vigil_store::now_rfc3339();
        serde_json::to_value(&*b).unwrap_or_default()
    }

    /// Writes the board if it changed.
    pub fn flush(&self, path: &Path) {
        let doc = {
            let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if !b.dirty {
                return;
            }
            b.dirty = false;
            b.updated_at = vigil_store::now_rfc3339();
            serde_json::to_vec_pretty(&*b).unwrap_or_default()
        };
        let tmp: PathBuf = path.with_extension("json.tmp");
        if std::fs::write(&tmp, doc)
            .and_then(|()| std::fs::rename(&tmp, path))
            .is_err()
        {
            tracing::warn!(path = %path.display(), "cannot write the status file");
        }
    }
}
