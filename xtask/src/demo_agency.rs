//! `cargo xtask demo --agency [--serve]`: an agency of two stations and
//! its centre on this machine. PostgreSQL (a throwaway cluster in
//! `target/demo-agency/pg`), `vigil-centre` on it, and two stations, each
//! a vigild with a simulated dock of its own that it empties unattended;
//! each station joins the centre (`vigild.toml`), is enrolled by its log
//! key, and sends its log. The demo shows the centre's board, what it
//! holds of each station, and a station's checkpoint cosigned by the
//! centre's witness checked offline. With `--serve` everything keeps
//! running until Ctrl-C. The one-station demo (`cargo xtask demo`) stays
//! the README's first one.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::bench_centre::{pg_bin, postgres, stop_postgres};
use crate::{cargo, copy_dir, root, run};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The centre's address in the demo.
const CENTRE: &str = "127.0.0.1:7443";

/// Runs the demo.
pub fn run_demo(serve: bool) -> Result<()> {
    crate::deps::ensure()?;
    crate::deps::install_packages(&["postgresql"])?;
    crate::fixtures()?;
    run(cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "vigil-cli",
        "-p",
        "vigild",
        "-p",
        "dock-sim",
        "-p",
        "vigil-centre",
    ]))?;
    let bin = |n: &str| root().join("target/release").join(n);
    let base = root().join("target/demo-agency");
    if base.exists() {
        run(Command::new("chmod").args(["-R", "u+w"]).arg(&base))?;
        std::fs::remove_dir_all(&base)?;
    }
    std::fs::create_dir_all(&base)?;
    let pg = base.join("pg");
    postgres(&pg)?;
    let result = agency(&base, &pg, &bin, serve);
    stop_postgres(&pg);
    result
}

