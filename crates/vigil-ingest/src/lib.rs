//! Vigil's ingest: empties a recorder's file tree into the evidence store.
//!
//! For each regular file under the root ([`walk`] never follows a link), the
//! bytes are copied into the store while both hashes are computed in the
//! same pass ([`vigil_store::ObjectStore::put`]); once the object is durable
//! the file is probed with FFmpeg, and only then is the clip row committed
//! with its audit entry. A file that cannot be read as the media it claims
//! to be is stored byte-exact and marked damaged, never skipped (R10, R15).
//! The source is only ever opened read-only.

pub mod naming;
pub mod sessions;
pub mod walk;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use std::sync::mpsc;
use time::OffsetDateTime;
use vigil_media::Expect;

use vigil_store::{
    ClipKind, ClipStatus, NewClip, ObjectStore, PendingObject, RunCounts, RunFailure, Store,
    StoreError,
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
    /// Continuity settings.
    pub continuity: Continuity,
    /// Whose rights the walk keeps to, and what it never enters; the root
    /// must be the directory (device, inode) that was checked, when one
    /// was.
    pub limits: walk::Limits,
    /// The root's (device, inode) as checked before the ingest.
    pub root_id: Option<(u64, u64)>,
}

/// How interruptions are found (R7).
#[derive(Debug, Clone)]
pub struct Continuity {
    /// Smallest hole that is an interruption, seconds.
    pub min_gap_s: f64,
    /// Longest pause that still joins two clips into one session, seconds.
    pub join_window_s: f64,
    /// How file names carry sequence numbers and times.
    pub naming: naming::Naming,
    /// The recorder's clock error when it was docked, seconds (recorder
    /// minus true time; R5); taken off every recorder-clock time.
    pub clock_offset_s: f64,
    /// False when the recorder's clock was too far off to believe (see
    /// [`MAX_TRUSTED_DRIFT_S`]): its times are kept as read but marked
    /// untrusted (`time_source` ends in `_untrusted`), nothing is corrected.
    pub clock_trusted: bool,
}

/// A recorder clock further off than this (a year) is not a drift to
/// correct but a broken or hostile clock.
pub const MAX_TRUSTED_DRIFT_S: f64 = 366.0 * 86_400.0;

impl Default for Continuity {
    fn default() -> Self {
        Self {
            min_gap_s: DEFAULT_MIN_GAP_S,
            join_window_s: DEFAULT_JOIN_WINDOW_S,
            naming: naming::Naming::default(),
            clock_offset_s: 0.0,
            clock_trusted: true,
        }
    }
}

/// The analysis as stored with the clip (JSON).
fn analysis_json(a: &vigil_media::Analysis) -> String {
    serde_json::to_string(a).unwrap_or_default()
}

/// One stored file, as `vigil ingest --json` prints it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Skipped {
    /// Path relative to the recorder root.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// A regular file that could not be stored.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Failed {
    /// Path relative to the recorder root.
    pub path: String,
    /// What went wrong.
    pub error: String,
}

/// Everything one ingest did.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
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
    /// Called before each file is read; an `Err` stops the ingest there and
    /// the files not yet read are reported as failed with that reason
    /// (shutting down, store disk full).
    fn before_file(&mut self, _size: u64) -> Result<(), Stop> {
        Ok(())
    }
}

