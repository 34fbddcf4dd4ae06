//! The dock as a USB device over the usbredir protocol (the "usb-host"
//! side, as spice's usbredirhost is for a real device): a virtual
//! machine's `usb-redir` device connects, and its guest sees the reference
//! dock 1209:7d01 with one vendor-specific interface and a pair of bulk
//! endpoints, which `vigild` reaches through libusb (crates/vigil-dock,
//! `UsbLink`). What the host writes to bulk OUT is what the dock core
//! reads; what the core writes goes out as the answers to the host's bulk
//! IN requests.
//!
//! The protocol is spice's usbredir (usb-redirection-protocol.md in the
//! usbredir sources): little-endian packets, each a header (type, length,
//! id) and a type-specific header, some followed by data. Only what a
//! bulk device needs is spoken: hello, interface and endpoint info, device
//! connect, configuration and alternate settings, control packets for the
//! standard descriptors, bulk packets and cancellation. Anything else is
//! answered with a stall or logged and ignored; nothing the peer sends can
//! make this panic.

use std::collections::VecDeque;

/// USB ids of the reference dock (pid.codes test range).
pub const VENDOR_ID: u16 = 0x1209;
/// See [`VENDOR_ID`].
pub const PRODUCT_ID: u16 = 0x7d01;

/// Bulk OUT (host to dock) and IN (dock to host) endpoint addresses.
const EP_OUT: u8 = 0x01;
const EP_IN: u8 = 0x81;
/// High-speed bulk packet size.
const MAX_PACKET: u16 = 512;

// Packet types (usbredirproto.h).
const HELLO: u32 = 0;
const DEVICE_CONNECT: u32 = 1;
const RESET: u32 = 3;
const INTERFACE_INFO: u32 = 4;
const EP_INFO: u32 = 5;
const SET_CONFIGURATION: u32 = 6;
const GET_CONFIGURATION: u32 = 7;
const CONFIGURATION_STATUS: u32 = 8;
const SET_ALT_SETTING: u32 = 9;
const GET_ALT_SETTING: u32 = 10;
const ALT_SETTING_STATUS: u32 = 11;
const CANCEL_DATA_PACKET: u32 = 21;
const CONTROL_PACKET: u32 = 100;
const BULK_PACKET: u32 = 101;

// Capabilities (bit numbers).
const CAP_CONNECT_DEVICE_VERSION: u32 = 1;
const CAP_EP_INFO_MAX_PACKET_SIZE: u32 = 4;
const CAP_64BITS_IDS: u32 = 5;
const CAP_32BITS_BULK_LENGTH: u32 = 6;
const OUR_CAPS: u32 = (1 << CAP_CONNECT_DEVICE_VERSION)
    | (1 << CAP_EP_INFO_MAX_PACKET_SIZE)
    | (1 << CAP_64BITS_IDS)
    | (1 << CAP_32BITS_BULK_LENGTH);

// Transfer status.
const STATUS_SUCCESS: u8 = 0;
const STATUS_CANCELLED: u8 = 1;
const STATUS_INVAL: u8 = 2;
const STATUS_STALL: u8 = 4;

// Endpoint types in ep_info.
const TYPE_CONTROL: u8 = 0;
const TYPE_BULK: u8 = 2;
const TYPE_INVALID: u8 = 255;
const SPEED_HIGH: u8 = 2;

/// A packet larger than this is refused (the largest a guest sends here is
/// a bulk OUT transfer; libusb's default is far below).
const MAX_PACKET_LEN: u32 = 1 << 20;

/// What went wrong with the peer's bytes: the connection is then dropped.
#[derive(Debug, thiserror::Error)]
pub enum RedirError {
    #[error(
        "usbredir: packet type {kind} is {len} bytes, more than the {MAX_PACKET_LEN} accepted"
    )]
    TooLong { kind: u32, len: u32 },
    #[error("usbredir: packet type {kind} is {len} bytes, shorter than its {need}-byte header")]
    TooShort { kind: u32, len: u32, need: usize },
    #[error("usbredir: the peer's first packet is type {0}, not hello")]
    NoHello(u32),
}

