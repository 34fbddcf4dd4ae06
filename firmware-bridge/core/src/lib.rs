//! The dock firmware's protocol core, `#![no_std]` and heap-free: it owns
//! the session state machine (hello → authenticated), enrolment, and every
//! request, and talks to the world only through traits:
//!
//! - [`Slots`]: which recorders are docked and who they are;
//! - [`Storage`]: a recorder's files (list, read, erase);
//! - [`Clock`]: a recorder's clock;
//! - [`Power`]: battery and charging;
//! - [`KeyStore`] and [`Entropy`]: the station key and randomness;
//! - [`HostLink`]: the byte pipe to the host (CDC-ACM or USB bulk).
//!
//! The same core runs in `dock-sim` (host binary) and would run on the dock's
//! microcontroller. Session rules (docs/dock-protocol.md):
//!
//! ```text
//! Idle ──Hello──▶ Greeted ──Auth(ok)──▶ Authenticated
//!                    │  └──Enroll (factory-new only)──▶ Greeted (now enrolled)
//!                    └──anything else──▶ Error(Unauthorized), logged
//! any state ──Hello──▶ Greeted (new challenge)      link cut ──▶ Idle
//! ```

#![no_std]

use vigil_dock_proto::frame::{encode, encoded_len, Decoder};
use vigil_dock_proto::{
    bounded, DockInfo, Envelope, ErasedEntry, ErrorCode, Event, FileEntry, Msg, RecorderStatus,
    SlotStatus, DATA_OVERHEAD, MAX_DATA, MAX_FRAME, MAX_SLOTS, VERSION,
};

/// Docked recorders and the dock's identity.
pub trait Slots {
    /// The dock's identity.
    fn dock(&self) -> DockInfo;
    /// The recorder in `slot`, if any (battery, clock and faults included).
    fn recorder(&mut self, slot: u8) -> Option<RecorderStatus>;
    /// Switches a recorder into or out of USB mass-storage mode.
    fn set_mass_storage(&mut self, slot: u8, enable: bool) -> Result<(), ErrorCode>;
    /// Notes something worth logging (refused hosts, erasures).
    fn log(&mut self, line: &str);
}

