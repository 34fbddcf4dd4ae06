//! The centre's HTTPS listener: the witness (`POST /add-checkpoint`, C2SP
//! `tlog-witness`: plain text in and out, 409 with the held size as
//! `text/x.tlog.size`) and the stations' door (`POST /centre/v1/push`,
//! `POST /centre/v1/state`, each request signed by the station's key).
//! Every refusal names what was refused and why; JSON errors are
//! `{"code", "message"}`, a conflict adds the `state` the centre holds.

use axum::body::Bytes;
use axum::extract::State as Axum;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use vigil_sync::{RequestSignature, ADD_CHECKPOINT, PUSH, STATE};

pub use crate::state::Centre;

use crate::error::CentreError;
use crate::logs;

/// The largest batch taken (a batch of `vigil_sync::BATCH_ENTRIES`
/// entries with the clips they name is a few MiB).
pub const MAX_BATCH_BYTES: usize = 64 << 20;

/// The routes.
pub fn router(centre: Centre) -> Router {
    Router::new()
        .route(ADD_CHECKPOINT, post(add_checkpoint))
        .route(
            PUSH,
            post(push).layer(axum::extract::DefaultBodyLimit::max(MAX_BATCH_BYTES)),
        )
        .route(STATE, post(state))
        .merge(crate::agency::router())
        .merge(crate::requests::router())
        .merge(crate::desk::router())
        .with_state(centre)
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for CentreError {
    fn into_response(self) -> Response {
        let code = self.status();
        if code >= 500 {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(status = code, error = %self, "request refused");
        }
        let mut body = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        if let CentreError::Conflict { state, .. } = &self {
            body["state"] = serde_json::json!(state);
        }
        (status(code), axum::Json(body)).into_response()
    }
}

async fn add_checkpoint(Axum(c): Axum<Centre>, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the request body is not UTF-8\n").into_response();
    };
    match logs::add_checkpoint(&c.pool, &c.witness, text).await {
        Ok(line) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response(),
        Err((_, Some(held))) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{held}\n"),
        )
            .into_response(),
        Err((e, None)) => {
            let code = e.status();
            if code >= 500 {
                tracing::error!(error = %e, "add-checkpoint failed");
            }
            (
                status(code),
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{e}\n"),
            )
                .into_response()
        }
    }
}

fn signature(headers: &HeaderMap) -> Result<RequestSignature, CentreError> {
    RequestSignature::from_headers(|name| headers.get(name).and_then(|v| v.to_str().ok())).map_err(
        |e| {
            CentreError::Refused(format!(
                "{e}: only an enrolled station's signed request is heard"
            ))
        },
    )
}

async fn push(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CentreError> {
    let sig = signature(&headers)?;
    let key = logs::caller(&c.pool, &sig, "POST", PUSH, &body).await?;
    let batch: vigil_sync::Batch = serde_json::from_slice(&body)
        .map_err(|e| CentreError::BadRequest(format!("the batch is not one: {e}")))?;
    let answer = logs::push(&c.pool, &c.witness, &key, &batch).await?;
    tracing::info!(
        station = key.name(),
        applied = answer.state.applied,
        replayed = answer.replayed,
        "batch applied"
    );
    Ok(axum::Json(answer).into_response())
}

async fn state(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CentreError> {
    let sig = signature(&headers)?;
    let key = logs::caller(&c.pool, &sig, "POST", STATE, &body).await?;
    let report: vigil_sync::Report = serde_json::from_slice(&body)
        .map_err(|e| CentreError::BadRequest(format!("the station's report is not one: {e}")))?;
    Ok(axum::Json(logs::state(&c.pool, key.name(), &report).await?).into_response())
}

/// Serves on the configured address until `shutdown`.
pub async fn serve(
    config: &crate::config::Config,
    centre: Centre,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (cert, key) = config.tls();
    vigil_api::tls::ensure_self_signed(&cert, &key, &config.hosts)?;
    let tls = vigil_api::tls::server_config(&cert, &key)?;
    let (listener, addr) = vigil_api::tls::bind(&config.listen, tls).await?;
    tracing::info!(%addr, fingerprint = %vigil_api::tls::fingerprint(&cert)?, "centre listening");
    axum::serve(
        listener,
        router(centre).into_make_service_with_connect_info::<vigil_api::TlsPeer>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}
