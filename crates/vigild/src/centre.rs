//! Sending the station's log to its agency centre
//! ([`vigil_service::centre`]): every `centre_every_s` seconds, while the
//! station has joined a centre and its log has entries the centre does
//! not hold, the next batch is signed with the station's key and pushed
//! over TLS to the pinned certificate; the centre's cosignature is
//! checked with the joined witness key and kept. The outbox is the log
//! itself past what the centre holds, so when the centre is down or the
//! link is cut the station works on alone and catches up in order the
//! next round the centre answers: a batch that was applied before its
//! answer was lost is answered again as it was (nothing is applied
//! twice), and a 409 tells the station where the centre stands.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use vigil_api::client::{Client, ClientError, Desk};
use vigil_service::Stations;
use vigil_sync::request::{SIGNATURE, STATION, TIME};
use vigil_sync::{Answer, RequestSignature, State, StateReply, PUSH, STATE};
use vigil_tlog::note::Signer;

/// Pushes every `every` while vigild runs.
pub fn start(stations: Arc<Stations>, key: Signer, every: Duration, timeout: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (s, k) = (Arc::clone(&stations), key.clone());
            match tokio::task::spawn_blocking(move || round(&s, &k, timeout)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(sent)) => tracing::info!(sent, "log entries sent to the centre"),
                Ok(Err(e)) => tracing::warn!(
                    error = %format!("{e:#}"),
                    "the centre did not take the log; the outbox keeps it for the next round"
                ),
                Err(e) => tracing::warn!(error = %e, "the centre round failed"),
            }
        }
    });
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn signed(key: &Signer, method: &str, path: &str, body: &[u8]) -> Vec<(String, String)> {
    let s = RequestSignature::sign(key, method, path, now_s(), body);
    vec![
        (STATION.into(), s.station),
        (TIME.into(), s.time.to_string()),
        (SIGNATURE.into(), s.signature),
    ]
}

/// Why the centre could not be reached, as `vigil centre` shows it; a
/// vigild its unit keeps off the network (the packaged unit's
/// `RestrictAddressFamilies`) is told so, with where the remedy is.
fn unreached(e: &ClientError) -> String {
    match e {
        ClientError::ServerUnreachable { source, .. }
            if source.raw_os_error() == Some(libc::EAFNOSUPPORT) =>
        {
            format!("{e}: vigild's unit allows it no network; give it the drop-in of docs/operations.md (\"Enrol a station\") and restart it")
        }
        _ => e.to_string(),
    }
}

/// What the centre's refusal says: its message, and the state it holds
/// when it disagrees with the station (409).
fn refusal(status: u16, body: &[u8]) -> (String, Option<State>) {
    let doc: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let message = doc["message"].as_str().map_or_else(
        || String::from_utf8_lossy(body).trim().to_owned(),
        str::to_owned,
    );
    let state = serde_json::from_value(doc["state"].clone()).ok();
    (format!("HTTP {status}: {message}"), state)
}

/// One round: batches until the outbox is empty, the centre refuses, or
/// it cannot be reached. Returns how many entries it took.
pub fn round(stations: &Arc<Stations>, key: &Signer, timeout: Duration) -> anyhow::Result<u64> {
    let mut station = stations.lend()?;
    let Some(link) = vigil_service::centre::link(&station)? else {
        return Ok(0);
    };
    let server = link
        .url
        .strip_prefix("https://")
        .context("the centre's address is not https://")?
        .to_owned();
    let client = Client::desk(Desk {
        server,
        fingerprint: link.fingerprint.clone(),
        token: None,
    });
    let mut sent = 0;
    let mut conflicts = 0;
    // Each round begins with the station's report of itself (the board's
    // outbox depth), hears where the centre stands, and records the
    // actions taken at the centre on its evidence (reviews) in its own
    // log; those it refuses are reported with why.
    let mut refused = Vec::new();
    let held = loop {
        let report = serde_json::to_vec(&vigil_sync::Report {
            log_size: vigil_service::centre::log_size(&station)?,
            refused: std::mem::take(&mut refused),
        })?;
        let reply: StateReply = match client.raw(
            "POST",
            STATE,
            signed(key, "POST", STATE, &report),
            report,
            timeout,
        ) {
            Ok((200, body)) => serde_json::from_slice(&body).context("the centre's state")?,
            Ok((status, body)) => {
                let (message, _) = refusal(status, &body);
                vigil_service::centre::note(&mut station, None, Some(&message))?;
                anyhow::bail!("{}: {message}", link.url)
            }
            Err(e) => {
                vigil_service::centre::note(&mut station, None, Some(&unreached(&e)))?;
                return Err(e).with_context(|| format!("reaching the centre {}", link.url));
            }
        };
        refused = vigil_service::centre_actions::apply(&mut station, &reply.actions)?;
        if refused.is_empty() {
            break reply.state;
        }
    };
    let Some(mut batch) = vigil_service::centre::next_batch(&station)? else {
        vigil_service::centre::note(&mut station, Some((held.applied, held.witnessed)), None)?;
        return Ok(0);
    };
    // With entries to send, the station's own record of what the centre
    // took decides the next batch: one whose answer was lost is sent
    // again and answered as before (with its cosignature).
    vigil_service::centre::note(&mut station, None, None)?;
    loop {
        let body = serde_json::to_vec(&batch)?;
        let headers = signed(key, "POST", PUSH, &body);
        let n = batch.entries.len() as u64;
        vigil_store::failpoint::hit("centre.push");
        match client.raw("POST", PUSH, headers, body, timeout) {
            Ok((200, body)) => {
                let answer: Answer =
                    serde_json::from_slice(&body).context("the centre's answer")?;
                // The centre applied the batch; the station has not kept
                // its answer yet.
                vigil_store::failpoint::hit("centre.answered");
                vigil_service::centre::accept(&mut station, &batch, &answer)?;
                if !answer.replayed {
                    sent += n;
                }
            }
            Ok((status, body)) => {
                let (message, state) = refusal(status, &body);
                let held = state.map(|s| (s.applied, s.witnessed));
                vigil_service::centre::note(&mut station, held, Some(&message))?;
                conflicts += 1;
                if status != 409 || held.is_none() || conflicts > 1 {
                    anyhow::bail!("{}: {message}", link.url);
                }
            }
            Err(e) => {
                vigil_service::centre::note(&mut station, None, Some(&unreached(&e)))?;
                return Err(e).with_context(|| format!("pushing to the centre {}", link.url));
            }
        }
        match vigil_service::centre::next_batch(&station)? {
            Some(b) => batch = b,
            None => return Ok(sent),
        }
    }
}
