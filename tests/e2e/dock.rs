//! The dock path end to end (R2–R5): the real `dock-sim` on a real
//! pseudo-terminal, the real `vigil dock` commands and the store.

use std::collections::BTreeMap;

use vigil_e2e::{blake3_file, copy_tree, describe, files_under, fixtures, DockSim, Vigil};

/// A recorder directory and a pristine copy to compare against.
fn recorder(v: &Vigil, name: &str, fixture: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = v.scratch(name);
    let orig = v.scratch(&format!("{name}-original"));
    copy_tree(&fixtures().join(fixture), &dir);
    copy_tree(&fixtures().join(fixture), &orig);
    (dir, orig)
}

#[test]
fn an_unenrolled_dock_refuses_then_serves_only_its_station() {
    let v = Vigil::new();
    let (a, _) = recorder(&v, "a", "recorder-a");
    let sim = DockSim::start(
        v.dir.path(),
        &["--recorder", &format!("BWC001:1001:{}", a.display())],
    );
    let refused = v.run(&["dock", "status", sim.path()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not enrolled"),
        "{}",
        describe(&refused)
    );
    sim.enroll(&v);
    let status = v.json(&["dock", "status", sim.path(), "--json"]);
    assert_eq!(status["dock"]["serial"], "DOCK-SIM-0001");
    assert_eq!(status["slots"][0]["recorder"]["serial"], "BWC001");
    // Another station (another store, another key) is refused, and both
    // sides log it.
    let other = Vigil::new();
    let out = other.run(&["dock", "status", sim.path()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrong station key"),
        "{}",
        describe(&out)
    );
    let db = other.db();
    let n: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'dock.refused'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    assert!(
        sim.log_text().contains("refused authentication"),
        "{}",
        sim.log_text()
    );
    // And it cannot re-enroll the dock to itself.
    let steal = other.run(&["dock", "enroll", sim.path()]);
    assert!(!steal.status.success());
    assert!(
        String::from_utf8_lossy(&steal.stderr).contains("AlreadyEnrolled"),
        "{}",
        describe(&steal)
    );
    // Nothing was erased by any of this.
    assert_eq!(
        files_under(&a).len(),
        files_under(&fixtures().join("recorder-a")).len()
    );
}

#[test]
fn status_reports_battery_and_faults() {
    let v = Vigil::new();
    let (a, _) = recorder(&v, "a", "recorder-a");
    let (b, _) = recorder(&v, "b", "recorder-seq");
    let sim = DockSim::start(
        v.dir.path(),
        &[
            "--recorder",
            &format!("BWC001:1001:{}", a.display()),
            "--recorder",
            &format!("BWC002:1002:{}", b.display()),
            "--battery",
            "0:15",
            "--fault",
            "1:4",
        ],
    );
    sim.enroll(&v);
    let s = v.json(&["dock", "status", sim.path(), "--json"]);
    assert_eq!(s["slots"][0]["recorder"]["battery_pct"], 15);
    assert_eq!(s["slots"][0]["recorder"]["faults"], serde_json::json!([1]));
    assert_eq!(s["slots"][1]["recorder"]["faults"], serde_json::json!([4]));
    assert_eq!(s["slots"][1]["recorder"]["officer"], "1002");
    assert!(s["slots"][2]["recorder"].is_null());
    // Control: a fault raised while docked shows up.
    assert_eq!(sim.control("fault 0 2"), "ok");
    let s = v.json(&["dock", "status", sim.path(), "--json"]);
    assert_eq!(
        s["slots"][0]["recorder"]["faults"],
        serde_json::json!([1, 2])
    );
    assert!(sim.control("remove 7").starts_with("error"));
}

#[test]
fn pull_empties_recorders_byte_exact_and_erases_only_what_is_verified() {
    let v = Vigil::new();
    let (a, a_orig) = recorder(&v, "a", "recorder-a");
    let (b, b_orig) = recorder(&v, "b", "recorder-seq");
    let sim = DockSim::start(
        v.dir.path(),
        &[
            "--recorder",
            &format!("BWC001:1001:{}", a.display()),
            "--recorder",
            &format!("BWC002:1002:{}", b.display()),
        ],
    );
    sim.enroll(&v);
    let doc = v.json(&["dock", "pull", sim.path(), "--json"]);
    let files: BTreeMap<String, serde_json::Value> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (format!("{}/{}", f["clip"], f["path"]), f.clone()))
        .collect();
    let originals: Vec<_> = files_under(&a_orig)
        .into_iter()
        .chain(files_under(&b_orig))
        .collect();
    assert_eq!(files.len(), originals.len(), "{doc:#}");
    for (rel, path) in &originals {
        let b3 = blake3_file(path);
        let f = files
            .values()
            .find(|f| f["path"] == rel.as_str() && f["blake3"] == b3.as_str());
        assert!(f.is_some(), "{rel} stored byte-exact");
        let object = v.store().join("objects").join(&b3[..2]).join(&b3);
        assert_eq!(std::fs::read(object).unwrap(), std::fs::read(path).unwrap());
    }
    // Every file was verified, then erased from the recorders.
    assert!(files_under(&a).is_empty() && files_under(&b).is_empty());
    let recorders = doc["recorders"].as_array().unwrap();
    assert_eq!(recorders.len(), 2);
    assert_eq!(
        recorders[0]["erased"].as_array().unwrap().len(),
        files_under(&a_orig).len()
    );
    let db = v.db();
    let erased: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'recorder.file_erased'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(erased as usize, originals.len());
    // The damaged clip on recorder A is stored and flagged, like any ingest.
    assert!(files
        .values()
        .any(|f| f["path"] == "DCIM/100MEDIA/REC_0003.MP4" && f["damaged"] == true));
    // Recorder B's interruptions were found.
    let gaps = v.json(&["gaps", "--json", "--device", "BWC002"]);
    let kinds: Vec<&str> = gaps["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"between_clips") && kinds.contains(&"missing_file"),
        "{gaps:#}"
    );
    let verify = v.run(&["verify"]);
    assert!(verify.status.success(), "{}", describe(&verify));
}

#[test]
fn time_sync_records_drift_and_corrects_clip_times() {
    let v = Vigil::new();
    let (a, _) = recorder(&v, "a", "recorder-a");
    let sim = DockSim::start(
        v.dir.path(),
        &[
            "--recorder",
            &format!("BWC001:1001:{}", a.display()),
            "--skew",
            "0:120",
        ],
    );
    sim.enroll(&v);
    let before = v.json(&["dock", "status", sim.path(), "--json"]);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let skew = before["slots"][0]["recorder"]["clock_ms"].as_i64().unwrap() - now_ms;
    assert!(
        (skew - 120_000).abs() < 3_000,
        "recorder clock is 120 s fast: {skew}"
    );
    let doc = v.json(&["dock", "pull", sim.path(), "--keep", "--json"]);
    let drift = doc["recorders"][0]["drift_ms"].as_i64().unwrap();
    assert!((drift - 120_000).abs() < 2_000, "drift {drift}");
    // The clock was set: the recorder now agrees with the host.
    let after = v.json(&["dock", "status", sim.path(), "--json"]);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((after["slots"][0]["recorder"]["clock_ms"].as_i64().unwrap() - now_ms).abs() < 2_000);
    // REC_0001 says it was made at 08:00:00 by a clock 120 s fast.
    let clips = v.json(&["clips", "--json", "--device", "BWC001"]);
    let rec1 = clips["clips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "DCIM/100MEDIA/REC_0001.MP4")
        .unwrap();
    let start = rec1["recorded_start"].as_str().unwrap();
    assert!(
        start.starts_with("2026-11-20T07:58:00") || start.starts_with("2026-11-20T07:57:59"),
        "{start}"
    );
    // --keep: nothing erased.
    assert_eq!(
        files_under(&a).len(),
        files_under(&fixtures().join("recorder-a")).len()
    );
    // The docking is recorded with its drift.
    let db = v.db();
    let d: i64 = db
        .query_row(
            "SELECT drift_ms FROM dockings WHERE device_serial = 'BWC001'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(d, drift);
}

#[test]
fn a_link_cut_mid_transfer_resumes_at_the_verified_offset() {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    let data: Vec<u8> = (0..(3 << 20))
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(rec.join("big.bin"), &data).unwrap();
    std::fs::write(rec.join("small.log"), b"log line\n").unwrap();
    let want = blake3::hash(&data).to_hex().to_string();
    let sim = DockSim::start(
        v.dir.path(),
        &[
            "--recorder",
            &format!("BWC009:1009:{}", rec.display()),
            "--cut-after-bytes",
            "1500000",
        ],
    );
    sim.enroll(&v);
    let doc = v.json(&["dock", "pull", sim.path(), "--json"]);
    assert!(
        doc["recorders"][0]["reconnects"].as_u64().unwrap() >= 1,
        "{doc:#}"
    );
    let big = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "big.bin")
        .unwrap();
    assert_eq!(big["blake3"], want.as_str());
    assert_eq!(big["bytes"], data.len());
    assert!(
        sim.log_text().contains("cutting the host link"),
        "{}",
        sim.log_text()
    );
    assert!(files_under(&rec).is_empty(), "verified files are erased");
    assert!(v.run(&["verify"]).status.success());
}

#[test]
fn erase_with_a_wrong_hash_is_refused_by_the_dock() {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    std::fs::write(rec.join("REC_0001.MP4"), b"not yet stored anywhere").unwrap();
    let sim = DockSim::start(
        v.dir.path(),
        &["--recorder", &format!("BWC010:1010:{}", rec.display())],
    );
    sim.enroll(&v);
    let key: [u8; 32] = std::fs::read(v.store().join("station.key"))
        .unwrap()
        .try_into()
        .unwrap();
    let mut c = vigil_dock::Client::connect(sim.path(), &key).unwrap();
    let docking = c.status().unwrap()[0].recorder.as_ref().unwrap().docking;
    let files = c.list_files(0, docking).unwrap();
    let f = &files[0];
    let real = blake3::hash(b"not yet stored anywhere");
    let wrong = c.erase(0, docking, f.id, f.size, [0u8; 32]).unwrap_err();
    assert!(wrong.to_string().contains("HashMismatch"), "{wrong}");
    let short = c
        .erase(0, docking, f.id, f.size - 1, *real.as_bytes())
        .unwrap_err();
    assert!(short.to_string().contains("HashMismatch"), "{short}");
    assert!(rec.join("REC_0001.MP4").exists(), "nothing erased");
    assert!(sim.log_text().contains("refused to erase"));
}

#[test]
fn garbage_on_the_line_does_not_break_the_dock() {
    use std::io::Write;
    let v = Vigil::new();
    let (a, _) = recorder(&v, "a", "recorder-a");
    let sim = DockSim::start(
        v.dir.path(),
        &["--recorder", &format!("BWC001:1001:{}", a.display())],
    );
    sim.enroll(&v);
    // Line noise straight into the pty, then a normal session.
    let mut tty = std::fs::OpenOptions::new()
        .write(true)
        .open(&sim.link)
        .unwrap();
    let noise: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(747796405) >> 7) as u8)
        .collect();
    tty.write_all(&noise).unwrap();
    tty.write_all(&[0]).unwrap();
    drop(tty);
    let s = v.json(&["dock", "status", sim.path(), "--json"]);
    assert_eq!(s["slots"][0]["recorder"]["serial"], "BWC001");
}

