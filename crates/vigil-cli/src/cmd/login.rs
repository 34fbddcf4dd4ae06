//! `vigil login` and `vigil logout`: a desk's session with a station over
//! TLS. The password is read from standard input; the station's certificate
//! is pinned by its SHA-256 fingerprint (printed by vigild when it made the
//! certificate, and in `vigil status --json` on the station). The token is
//! kept in `$XDG_CONFIG_HOME/vigil/session.json` (mode 0600); later commands
//! use it when neither `--socket` nor `--store` is given.

use std::path::PathBuf;
use std::process::ExitCode;
use vigil_service::op::{self};
use vigil_service::ops;

use anyhow::{bail, Context};
use vigil_api::client::{Client, Desk};

/// Arguments of `vigil login`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The station's desk listener: `https://HOST:PORT` or `HOST:PORT`.
    #[arg(long, value_name = "URL")]
    server: String,
    /// The SHA-256 fingerprint of the station's certificate.
    #[arg(long, value_name = "SHA256")]
    fingerprint: String,
    /// Your Vigil user name [default: your Unix user name].
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
}

/// Where the session is kept.
pub fn session_file() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".config")
        });
    base.join("vigil/session.json")
}

/// The saved session, if there is one.
pub fn saved() -> Option<Desk> {
    let text = std::fs::read_to_string(session_file()).ok()?;
    serde_json::from_str(&text).ok()
}

/// Runs `vigil login`.
pub fn login(args: Args) -> anyhow::Result<ExitCode> {
    let server = args
        .server
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    if vigil_api::client::parse_fingerprint(&args.fingerprint).is_none() {
        bail!(
            "--fingerprint {:?}: expected the 64 hex digits of a SHA-256 (colons allowed)",
            args.fingerprint
        );
    }
    let user = args.user.unwrap_or_else(|| {
        vigil_service::identity::unix_name(vigil_service::Caller::current(None).uid)
    });
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']);
    let mut desk = Desk {
        server: server.clone(),
        fingerprint: args.fingerprint,
        token: None,
    };
    let answer = Client::desk(desk.clone()).call::<ops::Login>(
        &(),
        &vigil_service::auth::Login {
            user: user.clone(),
            password: password.to_owned(),
        },
    )?;
    desk.token = answer["token"].as_str().map(str::to_owned);
    let path = session_file();
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(serde_json::to_string_pretty(&desk)?.as_bytes())?;
    crate::say!(
        "logged in to {server} as {user} until {}; the session is in {}",
        answer["expires_at"].as_str().unwrap_or("?"),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `vigil logout`: ends the session at the station and forgets it.
pub fn logout() -> anyhow::Result<ExitCode> {
    let Some(desk) = saved() else {
        bail!("not logged in (no {})", session_file().display());
    };
    let ended = Client::desk(desk).call::<ops::Logout>(&(), &op::Empty {});
    std::fs::remove_file(session_file()).ok();
    ended?;
    crate::say!("logged out");
    Ok(ExitCode::SUCCESS)
}
