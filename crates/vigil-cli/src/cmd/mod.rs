//! One module per subcommand.

pub mod analyze;
pub mod audit;
pub mod centre;
pub mod checkpoint;
pub mod clips;
pub mod dock;
pub mod explain;
pub mod export;
pub mod gaps;
pub mod generate;
pub mod ingest;
pub mod login;
pub mod oversight;
pub mod people;
pub mod report;
pub mod retention;
pub mod sign;
pub mod status;
pub mod tag;
pub mod verify;
pub mod verify_export;

use std::path::Path;

use anyhow::Context;
use serde_json::Value;
use vigil_service::op::{self, Operation};
use vigil_service::{Opening, Station};

use crate::identity::{Identity, Role};

/// Where and as whom a command runs.
#[derive(Debug)]
pub struct Ctx {
    /// The store directory.
    pub store: std::path::PathBuf,
    /// Root's `--as NAME`.
    pub as_user: Option<String>,
    /// The store was named (`--store`, `VIGIL_STORE`), not the default.
    pub named: bool,
    /// vigild's socket (`--socket`, `VIGIL_SOCKET`).
    pub socket: Option<std::path::PathBuf>,
}

/// How a command reaches the store: through vigild's API, or in-process on
/// a store the invoking user owns (the same service code either way).
#[derive(Debug)]
pub enum Door {
    /// vigild, over its socket.
    Daemon(vigil_api::client::Client),
    /// The store named with `--store`, opened here.
    Embedded,
}

impl Ctx {
    /// The door for commands vigild serves: `--socket` when given, the
    /// store when named, a desk session (`vigil login`) when there is one,
    /// else the system socket when it is there.
    pub fn door(&self) -> Door {
        let client =
            |p: &Path| Door::Daemon(vigil_api::client::Client::new(p, self.as_user.clone()));
        if let Some(socket) = &self.socket {
            return client(socket);
        }
        if self.named {
            return Door::Embedded;
        }
        if let Some(desk) = login::saved() {
            return Door::Daemon(vigil_api::client::Client::desk(desk));
        }
        let default = Path::new(vigil_api::DEFAULT_SOCKET);
        if default.exists() {
            return client(default);
        }
        Door::Embedded
    }

    /// Runs the declared operation `O` through the door: against vigild,
    /// or in-process on the named store (`vigil_service::op::call`, which
    /// checks the role either way).
    pub fn run<O: Operation>(&self, args: O::Args, input: O::Input) -> anyhow::Result<Value> {
        match self.door() {
            Door::Daemon(c) => Ok(c.call::<O>(&args, &input)?),
            Door::Embedded => {
                let (mut store, id) = self.open(crate::identity::ANYONE, O::WHAT)?;
                Ok(op::call::<O>(&mut store, &id, args, input)?)
            }
        }
    }

    /// Opens the store and checks the acting user may do `what`.
    pub fn open(&self, allowed: &[Role], what: &str) -> anyhow::Result<(Station, Identity)> {
        self.open_with(allowed, what, Opening::Normal)
    }

    /// [`Self::open`] for `verify`: a store whose index is behind its anchor
    /// is opened read-only so that `verify` can say what differs.
    pub fn open_for_verify(&self, what: &str) -> anyhow::Result<(Station, Identity)> {
        self.open_with(crate::identity::AUDIT, what, Opening::ForVerify)
    }

