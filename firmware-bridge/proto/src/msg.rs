//! Protocol messages. Every frame carries one [`Envelope`]: a request id and
//! a [`Msg`]. The host numbers its requests (1..=65535, wrapping, skipping 0);
//! the dock answers with the same id; id 0 is reserved for unsolicited
//! [`Event`]s from the dock.
//!
//! Every request about a recorder names its slot *and* the docking it means
//! (version 2): the dock issues a fresh, non-zero [`RecorderStatus::docking`]
//! each time a recorder is inserted, and refuses with
//! [`ErrorCode::StaleDocking`] a request whose docking is not the one in the
//! slot now. A recorder swapped into a slot mid-pull therefore makes every
//! request in flight fail; none of them reads, hashes or erases the new
//! recorder's files as the old one's.

use heapless::{String, Vec};
use serde::{Deserialize, Serialize};

/// Protocol version spoken by this crate. A peer answers `Hello` with the
/// highest version both support; a major change bumps it.
pub const VERSION: u16 = 2;
/// Largest decoded frame (postcard bytes + CRC) any peer must accept.
pub const MAX_FRAME: usize = 4352;
/// Largest data chunk in one [`Msg::Data`].
pub const MAX_DATA: usize = 4096;
/// Most slots one dock has.
pub const MAX_SLOTS: usize = 16;
/// Most file entries in one [`Msg::Files`] page.
pub const FILES_PER_PAGE: usize = 8;
/// Most entries in one [`Msg::ErasedFiles`] page.
pub const ERASED_PER_PAGE: usize = 8;
/// Bytes of framing around a data chunk: envelope, `Data` header, CRC and
/// COBS/delimiter overhead, at most. A peer's data chunk is at most its
/// agreed frame size minus this.
pub const DATA_OVERHEAD: usize = 64;

/// Recorder serial numbers, models, officer ids.
pub type Name = String<24>;
/// A file name relative to the recorder's storage root (`/`-separated).
pub type FileName = String<96>;
/// Free text in errors.
pub type Detail = String<64>;

/// One frame's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Request id (0 for events).
    pub id: u16,
    /// The message.
    pub msg: Msg,
}

