//! Framing: `COBS(postcard(Envelope) ‖ CRC-32) 0x00`.
//!
//! COBS removes every zero byte from the frame, so `0x00` marks frame ends
//! and a receiver resynchronises after line noise at the next zero. The
//! CRC-32 (ISO-HDLC, the Ethernet/zlib one) over the postcard bytes is
//! appended little-endian. Frames whose decoded length exceeds the
//! receiver's buffer are dropped whole, without growing anything.

use crate::msg::Envelope;

/// CRC-32/ISO-HDLC.
pub const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Why a frame was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Longer than the receive buffer; dropped.
    TooLong,
    /// Invalid COBS.
    Cobs,
    /// Shorter than a CRC.
    TooShort,
    /// CRC mismatch: corrupted on the line.
    Crc,
    /// Valid frame, but not a message this version knows.
    Message,
    /// The output buffer is too small to encode into.
    NoRoom,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::TooLong => "frame longer than the receive buffer",
            Self::Cobs => "invalid COBS encoding",
            Self::TooShort => "frame shorter than its CRC",
            Self::Crc => "CRC mismatch",
            Self::Message => "frame does not hold a known message",
            Self::NoRoom => "output buffer too small",
        })
    }
}

/// Worst-case encoded size of a payload of `n` bytes: COBS adds one byte
/// per 254, plus the leading code byte and the 0x00 delimiter.
pub const fn encoded_len(n: usize) -> usize {
    n + n / 254 + 2
}

/// Encodes `env` into `out` as one complete frame, delimiter included, using
/// `scratch` for the unencoded bytes. Returns the bytes written.
pub fn encode(env: &Envelope, scratch: &mut [u8], out: &mut [u8]) -> Result<usize, FrameError> {
    let used = postcard::to_slice(env, scratch)
        .map_err(|_| FrameError::NoRoom)?
        .len();
    if scratch.len() < used + 4 {
        return Err(FrameError::NoRoom);
    }
    let crc = CRC.checksum(&scratch[..used]);
    scratch[used..used + 4].copy_from_slice(&crc.to_le_bytes());
    let n = cobs_encode(&scratch[..used + 4], out).ok_or(FrameError::NoRoom)?;
    if n >= out.len() {
        return Err(FrameError::NoRoom);
    }
    out[n] = 0;
    Ok(n + 1)
}

/// COBS-encodes `src` into `dst`; `None` if `dst` is too small.
pub fn cobs_encode(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    let mut code_at = 0;
    let mut out = 1;
    let mut code: u8 = 1;
    if dst.is_empty() {
        return None;
    }
    for &b in src {
        if b == 0 {
            *dst.get_mut(code_at)? = code;
            code_at = out;
            out += 1;
            code = 1;
        } else {
            *dst.get_mut(out)? = b;
            out += 1;
            code += 1;
            if code == 0xFF {
                *dst.get_mut(code_at)? = code;
                code_at = out;
                out += 1;
                code = 1;
            }
        }
        if out > dst.len() {
            return None;
        }
    }
    *dst.get_mut(code_at)? = code;
    Some(out)
}

/// Decodes COBS `buf` in place; returns the decoded length.
pub fn cobs_decode_in_place(buf: &mut [u8]) -> Result<usize, FrameError> {
    let mut read = 0;
    let mut write = 0;
    while read < buf.len() {
        let code = buf[read];
        if code == 0 {
            return Err(FrameError::Cobs);
        }
        read += 1;
        let run = usize::from(code) - 1;
        if read + run > buf.len() {
            return Err(FrameError::Cobs);
        }
        for i in 0..run {
            let b = buf[read + i];
            if b == 0 {
                return Err(FrameError::Cobs);
            }
            buf[write] = b;
            write += 1;
        }
        read += run;
        if code != 0xFF && read < buf.len() {
            buf[write] = 0;
            write += 1;
        }
    }
    Ok(write)
}

/// Checks and parses one decoded frame (without COBS and delimiter).
pub fn parse(decoded: &[u8]) -> Result<Envelope, FrameError> {
    if decoded.len() < 5 {
        return Err(FrameError::TooShort);
    }
    let (body, crc) = decoded.split_at(decoded.len() - 4);
    let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if CRC.checksum(body) != want {
        return Err(FrameError::Crc);
    }
    match postcard::take_from_bytes::<Envelope>(body) {
        Ok((env, [])) => Ok(env),
        _ => Err(FrameError::Message),
    }
}

/// A streaming frame receiver with a fixed buffer of `N` bytes.
#[derive(Debug)]
pub struct Decoder<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
}