/// Why an ingest or a pull stops before its next file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    /// The service is shutting down: what is not read yet stays on the
    /// recorder for the next run.
    #[error("vigild is shutting down")]
    ShuttingDown,
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
    let refuse = |source: std::io::Error| IngestError::Root {
        path: root.to_owned(),
        source,
    };
    let root_st = rustix::fs::fstat(&root_fd).map_err(|e| refuse(e.into()))?;
    if opts
        .root_id
        .is_some_and(|id| id != (root_st.st_dev, root_st.st_ino))
    {
        return Err(refuse(std::io::Error::other(
            "it changed while it was being checked",
        )));
    }
    let mut limits = opts.limits.clone();
    // Never the store itself, whoever asks.
    if let Ok(st) = rustix::fs::stat(store.root()) {
        limits.exclude.push((st.st_dev, st.st_ino));
        if limits.exclude.contains(&(root_st.st_dev, root_st.st_ino)) {
            return Err(refuse(std::io::Error::other(
                "it is the evidence store itself",
            )));
        }
    }
    if let Some(a) = &limits.access {
        if !a.permits(&root_st, 0o5) {
            return Err(refuse(std::io::Error::other(format!(
                "uid {} may not read it",
                a.uid
            ))));
        }
    }
    let listing = walk::list_within(&root_fd, &limits);
    let run = begin_run(store, &root.display().to_string(), opts)?;
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
    // What the walk could not see makes the run incomplete: the
    // recorder is never reported as emptied when part of it was not read.
    let mut unwalked: Vec<Failed> = Vec::new();
    for e in &listing.errors {
        tracing::error!(path = %walk::display(&e.rel), reason = %e.reason, "not walked");
        unwalked.push(Failed {
            path: walk::display(&e.rel),
            error: e.reason.clone(),
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
        let mut early = unwalked;
        for (i, found) in listing.files.iter().enumerate() {
            let path = walk::display(&found.rel);
            if let Err(e) = objects.check_fits(found.size) {
                tracing::error!(%path, error = %e, "file not stored");
                early.push(Failed {
                    path,
                    error: e.to_string(),
                });
                continue;
            }
            if let Err(why) = progress.before_file(found.size) {
                for rest in &listing.files[i..] {
                    early.push(Failed {
                        path: walk::display(&rest.rel),
                        error: format!("not ingested: {why}"),
                    });
                }
                break;
            }
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
    for r in finalized {
        match r {
            Ok(stored) => report.files.push(stored),
            Err(failed) => report.failed.push(failed),
        }
    }
    close_run(store, &run, opts, &report)?;
    Ok(report)
}

/// Starts an ingest run from `source` (a directory, a dock slot).
pub fn begin_run(
    store: &mut Store,
    source: &str,
    opts: &IngestOptions,
) -> Result<String, IngestError> {
    Ok(store.recordings_mut().begin_run(
        &opts.actor,
        source,
        opts.device.as_deref(),
        opts.officer.as_deref(),
    )?)
}

/// Ends an ingest run: records the interruptions between this recorder's
/// clips (R7), old and new together since a file ingested now may close a
/// pause from before, and closes the run with its counts.
pub fn close_run(
    store: &mut Store,
    run: &str,
    opts: &IngestOptions,
    report: &IngestReport,
) -> Result<(), IngestError> {
    let timeline = store.gap_log().timeline(opts.device.as_deref())?;
    let between = sessions::find(
        &timeline,
        opts.continuity.min_gap_s,
        opts.continuity.join_window_s,
    );
    store.gap_log_mut().record_gaps(&opts.actor, &between)?;
    let duplicates = report.files.iter().filter(|f| f.duplicate).count() as u64;
    let counts = RunCounts {
        stored: report.files.len() as u64 - duplicates,
        duplicates,
        skipped: report.skipped.len() as u64,
        failed: report.failed.len() as u64,
        failures: report
            .failed
            .iter()
            .map(|f| RunFailure {
                path: f.path.clone(),
                error: f.error.clone(),
            })
            .collect(),
    };
    store
        .recordings_mut()
        .finish_run(&opts.actor, run, &counts)?;
    Ok(())
}

/// One file from any source: a mounted recorder, a dock.
pub struct FileSource<'a> {
    /// Path relative to the recorder root, raw bytes.
    pub rel: Vec<u8>,
    /// Its bytes, read once.
    pub reader: &'a mut dyn Read,
    /// Size the source announced.
    pub listed_len: u64,
    /// Modification time by the recorder's clock.
    pub mtime: Option<OffsetDateTime>,
    /// Recording end by the recorder's clock, from dock metadata.
    pub recorded_end: Option<OffsetDateTime>,
}

impl std::fmt::Debug for FileSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("rel", &walk::display(&self.rel))
            .finish()
    }
}