/// One connection's protocol state.
#[derive(Debug)]
pub struct Redir {
    /// The dock's serial, its USB serial-number string.
    serial: String,
    /// Capabilities the peer announced (`None` until its hello).
    peer_caps: Option<u32>,
    configuration: u8,
    /// Bytes received and not yet parsed.
    inbox: Vec<u8>,
    /// Bytes to send to the peer.
    pub out: Vec<u8>,
    /// Bulk OUT data for the dock core to read.
    pub rx: VecDeque<u8>,
    /// Dock core output waiting for bulk IN requests.
    tx: VecDeque<u8>,
    /// Bulk IN requests waiting for data: (id, endpoint, length asked).
    pending_in: VecDeque<(u64, u8, u32)>,
    /// The last bulk IN answers sent, by id: a cancel that crosses one
    /// means the peer drops it (it cancelled first), so its bytes go back
    /// to the front of `tx`, never lost.
    answered: VecDeque<(u64, Vec<u8>)>,
}

/// How many bulk IN answers are kept for a crossing cancel.
const ANSWERED_KEPT: usize = 16;

fn both(ours: u32, peer: Option<u32>, cap: u32) -> bool {
    ours & (1 << cap) != 0 && peer.is_some_and(|p| p & (1 << cap) != 0)
}

impl Redir {
    /// A new connection: our hello is queued in [`Self::out`].
    pub fn new(serial: &str) -> Self {
        let mut r = Self {
            serial: serial.to_owned(),
            peer_caps: None,
            configuration: 0,
            inbox: Vec::new(),
            out: Vec::new(),
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            pending_in: VecDeque::new(),
            answered: VecDeque::new(),
        };
        let mut body = [0u8; 64].to_vec();
        let version = concat!("vigil dock-sim ", env!("CARGO_PKG_VERSION")).as_bytes();
        body[..version.len().min(63)].copy_from_slice(&version[..version.len().min(63)]);
        body.extend_from_slice(&OUR_CAPS.to_le_bytes());
        r.send(HELLO, 0, &body, &[]);
        r
    }

    fn ids64(&self) -> bool {
        both(OUR_CAPS, self.peer_caps, CAP_64BITS_IDS)
    }

    fn header_len(&self) -> usize {
        if self.ids64() {
            16
        } else {
            12
        }
    }

    fn send(&mut self, kind: u32, id: u64, header: &[u8], data: &[u8]) {
        let ids64 = self.ids64();
        self.out.extend_from_slice(&kind.to_le_bytes());
        self.out
            .extend_from_slice(&((header.len() + data.len()) as u32).to_le_bytes());
        if ids64 {
            self.out.extend_from_slice(&id.to_le_bytes());
        } else {
            self.out.extend_from_slice(&(id as u32).to_le_bytes());
        }
        self.out.extend_from_slice(header);
        self.out.extend_from_slice(data);
    }

