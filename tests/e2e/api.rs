//! vigild's API on its Unix socket: identity from the kernel
//! (SO_PEERCRED), mapped to Vigil users as the CLI maps its own uid; the CLI
//! as its client for `clips`, `audit` and `status`; refusals with stable
//! codes and exit statuses.

use vigil_e2e::{describe, Vigil, Vigild};

fn vigil_at(socket: &std::path::Path, uid: Option<u32>, args: &[&str]) -> std::process::Output {
    vigil_e2e::vigil_via(socket, uid, args)
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", describe(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(out)))
}

#[test]
fn the_cli_is_a_client_of_the_daemon_and_the_kernel_says_who_calls() {
    let v = Vigil::new();
    let rec = v.scratch("rec");
    std::fs::write(rec.join("REC_0001.MP4"), b"not media").unwrap();
    std::fs::write(rec.join("GPS.LOG"), b"$GPGGA").unwrap();
    let out = v.run(&["ingest", rec.to_str().unwrap(), "--device", "BWC001"]);
    assert!(out.status.success(), "{}", describe(&out));
    for args in [
        &[
            "user",
            "add",
            "ann",
            "--role",
            "auditor",
            "--unix",
            "uid:61101",
        ][..],
        &[
            "user",
            "add",
            "oleg",
            "--role",
            "officer",
            "--unix",
            "uid:61102",
        ],
    ] {
        let out = v.run(args);
        assert!(out.status.success(), "{}", describe(&out));
    }
    let embedded = v.json(&["clips", "--json"]);

    let d = Vigild::start(&v.store(), &v.dir.path().join("vigild.log"), &[]);
    d.wait_for_socket();
    // The socket is open to every local user; the directories on the way
    // must let them reach it.
    vigil_e2e::let_others_through(v.dir.path());

    // Root, through the daemon: the same document as in-process.
    let via = json(&vigil_at(&d.socket, None, &["clips", "--json"]));
    assert_eq!(via["clips"], embedded["clips"]);
    // An auditor in an account of her own: identity from the kernel.
    let ann = json(&vigil_at(&d.socket, Some(61101), &["clips", "--json"]));
    assert_eq!(ann["clips"].as_array().unwrap().len(), 2);
    let log = json(&vigil_at(
        &d.socket,
        Some(61101),
        &["audit", "--json", "--action", "clips.listed"],
    ));
    let actors: Vec<&str> = log["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["actor"].as_str().unwrap())
        .collect();
    assert!(actors.contains(&"ann (unix:uid:61101)"), "{actors:?}");
    // An officer may list clips but not read the audit log: refused, exit 3,
    // the reason named.
    let refused = vigil_at(&d.socket, Some(61102), &["audit"]);
    assert_eq!(refused.status.code(), Some(3), "{}", describe(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("refused: oleg is officer"),
        "{}",
        describe(&refused)
    );
    // An account that is no Vigil user is refused, whatever it claims.
    let stranger = vigil_at(&d.socket, Some(61199), &["clips"]);
    assert_eq!(stranger.status.code(), Some(3), "{}", describe(&stranger));
    let pretend = vigil_at(&d.socket, Some(61199), &["--as", "ann", "clips"]);
    assert_eq!(pretend.status.code(), Some(3), "{}", describe(&pretend));
    assert!(String::from_utf8_lossy(&pretend.stderr).contains("only root may act as another user"));
    // Root may act as a user; the log names both.
    let as_ann = json(&vigil_at(
        &d.socket,
        None,
        &["--as", "ann", "clips", "--json"],
    ));
    assert_eq!(as_ann["clips"].as_array().unwrap().len(), 2);
    // Status comes from the daemon itself.
    let status = json(&vigil_at(&d.socket, Some(61101), &["status", "--json"]));
    assert_eq!(status["running"], true);
    assert_eq!(status["pid"], d.child.id());
    // The text table works over the socket too.
    let text = vigil_at(&d.socket, Some(61101), &["clips"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("2 clips"),
        "{}",
        describe(&text)
    );
    drop(d);

    // No daemon: exit 4, saying how to start it; no store is made.
    let gone = vigil_at(&v.dir.path().join("nothing.sock"), None, &["clips"]);
    assert_eq!(gone.status.code(), Some(4), "{}", describe(&gone));
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("systemctl start vigild"),
        "{}",
        describe(&gone)
    );
}

/// Two officers in two Unix accounts, each through the daemon in their own
/// session: one files and signs, the other signs; a supervisor rejects and
/// the gap reopens (R8, R9).
#[test]
fn officers_explain_and_sign_through_the_daemon() {
    let v = Vigil::new();
    let rec = v.scratch("recorder-seq");
    vigil_e2e::copy_tree(&vigil_e2e::fixtures().join("recorder-seq"), &rec);
    let ingest = v.run(&[
        "ingest",
        rec.to_str().unwrap(),
        "--device",
        "BWC002",
        "--officer",
        "1002",
    ]);
    assert!(ingest.status.success(), "{}", describe(&ingest));
    for args in [
        &["officers", "add", "1003"][..],
        &[
            "user",
            "add",
            "zhang",
            "--role",
            "officer",
            "--officer",
            "1002",
            "--unix",
            "uid:61202",
        ],
        &[
            "user",
            "add",
            "wang",
            "--role",
            "officer",
            "--officer",
            "1003",
            "--unix",
            "uid:61203",
        ],
        &[
            "user",
            "add",
            "li",
            "--role",
            "supervisor",
            "--unix",
            "uid:61209",
        ],
    ] {
        let out = v.run(args);
        assert!(out.status.success(), "{}", describe(&out));
    }
    let d = Vigild::start(&v.store(), &v.dir.path().join("vigild.log"), &[]);
    d.wait_for_socket();
    vigil_e2e::let_others_through(v.dir.path());
    let gaps = json(&vigil_at(&d.socket, Some(61202), &["gaps", "--json"]));
    let gap = gaps["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "between_clips")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = |uid| {
        json(&vigil_at(&d.socket, Some(uid), &["gaps", "--json"]))["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == gap.as_str())
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let filed = json(&vigil_at(
        &d.socket,
        Some(61202),
        &["explain", &gap, "--written", "battery swap", "--json"],
    ));
    let eid = filed["id"].as_str().unwrap().to_owned();
    assert_eq!(filed["status"], "awaiting_signatures");
    assert_eq!(status(61209), "awaiting_signatures");
    let twice = vigil_at(&d.socket, Some(61202), &["sign", &eid]);
    assert_eq!(twice.status.code(), Some(3), "{}", describe(&twice));
    let boss = vigil_at(&d.socket, Some(61209), &["sign", &eid]);
    assert_eq!(boss.status.code(), Some(3), "{}", describe(&boss));
    let signed = json(&vigil_at(&d.socket, Some(61203), &["sign", &eid, "--json"]));
    assert_eq!(signed["status"], "explained");
    assert_eq!(status(61202), "explained");
    // An officer cannot review; the supervisor can, and a rejection reopens.
    let nope = vigil_at(&d.socket, Some(61203), &["review", &gap, "--accept"]);
    assert_eq!(nope.status.code(), Some(3), "{}", describe(&nope));
    let out = vigil_at(
        &d.socket,
        Some(61209),
        &[
            "review",
            &gap,
            "--reject",
            "--note",
            "where was it charged?",
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("the interruption is open"));
    assert_eq!(status(61202), "open");
    // Who did what is in the log, by their own accounts.
    let log = json(&vigil_at(&d.socket, Some(61209), &["audit", "--json"]));
    let acts: Vec<(String, String)> = log["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            matches!(
                r["action"].as_str(),
                Some("gap.explained" | "explanation.signed" | "gap.reviewed")
            )
        })
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        acts.contains(&("gap.explained".into(), "zhang (unix:uid:61202)".into())),
        "{acts:?}"
    );
    assert!(
        acts.contains(&("explanation.signed".into(), "wang (unix:uid:61203)".into())),
        "{acts:?}"
    );
}

/// Long work runs inside the daemon, its progress streamed back: a
/// custodian's ingest of a mount vigild can read, and verify.
#[test]
fn ingest_and_verify_run_inside_the_daemon() {
    let v = Vigil::new();
    let made = v.run(&["clips"]);
    assert!(made.status.success(), "{}", describe(&made));
    for args in [
        &[
            "user",
            "add",
            "cus",
            "--role",
            "custodian",
            "--unix",
            "uid:61301",
        ][..],
        &[
            "user",
            "add",
            "aud",
            "--role",
            "auditor",
            "--unix",
            "uid:61302",
        ],
    ] {
        let out = v.run(args);
        assert!(out.status.success(), "{}", describe(&out));
    }
    let rec = v.scratch("card");
    vigil_e2e::copy_tree(&vigil_e2e::fixtures().join("recorder-a"), &rec);
    let d = Vigild::start(&v.store(), &v.dir.path().join("vigild.log"), &[]);
    d.wait_for_socket();
    vigil_e2e::let_others_through(v.dir.path());
    // An auditor may not ingest: refused before any work.
    let refused = vigil_at(&d.socket, Some(61302), &["ingest", rec.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(3), "{}", describe(&refused));
    // The custodian's ingest runs in vigild (which reads the card itself).
    let doc = json(&vigil_at(
        &d.socket,
        Some(61301),
        &[
            "ingest",
            rec.to_str().unwrap(),
            "--device",
            "BWC001",
            "--json",
        ],
    ));
    let originals = vigil_e2e::files_under(&rec).len();
    assert_eq!(doc["files"].as_array().unwrap().len(), originals, "{doc:#}");
    assert!(doc["run"].as_str().unwrap().starts_with('r'));
    let actor: String = v
        .db()
        .query_row(
            "SELECT actor FROM audit WHERE action = 'ingest.started' ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(actor, "cus (unix:uid:61301)");
    // Verify, streamed, as the auditor: OK, every object re-read.
    let report = json(&vigil_at(&d.socket, Some(61302), &["verify", "--json"]));
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(report["objects_checked"].as_u64().unwrap() > 0);
    // The progress really is streamed: lines before the result.
    let client = vigil_api::client::Client::new(&d.socket, None);
    let mut lines = Vec::new();
    let result = client
        .post_stream(
            "/api/v1/verify",
            &serde_json::json!({}),
            &mut |done, total, _| lines.push((done, total)),
        )
        .unwrap();
    assert_eq!(result["ok"], true);
    assert!(!lines.is_empty(), "no progress lines");
    let total = lines.last().unwrap().1;
    assert!(
        total > 0 && lines.iter().all(|(d, t)| *t == total && *d <= total),
        "{lines:?}"
    );
    // A card vigild cannot read is its error, named, not a silent success.
    let out = vigil_at(&d.socket, Some(61301), &["ingest", "/nonexistent/card"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/card"));
}

/// The API describes itself: an OpenAPI document generated from the code,
/// naming every endpoint the CLI uses.
#[test]
fn the_openapi_document_lists_every_endpoint() {
    let v = Vigil::new();
    assert!(v.run(&["clips"]).status.success());
    let d = Vigild::start(&v.store(), &v.dir.path().join("vigild.log"), &[]);
    d.wait_for_socket();
    let doc = vigil_api::client::Client::new(&d.socket, None)
        .get("/api/openapi.json")
        .unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{doc:#}"
    );
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/whoami",
        "/api/v1/login",
        "/api/v1/logout",
        "/api/v1/users/{user}/password",
        "/api/v1/status",
        "/api/v1/clips",
        "/api/v1/audit",
        "/api/v1/gaps",
        "/api/v1/gaps/{gap}/explanations",
        "/api/v1/gaps/{gap}/reviews",
        "/api/v1/explanations/{explanation}/signatures",
        "/api/v1/verify",
        "/api/v1/ingest",
        "/api/v1/users",
        "/api/v1/officers",
        "/api/v1/devices",
        "/api/v1/devices/{serial}/bindings",
        "/api/v1/tags",
        "/api/v1/overdue",
        "/api/v1/retention",
        "/api/v1/holds",
        "/api/v1/holds/{hold}/release",
        "/api/v1/cases",
        "/api/v1/purge",
        "/api/v1/confidential",
        "/api/v1/requests",
        "/api/v1/requests/{request}/approval",
        "/api/v1/requests/{request}/export",
        "/api/v1/spotchecks",
        "/api/v1/spotchecks/{entry}/findings",
        "/api/v1/reports/{kind}",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    // An unknown endpoint is a JSON error with its code, not an HTML page.
    let err = vigil_api::client::Client::new(&d.socket, None)
        .get("/api/v1/nothing")
        .unwrap_err();
    assert!(err.to_string().contains("no such endpoint"), "{err}");
}

/// The registry through the daemon: an admin adds users, a custodian
/// registers officers and recorders and binds them, an officer may only
/// read; unknown officers are refused.
#[test]
fn the_registry_is_kept_through_the_daemon() {
    let v = Vigil::new();
    assert!(v.run(&["clips"]).status.success());
    let d = Vigild::start(&v.store(), &v.dir.path().join("vigild.log"), &[]);
    d.wait_for_socket();
    vigil_e2e::let_others_through(v.dir.path());
    let root = |args: &[&str]| vigil_at(&d.socket, None, args);
    let ok = |out: std::process::Output| assert!(out.status.success(), "{}", describe(&out));
    ok(root(&[
        "user",
        "add",
        "cus",
        "--role",
        "custodian",
        "--unix",
        "uid:61401",
    ]));
    ok(root(&["officers", "add", "2001", "--name", "Zhao Lei"]));
    ok(root(&[
        "user",
        "add",
        "zl",
        "--role",
        "officer",
        "--officer",
        "2001",
        "--unix",
        "uid:61402",
    ]));
    let cus = |args: &[&str]| vigil_at(&d.socket, Some(61401), args);
    ok(cus(&["officers", "add", "2002", "--unit", "Team 7"]));
    ok(cus(&["devices", "add", "BWC900", "--model", "DSJ-9"]));
    ok(cus(&[
        "devices",
        "bind",
        "BWC900",
        "2002",
        "--from",
        "2026-11-01",
    ]));
    let unknown = cus(&["devices", "bind", "BWC900", "9999"]);
    assert_eq!(unknown.status.code(), Some(3), "{}", describe(&unknown));
    let not_admin = cus(&["user", "add", "eve", "--role", "admin"]);
    assert_eq!(not_admin.status.code(), Some(3), "{}", describe(&not_admin));
    let officer = |args: &[&str]| vigil_at(&d.socket, Some(61402), args);
    let devices = json(&officer(&["devices", "list", "--json"]));
    assert_eq!(devices["devices"][0]["officer"], "2002");
    assert_eq!(
        devices["devices"][0]["bindings"][0]["from"],
        "2026-11-01T00:00:00.000Z"
    );
    let refused = officer(&["officers", "add", "2003"]);
    assert_eq!(refused.status.code(), Some(3), "{}", describe(&refused));
    let users = json(&officer(&["user", "list", "--json"]));
    assert_eq!(users["users"].as_array().unwrap().len(), 2);
    // Each change was made by the account the kernel named.
    let log = json(&root(&["audit", "--json", "--action", "device.bound"]));
    assert_eq!(log["audit"][0]["actor"], "cus (unix:uid:61401)");
    // Tags and what is overdue, through the daemon too.
    let rec = v.scratch("rec");
    std::fs::write(rec.join("NOTE.TXT"), b"shift notes").unwrap();
    ok(root(&[
        "ingest",
        rec.to_str().unwrap(),
        "--device",
        "BWC900",
        "--officer",
        "2002",
    ]));
    let clip = json(&officer(&["clips", "--json"]))["clips"][0]["clip"]
        .as_str()
        .unwrap()
        .to_owned();
    let tagged = officer(&["tag", &clip, "--site", "Harbour Rd 3"]);
    assert!(
        String::from_utf8_lossy(&tagged.stdout).contains("1 clip(s) tagged"),
        "{}",
        describe(&tagged)
    );
    let due = json(&officer(&["overdue", "--json", "--tag-within", "0"]));
    assert!(due["untagged"].as_array().unwrap().is_empty(), "{due:#}");
    let bad = cus(&["tag", "--officer", "9999", "--site", "x"]);
    assert_eq!(bad.status.code(), Some(3), "{}", describe(&bad));
}

/// Custody through the daemon, each step by the Unix account the kernel
/// names: a custodian sets retention, holds and releases, closes a case; a
/// supervisor requests, the same supervisor may not approve, a second one
/// does; the custodian's export streams out of vigild into a directory only
/// that account can write, and standard tools verify it; an auditor draws
/// and reviews spot checks but may not change retention; a body that is not
/// the expected JSON is a JSON error with its code.
#[test]
fn custody_and_export_run_through_the_daemon() {
    let v = Vigil::new();
    let ok = |out: &std::process::Output| assert!(out.status.success(), "{}", describe(out));
    for (name, role, uid) in [
        ("cus", "custodian", 61501),
        ("sup1", "supervisor", 61503),
        ("sup2", "supervisor", 61504),
        ("aud", "auditor", 61505),
    ] {
        ok(&v.run(&[
            "user",
            "add",
            name,
            "--role",
            role,
            "--unix",
            &format!("uid:{uid}"),
        ]));
    }
    let rec = v.scratch("card");
    vigil_e2e::copy_tree(&vigil_e2e::fixtures().join("recorder-seq"), &rec);
    let d = Vigild::start(&v.store(), &v.dir.path().join("vigild.log"), &[]);
    d.wait_for_socket();
    vigil_e2e::let_others_through(v.dir.path());
    let as_uid = |uid: u32, args: &[&str]| vigil_at(&d.socket, Some(uid), args);
    let files = json(&vigil_at(
        &d.socket,
        None,
        &[
            "ingest",
            rec.to_str().unwrap(),
            "--device",
            "BWC002",
            "--officer",
            "1002",
            "--json",
        ],
    ));
    let clips: Vec<String> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["clip"].as_str().unwrap().to_owned())
        .collect();
    assert!(clips.len() >= 3, "{files:#}");
    let kept = json(&as_uid(
        61501,
        &["retain", &clips[0], "--class", "evidence", "--json"],
    ));
    assert_eq!(kept["class"], "evidence");
    let bad = as_uid(61501, &["retain", &clips[0], "--class", "forever"]);
    assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("long_term"),
        "{}",
        describe(&bad)
    );
    let held = json(&as_uid(
        61501,
        &["hold", &clips[1], "--reason", "complaint", "--json"],
    ));
    let hold = held["holds"][0].to_string();
    ok(&as_uid(61501, &["release", &hold]));
    ok(&as_uid(61501, &["case", "close", "C-1"]));
    let audit_refused = as_uid(61505, &["retain", &clips[0], "--class", "ordinary"]);
    assert_eq!(
        audit_refused.status.code(),
        Some(3),
        "{}",
        describe(&audit_refused)
    );
    let plan = json(&as_uid(61505, &["purge", "--json"]));
    assert!(
        plan["due"].is_array() && plan["queue"].is_array(),
        "{plan:#}"
    );
    // Two supervisors for one retrieval.
    let rid = json(&as_uid(
        61503,
        &[
            "request", "--clip", &clips[0], &clips[2], "--reason", "hearing", "--json",
        ],
    ))["request"]
        .as_str()
        .unwrap()
        .to_owned();
    let own = as_uid(61503, &["approve", &rid]);
    assert_eq!(own.status.code(), Some(3), "{}", describe(&own));
    // The package arrives in a directory only the custodian's account owns.
    let home = v.scratch("cus-home");
    let chown = std::process::Command::new("chown")
        .args(["61501:61501"])
        .arg(&home)
        .status()
        .unwrap();
    assert!(chown.success());
    let early = home.join("early");
    let not_yet = as_uid(
        61501,
        &[
            "export",
            "--request",
            &rid,
            "--out",
            early.to_str().unwrap(),
        ],
    );
    assert_eq!(not_yet.status.code(), Some(3), "{}", describe(&not_yet));
    assert!(!early.exists(), "a refused export leaves nothing behind");
    ok(&as_uid(61504, &["approve", &rid]));
    let out = home.join("package");
    ok(&as_uid(
        61501,
        &["export", "--request", &rid, "--out", out.to_str().unwrap()],
    ));
    for (tool, manifest) in [("b3sum", "MANIFEST.b3"), ("sha256sum", "MANIFEST.sha256")] {
        let check = std::process::Command::new(tool)
            .arg("-c")
            .arg(manifest)
            .current_dir(&out)
            .output()
            .unwrap();
        assert!(check.status.success(), "{tool}: {}", describe(&check));
        assert_eq!(
            String::from_utf8_lossy(&check.stdout)
                .matches(": OK")
                .count(),
            2
        );
    }
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(out.join("metadata.json")).unwrap().uid(),
        61501
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["request"]["approved_by"], "sup2");
    assert_eq!(meta["exported_by"], "cus (unix:uid:61501)");
    let log = json(&vigil_at(
        &d.socket,
        None,
        &["audit", "--json", "--action", "clip.exported"],
    ));
    let rows = log["audit"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| r["actor"] == "cus (unix:uid:61501)"),
        "{log:#}"
    );
    // A stored object that no longer matches its record stops the stream
    // before the manifests: nothing that looks like a package is left, and
    // the request is not recorded as exported.
    let rid2 = json(&as_uid(
        61503,
        &[
            "request", "--clip", &clips[1], "--reason", "appeal", "--json",
        ],
    ))["request"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&as_uid(61504, &["approve", &rid2]));
    let b3 = files["files"][1]["blake3"].as_str().unwrap();
    let object = v.store().join("objects").join(&b3[..2]).join(b3);
    let mut bytes = std::fs::read(&object).unwrap();
    bytes[200] ^= 0x40;
    std::fs::write(&object, bytes).unwrap();
    let broken = home.join("broken");
    let out2 = as_uid(
        61501,
        &[
            "export",
            "--request",
            &rid2,
            "--out",
            broken.to_str().unwrap(),
        ],
    );
    assert_eq!(out2.status.code(), Some(2), "{}", describe(&out2));
    assert!(
        !broken.exists(),
        "a broken-off export leaves nothing behind"
    );
    let done = json(&vigil_at(
        &d.socket,
        None,
        &["audit", "--json", "--action", "request.exported"],
    ));
    assert_eq!(done["audit"].as_array().unwrap().len(), 1, "{done:#}");
    // Spot checks by the auditor.
    let drawn = json(&as_uid(
        61505,
        &[
            "spotcheck",
            "draw",
            "--count",
            "1",
            "--seed",
            "s1",
            "--json",
        ],
    ));
    let entry = drawn["drawn"][0]["id"].to_string();
    ok(&as_uid(
        61505,
        &["spotcheck", "review", &entry, "--finding", "complete"],
    ));
    let ledger = json(&as_uid(61505, &["spotcheck", "list", "--json"]));
    assert_eq!(ledger["spotchecks"][0]["reviewer"], "aud");
    // Reports are rendered by vigild: the same document in every format,
    // the reading audited under the reader's name.
    let since = "2000-01-01";
    let rows = json(&as_uid(
        61505,
        &["report", "ingest", "--since", since, "--json"],
    ));
    let listed: u64 = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["clips"].as_u64().unwrap())
        .sum();
    assert_eq!(listed as usize, clips.len(), "{rows:#}");
    let html = as_uid(
        61505,
        &["report", "gaps", "--since", since, "--format", "html"],
    );
    ok(&html);
    assert!(
        String::from_utf8_lossy(&html.stdout).contains("<html"),
        "{}",
        describe(&html)
    );
    let read = json(&vigil_at(
        &d.socket,
        None,
        &["audit", "--json", "--action", "report.read"],
    ));
    assert_eq!(
        read["audit"][0]["actor"], "aud (unix:uid:61505)",
        "{read:#}"
    );
    let err = vigil_api::client::Client::new(&d.socket, None)
        .get("/api/v1/reports/salaries")
        .unwrap_err();
    assert!(err.to_string().contains("no report \"salaries\""), "{err}");
    // A malformed body is refused in the API's JSON shape.
    let err = vigil_api::client::Client::new(&d.socket, None)
        .post("/api/v1/holds", &serde_json::json!({"clips": "not a list"}))
        .unwrap_err();
    match err {
        vigil_api::client::ClientError::Api { code, status, .. } => {
            assert_eq!((code.as_str(), status), ("bad_request", 422));
        }
        e => panic!("expected a JSON error, got {e}"),
    }
}

/// A dock named by hand is opened by vigild with the station key, for a
/// custodian only: enrolment, status and a pull (streamed) through the
/// socket; a path that is not a serial device is refused before anything
/// is opened; a dock vigild serves itself is its own workers' to pull.
#[test]
fn a_dock_named_by_hand_is_used_through_the_daemon() {
    let v = Vigil::new();
    let ok = |out: &std::process::Output| assert!(out.status.success(), "{}", describe(out));
    ok(&v.run(&[
        "user",
        "add",
        "cus",
        "--role",
        "custodian",
        "--unix",
        "uid:61601",
    ]));
    ok(&v.run(&[
        "user",
        "add",
        "aud",
        "--role",
        "auditor",
        "--unix",
        "uid:61602",
    ]));
    let card = v.scratch("card");
    vigil_e2e::copy_tree(&vigil_e2e::fixtures().join("recorder-a"), &card);
    let on_card = vigil_e2e::files_under(&card).len();
    let sim = vigil_e2e::DockSim::start(
        v.dir.path(),
        &["--recorder", &format!("BWC001:1001:{}", card.display())],
    );
    let d = Vigild::start(&v.store(), &v.dir.path().join("vigild.log"), &[]);
    d.wait_for_socket();
    vigil_e2e::let_others_through(v.dir.path());
    let cus = |args: &[&str]| vigil_at(&d.socket, Some(61601), args);
    let refused = vigil_at(&d.socket, Some(61602), &["dock", "status", sim.path()]);
    assert_eq!(refused.status.code(), Some(3), "{}", describe(&refused));
    for not_a_dock in [
        "/etc/passwd".to_owned(),
        v.store().join("vigil.db").display().to_string(),
    ] {
        let out = cus(&["dock", "status", &not_a_dock]);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not a serial device"),
            "{}",
            describe(&out)
        );
    }
    ok(&cus(&["dock", "enroll", sim.path()]));
    let status = json(&cus(&["dock", "status", sim.path(), "--json"]));
    assert_eq!(
        status["slots"][0]["recorder"]["serial"], "BWC001",
        "{status:#}"
    );
    let pulled = json(&cus(&["dock", "pull", sim.path(), "--keep", "--json"]));
    assert_eq!(
        pulled["files"].as_array().unwrap().len(),
        on_card,
        "{pulled:#}"
    );
    assert!(pulled["link"]["payload"].as_u64().unwrap() > 0);
    let log = json(&vigil_at(
        &d.socket,
        None,
        &["audit", "--json", "--action", "dock.enrolled"],
    ));
    assert_eq!(log["audit"][0]["actor"], "cus (unix:uid:61601)");
    let clips = json(&cus(&["clips", "--json"]));
    assert_eq!(clips["clips"].as_array().unwrap().len(), on_card);
    drop(d);
    // Now vigild serves the dock from its configuration.
    let d = Vigild::start(
        &v.store(),
        &v.dir.path().join("vigild2.log"),
        &["--dock", sim.path()],
    );
    d.wait_for_socket();
    d.wait_for(10, "the dock served", |s| {
        s["docks"].as_object().is_some_and(|m| !m.is_empty())
    });
    let busy = vigil_at(&d.socket, Some(61601), &["dock", "status", sim.path()]);
    assert_eq!(busy.status.code(), Some(3), "{}", describe(&busy));
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("serves the dock"),
        "{}",
        describe(&busy)
    );
}

