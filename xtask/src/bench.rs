//! `cargo xtask bench [--gb N] [--runs N]`: the ingest benchmark.
//!
//! Generates about 1 GB of real H.264/AAC clips (cached under
//! `target/bench/media`), warms the page cache, then times, in one run:
//!
//! - `cp -r` of the clips to the same file system (and `cp -r` + `sync`,
//!   since Vigil fsyncs every object and `cp` does not);
//! - `vigil ingest` into a fresh store (release build), with its peak RSS;
//! - the naive pipeline `cp -r` + `b3sum` + `sha256sum` + `ffprobe
//!   -show_packets` on every file.
//!
//! Each is run `--runs` times (default 3) and the median wall time is
//! reported, with `sync` between runs so one run's write-back does not land
//! in the next. Results go to stdout and `target/bench/ingest.json`.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{cargo, root, run as sh};

struct Measure {
    wall: Duration,
    max_rss_kib: i64,
}

/// Runs a command to completion, measuring wall time and the child's peak
/// RSS (from `wait4`).
#[allow(unsafe_code)] // libc calls on our own processes; each block says why it holds
fn measure(cmd: &mut Command) -> Result<Measure> {
    let shown = format!("{cmd:?}");
    let start = Instant::now();
    let child = cmd
        .current_dir(root())
        .stdout(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet reaped; pointers are valid.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if rc != pid {
        bail!(
            "wait4 on {shown} failed: {}",
            std::io::Error::last_os_error()
        );
    }
    let status = std::process::ExitStatus::from_raw(status);
    if !status.success() {
        bail!("{shown} failed: {status}");
    }
    std::mem::forget(child); // already reaped
    Ok(Measure {
        wall,
        max_rss_kib: usage.ru_maxrss,
    })
}

fn ff(args: &[&str]) -> Result<()> {
    sh(Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args))
}

/// About `gb` GB of distinct clips: a few encoded sources, each remuxed
/// under several titles (remuxing is fast; every copy has distinct bytes).
fn media(gb: f64) -> Result<PathBuf> {
    let dir = root().join("target/bench/media");
    let stamp = dir.join(format!(".complete-{gb}"));
    if stamp.exists() {
        return Ok(dir);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let clips = dir.join("DCIM/100MEDIA");
    std::fs::create_dir_all(&clips)?;
    let bases = 4;
    let base_bytes = 54e6; // 10 s of 720p at 40 Mbit/s + AAC
    let copies = ((gb * 1e9) / (base_bytes * bases as f64)).ceil().max(1.0) as usize;
    let mut n = 0;
    for b in 0..bases {
        let base = dir.join(format!("base{b}.mp4"));
        let freq = format!(
            "sine=frequency={}:sample_rate=48000:duration=10",
            300 + b * 100
        );
        ff(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30:duration=10",
            "-f",
            "lavfi",
            "-i",
            &freq,
            "-vf",
            &format!("noise=alls=30:allf=t,hue=h={}", b * 40),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "40M",
            "-maxrate",
            "40M",
            "-bufsize",
            "80M",
            "-g",
            "30",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            base.to_str().context("utf-8 path")?,
        ])?;
        for c in 0..copies {
            n += 1;
            let out = clips.join(format!("REC_{n:04}.MP4"));
            ff(&[
                "-i",
                base.to_str().context("utf-8 path")?,
                "-c",
                "copy",
                "-metadata",
                &format!("title=bench {b}/{c}"),
                out.to_str().context("utf-8 path")?,
            ])?;
        }
        std::fs::remove_file(&base)?;
    }
    std::fs::write(&stamp, b"")?;
    Ok(dir)
}

fn dir_bytes(dir: &Path) -> Result<(u64, usize)> {
    let mut total = 0;
    let mut files = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let t = e.file_type()?;
        if t.is_dir() {
            let (b, f) = dir_bytes(&e.path())?;
            total += b;
            files += f;
        } else if t.is_file() && !e.file_name().to_string_lossy().starts_with('.') {
            total += e.metadata()?.len();
            files += 1;
        }
    }
    Ok((total, files))
}

