//! Written explanations signed in each officer's own session (R8, R9):
//! two Unix accounts, two Vigil officer users, each through the
//! daemon; the gap waits for the second signature; a rejection reopens it.

use vigil_e2e::{describe, Vigil};

fn ok(out: std::process::Output) -> String {
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn err(out: std::process::Output) -> String {
    assert!(
        !out.status.success(),
        "should be refused: {}",
        describe(&out)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `vigil ARGS` run by Unix uid `uid` (an account without a passwd entry:
/// Vigil names it `uid:N`), through the daemon on `socket`.
fn as_uid(socket: &std::path::Path, uid: u32, args: &[&str]) -> std::process::Output {
    vigil_e2e::vigil_via(socket, Some(uid), args)
}

fn gap_status(v: &Vigil, gap: &str) -> serde_json::Value {
    v.json(&["gaps", "--json"])["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == gap)
        .unwrap()
        .clone()
}

#[test]
fn two_officers_sign_in_their_own_sessions_and_a_rejection_reopens() {
    let v = Vigil::new();
    let gap = v.ingest_seq_gap();
    // Two officers, each an account of its own; a supervisor.
    for (officer, user, uid) in [("1002", "zhang", 61002), ("1003", "wang", 61003)] {
        ok(v.run(&["officers", "add", officer]));
        ok(v.run(&[
            "user",
            "add",
            user,
            "--role",
            "officer",
            "--officer",
            officer,
            "--unix",
            &format!("uid:{uid}"),
        ]));
    }
    ok(v.run(&[
        "user",
        "add",
        "li",
        "--role",
        "supervisor",
        "--unix",
        "uid:61009",
    ]));
    // Each account reaches the store through the daemon, in its own session.
    let d = vigil_e2e::Vigild::start(&v.store(), &v.dir.path().join("vigild.log"), &[]);
    d.wait_for_socket();
    vigil_e2e::let_others_through(v.dir.path());

    // An unknown officer cannot be named as the speaker either.
    assert!(err(as_uid(
        &d.socket,
        61002,
        &["explain", &gap, "--spoken", "--at", "0.5", "--by", "7777"]
    ))
    .contains("not registered"));

    // Zhang files and signs; the gap waits for a second officer.
    let filed: serde_json::Value = serde_json::from_str(&ok(as_uid(
        &d.socket,
        61002,
        &["explain", &gap, "--written", "battery swap", "--json"],
    )))
    .unwrap();
    let eid = filed["id"].as_str().unwrap().to_owned();
    assert_eq!(filed["officers"], serde_json::json!(["1002"]));
    assert_eq!(gap_status(&v, &gap)["status"], "awaiting_signatures");
    // The same officer again is refused; so is an account without an officer.
    assert!(err(as_uid(&d.socket, 61002, &["sign", &eid])).contains("has signed"));
    assert!(err(as_uid(&d.socket, 61009, &["sign", &eid])).contains("no officer id"));
    // Wang signs in his own session: explained, both signatures recorded
    // with the user who gave each.
    let signed: serde_json::Value =
        serde_json::from_str(&ok(as_uid(&d.socket, 61003, &["sign", &eid, "--json"]))).unwrap();
    assert_eq!(signed["status"], "explained");
    let g = gap_status(&v, &gap);
    assert_eq!(g["status"], "explained");
    let sigs = g["explanation"]["signatures"].as_array().unwrap();
    let who: Vec<(&str, &str)> = sigs
        .iter()
        .map(|s| (s["officer"].as_str().unwrap(), s["user"].as_str().unwrap()))
        .collect();
    assert_eq!(who, vec![("1002", "zhang"), ("1003", "wang")]);
    let actors: Vec<String> = v.json(&["audit", "--json", "--action", "explanation.signed"])
        ["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["actor"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actors,
        vec!["zhang (unix:uid:61002)", "wang (unix:uid:61003)"]
    );

    // The supervisor rejects it: the gap is open again, the rejection shown,
    // and it is counted open in listings and reports.
    ok(as_uid(
        &d.socket,
        61009,
        &[
            "review",
            &gap,
            "--reject",
            "--note",
            "say where the battery went",
        ],
    ));
    let g = gap_status(&v, &gap);
    assert_eq!(g["status"], "open", "{g:#}");
    assert_eq!(g["explanation"]["review"], "rejected");
    assert!(v.json(&["gaps", "--open", "--json"])["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["id"] == gap.as_str()));
    let report = v.json(&[
        "report",
        "ingest",
        "--since",
        "2026-01-01",
        "--format",
        "json",
    ]);
    assert!(report["interruptions_open"].as_u64().unwrap() >= 1);
    // A new explanation, signed by both, explains it again.
    let again: serde_json::Value = serde_json::from_str(&ok(as_uid(
        &d.socket,
        61003,
        &[
            "explain",
            &gap,
            "--written",
            "battery swapped at the car",
            "--json",
        ],
    )))
    .unwrap();
    ok(as_uid(
        &d.socket,
        61002,
        &["sign", again["id"].as_str().unwrap()],
    ));
    assert_eq!(gap_status(&v, &gap)["status"], "explained");
    assert!(v.run(&["verify"]).status.success());
}
