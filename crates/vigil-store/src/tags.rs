//! Tags (R6, R11): the site (inspected unit or place), case number,
//! category and description an officer gives each clip. Tagging again adds a
//! row; the newest is the clip's tag, older ones stay as history. Unset
//! fields keep their previous value.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::domains::Custody;
use crate::error::Result;
use crate::index::Index;
use crate::timefmt::now_rfc3339;

/// A clip's tag.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Tag {
    /// Inspected unit or place.
    pub site: Option<String>,
    /// Case number.
    pub case: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Description.
    pub note: Option<String>,
}

/// An untagged clip past its deadline.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Untagged {
    /// Clip id.
    pub clip: String,
    /// Original path.
    pub path: String,
    /// Recorder.
    pub device: Option<String>,
    /// Officer.
    pub officer: Option<String>,
    /// When it was ingested.
    pub ingested_at: String,
}

impl<I: std::ops::Deref<Target = Index>> Custody<I> {
    /// A clip's current tag.
    pub fn tag_of(&self, clip: &str) -> Result<Option<Tag>> {
        self.ix.conn
            .query_row(
                "SELECT site, case_no, category, note FROM tags WHERE clip = ?1 ORDER BY id DESC LIMIT 1",
                [clip],
                |r| Ok(Tag { site: r.get(0)?, case: r.get(1)?, category: r.get(2)?, note: r.get(3)? }),
            )
            .optional()
            .map_err(|e| self.ix.err(e))
    }

    /// Media clips ingested before `cutoff` (RFC 3339) that still have no
    /// site or description (R11): `officer`'s only when named, at most
    /// `limit` when given, oldest first.
    pub fn untagged_ingested_before(
        &self,
        cutoff: &str,
        officer: Option<&str>,
        limit: Option<u64>,
    ) -> Result<Vec<Untagged>> {
        // One officer's: walk their clips (an index), not every untagged one.
        let sql = if officer.is_some() {
            "SELECT c.id, c.path_display, c.device_serial, c.officer_id, c.ingested_at
             FROM clips c JOIN untagged u ON u.clip = c.id
             WHERE c.officer_id = ?2 AND u.ingested_at < ?1
             ORDER BY u.ingested_at, u.clip LIMIT ?3"
        } else {
            "SELECT c.id, c.path_display, c.device_serial, c.officer_id, c.ingested_at
             FROM untagged u JOIN clips c ON c.id = u.clip
             WHERE u.ingested_at < ?1 AND ?2 IS NULL
             ORDER BY u.ingested_at, u.clip LIMIT ?3"
        };
        let mut stmt = self.ix.conn.prepare(sql).map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map(
                params![cutoff, officer, limit.map_or(-1, |l| l as i64)],
                |r| {
                    Ok(Untagged {
                        clip: r.get(0)?,
                        path: r.get(1)?,
                        device: r.get(2)?,
                        officer: r.get(3)?,
                        ingested_at: r.get(4)?,
                    })
                },
            )
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }
}

impl<I: std::ops::DerefMut<Target = Index>> Custody<I> {
    /// Tags clips (audited; unset fields keep their value). Returns how many.
    pub fn tag(&mut self, actor: &str, clips: &[String], t: &Tag) -> Result<usize> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            for clip in clips {
                let prev: Option<Tag> = tx
                    .query_row(
                        "SELECT site, case_no, category, note FROM tags WHERE clip = ?1 ORDER BY id DESC LIMIT 1",
                        [clip],
                        |r| Ok(Tag { site: r.get(0)?, case: r.get(1)?, category: r.get(2)?, note: r.get(3)? }),
                    )
                    .optional()?;
                let p = prev.unwrap_or_default();
                let merged = Tag {
                    site: t.site.clone().or(p.site),
                    case: t.case.clone().or(p.case),
                    category: t.category.clone().or(p.category),
                    note: t.note.clone().or(p.note),
                };
                tx.execute(
                    "INSERT INTO tags (clip, site, case_no, category, note, tagged_at, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![clip, merged.site, merged.case, merged.category, merged.note, now, actor],
                )?;
                if merged.site.is_some() || merged.note.is_some() {
                    tx.execute("DELETE FROM untagged WHERE clip = ?1", [clip])?;
                }
                audit::append(tx, &now, actor, "clip.tagged", clip, &json!(merged))?;
            }
            Ok(clips.len())
        })
    }
}
