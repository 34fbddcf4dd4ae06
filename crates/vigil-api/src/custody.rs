//! The custody endpoints: retention, holds, cases, removal,
//! confidentiality, retrieval requests with their approval and export, and
//! spot checks, each the `vigil-service::custody` (or `::export`) function
//! the CLI runs in-process on a store it owns.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use vigil_service::custody::{
    self, CaseEvent, Confidential, Draw, Finding, Hold, NewRequest, Purge, PurgePolicy, Rejection,
    Retain,
};
use vigil_service::export;

use crate::server::{
    checked_stream, with_identity, ApiError, ApiResult, ApiState, BodyTx, ErrorBody, Who,
};

#[utoipa::path(post, path = "/api/v1/retention", tag = "custody", request_body = Retain, responses((status = 200, description = "{clips, class}"), (status = 400, description = "not a class", body = ErrorBody), (status = 403, description = "refused (the code says why)", body = ErrorBody), (status = 404, description = "no such clip", body = ErrorBody)))]
pub(crate) async fn retain(
    State(state): State<ApiState>,
    who: Who,
    Json(r): Json<Retain>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::retain(s, id, &r)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/holds", tag = "custody", request_body = Hold, responses((status = 200, description = "{holds: [id...], clips, reason}"), (status = 400, description = "not a reason", body = ErrorBody), (status = 403, description = "refused (the code says why)", body = ErrorBody), (status = 404, description = "no such clip", body = ErrorBody)))]
pub(crate) async fn hold(
    State(state): State<ApiState>,
    who: Who,
    Json(h): Json<Hold>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::hold(s, id, &h)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/holds/{hold}/release", tag = "custody", params(("hold" = i64, Path, description = "the hold")), responses((status = 200, description = "{hold, released}"), (status = 403, description = "refused (the code says why)", body = ErrorBody)))]
pub(crate) async fn release(
    State(state): State<ApiState>,
    who: Who,
    Path(hold): Path<i64>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::release(s, id, hold)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/cases", tag = "custody", request_body = CaseEvent, responses((status = 200, description = "{case, closed_at, filed_at}"), (status = 400, description = "no time, or not RFC 3339", body = ErrorBody), (status = 403, description = "refused (the code says why)", body = ErrorBody)))]
pub(crate) async fn case(
    State(state): State<ApiState>,
    who: Who,
    Json(e): Json<CaseEvent>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::case_event(s, id, &e)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/purge", tag = "custody", params(PurgePolicy), responses((status = 200, description = "the dry run: {due, queue}"), (status = 403, description = "refused (the code says why)", body = ErrorBody)))]
pub(crate) async fn purge_plan(
    State(state): State<ApiState>,
    who: Who,
    Query(p): Query<PurgePolicy>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::purge_plan(s, id, p)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/purge", tag = "custody", request_body = Purge, responses((status = 200, description = "{proposed}, {approved, window_days}, {purged} or {cancelled}"), (status = 403, description = "refused: not a custodian, or the proposer approving", body = ErrorBody)))]
pub(crate) async fn purge(
    State(state): State<ApiState>,
    who: Who,
    Json(p): Json<Purge>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::purge(s, id, &p)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/confidential", tag = "custody", request_body = Confidential, responses((status = 200, description = "{clips, kind}"), (status = 400, description = "not a kind", body = ErrorBody), (status = 403, description = "refused (the code says why)", body = ErrorBody)))]
pub(crate) async fn confidential(
    State(state): State<ApiState>,
    who: Who,
    Json(c): Json<Confidential>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::confidential(s, id, &c)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/requests", tag = "custody", request_body = NewRequest, responses((status = 200, description = "{request, clips, requester}"), (status = 400, description = "no reason, or nothing named", body = ErrorBody), (status = 404, description = "no such clip or case", body = ErrorBody)))]
pub(crate) async fn request(
    State(state): State<ApiState>,
    who: Who,
    Json(r): Json<NewRequest>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::request(s, id, &r)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/requests/{request}/approval", tag = "custody", params(("request" = String, Path, description = "the request")), responses((status = 200, description = "{request, approved_by}"), (status = 403, description = "refused: not a supervisor, or its requester", body = ErrorBody), (status = 404, description = "no such request", body = ErrorBody)))]
pub(crate) async fn approve(
    State(state): State<ApiState>,
    who: Who,
    Path(r): Path<String>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::approve(s, id, &r)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/requests/{request}/rejection", tag = "custody", params(("request" = String, Path, description = "the request")), request_body = Rejection, responses((status = 200, description = "{request, rejected_by, reason}"), (status = 400, description = "no reason", body = ErrorBody), (status = 403, description = "refused: not a supervisor, its requester, or decided already", body = ErrorBody), (status = 404, description = "no such request", body = ErrorBody)))]
pub(crate) async fn reject(
    State(state): State<ApiState>,
    who: Who,
    Path(r): Path<String>,
    Json(why): Json<Rejection>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::reject(s, id, &r, &why)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/requests", tag = "custody", responses((status = 200, description = "{requests: [...]}, newest first (200 at most)")))]
pub(crate) async fn requests(State(state): State<ApiState>, who: Who) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::requests(s, id)).await?,
    ))
}

/// Sends what the export writes as the response body, 64 KiB at a time.
pub(crate) struct ChannelWriter {
    tx: BodyTx,
    buf: Vec<u8>,
}

impl ChannelWriter {
    const CHUNK: usize = 64 * 1024;

    /// A writer into the response body `tx`.
    pub(crate) fn new(tx: BodyTx) -> Self {
        Self {
            tx,
            buf: Vec::with_capacity(Self::CHUNK),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(Self::CHUNK));
        self.tx.blocking_send(Ok(chunk.into())).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= Self::CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

#[utoipa::path(post, path = "/api/v1/requests/{request}/export", tag = "custody", params(("request" = String, Path, description = "the approved request")), responses((status = 200, description = "application/x-tar: clips/..., MANIFEST.b3, MANIFEST.sha256, metadata.json; a stream that breaks off is not a package", content_type = "application/x-tar"), (status = 403, description = "refused: not approved, or a clip this user may not handle (R16, R17)", body = ErrorBody), (status = 404, description = "no such request", body = ErrorBody)))]
pub(crate) async fn export_package(
    State(state): State<ApiState>,
    who: Who,
    Path(request): Path<String>,
) -> Result<Response, ApiError> {
    // Every check before a byte is sent: a refusal is an ordinary error.
    checked_stream(
        &state,
        &who,
        vigil_store::Store::open,
        "application/x-tar",
        move |store, id| export::prepare(store, id, &request),
        |mut store, id, plan, tx| {
            let mut out = ChannelWriter {
                tx: tx.clone(),
                buf: Vec::with_capacity(ChannelWriter::CHUNK),
            };
            if let Err(e) = export::write(&mut store, &id, &plan, &mut out) {
                tracing::warn!(request = plan.request(), error = %e, "export stopped");
                // Breaks the response off: the client never sees a whole package.
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/spotchecks", tag = "custody", request_body = Draw, responses((status = 200, description = "{drawn: [...]}"), (status = 400, description = "bad count, seed or time", body = ErrorBody), (status = 403, description = "refused (the code says why)", body = ErrorBody)))]
pub(crate) async fn draw(
    State(state): State<ApiState>,
    who: Who,
    Json(d): Json<Draw>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::draw(s, id, &d)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/spotchecks", tag = "custody", responses((status = 200, description = "{spotchecks: [...]}"), (status = 403, description = "refused (the code says why)", body = ErrorBody)))]
pub(crate) async fn spotchecks(State(state): State<ApiState>, who: Who) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, |s, id| custody::spotchecks(s, id)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/spotchecks/{entry}/findings", tag = "custody", params(("entry" = i64, Path, description = "the ledger entry")), request_body = Finding, responses((status = 200, description = "{entry, reviewer}"), (status = 400, description = "an empty finding", body = ErrorBody), (status = 403, description = "refused (the code says why)", body = ErrorBody)))]
pub(crate) async fn finding(
    State(state): State<ApiState>,
    who: Who,
    Path(entry): Path<i64>,
    Json(f): Json<Finding>,
) -> ApiResult {
    Ok(Json(
        with_identity(&state, &who, move |s, id| custody::review(s, id, entry, &f)).await?,
    ))
}

/// The custody routes.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/retention", post(retain))
        .route("/api/v1/holds", post(hold))
        .route("/api/v1/holds/{hold}/release", post(release))
        .route("/api/v1/cases", post(case))
        .route("/api/v1/purge", get(purge_plan).post(purge))
        .route("/api/v1/confidential", post(confidential))
        .route("/api/v1/requests", get(requests).post(request))
        .route("/api/v1/requests/{request}/rejection", post(reject))
        .route("/api/v1/requests/{request}/approval", post(approve))
        .route("/api/v1/requests/{request}/export", post(export_package))
        .route("/api/v1/spotchecks", get(spotchecks).post(draw))
        .route("/api/v1/spotchecks/{entry}/findings", post(finding))
}
