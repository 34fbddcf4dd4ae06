//! The append-only, hash-chained audit log (R10, R20).
//!
//! Row `n` stores `hash = BLAKE3(prev_hash ‖ seq ‖ at ‖ actor ‖ action ‖
//! subject ‖ detail)` (each field length-prefixed) and `prev_hash` = row
//! `n-1`'s hash (64 zeros for row 1). Changing, removing or reordering any
//! row breaks the chain at that row, which [`verify_chain`] reports.
//! Rows are appended inside the caller's transaction, so the audit entry and
//! the state change it describes commit together or not at all.
//!
//! Each row is also a leaf of the log's Merkle tree (see
//! [`crate::tlog`]): its leaf is [`leaf_bytes`], appended with the row.

use rusqlite::{params, Connection, OptionalExtension};

pub use crate::tlog::leaf_bytes;
use serde::Serialize;

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub seq: i64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who (a user name).
    pub actor: String,
    /// What, e.g. `clip.ingested`.
    pub action: String,
    /// The thing acted on (a clip id, run id, ...).
    pub subject: String,
    /// Details as a JSON document.
    pub detail: serde_json::Value,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
    /// `detail` exactly as stored and hashed (the leaf is made of it).
    #[serde(skip)]
    pub detail_text: String,
}

/// What is wrong with one audit row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChainBreak {
    /// The row (its `seq`).
    pub seq: i64,
    /// Plain-language reason.
    pub problem: String,
}

/// A row's chain hash, as the module's head says (a verifier, or a test
/// that forges a chain as root could, computes it the same way).
pub fn row_hash(
    prev: &str,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> String {
    let mut h = blake3::Hasher::new();
    for field in [
        prev.as_bytes(),
        &seq.to_le_bytes(),
        at.as_bytes(),
        actor.as_bytes(),
        action.as_bytes(),
        subject.as_bytes(),
        detail.as_bytes(),
    ] {
        h.update(&(field.len() as u64).to_le_bytes());
        h.update(field);
    }
    h.finalize().to_hex().to_string()
}

impl AuditEntry {
    /// This row's Merkle leaf ([`leaf_bytes`]).
    pub fn leaf(&self) -> Vec<u8> {
        leaf_bytes(
            self.seq,
            &self.at,
            &self.actor,
            &self.action,
            &self.subject,
            &self.detail_text,
        )
    }
}

/// Appends a row; call inside the transaction that makes the change.
pub fn append(
    conn: &Connection,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &serde_json::Value,
) -> rusqlite::Result<i64> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_owned()),
    };
    let detail = detail.to_string();
    let hash = row_hash(&prev, seq, at, actor, action, subject, &detail);
    conn.prepare_cached(
        "INSERT INTO audit (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![seq, at, actor, action, subject, detail, prev, hash])?;
    let leaf = leaf_bytes(seq, at, actor, action, subject, &detail);
    crate::tlog::push(conn, (seq - 1) as u64, vigil_tlog::leaf_hash(&leaf))?;
    Ok(seq)
}

/// All rows, oldest first.
pub fn entries(conn: &Connection) -> rusqlite::Result<Vec<AuditEntry>> {
    entries_where(conn, "ORDER BY seq", [])
}

/// Every column of a row, in the order [`entry_row`] reads them.
const SELECT: &str = "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit";

/// The rows about any of `subjects` (a JSON array of strings), in log
/// order; by the index `audit_subject` (schema 17).
pub fn about(conn: &Connection, subjects: &str) -> rusqlite::Result<Vec<AuditEntry>> {
    entries_where(
        conn,
        "WHERE subject IN (SELECT value FROM json_each(?1)) ORDER BY seq",
        [subjects],
    )
}

