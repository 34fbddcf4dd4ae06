//! `cargo xtask bench-centre [--seconds S] [--checkpoints N]`: the agency
//! centre as a station and a witness client see it, release builds on this
//! machine, PostgreSQL 15 from Debian in a throwaway cluster
//! (`target/bench-centre/`):
//!
//! - a station's sync: a copy of `cargo xtask bench-scale`'s year of a
//!   200-officer station (2.25 M log entries; built first when missing)
//!   joins the centre and pushes its log (run `cargo xtask bench-scale`
//!   first); the entries the centre holds are
//!   counted each second for `--seconds` (default 60): entries a second,
//!   and the time until the station's first day (its first 1/365 of the
//!   log, about 6,000 entries of 2,700 clips) was at the centre, which is
//!   a day caught up after a day offline;
//! - the witness: `--checkpoints` (default 300) `add-checkpoint` requests
//!   of a growing log over one kept-alive TLS connection (curl `--next`),
//!   each with its consistency proof: the median and 95th percentile of
//!   the time curl measures per request.
//!
//! Results to stdout and `target/bench/centre.json`.
//!
//! `--queries-only [--stations N --clips N --gaps N]` measures the
//! agency's queries instead (default 50 stations, 10 M clips, 1 M
//! interruptions written straight into the centre's schema): recordings
//! list and search, one officer's interruptions, the month gap log, a
//! year's statistics; results to `target/bench/centre-queries.json`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::root;

#[allow(unsafe_code)] // geteuid(2) has no failure and touches no memory
fn is_root() -> bool {
    // SAFETY: geteuid takes no arguments and always succeeds.
    unsafe { libc::geteuid() == 0 }
}

pub(crate) fn pg_bin(name: &str) -> Result<PathBuf> {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    let v = versions.last().context("no PostgreSQL version")?;
    Ok(PathBuf::from(format!("/usr/lib/postgresql/{v}/bin/{name}")))
}

fn as_owner(program: &str) -> Result<Command> {
    Ok(if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(pg_bin(program)?);
        c
    } else {
        Command::new(pg_bin(program)?)
    })
}

/// Starts a cluster in `dir` (made afresh) with the database `centre`.
pub(crate) fn postgres(dir: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    if is_root() {
        crate::run(Command::new("chown").arg("postgres:postgres").arg(dir))?;
    }
    crate::run(
        as_owner("initdb")?
            .arg("-D")
            .arg(dir.join("data"))
            .args([
                "-A",
                "trust",
                "-U",
                "vigil",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .stdout(Stdio::null()),
    )?;
    crate::run(
        as_owner("pg_ctl")?
            .arg("-D")
            .arg(dir.join("data"))
            .arg("-l")
            .arg(dir.join("postgres.log"))
            .arg("-o")
            .arg(format!("-k {} -c listen_addresses=''", dir.display()))
            .args(["-w", "start"])
            .stdout(Stdio::null()),
    )?;
    crate::run(
        Command::new(pg_bin("psql")?)
            .args(["-X", "-q", "-h"])
            .arg(dir)
            .args([
                "-U",
                "vigil",
                "-d",
                "postgres",
                "-c",
                "CREATE DATABASE centre",
            ]),
    )
}

pub(crate) fn stop_postgres(dir: &Path) {
    if let Ok(mut c) = as_owner("pg_ctl") {
        let _ = c
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}

fn psql_count(pg: &Path, sql: &str) -> Result<i64> {
    let lines = psql_lines(pg, sql)?;
    let first = lines.first().map(String::as_str).unwrap_or_default();
    first
        .trim()
        .parse()
        .with_context(|| format!("{sql}: {first:?} is not a count"))
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (up to 20 s) until the centre listens on `port`.
fn listening(port: u16) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "the centre did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut checkpoints = 300u64;
    let mut shape = Agency {
        stations: 50,
        clips: 10_000_000,
        gaps: 1_000_000,
    };
    let mut only_queries = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || -> Result<u64> {
            it.next()
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("{a} needs a number"))
        };
        match a.as_str() {
            "--seconds" => seconds = value()?,
            "--checkpoints" => checkpoints = value()?,
            "--stations" => shape.stations = value()?,
            "--clips" => shape.clips = value()?,
            "--gaps" => shape.gaps = value()?,
            "--queries-only" => only_queries = true,
            other => bail!("bench-centre: unknown argument {other:?}"),
        }
    }
    crate::deps::install_packages(&["postgresql", "postgresql-contrib", "curl"])?;
    if only_queries {
        crate::run(crate::cargo().args(["build", "--release", "--quiet", "-p", "vigil-centre"]))?;
        let bin = |n: &str| root().join("target/release").join(n);
        let base = root().join("target/bench-centre");
        let pg = base.join("pg");
        postgres(&pg)?;
        let result = queries(&base, &pg, &bin, &shape);
        stop_postgres(&pg);
        return result;
    }
    let scale = root().join("target/bench-scale/store");
    if !scale.join("vigil.db").exists() {
        bail!(
            "no year's station to sync: run `cargo xtask bench-scale` first (it builds one in {})",
            scale.display()
        );
    }
    crate::run(crate::cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "vigild",
        "-p",
        "vigil-cli",
        "-p",
        "vigil-centre",
    ]))?;
    let bin = |n: &str| root().join("target/release").join(n);
    let base = root().join("target/bench-centre");
    let pg = base.join("pg");
    postgres(&pg)?;
    let result = measure(&base, &pg, &scale, &bin, seconds, checkpoints);
    stop_postgres(&pg);
    result
}

