//! Custody of stored clips: retention classes, holds and cases (R12, R13),
//! the two-person removal of expired clips, confidentiality marks (R17),
//! retrieval requests and their approval (R14, R16), and the supervisors'
//! spot checks (R18). Served by vigild and run in-process alike; every
//! change is audited by the store.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use vigil_store::retention::Policy;
use vigil_store::Store;

use crate::error::ServiceError;
use crate::identity::{Identity, Role};
use crate::station::Station;

/// Retention classes (R12).
pub const CLASSES: &[&str] = &["ordinary", "evidence", "long_term"];
/// Why a clip may be held past its retention (R13).
pub const REASONS: &[&str] = &[
    "dispute",
    "complaint",
    "obstruction",
    "mass_incident",
    "compulsory_measure",
];
/// Kinds of confidential content (R17).
pub const KINDS: &[&str] = &["state_secret", "trade_secret", "privacy"];

/// Who may mark clips confidential.
pub const MARKERS: &[Role] = &[Role::Custodian, Role::Admin, Role::Supervisor];
/// Who may approve or turn down a retrieval request (R16).
pub const APPROVERS: &[Role] = &[Role::Supervisor, Role::Admin];

fn one_of(flag: &str, value: &str, allowed: &[&str]) -> Result<(), ServiceError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ServiceError::bad_request(format!(
        "{flag} {value:?}: one of {}",
        allowed.join(", ")
    )))
}

fn rfc3339(t: &str) -> Result<(), ServiceError> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .map(|_| ())
        .map_err(|_| ServiceError::bad_request(format!("{t:?} is not an RFC 3339 time")))
}

/// Refuses an empty list or a clip that is not stored.
pub(crate) fn check_clips(store: &Store, clips: &[String]) -> Result<(), ServiceError> {
    if clips.is_empty() {
        return Err(ServiceError::bad_request("name at least one clip".into()));
    }
    known_clips(store, clips)
}

/// Refuses a clip that is not stored.
pub(crate) fn known_clips(store: &Store, clips: &[String]) -> Result<(), ServiceError> {
    for c in clips {
        store
            .recordings()
            .clip(c)?
            .ok_or_else(|| ServiceError::not_found(format!("no clip {c:?} (see `vigil clips`)")))?;
    }
    Ok(())
}

/// Setting a retention class (`vigil retain`, `POST /api/v1/retention`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Retain {
    /// Clips.
    pub clips: Vec<String>,
    /// ordinary, evidence or long_term.
    pub class: String,
}

/// Sets the retention class of clips: `{clips, class}`.
pub(crate) fn retain(
    store: &mut Store,
    id: &Identity,
    r: &Retain,
) -> Result<serde_json::Value, ServiceError> {
    one_of("--class", &r.class, CLASSES)?;
    check_clips(store, &r.clips)?;
    store
        .custody_mut()
        .set_class(&id.actor(), &r.clips, &r.class)?;
    Ok(serde_json::json!({"clips": r.clips, "class": r.class}))
}

/// A hold (`vigil hold`, `POST /api/v1/holds`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hold {
    /// Clips.
    pub clips: Vec<String>,
    /// dispute, complaint, obstruction, mass_incident or compulsory_measure.
    pub reason: String,
    /// Free text.
    pub note: Option<String>,
}

/// Places holds: `{holds: [id...], clips, reason}`.
pub(crate) fn hold(
    store: &mut Store,
    id: &Identity,
    h: &Hold,
) -> Result<serde_json::Value, ServiceError> {
    one_of("--reason", &h.reason, REASONS)?;
    check_clips(store, &h.clips)?;
    let ids = store
        .custody_mut()
        .hold(&id.actor(), &h.clips, &h.reason, h.note.as_deref())?;
    Ok(serde_json::json!({"holds": ids, "clips": h.clips, "reason": h.reason}))
}

