//! Oversight (R17, R18): the spot-check ledger (a reproducible random
//! sample of clips drawn for review, and each reviewer's finding) and
//! confidentiality marks on clips.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::domains::Custody;
use crate::error::{Result, StoreError};
use crate::index::Index;
use crate::timefmt::now_rfc3339;

/// A spot-check entry.
#[derive(Debug, Clone, Serialize)]
pub struct Spotcheck {
    /// Entry id.
    pub id: i64,
    /// The clip drawn.
    pub clip: String,
    /// When drawn.
    pub drawn_at: String,
    /// The seed of the draw.
    pub seed: String,
    /// Who reviewed it.
    pub reviewer: Option<String>,
    /// What they found.
    pub finding: Option<String>,
    /// When.
    pub reviewed_at: Option<String>,
}

impl<I: std::ops::Deref<Target = Index>> Custody<I> {
    /// The spot-check ledger.
    pub fn spotchecks(&self) -> Result<Vec<Spotcheck>> {
        let mut stmt = self.ix
            .conn
            .prepare("SELECT id, clip, drawn_at, seed, reviewer, finding, reviewed_at FROM spotchecks ORDER BY id")
            .map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Spotcheck {
                    id: r.get(0)?,
                    clip: r.get(1)?,
                    drawn_at: r.get(2)?,
                    seed: r.get(3)?,
                    reviewer: r.get(4)?,
                    finding: r.get(5)?,
                    reviewed_at: r.get(6)?,
                })
            })
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }

    /// A clip's confidentiality, if marked.
    pub fn confidentiality(&self, clip: &str) -> Result<Option<String>> {
        self.ix
            .conn
            .query_row(
                "SELECT kind FROM confidential WHERE clip = ?1",
                [clip],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.ix.err(e))
    }
}

impl<I: std::ops::DerefMut<Target = Index>> Custody<I> {
    /// Draws `n` clips (ingested in [since, until)) in an order fixed by
    /// `seed`: the same seed over the same clips draws the same sample.
    pub fn draw_spotcheck(
        &mut self,
        actor: &str,
        n: usize,
        seed: &str,
        since: &str,
        until: &str,
    ) -> Result<Vec<Spotcheck>> {
        let mut stmt = self.ix
            .conn
            .prepare("SELECT id FROM clips WHERE purged_at IS NULL AND kind IN ('video', 'audio') AND ingested_at >= ?1 AND ingested_at < ?2")
            .map_err(|e| self.ix.err(e))?;
        let mut ids: Vec<String> = stmt
            .query_map(params![since, until], |r| r.get(0))
            .map_err(|e| self.ix.err(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))?;
        drop(stmt);
        let key = |id: &String| {
            let mut h = blake3::Hasher::new_derive_key("vigil spotcheck v1");
            h.update(seed.as_bytes());
            h.update(&[0]);
            h.update(id.as_bytes());
            *h.finalize().as_bytes()
        };
        ids.sort_by_cached_key(key);
        ids.truncate(n);
        let now = now_rfc3339();
        self.ix.write(|tx| {
            let mut out = Vec::new();
            for clip in &ids {
                tx.execute(
                    "INSERT INTO spotchecks (clip, drawn_at, seed) VALUES (?1, ?2, ?3)",
                    params![clip, now, seed],
                )?;
                let id = tx.last_insert_rowid();
                audit::append(
                    tx,
                    &now,
                    actor,
                    "spotcheck.drawn",
                    clip,
                    &json!({"entry": id, "seed": seed}),
                )?;
                out.push(Spotcheck {
                    id,
                    clip: clip.clone(),
                    drawn_at: now.clone(),
                    seed: seed.into(),
                    reviewer: None,
                    finding: None,
                    reviewed_at: None,
                });
            }
            Ok(out)
        })
    }

    /// Records a reviewer's finding on a spot-check entry.
    pub fn review_spotcheck(
        &mut self,
        actor: &str,
        entry: i64,
        reviewer: &str,
        finding: &str,
    ) -> Result<()> {
        let now = now_rfc3339();
        let clip: Option<String> = self
            .ix
            .conn
            .query_row(
                "SELECT clip FROM spotchecks WHERE id = ?1 AND reviewed_at IS NULL",
                [entry],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.ix.err(e))?;
        let Some(clip) = clip else {
            return Err(StoreError::NotFound(format!(
                "no unreviewed entry {entry} in the spot-check ledger (see `vigil spotcheck list`)"
            )));
        };
        self.ix.write(|tx| {
            tx.execute(
                "UPDATE spotchecks SET reviewer = ?2, finding = ?3, reviewed_at = ?4 WHERE id = ?1",
                params![entry, reviewer, finding, now],
            )?;
            audit::append(
                tx,
                &now,
                actor,
                "spotcheck.reviewed",
                &clip,
                &json!({"entry": entry, "reviewer": reviewer, "finding": finding}),
            )
        })?;
        Ok(())
    }

    /// Marks clips confidential (R17).
    pub fn mark_confidential(&mut self, actor: &str, clips: &[String], kind: &str) -> Result<()> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            for c in clips {
                tx.execute(
                    "INSERT INTO confidential (clip, kind, marked_at) VALUES (?1, ?2, ?3) ON CONFLICT(clip) DO UPDATE SET kind = ?2",
                    params![c, kind, now],
                )?;
                audit::append(tx, &now, actor, "clip.confidential", c, &json!({"kind": kind}))?;
            }
            Ok(())
        })
    }
}
