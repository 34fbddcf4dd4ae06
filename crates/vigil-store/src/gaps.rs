//! The gap log (R7, R8, R9): every interruption found in the footage, and
//! the explanations attached to it.
//!
//! A gap's id derives from what it is (kind, clip, stream, offset), so
//! finding the same interruption again (a re-ingest, a re-check of a
//! recorder's sessions) never makes a second row. Explanations are
//! append-only and a new one supersedes the previous (triggers refuse
//! UPDATE and DELETE). A gap's status follows its current explanation:
//!
//! - `open`: none, or the current one was rejected by a review (R9);
//! - `awaiting_signatures`: a written one signed by fewer than
//!   [`SIGNATURES_NEEDED`] distinct officers, each in their own session (R8);
//! - `explained`: a spoken one, or a written one with its signatures.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::error::{Result, StoreError};
use crate::index::{sql, Index};
use crate::people::officer_registered;
use crate::timefmt::now_rfc3339;

/// What kind of interruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    /// A hole in a stream inside one clip.
    WithinClip,
    /// A pause between two clips of one recording session.
    BetweenClips,
    /// A numbered file missing inside a session.
    MissingFile,
    /// Timestamps jump back inside one clip: the recorder restarted (R7:
    /// re-recorded).
    Restart,
    /// One stream of a clip stops well before the others (R7: intermittent).
    StreamStopped,
    /// An MP4/MOV edit list hides recorded media or shows nothing for a
    /// while (R7: selectively cut).
    EditListCut,
}

impl GapKind {
    /// The name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WithinClip => "within_clip",
            Self::BetweenClips => "between_clips",
            Self::MissingFile => "missing_file",
            Self::Restart => "restart",
            Self::StreamStopped => "stream_stopped",
            Self::EditListCut => "edit_list_cut",
        }
    }

    /// The kind stored as `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "within_clip" => Self::WithinClip,
            "between_clips" => Self::BetweenClips,
            "missing_file" => Self::MissingFile,
            "restart" => Self::Restart,
            "stream_stopped" => Self::StreamStopped,
            "edit_list_cut" => Self::EditListCut,
            _ => return None,
        })
    }

    fn parse(s: &str) -> Self {
        Self::from_name(s).unwrap_or(Self::WithinClip)
    }
}

/// An interruption to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGap {
    /// Kind.
    pub kind: GapKind,
    /// The clip in which, or at whose start, recording resumed.
    pub clip: String,
    /// For between-clip kinds: the clip before the pause.
    pub previous_clip: Option<String>,
    /// `video` or `audio` (within-clip only).
    pub stream: Option<String>,
    /// Offset in the clip where the hole starts, seconds (within-clip only).
    pub offset_s: Option<f64>,
    /// How long nothing was recorded, seconds.
    pub duration_s: f64,
    /// Wall-clock start of the hole, RFC 3339, when known.
    pub wall_start: Option<String>,
    /// For `missing_file`: which file numbers are missing.
    pub missing: Option<String>,
}

impl NewGap {
    fn id(&self) -> String {
        let mut h = blake3::Hasher::new_derive_key("vigil gap id v1");
        for part in [
            self.kind.as_str(),
            &self.clip,
            self.previous_clip.as_deref().unwrap_or(""),
            self.stream.as_deref().unwrap_or(""),
        ] {
            h.update(part.as_bytes());
            h.update(&[0]);
        }
        let offset_ms = self.offset_s.map_or(-1, |o| (o * 1000.0).round() as i64);
        h.update(&offset_ms.to_le_bytes());
        format!("g{}", &h.finalize().to_hex()[..16])
    }
}

/// Distinct officers who must sign a written explanation (R8).
pub const SIGNATURES_NEEDED: usize = 2;

/// An explanation as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explanation {
    /// Explanation id.
    pub id: String,
    /// `spoken` or `written`.
    pub kind: String,
    /// Spoken: the clip holding it.
    pub clip: Option<String>,
    /// Spoken: offset in that clip, seconds.
    pub at_s: Option<f64>,
    /// Spoken: audio level measured there, dBFS.
    pub level_dbfs: Option<f64>,
    /// Written: the text.
    pub text: Option<String>,
    /// Spoken: the officer who spoke; written: the officers who have signed
    /// so far, in signing order.
    pub officers: Vec<String>,
    /// Written: each signature (officer, the Vigil user who signed, when).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<Signature>,
    /// Who recorded it in Vigil.
    pub recorded_by: String,
    /// When.
    pub created_at: String,
    /// The explanation this one replaces.
    pub supersedes: Option<String>,
    /// Who reviewed it last.
    pub reviewed_by: Option<String>,
    /// `accepted` or `rejected`.
    pub review: Option<String>,
}

