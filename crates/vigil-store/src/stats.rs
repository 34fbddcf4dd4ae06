//! Totals over a period, summed by SQLite (R19): a year of an agency is a
//! million clips, which are counted where they lie instead of being read
//! into memory.

use rusqlite::params;
use serde::Serialize;

use crate::domains::Recordings;
use crate::error::Result;
use crate::index::Index;

/// One officer's totals over the clips recorded in a period.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OfficerTotals {
    /// Officer id (`-` for clips of no officer).
    pub officer: String,
    /// Clips.
    pub clips: u64,
    /// Readable media, hours.
    pub hours_recorded: f64,
    /// Clips ingested later than allowed (R1).
    pub late_ingests: u64,
    /// Interruptions in those clips.
    pub interruptions: u64,
    /// Of the clips, those with no usable recording time (placed by
    /// when they were ingested).
    pub undated: u64,
    /// Of them, with an explanation.
    pub explained: u64,
    /// Mean hours from detection to the current explanation.
    pub mean_explanation_hours: Option<f64>,
}

impl<I: std::ops::Deref<Target = Index>> Recordings<I> {
    /// Per officer, over the clips recorded in `[since, until)` (RFC 3339;
    /// a clip with no usable recording time by when it was ingested, and
    /// counted in `undated`) and the interruptions that happened in it
    /// (by wall clock, else when found).
    pub fn officer_totals(
        &self,
        since: &str,
        until: &str,
        late_after_h: u64,
    ) -> Result<Vec<OfficerTotals>> {
        let mut by: std::collections::BTreeMap<String, OfficerTotals> = Default::default();
        let mut stmt = self.ix
            .conn
            .prepare(
                "SELECT COALESCE(officer_id, '-'), COUNT(*), COALESCE(SUM(duration_s), 0) / 3600.0,
                        COALESCE(SUM((julianday(ingested_at) - julianday(recorded_end)) * 24.0 > ?3), 0),
                        COALESCE(SUM(recorded_start IS NULL), 0)
                 FROM (SELECT officer_id, duration_s, ingested_at, recorded_end, recorded_start FROM clips
                        WHERE recorded_start >= ?1 AND recorded_start < ?2 AND purged_at IS NULL
                       UNION ALL
                       SELECT officer_id, duration_s, ingested_at, recorded_end, recorded_start FROM clips
                        WHERE recorded_start IS NULL AND ingested_at >= ?1 AND ingested_at < ?2 AND purged_at IS NULL)
                 GROUP BY 1",
            )
            .map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map(params![since, until, late_after_h as f64], |r| {
                Ok(OfficerTotals {
                    officer: r.get(0)?,
                    clips: r.get::<_, i64>(1)? as u64,
                    hours_recorded: r.get(2)?,
                    late_ingests: r.get::<_, i64>(3)? as u64,
                    undated: r.get::<_, i64>(4)? as u64,
                    ..Default::default()
                })
            })
            .map_err(|e| self.ix.err(e))?;
        for t in rows {
            let t = t.map_err(|e| self.ix.err(e))?;
            by.insert(t.officer.clone(), t);
        }
        let mut stmt = self
            .ix
            .conn
            .prepare(
                "SELECT COALESCE(officer, '-'), COUNT(*), COUNT(explained_at),
                        AVG((julianday(explained_at) - julianday(detected_at)) * 24.0)
                 FROM gap_state WHERE start >= ?1 AND start < ?2
                 GROUP BY 1",
            )
            .map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map(params![since, until], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                    r.get::<_, Option<f64>>(3)?,
                ))
            })
            .map_err(|e| self.ix.err(e))?;
        for row in rows {
            let (officer, n, explained, mean) = row.map_err(|e| self.ix.err(e))?;
            if let Some(t) = by.get_mut(&officer) {
                t.interruptions = n;
                t.explained = explained;
                t.mean_explanation_hours = mean;
            }
        }
        Ok(by.into_values().collect())
    }
}
