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

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::domains::GapLog;
use crate::error::{Result, StoreError};
use crate::explanations::{
    add_signature, current_explanation_in, explanation_joined, refresh_state, signatures_of,
};
pub use crate::explanations::{
    status_of, Explanation, NewExplanation, ReviewEntry, Signature, Signed, SIGNATURES_NEEDED,
};
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

impl<I: std::ops::Deref<Target = Index>> GapLog<I> {
    /// A recorder's clips with known recording times, in recording order.
    pub fn timeline(&self, device: Option<&str>) -> Result<Vec<TimelineClip>> {
        let mut stmt = self.ix
            .conn
            .prepare(
                "SELECT id, path_display, seq, recorded_start, recorded_end FROM clips
                 WHERE COALESCE(device_serial, '') = COALESCE(?1, '')
                   AND kind IN ('video', 'audio') AND recorded_start IS NOT NULL AND recorded_end IS NOT NULL
                 ORDER BY recorded_start, path_display",
            )
            .map_err(|e| sql(&self.ix.path, e))?;
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
            .map_err(|e| sql(&self.ix.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| sql(&self.ix.path, e))
    }

    /// The gap log.
    pub fn gaps(&self, f: &GapFilter) -> Result<Vec<Gap>> {
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
                    (SELECT json_array(r.reviewer, r.verdict, r.note, r.at) FROM reviews r WHERE r.explanation = e.id ORDER BY r.id DESC LIMIT 1),
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
            .ix
            .conn
            .prepare(&q.sql())
            .map_err(|e| sql(&self.ix.path, e))?;
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
            .map_err(|e| sql(&self.ix.path, e))?;
        let mut out = Vec::new();
        for g in rows {
            let mut g = g.map_err(|e| sql(&self.ix.path, e))?;
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
    pub fn gap_counts(&self, overdue_after_s: i64) -> Result<(u64, u64, u64, u64)> {
        let cutoff = crate::timefmt::rfc3339(
            time::OffsetDateTime::now_utc() - time::Duration::seconds(overdue_after_s),
        );
        self.ix.conn
            .query_row(
                "SELECT COALESCE(SUM(status = 'open'), 0), COALESCE(SUM(status = 'awaiting_signatures'), 0),
                        COALESCE(SUM(status = 'explained'), 0),
                        COALESCE(SUM(status != 'explained' AND detected_at < ?1), 0)
                 FROM gap_state",
                [cutoff],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64, r.get::<_, i64>(3)? as u64)),
            )
            .map_err(|e| self.ix.err(e))
    }

    fn current_explanation(&self, gap: &str) -> Result<Option<Explanation>> {
        current_explanation_in(&self.ix.conn, gap).map_err(|e| self.ix.err(e))
    }

    /// Every explanation of `gap`, oldest first, each with its reviews.
    pub fn explanation_history(&self, gap: &str) -> Result<Vec<(Explanation, Vec<ReviewEntry>)>> {
        crate::explanations::history_in(&self.ix.conn, gap).map_err(|e| self.ix.err(e))
    }

    /// The gap an explanation explains.
    pub fn gap_of_explanation(&self, explanation: &str) -> Result<Option<Gap>> {
        let gap: Option<String> = self
            .ix
            .conn
            .query_row(
                "SELECT gap FROM explanations WHERE id = ?1",
                [explanation],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.ix.err(e))?;
        match gap {
            Some(g) => self.gap(&g),
            None => Ok(None),
        }
    }

    /// One gap by id.
    pub fn gap(&self, id: &str) -> Result<Option<Gap>> {
        let filter = GapFilter {
            id: Some(id.to_owned()),
            ..Default::default()
        };
        Ok(self.gaps(&filter)?.into_iter().next())
    }
}

impl<I: std::ops::DerefMut<Target = Index>> GapLog<I> {
    /// Records interruptions found across clips (new ones only; each audited).
    pub fn record_gaps(&mut self, actor: &str, gaps: &[NewGap]) -> Result<Vec<String>> {
        let now = now_rfc3339();
        self.ix.write(|tx| insert(tx, actor, &now, gaps))
    }

    /// Records a review (accepted/rejected) of a gap's current explanation.
    pub fn review(
        &mut self,
        actor: &str,
        reviewer: &str,
        gap: &str,
        verdict: &str,
        note: Option<&str>,
    ) -> Result<()> {
        self.review_from(actor, reviewer, gap, verdict, note, None)
    }

    /// [`Self::review`] made at the agency centre: its audit row names the
    /// centre's action (`centre_action`), so the centre traces the action
    /// to the row and a resent action is recognised.
    pub fn review_from(
        &mut self,
        actor: &str,
        reviewer: &str,
        gap: &str,
        verdict: &str,
        note: Option<&str>,
        centre_action: Option<&str>,
    ) -> Result<()> {
        let Some(e) = self.current_explanation(gap)? else {
            return Err(StoreError::BadRow {
                table: "gaps",
                key: gap.into(),
                problem: "has no explanation to review".into(),
            });
        };
        let now = now_rfc3339();
        self.ix.write(|tx| {
            tx.execute(
                "INSERT INTO reviews (explanation, reviewer, verdict, note, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![e.id, reviewer, verdict, note, now],
            )?;
            let mut detail = json!({"explanation": e.id, "verdict": verdict, "note": note});
            if let Some(a) = centre_action {
                detail["centre_action"] = a.into();
            }
            audit::append(tx, &now, actor, "gap.reviewed", gap, &detail)?;
            refresh_state(tx, gap)
        })?;
        Ok(())
    }

