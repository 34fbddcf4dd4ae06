//! A dock protocol client over any [`Link`]: `Hello`, mutual
//! challenge–response authentication, and requests matched to responses by
//! id; events are queued for [`Client::take_events`].
//!
//! A link is resynchronised before its first request, every time it is
//! opened: a host killed mid-transfer leaves the dock answering requests
//! nobody waits for any more, and part of a frame on the wire. The client
//! ends any half-frame the dock holds (a lone delimiter), discards what the
//! dock sends until it has been quiet for [`QUIET`] (at most [`DRAIN`]),
//! numbers its requests from a random id, and takes only answers to
//! requests it has outstanding: a stale answer that arrives later is
//! dropped, never matched to a new request with the same id.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

use vigil_dock_core::{dock_mac, host_mac};
use vigil_dock_proto::frame::{encode, encoded_len, Decoder};
use vigil_dock_proto::{
    DockInfo, Envelope, ErasedEntry, ErrorCode, Event, FileEntry, Msg, SlotStatus, DATA_OVERHEAD,
    MAX_DATA, MAX_FRAME, VERSION,
};

use crate::link::{open_serial, Link};
use crate::DockError;

const RX: usize = encoded_len(MAX_FRAME);

/// The path that names "the dock on USB bulk endpoints" (found by the
/// vendor/product ids in [`crate::link::USB_IDS`]).
pub const USB_PATH: &str = "usb";

/// Most events kept for [`Client::take_events`]; older ones are dropped.
pub const MAX_EVENTS: usize = 256;
/// Most responses kept waiting for a request id nobody asked for yet.
pub const MAX_STASH: usize = 64;
/// Longest listing (files, erase log) accepted from a dock.
pub const MAX_ERASE_LOG: usize = 65_536;

/// How long to wait for an answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// A freshly opened link is drained until the dock was silent this long.
pub const QUIET: Duration = Duration::from_millis(150);
/// Most time spent draining a freshly opened link.
pub const DRAIN: Duration = Duration::from_secs(3);
/// Most requests outstanding at once (answers to others are stale).
pub const MAX_OUTSTANDING: usize = 64;

/// A connection to one dock.
pub struct Client {
    link: Box<dyn Link>,
    path: String,
    decoder: Box<Decoder<RX>>,
    scratch: Box<[u8; MAX_FRAME]>,
    out: Box<[u8; RX]>,
    next_id: u16,
    /// The dock's identity (from `Hello`).
    pub dock: DockInfo,
    /// Whether the dock has a station key.
    pub enrolled: bool,
    challenge: [u8; 16],
    /// Largest data chunk agreed.
    pub chunk: usize,
    events: VecDeque<Event>,
    events_dropped: u64,
    stash: VecDeque<Envelope>,
    /// Requests sent and not yet answered, oldest first.
    outstanding: VecDeque<u16>,
    /// Answers dropped because no request of this session was waiting for
    /// them (left over from a host that died, or from before a reconnect).
    pub stale_dropped: u64,
    /// Bytes sent and received on the wire (for the efficiency benchmark).
    pub wire_in: u64,
    /// Bytes sent.
    pub wire_out: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("path", &self.path)
            .field("dock", &self.dock)
            .finish()
    }
}

impl Client {
    /// Opens the dock at `path` and says `Hello`: a serial device, or
    /// [`USB_PATH`] for the first dock on USB bulk endpoints.
    pub fn open(path: &str) -> Result<Self, DockError> {
        if path == USB_PATH {
            Self::over(Box::new(crate::link::UsbLink::open_first()?), USB_PATH)
        } else {
            Self::over(open_serial(path)?, path)
        }
    }

    /// Says `Hello` over an already open link.
    pub fn over(link: Box<dyn Link>, path: &str) -> Result<Self, DockError> {
        let mut c = Self {
            link,
            path: path.to_owned(),
            decoder: Box::new(Decoder::new()),
            scratch: Box::new([0; MAX_FRAME]),
            out: Box::new([0; RX]),
            next_id: 0,
            dock: DockInfo {
                serial: Default::default(),
                firmware: Default::default(),
                slots: 0,
            },
            enrolled: false,
            challenge: [0; 16],
            chunk: 0,
            events: VecDeque::new(),
            events_dropped: 0,
            stash: VecDeque::new(),
            outstanding: VecDeque::new(),
            stale_dropped: 0,
            wire_in: 0,
            wire_out: 0,
        };
        c.resync()?;
        c.hello()?;
        Ok(c)
    }