/// What to attach to a gap.
#[derive(Debug, Clone)]
pub enum NewExplanation {
    /// Spoken by an officer when recording resumed.
    Spoken {
        /// The clip holding it.
        clip: String,
        /// Offset in that clip, seconds.
        at_s: f64,
        /// Measured audio level there, dBFS.
        level_dbfs: f64,
        /// The officer who spoke.
        by: String,
    },
    /// Written, filed and signed by one officer in their own session; a
    /// second officer signs with [`crate::Store::sign`].
    Written {
        /// The text.
        text: String,
        /// The filing officer, who signs it first.
        by: String,
        /// The Vigil user signing as that officer.
        user: String,
    },
}

/// One officer's signature on a written explanation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Signature {
    /// The officer.
    pub officer: String,
    /// The Vigil user who signed, in their own session.
    pub user: String,
    /// When.
    pub at: String,
}

/// The outcome of a signature.
#[derive(Debug, Clone, Serialize)]
pub struct Signed {
    /// The gap explained.
    pub gap: String,
    /// The explanation.
    pub explanation: String,
    /// Every officer who has signed now.
    pub officers: Vec<String>,
    /// The gap's status after this signature.
    pub status: &'static str,
}

/// A gap as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    /// Gap id.
    pub id: String,
    /// Kind.
    pub kind: GapKind,
    /// Clip where recording resumed.
    pub clip: String,
    /// That clip's original path.
    pub path: String,
    /// The clip before (between-clip kinds).
    pub previous_clip: Option<String>,
    /// Its original path.
    pub previous_path: Option<String>,
    /// `video` / `audio` / null.
    pub stream: Option<String>,
    /// Offset in the clip, seconds.
    pub offset_s: Option<f64>,
    /// Duration, seconds.
    pub duration_s: f64,
    /// Wall-clock start.
    pub wall_start: Option<String>,
    /// Recorder.
    pub device: Option<String>,
    /// Officer.
    pub officer: Option<String>,
    /// Missing file numbers (missing_file).
    pub missing: Option<String>,
    /// When Vigil found it.
    pub detected_at: String,
    /// `open`, `awaiting_signatures` or `explained`.
    pub status: &'static str,
    /// Open longer than the deadline.
    pub overdue: bool,
    /// The current explanation.
    pub explanation: Option<Explanation>,
}

/// Which gaps to list.
#[derive(Debug, Clone, Default)]
pub struct GapFilter {
    /// Only those not explained (open, or awaiting signatures).
    pub open_only: bool,
    /// Only this officer's.
    pub officer: Option<String>,
    /// Only this recorder's.
    pub device: Option<String>,
    /// Only those starting (wall clock, else detected) at or after this
    /// RFC 3339 time or date.
    pub since: Option<String>,
    /// Open gaps detected more than this many seconds ago are overdue.
    pub overdue_after_s: i64,
    /// Only this gap.
    pub id: Option<String>,
    /// Only the gaps of this clip.
    pub clip: Option<String>,
    /// Only those starting (wall clock, else detected) before this RFC 3339
    /// time.
    pub until: Option<String>,
    /// Only the gaps of clips ingested in `[from, until)` (RFC 3339): a
    /// report's period.
    pub ingested: Option<(String, String)>,
    /// Only those in this state (`open`, `awaiting_signatures`,
    /// `explained`).
    pub status: Option<String>,
    /// Only those whose current explanation nobody has reviewed yet.
    pub unreviewed: bool,
    /// Only overdue ones (open longer than `overdue_after_s`).
    pub overdue_only: bool,
    /// Only written explanations this officer has not signed yet.
    pub not_signed_by: Option<String>,
    /// Leave out gaps of clips marked with one of these confidentiality
    /// kinds (R17: what the reader's role may not see).
    pub hide_confidential: Vec<String>,
    /// Newest first (default: oldest first).
    pub newest_first: bool,
    /// At most this many.
    pub limit: Option<u64>,
    /// Skip this many first.
    pub offset: u64,
}

/// The gap id for a new gap (exposed for tests and tools).
pub fn gap_id(g: &NewGap) -> String {
    g.id()
}

/// Inserts gaps not yet recorded, with an audit row each. Returns the ids
/// of all given gaps. Call inside the transaction of the change that found
/// them.
pub(crate) fn insert(
    conn: &Connection,
    actor: &str,
    now: &str,
    gaps: &[NewGap],
) -> rusqlite::Result<Vec<String>> {
    let mut ids = Vec::new();
    for g in gaps {
        let id = g.id();
        let (device, officer): (Option<String>, Option<String>) = conn.query_row(
            "SELECT device_serial, officer_id FROM clips WHERE id = ?1",
            [&g.clip],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO gaps (id, kind, clip, previous_clip, stream, offset_s, duration_s, wall_start, device_serial, officer_id, missing, detected_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![id, g.kind.as_str(), g.clip, g.previous_clip, g.stream, g.offset_s, g.duration_s, g.wall_start, device, officer, g.missing, now],
        )?;
        if inserted > 0 {
            refresh_state(conn, &id)?;
            audit::append(
                conn,
                now,
                actor,
                "gap.detected",
                &id,
                &json!({
                    "kind": g.kind.as_str(), "clip": g.clip, "previous_clip": g.previous_clip,
                    "stream": g.stream, "offset_s": g.offset_s, "duration_s": g.duration_s,
                    "wall_start": g.wall_start, "missing": g.missing,
                }),
            )?;
        }
        ids.push(id);
    }
    Ok(ids)
}

/// One clip of a recorder's timeline, for session checks.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineClip {
    /// Clip id.
    pub id: String,
    /// Original path (printable).
    pub path: String,
    /// Sequence number from the file name.
    pub seq: Option<i64>,
    /// Recording start, RFC 3339.
    pub start: String,
    /// Recording end, RFC 3339.
    pub end: String,
}

