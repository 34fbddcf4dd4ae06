//! Retention (R12, R13): classes, holds, cases and the purge queue.
//!
//! A clip is *due* for removal when every class it has is past its period
//! (the longest wins): `ordinary` after `ordinary_days` from the end of
//! recording (or ingest); `evidence` only once its case is closed, then
//! after `case_file_days`; `long_term` never. A clip under an active hold,
//! or tagged with a case that is not closed, is never due.
//!
//! Removal is a queue: one custodian proposes due clips, a *different*
//! custodian approves, and objects are deleted only after the recovery
//! window, when each clip is checked again (a hold placed meanwhile stops
//! it). Every step is audited; the clip row stays, marked purged.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::audit;
use crate::domains::Custody;
use crate::error::{Result, StoreError};
use crate::index::Index;
use crate::objects::ObjectStore;
use crate::timefmt::{now_rfc3339, rfc3339};

/// Retention periods (per agency).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Ordinary recordings, days after recording (R13: 2 years).
    pub ordinary_days: i64,
    /// Evidence, days after its case is closed (as long as the case file).
    pub case_file_days: i64,
    /// Recovery window between approval and deletion, days.
    pub window_days: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            ordinary_days: 730,
            case_file_days: 30 * 365,
            window_days: 7,
        }
    }
}

/// A clip due for removal.
#[derive(Debug, Clone, Serialize)]
pub struct Due {
    /// Clip id.
    pub clip: String,
    /// Original path.
    pub path: String,
    /// Effective class.
    pub class: String,
    /// When it became due.
    pub due_at: String,
}

/// A row of the purge queue.
#[derive(Debug, Clone, Serialize)]
pub struct Queued {
    /// Clip id.
    pub clip: String,
    /// Proposed by.
    pub proposed_by: String,
    /// Approved by.
    pub approved_by: Option<String>,
    /// Deleted after this time.
    pub delete_after: Option<String>,
}

/// A clip considered for removal: id, path, end of recording (or ingest),
/// its classes (comma-separated), active holds, its case.
type Candidate = (String, String, String, Option<String>, i64, Option<String>);

fn parse(t: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(t, &Rfc3339).ok()
}

/// A hold on a clip, as listed (and as a station sends it to its centre).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct HoldRow {
    /// Hold id.
    pub id: i64,
    /// Why (one of the hold reasons).
    pub reason: String,
    /// Free text.
    pub note: Option<String>,
    /// When placed, and by whom.
    pub placed_at: String,
    /// Who placed it.
    pub placed_by: String,
    /// When released (none: in force).
    pub released_at: Option<String>,
}

impl<I: std::ops::Deref<Target = Index>> Custody<I> {
    /// A clip's retention classes and its holds (newest first).
    pub fn retention_of(&self, clip: &str) -> Result<(Vec<String>, Vec<HoldRow>)> {
        let e = |e| self.ix.err(e);
        let classes = self
            .ix
            .conn
            .prepare("SELECT class FROM retention WHERE clip = ?1 ORDER BY set_at, class")
            .map_err(e)?
            .query_map([clip], |r| r.get(0))
            .map_err(e)?
            .collect::<rusqlite::Result<_>>()
            .map_err(e)?;
        let holds = self.ix
            .conn
            .prepare("SELECT id, reason, note, placed_at, placed_by, released_at FROM holds WHERE clip = ?1 ORDER BY id DESC")
            .map_err(e)?
            .query_map([clip], |r| {
                Ok(HoldRow {
                    id: r.get(0)?,
                    reason: r.get(1)?,
                    note: r.get(2)?,
                    placed_at: r.get(3)?,
                    placed_by: r.get(4)?,
                    released_at: r.get(5)?,
                })
            })
            .map_err(e)?
            .collect::<rusqlite::Result<_>>()
            .map_err(e)?;
        Ok((classes, holds))
    }

