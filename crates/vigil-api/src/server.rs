//! The API's routes and its Unix-socket listener: the declared JSON
//! operations ([`crate::declared`]), the handlers that are not one service
//! call (logins, the live status, reports, verify and ingest streams), the
//! desk's pages, and the one JSON error shape for every refusal.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::UnixListener;
use vigil_service::jobs::IngestRequest;
use vigil_service::op::Endpoint;
use vigil_service::ops;
use vigil_service::{Kind, ServiceError};

use crate::context::{stream_job, with_identity, with_store, ApiError, ApiResult, Who};
pub use crate::context::{ApiState, Peer, TlsPeer};
use crate::declared::at;

async fn verify(State(state): State<ApiState>, who: Who) -> Result<Response, ApiError> {
    stream_job::<ops::Verify>(
        &state,
        &who,
        vigil_service::Opening::ForVerify,
        |s, id, sink| {
            let report = ops::Verify::run(s, id, sink)?;
            serde_json::to_value(report).map_err(|e| ServiceError::bad_request(e.to_string()))
        },
    )
    .await
}

async fn ingest(
    State(state): State<ApiState>,
    who: Who,
    Json(req): Json<IngestRequest>,
) -> Result<Response, ApiError> {
    // A local caller's directory is read with their rights; a desk
    // session's only under the watch root.
    let sources = vigil_service::sources::Sources {
        watch: state.ingest_roots.clone(),
        read_as: match who.uid {
            Some(uid) => vigil_service::sources::ReadAs::Peer(vigil_service::sources::Access {
                uid,
                gids: who.gids.clone(),
            }),
            None => vigil_service::sources::ReadAs::Remote,
        },
    };
    stream_job::<ops::Ingest>(
        &state,
        &who,
        vigil_service::Opening::Normal,
        move |s, id, sink| ops::Ingest::run(s, id, &req, &sources, sink),
    )
    .await
}

async fn login(
    State(state): State<ApiState>,
    who: Who,
    Json(l): Json<vigil_service::auth::Login>,
) -> ApiResult {
    let Some(peer) = who.remote.clone() else {
        return Err(ServiceError::bad_request(
            "log in over the desk's TLS listener; local accounts need no login".into(),
        )
        .into());
    };
    let policy = state.policy;
    // Admitted before the store is opened: a flood of logins is turned
    // away at once, not queued in memory.
    let admitted = vigil_service::auth::admit()?;
    let session = with_store(&state, move |s| {
        vigil_service::auth::login(s, &admitted, &l.user, &l.password, &peer, &policy)
    })
    .await?;
    Ok(Json(serde_json::to_value(session).unwrap_or_default()))
}

async fn logout(State(state): State<ApiState>, who: Who) -> ApiResult {
    let Some(token) = who.bearer.clone() else {
        return Err(ServiceError::bad_request("no session to end".into()).into());
    };
    let doc = with_identity(&state, &who, move |s, id| {
        vigil_service::auth::logout(s, id, &token)
    })
    .await?;
    Ok(Json(doc))
}

async fn status(State(state): State<ApiState>, who: Who) -> ApiResult {
    // Any mapped user may see the station's status.
    with_identity(&state, &who, |_, _| Ok(())).await?;
    let mut doc = (state.status)();
    doc["running"] = serde_json::json!(true);
    Ok(Json(doc))
}

async fn not_found() -> ApiError {
    ApiError(ServiceError::not_found(
        "no such endpoint (see docs/api.md)".into(),
    ))
}

async fn report(
    State(state): State<ApiState>,
    who: Who,
    Path(kind): Path<String>,
    Query(q): Query<vigil_service::reports::ReportQuery>,
) -> Result<Response, ApiError> {
    let zone = state.zone.clone();
    let r = with_identity(&state, &who, move |s, id| {
        ops::Report::run(s, id, &kind, &q, &zone)
    })
    .await?;
    let kind = r.content_type();
    Ok(([("content-type", kind)], vigil_desk::printed::document(r)).into_response())
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::declared::openapi())
}

/// Gives every error the API's JSON shape: a request the extractors
/// refuse (a body that is not the expected JSON, a path segment that is not
/// a number) would otherwise answer in plain text.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let text = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = if status.is_client_error() {
        Kind::BadRequest
    } else {
        Kind::Store
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    (
        status,
        Json(serde_json::json!({"code": code.code(), "message": message})),
    )
        .into_response()
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route(ops::Login::PATH, at::<ops::Login, _, _>(login))
        .route(ops::Logout::PATH, at::<ops::Logout, _, _>(logout))
        .route(ops::Report::PATH, at::<ops::Report, _, _>(report))
        .route(ops::Status::PATH, at::<ops::Status, _, _>(status))
        .route(ops::Verify::PATH, at::<ops::Verify, _, _>(verify))
        .route(ops::Ingest::PATH, at::<ops::Ingest, _, _>(ingest))
        .merge(crate::declared::routes())
        .merge(crate::export::routes())
        .merge(crate::docks::routes())
        .fallback(not_found)
        .layer(axum::middleware::map_response(json_errors))
        .merge(crate::desk::routes())
        .with_state(state)
}

/// Serves the API on the Unix socket at `path` until `shutdown` completes.
/// The socket is open to every local user (mode 0666): who they are comes
/// from the kernel, what they may do from their Vigil role. A stale socket
/// file is replaced; the file is removed on the way out.
pub async fn serve_unix(
    path: &std::path::Path,
    state: ApiState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = bind_unix(path)?;
    serve_bound(path, listener, state, shutdown).await
}

/// Binds the API socket at `path` (mode 0666: the kernel's peer
/// credentials, not the file's mode, say who may do what). vigild binds
/// before it starts anything else, so a socket it cannot bind stops it at
/// once instead of leaving a station with no API.
pub fn bind_unix(path: &std::path::Path) -> std::io::Result<UnixListener> {
    let named = |what: &str, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| named("making the directory of", e))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(named("removing the old socket", e)),
    }
    let listener = UnixListener::bind(path).map_err(|e| named("binding", e))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .map_err(|e| named("opening", e))?;
    Ok(listener)
}

/// Serves the API on a socket [`bind_unix`] bound, until `shutdown`.
pub async fn serve_bound(
    path: &std::path::Path,
    listener: UnixListener,
    state: ApiState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(socket = %path.display(), "API listening");
    let app = router(state).into_make_service_with_connect_info::<Peer>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = std::fs::remove_file(path);
    result
}
