//! Recorder cards as they come: FAT32 and exFAT, long, Chinese and 8.3
//! names, an empty file, local-time stamps, a recording split into
//! segments on FAT32 and one over 4 GiB on exFAT; hot-plugged over USB, mounted
//! read-only by `vigil-mount@`, ingested byte-exact, the card unchanged
//! (R1, R2, R3); a stick that is no recorder left alone; a card pulled out
//! mid-copy (R6).

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

/// The files of a test card: path on the card, and where its bytes come
/// from on the host.
pub(crate) fn card_files() -> Vec<(&'static str, PathBuf)> {
    let fx = workspace().join("fixtures/generated/recorder-a/DCIM/100MEDIA");
    let real = workspace().join("../shared/media-real");
    vec![
        // An 8.3 name: FAT stores it with no long name.
        ("DCIM/100MEDIA/REC_0001.MP4", fx.join("REC_0001.MP4")),
        (
            "DCIM/100MEDIA/2026-11-20 执法记录 第一段.mp4",
            fx.join("REC_0002.MP4"),
        ),
        (
            "DCIM/100MEDIA/a recording with a long name made on patrol in the rain.mp4",
            real.join("mp4_sample_15fps_720p_1s.mp4"),
        ),
        // A name that reads backwards unless its override is shown.
        ("DCIM/100MEDIA/clip\u{202e}4pm.mp4", fx.join("REC_0003.MP4")),
        ("DCIM/100MEDIA/EMPTY.TXT", PathBuf::from("/dev/null")),
    ]
}

/// A recording a FAT32 recorder split into segments (FAT32 holds no file
/// of 4 GiB): REC_0002 goes on where REC_0001 stopped, then a real pause of
/// 30 s before REC_0003. Which boundary is an interruption does not depend
/// on the segments' sizes, so small ones stand for 4 GiB ones.
fn split_recording() -> Vec<(&'static str, PathBuf)> {
    let seq = workspace().join("fixtures/generated/recorder-seq/DCIM/100MEDIA");
    ["REC_0001.MP4", "REC_0002.MP4", "REC_0003.MP4"]
        .into_iter()
        .zip([
            "DCIM/101MEDIA/REC_0001.MP4",
            "DCIM/101MEDIA/REC_0002.MP4",
            "DCIM/101MEDIA/REC_0003.MP4",
        ])
        .map(|(from, to)| (to, seq.join(from)))
        .collect()
}

/// Puts `files` under `share/cards/NAME/`, every file last written at
/// 2026-11-20 10:00:01 UTC; returns each path's SHA-256.
pub(crate) fn stage(
    s: &Station,
    name: &str,
    files: &[(&str, PathBuf)],
) -> BTreeMap<String, String> {
    let root = s.share().join("cards").join(name);
    let _ = std::fs::remove_dir_all(&root);
    let mut hashes = BTreeMap::new();
    for (path, from) in files {
        let to = root.join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(&to, std::fs::read(from).unwrap()).unwrap();
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_795_168_801);
        std::fs::File::options()
            .write(true)
            .open(&to)
            .unwrap()
            .set_modified(t)
            .unwrap();
        hashes.insert((*path).to_owned(), sha256_file(&to));
    }
    hashes
}

