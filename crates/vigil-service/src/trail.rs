//! The audit trail as people read it (R20): a page of the audit log for
//! one subject, action, person or period, each row's subject named (a
//! recording by its file, officer and start; an interruption by its time
//! and recording; a request; a user), for the desk's history pages.

use std::collections::HashMap;

use vigil_store::audit::AuditEntry;

use crate::identity::Identity;
use crate::queries::AuditQuery;
use crate::station::Station;
use crate::ServiceError;

/// What an audit row is about, as far as the station knows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A recording.
    Recording {
        /// Its id.
        clip: String,
        /// Its file on the recorder.
        path: String,
        /// Its officer's id.
        officer: Option<String>,
        /// When it started (RFC 3339 UTC), when known.
        start: Option<String>,
    },
    /// An interruption of a recording.
    Interruption {
        /// Its recording's id.
        clip: String,
        /// Its recording's file.
        path: String,
        /// When it began (RFC 3339 UTC), when known.
        start: Option<String>,
    },
    /// A retrieval request.
    Request,
    /// A user of the station.
    User,
    /// Something else (a run, a dock, the store): shown as recorded.
    Other,
}

/// A page of the trail.
#[derive(Debug, Clone)]
pub struct Trail {
    /// The rows, in log order.
    pub rows: Vec<AuditEntry>,
    /// What each row's subject is, by subject.
    pub subjects: HashMap<String, Subject>,
    /// The `after` of the next page, when there may be one.
    pub next: Option<i64>,
}

/// The trail `q` asks for, for one of the audit roles (the same operation
/// as `GET /api/v1/audit`, read audited the same way).
pub fn trail(station: &mut Station, id: &Identity, q: &AuditQuery) -> Result<Trail, ServiceError> {
    crate::op::allow::<crate::ops::Audit>(id)?;
    let (rows, next) = crate::queries::audit_rows(&mut station.store, id, q)?;
    let mut subjects = HashMap::new();
    for r in &rows {
        if subjects.contains_key(&r.subject) {
            continue;
        }
        let s = subject_of(station, &r.action, &r.subject)?;
        subjects.insert(r.subject.clone(), s);
    }
    Ok(Trail {
        rows,
        subjects,
        next,
    })
}

/// What `subject` of a row with `action` is.
fn subject_of(station: &Station, action: &str, subject: &str) -> Result<Subject, ServiceError> {
    let store = &station.store;
    let domain = action.split('.').next().unwrap_or_default();
    Ok(match domain {
        "clip" => match store.recordings().clip(subject)? {
            Some(c) => Subject::Recording {
                clip: c.clip,
                path: c.path,
                officer: c.officer,
                start: c.recorded_start,
            },
            None => Subject::Other,
        },
        "gap" | "explanation" => match store.gap_log().gap(subject)? {
            Some(g) => Subject::Interruption {
                clip: g.clip,
                path: g.path,
                start: g.wall_start,
            },
            None => Subject::Other,
        },
        "request" => Subject::Request,
        "user" | "session" => Subject::User,
        _ => Subject::Other,
    })
}

/// A row's details as `key: value` pairs (the JSON kept in the log, its
/// nulls left out).
pub fn details(detail: &serde_json::Value) -> String {
    match detail {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