/// Releases a hold: `{hold, released: true}`.
pub(crate) fn release(
    store: &mut Store,
    id: &Identity,
    hold: i64,
) -> Result<serde_json::Value, ServiceError> {
    store
        .custody_mut()
        .release(&id.actor(), hold)
        .map_err(ServiceError::doing(format!("releasing hold {hold}")))?;
    Ok(serde_json::json!({"hold": hold, "released": true}))
}

/// A case closed or filed (`vigil case`, `POST /api/v1/cases`); times
/// RFC 3339 UTC.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseEvent {
    /// The case number.
    pub case: String,
    /// When the case was closed.
    pub closed_at: Option<String>,
    /// When its records were filed (R12).
    pub filed_at: Option<String>,
}

/// Records a case event: `{case, closed_at, filed_at}`.
pub(crate) fn case_event(
    store: &mut Store,
    id: &Identity,
    e: &CaseEvent,
) -> Result<serde_json::Value, ServiceError> {
    let case = e.case.as_str();
    if case.trim().is_empty() {
        return Err(ServiceError::bad_request("the case number is empty".into()));
    }
    if e.closed_at.is_none() && e.filed_at.is_none() {
        return Err(ServiceError::bad_request(
            "say when the case was closed or filed".into(),
        ));
    }
    for t in [&e.closed_at, &e.filed_at].into_iter().flatten() {
        rfc3339(t)?;
    }
    store.custody_mut().case_event(
        &id.actor(),
        case,
        e.closed_at.as_deref(),
        e.filed_at.as_deref(),
    )?;
    Ok(serde_json::json!({"case": case, "closed_at": e.closed_at, "filed_at": e.filed_at}))
}

/// The retention policy a purge is judged by (`GET /api/v1/purge`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct PurgePolicy {
    /// Ordinary retention, days after recording.
    pub ordinary_days: i64,
    /// Evidence retention, days after its case closed.
    pub case_file_days: i64,
    /// Recovery window between approval and deletion, days.
    pub window_days: i64,
}

impl Default for PurgePolicy {
    fn default() -> Self {
        let p = Policy::default();
        Self {
            ordinary_days: p.ordinary_days,
            case_file_days: p.case_file_days,
            window_days: p.window_days,
        }
    }
}

impl PurgePolicy {
    fn policy(self) -> Result<Policy, ServiceError> {
        let days = 0..=366 * 100;
        if !days.contains(&self.ordinary_days)
            || !days.contains(&self.case_file_days)
            || !days.contains(&self.window_days)
        {
            return Err(ServiceError::bad_request(
                "retention and window days run from 0 to 36600".into(),
            ));
        }
        Ok(Policy {
            ordinary_days: self.ordinary_days,
            case_file_days: self.case_file_days,
            window_days: self.window_days,
        })
    }
}

/// The dry run: what is due for removal, and the queue: `{due, queue}`.
pub(crate) fn purge_plan(store: &Store, p: PurgePolicy) -> Result<serde_json::Value, ServiceError> {
    let due = store
        .custody()
        .due(time::OffsetDateTime::now_utc(), &p.policy()?)?;
    Ok(serde_json::json!({ "due": due, "queue": store.custody().purge_queue()? }))
}

/// A step of removal (`POST /api/v1/purge`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PurgeStep {
    /// Propose every due clip.
    Confirm,
    /// Approve pending proposals (a second custodian, not the proposer).
    Approve,
    /// Delete approved clips whose recovery window has passed.
    Run,
    /// Take a clip off the queue.
    Cancel(String),
}

/// One step of removal, under `policy`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Purge {
    /// What to do.
    pub step: PurgeStep,
    /// The policy.
    #[serde(default)]
    pub policy: PurgePolicy,
}