    /// Opens and authenticates with the station key. `path` is a serial
    /// device, or [`USB_PATH`] for the first dock on USB bulk endpoints.
    pub fn connect(path: &str, key: &[u8; 32]) -> Result<Self, DockError> {
        let mut c = Self::open(path)?;
        c.authenticate(key)?;
        Ok(c)
    }

    /// Reopens the same device path (after the link dropped) and
    /// authenticates again.
    pub fn reconnect(&mut self, key: &[u8; 32]) -> Result<(), DockError> {
        // Close the old port first: a serial device is opened for exclusive
        // use, so while the old descriptor lives every reopen of the same
        // device fails (EBUSY).
        self.link = Box::new(Closed);
        self.link = if self.path == USB_PATH {
            Box::new(crate::link::UsbLink::open_first()?)
        } else {
            open_serial(&self.path)?
        };
        self.resync()?;
        self.hello()?;
        self.authenticate(key)
    }

    /// Brings a freshly opened link to a frame boundary with nothing stale
    /// on it (see the module doc): a delimiter ends any partial frame the
    /// dock holds, what the dock still sends is discarded until it has been
    /// quiet for [`QUIET`], and the next request id is random.
    fn resync(&mut self) -> Result<(), DockError> {
        self.link
            .write_all(&[0])
            .and_then(|()| self.link.flush())
            .map_err(|e| self.link_err(format!("write failed: {e}")))?;
        let start = Instant::now();
        let mut last = start;
        let mut discarded = 0u64;
        let mut buf = [0u8; 8192];
        while last.elapsed() < QUIET {
            if start.elapsed() > DRAIN {
                return Err(self.link_err(format!(
                    "the dock did not fall silent within {DRAIN:?} after the link was opened ({discarded} bytes discarded)"
                )));
            }
            if let Some(n) = self.read_some(&mut buf)? {
                discarded += n as u64;
                last = Instant::now();
            }
        }
        if discarded > 0 {
            tracing::warn!(path = %self.path, bytes = discarded, "discarded what a previous session left on the link");
        }
        self.wire_in += discarded;
        self.decoder.reset();
        self.stash.clear();
        self.outstanding.clear();
        let mut id = [0u8; 2];
        let _ = rustix::rand::getrandom(&mut id, rustix::rand::GetRandomFlags::empty());
        self.next_id = u16::from_le_bytes(id);
        Ok(())
    }

