//! Long work that runs where the store is (inside vigild for its clients,
//! in-process on a store you own): re-verifying the store, ingesting a
//! recorder's mounted storage. Each reports progress to a [`Sink`] (the CLI
//! draws a bar; the daemon streams it as JSON lines) and returns the
//! document `vigil ... --json` prints.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use vigil_ingest::{IngestOptions, Progress};
use vigil_store::Store;

use crate::error::ServiceError;
use crate::identity::{Identity, AUDIT, CUSTODY};

/// Where progress goes: bytes done of a total, and the file being read.
pub trait Sink {
    /// Progress so far.
    fn progress(&mut self, done: u64, total: u64, file: Option<&str>);
}

/// Re-reads every object, checks both hashes, every clip and the audit
/// chain (R10); the check itself is audited. Returns the report.
pub fn verify(
    store: &mut Store,
    id: &Identity,
    sink: &mut dyn Sink,
) -> Result<vigil_store::VerifyReport, ServiceError> {
    id.require(AUDIT, "verifying the store")?;
    let total = store.indexed_bytes()?;
    sink.progress(0, total, None);
    Ok(store.verify(&id.actor(), &mut |done| sink.progress(done, total, None))?)
}

/// An ingest of a recorder's mounted storage (`vigil ingest`,
/// `POST /api/v1/ingest`). `dir` is read by whoever runs it: vigild reads it
/// as its own user.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IngestRequest {
    /// The recorder's mounted storage.
    #[schema(value_type = String)]
    pub dir: PathBuf,
    /// Its serial number.
    pub device: Option<String>,
    /// The officer it is bound to.
    pub officer: Option<String>,
    /// Interruption threshold, seconds (R7).
    pub min_gap: f64,
    /// Longest pause still joining clips, seconds.
    pub join_window: f64,
    /// Extra sequence-number patterns.
    #[serde(default)]
    pub seq_pattern: Vec<String>,
}

struct Adapter<'a> {
    sink: &'a mut dyn Sink,
    total: u64,
    base: u64,
    file: String,
}

impl Progress for Adapter<'_> {
    fn begin(&mut self, _files: usize, bytes: u64) {
        self.total = bytes;
        self.sink.progress(0, bytes, None);
    }
    fn file(&mut self, path: &str) {
        self.file = path.to_owned();
    }
    fn bytes(&mut self, done: u64) {
        self.sink
            .progress(self.base + done, self.total, Some(&self.file));
    }
    fn file_done(&mut self, bytes: u64) {
        self.base += bytes;
        self.sink.progress(self.base, self.total, Some(&self.file));
    }
}

/// Ingests `req.dir`; returns the report (`run`, `files`, `skipped`,
/// `failed`) and the number of open interruptions of the recorder.
pub fn ingest(
    store: &mut Store,
    id: &Identity,
    req: &IngestRequest,
    sink: &mut dyn Sink,
) -> Result<serde_json::Value, ServiceError> {
    id.require(CUSTODY, "ingesting")?;
    if !(req.min_gap > 0.0 && req.min_gap < req.join_window && req.join_window.is_finite()) {
        return Err(ServiceError::bad_request(
            "--min-gap must be above 0 and below --join-window".into(),
        ));
    }
    let naming = vigil_ingest::naming::Naming::with_seq_patterns(&req.seq_pattern)
        .map_err(|e| ServiceError::bad_request(format!("--seq-pattern: {e}")))?;
    let opts = IngestOptions {
        device: req.device.clone(),
        officer: req.officer.clone(),
        actor: id.actor(),
        continuity: vigil_ingest::Continuity {
            min_gap_s: req.min_gap,
            join_window_s: req.join_window,
            naming,
            clock_offset_s: 0.0,
            clock_trusted: true,
        },
    };
    let mut adapter = Adapter {
        sink,
        total: 0,
        base: 0,
        file: String::new(),
    };
    let report = vigil_ingest::ingest_dir(store, &req.dir, &opts, &mut adapter)
        .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    let open = store
        .gaps(&vigil_store::GapFilter {
            open_only: true,
            device: opts.device.clone(),
            ..Default::default()
        })?
        .len();
    let mut doc =
        serde_json::to_value(&report).map_err(|e| ServiceError::bad_request(e.to_string()))?;
    doc["open_interruptions"] = serde_json::json!(open);
    Ok(doc)
}