/// Stores, analyses and indexes one file of run `run`. A problem with this
/// file alone is `Ok(Err(..))`; a store failure is `Err`.
pub fn ingest_one(
    store: &mut Store,
    run: &str,
    opts: &IngestOptions,
    src: FileSource<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<Result<StoredFile, Failed>, IngestError> {
    let path = walk::display(&src.rel);
    if let Err(e) = store.objects().check_fits(src.listed_len) {
        return Ok(Err(Failed {
            path,
            error: e.to_string(),
        }));
    }
    let pending = match store.objects().write_temp(src.reader, progress) {
        Ok(p) => p,
        Err(e @ (StoreError::Io { .. } | StoreError::Source { .. })) => {
            return Ok(Err(Failed {
                path,
                error: e.to_string(),
            }));
        }
        Err(e) => return Err(e.into()),
    };
    let job = Job {
        pending,
        rel: src.rel,
        path,
        listed_len: src.listed_len,
        mtime: src.mtime,
        recorded_end: src.recorded_end,
    };
    finalize(store, run, opts, job)
}

/// A file copied into a temp object, waiting to be made durable and indexed.
struct Job {
    pending: PendingObject,
    rel: Vec<u8>,
    path: String,
    listed_len: u64,
    mtime: Option<OffsetDateTime>,
    recorded_end: Option<OffsetDateTime>,
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
        mtime: meta.modified().ok().map(OffsetDateTime::from),
        recorded_end: None,
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
        recorded_end,
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
    let examined = examine(&object.path, &rel, opts.continuity.min_gap_s);
    let mut status = examined.status;
    if object.digests.bytes != listed_len {
        status = ClipStatus::Damaged(format!(
            "the file changed while it was read: {listed_len} bytes were listed, {} read",
            object.digests.bytes
        ));
    }
    let a = examined.analysis.as_ref();
    let span = recording_span(
        a,
        recorded_end,
        opts.continuity.naming.time(&path),
        mtime,
        &opts.continuity,
    );
    let first = |k| a.and_then(|a| a.first(k)).map(|s| s.start_s);
    // R3: the clip belongs to the officer the recorder was bound to when it
    // was recorded (registry history), else the one given for this ingest.
    let bound = match (&opts.device, span) {
        (Some(d), Some((start, _, _))) => {
            store.people().bound_at(d, &vigil_store::rfc3339(start))?
        }
        _ => None,
    };
    let clip = NewClip {
        path_display: path.clone(),
        device: opts.device.clone(),
        officer: bound.or_else(|| opts.officer.clone()),
        digests: object.digests.clone(),
        kind: examined.kind,
        recorded_start: span.map(|s| vigil_store::rfc3339(s.0)),
        recorded_end: span.map(|s| vigil_store::rfc3339(s.1)),
        time_source: span.map(|s| s.2.to_owned()),
        source_mtime: mtime.map(vigil_store::rfc3339),
        status: status.clone(),
        duration_s: a.map(|a| a.duration_s),
        video_start_s: first(vigil_media::StreamKind::Video),
        audio_start_s: first(vigil_media::StreamKind::Audio),
        dropped_frames: a.map(|a| a.dropped_frames()),
        seq: opts.continuity.naming.seq(&path),
        analysis: a.map(analysis_json),
        min_gap_s: a.map(|_| opts.continuity.min_gap_s),
        gaps: a
            .into_iter()
            .flat_map(|a| &a.streams)
            .flat_map(|s| {
                s.gaps.iter().map(|g| vigil_store::ClipGap {
                    kind: match g.kind {
                        vigil_media::GapKind::Hole => vigil_store::GapKind::WithinClip,
                        vigil_media::GapKind::Restart => vigil_store::GapKind::Restart,
                        vigil_media::GapKind::StreamStopped => vigil_store::GapKind::StreamStopped,
                        vigil_media::GapKind::EditListCut => vigil_store::GapKind::EditListCut,
                    },
                    stream: s.kind.as_str().to_owned(),
                    offset_s: g.offset_s,
                    duration_s: g.duration_s,
                })
            })
            .collect(),
        path: rel,
    };
    let recorded = store
        .recordings_mut()
        .record_clip(&opts.actor, Some(run), &clip)?;
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

/// What ingest learns about a stored file.
struct Examined {
    kind: ClipKind,
    status: ClipStatus,
    analysis: Option<vigil_media::Analysis>,
}

/// Decides what a stored file is, whether it is damaged, and where its
/// recording is interrupted. Reads the durable object, never the recorder.
fn examine(object: &Path, rel: &[u8], min_gap_s: f64) -> Examined {
    let expect = vigil_media::classify(rel);
    let plain = |kind, status| Examined {
        kind,
        status,
        analysis: None,
    };
    if expect == Expect::Other {
        return plain(ClipKind::Other, ClipStatus::Ok);
    }
    let fallback_kind = match expect {
        Expect::Video => ClipKind::Video,
        Expect::Audio => ClipKind::Audio,
        Expect::Photo => ClipKind::Photo,
        Expect::Other | Expect::Unknown => ClipKind::Other,
    };
    match vigil_media::analyse(object, min_gap_s) {
        Ok(a) => {
            let has = |k| a.streams.iter().any(|s| s.kind == k);
            let kind = if a.is_image {
                ClipKind::Photo
            } else if has(vigil_media::StreamKind::Video) {
                ClipKind::Video
            } else if has(vigil_media::StreamKind::Audio) {
                ClipKind::Audio
            } else if expect == Expect::Unknown {
                return plain(ClipKind::Other, ClipStatus::Ok);
            } else {
                let why = format!("{} container holds no readable audio or video", a.format);
                return plain(fallback_kind, ClipStatus::Damaged(why));
            };
            if kind == ClipKind::Photo {
                return plain(kind, ClipStatus::Ok); // no continuity for stills
            }
            let status = match &a.damaged {
                Some(why) => ClipStatus::Damaged(why.clone()),
                None => ClipStatus::Ok,
            };
            Examined {
                kind,
                status,
                analysis: Some(a),
            }
        }
        Err(_) if expect == Expect::Unknown => plain(ClipKind::Other, ClipStatus::Ok),
        // A playlist or list of other files under a recording's name: kept
        // byte-exact and flagged, and what it names is never read.
        Err(vigil_media::MediaError::NotARecording { format, .. }) => plain(
            fallback_kind,
            ClipStatus::Damaged(format!(
                "not a recording: FFmpeg reads it as '{format}', a format that names other files or streams; nothing it names was read"
            )),
        ),
        // Stored, flagged, and the next file goes on.
        Err(vigil_media::MediaError::OverBudget { seconds, .. }) => plain(
            fallback_kind,
            ClipStatus::Damaged(format!(
                "not analysed: reading it took longer than its budget of {seconds} s; the file is stored as it is, its continuity unchecked"
            )),
        ),
        Err(vigil_media::MediaError::Unreadable { reason, .. }) => plain(
            fallback_kind,
            ClipStatus::Damaged(format!("FFmpeg cannot open it as media: {reason}")),
        ),
        Err(e) => plain(fallback_kind, ClipStatus::Damaged(e.to_string())),
    }
}

/// The recording's wall-clock span from the best source (R5): dock
/// metadata, else the container's creation time, else a time in the file
/// name, else the file's modification time (taken as the end: recorders
/// close files when they stop). All of these come from the recorder's
/// clock, so the drift measured at docking (`clock_offset_s`, recorder
/// minus true time) is taken off. Any time that does not fit the calendar
/// (a hostile clock, an absurd duration) makes the span unknown, never a
/// panic.
/// Times before this year are a recorder clock that was never set.
const FIRST_USABLE_YEAR: i32 = 2000;

fn recording_span(
    analysis: Option<&vigil_media::Analysis>,
    dock_end: Option<OffsetDateTime>,
    name_time: Option<OffsetDateTime>,
    mtime: Option<OffsetDateTime>,
    continuity: &Continuity,
) -> Option<(OffsetDateTime, OffsetDateTime, &'static str)> {
    let a = analysis?;
    let dur = time::Duration::checked_seconds_f64(a.duration_s)?;
    let offset = if continuity.clock_trusted {
        continuity.clock_offset_s
    } else {
        0.0
    };
    let fix = time::Duration::checked_seconds_f64(offset)?;
    // A clock never set says 1904 (MP4's zero), 1970 or 1980 (FAT's): no
    // usable time, so the next source is asked, and with none the
    // recording is undated (shown as such, never in a period of 1970).
    let usable = |t: &OffsetDateTime| t.year() >= FIRST_USABLE_YEAR;
    let (start, end, source) = if let Some(end) = dock_end {
        (end.checked_sub(dur)?, end, "dock")
    } else if let Some(t) = a.creation_time.filter(usable) {
        (t, t.checked_add(dur)?, "container")
    } else if let Some(t) = name_time.filter(usable) {
        (t, t.checked_add(dur)?, "file_name")
    } else {
        let t = mtime.filter(usable)?;
        (t.checked_sub(dur)?, t, "file_mtime")
    };
    let source = match (continuity.clock_trusted, source) {
        (true, s) => s,
        (false, "dock") => "dock_untrusted",
        (false, "container") => "container_untrusted",
        (false, "file_name") => "file_name_untrusted",
        (false, _) => "file_mtime_untrusted",
    };
    Some((start.checked_sub(fix)?, end.checked_sub(fix)?, source))
}
