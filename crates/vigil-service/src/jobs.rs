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
use crate::identity::Identity;

/// Where progress goes: bytes done of a total, and the file being read.
pub trait Sink {
    /// Progress so far.
    fn progress(&mut self, done: u64, total: u64, file: Option<&str>);
}

/// Re-reads every object, checks both hashes, every clip, the audit chain
/// and its Merkle tree and checkpoints (R10), and every recording's
/// continuity against the gap log; the check itself is audited. Returns
/// the report.
pub(crate) fn verify(
    store: &mut Store,
    id: &Identity,
    sink: &mut dyn Sink,
) -> Result<vigil_store::VerifyReport, ServiceError> {
    let total = store.recordings().indexed_bytes()?;
    sink.progress(0, total, None);
    store.verify_with(
        &id.actor(),
        &mut |done| sink.progress(done, total, None),
        recheck_continuity,
    )
}

/// Analyses every stored recording again (MP4/MOV from their headers
/// alone) with the threshold its `clip.ingested` row records, and names
/// each interruption the gap log lacks: a gap row deleted behind the
/// service's back is caught even where no checkpoint was kept (R7, R10).
fn recheck_continuity(
    store: &Store,
    report: &mut vigil_store::VerifyReport,
) -> Result<(), ServiceError> {
    use vigil_store::{ClipKind, GapKind};
    let mut thresholds = std::collections::HashMap::new();
    for e in store.log().audit_entries()? {
        if e.action == "clip.ingested" {
            if let Some(t) = e.detail["min_gap_s"].as_f64() {
                thresholds.insert(e.subject, t);
            }
        }
    }
    let logged = store.gap_log().gaps(&vigil_store::GapFilter::default())?;
    for c in store
        .recordings()
        .clips(&vigil_store::ClipFilter::default())?
    {
        if !matches!(c.kind, ClipKind::Video | ClipKind::Audio) {
            continue;
        }
        let path = store.objects().object_path(&c.blake3);
        if !path.exists() {
            continue; // purged under the policy, or named missing already
        }
        let min_gap = thresholds
            .get(&c.clip)
            .copied()
            .unwrap_or(vigil_ingest::DEFAULT_MIN_GAP_S);
        let Ok(a) = vigil_media::analyse(&path, min_gap) else {
            continue; // unreadable as media: stored as damaged at ingest
        };
        report.recordings_reanalysed += 1;
        for s in &a.streams {
            for g in &s.gaps {
                let kind = match g.kind {
                    vigil_media::GapKind::Hole => GapKind::WithinClip,
                    vigil_media::GapKind::Restart => GapKind::Restart,
                    vigil_media::GapKind::StreamStopped => GapKind::StreamStopped,
                    vigil_media::GapKind::EditListCut => GapKind::EditListCut,
                };
                let found = logged.iter().any(|l| {
                    l.clip == c.clip
                        && l.kind == kind
                        && l.stream.as_deref() == Some(s.kind.as_str())
                        && l.offset_s.is_some_and(|o| (o - g.offset_s).abs() < 1e-3)
                });
                if !found {
                    report.problems.push(vigil_store::Problem {
                        kind: "interruption_missing".into(),
                        subject: c.clip.clone(),
                        detail: format!(
                            "{}: its {} stream is interrupted at {:.3} s for {:.3} s ({}), but the gap log has no such interruption (a gap row was removed?)",
                            c.path,
                            s.kind.as_str(),
                            g.offset_s,
                            g.duration_s,
                            kind.as_str()
                        ),
                    });
                }
            }
        }
    }
    Ok(())
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

/// Ingests `req.dir` if it is a recorder source the caller may name
/// ([`crate::sources::check`]); returns the report (`run`, `files`,
/// `skipped`, `failed`) and the number of open interruptions of the
/// recorder.
pub(crate) fn ingest(
    store: &mut Store,
    id: &Identity,
    req: &IngestRequest,
    sources: &crate::sources::Sources,
    sink: &mut dyn Sink,
) -> Result<serde_json::Value, ServiceError> {
    let source = crate::sources::check(&req.dir, store.root(), sources)?;
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
        limits: source.limits,
        root_id: Some(source.id),
    };
    let mut adapter = Adapter {
        sink,
        total: 0,
        base: 0,
        file: String::new(),
    };
    let report = vigil_ingest::ingest_dir(store, &source.path, &opts, &mut adapter)
        .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    let open = store
        .gap_log()
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
