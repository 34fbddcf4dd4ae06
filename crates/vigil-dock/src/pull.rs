//! Emptying docked recorders into the store, with the safety rules of R2:
//! for each recorder, its clock is read and set (drift recorded, R5), its
//! health recorded (R4), then each file is streamed into the store's
//! single-pass ingest, analysed and committed; only when the stored object
//! re-reads to the same hash the dock computes for its own copy is the
//! recorder told to erase the file, and the erase names that size and hash.
//!
//! Every request names the docking it is about (protocol version 2): a
//! recorder taken out or swapped for another mid-pull makes the dock refuse
//! the rest of the old recorder's requests (`StaleDocking`); its job ends
//! with nothing erased, and the recorder now in the slot is pulled as
//! itself. Erasing is two-phase in the audit log: the intent
//! (`recorder.erase_requested`) is committed before `Erase` is sent and the
//! outcome after; an intent left without an outcome by a crash is settled
//! at the recorder's next docking from the dock's erase log.

use serde::Serialize;
use time::OffsetDateTime;
use vigil_ingest::{FileSource, IngestOptions, IngestReport};
use vigil_store::erasures::PendingErase;
use vigil_store::{Docking, Store};

use crate::client::Client;
use crate::reader::DockReader;
use crate::DockError;

/// Hooks for a front end (the daemon's status view, its shutdown and
/// disk-space checks). Every method has a no-op default.
pub trait PullObserver {
    /// A recorder's state changed (`identified`, `clock_synced`, `pulling`,
    /// `verified`, `erased`, `done`).
    fn state(&mut self, _slot: u8, _serial: &str, _state: &str) {}
    /// Bytes of the recorder done so far, of its total.
    fn bytes(&mut self, _slot: u8, _done: u64, _total: u64) {}
    /// Called before each file; an `Err` stops the pull here without
    /// touching the file (shutting down, store disk full).
    fn before_file(&mut self, _size: u64) -> Result<(), vigil_ingest::Stop> {
        Ok(())
    }
}

/// A [`PullObserver`] that does nothing.
#[derive(Debug)]
pub struct Quiet;
impl PullObserver for Quiet {}

/// Times a file that failed to read is tried within one docking.
pub const FILE_ATTEMPTS: u32 = 3;

/// Drift below this is measurement noise and is recorded but not applied.
pub const DRIFT_THRESHOLD_MS: i64 = 500;

/// What to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Only this slot (all occupied slots otherwise).
    pub slot: Option<u8>,
    /// Who is pulling (audit log).
    pub actor: String,
    /// Continuity settings (the clock offset is filled in per recorder).
    pub continuity: vigil_ingest::Continuity,
    /// Erase verified files from the recorder (R2). On by default.
    pub erase: bool,
    /// Dockings to leave alone, as (slot, docking): recorders already
    /// emptied. A different recorder in one of these slots is pulled.
    pub skip: Vec<(u8, u32)>,
}

/// One recorder emptied.
#[derive(Debug, Clone, Serialize)]
pub struct Pulled {
    /// Slot.
    pub slot: u8,
    /// Recorder serial.
    pub serial: String,
    /// Officer it is bound to.
    pub officer: String,
    /// The dock's number for this docking.
    pub docking: u32,
    /// Recorder clock minus host clock before it was set, ms.
    pub drift_ms: i64,
    /// Battery, percent.
    pub battery_pct: u8,
    /// Fault codes.
    pub faults: Vec<u16>,
    /// Files erased from the recorder after verification.
    pub erased: Vec<String>,
    /// Erases of an earlier pull whose outcome was never recorded (the host
    /// died after sending `Erase`), settled now from the dock's erase log.
    pub reconciled: Vec<String>,
    /// Files stored but not erased, and why.
    pub kept: Vec<Kept>,
    /// Times the link was re-established mid-transfer.
    pub reconnects: u32,
    /// Attempts that failed and were tried again (at most
    /// [`FILE_ATTEMPTS`] per file).
    pub retried: Vec<Retried>,
    /// Why the pull stopped before the last file, if it did.
    pub stopped: Option<String>,
    /// The ingest of this recorder.
    #[serde(flatten)]
    pub report: IngestReport,
}

/// A file left on the recorder.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    /// Its path.
    pub path: String,
    /// Why it was not erased.
    pub reason: String,
}

/// A failed attempt at a file, tried again.
#[derive(Debug, Clone, Serialize)]
pub struct Retried {
    /// Its path.
    pub path: String,
    /// Which attempt failed (from 1).
    pub attempt: u32,
    /// Why.
    pub reason: String,
}

