//! The end-to-end test harness: runs the real `vigil` binary against real
//! directories, a real SQLite index and FFmpeg-made fixtures.
//!
//! The binaries are built once per test process with the same cargo that
//! runs the tests; fixtures come from `fixtures/make-fixtures.sh`.

pub mod agency;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// Path of a workspace binary, built on first use.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--bins",
                "--workspace",
                "--exclude",
                "xtask",
            ])
            .current_dir(workspace())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the workspace binaries failed");
        let exe = std::env::current_exe().expect("current exe");
        // target/<profile>/deps/e2e-<hash> -> target/<profile>
        exe.parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_owned()
    });
    dir.join(name)
}

/// The generated fixture tree (made on first use).
pub fn fixtures() -> PathBuf {
    static MADE: OnceLock<PathBuf> = OnceLock::new();
    MADE.get_or_init(|| {
        let script = workspace().join("fixtures/make-fixtures.sh");
        let status = Command::new("bash")
            .arg(&script)
            .status()
            .expect("bash runs");
        assert!(status.success(), "{} failed", script.display());
        workspace().join("fixtures/generated")
    })
    .clone()
}

/// A fresh store in a temp directory, and the means to run `vigil` on it.
#[derive(Debug)]
pub struct Vigil {
    /// Holds the temp directory alive.
    pub dir: tempfile::TempDir,
    /// With `VIGIL_E2E_DOOR=daemon`: the vigild every command goes through.
    daemon: std::sync::OnceLock<(Vigild, tempfile::TempDir)>,
}

impl Default for Vigil {
    fn default() -> Self {
        Self::new()
    }
}

impl Vigil {
    /// A new, empty store.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            daemon: std::sync::OnceLock::new(),
        }
    }

    /// The store directory.
    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// A scratch directory beside the store.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).expect("mkdir");
        p
    }

    /// Whether commands go through a vigild (`VIGIL_E2E_DOOR=daemon`).
    pub fn through_daemon(&self) -> bool {
        std::env::var_os("VIGIL_E2E_DOOR").is_some_and(|d| d == "daemon")
    }

    /// A `vigil` command on this store: in-process on it; through the
    /// socket of a vigild a test started on it; or, with
    /// `VIGIL_E2E_DOOR=daemon` (the second pass of `cargo xtask test`),
    /// through a vigild serving it, started on first use.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin("vigil"));
        c.env_remove("VIGIL_FAILPOINT");
        if self.through_daemon() {
            let (d, _) = self.daemon.get_or_init(|| {
                // Its log and socket live apart from the test's directory,
                // which some tests list.
                let dir = tempfile::tempdir().expect("temp dir");
                let d = Vigild::start(&self.store(), &dir.path().join("vigild.log"), &[]);
                d.wait_for_socket();
                (d, dir)
            });
            c.arg("--socket").arg(&d.socket);
        } else if let Some(socket) =
            vigil_store::served::served_by(&self.store()).and_then(|s| s.socket)
        {
            // A vigild a test started serves the store: the CLI refuses
            // to open it in-process, so go through its socket, as a user
            // would.
            c.arg("--socket").arg(socket);
        } else {
            c.arg("--store").arg(self.store());
        }
        c
    }

    /// Sets `user`'s desk password (`vigil user passwd`, read from stdin).
    pub fn passwd(&self, user: &str, password: &str) {
        use std::io::Write as _;
        let mut child = self
            .cmd()
            .args(["user", "passwd", user])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("vigil runs");
        writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write the password");
        let out = child.wait_with_output().expect("vigil runs");
        assert!(out.status.success(), "{}", describe(&out));
    }

    /// Runs `vigil ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("vigil runs")
    }

    /// Runs `vigil ARGS`, expects success, returns stdout parsed as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "vigil {args:?} failed: {}",
            describe(&out)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("vigil {args:?}: bad JSON ({e}): {}", describe(&out)))
    }

    /// Ingests the `recorder-seq` fixture (its recordings made on 20
    /// November 2026) with `extra` files added (path under the card, bytes)
    /// as recorder BWC002 of officer 1002.
    pub fn ingest_seq_with(&self, extra: &[(&str, &[u8])]) {
        let rec = self.scratch("recorder-seq");
        copy_tree(&fixtures().join("recorder-seq"), &rec);
        for (path, bytes) in extra {
            std::fs::write(rec.join(path), bytes).expect("write an extra file");
        }
        self.json(&[
            "ingest",
            rec.to_str().expect("utf-8 path"),
            "--device",
            "BWC002",
            "--officer",
            "1002",
            "--json",
        ]);
    }

    /// Ingests the `recorder-seq` fixture as recorder BWC002 of officer 1002
    /// and returns the id of its `between_clips` interruption.
    pub fn ingest_seq_gap(&self) -> String {
        self.ingest_seq_with(&[]);
        let gaps = self.json(&["gaps", "--json"]);
        gaps["gaps"]
            .as_array()
            .and_then(|g| g.iter().find(|g| g["kind"] == "between_clips"))
            .and_then(|g| g["id"].as_str())
            .expect("recorder-seq has a pause between clips")
            .to_owned()
    }

    /// The recording interruption `gap` is in.
    pub fn clip_of_gap(&self, gap: &str) -> String {
        let gaps = self.json(&["gaps", "--json"]);
        gaps["gaps"]
            .as_array()
            .and_then(|g| g.iter().find(|g| g["id"] == gap))
            .and_then(|g| g["clip"].as_str())
            .unwrap_or_else(|| panic!("no interruption {gap}: {gaps:#}"))
            .to_owned()
    }

    /// Opens the index read-only.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            self.store().join("vigil.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE,
        )
        .expect("open index")
    }

    /// Number of object files in the store.
    pub fn object_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let objects = self.store().join("objects");
        if let Ok(fans) = std::fs::read_dir(objects) {
            for fan in fans.flatten() {
                for obj in std::fs::read_dir(fan.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    out.push(obj.path());
                }
            }
        }
        out.sort();
        out
    }
}

