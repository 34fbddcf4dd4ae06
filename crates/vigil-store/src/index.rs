//! The SQLite index: opening and migrating it, recording runs and clips,
//! listing clips and verifying the store against it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::error::{Result, StoreError};
use crate::failpoint;
use crate::gaps::{GapKind, NewGap};
use crate::objects::{Digests, ObjectStore};
use crate::schema::MIGRATIONS;
use crate::timefmt::now_rfc3339;

/// The audit anchor's file name, beside the index.
pub const ANCHOR_FILE: &str = "audit.head";

/// What kind of evidence a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClipKind {
    /// Has a video stream.
    Video,
    /// Audio only.
    Audio,
    /// A still image.
    Photo,
    /// Anything else (logs, GPS tracks, metadata files).
    Other,
}

impl ClipKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Photo => "photo",
            Self::Other => "other",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "video" => Self::Video,
            "audio" => Self::Audio,
            "photo" => Self::Photo,
            "other" => Self::Other,
            _ => return None,
        })
    }
}

/// Whether a clip's media could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipStatus {
    /// Readable.
    Ok,
    /// Stored byte-exact but not (fully) readable, with the reason.
    Damaged(String),
}

/// A clip to index.
#[derive(Debug, Clone)]
pub struct NewClip {
    /// Original path relative to the recorder root, raw bytes.
    pub path: Vec<u8>,
    /// The same, printable.
    pub path_display: String,
    /// Recorder serial.
    pub device: Option<String>,
    /// Officer the recorder is bound to.
    pub officer: Option<String>,
    /// Hashes and size of the stored object.
    pub digests: Digests,
    /// What it is.
    pub kind: ClipKind,
    /// Recording start, RFC 3339, when known.
    pub recorded_start: Option<String>,
    /// Recording end, RFC 3339, when known.
    pub recorded_end: Option<String>,
    /// Where the recording times came from.
    pub time_source: Option<String>,
    /// The source file's modification time, RFC 3339.
    pub source_mtime: Option<String>,
    /// Readable or damaged.
    pub status: ClipStatus,
    /// Readable media duration, seconds.
    pub duration_s: Option<f64>,
    /// Where video starts, seconds from clip start.
    pub video_start_s: Option<f64>,
    /// Where audio starts, seconds from clip start (a recorder's video-only
    /// pre-event buffer makes this later than video; not an interruption).
    pub audio_start_s: Option<f64>,
    /// Frames lost in holes shorter than the gap threshold.
    pub dropped_frames: Option<u64>,
    /// Sequence number from the file name.
    pub seq: Option<i64>,
    /// The full analysis, as JSON.
    pub analysis: Option<String>,
    /// The interruption threshold it was analysed with, seconds (R7):
    /// recorded in its `clip.ingested` row, so `verify` re-analyses it the
    /// same way.
    pub min_gap_s: Option<f64>,
    /// Holes inside the clip.
    pub gaps: Vec<ClipGap>,
}

/// A hole inside a clip's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipGap {
    /// What kind (`WithinClip` for a hole).
    pub kind: GapKind,
    /// `video` or `audio`.
    pub stream: String,
    /// Offset from clip start, seconds.
    pub offset_s: f64,
    /// Duration, seconds.
    pub duration_s: f64,
}

/// The result of indexing a clip.
#[derive(Debug, Clone)]
pub struct RecordedClip {
    /// The clip's id.
    pub id: String,
    /// The content was already indexed before (no new bytes stored).
    pub duplicate: bool,
    /// This exact clip (device, path, content) was already indexed.
    pub existed: bool,
}

/// Counts closing an ingest run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunCounts {
    /// Files whose content was new.
    pub stored: u64,
    /// Files whose content was already stored.
    pub duplicates: u64,
    /// Entries skipped (symlinks, devices, ...).
    pub skipped: u64,
    /// Regular files that could not be stored.
    pub failed: u64,
    /// Each of them, with the reason (the first [`MAX_FAILURES_LISTED`]
    /// are named in the `ingest.finished` audit row, and how many more
    /// there were).
    pub failures: Vec<RunFailure>,
}

/// Most failed files named one by one in an `ingest.finished` row.
pub const MAX_FAILURES_LISTED: usize = 100;

/// A file an ingest run could not store, and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFailure {
    /// Its path relative to the recorder root.
    pub path: String,
    /// What went wrong.
    pub error: String,
}

/// Which clips to list.
#[derive(Debug, Clone, Default)]
pub struct ClipFilter {
    /// Only this officer's.
    pub officer: Option<String>,
    /// Only this recorder's.
    pub device: Option<String>,
    /// Only this clip.
    pub clip: Option<String>,
    /// Hours after recording within which ingest is on time (R1: 24).
    pub late_after_h: Option<u64>,
    /// Only those ingested in `[from, until)` (RFC 3339).
    pub ingested: Option<(String, String)>,
    /// Only those whose recording starts at or after this RFC 3339 time.
    pub recorded_from: Option<String>,
    /// Only those whose recording starts before this RFC 3339 time.
    pub recorded_until: Option<String>,
    /// Only those in this state.
    pub state: Option<ClipState>,
    /// Only those whose current tag names this site.
    pub site: Option<String>,
    /// ... this case.
    pub case: Option<String>,
    /// ... this category.
    pub category: Option<String>,
    /// Leave out clips marked with one of these confidentiality kinds (R17:
    /// what the reader's role may not see).
    pub hide_confidential: Vec<String>,
    /// Newest recording first (default: oldest first).
    pub newest_first: bool,
    /// At most this many.
    pub limit: Option<u64>,
    /// Skip this many first.
    pub offset: u64,
}