/// While vigild serves a store, it alone opens it: the CLI's in-process
/// mode is refused and pointed to the socket, and a second vigild on the
/// same store is refused. Once the daemon is gone (even by SIGKILL) the
/// owner may open it again.
#[test]
fn a_served_store_is_opened_only_by_its_daemon() {
    let v = Vigil::new();
    assert!(v.run(&["clips"]).status.success());
    let d = Vigild::start(&v.store(), &v.dir.path().join("vigild.log"), &[]);
    d.wait_for_socket();
    let embedded = || {
        std::process::Command::new(vigil_e2e::bin("vigil"))
            .arg("--store")
            .arg(v.store())
            .args(["clips", "--json"])
            .output()
            .unwrap()
    };
    let out = embedded();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("serves the store") && err.contains(d.socket.to_str().unwrap()),
        "{err}"
    );
    let second = std::process::Command::new(vigil_e2e::bin("vigild"))
        .arg("--store")
        .arg(v.store())
        .arg("--socket")
        .arg(v.dir.path().join("second.sock"))
        .output()
        .unwrap();
    assert!(!second.status.success(), "{}", describe(&second));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already served"),
        "{}",
        describe(&second)
    );
    // Through the socket it works.
    json(&vigil_at(&d.socket, None, &["clips", "--json"]));
    d.signal(libc::SIGKILL);
    drop(d);
    let out = embedded();
    assert!(out.status.success(), "{}", describe(&out));
}

