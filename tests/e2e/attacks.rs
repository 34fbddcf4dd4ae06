//! The station under attack by its own users: officers, custodians and
//! supervisors with accounts of their own, a recorder carrying crafted
//! files, and anyone who can reach the desk's TLS port. Each test is an
//! attack that must end refused, bounded or detected, against the real
//! vigild, real ffmpeg and real TLS clients.

use std::path::{Path, PathBuf};

use vigil_e2e::{blake3_file, describe, vigil_via, Vigil, Vigild};

/// A station with its desk listener up, and a TLS client that trusts it.
struct Station {
    v: Vigil,
    d: Vigild,
    addr: String,
    cert: Vec<u8>,
}

impl Station {
    /// Registers `users` (user, role, unix account, desk password), then
    /// starts vigild with the desk on loopback and `config` as its file.
    fn start(users: &[(&str, &str, Option<&str>, Option<&str>)], config: &str) -> Self {
        let v = Vigil::new();
        let made = v.run(&["clips"]);
        assert!(made.status.success(), "{}", describe(&made));
        for (user, role, unix, password) in users {
            let mut args = vec!["user", "add", user, "--role", role];
            if let Some(u) = unix {
                args.extend(["--unix", u]);
            }
            if *role == "officer" {
                let number = user.trim_start_matches(|c: char| !c.is_ascii_digit());
                let o = v.run(&["officers", "add", number, "--name", user]);
                assert!(o.status.success(), "{}", describe(&o));
                args.extend(["--officer", number]);
            }
            let out = v.run(&args);
            assert!(out.status.success(), "{}", describe(&out));
            if let Some(p) = password {
                v.passwd(user, p);
            }
        }
        let file = v.dir.path().join("vigild.toml");
        std::fs::write(&file, config).unwrap();
        let d = Vigild::start(
            &v.store(),
            &v.dir.path().join("vigild.log"),
            &[
                "--config",
                file.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ],
        );
        let status = d.wait_for(20, "the desk listener", |s| s["desk"]["addr"].is_string());
        d.wait_for_socket();
        vigil_e2e::let_others_through(v.dir.path());
        let addr = status["desk"]["addr"].as_str().unwrap().to_owned();
        let cert = std::fs::read(v.store().join("tls/cert.pem")).unwrap();
        Self { v, d, addr, cert }
    }

    fn url(&self, p: &str) -> String {
        format!("https://{}{p}", self.addr)
    }

    fn client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&self.cert).unwrap())
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap()
    }

    /// A session token for `user`.
    fn login(&self, user: &str, password: &str) -> String {
        let r = self
            .client()
            .post(self.url("/api/v1/login"))
            .json(&serde_json::json!({"user": user, "password": password}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "login {user}");
        let doc: serde_json::Value = r.json().unwrap();
        doc["token"].as_str().unwrap().to_owned()
    }

    /// `vigil ARGS` through the socket as `uid`.
    fn as_uid(&self, uid: u32, args: &[&str]) -> std::process::Output {
        vigil_via(&self.d.socket, Some(uid), args)
    }

    fn clip_count(&self) -> i64 {
        self.v
            .db()
            .query_row("SELECT COUNT(*) FROM clips", [], |r| r.get(0))
            .unwrap()
    }
}

