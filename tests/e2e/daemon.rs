//! `vigild` end to end (R1, R2, R4, R5, R15): the real daemon, the real
//! dock simulator on a pty, real mounts (directories), real signals. In
//! every case: each file stored exactly once with the original's hash,
//! nothing erased unverified, `vigil verify` clean.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use vigil_e2e::{
    all_done, blake3_file, copy_tree, describe, files_under, fixtures, recorders, DockSim, Vigil,
    Vigild,
};

/// A recorder of `n` files of `mb` MiB of incompressible bytes.
fn big_recorder(dir: &Path, n: usize, mb: usize, seed: u64) {
    std::fs::create_dir_all(dir.join("DCIM")).unwrap();
    let mut x = seed | 1;
    for i in 0..n {
        let mut data = vec![0u8; mb << 20];
        for c in data.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
        }
        std::fs::write(dir.join(format!("DCIM/REC_{:04}.bin", i + 1)), data).unwrap();
    }
}

/// Hashes of every file under `dirs` (the originals).
fn hashes(dirs: &[PathBuf]) -> BTreeSet<String> {
    dirs.iter()
        .flat_map(|d| files_under(d))
        .map(|(_, p)| blake3_file(&p))
        .collect()
}

/// Every original is stored exactly once per (device, path), objects are
/// intact, and the verify pass is clean.
fn assert_stored_once(v: &Vigil, originals: &BTreeSet<String>) {
    let db = v.db();
    let mut stmt = db
        .prepare("SELECT COALESCE(device_serial, ''), path, object FROM clips")
        .unwrap();
    let rows: Vec<(String, Vec<u8>, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let keys: BTreeSet<(String, Vec<u8>)> = rows
        .iter()
        .map(|(d, p, _)| (d.clone(), p.clone()))
        .collect();
    assert_eq!(keys.len(), rows.len(), "a file was stored twice");
    let stored: BTreeSet<String> = rows.iter().map(|r| r.2.clone()).collect();
    for h in originals {
        assert!(stored.contains(h), "original {h} not stored");
    }
    let out = v.run(&["verify", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let verify: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        verify["warnings"].as_array().unwrap().is_empty(),
        "{verify:#}"
    );
}

/// A file missing from a recorder must be in the store (nothing erased
/// unverified).
fn assert_nothing_lost(v: &Vigil, recorder: &Path, originals: &[(String, String)]) {
    let present: BTreeSet<String> = files_under(recorder).into_iter().map(|(r, _)| r).collect();
    let objects: BTreeSet<String> = v
        .object_files()
        .iter()
        .map(|o| o.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for (rel, hash) in originals {
        if !present.contains(rel) {
            assert!(
                objects.contains(hash),
                "{rel} was erased from the recorder but is not in the store"
            );
        }
    }
}

fn originals_of(dir: &Path) -> Vec<(String, String)> {
    files_under(dir)
        .into_iter()
        .map(|(r, p)| (r, blake3_file(&p)))
        .collect()
}

#[test]
fn empties_several_docked_recorders_and_a_mount_unattended() {
    let v = Vigil::new();
    let (a, b) = (v.scratch("a"), v.scratch("b"));
    copy_tree(&fixtures().join("recorder-a"), &a);
    copy_tree(&fixtures().join("recorder-seq"), &b);
    let c = v.scratch("c");
    big_recorder(&c, 2, 1, 7);
    let originals = hashes(&[a.clone(), b.clone(), c.clone()]);
    let sim = DockSim::start(
        v.dir.path(),
        &[
            "--recorder",
            &format!("BWC001:1001:{}", a.display()),
            "--recorder",
            &format!("BWC002:1002:{}", b.display()),
            "--recorder",
            &format!("BWC003:1003:{}", c.display()),
            "--skew",
            "2:-45",
            "--battery",
            "1:12",
        ],
    );
    sim.enroll(&v);
    let media = v.scratch("media");
    let d = vigild_start(&v, sim.path(), &media);
    let srcs: Vec<String> = (0..3)
        .map(|s| format!("dock {} slot {s}", sim.path()))
        .collect();
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    let st = d.wait_for(120, "three docked recorders done", |s| all_done(s, &srcs));
    assert!(files_under(&a).is_empty() && files_under(&b).is_empty() && files_under(&c).is_empty());
    let drift = st["recorders"][srcs[2]]["drift_ms"].as_i64().unwrap();
    assert!((drift + 45_000).abs() < 2_000, "drift {drift}");
    assert_eq!(
        st["recorders"][srcs[1]]["faults"],
        serde_json::json!([1]),
        "low battery reported (R4)"
    );
    // A recorder mount appears: ingested read-only as recorder BWC777.
    let m = media.join("BWC777");
    copy_tree(&fixtures().join("recorder-a"), &m);
    let src = format!("mount {}", m.display());
    d.wait_for(60, "the mount ingested", |s| all_done(s, &[&src]));
    assert_eq!(
        files_under(&m).len(),
        files_under(&fixtures().join("recorder-a")).len(),
        "mounts are only read"
    );
    assert_stored_once(&v, &originals);
    let clips = v.json(&["clips", "--device", "BWC777", "--json"]);
    assert_eq!(
        clips["clips"].as_array().unwrap().len(),
        files_under(&m).len()
    );
    // `vigil status` sees the running daemon.
    let status = v.json(&["status", "--json"]);
    assert_eq!(status["running"], true);
    assert_eq!(recorders(&status).len(), 4);
    let text = v.run(&["status"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("BWC003"),
        "{}",
        describe(&text)
    );
}

fn vigild_start(v: &Vigil, dock: &str, media: &Path) -> Vigild {
    Vigild::start(
        &v.store(),
        &v.dir.path().join("vigild.log"),
        &["--dock", dock, "--watch", media.to_str().unwrap()],
    )
}

fn pulling(src: &str) -> impl Fn(&serde_json::Value) -> bool + '_ {
    move |s| {
        s["recorders"][src]["state"] == "pulling"
            && s["recorders"][src]["bytes_done"].as_u64().unwrap_or(0) > 0
    }
}

#[test]
fn a_recorder_unplugged_mid_transfer_resumes_when_it_comes_back() {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    big_recorder(&rec, 3, 8, 11);
    let originals = originals_of(&rec);
    let sim = DockSim::start(
        v.dir.path(),
        &["--recorder", &format!("BWC020:1020:{}", rec.display())],
    );
    sim.enroll(&v);
    let d = vigild_start(&v, sim.path(), &v.scratch("media"));
    let src = format!("dock {} slot 0", sim.path());
    d.wait_for(60, "pulling", pulling(&src));
    assert_eq!(sim.control("remove 0"), "ok");
    d.wait_for(60, "the recorder gone", |s| {
        s["recorders"][&src].is_null() || s["recorders"][&src]["state"] != "pulling"
    });
    assert_nothing_lost(&v, &rec, &originals);
    assert_eq!(
        sim.control(&format!("insert BWC020:1020:{}", rec.display())),
        "ok"
    );
    d.wait_for(120, "done after replug", |s| all_done(s, &[&src]));
    assert!(files_under(&rec).is_empty());
    assert_stored_once(&v, &originals.iter().map(|o| o.1.clone()).collect());
}

/// A station whose vigild was SIGKILLed while pulling a recorder of three
/// 8 MiB files (`serial`, officer `number`).
struct KilledMidPull {
    v: Vigil,
    rec: PathBuf,
    originals: Vec<(String, String)>,
    sim: DockSim,
    media: PathBuf,
    src: String,
}

fn killed_mid_pull(serial: &str, number: &str, seed: u64) -> KilledMidPull {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    big_recorder(&rec, 3, 8, seed);
    let originals = originals_of(&rec);
    let sim = DockSim::start(
        v.dir.path(),
        &[
            "--recorder",
            &format!("{serial}:{number}:{}", rec.display()),
        ],
    );
    sim.enroll(&v);
    let media = v.scratch("media");
    let src = format!("dock {} slot 0", sim.path());
    let mut d = vigild_start(&v, sim.path(), &media);
    d.wait_for(60, "pulling", pulling(&src));
    d.child.kill().unwrap(); // SIGKILL
    d.child.wait().unwrap();
    KilledMidPull {
        v,
        rec,
        originals,
        sim,
        media,
        src,
    }
}

#[test]
fn sigkill_mid_transfer_then_restart_stores_everything_once() {
    let KilledMidPull {
        v,
        rec,
        originals,
        sim,
        media,
        src,
    } = killed_mid_pull("BWC021", "1021", 13);
    assert_nothing_lost(&v, &rec, &originals);
    let verify = v.run(&["verify"]);
    assert!(
        verify.status.success(),
        "after SIGKILL: {}",
        describe(&verify)
    );
    let d = vigild_start(&v, sim.path(), &media);
    d.wait_for(120, "done after restart", |s| all_done(s, &[&src]));
    assert!(files_under(&rec).is_empty());
    assert_stored_once(&v, &originals.iter().map(|o| o.1.clone()).collect());
    // The killed run is closed as incomplete, and the audit log says why;
    // the run after the restart finished on its own.
    let db = v.db();
    let statuses: Vec<(String, String)> = db
        .prepare(
            "SELECT id, status FROM ingest_runs WHERE source LIKE 'dock%' ORDER BY started_at, id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(statuses.len() >= 2, "{statuses:?}");
    assert_eq!(statuses[0].1, "incomplete", "{statuses:?}");
    assert!(statuses.iter().all(|s| s.1 != "running"), "{statuses:?}");
    let interrupted: Vec<String> = db
        .prepare("SELECT subject FROM audit WHERE action = 'ingest.interrupted'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(interrupted, vec![statuses[0].0.clone()]);
}

/// A host killed mid-pull leaves the dock answering requests nobody waits
/// for. After a real SIGKILL, the killed host's last window (200 reads,
/// more than the pty holds, sent and never read) is left on the link, so
/// the dock is still writing stale answers, the first of them cut, when
/// the next vigild opens it. That vigild resynchronises before its first
/// request: every file stored once, none failed, no stale answer taken for
/// one of its own.
#[test]
fn after_sigkill_the_next_vigild_resynchronises_the_dock_link() {
    let KilledMidPull {
        v,
        rec,
        originals,
        sim,
        media,
        src,
    } = killed_mid_pull("BWC023", "1023", 23);
    {
        let key = vigil_dock::key::station_key(&v.store()).unwrap();
        let mut dead = vigil_dock::Client::connect(sim.path(), &key).unwrap();
        let docking = dead.status().unwrap()[0].recorder.as_ref().unwrap().docking;
        let files = dead.list_files(0, docking).unwrap();
        let len = dead.chunk as u32;
        for i in 0..200 {
            let f = &files[i % files.len()];
            dead.send(vigil_dock::proto::Msg::Read {
                slot: 0,
                docking,
                file: f.id,
                offset: (i as u64 * u64::from(len)) % (f.size - u64::from(len)),
                len,
            })
            .unwrap();
        }
    }
    let d = vigild_start(&v, sim.path(), &media);
    d.wait_for(120, "done after restart", |s| all_done(s, &[&src]));
    assert!(files_under(&rec).is_empty());
    assert_stored_once(&v, &originals.iter().map(|o| o.1.clone()).collect());
    let log = std::fs::read_to_string(&d.log).unwrap();
    let failed: i64 = v
        .db()
        .query_row(
            "SELECT COALESCE(SUM(failed), 0) FROM ingest_runs",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failed, 0, "no file failed: {log}");
    assert!(!log.contains("corrupted frame"), "{log}");
    assert!(
        log.contains("discarded what a previous session left on the link"),
        "the stale answers were on the link when vigild opened it: {log}"
    );
}

/// A file that fails to read (a flaky card) is tried again in the same
/// docking; a file that keeps failing is given up after three attempts and
/// named with its reason in the `ingest.finished` audit row, in `vigil
/// status` and on the desk's station page, which tells the officer the
/// recorder was not emptied.
#[test]
fn a_failed_file_is_retried_and_a_lasting_failure_is_named_everywhere() {
    let v = Vigil::new();
    let made = v.run(&["officers", "add", "1024", "--name", "Ola"]);
    assert!(made.status.success(), "{}", describe(&made));
    let made = v.run(&[
        "user",
        "add",
        "ola",
        "--role",
        "officer",
        "--officer",
        "1024",
    ]);
    assert!(made.status.success(), "{}", describe(&made));
    v.passwd("ola", "officer secret 24");
    let flaky = v.scratch("flaky");
    big_recorder(&flaky, 2, 1, 29);
    let broken = v.scratch("broken");
    big_recorder(&broken, 2, 1, 31);
    let flaky_originals = originals_of(&flaky);
    let sim = DockSim::start(
        v.dir.path(),
        &[
            "--recorder",
            &format!("BWC024:1024:{}", flaky.display()),
            "--recorder",
            &format!("BWC025:1024:{}", broken.display()),
        ],
    );
    sim.enroll(&v);
    // Slot 0 misreads once; slot 1 never reads again.
    assert_eq!(sim.control("read-errors 0 1"), "ok");
    assert_eq!(sim.control("read-errors 1 100000"), "ok");
    let d = Vigild::start(
        &v.store(),
        &v.dir.path().join("vigild.log"),
        &[
            "--dock",
            sim.path(),
            "--watch",
            v.scratch("media").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
    );
    let (src0, src1) = (
        format!("dock {} slot 0", sim.path()),
        format!("dock {} slot 1", sim.path()),
    );
    let status = d.wait_for(180, "both pulls over", |s| {
        all_done(s, &[&src0]) && s["recorders"][&src1]["state"] == "failed"
    });
    // The flaky card: its first file failed once, was tried again and
    // stored; the recorder is empty.
    assert!(files_under(&flaky).is_empty());
    assert_stored_once(&v, &flaky_originals.iter().map(|o| o.1.clone()).collect());
    let db = v.db();
    let retried: Vec<serde_json::Value> = db
        .prepare("SELECT detail FROM audit WHERE action = 'ingest.file_retried' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|d| serde_json::from_str(&d.unwrap()).unwrap())
        .collect();
    let of = |serial: &str| -> Vec<&serde_json::Value> {
        retried.iter().filter(|r| r["device"] == serial).collect()
    };
    assert_eq!(of("BWC024").len(), 1, "{retried:?}");
    assert_eq!(of("BWC024")[0]["path"], "DCIM/REC_0001.bin");
    assert!(of("BWC024")[0]["error"]
        .as_str()
        .unwrap()
        .contains("StorageError"));
    // The broken card: each file tried three times (two retries each),
    // then named with its reason wherever people look.
    assert_eq!(of("BWC025").len(), 4, "{retried:?}");
    assert_eq!(files_under(&broken).len(), 2, "nothing erased");
    let r1 = &status["recorders"][&src1];
    assert_eq!(r1["left_on_recorder"], 2, "{r1}");
    let failed = r1["failed_files"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{r1}");
    for (f, name) in failed
        .iter()
        .zip(["DCIM/REC_0001.bin", "DCIM/REC_0002.bin"])
    {
        assert_eq!(f["path"], name);
        let e = f["error"].as_str().unwrap();
        assert!(
            e.contains("StorageError") && e.contains("attempt 3 of 3"),
            "{e}"
        );
    }
    let finished: serde_json::Value = db
        .query_row(
            "SELECT a.detail FROM audit a JOIN ingest_runs r ON r.id = a.subject \
             WHERE a.action = 'ingest.finished' AND r.device_serial = 'BWC025'",
            [],
            |r| r.get::<_, String>(0),
        )
        .map(|d| serde_json::from_str(&d).unwrap())
        .unwrap();
    assert_eq!(finished["failed"], 2, "{finished}");
    assert_eq!(finished["status"], "incomplete");
    let names: Vec<&str> = finished["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["DCIM/REC_0001.bin", "DCIM/REC_0002.bin"]);
    assert!(finished["failures"][0]["error"]
        .as_str()
        .unwrap()
        .contains("StorageError"));
    let text = v.run(&["status"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("NOT EMPTIED: 2 files left on the recorder")
            && text.contains("failed: DCIM/REC_0002.bin: "),
        "{text}"
    );
    // The officer's station page says so, in English and in Chinese.
    let addr = status["desk"]["addr"].as_str().unwrap();
    let cert = std::fs::read(v.store().join("tls/cert.pem")).unwrap();
    let client = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).unwrap())
        .build()
        .unwrap();
    let login: serde_json::Value = client
        .post(format!("https://{addr}/api/v1/login"))
        .json(&serde_json::json!({"user": "ola", "password": "officer secret 24"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = login["token"].as_str().unwrap();
    for (lang, says) in [
        ("en", "NOT EMPTIED: 2 file(s) left on the recorder"),
        ("zh-CN", "未清空：记录仪上仍有 2 个文件"),
    ] {
        let page = client
            .get(format!("https://{addr}/desk/status"))
            .header("Cookie", format!("vigil_session={token}"))
            .header("Accept-Language", lang)
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(
            page.contains(says) && page.contains("DCIM/REC_0001.bin"),
            "{lang}: {page}"
        );
    }
}

#[test]
fn sigterm_during_transfer_parks_and_exits() {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    big_recorder(&rec, 4, 8, 17);
    let originals = originals_of(&rec);
    let sim = DockSim::start(
        v.dir.path(),
        &["--recorder", &format!("BWC022:1022:{}", rec.display())],
    );
    sim.enroll(&v);
    let media = v.scratch("media");
    let src = format!("dock {} slot 0", sim.path());
    let mut d = vigild_start(&v, sim.path(), &media);
    d.wait_for(60, "pulling", pulling(&src));
    d.signal(libc::SIGTERM);
    let status = d.child.wait().unwrap();
    assert!(
        status.success(),
        "vigild exits cleanly on SIGTERM: {status:?}"
    );
    let log = std::fs::read_to_string(&d.log).unwrap();
    assert!(
        log.contains("SIGTERM") && log.contains("vigild stopped"),
        "{log}"
    );
    assert_nothing_lost(&v, &rec, &originals);
    assert!(v.run(&["verify"]).status.success());
    drop(d);
    let d = vigild_start(&v, sim.path(), &media);
    d.wait_for(120, "done after restart", |s| all_done(s, &[&src]));
    assert_stored_once(&v, &originals.iter().map(|o| o.1.clone()).collect());
}

#[test]
fn a_full_store_takes_no_data_erases_nothing_and_resumes() {
    let v = Vigil::new();
    let store = v.store();
    std::fs::create_dir_all(&store).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(&store)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!("SKIPPED a_full_store_takes_no_data: mounting a tmpfs is not permitted here");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let _guard = Unmount(store.clone());
    // The store is made on the empty tmpfs; then a filler takes most of
    // the space; it goes away later.
    let made = v.run(&["clips"]);
    assert!(made.status.success(), "{}", describe(&made));
    std::fs::write(store.join("filler"), vec![0u8; 14 << 20]).unwrap();
    let rec = v.scratch("rec");
    big_recorder(&rec, 3, 4, 19);
    let originals = originals_of(&rec);
    let sim = DockSim::start(
        v.dir.path(),
        &["--recorder", &format!("BWC023:1023:{}", rec.display())],
    );
    sim.enroll(&v);
    let config = v.dir.path().join("vigild.toml");
    std::fs::write(&config, "min_free_mb = 1\n").unwrap();
    let media = v.scratch("media");
    let d = Vigild::start(
        &store,
        &v.dir.path().join("vigild.log"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--dock",
            sim.path(),
            "--watch",
            media.to_str().unwrap(),
        ],
    );
    d.wait_for(60, "the store reported full", |s| s["store_full"] == true);
    let src = format!("dock {} slot 0", sim.path());
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_nothing_lost(&v, &rec, &originals);
    assert!(
        !files_under(&rec).is_empty(),
        "files that did not fit are still on the recorder"
    );
    let text = v.run(&["status"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("FULL"),
        "{}",
        describe(&text)
    );
    std::fs::remove_file(store.join("filler")).unwrap();
    d.wait_for(120, "done once space returned", |s| {
        all_done(s, &[&src]) && s["store_full"] == false
    });
    assert!(files_under(&rec).is_empty());
    assert_stored_once(&v, &originals.iter().map(|o| o.1.clone()).collect());
}

#[test]
fn the_systemd_units_verify() {
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("SKIPPED the_systemd_units_verify: systemd-analyze is not installed");
        return;
    };
    assert!(out.status.success());
    let v = Vigil::new();
    let dir = v.scratch("units");
    let vigild = vigil_e2e::bin("vigild");
    for unit in ["vigild.service", "vigil-mount@.service"] {
        let text =
            std::fs::read_to_string(vigil_e2e::workspace().join("systemd").join(unit)).unwrap();
        // Point ExecStart at the binary just built (the unit names /usr/bin).
        let text = text.replace("/usr/bin/vigild", vigild.to_str().unwrap());
        std::fs::write(dir.join(unit), text).unwrap();
    }
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.join("vigild.service"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("vigild.service:"),
        "{}",
        describe(&out)
    );
    // Hardened: the exposure figure systemd computes is at most 2.5, and no
    // test leftovers (a pty device allowed) are in the shipped unit.
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(dir.join("vigild.service"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let figure: f64 = text
        .lines()
        .find_map(|l| l.split("exposure level for vigild.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure figure: {}", describe(&out)));
    assert!(figure <= 2.5, "exposure {figure}: {text}");
    let shipped =
        std::fs::read_to_string(vigil_e2e::workspace().join("systemd/vigild.service")).unwrap();
    assert!(!shipped.contains("/dev/pts"), "a test leftover in the unit");
}

#[test]
fn docks_are_hot_plugged_without_a_restart() {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    copy_tree(&fixtures().join("recorder-a"), &rec);
    let originals = hashes(std::slice::from_ref(&rec));
    let docks = v.scratch("docks");
    let media = v.scratch("media");
    // vigild first, watching a glob that matches nothing yet.
    let pattern = format!("{}/do?k", docks.display());
    let d = Vigild::start(
        &v.store(),
        &v.dir.path().join("vigild.log"),
        &["--dock", &pattern, "--watch", media.to_str().unwrap()],
    );
    d.wait_for(30, "vigild up", |s| s["pid"].is_number());
    // The dock appears (plugged in), is enrolled, and its recorder emptied.
    let sim = DockSim::start(
        &docks,
        &["--recorder", &format!("BWC030:1030:{}", rec.display())],
    );
    sim.enroll(&v);
    let src = format!("dock {} slot 0", sim.path());
    d.wait_for(60, "the hot-plugged dock's recorder done", |s| {
        all_done(s, &[&src])
    });
    assert!(files_under(&rec).is_empty());
    assert_stored_once(&v, &originals);
    // The dock goes away (unplugged): vigild shows it lost, with when,
    // forgets its recorders, and keeps running.
    let link = sim.link.clone();
    drop(sim);
    std::fs::remove_file(&link).unwrap();
    let s = d.wait_for(30, "the dock lost in the status", |s| {
        s["docks"]
            .as_object()
            .is_some_and(|m| m.len() == 1 && m.values().all(|d| d["lost_at"].is_string()))
    });
    let dock = s["docks"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(dock["connected"], false, "{dock:#}");
    assert!(
        s["recorders"].as_object().is_some_and(|m| m.is_empty()),
        "{s:#}"
    );
    assert_eq!(v.json(&["status", "--json"])["running"], true);
    let text = String::from_utf8(v.run(&["status"]).stdout).unwrap();
    assert!(text.contains("LOST since "), "{text}");
}

/// `vigil-mount` (what `vigil-mount@.service` runs): an empty or odd serial
/// mounts nothing; an ext4 card is mounted read-only without journal replay.
#[test]
fn the_mount_helper_refuses_bad_serials_and_mounts_ext4_without_replay() {
    let v = Vigil::new();
    let media = v.scratch("media");
    let script = vigil_e2e::workspace().join("systemd/vigil-mount");
    let run = |serial: &str, fstype: &str, args: &[&str]| {
        std::process::Command::new("sh")
            .arg(&script)
            .args(args)
            .env("VIGIL_SERIAL", serial)
            .env("VIGIL_FS_TYPE", fstype)
            .env("VIGIL_MEDIA", &media)
            .output()
            .unwrap()
    };
    for bad in ["", "../../etc", "a b", "-rf"] {
        let out = run(bad, "vfat", &["mount", "/dev/null"]);
        assert_eq!(out.status.code(), Some(3), "{bad:?}: {}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not mounted"),
            "{}",
            describe(&out)
        );
    }
    assert!(
        std::fs::read_dir(&media).unwrap().next().is_none(),
        "nothing made under the mount root"
    );
    // A real ext4 card on a loop device, where this machine allows one.
    let img = v.dir.path().join("card.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(8 << 20)
        .unwrap();
    let made = std::process::Command::new("mkfs.ext4")
        .args(["-q"])
        .arg(&img)
        .status()
        .is_ok_and(|s| s.success());
    let loopdev = std::process::Command::new("losetup")
        .args(["-f", "--show"])
        .arg(&img)
        .output()
        .ok()
        .filter(|o| made && o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let Some(dev) = loopdev else {
        eprintln!("SKIPPED the ext4 case: no mkfs.ext4 or loop devices here");
        return;
    };
    struct Detach(String);
    impl Drop for Detach {
        fn drop(&mut self) {
            let _ = std::process::Command::new("losetup")
                .args(["-d", &self.0])
                .status();
        }
    }
    let _detach = Detach(dev.clone());
    let out = run("BWC042", "ext4", &["mount", &dev]);
    assert!(out.status.success(), "{}", describe(&out));
    let opts = std::process::Command::new("findmnt")
        .args(["-n", "-o", "OPTIONS"])
        .arg(media.join("BWC042"))
        .output()
        .unwrap();
    let opts = String::from_utf8_lossy(&opts.stdout).into_owned();
    let umount = run("BWC042", "ext4", &["umount", &dev]);
    for want in ["ro", "nodev", "nosuid", "noexec", "norecovery"] {
        assert!(
            opts.split(',').any(|o| o.trim() == want),
            "{want} in {opts}"
        );
    }
    assert!(umount.status.success(), "{}", describe(&umount));
    assert!(!media.join("BWC042").exists());
}

/// The store is one account's: a new store is 0700; vigild
/// refuses a store another account owns, naming owner and fix; root starts
/// it `--user` the owner and it drops to that account before opening
/// anything.
#[test]
fn vigild_runs_as_the_stores_owner_only() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let v = Vigil::new();
    assert!(v.run(&["clips"]).status.success());
    let mode = std::fs::metadata(v.store()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "a new store is its owner's alone");
    // Give it to another account: root's vigild refuses it.
    assert!(std::process::Command::new("chown")
        .args(["-R", "61500:61500"])
        .arg(v.store())
        .status()
        .unwrap()
        .success());
    let out = std::process::Command::new(vigil_e2e::bin("vigild"))
        .arg("--store")
        .arg(v.store())
        .arg("--socket=")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is owned by uid:61500 (uid 61500) but vigild runs as root"),
        "{err}"
    );
    assert!(
        err.contains("vigild --user uid:61500") || err.contains("--user"),
        "{err}"
    );
    // Started by root with --user, it drops to the owner and serves.
    let sock_dir = v.scratch("run");
    assert!(std::process::Command::new("chown")
        .arg("61500:61500")
        .arg(&sock_dir)
        .status()
        .unwrap()
        .success());
    assert!(std::process::Command::new("chmod")
        .arg("a+x")
        .arg(v.dir.path())
        .status()
        .unwrap()
        .success());
    let mut child = std::process::Command::new(vigil_e2e::bin("vigild"))
        .arg("--store")
        .arg(v.store())
        .args(["--user", "61500", "--dock", "/nonexistent", "--watch"])
        .arg(v.scratch("media"))
        .arg("--socket")
        .arg(sock_dir.join("vigil.sock"))
        .stderr(std::fs::File::create(v.dir.path().join("vigild.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !sock_dir.join("vigil.sock").exists() {
        assert!(std::time::Instant::now() < deadline, "no socket");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let uid_line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .to_owned();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        uid_line.split_whitespace().skip(1).all(|u| u == "61500"),
        "{uid_line}"
    );
    // Everything it made in the store is the owner's.
    for e in std::fs::read_dir(v.store()).unwrap() {
        let e = e.unwrap();
        assert_eq!(e.metadata().unwrap().uid(), 61500, "{}", e.path().display());
    }
}

/// `vigil-mount` makes a card's directory before it mounts the card there,
/// and at boot the mount can take seconds: an empty directory on the mount
/// root's own file system is a card still being mounted, never a card
/// emptied with nothing on it (a run "complete" with no files would be a
/// wrong answer given with confidence).
#[test]
fn an_empty_directory_under_the_mount_root_waits_for_its_card() {
    let v = Vigil::new();
    let media = v.scratch("media");
    let d = vigild_start(&v, "/nonexistent/dock", &media);
    let m = media.join("BWC808");
    std::fs::create_dir(&m).unwrap();
    // Several settle periods pass: no run for it.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let runs = v.json(&["audit", "--json", "--action", "ingest.started"]);
    assert_eq!(runs["audit"].as_array().unwrap().len(), 0, "{runs:#}");
    // The card's files arrive (the mount completes): ingested.
    copy_tree(&fixtures().join("recorder-a"), &m);
    let src = format!("mount {}", m.display());
    d.wait_for(60, "the card ingested", |s| all_done(s, &[&src]));
    let clips = v.json(&["clips", "--device", "BWC808", "--json"]);
    assert_eq!(
        clips["clips"].as_array().unwrap().len(),
        files_under(&m).len()
    );
}