/// Exit status, stdout and stderr, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "{:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// BLAKE3 of a file, hex.
pub fn blake3_file(p: &Path) -> String {
    blake3::hash(&std::fs::read(p).expect("read"))
        .to_hex()
        .to_string()
}

/// SHA-256 of a file from the system's `sha256sum`, an independent tool.
pub fn sha256sum(p: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum runs");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("hash")
        .to_owned()
}

/// Copies a directory tree (regular files and directories only).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let t = e.file_type().expect("type");
        let dst = to.join(e.file_name());
        if t.is_dir() {
            copy_tree(&e.path(), &dst);
        } else if t.is_file() {
            std::fs::copy(e.path(), dst).expect("copy");
        }
    }
}

/// Every regular file under `root`, as (relative path, absolute path).
pub fn files_under(root: &Path) -> Vec<(String, PathBuf)> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let t = e.file_type().expect("type");
            if t.is_dir() {
                go(root, &e.path(), out);
            } else if t.is_file() {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .expect("prefix")
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, e.path()));
            }
        }
    }
    let mut out = Vec::new();
    go(root, root, &mut out);
    out.sort();
    out
}

/// A hole found by the independent reference: (stream kind, offset from the
/// container start, duration), seconds.
pub type RefGap = (String, f64, f64);

