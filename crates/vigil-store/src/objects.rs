//! Content-addressed object files: `objects/<2 hex>/<64 hex BLAKE3>`.
//!
//! Writing an object is the only way bytes enter the store (R10, R15):
//!
//! 1. the source is read once, in 1 MiB chunks; each chunk is written to a
//!    fresh temp file under `tmp/` and fed to BLAKE3 and SHA-256 (SHA-256 on a
//!    helper thread, so both hashes cost one read and run side by side);
//! 2. the temp file is fsynced and made read-only;
//! 3. it is renamed to its hash name with `RENAME_NOREPLACE`, so an existing
//!    object can never be overwritten, and the directory is fsynced.
//!
//! If the hash is already stored the temp file is dropped (deduplication).
//! A crash leaves at most a temp file, which [`ObjectStore::sweep_temp`]
//! removes once no live writer holds its lock (even beside live writers:
//! see its doc); a renamed object is always
//! complete because the rename happens only after its bytes are durable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{flock, FlockOperation};

use crate::error::{IoContext, Result, StoreError};
use crate::failpoint;
use crate::pipeline::{copy_and_hash, Sink};

pub use crate::pipeline::{hex, Digests, CHUNK};

/// The outcome of putting content into the store.
#[derive(Debug, Clone)]
pub struct StoredObject {
    /// Hashes and size of the content.
    pub digests: Digests,
    /// Where the object file is.
    pub path: PathBuf,
    /// `false` when the content was already stored and nothing was written.
    pub newly_written: bool,
}

/// Content copied into a temp file and hashed, not yet durable.
#[derive(Debug)]
pub struct PendingObject {
    file: File,
    guard: TempGuard,
    /// Hashes and size of the content.
    pub digests: Digests,
}

