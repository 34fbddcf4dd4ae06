//! `vigild` configuration: `/etc/vigil/vigild.toml` (or `--config FILE`),
//! every key optional with the default shown; command-line flags override
//! the file. With no file at all the embedded defaults apply.
//!
//! ```toml
//! store = "/var/lib/vigil"                      # the evidence store
//! station = "vigil/<host name>"                 # the audit log's name in its signed checkpoints
//! timezone = "<the system's>"                   # times are shown in this zone (IANA name, e.g. Asia/Shanghai)
//! docks = ["/dev/serial/by-id/*vigil-dock*"]    # dock serial devices; globs allowed
//! watch = "/run/vigil/media"                    # recorder mass-storage mounts appear here
//! max_parallel = 4                              # recorders served at once
//! rescan_ms = 500                               # how often docks and mounts are looked for
//! settle_ms = 1000                              # a new mount must be unchanged this long
//! min_free_mb = 256                             # below this, stop taking data (R15)
//! usb = true                                    # also serve a dock on USB bulk endpoints (by USB id)
//! recorder_usb_ids = []                         # more recorder models, "VVVV:PPPP" or "VVVV:PPPP:SERIAL"
//! dock_usb_ids = []                             # more dock models (USB serial adapters), the same form
//! min_gap_s = 1.0                               # interruption threshold (R7)
//! join_window_s = 600.0                         # pause that still joins a session
//! erase = true                                  # erase verified files from docked recorders (R2)
//! socket = "/run/vigil/vigil.sock"              # the API for local users ("" for none)
//! listen = "0.0.0.0:8443"                       # the desk API over TLS (off when absent)
//! tls_cert = "/var/lib/vigil/tls/cert.pem"      # made self-signed on first start when missing
//! tls_key = "/var/lib/vigil/tls/key.pem"
//! session_s = 28800                             # desk sessions expire after this
//! login_failures_max = 5                        # failed logins that lock a user out...
//! lockout_minutes = 15                          # ...within this many minutes
//! smtp = "mail.station.example:25"              # notices of what waits for each user go through this SMTP server (off when absent)
//! smtp_from = "vigil@<host name>"               # their sender
//! notify_every_s = 300                          # how often what waits is looked at (a user is told of an item once)
//! desk_url = "https://vigil.station.example:8443/desk/"  # the desk's address, in the notices
//! centre_url = "https://centre.agency.example:7443"    # the agency centre the log is sent to (as `vigil centre join`)
//! centre_fingerprint = "<SHA-256 of its certificate>"  # `vigil-centre init` prints both
//! centre_witness = "<its witness key>"
//! centre_every_s = 10                           # how often the outbox is sent
//! centre_timeout_s = 60                         # one exchange with the centre is given up after this
//! ```

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Where the config file is looked for when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/vigil/vigild.toml";

/// Largest `min_free_mb` accepted (1 PiB).
pub const MAX_FREE_MB: u64 = 1 << 30;

