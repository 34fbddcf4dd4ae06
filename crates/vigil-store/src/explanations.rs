//! Explanations of interruptions and their signatures (R8) and reviews
//! (R9), as rows: reading a gap's current explanation, adding a
//! signature, and keeping each gap's status in step with its explanation.
//! Plain SQL on a connection or a transaction; the gap log's writes
//! (`gaps`) call these inside the one write path.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use crate::audit;

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
    /// The last review's note.
    pub review_note: Option<String>,
    /// When it was last reviewed (RFC 3339 UTC).
    pub reviewed_at: Option<String>,
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

/// A gap's current explanation (the one no other supersedes), read on
/// `conn`: inside a write transaction this is the read of a
/// read-modify-write that no other writer can interleave with.
pub(crate) fn current_explanation_in(
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
                    let r: Option<(String, String, Option<String>, String)> = conn
                        .query_row(
                            "SELECT reviewer, verdict, note, at FROM reviews WHERE explanation = ?1 ORDER BY id DESC LIMIT 1",
                            [&e.id],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                        )
                        .optional()
                        ?;
                    if let Some((who, verdict, note, at)) = r {
                        e.reviewed_by = Some(who);
                        e.review = Some(verdict);
                        e.review_note = note;
                        e.reviewed_at = Some(at);
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
pub(crate) fn explanation_joined(
    r: &rusqlite::Row<'_>,
    at: usize,
) -> rusqlite::Result<Option<Explanation>> {
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
        e.review_note = review.get(2).and_then(|n| n.as_str()).map(str::to_owned);
        e.reviewed_at = review.get(3).and_then(|n| n.as_str()).map(str::to_owned);
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
pub(crate) fn explanation_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Explanation> {
    explanation_at(r, 0)
}

/// The same ten columns from column `at` on.
pub(crate) fn explanation_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Explanation> {
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
        review_note: None,
        reviewed_at: None,
        review: None,
    })
}

/// Adds an explanation's signatures; its signers are then the officers who
/// signed in their sessions (schema 11 on). An explanation from before
/// keeps the signers typed when it was filed.
pub(crate) fn with_signatures(conn: &Connection, e: &mut Explanation) -> rusqlite::Result<()> {
    signed(e, signatures_of(conn, &e.id)?);
    Ok(())
}

/// Gives `e` its signatures; with any, its signers are their officers.
pub(crate) fn signed(e: &mut Explanation, signatures: Vec<Signature>) {
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
            e.review_note = last.note.clone();
            e.reviewed_at = Some(last.at.clone());
        }
        out.push((e, reviews));
    }
    Ok(out)
}

/// Adds `officer`'s signature (signing as Vigil user `user`) to a written
/// explanation and audits it; call inside the write transaction.
pub(crate) fn add_signature(
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
pub(crate) fn signatures_of(
    conn: &Connection,
    explanation: &str,
) -> rusqlite::Result<Vec<Signature>> {
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