/// Reads one usbredir packet (`ids64`: the 16-byte header) from `s`:
/// (type, body).
fn redir_packet(s: &mut std::os::unix::net::UnixStream, ids64: bool) -> (u32, Vec<u8>) {
    use std::io::Read;
    let mut h = vec![0u8; if ids64 { 16 } else { 12 }];
    s.read_exact(&mut h).expect("a usbredir header");
    let kind = u32::from_le_bytes(h[0..4].try_into().unwrap());
    let len = u32::from_le_bytes(h[4..8].try_into().unwrap()) as usize;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).expect("a usbredir body");
    (kind, body)
}

/// One virtual machine's connection to `dock-sim --usbredir`: hellos
/// exchanged, the device announced (interface, endpoints, 1209:7d01).
fn redir_session(sock: &std::path::Path) -> std::os::unix::net::UnixStream {
    use std::io::Write;
    let mut s = std::os::unix::net::UnixStream::connect(sock).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let (kind, body) = redir_packet(&mut s, false);
    assert_eq!(kind, 0, "hello first");
    assert!(String::from_utf8_lossy(&body[..64]).starts_with("vigil dock-sim"));
    let mut hello = vec![0u8; 12];
    let mut body = b"qemu".to_vec();
    body.resize(64, 0);
    body.extend_from_slice(&((1u32 << 5) | (1 << 4) | (1 << 1) | (1 << 6)).to_le_bytes());
    hello[4..8].copy_from_slice(&(body.len() as u32).to_le_bytes());
    hello.extend_from_slice(&body);
    s.write_all(&hello).unwrap();
    let kinds: Vec<u32> = (0..3).map(|_| redir_packet(&mut s, true).0).collect();
    assert_eq!(
        kinds,
        [4, 5, 1],
        "interface info, endpoint info, device connect"
    );
    s
}

#[test]
fn the_usbredir_dock_serves_each_new_connection_and_survives_garbage() {
    let v = Vigil::new();
    let (rec, _) = recorder(&v, "BWC301", "recorder-a");
    let sim = DockSim::usbredir(
        v.dir.path(),
        &["--recorder", &format!("BWC301:1002:{}", rec.display())],
    );
    drop(redir_session(&sim.link));
    // Plugged in again: a new session from the start.
    let mut s = redir_session(&sim.link);
    // A peer speaking nonsense is dropped, and the next one is served.
    use std::io::{Read, Write};
    s.write_all(&[0xff; 64]).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    drop(s);
    drop(redir_session(&sim.link));
    assert!(
        sim.log_text().contains("dropping the usbredir connection"),
        "{}",
        sim.log_text()
    );
}
