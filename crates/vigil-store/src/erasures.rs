//! Erasures from recorders, two-phase (R2, R20): the host records its
//! intent (`recorder.erase_requested`) *before* it tells a dock to erase a
//! file, and the outcome (`recorder.file_erased`, `recorder.erase_refused`
//! or `recorder.erase_unconfirmed`) after. A host that dies in between
//! leaves an intent without an outcome; the next docking of that recorder
//! asks the dock's erase log and writes the outcome, so every erasure is in
//! the audit log even when the host never heard the dock's answer.

use rusqlite::params;
use serde::Serialize;

use crate::domains::Recordings;
use crate::index::Index;
use crate::Result;

/// The actions that settle an intent.
pub const OUTCOMES: [&str; 3] = [
    "recorder.file_erased",
    "recorder.erase_refused",
    "recorder.erase_unconfirmed",
];

/// An erase the host asked for and never recorded the outcome of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingErase {
    /// The intent's audit row.
    pub seq: i64,
    /// The clip the file was stored as.
    pub clip: String,
    /// Its path on the recorder.
    pub path: String,
    /// Its BLAKE3 (hex).
    pub blake3: String,
    /// Its size.
    pub bytes: u64,
}

impl<I: std::ops::Deref<Target = Index>> Recordings<I> {
    /// Erases asked of a recorder's dock whose outcome was never recorded
    /// (the host died between `Erase` and its audit row), oldest first.
    pub fn pending_erases(&self, device: &str) -> Result<Vec<PendingErase>> {
        let mut stmt = self.ix
            .conn
            .prepare(
                "SELECT a.seq, a.subject, json_extract(a.detail, '$.path'),
                        json_extract(a.detail, '$.blake3'), json_extract(a.detail, '$.bytes')
                 FROM audit a
                 WHERE a.action = 'recorder.erase_requested'
                   AND json_extract(a.detail, '$.device') = ?1
                   AND NOT EXISTS (SELECT 1 FROM audit b
                                   WHERE b.action IN (?2, ?3, ?4) AND b.subject = a.subject AND b.seq > a.seq)
                 ORDER BY a.seq",
            )
            .map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map(
                params![device, OUTCOMES[0], OUTCOMES[1], OUTCOMES[2]],
                |r| {
                    Ok(PendingErase {
                        seq: r.get(0)?,
                        clip: r.get(1)?,
                        path: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        blake3: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        bytes: r.get::<_, Option<i64>>(4)?.unwrap_or(0) as u64,
                    })
                },
            )
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }
}
