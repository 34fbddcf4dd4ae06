//! The station's side of the agency centre (R10, R18, R19): joining it
//! (`vigil centre join`), what the outbox holds, the next batch of the
//! log to send (`vigil_sync::Batch`: entries in log order up to a signed
//! checkpoint, the consistency proof from what the centre's witness holds,
//! the clips and interruptions those entries name), and keeping what the
//! centre answers: its cosignature, checked with the witness key the
//! station joined with before it is kept.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use vigil_store::Store;
use vigil_tlog::cosignature::CosignatureVerifier;

use crate::{Identity, ServiceError, Station};

/// Joining a centre (`POST /api/v1/centre/join`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Join {
    /// The centre's address, `https://host:port`.
    pub url: String,
    /// The SHA-256 fingerprint of its TLS certificate (64 hex digits,
    /// colons allowed).
    pub fingerprint: String,
    /// Its witness key (`NAME+ID+BASE64`, cosignature/v1).
    pub witness: String,
}

/// Checks and records the centre the station sends its log to (audited
/// `centre.joined`).
pub fn join(store: &mut Store, id: &Identity, j: &Join) -> Result<serde_json::Value, ServiceError> {
    join_store(store, &id.user, j)?;
    status(store)
}

/// [`join`] by `actor` (vigild, from `centre_url` in its configuration);
/// nothing is recorded when the station has joined that centre already.
/// Returns whether it joined now.
pub fn join_as(station: &mut Station, actor: &str, j: &Join) -> Result<bool, ServiceError> {
    join_store(&mut station.store, actor, j)
}

fn join_store(store: &mut Store, actor: &str, j: &Join) -> Result<bool, ServiceError> {
    let url = j.url.trim().trim_end_matches('/');
    let host = url.strip_prefix("https://").ok_or_else(|| {
        ServiceError::bad_request(format!(
            "{url:?}: the centre's address starts with https://"
        ))
    })?;
    if host.is_empty() || host.contains(['/', ' ', '?', '#']) || !host.contains(':') {
        return Err(ServiceError::bad_request(format!(
            "{url:?}: the centre's address is https://HOST:PORT"
        )));
    }
    let hex: String = j.fingerprint.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ServiceError::bad_request(format!(
            "{:?} is not a SHA-256 fingerprint (64 hex digits, colons allowed)",
            j.fingerprint
        )));
    }
    let witness = CosignatureVerifier::from_key_string(&j.witness)
        .map_err(|e| ServiceError::bad_request(format!("the witness key: {e}")))?;
    let (fingerprint, witness) = (hex.to_ascii_lowercase(), witness.to_key_string());
    if store
        .log()
        .centre_link()?
        .is_some_and(|l| l.url == url && l.fingerprint == fingerprint && l.witness == witness)
    {
        return Ok(false);
    }
    store
        .log_mut()
        .join_centre(actor, url, &fingerprint, &witness)?;
    Ok(true)
}

/// The link, the outbox and the newest cosigned checkpoint
/// (`GET /api/v1/centre`).
pub fn status(store: &Store) -> Result<serde_json::Value, ServiceError> {
    let log = store.log();
    let size = log.log_size()?;
    let outbox = log.outbox()?;
    Ok(serde_json::json!({
        "link": log.centre_link()?,
        "log_size": size,
        "outbox": outbox,
        "depth": size.saturating_sub(outbox.applied),
        "cosigned": log.cosigned_latest()?,
    }))
}

/// The centre the station has joined.
pub fn link(station: &Station) -> Result<Option<vigil_store::centre::CentreLink>, ServiceError> {
    Ok(station.store.log().centre_link()?)
}

/// Entries in the station's log.
pub fn log_size(station: &Station) -> Result<u64, ServiceError> {
    Ok(station.store.log().log_size()?)
}

/// Notes where the centre stands (`held`: entries applied, size
/// witnessed) or why it could not be reached or refused.
pub fn note(
    station: &mut Station,
    held: Option<(u64, u64)>,
    error: Option<&str>,
) -> Result<(), ServiceError> {
    Ok(station.store.log_mut().note_centre(held, error)?)
}

