//! Vigil's evidence store: the one place evidence lives.
//!
//! A store is a directory:
//!
//! ```text
//! <store>/vigil.db          SQLite index (WAL): devices, officers, objects,
//!                           clips, ingest runs, audit log
//! <store>/objects/ab/ab…    content-addressed object files, read-only
//! <store>/tmp/              temp files of writes in progress
//! <store>/vigild.lock       held (flock) by the vigild serving the store
//! ```
//!
//! A [`Store`] is opened, located and verified; the objects are
//! [`Store::objects`]; the index is read and changed through its domains,
//! types of their own over its one write path: [`Recordings`] (clips, runs,
//! dockings), [`GapLog`] (interruptions, explanations, signatures,
//! reviews), [`People`] (users, officers, recorders, sessions), [`Custody`]
//! (tags, retention, holds, cases, removal, requests, spot checks,
//! confidentiality) and [`Log`] (audit rows, the Merkle tree, checkpoints,
//! proofs): `store.gap_log().gaps(&filter)`, `store.gap_log_mut().explain(..)`.
//!
//! Invariants (see docs/ARCHITECTURE.md):
//! - an object file is complete and never changes once it has its name;
//! - a row in `objects`/`clips` exists only after its object is durable;
//! - every state change appends an audit row in the same transaction.

pub mod audit;
pub mod centre;
mod clips;
mod domains;
pub mod erasures;
mod error;
mod explanations;
pub mod failpoint;
pub mod gaps;
mod index;
mod log;
pub mod objects;
mod open;
pub mod oversight;
pub mod people;
mod pipeline;
mod query;
mod reads;
pub mod requests;
pub mod retention;
mod schema;
pub mod served;
mod sessions;
pub mod stats;
pub mod tags;
mod timefmt;
pub mod tlog;
mod verify;

pub use clips::{
    Clip, ClipFilter, ClipGap, ClipKind, ClipState, ClipStatus, NewClip, RecordedClip, RunCounts,
    RunFailure,
};
pub use domains::{Custody, GapLog, Log, People, Recordings};
pub use error::{Result, StoreError};
pub use gaps::{
    Explanation, Gap, GapFilter, GapKind, NewExplanation, NewGap, Signature, Signed, TimelineClip,
};
pub use index::Index;
pub use objects::{Digests, ObjectStore, PendingObject, StoredObject};
pub use reads::ReadLog;
pub use timefmt::{now_rfc3339, rfc3339};
pub use verify::{Problem, VerifyReport};

use std::path::{Path, PathBuf};

/// File name of the index inside a store.
pub const INDEX_FILE: &str = "vigil.db";
/// The marker file that makes a directory a store.
pub const MARKER_FILE: &str = "VIGIL-STORE";
/// The store format this build reads and writes (in the marker).
pub const FORMAT: u32 = 1;

/// A recorder docked: what the dock said about it.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct Docking {
    /// Dock serial.
    pub dock: String,
    /// Slot.
    pub slot: u8,
    /// Recorder serial.
    pub device: String,
    /// Officer it is bound to.
    pub officer: Option<String>,
    /// Recorder clock minus host clock at docking, ms (before it was set).
    pub drift_ms: Option<i64>,
    /// Battery, percent.
    pub battery_pct: u8,
    /// Free storage, bytes.
    pub storage_free: u64,
    /// Fault codes reported.
    pub faults: Vec<u16>,
    /// The dock's number for this docking (protocol version 2), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docking: Option<u32>,
}

/// An open store: object tree plus index.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    objects: ObjectStore,
    index: index::Index,
}

impl Store {
    /// Opens the store at `root`, creating it when `root` is missing or
    /// empty, bringing the index schema up to date and removing temp files
    /// of dead writers. Refused: a directory that is not a store (no
    /// `VIGIL-STORE` marker), an index missing where evidence is, an index
    /// behind its `audit.head` anchor. A store that cannot be written (a
    /// read-only mount, another user's copy) is opened read-only: reads
    /// work, changes fail with [`StoreError::ReadOnly`].
    pub fn open(root: &Path) -> Result<Self> {
        Self::open_checked(root)
    }

