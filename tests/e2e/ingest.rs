//! `vigil ingest` and `vigil clips` against real fixture trees (and the
//! listings in the reader's language and the station's zone).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use vigil_e2e::{blake3_file, copy_tree, describe, files_under, fixtures, sha256sum, Vigil};

fn recorder(v: &Vigil) -> std::path::PathBuf {
    let dir = v.scratch("recorder");
    copy_tree(&fixtures().join("recorder-a"), &dir);
    dir
}

fn by_path(doc: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    doc["files"]
        .as_array()
        .expect("files array")
        .iter()
        .map(|f| (f["path"].as_str().expect("path").to_owned(), f.clone()))
        .collect()
}

#[test]
fn every_file_is_stored_byte_exact_with_both_hashes() {
    let v = Vigil::new();
    let rec = recorder(&v);
    let doc = v.json(&[
        "ingest",
        rec.to_str().unwrap(),
        "--device",
        "BWC001",
        "--officer",
        "1001",
        "--json",
    ]);
    let files = by_path(&doc);
    let sources = files_under(&rec);
    assert_eq!(files.len(), sources.len(), "{doc:#}");
    for (rel, src) in &sources {
        let f = &files[rel];
        let b3 = blake3_file(src);
        assert_eq!(f["blake3"], b3.as_str(), "{rel}");
        assert_eq!(f["sha256"], sha256sum(src).as_str(), "{rel}");
        assert_eq!(f["bytes"], std::fs::metadata(src).unwrap().len(), "{rel}");
        assert_eq!(f["duplicate"], false, "{rel}");
        let object = v.store().join("objects").join(&b3[..2]).join(&b3);
        assert_eq!(
            std::fs::read(&object).unwrap(),
            std::fs::read(src).unwrap(),
            "{rel}"
        );
        let mode = std::fs::metadata(&object).unwrap().permissions().mode();
        assert_eq!(mode & 0o222, 0, "object of {rel} must be read-only");
        assert!(f["clip"].as_str().unwrap().starts_with('c'));
    }
    assert!(doc["skipped"].as_array().unwrap().is_empty());
    // Only the truncated clip is damaged; the GPS log is not media but is fine.
    let damaged: Vec<&String> = files
        .iter()
        .filter(|(_, f)| f["damaged"] == true)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(damaged, vec!["DCIM/100MEDIA/REC_0003.MP4"]);
    // Nothing but the store's own entries in the store directory (and, when
    // vigild serves it, the daemon's station key and status board).
    let mut top: Vec<String> = std::fs::read_dir(v.store())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("vigil.db"))
        .filter(|n| {
            !v.through_daemon()
                || !["station.key", "vigild.status.json", "vigild.lock"].contains(&n.as_str())
        })
        .collect();
    top.sort();
    assert_eq!(
        top,
        vec![
            "VIGIL-STORE",
            "audit.head",
            "checkpoint.key",
            "checkpoint.pub",
            "objects",
            "tmp"
        ]
    );
}

#[test]
fn reingest_stores_nothing_new_and_reports_duplicates() {
    let v = Vigil::new();
    let rec = recorder(&v);
    let r = rec.to_str().unwrap();
    let first = v.json(&["ingest", r, "--device", "BWC001", "--json"]);
    let objects = v.object_files();
    let mtimes: Vec<_> = objects
        .iter()
        .map(|o| std::fs::metadata(o).unwrap().modified().unwrap())
        .collect();
    let second = v.json(&["ingest", r, "--device", "BWC001", "--json"]);
    assert_eq!(v.object_files(), objects);
    let after: Vec<_> = objects
        .iter()
        .map(|o| std::fs::metadata(o).unwrap().modified().unwrap())
        .collect();
    assert_eq!(mtimes, after, "objects must not be rewritten");
    for (path, f) in by_path(&second) {
        assert_eq!(f["duplicate"], true, "{path}");
        assert_eq!(
            f["clip"],
            by_path(&first)[&path]["clip"],
            "same clip id for {path}"
        );
    }
    let clips = v.json(&["clips", "--json"]);
    assert_eq!(
        clips["clips"].as_array().unwrap().len(),
        files_under(&rec).len()
    );
}

