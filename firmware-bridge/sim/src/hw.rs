//! Simulated slot hardware: each recorder is a directory of files, with a
//! clock (the host clock plus a skew), a battery and fault codes. Implements
//! the dock core's hardware traits, a file-backed key store and entropy.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use vigil_dock_core::{name, Clock, Entropy, KeyStore, Power, Slots, Storage};
use vigil_dock_proto::{
    bounded, fault, DockInfo, ErasedEntry, ErrorCode, FileEntry, RecorderStatus,
};

/// One file on a simulated recorder.
#[derive(Debug, Clone)]
struct SimFile {
    id: u32,
    rel: String,
    path: PathBuf,
    erased: bool,
}

/// A simulated recorder.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Serial number.
    pub serial: String,
    officer: String,
    files: Vec<SimFile>,
    skew_ms: i64,
    battery: u8,
    faults: Vec<u16>,
    mass_storage: bool,
    docking: u32,
    /// Reads still to fail with a storage error (a flaky card).
    read_errors: u32,
}

impl Recorder {
    /// Parses `SERIAL:OFFICER:DIR` and lists DIR's files.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut parts = spec.splitn(3, ':');
        let (Some(serial), Some(officer), Some(dir)) = (parts.next(), parts.next(), parts.next())
        else {
            bail!("recorder {spec:?}: expected SERIAL:OFFICER:DIR");
        };
        if serial.is_empty() || serial.len() > 24 || officer.len() > 24 {
            bail!("recorder {spec:?}: serial must be 1-24 characters, officer at most 24");
        }
        let dir = PathBuf::from(dir);
        let mut files = Vec::new();
        list(&dir, &dir, &mut files)
            .with_context(|| format!("listing recorder directory {}", dir.display()))?;
        files.sort_by(|a: &SimFile, b| a.rel.cmp(&b.rel));
        for (i, f) in files.iter_mut().enumerate() {
            f.id = i as u32 + 1;
        }
        Ok(Self {
            serial: serial.to_owned(),
            officer: officer.to_owned(),
            files,
            skew_ms: 0,
            battery: 87,
            faults: Vec::new(),
            mass_storage: false,
            docking: 0,
            read_errors: 0,
        })
    }

    fn present(&self) -> impl Iterator<Item = &SimFile> {
        self.files.iter().filter(|f| !f.erased)
    }

    fn find(&self, id: u32) -> Result<&SimFile, ErrorCode> {
        self.present()
            .find(|f| f.id == id)
            .ok_or(ErrorCode::NoSuchFile)
    }
}

fn list(root: &Path, dir: &Path, out: &mut Vec<SimFile>) -> std::io::Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        let t = e.file_type()?;
        if t.is_dir() {
            list(root, &e.path(), out)?;
        } else if t.is_file() {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap_or(&e.path())
                .to_string_lossy()
                .into_owned();
            out.push(SimFile {
                id: 0,
                rel,
                path: e.path(),
                erased: false,
            });
        }
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The simulated dock's slots.
#[derive(Debug)]
pub struct SimHw {
    serial: String,
    slots: Vec<Option<Recorder>>,
    times_from_mtime: bool,
    /// The last docking number issued.
    docking: u32,
    /// What this dock erased, per recorder serial (the dock's erase log,
    /// newest last, at most [`ERASE_LOG`] entries each).
    erased: std::collections::HashMap<String, Vec<ErasedEntry>>,
}

/// Entries kept per recorder in the erase log.
pub const ERASE_LOG: usize = 1024;

impl SimHw {
    /// A dock with `slots` empty slots.
    pub fn new(serial: &str, slots: u8, times_from_mtime: bool) -> Self {
        // Docking numbers start at a random point so that a restarted dock
        // does not issue the numbers of its previous life again.
        let mut seed = [0u8; 4];
        Urandom.fill(&mut seed);
        Self {
            serial: serial.to_owned(),
            slots: vec![None; slots as usize],
            times_from_mtime,
            docking: u32::from_le_bytes(seed) >> 1,
            erased: Default::default(),
        }
    }

    /// Docks a recorder in the first free slot; returns the slot and its
    /// new docking number.
    pub fn insert(&mut self, mut rec: Recorder) -> Option<(u8, u32)> {
        let i = self.slots.iter().position(Option::is_none)?;
        self.docking = self.docking.wrapping_add(1).max(1);
        rec.docking = self.docking;
        tracing::info!(slot = i, serial = %rec.serial, docking = rec.docking, files = rec.files.len(), "recorder inserted");
        self.slots[i] = Some(rec);
        Some((i as u8, self.docking))
    }