fn clean(path: &Path) -> Result<()> {
    if path.exists() {
        sh(Command::new("chmod").args(["-R", "u+w"]).arg(path))?;
        std::fs::remove_dir_all(path)?;
    }
    sh(&mut Command::new("sync"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> Result<()> {
    let mut gb = 1.0;
    let mut runs = 3;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--gb" => gb = it.next().context("--gb N")?.parse()?,
            "--runs" => runs = it.next().context("--runs N")?.parse()?,
            other => bail!("unknown bench option {other}"),
        }
    }
    crate::deps::ensure()?;
    crate::deps::ensure_b3sum()?;
    let src = media(gb)?;
    let (bytes, files) = dir_bytes(&src)?;
    sh(cargo().args(["build", "--release", "--quiet", "-p", "vigil-cli"]))?;
    let vigil = root().join("target/release/vigil");
    let out = root().join("target/bench/out");
    clean(&out)?;
    std::fs::create_dir_all(&out)?;
    // Warm the page cache so every contender reads from memory alike.
    sh(Command::new("sh")
        .arg("-c")
        .arg(format!("cat $(find {} -type f) > /dev/null", src.display())))?;

    let src_s = src.display().to_string();
    let naive = format!(
        "set -e; cp -r {src_s} \"$1\"; find \"$1\" -type f -name '*.MP4' -print0 | xargs -0 b3sum > /dev/null; \
         find \"$1\" -type f -name '*.MP4' -print0 | xargs -0 sha256sum > /dev/null; \
         for f in $(find \"$1\" -type f -name '*.MP4'); do ffprobe -v error -show_packets \"$f\" > /dev/null; done"
    );
    let (mut cp, mut cp_sync, mut ingest, mut pipeline) = (vec![], vec![], vec![], vec![]);
    let mut rss = 0;
    for i in 0..runs {
        let dst = out.join(format!("cp{i}"));
        cp.push(measure(Command::new("cp").arg("-r").arg(&src).arg(&dst))?.wall);
        clean(&dst)?;
        cp_sync.push(
            measure(
                Command::new("sh")
                    .arg("-c")
                    .arg("cp -r \"$1\" \"$2\" && sync")
                    .arg("sh")
                    .arg(&src)
                    .arg(&dst),
            )?
            .wall,
        );
        clean(&dst)?;
        let store = out.join(format!("store{i}"));
        let m = measure(
            Command::new(&vigil)
                .arg("--store")
                .arg(&store)
                .arg("ingest")
                .arg(&src)
                .arg("--json"),
        )?;
        ingest.push(m.wall);
        rss = rss.max(m.max_rss_kib);
        clean(&store)?;
        pipeline.push(
            measure(
                Command::new("bash")
                    .arg("-c")
                    .arg(&naive)
                    .arg("bash")
                    .arg(&dst),
            )?
            .wall,
        );
        clean(&dst)?;
    }
    let (cp, cp_sync, ingest, pipeline) = (
        median(cp),
        median(cp_sync),
        median(ingest),
        median(pipeline),
    );

    // Continuity analysis alone: Vigil's demux-only analysis against
    // `ffprobe -show_packets` over the same files.
    let clips: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(src.join("DCIM/100MEDIA"))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        v.sort();
        v
    };
    let (mut analyze, mut ffprobe) = (vec![], vec![]);
    for _ in 0..runs {
        analyze.push(
            measure(
                Command::new(&vigil)
                    .arg("analyze")
                    .arg("--json")
                    .args(&clips),
            )?
            .wall,
        );
        ffprobe.push(
            measure(
                Command::new("bash")
                    .arg("-c")
                    .arg("for f in \"$@\"; do ffprobe -v error -show_packets \"$f\" > /dev/null; done")
                    .arg("bash")
                    .args(&clips),
            )?
            .wall,
        );
    }
    let (analyze, ffprobe) = (median(analyze), median(ffprobe));
    let listing = Command::new(&vigil)
        .arg("analyze")
        .arg("--json")
        .args(&clips)
        .output()?;
    let doc: serde_json::Value = serde_json::from_slice(&listing.stdout)?;
    let analysis_read: u64 = doc["files"]
        .as_array()
        .map(|fs| fs.iter().filter_map(|f| f["bytes_read"].as_u64()).sum())
        .unwrap_or(0);
    let mbps = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
    println!(
        "ingest benchmark: {files} clips, {:.2} GB, median of {runs} runs, page cache warm",
        bytes as f64 / 1e9
    );
    println!(
        "  {:<44} {:>8.2} s  {:>7.0} MB/s",
        "cp -r",
        cp.as_secs_f64(),
        mbps(cp)
    );
    println!(
        "  {:<44} {:>8.2} s  {:>7.0} MB/s",
        "cp -r && sync",
        cp_sync.as_secs_f64(),
        mbps(cp_sync)
    );
    println!(
        "  {:<44} {:>8.2} s  {:>7.0} MB/s",
        "vigil ingest (copy+hashes+analysis+fsync)",
        ingest.as_secs_f64(),
        mbps(ingest)
    );
    println!(
        "  {:<44} {:>8.2} s  {:>7.0} MB/s",
        "cp -r + b3sum + sha256sum + ffprobe -show_packets",
        pipeline.as_secs_f64(),
        mbps(pipeline)
    );
    let r_cp = ingest.as_secs_f64() / cp.as_secs_f64();
    let r_sync = ingest.as_secs_f64() / cp_sync.as_secs_f64();
    let r_naive = pipeline.as_secs_f64() / ingest.as_secs_f64();
    println!("  vigil / cp -r          = {r_cp:.2}x   (target <= 1.3x)");
    println!("  vigil / (cp -r + sync) = {r_sync:.2}x");
    println!("  naive / vigil          = {r_naive:.2}x   (target >= 5x)");
    println!(
        "  vigil peak RSS         = {:.1} MiB (target < 64 MiB)",
        rss as f64 / 1024.0
    );
    let r_analysis = ffprobe.as_secs_f64() / analyze.as_secs_f64();
    println!("continuity analysis of the same {files} clips:");
    println!(
        "  {:<44} {:>8.3} s",
        "vigil analyze (demux only)",
        analyze.as_secs_f64()
    );
    println!(
        "  {:<44} {:>8.3} s",
        "ffprobe -show_packets",
        ffprobe.as_secs_f64()
    );
    println!("  ffprobe / vigil        = {r_analysis:.1}x   (target >= 5x)");
    println!(
        "  bytes read by analysis = {analysis_read} of {bytes} ({:.4} %): MP4 is analysed from its sample index",
        analysis_read as f64 * 100.0 / bytes as f64
    );
    let json = serde_json::json!({
        "files": files, "bytes": bytes, "runs": runs,
        "cp_s": cp.as_secs_f64(), "cp_sync_s": cp_sync.as_secs_f64(),
        "vigil_ingest_s": ingest.as_secs_f64(), "naive_pipeline_s": pipeline.as_secs_f64(),
        "vigil_over_cp": r_cp, "vigil_over_cp_sync": r_sync, "naive_over_vigil": r_naive,
        "vigil_peak_rss_kib": rss,
        "analyze_s": analyze.as_secs_f64(), "ffprobe_show_packets_s": ffprobe.as_secs_f64(),
        "ffprobe_over_analyze": r_analysis, "analysis_bytes_read": analysis_read,
    });
    std::fs::write(
        root().join("target/bench/ingest.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    clean(&out)?;
    Ok(())
}

/// `len` incompressible bytes (xorshift), like encoded video; `state`
/// carries on between calls so every file differs.
pub(crate) fn noise(len: usize, state: &mut u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    for c in data.chunks_mut(8) {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        c.copy_from_slice(&state.to_le_bytes()[..c.len()]);
    }
    data
}

/// `cargo xtask bench-dock [--mb N]`: empties a simulated recorder holding
/// N MB (default 64) of files over the pty and reports payload efficiency
/// (payload bytes / bytes on the wire, target >= 95 %) and throughput.
pub fn dock(args: &[String]) -> Result<()> {
    let mut mb = 64u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--mb" => mb = it.next().context("--mb N")?.parse()?,
            other => bail!("unknown bench-dock option {other}"),
        }
    }
    sh(cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "vigil-cli",
        "-p",
        "dock-sim",
    ]))?;
    let dir = root().join("target/bench/dock");
    clean(&dir)?;
    let rec = dir.join("recorder");
    std::fs::create_dir_all(rec.join("DCIM"))?;
    // Incompressible content in 8 MB files, like video.
    let mut x: u64 = 0x243f_6a88_85a3_08d3;
    let files = mb.div_ceil(8);
    for i in 0..files {
        std::fs::write(
            rec.join(format!("DCIM/REC_{:04}.bin", i + 1)),
            noise(8 << 20, &mut x),
        )?;
    }
    let link = dir.join("dock");
    let mut sim = Command::new(root().join("target/release/dock-sim"))
        .arg("--link")
        .arg(&link)
        .arg("--recorder")
        .arg(format!("BENCH01:9001:{}", rec.display()))
        .stderr(std::process::Stdio::null())
        .spawn()?;
    while !link.exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let vigil = root().join("target/release/vigil");
    let store = dir.join("store");
    let result = (|| -> Result<(f64, serde_json::Value)> {
        sh(Command::new(&vigil)
            .arg("--store")
            .arg(&store)
            .args(["dock", "enroll"])
            .arg(&link))?;
        let start = Instant::now();
        let out = Command::new(&vigil)
            .arg("--store")
            .arg(&store)
            .args(["dock", "pull", "--keep", "--json"])
            .arg(&link)
            .output()?;
        let secs = start.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!(
                "vigil dock pull failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok((secs, serde_json::from_slice(&out.stdout)?))
    })();
    let _ = sim.kill();
    let _ = sim.wait();
    let (secs, doc) = result?;
    let payload = doc["link"]["payload"].as_u64().unwrap_or(0);
    let wire_in = doc["link"]["bytes_in"].as_u64().unwrap_or(1);
    let wire_out = doc["link"]["bytes_out"].as_u64().unwrap_or(0);
    let eff = payload as f64 / wire_in as f64 * 100.0;
    println!(
        "dock transfer benchmark: {files} files, {:.1} MB over a pty (release build)",
        payload as f64 / 1e6
    );
    println!("  payload efficiency  = {eff:.2} % (payload / bytes dock->host; target >= 95 %)");
    println!("  host->dock requests = {wire_out} bytes");
    println!(
        "  throughput          = {:.1} MB/s end to end (transfer, hashing, analysis, fsync, index, verify)",
        payload as f64 / 1e6 / secs
    );
    std::fs::write(
        root().join("target/bench/dock.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "payload": payload, "wire_in": wire_in, "wire_out": wire_out,
            "efficiency_pct": eff, "seconds": secs, "mb_per_s": payload as f64 / 1e6 / secs,
        }))?,
    )?;
    clean(&dir)?;
    Ok(())
}

