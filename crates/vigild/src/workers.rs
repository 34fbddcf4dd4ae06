//! The blocking workers: one thread per dock (a dock is one serial link, so
//! its recorders are emptied one after another over it) and one per
//! recorder mount. They share a [`Gate`] bounding how many recorders are
//! served at once, and the stop flag set by SIGTERM.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use vigil_dock::pull::{PullObserver, PullOptions};
use vigil_dock::Client;
use vigil_ingest::{Continuity, IngestOptions, Progress};
use vigil_store::Store;

use crate::config::Config;
use crate::status::Shared;

/// Who the daemon acts as in the audit log.
pub const ACTOR: &str = "vigild";

/// A counting semaphore for blocking threads.
#[derive(Debug)]
pub struct Gate {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Gate {
    /// `n` permits.
    pub fn new(n: usize) -> Self {
        Self {
            free: Mutex::new(n),
            cv: Condvar::new(),
        }
    }

    /// Waits for a permit; `None` if stopping. Waiters are woken in turn,
    /// and a worker takes a permit per recorder, so no recorder starves.
    pub fn acquire<'a>(&'a self, stop: &AtomicBool) -> Option<Permit<'a>> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if stop.load(Ordering::SeqCst) {
                return None;
            }
            if *free > 0 {
                *free -= 1;
                return Some(Permit(self));
            }
            free = self
                .cv
                .wait_timeout(free, Duration::from_millis(200))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// A held permit; released on drop.
#[derive(Debug)]
pub struct Permit<'a>(&'a Gate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.cv.notify_one();
    }
}

/// What every worker needs.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Settings.
    pub config: Arc<Config>,
    /// The status board.
    pub board: Shared,
    /// Set on SIGTERM.
    pub stop: Arc<AtomicBool>,
    /// Bounds recorders served at once.
    pub gate: Arc<Gate>,
}

impl Ctx {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps up to `d`, waking early on stop.
    fn nap(&self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end && !self.stopping() {
            std::thread::sleep(Duration::from_millis(50).min(end - Instant::now()));
        }
    }

    fn continuity(&self) -> Continuity {
        Continuity {
            min_gap_s: self.config.min_gap_s,
            join_window_s: self.config.join_window_s,
            ..Continuity::default()
        }
    }

    /// Blocks while the store has too little free space for `size` more
    /// bytes (R15: stop taking data, say so, erase nothing, resume when
    /// space returns). `Err` when stopping.
    fn wait_for_space(&self, size: u64) -> Result<(), vigil_ingest::Stop> {
        let margin = self.config.min_free_bytes();
        let mut warned = false;
        loop {
            if self.stopping() {
                return Err(vigil_ingest::Stop::ShuttingDown);
            }
            let free = free_bytes(&self.config.store);
            let full = free < size.saturating_add(margin);
            self.board.update(|b| {
                b.store_free_bytes = free;
                b.store_full = full;
            });
            if !full {
                if warned {
                    tracing::info!(free, "store has space again; resuming");
                }
                return Ok(());
            }
            if !warned {
                tracing::error!(
                    store = %self.config.store.display(), free, needed = size.saturating_add(margin),
                    "store disk full: taking no data and erasing nothing until space returns"
                );
                warned = true;
            }
            self.nap(Duration::from_secs(1));
        }
    }
}

/// Free bytes available to the daemon in the store's file system.
pub fn free_bytes(store: &Path) -> u64 {
    rustix::fs::statvfs(store)
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
        .unwrap_or(0)
}

struct Observer<'a> {
    ctx: &'a Ctx,
    dock_path: &'a str,
}

impl Observer<'_> {
    fn source(&self, slot: u8) -> String {
        format!("dock {} slot {slot}", self.dock_path)
    }
}

impl PullObserver for Observer<'_> {
    fn state(&mut self, slot: u8, _serial: &str, state: &str) {
        self.ctx.board.state(&self.source(slot), state);
    }
    fn bytes(&mut self, slot: u8, done: u64, total: u64) {
        self.ctx.board.bytes(&self.source(slot), done, total);
    }
    fn before_file(&mut self, size: u64) -> Result<(), vigil_ingest::Stop> {
        self.ctx.wait_for_space(size)
    }
}

