//! The stations' retrieval requests at the centre (R16): listed across
//! stations as each station sent them, and approved or turned down by a
//! supervisor wherever the footage sits. A decision is an action
//! (`actions.rs`): the station records it in its own log through its own
//! checks (never the requester, nor another account of the same officer)
//! or refuses it; until then the request shows the decision sent.

use axum::extract::{Path, Query, State as Axum};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use deadpool_postgres::GenericClient;
use vigil_service::custody::{Rejection, RequestQuery};
use vigil_service::op::Endpoint;
use vigil_service::ops;

use crate::actions::{self, Subject};
use crate::agency::{caller, cut, Which, MAX_ROWS};
use crate::error::CentreError;
use crate::state::Centre;
use crate::stations::audit;
use crate::users::User;

/// The routes: the station's declared paths.
pub fn router() -> axum::Router<Centre> {
    axum::Router::new()
        .route(ops::Requests::PATH, axum::routing::get(list))
        .route(ops::Approve::PATH, axum::routing::post(approve))
        .route(ops::Reject::PATH, axum::routing::post(reject))
}

/// Which requests.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// One station's.
    pub station: Option<String>,
    /// One request.
    pub id: Option<String>,
    /// Only those not yet decided at the station.
    pub undecided: bool,
    /// Only those this user may decide now: not filed by them, and no
    /// decision from the centre on its way.
    pub decidable_by: Option<String>,
    /// At most this many.
    pub limit: i64,
}

/// Requests, newest first, each the station's object with its `station`
/// and the centre's decisions `sent` to it and not yet recorded there;
/// whether there were more than `limit`.
pub async fn request_rows(
    client: &impl GenericClient,
    f: &RequestFilter,
) -> Result<(Vec<serde_json::Value>, bool), CentreError> {
    let rows = client
        .query(
            "SELECT r.station, r.data,
                    COALESCE((SELECT jsonb_agg(jsonb_build_object('action', a.id, 'kind', a.kind,
                                  'actor', a.actor, 'body', a.body) ORDER BY a.id)
                              FROM actions a
                              WHERE a.station = r.station AND a.subject = r.id
                                AND a.kind IN ('approve', 'reject')
                                AND a.applied_seq IS NULL AND a.refused IS NULL), '[]')
             FROM requests r
             WHERE ($1::text IS NULL OR r.station = $1)
               AND ($2::text IS NULL OR r.id = $2)
               AND (NOT $3 OR (r.approved_by IS NULL AND r.rejected_by IS NULL))
               AND ($5::text IS NULL
                    OR (r.requester <> $5
                        AND NOT EXISTS (SELECT 1 FROM actions a
                                        WHERE a.station = r.station AND a.subject = r.id
                                          AND a.kind IN ('approve', 'reject')
                                          AND a.applied_seq IS NULL AND a.refused IS NULL)))
             ORDER BY r.created_at DESC, r.station, r.id
             LIMIT $4",
            &[
                &f.station,
                &f.id,
                &f.undecided,
                &(f.limit + 1),
                &f.decidable_by,
            ],
        )
        .await?;
    let (rows, more) = cut(rows, f.limit);
    Ok((
        rows.iter()
            .map(|r| {
                let mut v: serde_json::Value = r.get(1);
                v["station"] = serde_json::Value::String(r.get(0));
                v["sent"] = r.get(2);
                v
            })
            .collect(),
        more,
    ))
}

/// `GET /api/v1/requests` at the centre: `{requests, more}`, audited.
pub(crate) async fn list(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Query(q): Query<RequestQuery>,
) -> Result<Response, CentreError> {
    let user = caller::<ops::Requests>(&c, &headers).await?;
    let station = user.scope(q.station.as_deref().filter(|s| !s.is_empty()))?;
    let client = c.pool.get().await?;
    let (list, more) = request_rows(
        &client,
        &RequestFilter {
            station: station.clone(),
            id: None,
            undecided: q.undecided,
            decidable_by: None,
            limit: MAX_ROWS,
        },
    )
    .await?;
    audit(
        &client,
        &user.name,
        "requests.listed",
        "requests",
        serde_json::json!({"shown": list.len(), "station": station, "undecided": q.undecided, "more": more}),
    )
    .await?;
    Ok(Json(serde_json::json!({ "requests": list, "more": more })).into_response())
}