/// One card, plugged, ingested and pulled out: every file in the store
/// byte for byte, the card's own bytes unchanged, the mount gone.
fn round(s: &Station, name: &str, fs: &str, serial: &str) {
    let mut files = card_files();
    if fs == "vfat" {
        files.extend(split_recording());
    }
    let mut hashes = stage(s, name, &files);
    // Written by a recorder whose clock keeps China Standard Time.
    let image = if fs == "exfat" {
        // Its bytes are put in place on the host, unwritten (zeros).
        let image = s.make_card(name, fs, 4200, 480, &[]).unwrap();
        let (path, bytes) = OVER_4_GIB;
        vigil_guest::exfat::add_zeros(&image, path, bytes).unwrap();
        hashes.insert(path.to_owned(), zeros_sha256_bytes(bytes));
        image
    } else {
        s.make_card(name, fs, 64, 480, &[]).unwrap()
    };
    let before = sha256_file(&image);
    s.plug_storage(&image, name, serial).unwrap();
    wait_done(s, serial);
    let mounts = media_mounts(s);
    let line = mounts
        .iter()
        .find(|l| l.contains(&format!("/run/vigil/media/{serial} ")))
        .unwrap_or_else(|| panic!("{serial} mounted: {mounts:?}"));
    for opt in ["ro", "nosuid", "nodev", "noexec", "time_offset=480"] {
        assert!(
            line.split_whitespace()
                .nth(3)
                .unwrap()
                .split(',')
                .any(|o| o == opt),
            "{opt} in {line}"
        );
    }
    let stored: BTreeMap<String, Value> = clips(s)
        .into_iter()
        .filter(|c| c["device"] == serial)
        .map(|c| (c["path"].as_str().unwrap().to_owned(), c))
        .collect();
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        hashes.keys().collect::<Vec<_>>(),
        "{name}: every file stored once"
    );
    for (path, sha) in &hashes {
        assert_eq!(
            stored[path]["sha256"],
            sha.as_str(),
            "{name}: {path} byte-exact"
        );
    }
    // Cards keep local time: 18:00:01 on the card in UTC+8 is 10:00:01
    // UTC. FAT keeps it to 2 s (10:00:00), exFAT to 10 ms.
    let patrol =
        &stored["DCIM/100MEDIA/a recording with a long name made on patrol in the rain.mp4"];
    assert_eq!(patrol["time_source"], "file_mtime", "{patrol:#}");
    let end = if fs == "vfat" {
        "2026-11-20T10:00:00.000Z"
    } else {
        "2026-11-20T10:00:01.000Z"
    };
    assert_eq!(patrol["recorded_end"], end, "{name}: {patrol:#}");
    if fs == "vfat" {
        // The split is no interruption; the pause after it is one.
        let gaps: Vec<(String, String)> = json(s, "vigil gaps --json")["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["device"] == serial)
            .filter(|g| g["path"].as_str().unwrap().starts_with("DCIM/101MEDIA/"))
            .map(|g| {
                (
                    g["kind"].as_str().unwrap().to_owned(),
                    g["path"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            gaps,
            [(
                "between_clips".to_owned(),
                "DCIM/101MEDIA/REC_0003.MP4".to_owned()
            )],
            "{name}"
        );
    }
    s.unplug(name).unwrap();
    wait_for(
        s,
        &format!("{serial} unmounted"),
        Duration::from_secs(60),
        |s| media_mounts(s).is_empty() && sh(s, "ls /run/vigil/media").trim().is_empty(),
    );
    assert_eq!(
        sha256_file(&image),
        before,
        "{name}: the card is evidence too: not one byte written"
    );
}

#[test]
fn recorder_cards_are_mounted_read_only_and_ingested_byte_exact() {
    let s = up("cards");
    // Room in the store for a recording over 4 GiB: the root file system
    // takes the rest of its disk.
    sh(&s, "resize2fs /dev/vda");
    // The station keeps the agency's time, China Standard Time.
    sh(
        &s,
        "ln -sf /usr/share/zoneinfo/Asia/Shanghai /etc/localtime",
    );
    round(&s, "FAT1", "vfat", "REC-FAT1");
    round(&s, "EXFAT1", "exfat", "REC-EXFAT1");
    sh(&s, "vigil verify");

    pulled_out_mid_copy(&s);

    // The journal says what happened in words, names escaped.
    let journal = sh(&s, "journalctl -u vigild -o cat --no-pager");
    assert!(
        journal.contains("REC-FAT1") && journal.contains("REC-EXFAT1"),
        "{journal}"
    );
    assert!(!journal.contains('\u{202e}'), "{journal}");
}

/// The SHA-256 of `mb` MiB of zeros.
pub(crate) fn zeros_sha256(mb: u64) -> String {
    zeros_sha256_bytes(mb << 20)
}

/// The SHA-256 of `n` zero bytes.
fn zeros_sha256_bytes(n: u64) -> String {
    let mut h = sha2::Sha256::new();
    let block = vec![0u8; 1 << 20];
    for _ in 0..n >> 20 {
        h.update(&block);
    }
    h.update(&block[..(n & ((1 << 20) - 1)) as usize]);
    format!("{:x}", h.finalize())
}

/// A recording larger than FAT32 can hold (4 GiB less a byte), as exFAT
/// cards hold it: 4,100 MiB and a part cluster.
const OVER_4_GIB: (&str, u64) = ("DCIM/100MEDIA/BIG_0001.MP4", (4100 << 20) + 12_345);

/// A card pulled out while a large file is being copied: nothing
/// half-copied stored, the dead mount gone; plugged back, the ingest
/// finishes with no duplicate (R6).
fn pulled_out_mid_copy(s: &Station) {
    const BIG: &str = "DCIM/100MEDIA/big\u{202e}4pm.mp4";
    let mut hashes = stage(s, "PULL1", &card_files()[..2]);
    let image = s
        .make_card("PULL1", "exfat", 800, 480, &[(BIG, 640)])
        .unwrap();
    hashes.insert(BIG.to_owned(), zeros_sha256(640));
    s.plug_storage(&image, "pull1", "REC-PULL1").unwrap();
    wait_for(
        s,
        "the large file being copied",
        Duration::from_secs(300),
        |s| {
            recorder(s, "REC-PULL1").is_some_and(|r| {
                r["state"] == "pulling" && r["bytes_done"].as_u64().unwrap_or(0) > 64 << 20
            })
        },
    );
    s.unplug("pull1").unwrap();
    wait_for(s, "the dead mount gone", Duration::from_secs(60), |s| {
        media_mounts(s).is_empty() && sh(s, "ls /run/vigil/media").trim().is_empty()
    });
    let stored: Vec<Value> = clips(s)
        .into_iter()
        .filter(|c| c["device"] == "REC-PULL1")
        .collect();
    assert!(
        stored.iter().all(|c| c["path"] != BIG),
        "nothing half-copied is stored: {stored:#?}"
    );
    for c in &stored {
        assert_eq!(
            c["sha256"],
            hashes[c["path"].as_str().unwrap()].as_str(),
            "{c:#}"
        );
    }
    let audit = sh(s, "vigil audit --json");
    eprintln!(
        "audit after the pull: {}",
        &audit[audit.len().saturating_sub(3000)..]
    );
    sh(s, "vigil verify");

    // Plugged back in: the rest, and nothing twice.
    s.plug_storage(&image, "pull1", "REC-PULL1").unwrap();
    wait_done(s, "REC-PULL1");
    let stored: BTreeMap<String, String> = clips(s)
        .into_iter()
        .filter(|c| c["device"] == "REC-PULL1")
        .map(|c| {
            (
                c["path"].as_str().unwrap().to_owned(),
                c["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(stored, hashes);
    let n = clips(s)
        .iter()
        .filter(|c| c["device"] == "REC-PULL1")
        .count();
    assert_eq!(n, hashes.len(), "no duplicate");
    s.unplug("pull1").unwrap();
}
