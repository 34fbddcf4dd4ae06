//! The service's typed errors: each has a stable `code` (the API sends it in
//! its JSON error body) and a message naming what and why.

use vigil_store::StoreError;

/// What kind of failure, with its stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not allowed for this user, or by a rule of custody (`refused`).
    Refused,
    /// No such thing (`not_found`).
    NotFound,
    /// The request itself is wrong (`bad_request`).
    BadRequest,
    /// The store failed or cannot be used (`store`).
    Store,
    /// Too much is asked at once; try again shortly (`busy`).
    Busy,
}

impl Kind {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::NotFound => "not_found",
            Self::BadRequest => "bad_request",
            Self::Store => "store",
            Self::Busy => "busy",
        }
    }

    /// The kind for a code (what a client reads back).
    pub fn from_code(code: &str) -> Self {
        match code {
            "refused" => Self::Refused,
            "not_found" => Self::NotFound,
            "bad_request" => Self::BadRequest,
            "busy" => Self::Busy,
            _ => Self::Store,
        }
    }
}

/// A failed service call.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", if *kind == Kind::Refused { "refused: " } else { "" })]
pub struct ServiceError {
    /// What kind.
    pub kind: Kind,
    /// What and why.
    pub message: String,
}

impl ServiceError {
    /// A refusal.
    pub fn refused(message: String) -> Self {
        Self {
            kind: Kind::Refused,
            message,
        }
    }

    /// Something named does not exist.
    pub fn not_found(message: String) -> Self {
        Self {
            kind: Kind::NotFound,
            message,
        }
    }

    /// Too much at once: the caller should try again shortly.
    pub fn busy(message: String) -> Self {
        Self {
            kind: Kind::Busy,
            message,
        }
    }

    /// The store (or what the service reads beside it) failed.
    pub fn store(message: String) -> Self {
        Self {
            kind: Kind::Store,
            message,
        }
    }

    /// Maps a store error to this, its message prefixed with what was
    /// being done (`store.x().map_err(ServiceError::doing("releasing hold 3"))`).
    pub fn doing(what: impl std::fmt::Display) -> impl FnOnce(StoreError) -> Self {
        move |e| {
            let mut e = Self::from(e);
            e.message = format!("{what}: {}", e.message);
            e
        }
    }

    /// A malformed request.
    pub fn bad_request(message: String) -> Self {
        Self {
            kind: Kind::BadRequest,
            message,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(m) => Self::refused(m),
            StoreError::NotFound(m) => Self::not_found(m),
            e => Self {
                kind: Kind::Store,
                message: e.to_string(),
            },
        }
    }
}