/// Empties the recorders docked at `client` into `store`.
pub fn pull(
    store: &mut Store,
    client: &mut Client,
    key: &[u8; 32],
    opts: &PullOptions,
) -> Result<Vec<Pulled>, DockError> {
    pull_with(store, client, key, opts, &mut Quiet)
}

/// [`pull`] with hooks.
pub fn pull_with(
    store: &mut Store,
    client: &mut Client,
    key: &[u8; 32],
    opts: &PullOptions,
    observer: &mut dyn PullObserver,
) -> Result<Vec<Pulled>, DockError> {
    let mut seen: Vec<(u8, u32)> = opts.skip.clone();
    let mut out = Vec::new();
    // A recorder swapped in mid-pull is a new docking: after each round the
    // dock is asked again, and new dockings are pulled as themselves. A
    // dock that keeps swapping gets a bounded number of rounds.
    for round in 0..4 * vigil_dock_proto::MAX_SLOTS {
        let slots = client.status()?;
        let mut jobs = Vec::new();
        for s in slots {
            let Some(rec) = s.recorder else { continue };
            let this = (s.slot, rec.docking);
            if opts.slot.is_some_and(|want| want != s.slot) || seen.contains(&this) {
                continue;
            }
            seen.push(this);
            match start_slot(store, client, opts, s.slot, &rec, observer) {
                Ok(job) => jobs.push(job),
                // Gone (or swapped) between Status and its first request.
                Err(e) if e.is_stale() => continue,
                Err(e) => return Err(e),
            }
        }
        if jobs.is_empty() {
            if round == 0 {
                if let Some(want) = opts.slot {
                    return Err(DockError::Refused {
                        path: client.path().to_owned(),
                        code: vigil_dock_proto::ErrorCode::EmptySlot,
                        detail: format!("slot {want} holds no recorder"),
                    });
                }
            }
            break;
        }
        let (pulled, stopped) = round_robin(store, client, key, opts, jobs, observer)?;
        let swapped = pulled.iter().any(|p| p.swapped);
        out.extend(pulled.into_iter().map(|p| p.pulled));
        if stopped || !swapped {
            break;
        }
    }
    out.sort_by_key(|p| (p.slot, p.docking));
    Ok(out)
}

/// A recorder's pull and whether it ended because the recorder left.
struct Finished {
    pulled: Pulled,
    swapped: bool,
}

/// Empties the recorders of `jobs`; returns them and whether the pull was
/// stopped (shutdown, store full).
fn round_robin(
    store: &mut Store,
    client: &mut Client,
    key: &[u8; 32],
    opts: &PullOptions,
    mut jobs: Vec<SlotJob>,
    observer: &mut dyn PullObserver,
) -> Result<(Vec<Finished>, bool), DockError> {
    // Round robin, one file per recorder per turn: every docked recorder
    // makes progress and none waits for all the others to finish (a 16-slot
    // dock at shift change shares one link). A recorder is finished (its
    // run closed, its state `done`) as soon as its last file is through.
    let mut out = Vec::new();
    let mut stopped = None;
    while !jobs.is_empty() {
        let mut next = Vec::with_capacity(jobs.len());
        for mut job in jobs {
            if stopped.is_none() && !job.files.is_empty() {
                let size = job.files[0].size;
                if let Err(e) = store.objects().check_fits(size) {
                    // Never fits: this file fails alone, nothing waits on it.
                    let f = job.files.pop_front().expect("not empty");
                    tracing::error!(serial = %job.pulled.serial, path = %f.name, error = %e, "file not stored");
                    job.pulled.report.failed.push(vigil_ingest::Failed {
                        path: f.name.to_string(),
                        error: e.to_string(),
                    });
                    job.total = job.total.saturating_sub(size);
                } else {
                    match observer.before_file(size) {
                        Ok(()) => step(store, client, key, opts, &mut job, observer)?,
                        Err(why) => stopped = Some(why),
                    }
                }
            }
            if job.files.is_empty() || stopped.is_some() {
                if !job.files.is_empty() {
                    job.pulled.stopped = stopped.as_ref().map(ToString::to_string);
                }
                let swapped = job.swapped;
                out.push(Finished {
                    pulled: finish(store, job, observer)?,
                    swapped,
                });
            } else {
                next.push(job);
            }
        }
        jobs = next;
    }
    Ok((out, stopped.is_some()))
}

