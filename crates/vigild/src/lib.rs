//! `vigild`: officers dock their recorders and walk away; this service
//! empties every recorder into the store, unattended (R1, R2, R4, R5, R9, R15).
//!
//! [`run`] takes the configuration and a shutdown future (mini-redis style,
//! so a test or `main` decides when to stop). It discovers docks (configured
//! paths and globs, rescanned and watched with `notify`) and recorder mounts
//! (directories under the mount root), runs a worker thread per dock and per
//! mount ([`workers`]), bounds how many recorders are served at once, keeps
//! the status board ([`status`]) that `vigil status` reads, and tells systemd
//! it is ready and alive (`sd_notify` READY and WATCHDOG).

pub mod centre;
pub mod config;
pub mod devices;
pub mod notices;
pub mod privilege;
pub mod status;
pub mod workers;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use notify::Watcher;

use crate::config::Config;

/// Where the kernel lists USB devices.
const SYSFS_USB: &str = "/sys/bus/usb/devices";
use crate::status::{Shared, STATUS_FILE};
use crate::workers::{Ctx, Gate};

fn expand(pattern: &str) -> Vec<String> {
    if !pattern.contains(['*', '?', '[']) {
        return vec![pattern.to_owned()];
    }
    match glob::glob(pattern) {
        Ok(paths) => paths.flatten().map(|p| p.display().to_string()).collect(),
        Err(e) => {
            tracing::warn!(%pattern, error = %e, "bad dock pattern");
            Vec::new()
        }
    }
}

/// Whether a change in a watched directory can change what the scanner
/// finds: an entry made, removed or renamed, not a directory or file being
/// opened, read or closed. inotify reports opens too (notify watches
/// `IN_OPEN`), and the scan itself opens the directories it watches: waking
/// on those, an idle vigild rescanned without pause and kept a core busy.
fn wakes_scanner(event: &notify::Event) -> bool {
    !matches!(event.kind, notify::EventKind::Access(_))
}

/// Joins the centre `vigild.toml` names (recorded once, audited), and
/// sends the outbox to whichever centre the station has joined.
fn start_centre(config: &Config, stations: &Arc<vigil_service::Stations>) -> anyhow::Result<()> {
    if let (Some(url), Some(fingerprint), Some(witness)) = (
        &config.centre_url,
        &config.centre_fingerprint,
        &config.centre_witness,
    ) {
        let join = vigil_service::centre::Join {
            url: url.clone(),
            fingerprint: fingerprint.clone(),
            witness: witness.clone(),
        };
        let mut station = stations.lend()?;
        if vigil_service::centre::join_as(&mut station, workers::ACTOR, &join)? {
            tracing::info!(%url, "joined the centre named in the configuration");
        }
    }
    let key = vigil_store::tlog::ensure_key(stations.root(), None)?;
    centre::start(
        Arc::clone(stations),
        key,
        std::time::Duration::from_secs(config.centre_every_s),
        std::time::Duration::from_secs(config.centre_timeout_s),
    );
    Ok(())
}

