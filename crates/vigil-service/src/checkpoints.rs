//! The audit log's signed checkpoints and proofs (R10, R20):
//! what an auditor saves (`vigil checkpoint`) and what shows that today's
//! log extends it (`vigil checkpoint verify`, `vigil audit prove`).
//!
//! Checkpoints and proofs are hashes only: any registered user may read
//! them, and reading them changes nothing (they are not audited, so a
//! checkpoint fetched twice is the same checkpoint).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use vigil_store::Store;

use crate::{Identity, ServiceError};

/// The newest signed checkpoint (`GET /api/v1/checkpoint`): `checkpoint`
/// (the signed note, text to save), `origin`, `size`, `root` (base64),
/// `signed_at`, `key` (the station's verifier key), `cosigned` (the newest
/// checkpoint the centre's witness cosigned: `checkpoint` with the
/// cosignature line, `size`, `received_at`; null before any).
pub fn checkpoint(store: &Store, _id: &Identity) -> Result<serde_json::Value, ServiceError> {
    let key = store
        .log()
        .station_key()
        .map_err(ServiceError::doing("reading the station key"))?;
    let Some(kept) = store.log().checkpoint()? else {
        return Err(ServiceError::not_found(
            "the station has signed no checkpoint yet (its audit log is empty)".into(),
        ));
    };
    let mut doc = describe(&kept, &key)?;
    doc["cosigned"] = store.log().cosigned_latest()?.map_or(
        serde_json::Value::Null,
        |c| serde_json::json!({"checkpoint": c.note, "size": c.size, "received_at": c.signed_at}),
    );
    Ok(doc)
}

/// A kept checkpoint as JSON.
pub fn describe(
    kept: &vigil_store::tlog::Kept,
    key: &vigil_tlog::note::Verifier,
) -> Result<serde_json::Value, ServiceError> {
    let cp = vigil_tlog::note::Checkpoint::open(&kept.note, key).map_err(|e| {
        ServiceError::store(format!(
            "the kept checkpoint of size {} does not verify with the station key: {e} (run `vigil verify`)",
            kept.size
        ))
    })?;
    Ok(serde_json::json!({
        "checkpoint": kept.note, "origin": cp.origin, "size": cp.size,
        "root": B64.encode(cp.root), "signed_at": kept.signed_at, "key": key.to_key_string(),
    }))
}

/// Which consistency proof (`GET /api/v1/audit/consistency`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The size of the checkpoint held.
    pub from: u64,
    /// The size to prove it extends to (default: the newest checkpoint's).
    pub to: Option<u64>,
}

/// The consistency proof from `from` rows to `to` (RFC 9162 §2.1.4), as
/// the proof file `vigil audit prove` writes: `from`, `to`, `log_size`,
/// `checkpoint` (the station's signed checkpoint of size `to`, when it
/// kept one), `proof` (base64 hashes). For a log shorter than `from` or
/// `to`, `proof` is null and `problem` says so (the logs diverge at
/// `log_size + 1`).
pub fn consistency(
    store: &Store,
    _id: &Identity,
    q: &ConsistencyQuery,
) -> Result<serde_json::Value, ServiceError> {
    let size = store.log().log_size()?;
    let to = match q.to {
        Some(t) => t,
        None => store.log().checkpoint()?.map_or(size, |k| k.size),
    };
    if q.from > size || to > size {
        // Not an error of the request: the answer is that the log is
        // shorter than a checkpoint the station once signed.
        let n = q.from.max(to);
        return Ok(serde_json::json!({
            "from": q.from, "to": to, "log_size": size, "checkpoint": null, "proof": null,
            "problem": format!(
                "a checkpoint signs a log of {n} rows, but the station's log has only {size}: \
                 rows {}..{n} are gone (the log was truncated, or restored from an older copy)",
                size + 1
            ),
        }));
    }
    if q.from > to {
        return Err(ServiceError::bad_request(format!(
            "a log of {} rows cannot extend to {to}: name the older checkpoint first",
            q.from
        )));
    }
    // The stored tree is not trusted: a proof is served only when the
    // rows still make it (a row deleted or changed behind the service,
    // its tree left as it was, would otherwise still "prove" the old log).
    if let Some(problem) = store.log().log_mismatch()? {
        return Ok(serde_json::json!({
            "from": q.from, "to": to, "log_size": size, "checkpoint": null, "proof": null,
            "tampered": true,
            "problem": format!(
                "the audit log no longer matches its Merkle tree: {problem}; no proof is given from it"
            ),
        }));
    }
    let proof = store.log().consistency_proof(q.from, to)?;
    let checkpoint = store.log().checkpoint_at(to)?.map(|k| k.note);
    Ok(serde_json::json!({
        "from": q.from, "to": to, "log_size": size, "checkpoint": checkpoint,
        "proof": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
    }))
}

