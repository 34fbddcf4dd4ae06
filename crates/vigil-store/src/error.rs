//! The store's typed errors. Every variant names the file, object or row it
//! is about, so an operator can act on the message alone.

use std::io;
use std::path::PathBuf;

/// Errors from the object store, the index and the audit log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation on a path failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (e.g. "create", "fsync").
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Reading the source of an object failed partway.
    #[error("reading the source failed after {offset} bytes: {source}")]
    Source {
        /// Bytes read successfully before the failure.
        offset: u64,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// An SQLite operation on the index failed.
    #[error("index {}: {source}", path.display())]
    Sql {
        /// The index file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The index was written by a newer Vigil.
    #[error("index {} has schema version {found}, newer than this build understands ({supported}); upgrade Vigil", path.display())]
    SchemaTooNew {
        /// The index file.
        path: PathBuf,
        /// Version found in the file.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// An object file exists under a hash but does not hold that content.
    #[error("object {hash} at {} is {found} bytes but {expected} bytes were expected; the store is damaged (run `vigil verify`)", path.display())]
    ObjectMismatch {
        /// The object's BLAKE3 hash.
        hash: String,
        /// Its file.
        path: PathBuf,
        /// Size on disk.
        found: u64,
        /// Size expected.
        expected: u64,
    },
    /// The directory is not a store and not empty: it is never adopted.
    #[error("{} is not a Vigil store (no {marker} marker) and is not empty (it holds {found}); refusing to use it: name an empty or new directory, or the store itself", root.display(), marker = crate::MARKER_FILE)]
    NotAStore {
        /// The directory.
        root: PathBuf,
        /// A few of its entries.
        found: String,
    },
    /// The store marker is unreadable or of a newer format.
    #[error("store {}: {problem}", root.display())]
    BadMarker {
        /// The store.
        root: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The index is missing or empty but the store holds evidence: an index
    /// is never created over existing evidence.
    #[error("store {}: the index {INDEX} is {state}, but the store holds evidence ({evidence}); Vigil never creates a new index over existing evidence: restore {INDEX} (with its -wal file) from backup, then run `vigil verify`", root.display(), INDEX = crate::INDEX_FILE)]
    IndexMissing {
        /// The store.
        root: PathBuf,
        /// `missing` or `empty (0 bytes)`.
        state: &'static str,
        /// What evidence was found.
        evidence: String,
    },
    /// The index's audit log is behind (or differs from) what the anchor
    /// `audit.head` recorded: rows were lost or the index was replaced.
    #[error("store {}: {detail}; the index was replaced, rolled back or lost rows (a truncated WAL?): restore it from backup; `vigil verify` lists what differs", root.display())]
    IndexBehind {
        /// The store.
        root: PathBuf,
        /// What differs.
        detail: String,
    },
    /// A change was asked of a store opened read-only.
    #[error("store {} is read-only (a read-only mount or another user's copy): cannot {action}", root.display())]
    ReadOnly {
        /// The store.
        root: PathBuf,
        /// What was attempted.
        action: &'static str,
    },
    /// A file larger than the store's whole file system: it can never be
    /// stored, however much space is freed.
    #[error("{size} bytes can never fit in the store: its file system at {} holds {capacity} bytes in all", path.display())]
    TooLarge {
        /// The file's (listed) size.
        size: u64,
        /// The file system's total size.
        capacity: u64,
        /// The object directory.
        path: PathBuf,
    },
    /// What a change names does not exist (a request, hold or entry).
    #[error("{0}")]
    NotFound(String),
    /// The change is not allowed (who, or in what state), with the reason.
    #[error("refused: {0}")]
    Refused(String),
    /// A value in the index could not be understood.
    #[error("index row {table}/{key}: {problem}")]
    BadRow {
        /// Table name.
        table: &'static str,
        /// The row's key.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Result alias for the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) trait IoContext<T> {
    fn io(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn io(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| StoreError::Io {
            action,
            path: path.into(),
            source,
        })
    }
}