    /// The device path.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn hello(&mut self) -> Result<(), DockError> {
        match self.call(Msg::Hello {
            version: VERSION,
            max_frame: MAX_FRAME as u32,
        })? {
            Msg::HelloAck {
                version,
                max_frame,
                dock,
                challenge,
                enrolled,
            } => {
                if version != VERSION {
                    return Err(self.protocol(format!(
                        "dock speaks version {version}, this host {VERSION}"
                    )));
                }
                self.dock = dock;
                self.enrolled = enrolled;
                self.challenge = challenge;
                self.chunk = (max_frame as usize)
                    .min(MAX_FRAME)
                    .saturating_sub(DATA_OVERHEAD)
                    .min(MAX_DATA);
                Ok(())
            }
            other => Err(self.unexpected("HelloAck", &other)),
        }
    }

    /// Proves this host holds `key` and checks the dock holds it too.
    pub fn authenticate(&mut self, key: &[u8; 32]) -> Result<(), DockError> {
        let mut host_nonce = [0u8; 16];
        let mut done = 0;
        while done < 16 {
            done += rustix::rand::getrandom(
                &mut host_nonce[done..],
                rustix::rand::GetRandomFlags::empty(),
            )
            .map_err(|e| self.link_err(format!("no randomness: {e}")))?;
        }
        let mac = host_mac(key, &self.challenge, &host_nonce);
        match self.call(Msg::Auth { host_nonce, mac })? {
            Msg::AuthOk { mac } if mac == dock_mac(key, &self.challenge, &host_nonce) => Ok(()),
            Msg::AuthOk { .. } => {
                Err(self
                    .protocol("the dock's proof of the station key is wrong: not our dock".into()))
            }
            other => Err(self.unexpected("AuthOk", &other)),
        }
    }

    /// Gives a factory-new dock the station key.
    pub fn enroll(&mut self, key: &[u8; 32]) -> Result<(), DockError> {
        match self.call(Msg::Enroll { key: *key })? {
            Msg::Done => {
                self.enrolled = true;
                Ok(())
            }
            other => Err(self.unexpected("Done", &other)),
        }
    }

    /// Every slot's status.
    pub fn status(&mut self) -> Result<Vec<SlotStatus>, DockError> {
        match self.call(Msg::Status)? {
            Msg::StatusAck { dock, slots } => {
                self.dock = dock;
                Ok(slots.into_iter().collect())
            }
            other => Err(self.unexpected("StatusAck", &other)),
        }
    }

    /// Sets a recorder's clock to now; returns (recorder clock before,
    /// after, host time at the midpoint of the exchange), Unix ms.
    pub fn set_time(&mut self, slot: u8, docking: u32) -> Result<(i64, i64, i64), DockError> {
        let t0 = now_ms();
        let resp = self.call(Msg::SetTime {
            slot,
            docking,
            unix_ms: t0,
        })?;
        let t1 = now_ms();
        match resp {
            Msg::TimeSet {
                before_ms,
                after_ms,
            } => Ok((before_ms, after_ms, (t0 + t1) / 2)),
            other => Err(self.unexpected("TimeSet", &other)),
        }
    }

    /// All files on a recorder.
    pub fn list_files(&mut self, slot: u8, docking: u32) -> Result<Vec<FileEntry>, DockError> {
        self.all_pages(
            ("file listing", "Files"),
            |from| Msg::ListFiles {
                slot,
                docking,
                from,
            },
            |m| match m {
                Msg::Files { files, next } => Ok((files.into_iter().collect(), next)),
                other => Err(Box::new(other)),
            },
        )
    }

    /// Pages through a listing until its last page: `ask(from)` makes the
    /// request, `take` splits an answer into entries and the next index.
    fn all_pages<T>(
        &mut self,
        (what, want): (&str, &str),
        ask: impl Fn(u32) -> Msg,
        take: impl Fn(Msg) -> Result<(Vec<T>, Option<u32>), Box<Msg>>,
    ) -> Result<Vec<T>, DockError> {
        let mut all = Vec::new();
        let mut from = 0;
        loop {
            let (items, next) = match take(self.call(ask(from))?) {
                Ok(page) => page,
                Err(other) => return Err(self.unexpected(want, &other)),
            };
            all.extend(items);
            if all.len() > MAX_ERASE_LOG {
                return Err(self.protocol(format!("{what} longer than {MAX_ERASE_LOG} entries")));
            }
            match next {
                Some(n) if n > from => from = n,
                Some(_) => return Err(self.protocol(format!("{what} does not advance"))),
                None => return Ok(all),
            }
        }
    }

    /// The dock's own size and BLAKE3 of a file.
    pub fn file_hash(
        &mut self,
        slot: u8,
        docking: u32,
        file: u32,
    ) -> Result<(u64, [u8; 32]), DockError> {
        match self.call(Msg::FileHash {
            slot,
            docking,
            file,
        })? {
            Msg::Hash { size, blake3 } => Ok((size, blake3)),
            other => Err(self.unexpected("Hash", &other)),
        }
    }

    /// Erases a file the host has stored and verified.
    pub fn erase(
        &mut self,
        slot: u8,
        docking: u32,
        file: u32,
        size: u64,
        blake3: [u8; 32],
    ) -> Result<(), DockError> {
        match self.call(Msg::Erase {
            slot,
            docking,
            file,
            size,
            blake3,
        })? {
            Msg::Done => Ok(()),
            other => Err(self.unexpected("Done", &other)),
        }
    }

    /// The recorder's erase log (what the dock erased from it, oldest first).
    pub fn erased(&mut self, slot: u8, docking: u32) -> Result<Vec<ErasedEntry>, DockError> {
        self.all_pages(
            ("erase log", "ErasedFiles"),
            |from| Msg::Erased {
                slot,
                docking,
                from,
            },
            |m| match m {
                Msg::ErasedFiles { files, next } => Ok((files.into_iter().collect(), next)),
                other => Err(Box::new(other)),
            },
        )
    }

    /// Switches mass-storage mode.
    pub fn mass_storage(&mut self, slot: u8, docking: u32, enable: bool) -> Result<(), DockError> {
        match self.call(Msg::MassStorage {
            slot,
            docking,
            enable,
        })? {
            Msg::Done => Ok(()),
            other => Err(self.unexpected("Done", &other)),
        }
    }

    /// Events received so far (at most [`MAX_EVENTS`], the newest; see
    /// [`Self::events_dropped`]).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events).into()
    }

    /// Events dropped because nobody took them in time (a dock flooding
    /// events cannot grow the host's memory).
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// Sends a request and waits for its answer.
    pub fn call(&mut self, msg: Msg) -> Result<Msg, DockError> {
        let id = self.send(msg)?;
        self.wait(id)
    }

    /// Sends a request; returns its id.
    pub fn send(&mut self, msg: Msg) -> Result<u16, DockError> {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let id = self.next_id;
        let n = encode(
            &Envelope { id, msg },
            &mut self.scratch[..],
            &mut self.out[..],
        )
        .map_err(|e| self.protocol(format!("cannot encode a request: {e}")))?;
        self.link
            .write_all(&self.out[..n])
            .and_then(|()| self.link.flush())
            .map_err(|e| self.link_err(format!("write failed: {e}")))?;
        self.wire_out += n as u64;
        if self.outstanding.len() >= MAX_OUTSTANDING {
            self.outstanding.pop_front();
        }
        self.outstanding.push_back(id);
        Ok(id)
    }

    /// Waits for the answer to request `id`.
    pub fn wait(&mut self, id: u16) -> Result<Msg, DockError> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(pos) = self.stash.iter().position(|e| e.id == id) {
                let env = self.stash.remove(pos).expect("position is valid");
                self.outstanding.retain(|&o| o != id);
                return match env.msg {
                    Msg::Error { code, detail } => Err(DockError::Refused {
                        path: self.path.clone(),
                        code,
                        detail: detail.to_string(),
                    }),
                    m => Ok(m),
                };
            }
            if Instant::now() > deadline {
                return Err(self.link_err(format!("no answer to request {id} within {TIMEOUT:?}")));
            }
            let mut buf = [0u8; 8192];
            let Some(n) = self.read_some(&mut buf)? else {
                continue;
            };
            self.wire_in += n as u64;
            for &b in &buf[..n] {
                match self.decoder.push(b) {
                    Some(Ok(Envelope {
                        id: 0,
                        msg: Msg::Event(e),
                    })) => {
                        // Bounded: a dock sending events without end costs
                        // the oldest ones, never memory.
                        if self.events.len() >= MAX_EVENTS {
                            self.events.pop_front();
                            self.events_dropped += 1;
                        }
                        self.events.push_back(e);
                    }
                    Some(Ok(env)) if self.outstanding.contains(&env.id) => {
                        if self.stash.len() >= MAX_STASH {
                            self.stash.pop_front();
                        }
                        self.stash.push_back(env);
                    }
                    Some(Ok(env)) => {
                        self.stale_dropped += 1;
                        tracing::debug!(path = %self.path, id = env.id, "dropped an answer no request is waiting for");
                    }
                    Some(Err(e)) => {
                        tracing::warn!(path = %self.path, error = %e, "dropped a corrupted frame")
                    }
                    None => {}
                }
            }
        }
    }

    /// One read from the link: `None` when nothing came within its poll
    /// time; an error when the device closed or failed.
    fn read_some(&mut self, buf: &mut [u8]) -> Result<Option<usize>, DockError> {
        match self.link.read(buf) {
            Ok(0) => Err(self.link_err("the device closed".into())),
            Ok(n) => Ok(Some(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.link_err(format!("read failed: {e}"))),
        }
    }

    fn link_err(&self, what: String) -> DockError {
        DockError::Link {
            path: self.path.clone(),
            what,
        }
    }

    fn protocol(&self, what: String) -> DockError {
        DockError::Protocol {
            path: self.path.clone(),
            what,
        }
    }

    fn unexpected(&self, want: &str, got: &Msg) -> DockError {
        self.protocol(format!("expected {want}, got {got:?}"))
    }
}

/// The link while it is being replaced: every call fails.
struct Closed;

impl std::io::Read for Closed {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(ErrorKind::NotConnected.into())
    }
}

impl std::io::Write for Closed {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(ErrorKind::NotConnected.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(ErrorKind::NotConnected.into())
    }
}

/// Whether a refusal means the host is not allowed in.
pub fn is_unauthorized(e: &DockError) -> bool {
    matches!(
        e,
        DockError::Refused {
            code: ErrorCode::Unauthorized | ErrorCode::NotEnrolled,
            ..
        }
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
