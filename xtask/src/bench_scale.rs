//! `cargo xtask bench-scale [--clips N] [--gaps N] [--officers N] [--fresh]`:
//! the desk and the reports at agency scale. Builds an index of
//! a year of a 200-officer agency (default 1,000,000 clips, 100,000
//! interruptions) through the store's own API, then starts `vigild`
//! (release) on it and measures, as its clients see them:
//!
//! - the desk's pages over TLS (home queues of each role, the first page of
//!   every list and filter, a clip's page);
//! - the printable reports: a day's ingest report, a month's gap log, a
//!   year's statistics;
//! - `vigil gaps --open --json` and `vigil overdue --json` on the socket;
//! - `vigil export` of one recording (its custody trail out of the log);
//! - vigild's peak RSS (VmHWM), and the CPU it spends idle over 5 s.
//!
//! The index is built once and kept in `target/bench-scale/` (`--fresh`
//! builds it again). Its clock is the year's: the builder runs under
//! libfaketime, moved from day to day, so every ingest, interruption,
//! explanation and review is stamped by the store itself at its time, as on
//! a station. The clips' objects are indexed, not written (a year of
//! footage is ~200 TB); one real recording is stored for the clip page.
//! Each figure is the median of 5 requests after one warm-up. Results to
//! stdout and `target/bench/scale.json`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use vigil_store::{
    ClipGap, ClipKind, ClipStatus, Digests, GapFilter, GapKind, NewClip, NewExplanation, Store,
};

use crate::root;

/// The builder's version: a kept index built by another is built again.
const BUILD: &str = "scale-v1";
const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const DAYS: i64 = 365;
const UNITS: &[&str] = &[
    "一大队",
    "二大队",
    "三大队",
    "四大队",
    "五大队",
    "六大队",
    "七大队",
    "八大队",
    "九大队",
    "十大队",
];
const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "军", "杰", "勇", "艳", "涛", "明", "超", "霞",
    "平", "刚", "桂英", "建华",
];
const PASSWORD: &str = "bench-scale-password";

struct Shape {
    clips: u64,
    gaps: u64,
    officers: u64,
}

pub fn run(args: &[String]) -> Result<()> {
    let mut shape = Shape {
        clips: 1_000_000,
        gaps: 100_000,
        officers: 200,
    };
    let mut fresh = false;
    let mut generate: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |flag: &str| -> Result<u64> {
            Ok(it.next().with_context(|| format!("{flag} N"))?.parse()?)
        };
        match a.as_str() {
            "--clips" => shape.clips = num("--clips")?,
            "--gaps" => shape.gaps = num("--gaps")?,
            "--officers" => shape.officers = num("--officers")?,
            "--fresh" => fresh = true,
            "--generate" => generate = Some(it.next().context("--generate DIR")?.into()),
            other => bail!("unknown option {other}"),
        }
    }
    anyhow::ensure!(
        shape.officers >= 2 && shape.clips >= DAYS as u64 * shape.officers && shape.gaps <= shape.clips,
        "need at least 2 officers, a clip per officer and day, and no more interruptions than clips"
    );
    if let Some(dir) = generate {
        return build(&dir, &shape);
    }
    let base = root().join("target/bench-scale");
    let tag = format!("{BUILD}-{}-{}-{}", shape.clips, shape.gaps, shape.officers);
    let store = base.join("store");
    if fresh || std::fs::read_to_string(base.join("built")).ok().as_deref() != Some(tag.as_str()) {
        crate::deps::ensure()?;
        crate::fixtures()?;
        if !Path::new(FAKETIME).exists() {
            apt(&["libfaketime"])?;
        }
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base)?;
        println!(
            "building the index: {} clips, {} interruptions, {} officers over {DAYS} days (kept in {})",
            shape.clips,
            shape.gaps,
            shape.officers,
            base.display()
        );
        let t = Instant::now();
        let clock = base.join("clock");
        std::fs::write(&clock, "@2025-01-01 00:00:00\n")?;
        let st = Command::new(std::env::current_exe()?)
            .args(["bench-scale", "--generate"])
            .arg(&store)
            .args([
                "--clips",
                &shape.clips.to_string(),
                "--gaps",
                &shape.gaps.to_string(),
            ])
            .args(["--officers", &shape.officers.to_string()])
            .env("LD_PRELOAD", FAKETIME)
            .env("FAKETIME_TIMESTAMP_FILE", &clock)
            .env("FAKETIME_NO_CACHE", "1")
            .env("VIGIL_BENCH_CLOCK", &clock)
            .env(
                "VIGIL_BENCH_TODAY",
                time::OffsetDateTime::now_utc().date().to_string(),
            )
            .env("VIGIL_STATION", "vigil.bench-agency/station-1")
            .status()?;
        anyhow::ensure!(st.success(), "building the index failed: {st}");
        println!("built in {:.0} s", t.elapsed().as_secs_f64());
        std::fs::write(base.join("built"), &tag)?;
    }
    measure(&base, &store, &shape)
}

