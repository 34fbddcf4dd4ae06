//! The export endpoint: an approved request's package as a tar stream
//! (`vigil_service::export`), every check made before its first byte.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Router;
use vigil_service::export;
use vigil_service::op::Endpoint;
use vigil_service::ops;

use crate::context::{checked_stream, ApiError, ApiState, BodyTx, Who};
use crate::declared::at;

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

pub(crate) async fn export_package(
    State(state): State<ApiState>,
    who: Who,
    Path(request): Path<String>,
) -> Result<Response, ApiError> {
    // Every check before a byte is sent: a refusal is an ordinary error.
    let zone = state.zone.clone();
    checked_stream(
        &state,
        &who,
        vigil_service::Opening::Normal,
        "application/x-tar",
        move |store, id| ops::Export::prepare(store, id, &request),
        move |mut store, id, plan, tx| {
            let mut out = ChannelWriter {
                tx: tx.clone(),
                buf: Vec::with_capacity(ChannelWriter::CHUNK),
            };
            if let Err(e) = export::write(&mut store, &id, &plan, &zone, &mut out) {
                tracing::warn!(request = plan.request(), error = %e, "export stopped");
                // Breaks the response off: the client never sees a whole package.
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        },
    )
    .await
}

/// The custody routes that are not JSON operations: the export stream.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route(ops::Export::PATH, at::<ops::Export, _, _>(export_package))
}