    fn open_with(
        &self,
        allowed: &[Role],
        what: &str,
        open: Opening,
    ) -> anyhow::Result<(Station, Identity)> {
        // A store is only ever made where it was asked for: the default
        // location is never filled with a silent new, empty store (a desk
        // user would take it for the station's).
        if !self.named && !Station::exists_at(&self.store) {
            anyhow::bail!(
                "no store at {} (the default): Vigil does not create one unasked. Name a store with --store DIR (or VIGIL_STORE; a new directory is made into one), or start the station service (`systemctl start vigild`), which keeps /var/lib/vigil",
                self.store.display()
            );
        }
        // In-process use is for a store the invoking account owns. Another
        // account's store (the station's, owned by vigil) is reached through
        // its daemon: opening it here would write files as the wrong user
        // (root's would lock vigild out) or bypass the daemon's door. A copy
        // that cannot be written is still read (read-only mode).
        if let Ok(meta) = std::fs::metadata(&self.store) {
            use std::os::unix::fs::MetadataExt;
            let me = rustix::process::geteuid().as_raw();
            let writable = rustix::fs::access(&self.store, rustix::fs::Access::WRITE_OK).is_ok();
            if meta.uid() != me && writable {
                let owner = vigil_service::identity::unix_name(meta.uid());
                anyhow::bail!(
                    "refused: the store {} belongs to {owner}; only its vigild opens it: run this through the daemon (`vigil --socket /run/vigil/vigil.sock ...`, or without --store), or as {owner}",
                    self.store.display()
                );
            }
        }
        // A store a running vigild serves is its to open: two writers
        // would bypass its door (and its status of what is in progress).
        if let Some(by) = Station::served_by(&self.store) {
            let socket = by.socket.map_or_else(
                || vigil_api::DEFAULT_SOCKET.into(),
                |p| p.display().to_string(),
            );
            anyhow::bail!(
                "refused: vigild (pid {}) serves the store {}: go through it with `vigil --socket {socket} ...` (or stop it first)",
                by.pid,
                self.store.display()
            );
        }
        let store = Station::open(&self.store, open)
            .with_context(|| format!("opening the store at {}", self.store.display()))?;
        if store.read_only() {
            eprintln!(
                "vigil: note: the store at {} is read-only; reading only, and this read is not recorded in its audit log",
                self.store.display()
            );
        }
        let caller = crate::identity::Caller::current(self.as_user.clone());
        let id = crate::identity::resolve(&store, &caller)?;
        id.require(allowed, what)?;
        Ok((store, id))
    }
}

/// A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 time from the command
/// line.
pub fn parse_time(s: &str) -> anyhow::Result<time::OffsetDateTime> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    // A bare date is exactly YYYY-MM-DD: a longer text is a time and must
    // parse as one whole (a date parser would take the date off the front of
    // `2026-11-20T10:00:00+25:00` and ignore the rest).
    if s.len() == 10 {
        let d = time::Date::parse(s, &Iso8601::DATE)
            .with_context(|| format!("{s:?}: expected YYYY-MM-DD or an RFC 3339 time"))?;
        return Ok(d.midnight().assume_utc());
    }
    let t = time::OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        anyhow::anyhow!(
            "{s:?}: expected YYYY-MM-DD or an RFC 3339 time such as 2026-11-20T08:00:00+08:00 (offsets run from -12:00 to +14:00)"
        )
    })?;
    // No zone on Earth is outside -12:00..+14:00.
    let secs = t.offset().whole_seconds();
    anyhow::ensure!(
        (-12 * 3600..=14 * 3600).contains(&secs),
        "{s:?}: offset {} is not a time zone (offsets run from -12:00 to +14:00)",
        t.offset()
    );
    Ok(t)
}

/// Refuses an id that is not a plain word (ids become URL path segments).
pub fn plain_id(what: &str, id: &str) -> anyhow::Result<()> {
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        anyhow::bail!("{what} {id:?} is not an id (see `vigil gaps --json`)");
    }
    Ok(())
}

/// Refuses a period that ends before it starts (`--since` after `--until`,
/// `--from` after `--to`): it would silently select nothing.
pub fn check_period(
    (since_flag, since): (&str, Option<time::OffsetDateTime>),
    (until_flag, until): (&str, Option<time::OffsetDateTime>),
) -> anyhow::Result<()> {
    if let (Some(a), Some(b)) = (since, until) {
        anyhow::ensure!(
            a <= b,
            "{since_flag} ({}) is later than {until_flag} ({}): the period would be empty",
            vigil_service::model::rfc3339(a),
            vigil_service::model::rfc3339(b)
        );
    }
    Ok(())
}

/// [`parse_time`], as the index stores times (RFC 3339 UTC).
pub fn when(s: &str) -> anyhow::Result<String> {
    parse_time(s).map(vigil_service::model::rfc3339)
}