fn apt(pkgs: &[&str]) -> Result<()> {
    let st = Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(pkgs)
        .status()?;
    anyhow::ensure!(st.success(), "apt-get install {pkgs:?} failed");
    Ok(())
}

/// A small deterministic generator (xorshift64*): the same index every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn officer(i: u64) -> String {
    format!("P{:04}", i + 1)
}

fn user(i: u64) -> String {
    format!("p{:04}", i + 1)
}

/// The first day of the year built (UTC midnight, the station's 08:00):
/// a year back from the real today, which the parent passes to the builder
/// (whose own clock is faked) in `VIGIL_BENCH_TODAY`.
fn year_start() -> Result<time::OffsetDateTime> {
    let today = match std::env::var("VIGIL_BENCH_TODAY") {
        Ok(d) => time::Date::parse(
            &d,
            time::macros::format_description!("[year]-[month]-[day]"),
        )?,
        Err(_) => time::OffsetDateTime::now_utc().date(),
    };
    Ok((today - time::Duration::days(DAYS)).midnight().assume_utc())
}

fn ts(t: time::OffsetDateTime) -> String {
    vigil_store::rfc3339(t)
}

/// Moves the builder's clock (libfaketime reads the file at every call).
fn set_clock(t: time::OffsetDateTime) -> Result<()> {
    let file = std::env::var_os("VIGIL_BENCH_CLOCK").context("run by bench-scale")?;
    let f = time::macros::format_description!("@[year]-[month]-[day] [hour]:[minute]:[second]");
    std::fs::write(file, format!("{}\n", t.format(&f)?))?;
    Ok(())
}

