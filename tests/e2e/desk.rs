//! The desk listener: the API over TLS with a self-signed
//! certificate made on first start (its fingerprint in the status), logins
//! by password (argon2id), sessions that expire, a lockout, every login,
//! failure and logout in the audit log. A real client: reqwest with the
//! generated certificate pinned as its only root.

use std::io::Write;

use vigil_e2e::{describe, Vigil, Vigild};

#[test]
fn desks_log_in_over_tls_with_sessions_that_expire_and_a_lockout() {
    let v = Vigil::new();
    for args in [
        &["user", "add", "ann", "--role", "auditor"][..],
        &["user", "add", "bob", "--role", "officer"],
    ] {
        let out = v.run(args);
        assert!(out.status.success(), "{}", describe(&out));
    }
    v.passwd("ann", "correct horse battery");
    v.passwd("bob", "another long secret");
    let short = v
        .cmd()
        .args(["user", "passwd", "bob"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(short.status.code(), Some(3), "{}", describe(&short));
    let config = v.dir.path().join("vigild.toml");
    std::fs::write(&config, "session_s = 3\nlogin_failures_max = 3\n").unwrap();
    let d = Vigild::start(
        &v.store(),
        &v.dir.path().join("vigild.log"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
    );
    let status = d.wait_for(20, "the desk listener", |s| s["desk"]["addr"].is_string());
    let addr = status["desk"]["addr"].as_str().unwrap().to_owned();
    let fingerprint = status["desk"]["fingerprint"].as_str().unwrap().to_owned();
    let cert_pem = std::fs::read(v.store().join("tls/cert.pem")).unwrap();
    // The fingerprint is the certificate's, as openssl computes it.
    let openssl = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(v.store().join("tls/cert.pem"))
        .output();
    if let Some(o) = openssl.ok().filter(|o| o.status.success()) {
        assert!(String::from_utf8_lossy(&o.stdout).contains(&fingerprint));
    }
    use std::os::unix::fs::PermissionsExt;
    let key_mode = std::fs::metadata(v.store().join("tls/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);

    let client = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&cert_pem).unwrap())
        .build()
        .unwrap();
    let url = |p: &str| format!("https://{addr}{p}");
    let login = |user: &str, password: &str| {
        client
            .post(url("/api/v1/login"))
            .json(&serde_json::json!({"user": user, "password": password}))
            .send()
            .unwrap()
    };
    // A client that does not trust the certificate gets nowhere.
    let stranger = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    assert!(stranger.get(url("/api/v1/whoami")).send().is_err());
    // Clients that connect and say nothing do not hold up the desks behind
    // them: their handshakes wait on their own (up to 5 s each), and a
    // desk asking meanwhile is answered well inside that.
    let silent: Vec<std::net::TcpStream> = (0..3)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    let patient = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&cert_pem).unwrap())
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap();
    let answered = patient.get(url("/api/v1/whoami")).send();
    assert!(
        answered.is_ok_and(|r| r.status() == 403),
        "a desk waited behind silent clients"
    );
    drop(silent);
    // No session: refused with the stable code.
    let anon = client.get(url("/api/v1/clips")).send().unwrap();
    assert_eq!(anon.status(), 403);
    let body: serde_json::Value = anon.json().unwrap();
    assert_eq!(body["code"], "refused");
    // A good password: a token that acts as ann.
    let ok = login("ann", "correct horse battery");
    assert_eq!(ok.status(), 200);
    let session: serde_json::Value = ok.json().unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    let me: serde_json::Value = client
        .get(url("/api/v1/whoami"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        (me["user"].as_str(), me["role"].as_str()),
        (Some("ann"), Some("auditor"))
    );
    let clips = client
        .get(url("/api/v1/clips"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(clips.status(), 200);
    // The role still decides: bob (officer) may not read the audit log.
    let bob: serde_json::Value = login("bob", "another long secret").json().unwrap();
    let denied = client
        .get(url("/api/v1/audit"))
        .bearer_auth(bob["token"].as_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(denied.status(), 403);
    // Logout ends the session.
    let out = client
        .post(url("/api/v1/logout"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(out.status(), 200);
    let after = client
        .get(url("/api/v1/whoami"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(after.status(), 403);
    // Sessions expire (session_s = 3 here).
    let short: serde_json::Value = login("ann", "correct horse battery").json().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    let expired = client
        .get(url("/api/v1/whoami"))
        .bearer_auth(short["token"].as_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(expired.status(), 403);
    let body: serde_json::Value = expired.json().unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    // Wrong passwords, and an unknown user, the same refusal; after three
    // failures bob is locked out even with the right password.
    for (user, pw) in [
        ("bob", "wrong one"),
        ("nobody-here", "whatever"),
        ("bob", "wrong again"),
        ("bob", "still wrong"),
    ] {
        let r = login(user, pw);
        assert_eq!(r.status(), 403);
        let b: serde_json::Value = r.json().unwrap();
        assert_eq!(b["message"], "wrong user name or password");
    }
    let locked = login("bob", "another long secret");
    assert_eq!(locked.status(), 403);
    let b: serde_json::Value = locked.json().unwrap();
    assert!(b["message"].as_str().unwrap().contains("locked out"), "{b}");
    // The CLI as a desk: `vigil login` pins the certificate and keeps the
    // token (0600); commands then go to the station.
    let home = v.scratch("desk-home");
    let desk_cli = |args: &[&str], stdin: Option<&str>| {
        let mut child = std::process::Command::new(vigil_e2e::bin("vigil"))
            .args(args)
            .env("XDG_CONFIG_HOME", &home)
            .env_remove("VIGIL_STORE")
            .env_remove("VIGIL_SOCKET")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(text) = stdin {
            writeln!(child.stdin.take().unwrap(), "{text}").unwrap();
        } else {
            drop(child.stdin.take());
        }
        child.wait_with_output().unwrap()
    };
    let wrong_pin = "00".repeat(32);
    let out = desk_cli(
        &[
            "login",
            "--server",
            &format!("https://{addr}"),
            "--fingerprint",
            &wrong_pin,
            "--user",
            "ann",
        ],
        Some("correct horse battery"),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not the one pinned"),
        "{}",
        describe(&out)
    );
    let out = desk_cli(
        &[
            "login",
            "--server",
            &format!("https://{addr}"),
            "--fingerprint",
            &fingerprint,
            "--user",
            "ann",
        ],
        Some("correct horse battery"),
    );
    assert!(out.status.success(), "{}", describe(&out));
    let saved = home.join("vigil/session.json");
    let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let listed = desk_cli(&["clips", "--json"], None);
    assert!(listed.status.success(), "{}", describe(&listed));
    let who = desk_cli(&["audit", "--json", "--action", "session.login"], None);
    assert!(who.status.success(), "{}", describe(&who));
    let out = desk_cli(&["logout"], None);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!saved.exists());
    drop(d);
    // Every login, failure and logout is in the audit log.
    let db = v.db();
    let count = |action: &str| -> i64 {
        db.query_row(
            "SELECT COUNT(*) FROM audit WHERE action = ?1",
            [action],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(count("session.login"), 4);
    assert_eq!(count("session.logout"), 2);
    assert_eq!(count("session.login_failed"), 5);
    assert_eq!(count("user.password_set"), 2);
    let clips_reader: String = db
        .query_row(
            "SELECT actor FROM audit WHERE action = 'clips.listed' ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        clips_reader.starts_with("ann (desk session "),
        "{clips_reader}"
    );
    // The token itself is never stored.
    let tokens: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM sessions WHERE token_sha256 = ?1",
            [&token],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tokens, 0);
}
