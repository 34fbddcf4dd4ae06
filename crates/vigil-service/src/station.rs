//! The store as the service's callers hold it: a server lends each request
//! one from its pool of open stations ([`Stations`]), the CLI opens one
//! in-process. A [`Station`] can be opened and asked
//! where it is and whether it is read-only; everything else a caller does
//! with it goes through an operation of this crate, where role checks,
//! confidentiality (R17) and read audit (R20) happen once. The store's own
//! functions are not reachable through it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use vigil_store::Store;

/// An open store, for the service's callers.
#[derive(Debug)]
pub struct Station {
    pub(crate) store: Store,
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// For every operation: an index behind its anchor is refused.
    Normal,
    /// For `verify`: an index behind its anchor is opened read-only so that
    /// verify can say what differs.
    ForVerify,
}

/// Who serves a store (a running vigild): its pid and socket.
pub use vigil_store::served::Served;

impl Station {
    /// Opens the store at `root` (its error, with its cause, as the store
    /// gives it: [`ServiceError`] converts from it).
    pub fn open(root: &Path, how: Opening) -> Result<Self, vigil_store::StoreError> {
        let store = match how {
            Opening::Normal => Store::open(root),
            Opening::ForVerify => Store::open_for_verify(root),
        }?;
        Ok(Self { store })
    }

    /// Its directory.
    pub fn root(&self) -> &Path {
        self.store.root()
    }

    /// It can only be read (a copy on read-only media, or an index behind
    /// its anchor opened for verify): reads are not recorded.
    pub fn read_only(&self) -> bool {
        self.store.read_only()
    }

    /// There is a store at `root` (its marker or its index).
    pub fn exists_at(root: &Path) -> bool {
        [vigil_store::MARKER_FILE, vigil_store::INDEX_FILE]
            .iter()
            .any(|f| root.join(f).exists())
    }

    /// The vigild that serves the store at `root`, if one runs.
    pub fn served_by(root: &Path) -> Option<Served> {
        vigil_store::served::served_by(root)
    }
}

/// The most open stations a server keeps idle between requests.
const IDLE: usize = 64;

/// A server's open stations, lent one to a request and taken back after
/// it: opening a store (its schema, temp files, key and anchor) happens
/// once per connection, not once per request. Every station lent sends its
/// reads' audit rows to one grouped writer ([`vigil_store::ReadLog`]). A
/// station is lent again only while its index file is the one it opened
/// and the index is not behind its anchor, and after the temp files of
/// dead writers are swept, as at an opening.
#[derive(Debug)]
pub struct Stations {
    root: PathBuf,
    idle: Mutex<Vec<Station>>,
    reads: vigil_store::ReadLog,
}

impl Stations {
    /// Opens the store at `root` (refused as [`Station::open`] refuses)
    /// and starts its audit writer.
    pub fn open(root: &Path) -> Result<Arc<Self>, vigil_store::StoreError> {
        let first = Station::open(root, Opening::Normal)?;
        let reads = vigil_store::ReadLog::start(root)?;
        let pool = Arc::new(Self {
            root: root.to_owned(),
            idle: Mutex::new(Vec::new()),
            reads,
        });
        pool.give_back(pooled(first, &pool.reads));
        Ok(pool)
    }

    /// The store directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A station for one request: an idle one still current, or a new one.
    pub fn lend(self: &Arc<Self>) -> Result<Lent, vigil_store::StoreError> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(station) = idle else { break };
            if station.store.still_current()? {
                // As an opening does: temp files of dead writers go.
                station.store.objects().sweep_temp()?;
                return Ok(self.lent(station));
            }
        }
        let station = Station::open(&self.root, Opening::Normal)?;
        Ok(self.lent(pooled(station, &self.reads)))
    }

    fn lent(self: &Arc<Self>, station: Station) -> Lent {
        Lent {
            station: Some(station),
            pool: Arc::clone(self),
        }
    }

    fn give_back(&self, station: Station) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE {
            idle.push(station);
        }
    }
}

fn pooled(mut station: Station, reads: &vigil_store::ReadLog) -> Station {
    station.store.group_reads(reads.clone());
    station
}

/// A station lent to one request; it goes back to its pool when dropped
/// (not after a panic, which may have left it mid-way).
#[derive(Debug)]
pub struct Lent {
    station: Option<Station>,
    pool: Arc<Stations>,
}

impl std::ops::Deref for Lent {
    type Target = Station;
    fn deref(&self) -> &Station {
        self.station
            .as_ref()
            .expect("a lent station is present until dropped")
    }
}

impl std::ops::DerefMut for Lent {
    fn deref_mut(&mut self) -> &mut Station {
        self.station
            .as_mut()
            .expect("a lent station is present until dropped")
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(station) = self.station.take() {
            if !std::thread::panicking() {
                self.pool.give_back(station);
            }
        }
    }
}

/// Whether a `station` filter lets this store's rows through: none given,
/// or this station's own name (its log's origin).
pub(crate) fn is_here(store: &Store, station: Option<&str>) -> Result<bool, crate::ServiceError> {
    match station {
        None => Ok(true),
        Some(s) => Ok(store
            .log()
            .station_key()
            .map_err(crate::ServiceError::doing("reading the station key"))?
            .name()
            == s),
    }
}