impl Index {
    pub(crate) fn record_gaps(&mut self, actor: &str, gaps: &[NewGap]) -> Result<Vec<String>> {
        let now = now_rfc3339();
        self.write(|tx| insert(tx, actor, &now, gaps))
    }

    pub(crate) fn timeline(&self, device: Option<&str>) -> Result<Vec<TimelineClip>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, path_display, seq, recorded_start, recorded_end FROM clips
                 WHERE COALESCE(device_serial, '') = COALESCE(?1, '')
                   AND kind IN ('video', 'audio') AND recorded_start IS NOT NULL AND recorded_end IS NOT NULL
                 ORDER BY recorded_start, path_display",
            )
            .map_err(|e| sql(&self.path, e))?;
        let rows = stmt
            .query_map([device], |r| {
                Ok(TimelineClip {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    seq: r.get(2)?,
                    start: r.get(3)?,
                    end: r.get(4)?,
                })
            })
            .map_err(|e| sql(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| sql(&self.path, e))
    }

    pub(crate) fn gaps(&self, f: &GapFilter) -> Result<Vec<Gap>> {
        let day = |s: &str| {
            if s.len() == 10 {
                format!("{s}T00:00:00Z")
            } else {
                s.to_owned()
            }
        };
        let cutoff = time::OffsetDateTime::now_utc() - time::Duration::seconds(f.overdue_after_s);
        let cutoff = crate::timefmt::rfc3339(cutoff);
        // Each gap with its current explanation (gap_state names it, as
        // `refresh_state` derived it from `current_explanation_in`), that
        // explanation's signatures and its latest review, in one statement:
        // a month's gap log is thousands of rows, and a statement per row
        // is prepared again at every new binding (STAT4).
        let mut q = crate::query::Query::new(
            "SELECT g.id, g.kind, g.clip, c.path_display, g.previous_clip, p.path_display, g.stream, g.offset_s,
                    g.duration_s, g.wall_start, g.device_serial, g.officer_id, g.missing, g.detected_at,
                    e.id, e.kind, e.clip, e.at_s, e.level_dbfs, e.text, e.officers, e.actor, e.created_at, e.supersedes,
                    (SELECT json_array(r.reviewer, r.verdict) FROM reviews r WHERE r.explanation = e.id ORDER BY r.id DESC LIMIT 1),
                    (SELECT json_group_array(json_array(x.officer, x.user_name, x.at) ORDER BY x.at, x.officer)
                       FROM signatures x WHERE x.explanation = e.id)
             FROM gaps g JOIN clips c ON c.id = g.clip LEFT JOIN clips p ON p.id = g.previous_clip
             JOIN gap_state s ON s.gap = g.id LEFT JOIN explanations e ON e.id = s.explanation",
        );
        q.eq("s.officer", &f.officer);
        q.eq("g.device_serial", &f.device);
        q.eq("g.id", &f.id);
        q.eq("g.clip", &f.clip);
        q.eq("s.status", &f.status);
        if let Some(since) = &f.since {
            q.cond("s.start >= ?", day(since));
        }
        if let Some(until) = &f.until {
            q.cond("s.start < ?", day(until));
        }
        if let Some((a, b)) = &f.ingested {
            q.cond("s.clip_ingested >= ?", a.clone());
            q.cond("s.clip_ingested < ?", b.clone());
        }
        if f.open_only || f.overdue_only {
            // As the partial index `gap_state_unexplained` is written.
            q.raw("s.status != 'explained'");
        }
        if f.overdue_only {
            q.cond("s.detected_at < ?", cutoff.clone());
        }
        if f.unreviewed {
            q.raw("s.explanation IS NOT NULL AND s.reviewed = 0");
        }
        if let Some(me) = &f.not_signed_by {
            q.raw("s.status = 'awaiting_signatures'");
            q.cond(
                "NOT EXISTS (SELECT 1 FROM signatures x WHERE x.explanation = s.explanation AND x.officer = ?)",
                me.clone(),
            );
        }
        q.not_confidential("g.clip", &f.hide_confidential);
        // The order of gap_state's indexes (start, then the gap id): a
        // page reads a page of rows, not every match sorted.
        q.order(if f.newest_first {
            "s.start DESC, s.gap DESC"
        } else {
            "s.start, s.gap"
        });
        q.page(f.limit, f.offset);
        let mut stmt = self
            .conn
            .prepare(&q.sql())
            .map_err(|e| sql(&self.path, e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(q.params()), |r| {
                Ok(Gap {
                    id: r.get(0)?,
                    kind: GapKind::parse(&r.get::<_, String>(1)?),
                    clip: r.get(2)?,
                    path: r.get(3)?,
                    previous_clip: r.get(4)?,
                    previous_path: r.get(5)?,
                    stream: r.get(6)?,
                    offset_s: r.get(7)?,
                    duration_s: r.get(8)?,
                    wall_start: r.get(9)?,
                    device: r.get(10)?,
                    officer: r.get(11)?,
                    missing: r.get(12)?,
                    detected_at: r.get(13)?,
                    status: "open",
                    overdue: false,
                    explanation: explanation_joined(r, 14)?,
                })
            })
            .map_err(|e| sql(&self.path, e))?;
        let mut out = Vec::new();
        for g in rows {
            let mut g = g.map_err(|e| sql(&self.path, e))?;
            g.status = status_of(g.explanation.as_ref());
            if g.status != "explained" {
                g.overdue = g.detected_at < cutoff;
            }
            out.push(g);
        }
        Ok(out)
    }

    /// How many gaps are in each state, and how many are overdue:
    /// `(open, awaiting_signatures, explained, overdue)`.
    pub(crate) fn gap_counts(&self, overdue_after_s: i64) -> Result<(u64, u64, u64, u64)> {
        let cutoff = crate::timefmt::rfc3339(
            time::OffsetDateTime::now_utc() - time::Duration::seconds(overdue_after_s),
        );
        self.conn
            .query_row(
                "SELECT COALESCE(SUM(status = 'open'), 0), COALESCE(SUM(status = 'awaiting_signatures'), 0),
                        COALESCE(SUM(status = 'explained'), 0),
                        COALESCE(SUM(status != 'explained' AND detected_at < ?1), 0)
                 FROM gap_state",
                [cutoff],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64, r.get::<_, i64>(3)? as u64)),
            )
            .map_err(|e| self.err(e))
    }

    fn current_explanation(&self, gap: &str) -> Result<Option<Explanation>> {
        current_explanation_in(&self.conn, gap).map_err(|e| self.err(e))
    }

    pub(crate) fn review_explanation(
        &mut self,
        actor: &str,
        reviewer: &str,
        gap: &str,
        verdict: &str,
        note: Option<&str>,
    ) -> Result<()> {
        let Some(e) = self.current_explanation(gap)? else {
            return Err(StoreError::BadRow {
                table: "gaps",
                key: gap.into(),
                problem: "has no explanation to review".into(),
            });
        };
        let now = now_rfc3339();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO reviews (explanation, reviewer, verdict, note, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![e.id, reviewer, verdict, note, now],
            )?;
            audit::append(tx, &now, actor, "gap.reviewed", gap, &json!({"explanation": e.id, "verdict": verdict, "note": note}))?;
            refresh_state(tx, gap)
        })?;
        Ok(())
    }

    pub(crate) fn gap(&self, id: &str) -> Result<Option<Gap>> {
        let filter = GapFilter {
            id: Some(id.to_owned()),
            ..Default::default()
        };
        Ok(self.gaps(&filter)?.into_iter().next())
    }

    pub(crate) fn explain(
        &mut self,
        actor: &str,
        gap: &str,
        new: &NewExplanation,
    ) -> Result<Explanation> {
        let now = now_rfc3339();
        let path = self.path.clone();
        // Read the current explanation and write its successor in one
        // IMMEDIATE transaction: two explanations of one gap at once are
        // serialised, the second superseding the first (no fork).
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql(&path, e))?;
        let previous = current_explanation_in(&tx, gap)
            .map_err(|e| sql(&path, e))?
            .map(|e| e.id);
        let mut h = blake3::Hasher::new_derive_key("vigil explanation id v1");
        h.update(gap.as_bytes());
        h.update(now.as_bytes());
        h.update(previous.as_deref().unwrap_or("").as_bytes());
        let id = format!("e{}", &h.finalize().to_hex()[..16]);
        let (kind, clip, at_s, level, text, officers) = match new {
            NewExplanation::Spoken {
                clip,
                at_s,
                level_dbfs,
                by,
            } => (
                "spoken",
                Some(clip.clone()),
                Some(*at_s),
                Some(*level_dbfs),
                None,
                vec![by.clone()],
            ),
            NewExplanation::Written { text, .. } => {
                ("written", None, None, None, Some(text.clone()), Vec::new())
            }
        };
        let officers_json = serde_json::to_string(&officers).unwrap_or_else(|_| "[]".into());
        let exists: bool = tx
            .query_row("SELECT 1 FROM gaps WHERE id = ?1", [gap], |_| Ok(()))
            .optional()
            .map_err(|e| sql(&path, e))?
            .is_some();
        if !exists {
            return Err(StoreError::BadRow {
                table: "gaps",
                key: gap.to_owned(),
                problem: "no such interruption (see `vigil gaps`)".into(),
            });
        }
        let officer = match new {
            NewExplanation::Spoken { by, .. } => by,
            NewExplanation::Written { by, .. } => by,
        };
        if !officer_registered(&tx, officer).map_err(|e| sql(&path, e))? {
            return Err(StoreError::Refused(format!(
                "officer {officer:?} is not registered (see `vigil officers list`; an admin adds one with `vigil officers add`)"
            )));
        }
        tx.execute(
            "INSERT INTO explanations (id, gap, kind, clip, at_s, level_dbfs, text, officers, actor, created_at, supersedes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![id, gap, kind, clip, at_s, level, text, officers_json, actor, now, previous],
        )
        .map_err(|e| sql(&path, e))?;
        audit::append(
            &tx,
            &now,
            actor,
            "gap.explained",
            gap,
            &json!({
                "explanation": id, "kind": kind, "clip": clip, "at_s": at_s, "level_dbfs": level,
                "text": text, "officers": officers, "supersedes": previous,
            }),
        )
        .map_err(|e| sql(&path, e))?;
        let mut signatures = Vec::new();
        if let NewExplanation::Written { by, user, .. } = new {
            signatures.push(
                add_signature(&tx, actor, &now, gap, &id, by, user).map_err(|e| sql(&path, e))?,
            );
        }
        refresh_state(&tx, gap).map_err(|e| sql(&path, e))?;
        crate::tlog::seal_with(&tx, self.signer.as_ref(), &now).map_err(|e| sql(&path, e))?;
        tx.commit().map_err(|e| sql(&path, e))?;
        self.anchor();
        let officers = if signatures.is_empty() {
            officers
        } else {
            signatures.iter().map(|s| s.officer.clone()).collect()
        };
        Ok(Explanation {
            id,
            signatures,
            kind: kind.to_owned(),
            clip,
            at_s,
            level_dbfs: level,
            text,
            officers,
            recorded_by: actor.to_owned(),
            created_at: now,
            supersedes: previous,
            reviewed_by: None,
            review: None,
        })
    }
}