/// `cargo xtask bench-daemon [--recorders N] [--mb N]`: the shift-change load
/// test. One simulated N-slot dock (default 16) whose recorders each hold
/// `--mb` MB (default 8, in 2 MB files); `vigild` (release) empties them all.
/// Reports aggregate throughput and per-recorder fairness: when each
/// recorder got its first byte and finished, and Jain's fairness index of
/// the per-recorder rates (1.0 = perfectly even).
#[allow(unsafe_code)] // libc calls on our own processes; each block says why it holds
pub fn daemon(args: &[String]) -> Result<()> {
    let (mut n, mut mb) = (16usize, 8usize);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--recorders" => n = it.next().context("--recorders N")?.parse()?,
            "--mb" => mb = it.next().context("--mb N")?.parse()?,
            other => bail!("unknown bench-daemon option {other}"),
        }
    }
    anyhow::ensure!((1..=16).contains(&n), "--recorders must be 1..=16");
    sh(cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "vigil-cli",
        "-p",
        "vigild",
        "-p",
        "dock-sim",
    ]))?;
    let dir = root().join("target/bench/daemon");
    clean(&dir)?;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut sim = Command::new(root().join("target/release/dock-sim"));
    let link = dir.join("dock");
    sim.arg("--link").arg(&link).args(["--slots", "16"]);
    for r in 0..n {
        let rec = dir.join(format!("rec{r:02}/DCIM"));
        std::fs::create_dir_all(&rec)?;
        for f in 0..mb.div_ceil(2) {
            std::fs::write(
                rec.join(format!("REC_{:04}.bin", f + 1)),
                noise(2 << 20, &mut x),
            )?;
        }
        sim.arg("--recorder").arg(format!(
            "BWC{r:03}:{}:{}",
            1000 + r,
            dir.join(format!("rec{r:02}")).display()
        ));
    }
    let mut sim = sim.stderr(std::process::Stdio::null()).spawn()?;
    while !link.exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let store = dir.join("store");
    let vigil = root().join("target/release/vigil");
    let result = (|| -> Result<()> {
        sh(Command::new(&vigil)
            .arg("--store")
            .arg(&store)
            .args(["dock", "enroll"])
            .arg(&link))?;
        let start = Instant::now();
        let mut d = Command::new(root().join("target/release/vigild"))
            .arg("--store")
            .arg(&store)
            .arg("--dock")
            .arg(&link)
            .arg("--watch")
            .arg(dir.join("media"))
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let mut first: Vec<Option<f64>> = vec![None; n];
        let mut done: Vec<Option<f64>> = vec![None; n];
        let mut bytes = vec![0u64; n];
        while done.iter().any(Option::is_none) {
            if start.elapsed() > Duration::from_secs(600) {
                let _ = d.kill();
                bail!("vigild did not finish in 10 minutes");
            }
            std::thread::sleep(Duration::from_millis(50));
            let Ok(text) = std::fs::read_to_string(store.join("vigild.status.json")) else {
                continue;
            };
            let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let t = start.elapsed().as_secs_f64();
            for r in doc["recorders"]
                .as_object()
                .into_iter()
                .flat_map(|m| m.values())
            {
                let Some(slot) = r["slot"].as_u64().map(|s| s as usize).filter(|s| *s < n) else {
                    continue;
                };
                if first[slot].is_none() && r["bytes_done"].as_u64().unwrap_or(0) > 0 {
                    first[slot] = Some(t);
                }
                if done[slot].is_none() && r["state"] == "done" {
                    done[slot] = Some(t);
                    bytes[slot] = r["bytes_total"].as_u64().unwrap_or(0);
                }
            }
        }
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(d.id() as i32, libc::SIGTERM) };
        let _ = d.wait();
        let first: Vec<f64> = first.into_iter().map(|t| t.unwrap_or(0.0)).collect();
        let done: Vec<f64> = done.into_iter().map(|t| t.unwrap_or(0.0)).collect();
        let total: u64 = bytes.iter().sum();
        let end = done.iter().copied().fold(0.0, f64::max);
        let rates: Vec<f64> = bytes
            .iter()
            .zip(&done)
            .map(|(b, t)| *b as f64 / t.max(1e-3))
            .collect();
        let jain = rates.iter().sum::<f64>().powi(2)
            / (n as f64 * rates.iter().map(|r| r * r).sum::<f64>());
        let stat = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            (v[0], v[v.len() / 2], v[v.len() - 1])
        };
        let (f0, f1, f2) = stat(&first);
        let (d0, d1, d2) = stat(&done);
        println!(
            "vigild load test: {n} recorders on one {n}-slot dock, {:.1} MB in all (release build)",
            total as f64 / 1e6
        );
        println!(
            "  aggregate throughput   = {:.1} MB/s ({end:.1} s until the last recorder was done)",
            total as f64 / 1e6 / end
        );
        println!("  first byte per recorder: min {f0:.2} s, median {f1:.2} s, max {f2:.2} s");
        println!("  done per recorder:       min {d0:.2} s, median {d1:.2} s, max {d2:.2} s");
        println!("  Jain fairness index of per-recorder rates = {jain:.3} (1.0 = even)");
        std::fs::write(
            root().join("target/bench/daemon.json"),
            serde_json::to_string_pretty(&serde_json::json!({
                "recorders": n, "bytes": total, "seconds": end, "mb_per_s": total as f64 / 1e6 / end,
                "first_byte_s": first, "done_s": done, "jain": jain,
            }))?,
        )?;
        Ok(())
    })();
    let _ = sim.kill();
    let _ = sim.wait();
    result?;
    clean(&dir)?;
    Ok(())
}