fn agency(
    base: &Path,
    pg: &Path,
    bin: &dyn Fn(&str) -> std::path::PathBuf,
    serve: bool,
) -> Result<()> {
    println!("== PostgreSQL 15 (a throwaway cluster in {})", pg.display());
    let config = base.join("centre.toml");
    std::fs::write(
        &config,
        format!(
            "database = \"host={} user=vigil dbname=centre\"\nlisten = \"{CENTRE}\"\nstate_dir = \"{}\"\nname = \"centre.demo-agency/witness\"\nout_of_touch_s = 600\n",
            pg.display(),
            base.join("centre-state").display()
        ),
    )?;
    let centre = |args: &[&str]| -> Result<String> {
        let out = Command::new(bin("vigil-centre"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "vigil-centre {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    println!("\n== vigil-centre init: the schema, the witness key, the certificate");
    let init = centre(&["init"])?;
    print!("{init}");
    let field = |name: &str| {
        init.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .with_context(|| format!("init prints no {name}"))
    };
    let (witness, fingerprint) = (field("witness")?, field("fingerprint")?);
    let _centre = Killed(
        Command::new(bin("vigil-centre"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(base.join("centre.log"))?)
            .spawn()?,
    );
    let fx = root().join("fixtures/generated");
    let mut keep = Vec::new();
    let mut stations = Vec::new();
    for (n, (name, fixture, serial, officer)) in [
        (
            "vigil.demo-agency/station-1",
            "recorder-seq",
            "BWC201",
            "2001",
        ),
        (
            "vigil.demo-agency/station-2",
            "recorder-a",
            "BWC301",
            "3001",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = base.join(format!("station-{}", n + 1));
        let store = dir.join("store");
        let card = dir.join(serial);
        copy_dir(&fx.join(fixture), &card)?;
        std::fs::create_dir_all(dir.join("media"))?;
        let link = dir.join("dock");
        keep.push(Killed(
            Command::new(bin("dock-sim"))
                .arg("--link")
                .arg(&link)
                .args([
                    "--recorder",
                    &format!("{serial}:{officer}:{}", card.display()),
                ])
                .stderr(std::fs::File::create(dir.join("dock-sim.log"))?)
                .spawn()?,
        ));
        while !link.exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let vigil = |args: &[&str]| -> Result<String> {
            let out = Command::new(bin("vigil"))
                .env("VIGIL_STATION", name)
                .arg("--store")
                .arg(&store)
                .args(args)
                .output()?;
            anyhow::ensure!(
                out.status.success(),
                "vigil {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        vigil(&["dock", "enroll", link.to_str().context("utf-8")?])?;
        let key = vigil(&["checkpoint", "--key"])?.trim().to_owned();
        println!("\n== {name}: enrolled at the centre by its log key");
        print!("{}", centre(&["station", "add", name, "--key", &key])?);
        let cfg = dir.join("vigild.toml");
        std::fs::write(
            &cfg,
            format!(
                "station = \"{name}\"\ntimezone = \"Asia/Shanghai\"\nwatch = \"{}\"\ndocks = [\"{}\"]\nusb = false\nsocket = \"{}\"\ncentre_url = \"https://{CENTRE}\"\ncentre_fingerprint = \"{fingerprint}\"\ncentre_witness = \"{witness}\"\ncentre_every_s = 2\n",
                dir.join("media").display(),
                link.display(),
                dir.join("vigil.sock").display()
            ),
        )?;
        keep.push(Killed(
            Command::new(bin("vigild"))
                .arg("--store")
                .arg(&store)
                .arg("--config")
                .arg(&cfg)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("vigild.log"))?)
                .spawn()?,
        ));
        stations.push((name, dir, key));
    }
    println!("\n== Both stations empty their docks and send their logs to the centre");
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(1000));
        let mut all = true;
        let mut line = Vec::new();
        for (name, dir, _) in &stations {
            let out = Command::new(bin("vigil"))
                .arg("--socket")
                .arg(dir.join("vigil.sock"))
                .args(["centre", "--json"])
                .output()?;
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            let (size, applied) = (
                doc["log_size"].as_u64().unwrap_or(0),
                doc["outbox"]["applied"].as_u64().unwrap_or(0),
            );
            // Done once the dock's recorder is in and the centre holds it all.
            let clips = Command::new(bin("vigil"))
                .arg("--socket")
                .arg(dir.join("vigil.sock"))
                .args(["clips", "--json"])
                .output()?;
            let clips: serde_json::Value =
                serde_json::from_slice(&clips.stdout).unwrap_or_default();
            let n = clips["clips"].as_array().map_or(0, Vec::len);
            all &= n > 0 && applied >= size.saturating_sub(1) && size > 0;
            line.push(format!(
                "{name}: {n} clips, log {size}, at the centre {applied}"
            ));
        }
        println!(
            "   [{:>4.1} s] {}",
            start.elapsed().as_secs_f64(),
            line.join(" | ")
        );
        if all {
            break;
        }
        if start.elapsed() > Duration::from_secs(180) {
            bail!(
                "the stations did not sync within 3 minutes; see {}",
                base.display()
            );
        }
    }
    println!("\n== The centre's board (vigil-centre station list)");
    print!("{}", centre(&["station", "list"])?);
    println!("\n== What the centre holds, by station (PostgreSQL)");
    let out = Command::new(pg_bin("psql")?)
        .args(["-X", "-h"])
        .arg(pg)
        .args([
            "-U", "vigil", "-d", "centre", "-c",
            "SELECT station, COUNT(*) AS clips, COUNT(*) FILTER (WHERE damaged) AS damaged, MIN(recorded_start) AS first FROM clips GROUP BY station ORDER BY station",
            "-c",
            "SELECT station, kind, status, COUNT(*) FROM gaps GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        ])
        .output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    let (name, dir, key) = &stations[0];
    println!("\n== {name}'s newest checkpoint cosigned by the centre's witness, checked offline");
    let kept = dir.join("cosigned.txt");
    let out = Command::new(bin("vigil"))
        .arg("--socket")
        .arg(dir.join("vigil.sock"))
        .args(["checkpoint", "--cosigned"])
        .output()?;
    std::fs::write(&kept, &out.stdout)?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    run(Command::new(bin("vigil"))
        .arg("--socket")
        .arg(dir.join("vigil.sock"))
        .args(["checkpoint", "verify"])
        .arg(&kept)
        .args(["--key", key, "--witness", &witness]))?;
    println!("\n== The agency's users: one login per role (vigil-centre user add)");
    let station_1: &str = stations[0].0;
    let logins: [(&str, &str, Option<&str>); 4] = [
        ("ana", "auditor", None),
        ("cai", "custodian", None),
        ("sam", "supervisor", Some(station_1)),
        ("wei", "officer", Some(station_1)),
    ];
    for (user, role, station) in logins {
        let mut add = Command::new(bin("vigil-centre"));
        add.arg("--config")
            .arg(&config)
            .args(["user", "add", user, "--role", role]);
        if let Some(s) = station {
            add.args(["--station", s]);
        }
        let mut child = add.stdin(Stdio::piped()).stdout(Stdio::null()).spawn()?;
        {
            use std::io::Write as _;
            writeln!(
                child.stdin.take().context("stdin")?,
                "{}",
                demo_password(user)
            )?;
        }
        anyhow::ensure!(child.wait()?.success(), "vigil-centre user add {user}");
        println!(
            "   {user:<4} {role:<10} {:<34} password: {}",
            station.unwrap_or("every station"),
            demo_password(user)
        );
    }
    println!("\n   centre:  https://{CENTRE} (certificate fingerprint {fingerprint})");
    println!(
        "   desk:    https://{CENTRE}/desk/ (recordings, interruptions, statistics, stations)"
    );
    println!(
        "   CLI:     vigil login --server https://{CENTRE} --fingerprint {fingerprint} --user ana"
    );
    println!("   witness: {witness}");
    for (name, dir, _) in &stations {
        println!(
            "   {name}: vigil --socket {} centre",
            dir.join("vigil.sock").display()
        );
    }
    if serve {
        println!("\nThe centre and both stations keep running; press Ctrl-C to stop them.");
        crate::wait_for_ctrl_c();
    }
    Ok(())
}

/// The demo's password for `user` (a demo only: printed on screen).
fn demo_password(user: &str) -> String {
    format!("demo password {user}")
}
