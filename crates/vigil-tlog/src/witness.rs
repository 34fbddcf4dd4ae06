//! The witness's side of C2SP `tlog-witness` `add-checkpoint`, without
//! I/O: the request body, and the checks a witness makes against the
//! checkpoint it last cosigned before it may cosign a new one.
//!
//! ```text
//! old 1040
//! <base64 hash>        consistency proof from 1040 to the new size,
//! <base64 hash>        one hash a line, at most 63
//!
//! <the signed checkpoint>
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::note::{Checkpoint, NoteError, Verifier};
use crate::{verify_consistency, Hash, ProofError};

/// The most proof lines a request may carry.
pub const MAX_PROOF: usize = 63;

/// An `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness holds.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint.
    pub checkpoint: String,
}

/// Why a witness does not cosign, each with the status the protocol gives
/// it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// 400: the body is not a request.
    #[error("not an add-checkpoint request: {0}")]
    BadRequest(String),
    /// 404: the witness knows no log of this origin.
    #[error("the witness knows no log {0:?}")]
    UnknownLog(String),
    /// 403: no signature by the log's key verifies.
    #[error("the checkpoint is not signed by the log's key: {0}")]
    BadSignature(NoteError),
    /// 409: the old size is not the size the witness holds, or the same
    /// size with another root.
    #[error("the witness holds size {held} of this log{}", if *.same_size { " with another root" } else { "" })]
    Conflict {
        /// The size it holds.
        held: u64,
        /// The request was for the held size but its root differs.
        same_size: bool,
    },
    /// 422: the consistency proof does not hold.
    #[error("the consistency proof does not hold: {0}")]
    BadProof(ProofError),
}

impl WitnessError {
    /// The HTTP status the protocol gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::UnknownLog(_) => 404,
            Self::BadSignature(_) => 403,
            Self::Conflict { .. } => 409,
            Self::BadProof(_) => 422,
        }
    }
}