fn hex32(h: &[u8; 32]) -> String {
    vigil_store::objects::hex(h)
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// One recorder being emptied.
struct SlotJob {
    iopts: IngestOptions,
    docking: u32,
    /// The recorder left its slot (taken out or swapped) mid-pull.
    swapped: bool,
    run: String,
    files: std::collections::VecDeque<vigil_dock_proto::FileEntry>,
    total: u64,
    done: u64,
    pulled: Pulled,
}

/// Identifies a recorder, syncs its clock (drift recorded, R5), records its
/// health (R4), opens its ingest run and lists its files.
fn start_slot(
    store: &mut Store,
    client: &mut Client,
    opts: &PullOptions,
    slot: u8,
    rec: &vigil_dock_proto::RecorderStatus,
    observer: &mut dyn PullObserver,
) -> Result<SlotJob, DockError> {
    let serial = rec.serial.to_string();
    let officer = rec.officer.to_string();
    let docking = rec.docking;
    observer.state(slot, &serial, "identified");
    let (before, _after, host) = client.set_time(slot, docking)?;
    observer.state(slot, &serial, "clock_synced");
    let drift_ms = before.saturating_sub(host);
    let faults: Vec<u16> = rec.faults.iter().copied().collect();
    store.recordings_mut().record_docking(
        &opts.actor,
        &Docking {
            dock: client.dock.serial.to_string(),
            slot,
            device: serial.clone(),
            officer: Some(officer.clone()).filter(|o| !o.is_empty()),
            drift_ms: Some(drift_ms),
            battery_pct: rec.battery_pct,
            storage_free: rec.storage_free,
            faults: faults.clone(),
            docking: Some(docking),
        },
    )?;
    let (reconciled, unsettled) =
        reconcile_erases(store, client, &opts.actor, slot, docking, &serial)?;
    if !faults.is_empty() {
        tracing::warn!(%serial, ?faults, battery = rec.battery_pct, "recorder reports faults (R4)");
    }
    let mut continuity = opts.continuity.clone();
    // Below half a second the measurement itself (half a round trip) is
    // the error: clip times are corrected only for real drift.
    continuity.clock_offset_s = if drift_ms.abs() >= DRIFT_THRESHOLD_MS {
        drift_ms as f64 / 1000.0
    } else {
        0.0
    };
    if continuity.clock_offset_s.abs() > vigil_ingest::MAX_TRUSTED_DRIFT_S {
        // Not a drift but a broken or hostile clock: refuse to correct by
        // it; the recorder is still emptied, its times marked untrusted.
        continuity.clock_trusted = false;
        tracing::warn!(%serial, drift_ms, "recorder clock implausibly far off: its times are kept but marked untrusted");
        store.log_mut().record_event(
            &opts.actor,
            "device.clock_untrusted",
            &serial,
            &serde_json::json!({
                "drift_ms": drift_ms, "recorder_clock_ms": before, "host_ms": host,
                "limit_s": vigil_ingest::MAX_TRUSTED_DRIFT_S,
            }),
        )?;
    }
    let iopts = IngestOptions {
        device: Some(serial.clone()),
        officer: Some(officer.clone()).filter(|o| !o.is_empty()),
        actor: opts.actor.clone(),
        continuity,
        limits: Default::default(),
        root_id: None,
    };
    let source = format!("dock {} slot {slot}", client.dock.serial);
    let run = vigil_ingest::begin_run(store, &source, &iopts)?;
    let files: std::collections::VecDeque<_> = client.list_files(slot, docking)?.into();
    settle_unconfirmed(store, &opts.actor, &serial, unsettled, &files)?;
    let total = files.iter().fold(0u64, |t, f| t.saturating_add(f.size));
    observer.state(slot, &serial, "pulling");
    observer.bytes(slot, 0, total);
    Ok(SlotJob {
        iopts,
        docking,
        swapped: false,
        run: run.clone(),
        files,
        total,
        done: 0,
        pulled: Pulled {
            slot,
            serial,
            officer,
            docking,
            drift_ms,
            battery_pct: rec.battery_pct,
            faults,
            erased: Vec::new(),
            reconciled,
            kept: Vec::new(),
            reconnects: 0,
            retried: Vec::new(),
            stopped: None,
            report: IngestReport {
                run,
                ..Default::default()
            },
        },
    })
}

/// Stores, verifies and (if asked) erases one file of a recorder.
fn step(
    store: &mut Store,
    client: &mut Client,
    key: &[u8; 32],
    opts: &PullOptions,
    job: &mut SlotJob,
    observer: &mut dyn PullObserver,
) -> Result<(), DockError> {
    let Some(f) = job.files.pop_front() else {
        return Ok(());
    };
    let slot = job.pulled.slot;
    let name = f.name.to_string();
    let end = f
        .end_ms
        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok());
    let (done, total) = (job.done, job.total);
    let docking = job.docking;
    let mut attempt = 1;
    let result = loop {
        let mut reader = DockReader::new(client, *key, (slot, docking), f.id, f.size);
        let r = vigil_ingest::ingest_one(
            store,
            &job.run,
            &job.iopts,
            FileSource {
                rel: name.as_bytes().to_vec(),
                reader: &mut reader,
                listed_len: f.size,
                mtime: None,
                recorded_end: end,
            },
            &mut |n| observer.bytes(slot, done.saturating_add(n), total),
        )?;
        job.pulled.reconnects += reader.reconnects;
        job.swapped |= reader.stale;
        match r {
            // A failed read (a flaky card, a garbled answer) is tried again
            // on a resynchronised link, a bounded number of times; each
            // failed attempt is in the audit log with its reason.
            Err(failed) if !job.swapped && attempt < FILE_ATTEMPTS => {
                tracing::warn!(serial = %job.pulled.serial, path = %name, attempt, error = %failed.error, "file failed; trying it again");
                store.log_mut().record_event(
                    &opts.actor,
                    "ingest.file_retried",
                    &job.run,
                    &serde_json::json!({
                        "device": job.pulled.serial, "path": name, "attempt": attempt,
                        "of": FILE_ATTEMPTS, "error": failed.error,
                    }),
                )?;
                job.pulled.retried.push(Retried {
                    path: name.clone(),
                    attempt,
                    reason: failed.error,
                });
                attempt += 1;
                client.reconnect(key)?;
            }
            Err(mut failed) => {
                if attempt > 1 {
                    failed.error =
                        format!("{} (attempt {attempt} of {FILE_ATTEMPTS})", failed.error);
                }
                break Err(failed);
            }
            ok => break ok,
        }
    };
    if job.swapped {
        // The recorder left (or another took its place) mid-file: the
        // partial copy was discarded, nothing is erased, and the rest of the
        // old recorder's files wait for its next docking.
        let why = format!(
            "the recorder {} left slot {slot} (taken out or swapped) during {name}; nothing erased",
            job.pulled.serial
        );
        tracing::warn!(serial = %job.pulled.serial, slot, %name, "recorder left its slot mid-pull");
        job.files.clear();
        job.pulled.stopped = Some(why);
    }
    job.done = job.done.saturating_add(f.size);
    observer.bytes(slot, job.done, total);
    let stored = match result {
        Ok(s) => s,
        Err(failed) => {
            job.pulled.report.failed.push(failed);
            return Ok(());
        }
    };
    // Verify before erasing: our durable copy re-read from disk, and the
    // dock's own hash of its file, must both equal what was indexed.
    let kept = |reason: String| Kept {
        path: name.clone(),
        reason,
    };
    match verify(store, client, key, (slot, docking), f.id, &stored) {
        Ok(hash) if opts.erase => {
            let detail = serde_json::json!({
                "device": job.pulled.serial, "dock": client.dock.serial.as_str(), "slot": slot,
                "docking": docking, "path": name, "blake3": stored.blake3, "bytes": stored.bytes,
            });
            // The intent is durable before the dock hears of it.
            store.log_mut().record_event(
                &opts.actor,
                "recorder.erase_requested",
                &stored.clip,
                &detail,
            )?;
            match client.erase(slot, docking, f.id, stored.bytes, hash) {
                Ok(()) => {
                    vigil_store::failpoint::hit("dock.erased");
                    store.log_mut().record_event(
                        &opts.actor,
                        "recorder.file_erased",
                        &stored.clip,
                        &detail,
                    )?;
                    job.pulled.erased.push(name.clone());
                }
                // No answer: the dock may or may not have erased; the intent
                // stays open and the next docking settles it.
                Err(e) if e.is_link() => job.pulled.kept.push(kept(e.to_string())),
                Err(e) => {
                    let mut refused = detail.clone();
                    refused["error"] = serde_json::json!(e.to_string());
                    store.log_mut().record_event(
                        &opts.actor,
                        "recorder.erase_refused",
                        &stored.clip,
                        &refused,
                    )?;
                    if e.is_stale() {
                        job.swapped = true;
                        job.files.clear();
                        job.pulled.stopped =
                            Some(format!("the recorder left slot {slot}; nothing erased"));
                    }
                    job.pulled.kept.push(kept(e.to_string()));
                }
            }
        }
        Ok(_) => job.pulled.kept.push(kept("erasing not requested".into())),
        Err(reason) => job.pulled.kept.push(kept(reason)),
    }
    job.pulled.report.files.push(stored);
    Ok(())
}