    /// Takes a recorder out.
    pub fn remove(&mut self, slot: u8) -> Result<()> {
        let s = self.slots.get_mut(slot as usize).context("no such slot")?;
        if s.take().is_none() {
            bail!("slot {slot} is empty");
        }
        tracing::info!(slot, "recorder removed");
        Ok(())
    }

    fn rec(&mut self, slot: u8) -> Result<&mut Recorder> {
        self.slots
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
            .with_context(|| format!("slot {slot} is empty"))
    }

    /// Moves a recorder's clock.
    pub fn skew(&mut self, slot: u8, secs: i64) -> Result<()> {
        self.rec(slot)?.skew_ms += secs * 1000;
        Ok(())
    }

    /// Sets the battery level; below 20 % raises LOW_BATTERY.
    pub fn set_battery(&mut self, slot: u8, pct: u8) -> Result<()> {
        let r = self.rec(slot)?;
        r.battery = pct.min(100);
        if pct < 20 && !r.faults.contains(&fault::LOW_BATTERY) {
            r.faults.push(fault::LOW_BATTERY);
        }
        Ok(())
    }

    /// Raises a fault.
    pub fn raise(&mut self, slot: u8, code: u16) -> Result<()> {
        let r = self.rec(slot)?;
        if !r.faults.contains(&code) && r.faults.len() < 4 {
            r.faults.push(code);
        }
        Ok(())
    }

    /// Makes the next `count` reads from `slot`'s recorder fail with a
    /// storage error (a card that misreads now and then).
    pub fn fail_reads(&mut self, slot: u8, count: u32) -> Result<()> {
        self.rec(slot)?.read_errors = count;
        Ok(())
    }

    /// Clears faults.
    pub fn clear(&mut self, slot: u8) -> Result<()> {
        self.rec(slot)?.faults.clear();
        Ok(())
    }

    fn slot(&mut self, slot: u8) -> Result<&mut Recorder, ErrorCode> {
        match self.slots.get_mut(slot as usize) {
            None => Err(ErrorCode::NoSuchSlot),
            Some(None) => Err(ErrorCode::EmptySlot),
            Some(Some(r)) => Ok(r),
        }
    }
}

impl Slots for SimHw {
    fn dock(&self) -> DockInfo {
        DockInfo {
            serial: name(&self.serial),
            firmware: name(concat!("dock-sim ", env!("CARGO_PKG_VERSION"))),
            slots: self.slots.len() as u8,
        }
    }

    fn recorder(&mut self, slot: u8) -> Option<RecorderStatus> {
        let r = self.slots.get(slot as usize)?.as_ref()?;
        let used: u64 = r
            .present()
            .filter_map(|f| fs::metadata(&f.path).ok())
            .map(|m| m.len())
            .sum();
        let capacity = 64u64 << 30;
        Some(RecorderStatus {
            serial: name(&r.serial),
            model: name("SIM-BWC"),
            firmware: name("1.0.0"),
            officer: name(&r.officer),
            battery_pct: r.battery,
            charging: r.battery < 100,
            storage_used: used,
            storage_free: capacity.saturating_sub(used),
            clock_ms: now_ms() + r.skew_ms,
            faults: r.faults.iter().copied().take(4).collect(),
            mass_storage: r.mass_storage,
            docking: r.docking,
        })
    }

    fn set_mass_storage(&mut self, slot: u8, enable: bool) -> Result<(), ErrorCode> {
        self.slot(slot)?.mass_storage = enable;
        Ok(())
    }

    fn log(&mut self, line: &str) {
        tracing::warn!("{line}");
    }
}

