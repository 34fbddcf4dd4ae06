//! The router on a Unix socket. Every request opens the store, resolves the
//! peer's identity and calls the same `vigil-service` function the CLI
//! would run in-process.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::connect_info::{self, ConnectInfo};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::IncomingStream;
use axum::{Json, Router};
use tokio::net::UnixListener;
use vigil_service::identity::{resolve, Caller, Identity};
use vigil_service::jobs::{self, IngestRequest, Sink};
use vigil_service::{Kind, ServiceError};
use vigil_store::Store;

use vigil_service::op::{self, Endpoint};
use vigil_service::ops;

use crate::declared::at;
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
    /// Sessions and lockout for desk logins.
    pub policy: vigil_service::auth::Policy,
    /// The station's time zone (the desk shows times in it).
    pub zone: vigil_i18n::Zone,
    /// Where recorders are mounted (vigild's watch root): the station
    /// ingests from there for anyone allowed to ingest.
    pub ingest_roots: Vec<PathBuf>,
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
    /// Its primary and supplementary groups when it connected
    /// (`SO_PEERCRED`, `SO_PEERGROUPS`).
    pub gids: Vec<u32>,
}

impl connect_info::Connected<IncomingStream<'_, UnixListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        let cred = stream.io().peer_cred().ok();
        let mut gids: Vec<u32> = cred.iter().map(|c| c.gid()).collect();
        gids.extend(peer_groups(stream.io()));
        Self {
            uid: cred.map(|c| c.uid()),
            gids,
        }
    }
}

/// The supplementary groups of a Unix-socket peer as the kernel recorded
/// them at connect (`SO_PEERGROUPS`); empty when it cannot say.
#[allow(unsafe_code)] // SO_PEERGROUPS, which no safe wrapper reads
fn peer_groups(stream: &tokio::net::UnixStream) -> Vec<u32> {
    use std::os::fd::AsRawFd;
    let mut groups = vec![0 as libc::gid_t; 256];
    let mut len = (groups.len() * std::mem::size_of::<libc::gid_t>()) as libc::socklen_t;
    // SAFETY: the buffer and its length are ours; the fd is the open
    // stream's.
    let r = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERGROUPS,
            groups.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Vec::new();
    }
    groups.truncate(len as usize / std::mem::size_of::<libc::gid_t>());
    groups
}

/// The peer of a TLS connection (a desk on the LAN).
#[derive(Clone, Debug)]
pub struct TlsPeer {
    /// Its address.
    pub addr: std::net::SocketAddr,
}

/// Who is calling: the kernel's word for a Unix-socket peer, or a session
/// token for a desk over TLS (never a typed id).
#[derive(Clone, Debug)]
pub struct Who {
    /// A Unix-socket peer's uid.
    uid: Option<u32>,
    /// Its groups.
    gids: Vec<u32>,
    /// Root's `X-Vigil-As`.
    as_user: Option<String>,
    /// A desk's bearer token.
    bearer: Option<String>,
    /// A desk's address (for the log).
    remote: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Who {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let header = |name: &str| -> Result<Option<String>, ApiError> {
            match parts.headers.get(name) {
                None => Ok(None),
                Some(v) => v.to_str().map(|s| Some(s.to_owned())).map_err(|_| {
                    ServiceError::bad_request(format!("header {name} is not text")).into()
                }),
            }
        };
        let unix = parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map(|c| c.0.clone());
        let tls = parts
            .extensions
            .get::<ConnectInfo<TlsPeer>>()
            .map(|c| c.0.clone());
        let bearer =
            header("authorization")?.and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned));
        Ok(Self {
            gids: unix.as_ref().map(|p| p.gids.clone()).unwrap_or_default(),
            uid: unix.and_then(|p| p.uid),
            as_user: header(AS_HEADER)?,
            // A token counts only over TLS; a local account is its uid.
            bearer: if tls.is_some() { bearer } else { None },
            remote: tls.map(|t| t.addr.to_string()),
        })
    }
}

/// An error as the API sends it.
#[derive(Debug)]
pub struct ApiError(pub(crate) ServiceError);

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
            Kind::Busy => StatusCode::TOO_MANY_REQUESTS,
        };
        let body = serde_json::json!({"code": self.0.kind.code(), "message": self.0.message});
        (status, Json(body)).into_response()
    }
}

pub(crate) type ApiResult = Result<Json<serde_json::Value>, ApiError>;

/// How a caller proves who they are.
pub(crate) enum By {
    /// A local account, as the kernel says.
    Unix(Caller),
    /// A desk's session token.
    Token(String),
}

fn caller_of(state: &ApiState, who: &Who) -> Result<By, ApiError> {
    match (who.uid, &who.bearer) {
        (Some(uid), _) => Ok(By::Unix(Caller {
            uid,
            as_user: who.as_user.clone(),
            owner: uid == state.own_uid,
        })),
        (None, Some(token)) => Ok(By::Token(token.clone())),
        (None, None) => Err(ServiceError::refused(
            "not logged in: log in first (`vigil login --server URL`, or POST /api/v1/login)"
                .into(),
        )
        .into()),
    }
}

/// Opens the store and resolves the caller (blocking).
fn open_as(root: &std::path::Path, by: By) -> Result<(Store, Identity), ServiceError> {
    open_with(root, by, Store::open)
}