/// The object directory tree of a store.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    objects: PathBuf,
    tmp: PathBuf,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl ObjectStore {
    /// Opens (creating when missing) the object tree under `root`.
    pub fn open(root: &Path) -> Result<Self> {
        let objects = root.join("objects");
        let tmp = root.join("tmp");
        for dir in [&objects, &tmp] {
            fs::create_dir_all(dir).io("create directory", dir)?;
        }
        Ok(Self { objects, tmp })
    }

    /// Refuses a file that no amount of freed space could ever hold: larger
    /// than the store's whole file system (a 1 TiB sparse file on a card, a
    /// dock listing 2^64-1 bytes). Such a file fails alone; it must not make
    /// the station wait for space forever.
    pub fn check_fits(&self, size: u64) -> Result<()> {
        let capacity = rustix::fs::statvfs(&self.objects)
            .map(|s| s.f_blocks.saturating_mul(s.f_frsize))
            .map_err(io::Error::from)
            .io("statvfs", &self.objects)?;
        if size > capacity {
            return Err(StoreError::TooLarge {
                size,
                capacity,
                path: self.objects.clone(),
            });
        }
        Ok(())
    }

    /// The path an object with this BLAKE3 hex name has.
    pub fn object_path(&self, blake3_hex: &str) -> PathBuf {
        let fan = blake3_hex.get(..2).unwrap_or("__");
        self.objects.join(fan).join(blake3_hex)
    }

    /// The object tree of an existing store, creating nothing (read-only
    /// stores).
    pub fn existing(root: &Path) -> Self {
        Self {
            objects: root.join("objects"),
            tmp: root.join("tmp"),
        }
    }

    /// Removes temp files left by writers that died. A temp file is locked by
    /// its writer for its whole life, so one whose lock can be taken is
    /// abandoned. Only files named as this store names its temp files
    /// (`<pid>.<n>.part`, regular, not links) are ever touched; anything
    /// else under `tmp/` is left alone. Returns how many were removed.
    ///
    /// Every writable open of the store sweeps, so a sweep runs beside live
    /// writers (`vigil verify` during an ingest). It holds `tmp/` locked
    /// exclusively, and a writer holds it shared from creating its temp file
    /// until it has locked it, so no sweep sees a temp file not yet locked;
    /// and it removes a name only while the file it locked is still the one
    /// under that name (a writer that renamed its file into place and let go
    /// of the lock meanwhile has not left it behind).
    pub fn sweep_temp(&self) -> Result<usize> {
        let dir_lock = self.lock_tmp(FlockOperation::LockExclusive)?;
        let mut removed = 0;
        for entry in fs::read_dir(&self.tmp).io("list", &self.tmp)? {
            let entry = entry.io("list", &self.tmp)?;
            let path = entry.path();
            let ours = entry.file_name().to_str().is_some_and(is_temp_name)
                && entry.file_type().is_ok_and(|t| t.is_file());
            if !ours {
                tracing::warn!(path = %path.display(), "not a Vigil temp file; left alone");
                continue;
            }
            let Ok(file) = File::open(&path) else {
                continue;
            };
            if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
                continue;
            }
            let same = |a: &fs::Metadata, b: &fs::Metadata| {
                use std::os::unix::fs::MetadataExt;
                a.dev() == b.dev() && a.ino() == b.ino()
            };
            let still_there = match (file.metadata(), fs::symlink_metadata(&path)) {
                (Ok(locked), Ok(named)) => same(&locked, &named),
                _ => false,
            };
            if !still_there {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).io("remove abandoned temp file", &path),
            }
        }
        drop(dir_lock);
        if removed > 0 {
            tracing::info!(removed, "removed temp files of interrupted writes");
        }
        Ok(removed)
    }

    /// `tmp/` itself, locked (flock) as `op` says: shared by a writer while
    /// it creates and locks its temp file, exclusive by a sweep.
    fn lock_tmp(&self, op: FlockOperation) -> Result<File> {
        let dir = File::open(&self.tmp).io("open", &self.tmp)?;
        flock(&dir, op)
            .map_err(io::Error::from)
            .io("lock", &self.tmp)?;
        Ok(dir)
    }

    /// Copies everything `source` yields into the store, hashing in the same
    /// pass, and makes it durable. `progress` is called with the bytes done
    /// after every chunk. Same as [`Self::write_temp`] then [`Self::commit`].
    pub fn put(
        &self,
        source: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<StoredObject> {
        let pending = self.write_temp(source, progress)?;
        self.commit(pending)
    }

    /// First half of [`Self::put`]: copies and hashes `source` into a locked
    /// temp file. Nothing is durable yet; dropping the result removes the
    /// temp file. Lets a caller start the next copy while this one commits.
    pub fn write_temp(
        &self,
        source: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<PendingObject> {
        // Held until the temp file is locked: a sweep never sees it unlocked.
        let dir_lock = self.lock_tmp(FlockOperation::LockShared)?;
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp_path = self.tmp.join(format!("{}.{n}.part", std::process::id()));
        let open = |extra: i32| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC | extra)
                .open(&tmp_path)
        };
        // O_DIRECT where the file system has it (not tmpfs, for one).
        let (mut file, direct) = match open(libc::O_DIRECT) {
            Ok(f) => (f, true),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                (open(0).io("create temp file", &tmp_path)?, false)
            }
            Err(e) => return Err(e).io("create temp file", &tmp_path),
        };
        let guard = TempGuard(Some(tmp_path.clone()));
        flock(&file, FlockOperation::LockExclusive)
            .map_err(io::Error::from)
            .io("lock temp file", &tmp_path)?;
        drop(dir_lock);
        let digests = copy_and_hash(
            source,
            Sink::File {
                file: &mut file,
                name: &tmp_path,
                direct,
            },
            progress,
        )?;
        Ok(PendingObject {
            file,
            guard,
            digests,
        })
    }

    /// Second half of [`Self::put`]: fsyncs the temp file and renames it to
    /// its hash name without ever replacing an existing object, then fsyncs
    /// the directory. If the content is already stored, drops the temp file.
    pub fn commit(&self, pending: PendingObject) -> Result<StoredObject> {
        let PendingObject {
            file,
            guard,
            digests,
        } = pending;
        let tmp_path = guard.0.clone().expect("guard holds the temp path");
        file.sync_all().io("fsync", &tmp_path)?;
        failpoint::hit("object.synced");

        let final_path = self.object_path(&digests.blake3);
        // The content is stored already: the temp file goes, nothing is written.
        let already = |digests: Digests, final_path: PathBuf, guard: TempGuard, existing: u64| {
            check_size(&digests, &final_path, existing)?;
            drop(guard);
            Ok(StoredObject {
                digests,
                path: final_path,
                newly_written: false,
            })
        };
        if let Some(existing) = self.existing_size(&final_path)? {
            return already(digests, final_path, guard, existing);
        }
        file.set_permissions(fs::Permissions::from_mode(0o444))
            .io("make read-only", &tmp_path)?;
        let fan_dir = final_path.parent().expect("object path has a parent");
        if !fan_dir.exists() {
            fs::create_dir_all(fan_dir).io("create directory", fan_dir)?;
            fsync_dir(&self.objects)?;
        }
        match rustix::fs::renameat_with(
            rustix::fs::CWD,
            &tmp_path,
            rustix::fs::CWD,
            &final_path,
            rustix::fs::RenameFlags::NOREPLACE,
        ) {
            Ok(()) => {}
            // Another writer stored the same content meanwhile.
            Err(rustix::io::Errno::EXIST) => {
                let existing = self.existing_size(&final_path)?.unwrap_or(0);
                return already(digests, final_path, guard, existing);
            }
            Err(e) => return Err(io::Error::from(e)).io("rename into place", &final_path),
        }
        std::mem::forget(guard); // the temp name is gone; nothing to clean
        failpoint::hit("object.renamed");
        fsync_dir(fan_dir)?;
        Ok(StoredObject {
            digests,
            path: final_path,
            newly_written: true,
        })
    }

    fn existing_size(&self, path: &Path) -> Result<Option<u64>> {
        match fs::symlink_metadata(path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).io("stat", path),
        }
    }

    /// Every object file name (BLAKE3 hex) in the store.
    pub fn list(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for fan in fs::read_dir(&self.objects).io("list", &self.objects)? {
            let fan = fan.io("list", &self.objects)?.path();
            if !fan.is_dir() {
                continue;
            }
            for obj in fs::read_dir(&fan).io("list", &fan)? {
                let obj = obj.io("list", &fan)?;
                out.push(obj.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Re-reads an object file and hashes it.
    pub fn rehash(&self, blake3_hex: &str) -> Result<Digests> {
        let path = self.object_path(blake3_hex);
        let mut file = File::open(&path).io("open", &path)?;
        hash_reader(&mut file).map_err(|e| match e {
            StoreError::Source { source, .. } => StoreError::Io {
                action: "read",
                path: path.clone(),
                source,
            },
            e => e,
        })
    }
}

/// Hashes everything `source` yields with BLAKE3 and SHA-256 in one pass.
pub fn hash_reader(source: &mut dyn Read) -> Result<Digests> {
    copy_and_hash(source, Sink::Discard, &mut |_| {})
}

fn check_size(digests: &Digests, path: &Path, found: u64) -> Result<()> {
    if found != digests.bytes {
        return Err(StoreError::ObjectMismatch {
            hash: digests.blake3.clone(),
            path: path.to_owned(),
            found,
            expected: digests.bytes,
        });
    }
    Ok(())
}

/// Deletes the temp file unless disarmed with `mem::forget`.
#[derive(Debug)]
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .io("fsync directory", dir)
}

/// Whether `name` is `<pid>.<n>.part`, the only temp file name the store
/// writes.
fn is_temp_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".part") else {
        return false;
    };
    let Some((pid, n)) = stem.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(pid) && digits(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn reference(data: &[u8]) -> Digests {
        Digests {
            blake3: blake3::hash(data).to_hex().to_string(),
            sha256: hex(&sha2::Sha256::digest(data)),
            bytes: data.len() as u64,
        }
    }

    #[test]
    fn put_stores_bytes_and_both_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        // Spans several chunks and ends mid-chunk.
        let data: Vec<u8> = (0..(CHUNK * 3 + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let obj = store.put(&mut &data[..], &mut |_| {}).unwrap();
        assert!(obj.newly_written);
        assert_eq!(obj.digests, reference(&data));
        assert_eq!(fs::read(&obj.path).unwrap(), data);
        let mode = fs::metadata(&obj.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o222, 0, "object must be read-only");
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn same_content_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        let a = store.put(&mut &b"evidence"[..], &mut |_| {}).unwrap();
        let b = store.put(&mut &b"evidence"[..], &mut |_| {}).unwrap();
        assert!(a.newly_written);
        assert!(!b.newly_written);
        assert_eq!(a.path, b.path);
        assert_eq!(store.list().unwrap(), vec![a.digests.blake3.clone()]);
    }

    #[test]
    fn empty_content_is_an_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        let obj = store.put(&mut &b""[..], &mut |_| {}).unwrap();
        assert_eq!(obj.digests, reference(b""));
    }

    #[test]
    fn source_error_names_offset_and_leaves_no_temp() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("unplugged"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(1);
                self.0 -= n;
                Ok(n)
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        let err = store.put(&mut Failing(5000), &mut |_| {}).unwrap_err();
        assert!(
            matches!(err, StoreError::Source { offset: 5000, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("unplugged"));
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        assert!(store.list().unwrap().is_empty());
    }

    /// A sweep (every writable open of the store runs one, `vigil verify`
    /// too) racing a writer never takes a temp file between its creation
    /// and its writer's lock: every write commits.
    #[test]
    fn a_sweep_never_takes_a_temp_file_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(ObjectStore::open(dir.path()).unwrap());
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sweeper = {
            let (store, done) = (store.clone(), done.clone());
            std::thread::spawn(move || {
                let mut swept = 0;
                while !done.load(Ordering::Relaxed) {
                    swept += store.sweep_temp().unwrap();
                }
                swept
            })
        };
        let mut failures = Vec::new();
        for i in 0..3000u32 {
            let body = i.to_le_bytes();
            if let Err(e) = store.put(&mut &body[..], &mut |_| {}) {
                failures.push(e.to_string());
            }
        }
        done.store(true, Ordering::Relaxed);
        let swept = sweeper.join().unwrap();
        assert!(
            failures.is_empty(),
            "{} writes failed: {:?}",
            failures.len(),
            &failures[..failures.len().min(3)]
        );
        assert_eq!(swept, 0, "the sweep removed live temp files");
        assert_eq!(store.list().unwrap().len(), 3000);
    }

    #[test]
    fn sweep_removes_only_abandoned_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        let abandoned = dir.path().join("tmp/999.0.part");
        fs::write(&abandoned, b"half a clip").unwrap();
        let live_path = dir.path().join("tmp/998.0.part");
        let live = File::create(&live_path).unwrap();
        flock(&live, FlockOperation::LockExclusive).unwrap();
        // flock locks are per open file description: a second open in this
        // process contends like another process would.
        assert_eq!(store.sweep_temp().unwrap(), 1);
        assert!(!abandoned.exists());
        assert!(live_path.exists());
    }
}
