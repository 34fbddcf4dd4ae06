//! A station under test: the Debian 12 image ([`image`]) booted with
//! `qemu-system-x86_64 -accel tcg` (q35, an xHCI controller for hot-plug,
//! the serial console to `serial.log`, QMP and the guest agent on Unix
//! sockets, a 9p share at `/mnt/host`, no network), with the `.deb`
//! installed as docs/operations.md tells an administrator and `vigild`
//! running under the guest's systemd.
//!
//! A station lives in a run directory (`qemu.pid`, the sockets, the
//! console log, its qcow2 overlay over the cached image, the share), so
//! that one process can start it and others drive it (`cargo xtask
//! station ...`). Recorders are plugged as QEMU `usb-storage` devices
//! (46f4:0001) backed by card images, docks as `usb-serial` (FTDI
//! 0403:6001) on a Unix socket that `dock-sim` serves.

pub mod exfat;
pub mod image;
mod qapi;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

pub use image::Image;
use qapi::Qapi;

/// What went wrong driving the guest.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// A host file, socket or process could not be used.
    #[error("{what}: {source}")]
    Io {
        /// What was being used.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// A host command failed.
    #[error("{command} failed ({status}): {stderr}")]
    Host {
        /// The command.
        command: String,
        /// Its exit status.
        status: String,
        /// What it said.
        stderr: String,
    },
    /// A host tool the harness needs is not installed.
    #[error("{0} is not installed (cargo xtask test installs it)")]
    Missing(String),
    /// QEMU or the guest agent refused a command.
    #[error("{command} refused: {reason}")]
    Refused {
        /// The command.
        command: String,
        /// QEMU's reason.
        reason: String,
    },
    /// Something that should have happened did not, in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// An answer the harness cannot read.
    #[error("{0}")]
    Protocol(String),
}

impl GuestError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

/// A command's outcome in the guest.
#[derive(Debug, Clone)]
pub struct Output {
    /// Its exit code (128 + N when killed by signal N).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Standard output, after failing with everything the command said
    /// when it did not exit 0.
    pub fn ok(self, what: &str) -> Result<String, GuestError> {
        if self.code == 0 {
            Ok(self.stdout)
        } else {
            Err(GuestError::Protocol(format!(
                "{what} exited {} in the guest: {}{}",
                self.code, self.stdout, self.stderr
            )))
        }
    }
}

/// How long a boot may take to reach the guest agent under TCG.
pub const BOOT_WAIT: Duration = Duration::from_secs(180);

/// A station guest, by its run directory.
#[derive(Debug, Clone)]
pub struct Station {
    dir: PathBuf,
}