/// A docked recorder's storage.
pub trait Storage {
    /// The file at `index` in listing order, or `None` past the end.
    fn file(&mut self, slot: u8, index: u32) -> Result<Option<FileEntry>, ErrorCode>;
    /// Size of a file.
    fn size(&mut self, slot: u8, file: u32) -> Result<u64, ErrorCode>;
    /// Reads from `offset`; returns the bytes read (0 only at end of file).
    fn read(
        &mut self,
        slot: u8,
        file: u32,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, ErrorCode>;
    /// Erases a file whose size and BLAKE3 the core has just checked. The
    /// hardware appends `(name, size, blake3)` to the recorder's erase log
    /// *before* the file goes, so the log never misses an erasure (a power
    /// cut between the two leaves a logged file that is still there, which
    /// the host simply pulls again).
    fn erase(&mut self, slot: u8, file: u32, size: u64, blake3: &[u8; 32])
        -> Result<(), ErrorCode>;
    /// Entry `index` (0 = oldest) of the recorder's erase log, or `None`
    /// past the end. A log may keep only its newest entries.
    fn erased(&mut self, slot: u8, index: u32) -> Result<Option<ErasedEntry>, ErrorCode>;
}

/// A docked recorder's clock.
pub trait Clock {
    /// Its time, Unix ms.
    fn now_ms(&mut self, slot: u8) -> Result<i64, ErrorCode>;
    /// Sets it.
    fn set_ms(&mut self, slot: u8, unix_ms: i64) -> Result<(), ErrorCode>;
}

/// A docked recorder's power.
pub trait Power {
    /// Battery percent and whether it is charging.
    fn battery(&mut self, slot: u8) -> (u8, bool);
}

/// All the slot hardware.
pub trait Hardware: Slots + Storage + Clock + Power {}
impl<T: Slots + Storage + Clock + Power> Hardware for T {}

/// Where the station key is kept (flash on a dock, a file in the simulator).
pub trait KeyStore {
    /// The key, once enrolled.
    fn load(&mut self) -> Option<[u8; 32]>;
    /// Keeps the key; false if it could not be written.
    fn save(&mut self, key: &[u8; 32]) -> bool;
}

/// Randomness for challenges.
pub trait Entropy {
    /// Fills `buf` with unpredictable bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// The host link is gone (unplugged, cut); the caller reconnects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkDown;

/// The byte pipe to the host.
pub trait HostLink {
    /// Reads what is available (0 if nothing yet); `Err` when the link is gone.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown>;
    /// Writes all of `bytes`; `Err` when the link is gone.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkDown>;
}

/// Host MAC: proves the host holds the key.
pub fn host_mac(key: &[u8; 32], challenge: &[u8; 16], host_nonce: &[u8; 16]) -> [u8; 32] {
    mac(key, b"vigil-dock-auth-host", challenge, host_nonce)
}

/// Dock MAC: proves the dock holds the key.
pub fn dock_mac(key: &[u8; 32], challenge: &[u8; 16], host_nonce: &[u8; 16]) -> [u8; 32] {
    mac(key, b"vigil-dock-auth-dock", host_nonce, challenge)
}

fn mac(key: &[u8; 32], label: &[u8; 20], a: &[u8; 16], b: &[u8; 16]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(label);
    h.update(a);
    h.update(b);
    *h.finalize().as_bytes()
}

fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Session {
    Idle,
    Greeted,
    Authenticated,
}

const RX: usize = encoded_len(MAX_FRAME);

/// The dock: protocol state plus its hardware.
#[derive(Debug)]
pub struct Dock<H, K, E> {
    /// The slot hardware.
    pub hw: H,
    keys: K,
    entropy: E,
    key: Option<[u8; 32]>,
    session: Session,
    challenge: [u8; 16],
    chunk: usize,
    decoder: Decoder<RX>,
    scratch: [u8; MAX_FRAME],
    out: [u8; RX],
    /// Requests refused for lack of authentication.
    pub refused: u32,
}

impl<H: Hardware, K: KeyStore, E: Entropy> Dock<H, K, E> {
    /// A dock with this hardware; enrolled if the key store has a key.
    pub fn new(hw: H, mut keys: K, entropy: E) -> Self {
        let key = keys.load();
        Self {
            hw,
            keys,
            entropy,
            key,
            session: Session::Idle,
            challenge: [0; 16],
            chunk: MAX_DATA,
            decoder: Decoder::new(),
            scratch: [0; MAX_FRAME],
            out: [0; RX],
            refused: 0,
        }
    }

    /// Whether the dock has a station key.
    pub fn enrolled(&self) -> bool {
        self.key.is_some()
    }

    /// Forgets the session after the link was cut.
    pub fn link_lost(&mut self) {
        self.session = Session::Idle;
        self.decoder.reset();
    }

    /// Reads what the host sent, answers every complete request. Returns
    /// `Err` when the link is gone (the caller reconnects and calls
    /// [`Self::link_lost`]).
    pub fn poll(&mut self, link: &mut impl HostLink) -> Result<usize, LinkDown> {
        let mut buf = [0u8; 512];
        let n = link.read(&mut buf)?;
        for &b in &buf[..n] {
            let Some(frame) = self.decoder.push(b) else {
                continue;
            };
            match frame {
                Ok(req) => {
                    let resp = self.handle(req);
                    self.send(link, &resp)?;
                }
                Err(e) => {
                    // A corrupted frame has no trustworthy id: the host
                    // times out and retries.
                    let mut line = heapless::String::<80>::new();
                    let _ = core::fmt::write(&mut line, format_args!("dropped a frame: {e}"));
                    self.hw.log(&line);
                }
            }
        }
        Ok(n)
    }

    /// Sends an unsolicited event (only to an authenticated host).
    pub fn notify(&mut self, link: &mut impl HostLink, event: Event) -> Result<(), LinkDown> {
        if self.session != Session::Authenticated {
            return Ok(());
        }
        self.send(
            link,
            &Envelope {
                id: 0,
                msg: Msg::Event(event),
            },
        )
    }