#[test]
fn links_devices_and_fifos_are_reported_and_never_followed() {
    let v = Vigil::new();
    let rec = recorder(&v);
    let outside = v.scratch("outside");
    std::fs::write(
        outside.join("secret.mp4"),
        b"not evidence: must never enter the store",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.join("secret.mp4"),
        rec.join("DCIM/100MEDIA/REC_9999.MP4"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, rec.join("DCIM/escape")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        rec.join("fifo"),
        rustix::fs::FileType::Fifo,
        0o600.into(),
        0,
    )
    .unwrap();
    let device_made = rustix::fs::mknodat(
        rustix::fs::CWD,
        rec.join("null-device"),
        rustix::fs::FileType::CharacterDevice,
        0o600.into(),
        rustix::fs::makedev(1, 3),
    )
    .is_ok();
    let doc = v.json(&["ingest", rec.to_str().unwrap(), "--json"]);
    let skipped: BTreeMap<String, String> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        skipped["DCIM/100MEDIA/REC_9999.MP4"].contains("symbolic link"),
        "{skipped:?}"
    );
    assert!(
        skipped["DCIM/escape"].contains("symbolic link"),
        "{skipped:?}"
    );
    assert!(skipped["fifo"].contains("FIFO"), "{skipped:?}");
    if device_made {
        assert!(
            skipped["null-device"].contains("character device"),
            "{skipped:?}"
        );
    }
    let secret = blake3_file(&outside.join("secret.mp4"));
    assert!(v.object_files().iter().all(|o| !o.ends_with(&secret)));
    assert_eq!(
        by_path(&doc).len(),
        files_under(&fixtures().join("recorder-a")).len()
    );
}

#[test]
fn hostile_file_names_are_stored_and_nothing_is_written_outside_the_store() {
    let v = Vigil::new();
    let rec = v.scratch("recorder");
    let long = "L".repeat(255);
    let names: Vec<&[u8]> = vec![
        b"..evil.mp4",
        b"new\nline.log",
        b"back\\slash.txt",
        b"bad\xff\xfeutf8.log",
        long.as_bytes(),
        "录像_0001.log".as_bytes(),
    ];
    for (i, n) in names.iter().enumerate() {
        std::fs::write(rec.join(OsStr::from_bytes(n)), format!("file {i}")).unwrap();
    }
    // A path far longer than PATH_MAX: 24 levels of 200-byte names.
    let mut deep = rec.clone();
    for i in 0..24 {
        deep = deep.join(format!("{i:02}{}", "d".repeat(198)));
    }
    make_deep(&rec, &deep);
    let siblings_before = listing(v.dir.path());
    let doc = v.json(&["ingest", rec.to_str().unwrap(), "--json"]);
    let files = by_path(&doc);
    assert_eq!(files.len(), names.len() + 1, "{doc:#}");
    assert!(files.contains_key("..evil.mp4"));
    assert!(files.contains_key("new\\x0aline.log"));
    assert!(files.contains_key("back\\\\slash.txt"));
    assert!(files.contains_key("bad\\xff\\xfeutf8.log"));
    assert!(files.contains_key(long.as_str()));
    assert!(files.contains_key("录像_0001.log"));
    assert!(files
        .keys()
        .any(|k| k.ends_with("/deep.log") && k.len() > 4096));
    // The original raw bytes are kept in the index.
    let raw: Vec<Vec<u8>> = v
        .db()
        .prepare("SELECT path FROM clips")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(raw.iter().any(|p| p == b"bad\xff\xfeutf8.log"));
    // A damaged .mp4 ("..evil.mp4" holds text) is stored and flagged.
    assert_eq!(files["..evil.mp4"]["damaged"], true);
    // Outside the store, the temp dir holds exactly what it held before.
    assert_eq!(listing(v.dir.path()), siblings_before);
}

/// Creates the deep chain with *at calls (the full path exceeds PATH_MAX).
fn make_deep(rec: &Path, deep: &Path) {
    let rel = deep.strip_prefix(rec).unwrap();
    let mut fd = rustix::fs::open(rec, rustix::fs::OFlags::DIRECTORY, 0.into()).unwrap();
    for comp in rel.components() {
        rustix::fs::mkdirat(&fd, comp.as_os_str(), 0o755.into()).unwrap();
        fd = rustix::fs::openat(
            &fd,
            comp.as_os_str(),
            rustix::fs::OFlags::DIRECTORY,
            0.into(),
        )
        .unwrap();
    }
    let f = rustix::fs::openat(
        &fd,
        "deep.log",
        rustix::fs::OFlags::CREATE | rustix::fs::OFlags::WRONLY,
        0o644.into(),
    )
    .unwrap();
    rustix::io::write(&f, b"deep").unwrap();
}

/// Every path directly or indirectly under `dir`, except the store.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name != "store" {
            out.push(name);
        }
    }
    out.sort();
    out
}

