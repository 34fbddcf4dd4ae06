//! The index's domains, each a type of its own over the one index and its
//! one write path ([`Index::transact`]): reached as `store.recordings()`
//! for reads and `store.recordings_mut()` for changes (the same for each
//! domain), so that a change needs the store borrowed mutably and a read
//! does not. Every change of every domain goes through `transact`, which
//! appends its audit rows and log leaves, signs a checkpoint, commits and
//! moves the anchor, and refuses on a read-only store.
//!
//! - [`Recordings`]: clips and ingest runs, dockings, erase intents and
//!   per-officer totals (`clips.rs`, `erasures.rs`, `stats.rs`);
//! - [`GapLog`]: interruptions, explanations, signatures and reviews
//!   (`gaps.rs`);
//! - [`People`]: users, officers, recorders and their bindings, desk
//!   passwords and sessions (`people.rs`, `sessions.rs`);
//! - [`Custody`]: tags, retention classes, holds, cases, removal,
//!   retrieval requests, spot checks and confidentiality (`tags.rs`,
//!   `retention.rs`, `requests.rs`, `oversight.rs`);
//! - [`Log`]: the audit rows, the Merkle tree over them, signed
//!   checkpoints and proofs (`log.rs`, over `audit.rs` and `tlog.rs`).

use crate::index::Index;

macro_rules! domain {
    ($(#[$doc:meta])* $name:ident, $get:ident, $get_mut:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name<I> {
            pub(crate) ix: I,
        }

        impl Index {
            pub(crate) fn $get(&self) -> $name<&Index> {
                $name { ix: self }
            }

            pub(crate) fn $get_mut(&mut self) -> $name<&mut Index> {
                $name { ix: self }
            }
        }

        impl crate::Store {
            /// This domain, to read.
            pub fn $get(&self) -> $name<&Index> {
                self.index.$get()
            }

            /// This domain, to change.
            pub fn $get_mut(&mut self) -> $name<&mut Index> {
                self.index.$get_mut()
            }
        }
    };
}

domain!(
    /// Clips and ingest runs, dockings, erase intents, per-officer totals.
    Recordings,
    recordings,
    recordings_mut
);
domain!(
    /// Interruptions, explanations, signatures and reviews (R7–R9).
    GapLog,
    gap_log,
    gap_log_mut
);
domain!(
    /// Users, officers, recorders and bindings (R3, R16); desk passwords
    /// and sessions.
    People,
    people,
    people_mut
);
domain!(
    /// Tags, retention, holds, cases, removal, requests, spot checks and
    /// confidentiality (R6, R12–R14, R16–R18).
    Custody,
    custody,
    custody_mut
);
domain!(
    /// The audit log: its rows, the Merkle tree over them, signed
    /// checkpoints and proofs (R10, R20).
    Log,
    log,
    log_mut
);
