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