fn mode(p: &Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Item 1: ingest reads only recorder sources. A custodian cannot make the
/// station ingest its own store (and so its checkpoint key), the store's
/// parent, the system's trees, a directory only vigild's account can read,
/// or a link to any of these; inside a directory they may read, a file
/// they may not read is not read for them. A desk session may ingest only
/// under the watch root.
#[test]
fn ingest_takes_only_what_the_caller_could_read_and_never_the_store() {
    let s = Station::start(
        &[(
            "cus",
            "custodian",
            Some("uid:62001"),
            Some("custodian secret 1"),
        )],
        "",
    );
    let store = s.v.store();
    let refused = |dir: &Path, why: &str| {
        let out = s.as_uid(62001, &["ingest", dir.to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(3), "{dir:?}: {}", describe(&out));
        assert!(
            stderr(&out).contains("not a recorder source") && stderr(&out).contains(why),
            "{dir:?}: {}",
            describe(&out)
        );
    };
    refused(&store, "inside the evidence store");
    refused(&store.join("objects"), "inside the evidence store");
    refused(s.v.dir.path(), "holds the evidence store");
    refused(Path::new("/"), "holds the evidence store");
    refused(Path::new("/etc"), "/etc");
    refused(Path::new("/proc/self"), "/proc");
    // A link the caller made to the store is the store.
    let mine = s.v.scratch("mine");
    mode(&mine, 0o777);
    std::os::unix::fs::symlink(&store, mine.join("card")).unwrap();
    refused(&mine.join("card"), "inside the evidence store");
    // Another account's private directory (root's, 0700).
    let private = s.v.scratch("private");
    std::fs::write(private.join("REC_0001.MP4"), b"root's private bytes").unwrap();
    mode(&private, 0o700);
    refused(&private, "may not read it");
    assert_eq!(s.clip_count(), 0, "nothing was stored");
    // A card the caller can read, holding a file they cannot: that file is
    // named as not read, the others are stored.
    let card = s.v.scratch("card");
    mode(&card, 0o755);
    std::fs::create_dir(card.join("DCIM")).unwrap();
    mode(&card.join("DCIM"), 0o755);
    std::fs::write(card.join("DCIM/REC_0001.MP4"), b"readable evidence").unwrap();
    mode(&card.join("DCIM/REC_0001.MP4"), 0o644);
    std::fs::write(card.join("DCIM/SECRET.BIN"), b"not theirs").unwrap();
    mode(&card.join("DCIM/SECRET.BIN"), 0o600);
    let out = s.as_uid(62001, &["ingest", card.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["files"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(doc["files"][0]["path"], "DCIM/REC_0001.MP4");
    let failed = doc["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{doc:#}");
    assert_eq!(failed[0]["path"], "DCIM/SECRET.BIN");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("uid 62001 may not read it"),
        "{doc:#}"
    );
    // The key was never stored: no object holds its bytes.
    let key = blake3_file(&store.join("checkpoint.key"));
    assert!(s.v.object_files().iter().all(|o| blake3_file(o) != key));
    // Over TLS, a custodian's session names no local account: only the
    // watch root's mounts.
    let token = s.login("cus", "custodian secret 1");
    let r = s
        .client()
        .post(s.url("/api/v1/ingest"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "dir": card, "min_gap": 1.0, "join_window": 300.0,
        }))
        .send()
        .unwrap();
    let body = r.text().unwrap();
    assert!(
        body.contains("refused") && body.contains("watch root"),
        "{body}"
    );
    assert_eq!(s.clip_count(), 1);
}

/// A recorder tree in the scratch area holding `files` (name, bytes).
fn recorder(v: &Vigil, name: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
    let dir = v.scratch(name);
    std::fs::create_dir_all(dir.join("DCIM")).unwrap();
    for (f, bytes) in files {
        std::fs::write(dir.join("DCIM").join(f), bytes).unwrap();
    }
    dir
}

/// Item 2: FFmpeg never follows a playlist or list inside evidence. An
/// HLS playlist and an ffconcat list named as recordings point at a real
/// recording the officer may not read; each is stored byte-exact and
/// flagged "not a recording", nothing it names is read (no streams, no
/// duration), `vigil analyze` says the same, and the desk makes no preview
/// of it.
#[test]
fn playlists_inside_evidence_are_stored_flagged_and_never_followed() {
    let s = Station::start(
        &[
            ("cus", "custodian", Some("uid:62101"), None),
            ("off1001", "officer", None, Some("officer secret 1001")),
        ],
        "",
    );
    // The target: a real recording in a directory only root reads.
    let hidden = s.v.scratch("hidden");
    let target = hidden.join("secret.ts");
    std::fs::copy(vigil_e2e::fixtures().join("continuity/hole.ts"), &target).unwrap();
    mode(&hidden, 0o700);
    let hls = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:{}\n#EXT-X-ENDLIST\n",
        target.display()
    );
    let concat = format!("ffconcat version 1.0\nfile '{}'\n", target.display());
    let card = recorder(
        &s.v,
        "card",
        &[
            ("REC_0001.MP4", hls.clone().into_bytes()),
            ("REC_0002.MP4", concat.clone().into_bytes()),
        ],
    );
    let doc = s.v.json(&[
        "ingest",
        card.to_str().unwrap(),
        "--device",
        "BWC1",
        "--json",
    ]);
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{doc:#}");
    for (f, want) in files.iter().zip([&hls, &concat]) {
        assert_eq!(f["damaged"], true, "{f:#}");
        let why = f["damage_reason"].as_str().unwrap();
        assert!(why.starts_with("not a recording"), "{why}");
        assert_eq!(
            f["blake3"].as_str().unwrap(),
            blake3::hash(want.as_bytes()).to_hex().as_str(),
            "stored byte-exact"
        );
    }
    // Nothing of the target was read: no streams, no duration.
    let clips = s.v.json(&["clips", "--json"]);
    for c in clips["clips"].as_array().unwrap() {
        assert!(c["duration_s"].is_null(), "{c:#}");
    }
    let analysis: Option<String> =
        s.v.db()
            .query_row(
                "SELECT analysis FROM clips WHERE analysis IS NOT NULL LIMIT 1",
                [],
                |r| r.get(0),
            )
            .ok();
    assert!(analysis.is_none(), "{analysis:?}");
    // `vigil analyze` on the files themselves says the same.
    let out = s.v.run(&[
        "analyze",
        card.join("DCIM/REC_0001.MP4").to_str().unwrap(),
        "--json",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not a recording"), "{}", describe(&out));
    assert!(text.contains("hls"), "{}", describe(&out));
    // The desk offers no preview of it, and a preview asked for by hand
    // is refused, not made.
    let token = s.login("off1001", "officer secret 1001");
    let clip = clips["clips"][0]["clip"].as_str().unwrap().to_owned();
    let client = s.client();
    let r = client
        .get(s.url(&format!("/desk/clips/{clip}/media?preview=1")))
        .header("cookie", format!("vigil_session={token}"))
        .send()
        .unwrap();
    assert_ne!(r.status(), 200);
    assert!(r.text().unwrap().contains("has no preview"));
}

/// Runs `vigil ARGS`, expecting success; its stdout.
fn ok(v: &Vigil, args: &[&str]) -> String {
    let out = v.run(args);
    assert!(out.status.success(), "vigil {args:?}: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Items 3 and 9: root, with `sqlite3`, drops the append-only triggers,
/// deletes a row from the middle of the audit log (leaving the stored
/// Merkle tree as it was) and moves a clip to another officer. A kept
/// checkpoint no longer verifies, naming the missing row; no proof is
/// served; `vigil verify` names the dropped triggers and the edited clip.
#[test]
fn root_edits_behind_the_service_fail_checkpoint_verify_and_verify() {
    let v = Vigil::new();
    v.ingest_seq_gap();
    let kept = v.dir.path().join("kept.txt");
    std::fs::write(&kept, ok(&v, &["checkpoint"])).unwrap();
    let key = ok(&v, &["checkpoint", "--key"]).trim().to_owned();
    let holds = v.run(&[
        "checkpoint",
        "verify",
        kept.to_str().unwrap(),
        "--key",
        &key,
    ]);
    assert!(holds.status.success(), "{}", describe(&holds));
    let clip: String = v
        .db()
        .query_row(
            "SELECT id FROM clips WHERE officer_id IS NOT NULL LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let conn = v.db();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         DROP TRIGGER audit_no_delete; DROP TRIGGER audit_no_update;
         DELETE FROM audit WHERE seq = 3;",
    )
    .unwrap();
    conn.execute(
        "UPDATE clips SET officer_id = '9999' WHERE id = ?1",
        [&clip],
    )
    .unwrap();
    drop(conn);
    let out = v.run(&[
        "checkpoint",
        "verify",
        kept.to_str().unwrap(),
        "--key",
        &key,
    ]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text.contains("no longer matches its Merkle tree")
            && text.contains("rows 3..3 are missing"),
        "{text}"
    );
    let proof = v.run(&["audit", "prove", "--from", kept.to_str().unwrap()]);
    assert!(!proof.status.success(), "{}", describe(&proof));
    assert!(
        stderr(&proof).contains("rows 3..3 are missing"),
        "{}",
        describe(&proof)
    );
    let report = v.run(&["verify", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&report.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", describe(&report)));
    assert_eq!(doc["ok"], false);
    let problems = doc["problems"].as_array().unwrap();
    let has = |kind: &str, subject: &str, words: &str| {
        problems.iter().any(|p| {
            p["kind"] == kind
                && p["subject"].as_str().unwrap().contains(subject)
                && p["detail"].as_str().unwrap().contains(words)
        })
    };
    assert!(
        has("schema_altered", "audit_no_delete", "is missing"),
        "{doc:#}"
    );
    assert!(
        has("schema_altered", "audit_no_update", "is missing"),
        "{doc:#}"
    );
    assert!(
        has("clip_altered", &clip, "its officer is Some(\"9999\")"),
        "{doc:#}"
    );
}

/// vigild's peak resident memory, from `/proc`.
fn peak_rss_mib(d: &Vigild) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.child.id())).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|l| l.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024
}

/// Items 4, 5 and 6: a flood from anyone who can reach the port. 1,000
/// logins with unknown names, 200 at a time, and six parallel unranged
/// downloads of a 256 MiB recording leave vigild under 256 MiB (excess
/// logins are told `busy` at once); a ninth stream of one user is refused;
/// 193 connections that never start TLS do not keep a desk waiting.
#[test]
fn floods_of_logins_downloads_and_silent_connections_stay_bounded() {
    let s = Station::start(
        &[("cus", "custodian", None, Some("custodian secret 1"))],
        "",
    );
    let big = s.v.scratch("big");
    std::fs::create_dir(big.join("DCIM")).unwrap();
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(big.join("DCIM/LOG_0001.BIN")).unwrap();
        let chunk: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for i in 0..256u32 {
            let mut c = chunk.clone();
            c[..4].copy_from_slice(&i.to_le_bytes());
            f.write_all(&c).unwrap();
        }
    }
    let doc = s.v.json(&["ingest", big.to_str().unwrap(), "--json"]);
    let clip = doc["files"][0]["clip"].as_str().unwrap().to_owned();
    let base = peak_rss_mib(&s.d);
    // 1,000 unknown logins, 200 at a time.
    let mut busy = 0;
    let mut refused = 0;
    for _ in 0..5 {
        let answers: Vec<u16> = std::thread::scope(|scope| {
            let hs: Vec<_> = (0..200)
                .map(|i| {
                    let (c, url) = (s.client(), s.url("/api/v1/login"));
                    scope.spawn(move || {
                        c.post(url)
                            .json(&serde_json::json!({"user": format!("nobody{i}"), "password": "guess guess guess"}))
                            .send()
                            .map(|r| r.status().as_u16())
                            .unwrap_or(0)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        busy += answers.iter().filter(|&&a| a == 429).count();
        refused += answers.iter().filter(|&&a| a == 403).count();
    }
    assert_eq!(
        busy + refused,
        1000,
        "every login answered: busy or refused"
    );
    assert!(busy > 0, "a flood is turned away, not queued");
    let after_logins = peak_rss_mib(&s.d);
    assert!(
        after_logins <= 256,
        "vigild peaked at {after_logins} MiB (before: {base})"
    );
    // Six parallel whole downloads of the 256 MiB object.
    let token = s.login("cus", "custodian secret 1");
    let media = s.url(&format!("/desk/clips/{clip}/media?download=1"));
    let cookie = format!("vigil_session={token}");
    let sums: Vec<(u64, String)> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..6)
            .map(|_| {
                let (c, url, cookie) = (s.client(), media.clone(), cookie.clone());
                scope.spawn(move || {
                    let mut r = c.get(url).header("cookie", cookie).send().unwrap();
                    assert_eq!(r.status(), 200);
                    let mut h = blake3::Hasher::new();
                    let n = std::io::copy(&mut r, &mut h).unwrap();
                    (n, h.finalize().to_hex().to_string())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let want = doc["files"][0]["blake3"].as_str().unwrap();
    assert!(
        sums.iter().all(|(n, h)| *n == 256 << 20 && h == want),
        "{sums:?}"
    );
    let after_downloads = peak_rss_mib(&s.d);
    eprintln!(
        "vigild peak RSS: {base} MiB before, {after_logins} MiB after 1,000 logins ({busy} busy), {after_downloads} MiB after six 256 MiB downloads"
    );
    assert!(
        after_downloads <= 256,
        "vigild peaked at {after_downloads} MiB serving six 256 MiB downloads"
    );
    // Eight bodies streaming at once for one user; a ninth is refused.
    let c = s.client();
    let open: Vec<_> = (0..8)
        .map(|_| {
            let r = c.get(&media).header("cookie", &cookie).send().unwrap();
            assert_eq!(r.status(), 200);
            r
        })
        .collect();
    let ninth = c.get(&media).header("cookie", &cookie).send().unwrap();
    assert_eq!(ninth.status(), 429);
    drop(open);
    // 193 connections that never start TLS; a desk is answered at once.
    let silent: Vec<std::net::TcpStream> = (0..193)
        .map(|_| std::net::TcpStream::connect(&s.addr).unwrap())
        .collect();
    let patient = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&s.cert).unwrap())
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let answered = patient.get(s.url("/api/v1/whoami")).send();
    assert!(
        answered.is_ok_and(|r| r.status() == 403),
        "a desk waited behind 193 silent connections ({:?})",
        started.elapsed()
    );
    drop(silent);
}

/// Item 10: separation of duties. A supervisor who is also officer 1002
/// may not review an explanation of their own recording, nor approve a
/// request filed under another account of the same officer.
#[test]
fn no_one_reviews_or_approves_their_own_work() {
    let v = Vigil::new();
    let gap = v.ingest_seq_gap(); // officer 1002's recorder
    ok(&v, &["officers", "add", "1002"]);
    ok(&v, &["officers", "add", "1003"]);
    for (user, role, officer) in [
        ("zhang", "officer", Some("1002")),
        ("zhang-sup", "supervisor", Some("1002")),
        ("wang", "officer", Some("1003")),
        ("li", "supervisor", None),
    ] {
        let mut args = vec!["user", "add", user, "--role", role];
        if let Some(o) = officer {
            args.extend(["--officer", o]);
        }
        ok(&v, &args);
    }
    ok(
        &v,
        &["--as", "wang", "explain", &gap, "--written", "battery swap"],
    );
    let own = v.run(&["--as", "zhang-sup", "review", &gap, "--accept"]);
    assert_eq!(own.status.code(), Some(3), "{}", describe(&own));
    assert!(
        stderr(&own).contains("their own recording"),
        "{}",
        describe(&own)
    );
    let g = v.json(&["gaps", "--json"]);
    assert!(g["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["explanation"]["review"].is_null()));
    ok(&v, &["--as", "li", "review", &gap, "--accept"]);
    // A request filed as officer zhang, approved as zhang-sup: refused.
    let clip = v.json(&["clips", "--json"])["clips"][0]["clip"]
        .as_str()
        .unwrap()
        .to_owned();
    let req = v.json(&[
        "--as",
        "zhang",
        "request",
        "--clip",
        &clip,
        "--reason",
        "my own case",
        "--json",
    ]);
    let rid = req["request"].as_str().unwrap();
    let approve = v.run(&["--as", "zhang-sup", "approve", rid]);
    assert_eq!(approve.status.code(), Some(3), "{}", describe(&approve));
    assert!(
        stderr(&approve).contains("same officer"),
        "{}",
        describe(&approve)
    );
    ok(&v, &["--as", "li", "approve", rid]);
}

/// Items 8, 12, 13 and 14 at the desk: five wrong passwords from one
/// address lock the user out there only, audited; a login form from
/// another site is refused; the player's bytes are audited once per
/// viewing; a file name with a right-to-left override is shown escaped.
#[test]
fn the_desk_resists_lockout_login_csrf_unaudited_reads_and_bidi_spoofing() {
    let s = Station::start(
        &[
            ("aud", "auditor", None, Some("auditor secret 1")),
            ("cus", "custodian", None, Some("custodian secret 1")),
        ],
        "login_failures_max = 5\n",
    );
    let name = "REC_0001\u{202e}4pm.exe.MP4";
    let card = recorder(
        &s.v,
        "card",
        &[(
            name,
            std::fs::read(vigil_e2e::fixtures().join("continuity/clean.mp4")).unwrap(),
        )],
    );
    let doc = s.v.json(&["ingest", card.to_str().unwrap(), "--json"]);
    let clip = doc["files"][0]["clip"].as_str().unwrap().to_owned();
    // Lockout by (user, address).
    let from = |ip: &str| {
        reqwest::blocking::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&s.cert).unwrap())
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let login = |c: &reqwest::blocking::Client, password: &str| {
        c.post(s.url("/api/v1/login"))
            .json(&serde_json::json!({"user": "aud", "password": password}))
            .send()
            .unwrap()
    };
    let attacker = from("127.0.0.2");
    for _ in 0..5 {
        assert_eq!(login(&attacker, "wrong password!").status(), 403);
    }
    let locked = login(&attacker, "auditor secret 1");
    assert_eq!(locked.status(), 403);
    assert!(locked.text().unwrap().contains("locked out from 127.0.0.2"));
    assert_eq!(login(&from("127.0.0.1"), "auditor secret 1").status(), 200);
    let locks =
        s.v.json(&["audit", "--action", "session.locked_out", "--json"]);
    let rows = locks["audit"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{locks:#}");
    assert_eq!(rows[0]["detail"]["source"], "127.0.0.2");
    // Login CSRF: a form posted from another site is refused, even with a
    // token of this desk's login page.
    let c = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&s.cert).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c.get(s.url("/desk/login")).send().unwrap();
    let pre = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = pre.split_once('=').unwrap().1.to_owned();
    let post = |origin: &str| {
        c.post(s.url("/desk/login"))
            .header("cookie", &pre)
            .header("origin", origin)
            .form(&[
                ("user", "cus"),
                ("password", "custodian secret 1"),
                ("login_token", token.as_str()),
            ])
            .send()
            .unwrap()
    };
    let forged = post("https://evil.example");
    assert_eq!(forged.status(), 403);
    let cross = c
        .post(s.url("/desk/login"))
        .header("cookie", &pre)
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("user", "cus"),
            ("password", "custodian secret 1"),
            ("login_token", token.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(cross.status(), 403);
    let good = post(&format!("https://{}", s.addr));
    assert_eq!(good.status(), 303);
    // The player's bytes: one audit row per viewing, whatever the ranges.
    let session = s.login("aud", "auditor secret 1");
    let cookie = format!("vigil_session={session}");
    for range in ["bytes=0-99", "bytes=100-199", "bytes=200-"] {
        let r = c
            .get(s.url(&format!("/desk/clips/{clip}/media")))
            .header("cookie", &cookie)
            .header("range", range)
            .send()
            .unwrap();
        assert_eq!(r.status(), 206);
    }
    let played = s.v.json(&["audit", "--action", "clip.played", "--json"]);
    assert_eq!(played["audit"].as_array().unwrap().len(), 1, "{played:#}");
    assert_eq!(played["audit"][0]["subject"], clip.as_str());
    // The override is shown as an escape, never applied.
    let page = c
        .get(s.url(&format!("/desk/clips/{clip}")))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(!page.contains('\u{202e}'), "raw override on the page");
    assert!(page.contains("REC_0001\\u{202e}4pm.exe.MP4"), "{page}");
}

/// vigild whose API socket cannot be bound stops at once, naming it,
/// instead of running on with no API.
#[test]
fn vigild_without_its_socket_does_not_start() {
    let v = Vigil::new();
    let log = v.dir.path().join("vigild.log");
    let mut d = std::process::Command::new(vigil_e2e::bin("vigild"))
        .arg("--store")
        .arg(v.store())
        .args(["--socket", "/proc/self/no-such-dir/vigil.sock"])
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(s) = d.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = d.kill();
            panic!("vigild kept running without its socket");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(!status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("no-such-dir/vigil.sock"), "{text}");
}

/// The confidentiality rule for requests (R17): an officer cannot request a
/// confidential recording they may not see, and a package for an outsider
/// never carries a state or trade secret, whoever files or approves it.
#[test]
fn confidential_recordings_are_not_requested_unseen_nor_sent_outside() {
    let v = Vigil::new();
    v.ingest_seq_gap();
    ok(&v, &["officers", "add", "1002"]);
    for (user, role) in [
        ("zhang", "officer"),
        ("li", "supervisor"),
        ("sam", "custodian"),
    ] {
        let mut args = vec!["user", "add", user, "--role", role];
        if role == "officer" {
            args.extend(["--officer", "1002"]);
        }
        ok(&v, &args);
    }
    let clips = v.json(&["clips", "--json"]);
    let ids: Vec<String> = clips["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clip"].as_str().unwrap().to_owned())
        .collect();
    ok(&v, &["confidential", &ids[0], "--kind", "privacy"]);
    let unseen = v.run(&[
        "--as", "zhang", "request", "--clip", &ids[0], "--reason", "mine",
    ]);
    assert_eq!(unseen.status.code(), Some(3), "{}", describe(&unseen));
    assert!(
        stderr(&unseen).contains("may not see it"),
        "{}",
        describe(&unseen)
    );
    // A trade secret the custodian may handle, requested and approved for
    // an outsider: the package is refused, naming the rule.
    ok(&v, &["confidential", &ids[1], "--kind", "trade_secret"]);
    let req = v.json(&[
        "--as",
        "sam",
        "request",
        "--clip",
        &ids[1],
        "--reason",
        "court",
        "--outsider",
        "Law firm",
        "--json",
    ]);
    let rid = req["request"].as_str().unwrap();
    ok(&v, &["--as", "li", "approve", rid]);
    let out = v.dir.path().join("pkg");
    let export = v.run(&[
        "--as",
        "sam",
        "export",
        "--request",
        rid,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(export.status.code(), Some(3), "{}", describe(&export));
    assert!(
        stderr(&export).contains("never carries state or trade secrets (R17)"),
        "{}",
        describe(&export)
    );
    assert!(!out.join("MANIFEST").exists());
}

/// FFmpeg children of process `pid` now (from `/proc`).
fn ffmpeg_children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        let Some((head, tail)) = stat.rsplit_once(") ") else {
            continue;
        };
        let ppid = tail.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if head.ends_with("(ffmpeg") && ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Waits up to `secs` for `done`, polling.
fn within(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "not within {secs} s: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Item 7: a preview is stopped when its viewer leaves (FFmpeg killed, no
/// half-made preview kept) and when vigild is told to stop (it exits at
/// once instead of waiting for the transcode).
#[test]
fn a_preview_stops_when_its_viewer_leaves_and_when_vigild_stops() {
    let mut s = Station::start(&[("aud", "auditor", None, Some("auditor secret 1"))], "");
    // Two minutes of 720p MJPEG: browsers do not play it, so the desk
    // transcodes it, which takes FFmpeg many seconds here.
    let card = recorder(&s.v, "card", &[]);
    let sample = s.v.dir.path().join("sample.avi");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=1280x720:rate=25")
        .args(["-t", "4", "-c:v", "mjpeg", "-q:v", "20"])
        .arg(&sample)
        .status()
        .unwrap();
    assert!(made.success());
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-stream_loop", "29", "-i"])
        .arg(&sample)
        .args(["-c", "copy", "-metadata"])
        // Unique bytes: a preview made by an earlier run is never reused.
        .arg(format!("comment={}", s.v.dir.path().display()))
        .arg(card.join("DCIM/REC_0001.AVI"))
        .status()
        .unwrap();
    assert!(made.success());
    let doc = s.v.json(&["ingest", card.to_str().unwrap(), "--json"]);
    let clip = doc["files"][0]["clip"].as_str().unwrap().to_owned();
    let session = s.login("aud", "auditor secret 1");
    let pid = s.d.child.id();
    let url = s.url(&format!("/desk/clips/{clip}/media?preview=1"));
    let ask = |patience: u64| {
        let (client, url) = (
            reqwest::blocking::Client::builder()
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(&s.cert).unwrap())
                .timeout(std::time::Duration::from_secs(patience))
                .build()
                .unwrap(),
            url.clone(),
        );
        let cookie = format!("vigil_session={session}");
        std::thread::spawn(move || client.get(url).header("cookie", cookie).send().is_ok())
    };
    let log = || std::fs::read_to_string(&s.d.log).unwrap_or_default();

    // The viewer waits three seconds and leaves.
    let viewer = ask(3);
    within(20, "FFmpeg making the preview", || {
        !ffmpeg_children(pid).is_empty()
    });
    assert!(
        !viewer.join().unwrap(),
        "the viewer gave up before the preview was made"
    );
    within(10, "FFmpeg gone after the viewer left", || {
        ffmpeg_children(pid).is_empty()
    });
    assert!(
        log().contains("the viewer went away"),
        "the preview was stopped, not finished: {}",
        log()
    );

    // A viewer waits; vigild is told to stop mid-transcode.
    let _viewer = ask(120);
    within(20, "FFmpeg making the preview again", || {
        !ffmpeg_children(pid).is_empty()
    });
    let child = ffmpeg_children(pid)[0];
    s.d.signal(libc::SIGTERM);
    let mut exited = None;
    within(20, "vigild gone after SIGTERM", || {
        exited = s.d.child.try_wait().unwrap();
        exited.is_some()
    });
    assert!(exited.unwrap().success(), "{:?}", exited);
    within(5, "its FFmpeg gone too", || {
        !std::path::Path::new(&format!("/proc/{child}")).exists()
    });
    let text = log();
    assert!(
        text.contains("vigild is stopping") && text.contains("vigild stopped"),
        "{text}"
    );
}

/// A thumbnail is one small frame of the video, made by the confined
/// FFmpeg into the derived cache outside the store, served only to whoever
/// may see the recording (R17: a confidential one's is refused like its
/// page), and, like the list it is on, adds no audit row.
#[test]
fn a_thumbnail_is_kept_outside_the_store_and_shown_only_to_who_may_see_the_recording() {
    let s = Station::start(
        &[
            ("cus", "custodian", None, Some("custodian secret 1")),
            ("off1001", "officer", None, Some("officer secret 1001")),
        ],
        "",
    );
    let card = recorder(&s.v, "card", &[]);
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=640x360:rate=25")
        .args([
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-metadata",
        ])
        // Unique bytes: a thumbnail made by an earlier run is never reused.
        .arg(format!("comment={}", s.v.dir.path().display()))
        .arg(card.join("DCIM/REC_0001.MP4"))
        .status()
        .unwrap();
    assert!(made.success());
    let doc = s.v.json(&["ingest", card.to_str().unwrap(), "--json"]);
    let clip = doc["files"][0]["clip"].as_str().unwrap().to_owned();
    let blake3 = doc["files"][0]["blake3"].as_str().unwrap().to_owned();
    let store_files = || vigil_e2e::files_under(&s.v.store().join("objects")).len();
    let objects = store_files();
    let rows = || -> i64 {
        s.v.db()
            .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
            .unwrap()
    };
    let thumb = |user: &str, password: &str| {
        let cookie = format!("vigil_session={}", s.login(user, password));
        let r = s
            .client()
            .get(s.url(&format!("/desk/clips/{clip}/thumb.jpg")))
            .header("cookie", cookie)
            .send()
            .unwrap();
        let kind = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        (r.status().as_u16(), kind, r.bytes().unwrap().to_vec())
    };
    let before = rows();
    let (status, kind, jpeg) = thumb("cus", "custodian secret 1");
    assert_eq!(status, 200);
    assert_eq!(kind.as_deref(), Some("image/jpeg"));
    assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
    let saved = s.v.dir.path().join("thumb.jpg");
    std::fs::write(&saved, &jpeg).unwrap();
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(&saved)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "160,90");
    // Two of the login's rows (the login, its session); none for the picture.
    let added: Vec<String> = s.v.json(&["audit", "--json"])["audit"]
        .as_array()
        .unwrap()
        .iter()
        .skip(before as usize)
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !added.iter().any(|a| a.starts_with("clip.")),
        "no viewing recorded for a thumbnail: {added:?}"
    );
    let cache = std::env::temp_dir().join(format!(
        "vigil-previews-{}/{blake3}.jpg",
        rustix::process::geteuid().as_raw()
    ));
    assert_eq!(
        std::fs::read(&cache).unwrap(),
        jpeg,
        "made once, kept in the cache"
    );
    assert_eq!(store_files(), objects, "nothing added to the store");

    // Confidential: refused to an officer who may not see it, like its page.
    ok(&s.v, &["confidential", &clip, "--kind", "privacy"]);
    let (status, _, body) = thumb("off1001", "officer secret 1001");
    assert!(status == 403 || status == 404, "{status}");
    assert!(!body.starts_with(&[0xFF, 0xD8]), "no picture of it");
}
