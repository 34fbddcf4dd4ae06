//! `cargo xtask bench-station [--card-mb N] [--dock-mb N] [--big-mb N]`: the installed
//! station in its Debian guest (`tests/guest`, release package), timed on
//! the guest's own clock:
//!
//! - a recorder card (exFAT, files of zeros made in the guest): from
//!   `device_add` (the guest kernel's "new USB device" line) to the ingest
//!   run starting (mounted, settled, first byte read) and finishing (every
//!   file stored and verified); its throughput against `cp` + `sync` of the
//!   same files, cold cache, in the same guest;
//! - a dock on USB serial (QEMU's FTDI adapter, `dock-sim --listen`) and on
//!   USB bulk (`usb-redir`, `dock-sim --usbredir`): from `device_add` to the
//!   run starting and to the recorder emptied (pulled, verified, erased),
//!   and the pull's throughput; for serial, against the link's raw rate
//!   (`head -c` of the tty while vigild is stopped).
//!
//! - with `--big-mb N` (say 4200), a recording larger than FAT32 can
//!   hold, as one file on an exFAT card: ingested, its stored BLAKE3 and
//!   size checked against the zeros it was made of, and timed.
//!
//! QEMU runs with TCG here (no usable KVM): every figure is the emulated
//! machine's, comparable between runs on one host, not with hardware.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use vigil_guest::Station;

use crate::{cargo, root, run};

/// `cargo xtask bench-station`.
pub fn run_bench(args: &[String]) -> Result<()> {
    let mut card_mb = 512u64;
    let mut dock_mb = 8u64;
    let mut big_mb = 0u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--card-mb" => card_mb = it.next().context("--card-mb N")?.parse()?,
            "--dock-mb" => dock_mb = it.next().context("--dock-mb N")?.parse()?,
            "--big-mb" => big_mb = it.next().context("--big-mb N")?.parse()?,
            other => bail!("unknown bench-station option {other}"),
        }
    }
    crate::deps::ensure_station_tools()?;
    run(cargo().args(["build", "--release", "--quiet", "-p", "dock-sim"]))?;
    let deb = crate::deb::run_deb(&[])?;
    let dir = root().join("target/bench/station");
    let _ = Station::at(&dir).down();
    let _ = std::fs::remove_dir_all(&dir);
    let s = Station::up(
        &dir,
        &root().join("target/station"),
        &deb,
        vigil_guest::SETTINGS,
    )?;
    let out = (|| -> Result<()> {
        card(&s, card_mb)?;
        if big_mb > 0 {
            big_file(&s, big_mb)?;
        }
        dock(&s, &dir, dock_mb, Wire::Serial)?;
        dock(&s, &dir, dock_mb, Wire::Bulk)?;
        Ok(())
    })();
    let _ = s.down();
    out
}

/// Runs `script` in the guest; its standard output, or an error with both
/// outputs.
fn sh(s: &Station, script: &str) -> Result<String> {
    let o = s.sh(script)?;
    if o.code != 0 {
        bail!(
            "in the guest: {script}: exit {}: {}{}",
            o.code,
            o.stdout,
            o.stderr
        );
    }
    Ok(o.stdout)
}

/// The guest's clock, seconds since the epoch.
fn now(s: &Station) -> Result<f64> {
    Ok(sh(s, "date +%s.%N")?.trim().parse()?)
}

/// When the guest kernel last saw a new USB device after `since`.
fn device_added(s: &Station, since: f64) -> Result<f64> {
    let log = sh(
        s,
        &format!("journalctl -k -o short-unix --no-pager --since @{since:.3} | grep -m1 'new .*USB device number' || true"),
    )?;
    let at = log
        .split_whitespace()
        .next()
        .with_context(|| format!("no new USB device in the guest's kernel log since {since}"))?;
    Ok(at.parse()?)
}

/// The audit rows of `action`: (subject, detail, time in seconds since
/// the epoch).
fn audit(s: &Station, action: &str) -> Result<Vec<(String, serde_json::Value, f64)>> {
    let doc: serde_json::Value =
        serde_json::from_str(&sh(s, &format!("vigil audit --json --action {action}"))?)?;
    let mut out = Vec::new();
    for row in doc["audit"].as_array().context("audit rows")? {
        let at = row["at"].as_str().context("at")?;
        let t = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)?;
        out.push((
            row["subject"].as_str().unwrap_or_default().to_owned(),
            row["detail"].clone(),
            t.unix_timestamp_nanos() as f64 / 1e9,
        ));
    }
    Ok(out)
}

