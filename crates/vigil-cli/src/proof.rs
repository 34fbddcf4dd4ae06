//! Checking what the station signed, offline: checkpoint files, the
//! station's key, consistency and inclusion proofs. Nothing
//! here touches a store or a daemon: it is what an auditor runs at their
//! own desk (`vigil checkpoint verify --proof`, `vigil verify-export`).

use std::path::Path;

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use vigil_tlog::note::{Checkpoint, Verifier};
use vigil_tlog::Hash;

pub use vigil_tlog::note::notes;

/// Reads and opens every checkpoint in `path` with `key`.
pub fn read_checkpoints(path: &Path, key: &Verifier) -> anyhow::Result<Vec<(Checkpoint, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the checkpoint file {}", path.display()))?;
    let found = notes(&text);
    if found.is_empty() {
        bail!("{} holds no checkpoint", path.display());
    }
    found
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let cp = Checkpoint::open(&n, key).with_context(|| {
                format!(
                    "{} (checkpoint {} in the file): its signature does not verify with the key {}",
                    path.display(),
                    i + 1,
                    key.to_key_string()
                )
            })?;
            Ok((cp, n))
        })
        .collect()
}

/// A verifier key given as the key string itself or as a file holding it.
pub fn key(arg: &str) -> anyhow::Result<Verifier> {
    key_or_file(arg, "--key", "verifier key", Verifier::from_key_string)
}

/// A witness key (cosignature/v1) given as the key string itself or as a
/// file holding it.
pub fn witness(arg: &str) -> anyhow::Result<vigil_tlog::cosignature::CosignatureVerifier> {
    key_or_file(
        arg,
        "--witness",
        "witness key",
        vigil_tlog::cosignature::CosignatureVerifier::from_key_string,
    )
}

fn key_or_file<T, E: std::error::Error + Send + Sync + 'static>(
    arg: &str,
    flag: &str,
    what: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> anyhow::Result<T> {
    if let Ok(v) = parse(arg.trim()) {
        return Ok(v);
    }
    let text = std::fs::read_to_string(arg).with_context(|| {
        format!("{flag} {arg}: neither a {what} (name+hash+key) nor a readable file")
    })?;
    parse(text.trim()).with_context(|| format!("{flag} {arg}: the file does not hold a {what}"))
}

/// Base64 hashes, as proofs carry them.
pub fn hashes(v: &serde_json::Value, what: &str) -> anyhow::Result<Vec<Hash>> {
    let Some(list) = v.as_array() else {
        bail!("{what}: not a list of hashes");
    };
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            h.as_str()
                .and_then(|s| B64.decode(s).ok())
                .and_then(|b| Hash::try_from(b).ok())
                .with_context(|| format!("{what}: entry {} is not a base64 SHA-256 hash", i + 1))
        })
        .collect()
}

/// Why a log does not extend a checkpoint held, and the first size at
/// which they are known to differ.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Divergence {
    /// The first size known to differ (`at_most`: at or before it).
    pub size: u64,
    /// Whether `size` is exact, or only where the difference was seen.
    pub exact: bool,
    /// What and why.
    pub problem: String,
}

/// Whether the log signed as `new` extends the one signed as `old`, by
/// `proof`.
pub fn extends(old: &Checkpoint, new: &Checkpoint, proof: &[Hash]) -> Result<(), Divergence> {
    if old.size > new.size {
        return Err(shorter(old.size, new.size));
    }
    vigil_tlog::verify_consistency(old.size, new.size, &old.root, &new.root, proof).map_err(|e| {
        Divergence {
            size: old.size,
            exact: false,
            problem: format!(
                "the log of {} rows does not contain the {} rows this checkpoint signed ({e})",
                new.size, old.size
            ),
        }
    })
}

/// A log of `have` rows where a checkpoint signed `held`: they diverge at
/// `have + 1` (rows are gone from the end).
pub fn shorter(held: u64, have: u64) -> Divergence {
    Divergence {
        size: have + 1,
        exact: true,
        problem: format!(
            "this checkpoint signs {held} rows, but the log has only {have}: rows {}..{held} are gone (truncated, or restored from an older copy)",
            have + 1
        ),
    }
}