    fn send(&mut self, link: &mut impl HostLink, env: &Envelope) -> Result<(), LinkDown> {
        match encode(env, &mut self.scratch, &mut self.out) {
            Ok(n) => link.write_all(&self.out[..n]),
            Err(_) => {
                let e = Envelope {
                    id: env.id,
                    msg: Msg::error(ErrorCode::BadRequest, "response does not fit a frame"),
                };
                let n = encode(&e, &mut self.scratch, &mut self.out).map_err(|_| LinkDown)?;
                link.write_all(&self.out[..n])
            }
        }
    }

    /// Answers one request.
    pub fn handle(&mut self, req: Envelope) -> Envelope {
        let id = req.id;
        let msg = match self.answer(req.msg) {
            Ok(m) => m,
            Err((code, detail)) => Msg::error(code, detail),
        };
        Envelope { id, msg }
    }

    fn answer(&mut self, msg: Msg) -> Result<Msg, (ErrorCode, &'static str)> {
        match (&msg, self.session) {
            (Msg::Hello { .. }, _) => {}
            (Msg::Auth { .. } | Msg::Enroll { .. }, Session::Greeted | Session::Authenticated) => {}
            (_, Session::Authenticated) => {}
            (_, Session::Idle) => return Err((ErrorCode::VersionUnsupported, "say Hello first")),
            (_, Session::Greeted) => {
                self.refused += 1;
                self.hw
                    .log("refused a request from an unauthenticated host");
                return Err((ErrorCode::Unauthorized, "authenticate first"));
            }
        }
        match msg {
            Msg::Hello { version, max_frame } => {
                if version < VERSION {
                    // Version 1 requests carry no docking: a host speaking
                    // it could read or erase a swapped-in recorder's files.
                    return Err((ErrorCode::VersionUnsupported, "this dock speaks version 2"));
                }
                let frame = (max_frame as usize).min(MAX_FRAME);
                if frame < DATA_OVERHEAD + 256 {
                    return Err((ErrorCode::BadRequest, "max_frame too small"));
                }
                self.chunk = (frame - DATA_OVERHEAD).min(MAX_DATA);
                self.entropy.fill(&mut self.challenge);
                self.session = Session::Greeted;
                Ok(Msg::HelloAck {
                    version: VERSION.min(version),
                    max_frame: MAX_FRAME as u32,
                    dock: self.hw.dock(),
                    challenge: self.challenge,
                    enrolled: self.key.is_some(),
                })
            }
            Msg::Enroll { key } => {
                if self.key.is_some() {
                    self.hw.log("refused to enroll: already enrolled");
                    return Err((
                        ErrorCode::AlreadyEnrolled,
                        "this dock is enrolled to a station already",
                    ));
                }
                if !self.keys.save(&key) {
                    return Err((ErrorCode::StorageError, "could not store the key"));
                }
                self.key = Some(key);
                self.hw.log("enrolled to a station");
                Ok(Msg::Done)
            }
            Msg::Auth { host_nonce, mac } => {
                let Some(key) = self.key else {
                    self.refused += 1;
                    self.hw.log("refused authentication: not enrolled");
                    return Err((
                        ErrorCode::NotEnrolled,
                        "this dock is not enrolled: run `vigil dock enroll`",
                    ));
                };
                if !ct_eq(&mac, &host_mac(&key, &self.challenge, &host_nonce)) {
                    self.refused += 1;
                    self.session = Session::Greeted;
                    self.entropy.fill(&mut self.challenge); // one try per challenge
                    self.hw.log("refused authentication: wrong station key");
                    return Err((
                        ErrorCode::Unauthorized,
                        "wrong station key: this dock is enrolled to another station",
                    ));
                }
                self.session = Session::Authenticated;
                Ok(Msg::AuthOk {
                    mac: dock_mac(&key, &self.challenge, &host_nonce),
                })
            }
            Msg::Status => {
                let dock = self.hw.dock();
                let mut slots = heapless::Vec::new();
                for slot in 0..dock.slots.min(MAX_SLOTS as u8) {
                    let recorder = self.hw.recorder(slot);
                    let _ = slots.push(SlotStatus { slot, recorder });
                }
                Ok(Msg::StatusAck { dock, slots })
            }
            Msg::SetTime {
                slot,
                docking,
                unix_ms,
            } => {
                self.occupied(slot, docking)?;
                let before_ms = self
                    .hw
                    .now_ms(slot)
                    .map_err(|c| (c, "cannot read the recorder clock"))?;
                self.hw
                    .set_ms(slot, unix_ms)
                    .map_err(|c| (c, "cannot set the recorder clock"))?;
                let after_ms = self
                    .hw
                    .now_ms(slot)
                    .map_err(|c| (c, "cannot read the recorder clock"))?;
                Ok(Msg::TimeSet {
                    before_ms,
                    after_ms,
                })
            }
            Msg::ListFiles {
                slot,
                docking,
                from,
            } => {
                self.occupied(slot, docking)?;
                let (files, next) = page(from, |i| {
                    self.hw.file(slot, i).map_err(|c| (c, "cannot list files"))
                })?;
                Ok(Msg::Files { files, next })
            }
            Msg::Read {
                slot,
                docking,
                file,
                offset,
                len,
            } => {
                self.occupied(slot, docking)?;
                if len as usize > self.chunk {
                    return Err((ErrorCode::OutOfRange, "len above the agreed chunk size"));
                }
                let size = self.hw.size(slot, file).map_err(|c| (c, "no such file"))?;
                if offset > size {
                    return Err((ErrorCode::OutOfRange, "offset beyond the end of the file"));
                }
                let mut data = heapless::Vec::<u8, MAX_DATA>::new();
                let want = (len as u64).min(size - offset) as usize;
                let _ = data.resize(want, 0);
                let mut got = 0;
                while got < want {
                    let n = self
                        .hw
                        .read(slot, file, offset + got as u64, &mut data[got..])
                        .map_err(|c| (c, "storage read failed"))?;
                    if n == 0 {
                        break;
                    }
                    got += n;
                }
                data.truncate(got);
                Ok(Msg::Data { file, offset, data })
            }
            Msg::FileHash {
                slot,
                docking,
                file,
            } => {
                self.occupied(slot, docking)?;
                let (size, hash) = self.hash(slot, file)?;
                Ok(Msg::Hash { size, blake3: hash })
            }
            Msg::Erase {
                slot,
                docking,
                file,
                size,
                blake3,
            } => {
                self.occupied(slot, docking)?;
                let (real_size, real) = self.hash(slot, file)?;
                if real_size != size || !ct_eq(&real, &blake3) {
                    self.hw
                        .log("refused to erase: size or hash differs from the file");
                    return Err((
                        ErrorCode::HashMismatch,
                        "size or BLAKE3 differs from the file on the recorder",
                    ));
                }
                self.hw
                    .erase(slot, file, size, &blake3)
                    .map_err(|c| (c, "erase failed"))?;
                Ok(Msg::Done)
            }
            Msg::Erased {
                slot,
                docking,
                from,
            } => {
                self.occupied(slot, docking)?;
                let (files, next) = page(from, |i| {
                    self.hw
                        .erased(slot, i)
                        .map_err(|c| (c, "cannot read the erase log"))
                })?;
                Ok(Msg::ErasedFiles { files, next })
            }
            Msg::MassStorage {
                slot,
                docking,
                enable,
            } => {
                self.occupied(slot, docking)?;
                self.hw
                    .set_mass_storage(slot, enable)
                    .map_err(|c| (c, "cannot switch mode"))?;
                Ok(Msg::Done)
            }
            _ => Err((ErrorCode::BadRequest, "not a request")),
        }
    }

