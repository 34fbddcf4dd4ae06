//! The service's vocabulary, as its callers name it: the rows its
//! operations answer with (clips, interruptions, a verify report), the
//! filters they take, times as the index writes them (RFC 3339 UTC), and
//! the digests and log leaves a court package is checked with offline.
//! They are the store's own types, so a row reads the same at every door;
//! the store itself is reached only through [`crate::Station`] and the
//! operations.

pub use vigil_store::audit::leaf_bytes;
pub use vigil_store::gaps::ReviewEntry;
pub use vigil_store::objects::{hash_reader, hex};
pub use vigil_store::people::Officer;
pub use vigil_store::requests::Request;
pub use vigil_store::retention::HoldRow;
pub use vigil_store::tags::Tag;
pub use vigil_store::tlog::set_origin;
pub use vigil_store::Explanation;
pub use vigil_store::{
    now_rfc3339, rfc3339, Clip, ClipFilter, ClipKind, ClipState, Gap, GapFilter, GapKind,
    VerifyReport,
};

/// A recording's custody as its page shows it: its tag, its retention
/// classes and its holds (newest first).
#[derive(Debug, Clone, Default)]
pub struct Custody {
    /// Site, case, category, note.
    pub tag: Tag,
    /// Its retention classes.
    pub classes: Vec<String>,
    /// Its holds.
    pub holds: Vec<HoldRow>,
}