#[test]
fn the_source_is_never_modified() {
    let v = Vigil::new();
    let rec = recorder(&v);
    let snapshot = |root: &Path| -> Vec<(String, u64, std::time::SystemTime, u32, String)> {
        files_under(root)
            .into_iter()
            .map(|(rel, p)| {
                let m = std::fs::metadata(&p).unwrap();
                (
                    rel,
                    m.len(),
                    m.modified().unwrap(),
                    m.permissions().mode(),
                    blake3_file(&p),
                )
            })
            .collect()
    };
    let before = snapshot(&rec);
    let out = v.run(&["ingest", rec.to_str().unwrap()]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(snapshot(&rec), before);
}

#[test]
fn clips_lists_and_filters_by_officer_and_device() {
    let v = Vigil::new();
    let a = recorder(&v);
    let b = v.scratch("recorder-b");
    std::fs::write(
        b.join("REC_0100.MP4"),
        b"recorder b's only clip (not real media)",
    )
    .unwrap();
    v.json(&[
        "ingest",
        a.to_str().unwrap(),
        "--device",
        "BWC001",
        "--officer",
        "1001",
        "--json",
    ]);
    v.json(&[
        "ingest",
        b.to_str().unwrap(),
        "--device",
        "BWC002",
        "--officer",
        "1002",
        "--json",
    ]);
    let all = v.json(&["clips", "--json"]);
    let n_a = files_under(&a).len();
    assert_eq!(all["clips"].as_array().unwrap().len(), n_a + 1);
    let only_b = v.json(&["clips", "--officer", "1002", "--json"]);
    let clips = only_b["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 1);
    let c = &clips[0];
    assert_eq!(c["path"], "REC_0100.MP4");
    assert_eq!(c["device"], "BWC002");
    assert_eq!(c["officer"], "1002");
    assert_eq!(c["damaged"], true);
    assert_eq!(c["blake3"], blake3_file(&b.join("REC_0100.MP4")).as_str());
    assert!(c["recorded_start"].is_null());
    assert!(c["ingested_at"].as_str().unwrap().ends_with('Z'));
    let dev_a = v.json(&["clips", "--device", "BWC001", "--json"]);
    assert_eq!(dev_a["clips"].as_array().unwrap().len(), n_a);
    let rec1 = dev_a["clips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "DCIM/100MEDIA/REC_0001.MP4")
        .unwrap();
    // Recording time from the container: creation_time + 4 s of media.
    assert_eq!(rec1["recorded_start"], "2026-11-20T08:00:00.000Z");
    let end = rec1["recorded_end"].as_str().unwrap();
    assert!(end.starts_with("2026-11-20T08:00:04"), "{end}");
    // Recorded on 2026-11-20 and ingested now: more than 24 h later (R1).
    assert_eq!(rec1["late_ingest"], true);
    let lenient = v.json(&[
        "clips",
        "--device",
        "BWC001",
        "--late-after",
        "1000000",
        "--json",
    ]);
    assert!(lenient["clips"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["late_ingest"] == false));
    // Text output names every clip.
    let text = v.run(&["clips"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("REC_0100.MP4") && text.contains("DAMAGED"),
        "{text}"
    );
    // The listings follow LANG and show times in the station's zone: the
    // clip recorded at 08:00 UTC was recorded at 16:00 in Beijing.
    let listing = |lang: &str, args: &[&str]| {
        let out = v
            .cmd()
            .env("LANG", lang)
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("VIGIL_TIMEZONE", "Asia/Shanghai")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let zh = listing("zh_CN.UTF-8", &["clips"]);
    for word in [
        "记录仪",
        "开始时间",
        "已损坏",
        "2026-11-20 16:00:00",
        "时间均按北京时间（Asia/Shanghai）显示",
    ] {
        assert!(zh.contains(word), "{word:?} in\n{zh}");
    }
    assert!(
        !zh.contains("DAMAGED") && !zh.contains("2026-11-20T08:00:00Z"),
        "{zh}"
    );
    let en = listing("en_GB.UTF-8", &["clips"]);
    for word in [
        "RECORDER",
        "START",
        "DAMAGED",
        "2026-11-20 16:00:00",
        "Times are shown in China Standard Time (Asia/Shanghai)",
    ] {
        assert!(en.contains(word), "{word:?} in\n{en}");
    }
    let gap = v.ingest_seq_gap();
    let gaps = listing("zh_CN.UTF-8", &["gaps"]);
    assert!(gaps.contains(&gap), "{gaps}");
    for word in ["类型", "两段记录之间的中断", "待说明", "处中断"] {
        assert!(gaps.contains(word), "{word:?} in\n{gaps}");
    }
    let overdue = listing("zh_CN.UTF-8", &["overdue", "--explain-within", "0"]);
    for word in ["仍未说明的中断（R9）", "编号", "两段记录之间的中断"] {
        assert!(overdue.contains(word), "{word:?} in\n{overdue}");
    }
    let devices = listing("zh_CN.UTF-8", &["devices", "list"]);
    for word in ["记录仪", "型号", "BWC002"] {
        assert!(devices.contains(word), "{word:?} in\n{devices}");
    }
    let audit = listing(
        "zh_CN.UTF-8",
        &["audit", "--action", "clip.", "--limit", "1"],
    );
    for word in [
        "序号",
        "操作人",
        "记录已入库",
        "共 1 条",
        "下一页用 `--after",
    ] {
        assert!(audit.contains(word), "{word:?} in\n{audit}");
    }
}

#[test]
fn a_missing_recorder_directory_is_a_clear_error() {
    let v = Vigil::new();
    let out = v.run(&["ingest", "/nonexistent/recorder"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/recorder"), "{err}");
}

#[test]
fn a_full_store_fails_naming_the_file_and_a_rerun_completes() {
    let v = Vigil::new();
    let store = v.store();
    std::fs::create_dir_all(&store).unwrap();
    // A 1.2 MiB tmpfs: the index fits, the big file does not.
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1200k", "tmpfs"])
        .arg(&store)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!(
            "SKIPPED a_full_store_fails_naming_the_file: mounting a tmpfs is not permitted here"
        );
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(store.clone());
    let rec = v.scratch("recorder");
    std::fs::write(rec.join("small.log"), b"fits").unwrap();
    std::fs::write(rec.join("big.mp4"), vec![7u8; 2 << 20]).unwrap();
    let out = v.run(&["ingest", rec.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    // Larger than the whole file system: refused before a byte is copied.
    assert!(
        err.contains("big.mp4") && err.contains("can never fit in the store"),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["failed"][0]["path"], "big.mp4");
    assert_eq!(doc["files"][0]["path"], "small.log");
    assert!(
        std::fs::read_dir(store.join("tmp"))
            .unwrap()
            .next()
            .is_none(),
        "no temp file left"
    );
    // Space returns (the big file shrinks at its source here): the rerun completes.
    std::fs::write(rec.join("big.mp4"), vec![7u8; 100 << 10]).unwrap();
    let again = v.json(&["ingest", rec.to_str().unwrap(), "--json"]);
    assert_eq!(again["files"].as_array().unwrap().len(), 2);
    let verify = v.run(&["verify"]);
    assert!(verify.status.success(), "{}", describe(&verify));
}

/// A recorder whose clock was never set leaves 1970 (or FAT's 1980) on its
/// files: that is no usable time. The recording is stored undated (never
/// placed in a period of 1970, where nobody would look), and the same file
/// with a real time keeps it.
#[test]
fn a_clock_never_set_leaves_the_recording_undated() {
    let v = Vigil::new();
    let card = v.scratch("card");
    for (name, stamp) in [
        ("REC_0001.AVI", "1970-01-01 00:00:05"),
        ("REC_0002.AVI", "2026-11-20 08:00:08"),
    ] {
        let file = card.join(name);
        let mut bytes = std::fs::read(fixtures().join("continuity/hole_video.avi")).unwrap();
        // Each its own bytes (two objects, two clips).
        bytes.extend_from_slice(name.as_bytes());
        std::fs::write(&file, bytes).unwrap();
        let touched = std::process::Command::new("touch")
            .args(["-d", stamp])
            .arg(&file)
            .env("TZ", "UTC")
            .status()
            .unwrap();
        assert!(touched.success());
    }
    v.json(&[
        "ingest",
        card.to_str().unwrap(),
        "--device",
        "BWC001",
        "--json",
    ]);
    let clips = v.json(&["clips", "--json"]);
    let by_name = |n: &str| {
        clips["clips"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["path"] == n)
            .unwrap()
            .clone()
    };
    let unset = by_name("REC_0001.AVI");
    assert!(unset["recorded_start"].is_null(), "{unset:#}");
    let set = by_name("REC_0002.AVI");
    let start = set["recorded_start"].as_str().unwrap();
    assert!(start.starts_with("2026-11-20T08:00:0"), "{set:#}");
}