/// A gap's current explanation (the one no other supersedes), read on
/// `conn`: inside a write transaction this is the read of a
/// read-modify-write that no other writer can interleave with.
fn current_explanation_in(
    conn: &rusqlite::Connection,
    gap: &str,
) -> rusqlite::Result<Option<Explanation>> {
    // The current one is the one no other explanation supersedes.
    conn
            .query_row(
                "SELECT id, kind, clip, at_s, level_dbfs, text, officers, actor, created_at, supersedes FROM explanations e
                 WHERE gap = ?1 AND NOT EXISTS (SELECT 1 FROM explanations n WHERE n.supersedes = e.id)
                 ORDER BY created_at DESC LIMIT 1",
                [gap],
                explanation_row,
            )
            .optional()
            .and_then(|e| match e {
                Some(mut e) => {
                    with_signatures(conn, &mut e)?;
                    let r: Option<(String, String)> = conn
                        .query_row(
                            "SELECT reviewer, verdict FROM reviews WHERE explanation = ?1 ORDER BY id DESC LIMIT 1",
                            [&e.id],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .optional()
                        ?;
                    if let Some((who, verdict)) = r {
                        e.reviewed_by = Some(who);
                        e.review = Some(verdict);
                    }
                    Ok(Some(e))
                }
                None => Ok(None),
            })
}

/// The explanation in columns `at..` of a row: `explanation_row`'s ten
/// columns (all NULL for none), then the latest review as a JSON
/// `[reviewer, verdict]` and the signatures as a JSON array of
/// `[officer, user, at]`, as `current_explanation_in` gives them.
fn explanation_joined(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<Explanation>> {
    if r.get_ref(at)?.as_str_or_null()?.is_none() {
        return Ok(None);
    }
    let json = |i: usize| -> rusqlite::Result<Option<serde_json::Value>> {
        r.get::<_, Option<String>>(at + i)?
            .map(|t| {
                serde_json::from_str(&t).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        at + i,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })
            })
            .transpose()
    };
    let text = |v: &serde_json::Value, i: usize| {
        v.get(i).and_then(|x| x.as_str()).unwrap_or("").to_owned()
    };
    let mut e = explanation_at(r, at)?;
    if let Some(review) = json(10)? {
        e.reviewed_by = Some(text(&review, 0));
        e.review = Some(text(&review, 1));
    }
    if let Some(serde_json::Value::Array(signatures)) = json(11)? {
        let signatures = signatures
            .iter()
            .map(|s| Signature {
                officer: text(s, 0),
                user: text(s, 1),
                at: text(s, 2),
            })
            .collect();
        signed(&mut e, signatures);
    }
    Ok(Some(e))
}

