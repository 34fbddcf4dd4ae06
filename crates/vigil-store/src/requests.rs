//! Retrieval requests (R16, the 调用单): who asks for which clips and why,
//! and which supervisor approved it. A request is approved or turned down
//! once, with the reason, by someone other than its requester; only
//! approved requests can be exported.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::domains::Custody;
use crate::error::{Result, StoreError};
use crate::index::Index;
use crate::timefmt::now_rfc3339;

/// A retrieval request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Request {
    /// Request id.
    pub id: String,
    /// Vigil user who asked.
    pub requester: String,
    /// Why.
    pub reason: String,
    /// Outside organisation receiving copies, if any.
    pub outsider: Option<String>,
    /// Case number asked for, if by case.
    pub case: Option<String>,
    /// The clips.
    pub clips: Vec<String>,
    /// When asked.
    pub created_at: String,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
    /// Who turned it down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<String>,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_at: Option<String>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
}

impl Request {
    /// Approved or turned down already.
    pub fn decided(&self) -> bool {
        self.approved_by.is_some() || self.rejected_by.is_some()
    }
}

const COLUMNS: &str = "id, requester, reason, outsider, case_no, clips, created_at, approved_by, approved_at, rejected_by, rejected_at, reject_reason";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Request> {
    let clips: String = r.get(5)?;
    Ok(Request {
        id: r.get(0)?,
        requester: r.get(1)?,
        reason: r.get(2)?,
        outsider: r.get(3)?,
        case: r.get(4)?,
        clips: serde_json::from_str(&clips).unwrap_or_default(),
        created_at: r.get(6)?,
        approved_by: r.get(7)?,
        approved_at: r.get(8)?,
        rejected_by: r.get(9)?,
        rejected_at: r.get(10)?,
        reject_reason: r.get(11)?,
    })
}

impl<I: std::ops::Deref<Target = Index>> Custody<I> {
    /// A retrieval request.
    pub fn request(&self, id: &str) -> Result<Option<Request>> {
        self.ix
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM requests WHERE id = ?1"),
                [id],
                row,
            )
            .optional()
            .map_err(|e| self.ix.err(e))
    }

    /// The newest requests first, at most `limit`.
    pub fn requests(&self, limit: u64) -> Result<Vec<Request>> {
        let mut stmt = self
            .ix
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM requests ORDER BY created_at DESC, id LIMIT ?1"
            ))
            .map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map([limit as i64], row)
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }

    /// The request `id`, refused when it was approved or turned down.
    fn undecided(&self, id: &str) -> Result<Request> {
        let Some(req) = self.request(id)? else {
            return Err(StoreError::NotFound(format!("no request {id:?}")));
        };
        if let Some(by) = &req.approved_by {
            return Err(StoreError::Refused(format!(
                "request {id} is already approved (by {by})"
            )));
        }
        if let Some(by) = &req.rejected_by {
            return Err(StoreError::Refused(format!(
                "request {id} was turned down (by {by}); file a new request"
            )));
        }
        Ok(req)
    }

    /// Clips whose current tag names this case.
    pub fn clips_of_case(&self, case: &str) -> Result<Vec<String>> {
        let mut stmt = self.ix
            .conn
            .prepare(
                "SELECT t.clip FROM tags t WHERE t.id = (SELECT MAX(id) FROM tags u WHERE u.clip = t.clip) AND t.case_no = ?1 ORDER BY t.clip",
            )
            .map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map([case], |r| r.get(0))
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }

    /// Audit rows about these subjects (clip ids, gap ids), oldest first.
    pub fn audit_about(&self, subjects: &[String]) -> Result<Vec<audit::AuditEntry>> {
        let subjects = serde_json::Value::from(subjects).to_string();
        audit::about(&self.ix.conn, &subjects).map_err(|e| self.ix.err(e))
    }
}

impl<I: std::ops::DerefMut<Target = Index>> Custody<I> {
    /// Files a retrieval request; returns its id (audited).
    pub fn add_request(
        &mut self,
        actor: &str,
        requester: &str,
        reason: &str,
        outsider: Option<&str>,
        case: Option<&str>,
        clips: &[String],
    ) -> Result<String> {
        let now = now_rfc3339();
        let mut h = blake3::Hasher::new_derive_key("vigil request id v1");
        h.update(now.as_bytes());
        h.update(requester.as_bytes());
        h.update(reason.as_bytes());
        h.update(&std::process::id().to_le_bytes());
        let id = format!("q{}", &h.finalize().to_hex()[..12]);
        let clips_json = serde_json::to_string(clips).unwrap_or_else(|_| "[]".into());
        self.ix.write(|tx| {
            tx.execute(
                "INSERT INTO requests (id, requester, reason, outsider, case_no, clips, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, requester, reason, outsider, case, clips_json, now],
            )?;
            audit::append(tx, &now, actor, "request.created", &id, &json!({"reason": reason, "outsider": outsider, "case": case, "clips": clips}))
        })?;
        Ok(id)
    }

    /// Turns a request down, with the reason; refused for its own
    /// requester and for a request already decided. `centre_action` names
    /// the centre's action it records (`WITNESS#ID`), kept in the entry.
    pub fn reject_request(
        &mut self,
        actor: &str,
        by: &str,
        id: &str,
        reason: &str,
        centre_action: Option<&str>,
    ) -> Result<()> {
        let req = self.undecided(id)?;
        if req.requester == by {
            return Err(StoreError::Refused(format!(
                "{by} asked for request {id}; a different supervisor must decide on it (R16)"
            )));
        }
        let now = now_rfc3339();
        self.ix.write(|tx| {
            tx.execute(
                "UPDATE requests SET rejected_by = ?2, rejected_at = ?3, reject_reason = ?4 WHERE id = ?1",
                params![id, by, now, reason],
            )?;
            audit::append(
                tx,
                &now,
                actor,
                "request.rejected",
                id,
                &decision(json!({"by": by, "reason": reason}), centre_action),
            )
        })?;
        Ok(())
    }

    /// Approves a request; refused for its own requester (audited).
    /// `centre_action` as for [`Self::reject_request`].
    pub fn approve(
        &mut self,
        actor: &str,
        approver: &str,
        id: &str,
        centre_action: Option<&str>,
    ) -> Result<()> {
        let req = self.undecided(id)?;
        if req.requester == approver {
            return Err(StoreError::Refused(format!(
                "{approver} asked for request {id}; a different supervisor must approve (R16)"
            )));
        }
        let now = now_rfc3339();
        self.ix.write(|tx| {
            tx.execute(
                "UPDATE requests SET approved_by = ?2, approved_at = ?3 WHERE id = ?1",
                params![id, approver, now],
            )?;
            audit::append(
                tx,
                &now,
                actor,
                "request.approved",
                id,
                &decision(json!({"approver": approver}), centre_action),
            )
        })?;
        Ok(())
    }
}

/// A decision's log detail, naming the centre's action it records.
fn decision(mut detail: serde_json::Value, centre_action: Option<&str>) -> serde_json::Value {
    if let Some(a) = centre_action {
        detail["centre_action"] = a.into();
    }
    detail
}