fn measure(
    base: &Path,
    pg: &Path,
    scale: &Path,
    bin: &dyn Fn(&str) -> PathBuf,
    seconds: u64,
    checkpoints: u64,
) -> Result<()> {
    // The centre.
    let port = free_port()?;
    let config = base.join("centre.toml");
    std::fs::write(
        &config,
        format!(
            "database = \"host={} user=vigil dbname=centre\"\nlisten = \"127.0.0.1:{port}\"\nstate_dir = \"{}\"\nname = \"bench.centre/witness\"\n",
            pg.display(),
            base.join("state").display()
        ),
    )?;
    let _ = std::fs::remove_dir_all(base.join("state"));
    let init = Command::new(bin("vigil-centre"))
        .arg("--config")
        .arg(&config)
        .arg("init")
        .output()?;
    anyhow::ensure!(
        init.status.success(),
        "vigil-centre init: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let text = String::from_utf8_lossy(&init.stdout).into_owned();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .with_context(|| format!("init prints no {name}"))
    };
    let (witness, fingerprint) = (field("witness")?, field("fingerprint")?);
    let log = std::fs::File::create(base.join("centre.log"))?;
    let _centre = Killed(
        Command::new(bin("vigil-centre"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env("VIGIL_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?,
    );
    listening(port)?;

    // The witness first (its own synthetic log), then the station's sync.
    let witness_ms = witness_bench(base, &config, bin, port, checkpoints)?;

    // A copy of the year's station, joined to the centre.
    let station = base.join("station");
    let _ = std::fs::remove_dir_all(&station);
    std::fs::create_dir_all(&station)?;
    for f in [
        "VIGIL-STORE",
        "vigil.db",
        "audit.head",
        "checkpoint.key",
        "checkpoint.pub",
        "station.key",
    ] {
        std::fs::copy(scale.join(f), station.join(f)).with_context(|| format!("copying {f}"))?;
    }
    let size: i64 = rusqlite::Connection::open(station.join("vigil.db"))?.query_row(
        "SELECT COUNT(*) FROM audit",
        [],
        |r| r.get(0),
    )?;
    let key = Command::new(bin("vigil"))
        .arg("--store")
        .arg(&station)
        .args(["checkpoint", "--key"])
        .output()?;
    let key = String::from_utf8_lossy(&key.stdout).trim().to_owned();
    let name = key.split('+').next().unwrap_or_default().to_owned();
    let enrol = Command::new(bin("vigil-centre"))
        .arg("--config")
        .arg(&config)
        .args(["station", "add", &name, "--key", &key])
        .output()?;
    anyhow::ensure!(
        enrol.status.success(),
        "enrol: {}",
        String::from_utf8_lossy(&enrol.stderr)
    );
    let vcfg = base.join("vigild.toml");
    std::fs::write(
        &vcfg,
        format!(
            "docks = []\nusb = false\nwatch = \"{}\"\nsocket = \"\"\ncentre_url = \"https://127.0.0.1:{port}\"\ncentre_fingerprint = \"{fingerprint}\"\ncentre_witness = \"{witness}\"\ncentre_every_s = 1\n",
            base.join("media").display()
        ),
    )?;
    std::fs::create_dir_all(base.join("media"))?;
    let day = size / 365;
    let started = Instant::now();
    let _vigild = Killed(
        Command::new(bin("vigild"))
            .arg("--store")
            .arg(&station)
            .arg("--config")
            .arg(&vcfg)
            .env("VIGIL_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(base.join("vigild.log"))?)
            .spawn()?,
    );
    let mut samples: Vec<(f64, i64)> = Vec::new();
    let mut day_s = None;
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(250));
        let n = psql_count(pg, "SELECT COUNT(*) FROM entries")?;
        let t = started.elapsed().as_secs_f64();
        if day_s.is_none() && n >= day {
            day_s = Some(t);
        }
        samples.push((t, n));
        if n >= size {
            break;
        }
    }
    let first = samples
        .iter()
        .find(|(_, n)| *n > 0)
        .copied()
        .unwrap_or((0.0, 0));
    let last = samples.last().copied().unwrap_or((0.0, 0));
    let rate = (last.1 - first.1) as f64 / (last.0 - first.0).max(0.001);
    let doc = serde_json::json!({
        "machine": "2 cores, 24 GiB; PostgreSQL 15 (fsync on) and the station on the same machine",
        "station_log_entries": size,
        "sync_entries_per_s": rate.round(),
        "sync_goal_entries_per_s": 5000,
        "entries_at_centre_after_s": [last.0, last.1],
        "first_day_entries": day,
        "first_day_at_centre_s": day_s,
        "first_day_goal_s": 60,
        "witness_add_checkpoint_ms": witness_ms,
        "witness_goal_median_ms": 5.0,
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("centre.json"), serde_json::to_string_pretty(&doc)?)?;
    Ok(())
}

/// `n` add-checkpoint requests of a growing synthetic log over one TLS
/// connection; returns median and p95 in ms.
fn witness_bench(
    base: &Path,
    config: &Path,
    bin: &dyn Fn(&str) -> PathBuf,
    port: u16,
    n: u64,
) -> Result<serde_json::Value> {
    use vigil_tlog::note::{Checkpoint, Signer};
    use vigil_tlog::witness::AddCheckpoint;
    let log = Signer::generate("bench.station/witnessed")?;
    let enrol = Command::new(bin("vigil-centre"))
        .arg("--config")
        .arg(config)
        .args([
            "station",
            "add",
            "bench.station/witnessed",
            "--key",
            &log.verifier().to_key_string(),
        ])
        .output()?;
    anyhow::ensure!(
        enrol.status.success(),
        "enrol: {}",
        String::from_utf8_lossy(&enrol.stderr)
    );
    let leaves: Vec<vigil_tlog::Hash> = (0..n * 10 + 10)
        .map(|i| vigil_tlog::leaf_hash(&i.to_le_bytes()))
        .collect();
    let dir = base.join("witness");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let url = format!("https://127.0.0.1:{port}/add-checkpoint");
    let mut curl = Command::new("curl");
    curl.args([
        "-sk",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{time_total}\\n",
    ]);
    let mut old = 0u64;
    for i in 0..n {
        let size = (i + 1) * 10;
        let body = AddCheckpoint {
            old,
            proof: vigil_tlog::consistency_proof(&leaves[..], old, size)?,
            checkpoint: Checkpoint {
                origin: "bench.station/witnessed".into(),
                size,
                root: vigil_tlog::root(&leaves[..], size),
            }
            .sign(&log)?,
        }
        .to_body();
        let file = dir.join(format!("{i}.txt"));
        std::fs::write(&file, body)?;
        if i > 0 {
            curl.arg("--next").args([
                "-sk",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{time_total}\\n",
            ]);
        }
        curl.arg("--data-binary")
            .arg(format!("@{}", file.display()))
            .arg(&url);
        old = size;
    }
    let out = curl.output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut ms: Vec<f64> = Vec::new();
    for line in text.lines() {
        let (code, t) = line.split_once(' ').context("curl's line")?;
        anyhow::ensure!(code == "200", "add-checkpoint answered {code}");
        ms.push(t.parse::<f64>()? * 1000.0);
    }
    anyhow::ensure!(ms.len() as u64 == n, "{} answers of {n}", ms.len());
    // The first request carries the TLS handshake.
    let first = ms.remove(0);
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    Ok(serde_json::json!({
        "requests": n, "median": (at(0.5) * 100.0).round() / 100.0, "p95": (at(0.95) * 100.0).round() / 100.0,
        "first_with_tls_handshake": (first * 100.0).round() / 100.0,
    }))
}

/// The agency the query benchmark fills PostgreSQL with.
#[derive(Debug, Clone, Copy)]
struct Agency {
    stations: u64,
    clips: u64,
    gaps: u64,
}

/// The rows `sql` answers, one line each.
fn psql_lines(pg: &Path, sql: &str) -> Result<Vec<String>> {
    let out = Command::new(pg_bin("psql")?)
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(pg)
        .args(["-U", "vigil", "-d", "centre", "-c", sql])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

fn psql(pg: &Path, sql: &str) -> Result<()> {
    psql_lines(pg, sql).map(drop)
}

/// The agency's queries, as its users see them over TLS: an agency of
/// `shape` (a year of recordings, a tenth of the clips tagged with a
/// site in Chinese and a case, nine in ten interruptions explained)
/// written straight into the centre's schema by SQL (the stations' sync
/// is measured above), then each query's median of 5 after a warm-up.
fn queries(base: &Path, pg: &Path, bin: &dyn Fn(&str) -> PathBuf, shape: &Agency) -> Result<()> {
    let port = free_port()?;
    let config = base.join("centre-q.toml");
    let _ = std::fs::remove_dir_all(base.join("state-q"));
    std::fs::write(
        &config,
        format!(
            "database = \"host={} user=vigil dbname=centre\"\nlisten = \"127.0.0.1:{port}\"\nstate_dir = \"{}\"\nname = \"bench.centre/witness\"\ntimezone = \"Asia/Shanghai\"\n",
            pg.display(),
            base.join("state-q").display()
        ),
    )?;
    let init = Command::new(bin("vigil-centre"))
        .arg("--config")
        .arg(&config)
        .arg("init")
        .output()?;
    anyhow::ensure!(
        init.status.success(),
        "init: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let t = Instant::now();
    let (s, n, g) = (shape.stations, shape.clips, shape.gaps);
    println!("filling the centre: {s} stations, {n} clips, {g} interruptions");
    psql(pg, &format!(
        "INSERT INTO stations (name, key, enrolled_by) SELECT 'bench/station-' || i, 'bench/station-' || i || '+00000000+AA', 'bench' FROM generate_series(0, {s} - 1) i;
         INSERT INTO logs (station) SELECT name FROM stations;"
    ))?;
    // The words' GIN indexes are built once after the fill, as a bulk
    // load does, not kept row by row: their definitions as the schema
    // made them.
    let gin = psql_lines(
        pg,
        "SELECT indexname || ' ' || indexdef FROM pg_indexes
         WHERE tablename IN ('clips', 'gaps') AND indexdef LIKE '%USING gin%'",
    )?;
    for line in &gin {
        let name = line.split(' ').next().unwrap_or_default();
        psql(pg, &format!("DROP INDEX {name}"))?;
    }
    psql(pg, &format!(
        "INSERT INTO clips (station, id, path, officer, device, kind, recorded_start, recorded_end, duration_s, damaged,
                            blake3, sha256, bytes, ingested_at, confidential, data, seq)
         SELECT 'bench/station-' || (i % {s}), 'c' || i, p, o, d, 'video', t, t + interval '10 minutes', 600, false,
                md5(i::text) || md5(i::text), md5(i::text) || md5((i + 1)::text), 104857600, t + interval '2 hours', NULL,
                jsonb_build_object('clip', 'c' || i, 'path', p, 'officer', o, 'device', d, 'kind', 'video',
                    'recorded_start', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    'duration_s', 600, 'damaged', false,
                    'tag', CASE WHEN i % 10 = 0 THEN jsonb_build_object('site', '码头' || (i / 10 % 1000) || '号仓库', 'case', 'C-' || (i / 10 % 100000),
                        'note', 'stopped a van near gate ' || (i / 10 % 50000)) END),
                i
         FROM generate_series(1, {n}) i,
              LATERAL (SELECT timestamptz '2026-01-01 00:00+08' + (i::float8 / {n}) * interval '365 days' AS t,
                              'DCIM/100MEDIA/REC_' || lpad((i % 10000)::text, 4, '0') || '.MP4' AS p,
                              (10000 + i % ({s} * 40))::text AS o,
                              'BWC' || (i % ({s} * 40)) AS d) x"
    ))?;
    psql(pg, &format!(
        "INSERT INTO gaps (station, id, clip, kind, officer, device, wall_start, duration_s, status, detected_at, explained_at, data, seq)
         SELECT 'bench/station-' || (c % {s}), 'g' || i, 'c' || c, k, o, d, t, 30, st, t + interval '2 hours',
                CASE WHEN st = 'explained' THEN t + interval '26 hours' END,
                jsonb_build_object('id', 'g' || i, 'clip', 'c' || c, 'kind', k, 'officer', o, 'device', d,
                    'path', 'DCIM/100MEDIA/REC_' || lpad((c % 10000)::text, 4, '0') || '.MP4',
                    'wall_start', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    'duration_s', 30, 'status', st,
                    'explanation', CASE WHEN st = 'explained' THEN jsonb_build_object('kind', 'written', 'text', '更换电池，记录中断',
                        'created_at', to_char((t + interval '26 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) END),
                i
         FROM generate_series(1, {g}) i,
              LATERAL (SELECT (i * ({n} / {g}))::bigint AS c) y,
              LATERAL (SELECT timestamptz '2026-01-01 00:00+08' + (c::float8 / {n}) * interval '365 days' AS t,
                              (10000 + c % ({s} * 40))::text AS o, 'BWC' || (c % ({s} * 40)) AS d,
                              CASE WHEN i % 3 = 0 THEN 'missing_file' ELSE 'between_clips' END AS k,
                              CASE WHEN i % 10 = 0 THEN 'open' ELSE 'explained' END AS st) x"
    ))?;
    for line in &gin {
        let def = line.split_once(' ').map(|x| x.1).unwrap_or_default();
        psql(pg, def)?;
    }
    // Each recorder's last docking, as its station's log holds it.
    psql(
        pg,
        &format!(
            "INSERT INTO entries (station, seq, at, actor, action, subject, detail)
         SELECT 'bench/station-' || (d % {s}), 1000000000 + d, timestamptz '2026-12-31 08:00+08',
                'vigild', 'device.docked', 'BWC' || d,
                json_build_object('dock', 'DOCK-1', 'slot', 0, 'device', 'BWC' || d,
                    'officer', (10000 + d)::text, 'drift_ms', d % 5000, 'battery_pct', 80,
                    'storage_free', 0, 'faults', '[]'::json)::text
         FROM generate_series(0, {s} * 40 - 1) d"
        ),
    )?;
    // Each officer named at their station (registered, then renamed once:
    // the newest name counts), so every page that shows officers reads
    // their names from the log as it would at an agency.
    psql(
        pg,
        &format!(
            "INSERT INTO entries (station, seq, at, actor, action, subject, detail)
         SELECT 'bench/station-' || (o % {s}), 1100000000 + o * 2 + r, timestamptz '2026-01-01 08:00+08' + r * interval '1 day',
                'admin', 'officer.registered', (10000 + o)::text,
                json_build_object('name', CASE WHEN r = 0 THEN '警员' ELSE '民警' END || o, 'unit', NULL)::text
         FROM generate_series(0, {s} * 40 - 1) o, generate_series(0, 1) r"
        ),
    )?;
    // As autovacuum leaves a table after inserts (PostgreSQL 13's insert
    // threshold): the visibility map set, so covering indexes are read
    // without the table.
    psql(pg, "VACUUM ANALYZE")?;
    let filled_s = t.elapsed().as_secs_f64();
    println!("filled in {filled_s:.0} s");
    let mut child = Command::new(bin("vigil-centre"))
        .arg("--config")
        .arg(&config)
        .args(["user", "add", "bench", "--role", "auditor"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    {
        use std::io::Write as _;
        writeln!(
            child.stdin.take().context("stdin")?,
            "bench centre password"
        )?;
    }
    anyhow::ensure!(child.wait()?.success(), "user add");
    let _centre = Killed(
        Command::new(bin("vigil-centre"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env("VIGIL_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(base.join("centre-q.log"))?)
            .spawn()?,
    );
    listening(port)?;
    let url = format!("https://127.0.0.1:{port}");
    let login = Command::new("curl")
        .args([
            "-sk",
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"user":"bench","password":"bench centre password"}"#,
        ])
        .arg(format!("{url}/api/v1/login"))
        .output()?;
    let doc: serde_json::Value =
        serde_json::from_slice(&login.stdout).context("the login's answer")?;
    let token = doc["token"].as_str().context("a token")?.to_owned();
    let jar = base.join("bench-q.cookies");
    std::fs::write(
        &jar,
        format!("127.0.0.1\tFALSE\t/desk\tTRUE\t0\tvigil_centre\t{token}\n"),
    )?;
    // An officer with interruptions (they fall on every tenth clip).
    let officer = format!("{}", 10000 + 100);
    let probes: Vec<(&str, String, f64)> = vec![
        (
            "recordings list, newest (API, up to 5,000 rows)",
            format!("{url}/api/v1/clips"),
            200.0,
        ),
        (
            "search a site in Chinese (码头37号仓库)",
            format!("{url}/api/v1/clips?search=%E7%A0%81%E5%A4%B437%E5%8F%B7%E4%BB%93%E5%BA%93"),
            200.0,
        ),
        (
            "search a case number (C-12345)",
            format!("{url}/api/v1/clips?search=C-12345"),
            200.0,
        ),
        (
            "search English words by their stems (gates 4711 stopping)",
            format!("{url}/api/v1/clips?search=gates%204711%20stopping"),
            200.0,
        ),
        (
            "search a common English word (van: in every tenth recording's note)",
            format!("{url}/api/v1/clips?search=van"),
            200.0,
        ),
        (
            "search a common English word (desk page, 200 rows)",
            format!("{url}/desk/clips?search=van"),
            200.0,
        ),
        (
            "an auditor's home: explanations to review, interruptions overdue (desk page)",
            format!("{url}/desk/"),
            200.0,
        ),
        (
            "one officer's interruptions",
            format!("{url}/api/v1/gaps?officer={officer}"),
            200.0,
        ),
        (
            "one officer's open interruptions",
            format!("{url}/api/v1/gaps?officer={officer}&open=true"),
            200.0,
        ),
        (
            "the agency's month gap log (desk page, not yet explained)",
            format!("{url}/desk/gaps?month=2026-06&open=1"),
            1000.0,
        ),
        (
            "the agency's month gap log (desk page, all)",
            format!("{url}/desk/gaps?month=2026-06"),
            1000.0,
        ),
        (
            "a year's statistics, the agency (API, JSON)",
            format!("{url}/api/v1/reports/stats?since=2026-01-01T00:00:00%2B08:00&until=2027-01-01T00:00:00%2B08:00&format=json"),
            2000.0,
        ),
        (
            "a year's statistics, the agency (desk page)",
            format!("{url}/desk/stats?period=2026"),
            2000.0,
        ),
        (
            "a year's statistics, one station (desk page)",
            format!("{url}/desk/stats?period=2026&station=bench/station-7"),
            2000.0,
        ),
        (
            "a day's ingest report, the agency (API, JSON)",
            format!("{url}/api/v1/reports/ingest?since=2026-06-15T00:00:00%2B08:00&until=2026-06-16T00:00:00%2B08:00&format=json"),
            1000.0,
        ),
        (
            "a month's ingest report, one station (desk page)",
            format!("{url}/desk/ingest?period=2026-06&station=bench/station-7"),
            1000.0,
        ),
        (
            "the agency's audit trail, one station (desk page, 200 entries)",
            format!("{url}/desk/audit?station=bench/station-7"),
            200.0,
        ),
    ];
    let mut figures = Vec::new();
    for (what, u, goal) in probes {
        let mut ms = Vec::new();
        let mut bytes = 0u64;
        for i in 0..6 {
            let out = Command::new("curl")
                .args([
                    "-sk",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code} %{time_total} %{size_download}",
                    "-H",
                ])
                .arg(format!("authorization: Bearer {token}"))
                .arg("-b")
                .arg(&jar)
                .arg(&u)
                .output()?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut it = text.split_whitespace();
            let code = it.next().unwrap_or("?");
            anyhow::ensure!(code == "200", "{what}: HTTP {code}");
            let t: f64 = it.next().unwrap_or("0").parse()?;
            bytes = it.next().unwrap_or("0").parse()?;
            if i > 0 {
                ms.push(t * 1000.0);
            }
        }
        ms.sort_by(f64::total_cmp);
        let median = ms[ms.len() / 2];
        println!("{what}: median {median:.1} ms ({bytes} bytes; goal {goal} ms)");
        figures.push(serde_json::json!({"what": what, "median_ms": (median * 10.0).round() / 10.0, "bytes": bytes, "goal_ms": goal}));
    }
    // The common word's page, found among the newest recordings first, is
    // the newest of all its matches.
    let out = Command::new("curl")
        .args(["-sk", "-H"])
        .arg(format!("authorization: Bearer {token}"))
        .arg(format!("{url}/api/v1/clips?search=van"))
        .output()?;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).context("search=van")?;
    let got: Vec<String> = doc["clips"]
        .as_array()
        .context("clips")?
        .iter()
        .map(|c| {
            format!(
                "{}|{}",
                c["station"].as_str().unwrap_or(""),
                c["clip"].as_str().unwrap_or("")
            )
        })
        .collect();
    let want = psql_lines(
        pg,
        &format!(
            "SELECT c.station || '|' || c.id FROM clips c
             WHERE c.words ILIKE '%van%' OR to_tsvector('english', c.words) @@ websearch_to_tsquery('english', 'van')
                OR EXISTS (SELECT 1 FROM gaps g WHERE g.station = c.station AND g.clip = c.id
                           AND ((g.data #>> '{{explanation,text}}') ILIKE '%van%'
                                OR to_tsvector('english', COALESCE(g.data #>> '{{explanation,text}}', ''))
                                   @@ websearch_to_tsquery('english', 'van')))
             ORDER BY c.ingested_at DESC, c.station, c.id LIMIT {}",
            got.len() + 1
        ),
    )?;
    anyhow::ensure!(
        got[..] == want[..want.len().min(got.len())] && doc["more"] == (want.len() > got.len()),
        "search=van: the centre's page is not the newest {} matches",
        got.len()
    );
    println!("search=van: its {} rows are the newest matches", got.len());
    // The month gap log that shows fewer than matched says how many did.
    let out = Command::new("curl")
        .args(["-sk", "-H", "accept-language: en", "-b"])
        .arg(&jar)
        .arg(format!("{url}/desk/gaps?month=2026-06"))
        .output()?;
    let page = String::from_utf8_lossy(&out.stdout);
    let want = psql_count(
        pg,
        "SELECT COUNT(*) FROM gaps
         WHERE COALESCE(wall_start, detected_at) >= '2026-06-01'::timestamp AT TIME ZONE 'Asia/Shanghai'
           AND COALESCE(wall_start, detected_at) < '2026-07-01'::timestamp AT TIME ZONE 'Asia/Shanghai'",
    )?;
    let said = format!(" of {want} interruptions shown");
    // The desk's lists show at most 5,000 rows (the centre's MAX_ROWS).
    let told = want <= 5000 || page.contains(&said);
    anyhow::ensure!(told, "the month gap log does not say{said}");
    println!("the month gap log: {want} matched, and the page says so when it shows fewer");
    anyhow::ensure!(
        page.contains("民警") && !page.contains("警员"),
        "the month gap log does not name the officers by their newest names"
    );
    let doc = serde_json::json!({
        "machine": "2 cores, 24 GiB; PostgreSQL 15 and vigil-centre (release) on the same machine, over TLS with curl",
        "stations": s, "clips": n, "interruptions": g, "filled_s": filled_s.round(),
        "queries": figures,
    });
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("centre-queries.json"),
        serde_json::to_string_pretty(&doc)?,
    )?;
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}
