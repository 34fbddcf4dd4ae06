//! Continuity (R7, R8): Vigil's gaps against the known holes in the
//! fixtures and against ffprobe's packet timestamps, the gap log across
//! files, and the explanation workflow.

use std::collections::BTreeMap;

use vigil_e2e::{copy_tree, describe, ffprobe_gaps, fixtures, Vigil};

/// One frame of tolerance: 25 fps video.
const FRAME: f64 = 0.04;

/// The holes each fixture has, by construction (make-fixtures.sh): frames
/// with 3 <= t <= 5 removed, so video resumes at 5.04 s and audio at
/// ~5.013 s; AVI cannot hold a hole in PCM audio (no timestamps).
fn known() -> BTreeMap<&'static str, Vec<(&'static str, f64, f64)>> {
    let av = vec![("video", 3.0, 2.04), ("audio", 3.0, 2.0)];
    BTreeMap::from([
        ("clean.mp4", vec![]),
        ("clean.wav", vec![]),
        ("clean.mp3", vec![]),
        ("silent.mp4", vec![]),
        ("dropped_frame.mp4", vec![]),
        ("late_audio.mp4", vec![]),
        ("hole_av.mp4", av.clone()),
        ("hole_bframes.mp4", av.clone()),
        ("hole_hevc.mp4", av.clone()),
        ("hole_frag.mp4", av.clone()),
        ("hole.ts", av.clone()),
        ("hole_audio.mp4", vec![("audio", 3.0, 2.0)]),
        ("hole.m4a", vec![("audio", 3.0, 2.0)]),
        ("hole_video_tmcd.mov", vec![("video", 3.0, 2.04)]),
        ("hole_video.avi", vec![("video", 3.0, 2.04)]),
    ])
}