/// The daemon's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The evidence store.
    pub store: PathBuf,
    /// The audit log's name (the origin line of its checkpoints), e.g.
    /// `vigil.example-agency/station-1`; fixed when the station key is made
    /// at first start [default: `vigil/<host name>`].
    pub station: Option<String>,
    /// The station's time zone (IANA name): the desk and reports show
    /// times in it; they are stored in UTC [default: the system's].
    pub timezone: Option<String>,
    /// The API's Unix socket (`""` for none).
    #[serde(deserialize_with = "socket_path")]
    pub socket: Option<PathBuf>,
    /// Dock device paths or globs.
    pub docks: Vec<String>,
    /// Mount root watched for recorder mass-storage mounts.
    pub watch: PathBuf,
    /// Recorders served at once.
    pub max_parallel: usize,
    /// Rescan interval, ms.
    pub rescan_ms: u64,
    /// A new mount must be unchanged this long before ingest, ms.
    pub settle_ms: u64,
    /// Free space below which no data is taken, MiB.
    pub min_free_mb: u64,
    /// Also serve a dock found by USB vendor/product id (bulk endpoints).
    pub usb: bool,
    /// Recorder models (USB mass storage) besides those this build knows:
    /// `VVVV:PPPP` or `VVVV:PPPP:SERIAL` ([`crate::devices`]).
    pub recorder_usb_ids: Vec<String>,
    /// Dock models (USB serial adapters) besides those this build knows.
    pub dock_usb_ids: Vec<String>,
    /// Interruption threshold, seconds.
    pub min_gap_s: f64,
    /// Session join window, seconds.
    pub join_window_s: f64,
    /// Erase verified files from docked recorders.
    pub erase: bool,
    /// The desk listener (TLS), `host:port`; off when absent.
    pub listen: Option<String>,
    /// Its certificate (PEM) [default: `<store>/tls/cert.pem`, made
    /// self-signed on first start].
    pub tls_cert: Option<PathBuf>,
    /// Its key (PEM) [default: `<store>/tls/key.pem`].
    pub tls_key: Option<PathBuf>,
    /// How long a desk session lasts, seconds.
    pub session_s: i64,
    /// Failed logins within `lockout_minutes` that lock a user out.
    pub login_failures_max: u32,
    /// The lockout window, minutes.
    pub lockout_minutes: i64,
    /// The SMTP server (`host:port`, plain SMTP on the agency's network)
    /// the notices of what waits for each user are sent through; none are
    /// sent when absent.
    pub smtp: Option<String>,
    /// The notices' sender [default: `vigil@<host name>`].
    pub smtp_from: Option<String>,
    /// How often what waits for each user is looked at, seconds.
    pub notify_every_s: u64,
    /// The desk's address, given in the notices.
    pub desk_url: Option<String>,
    /// The agency centre the station sends its log to (`https://HOST:PORT`),
    /// as `vigil centre join` records it; with `centre_fingerprint` and
    /// `centre_witness`.
    pub centre_url: Option<String>,
    /// The SHA-256 fingerprint of the centre's certificate.
    pub centre_fingerprint: Option<String>,
    /// The centre's witness key.
    pub centre_witness: Option<String>,
    /// How often the outbox is sent, seconds.
    pub centre_every_s: u64,
    /// How long one exchange with the centre may take, connecting
    /// included, seconds (a link cut mid-push never answers).
    pub centre_timeout_s: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            store: PathBuf::from("/var/lib/vigil"),
            station: None,
            timezone: None,
            socket: Some(PathBuf::from(vigil_api::DEFAULT_SOCKET)),
            docks: vec!["/dev/serial/by-id/*vigil-dock*".into()],
            watch: PathBuf::from("/run/vigil/media"),
            max_parallel: 4,
            rescan_ms: 500,
            settle_ms: 1000,
            min_free_mb: 256,
            usb: true,
            recorder_usb_ids: Vec::new(),
            dock_usb_ids: Vec::new(),
            min_gap_s: vigil_ingest::DEFAULT_MIN_GAP_S,
            join_window_s: vigil_ingest::DEFAULT_JOIN_WINDOW_S,
            erase: true,
            listen: None,
            tls_cert: None,
            tls_key: None,
            session_s: 8 * 3600,
            login_failures_max: 5,
            lockout_minutes: 15,
            smtp: None,
            smtp_from: None,
            notify_every_s: 300,
            desk_url: None,
            centre_url: None,
            centre_fingerprint: None,
            centre_witness: None,
            centre_every_s: 10,
            centre_timeout_s: 60,
        }
    }
}

/// `socket = ""` means no socket.
fn socket_path<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let s = String::deserialize(d)?;
    Ok((!s.is_empty()).then(|| PathBuf::from(s)))
}

impl Config {
    /// The station's time zone.
    pub fn zone(&self) -> anyhow::Result<vigil_i18n::Zone> {
        match &self.timezone {
            None => Ok(vigil_i18n::Zone::system()),
            Some(name) => vigil_i18n::Zone::named(name)
                .map_err(|e| anyhow::anyhow!("timezone = {name:?}: {e}")),
        }
    }

