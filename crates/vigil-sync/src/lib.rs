//! The wire between a station and its centre.
//!
//! A station sends its audit log in order, in batches ([`Batch`]). Each
//! batch ends at a checkpoint the station signed, carries a consistency
//! proof from the checkpoint the centre last cosigned, and the rows
//! (clips, interruptions) its entries name as the station holds them. The
//! centre checks the batch before applying any of it ([`Batch::check`]):
//! the entries follow on from what it holds, their Merkle leaves extend
//! its compact tree to exactly the checkpoint's root, and the checkpoint
//! is signed by the station's key. Each request is signed by the station
//! ([`RequestSignature`]), so only an enrolled station is heard.
//!
//! The witness half speaks C2SP `tlog-witness` (`vigil_tlog::witness`) at
//! [`ADD_CHECKPOINT`]; a push runs the same checks and answers the same
//! `cosignature/v1` line.

pub mod request;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use vigil_tlog::note::{Checkpoint, Verifier};
use vigil_tlog::witness::{AddCheckpoint, WitnessError};
use vigil_tlog::{Compact, Hash};

pub use request::{RequestError, RequestSignature};

/// C2SP tlog-witness `add-checkpoint`.
pub const ADD_CHECKPOINT: &str = "/add-checkpoint";
/// A station's batch.
pub const PUSH: &str = "/centre/v1/push";
/// The calling station's report of itself ([`Report`]); answers what the
/// centre holds of it ([`State`]).
pub const STATE: &str = "/centre/v1/state";

/// The most entries a station puts in one batch (a batch ends at a
/// checkpoint, so one transaction's entries are never split).
pub const BATCH_ENTRIES: u64 = 5000;

/// One audit-log entry as the station holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the station's log, from 1.
    pub seq: u64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What, e.g. `clip.ingested`.
    pub action: String,
    /// What it was done to.
    pub subject: String,
    /// The detail JSON exactly as stored (its bytes make the leaf).
    pub detail: String,
}

impl Entry {
    /// Its Merkle leaf hash.
    pub fn leaf_hash(&self) -> Hash {
        vigil_tlog::leaf_hash(&vigil_tlog::row_leaf(
            self.seq as i64,
            &self.at,
            &self.actor,
            &self.action,
            &self.subject,
            &self.detail,
        ))
    }
}

/// A batch: entries `from..=checkpoint size` of a station's log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Batch {
    /// The size the station believes the centre's witness holds.
    pub old: u64,
    /// Consistency proof from `old` to the checkpoint (base64 hashes).
    pub proof: Vec<String>,
    /// The station's signed checkpoint the batch ends at.
    pub checkpoint: String,
    /// The entries, in order, following on from what the centre applied.
    pub entries: Vec<Entry>,
    /// The clips these entries name, as the station holds them now (its
    /// `clips --json` objects).
    #[serde(default)]
    pub clips: Vec<serde_json::Value>,
    /// The interruptions these entries name, as the station holds them now.
    #[serde(default)]
    pub gaps: Vec<serde_json::Value>,
    /// The retrieval requests these entries name (R16), as the station
    /// holds them now (its `requests --json` objects).
    #[serde(default)]
    pub requests: Vec<serde_json::Value>,
}

/// What a station tells the centre at each round, for the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Entries in its log now (the outbox is this past what the centre
    /// applied).
    pub log_size: u64,
    /// The centre's actions the station refused, and why (an action it
    /// applied is traced by its own log entry, which names the action).
    #[serde(default)]
    pub refused: Vec<Refused>,
}

/// An action refused by the station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// The action's id at the centre.
    pub id: i64,
    /// Why, as the station says it.
    pub why: String,
}

/// An action taken at the centre on a station's evidence records (a
/// review; a retrieval request approved or turned down), for the station
/// to record in its own log through its own checks: the station's log
/// stays the one history of its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Its id at the centre.
    pub id: i64,
    /// What: `review`, `approve` or `reject`.
    pub kind: String,
    /// What it is done to (an interruption, a request).
    pub subject: String,
    /// Its input, as the station's operation takes it.
    pub body: serde_json::Value,
    /// The centre's user who took it.
    pub actor: String,
    /// Their role at the centre.
    pub role: String,
    /// Their officer number, when the centre knows it: the station's
    /// separation of duties (R16) and own-work rule compare it with its
    /// own accounts'.
    #[serde(default)]
    pub officer: Option<String>,
}

/// The centre's answer to a station's report: what it holds, and the
/// actions waiting for the station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateReply {
    /// What it holds.
    #[serde(flatten)]
    pub state: State,
    /// Actions to record, oldest first.
    #[serde(default)]
    pub actions: Vec<Action>,
}

/// What the centre holds of a station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Entries applied (the last `seq`).
    pub applied: u64,
    /// The size of the checkpoint its witness last cosigned.
    pub witnessed: u64,
}

/// The centre's answer to a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// What it now holds.
    pub state: State,
    /// The witness's cosignature line on the batch's checkpoint.
    pub cosignature: String,
    /// The batch had been applied before (a replay): nothing changed.
    pub replayed: bool,
}

