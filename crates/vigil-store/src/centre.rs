//! The station's side of its agency centre (part of the [`Log`] domain):
//! the link (`vigil centre join`: the centre's URL, its TLS certificate's
//! fingerprint, its witness key; audited `centre.joined`), the outbox
//! (the log past what the centre holds: `applied`), and the cosigned
//! checkpoints the centre's witness answered, every one kept.
//!
//! What the centre answers is not evidence and is not in the station's
//! log (a log entry for each push would itself need pushing): it is
//! written by [`Index::write_unlogged`]. The cosignatures prove
//! themselves (`vigil checkpoint verify --witness`).

use std::ops::{Deref, DerefMut};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::audit;
use crate::domains::Log;
use crate::error::Result;
use crate::index::Index;
use crate::timefmt::now_rfc3339;
use crate::tlog::Kept;

/// Where the station sends its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CentreLink {
    /// `https://host:port`.
    pub url: String,
    /// SHA-256 of the centre's TLS certificate (pinned).
    pub fingerprint: String,
    /// The centre's witness key (cosignature/v1 key string).
    pub witness: String,
    /// When the station joined, RFC 3339 UTC.
    pub joined_at: String,
}

/// How far the centre holds the station's log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outbox {
    /// Entries the centre applied (the outbox is the log past these).
    pub applied: u64,
    /// The size of the newest checkpoint its witness cosigned.
    pub witnessed: u64,
    /// When the centre last answered, RFC 3339 UTC.
    pub last_contact: Option<String>,
    /// The last failure to reach it or have a batch taken, while it lasts.
    pub last_error: Option<String>,
    /// When that failure was.
    pub error_at: Option<String>,
}