    /// Cases closed before `cutoff` and not filed (R12).
    pub fn unfiled_cases(&self, cutoff: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self.ix
            .conn
            .prepare("SELECT case_no, closed_at FROM cases WHERE closed_at IS NOT NULL AND filed_at IS NULL AND closed_at < ?1 ORDER BY closed_at")
            .map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }

    /// Clips due for removal at `now`.
    pub fn due(&self, now: OffsetDateTime, p: &Policy) -> Result<Vec<Due>> {
        let mut stmt = self.ix
            .conn
            .prepare(
                "SELECT c.id, c.path_display, COALESCE(c.recorded_end, c.ingested_at),
                        (SELECT group_concat(class) FROM retention r WHERE r.clip = c.id),
                        (SELECT COUNT(*) FROM holds h WHERE h.clip = c.id AND h.released_at IS NULL),
                        (SELECT t.case_no FROM tags t WHERE t.clip = c.id ORDER BY t.id DESC LIMIT 1)
                 FROM clips c WHERE c.purged_at IS NULL ORDER BY c.ingested_at, c.path_display",
            )
            .map_err(|e| self.ix.err(e))?;
        let rows: Vec<Candidate> = stmt
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
            .map_err(|e| self.ix.err(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))?;
        let mut out = Vec::new();
        for (clip, path, end, classes, holds, case) in rows {
            if holds > 0 {
                continue;
            }
            let closed: Option<String> = match &case {
                Some(c) => self
                    .ix
                    .conn
                    .query_row("SELECT closed_at FROM cases WHERE case_no = ?1", [c], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(|e| self.ix.err(e))?
                    .flatten(),
                None => None,
            };
            if case.is_some() && closed.is_none() {
                continue; // a clip in an open case is never due
            }
            let classes: Vec<String> = classes
                .map(|c| c.split(',').map(str::to_owned).collect())
                .unwrap_or_else(|| vec!["ordinary".into()]);
            let Some(end) = parse(&end) else { continue };
            let mut due_at = Some(end + Duration::days(p.ordinary_days));
            let mut class = "ordinary";
            for c in &classes {
                let d = match c.as_str() {
                    "evidence" => closed
                        .as_deref()
                        .and_then(parse)
                        .map(|t| t + Duration::days(p.case_file_days)),
                    "long_term" => None,
                    _ => Some(end + Duration::days(p.ordinary_days)),
                };
                // The longest retention wins; "never" beats any date.
                due_at = match (due_at, d) {
                    (Some(a), Some(b)) if b > a => {
                        class = c;
                        Some(b)
                    }
                    (Some(_), None) => {
                        class = c;
                        None
                    }
                    (keep, _) => keep,
                };
                if due_at.is_none() {
                    break;
                }
            }
            if let Some(at) = due_at.filter(|at| *at <= now) {
                out.push(Due {
                    clip,
                    path,
                    class: class.to_owned(),
                    due_at: rfc3339(at),
                });
            }
        }
        Ok(out)
    }

    /// The purge queue.
    pub fn purge_queue(&self) -> Result<Vec<Queued>> {
        let mut stmt = self.ix
            .conn
            .prepare("SELECT clip, proposed_by, approved_by, delete_after FROM purge_queue WHERE cancelled_at IS NULL AND deleted_at IS NULL ORDER BY clip")
            .map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Queued {
                    clip: r.get(0)?,
                    proposed_by: r.get(1)?,
                    approved_by: r.get(2)?,
                    delete_after: r.get(3)?,
                })
            })
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }

    pub(crate) fn purged_objects(&self) -> Result<std::collections::BTreeSet<String>> {
        let mut stmt = self
            .ix
            .conn
            .prepare("SELECT blake3 FROM purged_objects")
            .map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }
}

