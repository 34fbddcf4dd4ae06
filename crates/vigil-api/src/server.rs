//! The router on a Unix socket. Every request opens the store, resolves the
//! peer's identity and calls the same `vigil-service` function the CLI
//! would run in-process.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::connect_info::{self, ConnectInfo};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use axum::{Json, Router};
use tokio::net::UnixListener;
use vigil_service::explanations::{self, Explain, GapQuery, Review};
use vigil_service::identity::{resolve, Caller, Identity};
use vigil_service::identity::{AUDIT, CUSTODY};
use vigil_service::jobs::{self, IngestRequest, Sink};
use vigil_service::queries::{self, AuditQuery, ClipQuery};
use vigil_service::{Kind, ServiceError};
use vigil_store::Store;

use crate::AS_HEADER;

/// What the API serves from.
#[derive(Clone)]
pub struct ApiState {
    /// The store directory.
    pub store: PathBuf,
    /// The daemon's live status document (for `GET /api/v1/status`).
    pub status: Arc<dyn Fn() -> serde_json::Value + Send + Sync>,
    /// The daemon's own uid: a peer with it is the store's owner.
    pub own_uid: u32,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The peer of a Unix-socket connection, as the kernel reports it.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Its uid, when the kernel could say (it always can on Linux).
    pub uid: Option<u32>,
}

impl connect_info::Connected<IncomingStream<'_, UnixListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        Self {
            uid: stream.io().peer_cred().ok().map(|c| c.uid()),
        }
    }
}

/// An error as the API sends it.
#[derive(Debug)]
pub struct ApiError(ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

impl From<vigil_store::StoreError> for ApiError {
    fn from(e: vigil_store::StoreError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.0.kind {
            Kind::Refused => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Store => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = serde_json::json!({"code": self.0.kind.code(), "message": self.0.message});
        (status, Json(body)).into_response()
    }
}

type ApiResult = Result<Json<serde_json::Value>, ApiError>;

/// Opens the store and resolves the caller (blocking work, off the reactor).
async fn with_identity<T: Send + 'static>(
    state: &ApiState,
    peer: &Peer,
    headers: &HeaderMap,
    f: impl FnOnce(&mut Store, &Identity) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    let Some(uid) = peer.uid else {
        return Err(ServiceError::refused(
            "the kernel did not say who is calling (no peer credentials)".into(),
        )
        .into());
    };
    let as_user = match headers.get(AS_HEADER) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ServiceError::bad_request(format!("{AS_HEADER} is not text")))?
                .to_owned(),
        ),
        None => None,
    };
    let caller = Caller {
        uid,
        as_user,
        owner: uid == state.own_uid,
    };
    let root = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&root)?;
        let id = resolve(&store, &caller)?;
        f(&mut store, &id)
    })
    .await
    .map_err(|e| {
        ApiError(ServiceError::bad_request(format!(
            "the request failed: {e}"
        )))
    })?
    .map_err(ApiError)
}

/// Progress as JSON lines on a streamed response (at most ten a second).
struct LineSink {
    tx: tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::convert::Infallible>>,
    last: Option<std::time::Instant>,
}

impl LineSink {
    fn send(&self, doc: &serde_json::Value) {
        let mut line = doc.to_string();
        line.push('\n');
        // A client that went away only stops the progress, not the work.
        let _ = self.tx.blocking_send(Ok(line.into()));
    }
}

impl Sink for LineSink {
    fn progress(&mut self, done: u64, total: u64, file: Option<&str>) {
        let due = self
            .last
            .is_none_or(|t| t.elapsed() >= std::time::Duration::from_millis(100));
        if due || done == total {
            self.last = Some(std::time::Instant::now());
            self.send(
                &serde_json::json!({"progress": {"done": done, "total": total, "file": file}}),
            );
        }
    }
}

