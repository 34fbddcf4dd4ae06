//! Issue 9's attacks, each against the real binaries: a hostile dock
//! (`dock-sim`'s swap, drop and flood modes on a real pty), a host killed
//! between `Erase` and its audit row, hostile recorder trees, a damaged or
//! foreign store directory, hostile config and clocks.

use std::collections::BTreeSet;
use std::path::Path;

use vigil_e2e::{blake3_file, describe, files_under, DockSim, Vigil};

/// Writes `len` bytes of noise (distinct per `seed`) to `path`.
fn noise(path: &Path, len: usize, seed: u64) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
}

/// A recorder directory of `n` noise files `DCIM/LOG_000i.BIN` of `len` bytes.
fn noisy_recorder(v: &Vigil, name: &str, n: usize, len: usize, seed: u64) -> std::path::PathBuf {
    let dir = v.scratch(name);
    std::fs::create_dir_all(dir.join("DCIM")).unwrap();
    for i in 1..=n {
        noise(
            &dir.join(format!("DCIM/LOG_{i:04}.BIN")),
            len,
            seed * 100 + i as u64,
        );
    }
    dir
}

fn hashes(dir: &Path) -> BTreeSet<String> {
    files_under(dir)
        .into_iter()
        .map(|(_, p)| blake3_file(&p))
        .collect()
}

fn audit_count(v: &Vigil, action: &str) -> i64 {
    v.db()
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = ?1",
            [action],
            |r| r.get(0),
        )
        .unwrap()
}