/// An explanation from a row of `id, kind, clip, at_s, level_dbfs, text,
/// officers, actor, created_at, supersedes` (no signatures or review yet).
fn explanation_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Explanation> {
    explanation_at(r, 0)
}

/// The same ten columns from column `at` on.
fn explanation_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Explanation> {
    let officers: String = r.get(at + 6)?;
    Ok(Explanation {
        id: r.get(at)?,
        kind: r.get(at + 1)?,
        clip: r.get(at + 2)?,
        at_s: r.get(at + 3)?,
        level_dbfs: r.get(at + 4)?,
        text: r.get(at + 5)?,
        officers: serde_json::from_str(&officers).unwrap_or_default(),
        signatures: Vec::new(),
        recorded_by: r.get(at + 7)?,
        created_at: r.get(at + 8)?,
        supersedes: r.get(at + 9)?,
        reviewed_by: None,
        review: None,
    })
}

/// Adds an explanation's signatures; its signers are then the officers who
/// signed in their sessions (schema 11 on). An explanation from before
/// keeps the signers typed when it was filed.
fn with_signatures(conn: &Connection, e: &mut Explanation) -> rusqlite::Result<()> {
    signed(e, signatures_of(conn, &e.id)?);
    Ok(())
}

/// Gives `e` its signatures; with any, its signers are their officers.
fn signed(e: &mut Explanation, signatures: Vec<Signature>) {
    e.signatures = signatures;
    if !e.signatures.is_empty() {
        e.officers = e.signatures.iter().map(|s| s.officer.clone()).collect();
    }
}