impl<const N: usize> Default for Decoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Decoder<N> {
    /// An empty decoder.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            overflow: false,
        }
    }

    /// Feeds bytes; calls `on_frame` with each complete frame's outcome.
    /// Returns how many bytes were consumed (always all of them).
    pub fn feed(
        &mut self,
        bytes: &[u8],
        mut on_frame: impl FnMut(Result<Envelope, FrameError>),
    ) -> usize {
        for &b in bytes {
            if let Some(r) = self.push(b) {
                on_frame(r);
            }
        }
        bytes.len()
    }

    /// Feeds one byte; returns a frame's outcome when `b` completes one.
    pub fn push(&mut self, b: u8) -> Option<Result<Envelope, FrameError>> {
        if b != 0 {
            if self.len < N {
                self.buf[self.len] = b;
                self.len += 1;
            } else {
                self.overflow = true;
            }
            return None;
        }
        let r = if self.overflow {
            Some(Err(FrameError::TooLong))
        } else if self.len > 0 {
            Some(
                cobs_decode_in_place(&mut self.buf[..self.len]).and_then(|n| parse(&self.buf[..n])),
            )
        } else {
            None
        };
        self.len = 0;
        self.overflow = false;
        r
    }

    /// Forgets a partly received frame (after the link was cut).
    pub fn reset(&mut self) {
        self.len = 0;
        self.overflow = false;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec as StdVec;

    use super::*;
    use crate::msg::*;
    use proptest::prelude::*;

    fn frame(env: &Envelope) -> StdVec<u8> {
        let mut scratch = [0u8; MAX_FRAME];
        let mut out = [0u8; encoded_len(MAX_FRAME)];
        let n = encode(env, &mut scratch, &mut out).unwrap();
        out[..n].to_vec()
    }

    fn decode_all(bytes: &[u8]) -> StdVec<Result<Envelope, FrameError>> {
        let mut d: Decoder<{ encoded_len(MAX_FRAME) }> = Decoder::new();
        let mut out = StdVec::new();
        d.feed(bytes, |r| out.push(r));
        out
    }

    fn data(offset: u64, bytes: &[u8]) -> Envelope {
        Envelope {
            id: 7,
            msg: Msg::Data {
                file: 3,
                offset,
                data: heapless::Vec::from_slice(bytes).unwrap(),
            },
        }
    }

    #[test]
    fn round_trip_and_resync_after_garbage() {
        let a = data(0, &[0, 1, 2, 0, 0, 255]);
        let b = Envelope {
            id: 0,
            msg: Msg::Event(Event::Removed { slot: 2 }),
        };
        let mut wire = StdVec::new();
        wire.extend_from_slice(b"\x13\x37noise");
        wire.push(0);
        wire.extend(frame(&a));
        wire.extend_from_slice(&[9, 9, 9]); // a torn frame
        wire.push(0);
        wire.extend(frame(&b));
        let got = decode_all(&wire);
        assert_eq!(got.len(), 4);
        assert!(got[0].is_err());
        assert_eq!(got[1], Ok(a));
        assert!(got[2].is_err());
        assert_eq!(got[3], Ok(b));
    }

    #[test]
    fn a_flipped_bit_is_caught() {
        let mut f = frame(&data(10, b"evidence"));
        f[5] ^= 0x04;
        let got = decode_all(&f);
        assert!(
            matches!(got[0], Err(FrameError::Crc) | Err(FrameError::Cobs)),
            "{got:?}"
        );
    }

    #[test]
    fn an_overlong_frame_is_dropped_without_growing() {
        let mut d: Decoder<64> = Decoder::new();
        let mut out = StdVec::new();
        d.feed(&[1u8; 500], |r| out.push(r));
        d.feed(&[0], |r| out.push(r));
        assert_eq!(out, [Err(FrameError::TooLong)]);
        let f = frame(&Envelope {
            id: 1,
            msg: Msg::Status,
        });
        d.feed(&f, |r| out.push(r));
        assert_eq!(
            out[1],
            Ok(Envelope {
                id: 1,
                msg: Msg::Status
            })
        );
    }

    #[test]
    fn a_full_data_chunk_fits_the_agreed_frame() {
        let env = data(u64::MAX, &[0xAB; MAX_DATA]);
        let mut scratch = [0u8; MAX_FRAME];
        let used = postcard::to_slice(&env, &mut scratch).unwrap().len();
        assert!(used + 4 <= MAX_FRAME);
        assert!(used + 4 + (used + 4) / 254 + 2 - MAX_DATA <= DATA_OVERHEAD);
    }

    proptest! {
        #[test]
        fn data_frames_round_trip(id in any::<u16>(), offset in any::<u64>(), bytes in proptest::collection::vec(any::<u8>(), 0..MAX_DATA)) {
            let env = Envelope { id, msg: Msg::Data { file: 1, offset, data: heapless::Vec::from_slice(&bytes).unwrap() } };
            let got = decode_all(&frame(&env));
            prop_assert_eq!(got, std::vec![Ok(env)]);
        }

        #[test]
        fn requests_round_trip(id in any::<u16>(), slot in any::<u8>(), file in any::<u32>(), offset in any::<u64>(), len in any::<u32>(), ms in any::<i64>(), key in any::<[u8; 32]>()) {
            for msg in [
                Msg::Read { slot, docking: file ^ 7, file, offset, len },
                Msg::SetTime { slot, docking: len, unix_ms: ms },
                Msg::Erase { slot, docking: len, file, size: offset, blake3: key },
                Msg::Erased { slot, docking: file, from: len },
                Msg::ErasedFiles { files: heapless::Vec::from_slice(&[ErasedEntry { name: crate::bounded("DCIM/A.MP4"), size: offset, blake3: key }]).unwrap(), next: Some(len) },
                Msg::Enroll { key },
                Msg::TimeSet { before_ms: ms, after_ms: ms.wrapping_add(1) },
                Msg::error(ErrorCode::HashMismatch, "size or hash differs"),
            ] {
                let env = Envelope { id, msg };
                prop_assert_eq!(decode_all(&frame(&env)), std::vec![Ok(env.clone())]);
            }
        }

        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let mut d: Decoder<256> = Decoder::new();
            d.feed(&bytes, |_| {});
        }
    }
}

