//! What every request starts from: the state the API serves from, who is
//! calling (the kernel's word for a Unix-socket peer, a session token over
//! TLS), opening the store as them, the error shape, and streamed
//! responses.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::connect_info::{self, ConnectInfo};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::serve::IncomingStream;
use axum::Json;
use tokio::net::UnixListener;
use vigil_service::identity::{resolve, Caller, Identity};
use vigil_service::jobs::Sink;
use vigil_service::op::{self, Endpoint};
use vigil_service::{Kind, Opening, ServiceError, Station};

use crate::AS_HEADER;

/// What the API serves from.
#[derive(Clone)]
pub struct ApiState {
    /// The store directory.
    pub store: PathBuf,
    /// The store's open stations, lent one to each request.
    pub stations: Arc<vigil_service::Stations>,
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
    pub(crate) uid: Option<u32>,
    /// Its groups.
    pub(crate) gids: Vec<u32>,
    /// Root's `X-Vigil-As`.
    as_user: Option<String>,
    /// A desk's bearer token.
    pub(crate) bearer: Option<String>,
    /// A desk's address (for the log).
    pub(crate) remote: Option<String>,
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

/// [`open_as`] with the store opened as `open` says ([`Opening::ForVerify`]
/// for verify, which must open an index that is behind its anchor to say
/// what differs).
fn open_with(
    root: &std::path::Path,
    by: By,
    open: Opening,
) -> Result<(Station, Identity), ServiceError> {
    let store = Station::open(root, open)?;
    let id = identify(&store, by)?;
    Ok((store, id))
}

/// Who the caller is, on an open store (blocking).
fn identify(store: &Station, by: By) -> Result<Identity, ServiceError> {
    match by {
        By::Unix(caller) => resolve(store, &caller),
        By::Token(token) => vigil_service::auth::identity_of(store, &token),
    }
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
    f: impl FnOnce(&mut Station, &Identity) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    let by = caller_of(state, who)?;
    let stations = Arc::clone(&state.stations);
    tokio::task::spawn_blocking(move || {
        let mut store = stations.lend()?;
        let id = identify(&store, by)?;
        f(&mut store, &id)
    })
    .await
    .map_err(join_failed)?
    .map_err(ApiError)
}

/// Opens the store for a request that needs no caller yet (a login).
pub(crate) async fn with_store<T: Send + 'static>(
    state: &ApiState,
    f: impl FnOnce(&mut Station) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    let stations = Arc::clone(&state.stations);
    tokio::task::spawn_blocking(move || {
        let mut store = stations.lend()?;
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
    open: Opening,
    content_type: &'static str,
    check: impl FnOnce(&mut Station, &Identity) -> Result<P, ServiceError> + Send + 'static,
    work: impl FnOnce(Station, Identity, P, BodyTx) + Send + 'static,
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
    open: Opening,
    job: impl FnOnce(&mut Station, &Identity, &mut dyn Sink) -> Result<serde_json::Value, ServiceError>
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