impl Storage for SimHw {
    fn file(&mut self, slot: u8, index: u32) -> Result<Option<FileEntry>, ErrorCode> {
        let with_times = self.times_from_mtime;
        let r = self.slot(slot)?;
        let skew = r.skew_ms;
        let Some(f) = r.present().nth(index as usize) else {
            return Ok(None);
        };
        let meta = fs::metadata(&f.path).map_err(|_| ErrorCode::StorageError)?;
        // The recorder stamps files by its own (possibly skewed) clock.
        let end_ms = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64 + skew)
            .filter(|_| with_times);
        Ok(Some(FileEntry {
            id: f.id,
            name: bounded(&f.rel),
            size: meta.len(),
            start_ms: None,
            end_ms,
            seq: None,
        }))
    }

    fn size(&mut self, slot: u8, file: u32) -> Result<u64, ErrorCode> {
        let f = self.slot(slot)?.find(file)?;
        fs::metadata(&f.path)
            .map(|m| m.len())
            .map_err(|_| ErrorCode::StorageError)
    }

    fn read(
        &mut self,
        slot: u8,
        file: u32,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, ErrorCode> {
        let r = self.slot(slot)?;
        if r.read_errors > 0 {
            r.read_errors -= 1;
            return Err(ErrorCode::StorageError);
        }
        let f = r.find(file)?;
        let mut fh = fs::File::open(&f.path).map_err(|_| ErrorCode::StorageError)?;
        fh.seek(SeekFrom::Start(offset))
            .map_err(|_| ErrorCode::StorageError)?;
        let mut n = 0;
        while n < buf.len() {
            match fh.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(_) => return Err(ErrorCode::StorageError),
            }
        }
        Ok(n)
    }

    fn erase(
        &mut self,
        slot: u8,
        file: u32,
        size: u64,
        blake3: &[u8; 32],
    ) -> Result<(), ErrorCode> {
        let r = self.slots.get_mut(slot as usize).and_then(Option::as_mut);
        let r = r.ok_or(ErrorCode::EmptySlot)?;
        let serial = r.serial.clone();
        let f = r
            .files
            .iter_mut()
            .find(|f| f.id == file && !f.erased)
            .ok_or(ErrorCode::NoSuchFile)?;
        // The log first: it must never miss an erasure.
        let log = self.erased.entry(serial.clone()).or_default();
        if log.len() >= ERASE_LOG {
            log.remove(0);
        }
        log.push(ErasedEntry {
            name: bounded(&f.rel),
            size,
            blake3: *blake3,
        });
        fs::remove_file(&f.path).map_err(|_| ErrorCode::StorageError)?;
        f.erased = true;
        tracing::info!(%serial, file = %f.rel, "erased after the host verified it");
        Ok(())
    }

    fn erased(&mut self, slot: u8, index: u32) -> Result<Option<ErasedEntry>, ErrorCode> {
        Ok(self.erase_log(slot)?.get(index as usize).cloned())
    }
}

impl SimHw {
    fn erase_log(&mut self, slot: u8) -> Result<&[ErasedEntry], ErrorCode> {
        let serial = self.slot(slot)?.serial.clone();
        Ok(self.erased.get(&serial).map_or(&[], Vec::as_slice))
    }
}

impl Clock for SimHw {
    fn now_ms(&mut self, slot: u8) -> Result<i64, ErrorCode> {
        Ok(now_ms() + self.slot(slot)?.skew_ms)
    }

    fn set_ms(&mut self, slot: u8, unix_ms: i64) -> Result<(), ErrorCode> {
        self.slot(slot)?.skew_ms = unix_ms - now_ms();
        Ok(())
    }
}

impl Power for SimHw {
    fn battery(&mut self, slot: u8) -> (u8, bool) {
        match self.slot(slot) {
            Ok(r) => (r.battery, r.battery < 100),
            Err(_) => (0, false),
        }
    }
}

/// The station key in a file (32 raw bytes, mode 0600), or only in memory.
#[derive(Debug)]
pub struct FileKeys {
    path: Option<PathBuf>,
    mem: Option<[u8; 32]>,
}

impl FileKeys {
    /// Keys kept at `path` (if given).
    pub fn new(path: Option<PathBuf>) -> Self {
        Self { path, mem: None }
    }
}

impl KeyStore for FileKeys {
    fn load(&mut self) -> Option<[u8; 32]> {
        if let Some(k) = self.mem {
            return Some(k);
        }
        let bytes = fs::read(self.path.as_ref()?).ok()?;
        let key: [u8; 32] = bytes.get(..32)?.try_into().ok()?;
        self.mem = Some(key);
        Some(key)
    }

    fn save(&mut self, key: &[u8; 32]) -> bool {
        self.mem = Some(*key);
        let Some(p) = &self.path else { return true };
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(p)
            .and_then(|mut f| f.write_all(key).and_then(|()| f.sync_all()))
            .is_ok()
    }
}

/// Randomness from the kernel.
#[derive(Debug)]
pub struct Urandom;

impl Entropy for Urandom {
    fn fill(&mut self, buf: &mut [u8]) {
        let mut done = 0;
        while done < buf.len() {
            match rustix::rand::getrandom(&mut buf[done..], rustix::rand::GetRandomFlags::empty()) {
                Ok(n) => done += n,
                Err(_) => std::thread::yield_now(),
            }
        }
    }
}
