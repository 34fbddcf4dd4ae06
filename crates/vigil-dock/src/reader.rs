//! A file on a docked recorder as an [`io::Read`], for the store's
//! single-pass ingest: no copy of the file is made on disk first.
//!
//! Reads are pipelined (several `Read` requests in flight) and every chunk
//! is checked: its frame CRC by the decoder, and its file and offset against
//! what was asked. When the link drops, the reader reopens the device,
//! authenticates again and continues at the end of the last verified chunk;
//! it never restarts from zero and never hands on bytes it did not verify.
//! After [`MAX_RECONNECTS`] failed attempts it gives up with an error, and
//! the ingest discards the partial temp file.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use vigil_dock_proto::Msg;

use crate::client::Client;
use crate::DockError;

/// Read requests kept in flight.
pub const WINDOW: usize = 4;
/// Reconnection attempts before giving up on a file.
pub const MAX_RECONNECTS: u32 = 50;
/// Pause between reconnection attempts.
pub const RECONNECT_PAUSE: Duration = Duration::from_millis(200);

/// One file being read from a dock.
pub struct DockReader<'a> {
    client: &'a mut Client,
    key: [u8; 32],
    slot: u8,
    docking: u32,
    file: u32,
    size: u64,
    /// Next offset to request.
    requested: u64,
    /// Offset of the first byte of `buf` not yet handed on... plus handed-on bytes.
    verified: u64,
    inflight: VecDeque<(u16, u64, u32)>,
    buf: Vec<u8>,
    pos: usize,
    /// How many times the link was re-established for this file.
    pub reconnects: u32,
    /// The recorder left its slot (or was swapped) while this file was read.
    pub stale: bool,
}

impl std::fmt::Debug for DockReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockReader")
            .field("slot", &self.slot)
            .field("file", &self.file)
            .field("verified", &self.verified)
            .finish()
    }
}

impl<'a> DockReader<'a> {
    /// Reads file `file` (of `size` bytes) of the recorder docked in `slot`
    /// as `docking`.
    pub fn new(
        client: &'a mut Client,
        key: [u8; 32],
        (slot, docking): (u8, u32),
        file: u32,
        size: u64,
    ) -> Self {
        Self {
            client,
            key,
            slot,
            docking,
            file,
            size,
            requested: 0,
            verified: 0,
            inflight: VecDeque::new(),
            buf: Vec::new(),
            pos: 0,
            reconnects: 0,
            stale: false,
        }
    }

    fn top_up(&mut self) -> Result<(), DockError> {
        let chunk = self.client.chunk as u64;
        while self.inflight.len() < WINDOW && self.requested < self.size {
            let len = chunk.min(self.size - self.requested) as u32;
            let id = self.client.send(Msg::Read {
                slot: self.slot,
                docking: self.docking,
                file: self.file,
                offset: self.requested,
                len,
            })?;
            self.inflight.push_back((id, self.requested, len));
            self.requested += u64::from(len);
        }
        Ok(())
    }

    /// Gets the next verified chunk into `buf`; `Ok(false)` at end of file.
    fn next_chunk(&mut self) -> Result<bool, DockError> {
        self.top_up()?;
        let Some((id, offset, len)) = self.inflight.pop_front() else {
            return Ok(false);
        };
        match self.client.wait(id)? {
            Msg::Data {
                file,
                offset: got,
                data,
            } => {
                if file != self.file || got != offset || data.len() != len as usize {
                    return Err(DockError::Protocol {
                        path: self.client.path().to_owned(),
                        what: format!(
                            "asked for {len} bytes of file {} at {offset}, got {} bytes of file {file} at {got}",
                            self.file,
                            data.len()
                        ),
                    });
                }
                self.buf.clear();
                self.buf.extend_from_slice(&data);
                self.pos = 0;
                self.verified = offset + len as u64;
                Ok(true)
            }
            other => Err(DockError::Protocol {
                path: self.client.path().to_owned(),
                what: format!("expected Data, got {other:?}"),
            }),
        }
    }

    fn resume(&mut self, why: &DockError) -> Result<(), DockError> {
        loop {
            self.reconnects += 1;
            if self.reconnects > MAX_RECONNECTS {
                return Err(DockError::Link {
                    path: self.client.path().to_owned(),
                    what: format!("gave up after {MAX_RECONNECTS} reconnects: {why}"),
                });
            }
            tracing::warn!(path = %self.client.path(), offset = self.verified, error = %why, "link lost mid-transfer; resuming");
            std::thread::sleep(RECONNECT_PAUSE);
            match self.client.reconnect(&self.key) {
                Ok(()) => {
                    // Continue after the last verified chunk.
                    self.inflight.clear();
                    self.requested = self.verified;
                    return Ok(());
                }
                Err(e) if e.is_link() => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl io::Read for DockReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            match self.next_chunk() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(e) if e.is_link() => self.resume(&e).map_err(io::Error::other)?,
                Err(e) => {
                    self.stale |= e.is_stale();
                    return Err(io::Error::other(e));
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
