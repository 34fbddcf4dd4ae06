//! Emptying docked recorders into the store, with the safety rules of R2:
//! for each recorder, its clock is read and set (drift recorded, R5), its
//! health recorded (R4), then each file is streamed into the store's
//! single-pass ingest, analysed and committed; only when the stored object
//! re-reads to the same hash the dock computes for its own copy is the
//! recorder told to erase the file, and the erase names that size and hash.

use serde::Serialize;
use time::OffsetDateTime;
use vigil_ingest::{FileSource, IngestOptions, IngestReport};
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
    fn before_file(&mut self, _size: u64) -> Result<(), String> {
        Ok(())
    }
}

/// A [`PullObserver`] that does nothing.
#[derive(Debug)]
pub struct Quiet;
impl PullObserver for Quiet {}

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
    /// Slots to leave alone (recorders already emptied).
    pub skip: Vec<u8>,
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
    /// Recorder clock minus host clock before it was set, ms.
    pub drift_ms: i64,
    /// Battery, percent.
    pub battery_pct: u8,
    /// Fault codes.
    pub faults: Vec<u16>,
    /// Files erased from the recorder after verification.
    pub erased: Vec<String>,
    /// Files stored but not erased, and why.
    pub kept: Vec<Kept>,
    /// Times the link was re-established mid-transfer.
    pub reconnects: u32,
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
    let slots = client.status()?;
    let mut jobs = Vec::new();
    for s in slots {
        let Some(rec) = s.recorder else { continue };
        if opts.slot.is_some_and(|want| want != s.slot) || opts.skip.contains(&s.slot) {
            continue;
        }
        jobs.push(start_slot(store, client, opts, s.slot, &rec, observer)?);
    }
    if let Some(want) = opts.slot {
        if jobs.is_empty() {
            return Err(DockError::Refused {
                path: client.path().to_owned(),
                code: vigil_dock_proto::ErrorCode::EmptySlot,
                detail: format!("slot {want} holds no recorder"),
            });
        }
    }
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
                match observer.before_file(job.files[0].size) {
                    Ok(()) => step(store, client, key, opts, &mut job, observer)?,
                    Err(why) => stopped = Some(why),
                }
            }
            if job.files.is_empty() || stopped.is_some() {
                if !job.files.is_empty() {
                    job.pulled.stopped = stopped.clone();
                }
                out.push(finish(store, job, observer)?);
            } else {
                next.push(job);
            }
        }
        jobs = next;
    }
    out.sort_by_key(|p| p.slot);
    Ok(out)
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
    observer.state(slot, &serial, "identified");
    let (before, _after, host) = client.set_time(slot)?;
    observer.state(slot, &serial, "clock_synced");
    let drift_ms = before - host;
    let faults: Vec<u16> = rec.faults.iter().copied().collect();
    store.record_docking(
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
        },
    )?;
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
    let iopts = IngestOptions {
        device: Some(serial.clone()),
        officer: Some(officer.clone()).filter(|o| !o.is_empty()),
        actor: opts.actor.clone(),
        continuity,
    };
    let source = format!("dock {} slot {slot}", client.dock.serial);
    let run = vigil_ingest::begin_run(store, &source, &iopts)?;
    let files: std::collections::VecDeque<_> = client.list_files(slot)?.into();
    let total = files.iter().map(|f| f.size).sum();
    observer.state(slot, &serial, "pulling");
    observer.bytes(slot, 0, total);
    Ok(SlotJob {
        iopts,
        run: run.clone(),
        files,
        total,
        done: 0,
        pulled: Pulled {
            slot,
            serial,
            officer,
            drift_ms,
            battery_pct: rec.battery_pct,
            faults,
            erased: Vec::new(),
            kept: Vec::new(),
            reconnects: 0,
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
    let result = {
        let mut reader = DockReader::new(client, *key, slot, f.id, f.size);
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
            &mut |n| observer.bytes(slot, done + n, total),
        )?;
        job.pulled.reconnects += reader.reconnects;
        r
    };
    job.done += f.size;
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
    match verify(store, client, key, slot, f.id, &stored) {
        Ok(hash) if opts.erase => match client.erase(slot, f.id, stored.bytes, hash) {
            Ok(()) => {
                store.record_event(
                    &opts.actor,
                    "recorder.file_erased",
                    &stored.clip,
                    &serde_json::json!({"device": job.pulled.serial, "path": name, "blake3": stored.blake3, "bytes": stored.bytes}),
                )?;
                job.pulled.erased.push(name.clone());
            }
            Err(e) => job.pulled.kept.push(kept(e.to_string())),
        },
        Ok(_) => job.pulled.kept.push(kept("erasing not requested".into())),
        Err(reason) => job.pulled.kept.push(kept(reason)),
    }
    job.pulled.report.files.push(stored);
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
    slot: u8,
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
    let dock = match client.file_hash(slot, file) {
        Ok(h) => h,
        Err(e) if e.is_link() => {
            client.reconnect(key).map_err(|e| e.to_string())?;
            client.file_hash(slot, file).map_err(|e| e.to_string())?
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
