//! `dock-sim`: a docking station simulator. Runs the dock firmware's
//! protocol core (`vigil-dock-core`) on this machine, serving simulated
//! recorders (each a directory of files) over a pseudo-terminal, or over a
//! Unix socket that a virtual machine's USB serial adapter connects to, so
//! the whole path from dock to store runs with no hardware.

mod hw;
mod usbredir;
mod wire;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use vigil_dock_core::Dock;
use vigil_dock_proto::Event;

use crate::hw::{FileKeys, Recorder, SimHw, Urandom};
use crate::wire::Wire;

/// A docking station simulator serving recorders over a pseudo-terminal
/// (--link) or a Unix socket (--listen).
///
/// Control commands (one per line on the --control socket; each answered
/// with `ok` or `error: ...`):
///
///   insert SERIAL:OFFICER:DIR   dock a recorder in the first free slot
///   remove SLOT                 take the recorder out of SLOT
///   cut                         cut the host link now (a new pty appears at
///                               --link; on --listen the connection is closed)
///   cut-after BYTES             cut the link once BYTES more bytes were sent
///   skew SLOT SECONDS           move SLOT's recorder clock by SECONDS
///   battery SLOT PERCENT        set the battery level (below 20 raises a fault)
///   fault SLOT CODE             raise fault CODE on SLOT's recorder
///   clear SLOT                  clear SLOT's faults
///   swap-after BYTES SERIAL:OFFICER:DIR
///                               hostile swap: once BYTES more bytes were sent,
///                               take slot 0's recorder out and dock this one
///                               in its place (mid-transfer)
///   drop-after BYTES            lose one frame to the host once BYTES more
///                               bytes were sent (noise; the link stays up)
///   flood COUNT                 send COUNT valid Fault events at once (hostile)
///   read-errors SLOT COUNT      fail the next COUNT reads from SLOT's recorder
///                               with a storage error (a flaky card)
#[derive(Debug, Parser)]
#[command(name = "dock-sim", version, verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("wire").required(true).args(["link", "listen", "usbredir"])))]
struct Args {
    /// Where to put a symlink to the pseudo-terminal the host opens.
    #[arg(long, value_name = "PATH")]
    link: Option<PathBuf>,
    /// A Unix socket to listen on for the host instead: a virtual machine's
    /// USB serial adapter connects here (QEMU `usb-serial`, chardev socket).
    #[arg(long, value_name = "PATH")]
    listen: Option<PathBuf>,
    /// A Unix socket to listen on for a virtual machine's `usb-redir`
    /// device instead: the guest sees the reference dock 1209:7d01 with
    /// bulk endpoints (its USB serial number is --serial).
    #[arg(long, value_name = "PATH")]
    usbredir: Option<PathBuf>,
    /// A recorder: its serial, the officer it is bound to, and the
    /// directory holding its files (erasing removes them from there).
    #[arg(long, value_name = "SERIAL:OFFICER:DIR")]
    recorder: Vec<String>,
    /// The station key file. Missing or not given: the dock is factory-new
    /// and accepts `vigil dock enroll` (the key is then written here).
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// A Unix socket taking control commands (see above).
    #[arg(long, value_name = "PATH")]
    control: Option<PathBuf>,
    /// The dock's serial number.
    #[arg(long, default_value = "DOCK-SIM-0001")]
    serial: String,
    /// Number of slots.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=16))]
    slots: u8,
    /// Start with a recorder's clock off by SECONDS (SLOT:SECONDS; repeatable).
    #[arg(long, value_name = "SLOT:SECONDS")]
    skew: Vec<String>,
    /// Start with a low battery (SLOT:PERCENT; repeatable).
    #[arg(long, value_name = "SLOT:PERCENT")]
    battery: Vec<String>,
    /// Start with a fault raised (SLOT:CODE; repeatable).
    #[arg(long, value_name = "SLOT:CODE")]
    fault: Vec<String>,
    /// Cut the link once, after this many bytes were sent to the host.
    #[arg(long, value_name = "BYTES")]
    cut_after_bytes: Option<u64>,
    /// Report each file's modification time as its recording end (dock
    /// metadata). Off by default: the simulated recorders' files carry their
    /// own times.
    #[arg(long)]
    times_from_mtime: bool,
}