/// Settles erase intents of earlier pulls that have no outcome (the host
/// died after sending `Erase`): the dock's erase log says which went.
/// Returns the paths settled as erased, and the intents still open.
fn reconcile_erases(
    store: &mut Store,
    client: &mut Client,
    actor: &str,
    slot: u8,
    docking: u32,
    serial: &str,
) -> Result<(Vec<String>, Vec<PendingErase>), DockError> {
    let pending = store.recordings().pending_erases(serial)?;
    if pending.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let log = client.erased(slot, docking)?;
    let mut settled = Vec::new();
    let mut open = Vec::new();
    for p in pending {
        let erased = log.iter().any(|e| {
            e.name.as_str() == p.path && e.size == p.bytes && hex32(&e.blake3) == p.blake3
        });
        if erased {
            store.log_mut().record_event(
                actor,
                "recorder.file_erased",
                &p.clip,
                &serde_json::json!({
                    "device": serial, "path": p.path, "blake3": p.blake3, "bytes": p.bytes,
                    "docking": docking, "reconciled": true, "intent": p.seq,
                    "source": "the dock's erase log at the next docking",
                }),
            )?;
            tracing::warn!(%serial, path = %p.path, intent = p.seq, "erase confirmed from the dock's log (the host had died before recording it)");
            settled.push(p.path);
        } else {
            open.push(p);
        }
    }
    Ok((settled, open))
}