/// The builder, run under libfaketime in its own process.
fn build(dir: &Path, shape: &Shape) -> Result<()> {
    const ACTOR: &str = "bench";
    let t0 = year_start()?;
    set_clock(t0 - time::Duration::hours(1))?;
    let mut store = Store::open(dir)?;
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for i in 0..shape.officers {
        let name = format!(
            "{}{}",
            SURNAMES[(i % SURNAMES.len() as u64) as usize],
            GIVEN[((i / SURNAMES.len() as u64) % GIVEN.len() as u64) as usize]
        );
        store.people_mut().upsert_officer(
            ACTOR,
            &vigil_store::people::Officer {
                id: officer(i),
                name: Some(name),
                unit: Some(UNITS[(i % UNITS.len() as u64) as usize].to_owned()),
            },
        )?;
        let serial = format!("BWC{:04}", i + 1);
        store
            .people_mut()
            .register_device(ACTOR, &serial, Some("DSJ-V9"))?;
        store.people_mut().bind(
            ACTOR,
            &serial,
            &officer(i),
            &ts(t0 - time::Duration::days(1)),
        )?;
        let u = vigil_store::people::User {
            name: user(i),
            role: "officer".into(),
            unix_user: None,
            officer: Some(officer(i)),
            created_at: String::new(),
            email: None,
        };
        store.people_mut().add_user(ACTOR, &u)?;
    }
    for (name, role) in [
        ("sup1", "supervisor"),
        ("cust1", "custodian"),
        ("aud1", "auditor"),
    ] {
        let u = vigil_store::people::User {
            name: name.into(),
            role: role.into(),
            unix_user: None,
            officer: None,
            created_at: String::new(),
            email: None,
        };
        store.people_mut().add_user(ACTOR, &u)?;
    }
    let per_day = shape.clips / DAYS as u64;
    let extra = shape.clips % DAYS as u64;
    let gap_every = (shape.clips / shape.gaps.max(1)).max(1);
    let mut n: u64 = 0;
    let mut gaps_made = 0u64;
    for day in 0..DAYS {
        let d0 = t0 + time::Duration::days(day);
        let count = per_day + u64::from((day as u64) < extra);
        let mut batch = Vec::with_capacity(count as usize);
        for k in 0..count {
            let o = k % shape.officers;
            let slot = k / shape.officers;
            // Shifts from the station's 08:30: 15-minute clips a minute apart.
            let mut start = d0 + time::Duration::minutes(30 + 16 * slot as i64);
            // One in a hundred was recorded two days before it was docked (R1).
            if rng.below(100) == 0 {
                start -= time::Duration::days(2);
            }
            let duration = 900.0;
            let end = start + time::Duration::seconds(900);
            let with_gap = n.is_multiple_of(gap_every) && gaps_made < shape.gaps;
            gaps_made += u64::from(with_gap);
            let damaged = rng.below(500) == 0;
            let content = format!("vigil bench-scale clip {n}");
            let path = format!("DCIM/100BWC/{}_{:04}.MP4", officer(o), n % 10_000);
            batch.push(NewClip {
                path: path.clone().into_bytes(),
                path_display: path,
                device: Some(format!("BWC{:04}", o + 1)),
                officer: Some(officer(o)),
                digests: Digests {
                    blake3: blake3::hash(content.as_bytes()).to_hex().to_string(),
                    sha256: format!("{:064x}", n),
                    bytes: 180_000_000 + rng.below(40_000_000),
                },
                kind: ClipKind::Video,
                recorded_start: Some(ts(start)),
                recorded_end: Some(ts(end)),
                time_source: Some("container".into()),
                source_mtime: Some(ts(end)),
                status: if damaged {
                    ClipStatus::Damaged("moov atom missing (recording cut off)".into())
                } else {
                    ClipStatus::Ok
                },
                duration_s: Some(duration),
                video_start_s: Some(0.0),
                audio_start_s: Some(0.0),
                dropped_frames: Some(0),
                seq: Some((n % 10_000) as i64),
                analysis: None,
                min_gap_s: Some(2.0),
                gaps: if with_gap {
                    vec![ClipGap {
                        kind: GapKind::WithinClip,
                        stream: "video".into(),
                        offset_s: 120.0 + rng.below(600) as f64,
                        duration_s: 2.5 + rng.below(300) as f64 / 10.0,
                    }]
                } else {
                    Vec::new()
                },
            });
            n += 1;
        }
        // Docked at the end of the shift (the station's 18:00), in batches
        // as an ingest of many recorders commits them.
        set_clock(d0 + time::Duration::hours(10))?;
        let mut ids = Vec::with_capacity(batch.len());
        for chunk in batch.chunks(1000) {
            for r in store.recordings_mut().record_clips(ACTOR, None, chunk)? {
                ids.push(r.id);
            }
        }
        // Tagged by the next morning, in groups of 20 recordings, except the
        // last two days' and one in fifty.
        set_clock(d0 + time::Duration::hours(25))?;
        if day < DAYS - 2 {
            let keep: Vec<String> = ids
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 50 != 7)
                .map(|(_, id)| id.clone())
                .collect();
            for (g, chunk) in keep.chunks(20).enumerate() {
                store.custody_mut().tag(
                    ACTOR,
                    chunk,
                    &vigil_store::tags::Tag {
                        site: Some(format!("辖区 {}", (day as usize * 7 + g) % 120)),
                        case: (g % 9 == 0).then(|| format!("A{:03}-{:04}", day, g)),
                        category: Some(["巡逻", "执法检查", "交通", "纠纷调解"][g % 4].into()),
                        note: None,
                    },
                )?;
            }
        }
        // Explained in the following days, except the last three days' and
        // eight in a hundred; a supervisor reviews one in five.
        if day < DAYS - 3 {
            let gaps = store.gap_log().gaps(&GapFilter {
                ingested: Some((ts(d0), ts(d0 + time::Duration::days(1)))),
                ..Default::default()
            })?;
            for (i, g) in gaps.iter().enumerate() {
                let j = (i as u64 * 37 + day as u64) % 100;
                let o = g.officer.clone().unwrap_or_default();
                let oi: u64 = o.trim_start_matches('P').parse::<u64>().unwrap_or(1) - 1;
                set_clock(d0 + time::Duration::hours(26) + time::Duration::seconds(i as i64))?;
                if j < 60 {
                    store.gap_log_mut().explain(
                        &user(oi),
                        &g.id,
                        &NewExplanation::Spoken {
                            clip: g.clip.clone(),
                            at_s: g.offset_s.unwrap_or(0.0) + g.duration_s + 1.0,
                            level_dbfs: -18.5,
                            by: o.clone(),
                        },
                    )?;
                } else if j < 92 {
                    let e = store.gap_log_mut().explain(
                        &user(oi),
                        &g.id,
                        &NewExplanation::Written {
                            text: "记录仪电量不足自动关机，更换电池后继续记录。".into(),
                            by: o.clone(),
                            user: user(oi),
                        },
                    )?;
                    let partner = (oi + 1) % shape.officers;
                    store.gap_log_mut().sign(
                        &user(partner),
                        &user(partner),
                        &officer(partner),
                        &e.id,
                    )?;
                } else {
                    continue;
                }
                if j.is_multiple_of(5) {
                    set_clock(d0 + time::Duration::hours(40) + time::Duration::seconds(i as i64))?;
                    let verdict = if j == 10 { "rejected" } else { "accepted" };
                    store
                        .gap_log_mut()
                        .review("sup1", "sup1", &g.id, verdict, None)?;
                }
            }
        }
        if day % 30 == 0 || day == DAYS - 1 {
            println!(
                "  day {:>3}/{DAYS}: {n} clips, {gaps_made} interruptions",
                day + 1
            );
        }
    }
    // One real recording, for the clip page, ingested this morning.
    set_clock(t0 + time::Duration::days(DAYS) + time::Duration::hours(1))?;
    let media = root().join("fixtures/generated/continuity/clean.mp4");
    if media.exists() {
        let stored = store
            .objects()
            .put(&mut std::fs::File::open(&media)?, &mut |_| {})?;
        let now = t0 + time::Duration::days(DAYS);
        store.recordings_mut().record_clip(
            ACTOR,
            None,
            &NewClip {
                path: b"DCIM/100BWC/REAL_0001.MP4".to_vec(),
                path_display: "DCIM/100BWC/REAL_0001.MP4".into(),
                device: Some("BWC0001".into()),
                officer: Some(officer(0)),
                digests: stored.digests,
                kind: ClipKind::Video,
                recorded_start: Some(ts(now)),
                recorded_end: Some(ts(now + time::Duration::seconds(10))),
                time_source: Some("container".into()),
                source_mtime: None,
                status: ClipStatus::Ok,
                duration_s: Some(10.0),
                video_start_s: Some(0.0),
                audio_start_s: Some(0.0),
                dropped_frames: Some(0),
                seq: Some(1),
                analysis: None,
                min_gap_s: Some(2.0),
                gaps: Vec::new(),
            },
        )?;
    }
    Ok(())
}