/// Every message. Requests go host → dock; each gets exactly one response
/// with the same id (or [`Msg::Error`]).
// `Data` is large, but a no_std, heap-free crate cannot box it: one message
// is decoded at a time into a fixed buffer, so the size is paid once.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    // ---- requests (host → dock) ----
    /// Opens a session. Allowed before authentication.
    Hello {
        /// Highest protocol version the host speaks.
        version: u16,
        /// Largest decoded frame the host accepts.
        max_frame: u32,
    },
    /// Proves the host holds the station key (challenge–response).
    Auth {
        /// A fresh random nonce from the host.
        host_nonce: [u8; 16],
        /// `BLAKE3-keyed(key, "vigil-dock-auth-host" ‖ challenge ‖ host_nonce)`.
        mac: [u8; 32],
    },
    /// Gives a factory-new dock the station key. Refused once enrolled.
    Enroll {
        /// The station key.
        key: [u8; 32],
    },
    /// Dock identity and every slot's status.
    Status,
    /// Sets a recorder's clock (R5).
    SetTime {
        /// Slot number, from 0.
        slot: u8,
        /// The docking the request is about ([`RecorderStatus::docking`]).
        docking: u32,
        /// Host time, Unix milliseconds UTC.
        unix_ms: i64,
    },
    /// Lists a recorder's files, a page at a time.
    ListFiles {
        /// Slot.
        slot: u8,
        /// The docking the request is about ([`RecorderStatus::docking`]).
        docking: u32,
        /// First file index of the page (0, then the previous page's `next`).
        from: u32,
    },
    /// Reads a byte range of a file.
    Read {
        /// Slot.
        slot: u8,
        /// The docking the request is about ([`RecorderStatus::docking`]).
        docking: u32,
        /// File id from [`FileEntry::id`].
        file: u32,
        /// Byte offset.
        offset: u64,
        /// Bytes wanted (at most the agreed chunk size).
        len: u32,
    },
    /// Asks the dock for a file's size and BLAKE3, computed on the dock.
    FileHash {
        /// Slot.
        slot: u8,
        /// The docking the request is about ([`RecorderStatus::docking`]).
        docking: u32,
        /// File id.
        file: u32,
    },
    /// Erases a file the host has stored durably and verified (R2). The dock
    /// recomputes size and hash and refuses on any mismatch.
    Erase {
        /// Slot.
        slot: u8,
        /// The docking the request is about ([`RecorderStatus::docking`]).
        docking: u32,
        /// File id.
        file: u32,
        /// Size the host stored.
        size: u64,
        /// BLAKE3 the host verified.
        blake3: [u8; 32],
    },
    /// Switches a recorder into (or out of) USB mass-storage mode.
    MassStorage {
        /// Slot.
        slot: u8,
        /// The docking the request is about ([`RecorderStatus::docking`]).
        docking: u32,
        /// On or off.
        enable: bool,
    },

    // ---- responses (dock → host) ----
    /// Answer to `Hello`.
    HelloAck {
        /// Version the session will use.
        version: u16,
        /// Largest decoded frame the dock accepts.
        max_frame: u32,
        /// Who the dock is.
        dock: DockInfo,
        /// Random challenge for `Auth`.
        challenge: [u8; 16],
        /// Whether the dock has a station key.
        enrolled: bool,
    },
    /// Authentication accepted; the dock proves it holds the key too.
    AuthOk {
        /// `BLAKE3-keyed(key, "vigil-dock-auth-dock" ‖ host_nonce ‖ challenge)`.
        mac: [u8; 32],
    },
    /// Done (Enroll, Erase, MassStorage).
    Done,
    /// Answer to `Status`.
    StatusAck {
        /// Dock identity.
        dock: DockInfo,
        /// One entry per slot.
        slots: Vec<SlotStatus, MAX_SLOTS>,
    },
    /// Answer to `SetTime`: the recorder clock before and after.
    TimeSet {
        /// Recorder clock before, Unix ms.
        before_ms: i64,
        /// Recorder clock after, Unix ms.
        after_ms: i64,
    },
    /// A page of files.
    Files {
        /// Entries.
        files: Vec<FileEntry, FILES_PER_PAGE>,
        /// Index of the next page, if any.
        next: Option<u32>,
    },
    /// File bytes. A short chunk is returned only at end of file.
    Data {
        /// File id.
        file: u32,
        /// Offset of the first byte.
        offset: u64,
        /// The bytes (encoded as a length and the raw bytes, exactly as a
        /// sequence of `u8` is, but copied in one go).
        #[serde(with = "raw_bytes")]
        data: Vec<u8, MAX_DATA>,
    },
    /// Answer to `FileHash`.
    Hash {
        /// Size in bytes.
        size: u64,
        /// BLAKE3.
        blake3: [u8; 32],
    },
    /// A request failed.
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// Human-readable detail.
        detail: Detail,
    },

    // ---- events (dock → host, id 0) ----
    /// Something happened in a slot.
    Event(Event),

    // ---- added in version 2 (appended: earlier variant numbers stay) ----
    /// The recorder's erase log: files erased by this dock, newest last,
    /// a page at a time (so a host that died between an `Erase` and its
    /// audit row learns on the next docking what was erased).
    Erased {
        /// Slot.
        slot: u8,
        /// The docking.
        docking: u32,
        /// First entry of the page (0, then the previous page's `next`).
        from: u32,
    },
    /// A page of the erase log.
    ErasedFiles {
        /// Entries, oldest first.
        files: Vec<ErasedEntry, ERASED_PER_PAGE>,
        /// Index of the next page, if any.
        next: Option<u32>,
    },
}

/// Dock identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DockInfo {
    /// Serial number.
    pub serial: Name,
    /// Firmware version.
    pub firmware: Name,
    /// Number of slots.
    pub slots: u8,
}

/// One slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotStatus {
    /// Slot number, from 0.
    pub slot: u8,
    /// The recorder in it, if any.
    pub recorder: Option<RecorderStatus>,
}

/// A docked recorder (R3, R4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecorderStatus {
    /// Serial number.
    pub serial: Name,
    /// Model.
    pub model: Name,
    /// Firmware version.
    pub firmware: Name,
    /// Officer the recorder is bound to.
    pub officer: Name,
    /// Battery, percent.
    pub battery_pct: u8,
    /// Charging now.
    pub charging: bool,
    /// Storage used, bytes.
    pub storage_used: u64,
    /// Storage free, bytes.
    pub storage_free: u64,
    /// The recorder's clock, Unix ms.
    pub clock_ms: i64,
    /// Active fault codes (see [`fault`]).
    pub faults: Vec<u16, 4>,
    /// In USB mass-storage mode.
    pub mass_storage: bool,
    /// This docking: a non-zero number the dock issues each time a recorder
    /// is inserted (never the same for two dockings in one slot). Every
    /// request about the recorder carries it (version 2).
    pub docking: u32,
}