/// The real recordings of `../shared/media-real/`: each one's verdict (its
/// interruptions, damage) and the time `vigil analyze` and `ffprobe
/// -show_packets` take on it.
fn real_recordings(vigil: &Path) -> Result<Vec<serde_json::Value>> {
    let dir = root().join("../shared/media-real");
    let Ok(list) = std::fs::read_dir(&dir) else {
        println!("no real recordings at {}", dir.display());
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = list
        .flatten()
        .map(|e| e.path())
        .filter(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("md" | "tsv")))
        .collect();
    files.sort();
    println!("\n| real recording | format | readable | verdict | vigil analyze | ffprobe -show_packets |");
    println!("|---|---|---|---|---|---|");
    let mut out = Vec::new();
    for f in files {
        let start = Instant::now();
        let run = Command::new(vigil)
            .args(["analyze", "--json"])
            .arg(&f)
            .output()?;
        let ours = start.elapsed();
        let start = Instant::now();
        measure(
            Command::new("ffprobe")
                .args(["-v", "error", "-show_packets", "-of", "compact"])
                .arg(&f),
        )?;
        let theirs = start.elapsed();
        let doc: serde_json::Value = serde_json::from_slice(&run.stdout)?;
        let a = &doc["files"][0];
        let mut verdict: Vec<String> = a["streams"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| {
                s["gaps"].as_array().into_iter().flatten().map(move |g| {
                    format!(
                        "{} {} at {:.3} s for {:.3} s",
                        s["kind"].as_str().unwrap_or("?"),
                        g["kind"].as_str().unwrap_or("?"),
                        g["offset_s"].as_f64().unwrap_or(0.0),
                        g["duration_s"].as_f64().unwrap_or(0.0)
                    )
                })
            })
            .collect();
        if let Some(d) = a["damaged"].as_str() {
            verdict.push(format!("damaged: {d}"));
        }
        if let Some(e) = a["error"].as_str() {
            verdict.push(format!("unreadable: {e}"));
        }
        let verdict = if verdict.is_empty() {
            "continuous, intact".to_owned()
        } else {
            verdict.join("; ")
        };
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        println!(
            "| {name} | {} | {:.3} s | {verdict} | {:.3} s | {:.3} s |",
            a["format"].as_str().unwrap_or("-"),
            a["duration_s"].as_f64().unwrap_or(0.0),
            ours.as_secs_f64(),
            theirs.as_secs_f64()
        );
        out.push(
            serde_json::json!({"file": name, "format": a["format"], "duration_s": a["duration_s"],
            "verdict": verdict, "vigil_s": ours.as_secs_f64(), "ffprobe_s": theirs.as_secs_f64()}),
        );
    }
    Ok(out)
}