/// Takes one step of removal: `{proposed}`, `{approved, window_days}`,
/// `{purged: [...]}` or `{cancelled}`.
pub(crate) fn purge(
    store: &mut Store,
    id: &Identity,
    p: &Purge,
) -> Result<serde_json::Value, ServiceError> {
    let policy = p.policy.policy()?;
    let now = time::OffsetDateTime::now_utc();
    Ok(match &p.step {
        PurgeStep::Cancel(clip) => {
            store.custody_mut().cancel_purge(&id.actor(), clip)?;
            serde_json::json!({ "cancelled": clip })
        }
        PurgeStep::Approve => {
            let n = store
                .custody_mut()
                .approve_purge(&id.actor(), &id.user, policy.window_days)
                .map_err(ServiceError::doing("approving removals"))?;
            serde_json::json!({ "approved": n, "window_days": policy.window_days })
        }
        PurgeStep::Run => {
            serde_json::json!({ "purged": store.run_purge(&id.actor(), now, &policy)? })
        }
        PurgeStep::Confirm => {
            let clips: Vec<String> = store
                .custody()
                .due(now, &policy)?
                .into_iter()
                .map(|d| d.clip)
                .collect();
            serde_json::json!({ "proposed": store.custody_mut().propose_purge(&id.actor(), &clips)? })
        }
    })
}

/// A confidentiality mark (`vigil confidential`, `POST /api/v1/confidential`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Confidential {
    /// Clips.
    pub clips: Vec<String>,
    /// state_secret, trade_secret or privacy.
    pub kind: String,
}

/// Marks clips confidential: `{clips, kind}`.
pub(crate) fn confidential(
    store: &mut Store,
    id: &Identity,
    c: &Confidential,
) -> Result<serde_json::Value, ServiceError> {
    one_of("--kind", &c.kind, KINDS)?;
    check_clips(store, &c.clips)?;
    store
        .custody_mut()
        .mark_confidential(&id.actor(), &c.clips, &c.kind)?;
    Ok(serde_json::json!({"clips": c.clips, "kind": c.kind}))
}

/// A retrieval request (`vigil request`, `POST /api/v1/requests`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewRequest {
    /// Clips to retrieve.
    #[serde(default)]
    pub clips: Vec<String>,
    /// Every clip tagged with this case number.
    pub case: Option<String>,
    /// Why (written on the retrieval form).
    pub reason: String,
    /// The outside organisation receiving copies.
    pub outsider: Option<String>,
}

/// Files a retrieval request as the acting user: `{request, clips, requester}`.
pub(crate) fn request(
    store: &mut Store,
    id: &Identity,
    r: &NewRequest,
) -> Result<serde_json::Value, ServiceError> {
    if r.reason.trim().is_empty() {
        return Err(ServiceError::bad_request(
            "--reason must say why the clips are needed".into(),
        ));
    }
    if r.clips.is_empty() && r.case.is_none() {
        return Err(ServiceError::bad_request(
            "name the clips (--clip) or a case (--case)".into(),
        ));
    }
    known_clips(store, &r.clips)?;
    let mut clips: BTreeSet<String> = r.clips.iter().cloned().collect();
    if let Some(case) = &r.case {
        let of_case = store.custody().clips_of_case(case)?;
        if of_case.is_empty() {
            return Err(ServiceError::not_found(format!(
                "no clip is tagged with case {case:?}"
            )));
        }
        clips.extend(of_case);
    }
    let clips: Vec<String> = clips.into_iter().collect();
    for clip in &clips {
        let kind = store.custody().confidentiality(clip)?;
        if !crate::queries::may_see(id.role, kind.as_deref()) {
            return Err(ServiceError::refused(format!(
                "recording {clip} is confidential ({}); {} may not see it, so may not request it (R17)",
                kind.unwrap_or_default(),
                id.user
            )));
        }
    }
    let rid = store.custody_mut().add_request(
        &id.actor(),
        &id.user,
        &r.reason,
        r.outsider.as_deref(),
        r.case.as_deref(),
        &clips,
    )?;
    Ok(serde_json::json!({ "request": rid, "clips": clips, "requester": id.user }))
}

/// Confidentiality an outsider's package never carries (R17): state and
/// trade secrets are not disclosed under the information-disclosure rules;
/// a privacy record may go to a party who asks for it, with approval.
/// Checked when the package is made (`export::prepare`).
pub const NEVER_TO_OUTSIDERS: &[&str] = &["state_secret", "trade_secret"];