    /// The slot exists and holds the recorder of this docking (a request
    /// about a recorder that left, or was swapped, touches nothing).
    fn occupied(&mut self, slot: u8, docking: u32) -> Result<(), (ErrorCode, &'static str)> {
        if slot >= self.hw.dock().slots {
            return Err((ErrorCode::NoSuchSlot, "no such slot"));
        }
        match self.hw.recorder(slot) {
            None => Err((ErrorCode::EmptySlot, "the slot is empty")),
            Some(r) if r.docking != docking || docking == 0 => {
                self.hw
                    .log("refused a request for a recorder no longer in its slot");
                Err((
                    ErrorCode::StaleDocking,
                    "another docking is in this slot now",
                ))
            }
            Some(_) => Ok(()),
        }
    }

    fn hash(&mut self, slot: u8, file: u32) -> Result<(u64, [u8; 32]), (ErrorCode, &'static str)> {
        let size = self.hw.size(slot, file).map_err(|c| (c, "no such file"))?;
        let mut h = blake3::Hasher::new();
        let mut offset = 0u64;
        loop {
            let n = self
                .hw
                .read(slot, file, offset, &mut self.scratch)
                .map_err(|c| (c, "storage read failed"))?;
            if n == 0 {
                break;
            }
            h.update(&self.scratch[..n]);
            offset += n as u64;
        }
        Ok((size.max(offset), *h.finalize().as_bytes()))
    }
}

/// One page of a listing: up to `N` entries from index `from`, and the index
/// of the next page when there are more (`get` returns `None` past the end).
fn page<T, E, const N: usize>(
    from: u32,
    mut get: impl FnMut(u32) -> Result<Option<T>, E>,
) -> Result<(heapless::Vec<T, N>, Option<u32>), E> {
    let mut items = heapless::Vec::new();
    let mut i = from;
    while items.len() < N {
        match get(i)? {
            Some(item) => {
                let _ = items.push(item);
                i += 1;
            }
            None => return Ok((items, None)),
        }
    }
    let more = get(i)?.is_some();
    Ok((items, more.then_some(i)))
}

/// A short name from a longer string (for firmware strings).
pub fn name(s: &str) -> vigil_dock_proto::Name {
    bounded(s)
}

#[cfg(test)]
mod tests {
    //! The core against in-memory hardware and an in-memory link.
    extern crate std;
    use std::vec::Vec;