/// Serves one dock until its device disappears or the daemon stops.
pub fn dock_worker(path: String, ctx: Ctx) {
    let src = |slot: u8| format!("dock {path} slot {slot}");
    // Dockings emptied, by slot: not pulled again until the recorder leaves
    // the slot. A different recorder in the slot is a different docking.
    let mut done: HashMap<u8, u32> = HashMap::new();
    let mut gone_since: Option<Instant> = None;
    let present = |p: &str| {
        if p == vigil_dock::client::USB_PATH {
            vigil_dock::link::usb_dock_present()
        } else {
            Path::new(p).exists()
        }
    };
    while !ctx.stopping() {
        if !present(&path) {
            let since = *gone_since.get_or_insert_with(Instant::now);
            ctx.board.update(|b| {
                if let Some(d) = b.docks.get_mut(&path) {
                    d.connected = false;
                }
            });
            if since.elapsed() > Duration::from_secs(3) {
                tracing::warn!(%path, "dock gone");
                ctx.board.update(|b| {
                    // Kept on the board as lost, with when; a dock never
                    // connected leaves nothing to show.
                    if let Some(d) = b.docks.get_mut(&path) {
                        if d.serial.is_some() {
                            d.connected = false;
                            d.lost_at = Some(vigil_store::now_rfc3339());
                        } else {
                            b.docks.remove(&path);
                        }
                    }
                    b.recorders
                        .retain(|k, _| !k.starts_with(&format!("dock {path} ")));
                });
                return;
            }
            ctx.nap(Duration::from_millis(200));
            continue;
        }
        gone_since = None;
        let key = match vigil_dock::key::station_key(&ctx.config.store) {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(error = %e, "no station key");
                ctx.nap(Duration::from_secs(5));
                continue;
            }
        };
        let mut client = match Client::connect(&path, &key) {
            Ok(c) => c,
            Err(e) => {
                if vigil_dock::client::is_unauthorized(&e) {
                    if let Ok(mut store) = Store::open(&ctx.config.store) {
                        let _ = store.log_mut().record_event(
                            ACTOR,
                            "dock.refused",
                            &path,
                            &serde_json::json!({"error": e.to_string()}),
                        );
                    }
                }
                ctx.board.update(|b| {
                    let d = b.docks.entry(path.clone()).or_default();
                    d.path = path.clone();
                    d.connected = false;
                    d.last_error = Some(e.to_string());
                });
                tracing::warn!(%path, error = %e, "cannot connect to the dock; retrying");
                ctx.nap(Duration::from_secs(2));
                continue;
            }
        };
        let serial = client.dock.serial.to_string();
        tracing::info!(%path, %serial, "dock connected");
        ctx.board.update(|b| {
            // The same dock back at another path is no longer lost.
            b.docks
                .retain(|p, d| *p == path || d.serial.as_deref() != Some(serial.as_str()));
            let d = b.docks.entry(path.clone()).or_default();
            d.path = path.clone();
            d.serial = Some(serial.clone());
            d.connected = true;
            d.last_error = None;
            d.connected_at = Some(vigil_store::now_rfc3339());
            d.lost_at = None;
        });
        while !ctx.stopping() {
            let slots = match client.status() {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(%path, error = %e, "dock link lost");
                    ctx.board.update(|b| {
                        if let Some(d) = b.docks.get_mut(&path) {
                            d.connected = false;
                            d.last_error = Some(e.to_string());
                        }
                    });
                    break;
                }
            };
            let mut todo = Vec::new();
            for s in &slots {
                let Some(r) = &s.recorder else {
                    done.remove(&s.slot);
                    ctx.board.update(|b| b.recorders.remove(&src(s.slot)));
                    continue;
                };
                let rserial = r.serial.to_string();
                if done.get(&s.slot).is_some_and(|d| *d != r.docking) {
                    done.remove(&s.slot);
                }
                ctx.board.recorder(&src(s.slot), |e| {
                    e.dock = Some(serial.clone());
                    e.slot = Some(s.slot);
                    e.serial = rserial.clone();
                    e.officer = Some(r.officer.to_string()).filter(|o| !o.is_empty());
                    e.battery_pct = Some(r.battery_pct);
                    e.faults = r.faults.iter().copied().collect();
                });
                if !done.contains_key(&s.slot) {
                    todo.push(s.slot);
                }
            }
            if !todo.is_empty() {
                let Some(_permit) = ctx.gate.acquire(&ctx.stop) else {
                    return;
                };
                let mut store = match Store::open(&ctx.config.store) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot open the store");
                        ctx.nap(Duration::from_secs(2));
                        continue;
                    }
                };
                let opts = PullOptions {
                    slot: None,
                    actor: ACTOR.into(),
                    continuity: ctx.continuity(),
                    erase: ctx.config.erase,
                    skip: done
                        .iter()
                        .map(|(slot, docking)| (*slot, *docking))
                        .collect(),
                };
                let mut obs = Observer {
                    ctx: &ctx,
                    dock_path: &path,
                };
                // All newly docked recorders at once, one file each per turn.
                match vigil_dock::pull::pull_with(&mut store, &mut client, &key, &opts, &mut obs) {
                    Ok(pulled) => {
                        for p in pulled {
                            let failed = p.report.failed.len();
                            ctx.board.recorder(&src(p.slot), |e| {
                                e.drift_ms = Some(p.drift_ms);
                                e.failed_files = p
                                    .report
                                    .failed
                                    .iter()
                                    .map(|f| crate::status::FileProblem {
                                        path: f.path.clone(),
                                        error: f.error.clone(),
                                    })
                                    .collect();
                                e.left_on_recorder = (p.report.failed.len() + p.kept.len()) as u64;
                                e.last_error = p
                                    .report
                                    .failed
                                    .first()
                                    .map(|f| format!("{}: {}", f.path, f.error))
                                    .or_else(|| {
                                        p.kept
                                            .first()
                                            .map(|k| format!("{} kept: {}", k.path, k.reason))
                                    });
                            });
                            let officer = if p.officer.is_empty() {
                                "-"
                            } else {
                                p.officer.as_str()
                            };
                            if p.stopped.is_some() {
                                tracing::warn!(
                                    recorder = %p.serial, %officer, dock = %path, slot = p.slot, stored = p.report.files.len(), erased = p.erased.len(),
                                    "recorder pull parked: the station is stopping; what is stored is verified, the rest stays on the recorder and is pulled at the next start"
                                );
                            } else if failed > 0 {
                                tracing::error!(
                                    recorder = %p.serial, %officer, dock = %path, slot = p.slot, stored = p.report.files.len(), erased = p.erased.len(),
                                    failed, drift_ms = p.drift_ms,
                                    "recorder NOT fully emptied: files that could not be read stay on it and are pulled again at its next docking"
                                );
                            } else {
                                tracing::info!(
                                    recorder = %p.serial, %officer, dock = %path, slot = p.slot, stored = p.report.files.len(), erased = p.erased.len(),
                                    drift_ms = p.drift_ms,
                                    "{}",
                                    if ctx.config.erase {
                                        "recorder emptied into the store: every file stored, verified, then erased from the recorder"
                                    } else {
                                        "recorder copied into the store: every file stored and verified, and left on the recorder (erase = false)"
                                    }
                                );
                            }
                            // A pull that ran to its end is done for this
                            // docking even with failed files (each named on
                            // the board and in the run): retrying them every
                            // rescan would only repeat the failure and flood
                            // the audit log. Re-docking pulls again.
                            if p.stopped.is_none() {
                                done.insert(p.slot, p.docking);
                            }
                        }
                    }
                    Err(e) if e.is_link() => {
                        for slot in &todo {
                            ctx.board.recorder(&src(*slot), |r| {
                                r.state = "parked".into();
                                r.last_error = Some(e.to_string());
                            });
                        }
                        tracing::warn!(%path, error = %e, "link lost while pulling; will resume");
                        break;
                    }
                    Err(e) => {
                        for slot in &todo {
                            ctx.board.recorder(&src(*slot), |r| {
                                r.state = "failed".into();
                                r.last_error = Some(e.to_string());
                            });
                        }
                        tracing::error!(%path, error = %e, "pull failed; will retry");
                    }
                }
            }
            ctx.nap(Duration::from_millis(ctx.config.rescan_ms.max(200)));
        }
        ctx.nap(Duration::from_millis(300));
    }
}

