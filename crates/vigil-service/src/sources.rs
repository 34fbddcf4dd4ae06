//! Where an ingest may read from. vigild can read more than the people who
//! ask it to ingest (its own store, its key, its temporary files), so an
//! ingest named through the API reads only recorder sources: a mount under
//! the station's watch root, or a directory the *caller* could read
//! themselves, checked with the rights the kernel reported for them. Never
//! the store or a directory holding it, and never the system's own trees
//! (`/proc`, `/sys`, `/dev`, `/etc`, `/run`, `/boot`), whoever asks
//! (R10, brief rules 1 and 4).

use std::path::{Path, PathBuf};

pub use vigil_ingest::walk::Access;
use vigil_ingest::walk::Limits;

use crate::error::ServiceError;

/// Whose rights an ingest reads with.
#[derive(Debug, Clone)]
pub enum ReadAs {
    /// The process itself (the CLI on a store its user owns): the kernel
    /// checks every open.
    Process,
    /// A local account on vigild's socket, as the kernel named it.
    Peer(Access),
    /// A desk session over TLS: no local account, so only mounts under the
    /// watch root.
    Remote,
}

/// What the caller may ingest from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The station's mount roots: recorders mounted there are the
    /// station's to read.
    pub watch: Vec<PathBuf>,
    /// Whose rights everything else is read with.
    pub read_as: ReadAs,
}

impl Sources {
    /// In-process, as the process itself.
    pub fn process() -> Self {
        Self {
            watch: Vec::new(),
            read_as: ReadAs::Process,
        }
    }
}

/// A source checked for an ingest: its real path, its identity and what
/// the walk must keep to.
#[derive(Debug)]
pub struct Checked {
    /// The directory with every link resolved.
    pub path: PathBuf,
    /// Its (device, inode) when checked: the ingest refuses a different
    /// directory under that name.
    pub id: (u64, u64),
    /// The walk's limits.
    pub limits: Limits,
}

/// Trees nothing is ever ingested from.
const SYSTEM: &[&str] = &["/proc", "/sys", "/dev", "/etc", "/run", "/boot"];

fn refused(dir: &Path, why: &str) -> ServiceError {
    ServiceError::refused(format!(
        "{} is not a recorder source: {why}; ingest reads a recorder mounted under the station's watch root, or a directory you can read yourself",
        dir.display()
    ))
}

/// Checks `dir` as an ingest source for a store at `store`.
pub fn check(dir: &Path, store: &Path, sources: &Sources) -> Result<Checked, ServiceError> {
    let path = std::fs::canonicalize(dir).map_err(|e| {
        ServiceError::bad_request(format!("{}: cannot be opened: {e}", dir.display()))
    })?;
    let store = std::fs::canonicalize(store).unwrap_or_else(|_| store.to_owned());
    if path.starts_with(&store) {
        return Err(refused(dir, "it is inside the evidence store"));
    }
    if store.starts_with(&path) {
        return Err(refused(dir, "it holds the evidence store"));
    }
    if let Some(sys) = SYSTEM.iter().find(|s| path.starts_with(s)) {
        return Err(refused(dir, &format!("it is part of the system's {sys}")));
    }
    let stat = |p: &Path| {
        rustix::fs::stat(p).map_err(|e| {
            ServiceError::bad_request(format!(
                "{}: cannot be opened: {}",
                p.display(),
                std::io::Error::from(e)
            ))
        })
    };
    let st = stat(&path)?;
    let id = (st.st_dev, st.st_ino);
    let watched = sources
        .watch
        .iter()
        .any(|w| std::fs::canonicalize(w).is_ok_and(|w| path.starts_with(&w) && path != w));
    let access =
        match (&sources.read_as, watched) {
            (_, true) | (ReadAs::Process, _) => None,
            (ReadAs::Remote, false) => return Err(refused(
                dir,
                "a desk session may ingest only recorders mounted under the station's watch root",
            )),
            (ReadAs::Peer(a), false) => {
                // Every directory on the way must let them through, and the
                // source itself must be theirs to list.
                for up in path.ancestors().skip(1) {
                    if !a.permits(&stat(up)?, 0o1) {
                        return Err(refused(
                            dir,
                            &format!("uid {} may not pass through {}", a.uid, up.display()),
                        ));
                    }
                }
                if !a.permits(&st, 0o5) {
                    return Err(refused(dir, &format!("uid {} may not read it", a.uid)));
                }
                Some(a.clone())
            }
        };
    Ok(Checked {
        path,
        id,
        limits: Limits {
            access,
            exclude: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn peer(uid: u32) -> Sources {
        Sources {
            watch: Vec::new(),
            read_as: ReadAs::Peer(Access {
                uid,
                gids: vec![uid],
            }),
        }
    }

    #[test]
    fn the_store_its_parents_and_the_system_are_never_sources() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        std::fs::create_dir_all(store.join("objects")).unwrap();
        for d in [
            store.clone(),
            store.join("objects"),
            dir.path().to_owned(),
            "/".into(),
            "/etc".into(),
            "/proc/self".into(),
        ] {
            let e = check(&d, &store, &Sources::process()).unwrap_err();
            assert!(e.message.contains("not a recorder source"), "{d:?}: {e:?}");
        }
        // A link to the store is the store.
        std::os::unix::fs::symlink(&store, dir.path().join("link")).unwrap();
        let other = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&store, other.path().join("rec")).unwrap();
        assert!(check(&other.path().join("rec"), &store, &Sources::process()).is_err());
    }

    #[test]
    fn a_peer_reads_only_what_its_mode_bits_give_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = dir.path().join("store");
        std::fs::create_dir(&store).unwrap();
        let open = dir.path().join("open");
        let closed = dir.path().join("closed");
        std::fs::create_dir(&open).unwrap();
        std::fs::create_dir(&closed).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
        // The temp dir's owner is this process; uid 64999 is someone else.
        let c = check(&open, &store, &peer(64_999)).unwrap();
        assert_eq!(c.limits.access.unwrap().uid, 64_999);
        let e = check(&closed, &store, &peer(64_999)).unwrap_err();
        assert!(e.message.contains("may not read it"), "{e:?}");
        // Under the watch root the station reads for itself.
        let mut s = peer(64_999);
        s.watch = vec![dir.path().to_owned()];
        assert!(check(&closed, &store, &s).unwrap().limits.access.is_none());
        // A desk session: only under the watch root.
        let remote = Sources {
            watch: vec![],
            read_as: ReadAs::Remote,
        };
        assert!(check(&open, &store, &remote).is_err());
    }
}