    use super::*;
    use vigil_dock_proto::frame::encode;

    struct Mem {
        files: Vec<(&'static str, Vec<u8>, bool)>,
        clock_ms: i64,
        docked: bool,
        docking: u32,
        log: Vec<ErasedEntry>,
    }

    impl Slots for Mem {
        fn dock(&self) -> DockInfo {
            DockInfo {
                serial: name("MEM-1"),
                firmware: name("test"),
                slots: 2,
            }
        }
        fn recorder(&mut self, slot: u8) -> Option<RecorderStatus> {
            (slot == 0 && self.docked).then(|| RecorderStatus {
                serial: name("R1"),
                model: name("M"),
                firmware: name("1"),
                officer: name("1001"),
                battery_pct: 50,
                charging: true,
                storage_used: 0,
                storage_free: 0,
                clock_ms: self.clock_ms,
                faults: heapless::Vec::new(),
                mass_storage: false,
                docking: self.docking,
            })
        }
        fn set_mass_storage(&mut self, _: u8, _: bool) -> Result<(), ErrorCode> {
            Ok(())
        }
        fn log(&mut self, _: &str) {}
    }

    impl Storage for Mem {
        fn file(&mut self, _: u8, index: u32) -> Result<Option<FileEntry>, ErrorCode> {
            Ok(self
                .files
                .iter()
                .enumerate()
                .filter(|(_, f)| !f.2)
                .nth(index as usize)
                .map(|(i, f)| FileEntry {
                    id: i as u32,
                    name: bounded(f.0),
                    size: f.1.len() as u64,
                    start_ms: None,
                    end_ms: None,
                    seq: None,
                }))
        }
        fn size(&mut self, _: u8, file: u32) -> Result<u64, ErrorCode> {
            self.files
                .get(file as usize)
                .filter(|f| !f.2)
                .map(|f| f.1.len() as u64)
                .ok_or(ErrorCode::NoSuchFile)
        }
        fn read(
            &mut self,
            _: u8,
            file: u32,
            offset: u64,
            buf: &mut [u8],
        ) -> Result<usize, ErrorCode> {
            let f = &self
                .files
                .get(file as usize)
                .filter(|f| !f.2)
                .ok_or(ErrorCode::NoSuchFile)?
                .1;
            let start = (offset as usize).min(f.len());
            let n = buf.len().min(f.len() - start);
            buf[..n].copy_from_slice(&f[start..start + n]);
            Ok(n)
        }
        fn erase(
            &mut self,
            _: u8,
            file: u32,
            size: u64,
            blake3: &[u8; 32],
        ) -> Result<(), ErrorCode> {
            self.log.push(ErasedEntry {
                name: bounded(self.files[file as usize].0),
                size,
                blake3: *blake3,
            });
            self.files[file as usize].2 = true;
            Ok(())
        }
        fn erased(&mut self, _: u8, index: u32) -> Result<Option<ErasedEntry>, ErrorCode> {
            Ok(self.log.get(index as usize).cloned())
        }
    }

