//! One module per subcommand.

pub mod analyze;
pub mod clips;
pub mod dock;
pub mod explain;
pub mod gaps;
pub mod ingest;
pub mod status;
pub mod verify;

use std::path::Path;

use anyhow::Context;
use vigil_store::Store;

/// Opens the store, naming it in any error.
pub fn open_store(path: &Path) -> anyhow::Result<Store> {
    Store::open(path).with_context(|| format!("opening the store at {}", path.display()))
}