impl Station {
    /// The station whose run directory is `dir` (made by [`Station::create`]).
    pub fn at(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    /// A new station in `dir` on `image`: a fresh overlay (the image itself
    /// never changes) and an empty share. Not booted.
    pub fn create(dir: &Path, image: &Image) -> Result<Self, GuestError> {
        let s = Self::at(dir);
        if s.running() {
            return Err(GuestError::Protocol(format!(
                "a station is already running in {}",
                dir.display()
            )));
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .map_err(|e| GuestError::io(dir.display().to_string(), e))?;
        }
        std::fs::create_dir_all(s.share())
            .map_err(|e| GuestError::io(dir.display().to_string(), e))?;
        image::run(
            Command::new("qemu-img")
                .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
                .arg(&image.rootfs)
                .arg(s.dir.join("overlay.qcow2"))
                // Room to grow the 4 GiB root file system into (resize2fs
                // in the guest), for recordings larger than that.
                .arg("16G"),
        )?;
        for (name, path) in [("kernel", &image.kernel), ("initrd", &image.initrd)] {
            std::os::unix::fs::symlink(path, s.dir.join(name))
                .map_err(|e| GuestError::io(name, e))?;
        }
        Ok(s)
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The host side of the guest's `/mnt/host`.
    pub fn share(&self) -> PathBuf {
        self.dir.join("share")
    }

    /// The guest's serial console so far.
    pub fn console(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("serial.log")).unwrap_or_default())
            .into_owned()
    }

    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.join("qemu.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Whether the machine is running.
    pub fn running(&self) -> bool {
        // The pid file's process, if it is still this station's QEMU (a
        // pid file left by a machine that died may name anything now).
        self.pid().is_some_and(|p| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|cmd| {
                let dir = self.dir.display().to_string();
                cmd.starts_with(b"qemu-system")
                    && cmd.windows(dir.len()).any(|w| w == dir.as_bytes())
            })
        })
    }

    /// Powers the machine on (QEMU in the background) and waits until the
    /// guest agent answers.
    pub fn boot(&self) -> Result<(), GuestError> {
        if self.running() {
            return Err(GuestError::Protocol(
                "the station is already running".into(),
            ));
        }
        let d = |name: &str| self.dir.join(name).display().to_string();
        let _ = std::fs::remove_file(self.dir.join("qemu.pid"));
        image::run(
            Command::new("qemu-system-x86_64")
                .args([
                    "-accel", "tcg", "-machine", "q35", "-m", "1536", "-smp", "2",
                ])
                .args(["-display", "none", "-daemonize", "-nic", "none"])
                .args(["-pidfile", &d("qemu.pid")])
                .args(["-kernel", &d("kernel"), "-initrd", &d("initrd")])
                .args(["-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0"])
                .args([
                    "-drive",
                    &format!(
                        // Zeros written are kept as zero clusters, not
                        // data: a recording of zeros gigabytes long
                        // costs the host's disk nothing.
                        "file={},if=virtio,format=qcow2,cache=writeback,discard=unmap,detect-zeroes=unmap",
                        d("overlay.qcow2")
                    ),
                ])
                .args(["-device", "qemu-xhci,id=xhci"])
                .args([
                    "-chardev",
                    &format!("socket,id=qga,path={},server=on,wait=off", d("qga.sock")),
                ])
                .args([
                    "-device",
                    "virtio-serial-pci",
                    "-device",
                    "virtserialport,chardev=qga,name=org.qemu.guest_agent.0",
                ])
                .args([
                    "-qmp",
                    &format!("unix:{},server=on,wait=off", d("qmp.sock")),
                ])
                .args(["-serial", &format!("file:{}", d("serial.log"))])
                .args([
                    "-virtfs",
                    &format!(
                        "local,path={},mount_tag=host,security_model=none,id=host",
                        d("share")
                    ),
                ])
                .args(self.coldplug_args()),
        )?;
        Qapi::qga(&self.dir.join("qga.sock"), BOOT_WAIT).map(drop)
    }

    /// Builds or reuses the image for `deb`, boots a fresh station on it,
    /// installs the package as docs/operations.md says (`apt install` of
    /// the file, the settings in `/etc/vigil/vigild.toml`, `systemctl
    /// enable --now vigild`) and waits until vigild is ready.
    pub fn up(dir: &Path, cache: &Path, deb: &Path, settings: &str) -> Result<Self, GuestError> {
        Self::install(dir, cache, deb, settings, false)
    }

    /// [`Station::up`] with a network card on QEMU's user network: the
    /// guest is `10.0.2.15/24` on `eth0` (systemd-networkd) and reaches
    /// the host's loopback as `10.0.2.2`. Only this station's own
    /// processes can reach the guest: nothing is forwarded into it.
    pub fn up_networked(
        dir: &Path,
        cache: &Path,
        deb: &Path,
        settings: &str,
    ) -> Result<Self, GuestError> {
        Self::install(dir, cache, deb, settings, true)
    }

    fn install(
        dir: &Path,
        cache: &Path,
        deb: &Path,
        settings: &str,
        network: bool,
    ) -> Result<Self, GuestError> {
        let image = image::ensure(cache, &image::depends_of(deb)?)?;
        let s = Self::create(dir, &image)?;
        if network {
            s.remember(json!({ "kind": "nic", "id": "net0" }))?;
        }
        std::fs::copy(deb, s.share().join("vigil.deb"))
            .map_err(|e| GuestError::io(deb.display().to_string(), e))?;
        std::fs::write(s.share().join("vigild.toml"), settings)
            .map_err(|e| GuestError::io("settings", e))?;
        s.boot()?;
        if network {
            s.sh("mkdir -p /etc/systemd/network && \
                  printf '[Match]\\nName=eth0\\n[Network]\\nAddress=10.0.2.15/24\\nGateway=10.0.2.2\\n' \
                    > /etc/systemd/network/80-host.network && \
                  systemctl restart systemd-networkd")?
                .ok("bringing the network up")?;
        }
        s.sh("cp /mnt/host/vigil.deb /tmp/ && apt-get install -y -q /tmp/vigil.deb")?
            .ok("installing the package")?;
        s.sh("install -m 0644 /mnt/host/vigild.toml /etc/vigil/vigild.toml && systemctl enable --now vigild")?
            .ok("starting vigild")?;
        s.wait_ready(Duration::from_secs(120))?;
        Ok(s)
    }

    /// Waits until vigild answers on its socket.
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), GuestError> {
        let start = Instant::now();
        loop {
            let o = self.sh("systemctl is-active vigild && vigil status --json >/dev/null")?;
            if o.code == 0 {
                return Ok(());
            }
            if start.elapsed() > timeout {
                let log = self
                    .sh("journalctl -u vigild --no-pager | tail -40")?
                    .stdout;
                return Err(GuestError::Timeout(format!(
                    "vigild was not ready after {} s: {}\n{log}",
                    timeout.as_secs(),
                    o.stdout
                )));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Runs `argv` in the guest as root and waits for it (at most
    /// `timeout`).
    pub fn exec_with(&self, argv: &[&str], timeout: Duration) -> Result<Output, GuestError> {
        let (path, args) = argv
            .split_first()
            .ok_or_else(|| GuestError::Protocol("no command given".into()))?;
        let mut qga = Qapi::qga(&self.dir.join("qga.sock"), Duration::from_secs(30))?;
        let r = qga.execute(
            "guest-exec",
            json!({ "path": path, "arg": args, "capture-output": true }),
        )?;
        let pid = r["pid"].clone();
        let start = Instant::now();
        loop {
            let st = qga.execute("guest-exec-status", json!({ "pid": pid }))?;
            if st["exited"] == true {
                let text = |k: &str| {
                    let b = base64::engine::general_purpose::STANDARD
                        .decode(st[k].as_str().unwrap_or(""))
                        .unwrap_or_default();
                    String::from_utf8_lossy(&b).into_owned()
                };
                let code = st["exitcode"]
                    .as_i64()
                    .or_else(|| st["signal"].as_i64().map(|s| 128 + s))
                    .unwrap_or(-1);
                return Ok(Output {
                    code: i32::try_from(code).unwrap_or(-1),
                    stdout: text("out-data"),
                    stderr: text("err-data"),
                });
            }
            if start.elapsed() > timeout {
                return Err(GuestError::Timeout(format!(
                    "{argv:?} still running after {} s",
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// [`Station::exec_with`] with a ten-minute limit.
    pub fn exec(&self, argv: &[&str]) -> Result<Output, GuestError> {
        self.exec_with(argv, Duration::from_secs(600))
    }

    /// Runs a shell script in the guest.
    pub fn sh(&self, script: &str) -> Result<Output, GuestError> {
        self.exec(&["/bin/sh", "-c", script])
    }

    fn qmp(&self) -> Result<Qapi, GuestError> {
        Qapi::qmp(&self.dir.join("qmp.sock"))
    }

    /// The devices plugged in now: they stay plugged across a power cut
    /// and are there when the machine boots again (coldplug).
    fn plugged(&self) -> Vec<serde_json::Value> {
        std::fs::read(self.dir.join("plugged.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn set_plugged(&self, list: &[serde_json::Value]) -> Result<(), GuestError> {
        std::fs::write(
            self.dir.join("plugged.json"),
            serde_json::to_vec_pretty(list).unwrap_or_default(),
        )
        .map_err(|e| GuestError::io("plugged.json", e))
    }

    fn remember(&self, device: serde_json::Value) -> Result<(), GuestError> {
        let mut list = self.plugged();
        list.push(device);
        self.set_plugged(&list)
    }

    /// QEMU command-line arguments that plug, at power-on, what is plugged.
    fn coldplug_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for d in self.plugged() {
            let s = |k: &str| d[k].as_str().unwrap_or("").replace(',', ",,");
            let id = s("id");
            let backing = format!(
                "driver=raw,node-name=card-{id},file.driver=file,file.filename={}",
                s("image")
            );
            match d["kind"].as_str() {
                Some("storage") => args.extend([
                    "-blockdev".into(),
                    backing,
                    "-device".into(),
                    format!(
                        "usb-storage,bus=xhci.0,id={id},drive=card-{id},serial={},removable=on",
                        s("serial")
                    ),
                ]),
                Some("stick") => args.extend([
                    "-blockdev".into(),
                    backing,
                    "-device".into(),
                    format!("usb-uas,bus=xhci.0,id={id}"),
                    "-device".into(),
                    format!("scsi-hd,bus={id}.0,drive=card-{id}"),
                ]),
                Some("dock") => args.extend([
                    "-chardev".into(),
                    format!("socket,id=dock-{id},path={},reconnect-ms=500", s("socket")),
                    "-device".into(),
                    format!(
                        "usb-serial,bus=xhci.0,id={id},chardev=dock-{id},serial={}",
                        s("serial")
                    ),
                ]),
                Some("nic") => args.extend([
                    "-netdev".into(),
                    format!("user,id={id}"),
                    "-device".into(),
                    format!("virtio-net-pci,netdev={id}"),
                ]),
                Some("usbredir") => args.extend([
                    "-chardev".into(),
                    format!("socket,id=dock-{id},path={},reconnect-ms=500", s("socket")),
                    "-device".into(),
                    format!("usb-redir,bus=xhci.0,id={id},chardev=dock-{id}"),
                ]),
                _ => {}
            }
        }
        args
    }

    /// Makes a recorder card at `share/cards/NAME.img` holding the tree
    /// under `share/cards/NAME/` (the caller puts it there), formatted
    /// `fs` (`vfat` is FAT32, or `exfat`) by the guest's own tools and
    /// written through its kernel's driver on a loop device, as a recorder
    /// whose clock is `utc_offset_min` minutes ahead of UTC would write it
    /// (FAT keeps local time). Modification times are kept. Each of
    /// `zeros` (a path on the card and a size in MiB) is written there too,
    /// zero-filled by the guest (large files without moving them over 9p).
    pub fn make_card(
        &self,
        name: &str,
        fs: &str,
        size_mb: u64,
        utc_offset_min: i32,
        zeros: &[(&str, u64)],
    ) -> Result<PathBuf, GuestError> {
        let mkfs = match fs {
            "vfat" => format!("mkfs.vfat -F 32 -n {name}"),
            "exfat" => format!("mkfs.exfat -L {name}"),
            other => {
                return Err(GuestError::Protocol(format!(
                    "no card file system {other:?}"
                )))
            }
        };
        let big: String = zeros
            .iter()
            .map(|(path, mb)| format!("mkdir -p \"$(dirname \"$w/{path}\")\"; head -c {mb}M /dev/zero > \"$w/{path}\"; "))
            .collect();
        let script = format!(
            "set -e; img=/mnt/host/cards/{name}.img; rm -f $img; truncate -s {size_mb}M $img; \
             dev=$(losetup --show -f $img); {mkfs} $dev >/dev/null; w=$(mktemp -d); \
             mount -o time_offset={utc_offset_min} $dev $w; cp -r --preserve=timestamps /mnt/host/cards/{name}/. $w/; \
             {big}umount $w; losetup -d $dev; rmdir $w"
        );
        self.sh(&script)?.ok("making a card")?;
        Ok(self.share().join("cards").join(format!("{name}.img")))
    }

    /// Plugs a USB mass-storage device backed by the card image `image`
    /// (46f4:0001, serial `serial`) as device `id`.
    pub fn plug_storage(&self, image: &Path, id: &str, serial: &str) -> Result<(), GuestError> {
        let mut q = self.qmp()?;
        q.execute(
            "blockdev-add",
            json!({ "driver": "raw", "node-name": format!("card-{id}"),
                    "file": { "driver": "file", "filename": image.display().to_string() } }),
        )?;
        q.execute(
            "device_add",
            json!({ "driver": "usb-storage", "bus": "xhci.0", "id": id,
                    "drive": format!("card-{id}"), "serial": serial, "removable": true }),
        )?;
        self.remember(json!({ "kind": "storage", "id": id, "image": image, "serial": serial }))
    }

    /// Puts a USB stick that is no recorder model in a port of the
    /// powered-off machine: QEMU's USB attached SCSI device (46f4:0003,
    /// mass storage) backed by `image`, there from the next boot on.
    /// (Hot-plugged, QEMU attaches that device at full speed, which it
    /// does not support, and the guest never sees it.)
    pub fn plug_stick(&self, image: &Path, id: &str) -> Result<(), GuestError> {
        if self.running() {
            return Err(GuestError::Protocol(
                "a stick goes in while the station is off (QEMU cannot hot-plug its UAS device); power it off, plug, boot".into(),
            ));
        }
        self.remember(json!({ "kind": "stick", "id": id, "image": image }))
    }

    /// Plugs a USB serial adapter (FTDI 0403:6001, serial `serial`) whose
    /// other end is the Unix socket `socket` (where `dock-sim` listens).
    pub fn plug_dock(&self, socket: &Path, id: &str, serial: &str) -> Result<(), GuestError> {
        self.plug_socket_device(
            socket,
            json!({ "driver": "usb-serial", "bus": "xhci.0", "id": id,
                    "chardev": format!("dock-{id}"), "serial": serial }),
        )?;
        self.remember(json!({ "kind": "dock", "id": id, "socket": socket, "serial": serial }))
    }

    /// Plugs a USB device whose other end is the Unix socket `socket`
    /// speaking usbredir (QEMU's `usb-redir`; `dock-sim --usbredir
    /// SOCKET` presents the reference dock 1209:7d01 with bulk endpoints).
    pub fn plug_usbredir(&self, socket: &Path, id: &str) -> Result<(), GuestError> {
        self.plug_socket_device(
            socket,
            json!({ "driver": "usb-redir", "bus": "xhci.0", "id": id,
                    "chardev": format!("dock-{id}") }),
        )?;
        self.remember(json!({ "kind": "usbredir", "id": id, "socket": socket }))
    }

    /// Connects chardev `dock-ID` to `socket` and adds `device` (whose
    /// `id` is ID) on it.
    fn plug_socket_device(&self, socket: &Path, device: Value) -> Result<(), GuestError> {
        let id = device["id"].as_str().unwrap_or_default();
        let mut q = self.qmp()?;
        q.execute(
            "chardev-add",
            json!({ "id": format!("dock-{id}"), "backend": { "type": "socket", "data": {
                "addr": { "type": "unix", "data": { "path": socket.display().to_string() } },
                "server": false } } }),
        )?;
        q.execute("device_add", device)?;
        Ok(())
    }

    /// Pulls device `id` out and releases what backed it.
    pub fn unplug(&self, id: &str) -> Result<(), GuestError> {
        let mut q = self.qmp()?;
        q.execute("device_del", json!({ "id": id }))?;
        q.wait_event("DEVICE_DELETED", "device", id, Duration::from_secs(30))?;
        let _ = q.execute("blockdev-del", json!({ "node-name": format!("card-{id}") }));
        let _ = q.execute("chardev-remove", json!({ "id": format!("dock-{id}") }));
        let list: Vec<_> = self
            .plugged()
            .into_iter()
            .filter(|d| d["id"] != id)
            .collect();
        self.set_plugged(&list)
    }

    /// Cuts the power: QEMU is killed, nothing in the guest is told.
    #[allow(unsafe_code)] // libc calls on our own processes; each block says why it holds
    pub fn power_cut(&self) -> Result<(), GuestError> {
        let Some(pid) = self.pid() else {
            return Ok(());
        };
        // SAFETY: SIGKILL to the QEMU process this station started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let start = Instant::now();
        while self.running() {
            if start.elapsed() > Duration::from_secs(10) {
                return Err(GuestError::Timeout("QEMU did not die".into()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_file(self.dir.join("qemu.pid"));
        Ok(())
    }

    /// Shuts the machine down: the guest is asked to power off, and QEMU is
    /// killed if it has not gone within a minute. The run directory stays
    /// (its console log is evidence of what happened).
    pub fn down(&self) -> Result<(), GuestError> {
        if !self.running() {
            return Ok(());
        }
        if let Ok(mut q) = self.qmp() {
            let _ = q.execute("system_powerdown", json!({}));
        }
        let start = Instant::now();
        while self.running() && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(200));
        }
        self.power_cut()?;
        let _ = std::fs::remove_file(self.dir.join("overlay.qcow2"));
        Ok(())
    }
}

/// The station settings a guest runs with: QEMU's emulated USB
/// mass-storage device (46f4:0001) is a recorder model and its FTDI serial
/// adapter (0403:6001) a dock model, allowed through the station's own
/// configuration as an administrator would allow a new model.
pub const SETTINGS: &str =
    "# A station under test: QEMU's USB devices are its recorders and docks.\n\
recorder_usb_ids = [\"46f4:0001\"]\n\
dock_usb_ids = [\"0403:6001\"]\n";
