//! Host side of the dock protocol (`docs/dock-protocol.md`).
//!
//! - [`link`]: byte transports: CDC-ACM serial devices and ptys
//!   (`serialport`), and USB bulk endpoints (`rusb`, thin glue);
//! - [`client`]: a protocol client over any transport: handshake,
//!   challenge–response authentication, requests with ids, pipelined reads;
//! - [`reader`]: a file on a docked recorder as an `io::Read` that resumes
//!   at the last verified offset after the link drops;
//! - [`key`]: the station key, kept in the store;
//! - [`pull`]: emptying docked recorders into the store: time sync with
//!   drift recorded (R5), single-pass ingest, verify, and only then erase (R2).

pub mod client;
pub mod key;
pub mod link;
pub mod pull;
pub mod reader;

pub use client::Client;
pub use vigil_dock_proto as proto;

/// Errors talking to a dock.
#[derive(Debug, thiserror::Error)]
pub enum DockError {
    /// The transport failed or the dock stopped answering.
    #[error("dock link {path}: {what}")]
    Link {
        /// Device path.
        path: String,
        /// What happened.
        what: String,
    },
    /// The dock answered with an error.
    #[error("dock {path} refused: {code:?}: {detail}")]
    Refused {
        /// Device path.
        path: String,
        /// The protocol error code.
        code: proto::ErrorCode,
        /// The dock's detail text.
        detail: String,
    },
    /// The dock answered something that makes no sense.
    #[error("dock {path} broke the protocol: {what}")]
    Protocol {
        /// Device path.
        path: String,
        /// What it did.
        what: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] vigil_store::StoreError),
    /// Ingest failed.
    #[error(transparent)]
    Ingest(#[from] vigil_ingest::IngestError),
    /// The station key could not be read or created.
    #[error("station key {path}: {source}")]
    Key {
        /// The key file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl DockError {
    /// Whether reconnecting might help (the link dropped, not a refusal).
    pub fn is_link(&self) -> bool {
        matches!(self, Self::Link { .. })
    }

    /// Whether the dock says the recorder asked about is no longer the one
    /// in its slot (taken out, or swapped for another).
    pub fn is_stale(&self) -> bool {
        matches!(
            self,
            Self::Refused {
                code: proto::ErrorCode::StaleDocking | proto::ErrorCode::EmptySlot,
                ..
            }
        )
    }
}