impl<I: std::ops::DerefMut<Target = Index>> Custody<I> {
    /// Gives clips a retention class (the longest of a clip's classes wins).
    pub fn set_class(&mut self, actor: &str, clips: &[String], class: &str) -> Result<()> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            for c in clips {
                tx.execute(
                    "INSERT OR IGNORE INTO retention (clip, class, set_at) VALUES (?1, ?2, ?3)",
                    params![c, class, now],
                )?;
                audit::append(
                    tx,
                    &now,
                    actor,
                    "clip.retention_class",
                    c,
                    &json!({"class": class}),
                )?;
            }
            Ok(())
        })
    }

    /// Places holds; returns their ids.
    pub fn hold(
        &mut self,
        actor: &str,
        clips: &[String],
        reason: &str,
        note: Option<&str>,
    ) -> Result<Vec<i64>> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            let mut ids = Vec::new();
            for c in clips {
                tx.execute(
                    "INSERT INTO holds (clip, reason, note, placed_at, placed_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![c, reason, note, now, actor],
                )?;
                let id = tx.last_insert_rowid();
                audit::append(tx, &now, actor, "clip.held", c, &json!({"hold": id, "reason": reason, "note": note}))?;
                ids.push(id);
            }
            Ok(ids)
        })
    }

    /// Releases a hold.
    pub fn release(&mut self, actor: &str, hold: i64) -> Result<()> {
        let now = now_rfc3339();
        let clip: Option<String> = self
            .ix
            .conn
            .query_row(
                "SELECT clip FROM holds WHERE id = ?1 AND released_at IS NULL",
                [hold],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.ix.err(e))?;
        let Some(clip) = clip else {
            return Err(StoreError::NotFound(format!("no active hold {hold}")));
        };
        self.ix.write(|tx| {
            tx.execute(
                "UPDATE holds SET released_at = ?2, released_by = ?3 WHERE id = ?1",
                params![hold, now, actor],
            )?;
            audit::append(
                tx,
                &now,
                actor,
                "clip.hold_released",
                &clip,
                &json!({"hold": hold}),
            )
        })?;
        Ok(())
    }

    /// Records a case closed and/or filed.
    pub fn case_event(
        &mut self,
        actor: &str,
        case: &str,
        closed: Option<&str>,
        filed: Option<&str>,
    ) -> Result<()> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            tx.execute("INSERT OR IGNORE INTO cases (case_no) VALUES (?1)", [case])?;
            if let Some(at) = closed {
                tx.execute(
                    "UPDATE cases SET closed_at = ?2 WHERE case_no = ?1",
                    params![case, at],
                )?;
                audit::append(tx, &now, actor, "case.closed", case, &json!({"at": at}))?;
            }
            if let Some(at) = filed {
                tx.execute(
                    "UPDATE cases SET filed_at = ?2 WHERE case_no = ?1",
                    params![case, at],
                )?;
                audit::append(tx, &now, actor, "case.filed", case, &json!({"at": at}))?;
            }
            Ok(())
        })
    }

    /// Proposes clips for removal.
    pub fn propose_purge(&mut self, actor: &str, clips: &[String]) -> Result<usize> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            let mut n = 0;
            for c in clips {
                // New, or proposed again after a cancellation.
                let added = tx.execute(
                    "INSERT INTO purge_queue (clip, proposed_at, proposed_by) VALUES (?1, ?2, ?3)
                     ON CONFLICT(clip) DO UPDATE SET proposed_at = ?2, proposed_by = ?3, approved_at = NULL,
                        approved_by = NULL, delete_after = NULL, cancelled_at = NULL
                     WHERE purge_queue.cancelled_at IS NOT NULL",
                    params![c, now, actor],
                )?;
                if added > 0 {
                    audit::append(tx, &now, actor, "purge.proposed", c, &json!({}))?;
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// Approves pending proposals (not one's own).
    pub fn approve_purge(
        &mut self,
        actor: &str,
        approver: &str,
        window_days: i64,
    ) -> Result<usize> {
        let now = OffsetDateTime::now_utc();
        let after = rfc3339(now + Duration::days(window_days));
        let now = rfc3339(now);
        let pending: Vec<(String, String)> = {
            let mut stmt = self.ix
                .conn
                .prepare("SELECT clip, proposed_by FROM purge_queue WHERE approved_at IS NULL AND cancelled_at IS NULL AND deleted_at IS NULL")
                .map_err(|e| self.ix.err(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.ix.err(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.ix.err(e))?
        };
        if pending
            .iter()
            .any(|(_, by)| by.split(' ').next() == Some(approver))
        {
            return Err(StoreError::Refused(format!(
                "{approver} proposed a removal and cannot approve it; a second custodian must (R13)"
            )));
        }
        self.ix.write(|tx| {
            for (c, _) in &pending {
                tx.execute(
                    "UPDATE purge_queue SET approved_at = ?2, approved_by = ?3, delete_after = ?4 WHERE clip = ?1",
                    params![c, now, actor, after],
                )?;
                audit::append(tx, &now, actor, "purge.approved", c, &json!({"delete_after": after}))?;
            }
            Ok(pending.len())
        })
    }

    /// Takes a clip off the purge queue.
    pub fn cancel_purge(&mut self, actor: &str, clip: &str) -> Result<()> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            let n = tx.execute(
                "UPDATE purge_queue SET cancelled_at = ?2 WHERE clip = ?1 AND deleted_at IS NULL AND cancelled_at IS NULL",
                params![clip, now],
            )?;
            if n > 0 {
                audit::append(tx, &now, actor, "purge.cancelled", clip, &json!({}))?;
            }
            Ok(())
        })
    }

    /// Deletes approved entries past their window that are still due.
    pub fn run_purge(
        &mut self,
        actor: &str,
        objects: &ObjectStore,
        now: OffsetDateTime,
        p: &Policy,
    ) -> Result<Vec<String>> {
        let still_due: std::collections::BTreeSet<String> =
            self.due(now, p)?.into_iter().map(|d| d.clip).collect();
        let ready: Vec<(String, String)> = {
            let mut stmt = self.ix
                .conn
                .prepare(
                    "SELECT q.clip, c.object FROM purge_queue q JOIN clips c ON c.id = q.clip
                     WHERE q.approved_at IS NOT NULL AND q.cancelled_at IS NULL AND q.deleted_at IS NULL AND julianday(q.delete_after) <= julianday(?1)",
                )
                .map_err(|e| self.ix.err(e))?;
            let rows = stmt
                .query_map([rfc3339(now)], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.ix.err(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.ix.err(e))?
        };
        let mut deleted = Vec::new();
        for (clip, object) in ready {
            if !still_due.contains(&clip) {
                // Held, re-classed or linked to a case since: not removed.
                self.cancel_purge(actor, &clip)?;
                continue;
            }
            let at = now_rfc3339();
            let others: i64 = self.ix
                .conn
                .query_row("SELECT COUNT(*) FROM clips WHERE object = ?1 AND id != ?2 AND purged_at IS NULL", params![object, clip], |r| r.get(0))
                .map_err(|e| self.ix.err(e))?;
            self.ix.write(|tx| {
                tx.execute(
                    "UPDATE clips SET purged_at = ?2 WHERE id = ?1",
                    params![clip, at],
                )?;
                tx.execute(
                    "UPDATE purge_queue SET deleted_at = ?2 WHERE clip = ?1",
                    params![clip, at],
                )?;
                if others == 0 {
                    tx.execute(
                        "INSERT OR REPLACE INTO purged_objects (blake3, purged_at) VALUES (?1, ?2)",
                        params![object, at],
                    )?;
                }
                audit::append(
                    tx,
                    &at,
                    actor,
                    "clip.purged",
                    &clip,
                    &json!({"object": object, "object_removed": others == 0}),
                )
            })?;
            if others == 0 {
                let path = objects.object_path(&object);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(StoreError::Io {
                            action: "remove purged object",
                            path,
                            source,
                        })
                    }
                }
            }
            deleted.push(clip);
        }
        Ok(deleted)
    }
}