    /// [`Self::open`] for `verify`: an index behind its anchor is opened
    /// (read-only) so that `verify` can report what differs.
    pub fn open_for_verify(root: &Path) -> Result<Self> {
        match Self::open_checked(root) {
            Err(StoreError::IndexBehind { .. }) => Ok(Self {
                root: root.to_owned(),
                objects: ObjectStore::existing(root),
                index: index::Index::open_read_only(&root.join(INDEX_FILE))?,
            }),
            other => other,
        }
    }

    fn open_checked(root: &Path) -> Result<Self> {
        let read_only =
            root.exists() && rustix::fs::access(root, rustix::fs::Access::WRITE_OK).is_err();
        open::recognise(root, read_only)?;
        if read_only {
            let index = index::Index::open_read_only(&root.join(INDEX_FILE))?;
            index.check_not_behind(root)?;
            return Ok(Self {
                root: root.to_owned(),
                objects: ObjectStore::existing(root),
                index,
            });
        }
        open::check_index_present(root)?;
        let objects = ObjectStore::open(root)?;
        let mut index = index::Index::open(&root.join(INDEX_FILE))?;
        index.check_not_behind(root)?;
        objects.sweep_temp()?;
        index.signer = Some(tlog::ensure_key(root, None)?);
        index.seal()?;
        Ok(Self {
            root: root.to_owned(),
            objects,
            index,
        })
    }

    /// Sends this store's read rows to `reads` (a server's grouped writer)
    /// instead of writing each itself.
    pub fn group_reads(&mut self, reads: ReadLog) {
        self.index.reads = Some(reads);
    }

    /// Whether this open store can serve another request: `Ok(false)` when
    /// its index file was replaced (open the store again), refused when
    /// the index is behind its anchor, as at opening.
    pub fn still_current(&self) -> Result<bool> {
        self.index.still_current(&self.root)
    }

    /// Whether the store was opened read-only.
    pub fn read_only(&self) -> bool {
        self.index.read_only
    }

    /// The store directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The object tree.
    pub fn objects(&self) -> &ObjectStore {
        &self.objects
    }

    /// Re-reads every object and checks it, every clip and the audit chain.
    /// `progress` gets bytes re-read so far. The check itself is audited.
    pub fn verify(&mut self, actor: &str, progress: &mut dyn FnMut(u64)) -> Result<VerifyReport> {
        self.verify_with(actor, progress, |_, _| Ok(()))
    }

    /// [`Self::verify`] with more checks by the caller (`more`, e.g. the
    /// continuity of every stored recording) before the check is recorded.
    pub fn verify_with<E: From<StoreError>>(
        &mut self,
        actor: &str,
        progress: &mut dyn FnMut(u64),
        more: impl FnOnce(&Self, &mut VerifyReport) -> std::result::Result<(), E>,
    ) -> std::result::Result<VerifyReport, E> {
        let mut report = self.index.verify(&self.objects, progress)?;
        more(self, &mut report)?;
        report.ok = report.problems.is_empty();
        let detail = serde_json::json!({
            "ok": report.ok, "objects": report.objects_checked, "bytes": report.bytes_checked,
            "problems": report.problems.len(),
        });
        self.log_mut()
            .record_read(actor, "store.verified", "store", &detail)?;
        Ok(report)
    }

    /// Deletes approved entries past their recovery window that are still
    /// due; returns the clips removed.
    pub fn run_purge(
        &mut self,
        actor: &str,
        now: time::OffsetDateTime,
        policy: &retention::Policy,
    ) -> Result<Vec<String>> {
        let objects = self.objects.clone();
        self.index
            .custody_mut()
            .run_purge(actor, &objects, now, policy)
    }
}