/// Gaps from `ffprobe -show_packets` timestamps, computed independently of
/// Vigil's code: per audio/video stream, presentation times sorted, the
/// nominal step is the median step, and a hole is where the next frame
/// starts at least `min_gap` after the previous one's nominal end. Offsets
/// are from the container's start time (0 when it has none).
pub fn ffprobe_gaps(path: &Path, min_gap: f64) -> Vec<RefGap> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=index,codec_type:stream_disposition=attached_pic:format=start_time:packet=stream_index,pts_time,dts_time", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe JSON");
    let num = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<f64>().ok());
    let start = num(&doc["format"]["start_time"]).unwrap_or(0.0);
    let mut gaps = Vec::new();
    for s in doc["streams"].as_array().expect("streams") {
        let kind = s["codec_type"].as_str().unwrap_or("");
        if (kind != "video" && kind != "audio") || s["disposition"]["attached_pic"] == 1 {
            continue;
        }
        let index = s["index"].as_u64().expect("index");
        let mut t: Vec<f64> = doc["packets"]
            .as_array()
            .expect("packets")
            .iter()
            .filter(|p| p["stream_index"].as_u64() == Some(index))
            .filter_map(|p| num(&p["pts_time"]).or_else(|| num(&p["dts_time"])))
            .collect();
        t.sort_by(f64::total_cmp);
        t.dedup();
        let mut steps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
        steps.sort_by(f64::total_cmp);
        let Some(&step) = steps.get(steps.len() / 2) else {
            continue;
        };
        for w in t.windows(2) {
            let hole = w[1] - (w[0] + step);
            if hole >= min_gap {
                gaps.push((kind.to_owned(), w[0] + step - start, hole));
            }
        }
    }
    gaps
}

/// A running `dock-sim`, killed when dropped.
#[derive(Debug)]
pub struct DockSim {
    child: std::process::Child,
    /// The symlink to its pty, or its listening socket.
    pub link: PathBuf,
    /// Its control socket.
    pub control: PathBuf,
    /// Where its log goes.
    pub log: PathBuf,
}

impl DockSim {
    /// Starts `dock-sim --link DIR/dock --control DIR/ctl ARGS` and waits
    /// until its link exists.
    pub fn start(dir: &Path, args: &[&str]) -> Self {
        Self::spawn(dir, "--link", "dock", args)
    }

    /// Starts `dock-sim --listen DIR/dock.sock --control DIR/ctl ARGS`
    /// (the socket a virtual machine's USB serial adapter connects to,
    /// [`Self::link`]) and waits until it listens.
    pub fn listen(dir: &Path, args: &[&str]) -> Self {
        Self::spawn(dir, "--listen", "dock.sock", args)
    }

    /// Starts `dock-sim --usbredir DIR/dock.sock --control DIR/ctl ARGS`:
    /// the dock as a USB device for a virtual machine's `usb-redir`.
    pub fn usbredir(dir: &Path, args: &[&str]) -> Self {
        Self::spawn(dir, "--usbredir", "dock.sock", args)
    }