/// The inclusion proof of audit row `seq` in the log's first `size` rows
/// (RFC 9162 §2.1.3), base64 hashes from the leaf up.
pub fn inclusion(store: &Store, seq: u64, size: u64) -> Result<Vec<String>, ServiceError> {
    Ok(store
        .log()
        .inclusion_proof(seq, size)?
        .iter()
        .map(|h| B64.encode(h))
        .collect())
}

/// A checkpoint someone kept, to check against today's log
/// (`POST /api/v1/checkpoint/check`, the desk's check).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Kept {
    /// The signed note as saved (`vigil checkpoint`, the desk's copy): one
    /// checkpoint or several one after another.
    pub checkpoint: String,
}

/// Why a kept checkpoint does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// Not a signed checkpoint at all.
    NotACheckpoint,
    /// Signed, but not by this station's key (or for another log).
    OtherKey,
    /// The log is now shorter than the checkpoint: rows are gone.
    LogShorter,
    /// The log's first rows are not those the checkpoint signed.
    Rewritten,
    /// The log's rows no longer make its Merkle tree.
    Tampered,
}

/// Checks each checkpoint in `kept` against today's log: signed by this
/// station's key, and the log's first `size` rows still hash to its root.
/// `{"ok", "key", "log_size", "checkpoints": [{"size", "origin", "holds",
/// "failure", "problem"}]}`. This is the station checking itself: the
/// offline check (`vigil checkpoint verify --proof --key`) is the one that
/// does not rest on the station.
pub fn check(
    store: &Store,
    _id: &Identity,
    kept: &Kept,
) -> Result<serde_json::Value, ServiceError> {
    let key = store
        .log()
        .station_key()
        .map_err(ServiceError::doing("reading the station key"))?;
    let size = store.log().log_size()?;
    // A form's text and a file saved on Windows end lines with CR LF; the
    // signed text ends them with LF.
    let notes = vigil_tlog::note::notes(&kept.checkpoint.replace("\r\n", "\n"));
    let mut out = Vec::new();
    if notes.is_empty() {
        out.push(serde_json::json!({
            "size": null, "origin": null, "holds": false, "failure": Failure::NotACheckpoint,
            "problem": "no signed checkpoint in the text (it starts with the station's name, then the size and root, a blank line and a signature line)",
        }));
    }
    // Whether the rows still make the stored tree: read once, and only for
    // a checkpoint that is this station's (text that is not costs nothing).
    let mut mismatch: Option<Option<String>> = None;
    for note in notes {
        let verdict = match vigil_tlog::note::Checkpoint::open(&note, &key) {
            Err(e) => {
                let failure = if note.lines().count() < 4 {
                    Failure::NotACheckpoint
                } else {
                    Failure::OtherKey
                };
                (
                    None,
                    None,
                    Some((
                        failure,
                        format!("{e} (the station's key is {})", key.to_key_string()),
                    )),
                )
            }
            Ok(cp) => {
                let problem = if cp.size > size {
                    Some((
                        Failure::LogShorter,
                        format!(
                            "the checkpoint signs {} rows but the log has {size}: rows {}..{} are gone",
                            cp.size,
                            size + 1,
                            cp.size
                        ),
                    ))
                } else if let Some(m) = match &mismatch {
                    Some(m) => m.clone(),
                    None => mismatch.insert(store.log().log_mismatch()?).clone(),
                } {
                    Some((
                        Failure::Tampered,
                        format!("the audit log no longer matches its Merkle tree: {m}"),
                    ))
                } else if store.log().log_root(cp.size)? != cp.root {
                    Some((
                        Failure::Rewritten,
                        format!(
                            "the log's first {} rows do not hash to the root the checkpoint signed: they were changed after it",
                            cp.size
                        ),
                    ))
                } else {
                    None
                };
                (Some(cp.size), Some(cp.origin), problem)
            }
        };
        let (cp_size, origin, problem) = verdict;
        out.push(serde_json::json!({
            "size": cp_size, "origin": origin, "holds": problem.is_none(),
            "failure": problem.as_ref().map(|p| p.0),
            "problem": problem.map(|p| p.1),
        }));
    }
    let ok = out.iter().all(|c| c["holds"] == true);
    Ok(serde_json::json!({
        "ok": ok, "key": key.to_key_string(), "log_size": size, "checkpoints": out,
    }))
}