    /// Reads `path`; a missing default file means the embedded defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let (path, required) = match path {
            Some(p) => (p.to_owned(), true),
            None => (PathBuf::from(DEFAULT_CONFIG), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Self::default())
            }
            Err(e) => return Err(e).with_context(|| format!("reading config {}", path.display())),
        };
        let c: Self =
            toml::from_str(&text).with_context(|| format!("config {}", path.display()))?;
        c.check()
            .with_context(|| format!("config {}", path.display()))?;
        Ok(c)
    }

    /// Rejects settings that cannot work.
    /// Every value is checked against the range in which it means
    /// something; the daemon refuses to start otherwise.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.store.as_os_str().is_empty(),
            "store must name a directory (it is empty)"
        );
        self.zone()?;
        if let Some(name) = &self.station {
            vigil_store::tlog::check_origin(name).map_err(|e| {
                anyhow::anyhow!("station = {name:?} cannot name the audit log: {e}")
            })?;
        }
        anyhow::ensure!(
            (1..=64).contains(&self.max_parallel),
            "max_parallel must be 1 to 64, not {}",
            self.max_parallel
        );
        anyhow::ensure!(
            (50..=3_600_000).contains(&self.rescan_ms),
            "rescan_ms must be 50 to 3600000 (an hour), not {}",
            self.rescan_ms
        );
        anyhow::ensure!(
            self.settle_ms <= 3_600_000,
            "settle_ms must be at most 3600000 (an hour), not {}",
            self.settle_ms
        );
        anyhow::ensure!(
            self.min_free_mb <= MAX_FREE_MB,
            "min_free_mb must be at most {MAX_FREE_MB} (1 PiB), not {}",
            self.min_free_mb
        );
        anyhow::ensure!(
            self.min_gap_s.is_finite() && (0.01..=3600.0).contains(&self.min_gap_s),
            "min_gap_s must be 0.01 to 3600 seconds, not {}",
            self.min_gap_s
        );
        anyhow::ensure!(
            self.join_window_s.is_finite() && (0.0..=7.0 * 86_400.0).contains(&self.join_window_s),
            "join_window_s must be 0 to 604800 seconds (a week), not {}",
            self.join_window_s
        );
        anyhow::ensure!(
            self.min_gap_s < self.join_window_s,
            "min_gap_s ({}) must be below join_window_s ({})",
            self.min_gap_s,
            self.join_window_s
        );
        anyhow::ensure!(
            (1..=7 * 86_400).contains(&self.session_s),
            "session_s must be 1 to 604800 seconds (a week), not {}",
            self.session_s
        );
        anyhow::ensure!(
            (1..=100).contains(&self.login_failures_max),
            "login_failures_max must be 1 to 100, not {}",
            self.login_failures_max
        );
        anyhow::ensure!(
            (1..=7 * 1440).contains(&self.lockout_minutes),
            "lockout_minutes must be 1 to 10080, not {}",
            self.lockout_minutes
        );
        if let Some(l) = &self.listen {
            anyhow::ensure!(
                l.parse::<std::net::SocketAddr>().is_ok(),
                "listen must be HOST:PORT with an IP address (e.g. 0.0.0.0:8443), not {l:?}"
            );
        }
        anyhow::ensure!(
            (1..=86_400).contains(&self.centre_every_s),
            "centre_every_s must be 1 to 86400 seconds (a day), not {}",
            self.centre_every_s
        );
        anyhow::ensure!(
            (1..=3600).contains(&self.centre_timeout_s),
            "centre_timeout_s must be 1 to 3600 seconds, not {}",
            self.centre_timeout_s
        );
        anyhow::ensure!(
            self.centre_url.is_some()
                == (self.centre_fingerprint.is_some() && self.centre_witness.is_some())
                && (self.centre_fingerprint.is_some() == self.centre_witness.is_some()),
            "centre_url, centre_fingerprint and centre_witness go together: all three or none"
        );
        if let Some(smtp) = &self.smtp {
            let port = smtp.rsplit_once(':').and_then(|(h, p)| {
                (!h.is_empty()).then_some(())?;
                p.parse::<u16>().ok()
            });
            anyhow::ensure!(
                port.is_some_and(|p| p > 0),
                "smtp must be HOST:PORT (e.g. mail.station.example:25), not {smtp:?}"
            );
        }
        anyhow::ensure!(
            (1..=86_400).contains(&self.notify_every_s),
            "notify_every_s must be 1 to 86400 seconds (a day), not {}",
            self.notify_every_s
        );
        self.recorder_ids()?;
        self.dock_ids()?;
        for d in &self.docks {
            glob::Pattern::new(d)
                .map_err(|e| anyhow::anyhow!("docks: {d:?} is not a valid pattern: {e}"))?;
        }
        Ok(())
    }

    /// The configured recorder models.
    pub fn recorder_ids(&self) -> anyhow::Result<Vec<crate::devices::UsbId>> {
        crate::devices::parse_ids("recorder_usb_ids", &self.recorder_usb_ids)
    }

    /// The configured dock models.
    pub fn dock_ids(&self) -> anyhow::Result<Vec<crate::devices::UsbId>> {
        crate::devices::parse_ids("dock_usb_ids", &self.dock_usb_ids)
    }

    /// Every USB id the station accepts: the configured ones (checked at
    /// load) and those built in.
    pub fn usb_ids(&self) -> Vec<crate::devices::UsbId> {
        let built_in = crate::devices::RECORDER_USB_IDS
            .iter()
            .chain(vigil_dock::link::USB_IDS)
            .map(|&(vendor, product)| crate::devices::UsbId {
                vendor,
                product,
                serial: None,
            });
        self.recorder_ids()
            .unwrap_or_default()
            .into_iter()
            .chain(self.dock_ids().unwrap_or_default())
            .chain(built_in)
            .collect()
    }

    /// `min_free_mb` in bytes (never wraps: checked to be at most
    /// [`MAX_FREE_MB`]).
    pub fn min_free_bytes(&self) -> u64 {
        self.min_free_mb.saturating_mul(1 << 20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_a_file_and_errors_name_the_key() {
        assert_eq!(Config::load(None).unwrap().max_parallel, 4);
        let dir = std::env::temp_dir().join(format!("vigild-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("vigild.toml");
        std::fs::write(&f, "max_parallel = 2\nwatch = \"/mnt\"\n").unwrap();
        let c = Config::load(Some(&f)).unwrap();
        assert_eq!((c.max_parallel, c.watch.as_path()), (2, Path::new("/mnt")));
        std::fs::write(&f, "max_paralel = 2\n").unwrap();
        let e = format!("{:#}", Config::load(Some(&f)).unwrap_err());
        assert!(
            e.contains("max_paralel") && e.contains("vigild.toml"),
            "{e}"
        );
        std::fs::write(&f, "max_parallel = 0\n").unwrap();
        assert!(format!("{:#}", Config::load(Some(&f)).unwrap_err()).contains("max_parallel"));
        assert!(Config::load(Some(&dir.join("missing.toml"))).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
