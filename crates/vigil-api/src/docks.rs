//! The dock endpoints: a dock named by hand (`vigil dock`), opened by
//! vigild with the station key (`vigil-service::docks`). A dock vigild
//! already serves from its configuration is its own workers' to ask and
//! pull; enrolling one is what makes it usable to them.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::{Json, Router};
use vigil_service::docks::{DockPath, PullRequest};
use vigil_service::ServiceError;

use vigil_service::op::{self, Endpoint};
use vigil_service::ops;

use crate::context::{stream_job, with_identity, ApiError, ApiResult, ApiState, Who};
use crate::declared::at;

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

pub(crate) async fn status(
    State(state): State<ApiState>,
    who: Who,
    Query(p): Query<DockPath>,
) -> ApiResult {
    not_served(&state, &p.path)?;
    Ok(Json(
        with_identity(&state, &who, move |s, id| {
            op::call::<ops::DockStatus>(s, id, (), p)
        })
        .await?,
    ))
}

pub(crate) async fn enroll(
    State(state): State<ApiState>,
    who: Who,
    Json(p): Json<DockPath>,
) -> ApiResult {
    // Not refused when vigild knows the dock: a factory-new dock plugged
    // into a running station is one its workers cannot use (they only
    // retry the handshake) until it is enrolled here.
    Ok(Json(
        with_identity(&state, &who, move |s, id| {
            op::call::<ops::DockEnroll>(s, id, (), p)
        })
        .await?,
    ))
}

pub(crate) async fn pull(
    State(state): State<ApiState>,
    who: Who,
    Json(r): Json<PullRequest>,
) -> Result<Response, ApiError> {
    not_served(&state, &r.path)?;
    stream_job::<ops::DockPull>(
        &state,
        &who,
        vigil_service::Opening::Normal,
        move |s, id, sink| ops::DockPull::run(s, id, &r, sink),
    )
    .await
}

/// The dock routes.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route(ops::DockStatus::PATH, at::<ops::DockStatus, _, _>(status))
        .route(ops::DockEnroll::PATH, at::<ops::DockEnroll, _, _>(enroll))
        .route(ops::DockPull::PATH, at::<ops::DockPull, _, _>(pull))
}