/// Approves a request as the acting supervisor (never its requester):
/// `{request, approved_by}`.
pub(crate) fn approve(
    store: &mut Store,
    id: &Identity,
    request: &str,
) -> Result<serde_json::Value, ServiceError> {
    approve_as(store, id, request, None)
}

/// Approves a request; `centre_action` names the centre's action it
/// records.
pub(crate) fn approve_as(
    store: &mut Store,
    id: &Identity,
    request: &str,
    centre_action: Option<&str>,
) -> Result<serde_json::Value, ServiceError> {
    let Some(req) = store.custody().request(request)? else {
        return Err(ServiceError::not_found(format!("no request {request:?}")));
    };
    // Separation of duties (R16): never one's own request, under this
    // account or another account of the same officer.
    let officer_of = |user: &str| -> Result<Option<String>, ServiceError> {
        Ok(store
            .people()
            .users()?
            .into_iter()
            .find(|u| u.name == user)
            .and_then(|u| u.officer))
    };
    let same_officer = match (&id.officer, officer_of(&req.requester)?) {
        (Some(a), Some(b)) => *a == b,
        _ => false,
    };
    if req.requester == id.user || same_officer {
        return Err(ServiceError::refused(format!(
            "request {request} was filed by {}, {}; a different supervisor must approve it (separation of duties, R16)",
            req.requester,
            if same_officer { "another account of the same officer" } else { "this account" }
        )));
    }
    store
        .custody_mut()
        .approve(&id.actor(), &id.user, request, centre_action)
        .map_err(ServiceError::doing(format!("approving request {request}")))?;
    Ok(serde_json::json!({"request": request, "approved_by": id.user}))
}

/// Why a request is turned down (`vigil reject`,
/// `POST /api/v1/requests/{request}/rejection`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rejection {
    /// Why (the requester reads it).
    pub reason: String,
}

/// Turns a request down as the acting supervisor (never its requester),
/// with the reason (R16): `{request, rejected_by, reason}`.
pub(crate) fn reject(
    store: &mut Store,
    id: &Identity,
    request: &str,
    r: &Rejection,
) -> Result<serde_json::Value, ServiceError> {
    reject_as(store, id, request, r, None)
}

/// Turns a request down; `centre_action` names the centre's action it
/// records.
pub(crate) fn reject_as(
    store: &mut Store,
    id: &Identity,
    request: &str,
    r: &Rejection,
    centre_action: Option<&str>,
) -> Result<serde_json::Value, ServiceError> {
    if r.reason.trim().is_empty() {
        return Err(ServiceError::bad_request(
            "--reason must say why the request is turned down".into(),
        ));
    }
    if store.custody().request(request)?.is_none() {
        return Err(ServiceError::not_found(format!("no request {request:?}")));
    }
    store
        .custody_mut()
        .reject_request(
            &id.actor(),
            &id.user,
            request,
            r.reason.trim(),
            centre_action,
        )
        .map_err(ServiceError::doing(format!(
            "turning down request {request}"
        )))?;
    Ok(serde_json::json!({"request": request, "rejected_by": id.user, "reason": r.reason.trim()}))
}

/// The newest retrieval requests as the desk lists them (200 at most).
/// A list of what waits, not evidence: not audited, as the API's list is
/// not (opening a recording from it is, R20).
pub fn request_list(
    station: &Station,
    _id: &Identity,
) -> Result<Vec<vigil_store::requests::Request>, ServiceError> {
    Ok(station.store.custody().requests(200)?)
}

/// One request and what it would release, for the reader to check before a
/// decision: the recordings they may see (R17), and how many more it names
/// that they may not.
#[derive(Debug, Clone)]
pub struct Release {
    /// The request.
    pub request: vigil_store::requests::Request,
    /// Its recordings the reader may see, in the request's order.
    pub clips: Vec<vigil_store::Clip>,
    /// How many of its recordings the reader may not see.
    pub hidden: usize,
}