struct MountProgress<'a> {
    ctx: &'a Ctx,
    source: &'a str,
    done: u64,
    total: u64,
}

impl Progress for MountProgress<'_> {
    fn begin(&mut self, _files: usize, bytes: u64) {
        self.total = bytes;
        self.ctx.board.state(self.source, "pulling");
        self.ctx.board.bytes(self.source, 0, bytes);
    }
    fn bytes(&mut self, done_in_file: u64) {
        self.ctx
            .board
            .bytes(self.source, self.done + done_in_file, self.total);
    }
    fn file_done(&mut self, file_bytes: u64) {
        self.done += file_bytes;
        self.ctx.board.bytes(self.source, self.done, self.total);
    }
    fn before_file(&mut self, size: u64) -> Result<(), vigil_ingest::Stop> {
        self.ctx.wait_for_space(size)
    }
}

/// (files, bytes, newest mtime) under `dir`, to tell when a mount has
/// settled. Bounded like the ingest walk: no link followed, no directory
/// twice (a cycle), no deeper than the walk's own limit.
/// Whether a directory under the mount root holds a recorder to ingest:
/// a mount point (its own file system), or a directory with entries (a
/// recorder copied or bind-mounted there by hand). An empty directory on
/// the mount root's own file system is a mount point whose card is still
/// being mounted (`vigil-mount` makes the directory first, and at boot the
/// mount itself can take seconds): ingesting it then would report a full
/// card emptied with nothing in it.
fn ready(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mounted = match (dir.metadata(), dir.parent().map(Path::metadata)) {
        (Ok(d), Some(Ok(p))) => d.dev() != p.dev(),
        _ => false,
    };
    mounted || std::fs::read_dir(dir).is_ok_and(|mut rd| rd.next().is_some())
}