/// The ingest runs of recorder `device`: (run id, started, finished).
fn runs(s: &Station, device: &str) -> Result<Vec<(String, f64, Option<f64>)>> {
    let finished = audit(s, "ingest.finished")?;
    Ok(audit(s, "ingest.started")?
        .into_iter()
        .filter(|(_, d, _)| d["device"] == device)
        .map(|(run, _, began)| {
            let end = finished.iter().find(|f| f.0 == run).map(|f| f.2);
            (run, began, end)
        })
        .collect())
}

/// Waits until a run of `device` other than the first `skip` finished;
/// returns its start and end.
fn run_times(s: &Station, device: &str, skip: usize, timeout: Duration) -> Result<(f64, f64)> {
    let start = std::time::Instant::now();
    loop {
        if let Some((_, began, Some(end))) = runs(s, device)?
            .into_iter()
            .skip(skip)
            .find(|r| r.2.is_some())
        {
            return Ok((began, end));
        }
        if start.elapsed() > timeout {
            bail!("{device} not ingested after {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn mib_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / (1 << 20) as f64 / secs
}

fn card(s: &Station, mb: u64) -> Result<()> {
    let per = (mb / 4).max(1);
    let names: Vec<String> = (1..=4)
        .map(|i| format!("DCIM/100MEDIA/REC_{i:04}.MP4"))
        .collect();
    let zeros: Vec<(&str, u64)> = names.iter().map(|n| (n.as_str(), per)).collect();
    std::fs::create_dir_all(s.share().join("cards/BENCH1"))?;
    let image = s.make_card("BENCH1", "exfat", 4 * per + 64, 0, &zeros)?;
    let bytes = (4 * per) << 20;
    let t0 = now(s)?;
    s.plug_storage(&image, "bench1", "REC-BENCH1")?;
    let (began, ended) = run_times(s, "REC-BENCH1", 0, Duration::from_secs(1800))?;
    let added = device_added(s, t0)?;
    let ingest = mib_s(bytes, ended - began);
    // The same files by cp, from a cold cache to the same disk.
    let cp_ns: f64 = sh(
        s,
        "sync; echo 3 > /proc/sys/vm/drop_caches; rm -rf /var/tmp/cp-bench; mkdir /var/tmp/cp-bench; \
         a=$(date +%s%N); cp -r /run/vigil/media/REC-BENCH1/. /var/tmp/cp-bench/ && sync; b=$(date +%s%N); \
         rm -rf /var/tmp/cp-bench; echo $((b-a))",
    )?
    .trim()
    .parse()?;
    let cp = mib_s(bytes, cp_ns / 1e9);
    println!(
        "card (exFAT, {} MiB in 4 files): device_add -> run started {:.1} s, -> stored and verified {:.1} s; \
         ingest {ingest:.1} MiB/s, cp+sync {cp:.1} MiB/s, ratio {:.2}",
        4 * per,
        began - added,
        ended - added,
        ingest / cp
    );
    s.unplug("bench1")?;
    Ok(())
}

/// One recording of `mb` MiB of zeros alone on an exFAT card: stored
/// whole (size and BLAKE3 against the host's own hash of as many zeros).
fn big_file(s: &Station, mb: u64) -> Result<()> {
    const PATH: &str = "DCIM/100MEDIA/BIG_0001.MP4";
    std::fs::create_dir_all(s.share().join("cards/BIG1"))?;
    // The store needs the room: the root file system grows into the disk.
    sh(s, "resize2fs /dev/vda >/dev/null 2>&1")?;
    let made = std::time::Instant::now();
    let image = s.make_card("BIG1", "exfat", mb + 64, 0, &[(PATH, mb)])?;
    let made = made.elapsed().as_secs_f64();
    let t0 = now(s)?;
    s.plug_storage(&image, "big1", "REC-BIG1")?;
    let (began, ended) = run_times(s, "REC-BIG1", 0, Duration::from_secs(3600))?;
    let added = device_added(s, t0)?;
    let clips: serde_json::Value = serde_json::from_str(&sh(s, "vigil clips --json")?)?;
    let clip = clips["clips"]
        .as_array()
        .context("clips")?
        .iter()
        .find(|c| c["device"] == "REC-BIG1" && c["path"] == PATH)
        .context("the large recording is not in the store")?;
    let mut want = blake3::Hasher::new();
    let block = vec![0u8; 1 << 20];
    for _ in 0..mb {
        want.update(&block);
    }
    if clip["bytes"] != mb << 20 || clip["blake3"] != want.finalize().to_hex().as_str() {
        bail!("the large recording was not stored whole: {clip:#}");
    }
    println!(
        "large recording (exFAT, one file of {mb} MiB, card made in {made:.0} s): stored whole; \
         device_add -> run started {:.1} s, -> stored {:.1} s; ingest {:.1} MiB/s",
        began - added,
        ended - added,
        mib_s(mb << 20, ended - began)
    );
    s.unplug("big1")?;
    Ok(())
}

/// One command to the dock-sim in `here` (its control socket); an error
/// unless it answers "ok".
fn control(here: &Path, line: &str) -> Result<()> {
    use std::io::{BufRead, Write};
    let mut c = std::os::unix::net::UnixStream::connect(here.join("control.sock"))?;
    writeln!(c, "{line}")?;
    let mut answer = String::new();
    std::io::BufReader::new(c).read_line(&mut answer)?;
    if answer.trim() != "ok" {
        bail!("dock-sim {line}: {}", answer.trim());
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Wire {
    Serial,
    Bulk,
}

/// `n` bytes no compressor shortens, from `seed`.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    crate::bench::noise(n, &mut (seed | 1))
}

/// The raw rate of the emulated USB serial link, guest to host direction
/// reversed (the host writes, the guest reads the tty), MiB/s.
fn serial_raw(s: &Station, dir: &Path, mb: u64) -> Result<f64> {
    let sock = dir.join("raw.sock");
    let _ = std::fs::remove_file(&sock);
    let listener = std::os::unix::net::UnixListener::bind(&sock)?;
    let bytes = (mb << 20) as usize;
    // The host writes only once the guest's tty is raw and being read: a
    // byte that arrives before would meet the line discipline's cooked
    // mode (and its small buffer).
    let (go, ready) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || -> Result<()> {
        let (mut conn, _) = listener.accept()?;
        ready.recv()?;
        conn.write_all(&noise(bytes, 3))?;
        std::thread::sleep(Duration::from_secs(2));
        Ok(())
    });
    sh(s, "systemctl stop vigild")?;
    s.plug_dock(&sock, "raw", "RAW1")?;
    let dev = "/dev/serial/by-id/usb-vigil-dock-RAW1";
    // Timed from the first byte to the last, in the background (the agent
    // answers each command within its own timeout).
    sh(
        s,
        &format!(
            "rm -f /run/raw.ns; for i in $(seq 100); do [ -e {dev} ] && break; sleep 0.2; done; \
             stty -F {dev} raw -echo 921600; \
             setsid sh -c 'head -c 1 {dev} > /dev/null; a=$(date +%s%N); \
             timeout 600 head -c {rest} {dev} > /dev/null; b=$(date +%s%N); \
             echo $((b-a)) > /run/raw.ns' < /dev/null > /dev/null 2>&1 &",
            rest = bytes - 1
        ),
    )?;
    go.send(())?;
    let started = std::time::Instant::now();
    let ns: f64 = loop {
        let out = sh(s, "cat /run/raw.ns 2>/dev/null || true")?;
        if !out.trim().is_empty() {
            break out.trim().parse()?;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the guest did not read {bytes} bytes from {dev} within 600 s");
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer panicked"))??;
    s.unplug("raw")?;
    sh(s, "systemctl start vigild")?;
    s.wait_ready(Duration::from_secs(60))?;
    Ok(mib_s(bytes as u64 - 1, ns / 1e9))
}

fn dock(s: &Station, dir: &Path, mb: u64, wire: Wire) -> Result<()> {
    let (name, serial, flag) = match wire {
        Wire::Serial => ("serial", "BENCHS", "--listen"),
        Wire::Bulk => ("bulk", "BENCHB", "--usbredir"),
    };
    let raw = if wire == Wire::Serial {
        Some(serial_raw(s, dir, mb)?)
    } else {
        None
    };
    let here = dir.join(format!("dock-{name}"));
    let rec = here.join("recorder");
    let _ = std::fs::remove_dir_all(&here);
    std::fs::create_dir_all(rec.join("DCIM"))?;
    let files = mb.div_ceil(4);
    for i in 0..files {
        std::fs::write(
            rec.join(format!("DCIM/REC_{:04}.MP4", i + 1)),
            noise(4 << 20, i + 11),
        )?;
    }
    let bytes = files * (4 << 20);
    let sock = here.join("dock.sock");
    let mut sim = std::process::Command::new(root().join("target/release/dock-sim"))
        .arg(flag)
        .arg(&sock)
        .args(["--serial", &format!("D-{serial}"), "--key-file"])
        .arg(here.join("dock.key"))
        .arg("--control")
        .arg(here.join("control.sock"))
        .arg("--recorder")
        .arg(format!("{serial}:9001:{}", rec.display()))
        .stderr(std::fs::File::create(here.join("dock-sim.log"))?)
        .spawn()?;
    let out = (|| -> Result<()> {
        while !sock.exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Enrolled first (an administrator's step, not timed), then
        // plugged again as a docked dock would be.
        let path = match wire {
            Wire::Serial => {
                s.plug_dock(&sock, "bd", &format!("D-{serial}"))?;
                let p = format!("/dev/serial/by-id/usb-vigil-dock-D-{serial}");
                sh(
                    s,
                    &format!("for i in $(seq 100); do [ -e {p} ] && break; sleep 0.2; done"),
                )?;
                p
            }
            Wire::Bulk => {
                s.plug_usbredir(&sock, "bd")?;
                sh(s, "for i in $(seq 100); do grep -qx 7d01 /sys/bus/usb/devices/*/idProduct 2>/dev/null && break; sleep 0.2; done")?;
                "usb".to_owned()
            }
        };
        // vigild may start pulling as soon as the dock is enrolled: the
        // enrolment is the start here.
        let t0 = now(s)?;
        sh(s, &format!("vigil dock enroll {path}"))?;
        let (began, ended) = run_times(s, serial, 0, Duration::from_secs(1800))?;
        let rate = mib_s(bytes, ended - began);
        println!(
            "dock over USB {name} ({} MiB in {files} files): enrolled -> run started {:.1} s, -> recorder emptied {:.1} s; \
             pull {rate:.2} MiB/s{}",
            bytes >> 20,
            began - t0,
            ended - t0,
            raw.map(|r| format!(", link raw {r:.2} MiB/s, ratio {:.2}", rate / r))
                .unwrap_or_default()
        );
        // Plugged in again with a full recorder: device_add to emptied. The
        // recorder leaves the dock and comes back with new recordings (a
        // dock lists a recorder's files when it is docked). A serial dock's
        // link goes before the device (see tests/station/dock.rs).
        // The runs so far, counted before the dock is back (its run may
        // start at once).
        let done = runs(s, serial)?.len();
        if wire == Wire::Serial {
            control(&here, "cut")?;
        }
        s.unplug("bd")?;
        control(&here, "remove 0")?;
        for i in 0..files {
            std::fs::write(
                rec.join(format!("DCIM/REC_{:04}.MP4", files + i + 1)),
                noise(4 << 20, files + i + 11),
            )?;
        }
        control(&here, &format!("insert {serial}:9001:{}", rec.display()))?;
        let t1 = now(s)?;
        match wire {
            Wire::Serial => s.plug_dock(&sock, "bd", &format!("D-{serial}"))?,
            Wire::Bulk => s.plug_usbredir(&sock, "bd")?,
        }
        let (began, ended) = run_times(s, serial, done, Duration::from_secs(1800))?;
        let added = device_added(s, t1)?;
        println!(
            "dock over USB {name}, docked with {} MiB: device_add -> run started {:.1} s, -> recorder emptied {:.1} s; pull {:.2} MiB/s",
            bytes >> 20,
            began - added,
            ended - added,
            mib_s(bytes, ended - began)
        );
        if wire == Wire::Serial {
            control(&here, "cut")?;
        }
        s.unplug("bd")?;
        Ok(())
    })();
    let _ = sim.kill();
    let _ = sim.wait();
    out
}
