//! `centre.toml`: where PostgreSQL is, where to listen, where the
//! witness key and the TLS certificate live, the witness's name.
//!
//! ```toml
//! database = "host=/run/postgresql dbname=vigil_centre"
//! listen = "0.0.0.0:7443"
//! state_dir = "/var/lib/vigil-centre"
//! name = "centre.example-agency"
//! hosts = ["centre.example-agency", "10.0.0.5"]   # the certificate's names
//! out_of_touch_s = 3600                          # a station silent this long is reported
//! timezone = "Asia/Shanghai"                     # the desk's times [default: the system's]
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::CentreError;

/// The configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// libpq connection string.
    pub database: String,
    /// `host:port` for stations and desks (TLS).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The witness key (`witness.key`), the certificate (`centre.crt`,
    /// `centre.key`).
    #[serde(default = "default_state")]
    pub state_dir: PathBuf,
    /// The witness's name (its key's name, in every cosignature).
    #[serde(default = "default_name")]
    pub name: String,
    /// Host names and addresses the certificate is made for.
    #[serde(default = "default_hosts")]
    pub hosts: Vec<String>,
    /// The zone the desk shows times in (IANA name) [default: the
    /// system's]; times are stored in UTC.
    #[serde(default)]
    pub timezone: Option<String>,
    /// A station silent longer than this, seconds, is out of touch: shown
    /// on the board, logged and audited once per silence.
    #[serde(default = "default_out_of_touch")]
    pub out_of_touch_s: u64,
}

fn default_listen() -> String {
    "0.0.0.0:7443".into()
}
fn default_state() -> PathBuf {
    "/var/lib/vigil-centre".into()
}
fn default_name() -> String {
    "vigil-centre".into()
}
fn default_out_of_touch() -> u64 {
    3600
}
fn default_hosts() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into()]
}

impl Config {
    /// Reads the file.
    pub fn load(path: &Path) -> Result<Self, CentreError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CentreError::Config(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| CentreError::Config(format!("{}: {e}", path.display())))
    }

    /// The witness's private key file.
    pub fn witness_key(&self) -> PathBuf {
        self.state_dir.join("witness.key")
    }

    /// The TLS certificate and its key.
    pub fn tls(&self) -> (PathBuf, PathBuf) {
        (
            self.state_dir.join("centre.crt"),
            self.state_dir.join("centre.key"),
        )
    }
}
