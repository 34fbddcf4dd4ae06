//! `vigil verify` catches every kind of tampering and names what it found.

use std::os::unix::fs::PermissionsExt;

use vigil_e2e::{copy_tree, describe, fixtures, Vigil};

fn ingested() -> (Vigil, serde_json::Value) {
    let v = Vigil::new();
    let rec = v.scratch("recorder");
    copy_tree(&fixtures().join("recorder-a"), &rec);
    let doc = v.json(&[
        "ingest",
        rec.to_str().unwrap(),
        "--device",
        "BWC001",
        "--json",
    ]);
    (v, doc)
}

fn object_of(
    v: &Vigil,
    doc: &serde_json::Value,
    path: &str,
) -> (std::path::PathBuf, String, String) {
    let f = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap();
    let b3 = f["blake3"].as_str().unwrap().to_owned();
    (
        v.store().join("objects").join(&b3[..2]).join(&b3),
        b3,
        f["clip"].as_str().unwrap().to_owned(),
    )
}

fn verify_problems(v: &Vigil) -> serde_json::Value {
    let out = v.run(&["verify", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify must fail: {}",
        describe(&out)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    doc["problems"].clone()
}

#[test]
fn a_clean_store_verifies() {
    let (v, doc) = ingested();
    let out = v.json(&["verify", "--json"]);
    assert_eq!(out["ok"], true, "{out:#}");
    assert_eq!(
        out["objects_checked"],
        doc["files"].as_array().unwrap().len()
    );
    assert!(out["audit_rows_checked"].as_u64().unwrap() >= 2);
}

#[test]
fn a_changed_byte_in_an_object_is_named() {
    let (v, doc) = ingested();
    let (obj, b3, clip) = object_of(&v, &doc, "DCIM/100MEDIA/REC_0001.MP4");
    std::fs::set_permissions(&obj, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = std::fs::read(&obj).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&obj, bytes).unwrap();
    let problems = verify_problems(&v);
    let text = problems.to_string();
    assert!(
        text.contains("object_altered") && text.contains(&b3),
        "{problems:#}"
    );
    assert!(text.contains(&clip), "the clip is named too: {problems:#}");
}

#[test]
fn a_removed_object_is_named() {
    let (v, doc) = ingested();
    let (obj, b3, clip) = object_of(&v, &doc, "GPS/track.log");
    std::fs::remove_file(&obj).unwrap();
    let problems = verify_problems(&v).to_string();
    assert!(
        problems.contains("object_missing") && problems.contains(&b3),
        "{problems}"
    );
    assert!(problems.contains(&clip), "{problems}");
}

#[test]
fn an_edited_index_hash_is_named() {
    let (v, doc) = ingested();
    let (_, b3, _) = object_of(&v, &doc, "DCIM/100MEDIA/REC_0002.MP4");
    let db = v.db();
    db.execute_batch("DROP TRIGGER objects_no_update").unwrap();
    db.execute(
        "UPDATE objects SET sha256 = ?1 WHERE blake3 = ?2",
        [&"0".repeat(64), &b3],
    )
    .unwrap();
    drop(db);
    let problems = verify_problems(&v).to_string();
    assert!(
        problems.contains("object_altered")
            && problems.contains(&b3)
            && problems.contains("SHA-256"),
        "{problems}"
    );
}

#[test]
fn changed_removed_and_reordered_audit_rows_are_named() {
    for tamper in [
        "UPDATE audit SET actor = 'mallory' WHERE seq = 3",
        "DELETE FROM audit WHERE seq = 4",
        "UPDATE audit SET seq = 1000 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = 1000",
    ] {
        let (v, _) = ingested();
        let db = v.db();
        db.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;").unwrap();
        db.execute_batch(tamper).unwrap();
        drop(db);
        let problems = verify_problems(&v);
        let rows: Vec<&str> = problems
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["kind"] == "audit_chain")
            .map(|p| p["subject"].as_str().unwrap())
            .collect();
        let expect = match tamper.split_whitespace().next().unwrap() {
            "DELETE" => "audit row 5",
            _ if tamper.contains("1000") => "audit row 2",
            _ => "audit row 3",
        };
        assert!(rows.contains(&expect), "{tamper}: {problems:#}");
    }
}

#[test]
fn the_audit_log_records_who_ingested_what() {
    let (v, doc) = ingested();
    let db = v.db();
    let mut stmt = db
        .prepare("SELECT actor, action, subject FROM audit ORDER BY seq")
        .unwrap();
    let rows: Vec<(String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = String::from_utf8_lossy(&me.stdout).trim().to_owned();
    assert!(rows.iter().all(|(actor, _, _)| *actor == me), "{rows:?}");
    assert_eq!(rows.first().unwrap().1, "ingest.started");
    assert_eq!(rows.last().unwrap().1, "ingest.finished");
    for f in doc["files"].as_array().unwrap() {
        let clip = f["clip"].as_str().unwrap();
        assert!(
            rows.iter()
                .any(|(_, a, s)| a == "clip.ingested" && s == clip),
            "no audit row for {clip}"
        );
    }
    // SQL cannot rewrite history while the guards are in place.
    assert!(db.execute("DELETE FROM audit", []).is_err());
}

#[test]
fn deleting_the_newest_audit_rows_is_caught_by_the_anchor() {
    let (v, _) = ingested();
    let db = v.db();
    let last: i64 = db
        .query_row("SELECT MAX(seq) FROM audit", [], |r| r.get(0))
        .unwrap();
    db.execute_batch("DROP TRIGGER audit_no_delete;").unwrap();
    db.execute("DELETE FROM audit WHERE seq > ?1", [last - 2])
        .unwrap();
    drop(db);
    let problems = verify_problems(&v).to_string();
    assert!(
        problems.contains(&format!("audit row {last}"))
            && problems.contains("missing from its end"),
        "{problems}"
    );
}

#[test]
fn an_interruption_marked_explained_behind_the_service_is_named() {
    // The lists read each interruption's status from `gap_state` (schema
    // 15); verify recomputes it from the explanations.
    let v = Vigil::new();
    let card = v.scratch("card");
    std::fs::copy(
        fixtures().join("continuity/hole_av.mp4"),
        card.join("REC_0100.MP4"),
    )
    .unwrap();
    v.json(&[
        "ingest",
        card.to_str().unwrap(),
        "--device",
        "BWC002",
        "--json",
    ]);
    assert!(v.run(&["verify"]).status.success(), "clean before the edit");
    let open = v.json(&["gaps", "--open", "--json"]);
    let gap = open["gaps"][0]["id"].as_str().unwrap().to_owned();
    let db = v.db();
    db.execute(
        "UPDATE gap_state SET status = 'explained' WHERE gap = ?1",
        [&gap],
    )
    .unwrap();
    drop(db);
    let after = v.json(&["gaps", "--open", "--json"]);
    assert_eq!(
        after["gaps"].as_array().unwrap().len(),
        open["gaps"].as_array().unwrap().len() - 1,
        "the edit hides it from the open list"
    );
    let problems = verify_problems(&v);
    let named: Vec<&serde_json::Value> = problems
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "gap_state")
        .collect();
    assert_eq!(named.len(), 1, "{problems:#}");
    assert_eq!(named[0]["subject"], gap.as_str());
    assert!(
        named[0]["detail"].as_str().unwrap().contains("explained")
            && named[0]["detail"].as_str().unwrap().contains("open"),
        "{problems:#}"
    );
}