/// One measured request: its median, best and worst of 5 (after a warm-up).
#[derive(serde::Serialize)]
struct Figure {
    what: String,
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
    bytes: u64,
    goal_ms: Option<f64>,
}

fn stats(what: &str, mut samples: Vec<(f64, u64)>, goal_ms: Option<f64>) -> Figure {
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    Figure {
        what: what.into(),
        median_ms: samples[samples.len() / 2].0,
        min_ms: samples[0].0,
        max_ms: samples[samples.len() - 1].0,
        bytes: samples[0].1,
        goal_ms,
    }
}

/// The release vigild and vigil, built: (vigild, vigil).
pub(crate) fn release_binaries() -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    crate::run(crate::cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "vigild",
        "-p",
        "vigil-cli",
    ]))?;
    Ok((
        root().join("target/release/vigild"),
        root().join("target/release/vigil"),
    ))
}

/// Sets `user`'s desk password on `store` in-process (before vigild opens
/// it).
pub(crate) fn set_password(vigil: &Path, store: &Path, user: &str, password: &str) -> Result<()> {
    let mut child = Command::new(vigil)
        .arg("--store")
        .arg(store)
        .args(["user", "passwd", user])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    use std::io::Write as _;
    writeln!(child.stdin.take().context("stdin")?, "{password}")?;
    anyhow::ensure!(child.wait()?.success(), "vigil user passwd {user} failed");
    Ok(())
}

