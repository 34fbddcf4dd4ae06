//! The installed station in a Debian 12 guest (`tests/guest`): the `.deb`
//! installed with apt as docs/operations.md says, `vigild` under the
//! guest's systemd, recorders and docks hot-plugged on QEMU's xHCI bus,
//! the power cut by killing QEMU. Each test boots its own station from the
//! cached image (`target/station/image-*`); they run one at a time (two
//! cores, TCG). The package is `VIGIL_STATION_DEB`, or `cargo xtask deb
//! --debug` built here.

mod cards;
mod centre;
mod dock;
mod power;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::Digest;
use vigil_guest::Station;

/// One guest at a time: each takes both cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The package under test.
fn deb() -> PathBuf {
    static DEB: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DEB.get_or_init(|| {
        if let Some(p) = std::env::var_os("VIGIL_STATION_DEB") {
            return PathBuf::from(p);
        }
        let ok = std::process::Command::new(env!("CARGO"))
            .args([
                "run", "--quiet", "-p", "xtask", "--", "deb", "--debug", "--out",
            ])
            .arg(workspace().join("target/station/deb"))
            .current_dir(workspace())
            .status()
            .unwrap()
            .success();
        assert!(ok, "cargo xtask deb failed");
        std::fs::read_dir(workspace().join("target/station/deb"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .expect("a .deb")
    })
    .clone()
}

/// A running station that is shut down when dropped (its run directory,
/// with the console log, stays for the post-mortem; its share stays only
/// when the test failed).
struct Up {
    station: Station,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl std::ops::Deref for Up {
    type Target = Station;
    fn deref(&self) -> &Station {
        &self.station
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(o) = self.station.sh("journalctl -b --no-pager -o short-monotonic -u vigild -u 'vigil-mount@*' | tail -80") {
                eprintln!("--- the guest's journal ---\n{}", o.stdout);
            }
        }
        let _ = self.station.down();
        // A station that passed leaves its console log; its cards and
        // the package copy (the disk a CI machine has little of) go.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(self.station.share());
        }
    }
}

/// Boots a fresh station named `name` with the package installed.
fn up(name: &str) -> Up {
    up_with(name, Station::up)
}

/// [`up`] with a network to the host ([`Station::up_networked`]).
fn up_networked(name: &str) -> Up {
    up_with(name, Station::up_networked)
}

type Install = fn(&Path, &Path, &Path, &str) -> Result<Station, vigil_guest::GuestError>;

fn up_with(name: &str, install: Install) -> Up {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = workspace()
        .join("target/station")
        .join(format!("test-{name}"));
    // A station an interrupted run of this test left running is its own.
    let _ = Station::at(&dir).down();
    let station = install(
        &dir,
        &workspace().join("target/station"),
        &deb(),
        vigil_guest::SETTINGS,
    )
    .unwrap_or_else(|e| panic!("station {name}: {e}"));
    Up {
        station,
        _turn: turn,
    }
}

/// Runs a shell script in the guest; its output, failing the test when it
/// fails.
fn sh(s: &Station, script: &str) -> String {
    let o = s.sh(script).unwrap();
    assert_eq!(o.code, 0, "{script}: {}{}", o.stdout, o.stderr);
    o.stdout
}

/// A JSON command's output in the guest.
fn json(s: &Station, script: &str) -> Value {
    let out = sh(s, script);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{script}: {e}: {out}"))
}

/// Waits until `check` holds (polling the guest), or fails saying what
/// was awaited.
fn wait_for(s: &Station, what: &str, timeout: Duration, mut check: impl FnMut(&Station) -> bool) {
    let start = Instant::now();
    while !check(s) {
        assert!(
            start.elapsed() < timeout,
            "{what}: not after {} s\n{}",
            timeout.as_secs(),
            sh(s, "vigil status; journalctl -u vigild -u 'vigil-mount@*' -o cat --no-pager | tail -30")
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The status board's entry for the recorder with this serial.
fn recorder(s: &Station, serial: &str) -> Option<Value> {
    let board = json(s, "vigil status --json");
    board["recorders"]
        .as_object()?
        .values()
        .find(|r| r["serial"] == serial)
        .cloned()
}

/// Waits until the recorder with this serial is done.
fn wait_done(s: &Station, serial: &str) {
    wait_for(
        s,
        &format!("{serial} ingested"),
        Duration::from_secs(600),
        |s| recorder(s, serial).is_some_and(|r| r["state"] == "done"),
    );
}

/// The clips in the store, by path on the recorder.
fn clips(s: &Station) -> Vec<Value> {
    json(s, "vigil clips --json")["clips"]
        .as_array()
        .unwrap()
        .clone()
}

fn sha256_file(p: &Path) -> String {
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(p).unwrap(), &mut h).unwrap();
    format!("{:x}", h.finalize())
}

/// Mounts under the station's mount root, as /proc/mounts lists them.
fn media_mounts(s: &Station) -> Vec<String> {
    sh(s, "grep ' /run/vigil/media/' /proc/mounts || true")
        .lines()
        .map(str::to_owned)
        .collect()
}