/// A state a clip can be listed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipState {
    /// Stored byte-exact but not readable.
    Damaged,
    /// Ingested later than allowed after recording (R1).
    Late,
    /// Not yet named with a site or a description (R11).
    Untagged,
    /// With an interruption not yet explained (R9).
    OpenInterruption,
}

impl ClipState {
    /// From its name in a query (`damaged`, `late`, `untagged`, `open`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "damaged" => Self::Damaged,
            "late" => Self::Late,
            "untagged" => Self::Untagged,
            "open" => Self::OpenInterruption,
            _ => return None,
        })
    }

    /// Its name in a query.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Damaged => "damaged",
            Self::Late => "late",
            Self::Untagged => "untagged",
            Self::OpenInterruption => "open",
        }
    }
}

/// A clip as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Clip {
    /// Clip id.
    pub clip: String,
    /// Original relative path (printable).
    pub path: String,
    /// Recorder serial.
    pub device: Option<String>,
    /// Officer.
    pub officer: Option<String>,
    /// BLAKE3 of the content.
    pub blake3: String,
    /// SHA-256 of the content.
    pub sha256: String,
    /// Size.
    pub bytes: u64,
    /// Recording start.
    pub recorded_start: Option<String>,
    /// Recording end.
    pub recorded_end: Option<String>,
    /// When it was ingested.
    pub ingested_at: String,
    /// Whether it is damaged.
    pub damaged: bool,
    /// Why, when damaged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage_reason: Option<String>,
    /// What kind of file.
    pub kind: ClipKind,
    /// Readable media duration, seconds.
    pub duration_s: Option<f64>,
    /// Where the recording times came from (`container`, `file_name`,
    /// `file_mtime`).
    pub time_source: Option<String>,
    /// Where video starts, seconds from clip start.
    pub video_start_s: Option<f64>,
    /// Where audio starts, seconds from clip start.
    pub audio_start_s: Option<f64>,
    /// Frames lost in holes shorter than the gap threshold.
    pub dropped_frames: Option<u64>,
    /// Sequence number from the file name.
    pub seq: Option<i64>,
    /// Ingested more than the allowed delay after recording ended (R1).
    pub late_ingest: bool,
}

/// One thing `verify` found wrong (or worth a warning).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Problem {
    /// `object_missing`, `object_altered`, `clip_object_missing`,
    /// `audit_chain`, `unindexed_object`.
    pub kind: String,
    /// The object hash, clip id or audit row it is about.
    pub subject: String,
    /// Plain-language detail.
    pub detail: String,
}

/// The outcome of `verify`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default)]
pub struct VerifyReport {
    /// True when there are no problems.
    pub ok: bool,
    /// Objects re-read.
    pub objects_checked: u64,
    /// Bytes re-read.
    pub bytes_checked: u64,
    /// Clips checked.
    pub clips_checked: u64,
    /// Audit rows checked.
    pub audit_rows_checked: u64,
    /// Recordings whose continuity was analysed again and compared with
    /// the gap log.
    #[serde(default)]
    pub recordings_reanalysed: u64,
    /// What is wrong; any entry makes `ok` false.
    pub problems: Vec<Problem>,
    /// Worth knowing but not a failure (e.g. an object file left by an
    /// interrupted ingest, adopted when that ingest is run again).
    pub warnings: Vec<Problem>,
}

#[derive(Debug)]
pub(crate) struct Index {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    /// Opened read-only: nothing is written, not even the anchor.
    pub(crate) read_only: bool,
    /// The station key that signs a checkpoint at each commit (none: no
    /// checkpoints are signed, e.g. a store whose key cannot be read).
    pub(crate) signer: Option<vigil_tlog::note::Signer>,
}