    impl Clock for Mem {
        fn now_ms(&mut self, _: u8) -> Result<i64, ErrorCode> {
            Ok(self.clock_ms)
        }
        fn set_ms(&mut self, _: u8, ms: i64) -> Result<(), ErrorCode> {
            self.clock_ms = ms;
            Ok(())
        }
    }

    impl Power for Mem {
        fn battery(&mut self, _: u8) -> (u8, bool) {
            (50, true)
        }
    }

    struct Keys(Option<[u8; 32]>);
    impl KeyStore for Keys {
        fn load(&mut self) -> Option<[u8; 32]> {
            self.0
        }
        fn save(&mut self, key: &[u8; 32]) -> bool {
            self.0 = Some(*key);
            true
        }
    }

    struct Counter(u8);
    impl Entropy for Counter {
        fn fill(&mut self, buf: &mut [u8]) {
            self.0 = self.0.wrapping_add(1);
            buf.fill(self.0);
        }
    }

    /// An in-memory link: what the host wrote, and what the dock answered.
    struct Wire {
        to_dock: Vec<u8>,
        to_host: Vec<u8>,
    }
    impl HostLink for Wire {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown> {
            let n = buf.len().min(self.to_dock.len());
            buf[..n].copy_from_slice(&self.to_dock[..n]);
            self.to_dock.drain(..n);
            Ok(n)
        }
        fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkDown> {
            self.to_host.extend_from_slice(bytes);
            Ok(())
        }
    }

    const KEY: [u8; 32] = [7; 32];

    fn dock(enrolled: bool) -> Dock<Mem, Keys, Counter> {
        let hw = Mem {
            files: std::vec![
                ("a.mp4", (0..10_000u32).map(|i| i as u8).collect(), false),
                ("b.log", b"log".to_vec(), false)
            ],
            clock_ms: 1_000,
            docked: true,
            docking: 7,
            log: Vec::new(),
        };
        Dock::new(hw, Keys(enrolled.then_some(KEY)), Counter(0))
    }

    fn ask(d: &mut Dock<Mem, Keys, Counter>, msg: Msg) -> Msg {
        d.handle(Envelope { id: 9, msg }).msg
    }