/// Why a batch is refused before anything of it is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The witness's refusal (signature 403, old size 409, proof 422, ...).
    #[error(transparent)]
    Witness(#[from] WitnessError),
    /// The entries do not follow on from what the centre holds.
    #[error("the batch starts at entry {first}, the centre holds {applied}")]
    Gap {
        /// The batch's first entry.
        first: u64,
        /// What the centre holds.
        applied: u64,
    },
    /// The entries do not make the checkpoint's tree.
    #[error("entry {seq}: {why}")]
    Entries {
        /// Where it went wrong.
        seq: u64,
        /// How.
        why: String,
    },
}

impl BatchError {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::Witness(w) => w.status(),
            Self::Gap { .. } => 409,
            Self::Entries { .. } => 422,
        }
    }
}

impl Batch {
    /// The witness request inside the batch.
    pub fn add_checkpoint(&self) -> Result<AddCheckpoint, WitnessError> {
        let proof = self
            .proof
            .iter()
            .enumerate()
            .map(|(i, p)| {
                B64.decode(p)
                    .ok()
                    .and_then(|h| Hash::try_from(h).ok())
                    .ok_or_else(|| {
                        WitnessError::BadRequest(format!(
                            "proof hash {} is not base64 of 32 bytes",
                            i + 1
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AddCheckpoint {
            old: self.old,
            proof,
            checkpoint: self.checkpoint.clone(),
        })
    }

    /// Checks the batch against what the centre holds: the witness's
    /// checks on the checkpoint (`held` = the size and root last
    /// cosigned), then the entries against `tree` (the compact tree of the
    /// entries applied): they follow on, and their leaves make the
    /// checkpoint's root at its size. Returns the checkpoint and the tree
    /// with the entries in it.
    pub fn check(
        &self,
        held: Option<(u64, Hash)>,
        tree: &Compact,
        key: &Verifier,
    ) -> Result<(Checkpoint, Compact), BatchError> {
        let cp = vigil_tlog::witness::check(held, &self.add_checkpoint()?, key)?;
        let first = self.entries.first().map_or(cp.size + 1, |e| e.seq);
        if first != tree.size() + 1 && !self.entries.is_empty() {
            return Err(BatchError::Gap {
                first,
                applied: tree.size(),
            });
        }
        let mut tree = tree.clone();
        for e in &self.entries {
            if e.seq != tree.size() + 1 {
                return Err(BatchError::Entries {
                    seq: e.seq,
                    why: format!("out of order after entry {}", tree.size()),
                });
            }
            tree.push(e.leaf_hash());
        }
        if tree.size() != cp.size {
            return Err(BatchError::Entries {
                seq: tree.size(),
                why: format!(
                    "the entries end at {}, the checkpoint is of size {}",
                    tree.size(),
                    cp.size
                ),
            });
        }
        if tree.root() != cp.root {
            return Err(BatchError::Entries {
                seq: cp.size,
                why: "the entries do not make the checkpoint's root (they differ from what the station signed)".into(),
            });
        }
        Ok((cp, tree))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_tlog::note::Signer;

    fn entries(n: u64) -> Vec<Entry> {
        (1..=n)
            .map(|seq| Entry {
                seq,
                at: "2026-12-07T05:00:00Z".into(),
                actor: "vigild".into(),
                action: "clip.ingested".into(),
                subject: format!("c{seq}"),
                detail: "{}".into(),
            })
            .collect()
    }

    fn batch(s: &Signer, all: &[Entry], old: u64, from: u64, to: u64) -> Batch {
        let leaves: Vec<Hash> = all.iter().map(Entry::leaf_hash).collect();
        let root = vigil_tlog::root(&leaves[..], to);
        Batch {
            old,
            proof: vigil_tlog::consistency_proof(&leaves[..], old, to)
                .unwrap()
                .iter()
                .map(|h| B64.encode(h))
                .collect(),
            checkpoint: Checkpoint {
                origin: s.verifier().name().into(),
                size: to,
                root,
            }
            .sign(s)
            .unwrap(),
            entries: all[from as usize..to as usize].to_vec(),
            clips: vec![],
            gaps: vec![],
            requests: vec![],
        }
    }

    #[test]
    fn batches_apply_in_order_and_a_changed_entry_is_refused() {
        let s = Signer::from_seed("vigil.test/s1", [3; 32]).unwrap();
        let all = entries(9);
        let (cp, tree) = batch(&s, &all, 0, 0, 4)
            .check(None, &Compact::new(), &s.verifier())
            .unwrap();
        assert_eq!((cp.size, tree.size()), (4, 4));
        let held = Some((cp.size, cp.root));
        let (cp2, tree2) = batch(&s, &all, 4, 4, 9)
            .check(held, &tree, &s.verifier())
            .unwrap();
        assert_eq!((cp2.size, tree2.root()), (9, cp2.root));
        // Skipping entries: refused naming where the centre is.
        let e = batch(&s, &all, 4, 5, 9)
            .check(held, &tree, &s.verifier())
            .unwrap_err();
        assert_eq!(
            e,
            BatchError::Gap {
                first: 6,
                applied: 4
            }
        );
        // An entry changed on its way: its leaf no longer makes the root.
        let mut b = batch(&s, &all, 4, 4, 9);
        b.entries[2].detail = "{\"x\":1}".into();
        let e = b.check(held, &tree, &s.verifier()).unwrap_err();
        assert_eq!(e.status(), 422, "{e}");
    }
}
