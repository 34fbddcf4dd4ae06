//! The store as the service's callers hold it: the API opens one for each
//! request, the CLI one in-process. A [`Station`] can be opened and asked
//! where it is and whether it is read-only; everything else a caller does
//! with it goes through an operation of this crate, where role checks,
//! confidentiality (R17) and read audit (R20) happen once. The store's own
//! functions are not reachable through it.

use std::path::Path;

use vigil_store::Store;

/// An open store, for the service's callers.
#[derive(Debug)]
pub struct Station {
    pub(crate) store: Store,
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// For every operation: an index behind its anchor is refused.
    Normal,
    /// For `verify`: an index behind its anchor is opened read-only so that
    /// verify can say what differs.
    ForVerify,
}

/// Who serves a store (a running vigild): its pid and socket.
pub use vigil_store::served::Served;

impl Station {
    /// Opens the store at `root` (its error, with its cause, as the store
    /// gives it: [`ServiceError`] converts from it).
    pub fn open(root: &Path, how: Opening) -> Result<Self, vigil_store::StoreError> {
        let store = match how {
            Opening::Normal => Store::open(root),
            Opening::ForVerify => Store::open_for_verify(root),
        }?;
        Ok(Self { store })
    }

    /// Its directory.
    pub fn root(&self) -> &Path {
        self.store.root()
    }

    /// It can only be read (a copy on read-only media, or an index behind
    /// its anchor opened for verify): reads are not recorded.
    pub fn read_only(&self) -> bool {
        self.store.read_only()
    }

    /// There is a store at `root` (its marker or its index).
    pub fn exists_at(root: &Path) -> bool {
        [vigil_store::MARKER_FILE, vigil_store::INDEX_FILE]
            .iter()
            .any(|f| root.join(f).exists())
    }

    /// The vigild that serves the store at `root`, if one runs.
    pub fn served_by(root: &Path) -> Option<Served> {
        vigil_store::served::served_by(root)
    }
}
