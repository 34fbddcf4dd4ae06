//! `cargo xtask bench-desk`: the desk under an end-of-shift load. A store of
//! the fixture recordings, 50 desk users each with their own session, and
//! `wrk` (Debian's, installed when missing) over TLS beside a release
//! vigild on the same two cores: requests per second and latency
//! percentiles on the recordings list and a recording's page, and how many
//! audit rows the run added per request. Goals (issue: the desk under
//! load): at 50 sessions, ≥ 1,000 requests/s with p99 ≤ 100 ms, and the
//! audit log growing only with viewings and changes.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::root;

const PASSWORD: &str = "bench-desk-password";
const SESSIONS: usize = 50;
const LISTEN: &str = "127.0.0.1:18444";

/// Runs the benchmark: `[--seconds N]` per page (default 20).
pub fn run(args: &[String]) -> Result<()> {
    let mut seconds = 20u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .context("--seconds needs a number")?
                    .parse()
                    .context("--seconds needs a number")?
            }
            other => anyhow::bail!("bench-desk: unknown argument {other:?} (--seconds N)"),
        }
    }
    crate::deps::ensure()?;
    if !Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok_and(|o| !o.stdout.is_empty() || !o.stderr.is_empty())
    {
        crate::deps::install_packages(&["wrk"])?;
    }
    let (vigild, vigil) = crate::bench_scale::release_binaries()?;
    // A fresh store each run, kept after it (target/bench-desk) to look at.
    let work = root().join("target/bench-desk");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    let store = work.join("store");
    // The recordings: every fixture recorder card, ingested in-process.
    let fixtures = root().join("fixtures/generated");
    for (card, device) in [("recorder-a", "BWC101"), ("recorder-seq", "BWC102")] {
        let out = Command::new(&vigil)
            .arg("--store")
            .arg(&store)
            .arg("ingest")
            .arg(fixtures.join(card))
            .args(["--device", device])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "ingesting {card}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for i in 0..SESSIONS {
        let user = format!("desk{i:02}");
        let out = Command::new(&vigil)
            .arg("--store")
            .arg(&store)
            .args(["user", "add", &user, "--role", "custodian"])
            .output()?;
        anyhow::ensure!(out.status.success(), "user add {user}");
        crate::bench_scale::set_password(&vigil, &store, &user, PASSWORD)?;
    }
    let clip = {
        let out = Command::new(&vigil)
            .arg("--store")
            .arg(&store)
            .args(["clips", "--json"])
            .output()?;
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        doc["clips"][0]["clip"]
            .as_str()
            .context("no recording stored")?
            .to_owned()
    };
    let socket = work.as_path().join("vigil.sock");
    let mut daemon = Command::new(&vigild)
        .arg("--store")
        .arg(&store)
        .arg("--socket")
        .arg(&socket)
        .args(["--listen", LISTEN, "--timezone", "Asia/Shanghai"])
        .stderr(std::fs::File::create(work.as_path().join("vigild.log"))?)
        .spawn()
        .context("starting vigild")?;
    let result = (|| -> Result<()> {
        let t = Instant::now();
        while !socket.exists() || std::net::TcpStream::connect(LISTEN).is_err() {
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(60),
                "vigild did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let cookies: Vec<String> = (0..SESSIONS)
            .map(|i| login(work.as_path(), &format!("desk{i:02}")))
            .collect::<Result<_>>()?;
        let script = work.as_path().join("sessions.lua");
        std::fs::write(&script, lua(&cookies))?;
        println!(
            "\nthe desk under load: {SESSIONS} sessions over TLS, wrk -t2 -c{SESSIONS} -d{seconds}s beside a release vigild on this machine ({} cores)",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        // The stylesheet touches no store and writes no audit row: the
        // ceiling TLS and the HTTP stack allow here.
        for (what, path) in [
            ("stylesheet (ceiling)", "/desk/static/desk.css".to_owned()),
            ("recordings list", "/desk/clips".to_owned()),
            ("a recording's page", format!("/desk/clips/{clip}")),
        ] {
            let (before, signed_before) = log_counts(&store)?;
            let out = Command::new("wrk")
                .args([
                    "-t2",
                    &format!("-c{SESSIONS}"),
                    &format!("-d{seconds}s"),
                    "--latency",
                    "-s",
                ])
                .arg(&script)
                .arg(format!("https://{LISTEN}{path}"))
                .output()
                .context("running wrk")?;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let (after, signed_after) = log_counts(&store)?;
            let rate = figure(&text, "Requests/sec:").unwrap_or(0.0);
            // "  8435 requests in 15.02s, 105.44MB read"
            let requests = text
                .lines()
                .find(|l| l.contains("requests in"))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or(0.0);
            let p99 = percentile(&text, "99%");
            let p50 = percentile(&text, "50%");
            let errors = text
                .lines()
                .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
                .collect::<Vec<_>>()
                .join("; ");
            let added = after.saturating_sub(before);
            let signed = signed_after.saturating_sub(signed_before);
            println!(
                "  {what:<22} {rate:>8.0} req/s (goal ≥ 1000)  p50 {} ms  p99 {} ms (goal ≤ 100){}  audit rows added {added} for {requests:.0} requests ({:.2} a request) in {signed} checkpoints{}",
                p50.map_or("?".into(), |v| format!("{v:.1}")),
                p99.map_or("?".into(), |v| format!("{v:.1}")),
                if rate < 1000.0 || p99.is_none_or(|p| p > 100.0) { "  OVER a goal" } else { "" },
                added as f64 / requests.max(1.0),
                if errors.is_empty() { String::new() } else { format!("  [{errors}]") },
            );
        }
        Ok(())
    })();
    let _ = daemon.kill();
    let _ = daemon.wait();
    result
}

/// Logs `user` in at the desk (the login page's token, then the form) and
/// returns its session cookie (`vigil_session=…`).
fn login(dir: &Path, user: &str) -> Result<String> {
    let jar = dir.join(format!("{user}.cookies"));
    crate::bench_scale::desk_login(LISTEN, &jar, user, PASSWORD)?;
    let jar = std::fs::read_to_string(&jar)?;
    jar.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 7 && f[5] == "vigil_session").then(|| format!("vigil_session={}", f[6]))
        })
        .with_context(|| format!("no session cookie for {user}"))
}

/// The wrk script: each request carries the next session's cookie in turn.
fn lua(cookies: &[String]) -> String {
    let list = cookies
        .iter()
        .map(|c| format!("{c:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "local cookies = {{ {list} }}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", nil, {{ Cookie = cookies[(i % #cookies) + 1] }})\nend\n"
    )
}

/// The number after `label` on its line of wrk's output.
fn figure(text: &str, label: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.contains(label))
        .and_then(|l| l.split(label).nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// A latency percentile of wrk's `--latency` table, in milliseconds.
fn percentile(text: &str, label: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.trim_start().starts_with(label))?;
    let v = line.split_whitespace().nth(1)?;
    let (n, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

/// Rows in the store's audit log and checkpoints signed over it, read
/// while vigild serves it: grouped commits sign one checkpoint for the
/// rows that arrive together.
fn log_counts(store: &Path) -> Result<(u64, u64)> {
    let conn = rusqlite::Connection::open_with_flags(
        store.join(vigil_store::INDEX_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let count = |table: &str| -> Result<u64> {
        Ok(
            conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })? as u64,
        )
    };
    Ok((count("audit")?, count("checkpoints")?))
}
