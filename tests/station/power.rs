//! Power cuts and restarts (R6): QEMU killed mid-ingest of a card and
//! mid-pull from a dock, and the station booted again with both still
//! plugged in (found at boot: coldplug); `systemctl stop` mid-ingest, then
//! `systemctl restart` mid-ingest. Each time: `vigild` back by itself,
//! `vigil verify` passes, every file stored exactly once, the recorder
//! still holding whatever was not verified, the audit log and the journal
//! saying what happened.

use std::collections::BTreeMap;
use std::path::Path;

use super::cards::{card_files, stage, zeros_sha256};
use super::dock::{all_stored, docked, left_on, noise, stored_from};
use super::*;

/// Waits until the recorder `serial` is being copied with at least
/// `bytes` done.
fn mid_copy(s: &Station, serial: &str, bytes: u64) {
    wait_for(
        s,
        &format!("{serial} mid-copy"),
        Duration::from_secs(300),
        |s| {
            recorder(s, serial).is_some_and(|r| {
                r["state"] == "pulling" && r["bytes_done"].as_u64().unwrap_or(0) > bytes
            })
        },
    );
}

/// Cuts the power and boots again: vigild comes up by itself.
fn power_cycle(s: &Station) {
    s.power_cut().unwrap();
    s.boot().unwrap();
    s.wait_ready(Duration::from_secs(240)).unwrap();
    assert_eq!(sh(s, "systemctl is-active vigild").trim(), "active");
}

/// Whatever the dock had erased from recorder BWC101 before a cut is in
/// the store after it.
fn stored_if_erased(s: &Station, erased: &[String]) {
    let stored = stored_from(s, "BWC101");
    for f in erased {
        assert!(
            stored.contains_key(f),
            "{f} was erased, so it must be stored: {stored:#?}"
        );
    }
}

/// The ingest runs the audit log says a stop cut short.
fn interrupted(s: &Station) -> usize {
    json(s, "vigil audit --json --action ingest.interrupted")["audit"]
        .as_array()
        .map_or(0, Vec::len)
}

/// A card named `name` (recorder `serial`) holding two clips and a large
/// file of `big_mb` MiB; returns its image and its files' hashes.
fn big_card(s: &Station, name: &str, big_mb: u64) -> (PathBuf, BTreeMap<String, String>) {
    const BIG: &str = "DCIM/100MEDIA/REC_0999.MP4";
    let mut hashes = stage(s, name, &card_files()[..2]);
    let image = s
        .make_card(name, "exfat", big_mb + 100, 0, &[(BIG, big_mb)])
        .unwrap();
    hashes.insert(BIG.to_owned(), zeros_sha256(big_mb));
    (image, hashes)
}

#[test]
fn a_station_that_loses_power_or_is_stopped_mid_ingest_loses_nothing() {
    let s = up("power");
    let dir = s.dir().join("dock-sim");
    std::fs::create_dir_all(&dir).unwrap();

    // A card with a large file, and a dock whose recorder holds a file the
    // serial link takes half a minute over; both start together.
    let (card, card_hashes) = big_card(&s, "PWR1", 200);
    let card_before = sha256_file(&card);
    let (sim, rec, dock_hashes) = docked(&s, &dir, &[("DCIM/REC_0500.MP4", noise(8 << 20, 5))]);
    s.plug_storage(&card, "pwr1", "REC-PWR1").unwrap();
    sh(&s, "vigil dock enroll /dev/serial/by-id/usb-vigil-dock-D7");

    // Cut 1: mid-ingest of the card (the dock pulling too).
    mid_copy(&s, "REC-PWR1", 64 << 20);
    let erased = |rec: &Path| -> Vec<String> {
        dock_hashes
            .keys()
            .filter(|f| !left_on(rec).contains(f))
            .cloned()
            .collect()
    };
    let erased_before_cut = erased(&rec);
    power_cycle(&s);
    stored_if_erased(&s, &erased_before_cut);
    assert!(
        interrupted(&s) >= 1,
        "the cut-short card run is in the audit log"
    );
    let journal = sh(&s, "journalctl -b -u vigild -o cat --no-pager");
    assert!(journal.contains("cut short"), "{journal}");

    // Cut 2: mid-pull from the dock, both found plugged in at boot
    // (coldplug).
    mid_copy(&s, "BWC101", 256 << 10);
    let erased_before_cut = erased(&rec);
    assert!(
        erased_before_cut.len() < dock_hashes.len(),
        "the second cut comes mid-pull"
    );
    power_cycle(&s);
    stored_if_erased(&s, &erased_before_cut);
    wait_done(&s, "REC-PWR1");
    wait_done(&s, "BWC101");
    sh(&s, "vigil verify");
    all_stored(&s, "REC-PWR1", &card_hashes);
    all_stored(&s, "BWC101", &dock_hashes);
    assert!(
        left_on(&rec).is_empty(),
        "emptied once verified: {:?}",
        left_on(&rec)
    );
    assert_eq!(
        sha256_file(&card),
        card_before,
        "the card unchanged by two power cuts"
    );
    let cuts = interrupted(&s);
    assert!(cuts >= 2, "each cut closed an open run: {cuts}");

    // systemctl stop mid-ingest (the same card, as another recorder):
    // within the unit's timeout, no half-clip.
    s.unplug("pwr1").unwrap();
    s.plug_storage(&card, "stop1", "REC-STOP1").unwrap();
    mid_copy(&s, "REC-STOP1", 64 << 20);
    let t = std::time::Instant::now();
    sh(&s, "systemctl stop vigild");
    let stop_s = t.elapsed().as_secs_f64();
    eprintln!("systemctl stop mid-ingest took {stop_s:.1} s");
    assert!(stop_s < 60.0, "TimeoutStopSec=60: {stop_s} s");
    assert_eq!(
        sh(&s, "systemctl show -p Result --value vigild").trim(),
        "success"
    );
    // Offline, as the store's owner: the store verifies.
    sh(
        &s,
        "runuser -u vigil -- vigil --store /var/lib/vigil verify",
    );
    sh(&s, "systemctl start vigild");
    s.wait_ready(Duration::from_secs(60)).unwrap();
    // systemctl restart mid-ingest, when the stop left the card unfinished.
    if recorder(&s, "REC-STOP1").is_some_and(|r| r["state"] != "done") {
        sh(&s, "systemctl restart vigild");
        s.wait_ready(Duration::from_secs(60)).unwrap();
    }
    wait_done(&s, "REC-STOP1");
    all_stored(&s, "REC-STOP1", &card_hashes);
    sh(&s, "vigil verify");
    assert_eq!(interrupted(&s), cuts, "a clean stop closes its own run");
    let journal = sh(&s, "journalctl -u vigild -o cat --no-pager");
    for word in ["REC-PWR1", "REC-STOP1", "BWC101"] {
        assert!(journal.contains(word), "{word} in\n{journal}");
    }
    drop(sim);
}