/// The daemon keeps its stores open between requests and writes the audit
/// rows of reads in groups: requests side by side each get their row,
/// durable and in one chain under a checkpoint that covers them all, before
/// they are answered; and an open store is still checked against the
/// audit anchor at every request (an index behind it is refused, as a
/// fresh opening refuses it).
#[test]
fn reads_side_by_side_are_audited_in_groups_and_an_index_behind_its_anchor_is_refused() {
    let v = Vigil::new();
    v.ingest_seq_gap();
    let d = Vigild::start(&v.store(), &v.dir.path().join("vigild.log"), &[]);
    d.wait_for_socket();
    let listed = |v: &Vigil| -> i64 {
        v.db()
            .query_row(
                "SELECT COUNT(*) FROM audit WHERE action = 'clips.listed'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let before = listed(&v);
    let socket = d.socket.clone();
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let socket = socket.clone();
            std::thread::spawn(move || vigil_at(&socket, None, &["clips", "--json"]))
        })
        .collect();
    for r in readers {
        let out = r.join().unwrap();
        // Answered: its row is already committed.
        json(&out);
    }
    assert_eq!(listed(&v) - before, 16, "one row for each read");
    let db = v.db();
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
        .unwrap();
    let newest: i64 = db
        .query_row("SELECT MAX(size) FROM checkpoints", [], |r| r.get(0))
        .unwrap();
    assert_eq!(newest, rows, "the newest checkpoint covers every row");
    let verify = vigil_at(&d.socket, None, &["verify"]);
    assert!(verify.status.success(), "{}", describe(&verify));

    // The anchor says the log went further than the index holds (an index
    // rolled back under a running daemon): the next request is refused.
    let anchor = v.store().join("audit.head");
    let kept = std::fs::read_to_string(&anchor).unwrap();
    let (seq, hash) = kept.trim().split_once(' ').unwrap();
    let ahead = seq.parse::<i64>().unwrap() + 100;
    std::fs::write(&anchor, format!("{ahead} {hash}\n")).unwrap();
    let out = vigil_at(&d.socket, None, &["clips", "--json"]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        describe(&out).contains(&format!("audit.head records row {ahead}")),
        "{}",
        describe(&out)
    );
    std::fs::write(&anchor, kept).unwrap();
    json(&vigil_at(&d.socket, None, &["clips", "--json"]));
}