/// [`open_as`] with the store opened by `open` (`Store::open_for_verify`
/// for verify, which must open an index that is behind its anchor to say
/// what differs).
fn open_with(
    root: &std::path::Path,
    by: By,
    open: fn(&std::path::Path) -> vigil_store::Result<Store>,
) -> Result<(Store, Identity), ServiceError> {
    let store = open(root)?;
    let id = match by {
        By::Unix(caller) => resolve(&store, &caller)?,
        By::Token(token) => vigil_service::auth::identity_of(&store, &token)?,
    };
    Ok((store, id))
}

pub(crate) fn join_failed(e: tokio::task::JoinError) -> ApiError {
    ApiError(ServiceError::bad_request(format!(
        "the request failed: {e}"
    )))
}

/// Opens the store, resolves the caller and runs `f` (blocking work, off
/// the reactor).
pub(crate) async fn with_identity<T: Send + 'static>(
    state: &ApiState,
    who: &Who,
    f: impl FnOnce(&mut Store, &Identity) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    let by = caller_of(state, who)?;
    let root = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let (mut store, id) = open_as(&root, by)?;
        f(&mut store, &id)
    })
    .await
    .map_err(join_failed)?
    .map_err(ApiError)
}

/// Opens the store for a request that needs no caller yet (a login).
async fn with_store<T: Send + 'static>(
    state: &ApiState,
    f: impl FnOnce(&mut Store) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    let root = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&root)?;
        f(&mut store)
    })
    .await
    .map_err(join_failed)?
    .map_err(ApiError)
}

/// Progress as JSON lines on a streamed response (at most ten a second).
struct LineSink {
    tx: BodyTx,
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

/// What a streamed response's body is made of.
pub(crate) type BodyTx = tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>;

/// Opens the store as the caller and runs `check` (a refusal there is an
/// ordinary JSON error response); then `work` runs off the reactor with
/// what `check` returned, writing the body of a `content_type` response
/// through the channel it is given. An `Err` sent on it breaks the response
/// off. The one way every streamed endpoint starts.
pub(crate) async fn checked_stream<P: Send + 'static>(
    state: &ApiState,
    who: &Who,
    open: fn(&std::path::Path) -> vigil_store::Result<Store>,
    content_type: &'static str,
    check: impl FnOnce(&mut Store, &Identity) -> Result<P, ServiceError> + Send + 'static,
    work: impl FnOnce(Store, Identity, P, BodyTx) + Send + 'static,
) -> Result<Response, ApiError> {
    let by = caller_of(state, who)?;
    let root = state.store.clone();
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let (started, start) = tokio::sync::oneshot::channel::<Result<(), ServiceError>>();
    // One store handle for the check and the work.
    tokio::task::spawn_blocking(move || {
        let opened = open_with(&root, by, open).and_then(|(mut store, id)| {
            let p = check(&mut store, &id)?;
            Ok((store, id, p))
        });
        match opened {
            Ok((store, id, p)) => {
                let _ = started.send(Ok(()));
                work(store, id, p, tx);
            }
            Err(e) => {
                let _ = started.send(Err(e));
            }
        }
    });
    match start.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(ApiError(e)),
        Err(_) => {
            return Err(ApiError(ServiceError::bad_request(
                "the request failed before it started".into(),
            )))
        }
    }
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    Ok(([("content-type", content_type)], body).into_response())
}

/// Runs `job` after checking the caller, streaming its progress as JSON
/// lines and ending with `{"result": ...}` or `{"error": {"code", "message"}}`.
/// Refusals before the work starts are ordinary JSON errors.
pub(crate) async fn stream_job<E: Endpoint>(
    state: &ApiState,
    who: &Who,
    open: fn(&std::path::Path) -> vigil_store::Result<Store>,
    job: impl FnOnce(&mut Store, &Identity, &mut dyn Sink) -> Result<serde_json::Value, ServiceError>
        + Send
        + 'static,
) -> Result<Response, ApiError> {
    checked_stream(
        state,
        who,
        open,
        "application/x-ndjson",
        move |_, id| op::allow::<E>(id),
        move |mut store, id, (), tx| {
            let mut sink = LineSink { tx, last: None };
            let last = match job(&mut store, &id, &mut sink) {
                Ok(result) => serde_json::json!({ "result": result }),
                Err(e) => {
                    serde_json::json!({"error": {"code": e.kind.code(), "message": e.message}})
                }
            };
            sink.send(&last);
        },
    )
    .await
}

async fn verify(State(state): State<ApiState>, who: Who) -> Result<Response, ApiError> {
    stream_job::<ops::Verify>(&state, &who, Store::open_for_verify, |s, id, sink| {
        let report = jobs::verify(s, id, sink)?;
        serde_json::to_value(report).map_err(|e| ServiceError::bad_request(e.to_string()))
    })
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
    stream_job::<ops::Ingest>(&state, &who, Store::open, move |s, id, sink| {
        jobs::ingest(s, id, &req, &sources, sink)
    })
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
        vigil_service::reports::report(s, id, &kind, &q, &zone)
    })
    .await?;
    Ok(([("content-type", r.content_type())], r.text).into_response())
}

/// An error as every endpoint sends it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable: `refused`, `not_found`, `bad_request`, `store`.
    pub code: String,
    /// What and why.
    pub message: String,
}

/// The OpenAPI document's description and error shape; its paths come
/// from the declarations ([`crate::declared::openapi`]).
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    info(
        title = "Vigil API",
        description = "vigild's HTTP/JSON API: a Unix socket for local users (identity from SO_PEERCRED), TLS with session tokens for desks. See docs/api.md."
    ),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

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
