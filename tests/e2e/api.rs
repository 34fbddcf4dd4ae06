//! vigild's API on its Unix socket (issue 10): identity from the kernel
//! (SO_PEERCRED), mapped to Vigil users as the CLI maps its own uid; the CLI
//! as its client for `clips`, `audit` and `status`; refusals with stable
//! codes and exit statuses.

use vigil_e2e::{describe, Vigil, Vigild};

fn vigil_at(socket: &std::path::Path, uid: Option<u32>, args: &[&str]) -> std::process::Output {
    let mut cmd = match uid {
        Some(uid) => {
            let mut c = std::process::Command::new("setpriv");
            c.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={uid}"))
                .args(["--clear-groups", "--"])
                .arg(vigil_e2e::bin("vigil"));
            c
        }
        None => std::process::Command::new(vigil_e2e::bin("vigil")),
    };
    cmd.arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("VIGIL_STORE")
        .output()
        .unwrap()
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
    assert!(std::process::Command::new("chmod")
        .arg("a+x")
        .arg(v.dir.path())
        .status()
        .unwrap()
        .success());

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