/// Which audit rows to read ([`select`]); every field narrows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Rows whose action starts with this (by the index `audit_action`,
    /// the prefix read as a range).
    pub action: Option<String>,
    /// Rows about this subject (a clip, gap, request or user id; by the
    /// index `audit_subject`).
    pub subject: Option<String>,
    /// With `subject`: rows about these subjects too (a recording's
    /// interruptions beside the recording).
    pub related: Vec<String>,
    /// Rows by this person: a user name, alone or with how they acted
    /// (`cara (desk session …)`).
    pub actor: Option<String>,
    /// Rows written at or after this time (RFC 3339 UTC).
    pub since: Option<String>,
    /// Rows written before this time (RFC 3339 UTC).
    pub until: Option<String>,
    /// Rows after this sequence number (the previous page's last).
    pub after: Option<i64>,
    /// At most this many rows.
    pub limit: Option<u64>,
}

/// The rows `f` asks for, in log order.
pub fn select(conn: &Connection, f: &AuditFilter) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut q = crate::query::Query::new(SELECT);
    if let Some(prefix) = f.action.as_deref().filter(|p| !p.is_empty()) {
        let mut chars: Vec<char> = prefix.chars().collect();
        let successor = chars
            .pop()
            .and_then(|last| char::from_u32(last as u32 + 1))
            .map(|c| chars.into_iter().chain([c]).collect::<String>());
        match successor {
            Some(end) => {
                q.cond("action >= ?", prefix.to_owned());
                q.cond("action < ?", end);
            }
            // A last character with no successor: compared, not ranged.
            None => q.cond("instr(action, ?) = 1", prefix.to_owned()),
        }
    }
    if let Some(subject) = &f.subject {
        let subjects: Vec<String> = std::iter::once(subject.clone())
            .chain(f.related.iter().cloned())
            .collect();
        q.one_of("subject", &subjects);
    }
    if let Some(user) = &f.actor {
        // The user alone, or with how they acted: `cara (desk session …)`,
        // `root (unix:0)`; both read from the index `audit_actor`.
        q.cond_with(
            "(actor = ? OR (actor >= ? AND actor < ?))",
            [user.clone(), format!("{user} ("), format!("{user} )")],
        );
    }
    if let Some(since) = &f.since {
        q.cond("at >= ?", since.clone());
    }
    if let Some(until) = &f.until {
        q.cond("at < ?", until.clone());
    }
    if let Some(after) = f.after {
        q.cond("seq > ?", after);
    }
    q.order("seq");
    q.page(f.limit, 0);
    let mut stmt = conn.prepare(&q.sql())?;
    let rows = stmt.query_map(rusqlite::params_from_iter(q.params()), entry_row)?;
    rows.collect()
}

/// The newest `limit` rows, newest first.
pub fn newest(conn: &Connection, limit: u64) -> rusqlite::Result<Vec<AuditEntry>> {
    entries_where(conn, "ORDER BY seq DESC LIMIT ?1", [limit as i64])
}

/// One row of `seq, at, actor, action, subject, detail, prev_hash, hash`.
fn entry_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let detail: String = r.get(5)?;
    Ok(AuditEntry {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        subject: r.get(4)?,
        detail: serde_json::from_str(&detail)
            .unwrap_or_else(|_| serde_json::Value::String(detail.clone())),
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
        detail_text: detail,
    })
}

fn entries_where(
    conn: &Connection,
    tail: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare(&format!("{SELECT} {tail}"))?;
    let rows = stmt.query_map(params, entry_row)?;
    rows.collect()
}