/// The next batch to send, when the log has entries past what the centre
/// applied.
pub fn next_batch(station: &Station) -> Result<Option<vigil_sync::Batch>, ServiceError> {
    let store = &station.store;
    let log = store.log();
    let outbox = log.outbox()?;
    let Some(end) = log.batch_end(outbox.applied, vigil_sync::BATCH_ENTRIES)? else {
        return Ok(None);
    };
    let entries: Vec<vigil_sync::Entry> = log
        .entries_between(outbox.applied, end.size)?
        .into_iter()
        .map(|e| vigil_sync::Entry {
            seq: e.seq as u64,
            at: e.at,
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            detail: e.detail_text,
        })
        .collect();
    let proof = log
        .consistency_proof(outbox.witnessed.min(end.size), end.size)?
        .iter()
        .map(|h| B64.encode(h))
        .collect();
    let (mut clips, mut gaps, mut requests) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::new();
    for e in &entries {
        if !seen.insert((e.action.split('.').next().unwrap_or(""), e.subject.as_str())) {
            continue;
        }
        if e.action.starts_with("clip.") {
            if let Some(c) = store.recordings().clip(&e.subject)? {
                // As `vigil clips --json` shows it, with its tag, what
                // decides who may see it at the centre (R17) and its
                // retention.
                let mut v =
                    serde_json::to_value(&c).map_err(|e| ServiceError::store(e.to_string()))?;
                v["tag"] = serde_json::to_value(store.custody().tag_of(&c.clip)?)
                    .map_err(|e| ServiceError::store(e.to_string()))?;
                v["confidential"] = store.custody().confidentiality(&c.clip)?.into();
                // Its retention classes and holds (R13), newest hold first.
                let (classes, holds) = store.custody().retention_of(&c.clip)?;
                v["retention"] = serde_json::json!({ "classes": classes, "holds": holds });
                clips.push(v);
            }
        } else if e.action.starts_with("gap.") {
            let found = store.gap_log().gaps(&vigil_store::GapFilter {
                id: Some(e.subject.clone()),
                ..Default::default()
            })?;
            for g in found {
                gaps.push(serde_json::to_value(g).map_err(|e| ServiceError::store(e.to_string()))?);
            }
        } else if e.action.starts_with("request.") {
            if let Some(r) = store.custody().request(&e.subject)? {
                requests
                    .push(serde_json::to_value(r).map_err(|e| ServiceError::store(e.to_string()))?);
            }
        }
    }
    Ok(Some(vigil_sync::Batch {
        old: outbox.witnessed.min(end.size),
        proof,
        checkpoint: end.note,
        entries,
        clips,
        gaps,
        requests,
    }))
}

/// Keeps the centre's answer to `batch`: its cosignature must verify with
/// the witness key the station joined with (else nothing is kept and the
/// refusal names it).
pub fn accept(
    station: &mut Station,
    batch: &vigil_sync::Batch,
    answer: &vigil_sync::Answer,
) -> Result<(), ServiceError> {
    let store = &mut station.store;
    let link = store.log().centre_link()?.ok_or_else(|| {
        ServiceError::refused("the station has not joined a centre (`vigil centre join`)".into())
    })?;
    let witness = CosignatureVerifier::from_key_string(&link.witness)
        .map_err(|e| ServiceError::store(format!("the kept witness key: {e}")))?;
    let cosigned = format!("{}{}", batch.checkpoint, answer.cosignature);
    witness.verify(&cosigned).map_err(|e| {
        ServiceError::refused(format!(
            "the centre's answer is not cosigned by the witness the station joined ({}): {e}",
            witness.name()
        ))
    })?;
    let size = batch
        .entries
        .last()
        .map_or(answer.state.witnessed, |e| e.seq);
    store.log_mut().keep_cosigned(
        size,
        &cosigned,
        (answer.state.applied, answer.state.witnessed),
    )?;
    Ok(())
}
