//! The Debian package (`cargo xtask deb`): its contents, and, on a machine
//! where it may (root, no station installed already), a real `dpkg -i`,
//! `vigild` started as its own user per docs/operations.md with and without
//! its config file, and a purge that leaves the evidence in place.

use std::path::Path;
use std::process::Command;

use vigil_e2e::{describe, workspace, Vigil};

fn build_deb(out: &Path) -> std::path::PathBuf {
    build(out, &[])
}

fn build(out: &Path, extra: &[&str]) -> std::path::PathBuf {
    let done = Command::new(env!("CARGO"))
        .args([
            "run",
            "--quiet",
            "--package",
            "xtask",
            "--",
            "deb",
            "--debug",
        ])
        .args(extra)
        .arg("--out")
        .arg(out)
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "cargo xtask deb {extra:?} failed: {}",
        describe(&done)
    );
    std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb was written")
}

fn sh(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", describe(&out));
    out
}

/// Runs the installed vigild as `vigil` for a few seconds; returns whether it
/// was still running then, and its log.
#[allow(unsafe_code)] // libc calls on our own processes; each block says why it holds
fn run_vigild_briefly() -> (bool, String) {
    let mut child = Command::new("setpriv")
        .args([
            "--reuid=vigil",
            "--regid=vigil",
            "--init-groups",
            "--",
            "/usr/bin/vigild",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let alive = child.try_wait().unwrap().is_none();
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    (alive, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
#[allow(unsafe_code)] // libc calls on our own processes; each block says why it holds
fn the_debian_package_installs_a_station() {
    let v = Vigil::new();
    let out = v.scratch("deb");
    let deb = build_deb(&out);
    let contents =
        String::from_utf8_lossy(&sh(Command::new("dpkg-deb").arg("--contents").arg(&deb)).stdout)
            .into_owned();
    for want in [
        "./usr/bin/vigil",
        "./usr/bin/vigild",
        "./usr/lib/vigil/vigil-mount",
        "./lib/systemd/system/vigild.service",
        "./lib/systemd/system/vigil-mount@.service",
        "./lib/udev/rules.d/70-vigil.rules",
        "./usr/lib/sysusers.d/vigil.conf",
        "./usr/lib/tmpfiles.d/vigil.conf",
        "./etc/vigil/vigild.toml",
        "./usr/share/man/man1/vigil.1.gz",
        "./usr/share/man/man1/vigil-explain.1.gz",
        "./usr/share/man/man8/vigild.8.gz",
        "./usr/share/bash-completion/completions/vigil",
        "./usr/share/zsh/vendor-completions/_vigil",
        "./usr/share/fish/vendor_completions.d/vigil.fish",
        "./usr/share/doc/vigil/operations.md",
    ] {
        assert!(
            contents.contains(want),
            "{want} missing from the package:\n{contents}"
        );
    }
    let conffiles = sh(Command::new("dpkg-deb")
        .args(["--info"])
        .arg(&deb)
        .arg("conffiles"));
    assert_eq!(
        String::from_utf8_lossy(&conffiles.stdout).trim(),
        "/etc/vigil/vigild.toml"
    );
    let depends = sh(Command::new("dpkg-deb")
        .args(["--field"])
        .arg(&deb)
        .arg("Depends"));
    assert!(String::from_utf8_lossy(&depends.stdout).contains("libavformat"));

    // A real install, only where it cannot disturb a station.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let clean = !Path::new("/usr/bin/vigild").exists() && !Path::new("/var/lib/vigil").exists();
    if !root || !clean {
        eprintln!("SKIPPED the install: needs root and a machine without a Vigil station");
        return;
    }
    struct Purge;
    impl Drop for Purge {
        fn drop(&mut self) {
            let _ = Command::new("dpkg").args(["--purge", "vigil"]).output();
            let _ = std::fs::remove_dir_all("/var/lib/vigil");
        }
    }
    let _purge = Purge;
    sh(Command::new("dpkg").arg("-i").arg(&deb));
    sh(Command::new("getent").args(["passwd", "vigil"]));
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata("/var/lib/vigil").unwrap();
    let vigil_uid: u32 =
        String::from_utf8_lossy(&sh(Command::new("id").args(["-u", "vigil"])).stdout)
            .trim()
            .parse()
            .unwrap();
    assert_eq!((meta.mode() & 0o777, meta.uid()), (0o700, vigil_uid));
    // The unit verifies against the installed binary.
    let verify = Command::new("systemd-analyze")
        .args(["verify", "/lib/systemd/system/vigild.service"])
        .output();
    if let Ok(verify) = verify {
        let err = String::from_utf8_lossy(&verify.stderr);
        assert!(!err.contains("vigild.service:"), "{}", describe(&verify));
    }
    // Started as docs/operations.md says (as vigil, the installed config):
    // it runs, makes the store and reports status.
    let (alive, log) = run_vigild_briefly();
    assert!(alive, "vigild exited: {log}");
    assert!(Path::new("/var/lib/vigil/VIGIL-STORE").exists(), "{log}");
    assert!(
        Path::new("/var/lib/vigil/vigild.status.json").exists(),
        "{log}"
    );
    // Without its config file: the defaults, not a crash loop.
    std::fs::remove_file("/etc/vigil/vigild.toml").unwrap();
    let (alive, log) = run_vigild_briefly();
    assert!(alive, "vigild without a config file exited: {log}");
    // The man page is installed and names the exit codes.
    let page = std::fs::read("/usr/share/man/man1/vigil.1.gz").unwrap();
    assert!(page.len() > 100);
    // Purge: the package goes, the evidence stays.
    sh(Command::new("dpkg").args(["--purge", "vigil"]));
    assert!(!Path::new("/usr/bin/vigild").exists());
    assert!(
        Path::new("/var/lib/vigil/VIGIL-STORE").exists(),
        "the store is kept"
    );
}

/// The agency centre's package (`cargo xtask deb --centre`): the binary,
/// its hardened unit, its configuration as a conffile, its service user;
/// the binary in it runs.
#[test]
fn the_centre_has_a_debian_package_of_its_own() {
    let v = Vigil::new();
    let out = v.scratch("deb-centre");
    let deb = build(&out, &["--centre"]);
    assert!(deb
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("vigil-centre_"));
    let contents =
        String::from_utf8_lossy(&sh(Command::new("dpkg-deb").arg("--contents").arg(&deb)).stdout)
            .into_owned();
    for want in [
        "./usr/bin/vigil-centre",
        "./lib/systemd/system/vigil-centre.service",
        "./etc/vigil/centre.toml",
        "./usr/lib/sysusers.d/vigil-centre.conf",
        "./usr/share/doc/vigil-centre/operations.md",
    ] {
        assert!(contents.contains(want), "{want} missing:\n{contents}");
    }
    let info =
        String::from_utf8_lossy(&sh(Command::new("dpkg-deb").arg("--info").arg(&deb)).stdout)
            .into_owned();
    assert!(info.contains("Package: vigil-centre"), "{info}");
    assert!(info.contains("Recommends: postgresql"), "{info}");
    let conffiles = String::from_utf8_lossy(
        &sh(Command::new("dpkg-deb")
            .arg("--info")
            .arg(&deb)
            .arg("conffiles"))
        .stdout,
    )
    .into_owned();
    assert_eq!(
        conffiles.trim(),
        "/etc/vigil/centre.toml",
        "the configuration is a conffile"
    );
    let x = v.scratch("deb-centre-x");
    sh(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    let help = sh(Command::new(x.join("usr/bin/vigil-centre")).arg("--help"));
    assert!(String::from_utf8_lossy(&help.stdout).contains("station"));
    // The example configuration is one vigil-centre reads.
    let toml = std::fs::read_to_string(x.join("etc/vigil/centre.toml")).unwrap();
    assert!(toml.contains("database = "), "{toml}");
}
