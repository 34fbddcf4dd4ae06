//! A dock named by hand (`vigil dock status|pull|enroll PATH`, `/api/v1/
//! docks/...`), for manual use and diagnosis, run where the store and its
//! station key are. The same safety rules as vigild's own dock workers: a
//! file is erased from a recorder only after it is stored, indexed and
//! verified (R2). The path must be a serial device (or the USB bulk dock):
//! whoever calls cannot make the service open one of its own files.

use serde::{Deserialize, Serialize};
use vigil_dock::client::is_unauthorized;
use vigil_dock::pull::{PullObserver, PullOptions};
use vigil_dock::Client;
use vigil_store::Store;

use crate::error::ServiceError;
use crate::identity::Identity;
use crate::jobs::Sink;

/// A dock by its device path (`GET /api/v1/docks/status`, `POST .../enroll`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
pub struct DockPath {
    /// The dock's serial device (e.g. /dev/serial/by-id/...vigil-dock...),
    /// or `usb` for the first dock on USB bulk endpoints.
    pub path: String,
}

/// A pull (`vigil dock pull`, `POST /api/v1/docks/pull`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PullRequest {
    /// The dock's serial device.
    pub path: String,
    /// Only this slot.
    pub slot: Option<u8>,
    /// Keep the files on the recorder (no erase).
    #[serde(default)]
    pub keep: bool,
}

fn failed(what: String) -> impl FnOnce(vigil_dock::DockError) -> ServiceError {
    move |e| ServiceError::store(format!("{what}: {e}"))
}

/// Refuses a path that is not a serial device (a character device, after
/// following `/dev/serial/by-id` links) or the USB dock.
pub fn check_device(path: &str) -> Result<(), ServiceError> {
    use std::os::unix::fs::FileTypeExt;
    if path == vigil_dock::client::USB_PATH {
        return Ok(());
    }
    let meta = std::fs::metadata(path)
        .map_err(|e| ServiceError::not_found(format!("no dock at {path}: {e}")))?;
    if !meta.file_type().is_char_device() {
        return Err(ServiceError::bad_request(format!(
            "{path} is not a serial device (a dock is a character device such as /dev/ttyACM0)"
        )));
    }
    Ok(())
}

fn connect(
    store: &mut Store,
    id: &Identity,
    path: &str,
) -> Result<(Client, [u8; 32]), ServiceError> {
    check_device(path)?;
    let key = vigil_dock::key::station_key(store.root())
        .map_err(failed("reading the station key".into()))?;
    match Client::connect(path, &key) {
        Ok(c) => Ok((c, key)),
        Err(e) => {
            if is_unauthorized(&e) {
                // Logged on the host side too (the dock logs its refusal).
                store.log_mut().record_event(
                    &id.actor(),
                    "dock.refused",
                    path,
                    &serde_json::json!({ "error": e.to_string() }),
                )?;
            }
            Err(failed(format!("connecting to the dock at {path}"))(e))
        }
    }
}

/// Gives a factory-new dock this station's key: `{dock, firmware}`.
pub(crate) fn enroll(
    store: &mut Store,
    id: &Identity,
    path: &str,
) -> Result<serde_json::Value, ServiceError> {
    check_device(path)?;
    let key = vigil_dock::key::station_key(store.root())
        .map_err(failed("reading the station key".into()))?;
    let mut c = Client::open(path).map_err(failed(format!("opening the dock at {path}")))?;
    c.enroll(&key)
        .map_err(failed(format!("enrolling the dock at {path}")))?;
    c.authenticate(&key)
        .map_err(failed("authenticating after enrolment".into()))?;
    store.log_mut().record_event(
        &id.actor(),
        "dock.enrolled",
        &c.dock.serial,
        &serde_json::json!({ "path": path, "firmware": c.dock.firmware.as_str() }),
    )?;
    Ok(serde_json::json!({"dock": c.dock.serial.as_str(), "firmware": c.dock.firmware.as_str()}))
}

/// The dock's identity and every slot's status: `{dock, slots}`.
pub(crate) fn status(
    store: &mut Store,
    id: &Identity,
    path: &str,
) -> Result<serde_json::Value, ServiceError> {
    let (mut c, _) = connect(store, id, path)?;
    let slots = c
        .status()
        .map_err(failed(format!("asking the dock at {path}")))?;
    let slots: Vec<serde_json::Value> = slots
        .iter()
        .map(|s| match &s.recorder {
            None => serde_json::json!({"slot": s.slot, "recorder": null}),
            Some(r) => serde_json::json!({"slot": s.slot, "recorder": {
                "serial": r.serial.as_str(), "model": r.model.as_str(), "firmware": r.firmware.as_str(),
                "officer": r.officer.as_str(), "battery_pct": r.battery_pct, "charging": r.charging,
                "storage_used": r.storage_used, "storage_free": r.storage_free, "clock_ms": r.clock_ms,
                "faults": r.faults.as_slice(), "mass_storage": r.mass_storage,
            }}),
        })
        .collect();
    Ok(serde_json::json!({
        "dock": {"serial": c.dock.serial.as_str(), "firmware": c.dock.firmware.as_str(), "slots": c.dock.slots},
        "slots": slots,
    }))
}

/// Progress of a pull, as bytes of the recorder being emptied.
struct Progress<'a>(&'a mut dyn Sink);

impl PullObserver for Progress<'_> {
    fn bytes(&mut self, slot: u8, done: u64, total: u64) {
        self.0.progress(done, total, Some(&format!("slot {slot}")));
    }
}

/// Empties one or all docked recorders into the store: the `files`,
/// `skipped` and `failed` of `vigil ingest`, each `recorders` entry, and
/// the `link` figures (bytes in, out, payload).
pub(crate) fn pull(
    store: &mut Store,
    id: &Identity,
    r: &PullRequest,
    sink: &mut dyn Sink,
) -> Result<serde_json::Value, ServiceError> {
    let (mut c, key) = connect(store, id, &r.path)?;
    let opts = PullOptions {
        slot: r.slot,
        actor: id.actor(),
        continuity: vigil_ingest::Continuity::default(),
        erase: !r.keep,
        skip: Vec::new(),
    };
    let pulled = vigil_dock::pull::pull_with(store, &mut c, &key, &opts, &mut Progress(sink))
        .map_err(failed(format!("pulling from the dock at {}", r.path)))?;
    let files: Vec<_> = pulled.iter().flat_map(|p| &p.report.files).collect();
    let payload: u64 = files.iter().map(|f| f.bytes).sum();
    Ok(serde_json::json!({
        "files": files,
        "skipped": pulled.iter().flat_map(|p| &p.report.skipped).collect::<Vec<_>>(),
        "failed": pulled.iter().flat_map(|p| &p.report.failed).collect::<Vec<_>>(),
        "recorders": pulled,
        "link": {"bytes_in": c.wire_in, "bytes_out": c.wire_out, "payload": payload},
    }))
}
