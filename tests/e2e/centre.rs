//! The agency centre with real parts: a throwaway PostgreSQL cluster, a
//! `vigil-centre` process on it over TLS, stations as real vigild
//! processes sending their logs; the witness protocol spoken over HTTPS.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vigil_e2e::agency::{free_port, Centre, Netns, Postgres};
use vigil_e2e::{copy_tree, describe, fixtures, Vigil, Vigild};
use vigil_tlog::cosignature::CosignatureVerifier;

/// A station's vigild.toml: its log's name, the centre, a push a second.
fn station_config(v: &Vigil, name: &str, centre: &Centre) -> PathBuf {
    station_config_at(v, name, centre, &centre.url)
}

/// The same, reaching the centre at `url`.
fn station_config_at(v: &Vigil, name: &str, centre: &Centre, url: &str) -> PathBuf {
    let media = v.scratch("media");
    let path = v.dir.path().join("vigild.toml");
    std::fs::write(
        &path,
        format!(
            "station = \"{name}\"\ndocks = []\nusb = false\nwatch = \"{}\"\ncentre_url = \"{}\"\ncentre_fingerprint = \"{}\"\ncentre_witness = \"{}\"\ncentre_every_s = 1\ncentre_timeout_s = 3\n",
            media.display(),
            url,
            centre.fingerprint,
            centre.witness
        ),
    )
    .expect("config");
    path
}

fn station(v: &Vigil, name: &str, centre: &Centre) -> Vigild {
    let cfg = station_config(v, name, centre);
    let d = Vigild::start(
        &v.store(),
        &v.dir.path().join("vigild.log"),
        &["--config", cfg.to_str().expect("utf-8")],
    );
    d.wait_for_socket();
    d
}

fn enrol(v: &Vigil, centre: &Centre) -> String {
    let out = v.run(&["checkpoint", "--key"]);
    assert!(out.status.success(), "{}", describe(&out));
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let name = key.split('+').next().expect("a key name").to_owned();
    let out = centre.run(&["station", "add", &name, "--key", &key]);
    assert!(out.status.success(), "station add: {}", describe(&out));
    name
}

/// Waits until `pred` holds for `vigil centre --json`.
fn until_centre(
    v: &Vigil,
    secs: u64,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let doc = v.json(&["centre", "--json"]);
        if pred(&doc) {
            return doc;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {doc:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn synced(doc: &serde_json::Value) -> bool {
    doc["depth"] == 0 && doc["outbox"]["applied"] == doc["log_size"] && doc["log_size"] != 0
}

fn count(v: &Vigil, sql: &str) -> i64 {
    v.db().query_row(sql, [], |r| r.get(0)).expect(sql)
}

fn ingest(v: &Vigil, fixture: &str, device: &str, officer: &str) {
    let rec = v.scratch(&format!("card-{fixture}-{device}"));
    copy_tree(&fixtures().join(fixture), &rec);
    v.json(&[
        "ingest",
        rec.to_str().expect("utf-8"),
        "--device",
        device,
        "--officer",
        officer,
        "--json",
    ]);
}

/// What the centre holds of `station` matches the station's own index:
/// every entry once, every clip and interruption, each row traced to the
/// log entry naming it.
fn centre_matches(pg: &Postgres, v: &Vigil, station: &str) {
    let q = |sql: &str| pg.count("centre", &sql.replace("$S", &format!("'{station}'")));
    let size = count(v, "SELECT COUNT(*) FROM audit");
    assert_eq!(q("SELECT COUNT(*) FROM entries WHERE station = $S"), size);
    assert_eq!(
        q("SELECT COALESCE(MAX(seq), 0) FROM entries WHERE station = $S"),
        size,
        "entries 1..=size, none twice (the primary key) and none missing"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM clips WHERE station = $S"),
        count(v, "SELECT COUNT(*) FROM clips")
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM gaps WHERE station = $S"),
        count(v, "SELECT COUNT(*) FROM gaps")
    );
    for table in ["clips", "gaps"] {
        assert_eq!(
            q(&format!(
                "SELECT COUNT(*) FROM {table} r LEFT JOIN entries e
                   ON e.station = r.station AND e.seq = r.seq AND e.subject = r.id
                 WHERE r.station = $S AND e.seq IS NULL"
            )),
            0,
            "every {table} row names the station log entry it came from"
        );
    }
    // The hashes the station holds are the centre's.
    let (id, sha): (String, String) = v
        .db()
        .query_row(
            "SELECT c.id, o.sha256 FROM clips c JOIN objects o ON o.blake3 = c.object LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a clip");
    assert_eq!(
        pg.sql(
            "centre",
            &format!("SELECT sha256 FROM clips WHERE station = '{station}' AND id = '{id}'")
        ),
        sha
    );
}

/// The station's newest kept cosigned checkpoint verifies with the
/// centre's witness key, and is of the log's size.
fn cosigned_ok(v: &Vigil, witness: &str) -> u64 {
    let (size, note): (i64, String) = v
        .db()
        .query_row(
            "SELECT size, note FROM cosigned ORDER BY size DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a cosigned checkpoint");
    let w = CosignatureVerifier::from_key_string(witness).expect("witness key");
    w.verify(&note).expect("the centre's cosignature verifies");
    size as u64
}

#[test]
fn a_station_sends_its_log_to_the_centre_and_catches_up_after_an_outage() {
    let pg = Postgres::start(&["centre"]);
    let v = Vigil::new();
    let mut centre = Centre::init(
        &pg,
        "centre",
        &v.scratch("centre"),
        &format!("127.0.0.1:{}", free_port()),
    );
    centre.start();
    let _d = station(&v, "vigil.test/station-a", &centre);
    // Not enrolled yet: the centre refuses it and says so in its audit log.
    ingest(&v, "recorder-seq", "BWC002", "1002");
    until_centre(&v, 20, "the unknown station's refusal", |d| {
        d["outbox"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("403") && e.contains("enrolled"))
    });
    assert!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE action = 'station.refused' AND subject = 'vigil.test/station-a' AND detail->>'why' = 'unknown'"
        ) >= 1
    );
    let name = enrol(&v, &centre);
    assert_eq!(name, "vigil.test/station-a");
    let doc = until_centre(&v, 30, "the log at the centre", synced);
    assert!(doc["outbox"]["last_error"].is_null(), "{doc:#}");
    centre_matches(&pg, &v, &name);
    assert_eq!(
        cosigned_ok(&v, &centre.witness),
        doc["log_size"].as_u64().unwrap()
    );
    let board = centre.stations();
    assert_eq!(board[0]["name"], name);
    assert_eq!(board[0]["applied"], doc["log_size"]);
    assert!(board[0]["flag"].is_null());

    // The centre goes down: the station goes on alone.
    centre.kill();
    ingest(&v, "recorder-a", "BWC003", "1003");
    let down = until_centre(&v, 20, "the outage noticed", |d| {
        d["outbox"]["last_error"].is_string() && d["depth"].as_u64() > Some(0)
    });
    let held = pg.count("centre", "SELECT COUNT(*) FROM entries");
    assert!(held < down["log_size"].as_i64().unwrap());
    // Back up: the outbox empties in order, nothing twice.
    centre.start();
    let doc = until_centre(&v, 30, "the catch-up", synced);
    assert!(doc["outbox"]["last_error"].is_null(), "{doc:#}");
    centre_matches(&pg, &v, &name);
    assert_eq!(
        cosigned_ok(&v, &centre.witness),
        doc["log_size"].as_u64().unwrap()
    );
    // Every cosigned checkpoint the station kept is one the centre holds.
    let kept = count(&v, "SELECT COUNT(*) FROM cosigned");
    assert!(
        kept >= 2,
        "at least one cosignature before and one after the outage"
    );
    assert!(pg.count("centre", "SELECT COUNT(*) FROM cosigned") >= kept);
}

/// A station killed (SIGKILL) after the centre applied its batch and
/// before it kept the answer sends the batch again at its next start: the
/// centre answers as before and applies nothing twice.
#[test]
fn a_station_killed_mid_push_sends_again_and_nothing_is_applied_twice() {
    let pg = Postgres::start(&["centre"]);
    let v = Vigil::new();
    let mut centre = Centre::init(
        &pg,
        "centre",
        &v.scratch("centre"),
        &format!("127.0.0.1:{}", free_port()),
    );
    centre.start();
    let name = "vigil.test/station-k";
    let cfg = station_config(&v, name, &centre);
    let log = v.dir.path().join("vigild.log");
    let args = ["--config", cfg.to_str().expect("utf-8")];
    // The first start makes the station's key; enrol it, then ingest.
    let mut d = Vigild::start_with(
        &v.store(),
        &log,
        &args,
        &[("VIGIL_FAILPOINT", "centre.answered:1")],
    );
    d.wait_for_socket();
    enrol(&v, &centre);
    ingest(&v, "recorder-seq", "BWC002", "1002");
    assert!(
        d.exited(30),
        "vigild did not reach the fail point:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    drop(d);
    // The centre holds the batch; the station never kept the answer.
    let held = pg.count("centre", "SELECT COUNT(*) FROM entries");
    assert!(held > 0);
    assert_eq!(count(&v, "SELECT COUNT(*) FROM cosigned"), 0);
    let cosigned = pg.count("centre", "SELECT COUNT(*) FROM cosigned");
    let _d = station(&v, name, &centre);
    let doc = until_centre(&v, 30, "the resent batch answered", synced);
    assert!(
        centre.log_text().contains("a batch sent again"),
        "{}",
        centre.log_text()
    );
    assert_eq!(
        pg.count("centre", "SELECT COUNT(*) FROM entries"),
        doc["log_size"].as_i64().unwrap()
    );
    assert!(pg.count("centre", "SELECT COUNT(*) FROM cosigned") >= cosigned);
    assert_eq!(
        cosigned_ok(&v, &centre.witness),
        doc["log_size"].as_u64().unwrap()
    );
    centre_matches(&pg, &v, name);
    // A batch replayed by hand after that changes nothing either: the
    // outbox set back, as a station restored from yesterday's backup
    // would be.
    drop(_d);
    v.db()
        .execute("UPDATE centre_outbox SET applied = 0, witnessed = 0", [])
        .expect("set the outbox back");
    let entries = pg.count("centre", "SELECT COUNT(*) FROM entries");
    let _d = station(&v, name, &centre);
    until_centre(&v, 30, "the outbox caught up again", synced);
    assert_eq!(pg.count("centre", "SELECT COUNT(*) FROM entries"), entries);
    centre_matches(&pg, &v, name);
}

fn client(centre: &Centre) -> reqwest::blocking::Client {
    let pem = std::fs::read(
        Path::new(&centre.config)
            .with_file_name("state")
            .join("centre.crt"),
    )
    .expect("the centre's certificate");
    reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"))
        .build()
        .expect("client")
}

/// The witness protocol over HTTPS (C2SP tlog-witness): a station's log
/// key signs checkpoints of a tree the test builds; the centre cosigns
/// consistent growth only, and answers each refusal with its status.
#[test]
fn the_witness_speaks_tlog_witness() {
    use vigil_tlog::note::{Checkpoint, Signer};
    use vigil_tlog::witness::AddCheckpoint;
    let pg = Postgres::start(&["centre"]);
    let dir = tempfile::tempdir().expect("tmp");
    let mut centre = Centre::init(
        &pg,
        "centre",
        &dir.path().join("centre"),
        &format!("127.0.0.1:{}", free_port()),
    );
    centre.start();
    let log = Signer::generate("vigil.test/station-w").expect("key");
    let out = centre.run(&[
        "station",
        "add",
        "vigil.test/station-w",
        "--key",
        &log.verifier().to_key_string(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let leaves: Vec<vigil_tlog::Hash> = (0..20u64)
        .map(|i| vigil_tlog::leaf_hash(&i.to_le_bytes()))
        .collect();
    let cp = |n: u64, key: &Signer, leaves: &[vigil_tlog::Hash]| {
        Checkpoint {
            origin: "vigil.test/station-w".into(),
            size: n,
            root: vigil_tlog::root(leaves, n),
        }
        .sign(key)
        .expect("sign")
    };
    let http = client(&centre);
    let url = format!("{}/add-checkpoint", centre.url);
    let post = |body: String| {
        let r = http
            .post(&url)
            .body(body)
            .send()
            .expect("the centre answers");
        let status = r.status().as_u16();
        let ctype = r
            .headers()
            .get("content-type")
            .map(|c| c.to_str().unwrap_or("").to_owned())
            .unwrap_or_default();
        (status, ctype, r.text().unwrap_or_default())
    };
    let w = CosignatureVerifier::from_key_string(&centre.witness).expect("witness key");
    // First sight of the log: old 0, no proof; a cosignature line back.
    let first = cp(8, &log, &leaves);
    let (status, _, body) = post(
        AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: first.clone(),
        }
        .to_body(),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("\u{2014} centre.test/witness "), "{body}");
    w.verify(&format!("{first}{body}")).expect("cosigned");
    // Growth with a good proof.
    let grown = cp(13, &log, &leaves);
    let proof = vigil_tlog::consistency_proof(&leaves[..], 8, 13).unwrap();
    let (status, _, body) = post(
        AddCheckpoint {
            old: 8,
            proof: proof.clone(),
            checkpoint: grown.clone(),
        }
        .to_body(),
    );
    assert_eq!(status, 200, "{body}");
    w.verify(&format!("{grown}{body}")).expect("cosigned");
    // A stale old size: 409 with the size held, as text/x.tlog.size.
    let (status, ctype, body) = post(
        AddCheckpoint {
            old: 8,
            proof,
            checkpoint: grown,
        }
        .to_body(),
    );
    assert_eq!(
        (status, ctype.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "13\n")
    );
    // Signed by another key: 403.
    let mallory = Signer::generate("vigil.test/station-w").expect("key");
    let (status, _, body) = post(
        AddCheckpoint {
            old: 13,
            proof: vec![],
            checkpoint: cp(13, &mallory, &leaves),
        }
        .to_body(),
    );
    assert_eq!(status, 403, "{body}");
    // An unknown log: 404, audited.
    let stranger = Signer::generate("vigil.test/nobody").expect("key");
    let (status, _, _) = post(
        AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: Checkpoint {
                origin: "vigil.test/nobody".into(),
                size: 1,
                root: leaves[0],
            }
            .sign(&stranger)
            .unwrap(),
        }
        .to_body(),
    );
    assert_eq!(status, 404);
    assert_eq!(pg.count("centre", "SELECT COUNT(*) FROM audit WHERE action = 'station.refused' AND subject = 'vigil.test/nobody'"), 1);
    // Not a request: 400.
    let (status, _, body) = post("old 013\n\nx\n".into());
    assert_eq!(status, 400, "{body}");
    // A rewritten history: the log re-signed over changed leaves. The
    // proof cannot lead from the held root: 422, and the station is
    // flagged on the board and in the audit log.
    let mut rewritten = leaves.clone();
    rewritten[3] = vigil_tlog::leaf_hash(b"rewritten");
    let forged = cp(17, &log, &rewritten);
    let proof = vigil_tlog::consistency_proof(&rewritten[..], 13, 17).unwrap();
    let (status, _, body) = post(
        AddCheckpoint {
            old: 13,
            proof,
            checkpoint: forged,
        }
        .to_body(),
    );
    assert_eq!(status, 422, "{body}");
    let board = centre.stations();
    assert!(
        board[0]["flag"]
            .as_str()
            .is_some_and(|f| f.contains("does not extend")),
        "{board:#}"
    );
    assert_eq!(board[0]["witnessed"], 13, "the witness keeps what it held");
    assert_eq!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE action = 'station.flagged'"
        ),
        1
    );
    // The honest growth is still cosigned from what it held.
    let proof = vigil_tlog::consistency_proof(&leaves[..], 13, 20).unwrap();
    let (status, _, body) = post(
        AddCheckpoint {
            old: 13,
            proof,
            checkpoint: cp(20, &log, &leaves),
        }
        .to_body(),
    );
    assert_eq!(status, 200, "{body}");
    // The witness's view survives a SIGKILL: it was saved before it answered.
    centre.kill();
    centre.start();
    let (status, _, body) = post(
        AddCheckpoint {
            old: 13,
            proof: vec![],
            checkpoint: cp(20, &log, &leaves),
        }
        .to_body(),
    );
    assert_eq!((status, body.as_str()), (409, "20\n"));
}

/// What root with the station key can do to a stopped station: change an
/// audit row, recompute the hash chain after it, drop the Merkle tree and
/// the signed checkpoints (the station rebuilds and re-signs them at its
/// next start) and move the anchor to the new head.
fn rewrite_history(store: &Path) {
    let db = rusqlite::Connection::open(store.join("vigil.db")).expect("open");
    db.execute_batch(
        "DROP TRIGGER audit_no_update; DROP TRIGGER audit_tree_no_delete; DROP TRIGGER checkpoints_no_delete;",
    )
    .expect("drop the append-only triggers");
    let seq: i64 = db
        .query_row(
            "SELECT MIN(seq) FROM audit WHERE action = 'clip.ingested'",
            [],
            |r| r.get(0),
        )
        .expect("a clip.ingested row");
    db.execute(
        "UPDATE audit SET detail = replace(detail, '\"officer\":\"1002\"', '\"officer\":\"1009\"') WHERE seq = ?1",
        [seq],
    )
    .expect("change the row");
    let rows: Vec<(i64, String, String, String, String, String)> = {
        let mut st = db
            .prepare("SELECT seq, at, actor, action, subject, detail FROM audit WHERE seq >= ?1 ORDER BY seq")
            .expect("prepare");
        st.query_map([seq], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .expect("rows")
        .map(Result::unwrap)
        .collect()
    };
    let mut prev: String = db
        .query_row("SELECT prev_hash FROM audit WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .expect("prev");
    for (s, at, actor, action, subject, detail) in rows {
        let hash = vigil_store::audit::row_hash(&prev, s, &at, &actor, &action, &subject, &detail);
        db.execute(
            "UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, hash, s],
        )
        .expect("rechain");
        prev = hash;
    }
    db.execute_batch("DELETE FROM audit_tree; DELETE FROM checkpoints;")
        .expect("drop the tree and the checkpoints");
    let last: i64 = db
        .query_row("SELECT MAX(seq) FROM audit", [], |r| r.get(0))
        .expect("last");
    std::fs::write(store.join("audit.head"), format!("{last} {prev}\n")).expect("anchor");
}

#[test]
fn a_station_whose_history_was_rewritten_is_refused_and_flagged() {
    let pg = Postgres::start(&["centre"]);
    let v = Vigil::new();
    let mut centre = Centre::init(
        &pg,
        "centre",
        &v.scratch("centre"),
        &format!("127.0.0.1:{}", free_port()),
    );
    centre.start();
    let d = station(&v, "vigil.test/station-x", &centre);
    let name = enrol(&v, &centre);
    ingest(&v, "recorder-seq", "BWC002", "1002");
    until_centre(&v, 30, "the log at the centre", synced);
    let held = pg.count("centre", "SELECT COUNT(*) FROM entries");
    drop(d);
    rewrite_history(&v.store());
    let _d = station(&v, "vigil.test/station-x", &centre);
    // The station re-signed its rewritten log; its next change is pushed
    // with a proof from what the witness cosigned, which cannot hold.
    ingest(&v, "recorder-a", "BWC003", "1003");
    let doc = until_centre(&v, 30, "the refusal", |d| {
        d["outbox"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("422"))
    });
    assert!(doc["depth"].as_u64() > Some(0), "{doc:#}");
    let board = centre.stations();
    assert_eq!(board[0]["name"], name);
    assert!(
        board[0]["flag"]
            .as_str()
            .is_some_and(|f| f.contains("does not extend")),
        "{board:#}"
    );
    assert!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE action = 'station.flagged'"
        ) >= 1
    );
    // What the centre held stays as the station first sent it.
    assert_eq!(pg.count("centre", "SELECT COUNT(*) FROM entries"), held);
    assert_eq!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM entries WHERE action = 'clip.ingested' AND detail LIKE '%\"officer\":\"1009\"%'"
        ),
        0
    );
}

