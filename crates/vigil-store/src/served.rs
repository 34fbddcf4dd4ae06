//! Which vigild serves a store. A running vigild holds an exclusive `flock`
//! on `<store>/vigild.lock` for as long as it runs, with its pid and API
//! socket written in it. The lock, not the file, is the fact: the kernel
//! drops it when the process ends, however it ends (a SIGKILL leaves a file
//! nobody holds, which means "not served").
//!
//! The CLI's in-process mode asks [`served_by`] first and refuses a store a
//! daemon serves, pointing to its socket; a second vigild on the same store
//! is refused by [`claim`].

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

use crate::error::{IoContext, Result, StoreError};

/// The lock file's name inside a store.
pub const LOCK_FILE: &str = "vigild.lock";

/// A daemon serving a store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Served {
    /// Its process id.
    pub pid: u32,
    /// Its API socket, when it has one.
    pub socket: Option<PathBuf>,
}

/// The claim of a running daemon: the lock is held while this lives.
#[derive(Debug)]
pub struct Claim {
    _file: File,
}

/// Claims the store at `root` for this process (vigild), recording `socket`.
/// Refused when another process holds the claim.
pub fn claim(root: &Path, socket: Option<&Path>) -> Result<Claim> {
    let path = root.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .io("opening", &path)?;
    if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
        let by = read(&mut file);
        return Err(StoreError::Refused(format!(
            "the store {} is already served by vigild (pid {}){}",
            root.display(),
            by.as_ref().map_or("?".into(), |s| s.pid.to_string()),
            by.and_then(|s| s.socket)
                .map(|p| format!(" on {}", p.display()))
                .unwrap_or_default()
        )));
    }
    let me = Served {
        pid: std::process::id(),
        socket: socket.map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_owned())),
    };
    let text = serde_json::to_vec(&me).unwrap_or_default();
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(&text))
        .and_then(|()| file.sync_all())
        .io("writing", &path)?;
    Ok(Claim { _file: file })
}

fn read(file: &mut File) -> Option<Served> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(4096).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// The daemon serving the store at `root`, if one runs now.
pub fn served_by(root: &Path) -> Option<Served> {
    let mut file = File::open(root.join(LOCK_FILE)).ok()?;
    if flock(&file, FlockOperation::NonBlockingLockShared).is_ok() {
        // Nobody holds it: a daemon that ended.
        let _ = flock(&file, FlockOperation::Unlock);
        return None;
    }
    Some(read(&mut file).unwrap_or(Served {
        pid: 0,
        socket: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_seen_while_held_and_refuses_a_second() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(served_by(dir.path()), None);
        let c = claim(dir.path(), Some(Path::new("/run/x.sock"))).unwrap();
        let s = served_by(dir.path()).unwrap();
        assert_eq!(
            (s.pid, s.socket),
            (std::process::id(), Some(PathBuf::from("/run/x.sock")))
        );
        // flock is per open file description: a second claim, even from
        // this process, is refused.
        let again = claim(dir.path(), None).unwrap_err();
        assert!(again.to_string().contains("already served"), "{again}");
        drop(c);
        assert_eq!(served_by(dir.path()), None);
    }
}