    /// Attaches an explanation to a gap (superseding any earlier one) and
    /// audits it. Validation of what is explained is the caller's.
    pub fn explain(&mut self, actor: &str, gap: &str, new: &NewExplanation) -> Result<Explanation> {
        let path = self.ix.path.clone();
        // Read the current explanation and write its successor in one
        // IMMEDIATE transaction: two explanations of one gap at once are
        // serialised, the second superseding the first (no fork).
        self.ix.transact("record an explanation", |tx, now| {
        let previous = current_explanation_in(tx, gap)
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
        if !officer_registered(tx, officer).map_err(|e| sql(&path, e))? {
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
            tx,
            now,
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
                add_signature(tx, actor, now, gap, &id, by, user).map_err(|e| sql(&path, e))?,
            );
        }
        refresh_state(tx, gap).map_err(|e| sql(&path, e))?;
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
            created_at: now.to_owned(),
            supersedes: previous,
            reviewed_by: None,
            review_note: None,
            reviewed_at: None,
            review: None,
        })
        })
    }
}

impl<I: std::ops::DerefMut<Target = Index>> GapLog<I> {
    /// Adds the acting officer's signature to a written explanation (R8):
    /// it must be its gap's current explanation, the officer registered and
    /// not have signed it already. Read and write in one transaction.
    pub fn sign(
        &mut self,
        actor: &str,
        user: &str,
        officer: &str,
        explanation: &str,
    ) -> Result<Signed> {
        let path = self.ix.path.clone();
        let e = |e| sql(&path, e);
        let (gap, now_current) = self.ix.transact("record a signature", |tx, now| {
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
        let current = current_explanation_in(tx, &gap).map_err(e)?;
        if current.as_ref().map(|c| c.id.as_str()) != Some(explanation) {
            return Err(StoreError::Refused(format!(
                "explanation {explanation} of {gap} has been superseded by {}; sign the current one",
                current.map(|c| c.id).unwrap_or_default()
            )));
        }
        if !officer_registered(tx, officer).map_err(e)? {
            return Err(StoreError::Refused(format!(
                "officer {officer:?} is not registered (see `vigil officers list`)"
            )));
        }
        let signed = signatures_of(tx, explanation).map_err(e)?;
        if signed.iter().any(|s| s.officer == officer) {
            return Err(StoreError::Refused(format!(
                "officer {officer} has signed explanation {explanation} already; a second officer must sign it in their own session"
            )));
        }
        add_signature(tx, actor, now, &gap, explanation, officer, user).map_err(e)?;
        refresh_state(tx, &gap).map_err(e)?;
        let now_current = current_explanation_in(tx, &gap).map_err(e)?;
        Ok((gap, now_current))
        })?;
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
            store.people_mut().upsert_officer("test", &o).unwrap();
            let u = User {
                name: id.to_lowercase(),
                role: "officer".into(),
                unix_user: None,
                officer: Some(id.into()),
                created_at: String::new(),
                email: None,
            };
            store.people_mut().add_user("test", &u).unwrap();
        }
        let clips: Vec<NewClip> = (0..7).map(clip).collect();
        store
            .recordings_mut()
            .record_clips("test", None, &clips)
            .unwrap();
        let mut gaps = store.gap_log().gaps(&GapFilter::default()).unwrap();
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
        store
            .gap_log_mut()
            .explain("p1", &gaps[1].id, &spoken(&gaps[1]))
            .unwrap();
        store
            .gap_log_mut()
            .explain("p1", &gaps[2].id, &written("电池耗尽"))
            .unwrap();
        // 3: written and co-signed by two more officers.
        let e = store
            .gap_log_mut()
            .explain("p1", &gaps[3].id, &written("设备故障"))
            .unwrap();
        store.gap_log_mut().sign("p3", "p3", "P3", &e.id).unwrap();
        store.gap_log_mut().sign("p2", "p2", "P2", &e.id).unwrap();
        // 4: written, then superseded by a spoken one.
        store
            .gap_log_mut()
            .explain("p1", &gaps[4].id, &written("先写的"))
            .unwrap();
        store
            .gap_log_mut()
            .explain("p1", &gaps[4].id, &spoken(&gaps[4]))
            .unwrap();
        // 5: spoken, rejected. 6: spoken, rejected, then accepted.
        store
            .gap_log_mut()
            .explain("p1", &gaps[5].id, &spoken(&gaps[5]))
            .unwrap();
        store
            .gap_log_mut()
            .review("sup", "sup", &gaps[5].id, "rejected", Some("听不清"))
            .unwrap();
        store
            .gap_log_mut()
            .explain("p1", &gaps[6].id, &spoken(&gaps[6]))
            .unwrap();
        store
            .gap_log_mut()
            .review("sup", "sup", &gaps[6].id, "rejected", None)
            .unwrap();
        store
            .gap_log_mut()
            .review("sup2", "sup2", &gaps[6].id, "accepted", None)
            .unwrap();

        let mut listed = store.gap_log().gaps(&GapFilter::default()).unwrap();
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