    fn spawn(dir: &Path, wire: &str, name: &str, args: &[&str]) -> Self {
        let link = dir.join(name);
        let control = dir.join("ctl");
        let log = dir.join("dock-sim.log");
        let _ = std::fs::remove_file(&link);
        let child = Command::new(bin("dock-sim"))
            .arg(wire)
            .arg(&link)
            .arg("--control")
            .arg(&control)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("dock-sim starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !(link.exists() && control.exists()) {
            assert!(
                std::time::Instant::now() < deadline,
                "dock-sim did not come up"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Self {
            child,
            link,
            control,
            log,
        }
    }

    /// The link path as a string.
    pub fn path(&self) -> &str {
        self.link.to_str().expect("utf-8 path")
    }

    /// Sends a control command; returns the dock's answer line.
    pub fn control(&self, line: &str) -> String {
        use std::io::{BufRead, Write};
        let mut s = std::os::unix::net::UnixStream::connect(&self.control).expect("control socket");
        writeln!(s, "{line}").expect("send");
        let mut answer = String::new();
        std::io::BufReader::new(s)
            .read_line(&mut answer)
            .expect("answer");
        answer.trim().to_owned()
    }

    /// Enrols this dock to the station of `v` (`vigil dock enroll`).
    pub fn enroll(&self, v: &Vigil) {
        let out = v.run(&["dock", "enroll", self.path()]);
        assert!(out.status.success(), "{}", describe(&out));
    }

    /// What the simulator logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for DockSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `vigil --socket SOCKET ARGS`, as Unix uid `uid` when given (an account
/// without a passwd entry: Vigil names it `uid:N`), else as this process.
pub fn vigil_via(socket: &Path, uid: Option<u32>, args: &[&str]) -> Output {
    let mut cmd = match uid {
        Some(uid) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={uid}"))
                .args(["--clear-groups", "--"])
                .arg(bin("vigil"));
            c
        }
        None => Command::new(bin("vigil")),
    };
    cmd.arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("VIGIL_STORE")
        .output()
        .expect("vigil runs")
}

/// Lets every account through `dir` (`chmod a+x`): to reach a socket in it.
pub fn let_others_through(dir: &Path) {
    let ok = Command::new("chmod")
        .arg("a+x")
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "chmod a+x {}", dir.display());
}

/// A running `vigild`, killed when dropped.
#[derive(Debug)]
pub struct Vigild {
    /// The process.
    pub child: std::process::Child,
    /// Its store.
    pub store: PathBuf,
    /// Its log file.
    pub log: PathBuf,
    /// Its API socket (beside the log, so tests never share one).
    pub socket: PathBuf,
}

impl Vigild {
    /// Starts `vigild --store STORE --socket DIR/vigil.sock ARGS` (DIR: the
    /// log's directory), logging to `log`.
    pub fn start(store: &Path, log: &Path, args: &[&str]) -> Self {
        Self::start_with(store, log, args, &[])
    }

    /// [`Vigild::start`] with environment variables of its own (a fail
    /// point, `VIGIL_FAILPOINT=NAME:N`).
    pub fn start_with(store: &Path, log: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(Command::new(bin("vigild")), store, log, args, env)
    }

    /// [`Vigild::start`] inside the network namespace `netns` (`ip netns
    /// exec`, which execs vigild in place: the child is vigild).
    pub fn start_in(netns: &str, store: &Path, log: &Path, args: &[&str]) -> Self {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", netns]).arg(bin("vigild"));
        Self::spawn(c, store, log, args, &[])
    }

    fn spawn(
        mut command: Command,
        store: &Path,
        log: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let socket = log.with_file_name("vigil.sock");
        let child = command
            .envs(env.iter().copied())
            .arg("--store")
            .arg(store)
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .env("VIGIL_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .expect("log"),
            )
            .spawn()
            .expect("vigild starts");
        Self {
            child,
            store: store.to_owned(),
            log: log.to_owned(),
            socket,
        }
    }

    /// Waits (up to 10 s) until the API socket answers connections.
    pub fn wait_for_socket(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "vigild's socket {} did not come up",
                self.socket.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The status document, once vigild has written one.
    pub fn status(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.store.join("vigild.status.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Waits (up to `secs`) until `pred` holds for the status document.
    pub fn wait_for(
        &self,
        secs: u64,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(s) = self.status() {
                if pred(&s) {
                    return s;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}; status: {:#}\nlog:\n{}",
                self.status().unwrap_or_default(),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Waits (up to `secs`) for the process to end; whether it did.
    pub fn exited(&mut self, secs: u64) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while std::time::Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    }

    /// Sends a signal.
    #[allow(unsafe_code)] // libc calls on our own processes; each block says why it holds
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }
}

impl Drop for Vigild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The recorders in a status document.
pub fn recorders(status: &serde_json::Value) -> Vec<serde_json::Value> {
    status["recorders"]
        .as_object()
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default()
}

/// Whether every listed source is in state `done`.
pub fn all_done(status: &serde_json::Value, sources: &[&str]) -> bool {
    sources
        .iter()
        .all(|s| status["recorders"][*s]["state"] == "done")
}

/// The browsers the desk is tested in: Debian's Chromium (`chromium`,
/// driven by `chromedriver`) and Firefox ESR (`firefox-esr`, driven by
/// Mozilla's `geckodriver`, which `cargo xtask test` installs with cargo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Chromium through chromedriver.
    Chromium,
    /// Firefox ESR through geckodriver.
    Firefox,
}

impl Engine {
    /// The name used in screenshot file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
        }
    }

    /// A screenshot's file name for `page`: Chromium's keep the plain name
    /// (the operator guide's), the others carry the engine's.
    pub fn shot_name(self, page: &str) -> String {
        match self {
            Engine::Chromium => page.to_owned(),
            other => format!("{page}-{}", other.name()),
        }
    }
}

/// A WebDriver server (chromedriver or geckodriver) and the headless
/// browser sessions it drives, for the desk's tests.
#[derive(Debug)]
pub struct Browser {
    driver: std::process::Child,
    /// The WebDriver endpoint.
    pub url: String,
    /// Which browser.
    pub engine: Engine,
    profiles: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and waits until it answers.
    pub fn start() -> Self {
        Self::of(Engine::Chromium)
    }