/// The centre's cosignature travels: `vigil checkpoint --cosigned` keeps
/// it and `checkpoint verify --witness` checks it; a court package carries
/// it (COSIGNED) with the proof that its checkpoint extends it, and
/// `verify-export --witness` checks both; a report prints it.
#[test]
fn the_cosignature_travels_with_checkpoints_packages_and_reports() {
    let pg = Postgres::start(&["centre"]);
    let v = Vigil::new();
    let mut centre = Centre::init(
        &pg,
        "centre",
        &v.scratch("centre"),
        &format!("127.0.0.1:{}", free_port()),
    );
    centre.start();
    let _d = station(&v, "vigil.test/station-c", &centre);
    enrol(&v, &centre);
    ingest(&v, "recorder-seq", "BWC002", "1002");
    until_centre(&v, 30, "the log at the centre", synced);
    let out = v.run(&["checkpoint", "--key"]);
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let other = vigil_tlog::cosignature::Cosigner::generate("centre.test/witness")
        .expect("key")
        .verifier()
        .to_key_string();

    // A cosigned checkpoint, kept and checked.
    let kept = v.dir.path().join("cosigned.txt");
    let out = v.run(&["checkpoint", "--cosigned"]);
    assert!(out.status.success(), "{}", describe(&out));
    std::fs::write(&kept, &out.stdout).expect("keep");
    let verify = |file: &Path, witness: &str| {
        v.run(&[
            "checkpoint",
            "verify",
            file.to_str().unwrap(),
            "--key",
            &key,
            "--witness",
            witness,
        ])
    };
    let out = verify(&kept, &centre.witness);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("cosigned by centre.test/witness"),
        "{}",
        describe(&out)
    );
    let out = verify(&kept, &other);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not cosigned"),
        "{}",
        describe(&out)
    );
    // The station's own newest checkpoint is not (yet) cosigned.
    let plain = v.dir.path().join("plain.txt");
    let out = v.run(&["checkpoint"]);
    std::fs::write(&plain, &out.stdout).expect("keep");
    let out = verify(&plain, &centre.witness);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));

    // A court package carries it.
    let pkg = v.dir.path().join("package");
    crate::tlog::export(&v, &pkg);
    assert!(pkg.join("COSIGNED").exists());
    let out = std::process::Command::new(vigil_e2e::bin("vigil"))
        .arg("verify-export")
        .arg(&pkg)
        .args(["--key", &key, "--witness", &centre.witness, "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", describe(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // The package's COSIGNED is the newest the station held when it was
    // made (the station may have had newer ones cosigned since).
    let cosigned_note = std::fs::read_to_string(pkg.join("COSIGNED")).unwrap();
    let size: u64 = cosigned_note.lines().nth(1).unwrap().parse().unwrap();
    assert_eq!(doc["witnessed"], size);
    assert!(size <= doc["checkpoint"]["size"].as_u64().unwrap());
    CosignatureVerifier::from_key_string(&centre.witness)
        .unwrap()
        .verify(&cosigned_note)
        .expect("COSIGNED is cosigned");
    let out = std::process::Command::new(vigil_e2e::bin("vigil"))
        .arg("verify-export")
        .arg(&pkg)
        .args(["--key", &key, "--witness", &other])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no valid cosignature"),
        "{}",
        describe(&out)
    );
    // A package whose COSIGNED was swapped for another station's note.
    let note = std::fs::read_to_string(pkg.join("COSIGNED")).unwrap();
    std::fs::write(pkg.join("COSIGNED"), note.replace("\n\n", "\nx\n\n")).unwrap();
    let out = crate::tlog::verify_export(&pkg, Some(&key));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));

    // A report prints it.
    let html = v.dir.path().join("report.html");
    let out = v.run(&[
        "report",
        "gaps",
        "--since",
        "2026-01-01",
        "--format",
        "html",
        "--out",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        text.contains("centre.test/witness"),
        "the report names the witness"
    );
    let json = v.json(&[
        "report",
        "gaps",
        "--since",
        "2026-01-01",
        "--format",
        "json",
    ]);
    let note = json["checkpoint"]["cosigned"]["checkpoint"]
        .as_str()
        .expect("cosigned in the report");
    CosignatureVerifier::from_key_string(&centre.witness)
        .unwrap()
        .verify(note)
        .expect("the report's cosigned checkpoint verifies");
}

