//! `vigild` configuration: `/etc/vigil/vigild.toml` (or `--config FILE`),
//! every key optional with the default shown; command-line flags override
//! the file. With no file at all the embedded defaults apply.
//!
//! ```toml
//! store = "/var/lib/vigil"                      # the evidence store
//! docks = ["/dev/serial/by-id/*vigil-dock*"]    # dock serial devices; globs allowed
//! watch = "/run/vigil/media"                    # recorder mass-storage mounts appear here
//! max_parallel = 4                              # recorders served at once
//! rescan_ms = 500                               # how often docks and mounts are looked for
//! settle_ms = 1000                              # a new mount must be unchanged this long
//! min_free_mb = 256                             # below this, stop taking data (R15)
//! usb = true                                    # also serve a dock on USB bulk endpoints (by USB id)
//! min_gap_s = 1.0                               # interruption threshold (R7)
//! join_window_s = 600.0                         # pause that still joins a session
//! erase = true                                  # erase verified files from docked recorders (R2)
//! ```

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Where the config file is looked for when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/vigil/vigild.toml";

/// The daemon's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The evidence store.
    pub store: PathBuf,
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
    /// Interruption threshold, seconds.
    pub min_gap_s: f64,
    /// Session join window, seconds.
    pub join_window_s: f64,
    /// Erase verified files from docked recorders.
    pub erase: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            store: PathBuf::from("/var/lib/vigil"),
            docks: vec!["/dev/serial/by-id/*vigil-dock*".into()],
            watch: PathBuf::from("/run/vigil/media"),
            max_parallel: 4,
            rescan_ms: 500,
            settle_ms: 1000,
            min_free_mb: 256,
            usb: true,
            min_gap_s: vigil_ingest::DEFAULT_MIN_GAP_S,
            join_window_s: vigil_ingest::DEFAULT_JOIN_WINDOW_S,
            erase: true,
        }
    }
}

impl Config {
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
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.max_parallel >= 1, "max_parallel must be at least 1");
        anyhow::ensure!(self.rescan_ms >= 50, "rescan_ms must be at least 50");
        anyhow::ensure!(
            self.min_gap_s > 0.0 && self.min_gap_s < self.join_window_s,
            "min_gap_s must be above 0 and below join_window_s"
        );
        Ok(())
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
