//! The station's Debian 12 image: built once with `mmdebstrap` (minbase
//! and the packages below), then kept under `target/station/` in a
//! directory named by a hash of its package list and its set-up, so a
//! changed list builds a new image and an unchanged one is reused.
//!
//! The image is an ext4 file system made from the tree (`mkfs.ext4 -d`)
//! with the kernel and initrd beside it; QEMU boots the kernel directly.
//! Machines never write to it: each gets a qcow2 overlay.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::GuestError;

/// What every station guest holds besides the package's own dependencies:
/// systemd and udev as a station runs them, the kernel, the file-system
/// tools a recorder card needs, and QEMU's guest agent (how the harness
/// runs commands in the guest: there is no network).
pub const PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "udev",
    "kmod",
    "linux-image-amd64",
    "dosfstools",
    "exfatprogs",
    "util-linux",
    "procps",
    "qemu-guest-agent",
];

/// Run by mmdebstrap in the finished tree (`$1`): the root file system
/// and the 9p share in fstab, a host name, root without a password on the
/// serial console (a machine with no network), the 9p modules loaded at
/// boot.
const CUSTOMIZE: &str = r#"set -e
root="$1"
printf '%s\n' '/dev/vda / ext4 rw,errors=remount-ro 0 1' \
  'host /mnt/host 9p trans=virtio,version=9p2000.L,msize=262144,nofail 0 0' > "$root/etc/fstab"
mkdir -p "$root/mnt/host"
echo station > "$root/etc/hostname"
printf '9p\n9pnet_virtio\n' > "$root/etc/modules-load.d/vigil-station.conf"
chroot "$root" passwd -d root >/dev/null
"#;

/// A built image: root file system, kernel, initrd.
#[derive(Debug, Clone)]
pub struct Image {
    /// The ext4 root file system (raw).
    pub rootfs: PathBuf,
    /// The guest's kernel.
    pub kernel: PathBuf,
    /// Its initrd.
    pub initrd: PathBuf,
}

/// The packages a `.deb` depends on (its `Depends`, first of each set of
/// alternatives, versions dropped).
pub fn depends_of(deb: &Path) -> Result<Vec<String>, GuestError> {
    let out = run(Command::new("dpkg-deb").arg("-f").arg(deb).arg("Depends"))?;
    Ok(out
        .split(',')
        .filter_map(|d| d.split('|').next())
        .filter_map(|d| d.split_whitespace().next())
        .filter(|d| !d.is_empty())
        .map(|d| d.split(':').next().unwrap_or(d).to_owned())
        .collect())
}

/// Builds the image holding [`PACKAGES`] and `extra` under `cache`, or
/// returns the one already there.
pub fn ensure(cache: &Path, extra: &[String]) -> Result<Image, GuestError> {
    let mut packages: Vec<String> = PACKAGES.iter().map(|p| (*p).to_owned()).collect();
    packages.extend(extra.iter().cloned());
    packages.sort();
    packages.dedup();
    let mut key = Sha256::new();
    key.update(packages.join(",").as_bytes());
    key.update(CUSTOMIZE.as_bytes());
    let key: String = key.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = cache.join(format!("image-{key}"));
    let image = Image {
        rootfs: dir.join("rootfs.raw"),
        kernel: dir.join("vmlinuz"),
        initrd: dir.join("initrd.img"),
    };
    if dir.join(".complete").exists() {
        return Ok(image);
    }
    for tool in ["mmdebstrap", "mkfs.ext4", "qemu-system-x86_64", "qemu-img"] {
        if run(Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}")))
        .is_err()
        {
            return Err(GuestError::Missing(tool.to_owned()));
        }
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| GuestError::io(dir.display().to_string(), e))?;
    }
    let tree = dir.join("tree");
    std::fs::create_dir_all(&dir).map_err(|e| GuestError::io(dir.display().to_string(), e))?;
    eprintln!(
        "vigil-guest: building the station image ({} packages) in {}",
        packages.len(),
        dir.display()
    );
    run(Command::new("mmdebstrap")
        .arg("--quiet")
        .arg("--variant=minbase")
        .arg(format!("--include={}", packages.join(",")))
        .arg(format!("--customize-hook={CUSTOMIZE}"))
        .arg("bookworm")
        .arg(&tree))?;
    let boot = tree.join("boot");
    let pick = |prefix: &str| -> Result<PathBuf, GuestError> {
        std::fs::read_dir(&boot)
            .map_err(|e| GuestError::io(boot.display().to_string(), e))?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
            })
            .ok_or_else(|| GuestError::Protocol(format!("the image has no {prefix}* in /boot")))
    };
    for (from, to) in [
        (pick("vmlinuz-")?, &image.kernel),
        (pick("initrd.img-")?, &image.initrd),
    ] {
        std::fs::copy(&from, to).map_err(|e| GuestError::io(from.display().to_string(), e))?;
    }
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "station", "-d"])
        .arg(&tree)
        .arg(&image.rootfs)
        .arg("4G"))?;
    std::fs::remove_dir_all(&tree).map_err(|e| GuestError::io(tree.display().to_string(), e))?;
    std::fs::write(dir.join("packages"), packages.join("\n"))
        .and_then(|()| std::fs::write(dir.join(".complete"), b""))
        .map_err(|e| GuestError::io(dir.display().to_string(), e))?;
    Ok(image)
}

/// Runs a host command; its standard output, or an error naming it.
pub(crate) fn run(cmd: &mut Command) -> Result<String, GuestError> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| GuestError::io(shown.clone(), e))?;
    if !out.status.success() {
        return Err(GuestError::Host {
            command: shown,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
