//! The dock endpoints: a dock named by hand (`vigil dock`), opened by
//! vigild with the station key (`vigil-service::docks`). A dock vigild
//! already serves from its configuration is its own workers' to ask and
//! pull; enrolling one is what makes it usable to them.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use vigil_service::docks::{self, DockPath, PullRequest};
use vigil_service::identity::CUSTODY;
use vigil_service::ServiceError;

use crate::server::{stream_job, with_identity, ApiError, ApiResult, ApiState, ErrorBody, Who};

/// Refuses a dock vigild's own workers are serving: two hosts on one
/// serial line would garble each other's frames.
fn not_served(state: &ApiState, path: &str) -> Result<(), ApiError> {
    let same = |a: &str| {
        a == path
            || std::fs::canonicalize(a)
                .ok()
                .is_some_and(|a| std::fs::canonicalize(path).ok() == Some(a))
    };
    let served = (state.status)()["docks"]
        .as_object()
        .is_some_and(|d| d.keys().any(|k| same(k)));
    if served {
        return Err(ServiceError::refused(format!(
            "vigild serves the dock at {path} itself and pulls what is docked there (see `vigil status`)"
        ))
        .into());
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/docks/status", tag = "docks", params(("path" = String, Query, description = "the dock's serial device, or usb")), responses((status = 200, description = "{dock, slots}"), (status = 400, description = "not a serial device", body = ErrorBody), (status = 403, description = "refused: not a custodian, or a dock vigild serves", body = ErrorBody), (status = 500, description = "the dock failed", body = ErrorBody)))]
pub(crate) async fn status(
    State(state): State<ApiState>,
    who: Who,
    Query(p): Query<DockPath>,
) -> ApiResult {
    not_served(&state, &p.path)?;
    Ok(Json(
        with_identity(&state, &who, move |s, id| docks::status(s, id, &p.path)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/docks/enroll", tag = "docks", request_body = DockPath, responses((status = 200, description = "{dock, firmware}"), (status = 400, description = "not a serial device", body = ErrorBody), (status = 403, description = "refused (the code says why)", body = ErrorBody), (status = 500, description = "the dock failed", body = ErrorBody)))]
pub(crate) async fn enroll(
    State(state): State<ApiState>,
    who: Who,
    Json(p): Json<DockPath>,
) -> ApiResult {
    // Not refused when vigild knows the dock: a factory-new dock plugged
    // into a running station is one its workers cannot use (they only
    // retry the handshake) until it is enrolled here.
    Ok(Json(
        with_identity(&state, &who, move |s, id| docks::enroll(s, id, &p.path)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/docks/pull", tag = "docks", request_body = PullRequest, responses((status = 200, description = "application/x-ndjson: progress lines, then {\"result\": {files, skipped, failed, recorders, link}} or {\"error\": ...}", content_type = "application/x-ndjson"), (status = 403, description = "refused (the code says why)", body = ErrorBody)))]
pub(crate) async fn pull(
    State(state): State<ApiState>,
    who: Who,
    Json(r): Json<PullRequest>,
) -> Result<Response, ApiError> {
    not_served(&state, &r.path)?;
    stream_job(
        &state,
        &who,
        vigil_store::Store::open,
        CUSTODY,
        "using a dock",
        move |s, id, sink| docks::pull(s, id, &r, sink),
    )
    .await
}

/// The dock routes.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/docks/status", get(status))
        .route("/api/v1/docks/enroll", post(enroll))
        .route("/api/v1/docks/pull", post(pull))
}
