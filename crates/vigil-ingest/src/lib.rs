//! Vigil's ingest: empties a recorder's file tree into the evidence store.
//!
//! For each regular file under the root ([`walk`] never follows a link), the
//! bytes are copied into the store while both hashes are computed in the
//! same pass ([`vigil_store::ObjectStore::put`]); once the object is durable
//! the file is probed with FFmpeg, and only then is the clip row committed
//! with its audit entry. A file that cannot be read as the media it claims
//! to be is stored byte-exact and marked damaged, never skipped (R10, R15).
//! The source is only ever opened read-only.

pub mod walk;

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::Serialize;
use std::sync::mpsc;
use time::OffsetDateTime;
use vigil_media::Expect;

use vigil_store::{
    ClipKind, ClipStatus, NewClip, ObjectStore, PendingObject, RunCounts, Store, StoreError,
};

/// Default smallest hole reported as an interruption, seconds (R7).
pub const DEFAULT_MIN_GAP_S: f64 = 1.0;
/// Default longest pause between clips that still joins them into one
/// recording session, seconds.
pub const DEFAULT_JOIN_WINDOW_S: f64 = 600.0;

/// Errors that stop a whole ingest (per-file problems are reported in
/// [`IngestReport::failed`] instead).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The recorder root cannot be opened.
    #[error("cannot open recorder directory {}: {source}", path.display())]
    Root {
        /// The root given.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The store failed in a way that affects every file.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who ingests, and for which recorder.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Recorder serial.
    pub device: Option<String>,
    /// Officer the recorder is bound to.
    pub officer: Option<String>,
    /// The user doing it (for the audit log).
    pub actor: String,
}

/// One stored file, as `vigil ingest --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct StoredFile {
    /// Path relative to the recorder root (printable).
    pub path: String,
    /// Clip id.
    pub clip: String,
    /// BLAKE3, hex.
    pub blake3: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// Size.
    pub bytes: u64,
    /// The content was already in the store.
    pub duplicate: bool,
    /// Stored, but not readable as the media it claims to be.
    pub damaged: bool,
    /// Why it is damaged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage_reason: Option<String>,
}

/// An entry not ingested on purpose.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Path relative to the recorder root.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// A regular file that could not be stored.
#[derive(Debug, Clone, Serialize)]
pub struct Failed {
    /// Path relative to the recorder root.
    pub path: String,
    /// What went wrong.
    pub error: String,
}

/// Everything one ingest did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Ingest run id.
    pub run: String,
    /// Stored files (new and duplicate).
    pub files: Vec<StoredFile>,
    /// Entries skipped (links, devices, ...).
    pub skipped: Vec<Skipped>,
    /// Regular files that could not be stored.
    pub failed: Vec<Failed>,
}

/// Progress callbacks for a front end.
pub trait Progress {
    /// Called once with the number of files and bytes to do.
    fn begin(&mut self, _files: usize, _bytes: u64) {}
    /// Called when a file starts.
    fn file(&mut self, _path: &str) {}
    /// Called with the bytes of the current file done so far.
    fn bytes(&mut self, _done_in_file: u64) {}
    /// Called when a file is finished.
    fn file_done(&mut self, _file_bytes: u64) {}
}

/// A [`Progress`] that shows nothing.
#[derive(Debug)]
pub struct Silent;
impl Progress for Silent {}

/// Ingests every regular file under `root` into `store`.
pub fn ingest_dir(
    store: &mut Store,
    root: &Path,
    opts: &IngestOptions,
    progress: &mut dyn Progress,
) -> Result<IngestReport, IngestError> {
    let root_fd = walk::open_root(root)?;
    let listing = walk::list(&root_fd);
    let run = store.begin_run(
        &opts.actor,
        &root.display().to_string(),
        opts.device.as_deref(),
        opts.officer.as_deref(),
    )?;
    let mut report = IngestReport {
        run: run.clone(),
        ..Default::default()
    };
    for s in &listing.skipped {
        tracing::warn!(path = %walk::display(&s.rel), reason = %s.reason, "skipped");
        report.skipped.push(Skipped {
            path: walk::display(&s.rel),
            reason: s.reason.clone(),
        });
    }
    progress.begin(
        listing.files.len(),
        listing.files.iter().map(|f| f.size).sum(),
    );
    let objects = store.objects().clone();
    // Copy file N+1 while file N is fsynced, probed and committed: a
    // finalizer thread owns the index; this thread only reads and copies.
    let (to_finalize, jobs) = mpsc::sync_channel::<Job>(1);
    let finalized = std::thread::scope(|scope| {
        let finalizer = scope.spawn(|| -> Result<Vec<Result<StoredFile, Failed>>, IngestError> {
            let mut done = Vec::new();
            for job in jobs {
                done.push(finalize(store, &run, opts, job)?);
            }
            Ok(done)
        });
        let mut early = Vec::new();
        for found in &listing.files {
            let path = walk::display(&found.rel);
            progress.file(&path);
            match copy_file(&objects, &root_fd, found, &path, progress) {
                Ok(job) => {
                    if to_finalize.send(job).is_err() {
                        break; // the finalizer stopped on a fatal error
                    }
                }
                Err(error) => {
                    tracing::error!(%path, %error, "file not stored");
                    early.push(Failed { path, error });
                }
            }
            progress.file_done(found.size);
        }
        drop(to_finalize);
        let mut done = finalizer.join().expect("finalizer does not panic")?;
        done.extend(early.into_iter().map(Err));
        Ok::<_, IngestError>(done)
    })?;
    let mut counts = RunCounts {
        skipped: listing.skipped.len() as u64,
        ..Default::default()
    };
    for r in finalized {
        match r {
            Ok(stored) => {
                if stored.duplicate {
                    counts.duplicates += 1;
                } else {
                    counts.stored += 1;
                }
                report.files.push(stored);
            }
            Err(failed) => {
                counts.failed += 1;
                report.failed.push(failed);
            }
        }
    }
    store.finish_run(&opts.actor, &run, &counts)?;
    Ok(report)
}