#[cfg(test)]
mod golden {
    //! The worked examples in docs/dock-protocol.md, byte for byte.
    use super::*;
    use crate::msg::*;

    fn wire(env: &Envelope) -> heapless::Vec<u8, 128> {
        let mut scratch = [0u8; 256];
        let mut out = [0u8; 256];
        let n = encode(env, &mut scratch, &mut out).unwrap();
        heapless::Vec::from_slice(&out[..n]).unwrap()
    }

    #[test]
    fn status_request() {
        let w = wire(&Envelope {
            id: 1,
            msg: Msg::Status,
        });
        assert_eq!(&w[..], &[0x07, 0x01, 0x03, 0x04, 0x72, 0xcb, 0xc1, 0x00]);
    }

    #[test]
    fn data_is_a_length_and_raw_bytes() {
        let env = Envelope {
            id: 2,
            msg: Msg::Data {
                file: 1,
                offset: 0,
                data: heapless::Vec::from_slice(&[0xaa, 0xbb]).unwrap(),
            },
        };
        let mut buf = [0u8; 32];
        let body = postcard::to_slice(&env, &mut buf).unwrap();
        // id 2, variant 16, file 1, offset 0, length 2, the bytes.
        assert_eq!(body, &[0x02, 0x10, 0x01, 0x00, 0x02, 0xaa, 0xbb]);
    }

    #[test]
    fn read_request() {
        let w = wire(&Envelope {
            id: 300,
            msg: Msg::Read {
                slot: 2,
                docking: 7,
                file: 5,
                offset: 4096,
                len: 4032,
            },
        });
        assert_eq!(
            &w[..],
            &[
                0x0f, 0xac, 0x02, 0x06, 0x02, 0x07, 0x05, 0x80, 0x20, 0xc0, 0x1f, 0xa9, 0x27, 0xeb,
                0x69, 0x00
            ]
        );
    }

    #[test]
    fn erase_log_request() {
        let w = wire(&Envelope {
            id: 9,
            msg: Msg::Erased {
                slot: 0,
                docking: 7,
                from: 0,
            },
        });
        assert_eq!(
            &w[..],
            &[0x03, 0x09, 0x14, 0x02, 0x07, 0x05, 0x63, 0xc3, 0x08, 0x5b, 0x00]
        );
    }

    #[test]
    fn stale_docking_refusal() {
        let w = wire(&Envelope {
            id: 300,
            msg: Msg::Error {
                code: ErrorCode::StaleDocking,
                detail: heapless::String::new(),
            },
        });
        assert_eq!(
            &w[..],
            &[0x05, 0xac, 0x02, 0x12, 0x0c, 0x05, 0x13, 0x75, 0xeb, 0x6a, 0x00]
        );
    }
}