/// Runs `job` after checking the caller, streaming its progress as JSON
/// lines and ending with `{"result": ...}` or `{"error": {"code", "message"}}`.
/// Refusals before the work starts are ordinary JSON errors.
async fn stream_job(
    state: &ApiState,
    peer: &Peer,
    headers: &HeaderMap,
    allowed: &'static [vigil_service::Role],
    what: &'static str,
    job: impl FnOnce(&mut Store, &Identity, &mut dyn Sink) -> Result<serde_json::Value, ServiceError>
        + Send
        + 'static,
) -> Result<Response, ApiError> {
    let (store, id) = with_identity(state, peer, headers, move |_, id| {
        id.require(allowed, what)?;
        Ok(id.clone())
    })
    .await
    .map(|id| (state.store.clone(), id))?;
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::task::spawn_blocking(move || {
        let mut sink = LineSink { tx, last: None };
        let outcome = Store::open(&store)
            .map_err(ServiceError::from)
            .and_then(|mut s| job(&mut s, &id, &mut sink));
        let last = match outcome {
            Ok(result) => serde_json::json!({ "result": result }),
            Err(e) => serde_json::json!({"error": {"code": e.kind.code(), "message": e.message}}),
        };
        sink.send(&last);
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    Ok(([("content-type", "application/x-ndjson")], body).into_response())
}

async fn verify(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    stream_job(
        &state,
        &peer,
        &headers,
        AUDIT,
        "verifying the store",
        |s, id, sink| {
            let report = jobs::verify(s, id, sink)?;
            serde_json::to_value(report).map_err(|e| ServiceError::bad_request(e.to_string()))
        },
    )
    .await
}

async fn ingest(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    Json(req): Json<IngestRequest>,
) -> Result<Response, ApiError> {
    stream_job(
        &state,
        &peer,
        &headers,
        CUSTODY,
        "ingesting",
        move |s, id, sink| jobs::ingest(s, id, &req, sink),
    )
    .await
}

async fn whoami(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> ApiResult {
    let doc = with_identity(&state, &peer, &headers, |_, id| Ok(queries::whoami(id))).await?;
    Ok(Json(doc))
}

async fn clips(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    Query(q): Query<ClipQuery>,
) -> ApiResult {
    let doc = with_identity(&state, &peer, &headers, move |s, id| {
        queries::clips(s, id, &q)
    })
    .await?;
    Ok(Json(doc))
}

async fn audit(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> ApiResult {
    let doc = with_identity(&state, &peer, &headers, move |s, id| {
        queries::audit(s, id, &q)
    })
    .await?;
    Ok(Json(doc))
}

async fn gaps(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    Query(q): Query<GapQuery>,
) -> ApiResult {
    let doc = with_identity(&state, &peer, &headers, move |s, id| {
        explanations::gaps(s, id, &q)
    })
    .await?;
    Ok(Json(doc))
}

async fn explain(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    Path(gap): Path<String>,
    Json(how): Json<Explain>,
) -> ApiResult {
    let doc = with_identity(&state, &peer, &headers, move |s, id| {
        explanations::explain(s, id, &gap, &how)
    })
    .await?;
    Ok(Json(doc))
}

async fn sign(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    Path(explanation): Path<String>,
) -> ApiResult {
    let doc = with_identity(&state, &peer, &headers, move |s, id| {
        explanations::sign(s, id, &explanation)
    })
    .await?;
    Ok(Json(doc))
}

async fn review(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    Path(gap): Path<String>,
    Json(r): Json<Review>,
) -> ApiResult {
    let doc = with_identity(&state, &peer, &headers, move |s, id| {
        explanations::review(s, id, &gap, &r)
    })
    .await?;
    Ok(Json(doc))
}

async fn status(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> ApiResult {
    // Any mapped user may see the station's status.
    with_identity(&state, &peer, &headers, |_, _| Ok(())).await?;
    let mut doc = (state.status)();
    doc["running"] = serde_json::json!(true);
    Ok(Json(doc))
}

async fn not_found() -> ApiError {
    ApiError(ServiceError::not_found(
        "no such endpoint (see docs/api.md)".into(),
    ))
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/whoami", get(whoami))
        .route("/api/v1/status", get(status))
        .route("/api/v1/clips", get(clips))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/gaps", get(gaps))
        .route("/api/v1/verify", post(verify))
        .route("/api/v1/ingest", post(ingest))
        .route("/api/v1/gaps/{gap}/explanations", post(explain))
        .route("/api/v1/gaps/{gap}/reviews", post(review))
        .route("/api/v1/explanations/{explanation}/signatures", post(sign))
        .fallback(not_found)
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
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    tracing::info!(socket = %path.display(), "API listening");
    let app = router(state).into_make_service_with_connect_info::<Peer>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = std::fs::remove_file(path);
    result
}
