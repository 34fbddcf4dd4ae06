//! The few MP4/MOV boxes continuity needs that FFmpeg's sample index does
//! not give: each track's decode times (`stts`), composition offsets
//! (`ctts`: presentation = decode + offset), sample count (`stsz`), and edit
//! list (`elst`), with the movie and media time scales. Read from the
//! `moov` box only (no media data); anything malformed makes [`read`]
//! return `None` and the caller falls back to demuxing packets.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Largest `moov` read (a two-hour clip's is a few MiB).
const MAX_MOOV: u64 = 64 << 20;

/// One edit: `duration` in the movie's time scale shows media from
/// `media_time` (media time scale; -1: an empty edit, nothing shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit {
    /// Length on the presentation timeline, movie time scale.
    pub duration: u64,
    /// Where in the media it starts, media time scale; -1 for empty.
    pub media_time: i64,
}

/// A track's timing tables.
#[derive(Debug, Clone, Default)]
pub struct Track {
    /// `tkhd` track ID (FFmpeg's stream id for MP4/MOV).
    pub id: u32,
    /// `mdhd` time scale.
    pub timescale: u32,
    /// `stts`: (sample count, delta).
    pub stts: Vec<(u32, u32)>,
    /// `ctts`: (sample count, offset).
    pub ctts: Vec<(u32, i32)>,
    /// `stsz` sample count.
    pub samples: u32,
    /// `stsz` constant sample size (0: each sample its own size). Sound
    /// with a constant size (PCM, IMA4, GSM, MACE, float PCM) counts audio
    /// samples here, not packets.
    pub constant_size: u32,
    /// `elst`, when the track has one.
    pub edits: Option<Vec<Edit>>,
}

impl Track {
    /// The media's length (the sum of its decode deltas), media time scale.
    pub fn media_duration(&self) -> i64 {
        let mut left = i64::from(self.samples);
        let mut total = 0i64;
        for &(n, d) in &self.stts {
            let n = i64::from(n).min(left);
            total += n * i64::from(d);
            left -= n;
        }
        total
    }

    /// Decode and presentation time of every sample, media time scale, in
    /// decode order (iterated, not collected: a long clip has many).
    pub fn times(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        let deltas = self
            .stts
            .iter()
            .flat_map(|&(n, d)| std::iter::repeat_n(d, n as usize));
        let mut offsets = self
            .ctts
            .iter()
            .flat_map(|&(n, o)| std::iter::repeat_n(o, n as usize));
        let mut dts: i64 = 0;
        deltas.take(self.samples as usize).map(move |d| {
            let t = dts;
            dts += i64::from(d);
            (t, t + i64::from(offsets.next().unwrap_or(0)))
        })
    }
}

/// The movie: its time scale, its tracks, and whether it is fragmented
/// (`mvex`: samples live in fragments, not in these tables).
#[derive(Debug, Clone, Default)]
pub struct Movie {
    /// `mvhd` time scale.
    pub timescale: u32,
    /// Tracks.
    pub tracks: Vec<Track>,
    /// Fragmented.
    pub fragmented: bool,
}

/// Reads the `moov` of the MP4/MOV file at `path`.
pub fn read(path: &Path) -> Option<Movie> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut pos = 0u64;
    while pos + 8 <= len {
        f.seek(SeekFrom::Start(pos)).ok()?;
        let mut h = [0u8; 16];
        f.read_exact(&mut h[..8]).ok()?;
        let mut size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
        let mut head = 8;
        if size == 1 {
            f.read_exact(&mut h[8..16]).ok()?;
            size = u64::from_be_bytes(h[8..16].try_into().ok()?);
            head = 16;
        } else if size == 0 {
            size = len - pos;
        }
        if size < head {
            return None;
        }
        if &h[4..8] == b"moov" {
            let body = size - head;
            if body > MAX_MOOV || pos + size > len {
                return None;
            }
            let mut buf = vec![0u8; body as usize];
            f.read_exact(&mut buf).ok()?;
            return movie(&buf);
        }
        pos = pos.checked_add(size)?;
    }
    None
}