/// Item 1: a recorder swapped into the slot mid-pull. Every clip keeps the
/// recorder it came from, nothing of the new recorder is erased as the old
/// one's, and the new recorder is then pulled as itself.
#[test]
fn a_recorder_swapped_mid_pull_is_never_taken_for_the_old_one() {
    let v = Vigil::new();
    let old = noisy_recorder(&v, "old", 4, 1 << 20, 1);
    let new = noisy_recorder(&v, "new", 3, 1 << 20, 2);
    let (old_hashes, new_hashes) = (hashes(&old), hashes(&new));
    let sim = DockSim::start(
        v.dir.path(),
        &["--recorder", &format!("OLD-1:1001:{}", old.display())],
    );
    sim.enroll(&v);
    // Mid-way through the second file of the old recorder.
    let answer = sim.control(&format!(
        "swap-after {} NEW-2:1002:{}",
        (3 << 20) / 2,
        new.display()
    ));
    assert_eq!(answer, "ok");
    let out = v.run(&["dock", "pull", sim.path(), "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", describe(&out)));
    assert!(sim.log_text().contains("swapping the recorder"));

    let db = v.db();
    let mut stmt = db
        .prepare("SELECT device_serial, object, path_display FROM clips")
        .unwrap();
    let clips: Vec<(String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (device, object, path) in &clips {
        let from = match device.as_str() {
            "OLD-1" => &old_hashes,
            "NEW-2" => &new_hashes,
            other => panic!("clip {path} of unknown recorder {other}"),
        };
        assert!(
            from.contains(object),
            "clip {path} stored as {device} holds another recorder's bytes: {doc:#}"
        );
    }
    // The new recorder was pulled as itself: all of it stored under its own
    // serial and erased only then; its docking is in the log.
    let new_stored: BTreeSet<&String> = clips
        .iter()
        .filter(|c| c.0 == "NEW-2")
        .map(|c| &c.1)
        .collect();
    assert_eq!(new_stored.len(), new_hashes.len(), "{doc:#}");
    assert!(files_under(&new).is_empty(), "new recorder emptied");
    let docked: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'device.docked' AND subject = 'NEW-2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(docked, 1);
    // The old recorder: what was stored before the swap was erased; the file
    // in flight was neither stored nor erased (it is still on the card).
    let old_left = hashes(&old);
    let old_stored: BTreeSet<&String> = clips
        .iter()
        .filter(|c| c.0 == "OLD-1")
        .map(|c| &c.1)
        .collect();
    assert!(!old_left.is_empty(), "the swap came before the end");
    for h in &old_hashes {
        assert!(
            old_left.contains(h) != old_stored.contains(h),
            "an old file is either still on its recorder or stored, not both or neither"
        );
    }
    // Every object in the store came from one of the two recorders, whole.
    for obj in v.object_files() {
        let h = blake3_file(&obj);
        assert!(old_hashes.contains(&h) || new_hashes.contains(&h));
    }
    let old_doc = doc["recorders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["serial"] == "OLD-1")
        .unwrap();
    assert!(
        old_doc["stopped"].as_str().unwrap().contains("left slot 0"),
        "{old_doc:#}"
    );
}

/// Item 2: the host dies after the dock erased a file and before the audit
/// row. The intent was logged first, and the next docking settles it from
/// the dock's erase log: every erase is in the audit log.
#[test]
fn an_erase_the_host_died_after_is_settled_from_the_docks_log() {
    let v = Vigil::new();
    let rec = noisy_recorder(&v, "rec", 3, 200_000, 3);
    let sim = DockSim::start(
        v.dir.path(),
        &["--recorder", &format!("BWC-E:1001:{}", rec.display())],
    );
    sim.enroll(&v);
    let out = v
        .cmd()
        .env("VIGIL_FAILPOINT", "dock.erased:1")
        .args(["dock", "pull", sim.path()])
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(9), "{}", describe(&out));
    assert_eq!(files_under(&rec).len(), 2, "the dock erased one file");
    assert_eq!(audit_count(&v, "recorder.erase_requested"), 1);
    assert_eq!(audit_count(&v, "recorder.file_erased"), 0);

    let doc = v.json(&["dock", "pull", sim.path(), "--json"]);
    let r = &doc["recorders"][0];
    assert_eq!(r["reconciled"], serde_json::json!(["DCIM/LOG_0001.BIN"]));
    assert!(files_under(&rec).is_empty());
    let db = v.db();
    let (detail, subject): (String, String) = db
        .query_row(
            "SELECT detail, subject FROM audit WHERE action = 'recorder.file_erased' AND json_extract(detail, '$.reconciled')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(detail.contains("LOG_0001.BIN"), "{detail}");
    let clip_path: String = db
        .query_row(
            "SELECT path_display FROM clips WHERE id = ?1",
            [&subject],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(clip_path, "DCIM/LOG_0001.BIN");
    // Every intent has its outcome; three files, three erasures.
    assert_eq!(audit_count(&v, "recorder.erase_requested"), 3);
    assert_eq!(audit_count(&v, "recorder.file_erased"), 3);
    let verify = v.run(&["verify"]);
    assert!(verify.status.success(), "{}", describe(&verify));
}

/// Item 11: one frame lost on a serial line (the link stays up). The host
/// times out, reopens the same device (closing the old descriptor and its
/// lock first) and resumes at the last verified offset.
#[test]
fn a_dropped_frame_is_resumed_on_the_same_serial_device() {
    let v = Vigil::new();
    let rec = noisy_recorder(&v, "rec", 1, 1 << 20, 4);
    let want = hashes(&rec);
    let sim = DockSim::start(
        v.dir.path(),
        &["--recorder", &format!("BWC-D:1001:{}", rec.display())],
    );
    sim.enroll(&v);
    assert_eq!(sim.control("drop-after 300000"), "ok");
    let doc = v.json(&["dock", "pull", sim.path(), "--json"]);
    let r = &doc["recorders"][0];
    assert!(r["reconnects"].as_u64().unwrap() >= 1, "{r:#}");
    assert!(r["reconnects"].as_u64().unwrap() <= 2, "{r:#}");
    assert_eq!(doc["failed"], serde_json::json!([]), "{doc:#}");
    assert_eq!(doc["files"][0]["blake3"], *want.iter().next().unwrap());
    assert!(sim.log_text().contains("lost a frame"));
    assert!(files_under(&rec).is_empty());
}

/// Item 10: a dock flooding valid events cannot grow the host's memory:
/// the client keeps a bounded queue and counts what it dropped.
#[test]
fn an_event_flood_is_bounded() {
    let v = Vigil::new();
    let rec = noisy_recorder(&v, "rec", 1, 10_000, 5);
    let sim = DockSim::start(
        v.dir.path(),
        &["--recorder", &format!("BWC-F:1001:{}", rec.display())],
    );
    sim.enroll(&v);
    let key: [u8; 32] = std::fs::read(v.store().join("station.key"))
        .unwrap()
        .try_into()
        .unwrap();
    let mut c = vigil_dock::Client::connect(sim.path(), &key).unwrap();
    let ctl = sim.control.clone();
    let flood = std::thread::spawn(move || {
        use std::io::{BufRead, Write};
        let mut s = std::os::unix::net::UnixStream::connect(ctl).unwrap();
        writeln!(s, "flood 20000").unwrap();
        let mut answer = String::new();
        std::io::BufReader::new(s).read_line(&mut answer).unwrap();
        answer
    });
    while !flood.is_finished() {
        c.status().unwrap();
    }
    assert_eq!(flood.join().unwrap().trim(), "ok");
    c.status().unwrap();
    let kept = c.take_events().len();
    assert!(kept <= vigil_dock::client::MAX_EVENTS, "{kept} events kept");
    assert_eq!(kept as u64 + c.events_dropped(), 20_000);
    // And the dock still serves a pull.
    drop(c);
    let doc = v.json(&["dock", "pull", sim.path(), "--json"]);
    assert_eq!(doc["files"].as_array().unwrap().len(), 1);
}
