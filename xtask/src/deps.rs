//! Installs what the build and the tests need on a fresh Debian machine:
//! FFmpeg and its -dev libraries, clang for bindgen, libusb, libudev,
//! socat, Chromium; for the tests also Firefox ESR, and b3sum and
//! geckodriver from crates.io. Nothing is done when everything is present.

use std::process::Command;

use anyhow::{bail, Result};

/// Debian packages the workspace needs.
pub const PACKAGES: &[&str] = &[
    "ffmpeg",
    "libavformat-dev",
    "libavcodec-dev",
    "libavutil-dev",
    "libswscale-dev",
    "libswresample-dev",
    "libavfilter-dev",
    "libavdevice-dev",
    "pkg-config",
    "clang",
    "libusb-1.0-0-dev",
    "libudev-dev",
    "socat",
    "sqlite3",
    "xorriso",
    "chromium",
    "chromium-driver",
    "fonts-noto-cjk",
    "poppler-utils",
    "e2fsprogs",
];

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Installs `b3sum` (BLAKE3's reference CLI, used by the export tests to
/// check packages with a standard tool) with cargo when it is missing.
pub fn ensure_b3sum() -> Result<()> {
    if Command::new("b3sum")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(());
    }
    crate::run(crate::cargo().args(["install", "--locked", "--quiet", "b3sum"]))
}

/// Debian packages only the tests need: the second browser the desk is
/// tested in (its WebDriver server, geckodriver, comes from crates.io), the
/// SMTP server the station's notices are sent to (aiosmtpd), and the
/// PostgreSQL the agency centre's tests make throwaway clusters of, and
/// `ip` for the network namespaces their stations live in.
pub const TEST_PACKAGES: &[&str] = &[
    "firefox-esr",
    "python3-aiosmtpd",
    "postgresql",
    "postgresql-contrib",
    "iproute2",
];

/// Installs `geckodriver` (Mozilla's WebDriver server for Firefox, which
/// Debian does not package) with cargo when it is missing.
pub fn ensure_geckodriver() -> Result<()> {
    if Command::new("geckodriver")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(());
    }
    crate::run(crate::cargo().args(["install", "--locked", "--quiet", "geckodriver"]))
}

/// The axe-core release the desk's accessibility checks run in the
/// browsers (from the npm registry).
pub const AXE_CORE: &str = "4.14.1";

/// Fetches axe-core's browser script into `target/axe/axe.min.js` (with
/// npm, installed from Debian when missing) unless it is there.
pub fn ensure_axe() -> Result<()> {
    let dir = crate::root().join("target/axe");
    let script = dir.join("axe.min.js");
    let stamp = dir.join("VERSION");
    if script.exists() && std::fs::read_to_string(&stamp).is_ok_and(|v| v.trim() == AXE_CORE) {
        return Ok(());
    }
    if !Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        install(&["npm"])?;
    }
    std::fs::create_dir_all(&dir)?;
    crate::run(
        Command::new("npm")
            .args(["pack", "--silent", &format!("axe-core@{AXE_CORE}")])
            .current_dir(&dir),
    )?;
    let tarball = dir.join(format!("axe-core-{AXE_CORE}.tgz"));
    crate::run(
        Command::new("tar")
            .args(["-xzf"])
            .arg(&tarball)
            .args(["--strip-components=1", "package/axe.min.js"])
            .current_dir(&dir),
    )?;
    std::fs::remove_file(&tarball)?;
    std::fs::write(&stamp, AXE_CORE)?;
    Ok(())
}

/// Installs what the tests need beyond [`ensure`]: [`TEST_PACKAGES`],
/// `b3sum`, `geckodriver` and axe-core.
pub fn ensure_test_tools() -> Result<()> {
    install(TEST_PACKAGES)?;
    ensure_b3sum()?;
    ensure_geckodriver()?;
    ensure_axe()
}

/// What the station guest needs on the host: mmdebstrap to build the
/// image, and QEMU. Debian 12's `qemu-system-x86` conflicts with the
/// `qemu-utils` from bookworm-backports that such machines often carry,
/// so QEMU comes from bookworm-backports (the source is added, in a file
/// of its own, when apt has none for that suite).
pub fn ensure_station_tools() -> Result<()> {
    install(&["mmdebstrap", "e2fsprogs", "exfatprogs"])?;
    if installed("qemu-system-x86") && installed("qemu-utils") {
        return Ok(());
    }
    let listed = Command::new("sh")
        .args([
            "-c",
            "grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !listed {
        std::fs::write(
            "/etc/apt/sources.list.d/vigil-bookworm-backports.sources",
            "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\n\
             Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
        )?;
    }
    let mut c = Command::new("apt-get");
    c.env("DEBIAN_FRONTEND", "noninteractive");
    crate::run(c.args(["update", "-qq"]))?;
    let mut c = Command::new("apt-get");
    c.env("DEBIAN_FRONTEND", "noninteractive");
    crate::run(c.args([
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "-t",
        "bookworm-backports",
        "qemu-system-x86",
        "qemu-utils",
    ]))
}

/// Installs the missing packages of [`PACKAGES`] with apt-get (as root, or
/// through sudo).
pub fn ensure() -> Result<()> {
    install(PACKAGES)
}

/// Installs `packages` (Debian) that are missing.
pub fn install_packages(packages: &[&str]) -> Result<()> {
    install(packages)
}

#[allow(unsafe_code)] // libc calls on our own processes; each block says why it holds
fn install(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let apt = |args: &[&str]| -> Result<()> {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        crate::run(&mut c)
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    apt(&args)?;
    let still: Vec<&str> = missing.into_iter().filter(|p| !installed(p)).collect();
    if !still.is_empty() {
        bail!("could not install: {}", still.join(" "));
    }
    Ok(())
}