/// Two stations on hosts of their own (network namespaces joined by veth
/// links): a partition is a link taken down. The cut-off station works on
/// alone and catches up when its link returns while the other goes on
/// syncing; a link cut while the centre is applying a push (held in its
/// transaction by a row lock) loses only the answer: the station sends the
/// batch again and nothing is applied twice.
#[test]
fn stations_on_their_own_hosts_ride_out_partitions_and_a_link_cut_mid_push() {
    let pg = Postgres::start(&["centre"]);
    let port = free_port();
    let (va, vb) = (Vigil::new(), Vigil::new());
    let mut centre = Centre::init_with(
        &pg,
        "centre",
        &va.scratch("centre"),
        &format!("0.0.0.0:{port}"),
        "out_of_touch_s = 3",
    );
    centre.start();
    let (na, nb) = (Netns::new(1), Netns::new(2));
    let start = |v: &Vigil, name: &str, ns: &Netns| {
        let cfg = station_config_at(v, name, &centre, &format!("https://{}:{port}", ns.host_ip));
        let d = Vigild::start_in(
            &ns.name,
            &v.store(),
            &v.dir.path().join("vigild.log"),
            &["--config", cfg.to_str().expect("utf-8")],
        );
        d.wait_for_socket();
        d
    };
    let _da = start(&va, "vigil.test/station-1", &na);
    let _db = start(&vb, "vigil.test/station-2", &nb);
    let (a, b) = (enrol(&va, &centre), enrol(&vb, &centre));
    ingest(&va, "recorder-seq", "BWC002", "1002");
    ingest(&vb, "recorder-a", "BWC004", "1004");
    until_centre(&va, 30, "station 1 at the centre", synced);
    until_centre(&vb, 30, "station 2 at the centre", synced);

    // Station 1 cut off: it works on alone, station 2 goes on syncing.
    na.down();
    ingest(&va, "recorder-a", "BWC005", "1005");
    ingest(&vb, "recorder-seq", "BWC006", "1006");
    until_centre(&vb, 30, "station 2 synced through the partition", synced);
    let cut = until_centre(&va, 30, "station 1's outage noticed", |d| {
        d["outbox"]["last_error"].is_string() && d["depth"].as_u64() > Some(0)
    });
    assert!(
        pg.count(
            "centre",
            &format!("SELECT COUNT(*) FROM entries WHERE station = '{a}'")
        ) < cut["log_size"].as_i64().unwrap()
    );
    // Silent past out_of_touch_s: on the board and in the audit log, once.
    let deadline = Instant::now() + Duration::from_secs(20);
    let board = loop {
        let board = centre.stations();
        if board[0]["out_of_touch_since"].is_string() {
            break board;
        }
        assert!(
            Instant::now() < deadline,
            "station 1 never shown out of touch: {board:#}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(board[0]["name"], a);
    assert!(board[1]["out_of_touch_since"].is_null(), "{board:#}");
    let out = centre.run(&["station", "list"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("OUT OF TOUCH"),
        "{}",
        describe(&out)
    );
    na.up();
    until_centre(&va, 30, "station 1 caught up", synced);
    centre_matches(&pg, &va, &a);
    centre_matches(&pg, &vb, &b);
    for action in ["station.out_of_touch", "station.in_touch"] {
        assert_eq!(
            pg.count(
                "centre",
                &format!(
                    "SELECT COUNT(*) FROM audit WHERE action = '{action}' AND subject = '{a}'"
                )
            ),
            1,
            "{action}"
        );
    }
    // The board: nothing to come (as of each station's next report), each
    // station's open interruptions.
    let deadline = Instant::now() + Duration::from_secs(10);
    let board = loop {
        let board = centre.stations();
        if board.as_array().unwrap().iter().all(|r| r["depth"] == 0) {
            break board;
        }
        assert!(Instant::now() < deadline, "{board:#}");
        std::thread::sleep(Duration::from_millis(250));
    };
    for (row, v) in board.as_array().unwrap().iter().zip([&va, &vb]) {
        assert!(row["out_of_touch_since"].is_null(), "{row:#}");
        let open = count(
            v,
            "SELECT COUNT(*) FROM gap_state WHERE status <> 'explained'",
        );
        assert_eq!(row["open_gaps"], open, "{row:#}");
    }

    // The link cut while the centre applies station 1's next batch: a
    // row lock holds the centre's transaction until the link is down.
    let held = pg.count(
        "centre",
        &format!("SELECT COUNT(*) FROM entries WHERE station = '{a}'"),
    );
    let mut locker = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec psql -X -q -h {} -U vigil -d centre -c \"BEGIN; SELECT 1 FROM logs WHERE station = '{a}' FOR UPDATE; SELECT pg_sleep(6); COMMIT;\"",
            pg.conninfo("centre").split(' ').next().unwrap().trim_start_matches("host=")
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("psql");
    let deadline = Instant::now() + Duration::from_secs(10);
    while pg.count(
        "centre",
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'transactionid' AND granted",
    ) == 0
    {
        assert!(Instant::now() < deadline, "the row lock was not taken");
        std::thread::sleep(Duration::from_millis(50));
    }
    ingest(&va, "recorder-seq", "BWC007", "1007");
    // The push is waiting for the lock inside the centre: cut the link.
    let deadline = Instant::now() + Duration::from_secs(20);
    while pg.count(
        "centre",
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = 'centre' AND wait_event_type = 'Lock'",
    ) == 0
    {
        assert!(Instant::now() < deadline, "no push came to wait at the centre");
        std::thread::sleep(Duration::from_millis(50));
    }
    na.down();
    assert!(locker.wait().expect("psql ends").success());
    // The centre applies it once the lock is gone; its answer cannot reach
    // the station.
    let deadline = Instant::now() + Duration::from_secs(20);
    let applied = loop {
        let n = pg.count(
            "centre",
            &format!("SELECT COUNT(*) FROM entries WHERE station = '{a}'"),
        );
        if n > held {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "the centre did not apply the push held in its transaction"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let lost = until_centre(&va, 30, "the answer lost with the link", |d| {
        d["outbox"]["last_error"].is_string()
    });
    assert!(
        lost["outbox"]["applied"].as_i64().unwrap() < applied,
        "{lost:#}"
    );
    na.up();
    until_centre(&va, 30, "station 1 caught up again", synced);
    // The station sent the batch again (answered as before) or was told
    // where the centre stands (409): either way nothing twice, nothing
    // missing.
    let log = centre.log_text();
    assert!(
        log.contains("a batch sent again") || log.contains("status=409"),
        "{log}"
    );
    centre_matches(&pg, &va, &a);
    centre_matches(&pg, &vb, &b);
    assert_eq!(
        cosigned_ok(&va, &centre.witness),
        count(&va, "SELECT COUNT(*) FROM audit") as u64
    );
}

/// `vigil-centre user add NAME --role ROLE [--station S]`, the password on
/// standard input.
/// An agency of two stations, each a vigild of its own sending to one
/// centre on a throwaway cluster; dropped daemons first, the cluster last.
struct TwoStations {
    _daemons: [Vigild; 2],
    centre: Centre,
    v1: Vigil,
    v2: Vigil,
    /// The stations' log names, as enrolled.
    s1: String,
    s2: String,
    pg: Postgres,
}

fn two_stations(names: [&str; 2], centre_config: &str) -> TwoStations {
    let pg = Postgres::start(&["centre"]);
    let (v1, v2) = (Vigil::new(), Vigil::new());
    let mut centre = Centre::init_with(
        &pg,
        "centre",
        &v1.scratch("centre"),
        &format!("127.0.0.1:{}", free_port()),
        centre_config,
    );
    centre.start();
    let d1 = station(&v1, names[0], &centre);
    let d2 = station(&v2, names[1], &centre);
    let (s1, s2) = (enrol(&v1, &centre), enrol(&v2, &centre));
    TwoStations {
        _daemons: [d1, d2],
        centre,
        v1,
        v2,
        s1,
        s2,
        pg,
    }
}

fn centre_user(centre: &Centre, name: &str, role: &str, station: Option<&str>) {
    centre_user_officer(centre, name, role, station, None);
}

/// A centre user with their officer number, as the stations know it.
fn centre_user_officer(
    centre: &Centre,
    name: &str,
    role: &str,
    station: Option<&str>,
    officer: Option<&str>,
) {
    let mut args = vec!["user", "add", name, "--role", role];
    if let Some(s) = station {
        args.extend(["--station", s]);
    }
    if let Some(o) = officer {
        args.extend(["--officer", o]);
    }
    let mut child = std::process::Command::new(vigil_e2e::bin("vigil-centre"))
        .arg("--config")
        .arg(&centre.config)
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("vigil-centre runs");
    use std::io::Write as _;
    writeln!(child.stdin.take().expect("stdin"), "{PASSWORD}").expect("the password");
    assert!(child.wait().expect("it ends").success(), "user add {name}");
}

const PASSWORD: &str = "a long password 1";

/// `vigil` against the centre as against a station: `vigil login
/// --server https://CENTRE`, then the same commands.
fn at_centre(config: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(vigil_e2e::bin("vigil"))
        .env("XDG_CONFIG_HOME", config)
        .env_remove("VIGIL_STORE")
        .env_remove("VIGIL_SOCKET")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("vigil runs")
}

fn login_at_centre(
    config: &Path,
    centre: &Centre,
    user: &str,
    password: &str,
) -> std::process::Output {
    let mut c = std::process::Command::new(vigil_e2e::bin("vigil"));
    c.env("XDG_CONFIG_HOME", config)
        .args([
            "login",
            "--server",
            &centre.url,
            "--fingerprint",
            &centre.fingerprint,
            "--user",
            user,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("vigil login");
    use std::io::Write as _;
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().expect("vigil login ends")
}

fn centre_json(config: &Path, args: &[&str]) -> serde_json::Value {
    let out = at_centre(config, args);
    assert!(
        out.status.success(),
        "vigil {}: {}",
        args.join(" "),
        describe(&out)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The agency's users log in at the centre with the same CLI and see the
/// recordings and interruptions of every station, each with its station:
/// an agency auditor all of them but what their role may not see (R17), a
/// station's supervisor their station's only; searched in Chinese too;
/// every listing audited at the centre.
#[test]
fn the_agency_lists_every_station_through_the_same_operations() {
    let a = two_stations(["vigil.test/station-1", "vigil.test/station-2"], "");
    // Bound in this order, dropped in the reverse: the daemons first,
    // the cluster last.
    let TwoStations {
        pg,
        v1,
        v2,
        s1,
        s2,
        centre,
        _daemons,
    } = a;
    ingest(&v1, "recorder-seq", "BWC002", "1002");
    ingest(&v2, "recorder-a", "BWC004", "1004");
    // A site in Chinese at station 1; a private recording at station 2.
    let c1 = v1.json(&["clips", "--json"])["clips"][0]["clip"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = v1.run(&["tag", &c1, "--site", "码头四号仓库"]);
    assert!(out.status.success(), "{}", describe(&out));
    // A note in English at station 2.
    let noted = v2.json(&["clips", "--json"])["clips"][1]["clip"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = v2.run(&[
        "tag",
        &noted,
        "--note",
        "the suspect was running towards the warehouses",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let c2 = v2.json(&["clips", "--json"])["clips"][0]["clip"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = v2.run(&["confidential", &c2, "--kind", "privacy"]);
    assert!(out.status.success(), "{}", describe(&out));
    until_centre(&v1, 30, "station 1 at the centre", synced);
    until_centre(&v2, 30, "station 2 at the centre", synced);
    centre_user(&centre, "ana", "auditor", None);
    centre_user(&centre, "sam", "supervisor", Some(&s1));
    let (n1, n2) = (
        count(&v1, "SELECT COUNT(*) FROM clips"),
        count(&v2, "SELECT COUNT(*) FROM clips"),
    );

    // The agency auditor.
    let ana = v1.scratch("ana-config");
    let out = login_at_centre(&ana, &centre, "ana", "not the password");
    assert!(!out.status.success(), "{}", describe(&out));
    assert_eq!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE action = 'session.refused' AND subject = 'ana'"
        ),
        1
    );
    let out = login_at_centre(&ana, &centre, "ana", PASSWORD);
    assert!(out.status.success(), "{}", describe(&out));
    // Five wrong passwords from one address lock the user out from there:
    // the right one is refused too, and the lockout audited once.
    centre_user(&centre, "eve", "auditor", None);
    let eve = v1.scratch("eve-config");
    for _ in 0..5 {
        let out = login_at_centre(&eve, &centre, "eve", "a guessed password");
        assert!(!out.status.success(), "{}", describe(&out));
    }
    let out = login_at_centre(&eve, &centre, "eve", PASSWORD);
    assert!(
        !out.status.success() && describe(&out).contains("locked out"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE action = 'session.locked_out' AND subject = 'eve'"
        ),
        1
    );
    let doc = centre_json(&ana, &["clips", "--json"]);
    let clips = doc["clips"].as_array().unwrap();
    assert_eq!(
        clips.len() as i64,
        n1 + n2 - 1,
        "all but the private one (an auditor may not see it)"
    );
    assert!(clips.iter().all(|c| c["clip"] != c2.as_str()));
    for (s, n) in [(&s1, n1), (&s2, n2 - 1)] {
        assert_eq!(
            clips.iter().filter(|c| c["station"] == s.as_str()).count() as i64,
            n,
            "{s}"
        );
    }
    let only2 = centre_json(&ana, &["clips", "--json", "--station", &s2]);
    assert!(only2["clips"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["station"] == s2.as_str()));
    assert_eq!(only2["clips"].as_array().unwrap().len() as i64, n2 - 1);
    let found = centre_json(&ana, &["clips", "--json", "--search", "码头四"]);
    let found = found["clips"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0]["clip"].as_str(), found[0]["station"].as_str()),
        (Some(c1.as_str()), Some(s1.as_str()))
    );
    // English words by their stems, in any order: no substring of the
    // note, found by full-text search.
    let found = centre_json(&ana, &["clips", "--json", "--search", "warehouse run"]);
    let found = found["clips"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0]["clip"].as_str(), found[0]["station"].as_str()),
        (Some(noted.as_str()), Some(s2.as_str()))
    );
    let gaps = centre_json(&ana, &["gaps", "--json", "--open"]);
    let gaps = gaps["gaps"].as_array().unwrap();
    assert_eq!(
        gaps.len() as i64,
        count(&v1, "SELECT COUNT(*) FROM gaps") + count(&v2, "SELECT COUNT(*) FROM gaps")
    );
    assert!(gaps
        .iter()
        .all(|g| g["station"].is_string() && g["status"] == "open"));
    // A recording's trail across the agency: the rows of its station's
    // log about it and its interruptions, as the station itself gives them.
    let seqs = |doc: &serde_json::Value| -> Vec<i64> {
        doc["audit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect()
    };
    let broken = v1.json(&["gaps", "--json"])["gaps"][0]["clip"]
        .as_str()
        .expect("a recording with an interruption")
        .to_owned();
    let own = seqs(&v1.json(&["audit", "--subject", &broken, "--related", "--json"]));
    let bare = seqs(&v1.json(&["audit", "--subject", &broken, "--json"]));
    assert!(
        own.len() > bare.len(),
        "its interruptions' rows: {own:?} {bare:?}"
    );
    until_centre(&v1, 30, "station 1's log at the centre", synced);
    let trail = centre_json(
        &ana,
        &["audit", "--subject", &broken, "--related", "--json"],
    );
    assert!(trail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["station"] == s1.as_str()));
    let mut at_centre_seqs = seqs(&trail);
    at_centre_seqs.sort();
    assert_eq!(at_centre_seqs, own, "{trail:#}");
    let out = at_centre(&ana, &["audit", "--subject", &broken, "--related"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("STATION"),
        "{}",
        describe(&out)
    );
    // A page of one station's log, and the next.
    let page = centre_json(&ana, &["audit", "--station", &s2, "--limit", "2", "--json"]);
    assert_eq!(seqs(&page), vec![1, 2]);
    let after = page["next"].as_i64().expect("a next page").to_string();
    let next = centre_json(
        &ana,
        &[
            "audit",
            "--station",
            &s2,
            "--limit",
            "2",
            "--after",
            &after,
            "--json",
        ],
    );
    assert_eq!(seqs(&next), vec![3, 4]);
    // A station's own log is only its own.
    let out = v1.run(&["audit", "--station", &s2]);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("agency centre"),
        "{}",
        describe(&out)
    );

    // What is overdue, across stations: the interruptions each station
    // itself lists as overdue, and the cases it closed over 30 days ago
    // and has not filed (R12), read from its log.
    for args in [
        &["case", "close", "C-OLD", "--at", "2026-01-05"][..],
        &["case", "close", "C-FILED", "--at", "2026-01-05"],
        &["case", "file", "C-FILED"],
        &["case", "close", "C-NEW"],
        &["case", "close", "C-AGAIN", "--at", "2026-01-06"],
        &["case", "close", "C-AGAIN"],
    ] {
        let out = v1.run(args);
        assert!(out.status.success(), "{}", describe(&out));
    }
    until_centre(&v1, 30, "station 1's cases at the centre", synced);
    let ids = |doc: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> = doc["unexplained"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let own = ids(&v1.json(&["overdue", "--explain-within", "0", "--json"]));
    assert!(!own.is_empty());
    let there = centre_json(
        &ana,
        &[
            "overdue",
            "--explain-within",
            "0",
            "--station",
            &s1,
            "--json",
        ],
    );
    assert_eq!(ids(&there), own);
    let own_cases = v1.json(&["overdue", "--json"])["unfiled_cases"].clone();
    assert_eq!(
        own_cases
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["case"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["C-OLD"],
        "closed long ago, not filed; filed; closed now; closed again now"
    );
    let theirs: Vec<serde_json::Value> = there["unfiled_cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["station"], s1.as_str());
            serde_json::json!({"case": c["case"], "closed_at": c["closed_at"]})
        })
        .collect();
    assert_eq!(serde_json::Value::from(theirs), own_cases, "{there:#}");
    let everywhere = centre_json(&ana, &["overdue", "--explain-within", "0", "--json"]);
    assert_eq!(
        ids(&everywhere).len() as i64,
        count(&v1, "SELECT COUNT(*) FROM gaps") + count(&v2, "SELECT COUNT(*) FROM gaps")
    );
    let none_yet = centre_json(&ana, &["overdue", "--json"]);
    assert!(
        ids(&none_yet).is_empty(),
        "found just now, not yet past 24 h"
    );
    let out = at_centre(&ana, &["overdue", "--explain-within", "0"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("Cases closed over 30 days ago and not filed (R12): 1")
            && text.contains("C-OLD")
            && text.contains(&s1),
        "{}",
        describe(&out)
    );

    // The table a person reads works too.
    let out = at_centre(&ana, &["clips"]);
    assert!(out.status.success(), "{}", describe(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(table.starts_with("STATION"), "{table}");
    assert!(table.contains(&s1) && table.contains(&s2), "{table}");
    let out = at_centre(&ana, &["gaps", "--open"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&s1),
        "{}",
        describe(&out)
    );
    assert!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE action = 'clips.listed' AND actor = 'ana'"
        ) >= 4
    );

    // A station's supervisor: their station only.
    let sam = v1.scratch("sam-config");
    assert!(login_at_centre(&sam, &centre, "sam", PASSWORD)
        .status
        .success());
    let doc = centre_json(&sam, &["clips", "--json"]);
    assert_eq!(doc["clips"].as_array().unwrap().len() as i64, n1);
    assert!(doc["clips"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["station"] == s1.as_str()));
    let out = at_centre(&sam, &["clips", "--json", "--station", &s2]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sees the station"),
        "{}",
        describe(&out)
    );
    // After logging out the session is gone.
    assert!(at_centre(&sam, &["logout"]).status.success());
    assert!(!at_centre(&sam, &["clips", "--json"]).status.success());
}

/// The agency desk in Chromium: an agency auditor logs in at the centre,
/// finds last month's interruptions not yet explained across both
/// stations, opens one and sees its station and the station log's entries
/// about it, and prints the agency gap log (zh-CN, A4).
#[test]
fn an_agency_auditor_finds_last_months_interruptions_and_prints_the_agency_gap_log() {
    agency_desk(vigil_e2e::Engine::Chromium);
}

/// The same in Firefox (its print is read for Latin text only: it embeds
/// Noto CJK so that pdftotext misreads the Chinese, as on the station's
/// desk; the Chromium test reads the printed log).
#[test]
fn an_agency_auditor_finds_last_months_interruptions_in_firefox() {
    agency_desk(vigil_e2e::Engine::Firefox);
}

fn agency_desk(engine: vigil_e2e::Engine) {
    use fantoccini::Locator;
    let a = two_stations(
        ["vigil.test/station-east", "vigil.test/station-west"],
        "timezone = \"Asia/Shanghai\"",
    );
    // Bound in this order, dropped in the reverse: the daemons first,
    // the cluster last.
    let TwoStations {
        pg,
        v1,
        v2,
        s1,
        s2,
        centre,
        _daemons,
    } = a;
    // Both stations' recordings were made on 20 November 2026: last month.
    ingest(&v1, "recorder-seq", "BWC002", "1002");
    ingest(&v2, "recorder-seq", "BWC012", "1012");
    // West names its officer; the centre shows her by name as west does.
    let out = v2.run(&["officers", "add", "1012", "--name", "李娜"]);
    assert!(out.status.success(), "{}", describe(&out));
    // West holds its first interrupted recording (R13); the centre's page
    // of it shows the hold.
    let held = v2.json(&["gaps", "--json"])["gaps"][0]["clip"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = v2.run(&[
        "hold",
        &held,
        "--reason",
        "dispute",
        "--note",
        "当事人申请复议",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    until_centre(&v1, 30, "station east at the centre", synced);
    until_centre(&v2, 30, "station west at the centre", synced);
    let total = count(&v1, "SELECT COUNT(*) FROM gaps") + count(&v2, "SELECT COUNT(*) FROM gaps");
    assert!(total >= 2);
    let (n1, n2) = (
        count(&v1, "SELECT COUNT(*) FROM clips"),
        count(&v2, "SELECT COUNT(*) FROM clips"),
    );
    centre_user(&centre, "ana", "auditor", None);
    // Two retrieval requests at station west, for an agency supervisor
    // to decide at the desk: one approved (zh-CN), one turned down (en).
    centre_user(&centre, "sue", "supervisor", None);
    let west_clips = v2.json(&["clips", "--json"]);
    let mut requests = Vec::new();
    for (i, reason) in ["法院调取 2026-031", "a complaint withdrawn"]
        .iter()
        .enumerate()
    {
        let clip = west_clips["clips"][i]["clip"].as_str().unwrap();
        let out = v2.run(&["request", "--clip", clip, "--reason", reason, "--json"]);
        assert!(out.status.success(), "{}", describe(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        requests.push(doc["request"].as_str().unwrap().to_owned());
    }
    // An explanation at station west for her to review.
    let reviewed = v2.json(&["gaps", "--json"])["gaps"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for args in [
        &["officers", "add", "1013"][..],
        &[
            "user",
            "add",
            "wu",
            "--role",
            "officer",
            "--officer",
            "1013",
        ],
        &[
            "--as",
            "wu",
            "explain",
            &reviewed,
            "--written",
            "电池更换，记录中断",
        ],
    ] {
        let out = v2.run(args);
        assert!(out.status.success(), "{}", describe(&out));
    }
    until_centre(&v2, 30, "the requests at the centre", synced);

    let browser = vigil_e2e::Browser::of(engine);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = centre.url.clone();
    rt.block_on(async {
        for lang in ["zh-CN", "en"] {
            let ana = browser.session(lang).await;
            desk_login(&ana, &base, "ana").await;
            // An auditor's home: the interruptions past their deadline.
            ana.wait()
                .for_element(Locator::Css("section#overdue"))
                .await
                .unwrap();
            assert!(
                ana.find(Locator::Css("section#to-approve")).await.is_err(),
                "an auditor decides no requests"
            );
            ana.goto(&format!("{base}/desk/gaps")).await.unwrap();
            ana.wait()
                .for_element(Locator::Id("last-month"))
                .await
                .unwrap();
            // Last month, not yet explained, every station.
            ana.find(Locator::Id("last-month"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            ana.wait()
                .for_element(Locator::Css("input[name=month][value='2026-11']"))
                .await
                .unwrap();
            ana.find(Locator::Css("input[name=open]"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            ana.find(Locator::Id("filter"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            ana.wait()
                .for_element(Locator::Css("input[name=open][checked]"))
                .await
                .unwrap();
            let rows = ana
                .find_all(Locator::Css("table.rows tbody tr"))
                .await
                .unwrap();
            assert_eq!(
                rows.len() as i64,
                total,
                "every station's open interruptions of November"
            );
            let body = ana
                .find(Locator::Css("main"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(body.contains(&s1) && body.contains(&s2), "{body}");
            let tag = if lang == "en" { "en" } else { "zh" };
            let png = ana.screenshot().await.unwrap();
            std::fs::write(
                vigil_e2e::screens().join(format!(
                    "{}.png",
                    engine.shot_name(&format!("centre-gaps-{tag}"))
                )),
                png,
            )
            .unwrap();
            if lang == "zh-CN" && engine == vigil_e2e::Engine::Chromium {
                assert!(
                    body.contains("全机构记录中断登记表") && body.contains("北京时间"),
                    "{body}"
                );
                // Printed: the agency gap log on A4.
                let text = printed(&ana, true, "centre-gap-log-zh").await;
                for want in [
                    "全机构记录中断登记表",
                    s1.as_str(),
                    s2.as_str(),
                    "+08:00",
                    "ana",
                    "2026-11-20",
                ] {
                    assert!(
                        text.contains(want),
                        "the printed log lacks {want:?}:\n{text}"
                    );
                }
            }
            // Open the first: its station, and the station's log about it.
            let first_station = ana
                .find(Locator::Css("table.rows tbody tr td:nth-child(2)"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            ana.find(Locator::Css("table.rows tbody tr td a"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            ana.wait()
                .for_element(Locator::Css("dl.facts"))
                .await
                .unwrap();
            let facts = ana
                .find(Locator::Css("dl.facts"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(facts.contains(&first_station), "{facts}");
            assert!(facts.contains("BWC0"), "{facts}");
            let log = ana
                .find_all(Locator::Css("table.rows tbody tr"))
                .await
                .unwrap();
            assert!(!log.is_empty(), "the station log's entries about it");
            let png = ana.screenshot().await.unwrap();
            std::fs::write(
                vigil_e2e::screens().join(format!(
                    "{}.png",
                    engine.shot_name(&format!("centre-gap-{tag}"))
                )),
                png,
            )
            .unwrap();
            // The board of stations: both, nothing to come, their open
            // interruptions.
            ana.goto(&format!("{base}/desk/stations")).await.unwrap();
            let board = ana
                .find(Locator::Css("table.rows"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(board.contains(&s1) && board.contains(&s2), "{board}");
            assert!(
                ana.find_all(Locator::Css("tr.alert"))
                    .await
                    .unwrap()
                    .is_empty(),
                "{board}"
            );
            let png = ana.screenshot().await.unwrap();
            std::fs::write(
                vigil_e2e::screens().join(format!(
                    "{}.png",
                    engine.shot_name(&format!("centre-stations-{tag}"))
                )),
                png,
            )
            .unwrap();
            // The agency's statistics, this year's by default (the
            // recordings were made this November): a row per station
            // with its recordings, and the agency's total.
            ana.find(Locator::Css("nav a[href='/desk/stats']"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            let rows = ana.find_all(Locator::Css("table.stats")).await.unwrap();
            assert_eq!(rows.len(), 2, "per station, per officer");
            let per_station = rows[0].text().await.unwrap();
            for (s, n) in [(&s1, n1), (&s2, n2)] {
                let line = per_station
                    .lines()
                    .find(|l| l.starts_with(s.as_str()))
                    .unwrap_or_else(|| panic!("{s}: {per_station}"));
                assert!(
                    line.split_whitespace().nth(1) == Some(n.to_string().as_str()),
                    "{s} has {n} recordings: {line}"
                );
            }
            let total_line = per_station.lines().last().unwrap_or_default().to_owned();
            assert!(total_line.contains(&(n1 + n2).to_string()), "{per_station}");
            shot(&ana, engine, &format!("centre-stats-{tag}")).await;
            if engine == vigil_e2e::Engine::Chromium {
                // Printed: the agency's statistics on A4, in each language.
                let text = printed(&ana, true, &format!("centre-stats-{tag}")).await;
                let title = if lang == "en" {
                    "Agency statistics"
                } else {
                    "全机构统计"
                };
                for want in [title, s1.as_str(), s2.as_str(), "ana"] {
                    assert!(
                        text.contains(want),
                        "the printed statistics lack {want:?}:\n{text}"
                    );
                }
            }
            // The agency's recordings: searched by an officer's number,
            // only station west's; one opened shows its station, its
            // interruptions and its station log's entries.
            ana.find(Locator::Css("nav a[href='/desk/clips']"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            let all = ana
                .find_all(Locator::Css("table.rows tbody tr"))
                .await
                .unwrap()
                .len() as i64;
            assert_eq!(all, n1 + n2, "every recording of both stations");
            let png = ana.screenshot().await.unwrap();
            std::fs::write(
                vigil_e2e::screens().join(format!(
                    "{}.png",
                    engine.shot_name(&format!("centre-clips-{tag}"))
                )),
                png,
            )
            .unwrap();
            ana.find(Locator::Css("input[name=search]"))
                .await
                .unwrap()
                .send_keys("1012")
                .await
                .unwrap();
            ana.find(Locator::Id("filter"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            ana.wait()
                .for_url(
                    &url::Url::parse(&format!("{base}/desk/clips?search=1012&station=")).unwrap(),
                )
                .await
                .unwrap();
            let found = ana
                .find_all(Locator::Css("table.rows tbody tr td:nth-child(2)"))
                .await
                .unwrap();
            assert_eq!(found.len() as i64, n2);
            for cell in &found {
                assert_eq!(cell.text().await.unwrap(), s2.as_str());
            }
            let gapped = v2.json(&["gaps", "--json"])["gaps"][0]["clip"]
                .as_str()
                .unwrap()
                .to_owned();
            ana.goto(&format!(
                "{base}/desk/clips/{}/{gapped}",
                s2.replace('/', "%2F")
            ))
            .await
            .unwrap();
            let facts = ana
                .find(Locator::Css("dl.facts"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(
                facts.contains(&s2) && facts.contains("李娜") && facts.contains("1012"),
                "{facts}"
            );
            assert_eq!(gapped, held);
            let holds = ana.find_all(Locator::Css("ul.holds li")).await.unwrap();
            assert_eq!(holds.len(), 1);
            let hold = holds[0].text().await.unwrap();
            assert!(
                hold.contains("当事人申请复议")
                    && (hold.contains("the party disputes it") || hold.contains("当事人有异议")),
                "{hold}"
            );
            // The retention section on screen and on paper.
            ana.execute(
                "document.querySelector('ul.holds').scrollIntoView({block: 'center'})",
                vec![],
            )
            .await
            .unwrap();
            shot(&ana, engine, &format!("centre-clip-custody-{tag}")).await;
            if engine == vigil_e2e::Engine::Chromium {
                let text = printed(&ana, false, &format!("centre-clip-{tag}")).await;
                assert!(
                    text.contains("当事人申请复议"),
                    "printed recording:\n{text}"
                );
            }
            ana.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
            let gap_rows = ana
                .find_all(Locator::Css("table.gaps tbody tr"))
                .await
                .unwrap()
                .len();
            assert!(gap_rows >= 1);
            let trail = ana
                .find_all(Locator::Css("table.rows:not(.gaps) tbody tr"))
                .await
                .unwrap()
                .len();
            assert!(trail > gap_rows, "its ingest and its interruptions' rows");
            let png = ana.screenshot().await.unwrap();
            std::fs::write(
                vigil_e2e::screens().join(format!(
                    "{}.png",
                    engine.shot_name(&format!("centre-clip-{tag}"))
                )),
                png,
            )
            .unwrap();
            // Its audit trail across its station's log: the same rows,
            // each with its station and in words, the ingest first.
            click(&ana, "a#trail").await;
            let entries = ana
                .find_all(Locator::Css("table.trail tbody tr"))
                .await
                .unwrap();
            assert_eq!(entries.len(), trail, "the clip page's log, row for row");
            for e in &entries {
                let first = e
                    .find(Locator::Css("td"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert_eq!(first, s2.as_str());
            }
            let ingested = entries[0].text().await.unwrap();
            let said = if lang == "en" {
                "Recording stored"
            } else {
                "记录已入库"
            };
            assert!(ingested.contains(said), "{said}: {ingested}");
            shot(&ana, engine, &format!("centre-audit-{tag}")).await;
            // The agency's ingest report, today's by default (the
            // recordings came in today): each station's rows sum to its
            // recordings, and the totals to the agency's.
            click(&ana, "nav a[href='/desk/ingest']").await;
            let tables = ana.find_all(Locator::Css("table.ingest")).await.unwrap();
            assert_eq!(tables.len(), 1, "per officer and recorder");
            let per_row = tables[0].text().await.unwrap();
            assert!(
                per_row.contains("李娜"),
                "west's officer by name: {per_row}"
            );
            let mut sums = std::collections::HashMap::<String, u64>::new();
            for tr in tables[0].find_all(Locator::Css("tbody tr")).await.unwrap() {
                let mut cells = Vec::new();
                for td in tr.find_all(Locator::Css("td")).await.unwrap() {
                    cells.push(td.text().await.unwrap());
                }
                if let Ok(n) = cells[3].parse::<u64>() {
                    *sums.entry(cells[0].clone()).or_default() += n;
                }
            }
            for (s, n) in [(&s1, n1), (&s2, n2)] {
                assert_eq!(sums.get(s.as_str()), Some(&(n as u64)), "{s}: {per_row}");
            }
            let total_line = per_row.lines().last().unwrap_or_default().to_owned();
            assert!(total_line.contains(&(n1 + n2).to_string()), "{per_row}");
            shot(&ana, engine, &format!("centre-ingest-{tag}")).await;
            if engine == vigil_e2e::Engine::Chromium {
                // Printed on A4: the report's title, its period's words,
                // both stations and west's officer by name.
                let text = printed(&ana, true, &format!("centre-ingest-{tag}")).await;
                let (title, period) = if lang == "en" {
                    ("Agency ingest report", "by when recordings were ingested")
                } else {
                    ("全机构导入报告", "按导入时间")
                };
                for want in [title, period, s1.as_str(), s2.as_str(), "李娜"] {
                    assert!(
                        text.contains(want),
                        "printed ingest report lacks {want:?}:\n{text}"
                    );
                }
            }
            // Every page of the agency desk passes axe-core (WCAG 2.x A
            // and AA: no critical or serious violation).
            let axe = crate::browser::axe_script();
            let mut found = Vec::new();
            for page in [
                format!("/desk/clips/{}/{gapped}", s2.replace('/', "%2F")),
                "/desk/clips?search=1012".to_owned(),
                "/desk/gaps".to_owned(),
                "/desk/stats".to_owned(),
                "/desk/ingest".to_owned(),
                format!("/desk/audit?station={}", s2.replace('/', "%2F")),
                "/desk/stations".to_owned(),
            ] {
                ana.goto(&format!("{base}{page}")).await.unwrap();
                for v in crate::browser::axe_violations(&ana, &axe).await {
                    found.push((page.clone(), v));
                }
            }
            assert!(found.is_empty(), "{lang}: {found:#?}");
            ana.close().await.unwrap();

            // An agency supervisor decides one of station west's
            // requests: the page says the decision was sent.
            let sue = browser.session(lang).await;
            desk_login(&sue, &base, "sue").await;
            // Her home lists the requests waiting for her, and the
            // explanations to review.
            let waiting = sue
                .wait()
                .for_element(Locator::Css("section#to-approve"))
                .await
                .unwrap()
                .find_all(Locator::Css("tbody tr"))
                .await
                .unwrap();
            assert_eq!(
                waiting.len(),
                if lang == "zh-CN" { 2 } else { 1 },
                "{lang}: to decide"
            );
            assert!(sue.find(Locator::Css("section#to-review")).await.is_ok());
            shot(&sue, engine, &format!("centre-home-{tag}")).await;
            if lang == "zh-CN" {
                // She reviews the explanation from her queue.
                click(&sue, "section#to-review tbody tr a").await;
                sue.wait()
                    .for_element(Locator::Css("form.review input[name=note]"))
                    .await
                    .unwrap()
                    .send_keys("核实无误")
                    .await
                    .unwrap();
                shot(&sue, engine, &format!("centre-gap-review-{tag}")).await;
                click(&sue, "form.review button[value=accepted]").await;
                let notice = notice_of(&sue).await;
                assert!(notice.contains("sue") && notice.contains(&s2), "{notice}");
                assert!(sue.find(Locator::Css("form.review")).await.is_err());
            }
            sue.goto(&format!("{base}/desk/requests?undecided=true"))
                .await
                .unwrap();
            let rows = sue
                .find_all(Locator::Css("table.requests tbody tr"))
                .await
                .unwrap();
            assert_eq!(
                rows.len(),
                if lang == "zh-CN" { 2 } else { 1 },
                "{lang}: undecided"
            );
            shot(&sue, engine, &format!("centre-requests-{tag}")).await;
            let id = if lang == "zh-CN" {
                &requests[0]
            } else {
                &requests[1]
            };
            sue.find(Locator::LinkText(id))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            sue.wait()
                .for_element(Locator::Css("form.decide.approve"))
                .await
                .unwrap();
            let page = sue.source().await.unwrap();
            assert!(page.contains(&s2), "the request's station: {page}");
            if lang == "zh-CN" {
                // Approving without the confirmation is not possible.
                click(&sue, "input[name=confirmed]").await;
                click(&sue, "form.approve button").await;
            } else {
                sue.find(Locator::Css("form.reject input[name=reason]"))
                    .await
                    .unwrap()
                    .send_keys("the complaint was withdrawn")
                    .await
                    .unwrap();
                click(&sue, "form.reject button").await;
            }
            let notice = notice_of(&sue).await;
            assert!(notice.contains("sue") && notice.contains(&s2), "{notice}");
            assert!(
                sue.find(Locator::Css("form.decide")).await.is_err(),
                "{lang}: no second decision while one waits"
            );
            shot(&sue, engine, &format!("centre-request-{tag}")).await;
            if engine == vigil_e2e::Engine::Chromium {
                // Printed: the request with what it releases and its state.
                let text = printed(&sue, false, &format!("centre-request-{tag}")).await;
                for want in [id.as_str(), s2.as_str(), "sue", "REC_"] {
                    assert!(
                        text.contains(want),
                        "the printed request lacks {want:?}:\n{text}"
                    );
                }
            }
            let mut found = Vec::new();
            for page in [
                "/desk/".to_owned(),
                format!("/desk/gaps/{}/{reviewed}", s2.replace('/', "%2F")),
                "/desk/requests".to_owned(),
                format!("/desk/requests/{}/{id}", s2.replace('/', "%2F")),
            ] {
                sue.goto(&format!("{base}{page}")).await.unwrap();
                for v in crate::browser::axe_violations(&sue, &axe).await {
                    found.push((page.clone(), v));
                }
            }
            assert!(found.is_empty(), "{lang}: {found:#?}");
            sue.close().await.unwrap();
        }
    });
    // Station west records both, as the centre's supervisor's.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = v2.json(&["requests", "--json"]);
        let of = |id: &str| request_in(&r, id);
        let g = v2.json(&["gaps", "--json"]);
        let g = g["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == reviewed.as_str())
            .unwrap()
            .clone();
        if of(&requests[0])["approved_by"] == "sue"
            && of(&requests[1])["rejected_by"] == "sue"
            && g["explanation"]["reviewed_by"] == "sue"
        {
            assert_eq!(g["explanation"]["review"], "accepted", "{g:#}");
            assert_eq!(
                of(&requests[1])["reject_reason"],
                "the complaint was withdrawn"
            );
            break;
        }
        assert!(Instant::now() < deadline, "not recorded at west: {r:#}");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE actor = 'ana' AND action = 'gap.viewed'"
        ) >= 2
    );
    assert!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE actor = 'ana' AND action = 'gaps.listed'"
        ) >= 4
    );
}

/// Clicks the element `css` finds.
async fn click(s: &fantoccini::Client, css: &str) {
    s.find(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The page's notice (`p.notice`), once it shows.
async fn notice_of(s: &fantoccini::Client) -> String {
    s.wait()
        .for_element(fantoccini::Locator::Css("p.notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A screenshot of the page as `NAME.png` among the desk's screenshots.
async fn shot(s: &fantoccini::Client, engine: vigil_e2e::Engine, name: &str) {
    let png = s.screenshot().await.unwrap();
    std::fs::write(
        vigil_e2e::screens().join(format!("{}.png", engine.shot_name(name))),
        png,
    )
    .unwrap();
}

/// The page printed on A4 (`landscape` or not) to `NAME.pdf` among the
/// screenshots, read back as text.
async fn printed(s: &fantoccini::Client, landscape: bool, name: &str) -> String {
    let mut config = fantoccini::wd::PrintConfiguration::builder();
    if landscape {
        config = config.orientation(fantoccini::wd::PrintOrientation::Landscape);
    }
    let path = vigil_e2e::screens().join(format!("{name}.pdf"));
    let pdf = s.print(config.build().unwrap()).await.unwrap();
    std::fs::write(&path, &pdf).unwrap();
    let text = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    String::from_utf8_lossy(&text.stdout).into_owned()
}

/// Signs `user` in at the centre's desk.
async fn desk_login(s: &fantoccini::Client, base: &str, user: &str) {
    use fantoccini::Locator;
    s.goto(&format!("{base}/desk/")).await.unwrap();
    s.wait()
        .for_element(Locator::Css("input[name=user]"))
        .await
        .unwrap_or_else(|e| panic!("the login page: {e}"))
        .send_keys(user)
        .await
        .unwrap();
    s.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    s.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// A review taken at the centre is recorded in the station's own log, by
/// the station's checks, naming the centre and its user; the centre traces
/// its action to that log entry. One the station refuses (an interruption
/// with nothing to review) comes back refused, with why.
#[test]
fn a_review_at_the_centre_is_recorded_in_the_stations_log() {
    let pg = Postgres::start(&["centre"]);
    let v = Vigil::new();
    let mut centre = Centre::init(
        &pg,
        "centre",
        &v.scratch("centre"),
        &format!("127.0.0.1:{}", free_port()),
    );
    centre.start();
    let _d = station(&v, "vigil.test/station-r1", &centre);
    let name = enrol(&v, &centre);
    ingest(&v, "recorder-seq", "BWC002", "1002");
    let gaps = v.json(&["gaps", "--json"]);
    let gap_of = |kind: &str| {
        gaps["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["kind"] == kind)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (explained, bare) = (gap_of("between_clips"), gap_of("missing_file"));
    for args in [
        &["officers", "add", "1003"][..],
        &[
            "user",
            "add",
            "wang",
            "--role",
            "officer",
            "--officer",
            "1003",
        ],
        &[
            "--as",
            "wang",
            "explain",
            &explained,
            "--written",
            "battery swap",
        ],
    ] {
        let out = v.run(args);
        assert!(out.status.success(), "{}", describe(&out));
    }
    until_centre(&v, 30, "the explanation at the centre", synced);
    centre_user(&centre, "sam", "supervisor", Some(&name));
    let sam = v.scratch("sam-config");
    assert!(login_at_centre(&sam, &centre, "sam", PASSWORD)
        .status
        .success());
    let out = at_centre(
        &sam,
        &[
            "review",
            &explained,
            "--accept",
            "--note",
            "checked at the centre",
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let out = at_centre(&sam, &["review", &bare, "--accept"]);
    assert!(out.status.success(), "sent: {}", describe(&out));

    // The station records it, once, as the centre's user's.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let g = v.json(&["gaps", "--json"]);
        let g = g["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == explained.as_str())
            .unwrap()
            .clone();
        if g["explanation"]["review"] == "accepted" {
            assert_eq!(g["explanation"]["reviewed_by"], "sam", "{g:#}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the station never recorded the centre's review: {g:#}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let rows: Vec<(i64, String, String)> = {
        let db = v.db();
        let mut st = db
            .prepare("SELECT seq, actor, detail FROM audit WHERE action = 'gap.reviewed' AND subject = ?1")
            .unwrap();
        st.query_map([&explained], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(rows.len(), 1, "recorded once: {rows:?}");
    assert_eq!(rows[0].1, "sam (at the centre centre.test/witness)");
    assert!(
        rows[0]
            .2
            .contains("\"centre_action\":\"centre.test/witness#1\""),
        "{}",
        rows[0].2
    );
    // The centre traces its action to that entry once it arrives, and the
    // refusal of the other comes back with why.
    until_settled(&pg, 2);
    assert_eq!(
        pg.count("centre", "SELECT applied_seq FROM actions WHERE id = 1"),
        rows[0].0
    );
    let why = pg.sql("centre", "SELECT refused FROM actions WHERE id = 2");
    assert!(why.contains("no explanation"), "{why}");
    assert_eq!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE action = 'action.refused'"
        ),
        1
    );
    assert_eq!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE action = 'gap.review_sent' AND actor = 'sam'"
        ),
        2
    );
    until_centre(&v, 30, "the review back at the centre", synced);
    assert_eq!(
        pg.sql(
            "centre",
            &format!("SELECT data #>> '{{explanation,review}}' FROM gaps WHERE id = '{explained}'")
        ),
        "accepted"
    );
}

/// The agency's statistics (R19) are its stations' own: each station's
/// rows at the centre carry the figures the station's own `vigil report
/// stats` gives, per officer, and the per-station and agency totals are
/// their sums; the text, CSV and printable forms say the same; a station's
/// supervisor sees their station only; a station asked for another
/// station's report says where that is.
#[test]
fn the_agencys_statistics_are_its_stations_own() {
    let a = two_stations(["vigil.test/station-s1", "vigil.test/station-s2"], "");
    // Bound in this order, dropped in the reverse: the daemons first,
    // the cluster last.
    let TwoStations {
        pg,
        v1,
        v2,
        s1,
        s2,
        centre,
        _daemons,
    } = a;
    ingest(&v1, "recorder-seq", "BWC002", "1002");
    ingest(&v1, "recorder-a", "BWC003", "1003");
    ingest(&v2, "recorder-seq", "BWC004", "1004");
    // One interruption explained at station 1: explained counts and the
    // time it took travel too.
    let gap = v1.json(&["gaps", "--json"])["gaps"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for args in [
        &["officers", "add", "1002"][..],
        &[
            "user",
            "add",
            "li",
            "--role",
            "officer",
            "--officer",
            "1002",
        ],
        &["--as", "li", "explain", &gap, "--written", "更换电池"],
    ] {
        let out = v1.run(args);
        assert!(out.status.success(), "{}", describe(&out));
    }
    // One recording purged at station 2 (R12: two custodians, the others
    // held): no longer counted, there or at the centre.
    let kept: Vec<String> = v2.json(&["clips", "--json"])["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clip"].as_str().unwrap().to_owned())
        .collect();
    let mut steps: Vec<Vec<&str>> = vec![
        vec!["user", "add", "alice", "--role", "custodian"],
        vec!["user", "add", "dave", "--role", "custodian"],
    ];
    for c in &kept[1..] {
        steps.push(vec!["hold", c, "--reason", "dispute"]);
    }
    steps.extend([
        vec![
            "--as",
            "alice",
            "purge",
            "--confirm",
            "--ordinary-days",
            "0",
        ],
        vec!["--as", "dave", "purge", "--approve", "--window-days", "0"],
        vec!["--as", "alice", "purge", "--run", "--ordinary-days", "0"],
    ]);
    for args in &steps {
        let out = v2.run(args);
        assert!(out.status.success(), "{}", describe(&out));
    }
    assert_eq!(
        v2.json(&["audit", "--json", "--action", "clip.purged"])["audit"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    until_centre(&v1, 30, "station 1 at the centre", synced);
    until_centre(&v2, 30, "station 2 at the centre", synced);
    centre_user(&centre, "ana", "auditor", None);
    centre_user(&centre, "sam", "supervisor", Some(&s1));
    let ana = v1.scratch("ana-config");
    assert!(login_at_centre(&ana, &centre, "ana", PASSWORD)
        .status
        .success());
    let period = ["--since", "2000-01-01", "--until", "2100-01-01"];
    let with = |first: &[&str]| -> Vec<String> {
        first
            .iter()
            .chain(period.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let args = with(&["report", "stats", "--json"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let agency = centre_json(&ana, &args);
    let mut sums = [0i64; 3];
    for (v, name) in [(&v1, &s1), (&v2, &s2)] {
        let own = v.json(&args);
        let own = own["officers"].as_array().unwrap();
        assert!(!own.is_empty());
        let theirs: Vec<&serde_json::Value> = agency["officers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["station"] == name.as_str())
            .collect();
        assert_eq!(theirs.len(), own.len(), "{name}: {agency:#}");
        let mut sum = [0i64; 3];
        for o in own {
            let at = theirs
                .iter()
                .find(|t| t["officer"] == o["officer"])
                .unwrap_or_else(|| panic!("{name} officer {} at the centre", o["officer"]));
            for f in ["clips", "interruptions", "explained", "clips_without_time"] {
                assert_eq!(at[f], o[f], "{name} {} {f}", o["officer"]);
            }
            for f in [
                "hours_recorded",
                "late_ingest_rate",
                "interruptions_per_hour",
                "mean_explanation_hours",
            ] {
                let (a, b) = (at[f].as_f64(), o[f].as_f64());
                assert_eq!(a.is_some(), b.is_some(), "{name} {} {f}", o["officer"]);
                if let (Some(a), Some(b)) = (a, b) {
                    assert!(
                        (a - b).abs() < 1e-6,
                        "{name} {} {f}: {a} vs {b}",
                        o["officer"]
                    );
                }
            }
            for (i, f) in ["clips", "interruptions", "explained"].iter().enumerate() {
                sum[i] += o[*f].as_i64().unwrap();
            }
        }
        let row = agency["stations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["station"] == name.as_str())
            .unwrap();
        assert_eq!(
            [&row["clips"], &row["interruptions"], &row["explained"]].map(|x| x.as_i64().unwrap()),
            sum,
            "{name}"
        );
        for i in 0..3 {
            sums[i] += sum[i];
        }
    }
    assert_eq!(
        ["clips", "interruptions", "explained"].map(|f| agency["total"][f].as_i64().unwrap()),
        sums
    );
    assert_eq!(sums[2], 1, "the one explanation");
    assert_eq!(
        sums[0],
        count(&v1, "SELECT COUNT(*) FROM clips") + count(&v2, "SELECT COUNT(*) FROM clips") - 1,
        "all but the purged recording"
    );
    assert_eq!(agency["period_by"], "recording");
    // The centre lists station 2's recordings as the station does: the
    // purged one gone, each held one with its hold (R13).
    let own: Vec<serde_json::Value> = v2.json(&["clips", "--json"])["clips"]
        .as_array()
        .unwrap()
        .clone();
    let listed = centre_json(&ana, &["clips", "--json", "--station", &s2]);
    let listed = listed["clips"].as_array().unwrap();
    let ids = |l: &[serde_json::Value]| {
        let mut ids: Vec<String> = l
            .iter()
            .map(|c| c["clip"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(listed), ids(&own), "{listed:#?}");
    assert_eq!(ids(&own), {
        let mut k = kept[1..].to_vec();
        k.sort();
        k
    });
    for c in listed {
        let holds = c["retention"]["holds"].as_array().unwrap();
        assert_eq!(holds.len(), 1, "{c:#}");
        assert_eq!(holds[0]["reason"], "dispute");
        assert!(holds[0]["released_at"].is_null());
    }
    // A period that starts and ends inside days (its edges read from the
    // rows, its whole days from the daily totals) says what the stations
    // say of it.
    let odd = [
        "report",
        "stats",
        "--json",
        "--since",
        "2026-11-20T05:00:00Z",
        "--until",
        "2100-01-01T05:00:00Z",
    ];
    let figures = |doc: &serde_json::Value| -> [i64; 4] {
        doc["officers"]
            .as_array()
            .unwrap()
            .iter()
            .fold([0; 4], |mut a, o| {
                for (i, f) in ["clips", "interruptions", "explained", "clips_without_time"]
                    .iter()
                    .enumerate()
                {
                    a[i] += o[*f].as_i64().unwrap();
                }
                a
            })
    };
    let (o1, o2) = (figures(&v1.json(&odd)), figures(&v2.json(&odd)));
    let centre_odd = centre_json(&ana, &odd);
    assert_eq!(
        figures(&centre_odd),
        [0, 1, 2, 3].map(|i| o1[i] + o2[i]),
        "{centre_odd:#}"
    );
    assert!(
        o1[0] > 0 && o1[0] < sums[0],
        "the period holds some recordings: {o1:?}"
    );

    // The table a person reads, and the spreadsheet.
    let args = with(&["report", "stats"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = at_centre(&ana, &args);
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for want in [
        "Agency statistics",
        "Per station",
        "Per officer at each station",
        &s1,
        &s2,
        "1003",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let args = with(&["report", "stats", "--format", "csv"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = at_centre(&ana, &args);
    let csv = String::from_utf8_lossy(&out.stdout).into_owned();
    let total = csv
        .lines()
        .find(|l| l.starts_with("*,*,"))
        .unwrap_or_else(|| panic!("the agency's line: {csv}"));
    assert!(total.starts_with(&format!("*,*,{},", sums[0])), "{total}");

    // A station's supervisor: their station's figures only.
    let sam = v1.scratch("sam-config");
    assert!(login_at_centre(&sam, &centre, "sam", PASSWORD)
        .status
        .success());
    let args = with(&["report", "stats", "--json"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mine = centre_json(&sam, &args);
    assert!(mine["officers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["station"] == s1.as_str()));
    assert_eq!(mine["total"]["station"], s1.as_str());
    let mut other = args.clone();
    other.extend(["--station", &s2]);
    let out = at_centre(&sam, &other);
    assert!(!out.status.success(), "{}", describe(&out));
    // A station reports on itself only.
    let out = v1.run(&other);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("agency centre"),
        "{}",
        describe(&out)
    );
    assert!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE action = 'report.read' AND subject = 'stats'"
        ) >= 4
    );
}

/// The agency's ingest report (R1, R6, R8) is its stations' own: a
/// station that emptied a recorder from a dock (its clock 90 s fast, its
/// battery at 15 %) and one that took a card with a file cut short give,
/// at the centre, the rows each gives of itself with its `station`, the
/// recorder's last docking read from the station's log, and the damaged
/// recording named; a station's supervisor sees their station only.
#[test]
fn the_agencys_ingest_report_is_its_stations_own() {
    let pg = Postgres::start(&["centre"]);
    let (v1, v2) = (Vigil::new(), Vigil::new());
    let mut centre = Centre::init_with(
        &pg,
        "centre",
        &v1.scratch("centre"),
        &format!("127.0.0.1:{}", free_port()),
        "",
    );
    centre.start();
    // Station 1 empties a recorder docked with a fast clock and a low
    // battery.
    let rec = v1.scratch("rec");
    copy_tree(&fixtures().join("recorder-seq"), &rec);
    let sim = vigil_e2e::DockSim::start(
        v1.dir.path(),
        &[
            "--recorder",
            &format!("BWC020:1020:{}", rec.display()),
            "--skew",
            "0:90",
            "--battery",
            "0:15",
        ],
    );
    sim.enroll(&v1);
    let cfg = station_config(&v1, "vigil.test/station-s1", &centre);
    let d1 = Vigild::start(
        &v1.store(),
        &v1.dir.path().join("vigild.log"),
        &[
            "--config",
            cfg.to_str().expect("utf-8"),
            "--dock",
            sim.path(),
        ],
    );
    let src = format!("dock {} slot 0", sim.path());
    d1.wait_for(120, "the recorder emptied", |s| {
        vigil_e2e::all_done(s, &[&src])
    });
    // Station 2 takes a card, one of its files cut short.
    let d2 = station(&v2, "vigil.test/station-s2", &centre);
    let card = v2.scratch("card");
    copy_tree(&fixtures().join("recorder-a"), &card);
    let cut = vigil_e2e::files_under(&card)
        .into_iter()
        .map(|(_, f)| f)
        .find(|f| f.ends_with("REC_0002.MP4"))
        .expect("REC_0002.MP4 on the card");
    let len = std::fs::metadata(&cut).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&cut)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    v2.json(&[
        "ingest",
        card.to_str().unwrap(),
        "--device",
        "BWC004",
        "--officer",
        "1004",
        "--json",
    ]);
    let (s1, s2) = (enrol(&v1, &centre), enrol(&v2, &centre));
    until_centre(&v1, 60, "station 1 at the centre", synced);
    until_centre(&v2, 60, "station 2 at the centre", synced);
    centre_user(&centre, "ana", "auditor", None);
    centre_user(&centre, "sam", "supervisor", Some(&s1));
    let ana = v1.scratch("ana-config");
    assert!(login_at_centre(&ana, &centre, "ana", PASSWORD)
        .status
        .success());
    let args = [
        "report",
        "ingest",
        "--json",
        "--since",
        "2000-01-01",
        "--until",
        "2100-01-01",
    ];
    let agency = centre_json(&ana, &args);
    assert_eq!(agency["period_by"], "ingest");
    let mut open = 0;
    for (v, name) in [(&v1, &s1), (&v2, &s2)] {
        let own = v.json(&args);
        open += own["interruptions_open"].as_i64().unwrap();
        let own = own["rows"].as_array().unwrap().clone();
        assert!(!own.is_empty(), "{name}");
        let theirs: Vec<&serde_json::Value> = agency["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["station"] == name.as_str())
            .collect();
        assert_eq!(theirs.len(), own.len(), "{name}: {agency:#}");
        for o in &own {
            let at = theirs
                .iter()
                .find(|t| t["officer"] == o["officer"] && t["device"] == o["device"])
                .unwrap_or_else(|| panic!("{name} {} {} at the centre", o["officer"], o["device"]));
            for f in [
                "clips",
                "bytes",
                "late_ingests",
                "damaged",
                "interruptions_open",
                "interruptions_explained",
                "clock_drift_ms",
                "battery_pct",
                "faults",
            ] {
                assert_eq!(at[f], o[f], "{name} {} {f}", o["device"]);
            }
            let (a, b) = (
                at["hours_recorded"].as_f64().unwrap(),
                o["hours_recorded"].as_f64().unwrap(),
            );
            assert!((a - b).abs() < 1e-6, "{name} hours: {a} vs {b}");
        }
    }
    assert_eq!(agency["interruptions_open"].as_i64().unwrap(), open);
    let row = |device: &str| -> serde_json::Value {
        agency["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["device"] == device)
            .unwrap_or_else(|| panic!("{device}: {agency:#}"))
            .clone()
    };
    let docked = row("BWC020");
    assert_eq!(docked["battery_pct"], 15, "{docked:#}");
    let drift = docked["clock_drift_ms"].as_i64().unwrap();
    assert!((85_000..=95_000).contains(&drift), "{docked:#}");
    assert!(docked["last_docked"].is_string(), "{docked:#}");
    let carded = row("BWC004");
    assert!(carded["last_docked"].is_null(), "a card is not a docking");
    // The damaged recordings by name, the one cut short among them, as
    // their station holds them.
    let troubled = agency["troubled"].as_array().unwrap();
    let damaged: Vec<&serde_json::Value> =
        troubled.iter().filter(|t| t["damaged"] == true).collect();
    assert_eq!(
        damaged.len() as i64,
        carded["damaged"].as_i64().unwrap(),
        "{agency:#}"
    );
    assert!(damaged.iter().all(|d| d["station"] == s2.as_str()));
    let name = cut.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        damaged
            .iter()
            .any(|d| d["path"].as_str().unwrap().ends_with(&name)),
        "{damaged:#?}"
    );
    assert_eq!(agency["troubled_not_listed"], 0);

    // The table a person reads, and the spreadsheet.
    let out = at_centre(
        &ana,
        &[
            "report",
            "ingest",
            "--since",
            "2000-01-01",
            "--until",
            "2100-01-01",
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for want in [
        "Agency ingest report",
        "Period (by when recordings were ingested)",
        "Last docked",
        "Late and damaged files",
        "BWC020",
        "15 %",
        &s1,
        &s2,
        &name,
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let out = at_centre(
        &ana,
        &[
            "report",
            "ingest",
            "--format",
            "csv",
            "--since",
            "2000-01-01",
            "--until",
            "2100-01-01",
        ],
    );
    let csv = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        csv.trim_start_matches('\u{feff}')
            .starts_with("station,officer,device,clips,"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        1 + agency["rows"].as_array().unwrap().len()
    );

    // A station's supervisor: their station's rows only.
    let sam = v1.scratch("sam-config");
    assert!(login_at_centre(&sam, &centre, "sam", PASSWORD)
        .status
        .success());
    let mine = centre_json(&sam, &args);
    assert!(mine["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["station"] == s1.as_str()));
    assert_eq!(mine["station"], s1.as_str());
    assert!(mine["troubled"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["station"] == s1.as_str()));
    let mut other = args.to_vec();
    other.extend(["--station", &s2]);
    let out = at_centre(&sam, &other);
    assert!(!out.status.success(), "{}", describe(&out));
    assert_eq!(
        pg.count(
            "centre",
            "SELECT COUNT(*) FROM audit WHERE action = 'report.read' AND subject = 'ingest'"
        ),
        4
    );
    drop((d1, d2));
}

/// Retrieval requests (R16) across the agency: each station's requests
/// at the centre as the station holds them, with their station; a
/// supervisor approves or turns one down at the centre and the request's
/// station records it in its own log, once, naming the centre's action;
/// the station refuses an approval by another account of the requesting
/// officer (the centre user's officer number), and the refusal comes back
/// with why; a decision sent and not yet recorded is not sent twice.
#[test]
fn retrieval_requests_are_decided_at_the_centre_and_recorded_at_their_station() {
    let pg = Postgres::start(&["centre"]);
    let v = Vigil::new();
    let mut centre = Centre::init(
        &pg,
        "centre",
        &v.scratch("centre"),
        &format!("127.0.0.1:{}", free_port()),
    );
    centre.start();
    let _d = station(&v, "vigil.test/station-q1", &centre);
    let name = enrol(&v, &centre);
    ingest(&v, "recorder-seq", "BWC002", "1002");
    let clips = v.json(&["clips", "--json"]);
    let clip = |i: usize| clips["clips"][i]["clip"].as_str().unwrap().to_owned();
    for args in [
        &["officers", "add", "1003"][..],
        &["officers", "add", "1004"],
        &[
            "user",
            "add",
            "wang",
            "--role",
            "officer",
            "--officer",
            "1003",
        ],
        &[
            "user",
            "add",
            "lin",
            "--role",
            "officer",
            "--officer",
            "1004",
        ],
    ] {
        let out = v.run(args);
        assert!(out.status.success(), "{}", describe(&out));
    }
    let file = |who: &str, clip: &str, reason: &str| -> String {
        let out = v.run(&[
            "--as", who, "request", "--clip", clip, "--reason", reason, "--json",
        ]);
        assert!(out.status.success(), "{}", describe(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["request"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let q1 = file("wang", &clip(0), "complaint 2026-118: the stop on 中山路");
    let q2 = file("lin", &clip(1), "lin's own case");
    let q3 = file("wang", &clip(2), "not needed after all");
    until_centre(&v, 30, "the requests at the centre", synced);

    centre_user(&centre, "sam", "supervisor", Some(&name));
    centre_user_officer(&centre, "li", "supervisor", Some(&name), Some("1004"));
    centre_user(&centre, "aud", "auditor", None);
    let (sam, li, aud) = (
        v.scratch("sam-config"),
        v.scratch("li-config"),
        v.scratch("aud-config"),
    );
    for (config, user) in [(&sam, "sam"), (&li, "li"), (&aud, "aud")] {
        let out = login_at_centre(config, &centre, user, PASSWORD);
        assert!(out.status.success(), "{user}: {}", describe(&out));
    }

    // Every request at the centre is the station's own, with its station.
    let listed = centre_json(&aud, &["requests", "--json"]);
    let at_station = v.json(&["requests", "--json"]);
    let ids = |doc: &serde_json::Value| -> Vec<String> {
        doc["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&listed), ids(&at_station), "{listed:#}");
    assert_eq!(ids(&listed).len(), 3);
    for (c, s) in listed["requests"]
        .as_array()
        .unwrap()
        .iter()
        .zip(at_station["requests"].as_array().unwrap())
    {
        assert_eq!(c["station"], name.as_str());
        for k in ["requester", "reason", "clips", "created_at", "approved_by"] {
            assert_eq!(c[k], s[k], "{k}: {c:#} {s:#}");
        }
    }
    let table = at_centre(&aud, &["requests"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.status.success() && text.contains("STATION") && text.contains(&name),
        "{}",
        describe(&table)
    );
    assert!(text.contains("中山路"), "{text}");

    // An auditor may not decide; the requester's own station refuses a
    // station filter not its own.
    let out = at_centre(&aud, &["approve", &q1]);
    assert!(!out.status.success(), "{}", describe(&out));
    let out = v.run(&["requests", "--station", "vigil.test/elsewhere"]);
    assert!(
        !out.status.success() && describe(&out).contains("agency centre"),
        "{}",
        describe(&out)
    );

    // Sam approves q1 and turns q3 down; li, officer 1004 like lin,
    // approves lin's q2.
    let out = at_centre(&sam, &["approve", &q1]);
    assert!(
        out.status.success() && describe(&out).contains("sent to"),
        "{}",
        describe(&out)
    );
    // Sent again: refused, whether the first still waits or the station
    // has recorded it already (it syncs every second here).
    let again = at_centre(&sam, &["approve", &q1]);
    let said = describe(&again);
    assert!(
        !again.status.success()
            && (said.contains("waits to be recorded") || said.contains("decided already")),
        "{said}"
    );
    let out = at_centre(
        &sam,
        &["reject", &q3, "--reason", "withdrawn by the requester"],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let out = at_centre(&li, &["approve", &q2]);
    assert!(out.status.success(), "sent: {}", describe(&out));

    // The station records sam's two, once each, as the centre's user's.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = v.json(&["requests", "--json"]);
        let of = |id: &str| request_in(&r, id);
        if of(&q1)["approved_by"] == "sam" && of(&q3)["rejected_by"] == "sam" {
            assert_eq!(of(&q3)["reject_reason"], "withdrawn by the requester");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the station never recorded the centre's decisions: {r:#}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let rows = |action: &str| -> Vec<(i64, String, String)> {
        let db = v.db();
        let mut st = db
            .prepare("SELECT seq, actor, detail FROM audit WHERE action = ?1")
            .unwrap();
        st.query_map([action], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let approved = rows("request.approved");
    assert_eq!(approved.len(), 1, "recorded once: {approved:?}");
    assert_eq!(approved[0].1, "sam (at the centre centre.test/witness)");
    assert!(
        approved[0]
            .2
            .contains("\"centre_action\":\"centre.test/witness#1\""),
        "{}",
        approved[0].2
    );
    assert_eq!(rows("request.rejected").len(), 1);

    // The centre traces each action to its entry, or keeps the refusal.
    until_settled(&pg, 3);
    assert_eq!(
        pg.count("centre", "SELECT applied_seq FROM actions WHERE id = 1"),
        approved[0].0
    );
    let why = pg.sql(
        "centre",
        &format!("SELECT refused FROM actions WHERE subject = '{q2}'"),
    );
    assert!(why.contains("same officer"), "{why}");
    assert!(
        rows("request.approved").iter().all(|r| !r.2.contains(&q2)),
        "q2 stays undecided at the station"
    );
    until_centre(&v, 30, "the decisions back at the centre", synced);
    let open = centre_json(&aud, &["requests", "--undecided", "--json"]);
    assert_eq!(ids(&open), std::slice::from_ref(&q2), "{open:#}");
    assert_eq!(open["requests"][0]["sent"], serde_json::json!([]));
    let again = at_centre(&sam, &["approve", &q1]);
    assert!(
        !again.status.success() && describe(&again).contains("decided already"),
        "{}",
        describe(&again)
    );
    assert_eq!(
        pg.count(
            "centre",
            &format!("SELECT COUNT(*) FROM actions WHERE subject = '{q1}'")
        ),
        1,
        "one decision sent for q1"
    );
    for (action, n) in [
        ("request.approval_sent", 2),
        ("request.rejection_sent", 1),
        ("requests.listed", 3),
        ("action.refused", 1),
    ] {
        assert_eq!(
            pg.count(
                "centre",
                &format!("SELECT COUNT(*) FROM audit WHERE action = '{action}'")
            ),
            n,
            "{action}"
        );
    }
}

/// Waits until `n` of the centre's actions are recorded at their station
/// or refused there.
fn until_settled(pg: &Postgres, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while pg.count(
        "centre",
        "SELECT COUNT(*) FROM actions WHERE applied_seq IS NOT NULL OR refused IS NOT NULL",
    ) < n
    {
        assert!(
            Instant::now() < deadline,
            "actions not settled:\n{}",
            pg.sql("centre", "SELECT * FROM actions")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Request `id` of a `requests --json` document.
fn request_in(doc: &serde_json::Value, id: &str) -> serde_json::Value {
    doc["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap_or_else(|| panic!("no request {id}: {doc:#}"))
        .clone()
}
