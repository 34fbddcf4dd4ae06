//! Custody foundations (R3, R16, R20): users and roles, root's `--as`, the
//! registry with binding history, and the audit log listing.

use vigil_e2e::{copy_tree, describe, fixtures, Vigil};

fn ok(v: &Vigil, args: &[&str]) -> String {
    let out = v.run(args);
    assert!(out.status.success(), "vigil {args:?}: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Registers users (name, role).
fn add_users(v: &Vigil, users: &[(&str, &str)]) {
    for (name, role) in users {
        ok(v, &["user", "add", name, "--role", role]);
    }
}

/// Ingests the segment fixture as recorder BWC002; returns clip ids and
/// BLAKE3 hashes in listing order.
fn ingest_seq(v: &Vigil) -> (Vec<String>, Vec<String>) {
    let rec = v.scratch("rec");
    copy_tree(&fixtures().join("recorder-seq"), &rec);
    let doc = v.json(&[
        "ingest",
        rec.to_str().unwrap(),
        "--device",
        "BWC002",
        "--json",
    ]);
    let field = |k: &str| {
        doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f[k].as_str().unwrap().to_owned())
            .collect()
    };
    (field("clip"), field("blake3"))
}

fn refused(v: &Vigil, args: &[&str]) -> String {
    let out = v.run(args);
    assert!(
        !out.status.success(),
        "vigil {args:?} should be refused: {}",
        describe(&out)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn roles_decide_what_each_user_may_do_and_the_audit_log_names_both() {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    copy_tree(&fixtures().join("recorder-a"), &rec);
    let r = rec.to_str().unwrap();
    // Fresh store: root is the admin, ingest needs no set-up.
    ok(&v, &["ingest", r, "--device", "BWC001"]);
    add_users(&v, &[("alice", "custodian"), ("bob", "auditor")]);
    // An officer id must be registered before an account can carry it.
    assert!(refused(
        &v,
        &[
            "user",
            "add",
            "carol",
            "--role",
            "officer",
            "--officer",
            "1001"
        ]
    )
    .contains("not registered"));
    ok(&v, &["officers", "add", "1001"]);
    ok(
        &v,
        &[
            "user",
            "add",
            "carol",
            "--role",
            "officer",
            "--officer",
            "1001",
        ],
    );
    assert!(refused(&v, &["user", "add", "eve", "--role", "wizard"]).contains("unknown role"));
    assert!(refused(&v, &["--as", "bob", "ingest", r]).contains("needs one of: custodian, admin"));
    assert!(refused(&v, &["--as", "carol", "audit"]).contains("refused"));
    assert!(refused(
        &v,
        &["--as", "alice", "user", "add", "mallory", "--role", "admin"]
    )
    .contains("refused"));
    assert!(refused(&v, &["--as", "nobody", "clips"]).contains("no such Vigil user"));
    ok(&v, &["--as", "alice", "ingest", r, "--device", "BWC001"]);
    let audit = v.json(&["--as", "bob", "audit", "--json", "--action", "ingest."]);
    let actors: Vec<&str> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(actors.contains(&"alice (as, by unix:root)"), "{actors:?}");
    assert!(actors.contains(&"root"), "{actors:?}");
    let users = v.json(&["user", "list", "--json"]);
    assert_eq!(users["users"].as_array().unwrap().len(), 3);
    let added = v.json(&["audit", "--json", "--action", "user.added"]);
    assert_eq!(added["audit"].as_array().unwrap().len(), 3);
    assert!(v.run(&["verify"]).status.success());
}

/// The rows of an `audit --json` document: `(seq, action, subject)`.
fn audit_rows(doc: &serde_json::Value) -> Vec<(i64, String, String)> {
    doc["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["action"].as_str().unwrap().to_owned(),
                e["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_audit_log_reads_in_pages_by_action_and_by_subject() {
    let v = Vigil::new();
    let (clips, _) = ingest_seq(&v);
    for (i, clip) in clips.iter().enumerate() {
        ok(&v, &["tag", clip, "--site", &format!("site {i}")]);
    }
    // The whole log as it stands, then its clip rows a page of 3 at a time.
    let whole = audit_rows(&v.json(&["audit", "--json", "--action", "clip."]));
    assert!(whole.len() > 3 + clips.len(), "{whole:?}");
    assert!(whole.iter().all(|(_, a, _)| a.starts_with("clip.")));
    let mut paged = Vec::new();
    let mut after: Option<i64> = None;
    for _ in 0..100 {
        let mut args = vec!["audit", "--json", "--action", "clip.", "--limit", "3"];
        let a = after.map(|a| a.to_string());
        if let Some(a) = &a {
            args.extend(["--after", a.as_str()]);
        }
        let doc = v.json(&args);
        let page = audit_rows(&doc);
        assert!(page.len() <= 3);
        paged.extend(page.clone());
        match doc["next"].as_i64() {
            Some(next) => {
                assert_eq!(
                    Some(next),
                    page.last().map(|r| r.0),
                    "next is the page's last row"
                );
                after = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(
        paged, whole,
        "the pages make the whole, each row once, in order"
    );
    // One clip's trail: its ingest and its tag, nothing about the others.
    let trail = audit_rows(&v.json(&["audit", "--json", "--subject", &clips[1]]));
    let actions: Vec<&str> = trail.iter().map(|(_, a, _)| a.as_str()).collect();
    assert!(actions.contains(&"clip.ingested"), "{actions:?}");
    assert!(actions.contains(&"clip.tagged"), "{actions:?}");
    assert!(trail.iter().all(|(_, _, s)| s == &clips[1]), "{trail:?}");
    let tagged = audit_rows(&v.json(&[
        "audit",
        "--json",
        "--subject",
        &clips[1],
        "--action",
        "clip.tagged",
    ]));
    assert_eq!(tagged.len(), 1, "{tagged:?}");
    // The table says where the next page starts.
    let out = v.run(&["audit", "--action", "clip.", "--limit", "2"]);
    assert!(out.status.success(), "{}", describe(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("--after {}", whole[1].0)), "{said}");
    let bad = refused(&v, &["audit", "--limit", "0"]);
    assert!(bad.contains("limit 0 is out of range"), "{bad}");
}

#[test]
fn a_clip_belongs_to_the_officer_bound_when_it_was_recorded() {
    let v = Vigil::new();
    ok(
        &v,
        &[
            "officers", "add", "1001", "--name", "Li Wei", "--unit", "Team 3",
        ],
    );
    ok(&v, &["devices", "add", "BWC001", "--model", "DSJ-X1"]);
    ok(
        &v,
        &["devices", "bind", "BWC001", "1001", "--from", "2026-11-01"],
    );
    // Unknown officers and recorders are refused, not created.
    assert!(refused(
        &v,
        &[
            "devices",
            "bind",
            "BWC001",
            "1002",
            "--from",
            "2026-11-20T08:00:02Z"
        ]
    )
    .contains("officer \"1002\" is not registered"));
    assert!(refused(&v, &["devices", "bind", "BWC999", "1001"]).contains("not registered"));
    ok(&v, &["officers", "add", "1002"]);
    ok(&v, &["officers", "add", "1003"]);
    // REC_0001 starts 08:00:00, REC_0002 08:00:04 (fixture creation times).
    ok(
        &v,
        &[
            "devices",
            "bind",
            "BWC001",
            "1002",
            "--from",
            "2026-11-20T08:00:02Z",
        ],
    );
    assert!(refused(
        &v,
        &["devices", "bind", "BWC001", "1003", "--from", "tomorrow"]
    )
    .contains("--from"));
    let devices = v.json(&["devices", "list", "--json"]);
    let d = &devices["devices"][0];
    assert_eq!(d["officer"], "1002");
    let b = d["bindings"].as_array().unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(
        b[0]["to"], b[1]["from"],
        "the old binding ends where the new one starts"
    );
    assert!(b[1]["to"].is_null());
    let officers = v.json(&["officers", "list", "--json"]);
    let li = officers["officers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "1001")
        .unwrap()
        .clone();
    assert_eq!(
        (li["name"].as_str(), li["unit"].as_str()),
        (Some("Li Wei"), Some("Team 3"))
    );
    let rec = v.scratch("rec");
    copy_tree(&fixtures().join("recorder-a"), &rec);
    ok(
        &v,
        &[
            "ingest",
            rec.to_str().unwrap(),
            "--device",
            "BWC001",
            "--officer",
            "9999",
        ],
    );
    let clips = v.json(&["clips", "--device", "BWC001", "--json"]);
    let officer_of = |p: &str| {
        clips["clips"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["path"] == p)
            .unwrap()["officer"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(officer_of("DCIM/100MEDIA/REC_0001.MP4"), "1001");
    assert_eq!(officer_of("DCIM/100MEDIA/REC_0002.MP4"), "1002");
    // No recording time: the officer given for the ingest.
    assert_eq!(officer_of("GPS/track.log"), "9999");
    let bound = v.json(&["audit", "--json", "--action", "device.bound"]);
    assert_eq!(bound["audit"].as_array().unwrap().len(), 2);
}

#[test]
fn tags_and_what_is_overdue() {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    copy_tree(&fixtures().join("recorder-a"), &rec);
    let doc = v.json(&[
        "ingest",
        rec.to_str().unwrap(),
        "--device",
        "BWC001",
        "--officer",
        "1001",
        "--json",
    ]);
    let clip = |p: &str| {
        doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == p)
            .unwrap()["clip"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Just ingested: nothing is overdue yet.
    let now = v.json(&["overdue", "--json"]);
    assert!(now["untagged"].as_array().unwrap().is_empty(), "{now:#}");
    // A week later (the ingest is backdated), every media clip is overdue.
    v.db()
        .execute("UPDATE clips SET ingested_at = '2026-11-02T09:00:00Z'", [])
        .unwrap();
    let media = [
        "REC_0001.MP4",
        "REC_0002.MP4",
        "REC_0003.MP4",
        "IMG_0001.JPG",
        "AUD_0001.WAV",
    ];
    let late = v.json(&["overdue", "--json"]);
    assert_eq!(
        late["untagged"].as_array().unwrap().len(),
        media.len(),
        "{late:#}"
    );
    // Tag one by id, then the 20 Nov recordings of officer 1001 in bulk.
    let c1 = clip("DCIM/100MEDIA/REC_0001.MP4");
    ok(
        &v,
        &[
            "tag",
            &c1,
            "--site",
            "Market St 12",
            "--case",
            "C-2026-7",
            "--note",
            "shop inspection",
        ],
    );
    let out = ok(
        &v,
        &[
            "tag",
            "--officer",
            "1001",
            "--from",
            "2026-11-20",
            "--to",
            "2026-11-21",
            "--category",
            "inspection",
        ],
    );
    assert!(out.contains("2 clip(s) tagged"), "{out}");
    let clips = v.json(&["clips", "--json"]);
    let tag_of = |id: &str| {
        clips["clips"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["clip"] == id)
            .unwrap()["tag"]
            .clone()
    };
    let t1 = tag_of(&c1);
    assert_eq!(
        t1["site"], "Market St 12",
        "an earlier field is kept: {t1:#}"
    );
    assert_eq!(t1["category"], "inspection");
    assert_eq!(t1["case"], "C-2026-7");
    let c2 = tag_of(&clip("DCIM/100MEDIA/REC_0002.MP4"));
    assert_eq!(c2["category"], "inspection");
    // Overdue now: only clips without a site or description.
    let left = v.json(&["overdue", "--json"]);
    let paths: Vec<&str> = left["untagged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), media.len() - 1, "{paths:?}");
    assert!(!paths.contains(&"DCIM/100MEDIA/REC_0001.MP4"));
    assert!(refused(&v, &["tag", &c1]).contains("nothing to tag"));
    assert!(refused(&v, &["tag", "cnope", "--site", "x"]).contains("no clip"));
    let holidays = v.dir.path().join("holidays.txt");
    std::fs::write(&holidays, "2026-11-03\nnot a date\n").unwrap();
    assert!(
        refused(&v, &["overdue", "--holidays", holidays.to_str().unwrap()])
            .contains("holidays.txt:2")
    );
    let tagged = v.json(&["audit", "--json", "--action", "clip.tagged"]);
    assert_eq!(tagged["audit"].as_array().unwrap().len(), 3);
    assert!(
        v.db().execute("DELETE FROM tags", []).is_err(),
        "tags are never deleted"
    );
}

#[test]
fn an_approved_request_exports_a_package_standard_tools_verify() {
    let v = Vigil::new();
    add_users(
        &v,
        &[
            ("alice", "custodian"),
            ("sam", "supervisor"),
            ("tom", "supervisor"),
        ],
    );
    let rec = v.scratch("rec");
    copy_tree(&fixtures().join("recorder-seq"), &rec);
    let doc = v.json(&[
        "ingest",
        rec.to_str().unwrap(),
        "--device",
        "BWC002",
        "--officer",
        "1002",
        "--json",
    ]);
    let ids: Vec<String> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["clip"].as_str().unwrap().to_owned())
        .collect();
    ok(
        &v,
        &[
            "tag",
            &ids[0],
            &ids[1],
            &ids[2],
            "--case",
            "C-9",
            "--site",
            "Harbour Rd 3",
            "--note",
            "inspection",
        ],
    );
    let gap = v.json(&["gaps", "--json"])["gaps"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    explain_written(&v, &gap, "battery swap");
    let req = v.json(&[
        "--as",
        "sam",
        "request",
        "--case",
        "C-9",
        "--reason",
        "court hearing 2026-12-01",
        "--outsider",
        "District Court",
        "--json",
    ]);
    let rid = req["request"].as_str().unwrap().to_owned();
    let out = v.dir.path().join("package");
    let o = out.to_str().unwrap();
    // Not approved yet; the requester cannot approve; an officer cannot export.
    assert!(refused(
        &v,
        &["--as", "alice", "export", "--request", &rid, "--out", o]
    )
    .contains("not approved"));
    assert!(refused(&v, &["--as", "sam", "approve", &rid]).contains("different supervisor"));
    assert!(refused(&v, &["--as", "alice", "approve", &rid]).contains("refused"));
    ok(&v, &["--as", "tom", "approve", &rid]);
    let iso = v.dir.path().join("package.iso");
    ok(
        &v,
        &[
            "--as",
            "alice",
            "export",
            "--request",
            &rid,
            "--out",
            o,
            "--iso",
            iso.to_str().unwrap(),
        ],
    );
    // Standard tools alone verify the package.
    for (tool, manifest) in [("b3sum", "MANIFEST.b3"), ("sha256sum", "MANIFEST.sha256")] {
        let check = std::process::Command::new(tool)
            .arg("-c")
            .arg(manifest)
            .current_dir(&out)
            .output()
            .unwrap_or_else(|e| panic!("{tool} is needed (cargo xtask test installs it): {e}"));
        assert!(check.status.success(), "{tool} -c: {}", describe(&check));
        assert_eq!(
            String::from_utf8_lossy(&check.stdout)
                .matches(": OK")
                .count(),
            3
        );
    }
    // A short readme in both languages says what is in it and how to
    // check it without Vigil.
    let readme = std::fs::read_to_string(out.join("README.txt")).unwrap();
    for want in [
        "How to check it without Vigil",
        "b3sum -c MANIFEST.b3",
        "sha256sum -c MANIFEST.sha256",
        "CHECKPOINT",
        "不使用 Vigil 的核对方法",
        "District Court",
        "3 recording(s)",
    ] {
        assert!(readme.contains(want), "{want:?} in README.txt:\n{readme}");
    }
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["request"]["approved_by"], "tom");
    assert_eq!(meta["request"]["outsider"], "District Court");
    let clips = meta["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 3);
    for c in clips {
        assert_eq!(c["place"], "Harbour Rd 3");
        assert_eq!(c["matter"]["case"], "C-9");
        assert_eq!(c["officer"], "1002");
        let file = c["file"].as_str().unwrap();
        // Named by officer, recorder and the start in the station's zone.
        let local = c["time"]["start_local"].as_str().unwrap();
        let stamp = local.replace([':', '-'], "").replace(' ', "T");
        assert!(
            file.starts_with(&format!("clips/1002_BWC002_{stamp}_")),
            "{file} {local}"
        );
        assert!(c["time"]["zone"].is_string());
        assert!(c["custody"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "clip.ingested"));
    }
    let explained: Vec<_> = clips
        .iter()
        .flat_map(|c| c["interruptions"].as_array().unwrap().clone())
        .filter(|g| g["explanation"]["kind"] == "written")
        .collect();
    assert_eq!(
        explained.len(),
        1,
        "the explained interruption travels with its clip"
    );
    // A tampered copy is caught by the standard tools.
    let victim = out.join(clips[0]["file"].as_str().unwrap());
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let check = std::process::Command::new("sha256sum")
        .args(["-c", "MANIFEST.sha256"])
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(!check.status.success());
    // The ISO holds the same package.
    let ls = std::process::Command::new("xorriso")
        .args(["-indev"])
        .arg(&iso)
        .args(["-find", "/", "-type", "f"])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&ls.stdout);
    assert!(
        listing.contains("MANIFEST.b3") && listing.contains("metadata.json"),
        "{listing}"
    );
    let exported = v.json(&["audit", "--json", "--action", "clip.exported"]);
    assert_eq!(exported["audit"].as_array().unwrap().len(), 3);
    assert!(refused(
        &v,
        &["--as", "alice", "export", "--request", &rid, "--out", o]
    )
    .contains("not empty"));
}

#[test]
fn reports_in_every_format_and_the_html_renders_in_chromium() {
    let v = Vigil::new();
    let truncated = std::fs::read(fixtures().join("continuity/truncated_faststart.mp4")).unwrap();
    v.ingest_seq_with(&[("DCIM/100MEDIA/REC_0009.MP4", &truncated)]);
    let gap = v.json(&["gaps", "--json"])["gaps"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    explain_written(&v, &gap, "battery swap");
    let since = ["--since", "2026-01-01"];
    // JSON: one row for the officer and recorder, with the counts.
    let json = v.json(&["report", "ingest", since[0], since[1], "--format", "json"]);
    let row = &json["rows"][0];
    assert_eq!(
        (row["officer"].as_str(), row["device"].as_str()),
        (Some("1002"), Some("BWC002"))
    );
    assert_eq!(row["clips"], 6);
    assert_eq!(row["damaged"], 1);
    assert_eq!(
        (
            row["interruptions_open"].as_u64(),
            row["interruptions_explained"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        row["late_ingests"], 5,
        "the five clips recorded on 20 Nov are late (R1)"
    );
    let csv = ok(
        &v,
        &["report", "ingest", since[0], since[1], "--format", "csv"],
    );
    assert!(
        csv.starts_with("\u{feff}officer,device,clips,") && csv.contains("\n1002,BWC002,6,"),
        "{csv}"
    );
    let last = csv
        .rsplit_once("\ncheckpoint,")
        .map(|(_, r)| r)
        .unwrap_or_default();
    assert!(
        last.starts_with("\"vigil/"),
        "the CSV ends with its checkpoint: {csv}"
    );
    add_users(&v, &[("sam", "supervisor"), ("olga", "officer")]);
    assert!(refused(&v, &["--as", "olga", "review", &gap, "--accept"]).contains("refused"));
    ok(
        &v,
        &[
            "--as", "sam", "review", &gap, "--accept", "--note", "credible",
        ],
    );
    let open_gap = v.json(&["gaps", "--open", "--json"])["gaps"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        refused(&v, &["--as", "sam", "review", &open_gap, "--reject"]).contains("no explanation")
    );
    let gaps = ok(&v, &["report", "gaps", since[0], since[1]]);
    // The text report reads like the printed one, in the reader's
    // language: each signer with the time they signed, the review.
    assert!(
        gaps.contains("battery swap") && gaps.contains("1002 · ") && gaps.contains("1003 · "),
        "{gaps}"
    );
    assert!(
        gaps.contains("Reviewed by sam: accepted · "),
        "with its time: {gaps}"
    );
    assert!(gaps.starts_with("Interruption log\n"), "{gaps}");
    let stats = v.json(&["report", "stats", since[0], since[1], "--format", "json"]);
    // `--json` is `--format json`.
    let period = [since[0], since[1], "--until", "2027-01-01"];
    let mut long = v.json(&[&["report", "stats"][..], &period, &["--format", "json"]].concat());
    let mut short = v.json(&[&["report", "stats"][..], &period, &["--json"]].concat());
    // Each carries the checkpoint it was made at: the first reading is on
    // the record before the second is made.
    let size = |d: &serde_json::Value| d["checkpoint"]["size"].as_u64().unwrap();
    assert!(size(&short) > size(&long), "{long:#} {short:#}");
    for d in [&mut long, &mut short] {
        d.as_object_mut().unwrap().remove("checkpoint");
    }
    assert_eq!(long, short);
    assert_eq!(stats["officers"][0]["interruptions"], 2);
    assert_eq!(stats["officers"][0]["explained"], 1);
    // Seconds of recording give no rate (not "2,400 an hour").
    assert!(stats["officers"][0]["hours_recorded"].as_f64().unwrap() < 1.0);
    assert!(
        stats["officers"][0]["interruptions_per_hour"].is_null(),
        "{stats:#}"
    );
    assert_eq!(stats["units"][0]["interruptions"], 2);
    assert!(refused(&v, &["report", "ingest", "--format", "pdf"]).contains("--format"));
    // HTML: self-contained, and a real browser renders its timeline.
    let html_path = v.dir.path().join("report.html");
    ok(
        &v,
        &[
            "report",
            "ingest",
            since[0],
            since[1],
            "--format",
            "html",
            "--out",
            html_path.to_str().unwrap(),
        ],
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(
        !html.contains("http://")
            || html
                .matches("http://")
                .all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
    );
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "no external assets"
    );
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium is needed (cargo xtask test installs it)");
    let profile = v.scratch("chromium-profile");
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    let url = format!("file://{}", html_path.display());
    // Headless Chromium on the report file with `args`.
    let headless = |args: &[&str]| {
        let out = std::process::Command::new(chromium)
            .args(flags)
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "chromium {args:?}: {}",
            describe(&out)
        );
        out
    };
    let dom = headless(&["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    // Six clips, all dated (the truncated one by its file time).
    assert_eq!(
        dom.matches("class=\"clip\"").count(),
        6,
        "one bar per dated clip: {dom}"
    );
    assert_eq!(
        dom.matches("class=\"gap\"").count(),
        2,
        "one mark per interruption"
    );
    assert!(dom.contains("Officer 1002"));
    let png = v.dir.path().join("report.png");
    headless(&[
        "--window-size=1000,800",
        &format!("--screenshot={}", png.display()),
    ]);
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "a real screenshot ({} bytes)",
        bytes.len()
    );
    // Printed to A4 from the file, every page says which of how many.
    let pdf = v.dir.path().join("report.pdf");
    headless(&[
        "--no-pdf-header-footer",
        &format!("--print-to-pdf={}", pdf.display()),
    ]);
    let pdf_text = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils; cargo xtask test installs it)");
    let pdf_text = String::from_utf8_lossy(&pdf_text.stdout).into_owned();
    let pages = pdf_text.matches('\u{c}').count().max(1);
    assert!(
        pdf_text.contains(&format!("Page 1 of {pages}"))
            && pdf_text.contains(&format!("Page {pages} of {pages}")),
        "page numbers on each of {pages} pages:\n{pdf_text}"
    );
    // The late and damaged files by name, in the text and the page alike.
    let text = ok(&v, &["report", "ingest", since[0], since[1]]);
    let troubled = text
        .split("Late and damaged files")
        .nth(1)
        .and_then(|t| t.split("\nInterruptions").next())
        .unwrap_or_default()
        .to_owned();
    // What is damaged in words, how much plays, FFmpeg's words labelled.
    assert!(
        troubled.contains("REC_0009.MP4")
            && troubled
                .contains("Damaged: cut off: the file ends before what its header describes")
            && troubled.contains("s of it can be played.")
            && troubled.contains("Technical detail (FFmpeg): "),
        "{text}"
    );
    let zh = v
        .cmd()
        .env("LANG", "zh_CN.UTF-8")
        .args(["report", "ingest", since[0], since[1]])
        .output()
        .unwrap();
    let zh = String::from_utf8_lossy(&zh.stdout);
    assert!(
        zh.contains("已损坏：文件不完整") && zh.contains("技术信息（FFmpeg）："),
        "{zh}"
    );
    assert_eq!(troubled.matches("late").count(), 5, "{troubled}");
    assert!(
        html.contains("REC_0009.MP4") && !html.contains("<a href"),
        "no desk links in a file"
    );
    // Reading a report is itself audited (R20).
    let reads = v.json(&["audit", "--json", "--action", "report.read"]);
    assert!(reads["audit"].as_array().unwrap().len() >= 5);
}

#[test]
fn retention_holds_cases_and_a_two_custodian_purge_with_a_recovery_window() {
    let v = Vigil::new();
    add_users(&v, &[("alice", "custodian"), ("dave", "custodian")]);
    let (c, b3) = ingest_seq(&v);
    ok(
        &v,
        &["tag", &c[0], &c[1], "--case", "C-1", "--site", "Pier 4"],
    );
    ok(
        &v,
        &[
            "hold",
            &c[2],
            "--reason",
            "dispute",
            "--note",
            "party disputes the record",
        ],
    );
    ok(&v, &["retain", &c[3], "--class", "long_term"]);
    ok(&v, &["retain", &c[0], "--class", "evidence"]);
    assert!(refused(&v, &["hold", &c[4], "--reason", "boredom"]).contains("--reason"));
    let due = |v: &Vigil| -> Vec<String> {
        v.json(&["purge", "--ordinary-days", "0", "--json"])["due"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["clip"].as_str().unwrap().to_owned())
            .collect()
    };
    // Open case, hold, long-term: only c[4] is due; the dry run removes nothing.
    assert_eq!(due(&v), vec![c[4].clone()]);
    let object = |i: usize| v.store().join("objects").join(&b3[i][..2]).join(&b3[i]);
    assert!(object(4).exists());
    // The case closes: c[1] (ordinary) becomes due; c[0] is evidence, kept
    // as long as the case file (the longest retention wins).
    ok(&v, &["case", "close", "C-1", "--at", "2026-11-21"]);
    let mut d = due(&v);
    d.sort();
    let mut want = vec![c[1].clone(), c[4].clone()];
    want.sort();
    assert_eq!(d, want);
    // Two custodians: alice proposes, alice cannot approve, dave approves.
    ok(
        &v,
        &[
            "--as",
            "alice",
            "purge",
            "--confirm",
            "--ordinary-days",
            "0",
        ],
    );
    assert!(refused(&v, &["--as", "alice", "purge", "--approve"]).contains("second custodian"));
    ok(
        &v,
        &["--as", "dave", "purge", "--approve", "--window-days", "7"],
    );
    // Inside the recovery window nothing is deleted.
    let run = v.json(&[
        "--as",
        "alice",
        "purge",
        "--run",
        "--ordinary-days",
        "0",
        "--json",
    ]);
    assert!(run["purged"].as_array().unwrap().is_empty());
    assert!(object(4).exists() && object(1).exists());
    // Cancel both, propose again and approve with no window.
    ok(&v, &["--as", "dave", "purge", "--cancel", &c[1]]);
    ok(&v, &["--as", "dave", "purge", "--cancel", &c[4]]);
    ok(
        &v,
        &[
            "--as",
            "alice",
            "purge",
            "--confirm",
            "--ordinary-days",
            "0",
        ],
    );
    ok(
        &v,
        &["--as", "dave", "purge", "--approve", "--window-days", "0"],
    );
    // A hold placed during the window stops the removal of c[1].
    let held = v.json(&["hold", &c[1], "--reason", "complaint", "--json"]);
    assert_eq!(held["reason"], "complaint");
    assert!(held["holds"][0].as_i64().is_some(), "{held}");
    let run = v.json(&[
        "--as",
        "alice",
        "purge",
        "--run",
        "--ordinary-days",
        "0",
        "--json",
    ]);
    assert_eq!(run["purged"], serde_json::json!([c[4].clone()]));
    assert!(!object(4).exists(), "the purged object is deleted");
    assert!(object(1).exists() && object(2).exists() && object(3).exists() && object(0).exists());
    let clips = v.json(&["clips", "--json"]);
    assert_eq!(clips["clips"].as_array().unwrap().len(), 4);
    assert!(
        v.run(&["verify"]).status.success(),
        "a purge keeps verify clean"
    );
    let audit = v.json(&["audit", "--json", "--action", "clip.purged"]);
    assert_eq!(audit["audit"].as_array().unwrap().len(), 1);
    // R12: a case closed over 30 days ago and not filed is overdue.
    ok(&v, &["case", "close", "C-OLD", "--at", "2026-09-01"]);
    let over = v.json(&["overdue", "--json"]);
    assert!(over["unfiled_cases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["case"] == "C-OLD"));
    ok(&v, &["case", "file", "C-OLD"]);
    let over = v.json(&["overdue", "--json"]);
    assert!(over["unfiled_cases"].as_array().unwrap().is_empty());
}

#[test]
fn spot_checks_are_reproducible_and_confidential_clips_stay_with_the_roles_allowed() {
    let v = Vigil::new();
    add_users(
        &v,
        &[
            ("alice", "custodian"),
            ("sam", "supervisor"),
            ("tom", "supervisor"),
        ],
    );
    let (c, _) = ingest_seq(&v);
    // R18: the same seed draws the same sample; findings are recorded.
    let draw = |seed: &str| -> Vec<String> {
        v.json(&[
            "spotcheck",
            "draw",
            "--count",
            "2",
            "--seed",
            seed,
            "--json",
        ])["drawn"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["clip"].as_str().unwrap().to_owned())
            .collect()
    };
    let a = draw("2026-W47");
    assert_eq!(a.len(), 2);
    assert_eq!(draw("2026-W47"), a, "reproducible");
    ok(
        &v,
        &[
            "--as",
            "sam",
            "spotcheck",
            "review",
            "1",
            "--finding",
            "worn correctly, full recording",
        ],
    );
    let ledger = v.json(&["spotcheck", "list", "--json"]);
    let first = &ledger["spotchecks"][0];
    assert_eq!(
        (first["reviewer"].as_str(), first["finding"].as_str()),
        (Some("sam"), Some("worn correctly, full recording"))
    );
    assert!(
        refused(&v, &["spotcheck", "review", "1", "--finding", "again"])
            .contains("no unreviewed entry")
    );
    // R17: a state secret is hidden from a custodian and never copied out.
    ok(&v, &["confidential", &c[0], "--kind", "state_secret"]);
    ok(&v, &["confidential", &c[1], "--kind", "privacy"]);
    let seen = |who: &[&str]| -> Vec<String> {
        let mut args = who.to_vec();
        args.extend(["clips", "--json"]);
        v.json(&args)["clips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["clip"].as_str().unwrap().to_owned())
            .collect()
    };
    let alice = seen(&["--as", "alice"]);
    assert!(!alice.contains(&c[0]) && alice.contains(&c[1]), "{alice:?}");
    assert!(seen(&[]).contains(&c[0]), "the admin sees it");
    assert!(
        seen(&["--as", "sam"]).contains(&c[0]),
        "a supervisor sees it"
    );
    let rid = v.json(&[
        "--as",
        "sam",
        "request",
        "--clip",
        &c[0],
        "--reason",
        "inquiry",
        "--outsider",
        "Press",
        "--json",
    ])["request"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&v, &["--as", "tom", "approve", &rid]);
    let out = v.dir.path().join("pkg");
    assert!(refused(
        &v,
        &[
            "--as",
            "alice",
            "export",
            "--request",
            &rid,
            "--out",
            out.to_str().unwrap()
        ]
    )
    .contains("may not handle"));
    assert!(refused(
        &v,
        &["export", "--request", &rid, "--out", out.to_str().unwrap()]
    )
    .contains("outside organisation"));
    // Every listing is in the audit log too (R20).
    let reads = v.json(&["audit", "--json", "--action", "clips.listed"]);
    assert_eq!(
        reads["audit"].as_array().unwrap().len(),
        3,
        "alice, the admin and sam listed clips"
    );
    assert!(v.run(&["verify"]).status.success());
}

#[test]
fn an_unregistered_unix_user_is_refused_and_a_mapped_one_acts_as_its_vigil_user() {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    std::fs::write(rec.join("REC_0001.MP4"), b"not media").unwrap();
    ok(&v, &["ingest", rec.to_str().unwrap(), "--device", "BWC001"]);
    // Another account cannot open the store itself: it is root's (0700),
    // and even when opened up, in-process use is refused. It goes through
    // the daemon, where the kernel says who it is.
    std::process::Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(v.dir.path())
        .status()
        .unwrap();
    let direct = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(vigil_e2e::bin("vigil"))
        .arg("--store")
        .arg(v.store())
        .args(["clips"])
        .output()
        .unwrap();
    assert_eq!(direct.status.code(), Some(3), "{}", describe(&direct));
    assert!(String::from_utf8_lossy(&direct.stderr).contains("belongs to root"));
    let d = vigil_e2e::Vigild::start(&v.store(), &v.dir.path().join("vigild.log"), &[]);
    d.wait_for_socket();
    let as_nobody = |args: &[&str]| {
        std::process::Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(vigil_e2e::bin("vigil"))
            .arg("--socket")
            .arg(&d.socket)
            .args(args)
            .output()
            .unwrap()
    };
    // Users exist: an unmapped account is refused with the fix named.
    ok(&v, &["user", "add", "alice", "--role", "custodian"]);
    let out = as_nobody(&["clips", "--json"]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--unix nobody"),
        "{}",
        describe(&out)
    );
    // Mapped to an auditor: may read the audit log, may not ingest.
    ok(
        &v,
        &[
            "user", "add", "nora", "--role", "auditor", "--unix", "nobody",
        ],
    );
    let out = as_nobody(&["audit", "--json", "--action", "user.added"]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = as_nobody(&["ingest", rec.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nora is auditor"),
        "{}",
        describe(&out)
    );
    let out = as_nobody(&["--as", "alice", "clips"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only root"),
        "{}",
        describe(&out)
    );
    // The audit log names nora and the account behind her.
    let out = as_nobody(&["clips", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let listed = v.json(&["audit", "--json", "--action", "clips.listed"]);
    let actors: Vec<&str> = listed["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, vec!["nora (unix:nobody)"]);
}

/// Files a written explanation as officer 1002 and has officer 1003 sign it,
/// each as their own Vigil user (R8).
fn explain_written(v: &Vigil, gap: &str, text: &str) {
    for officer in ["1002", "1003"] {
        ok(v, &["officers", "add", officer]);
        let user = format!("w{officer}");
        if !v
            .run(&["user", "list"])
            .stdout
            .windows(user.len())
            .any(|w| w == user.as_bytes())
        {
            ok(
                v,
                &[
                    "user",
                    "add",
                    &user,
                    "--role",
                    "officer",
                    "--officer",
                    officer,
                ],
            );
        }
    }
    let filed = v.json(&["--as", "w1002", "explain", gap, "--written", text, "--json"]);
    let id = filed["id"].as_str().unwrap().to_owned();
    ok(v, &["--as", "w1003", "sign", &id]);
}

/// Display width of `s` in a terminal: CJK ideographs and full-width forms
/// take two columns.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115f
            | 0x2e80..=0x303e
            | 0x3041..=0x33ff
            | 0x3400..=0x4dbf
            | 0x4e00..=0x9fff
            | 0xac00..=0xd7a3
            | 0xf900..=0xfaff
            | 0xff00..=0xff60 => 2,
            _ => 1,
        })
        .sum()
}

/// Listings are tables aligned by what the eye sees: a column after a
/// Chinese name starts where it starts after a Latin one.
#[test]
fn listings_align_chinese_names_by_display_width() {
    let v = Vigil::new();
    for (id, name, unit) in [
        ("1002", "Li Na", "Team 7"),
        ("2001", "张伟", "城管执法一中队"),
        ("2002", "欧阳娜娜", "（二）中队"),
    ] {
        ok(&v, &["officers", "add", id, "--name", name, "--unit", unit]);
    }
    let out = v.run(&["officers", "list"]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    // Where the UNIT column starts, in display columns, on every line.
    let starts: Vec<usize> = lines
        .iter()
        .zip(["UNIT", "Team 7", "城管执法一中队", "（二）中队"])
        .map(|(l, unit)| {
            let at = l.find(unit).unwrap_or_else(|| panic!("{unit} in {l:?}"));
            width(&l[..at])
        })
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] == w[1]),
        "{starts:?}\n{text}"
    );
}

/// The gap log's period is when each interruption happened, not when its
/// recording was ingested: the interruptions of 20 November are in the
/// 20 November log and not in the log of the day they were ingested, and
/// every printed report says which time its period goes by (R8, R19).
#[test]
fn the_gap_log_goes_by_when_each_interruption_happened_not_by_ingest() {
    let v = Vigil::new();
    v.ingest_seq_with(&[]);
    let ids = |doc: &serde_json::Value| -> Vec<String> {
        let mut ids: Vec<String> = doc["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let all = v.json(&["gaps", "--json"]);
    let gaps_on_the_20th = on_the_20th(&all["gaps"], "wall_start", "id");
    assert!(
        gaps_on_the_20th.len() >= 2,
        "the fixture's interruptions happened on 20 Nov: {all:#}"
    );
    let period = ["--since", "2026-11-20", "--until", "2026-11-21"];
    let day = v.json(&[&["report", "gaps"][..], &period, &["--format", "json"]].concat());
    assert_eq!(ids(&day), gaps_on_the_20th, "{day:#}");
    // Ingested today: a period of the last hours holds none of them.
    let today = v.json(&["report", "gaps", "--format", "json"]);
    assert!(
        ids(&today).iter().all(|g| !gaps_on_the_20th.contains(g)),
        "{today:#}"
    );
    // Each gap row carries when it was found, at ingest.
    let csv = ok(
        &v,
        &[&["report", "gaps"][..], &period, &["--format", "csv"]].concat(),
    );
    assert!(
        csv.lines().next().unwrap().ends_with(",review,detected_at"),
        "{csv}"
    );
    // The printed reports say which time their period goes by.
    let text = ok(&v, &[&["report", "gaps"][..], &period].concat());
    assert!(
        text.contains("Period (by when each interruption happened): 2026-11-20"),
        "{text}"
    );
    assert!(text.contains("Found at ingest"), "{text}");
    let ingest = ok(&v, &[&["report", "ingest"][..], &period].concat());
    assert!(
        ingest.contains("Period (by when recordings were ingested)"),
        "{ingest}"
    );
    // The statistics go by when the recordings were made: the 20th holds
    // the officer's clips and interruptions, today holds none of them.
    let clips = v.json(&["clips", "--json"]);
    let clips_on_the_20th = on_the_20th(&clips["clips"], "recorded_start", "clip").len() as u64;
    assert!(clips_on_the_20th > 0);
    let stats = v.json(&[&["report", "stats"][..], &period, &["--json"]].concat());
    let officer = &stats["officers"][0];
    assert_eq!(officer["clips"], clips_on_the_20th, "{stats:#}");
    assert_eq!(
        officer["interruptions"],
        gaps_on_the_20th.len() as u64,
        "{stats:#}"
    );
    assert_eq!(officer["clips_without_time"], 0, "{stats:#}");
    let now = v.json(&["report", "stats", "--json"]);
    assert!(
        now["officers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["clips"].as_u64() == Some(o["clips_without_time"].as_u64().unwrap())),
        "only clips without a clock are placed by ingest time: {now:#}"
    );
    let printed = ok(&v, &[&["report", "stats"][..], &period].concat());
    assert!(
        printed.contains(
            "Period (by when recordings were made and interruptions happened): 2026-11-20"
        ),
        "{printed}"
    );
    let out = v
        .cmd()
        .env("LANG", "zh_CN.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .args([&["report", "gaps"][..], &period].concat())
        .output()
        .unwrap();
    let zh = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && zh.contains("统计时段（按中断发生时间）")
            && zh.contains("导入时发现"),
        "{zh}"
    );
}

/// A bulk tagging by recording period says what it tagged and names each
/// recording of the officer it could not place (a photo with no usable
/// recording time that came in with them), never leaving one out in
/// silence; without a period it takes them too (R11).
#[test]
fn bulk_tagging_names_what_it_skipped_and_why() {
    let v = Vigil::new();
    v.ingest_seq_with(&[("DCIM/100MEDIA/IMG_0007.JPG", b"\xff\xd8\xff\xe0 photo")]);
    let photo = v.json(&["clips", "--json"])["clips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"].as_str().unwrap().ends_with("IMG_0007.JPG"))
        .unwrap()
        .clone();
    assert!(photo["recorded_start"].is_null(), "{photo}");
    let dated = on_the_20th(
        &v.json(&["clips", "--json"])["clips"],
        "recorded_start",
        "clip",
    )
    .len();
    let day = [
        "tag",
        "--officer",
        "1002",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-21",
        "--case",
        "A-2026-17",
    ];
    let out = ok(&v, &day);
    assert!(out.contains(&format!("{dated} clip(s) tagged")), "{out}");
    assert!(
        out.contains(&format!(
            "skipped DCIM/100MEDIA/IMG_0007.JPG ({}",
            photo["clip"].as_str().unwrap()
        )) && out.contains("no usable recording time"),
        "{out}"
    );
    // Without a period, every recording of the officer is tagged.
    let all = ok(&v, &["tag", "--officer", "1002", "--case", "A-2026-17"]);
    assert!(
        all.contains(&format!("{} clip(s) tagged", dated + 1)),
        "{all}"
    );
    assert!(!all.contains("skipped"), "{all}");
}

/// The `id`s of the rows of `rows` whose time `field` falls on 20 November
/// 2026 (UTC), sorted.
fn on_the_20th(rows: &serde_json::Value, field: &str, id: &str) -> Vec<String> {
    let mut ids: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r[field]
                .as_str()
                .is_some_and(|t| t.starts_with("2026-11-20"))
        })
        .map(|r| r[id].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// A recording's audit trail from the command line: its rows and its
/// interruptions' (`--related`), one person's (`--actor`, however they
/// acted), a period by when rows were written, and the rows' actions in
/// words in the table (R20).
#[test]
fn a_recordings_trail_with_its_interruptions_one_persons_rows_and_a_period() {
    let v = Vigil::new();
    let gap = v.ingest_seq_gap();
    let clip = v.clip_of_gap(&gap);
    ok(&v, &["tag", &clip, "--case", "A-9"]);
    let rows = |args: &[&str]| -> Vec<(String, String)> {
        let doc = v.json(&[&["audit", "--json"], args].concat());
        doc["audit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["action"].as_str().unwrap().to_owned(),
                    r["subject"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let alone = rows(&["--subject", &clip]);
    assert!(alone.iter().all(|(_, s)| *s == clip), "{alone:?}");
    assert!(alone.iter().any(|(a, _)| a == "clip.tagged"), "{alone:?}");
    let whole = rows(&["--subject", &clip, "--related"]);
    assert!(
        whole.contains(&("gap.detected".to_owned(), gap.clone())),
        "the trail holds its interruption's rows: {whole:?}"
    );
    assert_eq!(
        whole.iter().filter(|(_, s)| *s == clip).count(),
        alone.len(),
        "and all of its own"
    );
    // Who ingested it, as the log names them: `root`, or `root (unix:0)`.
    let ingested = v.json(&["audit", "--json", "--action", "clip.ingested"]);
    let me = ingested["audit"][0]["actor"]
        .as_str()
        .unwrap()
        .split(" (")
        .next()
        .unwrap()
        .to_owned();
    let mine = rows(&["--actor", &me]);
    assert!(!mine.is_empty());
    assert!(rows(&["--actor", "nobody-here"]).is_empty());
    assert!(rows(&["--since", "2020-01-01", "--until", "2020-01-02"]).is_empty());
    let all = rows(&[]);
    let since_2020 = rows(&["--since", "2020-01-01"]);
    assert_eq!(
        since_2020.len(),
        all.len() + 1,
        "every row since 2020: all of them and the read before's own"
    );
    let out = v.run(&["audit", "--since", "2026-12-02", "--until", "2026-12-01"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is later than --until"),
        "{}",
        describe(&out)
    );
    // The table says what happened in words; the code stays in --json.
    let table = ok(&v, &["audit", "--subject", &clip, "--related"]);
    assert!(
        table.contains("Interruption found") && table.contains("Recording tagged"),
        "{table}"
    );
}

/// One search finds recordings by officer name or number, recorder, site,
/// case, tag note and explanation text, Chinese substrings included; the
/// words are words (`%` and `_` match themselves).
#[test]
fn one_search_finds_recordings_by_officer_recorder_tag_and_explanation() {
    let v = Vigil::new();
    let gap = v.ingest_seq_gap();
    ok(&v, &["officers", "add", "1002", "--name", "张三丰"]);
    let clips: Vec<String> = v.json(&["clips", "--json"])["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clip"].as_str().unwrap().to_owned())
        .collect();
    assert!(clips.len() >= 3, "{clips:?}");
    ok(
        &v,
        &[
            "tag",
            &clips[0],
            "--site",
            "人民路 12 号",
            "--case",
            "A-2026-99",
        ],
    );
    ok(&v, &["tag", &clips[1], "--note", "窗口_纠纷"]);
    explain_written(&v, &gap, "更换电池后继续录像");
    let gap_clip = v.clip_of_gap(&gap);
    let found = |words: &str| -> Vec<String> {
        let mut got: Vec<String> = v.json(&["clips", "--search", words, "--json"])["clips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["clip"].as_str().unwrap().to_owned())
            .collect();
        got.sort();
        got
    };
    let mut all = clips.clone();
    all.sort();
    assert_eq!(found("三丰"), all, "by a part of the officer's name");
    assert_eq!(found("1002"), all, "by the officer's number");
    assert_eq!(found("WC00"), all, "by a part of the recorder's serial");
    assert_eq!(found("人民路"), [clips[0].clone()], "by the site");
    assert_eq!(found("2026-99"), [clips[0].clone()], "by the case");
    assert_eq!(found("窗口_纠"), [clips[1].clone()], "by the note");
    assert_eq!(found("电池"), [gap_clip], "by the explanation's text");
    assert!(found("无此内容").is_empty());
    assert!(
        found("窗口%纠").is_empty(),
        "% is a character, not a wildcard"
    );
    assert!(
        found("窗_纠").is_empty(),
        "_ is a character, not a wildcard"
    );
    // Three characters or more are read from the trigram indexes: the
    // same answers, ASCII case aside, and only a clip's current tag.
    assert_eq!(
        found("更换电池"),
        [v.clip_of_gap(&gap)],
        "by the explanation's words"
    );
    assert_eq!(found("a-2026"), [clips[0].clone()], "case aside");
    assert_eq!(
        found("\"人民"),
        Vec::<String>::new(),
        "a quote is a character"
    );
    ok(&v, &["tag", &clips[0], "--site", "解放路 3 号"]);
    assert!(found("人民路").is_empty(), "only the current tag");
    assert_eq!(found("解放路"), [clips[0].clone()]);
}
