//! Clips and ingest runs in the index: what a clip row holds, recording
//! runs and the clips they store (R1, R4, R5, R10), and listing them.

use std::path::Path;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::domains::Recordings;
use crate::error::{Result, StoreError};
use crate::gaps::{GapKind, NewGap};
use crate::index::{sql, Index};
use crate::objects::Digests;
use crate::timefmt::now_rfc3339;

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
    /// Only the files at these original paths (none: any path).
    pub paths: Vec<String>,
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
    /// The search box: recordings whose officer (name or number),
    /// recorder, current tag (site, case, note) or an explanation's text
    /// holds these words (any substring, Chinese included).
    pub text: Option<String>,
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

impl<I: std::ops::DerefMut<Target = Index>> Recordings<I> {
    /// Records a docking: the recorder's clock drift and health (R4, R5).
    pub fn record_docking(&mut self, actor: &str, d: &crate::Docking) -> Result<()> {
        let now = now_rfc3339();
        let faults = serde_json::to_string(&d.faults).unwrap_or_else(|_| "[]".into());
        self.ix.write(|tx| {
            tx.execute(
                "INSERT INTO dockings (at, dock, slot, device_serial, officer_id, drift_ms, battery_pct, storage_free, faults)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![now, d.dock, d.slot, d.device, d.officer, d.drift_ms, d.battery_pct, d.storage_free as i64, faults],
            )?;
            audit::append(tx, &now, actor, "device.docked", &d.device, &serde_json::to_value(d).unwrap_or_default())
        })?;
        Ok(())
    }

    /// Starts an ingest run and audits it; returns the run id.
    pub fn begin_run(
        &mut self,
        actor: &str,
        source: &str,
        device: Option<&str>,
        officer: Option<&str>,
    ) -> Result<String> {
        let now = now_rfc3339();
        let id = run_id(&now);
        self.ix.write(|tx| {
            tx.execute(
                "INSERT INTO ingest_runs (id, source, device_serial, officer_id, actor, started_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running')",
                params![id, source, device, officer, actor, now],
            )?;
            let detail = json!({"source": source, "device": device, "officer": officer});
            audit::append(tx, &now, actor, "ingest.started", &id, &detail)
        })?;
        Ok(id)
    }

