//! `cargo xtask station VERB`: a station in a Debian guest, for people who
//! want to try one before buying hardware and for the tests
//! (`tests/guest`, the harness; docs/operations.md, the guide):
//!
//! - `up [--debug]`: build or reuse the image, boot, install the `.deb`,
//!   wait until vigild is ready;
//! - `make-card DIR [--fs vfat|exfat] [--size-mb N] [--utc-offset MIN]`: a
//!   recorder card image holding DIR's files, made by the guest's own
//!   mkfs and kernel driver (this host has no vfat module); prints its path;
//! - `plug-storage IMAGE [--id ID] [--serial S]`: a recorder card;
//! - `plug-stick IMAGE [--id ID]`: a USB stick that is no recorder model
//!   (QEMU's USB attached SCSI device, 46f4:0003);
//! - `plug-dock SOCKET [--id ID] [--serial S]`: a USB serial dock whose
//!   other end is the Unix socket `dock-sim --listen SOCKET` serves;
//! - `plug-usb-dock SOCKET [--id ID]`: a dock on USB bulk endpoints whose
//!   other end is the Unix socket `dock-sim --usbredir SOCKET` serves
//!   (QEMU's `usb-redir`);
//! - `unplug ID`, `exec -- CMD...`, `power-cut`, `boot`, `down`.
//!
//! The station lives in `target/station/run` (console in `serial.log`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use vigil_guest::Station;

use crate::root;

/// The station driven: `target/station/run`, or `VIGIL_STATION_DIR` (say a
/// station test's or the benchmark's, to look inside it).
fn run_dir() -> PathBuf {
    std::env::var_os("VIGIL_STATION_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/station/run"))
}

/// `cargo xtask station ...`.
pub fn run(args: &[String]) -> Result<()> {
    let verb = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    let option = |name: &str| -> Option<String> {
        rest.iter()
            .position(|a| a == name)
            .and_then(|i| rest.get(i + 1).cloned())
    };
    let positional = || -> Result<String> {
        rest.first()
            .filter(|a| !a.starts_with("--"))
            .cloned()
            .with_context(|| format!("station {verb} needs an argument"))
    };
    let station = Station::at(&run_dir());
    match verb {
        "up" => {
            crate::deps::ensure_station_tools()?;
            let deb_args: Vec<String> = rest.iter().filter(|a| *a == "--debug").cloned().collect();
            let deb = crate::deb::run_deb(&deb_args)?;
            let s = Station::up(&run_dir(), &root().join("target/station"), &deb, vigil_guest::SETTINGS)?;
            println!("station up in {}; console: {}", s.dir().display(), s.dir().join("serial.log").display());
        }
        "make-card" => {
            let from = std::fs::canonicalize(positional()?)?;
            let name = from
                .file_name()
                .and_then(|n| n.to_str())
                .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .context("make-card: name the directory with letters, digits, - and _ only (it is the card's label)")?
                .to_owned();
            let fs = option("--fs").unwrap_or_else(|| "exfat".into());
            let size_mb: u64 = option("--size-mb").map_or(Ok(256), |v| v.parse()).context("--size-mb")?;
            let offset: i32 = option("--utc-offset").map_or(Ok(0), |v| v.parse()).context("--utc-offset")?;
            let staged = station.share().join("cards").join(&name);
            let _ = std::fs::remove_dir_all(&staged);
            std::fs::create_dir_all(staged.parent().context("cards directory")?)?;
            let copied = std::process::Command::new("cp")
                .arg("-a")
                .arg(&from)
                .arg(&staged)
                .status()
                .context("running cp")?;
            anyhow::ensure!(copied.success(), "copying {} failed", from.display());
            let image = station.make_card(&name, &fs, size_mb, offset, &[])?;
            println!("{}", image.display());
        }
        "plug-storage" => {
            let image = std::fs::canonicalize(positional()?)?;
            let id = option("--id").unwrap_or_else(|| "card1".into());
            let serial = option("--serial").unwrap_or_else(|| format!("REC-{id}"));
            station.plug_storage(&image, &id, &serial)?;
        }
        "plug-stick" => {
            let image = std::fs::canonicalize(positional()?)?;
            let id = option("--id").unwrap_or_else(|| "stick1".into());
            station.plug_stick(&image, &id)?;
        }
        "plug-dock" => {
            let socket = PathBuf::from(positional()?);
            let id = option("--id").unwrap_or_else(|| "dock1".into());
            let serial = option("--serial").unwrap_or_else(|| format!("DOCK-{id}"));
            station.plug_dock(&socket, &id, &serial)?;
        }
        "plug-usb-dock" => {
            let socket = PathBuf::from(positional()?);
            let id = option("--id").unwrap_or_else(|| "usbdock1".into());
            station.plug_usbredir(&socket, &id)?;
        }
        "unplug" => station.unplug(&positional()?)?,
        "exec" => {
            let cmd: Vec<&str> = rest
                .iter()
                .skip_while(|a| *a == "--")
                .map(String::as_str)
                .collect();
            let out = station.exec(&cmd)?;
            print!("{}", out.stdout);
            eprint!("{}", out.stderr);
            std::process::exit(out.code);
        }
        "power-cut" => station.power_cut()?,
        "boot" => {
            station.boot()?;
            station.wait_ready(Duration::from_secs(180))?;
        }
        "down" => station.down()?,
        _ => bail!(
            "usage: cargo xtask station up [--debug] | make-card DIR [--fs vfat|exfat] [--size-mb N] [--utc-offset MIN] | plug-storage IMAGE [--id ID] [--serial S] | plug-stick IMAGE [--id ID] | \
             plug-dock SOCKET [--id ID] [--serial S] | plug-usb-dock SOCKET [--id ID] | unplug ID | exec -- CMD... | power-cut | boot | down"
        ),
    }
    Ok(())
}