/// One review of an explanation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReviewEntry {
    /// Who reviewed.
    pub reviewer: String,
    /// `accepted` or `rejected`.
    pub verdict: String,
    /// Why.
    pub note: Option<String>,
    /// When.
    pub at: String,
}

/// Every explanation of a gap, oldest first, each with its reviews.
pub(crate) fn history_in(
    conn: &Connection,
    gap: &str,
) -> rusqlite::Result<Vec<(Explanation, Vec<ReviewEntry>)>> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, clip, at_s, level_dbfs, text, officers, actor, created_at, supersedes
         FROM explanations WHERE gap = ?1 ORDER BY created_at, id",
    )?;
    let rows: Vec<Explanation> = stmt
        .query_map([gap], explanation_row)?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for mut e in rows {
        with_signatures(conn, &mut e)?;
        let reviews = conn
            .prepare("SELECT reviewer, verdict, note, at FROM reviews WHERE explanation = ?1 ORDER BY id")?
            .query_map([&e.id], |r| {
                Ok(ReviewEntry {
                    reviewer: r.get(0)?,
                    verdict: r.get(1)?,
                    note: r.get(2)?,
                    at: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if let Some(last) = reviews.last() {
            e.reviewed_by = Some(last.reviewer.clone());
            e.review = Some(last.verdict.clone());
        }
        out.push((e, reviews));
    }
    Ok(out)
}

/// Adds `officer`'s signature (signing as Vigil user `user`) to a written
/// explanation and audits it; call inside the write transaction.
fn add_signature(
    conn: &Connection,
    actor: &str,
    now: &str,
    gap: &str,
    explanation: &str,
    officer: &str,
    user: &str,
) -> rusqlite::Result<Signature> {
    conn.execute(
        "INSERT INTO signatures (explanation, officer, user_name, at) VALUES (?1, ?2, ?3, ?4)",
        params![explanation, officer, user, now],
    )?;
    audit::append(
        conn,
        now,
        actor,
        "explanation.signed",
        gap,
        &json!({"explanation": explanation, "officer": officer, "user": user}),
    )?;
    Ok(Signature {
        officer: officer.to_owned(),
        user: user.to_owned(),
        at: now.to_owned(),
    })
}

/// The signatures on an explanation, oldest first.
fn signatures_of(conn: &Connection, explanation: &str) -> rusqlite::Result<Vec<Signature>> {
    let mut stmt = conn.prepare(
        "SELECT officer, user_name, at FROM signatures WHERE explanation = ?1 ORDER BY at, officer",
    )?;
    let rows = stmt.query_map([explanation], |r| {
        Ok(Signature {
            officer: r.get(0)?,
            user: r.get(1)?,
            at: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// Writes `gap`'s derived state (status, current explanation, whether it
/// was reviewed) from its explanations; call inside the transaction that
/// changed them.
pub(crate) fn refresh_state(conn: &Connection, gap: &str) -> rusqlite::Result<()> {
    let current = current_explanation_in(conn, gap)?;
    conn.execute(
        "INSERT INTO gap_state (gap, status, explanation, explained_at, reviewed, detected_at, start, clip_ingested, officer)
         SELECT g.id, ?2, ?3, ?4, ?5, g.detected_at, COALESCE(g.wall_start, g.detected_at), c.ingested_at, g.officer_id
         FROM gaps g JOIN clips c ON c.id = g.clip WHERE g.id = ?1
         ON CONFLICT (gap) DO UPDATE SET status = excluded.status, explanation = excluded.explanation,
             explained_at = excluded.explained_at, reviewed = excluded.reviewed",
        params![
            gap,
            status_of(current.as_ref()),
            current.as_ref().map(|e| e.id.as_str()),
            current.as_ref().map(|e| e.created_at.as_str()),
            current.as_ref().is_some_and(|e| e.review.is_some()),
        ],
    )?;
    Ok(())
}

/// Gives every gap without one its derived state (a store from before
/// schema 15); returns how many. Runs inside the open's transaction.
pub(crate) fn catch_up(conn: &Connection) -> rusqlite::Result<usize> {
    let missing: Vec<String> = conn
        .prepare("SELECT id FROM gaps WHERE id NOT IN (SELECT gap FROM gap_state)")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for g in &missing {
        refresh_state(conn, g)?;
    }
    Ok(missing.len())
}

/// Gaps whose derived state differs from what their explanations give
/// (for `verify`): `(gap, stored, recomputed)`.
pub(crate) fn stale_states(conn: &Connection) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT g.id, s.status, s.explanation, s.reviewed FROM gaps g LEFT JOIN gap_state s ON s.gap = g.id",
    )?;
    /// A gap and its stored state (status, explanation, reviewed).
    type Stored = (String, Option<String>, Option<String>, Option<bool>);
    let rows: Vec<Stored> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for (gap, status, explanation, reviewed) in rows {
        let current = current_explanation_in(conn, &gap)?;
        let want = status_of(current.as_ref());
        let same = status.as_deref() == Some(want)
            && explanation.as_deref() == current.as_ref().map(|e| e.id.as_str())
            && reviewed == Some(current.as_ref().is_some_and(|e| e.review.is_some()));
        if !same {
            out.push((
                gap,
                status.unwrap_or_else(|| "none".into()),
                want.to_owned(),
            ));
        }
    }
    Ok(out)
}

/// A gap's status from its current explanation (see the module doc).
pub fn status_of(current: Option<&Explanation>) -> &'static str {
    match current {
        None => "open",
        Some(e) if e.review.as_deref() == Some("rejected") => "open",
        Some(e) if e.kind == "written" && e.officers.len() < SIGNATURES_NEEDED => {
            "awaiting_signatures"
        }
        Some(_) => "explained",
    }
}

impl Index {
    /// Adds the acting officer's signature to a written explanation (R8):
    /// it must be its gap's current explanation, the officer registered and
    /// not have signed it already. Read and write in one transaction.
    pub(crate) fn sign(
        &mut self,
        actor: &str,
        user: &str,
        officer: &str,
        explanation: &str,
    ) -> Result<Signed> {
        let now = now_rfc3339();
        let path = self.path.clone();
        let e = |e| sql(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let row: Option<(String, String)> = tx
            .query_row(
                "SELECT gap, kind FROM explanations WHERE id = ?1",
                [explanation],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(e)?;
        let Some((gap, kind)) = row else {
            return Err(StoreError::Refused(format!(
                "no explanation {explanation:?} (see `vigil gaps --json`)"
            )));
        };
        if kind != "written" {
            return Err(StoreError::Refused(format!(
                "explanation {explanation} is spoken: only written explanations are signed"
            )));
        }
        let current = current_explanation_in(&tx, &gap).map_err(e)?;
        if current.as_ref().map(|c| c.id.as_str()) != Some(explanation) {
            return Err(StoreError::Refused(format!(
                "explanation {explanation} of {gap} has been superseded by {}; sign the current one",
                current.map(|c| c.id).unwrap_or_default()
            )));
        }
        if !officer_registered(&tx, officer).map_err(e)? {
            return Err(StoreError::Refused(format!(
                "officer {officer:?} is not registered (see `vigil officers list`)"
            )));
        }
        let signed = signatures_of(&tx, explanation).map_err(e)?;
        if signed.iter().any(|s| s.officer == officer) {
            return Err(StoreError::Refused(format!(
                "officer {officer} has signed explanation {explanation} already; a second officer must sign it in their own session"
            )));
        }
        add_signature(&tx, actor, &now, &gap, explanation, officer, user).map_err(e)?;
        refresh_state(&tx, &gap).map_err(e)?;
        let now_current = current_explanation_in(&tx, &gap).map_err(e)?;
        crate::tlog::seal_with(&tx, self.signer.as_ref(), &now).map_err(e)?;
        tx.commit().map_err(e)?;
        self.anchor();
        let officers = now_current
            .as_ref()
            .map(|c| c.officers.clone())
            .unwrap_or_default();
        Ok(Signed {
            gap,
            explanation: explanation.to_owned(),
            officers,
            status: status_of(now_current.as_ref()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::{Officer, User};
    use crate::{ClipGap, ClipKind, ClipStatus, Digests, GapFilter, NewClip, Store};

    fn clip(n: usize) -> NewClip {
        let path = format!("DCIM/100BWC/GAP_{n:04}.MP4");
        NewClip {
            path: path.clone().into_bytes(),
            path_display: path,
            device: Some("BWC0001".into()),
            officer: Some("P1".into()),
            digests: Digests {
                blake3: blake3::hash(format!("clip {n}").as_bytes())
                    .to_hex()
                    .to_string(),
                sha256: format!("{n:064x}"),
                bytes: 1000,
            },
            kind: ClipKind::Video,
            recorded_start: Some(format!("2026-11-0{}T08:00:00Z", n + 1)),
            recorded_end: Some(format!("2026-11-0{}T08:15:00Z", n + 1)),
            time_source: Some("container".into()),
            source_mtime: None,
            status: ClipStatus::Ok,
            duration_s: Some(900.0),
            video_start_s: Some(0.0),
            audio_start_s: Some(0.0),
            dropped_frames: Some(0),
            seq: Some(n as i64),
            analysis: None,
            min_gap_s: Some(2.0),
            gaps: vec![ClipGap {
                kind: GapKind::WithinClip,
                stream: "video".into(),
                offset_s: 100.0,
                duration_s: 4.0,
            }],
        }
    }

    /// The gap log reads each gap's explanation, signatures and review in
    /// its one statement; every state a gap can be in reads as the
    /// explanation `current_explanation_in` gives (the one reviews, signing
    /// and superseding use), with the status that follows from it.
    #[test]
    fn the_gap_log_shows_each_gaps_current_explanation() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        for (id, name) in [("P1", "一号"), ("P2", "二号"), ("P3", "三号")] {
            let o = Officer {
                id: id.into(),
                name: Some(name.into()),
                unit: None,
            };
            store.upsert_officer("test", &o).unwrap();
            let u = User {
                name: id.to_lowercase(),
                role: "officer".into(),
                unix_user: None,
                officer: Some(id.into()),
                created_at: String::new(),
            };
            store.add_user("test", &u).unwrap();
        }
        let clips: Vec<NewClip> = (0..7).map(clip).collect();
        store.record_clips("test", None, &clips).unwrap();
        let mut gaps = store.gaps(&GapFilter::default()).unwrap();
        gaps.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(gaps.len(), 7);
        let spoken = |g: &Gap| NewExplanation::Spoken {
            clip: g.clip.clone(),
            at_s: 110.0,
            level_dbfs: -20.0,
            by: "P1".into(),
        };
        let written = |text: &str| NewExplanation::Written {
            text: text.into(),
            by: "P1".into(),
            user: "p1".into(),
        };
        // 0: none. 1: spoken. 2: written, signed by its filer only.
        store.explain("p1", &gaps[1].id, &spoken(&gaps[1])).unwrap();
        store
            .explain("p1", &gaps[2].id, &written("电池耗尽"))
            .unwrap();
        // 3: written and co-signed by two more officers.
        let e = store
            .explain("p1", &gaps[3].id, &written("设备故障"))
            .unwrap();
        store.sign("p3", "p3", "P3", &e.id).unwrap();
        store.sign("p2", "p2", "P2", &e.id).unwrap();
        // 4: written, then superseded by a spoken one.
        store
            .explain("p1", &gaps[4].id, &written("先写的"))
            .unwrap();
        store.explain("p1", &gaps[4].id, &spoken(&gaps[4])).unwrap();
        // 5: spoken, rejected. 6: spoken, rejected, then accepted.
        store.explain("p1", &gaps[5].id, &spoken(&gaps[5])).unwrap();
        store
            .review("sup", "sup", &gaps[5].id, "rejected", Some("听不清"))
            .unwrap();
        store.explain("p1", &gaps[6].id, &spoken(&gaps[6])).unwrap();
        store
            .review("sup", "sup", &gaps[6].id, "rejected", None)
            .unwrap();
        store
            .review("sup2", "sup2", &gaps[6].id, "accepted", None)
            .unwrap();

        let mut listed = store.gaps(&GapFilter::default()).unwrap();
        listed.sort_by(|a, b| a.path.cmp(&b.path));
        let conn = &store.index.conn;
        for g in &listed {
            let current = current_explanation_in(conn, &g.id).unwrap();
            assert_eq!(g.explanation, current, "gap {} ({})", g.id, g.path);
            assert_eq!(g.status, status_of(current.as_ref()), "gap {}", g.path);
        }
        let statuses: Vec<&str> = listed.iter().map(|g| g.status).collect();
        assert_eq!(
            statuses,
            [
                "open",
                "explained",
                "awaiting_signatures",
                "explained",
                "explained",
                "open",
                "explained"
            ]
        );
        // The filer signs on filing (R8); the order is the reference's,
        // checked above with the whole explanation.
        let signed = listed[3].explanation.as_ref().unwrap();
        let mut signers: Vec<(&str, &str)> = signed
            .signatures
            .iter()
            .map(|s| (s.officer.as_str(), s.user.as_str()))
            .collect();
        signers.sort();
        assert_eq!(signers, [("P1", "p1"), ("P2", "p2"), ("P3", "p3")]);
        assert_eq!(signed.officers.len(), 3);
        let unsigned = listed[2].explanation.as_ref().unwrap();
        assert_eq!(unsigned.officers, ["P1"]);
        assert_eq!(signed.text.as_deref(), Some("设备故障"));
        let superseding = listed[4].explanation.as_ref().unwrap();
        assert_eq!(superseding.kind, "spoken");
        assert!(superseding.supersedes.is_some());
        let last = listed[6].explanation.as_ref().unwrap();
        assert_eq!(
            (last.reviewed_by.as_deref(), last.review.as_deref()),
            (Some("sup2"), Some("accepted"))
        );
        assert_eq!(listed[0].explanation, None);
    }
}