impl Index {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|e| sql(path, e))?;
        let mut index = Self {
            conn,
            path: path.to_owned(),
            read_only: false,
            signer: None,
        };
        index.configure().map_err(|e| sql(path, e))?;
        index.migrate()?;
        Ok(index)
    }

    /// Opens an index that cannot be written (a read-only mount, another
    /// user's copy). A WAL index whose `-shm` cannot be created is opened as
    /// immutable (nothing else can be writing a read-only file system).
    pub(crate) fn open_read_only(path: &Path) -> Result<Self> {
        use rusqlite::OpenFlags;
        let probe = |c: &Connection| {
            c.query_row("SELECT COUNT(*) FROM audit", [], |r| r.get::<_, i64>(0))
                .map(|_| ())
        };
        let plain = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| probe(&c).map(|()| c));
        let conn = match plain {
            Ok(c) => c,
            Err(_) => {
                let uri = format!("file:{}?immutable=1", path.display());
                Connection::open_with_flags(
                    uri,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
                )
                .and_then(|c| probe(&c).map(|()| c))
                .map_err(|e| sql(path, e))?
            }
        };
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| sql(path, e))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| sql(path, e))?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::SchemaTooNew {
                path: path.to_owned(),
                found: version,
                supported,
            });
        }
        Ok(Self {
            conn,
            path: path.to_owned(),
            read_only: true,
            signer: None,
        })
    }

    /// Refuses an index whose audit log is behind, or differs from, the
    /// anchor `audit.head`: a replaced, rolled-back or truncated
    /// index is never written to.
    pub(crate) fn check_not_behind(&self, root: &Path) -> Result<()> {
        let Some((seq, hash)) = crate::open::read_anchor(root) else {
            return Ok(());
        };
        let row: Option<String> = self
            .conn
            .query_row("SELECT hash FROM audit WHERE seq = ?1", [seq], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        let detail = match row {
            Some(h) if h == hash => return Ok(()),
            Some(_) => format!("audit row {seq} differs from the one {ANCHOR_FILE} recorded"),
            None => {
                let last: i64 = self
                    .conn
                    .query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |r| r.get(0))
                    .map_err(|e| self.err(e))?;
                format!("the audit log ends at row {last}, but {ANCHOR_FILE} records row {seq}")
            }
        };
        Err(StoreError::IndexBehind {
            root: root.to_owned(),
            detail,
        })
    }

    fn configure(&self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // WAL with synchronous=FULL: a commit is on disk when COMMIT returns.
        self.conn
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql(&path, e))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| sql(&path, e))?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::SchemaTooNew {
                path,
                found: version,
                supported,
            });
        }
        for m in MIGRATIONS.iter().skip(version as usize) {
            tx.execute_batch(m).map_err(|e| sql(&path, e))?;
            if m.contains("writable_schema") {
                // A definition edited in place: every connection must
                // read the schema again.
                let v: i64 = tx
                    .query_row("PRAGMA schema_version", [], |r| r.get(0))
                    .map_err(|e| sql(&path, e))?;
                tx.pragma_update(None, "schema_version", v + 1)
                    .map_err(|e| sql(&path, e))?;
            }
        }
        if version < supported {
            tracing::info!(index = %path.display(), from = version, to = supported, "index schema migrated");
        }
        tx.pragma_update(None, "user_version", supported)
            .map_err(|e| sql(&path, e))?;
        let leaves = crate::tlog::catch_up(&tx).map_err(|e| sql(&path, e))?;
        if leaves > 0 {
            tracing::info!(index = %path.display(), leaves, "audit rows given their Merkle leaves");
        }
        // A store from before schema 15 gets its interruptions' state once.
        let states = if version < 15 {
            crate::gaps::catch_up(&tx).map_err(|e| sql(&path, e))?
        } else {
            0
        };
        if states > 0 {
            tracing::info!(index = %path.display(), states, "interruptions given their derived state");
        }
        tx.commit().map_err(|e| sql(&path, e))
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        sql(&self.path, e)
    }

    /// Writes the audit log's newest row (seq and hash) to `audit.head`
    /// beside the index. Deleting the newest rows leaves a shorter chain that
    /// is valid in itself; the anchor lets `verify` see it is shorter than it
    /// was. It only moves forward (a head behind it is never written: the
    /// index is then refused at the next open), is written under a lock on
    /// the store directory (concurrent writers cannot move it back), and is
    /// fsynced with its directory. Best effort: a crash can leave it one
    /// write behind, never ahead.
    pub(crate) fn anchor(&self) {
        if self.read_only {
            return;
        }
        let head: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ok()
            .flatten();
        let Some((seq, hash)) = head else { return };
        let Some(dir) = self.path.parent() else {
            return;
        };
        let file = self.path.with_file_name(ANCHOR_FILE);
        let write = || -> std::io::Result<()> {
            let lock = std::fs::File::open(dir)?;
            rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
            if let Some((current, _)) = crate::open::read_anchor(dir) {
                if current > seq {
                    tracing::error!(path = %file.display(), current, head = seq, "the audit log is behind its anchor; the anchor is not moved back");
                    return Ok(());
                }
                if current == seq {
                    return Ok(());
                }
            }
            let tmp = file.with_extension("tmp");
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, format!("{seq} {hash}\n").as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &file)?;
            std::fs::File::open(dir)?.sync_all()
        };
        if let Err(e) = write() {
            tracing::warn!(path = %file.display(), error = %e, "cannot write the audit anchor");
        }
    }

    /// Checks the anchor `text` (read before the snapshot was taken, so it
    /// never names a row committed after it) against the log.
    fn check_anchor(&self, text: Option<String>, report: &mut VerifyReport) -> Result<()> {
        let file = self.path.with_file_name(ANCHOR_FILE);
        let Some(text) = text else {
            return Ok(());
        };
        let Some((seq, hash)) = text
            .trim()
            .split_once(' ')
            .and_then(|(s, h)| Some((s.parse::<i64>().ok()?, h.to_owned())))
        else {
            report.warnings.push(Problem {
                kind: "audit_anchor".into(),
                subject: file.display().to_string(),
                detail: "the audit anchor cannot be read".into(),
            });
            return Ok(());
        };
        let row: Option<String> = self
            .conn
            .query_row("SELECT hash FROM audit WHERE seq = ?1", [seq], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        match row {
            None => report.problems.push(Problem {
                kind: "audit_chain".into(),
                subject: format!("audit row {seq}"),
                detail: format!(
                    "the log once reached row {seq} ({}); rows are missing from its end",
                    file.display()
                ),
            }),
            Some(h) if h != hash => report.problems.push(Problem {
                kind: "audit_chain".into(),
                subject: format!("audit row {seq}"),
                detail: format!(
                    "row {seq} differs from the hash recorded in {}",
                    file.display()
                ),
            }),
            Some(_) => {}
        }
        Ok(())
    }

    /// Signs a checkpoint of the tree when rows have none yet (rows given
    /// their leaves by a migration, a key made since).
    pub(crate) fn seal(&mut self) -> Result<()> {
        let path = self.path.clone();
        let Some(signer) = &self.signer else {
            return Ok(());
        };
        let size = crate::tlog::size(&self.conn).map_err(|e| sql(&path, e))?;
        let latest = crate::tlog::latest(&self.conn).map_err(|e| sql(&path, e))?;
        if size == 0 || latest.is_some_and(|k| k.size == size) {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql(&path, e))?;
        crate::tlog::seal(&tx, signer, &now_rfc3339()).map_err(|e| sql(&path, e))?;
        tx.commit().map_err(|e| sql(&path, e))
    }

    /// Runs `f` in an IMMEDIATE transaction and commits it: the state change
    /// and its audit rows land together or not at all.
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        if self.read_only {
            return Err(StoreError::ReadOnly {
                root: path.parent().unwrap_or(&path).to_owned(),
                action: "record a change",
            });
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql(&path, e))?;
        let out = f(&tx).map_err(|e| sql(&path, e))?;
        crate::tlog::seal_with(&tx, self.signer.as_ref(), &now_rfc3339())
            .map_err(|e| sql(&path, e))?;
        tx.commit().map_err(|e| sql(&path, e))?;
        self.anchor();
        Ok(out)
    }

    pub(crate) fn begin_run(
        &mut self,
        actor: &str,
        source: &str,
        device: Option<&str>,
        officer: Option<&str>,
    ) -> Result<String> {
        let now = now_rfc3339();
        let id = run_id(&now);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO ingest_runs (id, source, device_serial, officer_id, actor, started_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running')",
                params![id, source, device, officer, actor, now],
            )?;
            let detail = json!({"source": source, "device": device, "officer": officer});
            audit::append(tx, &now, actor, "ingest.started", &id, &detail)
        })?;
        Ok(id)
    }

    pub(crate) fn finish_run(&mut self, actor: &str, run: &str, counts: &RunCounts) -> Result<()> {
        let now = now_rfc3339();
        let status = if counts.failed == 0 {
            "complete"
        } else {
            "incomplete"
        };
        let mut detail = serde_json::to_value(counts).unwrap_or_default();
        detail["status"] = json!(status);
        if counts.failures.len() > MAX_FAILURES_LISTED {
            detail["failures"] = json!(&counts.failures[..MAX_FAILURES_LISTED]);
            detail["failures_not_listed"] = json!(counts.failures.len() - MAX_FAILURES_LISTED);
        }
        self.write(|tx| {
            tx.execute(
                "UPDATE ingest_runs SET finished_at = ?2, stored = ?3, duplicates = ?4, skipped = ?5, failed = ?6, status = ?7 WHERE id = ?1",
                params![
                    run,
                    now,
                    counts.stored as i64,
                    counts.duplicates as i64,
                    counts.skipped as i64,
                    counts.failed as i64,
                    status
                ],
            )?;
            audit::append(tx, &now, actor, "ingest.finished", run, &detail)
        })?;
        Ok(())
    }

    pub(crate) fn close_interrupted_runs(&mut self, actor: &str) -> Result<Vec<String>> {
        let now = now_rfc3339();
        self.write(|tx| {
            /// id, source, device, officer, started at
            type OpenRun = (String, String, Option<String>, Option<String>, String);
            let runs: Vec<OpenRun> = tx
                .prepare(
                    "SELECT id, source, device_serial, officer_id, started_at FROM ingest_runs WHERE status = 'running' ORDER BY started_at, id",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (id, source, device, officer, started) in &runs {
                tx.execute(
                    "UPDATE ingest_runs SET finished_at = ?2, status = 'incomplete' WHERE id = ?1",
                    params![id, now],
                )?;
                let detail = json!({
                    "status": "incomplete",
                    "reason": "the station stopped before this run finished (power cut, crash or kill); what it stored is verified and kept, the rest is taken again from the recorder",
                    "source": source,
                    "device": device,
                    "officer": officer,
                    "started_at": started,
                });
                audit::append(tx, &now, actor, "ingest.interrupted", id, &detail)?;
            }
            Ok(runs.into_iter().map(|r| r.0).collect())
        })
    }

    /// Indexes clips in one transaction (each as [`Self::record_clip`]).
    pub(crate) fn record_clips(
        &mut self,
        actor: &str,
        run: Option<&str>,
        clips: &[NewClip],
    ) -> Result<Vec<RecordedClip>> {
        let now = now_rfc3339();
        let path = self.path.clone();
        let e = |e| sql(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let mut out = Vec::with_capacity(clips.len());
        for c in clips {
            out.push(record_in(&tx, &path, actor, run, c, &now)?);
        }
        crate::tlog::seal_with(&tx, self.signer.as_ref(), &now).map_err(e)?;
        failpoint::hit("index.before_commit");
        tx.commit().map_err(e)?;
        failpoint::hit("index.committed");
        self.anchor();
        Ok(out)
    }
}

/// Indexes one clip inside `tx` (see [`Index::record_clip`]).
fn record_in(
    tx: &rusqlite::Transaction<'_>,
    path: &Path,
    actor: &str,
    run: Option<&str>,
    c: &NewClip,
    now: &str,
) -> Result<RecordedClip> {
    let now = now.to_owned();
    let id = clip_id(c.device.as_deref(), &c.path, &c.digests.blake3);
    let e = |e| sql(path, e);
    let known: Option<(String, i64)> = tx
        .query_row(
            "SELECT sha256, bytes FROM objects WHERE blake3 = ?1",
            [&c.digests.blake3],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(e)?;
    let duplicate = match known {
        Some((sha, bytes)) => {
            if sha != c.digests.sha256 || bytes as u64 != c.digests.bytes {
                return Err(StoreError::BadRow {
                        table: "objects",
                        key: c.digests.blake3.clone(),
                        problem: format!(
                            "indexed as {bytes} bytes, SHA-256 {sha}; the content just read is {} bytes, SHA-256 {}",
                            c.digests.bytes, c.digests.sha256
                        ),
                    });
            }
            true
        }
        None => {
            tx.execute(
                "INSERT INTO objects (blake3, sha256, bytes, stored_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    c.digests.blake3,
                    c.digests.sha256,
                    c.digests.bytes as i64,
                    now
                ],
            )
            .map_err(e)?;
            false
        }
    };
    let existed: bool = tx
        .query_row("SELECT 1 FROM clips WHERE id = ?1", [&id], |_| Ok(()))
        .optional()
        .map_err(e)?
        .is_some();
    if !existed {
        if let Some(officer) = &c.officer {
            tx.execute(
                "INSERT OR IGNORE INTO officers (id, created_at) VALUES (?1, ?2)",
                params![officer, now],
            )
            .map_err(e)?;
        }
        if let Some(device) = &c.device {
            tx.execute(
                    "INSERT OR IGNORE INTO devices (serial, officer_id, first_seen) VALUES (?1, ?2, ?3)",
                    params![device, c.officer, now],
                )
                .map_err(e)?;
        }
        let (status, reason) = match &c.status {
            ClipStatus::Ok => ("ok", None),
            ClipStatus::Damaged(r) => ("damaged", Some(r.as_str())),
        };
        tx.execute(
                "INSERT INTO clips (id, object, path, path_display, device_serial, officer_id, kind, recorded_start, recorded_end, time_source, source_mtime, ingested_at, ingest_run, status, damage_reason,
                                    duration_s, video_start_s, audio_start_s, dropped_frames, seq, analysis)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
                params![
                    id, c.digests.blake3, c.path, c.path_display, c.device, c.officer, c.kind.as_str(),
                    c.recorded_start, c.recorded_end, c.time_source, c.source_mtime, now, run, status, reason,
                    c.duration_s, c.video_start_s, c.audio_start_s, c.dropped_frames.map(|d| d as i64), c.seq, c.analysis
                ],
            )
            .map_err(e)?;
        if matches!(c.kind, ClipKind::Video | ClipKind::Audio | ClipKind::Photo) {
            tx.execute(
                "INSERT INTO untagged (clip, ingested_at) VALUES (?1, ?2)",
                params![id, now],
            )
            .map_err(e)?;
        }
        audit::append(
            tx,
            &now,
            actor,
            "clip.ingested",
            &id,
            &json!({
                "path": c.path_display, "device": c.device, "officer": c.officer,
                "blake3": c.digests.blake3, "sha256": c.digests.sha256, "bytes": c.digests.bytes,
                "run": run, "status": status, "damage_reason": reason, "min_gap_s": c.min_gap_s,
            }),
        )
        .map_err(e)?;
        let start = c.recorded_start.as_deref().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        });
        let gaps: Vec<NewGap> = c
            .gaps
            .iter()
            .map(|g| NewGap {
                kind: g.kind,
                clip: id.clone(),
                previous_clip: None,
                stream: Some(g.stream.clone()),
                offset_s: Some(g.offset_s),
                duration_s: g.duration_s,
                wall_start: start.and_then(|s| {
                    let d = time::Duration::checked_seconds_f64(g.offset_s)?;
                    Some(crate::timefmt::rfc3339(s.checked_add(d)?))
                }),
                missing: None,
            })
            .collect();
        crate::gaps::insert(tx, actor, &now, &gaps).map_err(e)?;
    }
    Ok(RecordedClip {
        id,
        duplicate,
        existed,
    })
}