enum Control {
    Insert(Recorder),
    Remove(u8),
    Cut,
    CutAfter(u64),
    Skew(u8, i64),
    Battery(u8, u8),
    Fault(u8, u16),
    Clear(u8),
    SwapAfter(u64, Recorder),
    Flood(u64),
    DropAfter(u64),
    ReadErrors(u8, u32),
}

fn pair<A: std::str::FromStr, B: std::str::FromStr>(s: &str, what: &str) -> Result<(A, B)> {
    let (a, b) = s
        .split_once(':')
        .with_context(|| format!("{what}: expected A:B, got {s:?}"))?;
    let a = a
        .parse()
        .map_err(|_| anyhow::anyhow!("{what}: bad slot in {s:?}"))?;
    let b = b
        .parse()
        .map_err(|_| anyhow::anyhow!("{what}: bad value in {s:?}"))?;
    Ok((a, b))
}

fn parse_command(line: &str) -> Result<Control> {
    let mut words = line.split_whitespace();
    let cmd = words.next().unwrap_or("");
    let args: Vec<&str> = words.collect();
    let num = |i: usize| -> Result<i64> {
        args.get(i)
            .with_context(|| format!("{cmd}: missing argument {}", i + 1))?
            .parse()
            .with_context(|| format!("{cmd}: argument {} is not a number", i + 1))
    };
    Ok(match cmd {
        "insert" => Control::Insert(Recorder::parse(
            args.first().context("insert SERIAL:OFFICER:DIR")?,
        )?),
        "remove" => Control::Remove(num(0)? as u8),
        "cut" => Control::Cut,
        "cut-after" => Control::CutAfter(num(0)? as u64),
        "skew" => Control::Skew(num(0)? as u8, num(1)?),
        "battery" => Control::Battery(num(0)? as u8, num(1)? as u8),
        "fault" => Control::Fault(num(0)? as u8, num(1)? as u16),
        "clear" => Control::Clear(num(0)? as u8),
        "swap-after" => Control::SwapAfter(
            num(0)? as u64,
            Recorder::parse(args.get(1).context("swap-after BYTES SERIAL:OFFICER:DIR")?)?,
        ),
        "flood" => Control::Flood(num(0)? as u64),
        "drop-after" => Control::DropAfter(num(0)? as u64),
        "read-errors" => Control::ReadErrors(num(0)? as u8, num(1)? as u32),
        other => bail!("unknown command {other:?}"),
    })
}

type Reply = mpsc::Sender<Result<(), String>>;