/// A file copied into a temp object, waiting to be made durable and indexed.
struct Job {
    pending: PendingObject,
    rel: Vec<u8>,
    path: String,
    listed_len: u64,
    mtime: Option<String>,
}

fn copy_file(
    objects: &ObjectStore,
    root: &std::os::fd::OwnedFd,
    found: &walk::FoundFile,
    path: &str,
    progress: &mut dyn Progress,
) -> Result<Job, String> {
    let mut file: File =
        walk::open_file(root, &found.rel).map_err(|e| format!("cannot open: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot stat: {e}"))?;
    let pending = objects
        .write_temp(&mut file, &mut |done| progress.bytes(done))
        .map_err(|e| e.to_string())?;
    Ok(Job {
        pending,
        rel: found.rel.clone(),
        path: path.to_owned(),
        listed_len: meta.len(),
        mtime: meta
            .modified()
            .ok()
            .map(|t| vigil_store::rfc3339(OffsetDateTime::from(t))),
    })
}

/// Makes a copied file durable, probes it and indexes it. A problem with
/// this file alone is returned as `Ok(Err(..))`; a store failure as `Err`.
fn finalize(
    store: &mut Store,
    run: &str,
    opts: &IngestOptions,
    job: Job,
) -> Result<Result<StoredFile, Failed>, IngestError> {
    let Job {
        pending,
        rel,
        path,
        listed_len,
        mtime,
    } = job;
    let object = match store.objects().commit(pending) {
        Ok(o) => o,
        Err(e @ (StoreError::Io { .. } | StoreError::Source { .. })) => {
            tracing::error!(%path, error = %e, "file not stored");
            return Ok(Err(Failed {
                path,
                error: e.to_string(),
            }));
        }
        Err(e) => return Err(e.into()),
    };
    let analysis = analyse(&object.path, &rel);
    let mut status = analysis.status;
    if object.digests.bytes != listed_len {
        status = ClipStatus::Damaged(format!(
            "the file changed while it was read: {listed_len} bytes were listed, {} read",
            object.digests.bytes
        ));
    }
    let clip = NewClip {
        path: rel,
        path_display: path.clone(),
        device: opts.device.clone(),
        officer: opts.officer.clone(),
        digests: object.digests.clone(),
        kind: analysis.kind,
        recorded_start: analysis.start.map(vigil_store::rfc3339),
        recorded_end: analysis.end.map(vigil_store::rfc3339),
        time_source: analysis.start.map(|_| "container".to_owned()),
        source_mtime: mtime,
        status: status.clone(),
    };
    let recorded = store.record_clip(&opts.actor, Some(run), &clip)?;
    let (damaged, damage_reason) = match status {
        ClipStatus::Ok => (false, None),
        ClipStatus::Damaged(r) => (true, Some(r)),
    };
    Ok(Ok(StoredFile {
        path,
        clip: recorded.id,
        blake3: object.digests.blake3,
        sha256: object.digests.sha256,
        bytes: object.digests.bytes,
        duplicate: recorded.duplicate,
        damaged,
        damage_reason,
    }))
}

struct Analysis {
    kind: ClipKind,
    status: ClipStatus,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
}

/// Decides what a stored file is and whether it is damaged. Reads the
/// durable object, never the recorder.
fn analyse(object: &Path, rel: &[u8]) -> Analysis {
    let expect = vigil_media::classify(rel);
    let other = Analysis {
        kind: ClipKind::Other,
        status: ClipStatus::Ok,
        start: None,
        end: None,
    };
    if expect == Expect::Other {
        return other;
    }
    let fallback_kind = match expect {
        Expect::Video => ClipKind::Video,
        Expect::Audio => ClipKind::Audio,
        Expect::Photo => ClipKind::Photo,
        Expect::Other | Expect::Unknown => ClipKind::Other,
    };
    match vigil_media::probe(object) {
        Ok(p) => {
            let kind = if p.is_image {
                ClipKind::Photo
            } else if p.video_streams > 0 {
                ClipKind::Video
            } else if p.audio_streams > 0 {
                ClipKind::Audio
            } else if expect == Expect::Unknown {
                return other;
            } else {
                return Analysis {
                    kind: fallback_kind,
                    status: ClipStatus::Damaged(format!(
                        "{} container holds no audio or video stream",
                        p.format
                    )),
                    start: None,
                    end: None,
                };
            };
            let start = p.creation_time.filter(|_| kind != ClipKind::Photo);
            let end = start
                .zip(p.duration_s)
                .map(|(s, d)| s + time::Duration::seconds_f64(d));
            Analysis {
                kind,
                status: ClipStatus::Ok,
                start,
                end,
            }
        }
        Err(_) if expect == Expect::Unknown => other,
        Err(vigil_media::MediaError::Unreadable { reason, .. }) => Analysis {
            kind: fallback_kind,
            status: ClipStatus::Damaged(format!("FFmpeg cannot open it as media: {reason}")),
            start: None,
            end: None,
        },
        Err(e) => Analysis {
            kind: fallback_kind,
            status: ClipStatus::Damaged(e.to_string()),
            start: None,
            end: None,
        },
    }
}