impl Index {
    pub(crate) fn record_clip(
        &mut self,
        actor: &str,
        run: Option<&str>,
        c: &NewClip,
    ) -> Result<RecordedClip> {
        let mut out = self.record_clips(actor, run, std::slice::from_ref(c))?;
        Ok(out.remove(0))
    }

    pub(crate) fn clips(&self, f: &ClipFilter) -> Result<Vec<Clip>> {
        const LATE: &str = "(julianday(c.ingested_at) - julianday(c.recorded_end)) * 24.0";
        let late_after = f.late_after_h.unwrap_or(24) as f64;
        let mut q = crate::query::Query::new(&format!(
            "SELECT c.id, c.path_display, c.device_serial, c.officer_id, o.blake3, o.sha256, o.bytes,
                    c.recorded_start, c.recorded_end, c.ingested_at, c.status, c.damage_reason, c.kind,
                    c.duration_s, c.time_source, c.video_start_s, c.audio_start_s, c.dropped_frames, c.seq,
                    {LATE} > {late_after:?}
             FROM clips c JOIN objects o ON o.blake3 = c.object"
        ));
        q.raw("c.purged_at IS NULL");
        q.eq("c.officer_id", &f.officer);
        q.eq("c.device_serial", &f.device);
        q.eq("c.id", &f.clip);
        if let Some((a, b)) = &f.ingested {
            q.cond("c.ingested_at >= ?", a.clone());
            q.cond("c.ingested_at < ?", b.clone());
        }
        if let Some(a) = &f.recorded_from {
            q.cond("c.recorded_start >= ?", a.clone());
        }
        if let Some(b) = &f.recorded_until {
            q.cond("c.recorded_start < ?", b.clone());
        }
        match f.state {
            Some(ClipState::Damaged) => q.raw("c.status = 'damaged'"),
            Some(ClipState::Late) => q.cond(&format!("{LATE} > ?"), late_after),
            // EXISTS, not IN: SQLite then walks the clips in the list's
            // order and stops at a page, instead of sorting every match.
            Some(ClipState::Untagged) => {
                q.raw("EXISTS (SELECT 1 FROM untagged u WHERE u.clip = c.id)")
            }
            Some(ClipState::OpenInterruption) => q.raw(
                "EXISTS (SELECT 1 FROM gaps g JOIN gap_state s ON s.gap = g.id WHERE g.clip = c.id AND s.status != 'explained')",
            ),
            None => {}
        }
        for (column, value) in [
            ("site", &f.site),
            ("case_no", &f.case),
            ("category", &f.category),
        ] {
            if let Some(v) = value {
                // The clip's current tag is its newest row.
                q.cond(
                    &format!(
                        "c.id IN (SELECT t.clip FROM tags t WHERE t.{column} = ? AND t.id = (SELECT MAX(id) FROM tags n WHERE n.clip = t.clip))"
                    ),
                    v.clone(),
                );
            }
        }
        q.not_confidential("c.id", &f.hide_confidential);
        q.order(if f.newest_first {
            // The index's own order (NULL starts last): the first page
            // reads a page of rows, not the whole table.
            "c.recorded_start DESC, c.rowid DESC"
        } else {
            "c.recorded_start IS NULL, c.recorded_start, c.ingested_at, c.path_display"
        });
        q.page(f.limit, f.offset);
        let mut stmt = self.conn.prepare(&q.sql()).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(q.params()), |r| {
                let status: String = r.get(10)?;
                let kind: String = r.get(12)?;
                Ok(Clip {
                    clip: r.get(0)?,
                    path: r.get(1)?,
                    device: r.get(2)?,
                    officer: r.get(3)?,
                    blake3: r.get(4)?,
                    sha256: r.get(5)?,
                    bytes: r.get::<_, i64>(6)? as u64,
                    recorded_start: r.get(7)?,
                    recorded_end: r.get(8)?,
                    ingested_at: r.get(9)?,
                    damaged: status == "damaged",
                    damage_reason: r.get(11)?,
                    kind: ClipKind::parse(&kind).unwrap_or(ClipKind::Other),
                    duration_s: r.get(13)?,
                    time_source: r.get(14)?,
                    video_start_s: r.get(15)?,
                    audio_start_s: r.get(16)?,
                    dropped_frames: r.get::<_, Option<i64>>(17)?.map(|d| d as u64),
                    seq: r.get(18)?,
                    late_ingest: r.get::<_, Option<bool>>(19)?.unwrap_or(false),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    pub(crate) fn explanation_history(
        &self,
        gap: &str,
    ) -> Result<Vec<(crate::Explanation, Vec<crate::gaps::ReviewEntry>)>> {
        crate::gaps::history_in(&self.conn, gap).map_err(|e| self.err(e))
    }

    pub(crate) fn analysis_of(&self, clip: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT analysis FROM clips WHERE id = ?1", [clip], |r| {
                r.get(0)
            })
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    pub(crate) fn device_officer(&self, serial: &str) -> Result<Option<String>> {
        let from_devices: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT officer_id FROM devices WHERE serial = ?1",
                [serial],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if let Some(Some(o)) = from_devices {
            return Ok(Some(o));
        }
        // A recorder seen at a dock carries its binding in the docking rows.
        self.conn
            .query_row(
                "SELECT officer_id FROM dockings WHERE device_serial = ?1 AND officer_id IS NOT NULL ORDER BY id DESC LIMIT 1",
                [serial],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub(crate) fn dockings(&self) -> Result<Vec<crate::Docking>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT dock, slot, device_serial, officer_id, drift_ms, battery_pct, storage_free, faults FROM dockings d
                 WHERE id = (SELECT MAX(id) FROM dockings e WHERE e.device_serial = d.device_serial)
                 ORDER BY device_serial",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let faults: String = r.get(7)?;
                Ok(crate::Docking {
                    dock: r.get(0)?,
                    slot: r.get(1)?,
                    device: r.get(2)?,
                    officer: r.get(3)?,
                    drift_ms: r.get(4)?,
                    battery_pct: r.get(5)?,
                    storage_free: r.get::<_, i64>(6)? as u64,
                    faults: serde_json::from_str(&faults).unwrap_or_default(),
                    docking: None,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    pub(crate) fn audit_newest(&self, limit: u64) -> Result<Vec<audit::AuditEntry>> {
        audit::newest(&self.conn, limit).map_err(|e| self.err(e))
    }

    pub(crate) fn audit_entries(&self) -> Result<Vec<audit::AuditEntry>> {
        audit::entries(&self.conn).map_err(|e| self.err(e))
    }

    pub(crate) fn audit_select(&self, f: &audit::AuditFilter) -> Result<Vec<audit::AuditEntry>> {
        audit::select(&self.conn, f).map_err(|e| self.err(e))
    }

    pub(crate) fn indexed_bytes(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COALESCE(SUM(bytes), 0) FROM objects", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|b| b as u64)
            .map_err(|e| self.err(e))
    }

    /// Every clip row against what its `clip.ingested` audit row vouches
    /// for: object, path, recorder and officer (a row edited behind the
    /// service, its log row left as it was, is named).
    fn check_clips_against_log(&self, report: &mut VerifyReport) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id, c.object, c.path_display, c.device_serial, c.officer_id, a.detail
                   FROM clips c LEFT JOIN audit a
                     ON a.subject = c.id AND a.action = 'clip.ingested'
                  ORDER BY c.id",
            )
            .map_err(|e| self.err(e))?;
        type Row = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<Row>>>()
            .map_err(|e| self.err(e))?;
        for (id, object, path, device, officer, detail) in rows {
            let Some(detail) = detail else {
                report.problems.push(Problem {
                    kind: "clip_unlogged".into(),
                    subject: id.clone(),
                    detail: format!("clip {id} ({path}) has no clip.ingested row in the audit log"),
                });
                continue;
            };
            let logged: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
            let mut wrong = Vec::new();
            let text = |k: &str| logged[k].as_str().map(str::to_owned);
            if text("blake3").as_deref() != Some(object.as_str()) {
                wrong.push(format!(
                    "its object is {object}, the log says {}",
                    logged["blake3"]
                ));
            }
            if text("path").as_deref() != Some(path.as_str()) {
                wrong.push(format!(
                    "its path is {path:?}, the log says {}",
                    logged["path"]
                ));
            }
            if text("device") != device {
                wrong.push(format!(
                    "its recorder is {device:?}, the log says {}",
                    logged["device"]
                ));
            }
            if text("officer") != officer {
                wrong.push(format!(
                    "its officer is {officer:?}, the log says {}",
                    logged["officer"]
                ));
            }
            if !wrong.is_empty() {
                report.problems.push(Problem {
                    kind: "clip_altered".into(),
                    subject: id.clone(),
                    detail: format!(
                        "clip {id} no longer matches its clip.ingested row: {}",
                        wrong.join("; ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// The append-only and immutability triggers the schema defines, each
    /// present and as defined: a dropped or rewritten trigger is named.
    fn check_triggers(&self, report: &mut VerifyReport) -> Result<()> {
        let reference = Connection::open_in_memory().map_err(|e| self.err(e))?;
        for m in crate::schema::MIGRATIONS {
            reference.execute_batch(m).map_err(|e| self.err(e))?;
        }
        let triggers = |c: &Connection| -> rusqlite::Result<BTreeMap<String, String>> {
            let mut stmt =
                c.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        };
        let want = triggers(&reference).map_err(|e| self.err(e))?;
        let have = triggers(&self.conn).map_err(|e| self.err(e))?;
        for (name, sql) in &want {
            let problem = match have.get(name) {
                None => "is missing (dropped)",
                Some(h) if h != sql => "was changed",
                Some(_) => continue,
            };
            report.problems.push(Problem {
                kind: "schema_altered".into(),
                subject: format!("trigger {name}"),
                detail: format!(
                    "the trigger {name} {problem}: the rule it keeps no longer holds in the index"
                ),
            });
        }
        Ok(())
    }

    pub(crate) fn verify(
        &self,
        objects: &ObjectStore,
        progress: &mut dyn FnMut(u64),
    ) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        // One read transaction: objects, clips and the audit log are read in
        // one snapshot, so an ingest committing meanwhile cannot make them
        // disagree.
        let anchor = std::fs::read_to_string(self.path.with_file_name(ANCHOR_FILE)).ok();
        let snapshot = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let indexed: Vec<(String, String, i64)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT blake3, sha256, bytes FROM objects ORDER BY blake3")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))?
        };
        let purged = self.purged_objects()?;
        let mut done = 0u64;
        for (b3, sha, bytes) in &indexed {
            if purged.contains(b3) && !objects.object_path(b3).exists() {
                continue; // removed under the retention policy, audited
            }
            report.objects_checked += 1;
            match objects.rehash(b3) {
                Ok(d) => {
                    done += d.bytes;
                    report.bytes_checked += d.bytes;
                    let mut wrong = Vec::new();
                    if &d.blake3 != b3 {
                        wrong.push(format!("BLAKE3 is now {}", d.blake3));
                    }
                    if &d.sha256 != sha {
                        wrong.push(format!("SHA-256 is {} but the index has {sha}", d.sha256));
                    }
                    if d.bytes != *bytes as u64 {
                        wrong.push(format!("{} bytes but the index has {bytes}", d.bytes));
                    }
                    if !wrong.is_empty() {
                        report.problems.push(Problem {
                            kind: "object_altered".into(),
                            subject: b3.clone(),
                            detail: format!(
                                "{}: {}",
                                objects.object_path(b3).display(),
                                wrong.join("; ")
                            ),
                        });
                    }
                }
                Err(err) => report.problems.push(Problem {
                    kind: "object_missing".into(),
                    subject: b3.clone(),
                    detail: err.to_string(),
                }),
            }
            progress(done);
        }
        let indexed_set: BTreeSet<&str> = indexed.iter().map(|(b, _, _)| b.as_str()).collect();

        let clips: Vec<(String, String, String)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, object, path_display FROM clips WHERE purged_at IS NULL ORDER BY id")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))?
        };
        let bad_objects: BTreeSet<String> =
            report.problems.iter().map(|p| p.subject.clone()).collect();
        for (id, object, path) in &clips {
            report.clips_checked += 1;
            if !indexed_set.contains(object.as_str()) || bad_objects.contains(object) {
                report.problems.push(Problem {
                    kind: "clip_object_missing".into(),
                    subject: id.clone(),
                    detail: format!(
                        "clip {id} ({path}) refers to object {object}, which is missing or altered"
                    ),
                });
            }
        }

        self.check_clips_against_log(&mut report)?;
        self.check_triggers(&mut report)?;
        self.check_anchor(anchor, &mut report)?;
        let breaks = audit::verify_chain(&self.conn).map_err(|e| self.err(e))?;
        let key = self
            .path
            .parent()
            .and_then(|root| crate::tlog::public_key(root).ok());
        for (kind, subject, detail) in
            crate::tlog::check(&self.conn, key.as_ref()).map_err(|e| self.err(e))?
        {
            report.problems.push(Problem {
                kind: kind.into(),
                subject,
                detail,
            });
        }
        report.audit_rows_checked = self
            .conn
            .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get::<_, i64>(0))
            .map_err(|e| self.err(e))? as u64;
        drop(snapshot);

        // Objects the index does not know. One committed after the snapshot
        // is asked about again; one written since an ingest run that has not
        // finished started may belong to it (running now, or interrupted:
        // adopted when it is run again): a warning. Any other is evidence
        // the index lost.
        let unfinished: Option<String> = self
            .conn
            .query_row(
                "SELECT MIN(started_at) FROM ingest_runs WHERE status = 'running'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let since_unfinished = |t: std::time::SystemTime| {
            let t = crate::timefmt::rfc3339(time::OffsetDateTime::from(t));
            unfinished
                .as_deref()
                .is_some_and(|start| t.as_str() >= start)
        };
        for name in objects.list()? {
            if indexed_set.contains(name.as_str()) {
                continue;
            }
            let now_known: bool = self
                .conn
                .query_row("SELECT 1 FROM objects WHERE blake3 = ?1", [&name], |_| {
                    Ok(())
                })
                .optional()
                .map_err(|e| self.err(e))?
                .is_some();
            if now_known {
                continue;
            }
            let path = objects.object_path(&name);
            let recent = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .is_ok_and(since_unfinished);
            let p = Problem {
                kind: "unindexed_object".into(),
                subject: name.clone(),
                detail: if recent {
                    format!("{}: not in the index yet (an ingest running now, or just interrupted: running it again adopts it)", path.display())
                } else {
                    format!("{}: stored evidence the index does not know (the index lost rows or was replaced: restore it from backup)", path.display())
                },
            };
            if recent {
                report.warnings.push(p);
            } else {
                report.problems.push(p);
            }
        }
        for b in breaks {
            report.problems.push(Problem {
                kind: "audit_chain".into(),
                subject: format!("audit row {}", b.seq),
                detail: b.problem,
            });
        }
        // The derived state the lists and queues read (schema 15) must be
        // what the explanations give.
        for (gap, stored, want) in crate::gaps::stale_states(&self.conn).map_err(|e| self.err(e))? {
            report.problems.push(Problem {
                kind: "gap_state".into(),
                subject: gap,
                detail: format!(
                    "the interruption is listed as {stored}, but its explanations make it {want} (the index was edited behind the service)"
                ),
            });
        }
        report.ok = report.problems.is_empty();
        Ok(report)
    }
}

pub(crate) fn sql(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sql {
        path: path.to_owned(),
        source,
    }
}

/// A clip's id: stable for the same recorder, path and content, so a
/// re-run after a crash finds the row it may already have written.
fn clip_id(device: Option<&str>, path: &[u8], blake3_hex: &str) -> String {
    let mut h = blake3::Hasher::new_derive_key("vigil clip id v1");
    h.update(device.unwrap_or("").as_bytes());
    h.update(&[0]);
    h.update(path);
    h.update(&[0]);
    h.update(blake3_hex.as_bytes());
    format!("c{}", &h.finalize().to_hex()[..20])
}

fn run_id(now: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(now.as_bytes());
    h.update(&std::process::id().to_le_bytes());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.update(&nanos.to_le_bytes());
    format!("r{}", &h.finalize().to_hex()[..16])
}
