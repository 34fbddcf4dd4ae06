//! One module per subcommand.

pub mod analyze;
pub mod audit;
pub mod clips;
pub mod dock;
pub mod explain;
pub mod export;
pub mod gaps;
pub mod ingest;
pub mod oversight;
pub mod people;
pub mod report;
pub mod retention;
pub mod status;
pub mod tag;
pub mod verify;

use std::path::Path;

use anyhow::Context;
use vigil_store::Store;

use crate::identity::{Identity, Role};

/// Where and as whom a command runs.
#[derive(Debug)]
pub struct Ctx {
    /// The store directory.
    pub store: std::path::PathBuf,
    /// Root's `--as NAME`.
    pub as_user: Option<String>,
}

impl Ctx {
    /// Opens the store and checks the acting user may do `what`.
    pub fn open(&self, allowed: &[Role], what: &str) -> anyhow::Result<(Store, Identity)> {
        self.open_with(allowed, what, Store::open)
    }

    /// [`Self::open`] for `verify`: a store whose index is behind its anchor
    /// is opened read-only so that `verify` can say what differs.
    pub fn open_for_verify(&self, what: &str) -> anyhow::Result<(Store, Identity)> {
        self.open_with(crate::identity::AUDIT, what, Store::open_for_verify)
    }

    fn open_with(
        &self,
        allowed: &[Role],
        what: &str,
        open: fn(&Path) -> vigil_store::Result<Store>,
    ) -> anyhow::Result<(Store, Identity)> {
        let store = open(&self.store)
            .with_context(|| format!("opening the store at {}", self.store.display()))?;
        if store.read_only() {
            eprintln!(
                "vigil: note: the store at {} is read-only; reading only, and this read is not recorded in its audit log",
                self.store.display()
            );
        }
        let id = crate::identity::resolve(&store, self.as_user.as_deref())?;
        id.require(allowed, what)?;
        Ok((store, id))
    }
}

/// A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 time from the command
/// line.
pub fn parse_time(s: &str) -> anyhow::Result<time::OffsetDateTime> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let d = time::Date::parse(s, &Iso8601::DATE)
        .with_context(|| format!("{s:?}: expected YYYY-MM-DD or an RFC 3339 time"))?;
    Ok(d.midnight().assume_utc())
}

/// [`parse_time`], as the index stores times (RFC 3339 UTC).
pub fn when(s: &str) -> anyhow::Result<String> {
    parse_time(s).map(vigil_store::rfc3339)
}