    fn code(m: Msg) -> ErrorCode {
        match m {
            Msg::Error { code, .. } => code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    fn login(d: &mut Dock<Mem, Keys, Counter>) {
        let Msg::HelloAck { challenge, .. } = ask(
            d,
            Msg::Hello {
                version: VERSION,
                max_frame: MAX_FRAME as u32,
            },
        ) else {
            panic!("no HelloAck")
        };
        let nonce = [3u8; 16];
        let m = ask(
            d,
            Msg::Auth {
                host_nonce: nonce,
                mac: host_mac(&KEY, &challenge, &nonce),
            },
        );
        assert_eq!(
            m,
            Msg::AuthOk {
                mac: dock_mac(&KEY, &challenge, &nonce)
            }
        );
    }

    #[test]
    fn nothing_before_hello_and_nothing_but_auth_before_authentication() {
        let mut d = dock(true);
        assert_eq!(
            code(ask(&mut d, Msg::Status)),
            ErrorCode::VersionUnsupported
        );
        ask(
            &mut d,
            Msg::Hello {
                version: VERSION,
                max_frame: MAX_FRAME as u32,
            },
        );
        assert_eq!(code(ask(&mut d, Msg::Status)), ErrorCode::Unauthorized);
        assert_eq!(
            code(ask(
                &mut d,
                Msg::Read {
                    slot: 0,
                    docking: 7,
                    file: 0,
                    offset: 0,
                    len: 10
                }
            )),
            ErrorCode::Unauthorized
        );
        assert_eq!(d.refused, 2);
        login(&mut d);
        assert!(matches!(ask(&mut d, Msg::Status), Msg::StatusAck { .. }));
        d.link_lost();
        assert_eq!(
            code(ask(&mut d, Msg::Status)),
            ErrorCode::VersionUnsupported
        );
    }

    #[test]
    fn a_wrong_key_is_refused_and_the_challenge_changes() {
        let mut d = dock(true);
        let Msg::HelloAck { challenge, .. } = ask(
            &mut d,
            Msg::Hello {
                version: VERSION,
                max_frame: 4096,
            },
        ) else {
            panic!()
        };
        let nonce = [1u8; 16];
        let bad = host_mac(&[8; 32], &challenge, &nonce);
        assert_eq!(
            code(ask(
                &mut d,
                Msg::Auth {
                    host_nonce: nonce,
                    mac: bad
                }
            )),
            ErrorCode::Unauthorized
        );
        // A replay of the right MAC for the old challenge fails too.
        let old = host_mac(&KEY, &challenge, &nonce);
        assert_eq!(
            code(ask(
                &mut d,
                Msg::Auth {
                    host_nonce: nonce,
                    mac: old
                }
            )),
            ErrorCode::Unauthorized
        );
    }

    #[test]
    fn enrolment_once_then_authentication() {
        let mut d = dock(false);
        let Msg::HelloAck { enrolled, .. } = ask(
            &mut d,
            Msg::Hello {
                version: VERSION,
                max_frame: 4096,
            },
        ) else {
            panic!()
        };
        assert!(!enrolled);
        assert_eq!(
            code(ask(
                &mut d,
                Msg::Auth {
                    host_nonce: [0; 16],
                    mac: [0; 32]
                }
            )),
            ErrorCode::NotEnrolled
        );
        assert_eq!(ask(&mut d, Msg::Enroll { key: KEY }), Msg::Done);
        assert_eq!(
            code(ask(&mut d, Msg::Enroll { key: [9; 32] })),
            ErrorCode::AlreadyEnrolled
        );
        login(&mut d);
    }

    #[test]
    fn reads_ranges_lists_pages_and_erases_only_with_the_right_hash() {
        let mut d = dock(true);
        login(&mut d);
        let Msg::Files { files, next } = ask(
            &mut d,
            Msg::ListFiles {
                slot: 0,
                docking: 7,
                from: 0,
            },
        ) else {
            panic!()
        };
        assert_eq!((files.len(), next), (2, None));
        let Msg::Data { data, .. } = ask(
            &mut d,
            Msg::Read {
                slot: 0,
                docking: 7,
                file: 0,
                offset: 9_990,
                len: 100,
            },
        ) else {
            panic!()
        };
        assert_eq!(data.len(), 10, "a short chunk only at end of file");
        assert_eq!(
            code(ask(
                &mut d,
                Msg::Read {
                    slot: 0,
                    docking: 7,
                    file: 0,
                    offset: 10_001,
                    len: 1
                }
            )),
            ErrorCode::OutOfRange
        );
        assert_eq!(
            code(ask(
                &mut d,
                Msg::Read {
                    slot: 0,
                    docking: 7,
                    file: 0,
                    offset: 0,
                    len: 9_000
                }
            )),
            ErrorCode::OutOfRange
        );
        assert_eq!(
            code(ask(
                &mut d,
                Msg::Read {
                    slot: 1,
                    docking: 7,
                    file: 0,
                    offset: 0,
                    len: 1
                }
            )),
            ErrorCode::EmptySlot
        );
        assert_eq!(
            code(ask(
                &mut d,
                Msg::Read {
                    slot: 5,
                    docking: 7,
                    file: 0,
                    offset: 0,
                    len: 1
                }
            )),
            ErrorCode::NoSuchSlot
        );
        let real = *blake3::hash(b"log").as_bytes();
        assert_eq!(
            ask(
                &mut d,
                Msg::FileHash {
                    slot: 0,
                    docking: 7,
                    file: 1
                }
            ),
            Msg::Hash {
                size: 3,
                blake3: real
            }
        );
        assert_eq!(
            code(ask(
                &mut d,
                Msg::Erase {
                    slot: 0,
                    docking: 7,
                    file: 1,
                    size: 3,
                    blake3: [0; 32]
                }
            )),
            ErrorCode::HashMismatch
        );
        assert_eq!(
            code(ask(
                &mut d,
                Msg::Erase {
                    slot: 0,
                    docking: 7,
                    file: 1,
                    size: 4,
                    blake3: real
                }
            )),
            ErrorCode::HashMismatch
        );
        assert_eq!(
            ask(
                &mut d,
                Msg::Erase {
                    slot: 0,
                    docking: 7,
                    file: 1,
                    size: 3,
                    blake3: real
                }
            ),
            Msg::Done
        );
        assert_eq!(
            code(ask(
                &mut d,
                Msg::FileHash {
                    slot: 0,
                    docking: 7,
                    file: 1
                }
            )),
            ErrorCode::NoSuchFile
        );
    }

    #[test]
    fn a_request_for_another_docking_touches_nothing() {
        let mut d = dock(true);
        login(&mut d);
        let real = *blake3::hash(b"log").as_bytes();
        // The recorder is swapped: the slot now holds docking 8.
        d.hw.docking = 8;
        for msg in [
            Msg::Read {
                slot: 0,
                docking: 7,
                file: 0,
                offset: 0,
                len: 10,
            },
            Msg::FileHash {
                slot: 0,
                docking: 7,
                file: 1,
            },
            Msg::Erase {
                slot: 0,
                docking: 7,
                file: 1,
                size: 3,
                blake3: real,
            },
            Msg::ListFiles {
                slot: 0,
                docking: 7,
                from: 0,
            },
            Msg::SetTime {
                slot: 0,
                docking: 7,
                unix_ms: 0,
            },
            Msg::Read {
                slot: 0,
                docking: 0,
                file: 0,
                offset: 0,
                len: 10,
            },
        ] {
            assert_eq!(code(ask(&mut d, msg)), ErrorCode::StaleDocking);
        }
        assert!(!d.hw.files[1].2, "nothing erased");
        assert_eq!(d.hw.clock_ms, 1_000, "clock untouched");
        // The same requests for the docking in the slot work.
        assert_eq!(
            ask(
                &mut d,
                Msg::Erase {
                    slot: 0,
                    docking: 8,
                    file: 1,
                    size: 3,
                    blake3: real,
                }
            ),
            Msg::Done
        );
        // And the erase log says what went.
        let Msg::ErasedFiles { files, next } = ask(
            &mut d,
            Msg::Erased {
                slot: 0,
                docking: 8,
                from: 0,
            },
        ) else {
            panic!("no erase log")
        };
        assert_eq!(next, None);
        assert_eq!(files.len(), 1);
        assert_eq!((files[0].name.as_str(), files[0].size), ("b.log", 3));
        assert_eq!(files[0].blake3, real);
    }

    #[test]
    fn a_version_1_host_is_refused() {
        let mut d = dock(true);
        assert_eq!(
            code(ask(
                &mut d,
                Msg::Hello {
                    version: 1,
                    max_frame: 4096,
                }
            )),
            ErrorCode::VersionUnsupported
        );
    }

    #[test]
    fn set_time_reports_the_clock_before_and_after() {
        let mut d = dock(true);
        login(&mut d);
        assert_eq!(
            ask(
                &mut d,
                Msg::SetTime {
                    slot: 0,
                    docking: 7,
                    unix_ms: 5_000
                }
            ),
            Msg::TimeSet {
                before_ms: 1_000,
                after_ms: 5_000
            }
        );
    }

    #[test]
    fn poll_answers_framed_requests_over_a_link_and_survives_noise() {
        let mut d = dock(true);
        let mut scratch = [0u8; MAX_FRAME];
        let mut out = [0u8; RX];
        let n = encode(
            &Envelope {
                id: 42,
                msg: Msg::Hello {
                    version: VERSION,
                    max_frame: 4096,
                },
            },
            &mut scratch,
            &mut out,
        )
        .unwrap();
        let mut wire = Wire {
            to_dock: Vec::new(),
            to_host: Vec::new(),
        };
        wire.to_dock.extend_from_slice(&[0xde, 0xad, 0x00, 0x00]);
        wire.to_dock.extend_from_slice(&out[..n]);
        while !wire.to_dock.is_empty() {
            d.poll(&mut wire).unwrap();
        }
        let mut got = Vec::new();
        let mut dec: Decoder<RX> = Decoder::new();
        dec.feed(&wire.to_host, |r| got.push(r));
        assert_eq!(got.len(), 1);
        let env = got.remove(0).unwrap();
        assert_eq!(env.id, 42);
        assert!(matches!(
            env.msg,
            Msg::HelloAck {
                version: VERSION,
                ..
            }
        ));
    }
}
