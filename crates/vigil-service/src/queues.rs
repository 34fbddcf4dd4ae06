//! Each role's work queues, as the desk's home page shows them: which
//! queues a role has, and what each holds, read from the store's indexes
//! (never every clip or interruption). The rules live here once: what a
//! role may see (R17) and who may decide a request (R16). Reading one's
//! queues is not audited: they list what waits, not evidence; opening a
//! recording from them is (R20).

use vigil_store::audit::AuditEntry;
use vigil_store::requests::Request;
use vigil_store::tags::Untagged;
use vigil_store::{Clip, ClipFilter, Gap, GapFilter};

use crate::custody::APPROVERS;
use crate::error::ServiceError;
use crate::identity::{Identity, Role, AUDIT, CUSTODY, REVIEW};
use crate::station::Station;

/// One role's queues, each its first `limit` rows; `None` for a queue the
/// role does not have.
#[derive(Debug, Default)]
pub struct Queues {
    /// The officer's own interruptions waiting for an explanation (R8).
    pub open: Option<Vec<Gap>>,
    /// The officer's own explanations waiting for a second officer's
    /// signature (R9): still theirs to follow up.
    pub waiting: Option<Vec<Gap>>,
    /// Explanations the officer may co-sign (R9).
    pub to_sign: Option<Vec<Gap>>,
    /// The officer's recordings with no tag yet.
    pub untagged: Option<Vec<Untagged>>,
    /// Explanations waiting for a supervisor's or auditor's review.
    pub to_review: Option<Vec<Gap>>,
    /// Retrieval requests this user may decide: undecided, filed by
    /// someone else (R16).
    pub to_approve: Option<Vec<Request>>,
    /// Whether the role sees the station's live board (the custodian's).
    pub station: bool,
    /// Recordings ingested on the station's day `today`.
    pub today: Option<Vec<Clip>>,
    /// Interruptions past their explanation deadline.
    pub overdue: Option<Vec<Gap>>,
    /// Every interruption, newest first (the auditor's gap log).
    pub gap_log: Option<Vec<Gap>>,
    /// The audit log's newest rows.
    pub audit: Option<Vec<AuditEntry>>,
    /// The newest signed checkpoint, described
    /// ([`crate::checkpoints::describe`]), when there is one.
    pub checkpoint: Option<serde_json::Value>,
}

/// The queues of `id`'s role. `today` is the station's current day as a
/// UTC range (the caller knows the station's zone); `now` the cutoff for
/// "untagged".
pub fn of(
    station: &Station,
    id: &Identity,
    today: (String, String),
    now: &str,
    limit: usize,
) -> Result<Queues, ServiceError> {
    gather(station, id, Some((today, now)), limit)
}

/// What waits for one person to act on, queue by queue, each counted up to
/// [`COUNTED`] (the desk's counter, the e-mailed notice): interruptions to
/// explain and explanations to co-sign (an officer's, R8, R9),
/// explanations to review, requests to decide (R16), overdue interruptions
/// (the audit roles', R9).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Waiting {
    /// Own interruptions waiting for an explanation.
    pub explain: usize,
    /// Explanations the officer may co-sign.
    pub sign: usize,
    /// Explanations waiting for review.
    pub review: usize,
    /// Retrieval requests to decide.
    pub approve: usize,
    /// Interruptions past their deadline.
    pub overdue: usize,
}

/// How far each of [`Waiting`]'s queues is counted ("99+" past it).
pub const COUNTED: usize = 99;

impl Waiting {
    /// Everything waiting, all queues together.
    pub fn total(&self) -> usize {
        self.explain + self.sign + self.review + self.approve + self.overdue
    }
}

/// What waits for `id` ([`Waiting`]): the role's queues that ask for an
/// action, nothing else read.
pub fn waiting(station: &Station, id: &Identity) -> Result<Waiting, ServiceError> {
    Ok(waiting_items(station, id)?.0)
}

