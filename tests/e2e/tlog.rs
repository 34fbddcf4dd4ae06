//! The audit log as a transparency log (R10, R20): whoever holds
//! root on the station can rewrite the database, every hash in it and
//! re-sign with the station's own key; a checkpoint kept outside shows it,
//! and so does analysing the recordings again. A court package is checked
//! with no store or daemon present.

use std::path::{Path, PathBuf};
use std::process::Command;

use vigil_e2e::{bin, copy_tree, describe, fixtures, Vigil, Vigild};

fn ok(v: &Vigil, args: &[&str]) -> String {
    let out = v.run(args);
    assert!(out.status.success(), "vigil {args:?}: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Ingests continuity fixtures `names` as one recorder's card.
fn ingest(v: &Vigil, card: &str, names: &[&str]) {
    let dir = v.scratch(card);
    for n in names {
        std::fs::copy(fixtures().join("continuity").join(n), dir.join(n)).expect("copy fixture");
    }
    ok(
        v,
        &[
            "ingest",
            dir.to_str().unwrap(),
            "--device",
            "BWC007",
            "--officer",
            "1007",
        ],
    );
}

/// Saves the station's newest checkpoint to `name` (appending: an
/// auditor's file of kept checkpoints).
fn keep_checkpoint(v: &Vigil, file: &Path) -> u64 {
    let note = ok(v, &["checkpoint"]);
    let size = note.lines().nth(1).unwrap().parse().unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .unwrap();
    std::io::Write::write_all(&mut f, note.as_bytes()).unwrap();
    size
}

/// What root does behind the service's back: drops the guards, applies
/// `edit` to the rows, then rebuilds the whole log from what is left
/// (every row's hash chain and Merkle leaf recomputed by Vigil's own
/// code), removes every checkpoint and moves the anchor to the new head.
/// The next open of the store signs the rewritten log with the station's
/// own key.
fn rewrite(
    store: &Path,
    edit: impl FnOnce(&rusqlite::Connection, &mut Vec<vigil_store::audit::AuditEntry>),
) {
    let conn = rusqlite::Connection::open(store.join("vigil.db")).unwrap();
    // A careful root puts the guards back afterwards, as they were.
    let guards: Vec<String> = conn
        .prepare(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN
             ('audit_no_update', 'audit_no_delete', 'audit_tree_no_delete',
              'checkpoints_no_delete', 'gaps_no_delete')",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;
         DROP TRIGGER audit_tree_no_delete; DROP TRIGGER checkpoints_no_delete;
         DROP TRIGGER gaps_no_delete;",
    )
    .unwrap();
    let mut rows = vigil_store::audit::entries(&conn).unwrap();
    edit(&conn, &mut rows);
    conn.execute_batch("DELETE FROM audit; DELETE FROM audit_tree; DELETE FROM checkpoints;")
        .unwrap();
    for r in &rows {
        vigil_store::audit::append(&conn, &r.at, &r.actor, &r.action, &r.subject, &r.detail)
            .unwrap();
    }
    for g in &guards {
        conn.execute_batch(g).unwrap();
    }
    let (seq, hash): (i64, String) = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    drop(conn);
    std::fs::write(store.join("audit.head"), format!("{seq} {hash}\n")).unwrap();
    // Re-signed with the station's own key.
    vigil_store::Store::open(store).unwrap();
}

fn verify_checkpoint(v: &Vigil, args: &[&str]) -> (bool, String) {
    let out = v.run(&[&["checkpoint", "verify"], args].concat());
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "checkpoint verify {args:?}: {}",
        describe(&out)
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_rewritten_and_re_signed_log_is_exposed_by_a_kept_checkpoint() {
    let v = Vigil::new();
    let logs = v.scratch("logs");
    let d = Vigild::start(
        &v.store(),
        &logs.join("vigild.log"),
        &["--station", "vigil.test-agency/station-1"],
    );
    d.wait_for_socket();
    ingest(&v, "card1", &["clean.mp4"]);
    let kept = v.dir.path().join("kept.txt");
    let early = keep_checkpoint(&v, &kept);
    ingest(&v, "card2", &["audio_stops.mp4", "hole_video.avi"]);
    let saved = v.dir.path().join("saved.txt");
    let size = keep_checkpoint(&v, &saved);
    keep_checkpoint(&v, &kept);
    let key = ok(&v, &["checkpoint", "--key"]).trim().to_owned();
    assert!(key.starts_with("vigil.test-agency/station-1+"), "{key}");
    let (holds, text) = verify_checkpoint(&v, &[saved.to_str().unwrap(), "--key", &key]);
    assert!(holds, "{text}");
    let before = v.json(&["verify", "--json"]);
    assert_eq!(before["ok"], true, "{before:#}");
    // The station's own check (the desk's button) says yes.
    let checked = v.json(&["checkpoint", "check", kept.to_str().unwrap(), "--json"]);
    assert_eq!(checked["ok"], true, "{checked:#}");

    // Stop the daemon; delete an interruption and every audit row about it.
    drop(d);
    let gaps = v.json(&["gaps", "--json"]);
    let gap = gaps["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "stream_stopped")
        .expect("audio_stops.mp4 stops its sound early")
        .clone();
    let gap_id = gap["id"].as_str().unwrap().to_owned();
    let mut first_removed = 0;
    rewrite(&v.store(), |conn, rows| {
        conn.execute("DELETE FROM gap_state WHERE gap = ?1", [&gap_id])
            .unwrap();
        conn.execute("DELETE FROM gaps WHERE id = ?1", [&gap_id])
            .unwrap();
        first_removed = rows.iter().find(|r| r.subject == gap_id).unwrap().seq;
        rows.retain(|r| r.subject != gap_id);
    });
    assert!(first_removed > early as i64);
    let d = Vigild::start(&v.store(), &logs.join("vigild.log"), &[]);
    d.wait_for_socket();

    // The rewritten log is whole in itself: its own checks pass...
    let out = v.run(&[
        "checkpoint",
        "verify",
        saved.to_str().unwrap(),
        "--key",
        &key,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["diverges_at"], size, "{doc:#}");
    // The station's own check says no for the checkpoint the rewrite
    // broke, and yes for the older one it left whole.
    let out = v.run(&["checkpoint", "check", kept.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let checked: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts: Vec<(u64, bool, serde_json::Value)> = checked["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["size"].as_u64().unwrap(),
                c["holds"] == true,
                c["failure"].clone(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            (early, true, serde_json::Value::Null),
            (size, false, serde_json::json!("rewritten"))
        ],
        "{checked:#}"
    );
    // ...the text names the size, and the older checkpoint it still extends.
    let (holds, text) = verify_checkpoint(&v, &[kept.to_str().unwrap(), "--key", &key]);
    assert!(!holds);
    assert!(
        text.contains(&format!("diverge at or before size {size}"))
            && text.contains(&format!("still extends the checkpoint of size {early}")),
        "{text}"
    );
    // The checkpoint the rewritten station signs is its own: with its key
    // it verifies; the kept one is refused for what it is.
    assert!(text.contains(&format!("holds    size {early}")), "{text}");
    // verify names the interruption the gap log no longer has.
    let out = v.run(&["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let after: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(after["ok"], false);
    let missing: Vec<&serde_json::Value> = after["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "interruption_missing")
        .collect();
    assert_eq!(missing.len(), 1, "{after:#}");
    assert!(missing[0]["detail"]
        .as_str()
        .unwrap()
        .contains("audio_stops.mp4"));
    assert!(missing[0]["detail"]
        .as_str()
        .unwrap()
        .contains("stream_stopped"));
    drop(d);
}

#[test]
fn a_changed_row_a_truncated_tail_and_an_older_backup_are_each_exposed() {
    let v = Vigil::new();
    ingest(&v, "card1", &["clean.mp4", "hole_av.mp4"]);
    let kept = v.dir.path().join("kept.txt");
    let backup = v.scratch("backup");
    copy_tree(&v.store(), &backup.join("store"));
    let old = keep_checkpoint(&v, &kept);
    ingest(&v, "card2", &["restart.ts"]);
    let saved = v.dir.path().join("saved.txt");
    let size = keep_checkpoint(&v, &saved);
    let key = ok(&v, &["checkpoint", "--key"]).trim().to_owned();
    let pristine = v.scratch("pristine");
    copy_tree(&v.store(), &pristine.join("store"));
    let restore = |v: &Vigil, from: &Path| {
        std::fs::remove_dir_all(v.store()).unwrap();
        copy_tree(from, &v.store());
    };

    // 1. One row in the middle says another actor; everything recomputed.
    rewrite(&v.store(), |_, rows| {
        let mid = rows.len() / 2;
        rows[mid].actor = "mallory".into();
    });
    let (holds, text) = verify_checkpoint(&v, &[saved.to_str().unwrap(), "--key", &key]);
    assert!(
        !holds && text.contains(&format!("at or before size {size}")),
        "{text}"
    );
    assert!(
        v.json(&["verify", "--json"])["ok"] == true,
        "a thorough rewrite is whole in itself"
    );

    // 2. The newest rows cut off: the logs diverge exactly where it ends.
    restore(&v, &pristine.join("store"));
    let cut = size - 3;
    rewrite(&v.store(), |_, rows| rows.truncate(cut as usize));
    let (holds, text) = verify_checkpoint(&v, &[saved.to_str().unwrap(), "--key", &key]);
    assert!(!holds, "{text}");
    assert!(
        text.contains(&format!("diverge at size {}", cut + 1)),
        "{text}"
    );

    // 3. Restored from a backup taken before the last checkpoint kept.
    restore(&v, &backup.join("store"));
    let (holds, text) = verify_checkpoint(&v, &[saved.to_str().unwrap(), "--key", &key]);
    assert!(!holds, "{text}");
    assert!(
        text.contains(&format!("diverge at size {}", old + 1)),
        "{text}"
    );

    // The untouched log extends both, online and offline from a proof file.
    restore(&v, &pristine.join("store"));
    let (holds, text) = verify_checkpoint(
        &v,
        &[
            kept.to_str().unwrap(),
            saved.to_str().unwrap(),
            "--key",
            &key,
        ],
    );
    assert!(holds, "{text}");
    let proof = v.dir.path().join("proof.json");
    std::fs::write(
        &proof,
        ok(&v, &["audit", "prove", "--from", kept.to_str().unwrap()]),
    )
    .unwrap();
    let offline = Command::new(bin("vigil"))
        .args(["checkpoint", "verify"])
        .arg(&kept)
        .arg("--proof")
        .arg(&proof)
        .args(["--key", &key])
        .env_remove("VIGIL_STORE")
        .output()
        .unwrap();
    assert!(offline.status.success(), "{}", describe(&offline));
    // A proof with one hash changed, or the wrong key, is refused.
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    let h = doc["proof"][0].as_str().unwrap().to_owned();
    let flipped = if h.starts_with('A') {
        h.replacen('A', "B", 1)
    } else {
        format!("A{}", &h[1..])
    };
    doc["proof"][0] = flipped.into();
    std::fs::write(&proof, doc.to_string()).unwrap();
    let bad = Command::new(bin("vigil"))
        .args(["checkpoint", "verify"])
        .arg(&kept)
        .arg("--proof")
        .arg(&proof)
        .args(["--key", &key])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1), "{}", describe(&bad));
    let other = Vigil::new();
    ingest(&other, "card", &["clean.mp4"]);
    let other_key = ok(&other, &["checkpoint", "--key"]).trim().to_owned();
    let out = v.run(&[
        "checkpoint",
        "verify",
        saved.to_str().unwrap(),
        "--key",
        &other_key,
    ]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not verify"),
        "{}",
        describe(&out)
    );
}

/// Makes an approved export of every clip (custodian alice, supervisors
/// sam and tom) into `out`.
pub(crate) fn export(v: &Vigil, out: &Path) {
    for (name, role) in [
        ("alice", "custodian"),
        ("sam", "supervisor"),
        ("tom", "supervisor"),
    ] {
        ok(v, &["user", "add", name, "--role", role]);
    }
    let clips = v.json(&["clips", "--json"]);
    let ids: Vec<String> = clips["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clip"].as_str().unwrap().to_owned())
        .collect();
    let mut args = vec!["tag"];
    args.extend(ids.iter().map(String::as_str));
    args.extend(["--case", "C-12", "--site", "Pier 4"]);
    ok(v, &args);
    let req = v.json(&[
        "--as",
        "sam",
        "request",
        "--case",
        "C-12",
        "--reason",
        "court hearing",
        "--json",
    ]);
    let rid = req["request"].as_str().unwrap().to_owned();
    ok(v, &["--as", "tom", "approve", &rid]);
    ok(
        v,
        &[
            "--as",
            "alice",
            "export",
            "--request",
            &rid,
            "--out",
            out.to_str().unwrap(),
        ],
    );
}

pub(crate) fn verify_export(dir: &Path, key: Option<&str>) -> std::process::Output {
    let mut c = Command::new(bin("vigil"));
    c.arg("verify-export").arg(dir).env_remove("VIGIL_STORE");
    if let Some(k) = key {
        c.args(["--key", k]);
    }
    c.output().unwrap()
}

fn copy_package(from: &Path, to: &Path) -> PathBuf {
    copy_tree(from, to);
    to.to_owned()
}

#[test]
fn an_export_proves_its_custody_trail_offline_and_any_alteration_fails() {
    let v = Vigil::new();
    ingest(&v, "card", &["hole_av.mp4", "clean.mp4"]);
    let pkg = v.dir.path().join("package");
    export(&v, &pkg);
    let key = ok(&v, &["checkpoint", "--key"]).trim().to_owned();
    // No store and no daemon: the package and the key alone.
    std::fs::remove_dir_all(v.store()).unwrap();
    let out = verify_export(&pkg, Some(&key));
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("OK: 2 clips"), "{text}");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pkg.join("metadata.json")).unwrap()).unwrap();
    let custody = meta["clips"][0]["custody"].as_array().unwrap();
    let actions: Vec<&str> = custody
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for a in [
        "clip.ingested",
        "gap.detected",
        "clip.tagged",
        "request.created",
        "request.approved",
        "clip.exported",
    ] {
        assert!(
            actions.contains(&a),
            "{a} missing from the custody trail {actions:?}"
        );
    }

    // One audit row altered.
    let scratch = v.scratch("altered");
    let p = copy_package(&pkg, &scratch.join("row"));
    let mut m = meta.clone();
    m["clips"][0]["custody"][0]["actor"] = "mallory".into();
    std::fs::write(
        p.join("metadata.json"),
        serde_json::to_string_pretty(&m).unwrap(),
    )
    .unwrap();
    let out = verify_export(&p, Some(&key));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is not in the log the checkpoint signs"));

    // One inclusion proof altered.
    let p = copy_package(&pkg, &scratch.join("proof"));
    let mut m = meta.clone();
    let row = m["clips"][1]["custody"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| !r["proof"].as_array().unwrap().is_empty())
        .unwrap();
    let h = row["proof"][0].as_str().unwrap().to_owned();
    row["proof"][0] = format!("{}{}", if h.starts_with('A') { 'B' } else { 'A' }, &h[1..]).into();
    std::fs::write(
        p.join("metadata.json"),
        serde_json::to_string_pretty(&m).unwrap(),
    )
    .unwrap();
    let out = verify_export(&p, Some(&key));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));

    // The checkpoint's signature altered.
    let p = copy_package(&pkg, &scratch.join("signature"));
    let note = std::fs::read_to_string(p.join("CHECKPOINT")).unwrap();
    let sig_at = note.rfind(' ').unwrap() + 5;
    let mut bytes = note.into_bytes();
    bytes[sig_at] = if bytes[sig_at] == b'A' { b'B' } else { b'A' };
    std::fs::write(p.join("CHECKPOINT"), bytes).unwrap();
    let out = verify_export(&p, Some(&key));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("CHECKPOINT: its signature does not verify")
    );

    // A package re-signed by another station's key passes only its own
    // station.pub, never the key the auditor keeps.
    let other = Vigil::new();
    ingest(&other, "card", &["clean.mp4"]);
    let other_key = ok(&other, &["checkpoint", "--key"]).trim().to_owned();
    assert_eq!(verify_export(&pkg, Some(&other_key)).status.code(), Some(1));
    let own = verify_export(&pkg, None);
    assert!(own.status.success(), "{}", describe(&own));
    assert!(String::from_utf8_lossy(&own.stdout).contains("package's own station.pub"));
}