/// Request `request` with its recordings.
pub fn what_it_releases(
    station: &Station,
    id: &Identity,
    request: &str,
) -> Result<Release, ServiceError> {
    let r = station
        .store
        .custody()
        .request(request)?
        .ok_or_else(|| ServiceError::not_found(format!("no retrieval request {request:?}")))?;
    let mut clips = Vec::new();
    let mut hidden = 0;
    for c in &r.clips {
        match crate::queries::seen_clip(station, id, c) {
            Ok(seen) => clips.push(seen.into_clip()),
            Err(e) if e.kind == crate::Kind::Refused => hidden += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(Release {
        request: r,
        clips,
        hidden,
    })
}

/// Which retrieval requests (`GET /api/v1/requests`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// Only this station's (at the agency centre; a station's requests
    /// are only its own).
    #[serde(default)]
    pub station: Option<String>,
    /// Only those not yet approved or turned down.
    #[serde(default)]
    pub undecided: bool,
}

/// The newest retrieval requests (`GET /api/v1/requests`): `{requests}`.
pub(crate) fn requests(store: &Store, q: &RequestQuery) -> Result<serde_json::Value, ServiceError> {
    if !crate::station::is_here(store, q.station.as_deref().filter(|s| !s.is_empty()))? {
        return Err(ServiceError::not_found(format!(
            "this station's requests are its own, not {:?}'s: the agency centre lists every station's",
            q.station.as_deref().unwrap_or_default()
        )));
    }
    let mut all = store.custody().requests(200)?;
    if q.undecided {
        all.retain(|r| !r.decided());
    }
    Ok(serde_json::json!({ "requests": all }))
}

/// A reproducible draw for spot checks (`POST /api/v1/spotchecks`); times
/// RFC 3339 UTC.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Draw {
    /// How many clips.
    pub count: usize,
    /// The seed (the same seed over the same clips draws the same sample).
    pub seed: String,
    /// Clips ingested at or after.
    pub since: Option<String>,
    /// ...and before.
    pub until: Option<String>,
}

/// Draws clips for review: `{drawn: [...]}`.
pub(crate) fn draw(
    store: &mut Store,
    id: &Identity,
    d: &Draw,
) -> Result<serde_json::Value, ServiceError> {
    if d.count == 0 || d.count > 10_000 {
        return Err(ServiceError::bad_request(
            "--count runs from 1 to 10000".into(),
        ));
    }
    if d.seed.trim().is_empty() {
        return Err(ServiceError::bad_request(
            "--seed must not be empty (record it: it makes the draw reproducible)".into(),
        ));
    }
    for t in [&d.since, &d.until].into_iter().flatten() {
        rfc3339(t)?;
    }
    let since = d.since.clone().unwrap_or_else(|| "0000".into());
    let until = d.until.clone().unwrap_or_else(|| "9999".into());
    let drawn =
        store
            .custody_mut()
            .draw_spotcheck(&id.actor(), d.count, &d.seed, &since, &until)?;
    Ok(serde_json::json!({ "drawn": drawn }))
}

/// A finding on a drawn entry (`POST /api/v1/spotchecks/{entry}/findings`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// What was found.
    pub finding: String,
}

/// Records the acting user's finding: `{entry, reviewer}`.
pub(crate) fn review(
    store: &mut Store,
    id: &Identity,
    entry: i64,
    f: &Finding,
) -> Result<serde_json::Value, ServiceError> {
    if f.finding.trim().is_empty() {
        return Err(ServiceError::bad_request(
            "--finding must say what was found".into(),
        ));
    }
    store
        .custody_mut()
        .review_spotcheck(&id.actor(), entry, &id.user, &f.finding)?;
    Ok(serde_json::json!({"entry": entry, "reviewer": id.user}))
}

/// The spot-check ledger: `{spotchecks: [...]}`.
pub(crate) fn spotchecks(store: &Store) -> Result<serde_json::Value, ServiceError> {
    Ok(serde_json::json!({ "spotchecks": store.custody().spotchecks()? }))
}
