//! Docks over USB serial (R1, R2, R5, R6): `dock-sim` on this host behind
//! QEMU's FTDI adapter (0403:6001, allowed as a dock model by the
//! station's configuration). The guest's udev names its tty, `vigild`
//! finds it by hot-plug, syncs its recorders' clocks, pulls, verifies and
//! erases; a dock unplugged mid-pull and plugged back resumes with nothing
//! erased unverified.

use std::collections::BTreeMap;

use vigil_e2e::DockSim;

use super::*;

/// The dock's name under /dev/serial/by-id, from the shipped rule's form.
const BY_ID: &str = "/dev/serial/by-id/usb-vigil-dock-D7";

/// A recorder directory on this host holding `files` (name, bytes);
/// returns each name's SHA-256.
fn recorder_dir(dir: &Path, files: &[(&str, Vec<u8>)]) -> BTreeMap<String, String> {
    std::fs::create_dir_all(dir).unwrap();
    let mut hashes = BTreeMap::new();
    for (name, bytes) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        hashes.insert((*name).to_owned(), sha256_file(&p));
    }
    hashes
}

/// `n` bytes no compressor or deduplicator shortens (xorshift).
pub(crate) fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The files of recorder directory `dir`, relative, sorted.
pub(crate) fn left_on(dir: &Path) -> Vec<String> {
    vigil_e2e::files_under(dir)
        .into_iter()
        .map(|(rel, _)| rel)
        .collect()
}

/// The store's clips from recorder `serial`, by path.
pub(crate) fn stored_from(s: &Station, serial: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for c in clips(s).into_iter().filter(|c| c["device"] == serial) {
        let path = c["path"].as_str().unwrap().to_owned();
        assert!(
            out.insert(path.clone(), c).is_none(),
            "{serial}: {path} stored twice"
        );
    }
    out
}

/// Every one of `hashes` is in the store from `serial`, once, byte-exact.
pub(crate) fn all_stored(s: &Station, serial: &str, hashes: &BTreeMap<String, String>) {
    let stored = stored_from(s, serial);
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        hashes.keys().collect::<Vec<_>>(),
        "{serial}: every file stored once"
    );
    for (path, sha) in hashes {
        assert_eq!(
            stored[path]["sha256"],
            sha.as_str(),
            "{serial}: {path} byte-exact"
        );
    }
}

/// Plugs the dock in and waits for its by-id name.
pub(crate) fn plug(s: &Station, sim: &DockSim) {
    s.plug_dock(&sim.link, "dock1", "D7").unwrap();
    wait_for(
        s,
        "the dock's /dev/serial/by-id name",
        Duration::from_secs(60),
        |s| s.sh(&format!("test -e {BY_ID}")).unwrap().code == 0,
    );
}

/// A dock with recorder BWC101 (the fixture clips and `more`, its clock
/// two minutes fast) on this host, plugged into `s` and enrolled; returns the dock,
/// the recorder's directory and its files' hashes.
pub(crate) fn docked(
    s: &Station,
    dir: &Path,
    more: &[(&str, Vec<u8>)],
) -> (DockSim, PathBuf, BTreeMap<String, String>) {
    let (sim, rec, hashes) = loaded(dir, "BWC101", more, DockSim::listen);
    plug(s, &sim);
    (sim, rec, hashes)
}

/// A dock-sim in `dir` started by `start` (serial D7) holding recorder
/// `serial` (the fixture clips and `more`, its clock two minutes fast).
fn loaded(
    dir: &Path,
    serial: &str,
    more: &[(&str, Vec<u8>)],
    start: fn(&Path, &[&str]) -> DockSim,
) -> (DockSim, PathBuf, BTreeMap<String, String>) {
    let fx = workspace().join("fixtures/generated/recorder-a/DCIM/100MEDIA");
    let rec = dir.join(serial);
    let _ = std::fs::remove_dir_all(&rec);
    let mut files: Vec<(&str, Vec<u8>)> = ["REC_0001.MP4", "REC_0002.MP4", "REC_0003.MP4"]
        .iter()
        .map(|n| (*n, std::fs::read(fx.join(n)).unwrap()))
        .collect();
    files.extend(more.iter().cloned());
    let hashes = recorder_dir(&rec, &files);
    let sim = start(
        dir,
        &[
            "--serial",
            "D7",
            "--key-file",
            dir.join("dock.key").to_str().unwrap(),
            "--recorder",
            &format!("{serial}:1002:{}", rec.display()),
            "--skew",
            "0:120",
        ],
    );
    (sim, rec, hashes)
}