/// Recomputes the chain and names every row that does not hold.
pub fn verify_chain(conn: &Connection) -> rusqlite::Result<Vec<ChainBreak>> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut breaks = Vec::new();
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_owned();
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let (at, actor, action, subject, detail): (String, String, String, String, String) =
            (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
        let stored_prev: String = r.get(6)?;
        let stored_hash: String = r.get(7)?;
        if seq != expected_seq {
            breaks.push(ChainBreak {
                seq,
                problem: format!(
                    "expected row {expected_seq} here: rows {expected_seq}..{} are missing",
                    seq - 1
                ),
            });
        }
        if stored_prev != prev_hash {
            breaks.push(ChainBreak {
                seq,
                problem: "prev_hash does not match the previous row's hash (a row before it was changed, removed or reordered)".into(),
            });
        }
        let computed = row_hash(&stored_prev, seq, &at, &actor, &action, &subject, &detail);
        if computed != stored_hash {
            breaks.push(ChainBreak {
                seq,
                problem: "content does not match its hash (the row was changed)".into(),
            });
        }
        expected_seq = seq + 1;
        prev_hash = stored_hash;
    }
    Ok(breaks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn log() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        for m in crate::schema::MIGRATIONS {
            c.execute_batch(m).unwrap();
        }
        for i in 0..5 {
            append(
                &c,
                "2026-11-22T10:00:00Z",
                "root",
                "clip.ingested",
                &format!("c{i}"),
                &json!({"i": i}),
            )
            .unwrap();
        }
        c
    }

    /// Appends rows `(action, subject)` after [`log`]'s five.
    fn more(c: &Connection, rows: &[(&str, &str)]) {
        for (action, subject) in rows {
            append(
                c,
                "2026-11-22T11:00:00Z",
                "cust",
                action,
                subject,
                &json!({}),
            )
            .unwrap();
        }
    }

    fn drop_guards(c: &Connection) {
        c.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
            .unwrap();
    }

    #[test]
    fn intact_chain_verifies() {
        let c = log();
        assert!(verify_chain(&c).unwrap().is_empty());
        let e = entries(&c).unwrap();
        assert_eq!(e.len(), 5);
        assert_eq!(e[0].prev_hash, GENESIS);
        assert_eq!(e[1].prev_hash, e[0].hash);
    }

    #[test]
    fn a_subjects_rows_are_found_by_index_in_log_order() {
        let c = log();
        more(&c, &[("clip.tagged", "c3"), ("clip.exported", "c1")]);
        let rows = about(&c, r#"["c3", "c1", "nothing"]"#).unwrap();
        let got: Vec<(i64, &str, &str)> = rows
            .iter()
            .map(|r| (r.seq, r.subject.as_str(), r.action.as_str()))
            .collect();
        let want: Vec<(i64, &str, &str)> = vec![
            (2, "c1", "clip.ingested"),
            (4, "c3", "clip.ingested"),
            (6, "c3", "clip.tagged"),
            (7, "c1", "clip.exported"),
        ];
        assert_eq!(got, want);
        let same: Vec<AuditEntry> = entries(&c)
            .unwrap()
            .into_iter()
            .filter(|e| e.subject == "c1" || e.subject == "c3")
            .collect();
        assert_eq!(rows, same, "the whole rows, as the full log has them");
        let plan: Vec<String> = c
            .prepare("EXPLAIN QUERY PLAN SELECT seq FROM audit WHERE subject IN (SELECT value FROM json_each(?1)) ORDER BY seq")
            .unwrap()
            .query_map([r#"["c1"]"#], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let plan = plan.join("; ");
        assert!(plan.contains("audit_subject"), "{plan}");
        assert!(about(&c, "[]").unwrap().is_empty());
    }

    #[test]
    fn rows_by_action_prefix_subject_and_page_are_the_full_logs() {
        let c = log();
        more(
            &c,
            &[("clip.tagged", "c3"), ("clips.listed", "-"), ("clip", "-")],
        );
        for prefix in [
            "clip.",
            "clip",
            "clip.tagged",
            "clips",
            "",
            "x",
            "clip.taggee",
        ] {
            let want: Vec<AuditEntry> = entries(&c)
                .unwrap()
                .into_iter()
                .filter(|e| e.action.starts_with(prefix))
                .collect();
            let f = AuditFilter {
                action: Some(prefix.into()),
                ..Default::default()
            };
            assert_eq!(select(&c, &f).unwrap(), want, "prefix {prefix:?}");
        }
        // Pages of two, each after the last one's final row, make the whole.
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let f = AuditFilter {
                action: Some("clip.".into()),
                after,
                limit: Some(2),
                ..Default::default()
            };
            let page = select(&c, &f).unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 2);
            after = page.last().map(|e| e.seq);
            paged.extend(page);
        }
        let f = AuditFilter {
            action: Some("clip.".into()),
            ..Default::default()
        };
        assert_eq!(paged, select(&c, &f).unwrap());
        assert_eq!(paged.len(), 6);
        let f = AuditFilter {
            subject: Some("c3".into()),
            action: Some("clip.t".into()),
            ..Default::default()
        };
        let about_c3: Vec<(i64, String)> = select(&c, &f)
            .unwrap()
            .into_iter()
            .map(|e| (e.seq, e.action))
            .collect();
        assert_eq!(about_c3, [(6, "clip.tagged".to_owned())]);
    }

    #[test]
    fn rows_by_person_period_and_related_subjects() {
        let c = log();
        more(
            &c,
            &[
                ("gap.explained", "g1"),
                ("clip.viewed", "c1"),
                ("clip.viewed", "c2"),
            ],
        );
        let pick = |f: AuditFilter| -> Vec<i64> {
            select(&c, &f).unwrap().into_iter().map(|e| e.seq).collect()
        };
        // The custodian's rows (written at 11:00), not root's (10:00).
        let by_cust = pick(AuditFilter {
            actor: Some("cust".into()),
            ..Default::default()
        });
        assert_eq!(by_cust, [6, 7, 8]);
        append(
            &c,
            "2026-11-22T12:00:00Z",
            "cust (desk session ab12)",
            "clip.viewed",
            "c3",
            &json!({}),
        )
        .unwrap();
        append(
            &c,
            "2026-11-22T12:00:00Z",
            "custard",
            "clip.viewed",
            "c3",
            &json!({}),
        )
        .unwrap();
        let by_cust = pick(AuditFilter {
            actor: Some("cust".into()),
            ..Default::default()
        });
        assert_eq!(
            by_cust,
            [6, 7, 8, 9],
            "the user at the desk, not another whose name starts alike"
        );
        // The period is half-open on the time written.
        let ten = pick(AuditFilter {
            since: Some("2026-11-22T10:00:00Z".into()),
            until: Some("2026-11-22T11:00:00Z".into()),
            ..Default::default()
        });
        assert_eq!(ten, [1, 2, 3, 4, 5]);
        // A recording with its interruption beside it.
        let c1 = pick(AuditFilter {
            subject: Some("c1".into()),
            related: vec!["g1".into()],
            ..Default::default()
        });
        assert_eq!(c1, [2, 6, 7]);
        let plan: Vec<String> = c
            .prepare("EXPLAIN QUERY PLAN SELECT seq FROM audit WHERE actor = ?1 ORDER BY seq")
            .unwrap()
            .query_map(["cust"], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(plan.join("; ").contains("audit_actor"), "{plan:?}");
    }

    #[test]
    fn sql_cannot_edit_or_delete_rows() {
        let c = log();
        assert!(c
            .execute("UPDATE audit SET actor = 'x' WHERE seq = 2", [])
            .is_err());
        assert!(c.execute("DELETE FROM audit WHERE seq = 2", []).is_err());
    }

    #[test]
    fn changed_row_is_named() {
        let c = log();
        drop_guards(&c);
        c.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3", [])
            .unwrap();
        let b = verify_chain(&c).unwrap();
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!(b[0].seq, 3);
    }

    #[test]
    fn removed_row_is_named() {
        let c = log();
        drop_guards(&c);
        c.execute("DELETE FROM audit WHERE seq = 2", []).unwrap();
        let b = verify_chain(&c).unwrap();
        assert!(b.iter().all(|b| b.seq == 3), "{b:?}");
        assert!(b.iter().any(|b| b.problem.contains("missing")));
    }

    #[test]
    fn reordered_rows_are_named() {
        let c = log();
        drop_guards(&c);
        // Swap the content of rows 2 and 4, keeping each row's own hash valid
        // would need the key; here a swap of whole rows keeps hashes but
        // breaks the links.
        c.execute_batch(
            "UPDATE audit SET seq = 100 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 100;",
        )
        .unwrap();
        let b = verify_chain(&c).unwrap();
        let seqs: Vec<i64> = b.iter().map(|b| b.seq).collect();
        assert!(
            seqs.contains(&2) && seqs.contains(&3) && seqs.contains(&4),
            "{b:?}"
        );
    }
}
