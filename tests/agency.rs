//! The agency's parts for the end-to-end tests: a throwaway PostgreSQL
//! cluster (Debian's `initdb` and `pg_ctl`, a Unix socket in a temp
//! directory, no TCP) and a `vigil-centre` process on it.
//!
//! PostgreSQL will not run as root: as root the cluster belongs to the
//! `postgres` account the Debian package makes, and its commands run
//! through `runuser`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::{bin, describe};

/// The newest installed PostgreSQL's programs.
fn pg_bin(name: &str) -> PathBuf {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (`cargo xtask test` installs postgresql)")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    let v = versions.last().expect("a PostgreSQL version");
    PathBuf::from(format!("/usr/lib/postgresql/{v}/bin/{name}"))
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A throwaway cluster, stopped and removed when dropped.
#[derive(Debug)]
pub struct Postgres {
    dir: tempfile::TempDir,
}

impl Postgres {
    /// A program of the cluster's, as its owner.
    fn as_owner(&self, program: &str) -> Command {
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_bin(program));
            c
        } else {
            Command::new(pg_bin(program))
        }
    }

    fn run(&self, mut c: Command, what: &str) -> Output {
        let out = c
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("a PostgreSQL program runs");
        assert!(out.status.success(), "{what}: {}", describe(&out));
        out
    }

    /// Makes and starts a cluster (about a second) with one database per
    /// name in `databases`.
    pub fn start(databases: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("vigil-pg")
            .tempdir_in("/tmp")
            .expect("temp dir");
        if is_root() {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(ok.success(), "chown to postgres");
        }
        let pg = Self { dir };
        let data = pg.dir.path().join("data");
        let mut init = pg.as_owner("initdb");
        init.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "vigil",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]);
        pg.run(init, "initdb");
        let mut start = pg.as_owner("pg_ctl");
        start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(pg.dir.path().join("postgres.log"))
            .arg("-o")
            .arg(format!(
                "-k {} -c listen_addresses='' -c fsync=off -c synchronous_commit=off",
                pg.dir.path().display()
            ))
            .args(["-w", "start"]);
        pg.run(start, "pg_ctl start");
        for db in databases {
            pg.sql("postgres", &format!("CREATE DATABASE {db}"));
        }
        pg
    }

    /// The libpq connection string of database `db`.
    pub fn conninfo(&self, db: &str) -> String {
        format!("host={} user=vigil dbname={db}", self.dir.path().display())
    }

    /// Runs SQL with psql; returns its unaligned, tuples-only output.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let mut c = Command::new(pg_bin("psql"));
        c.args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.dir.path())
            .args(["-U", "vigil", "-d", db, "-c", sql]);
        let out = self.run(c, &format!("psql {sql}"));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// One number from SQL.
    pub fn count(&self, db: &str, sql: &str) -> i64 {
        let text = self.sql(db, sql);
        text.parse()
            .unwrap_or_else(|_| panic!("{sql}: not a number: {text:?}"))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut stop = self.as_owner("pg_ctl");
        stop.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = stop.status();
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A `vigil-centre` on a database of a [`Postgres`].
#[derive(Debug)]
pub struct Centre {
    /// Its configuration file.
    pub config: PathBuf,
    /// Its log.
    pub log: PathBuf,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// Its certificate's fingerprint.
    pub fingerprint: String,
    /// Its witness key.
    pub witness: String,
    child: Option<Child>,
}

impl Centre {
    /// Writes the configuration in `dir` and runs `vigil-centre init`.
    pub fn init(pg: &Postgres, db: &str, dir: &Path, listen: &str) -> Self {
        Self::init_with(pg, db, dir, listen, "")
    }

    /// [`Centre::init`] with more configuration lines.
    pub fn init_with(pg: &Postgres, db: &str, dir: &Path, listen: &str, extra: &str) -> Self {
        std::fs::create_dir_all(dir).expect("mkdir");
        let config = dir.join("centre.toml");
        std::fs::write(
            &config,
            format!(
                "database = \"{}\"\nlisten = \"{listen}\"\nstate_dir = \"{}\"\nname = \"centre.test/witness\"\nhosts = [\"localhost\", \"127.0.0.1\"]\n{extra}\n",
                pg.conninfo(db),
                dir.join("state").display()
            ),
        )
        .expect("config");
        let mut c = Self {
            config,
            log: dir.join("centre.log"),
            url: format!("https://{listen}"),
            fingerprint: String::new(),
            witness: String::new(),
            child: None,
        };
        let out = c.run(&["init"]);
        assert!(
            out.status.success(),
            "vigil-centre init: {}",
            describe(&out)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
                .unwrap_or_else(|| panic!("init prints {name}: {text}"))
        };
        c.witness = field("witness");
        c.fingerprint = field("fingerprint");
        c
    }

    /// `vigil-centre --config CONFIG ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(bin("vigil-centre"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("VIGIL_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("vigil-centre runs")
    }

    /// Starts `vigil-centre serve` and waits until it listens.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "the centre is already running");
        let child = Command::new(bin("vigil-centre"))
            .arg("--config")
            .arg(&self.config)
            .arg("serve")
            .env("VIGIL_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.log)
                    .expect("log"),
            )
            .spawn()
            .expect("vigil-centre starts");
        self.child = Some(child);
        let addr = self.url.trim_start_matches("https://").to_owned();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the centre did not listen on {addr}:\n{}",
                self.log_text()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Kills it with SIGKILL (a power cut, a crash).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Its log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `station list --json`.
    pub fn stations(&self) -> serde_json::Value {
        let out = self.run(&["station", "list", "--json"]);
        assert!(out.status.success(), "station list: {}", describe(&out));
        serde_json::from_slice(&out.stdout).expect("JSON")
    }
}

impl Drop for Centre {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A network namespace joined to this one by a veth pair: a station's own
/// host, whose link a test takes down and up (a partition). The host side
/// is `10.77.N.1`, the namespace's `10.77.N.2`. Removed when dropped.
#[derive(Debug)]
pub struct Netns {
    /// The namespace's name.
    pub name: String,
    /// The host side's address, where the namespace reaches this side.
    pub host_ip: String,
    veth: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        describe(&out)
    );
}

impl Netns {
    /// Makes namespace number `n` (1..=250) with its link up.
    pub fn new(n: u8) -> Self {
        let name = format!("vigil-e2e-{}-{n}", std::process::id());
        let veth = format!("vh{}n{n}", std::process::id() % 100_000);
        let peer = format!("vs{}n{n}", std::process::id() % 100_000);
        let host_ip = format!("10.77.{n}.1");
        ip(&["netns", "add", &name]);
        let ns = Self {
            name: name.clone(),
            host_ip: host_ip.clone(),
            veth: veth.clone(),
        };
        ip(&["link", "add", &veth, "type", "veth", "peer", "name", &peer]);
        ip(&["link", "set", &peer, "netns", &name]);
        ip(&["addr", "add", &format!("{host_ip}/24"), "dev", &veth]);
        ip(&["link", "set", &veth, "up"]);
        ip(&[
            "netns",
            "exec",
            &name,
            "ip",
            "addr",
            "add",
            &format!("10.77.{n}.2/24"),
            "dev",
            &peer,
        ]);
        ip(&["netns", "exec", &name, "ip", "link", "set", &peer, "up"]);
        ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"]);
        ns
    }

    /// Takes the link down: nothing passes until [`Netns::up`].
    pub fn down(&self) {
        ip(&["link", "set", &self.veth, "down"]);
    }

    /// Brings the link back.
    pub fn up(&self) {
        ip(&["link", "set", &self.veth, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