impl AddCheckpoint {
    /// The request body.
    pub fn to_body(&self) -> String {
        let mut out = format!("old {}\n", self.old);
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Reads a request body.
    pub fn parse(body: &str) -> Result<Self, WitnessError> {
        let bad = |why: String| WitnessError::BadRequest(why);
        let (head, checkpoint) = body
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint".into()))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| n == &"0" || (!n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| bad("the first line is not `old SIZE`".into()))?;
        let proof = lines
            .enumerate()
            .map(|(i, l)| {
                B64.decode(l)
                    .ok()
                    .and_then(|h| Hash::try_from(h).ok())
                    .ok_or_else(|| bad(format!("proof line {} is not a base64 hash", i + 1)))
            })
            .collect::<Result<Vec<Hash>, _>>()?;
        if proof.len() > MAX_PROOF {
            return Err(bad(format!(
                "{} proof lines (at most {MAX_PROOF})",
                proof.len()
            )));
        }
        Ok(Self {
            old,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// The origin line of the checkpoint (to find the log's key).
    pub fn origin(&self) -> Result<&str, WitnessError> {
        self.checkpoint
            .split('\n')
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| WitnessError::BadRequest("the checkpoint has no origin line".into()))
    }
}

/// The checks before a cosignature: the checkpoint is signed by the log's
/// key (403), the old size is the one held (409, with the held size) and
/// no larger than the new (400), the proof leads from the held root to
/// the new (422); the same size must have the same root (409). `held` is
/// the size and root the witness last cosigned (none: never).
pub fn check(
    held: Option<(u64, Hash)>,
    req: &AddCheckpoint,
    log_key: &Verifier,
) -> Result<Checkpoint, WitnessError> {
    let cp = Checkpoint::open(&req.checkpoint, log_key).map_err(|e| match e {
        NoteError::Format(_) => WitnessError::BadRequest(e.to_string()),
        e => WitnessError::BadSignature(e),
    })?;
    if req.old > cp.size {
        return Err(WitnessError::BadRequest(format!(
            "old size {} is larger than the checkpoint's {}",
            req.old, cp.size
        )));
    }
    let (held_size, held_root) = held.unwrap_or((0, crate::empty_root()));
    if req.old != held_size {
        return Err(WitnessError::Conflict {
            held: held_size,
            same_size: false,
        });
    }
    if held_size == cp.size && held_root != cp.root {
        return Err(WitnessError::Conflict {
            held: held_size,
            same_size: true,
        });
    }
    verify_consistency(held_size, cp.size, &held_root, &cp.root, &req.proof)
        .map_err(WitnessError::BadProof)?;
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Signer;
    use crate::{consistency_proof, leaf_hash, root};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    fn signed(s: &Signer, size: u64, r: Hash) -> String {
        Checkpoint {
            origin: "vigil.test/s1".into(),
            size,
            root: r,
        }
        .sign(s)
        .unwrap()
    }

    #[test]
    fn the_body_round_trips_and_bad_bodies_are_named() {
        let s = Signer::from_seed("vigil.test/s1", [1; 32]).unwrap();
        let l = leaves(7);
        let req = AddCheckpoint {
            old: 3,
            proof: consistency_proof(&l[..], 3, 7).unwrap(),
            checkpoint: signed(&s, 7, root(&l[..], 7)),
        };
        assert_eq!(AddCheckpoint::parse(&req.to_body()).unwrap(), req);
        for (body, want) in [
            ("old 03\n\nx\n", "old SIZE"),
            ("olds 3\n\nx\n", "old SIZE"),
            ("old 3\n!!\n\nx\n", "proof line 1"),
            ("old 3\n", "no empty line"),
        ] {
            let e = AddCheckpoint::parse(body).unwrap_err();
            assert!(e.to_string().contains(want), "{body:?}: {e}");
            assert_eq!(e.status(), 400);
        }
    }

    #[test]
    fn a_witness_cosigns_only_consistent_growth() {
        let s = Signer::from_seed("vigil.test/s1", [1; 32]).unwrap();
        let l = leaves(10);
        let (r4, r10) = (root(&l[..], 4), root(&l[..], 10));
        let ok = AddCheckpoint {
            old: 4,
            proof: consistency_proof(&l[..], 4, 10).unwrap(),
            checkpoint: signed(&s, 10, r10),
        };
        assert_eq!(check(Some((4, r4)), &ok, &s.verifier()).unwrap().size, 10);
        // The first checkpoint of a log: old 0, no proof.
        let first = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: signed(&s, 4, r4),
        };
        assert!(check(None, &first, &s.verifier()).is_ok());
        // The witness holds another size: 409 with it.
        assert_eq!(
            check(Some((6, root(&l[..], 6))), &ok, &s.verifier()).unwrap_err(),
            WitnessError::Conflict {
                held: 6,
                same_size: false
            }
        );
        // A rewritten history: the same old size, another root.
        let mut other = l.clone();
        other[1] = leaf_hash(b"rewritten");
        let forged = AddCheckpoint {
            old: 4,
            proof: consistency_proof(&other[..], 4, 10).unwrap(),
            checkpoint: signed(&s, 10, root(&other[..], 10)),
        };
        let e = check(Some((4, r4)), &forged, &s.verifier()).unwrap_err();
        assert_eq!(e.status(), 422, "{e}");
        // The same size with another root.
        let same = AddCheckpoint {
            old: 4,
            proof: vec![],
            checkpoint: signed(&s, 4, root(&other[..], 4)),
        };
        assert_eq!(
            check(Some((4, r4)), &same, &s.verifier())
                .unwrap_err()
                .status(),
            409
        );
        // Signed by another key.
        let mallory = Signer::from_seed("vigil.test/s1", [2; 32]).unwrap();
        let e = check(Some((4, r4)), &ok, &mallory.verifier()).unwrap_err();
        assert_eq!(e.status(), 403, "{e}");
    }
}