/// The boxes in `buf`: (type, body).
fn boxes(buf: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        if at + 8 > buf.len() {
            return None;
        }
        let size = u32::from_be_bytes(buf[at..at + 4].try_into().ok()?) as usize;
        let kind = &buf[at + 4..at + 8];
        let (head, size) = match size {
            0 => (8, buf.len() - at),
            1 => {
                let big = u64::from_be_bytes(buf.get(at + 8..at + 16)?.try_into().ok()?);
                (16, usize::try_from(big).ok()?)
            }
            n => (8, n),
        };
        if size < head || at + size > buf.len() {
            return None;
        }
        let body = &buf[at + head..at + size];
        at += size;
        Some((kind, body))
    })
}

fn child<'a>(buf: &'a [u8], kind: &[u8]) -> Option<&'a [u8]> {
    boxes(buf).find(|(k, _)| *k == kind).map(|(_, b)| b)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The time scale of an `mvhd` or `mdhd` body (version 0 or 1).
fn timescale(b: &[u8]) -> Option<u32> {
    match b.first()? {
        1 => u32_at(b, 20),
        _ => u32_at(b, 12),
    }
}

fn movie(moov: &[u8]) -> Option<Movie> {
    let mut m = Movie {
        timescale: timescale(child(moov, b"mvhd")?)?,
        fragmented: child(moov, b"mvex").is_some(),
        tracks: Vec::new(),
    };
    for (kind, trak) in boxes(moov) {
        if kind != b"trak" {
            continue;
        }
        if let Some(t) = track(trak) {
            m.tracks.push(t);
        }
    }
    Some(m)
}

/// A table of `n` fixed-size entries after version/flags and a count.
fn entries(b: &[u8], width: usize) -> Option<(u8, impl Iterator<Item = &[u8]>)> {
    let version = *b.first()?;
    let n = u32_at(b, 4)? as usize;
    let table = b.get(8..8 + n.checked_mul(width)?)?;
    Some((version, table.chunks_exact(width)))
}

fn track(trak: &[u8]) -> Option<Track> {
    let tkhd = child(trak, b"tkhd")?;
    let id = match tkhd.first()? {
        1 => u32_at(tkhd, 20)?,
        _ => u32_at(tkhd, 12)?,
    };
    let mdia = child(trak, b"mdia")?;
    let stbl = child(child(mdia, b"minf")?, b"stbl")?;
    let mut t = Track {
        id,
        timescale: timescale(child(mdia, b"mdhd")?)?,
        ..Default::default()
    };
    let (_, stts) = entries(child(stbl, b"stts")?, 8)?;
    t.stts = stts
        .map(|e| Some((u32_at(e, 0)?, u32_at(e, 4)?)))
        .collect::<Option<_>>()?;
    if let Some(ctts) = child(stbl, b"ctts") {
        let (_, rows) = entries(ctts, 8)?;
        // Version 0 offsets are unsigned on paper, but writers put negative
        // ones there too: read as signed either way (as FFmpeg does).
        t.ctts = rows
            .map(|e| Some((u32_at(e, 0)?, u32_at(e, 4)? as i32)))
            .collect::<Option<_>>()?;
    }
    (t.constant_size, t.samples) = match child(stbl, b"stsz") {
        Some(stsz) => (u32_at(stsz, 4)?, u32_at(stsz, 8)?),
        None => (0, u32_at(child(stbl, b"stz2")?, 8)?),
    };
    if let Some(elst) = child(trak, b"edts").and_then(|e| child(e, b"elst")) {
        let version = *elst.first()?;
        let width = if version == 1 { 20 } else { 12 };
        let (_, rows) = entries(elst, width)?;
        t.edits = Some(
            rows.map(|e| {
                Some(if version == 1 {
                    Edit {
                        duration: u64_at(e, 0)?,
                        media_time: u64_at(e, 8)? as i64,
                    }
                } else {
                    Edit {
                        duration: u64::from(u32_at(e, 0)?),
                        media_time: i64::from(u32_at(e, 4)? as i32),
                    }
                })
            })
            .collect::<Option<_>>()?,
        );
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_apply_composition_offsets_in_decode_order() {
        let t = Track {
            stts: vec![(4, 10)],
            ctts: vec![(1, 20), (2, -10), (1, 0)],
            samples: 4,
            ..Default::default()
        };
        let got: Vec<_> = t.times().collect();
        assert_eq!(got, vec![(0, 20), (10, 0), (20, 10), (30, 30)]);
    }
}