fn signature(dir: &Path) -> (u64, u64, i64) {
    use std::os::unix::fs::MetadataExt;
    fn go(
        dir: &Path,
        depth: usize,
        seen: &mut std::collections::HashSet<(u64, u64)>,
        acc: &mut (u64, u64, i64),
    ) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                if depth < vigil_ingest::walk::MAX_DEPTH && seen.insert((m.dev(), m.ino())) {
                    go(&e.path(), depth + 1, seen, acc);
                }
            } else {
                acc.0 += 1;
                acc.1 += m.len();
                let t = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_millis() as i64);
                acc.2 = acc.2.max(t);
            }
        }
    }
    let mut acc = (0, 0, 0);
    go(dir, 0, &mut Default::default(), &mut acc);
    acc
}

/// Ingests one recorder mount (a directory named by the recorder's serial
/// under the mount root) once it has settled.
pub fn mount_worker(dir: PathBuf, ctx: Ctx) -> bool {
    let serial = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let source = format!("mount {}", dir.display());
    ctx.board.recorder(&source, |r| r.serial = serial.clone());
    // Wait until the mount is complete: mounted, and unchanged for
    // settle_ms.
    let settle = Duration::from_millis(ctx.config.settle_ms);
    let mut last = signature(&dir);
    let mut stable_since = Instant::now();
    while stable_since.elapsed() < settle || !ready(&dir) {
        if ctx.stopping() || !dir.exists() {
            return false;
        }
        ctx.nap(Duration::from_millis(100));
        let now = signature(&dir);
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
    }
    let Some(_permit) = ctx.gate.acquire(&ctx.stop) else {
        return false;
    };
    let mut store = match Store::open(&ctx.config.store) {
        Ok(s) => s,
        Err(e) => {
            ctx.board.recorder(&source, |r| {
                r.state = "failed".into();
                r.last_error = Some(e.to_string());
            });
            return false;
        }
    };
    let officer = store.people().device_officer(&serial).ok().flatten();
    ctx.board.recorder(&source, |r| {
        r.officer = officer.clone();
        r.state = "identified".into();
    });
    let opts = IngestOptions {
        device: Some(serial.clone()),
        officer: officer.clone(),
        actor: ACTOR.into(),
        continuity: ctx.continuity(),
        limits: Default::default(),
        root_id: None,
    };
    let mut progress = MountProgress {
        ctx: &ctx,
        source: &source,
        done: 0,
        total: 0,
    };
    match vigil_ingest::ingest_dir(&mut store, &dir, &opts, &mut progress) {
        Ok(report) if report.failed.is_empty() => {
            tracing::info!(
                recorder = %serial,
                officer = officer.as_deref().unwrap_or("-"),
                files = report.files.len(),
                skipped = report.skipped.len(),
                %source,
                "recorder card emptied into the store: every file stored and verified"
            );
            ctx.board.state(&source, "done");
            true
        }
        Ok(report) => {
            let first = &report.failed[0];
            ctx.board.recorder(&source, |r| {
                r.state = if ctx.stopping() { "parked" } else { "failed" }.into();
                r.last_error = Some(format!("{}: {}", first.path, first.error));
            });
            tracing::error!(
                recorder = %serial,
                officer = officer.as_deref().unwrap_or("-"),
                failed = report.failed.len(),
                first = %first.path,
                error = %first.error,
                %source,
                "recorder card NOT fully stored: a file could not be read to its end; nothing of it is kept, and the card is read again when plugged back"
            );
            false
        }
        Err(e) => {
            ctx.board.recorder(&source, |r| {
                r.state = "failed".into();
                r.last_error = Some(e.to_string());
            });
            tracing::error!(recorder = %serial, error = %e, %source, "recorder card could not be ingested; it is read again when plugged back");
            false
        }
    }
}