fn serve_control(path: PathBuf, tx: mpsc::Sender<(Control, Reply)>) -> Result<()> {
    let _ = std::fs::remove_file(&path);
    let listener =
        UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut out = match conn.try_clone() {
                    Ok(o) => o,
                    Err(_) => return,
                };
                for line in BufReader::new(conn).lines().map_while(Result::ok) {
                    let answer = match parse_command(&line) {
                        Ok(cmd) => {
                            let (rtx, rrx) = mpsc::channel();
                            if tx.send((cmd, rtx)).is_err() {
                                return;
                            }
                            rrx.recv().unwrap_or(Err("dock stopped".into()))
                        }
                        Err(e) => Err(format!("{e:#}")),
                    };
                    let text = match answer {
                        Ok(()) => "ok\n".to_owned(),
                        Err(e) => format!("error: {e}\n"),
                    };
                    if out.write_all(text.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(())
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DOCK_SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut hw = SimHw::new(&args.serial, args.slots, args.times_from_mtime);
    for r in &args.recorder {
        let rec = Recorder::parse(r)?;
        hw.insert(rec).context("--recorder: no free slot")?;
    }
    for s in &args.skew {
        let (slot, secs): (u8, i64) = pair(s, "--skew")?;
        hw.skew(slot, secs)?;
    }
    for s in &args.battery {
        let (slot, pct): (u8, u8) = pair(s, "--battery")?;
        hw.set_battery(slot, pct)?;
    }
    for s in &args.fault {
        let (slot, code): (u8, u16) = pair(s, "--fault")?;
        hw.raise(slot, code)?;
    }
    let (ctl_tx, ctl_rx) = mpsc::channel::<(Control, Reply)>();
    if let Some(path) = &args.control {
        serve_control(path.clone(), ctl_tx)?;
    }
    let keys = FileKeys::new(args.key_file.clone());
    let mut dock = Dock::new(hw, keys, Urandom);
    let mut pty = match (&args.link, &args.listen, &args.usbredir) {
        (Some(link), _, _) => Wire::pty(link)?,
        (None, Some(socket), _) => Wire::listen(socket)?,
        (None, None, Some(socket)) => Wire::usbredir(socket, &args.serial)?,
        (None, None, None) => bail!("give --link, --listen or --usbredir"),
    };
    pty.cut_after = args.cut_after_bytes;
    let mut swap: Option<(u64, Recorder)> = None;
    tracing::info!(device = %pty.name, enrolled = dock.enrolled(), "dock ready");
    loop {
        // Control commands first: they change what the next request sees.
        while let Ok((cmd, reply)) = ctl_rx.try_recv() {
            let r = match cmd {
                Control::SwapAfter(n, rec) => {
                    swap = Some((pty.sent + n, rec));
                    Ok(())
                }
                cmd => apply(&mut dock, &mut pty, cmd),
            };
            let _ = reply.send(r.map_err(|e| format!("{e:#}")));
        }
        if pty.wait_readable(Duration::from_millis(20))? && dock.poll(&mut pty).is_err() {
            tracing::warn!("host link lost; waiting for the host to reopen it");
            dock.link_lost();
            pty.reopen()?;
        }
        if swap.as_ref().is_some_and(|(at, _)| pty.sent >= *at) {
            let (_, rec) = swap.take().expect("checked");
            tracing::warn!(serial = %rec.serial, "swapping the recorder in slot 0 (hostile)");
            let _ = dock.hw.remove(0);
            let _ = dock.notify(&mut pty, Event::Removed { slot: 0 });
            insert(&mut dock, &mut pty, rec)?;
        }
        if pty.cut_due() {
            tracing::warn!("cutting the host link (simulated fault)");
            dock.link_lost();
            pty.reopen()?;
        }
    }
}

fn apply(dock: &mut Dock<SimHw, FileKeys, Urandom>, pty: &mut Wire, cmd: Control) -> Result<()> {
    match cmd {
        Control::Insert(rec) => insert(dock, pty, rec)?,
        Control::Remove(slot) => {
            dock.hw.remove(slot)?;
            let _ = dock.notify(pty, Event::Removed { slot });
        }
        Control::Cut => {
            dock.link_lost();
            pty.reopen()?;
        }
        Control::CutAfter(n) => pty.cut_after = Some(pty.sent + n),
        Control::Skew(slot, secs) => dock.hw.skew(slot, secs)?,
        Control::Battery(slot, pct) => {
            dock.hw.set_battery(slot, pct)?;
            if pct < 20 {
                let _ = dock.notify(
                    pty,
                    Event::Fault {
                        slot,
                        code: vigil_dock_proto::fault::LOW_BATTERY,
                    },
                );
            }
        }
        Control::Fault(slot, code) => {
            dock.hw.raise(slot, code)?;
            let _ = dock.notify(pty, Event::Fault { slot, code });
        }
        Control::Clear(slot) => dock.hw.clear(slot)?,
        Control::SwapAfter(..) => bail!("swap-after is scheduled by the main loop"),
        Control::DropAfter(n) => pty.drop_after = Some(pty.sent + n),
        Control::ReadErrors(slot, n) => dock.hw.fail_reads(slot, n)?,
        Control::Flood(n) => {
            for _ in 0..n {
                let event = Event::Fault {
                    slot: 0,
                    code: vigil_dock_proto::fault::VENDOR,
                };
                if dock.notify(pty, event).is_err() {
                    break;
                }
            }
        }
    }
    Ok(())
}

fn insert(dock: &mut Dock<SimHw, FileKeys, Urandom>, pty: &mut Wire, rec: Recorder) -> Result<()> {
    let serial = rec.serial.clone();
    let (slot, docking) = dock.hw.insert(rec).context("no free slot")?;
    let _ = dock.notify(
        pty,
        Event::Inserted {
            slot,
            serial: vigil_dock_core::name(&serial),
            docking,
        },
    );
    Ok(())
}