/// Request `id` of `station`, as [`request_rows`] gives it.
pub async fn one(
    client: &impl GenericClient,
    station: &str,
    id: &str,
) -> Result<Option<serde_json::Value>, CentreError> {
    let (rows, _) = request_rows(
        client,
        &RequestFilter {
            station: Some(station.to_owned()),
            id: Some(id.to_owned()),
            undecided: false,
            decidable_by: None,
            limit: 1,
        },
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// A decision on a request taken at the centre.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Approved.
    Approve,
    /// Turned down, with the reason.
    Reject(String),
}

/// Sends `user`'s decision on request `id` (`asked`: its station, when
/// given) to the request's station, once [`to_decide`] allows it; audited
/// as sent, with `via` when it came through the desk. Its station and the
/// action's id.
pub async fn send_decision(
    client: &impl GenericClient,
    user: &User,
    id: &str,
    asked: Option<&str>,
    decision: &Decision,
    via: Option<&str>,
) -> Result<(String, i64), CentreError> {
    let station = to_decide(client, user, id, asked).await?;
    let (kind, body, sent) = match decision {
        Decision::Approve => ("approve", serde_json::json!({}), "request.approval_sent"),
        Decision::Reject(reason) => (
            "reject",
            serde_json::json!({ "reason": reason }),
            "request.rejection_sent",
        ),
    };
    let action = actions::send(client, user, &station, kind, id, body, sent, via).await?;
    Ok((station, action))
}

/// The station of request `id` a decision by `user` is taken on. Refused
/// when the station recorded a decision already, when a decision sent
/// from the centre waits, or when `user` filed it (R16; the station checks
/// again, officer numbers included).
async fn to_decide(
    client: &impl GenericClient,
    user: &User,
    id: &str,
    asked: Option<&str>,
) -> Result<String, CentreError> {
    let station = actions::station_of(client, user, Subject::Request, id, asked).await?;
    let r = one(client, &station, id)
        .await?
        .ok_or_else(|| CentreError::NotFound(format!("no retrieval request {id}")))?;
    if let Some(who) = r["approved_by"].as_str().or(r["rejected_by"].as_str()) {
        return Err(CentreError::Refused(format!(
            "request {id} at {station} was decided already, by {who}"
        )));
    }
    if let Some(a) = r["sent"].as_array().and_then(|a| a.first()) {
        return Err(CentreError::Refused(format!(
            "a decision on request {id} by {} was sent to {station} (action {}) and waits to be recorded there",
            a["actor"].as_str().unwrap_or("-"),
            a["action"]
        )));
    }
    if r["requester"] == user.name.as_str() {
        return Err(CentreError::Refused(format!(
            "request {id} was filed by {}; a different supervisor must decide on it (separation of duties, R16)",
            user.name
        )));
    }
    Ok(station)
}

/// `POST /api/v1/requests/{request}/approval` at the centre: sent to the
/// request's station, `{request, approved_by, station, action, status}`.
pub(crate) async fn approve(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(w): Query<Which>,
) -> Result<Response, CentreError> {
    let user = caller::<ops::Approve>(&c, &headers).await?;
    let client = c.pool.get().await?;
    let (station, action) = send_decision(
        &client,
        &user,
        &id,
        w.station.as_deref(),
        &Decision::Approve,
        None,
    )
    .await?;
    Ok(Json(serde_json::json!({
        "request": id, "approved_by": user.name, "station": station, "action": action,
        "status": "sent to the station",
    }))
    .into_response())
}

/// `POST /api/v1/requests/{request}/rejection` at the centre, with the
/// reason: sent to the request's station, `{request, rejected_by, reason,
/// station, action, status}`.
pub(crate) async fn reject(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(w): Query<Which>,
    Json(r): Json<Rejection>,
) -> Result<Response, CentreError> {
    let user = caller::<ops::Reject>(&c, &headers).await?;
    let reason = r.reason.trim();
    if reason.is_empty() {
        return Err(CentreError::BadRequest(
            "--reason must say why the request is turned down".into(),
        ));
    }
    let client = c.pool.get().await?;
    let (station, action) = send_decision(
        &client,
        &user,
        &id,
        w.station.as_deref(),
        &Decision::Reject(reason.to_owned()),
        None,
    )
    .await?;
    Ok(Json(serde_json::json!({
        "request": id, "rejected_by": user.name, "reason": reason, "station": station,
        "action": action, "status": "sent to the station",
    }))
    .into_response())
}