/// The drift the station recorded for recorder `serial` at docking, ms.
fn drift_ms(s: &Station, serial: &str) -> i64 {
    let docked = json(s, "vigil audit --json --action device.docked");
    docked["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["subject"] == serial)
        .unwrap_or_else(|| panic!("{serial} docked: {docked:#}"))["detail"]["drift_ms"]
        .as_i64()
        .unwrap()
}

/// Waits until vigild was refused by the factory-new dock (audited).
fn refused(s: &Station) {
    wait_for(s, "the new dock refused", Duration::from_secs(90), |s| {
        json(s, "vigil audit --json --action dock.refused")["audit"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
}

/// A second recorder (`serial`) with a larger file docked in `sim`; the
/// dock pulled out (`unplug`) mid-pull and plugged back (`replug`): what
/// left the recorder is stored, the rest is pulled after, all once.
fn pulled_out_mid_pull(
    s: &Station,
    sim: &DockSim,
    dir: &Path,
    serial: &str,
    gone: &dyn Fn(&Station) -> bool,
    unplug: &dyn Fn(),
    replug: &dyn Fn(),
) {
    let rec = dir.join(serial);
    let hashes = recorder_dir(
        &rec,
        &[
            ("DCIM/REC_0100.MP4", noise(6 << 20, 7)),
            ("DCIM/REC_0101.MP4", noise(64 << 10, 8)),
        ],
    );
    assert_eq!(
        sim.control(&format!("insert {serial}:1002:{}", rec.display())),
        "ok"
    );
    wait_for(
        s,
        &format!("{serial} being pulled"),
        Duration::from_secs(120),
        |s| {
            recorder(s, serial).is_some_and(|r| {
                r["state"] == "pulling" && r["bytes_done"].as_u64().unwrap_or(0) > 256 << 10
            })
        },
    );
    unplug();
    wait_for(s, "the dock gone", Duration::from_secs(30), gone);
    // Whatever left the recorder is in the store, verified.
    let stored = stored_from(s, serial);
    let left = left_on(&rec);
    for f in hashes.keys().filter(|f| !left.contains(f)) {
        assert_eq!(
            stored.get(f).map(|c| c["sha256"].clone()),
            Some(Value::from(hashes[f].as_str())),
            "{f} erased, so stored"
        );
    }
    replug();
    wait_done(s, serial);
    all_stored(s, serial, &hashes);
    assert!(left_on(&rec).is_empty(), "{:?}", left_on(&rec));
}

#[test]
fn a_usb_serial_dock_is_found_emptied_and_resumes_after_being_pulled_out() {
    let s = up("dock");
    let dir = s.dir().join("dock-sim");
    std::fs::create_dir_all(&dir).unwrap();
    let (sim, rec, hashes) = docked(&s, &dir, &[]);
    // The shipped rule's form, for the configured id: the vigil group's.
    assert_eq!(
        sh(&s, &format!("stat -L -c '%G %a' {BY_ID}")).trim(),
        "vigil 660"
    );
    assert!(sh(&s, &format!("readlink -f {BY_ID}")).starts_with("/dev/ttyUSB"));
    // A factory-new dock: vigild finds it and is refused until enrolled.
    refused(&s);
    assert_eq!(left_on(&rec).len(), 3, "nothing erased before enrolment");
    sh(&s, &format!("vigil dock enroll {BY_ID}"));
    wait_done(&s, "BWC101");
    all_stored(&s, "BWC101", &hashes);
    assert!(
        left_on(&rec).is_empty(),
        "verified files erased: {:?}",
        left_on(&rec)
    );
    // The recorder's clock was two minutes fast: the drift is recorded
    // and the clock set (R5).
    let drift = drift_ms(&s, "BWC101");
    assert!((110_000..130_000).contains(&drift), "drift {drift} ms");

    pulled_out_mid_pull(
        &s,
        &sim,
        &dir,
        "BWC102",
        &|s| s.sh(&format!("test -e {BY_ID}")).unwrap().code != 0,
        // The dock's link goes first, then the device: QEMU's usb-serial
        // detaches itself from the guest's bus when its chardev closes,
        // whereas removing it while its chardev still delivers data makes
        // QEMU 10 crash (usb_wakeup on a device already off its bus).
        &|| {
            assert_eq!(sim.control("cut"), "ok");
            s.unplug("dock1").unwrap();
        },
        &|| plug(&s, &sim),
    );
    sh(&s, "vigil verify");

    // The journal names the dock, the recorders, the officer, the outcome.
    let journal = sh(&s, "journalctl -u vigild -o cat --no-pager");
    for word in [BY_ID, "BWC101", "BWC102", "1002"] {
        assert!(journal.contains(word), "{word} in\n{journal}");
    }
}

/// Whether the guest has the reference dock on its USB bus.
fn usb_dock_on_bus(s: &Station) -> bool {
    s.sh("grep -lx 7d01 /sys/bus/usb/devices/*/idProduct")
        .unwrap()
        .code
        == 0
}

#[test]
fn a_usb_bulk_dock_is_emptied_through_libusb() {
    let s = up("usbdock");
    let dir = s.dir().join("dock-sim");
    std::fs::create_dir_all(&dir).unwrap();
    let (sim, rec, hashes) = loaded(&dir, "BWC201", &[], DockSim::usbredir);
    let plug = || s.plug_usbredir(&sim.link, "dock1").unwrap();
    plug();
    wait_for(
        &s,
        "the dock on the guest's USB bus",
        Duration::from_secs(60),
        usb_dock_on_bus,
    );
    // The shipped rule: the device node is the vigil group's.
    let node = sh(
        &s,
        "d=$(dirname $(grep -lx 7d01 /sys/bus/usb/devices/*/idProduct)); \
         printf /dev/bus/usb/%03d/%03d $(cat $d/busnum) $(cat $d/devnum)",
    );
    assert_eq!(
        sh(&s, &format!("stat -c '%G %a' {node}")).trim(),
        "vigil 660"
    );
    refused(&s);
    assert_eq!(left_on(&rec).len(), 3, "nothing erased before enrolment");
    sh(&s, "vigil dock enroll usb");
    wait_done(&s, "BWC201");
    all_stored(&s, "BWC201", &hashes);
    assert!(
        left_on(&rec).is_empty(),
        "verified files erased: {:?}",
        left_on(&rec)
    );
    let drift = drift_ms(&s, "BWC201");
    assert!((110_000..130_000).contains(&drift), "drift {drift} ms");

    pulled_out_mid_pull(
        &s,
        &sim,
        &dir,
        "BWC202",
        &|s| !usb_dock_on_bus(s),
        &|| s.unplug("dock1").unwrap(),
        &plug,
    );
    sh(&s, "vigil verify");
    let journal = sh(&s, "journalctl -u vigild -o cat --no-pager");
    for word in ["dock found on USB", "BWC201", "BWC202", "1002"] {
        assert!(journal.contains(word), "{word} in\n{journal}");
    }
}