/// [`waiting`], with each item waiting named by its queue and id
/// (`explain:GAP`, `approve:REQUEST`, ...): what a notice has told.
pub fn waiting_items(
    station: &Station,
    id: &Identity,
) -> Result<(Waiting, Vec<String>), ServiceError> {
    let q = gather(station, id, None, COUNTED + 1)?;
    let mut items = Vec::new();
    let mut gaps = |queue: &str, v: &Option<Vec<Gap>>| {
        let v = v.as_deref().unwrap_or_default();
        items.extend(v.iter().map(|g| format!("{queue}:{}", g.id)));
        v.len()
    };
    let waiting = Waiting {
        explain: gaps("explain", &q.open),
        sign: gaps("sign", &q.to_sign),
        review: gaps("review", &q.to_review),
        overdue: gaps("overdue", &q.overdue),
        approve: q.to_approve.as_ref().map_or(0, Vec::len),
    };
    items.extend(
        q.to_approve
            .iter()
            .flatten()
            .map(|r| format!("approve:{}", r.id)),
    );
    Ok((waiting, items))
}

/// The queues of `id`'s role; with `full` (today's range and the time now)
/// also those that only inform (own explanations waiting for others,
/// recordings to tag, today's ingests, the gap log, the audit log).
fn gather(
    station: &Station,
    id: &Identity,
    full: Option<((String, String), &str)>,
    limit: usize,
) -> Result<Queues, ServiceError> {
    let store = &station.store;
    let mut q = Queues::default();
    let hide = crate::queries::hidden_from(id.role);
    let base = GapFilter {
        hide_confidential: hide.clone(),
        overdue_after_s: crate::explanations::DEFAULT_DEADLINE_H * 3600,
        limit: Some(limit as u64),
        ..Default::default()
    };
    let gaps = |f: GapFilter| store.gap_log().gaps(&f);
    if let Some(me) = &id.officer {
        q.open = Some(gaps(GapFilter {
            officer: Some(me.clone()),
            status: Some("open".into()),
            ..base.clone()
        })?);
        q.to_sign = Some(gaps(GapFilter {
            not_signed_by: Some(me.clone()),
            ..base.clone()
        })?);
        if let Some((_, now)) = full {
            q.waiting = Some(gaps(GapFilter {
                officer: Some(me.clone()),
                status: Some("awaiting_signatures".into()),
                ..base.clone()
            })?);
            q.untagged = Some(store.custody().untagged_ingested_before(
                now,
                Some(me),
                Some(limit as u64),
            )?);
        }
    }
    if REVIEW.contains(&id.role) {
        q.to_review = Some(gaps(GapFilter {
            unreviewed: true,
            newest_first: true,
            ..base.clone()
        })?);
    }
    if APPROVERS.contains(&id.role) {
        q.to_approve = Some(
            store
                .custody()
                .requests(200)?
                .into_iter()
                .filter(|r| !r.decided() && r.requester != id.user)
                .take(limit)
                .collect(),
        );
    }
    if let (true, Some((today, _))) = (CUSTODY.contains(&id.role), &full) {
        q.station = true;
        q.today = Some(store.recordings().clips(&ClipFilter {
            ingested: Some(today.clone()),
            hide_confidential: hide.clone(),
            newest_first: true,
            limit: Some(limit as u64),
            ..Default::default()
        })?);
    }
    // Those who answer for overdue explanations: the audit roles.
    if AUDIT.contains(&id.role) {
        q.overdue = Some(gaps(GapFilter {
            overdue_only: true,
            ..base.clone()
        })?);
    }
    if matches!(id.role, Role::Auditor) && full.is_some() {
        q.gap_log = Some(gaps(GapFilter {
            newest_first: true,
            ..base.clone()
        })?);
        q.audit = Some(store.log().audit_newest(limit as u64)?);
        if let Some(k) = store.log().checkpoint()? {
            let key = store.log().station_key()?;
            q.checkpoint = Some(crate::checkpoints::describe(&k, &key)?);
        }
    }
    Ok(q)
}