impl<I: Deref<Target = Index>> Log<I> {
    /// The centre the station sends its log to, once joined.
    pub fn centre_link(&self) -> Result<Option<CentreLink>> {
        self.ix
            .conn
            .query_row(
                "SELECT url, fingerprint, witness, joined_at FROM centre_link WHERE id = 1",
                [],
                |r| {
                    Ok(CentreLink {
                        url: r.get(0)?,
                        fingerprint: r.get(1)?,
                        witness: r.get(2)?,
                        joined_at: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.ix.err(e))
    }

    /// How far the centre holds the log.
    pub fn outbox(&self) -> Result<Outbox> {
        Ok(self
            .ix
            .conn
            .query_row(
                "SELECT applied, witnessed, last_contact, last_error, error_at FROM centre_outbox WHERE id = 1",
                [],
                |r| {
                    Ok(Outbox {
                        applied: r.get::<_, i64>(0)? as u64,
                        witnessed: r.get::<_, i64>(1)? as u64,
                        last_contact: r.get(2)?,
                        last_error: r.get(3)?,
                        error_at: r.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.ix.err(e))?
            .unwrap_or_default())
    }

    /// The checkpoint a batch after entry `applied` ends at: the largest
    /// the station signed within `max` entries, or (one change of more
    /// than `max` entries) the first after `applied`. None: nothing to
    /// send.
    pub fn batch_end(&self, applied: u64, max: u64) -> Result<Option<Kept>> {
        let size: Option<i64> = self
            .ix
            .conn
            .query_row(
                "SELECT COALESCE(
                    (SELECT MAX(size) FROM checkpoints WHERE size > ?1 AND size <= ?2),
                    (SELECT MIN(size) FROM checkpoints WHERE size > ?1))",
                params![applied as i64, applied.saturating_add(max) as i64],
                |r| r.get(0),
            )
            .map_err(|e| self.ix.err(e))?;
        match size {
            Some(s) => self.checkpoint_at(s as u64),
            None => Ok(None),
        }
    }

    /// Audit rows `after+1 ..= upto`, in order.
    pub fn entries_between(&self, after: u64, upto: u64) -> Result<Vec<audit::AuditEntry>> {
        self.audit_select(&audit::AuditFilter {
            after: Some(after as i64),
            limit: Some(upto.saturating_sub(after)),
            ..Default::default()
        })
    }

    /// The newest cosigned checkpoint kept.
    pub fn cosigned_latest(&self) -> Result<Option<Kept>> {
        self.cosigned_where("ORDER BY size DESC LIMIT 1", None)
    }

    /// The cosigned checkpoint of `size`, when the centre cosigned one.
    pub fn cosigned_at(&self, size: u64) -> Result<Option<Kept>> {
        self.cosigned_where("WHERE size = ?1", Some(size))
    }

    fn cosigned_where(&self, tail: &str, size: Option<u64>) -> Result<Option<Kept>> {
        let sql = format!("SELECT size, note, received_at FROM cosigned {tail}");
        let row = |r: &rusqlite::Row<'_>| {
            Ok(Kept {
                size: r.get::<_, i64>(0)? as u64,
                note: r.get(1)?,
                signed_at: r.get(2)?,
            })
        };
        match size {
            Some(s) => self.ix.conn.query_row(&sql, [s as i64], row),
            None => self.ix.conn.query_row(&sql, [], row),
        }
        .optional()
        .map_err(|e| self.ix.err(e))
    }
}

impl<I: DerefMut<Target = Index>> Log<I> {
    /// Joins a centre (or moves to another): audited `centre.joined`.
    pub fn join_centre(
        &mut self,
        actor: &str,
        url: &str,
        fingerprint: &str,
        witness: &str,
    ) -> Result<()> {
        let path = self.ix.path.clone();
        self.ix.transact("join a centre", |tx, now| {
            let e = |e| crate::index::sql(&path, e);
            tx.execute(
                "INSERT INTO centre_link (id, url, fingerprint, witness, joined_at) VALUES (1, ?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET url = ?1, fingerprint = ?2, witness = ?3, joined_at = ?4",
                params![url, fingerprint, witness, now],
            )
            .map_err(e)?;
            audit::append(
                tx,
                now,
                actor,
                "centre.joined",
                url,
                &serde_json::json!({"fingerprint": fingerprint, "witness": witness}),
            )
            .map_err(e)?;
            Ok(())
        })
    }

    /// Keeps what the centre answered a batch: the checkpoint of `size`
    /// with its witness's cosignature, and how far the centre holds the
    /// log (`held`: entries applied, size witnessed).
    pub fn keep_cosigned(
        &mut self,
        size: u64,
        cosigned_note: &str,
        held: (u64, u64),
    ) -> Result<()> {
        let now = now_rfc3339();
        self.ix.write_unlogged("keep a cosignature", |tx| {
            tx.execute(
                "INSERT OR IGNORE INTO cosigned (size, note, received_at) VALUES (?1, ?2, ?3)",
                params![size as i64, cosigned_note, now],
            )?;
            set_outbox(tx, Some(held), &now, None)
        })
    }

    /// Notes what the centre holds (its answer to a batch it would not
    /// take, or to a question) or why it could not be reached; no error
    /// means the centre answered (the last contact is now).
    pub fn note_centre(&mut self, held: Option<(u64, u64)>, error: Option<&str>) -> Result<()> {
        let now = now_rfc3339();
        self.ix.write_unlogged("note the centre's answer", |tx| {
            set_outbox(tx, held, &now, error)
        })
    }
}

fn set_outbox(
    tx: &rusqlite::Transaction<'_>,
    held: Option<(u64, u64)>,
    now: &str,
    error: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO centre_outbox (id, applied, witnessed) VALUES (1, 0, 0)",
        [],
    )?;
    if let Some((applied, witnessed)) = held {
        tx.execute(
            "UPDATE centre_outbox SET applied = ?1, witnessed = ?2, last_contact = ?3 WHERE id = 1",
            params![applied as i64, witnessed as i64, now],
        )?;
    }
    match error {
        Some(err) => tx.execute(
            "UPDATE centre_outbox SET last_error = ?1, error_at = ?2 WHERE id = 1",
            params![err, now],
        )?,
        None => tx.execute(
            "UPDATE centre_outbox SET last_error = NULL, error_at = NULL, last_contact = ?1 WHERE id = 1",
            [now],
        )?,
    };
    Ok(())
}