/// An intent neither in the dock's erase log nor on the recorder any more
/// cannot be confirmed: say so in the log rather than leave it open. One
/// still on the recorder is pulled and erased again in this pull.
fn settle_unconfirmed(
    store: &mut Store,
    actor: &str,
    serial: &str,
    open: Vec<PendingErase>,
    files: &std::collections::VecDeque<vigil_dock_proto::FileEntry>,
) -> Result<(), DockError> {
    for p in open {
        let present = files
            .iter()
            .any(|f| f.name.as_str() == p.path && f.size == p.bytes);
        if !present {
            store.log_mut().record_event(
                actor,
                "recorder.erase_unconfirmed",
                &p.clip,
                &serde_json::json!({
                    "device": serial, "path": p.path, "blake3": p.blake3, "bytes": p.bytes, "intent": p.seq,
                    "reason": "not on the recorder and not in the dock's erase log",
                }),
            )?;
        }
    }
    Ok(())
}

/// Closes a recorder's ingest run (interruptions between its clips, R7).
fn finish(
    store: &mut Store,
    job: SlotJob,
    observer: &mut dyn PullObserver,
) -> Result<Pulled, DockError> {
    vigil_ingest::close_run(store, &job.run, &job.iopts, &job.pulled.report)?;
    let p = job.pulled;
    let state = match (&p.stopped, p.report.failed.is_empty(), p.kept.is_empty()) {
        (Some(_), _, _) => "parked",
        (None, true, true) => "done",
        (None, true, false) => "verified",
        (None, false, _) => "failed",
    };
    observer.state(p.slot, &p.serial, state);
    Ok(p)
}

fn verify(
    store: &Store,
    client: &mut Client,
    key: &[u8; 32],
    (slot, docking): (u8, u32),
    file: u32,
    stored: &vigil_ingest::StoredFile,
) -> Result<[u8; 32], String> {
    let ours = store
        .objects()
        .rehash(&stored.blake3)
        .map_err(|e| format!("re-reading the stored object failed: {e}"))?;
    if ours.blake3 != stored.blake3 || ours.bytes != stored.bytes {
        return Err("the stored object does not re-read to the indexed hash".into());
    }
    let dock = match client.file_hash(slot, docking, file) {
        Ok(h) => h,
        Err(e) if e.is_link() => {
            client.reconnect(key).map_err(|e| e.to_string())?;
            client
                .file_hash(slot, docking, file)
                .map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    if dock.0 != stored.bytes || hex32(&dock.1) != stored.blake3 {
        return Err(format!(
            "the dock's copy ({} bytes, BLAKE3 {}) differs from what was stored; not erased",
            dock.0,
            hex32(&dock.1)
        ));
    }
    unhex32(&stored.blake3).ok_or_else(|| "indexed hash is not hex".into())
}