/// Starts the desk listener: the certificate (made self-signed when
/// missing, its fingerprint printed and logged), the TLS socket, the task.
async fn start_desk(
    config: &Config,
    addr: &str,
    state: vigil_api::server::ApiState,
    board: &Shared,
    stopped: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use anyhow::Context;
    let cert = config
        .tls_cert
        .clone()
        .unwrap_or_else(|| config.store.join("tls/cert.pem"));
    let key = config
        .tls_key
        .clone()
        .unwrap_or_else(|| config.store.join("tls/key.pem"));
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let names = vec![
        host,
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let made = vigil_api::tls::ensure_self_signed(&cert, &key, &names)?;
    let fingerprint = vigil_api::tls::fingerprint(&cert)?;
    if made {
        eprintln!(
            "vigild: made a self-signed desk certificate {}; SHA-256 fingerprint {fingerprint}",
            cert.display()
        );
        tracing::warn!(cert = %cert.display(), %fingerprint, "made a self-signed desk certificate");
    }
    let tls = vigil_api::tls::server_config(&cert, &key)?;
    let (listener, local) = vigil_api::tls::bind(addr, tls)
        .await
        .with_context(|| format!("listen {addr}"))?;
    tracing::info!(addr = %local, %fingerprint, "desk API listening (TLS)");
    board.update(|b| {
        b.desk = Some(crate::status::Desk {
            addr: local.to_string(),
            fingerprint: fingerprint.clone(),
        })
    });
    Ok(tokio::spawn(async move {
        let stop = async {
            let _ = stopped.await;
        };
        if let Err(e) = vigil_api::tls::serve(listener, state, stop).await {
            tracing::error!(error = %e, "the desk API stopped");
        }
    }))
}

/// Runs the daemon until `shutdown` completes, then stops taking new work,
/// lets in-flight files finish (or parks them) and returns.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    config.check()?;
    if let Some(name) = &config.station {
        // The log's name, for the key made at first start.
        vigil_store::tlog::set_origin(name).map_err(anyhow::Error::msg)?;
    }
    // Open once up front: creates the store, migrates, sweeps temp files.
    let mut store = vigil_store::Store::open(&config.store)?;
    // Held until run returns: the CLI's in-process mode then refuses this
    // store (pointing to the socket), and a second vigild is refused.
    let _claim = vigil_store::served::claim(&config.store, config.socket.as_deref())?;
    // Runs an earlier vigild left open (power cut, SIGKILL) end here, in
    // the audit log, before anything new starts.
    for run in store
        .recordings_mut()
        .close_interrupted_runs(workers::ACTOR)?
    {
        tracing::warn!(%run, "an ingest run was cut short when the station last stopped (power cut or crash); marked incomplete, its recorder is emptied again when found");
    }
    drop(store);
    vigil_dock::key::station_key(&config.store)?;
    let board = Shared::new(&config.store);
    let status_path = config.store.join(STATUS_FILE);
    // The API: the one door local users (socket) and desks (TLS) have into
    // the store.
    let b = board.clone();
    let api_state = vigil_api::server::ApiState {
        store: config.store.clone(),
        stations: vigil_service::Stations::open(&config.store)?,
        status: Arc::new(move || b.document()),
        own_uid: rustix::process::geteuid().as_raw(),
        policy: vigil_service::auth::Policy {
            session_s: config.session_s,
            max_failures: config.login_failures_max,
            lockout_minutes: config.lockout_minutes,
        },
        zone: config.zone()?,
        ingest_roots: vec![config.watch.clone()],
    };
    if let Some(smtp) = &config.smtp {
        let mailer = notices::Mailer::new(
            smtp,
            config.smtp_from.as_deref(),
            config.desk_url.as_deref(),
        )?;
        notices::start(
            Arc::clone(&api_state.stations),
            mailer,
            std::time::Duration::from_secs(config.notify_every_s),
        );
        tracing::info!(%smtp, every_s = config.notify_every_s, "notices of what waits are e-mailed");
    }
    start_centre(&config, &api_state.stations)?;
    let (desk_stop, desk_stopped) = tokio::sync::oneshot::channel::<()>();
    let desk = match &config.listen {
        Some(addr) => {
            Some(start_desk(&config, addr, api_state.clone(), &board, desk_stopped).await?)
        }
        None => None,
    };
    let (api_stop, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let api = match &config.socket {
        Some(path) => {
            let state = api_state.clone();
            let path = path.clone();
            // Bound here: a station without its API does not start.
            let listener = vigil_api::server::bind_unix(&path)
                .map_err(|e| anyhow::anyhow!("the API socket: {e}"))?;
            Some(tokio::spawn(async move {
                let stopped = async {
                    let _ = api_stopped.await;
                };
                if let Err(e) =
                    vigil_api::server::serve_bound(&path, listener, state, stopped).await
                {
                    tracing::error!(socket = %path.display(), error = %e, "the API stopped");
                }
            }))
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let ctx = Ctx {
        config: Arc::new(config.clone()),
        board: board.clone(),
        stop: stop.clone(),
        gate: Arc::new(Gate::new(config.max_parallel)),
    };

    // Wake the scanner early when device or mount directories change.
    let wake = Arc::new(tokio::sync::Notify::new());
    let w = wake.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.as_ref().map_or(true, wakes_scanner) {
            w.notify_one();
        }
    })?;
    let mut watched = HashSet::new();
    let mut dirs: Vec<PathBuf> = vec![config.watch.clone()];
    for d in &config.docks {
        if let Some(parent) = PathBuf::from(d).parent() {
            dirs.push(parent.to_owned());
        }
    }

    let mut docks: HashMap<String, std::thread::JoinHandle<()>> = HashMap::new();
    let mut mounts: HashMap<PathBuf, std::thread::JoinHandle<bool>> = HashMap::new();
    let mut mounted_done: HashSet<PathBuf> = HashSet::new();
    let mut seen_unknown: HashSet<devices::UnknownDevice> = HashSet::new();
    let usb_ids = config.usb_ids();
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    let mut watchdog_usec = 0u64;
    let watchdog = sd_notify::watchdog_enabled(false, &mut watchdog_usec);
    let watchdog_every = Duration::from_micros(watchdog_usec.max(2)) / 2;
    tracing::info!(store = %config.store.display(), watch = %config.watch.display(), docks = ?config.docks, "vigild ready");

    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(Duration::from_millis(config.rescan_ms));
    let mut pet = tokio::time::interval(if watchdog {
        watchdog_every
    } else {
        Duration::from_secs(3600)
    });
    let mut flush = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = tick.tick() => {}
            () = wake.notified() => {}
            _ = pet.tick() => {
                if watchdog {
                    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
                }
                continue;
            }
            _ = flush.tick() => {
                board.update(|b| b.store_free_bytes = workers::free_bytes(&config.store));
                board.flush(&status_path);
                continue;
            }
        }
        for d in &dirs {
            if d.is_dir() && watched.insert(d.clone()) {
                let _ = watcher.watch(d, notify::RecursiveMode::NonRecursive);
            }
        }
        // Docks.
        docks.retain(|_, h| !h.is_finished());
        for pattern in &config.docks {
            for path in expand(pattern) {
                if docks.contains_key(&path) || !std::path::Path::new(&path).exists() {
                    continue;
                }
                tracing::info!(%path, "dock found");
                let c = ctx.clone();
                let p = path.clone();
                docks.insert(path, std::thread::spawn(move || workers::dock_worker(p, c)));
            }
        }
        let usb = vigil_dock::client::USB_PATH.to_owned();
        if config.usb && !docks.contains_key(&usb) && vigil_dock::link::usb_dock_present() {
            tracing::info!("dock found on USB");
            let c = ctx.clone();
            let p = usb.clone();
            docks.insert(usb, std::thread::spawn(move || workers::dock_worker(p, c)));
        }
        // Mounts: every directory under the mount root is one recorder.
        let present: HashSet<PathBuf> = std::fs::read_dir(&config.watch)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        mounted_done.retain(|p| present.contains(p));
        let finished: Vec<PathBuf> = mounts
            .iter()
            .filter(|(_, h)| h.is_finished())
            .map(|(p, _)| p.clone())
            .collect();
        for p in finished {
            if let Some(h) = mounts.remove(&p) {
                if h.join().unwrap_or(false) {
                    mounted_done.insert(p);
                }
            }
        }
        board.update(|b| {
            b.recorders.retain(|k, _| {
                k.strip_prefix("mount ")
                    .is_none_or(|d| present.contains(&PathBuf::from(d)))
            })
        });
        // USB devices that are not the station's: shown, audited once.
        let unknown = devices::unknown(std::path::Path::new(SYSFS_USB), |v, p, s| {
            usb_ids.iter().any(|id| id.matches(v, p, s))
        });
        for d in unknown.iter().filter(|d| !seen_unknown.contains(*d)) {
            let shown = vigil_i18n::visible::line(&d.name).into_owned();
            tracing::warn!(port = %d.port, id = %d.id, name = %shown, kind = %d.kind,
                "an unknown USB device was plugged in: not a recorder or dock of this station, so it is not mounted or served (allow its id in recorder_usb_ids or dock_usb_ids if it is one)");
            match vigil_store::Store::open(&config.store) {
                Ok(mut store) => {
                    let _ = store.log_mut().record_event(
                        workers::ACTOR,
                        "device.unknown",
                        &format!("usb {} port {}", d.id, d.port),
                        &serde_json::to_value(d).unwrap_or_default(),
                    );
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot open the store to audit an unknown device")
                }
            }
        }
        seen_unknown = unknown.iter().cloned().collect();
        board.update(|b| {
            if b.unknown_devices != unknown {
                b.unknown_devices = unknown;
            }
        });
        for dir in present {
            if mounts.contains_key(&dir) || mounted_done.contains(&dir) {
                continue;
            }
            tracing::info!(dir = %dir.display(), "recorder mount found");
            let c = ctx.clone();
            let d = dir.clone();
            mounts.insert(dir, std::thread::spawn(move || workers::mount_worker(d, c)));
        }
    }

    tracing::info!("stopping: no new work; letting in-flight files finish or park");
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    stop.store(true, Ordering::SeqCst);
    vigil_api::desk::stop_previews();
    let dock_threads: Vec<_> = docks.into_values().collect();
    let mount_threads: Vec<_> = mounts.into_values().collect();
    let _ = tokio::task::spawn_blocking(move || {
        for h in dock_threads {
            let _ = h.join();
        }
        for h in mount_threads {
            let _ = h.join();
        }
    })
    .await;
    let _ = api_stop.send(());
    let _ = desk_stop.send(());
    for task in [api, desk].into_iter().flatten() {
        let _ = task.await;
    }
    board.update(|_| {});
    board.flush(&status_path);
    tracing::info!("vigild stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use notify::Watcher;

    use super::wakes_scanner;

    /// A real inotify watch: the scan's own `read_dir` of the watched
    /// directory reaches the watcher (so the filter has something to
    /// refuse) but does not wake the scanner; a recorder's directory
    /// appearing does.
    #[test]
    fn reading_a_watched_directory_does_not_wake_the_scanner() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let _ = tx.send(res.map(|e| (wakes_scanner(&e), e.kind)));
        })
        .unwrap();
        watcher
            .watch(dir.path(), notify::RecursiveMode::NonRecursive)
            .unwrap();
        let listed: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(listed.is_empty());
        std::fs::create_dir(dir.path().join("recorder-1")).unwrap();
        let mut seen = Vec::new();
        let woken = loop {
            let (wakes, kind) = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the watcher reports the new directory")
                .unwrap();
            seen.push(kind);
            if wakes {
                break kind;
            }
        };
        assert!(
            matches!(woken, notify::EventKind::Create(_)),
            "the first event that wakes the scanner is the new directory: {seen:?}"
        );
        assert!(
            seen.iter()
                .any(|k| matches!(k, notify::EventKind::Access(_))),
            "the listing itself was reported first (and not taken for a change): {seen:?}"
        );
    }
}