/// `cargo xtask bench-analyze [--runs N]`: continuity analysis.
/// `vigil analyze` against `ffprobe -show_packets` on MP4, MPEG-TS, AVI and
/// MKV separately (the same 60 s 720p H.264/AAC recording, 8 titles per
/// container), and peak RSS of `vigil analyze` on a 2 GB AVI and a 2 GB TS.
/// Media cached under `target/bench/analyze`; results to stdout and
/// `target/bench/analyze.json`.
pub fn analyze(args: &[String]) -> Result<()> {
    let mut runs = 3usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().context("--runs N")?.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    sh(cargo().args(["build", "--release", "--quiet", "-p", "vigil-cli"]))?;
    let dir = root().join("target/bench/analyze");
    let stamp = dir.join(".complete");
    let containers = ["mp4", "ts", "avi", "mkv"];
    if !stamp.exists() {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let base = dir.join("base.mp4");
        let b = base.to_str().context("utf-8 path")?;
        ff(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30:duration=60",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=60",
            "-vf",
            "noise=alls=20:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "36M",
            "-maxrate",
            "36M",
            "-bufsize",
            "72M",
            "-g",
            "30",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            b,
        ])?;
        for ext in containers {
            let sub = dir.join(ext);
            std::fs::create_dir_all(&sub)?;
            for n in 0..8 {
                let out = sub.join(format!("REC_{n:04}.{ext}"));
                ff(&[
                    "-i",
                    b,
                    "-c",
                    "copy",
                    "-metadata",
                    &format!("title=bench {n}"),
                    out.to_str().context("utf-8 path")?,
                ])?;
            }
        }
        // About 2 GB each: the recording eight times over, one file.
        let list = dir.join("list.txt");
        std::fs::write(&list, format!("file '{b}'\n").repeat(8))?;
        for ext in ["avi", "ts"] {
            let out = dir.join(format!("big.{ext}"));
            ff(&[
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                list.to_str().context("utf-8")?,
                "-c",
                "copy",
                out.to_str().context("utf-8 path")?,
            ])?;
        }
        std::fs::remove_file(&base)?;
        std::fs::write(&stamp, b"")?;
    }
    let vigil = root().join("target/release/vigil");
    let mut rows = Vec::new();
    println!("| container | files | bytes | vigil analyze | ffprobe -show_packets | speed-up | one file at a time | speed-up | vigil peak RSS |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for ext in containers {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(ext))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        files.sort();
        let bytes: u64 = files
            .iter()
            .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
            .sum();
        // Warm: every contender reads from the page cache.
        for f in &files {
            std::io::copy(&mut std::fs::File::open(f)?, &mut std::io::sink())?;
        }
        // `vigil analyze` takes the files on every core; ffprobe is one
        // process per file, one after the other. `--jobs 1` is the
        // like-for-like figure.
        let (mut ours, mut serial, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
        let mut rss = 0;
        for _ in 0..runs {
            let m = measure(
                Command::new(&vigil)
                    .arg("analyze")
                    .arg("--json")
                    .args(&files),
            )?;
            rss = rss.max(m.max_rss_kib);
            ours.push(m.wall);
            let m = measure(
                Command::new(&vigil)
                    .args(["analyze", "--json", "--jobs", "1"])
                    .args(&files),
            )?;
            rss = rss.max(m.max_rss_kib);
            serial.push(m.wall);
            let start = Instant::now();
            for f in &files {
                measure(
                    Command::new("ffprobe")
                        .args(["-v", "error", "-show_packets", "-of", "compact"])
                        .arg(f),
                )?;
            }
            theirs.push(start.elapsed());
        }
        let (o, s1, t) = (median(ours), median(serial), median(theirs));
        let speedup = t.as_secs_f64() / o.as_secs_f64();
        let speedup1 = t.as_secs_f64() / s1.as_secs_f64();
        println!(
            "| {ext} | {} | {:.2} GB | {:.3} s | {:.3} s | {speedup:.1}× | {:.3} s | {speedup1:.1}× | {:.1} MiB |",
            files.len(),
            bytes as f64 / 1e9,
            o.as_secs_f64(),
            t.as_secs_f64(),
            s1.as_secs_f64(),
            rss as f64 / 1024.0
        );
        rows.push(
            serde_json::json!({"container": ext, "files": files.len(), "bytes": bytes,
            "vigil_s": o.as_secs_f64(), "ffprobe_s": t.as_secs_f64(), "speedup": speedup,
            "vigil_one_job_s": s1.as_secs_f64(), "speedup_one_job": speedup1,
            "vigil_max_rss_kib": rss}),
        );
    }
    let mut big = Vec::new();
    for ext in ["avi", "ts"] {
        let f = dir.join(format!("big.{ext}"));
        let bytes = f.metadata()?.len();
        std::io::copy(&mut std::fs::File::open(&f)?, &mut std::io::sink())?;
        let m = measure(Command::new(&vigil).arg("analyze").arg("--json").arg(&f))?;
        println!(
            "{:.2} GB {ext}: vigil analyze {:.3} s, peak RSS {:.1} MiB",
            bytes as f64 / 1e9,
            m.wall.as_secs_f64(),
            m.max_rss_kib as f64 / 1024.0
        );
        big.push(serde_json::json!({"container": ext, "bytes": bytes,
            "vigil_s": m.wall.as_secs_f64(), "vigil_max_rss_kib": m.max_rss_kib}));
    }
    let real = real_recordings(&vigil)?;
    let doc = serde_json::json!({"per_container": rows, "large": big, "real": real, "runs": runs});
    std::fs::write(
        root().join("target/bench/analyze.json"),
        serde_json::to_string_pretty(&doc)?,
    )?;
    Ok(())
}