/// The station e-mails each user what newly waits for them through a real
/// SMTP server (aiosmtpd): the officer is told of the interruptions to
/// explain once (not again while nothing new waits), the supervisor of the
/// explanation to review once it is filed; each notice is on the audit log;
/// an address that could smuggle a mail header is refused.
#[test]
fn each_user_is_emailed_once_what_newly_waits_for_them() {
    let v = Vigil::new();
    let ok = |args: &[&str]| {
        let out = v.run(args);
        assert!(out.status.success(), "{args:?}: {}", describe(&out));
    };
    ok(&["officers", "add", "1002", "--name", "张三"]);
    let gap = v.ingest_seq_gap();
    ok(&[
        "user",
        "add",
        "zhang",
        "--role",
        "officer",
        "--officer",
        "1002",
        "--email",
        "zhang.san@station.example",
    ]);
    ok(&["user", "add", "sam", "--role", "supervisor"]);
    let smuggled = v.run(&[
        "user",
        "email",
        "sam",
        "sam@station.example\r\nBcc: x@y.example",
    ]);
    assert!(!smuggled.status.success(), "{}", describe(&smuggled));
    assert!(describe(&smuggled).contains("is not an e-mail address"));
    ok(&["user", "email", "sam", "sam@station.example"]);

    // A real SMTP server, writing what it receives to an mbox.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let maildir = v.dir.path().join("maildir");
    let _smtpd = Killed(
        std::process::Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd (cargo xtask test installs it)"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "aiosmtpd did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let config = v.dir.path().join("vigild.toml");
    std::fs::write(
        &config,
        format!(
            "smtp = \"127.0.0.1:{port}\"\nsmtp_from = \"vigil@station.example\"\nnotify_every_s = 1\ndesk_url = \"https://vigil.station.example:8443/desk/\"\n"
        ),
    )
    .unwrap();
    let d = Vigild::start(
        &v.store(),
        &v.dir.path().join("vigild.log"),
        &["--config", config.to_str().unwrap()],
    );
    d.wait_for_socket();
    // Each message's recipient, subject and text, decoded.
    let mails = || -> Vec<serde_json::Value> {
        let out = std::process::Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(
                "import email.header, json, mailbox, sys\n\
                 out = []\n\
                 box = mailbox.Maildir(sys.argv[1], factory=None, create=False)\n\
                 for m in sorted(box, key=lambda m: m['Date'] or ''):\n\
                 \x20   subject = str(email.header.make_header(email.header.decode_header(m['Subject'])))\n\
                 \x20   out.append({'to': m['To'], 'subject': subject, 'body': m.get_payload(decode=True).decode('utf-8')})\n\
                 print(json.dumps(out))",
            )
            .arg(&maildir)
            .output()
            .unwrap();
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap_or_default()
    };
    let wait_for = |n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let m = mails();
            if m.len() >= n {
                return m;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{n} mails not sent: {m:?}\n{}",
                std::fs::read_to_string(&d.log).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    let first = wait_for(1);
    let open = v.json(&["gaps", "--json"])["gaps"]
        .as_array()
        .unwrap()
        .len();
    let m = &first[0];
    assert_eq!(m["to"], "zhang.san@station.example", "{m}");
    assert!(
        m["subject"].as_str().unwrap().contains("Vigil：")
            && m["subject"].as_str().unwrap().contains("waiting for you"),
        "{m}"
    );
    let body = m["body"].as_str().unwrap();
    for want in [
        format!("待我说明的中断: {open}"),
        format!("Interruptions to explain: {open}"),
        "https://vigil.station.example:8443/desk/".to_owned(),
    ] {
        assert!(body.contains(&want), "{want:?} in {body}");
    }
    // Told once: nothing new waits, nothing more is sent.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(mails().len(), 1, "{:?}", mails());

    // An explanation filed: the supervisor has something new to review.
    let out = vigil_at(
        &d.socket,
        None,
        &["--as", "zhang", "explain", "--written", "更换电池", &gap],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let all = wait_for(2);
    assert_eq!(all[1]["to"], "sam@station.example", "{all:?}");
    assert!(
        all[1]["body"]
            .as_str()
            .unwrap()
            .contains("Explanations to review: 1"),
        "{all:?}"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(mails().len(), 2, "zhang has nothing new: {:?}", mails());
    let told = json(&vigil_at(
        &d.socket,
        None,
        &["audit", "--action", "user.notified", "--json"],
    ));
    let subjects: Vec<&str> = told["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["zhang", "sam"]);
}

/// A child process killed when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