/// Fault codes in [`RecorderStatus::faults`] and [`Event::Fault`].
pub mod fault {
    /// Battery below 20 %.
    pub const LOW_BATTERY: u16 = 1;
    /// Storage over 95 % full.
    pub const STORAGE_FULL: u16 = 2;
    /// Recorder clock invalid (lost power).
    pub const CLOCK_INVALID: u16 = 3;
    /// Storage read error.
    pub const STORAGE_ERROR: u16 = 4;
    /// Vendor-specific codes start here.
    pub const VENDOR: u16 = 0x8000;
}

/// A recorder file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Id, stable while the recorder stays docked.
    pub id: u32,
    /// Path relative to the recorder's storage root.
    pub name: FileName,
    /// Size in bytes.
    pub size: u64,
    /// Recording start by the recorder's clock, Unix ms, when known.
    pub start_ms: Option<i64>,
    /// Recording end by the recorder's clock, Unix ms, when known.
    pub end_ms: Option<i64>,
    /// The recorder's file sequence number, when it has one.
    pub seq: Option<u32>,
}

/// One file the dock erased from a recorder (its erase log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErasedEntry {
    /// Path it had on the recorder.
    pub name: FileName,
    /// Its size.
    pub size: u64,
    /// Its BLAKE3 (as checked before erasing).
    pub blake3: [u8; 32],
}

/// Unsolicited news from the dock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// A recorder was docked.
    Inserted {
        /// Slot.
        slot: u8,
        /// Its serial.
        serial: Name,
        /// The new docking ([`RecorderStatus::docking`]).
        docking: u32,
    },
    /// A recorder was taken out.
    Removed {
        /// Slot.
        slot: u8,
    },
    /// A recorder reports a fault.
    Fault {
        /// Slot.
        slot: u8,
        /// Code (see [`fault`]).
        code: u16,
    },
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The frame decoded but the request makes no sense here.
    BadRequest,
    /// Hello first, with a version the dock speaks.
    VersionUnsupported,
    /// Not authenticated, or wrong key.
    Unauthorized,
    /// Enroll on a dock that already has a key.
    AlreadyEnrolled,
    /// Auth on a dock without a key: enroll it first.
    NotEnrolled,
    /// No such slot.
    NoSuchSlot,
    /// The slot is empty.
    EmptySlot,
    /// No such file.
    NoSuchFile,
    /// Offset beyond the end of the file, or length above the chunk size.
    OutOfRange,
    /// Erase refused: size or hash differs from the file.
    HashMismatch,
    /// The recorder's storage failed.
    StorageError,
    /// Try again later.
    Busy,
    /// The request names a docking that is not the one in the slot now
    /// (the recorder was taken out, or another one put in): nothing was
    /// read, hashed or erased (version 2).
    StaleDocking,
}

impl Msg {
    /// An error response with detail text (cut to fit).
    pub fn error(code: ErrorCode, detail: &str) -> Self {
        let mut d = Detail::new();
        for c in detail.chars() {
            if d.push(c).is_err() {
                break;
            }
        }
        Msg::Error { code, detail: d }
    }
}

/// Copies `s` into a bounded string, cutting at a character boundary.
pub fn bounded<const N: usize>(s: &str) -> String<N> {
    let mut out = String::new();
    for c in s.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}

/// (De)serialises a bounded byte vector through `serialize_bytes`: postcard
/// writes it as a varint length and the bytes, the same wire form as a
/// sequence of `u8`, but decodes it with one copy instead of one call per
/// byte.
mod raw_bytes {
    use core::fmt;

    use heapless::Vec;
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        v: &Vec<u8, N>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    struct Bytes<const N: usize>;

    impl<'de, const N: usize> Visitor<'de> for Bytes<N> {
        type Value = Vec<u8, N>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "at most {N} bytes")
        }

        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Self::Value, E> {
            Vec::from_slice(v).map_err(|()| E::invalid_length(v.len(), &self))
        }

        fn visit_borrowed_bytes<E: Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
            self.visit_bytes(v)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b)
                    .map_err(|_| A::Error::invalid_length(N + 1, &self))?;
            }
            Ok(out)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<Vec<u8, N>, D::Error> {
        d.deserialize_bytes(Bytes::<N>)
    }
}