    /// Starts the WebDriver server of `engine` on a free port and waits
    /// until it answers.
    pub fn of(engine: Engine) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = match engine {
            Engine::Chromium => {
                let mut c = Command::new("chromedriver");
                c.arg(format!("--port={port}"));
                c
            }
            Engine::Firefox => {
                let mut c = Command::new("geckodriver");
                c.args(["--port", &port.to_string(), "--log", "error"]);
                c
            }
        };
        let driver = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} WebDriver server: {e} (cargo xtask test installs chromium-driver and geckodriver)",
                    engine.name()
                )
            });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the {} WebDriver server did not start",
                engine.name()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self {
            driver,
            url: format!("http://127.0.0.1:{port}"),
            engine,
            profiles: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A new headless session (its own profile: its own cookies) whose
    /// browser asks for `lang` (`zh-CN`, `en`), 1366×768.
    pub async fn session(&self, lang: &str) -> fantoccini::Client {
        // Two TLS back ends are linked in (reqwest's, fantoccini's): name one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let caps = match self.engine {
            Engine::Chromium => {
                let profile = tempfile::tempdir_in(self.profiles.path())
                    .expect("profile")
                    .keep();
                serde_json::json!({
                    "acceptInsecureCerts": true,
                    "goog:chromeOptions": {
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update", "--disable-sync",
                            "--autoplay-policy=no-user-gesture-required", "--window-size=1366,768",
                            format!("--lang={lang}"), format!("--user-data-dir={}", profile.display()),
                        ],
                        "prefs": {"intl.accept_languages": lang},
                    }
                })
            }
            // geckodriver gives every session a fresh temporary profile.
            Engine::Firefox => serde_json::json!({
                "acceptInsecureCerts": true,
                "moz:firefoxOptions": {
                    "binary": "/usr/bin/firefox-esr",
                    "args": ["-headless", "--width=1366", "--height=768"],
                    "prefs": {
                        "intl.accept_languages": lang,
                        "media.autoplay.default": 0,
                        "media.autoplay.blocking_policy": 0,
                        "app.update.enabled": false,
                        "browser.shell.checkDefaultBrowser": false,
                        "network.captive-portal-service.enabled": false,
                        "network.connectivity-service.enabled": false,
                    },
                    "env": {"MOZ_HEADLESS_WIDTH": "1366", "MOZ_HEADLESS_HEIGHT": "768"},
                }
            }),
        };
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = fantoccini::ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("a {} session: {e}", self.engine.name()));
        if self.engine == Engine::Firefox {
            client
                .set_window_size(1366, 768)
                .await
                .expect("window size");
        }
        client
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where the desk's screenshots are kept (CI artefacts): `target/desk-screens`.
pub fn screens() -> PathBuf {
    let dir = workspace().join("target/desk-screens");
    std::fs::create_dir_all(&dir).expect("mkdir target/desk-screens");
    dir
}