    /// Takes bytes from the peer and answers what they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), RedirError> {
        self.inbox.extend_from_slice(bytes);
        loop {
            let hlen = self.header_len();
            if self.inbox.len() < hlen {
                break;
            }
            let kind = u32::from_le_bytes(self.inbox[0..4].try_into().expect("4 bytes"));
            let len = u32::from_le_bytes(self.inbox[4..8].try_into().expect("4 bytes"));
            if len > MAX_PACKET_LEN {
                return Err(RedirError::TooLong { kind, len });
            }
            if self.inbox.len() < hlen + len as usize {
                break;
            }
            let id = if hlen == 16 {
                u64::from_le_bytes(self.inbox[8..16].try_into().expect("8 bytes"))
            } else {
                u64::from(u32::from_le_bytes(
                    self.inbox[8..12].try_into().expect("4 bytes"),
                ))
            };
            let body: Vec<u8> = self.inbox[hlen..hlen + len as usize].to_vec();
            self.inbox.drain(..hlen + len as usize);
            if self.peer_caps.is_none() && kind != HELLO {
                return Err(RedirError::NoHello(kind));
            }
            self.packet(kind, id, &body)?;
        }
        self.serve_in();
        Ok(())
    }

    fn need(kind: u32, body: &[u8], need: usize) -> Result<(), RedirError> {
        if body.len() < need {
            return Err(RedirError::TooShort {
                kind,
                len: body.len() as u32,
                need,
            });
        }
        Ok(())
    }

    fn packet(&mut self, kind: u32, id: u64, body: &[u8]) -> Result<(), RedirError> {
        match kind {
            HELLO => {
                Self::need(kind, body, 64)?;
                let caps = body
                    .get(64..68)
                    .map_or(0, |c| u32::from_le_bytes(c.try_into().expect("4 bytes")));
                let peer = String::from_utf8_lossy(&body[..64]);
                tracing::info!(peer = %peer.trim_end_matches('\0'), caps = format!("{caps:#x}"), "usbredir hello");
                self.peer_caps = Some(caps);
                self.connect();
            }
            RESET => {
                self.configuration = 0;
                self.pending_in.clear();
            }
            SET_CONFIGURATION => {
                Self::need(kind, body, 1)?;
                let status = if body[0] <= 1 {
                    self.configuration = body[0];
                    STATUS_SUCCESS
                } else {
                    STATUS_STALL
                };
                self.send(CONFIGURATION_STATUS, id, &[status, self.configuration], &[]);
            }
            GET_CONFIGURATION => {
                let c = self.configuration;
                self.send(CONFIGURATION_STATUS, id, &[STATUS_SUCCESS, c], &[]);
            }
            SET_ALT_SETTING => {
                Self::need(kind, body, 2)?;
                let status = if body[0] == 0 && body[1] == 0 {
                    STATUS_SUCCESS
                } else {
                    STATUS_STALL
                };
                self.send(ALT_SETTING_STATUS, id, &[status, body[0], 0], &[]);
            }
            GET_ALT_SETTING => {
                Self::need(kind, body, 1)?;
                let status = if body[0] == 0 {
                    STATUS_SUCCESS
                } else {
                    STATUS_STALL
                };
                self.send(ALT_SETTING_STATUS, id, &[status, body[0], 0], &[]);
            }
            CANCEL_DATA_PACKET => {
                if let Some(i) = self.pending_in.iter().position(|p| p.0 == id) {
                    let (_, ep, _) = self.pending_in.remove(i).expect("found");
                    let header = self.bulk_header(ep, STATUS_CANCELLED, 0);
                    self.send(BULK_PACKET, id, &header, &[]);
                } else if let Some(i) = self.answered.iter().position(|a| a.0 == id) {
                    // Our answer crossed the cancel: the peer drops it.
                    let (_, data) = self.answered.remove(i).expect("found");
                    for b in data.into_iter().rev() {
                        self.tx.push_front(b);
                    }
                }
            }
            CONTROL_PACKET => {
                Self::need(kind, body, 10)?;
                self.control(id, body);
            }
            BULK_PACKET => {
                let hlen = if self.bulk32() { 10 } else { 8 };
                Self::need(kind, body, hlen)?;
                let ep = body[0];
                let mut len = u32::from(u16::from_le_bytes([body[2], body[3]]));
                if hlen == 10 {
                    len |= u32::from(u16::from_le_bytes([body[8], body[9]])) << 16;
                }
                let data = &body[hlen..];
                match ep {
                    EP_OUT => {
                        self.rx.extend(data);
                        let header = self.bulk_header(ep, STATUS_SUCCESS, data.len() as u32);
                        self.send(BULK_PACKET, id, &header, &[]);
                    }
                    EP_IN => self.pending_in.push_back((id, ep, len)),
                    other => {
                        tracing::warn!(
                            endpoint = format!("{other:#04x}"),
                            "usbredir: bulk packet for an endpoint this dock has not"
                        );
                        let header = self.bulk_header(other, STATUS_INVAL, 0);
                        self.send(BULK_PACKET, id, &header, &[]);
                    }
                }
            }
            other => tracing::debug!(kind = other, "usbredir: packet ignored"),
        }
        Ok(())
    }

    fn bulk32(&self) -> bool {
        both(OUR_CAPS, self.peer_caps, CAP_32BITS_BULK_LENGTH)
    }

    fn bulk_header(&self, ep: u8, status: u8, len: u32) -> Vec<u8> {
        let mut h = vec![ep, status];
        h.extend_from_slice(&((len & 0xffff) as u16).to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes()); // stream id
        if self.bulk32() {
            h.extend_from_slice(&((len >> 16) as u16).to_le_bytes());
        }
        h
    }

    /// Announces the device: its interface, its endpoints, then the device.
    fn connect(&mut self) {
        let mut info = vec![0u8; 4 + 4 * 32];
        info[0..4].copy_from_slice(&1u32.to_le_bytes());
        info[4] = 0; // interface number
        info[4 + 32] = 0xff; // class: vendor specific
        self.send(INTERFACE_INFO, 0, &info, &[]);
        let index = |addr: u8| usize::from(((addr & 0x80) >> 3) | (addr & 0x0f));
        let mut types = [TYPE_INVALID; 32];
        let intervals = [0u8; 32];
        let interfaces = [0u8; 32];
        let mut sizes = [0u16; 32];
        for (addr, kind, size) in [
            (0x00, TYPE_CONTROL, 64),
            (0x80, TYPE_CONTROL, 64),
            (EP_OUT, TYPE_BULK, MAX_PACKET),
            (EP_IN, TYPE_BULK, MAX_PACKET),
        ] {
            types[index(addr)] = kind;
            sizes[index(addr)] = size;
        }
        let mut ep = Vec::with_capacity(32 * 5);
        ep.extend_from_slice(&types);
        ep.extend_from_slice(&intervals);
        ep.extend_from_slice(&interfaces);
        if both(OUR_CAPS, self.peer_caps, CAP_EP_INFO_MAX_PACKET_SIZE) {
            for s in sizes {
                ep.extend_from_slice(&s.to_le_bytes());
            }
        }
        self.send(EP_INFO, 0, &ep, &[]);
        let mut dev = vec![SPEED_HIGH, 0, 0, 0];
        dev.extend_from_slice(&VENDOR_ID.to_le_bytes());
        dev.extend_from_slice(&PRODUCT_ID.to_le_bytes());
        if both(OUR_CAPS, self.peer_caps, CAP_CONNECT_DEVICE_VERSION) {
            dev.extend_from_slice(&0x0100u16.to_le_bytes());
        }
        self.send(DEVICE_CONNECT, 0, &dev, &[]);
    }

    /// Answers a control transfer: the standard descriptors and status; any
    /// other request stalls.
    fn control(&mut self, id: u64, body: &[u8]) {
        let (endpoint, request, request_type) = (body[0], body[1], body[2]);
        let value = u16::from_le_bytes([body[4], body[5]]);
        let index = u16::from_le_bytes([body[6], body[7]]);
        let length = u16::from_le_bytes([body[8], body[9]]);
        const GET_STATUS: u8 = 0;
        const GET_DESCRIPTOR: u8 = 6;
        let answer: Option<Vec<u8>> = match (request_type, request) {
            (0x80, GET_DESCRIPTOR) => self.descriptor((value >> 8) as u8, value as u8),
            (0x80..=0x82, GET_STATUS) => Some(vec![0, 0]),
            // Clear feature (endpoint halt) and the like: accepted.
            (0x00..=0x02, 1 | 3) => Some(Vec::new()),
            _ => None,
        };
        let (status, data) = match answer {
            Some(mut d) => {
                d.truncate(usize::from(length));
                (STATUS_SUCCESS, d)
            }
            None => {
                tracing::debug!(
                    request_type,
                    request,
                    value,
                    index,
                    "usbredir: control request stalled"
                );
                (STATUS_STALL, Vec::new())
            }
        };
        let mut h = vec![endpoint, request, request_type, status];
        h.extend_from_slice(&value.to_le_bytes());
        h.extend_from_slice(&index.to_le_bytes());
        h.extend_from_slice(&(data.len() as u16).to_le_bytes());
        self.send(CONTROL_PACKET, id, &h, &data);
    }

    fn descriptor(&self, kind: u8, index: u8) -> Option<Vec<u8>> {
        match kind {
            // Device: USB 2.0, vendor class at interface level, 64-byte
            // control endpoint, strings 1-3, one configuration.
            1 => {
                let mut d = vec![18, 1, 0x00, 0x02, 0, 0, 0, 64];
                d.extend_from_slice(&VENDOR_ID.to_le_bytes());
                d.extend_from_slice(&PRODUCT_ID.to_le_bytes());
                d.extend_from_slice(&[0x00, 0x01, 1, 2, 3, 1]);
                Some(d)
            }
            // Configuration, interface 0 (vendor specific, two endpoints),
            // bulk OUT and bulk IN.
            2 if index == 0 => {
                let mut d = vec![9, 2, 0, 0, 1, 1, 0, 0x80, 50];
                d.extend_from_slice(&[9, 4, 0, 0, 2, 0xff, 0, 0, 0]);
                for ep in [EP_OUT, EP_IN] {
                    d.extend_from_slice(&[7, 5, ep, 2]);
                    d.extend_from_slice(&MAX_PACKET.to_le_bytes());
                    d.push(0);
                }
                let total = d.len() as u16;
                d[2..4].copy_from_slice(&total.to_le_bytes());
                Some(d)
            }
            3 => {
                let text = match index {
                    0 => return Some(vec![4, 3, 0x09, 0x04]), // English (US)
                    1 => "Vigil",
                    2 => "Vigil reference dock (dock-sim)",
                    3 => self.serial.as_str(),
                    _ => return None,
                };
                let mut d = vec![0, 3];
                for unit in text.encode_utf16().take(126) {
                    d.extend_from_slice(&unit.to_le_bytes());
                }
                d[0] = d.len() as u8;
                Some(d)
            }
            _ => None,
        }
    }

    /// Queues dock output for the host and answers the bulk IN requests it
    /// can.
    pub fn write(&mut self, bytes: &[u8]) {
        self.tx.extend(bytes);
        self.serve_in();
    }

    /// Bytes the dock wrote that no bulk IN request took yet.
    #[cfg(test)]
    pub fn unsent(&self) -> usize {
        self.tx.len()
    }

    fn serve_in(&mut self) {
        while !self.tx.is_empty() {
            let Some((id, ep, len)) = self.pending_in.pop_front() else {
                break;
            };
            let n = self.tx.len().min(len as usize);
            let data: Vec<u8> = self.tx.drain(..n).collect();
            let header = self.bulk_header(ep, STATUS_SUCCESS, n as u32);
            self.send(BULK_PACKET, id, &header, &data);
            if self.answered.len() == ANSWERED_KEPT {
                self.answered.pop_front();
            }
            self.answered.push_back((id, data));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer's packet with 64-bit ids (after hello) or 32-bit (hello).
    fn packet(kind: u32, id: u64, body: &[u8], ids64: bool) -> Vec<u8> {
        let mut p = kind.to_le_bytes().to_vec();
        p.extend_from_slice(&(body.len() as u32).to_le_bytes());
        if ids64 {
            p.extend_from_slice(&id.to_le_bytes());
        } else {
            p.extend_from_slice(&(id as u32).to_le_bytes());
        }
        p.extend_from_slice(body);
        p
    }

    /// Splits `out` into (type, id, body) packets.
    fn parse(mut out: &[u8], first_hello: bool) -> Vec<(u32, u64, Vec<u8>)> {
        let mut v = Vec::new();
        let mut ids64 = !first_hello;
        while !out.is_empty() {
            let hlen = if ids64 { 16 } else { 12 };
            let kind = u32::from_le_bytes(out[0..4].try_into().unwrap());
            let len = u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize;
            let id = if ids64 {
                u64::from_le_bytes(out[8..16].try_into().unwrap())
            } else {
                u64::from(u32::from_le_bytes(out[8..12].try_into().unwrap()))
            };
            v.push((kind, id, out[hlen..hlen + len].to_vec()));
            out = &out[hlen + len..];
            ids64 = true;
        }
        v
    }

    fn hello(caps: u32) -> Vec<u8> {
        let mut body = vec![0u8; 64];
        body[..4].copy_from_slice(b"qemu");
        body.extend_from_slice(&caps.to_le_bytes());
        packet(HELLO, 0, &body, false)
    }

    #[test]
    fn announces_the_dock_then_moves_bulk_data_both_ways() {
        let mut r = Redir::new("D7");
        r.feed(&hello(OUR_CAPS | 1 << 7)).unwrap();
        let sent = parse(&std::mem::take(&mut r.out), true);
        let kinds: Vec<u32> = sent.iter().map(|p| p.0).collect();
        assert_eq!(kinds, [HELLO, INTERFACE_INFO, EP_INFO, DEVICE_CONNECT]);
        assert_eq!(&sent[3].2[4..8], &[0x09, 0x12, 0x01, 0x7d]);

        // The serial-number string descriptor, cut to the length asked.
        let mut get = vec![0x80, 6, 0x80, 0];
        get.extend_from_slice(&0x0303u16.to_le_bytes());
        get.extend_from_slice(&0x0409u16.to_le_bytes());
        get.extend_from_slice(&255u16.to_le_bytes());
        r.feed(&packet(CONTROL_PACKET, 7, &get, true)).unwrap();
        let answer = parse(&std::mem::take(&mut r.out), false);
        assert_eq!(answer[0].0, CONTROL_PACKET);
        assert_eq!(answer[0].1, 7);
        assert_eq!(&answer[0].2[10..], &[6, 3, b'D', 0, b'7', 0]);

        // Bulk OUT: the bytes reach the core, the transfer is acknowledged
        // with its length.
        let mut out = vec![EP_OUT, 0, 3, 0, 0, 0, 0, 0, 0, 0];
        out.extend_from_slice(b"abc");
        r.feed(&packet(BULK_PACKET, 8, &out, true)).unwrap();
        assert_eq!(r.rx.drain(..).collect::<Vec<u8>>(), b"abc");
        let ack = parse(&std::mem::take(&mut r.out), false);
        assert_eq!((ack[0].0, ack[0].1, ack[0].2[2]), (BULK_PACKET, 8, 3));

        // Bulk IN: requests wait for data; data waits for requests; a
        // cancelled request takes nothing.
        let in_req = |id| packet(BULK_PACKET, id, &[EP_IN, 0, 4, 0, 0, 0, 0, 0, 0, 0], true);
        r.feed(&in_req(9)).unwrap();
        r.feed(&in_req(10)).unwrap();
        r.feed(&packet(CANCEL_DATA_PACKET, 9, &[], true)).unwrap();
        r.write(b"hello");
        let got = parse(&std::mem::take(&mut r.out), false);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].1, got[0].2[1]), (9, STATUS_CANCELLED));
        assert_eq!((got[1].1, &got[1].2[10..]), (10, &b"hell"[..]));
        assert_eq!(r.unsent(), 1);
        r.feed(&in_req(11)).unwrap();
        let got = parse(&std::mem::take(&mut r.out), false);
        assert_eq!(&got[0].2[10..], b"o");

        // A cancel that crosses an answer: the peer drops that answer, so
        // its bytes are sent again with the next request, in order.
        r.write(b"xy");
        r.feed(&packet(CANCEL_DATA_PACKET, 11, &[], true)).unwrap();
        r.feed(&in_req(12)).unwrap();
        let got = parse(&std::mem::take(&mut r.out), false);
        assert_eq!(&got[0].2[10..], b"oxy");
    }

    #[test]
    fn bad_peers_get_errors_not_panics() {
        let mut r = Redir::new("D7");
        assert!(matches!(
            r.feed(&packet(BULK_PACKET, 1, &[], false)),
            Err(RedirError::NoHello(BULK_PACKET))
        ));
        let mut r = Redir::new("D7");
        r.feed(&hello(OUR_CAPS)).unwrap();
        assert!(matches!(
            r.feed(&packet(CONTROL_PACKET, 1, &[1, 2], true)),
            Err(RedirError::TooShort { .. })
        ));
        let mut huge = packet(BULK_PACKET, 1, &[], true);
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Redir::new("x").feed(&[hello(OUR_CAPS), huge].concat()),
            Err(RedirError::TooLong { .. })
        ));
        // Every prefix of a valid stream, and garbage, is safe.
        for junk in [vec![0xffu8; 40], vec![0u8; 3], (0..=255).collect()] {
            let _ = Redir::new("x").feed(&junk);
        }
    }
}