pub(crate) fn analyze(
    v: &Vigil,
    files: &[std::path::PathBuf],
) -> BTreeMap<String, serde_json::Value> {
    let mut args = vec!["analyze".to_owned(), "--json".to_owned()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let doc = v.json(&args);
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let name = std::path::Path::new(f["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, f.clone())
        })
        .collect()
}

fn vigil_gaps(a: &serde_json::Value) -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    for s in a["streams"].as_array().unwrap() {
        for g in s["gaps"].as_array().unwrap() {
            out.push((
                s["kind"].as_str().unwrap().to_owned(),
                g["offset_s"].as_f64().unwrap(),
                g["duration_s"].as_f64().unwrap(),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    out
}

fn assert_same(file: &str, what: &str, got: &[(String, f64, f64)], want: &[(String, f64, f64)]) {
    assert_eq!(
        got.len(),
        want.len(),
        "{file}: vigil {got:?} vs {what} {want:?}"
    );
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.0, w.0, "{file}: stream kind ({what})");
        assert!(
            (g.1 - w.1).abs() <= FRAME,
            "{file}: offset {} vs {what} {}",
            g.1,
            w.1
        );
        assert!(
            (g.2 - w.2).abs() <= FRAME,
            "{file}: duration {} vs {what} {}",
            g.2,
            w.2
        );
    }
}

#[test]
fn every_container_reports_exactly_its_holes() {
    let v = Vigil::new();
    let dir = fixtures().join("continuity");
    let known = known();
    let files: Vec<_> = known.keys().map(|f| dir.join(f)).collect();
    let results = analyze(&v, &files);
    for (file, holes) in &known {
        let a = &results[*file];
        assert!(a["error"].is_null(), "{file}: {a:#}");
        assert!(a["damaged"].is_null(), "{file} is not damaged: {a:#}");
        let got = vigil_gaps(a);
        let mut want: Vec<(String, f64, f64)> = holes
            .iter()
            .map(|(k, o, d)| ((*k).to_owned(), *o, *d))
            .collect();
        want.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        // Offsets in MPEG-TS and fragmented MP4 are from the container start,
        // which the remux put one AAC priming frame earlier.
        let shifted = matches!(*file, "hole.ts" | "hole_frag.mp4");
        let want_known: Vec<_> = want
            .iter()
            .map(|(k, o, d)| (k.clone(), if shifted { o + 0.0213 } else { *o }, *d))
            .collect();
        assert_same(file, "known holes", &got, &want_known);
        let mut reference = ffprobe_gaps(&dir.join(file), 1.0);
        reference.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        assert_same(file, "ffprobe", &got, &reference);
    }
}

#[test]
fn stream_details_dropped_frames_late_audio_and_data_tracks() {
    let v = Vigil::new();
    let dir = fixtures().join("continuity");
    let r = analyze(
        &v,
        &[
            dir.join("dropped_frame.mp4"),
            dir.join("late_audio.mp4"),
            dir.join("hole_video_tmcd.mov"),
            dir.join("hole_av.mp4"),
        ],
    );
    let video = |f: &str| {
        r[f]["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "video")
            .unwrap()
            .clone()
    };
    let audio = |f: &str| {
        r[f]["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "audio")
            .unwrap()
            .clone()
    };
    assert_eq!(video("dropped_frame.mp4")["dropped_frames"], 1);
    assert_eq!(audio("dropped_frame.mp4")["dropped_frames"], 0);
    let late = audio("late_audio.mp4")["start_s"].as_f64().unwrap();
    assert!((late - 1.0).abs() <= FRAME, "audio starts {late}");
    assert_eq!(video("late_audio.mp4")["start_s"], 0.0);
    // The timecode track is neither audio nor video: not analysed.
    assert_eq!(
        r["hole_video_tmcd.mov"]["streams"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // MP4 is analysed from its sample index: no media data is read.
    assert_eq!(r["hole_av.mp4"]["method"], "index");
    // The muxer stretched the last frame before the hole; the frame length
    // is still the nominal 40 ms.
    assert!((video("hole_av.mp4")["frame_s"].as_f64().unwrap() - 0.04).abs() < 1e-6);
}

#[test]
fn a_truncated_faststart_clip_is_damaged_with_its_readable_duration() {
    let v = Vigil::new();
    let dir = fixtures().join("continuity");
    let r = analyze(&v, &[dir.join("truncated_faststart.mp4")]);
    let a = &r["truncated_faststart.mp4"];
    let why = a["damaged"].as_str().expect("damaged");
    assert!(why.contains("ends early"), "{why}");
    let readable = a["duration_s"].as_f64().unwrap();
    assert!(readable > 3.0 && readable < 6.0, "readable {readable}");
    // Ingested, it is stored byte-exact and flagged.
    let rec = v.scratch("rec");
    std::fs::copy(
        dir.join("truncated_faststart.mp4"),
        rec.join("REC_0001.MP4"),
    )
    .unwrap();
    let doc = v.json(&["ingest", rec.to_str().unwrap(), "--json"]);
    assert_eq!(doc["files"][0]["damaged"], true);
    assert!(doc["files"][0]["damage_reason"]
        .as_str()
        .unwrap()
        .contains("readable duration"));
}

fn ingest_seq(v: &Vigil) -> serde_json::Value {
    v.ingest_seq_with(&[]);
    v.json(&["gaps", "--json"])
}

#[test]
fn pauses_and_missing_files_between_segments_are_interruptions() {
    let v = Vigil::new();
    let doc = ingest_seq(&v);
    let gaps = doc["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 2, "{doc:#}");
    let between = gaps
        .iter()
        .find(|g| g["kind"] == "between_clips")
        .expect("between_clips");
    assert_eq!(between["path"], "DCIM/100MEDIA/REC_0003.MP4");
    assert_eq!(between["previous_path"], "DCIM/100MEDIA/REC_0002.MP4");
    assert!(
        (between["duration_s"].as_f64().unwrap() - 30.0).abs() <= FRAME,
        "{between:#}"
    );
    assert!(between["stream"].is_null() && between["offset_s"].is_null());
    assert_eq!(between["status"], "open");
    assert!(between["explanation"].is_null());
    let missing = gaps
        .iter()
        .find(|g| g["kind"] == "missing_file")
        .expect("missing_file");
    assert_eq!(missing["path"], "DCIM/100MEDIA/REC_0005.MP4");
    assert_eq!(missing["previous_path"], "DCIM/100MEDIA/REC_0003.MP4");
    assert_eq!(missing["missing"], "4");
    // 0006 an hour later starts a new session: no interruption.
    assert!(gaps
        .iter()
        .all(|g| g["path"] != "DCIM/100MEDIA/REC_0006.MP4"));
    // Ingesting again finds the same interruptions, not new rows.
    let rec = v.dir.path().join("recorder-seq");
    v.json(&[
        "ingest",
        rec.to_str().unwrap(),
        "--device",
        "BWC002",
        "--officer",
        "1002",
        "--json",
    ]);
    assert_eq!(
        v.json(&["gaps", "--json"])["gaps"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A larger join window would not change that; a smaller one splits the
    // 30 s pause into separate sessions.
    let v2 = Vigil::new();
    let rec2 = v2.scratch("r");
    copy_tree(&fixtures().join("recorder-seq"), &rec2);
    v2.json(&[
        "ingest",
        rec2.to_str().unwrap(),
        "--device",
        "X",
        "--join-window",
        "20",
        "--json",
    ]);
    let kinds: Vec<String> = v2.json(&["gaps", "--json"])["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, vec!["missing_file"]);
}

#[test]
fn within_clip_gaps_are_logged_at_ingest() {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    std::fs::copy(
        fixtures().join("continuity/hole_av.mp4"),
        rec.join("REC_0001.MP4"),
    )
    .unwrap();
    v.json(&[
        "ingest",
        rec.to_str().unwrap(),
        "--device",
        "BWC004",
        "--officer",
        "1004",
        "--json",
    ]);
    let doc = v.json(&["gaps", "--json", "--device", "BWC004"]);
    let gaps = doc["gaps"].as_array().unwrap();
    let streams: Vec<&str> = gaps.iter().map(|g| g["stream"].as_str().unwrap()).collect();
    assert_eq!(streams.len(), 2, "{doc:#}");
    assert!(streams.contains(&"video") && streams.contains(&"audio"));
    for g in gaps {
        assert_eq!(g["kind"], "within_clip");
        assert_eq!(g["path"], "REC_0001.MP4");
        assert!((g["offset_s"].as_f64().unwrap() - 3.0).abs() <= FRAME);
    }
    assert!(v.json(&["gaps", "--json", "--device", "OTHER"])["gaps"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        v.json(&["gaps", "--json", "--officer", "1004"])["gaps"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn explanations_written_and_spoken() {
    let v = Vigil::new();
    let doc = ingest_seq(&v);
    let gaps = doc["gaps"].as_array().unwrap();
    let id = |kind: &str| {
        gaps.iter().find(|g| g["kind"] == kind).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let between = id("between_clips");
    let missing = id("missing_file");

    // Written: filed and signed in one officer's session, complete only when
    // a second registered officer signs in theirs (R8).
    for (officer, user) in [("1002", "o1002"), ("1007", "o1007"), ("1008", "o1008")] {
        let out = v.run(&["officers", "add", officer]);
        assert!(out.status.success(), "{}", describe(&out));
        let out = v.run(&[
            "user",
            "add",
            user,
            "--role",
            "officer",
            "--officer",
            officer,
        ]);
        assert!(out.status.success(), "{}", describe(&out));
    }
    let typed = v.run(&[
        "--as",
        "o1002",
        "explain",
        &between,
        "--written",
        "battery swap",
        "--signed-by",
        "7777",
    ]);
    assert!(!typed.status.success());
    assert!(
        String::from_utf8_lossy(&typed.stderr).contains("vigil sign"),
        "{}",
        describe(&typed)
    );
    let no_officer = v.run(&["explain", &between, "--written", "battery swap"]);
    assert!(!no_officer.status.success());
    assert!(
        String::from_utf8_lossy(&no_officer.stderr).contains("has no officer id"),
        "{}",
        describe(&no_officer)
    );
    let filed = v.json(&[
        "--as",
        "o1002",
        "explain",
        &between,
        "--written",
        "battery swap",
        "--json",
    ]);
    let eid = filed["id"].as_str().unwrap().to_owned();
    let status_of = |v: &Vigil| {
        v.json(&["gaps", "--json"])["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == between.as_str())
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status_of(&v), "awaiting_signatures");
    assert!(v.json(&["gaps", "--open", "--json"])["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["id"] == between.as_str()));
    let twice = v.run(&["--as", "o1002", "sign", &eid]);
    assert!(!twice.status.success());
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("has signed explanation"),
        "{}",
        describe(&twice)
    );
    let ok = v.json(&["--as", "o1007", "sign", &eid, "--json"]);
    assert_eq!(ok["status"], "explained");
    assert_eq!(status_of(&v), "explained");

    // Spoken: the offset must be inside the clip, and the audio there loud.
    let out_of_clip = v.run(&[
        "explain", &missing, "--spoken", "--at", "99", "--by", "1002",
    ]);
    assert!(!out_of_clip.status.success());
    assert!(
        String::from_utf8_lossy(&out_of_clip.stderr).contains("not in it"),
        "{}",
        describe(&out_of_clip)
    );
    let spoken = v.run(&[
        "explain", &missing, "--spoken", "--at", "0.5", "--by", "1002", "--json",
    ]);
    assert!(spoken.status.success(), "{}", describe(&spoken));
    let e: serde_json::Value = serde_json::from_slice(&spoken.stdout).unwrap();
    assert_eq!(e["kind"], "spoken");
    assert!(e["level_dbfs"].as_f64().unwrap() > -50.0, "{e:#}");

    let after = v.json(&["gaps", "--json"]);
    for g in after["gaps"].as_array().unwrap() {
        assert_eq!(g["status"], "explained", "{g:#}");
    }
    assert!(v.json(&["gaps", "--open", "--json"])["gaps"]
        .as_array()
        .unwrap()
        .is_empty());
    let b = after["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == between.as_str())
        .unwrap();
    assert_eq!(b["explanation"]["kind"], "written");
    assert_eq!(
        b["explanation"]["officers"],
        serde_json::json!(["1002", "1007"])
    );

    // A new explanation supersedes; the old one stays in the database.
    let again = v.run(&[
        "--as",
        "o1008",
        "explain",
        &between,
        "--written",
        "card full, swapped",
        "--json",
    ]);
    assert!(again.status.success(), "{}", describe(&again));
    let e2: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(e2["supersedes"], b["explanation"]["id"]);
    // The superseded one can no longer be signed.
    let old = v.run(&["--as", "o1007", "sign", &eid]);
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("superseded"),
        "{}",
        describe(&old)
    );
    let db = v.db();
    let n: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM explanations WHERE gap = ?1",
            [&between],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 2);
    assert!(
        db.execute("UPDATE explanations SET text = 'x'", [])
            .is_err(),
        "explanations are never edited"
    );
    let audited: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'gap.explained'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 3);
    drop(db);
    assert_eq!(v.json(&["verify", "--json"])["ok"], true);
}

#[test]
fn a_spoken_explanation_over_silence_is_refused() {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    std::fs::copy(
        fixtures().join("continuity/hole_av.mp4"),
        rec.join("REC_0001.MP4"),
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("continuity/silent.mp4"),
        rec.join("SILENT_01.MP4"),
    )
    .unwrap();
    let doc = v.json(&["ingest", rec.to_str().unwrap(), "--json"]);
    assert!(v.run(&["officers", "add", "1001"]).status.success());
    let silent_clip = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "SILENT_01.MP4")
        .unwrap()["clip"]
        .as_str()
        .unwrap()
        .to_owned();
    let gap = v.json(&["gaps", "--json"])["gaps"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = v.run(&[
        "explain",
        &gap,
        "--spoken",
        "--at",
        "2",
        "--clip",
        &silent_clip,
        "--by",
        "1001",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("silent"),
        "{}",
        describe(&out)
    );
    // Where recording resumed, the tone is back: accepted.
    let hole = v.run(&["explain", &gap, "--spoken", "--at", "5.5", "--by", "1001"]);
    assert!(
        hole.status.success(),
        "sound resumes at 5.04 s: {}",
        describe(&hole)
    );
}

#[test]
fn open_gaps_past_the_deadline_are_overdue_and_listed_first() {
    let v = Vigil::new();
    ingest_seq(&v);
    let doc = v.json(&["gaps", "--json", "--deadline", "0"]);
    assert!(doc["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["overdue"] == true));
    let doc = v.json(&["gaps", "--json"]);
    assert!(doc["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["overdue"] == false));
    let text = v.run(&["gaps", "--deadline", "0"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("OVERDUE"));
    // --since filters by wall-clock time of the interruption.
    assert_eq!(
        v.json(&["gaps", "--json", "--since", "2026-11-21"])["gaps"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        v.json(&["gaps", "--json", "--since", "2026-11-20"])["gaps"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let bad = v.run(&["gaps", "--since", "yesterday"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since"));
}

/// The interruptions of one file as (stream, kind, offset, duration).
pub(crate) fn kinds(a: &serde_json::Value) -> Vec<(String, String, f64, f64)> {
    let mut out = Vec::new();
    for s in a["streams"].as_array().unwrap() {
        for g in s["gaps"].as_array().unwrap() {
            out.push((
                s["kind"].as_str().unwrap().to_owned(),
                g["kind"].as_str().unwrap().to_owned(),
                g["offset_s"].as_f64().unwrap(),
                g["duration_s"].as_f64().unwrap(),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)));
    out
}

/// Cases seen in real recordings, each made the way the camera
/// makes it (fixtures/make-fixtures.sh), against the truth written here.
#[test]
fn real_recording_cases() {
    let v = Vigil::new();
    let dir = fixtures().join("continuity");
    let names = [
        "restart.ts",
        "truncated.avi",
        "truncated.wav",
        "truncated.mkv",
        "truncated.flv",
        "truncated.mxf",
        "vfr.mp4",
        "audio_stops.mp4",
    ];
    let files: Vec<_> = names.iter().map(|f| dir.join(f)).collect();
    let r = analyze(&v, &files);
    // A recorder that rebooted mid-file: timestamps start over at 4 s. The
    // restart is an interruption of each stream, where it happened, and the
    // recording is 8 s long, not 4.
    let restart = &r["restart.ts"];
    assert!(restart["damaged"].is_null(), "{restart:#}");
    let k = kinds(restart);
    assert_eq!(k.len(), 2, "{k:?}");
    for (stream, kind, at, _) in &k {
        assert_eq!(kind, "restart", "{stream}: {k:?}");
        assert!((at - 4.0).abs() <= 0.1, "{stream} restarts at {at}");
    }
    let length = restart["duration_s"].as_f64().unwrap();
    assert!((length - 8.0).abs() <= 0.1, "readable length {length}");
    // Cut at half: every container says so, with the readable span.
    for f in [
        "truncated.avi",
        "truncated.wav",
        "truncated.mkv",
        "truncated.flv",
        "truncated.mxf",
    ] {
        let a = &r[f];
        let why = a["damaged"]
            .as_str()
            .unwrap_or_else(|| panic!("{f} is damaged: {a:#}"));
        assert!(why.contains("truncated"), "{f}: {why}");
        let readable = a["duration_s"].as_f64().unwrap();
        assert!(
            (3.0..=4.5).contains(&readable),
            "{f}: {readable} s readable"
        );
        assert!(why.contains(&format!("{readable:.3} s")), "{f}: {why}");
    }
    // Timestamps that wrap at 2^33 are continuous: no restart.
    let wrap = analyze(&v, &[dir.join("wrap.ts")]);
    assert!(kinds(&wrap["wrap.ts"]).is_empty(), "{:#}", wrap["wrap.ts"]);
    assert!((wrap["wrap.ts"]["duration_s"].as_f64().unwrap() - 8.0).abs() <= 0.1);
    // Garbage over part of a Matroska cluster: FFmpeg skips it silently;
    // the file is damaged, saying so.
    let corrupt = analyze(&v, &[dir.join("corrupt_cluster.mkv")]);
    let why = corrupt["corrupt_cluster.mkv"]["damaged"]
        .as_str()
        .unwrap_or_default();
    assert!(
        why.contains("skipped corrupt data"),
        "{:#}",
        corrupt["corrupt_cluster.mkv"]
    );
    // Variable frame rate (30 then 20 fps) is not a dropped frame.
    let vfr = &r["vfr.mp4"];
    assert!(vfr["damaged"].is_null(), "{vfr:#}");
    assert_eq!(vfr["streams"][0]["dropped_frames"], 0, "{vfr:#}");
    assert!(kinds(vfr).is_empty(), "{vfr:#}");
    // The same as ffprobe's presentation timestamps say.
    assert!(ffprobe_gaps(&dir.join("vfr.mp4"), 1.0).is_empty());
    // Audio that stops 10 s before the video: an interruption of the audio.
    let stops = kinds(&r["audio_stops.mp4"]);
    assert_eq!(stops.len(), 1, "{stops:?}");
    let (stream, kind, at, lasted) = &stops[0];
    assert_eq!(
        (stream.as_str(), kind.as_str()),
        ("audio", "stream_stopped")
    );
    assert!(
        (at - 6.0).abs() <= 0.05 && (lasted - 10.0).abs() <= 0.05,
        "{stops:?}"
    );
    // At ingest each becomes an interruption that needs an explanation.
    let card = v.scratch("card");
    for f in ["restart.ts", "audio_stops.mp4"] {
        std::fs::copy(dir.join(f), card.join(f)).unwrap();
    }
    let out = v.run(&[
        "ingest",
        card.to_str().unwrap(),
        "--device",
        "BWC1",
        "--officer",
        "1",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let gaps = v.json(&["gaps", "--json"]);
    let mut seen: Vec<(String, String)> = gaps["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["kind"].as_str().unwrap().to_owned(),
                g["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("restart".to_owned(), "open".to_owned()),
            ("restart".to_owned(), "open".to_owned()),
            ("stream_stopped".to_owned(), "open".to_owned()),
        ],
        "{gaps:#}"
    );
}

/// MP4/MOV as phones and cameras write them: presentation time
/// (composition offsets applied), and edit lists read rather than applied,
/// so that a cut is reported as one and an ordinary edit list stays clean.
#[test]
fn mp4_presentation_time_and_edit_lists() {
    let v = Vigil::new();
    let dir = fixtures().join("continuity");
    let names = [
        "editlist_skip.mp4",
        "editlist_empty.mp4",
        "editlist_leading.mp4",
        "aac_tail_trim.mp4",
        "bunched_dts.mp4",
        "ima4.mov",
        "hole_bframes.mp4",
    ];
    let files: Vec<_> = names.iter().map(|f| dir.join(f)).collect();
    let r = analyze(&v, &files);
    for f in names {
        assert!(r[f]["damaged"].is_null(), "{f} is not damaged: {:#}", r[f]);
    }
    // Media hidden inside the clip, and nothing shown for a while: each an
    // edit_list_cut of its own kind, at 3 s for 2 s, on both streams.
    for f in ["editlist_skip.mp4", "editlist_empty.mp4"] {
        let k = kinds(&r[f]);
        assert_eq!(k.len(), 2, "{f}: {k:?}");
        for (stream, kind, at, lasted) in &k {
            assert_eq!(kind, "edit_list_cut", "{f} {stream}: {k:?}");
            assert!(
                (at - 3.0).abs() <= FRAME && (lasted - 2.0).abs() <= FRAME,
                "{f}: {k:?}"
            );
        }
    }
    // What is shown of the skip is 6 s; the empty edit's clip runs 10 s.
    assert!((r["editlist_skip.mp4"]["duration_s"].as_f64().unwrap() - 6.0).abs() <= FRAME);
    assert!((r["editlist_empty.mp4"]["duration_s"].as_f64().unwrap() - 10.0).abs() <= FRAME);
    // Ordinary edit lists: a clip presented from 5 s starts at 5 s; an AAC
    // trim at both ends is clean (it used to read as "ends early").
    let leading = &r["editlist_leading.mp4"];
    assert!(kinds(leading).is_empty(), "{leading:#}");
    for s in leading["streams"].as_array().unwrap() {
        assert!(
            (s["start_s"].as_f64().unwrap() - 5.0).abs() <= 0.001,
            "{leading:#}"
        );
    }
    assert!(kinds(&r["aac_tail_trim.mp4"]).is_empty());
    // Decode times bunched 40 frames at a time: presentation is regular, so
    // no hole and no drop, as ffprobe's presentation timestamps say.
    let bunched = &r["bunched_dts.mp4"];
    assert!(kinds(bunched).is_empty(), "{bunched:#}");
    assert_eq!(bunched["streams"][0]["dropped_frames"], 0, "{bunched:#}");
    assert!(ffprobe_gaps(&dir.join("bunched_dts.mp4"), 1.0).is_empty());
    // B-frames: every frame found, none dropped.
    let b = &r["hole_bframes.mp4"]["streams"][0];
    assert_eq!(
        (b["frames"].as_u64(), b["dropped_frames"].as_u64()),
        (Some(149), Some(0)),
        "{b:#}"
    );
    assert!(kinds(&r["ima4.mov"]).is_empty(), "{:#}", r["ima4.mov"]);
    // At ingest a cut is an interruption to explain.
    let card = v.scratch("cut");
    std::fs::copy(dir.join("editlist_skip.mp4"), card.join("REC_0001.MP4")).unwrap();
    let out = v.run(&[
        "ingest",
        card.to_str().unwrap(),
        "--device",
        "BWC9",
        "--officer",
        "9",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let gaps = v.json(&["gaps", "--json", "--device", "BWC9"]);
    let cut: Vec<_> = gaps["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["kind"] == "edit_list_cut")
        .collect();
    assert_eq!(cut.len(), 2, "{gaps:#}");
}