    /// Closes an ingest run with its counts and audits it.
    pub fn finish_run(&mut self, actor: &str, run: &str, counts: &RunCounts) -> Result<()> {
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
        self.ix.write(|tx| {
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

    /// Closes the ingest runs an earlier process left running (it was
    /// killed, or the power was cut): each is marked incomplete and an
    /// `ingest.interrupted` audit row says so (R6). Only the process that
    /// serves the store calls this, once it holds the store's claim, so no
    /// run it closes is still going. Returns the runs closed.
    pub fn close_interrupted_runs(&mut self, actor: &str) -> Result<Vec<String>> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
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
    pub fn record_clips(
        &mut self,
        actor: &str,
        run: Option<&str>,
        clips: &[NewClip],
    ) -> Result<Vec<RecordedClip>> {
        let path = self.ix.path.clone();
        self.ix.transact_marked(
            "index clips",
            Some(("index.before_commit", "index.committed")),
            |tx, now| {
                let mut out = Vec::with_capacity(clips.len());
                for c in clips {
                    out.push(record_in(tx, &path, actor, run, c, now)?);
                }
                Ok(out)
            },
        )
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
impl<I: std::ops::Deref<Target = Index>> Recordings<I> {
    /// The latest docking of each recorder.
    pub fn dockings(&self) -> Result<Vec<crate::Docking>> {
        let mut stmt = self.ix
            .conn
            .prepare(
                "SELECT dock, slot, device_serial, officer_id, drift_ms, battery_pct, storage_free, faults FROM dockings d
                 WHERE id = (SELECT MAX(id) FROM dockings e WHERE e.device_serial = d.device_serial)
                 ORDER BY device_serial",
            )
            .map_err(|e| self.ix.err(e))?;
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
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }

    /// The pace of ingest: the bytes of recordings ingested at or after
    /// `since` (RFC 3339 UTC), and when the newest recording of all was
    /// ingested (by the index `clips_ingested`).
    pub fn ingest_pace(&self, since: &str) -> Result<(u64, Option<String>)> {
        let bytes: i64 = self
            .ix
            .conn
            .query_row(
                "SELECT COALESCE(SUM(o.bytes), 0) FROM clips c JOIN objects o ON o.blake3 = c.object
                 WHERE c.ingested_at >= ?1",
                [since],
                |r| r.get(0),
            )
            .map_err(|e| self.ix.err(e))?;
        let last: Option<String> = self
            .ix
            .conn
            .query_row("SELECT MAX(ingested_at) FROM clips", [], |r| r.get(0))
            .map_err(|e| self.ix.err(e))?;
        Ok((bytes.max(0) as u64, last))
    }

    /// Total bytes of all indexed objects (for progress bars).
    pub fn indexed_bytes(&self) -> Result<u64> {
        self.ix
            .conn
            .query_row("SELECT COALESCE(SUM(bytes), 0) FROM objects", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|b| b as u64)
            .map_err(|e| self.ix.err(e))
    }

    /// One clip by id.
    pub fn clip(&self, id: &str) -> Result<Option<Clip>> {
        let filter = ClipFilter {
            clip: Some(id.to_owned()),
            ..Default::default()
        };
        Ok(self.clips(&filter)?.into_iter().next())
    }

    /// Clips matching the filter, oldest recording first.
    pub fn clips(&self, f: &ClipFilter) -> Result<Vec<Clip>> {
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
        q.one_of("c.path_display", &f.paths);
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
        if let Some(words) = f.text.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
            let search = Search::of(words);
            // Words many recordings hold: walk the list in its own order
            // and stop at a page (`+` keeps SQLite from gathering every
            // match by index first). Rare words: one condition per place
            // the words may be, OR-ed, each read by its own index, and
            // only the matches sorted.
            let walk = self.matches_many(&search)?;
            let p = if walk { "+" } else { "" };
            let (tagged, explained) = match &search.phrase {
                // Three characters or more: the trigram indexes.
                Some(_) => (
                    "t.id IN (SELECT rowid FROM tag_words WHERE tag_words MATCH ?)",
                    format!("{p}c.id IN (SELECT clip FROM explanation_words WHERE explanation_words MATCH ?)"),
                ),
                // Fewer (a surname, a two-character name): each row read.
                None => (
                    "(t.site LIKE ? ESCAPE '\\' OR t.case_no LIKE ? ESCAPE '\\' OR t.note LIKE ? ESCAPE '\\')",
                    format!("{p}c.id IN (SELECT g.clip FROM explanations e JOIN gaps g ON g.id = e.gap WHERE e.text LIKE ? ESCAPE '\\')"),
                ),
            };
            let mut params = vec![words.to_owned(), search.like.clone(), search.like.clone()];
            match &search.phrase {
                Some(phrase) => params.extend([phrase.clone(), phrase.clone()]),
                None => params.extend(std::iter::repeat_n(search.like.clone(), 4)),
            }
            q.cond_with(
                &format!(
                    "({p}c.officer_id IN (SELECT id FROM officers WHERE id = ? OR name LIKE ? ESCAPE '\\')
                      OR {p}c.device_serial IN (SELECT serial FROM devices WHERE serial LIKE ? ESCAPE '\\')
                      OR {p}c.id IN (SELECT t.clip FROM tags t WHERE {tagged}
                           AND NOT EXISTS (SELECT 1 FROM tags n WHERE n.clip = t.clip AND n.id > t.id))
                      OR {explained})"
                ),
                params,
            );
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
        let mut stmt = self.ix.conn.prepare(&q.sql()).map_err(|e| self.ix.err(e))?;
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
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }
    /// A clip's continuity analysis as recorded at ingest (JSON), if any.
    pub fn analysis_of(&self, clip: &str) -> Result<Option<String>> {
        self.ix
            .conn
            .query_row("SELECT analysis FROM clips WHERE id = ?1", [clip], |r| {
                r.get(0)
            })
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.ix.err(e))
    }
}

impl<I: std::ops::DerefMut<Target = Index>> Recordings<I> {
    /// Indexes a clip whose object is already durable (it must come from
    /// [`ObjectStore::put`]). Idempotent: the same device, path and content
    /// give the same clip id and no new row.
    pub fn record_clip(
        &mut self,
        actor: &str,
        run: Option<&str>,
        c: &NewClip,
    ) -> Result<RecordedClip> {
        let mut out = self.record_clips(actor, run, std::slice::from_ref(c))?;
        Ok(out.remove(0))
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

/// The search box's words as the index reads them.
struct Search {
    /// As typed (an officer's number is matched whole).
    words: String,
    /// For LIKE: `%words%`, its wildcards escaped.
    like: String,
    /// For the trigram indexes: the words as one quoted phrase, when they
    /// are three characters or more (fewer make no trigram).
    phrase: Option<String>,
}

impl Search {
    fn of(words: &str) -> Self {
        let like = format!(
            "%{}%",
            words
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let phrase =
            (words.chars().count() >= 3).then(|| format!("\"{}\"", words.replace('"', "\"\"")));
        Self {
            words: words.to_owned(),
            like,
            phrase,
        }
    }
}

/// Matches at which a search walks the list in its own order instead of
/// gathering and sorting every match: a page of 50 is then found within
/// about clips × 50 / 2,000 rows.
const MANY: i64 = 2000;

impl<I: std::ops::Deref<Target = Index>> Recordings<I> {
    /// Whether the words match at least [`MANY`] places (each count stops
    /// there): an officer's or recorder's recordings, current or older
    /// tags, explanations. Words too short for the trigram indexes are
    /// taken as common (counting them would read every row).
    fn matches_many(&self, s: &Search) -> Result<bool> {
        let Some(phrase) = &s.phrase else {
            return Ok(true);
        };
        let n: i64 = self
            .ix
            .conn
            .prepare_cached(
                "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM clips WHERE officer_id IN
                            (SELECT id FROM officers WHERE id = ?1 OR name LIKE ?2 ESCAPE '\\') LIMIT ?4))
                      + (SELECT COUNT(*) FROM (SELECT 1 FROM clips WHERE device_serial IN
                            (SELECT serial FROM devices WHERE serial LIKE ?2 ESCAPE '\\') LIMIT ?4))
                      + (SELECT COUNT(*) FROM (SELECT 1 FROM tag_words WHERE tag_words MATCH ?3 LIMIT ?4))
                      + (SELECT COUNT(*) FROM (SELECT 1 FROM explanation_words WHERE explanation_words MATCH ?3 LIMIT ?4))",
            )
            .and_then(|mut st| {
                st.query_row(params![s.words, s.like, phrase, MANY], |r| r.get(0))
            })
            .map_err(|e| self.ix.err(e))?;
        Ok(n >= MANY)
    }
}