/// Logs `user` in at the desk on `listen`, its session cookie kept in
/// `jar`: the login page's pre-session token (login CSRF) first, then the
/// form.
pub(crate) fn desk_login(listen: &str, jar: &Path, user: &str, password: &str) -> Result<()> {
    let url = format!("https://{listen}/desk/login");
    let page = Command::new("curl")
        .args(["-sk", "-c"])
        .arg(jar)
        .arg(&url)
        .output()?;
    let page = String::from_utf8_lossy(&page.stdout).to_string();
    let token = page
        .split("name=\"login_token\" value=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let out = Command::new("curl")
        .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", "-b"])
        .arg(jar)
        .arg("-c")
        .arg(jar)
        .args([
            "-d",
            &format!("user={user}&password={password}&login_token={token}"),
        ])
        .arg(&url)
        .output()?;
    let code = String::from_utf8_lossy(&out.stdout).to_string();
    anyhow::ensure!(code == "303", "login of {user}: HTTP {code}");
    Ok(())
}

/// `s` percent-encoded for a query string.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[allow(unsafe_code)] // libc calls on our own processes; each block says why it holds
fn measure(base: &Path, store: &Path, shape: &Shape) -> Result<()> {
    let (vigild, vigil) = release_binaries()?;
    // Desk passwords (in-process, before vigild opens the store).
    for u in ["p0001", "p0002", "sup1", "cust1", "aud1"] {
        set_password(&vigil, store, u, PASSWORD)?;
    }
    let real_clip = first_clip(store)?;
    let socket = base.join("vigil.sock");
    let listen = "127.0.0.1:18443";
    let mut daemon = Command::new(&vigild)
        .arg("--store")
        .arg(store)
        .arg("--socket")
        .arg(&socket)
        .args(["--listen", listen, "--timezone", "Asia/Shanghai"])
        .stderr(std::fs::File::create(base.join("vigild.log"))?)
        .spawn()
        .context("starting vigild")?;
    let pid = daemon.id();
    let result = (|| -> Result<Vec<Figure>> {
        let t = Instant::now();
        while !socket.exists() || std::net::TcpStream::connect(listen).is_err() {
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(60),
                "vigild did not start; see {}",
                base.join("vigild.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut figures = Vec::new();
        let url = |p: &str| format!("https://{listen}{p}");
        let jar = |u: &str| base.join(format!("{u}.cookies"));
        for u in ["p0001", "sup1", "cust1", "aud1"] {
            desk_login(listen, &jar(u), u, PASSWORD)?;
        }
        // Server time: from the request sent (TLS up) to the last byte.
        let get = |u: &str, path: &str| -> Result<(f64, u64)> {
            let out = Command::new("curl")
                .args(["-sk", "-o", "/dev/null", "-b"])
                .arg(jar(u))
                .args([
                    "-w",
                    "%{http_code} %{time_appconnect} %{time_total} %{size_download}",
                ])
                .arg(url(path))
                .output()?;
            let w = String::from_utf8_lossy(&out.stdout).to_string();
            let f: Vec<&str> = w.split_whitespace().collect();
            anyhow::ensure!(f.len() == 4 && f[0] == "200", "GET {path} as {u}: {w}");
            let (a, b): (f64, f64) = (f[1].parse()?, f[2].parse()?);
            Ok(((b - a) * 1000.0, f[3].parse()?))
        };
        let measure = |what: &str, u: &str, path: &str, goal: Option<f64>| -> Result<Figure> {
            get(u, path)?;
            let samples = (0..5).map(|_| get(u, path)).collect::<Result<Vec<_>>>()?;
            let f = stats(what, samples, goal);
            println!(
                "  {:<44} {:>8.1} ms  (min {:.1}, max {:.1}; {} bytes){}",
                f.what,
                f.median_ms,
                f.min_ms,
                f.max_ms,
                f.bytes,
                match goal {
                    Some(g) if f.median_ms > g => format!("  OVER the {g} ms goal"),
                    _ => String::new(),
                }
            );
            Ok(f)
        };
        let zone = time::UtcOffset::from_hms(8, 0, 0)?;
        let today = time::OffsetDateTime::now_utc().to_offset(zone).date();
        let yesterday = today - time::Duration::days(1);
        let month = today - time::Duration::days(30);
        let year = today - time::Duration::days(365);
        let page = Some(200.0);
        println!("\ndesk pages and reports (vigild, release, TLS):");
        for (what, u, path, goal) in [
            ("home: officer's queues", "p0001", "/desk/".to_owned(), page),
            ("home: supervisor's queues", "sup1", "/desk/".into(), page),
            ("home: custodian's queues", "cust1", "/desk/".into(), page),
            ("home: auditor's queues", "aud1", "/desk/".into(), page),
            (
                "recordings, first page",
                "cust1",
                "/desk/clips".into(),
                page,
            ),
            (
                "recordings of one officer",
                "cust1",
                "/desk/clips?officer=P0107".into(),
                page,
            ),
            (
                "recordings of one recorder",
                "cust1",
                "/desk/clips?device=BWC0042".into(),
                page,
            ),
            (
                "recordings with an open interruption",
                "cust1",
                "/desk/clips?status=open".into(),
                page,
            ),
            (
                "recordings damaged",
                "cust1",
                "/desk/clips?status=damaged".into(),
                page,
            ),
            (
                "recordings ingested late",
                "cust1",
                "/desk/clips?status=late".into(),
                page,
            ),
            (
                "recordings untagged",
                "cust1",
                "/desk/clips?status=untagged".into(),
                page,
            ),
            (
                "recordings of one case",
                "cust1",
                "/desk/clips?case=A100-0009".into(),
                page,
            ),
            (
                "recordings of one day",
                "cust1",
                format!("/desk/clips?from={yesterday}&until={yesterday}"),
                page,
            ),
            (
                "recordings, page 200",
                "cust1",
                "/desk/clips?page=199".into(),
                page,
            ),
            (
                "search: an officer's number",
                "cust1",
                "/desk/clips?q=P0107".into(),
                page,
            ),
            (
                "search: an officer's name (Chinese)",
                "cust1",
                format!("/desk/clips?q={}", encode("张桂英")),
                page,
            ),
            (
                "search: a common surname (1 in 10 officers)",
                "cust1",
                format!("/desk/clips?q={}", encode("张")),
                page,
            ),
            (
                "search: a case number",
                "cust1",
                "/desk/clips?q=A100-0009".into(),
                page,
            ),
            (
                "search: explanation words (Chinese)",
                "cust1",
                format!("/desk/clips?q={}", encode("更换电池")),
                page,
            ),
            (
                "search: words found nowhere",
                "cust1",
                "/desk/clips?q=nothing-like-this".into(),
                page,
            ),
            (
                "a recording's page",
                "cust1",
                format!("/desk/clips/{real_clip}"),
                page,
            ),
            ("reports page", "cust1", "/desk/reports".into(), page),
            (
                "ingest report, one day",
                "cust1",
                format!("/desk/reports/view?kind=ingest&from={yesterday}&until={yesterday}"),
                page,
            ),
            (
                "gap log, one month",
                "aud1",
                format!("/desk/reports/view?kind=gaps&from={month}&until={yesterday}"),
                None,
            ),
            (
                "statistics, one year",
                "aud1",
                format!("/desk/reports/view?kind=stats&from={year}&until={yesterday}"),
                Some(2000.0),
            ),
        ] {
            figures.push(measure(what, u, &path, goal)?);
        }
        // `vigil` on vigild's socket: its standard output, or what it said
        // when it failed.
        let cli = |args: &[&str]| -> Result<Vec<u8>> {
            let out = Command::new(&vigil)
                .arg("--socket")
                .arg(&socket)
                .args(args)
                .output()?;
            anyhow::ensure!(
                out.status.success(),
                "vigil {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(out.stdout)
        };
        println!("\nCLI on the socket (whole process):");
        for (what, args) in [
            ("vigil gaps --open --json", vec!["gaps", "--open", "--json"]),
            ("vigil overdue --json", vec!["overdue", "--json"]),
            (
                "vigil audit --action user. --json",
                vec!["audit", "--action", "user.", "--json"],
            ),
        ] {
            let run = || -> Result<(f64, u64)> {
                let t = Instant::now();
                let out = cli(&args)?;
                Ok((t.elapsed().as_secs_f64() * 1000.0, out.len() as u64))
            };
            run()?;
            let f = stats(
                what,
                (0..5).map(|_| run()).collect::<Result<Vec<_>>>()?,
                page,
            );
            println!(
                "  {:<44} {:>8.1} ms  (min {:.1}, max {:.1}; {} bytes)",
                f.what, f.median_ms, f.min_ms, f.max_ms, f.bytes
            );
            figures.push(f);
        }
        // A court export of the real recording: its custody trail is found
        // among the whole year's audit rows. Each run is a new request
        // (cust1) approved by sup1, then exported; the export is timed.
        let out_root = base.join("exports");
        let _ = std::fs::remove_dir_all(&out_root);
        let mut runs = Vec::new();
        for i in 0..6 {
            let made = cli(&[
                "request",
                "--as",
                "cust1",
                "--clip",
                &real_clip,
                "--reason",
                "bench-scale export",
                "--json",
            ])?;
            let req: serde_json::Value = serde_json::from_slice(&made)?;
            let req = req["request"].as_str().context("request id")?.to_owned();
            cli(&["approve", "--as", "sup1", &req])?;
            let dir = out_root.join(format!("p{i}"));
            let t = Instant::now();
            cli(&[
                "export",
                "--as",
                "cust1",
                "--request",
                &req,
                "--out",
                &dir.display().to_string(),
            ])?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let meta = std::fs::metadata(dir.join("metadata.json"))
                .map(|m| m.len())
                .unwrap_or(0);
            if i > 0 {
                runs.push((ms, meta));
            }
        }
        let f = stats("vigil export, one recording", runs, None);
        println!("\nexport through vigild (whole process, request and approval not counted):");
        println!(
            "  {:<44} {:>8.1} ms  (min {:.1}, max {:.1}; metadata {} bytes)",
            f.what, f.median_ms, f.min_ms, f.max_ms, f.bytes
        );
        figures.push(f);
        let _ = std::fs::remove_dir_all(&out_root);
        Ok(figures)
    })();
    // Idle: the CPU vigild spends with no request and no recorder (its
    // scanner, status board and watchers), over 5 s after the last figure.
    let cpu = |pid: u32| -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime, fields 14 and 15 of proc(5), in clock ticks.
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        // SAFETY: sysconf has no memory preconditions.
        Some(ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64)
    };
    let idle_s = 5.0;
    let before = cpu(pid);
    std::thread::sleep(Duration::from_secs_f64(idle_s));
    let idle_pct = match (before, cpu(pid)) {
        (Some(a), Some(b)) => (b - a) / idle_s * 100.0,
        _ => f64::NAN,
    };
    let hwm = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<u64>().ok())
            })
        })
        .unwrap_or(0);
    // SAFETY: kill has no memory preconditions.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let _ = daemon.wait();
    let figures = result?;
    let index_bytes = std::fs::metadata(store.join(vigil_store::INDEX_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("\nvigild idle: {idle_pct:.1} % of one core over {idle_s} s with no request");
    println!(
        "vigild peak RSS {:.1} MiB (goal 256); index {:.0} MiB for {} clips, {} interruptions, {} officers",
        hwm as f64 / 1024.0,
        index_bytes as f64 / (1 << 20) as f64,
        shape.clips,
        shape.gaps,
        shape.officers
    );
    std::fs::create_dir_all(root().join("target/bench"))?;
    std::fs::write(
        root().join("target/bench/scale.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "clips": shape.clips, "interruptions": shape.gaps, "officers": shape.officers,
            "index_bytes": index_bytes, "vigild_peak_rss_kib": hwm,
            "vigild_idle_cpu_pct": idle_pct, "figures": figures,
        }))?,
    )?;
    Ok(())
}

/// The real recording's id (the newest clip).
fn first_clip(store: &Path) -> Result<String> {
    let conn = rusqlite::Connection::open_with_flags(
        store.join(vigil_store::INDEX_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    Ok(conn.query_row(
        "SELECT id FROM clips WHERE path_display = 'DCIM/100BWC/REAL_0001.MP4'",
        [],
        |r| r.get(0),
    )?)
}
