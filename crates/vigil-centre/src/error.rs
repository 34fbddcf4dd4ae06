//! The centre's typed errors, each with the HTTP status it answers.

use vigil_sync::BatchError;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum CentreError {
    /// The configuration or a key is unusable.
    #[error("{0}")]
    Config(String),
    /// PostgreSQL failed.
    #[error("the database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No connection could be had.
    #[error("the database: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The request is not one (400).
    #[error("{0}")]
    BadRequest(String),
    /// No such thing at the centre (404).
    #[error("{0}")]
    NotFound(String),
    /// No live session (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is not an enrolled station, or its signature fails
    /// (403).
    #[error("{0}")]
    Refused(String),
    /// The batch or checkpoint is refused (its own status).
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// The request disagrees with what the centre holds (409): the state
    /// it holds rides along.
    #[error("{message}")]
    Conflict {
        /// Why.
        message: String,
        /// What the centre holds of the station.
        state: vigil_sync::State,
    },
    /// The station is not enrolled (404, the witness protocol's unknown
    /// origin).
    #[error("no station {0:?} is enrolled at this centre")]
    Unknown(String),
}

impl CentreError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Config(_) | Self::Db(_) | Self::Pool(_) => 500,
            Self::BadRequest(_) => 400,
            Self::Unauthenticated(_) => 401,
            Self::NotFound(_) => 404,
            Self::Refused(_) => 403,
            Self::Batch(b) => b.status(),
            Self::Conflict { .. } => 409,
            Self::Unknown(_) => 404,
        }
    }

    /// A stable code for the JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) | Self::Db(_) | Self::Pool(_) => "centre_failed",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::NotFound(_) => "not_found",
            Self::Refused(_) => "refused",
            Self::Batch(b) => match b.status() {
                403 => "bad_signature",
                409 => "conflict",
                422 => "bad_proof",
                404 => "unknown_station",
                _ => "bad_request",
            },
            Self::Conflict { .. } => "conflict",
            Self::Unknown(_) => "unknown_station",
        }
    }
}
