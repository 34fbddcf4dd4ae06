//! Where a file's frame timestamps come from when they are not read
//! packet by packet from FFmpeg alone: an MP4/MOV track's sample table
//! under its edit list, the AAC frames of ADTS, an AVI's index placed on
//! the clock of its interleaved chunks; and the packet loop itself, with
//! the early packets held until every stream's start is known.

use crate::tracker::*;
use crate::verdict::{Gap, GapKind, StreamKind};

/// A media edit: media `[start, end)` (media time scale) shown from
/// `shown_at` seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    start: i64,
    end: i64,
    shown_at: f64,
}

/// What a track's edit list shows, and what it cuts: the interruptions it
/// makes (a skip inside the media, media shown again, an empty edit after
/// the start, a long head or tail hidden). A leading empty edit (the track
/// is presented later) and short trims (encoder delay, AAC padding) are
/// ordinary.
pub(crate) fn edit_plan(
    t: &crate::mp4::Track,
    movie_scale: u32,
    min_gap_s: f64,
) -> (Vec<Segment>, Vec<Gap>) {
    let media_end = t.media_duration();
    let scale = f64::from(t.timescale.max(1));
    let Some(edits) = t.edits.as_ref().filter(|e| !e.is_empty()) else {
        return (
            vec![Segment {
                start: i64::MIN,
                end: i64::MAX,
                shown_at: 0.0,
            }],
            Vec::new(),
        );
    };
    let first_shown = t.times().map(|(_, pts)| pts).min().unwrap_or(0);
    let mut segs: Vec<Segment> = Vec::new();
    let mut cuts = Vec::new();
    let mut at = 0.0f64;
    let cut = |offset: f64, duration: f64, detail: String| Gap {
        kind: GapKind::EditListCut,
        offset_s: round_us(offset),
        duration_s: round_us(duration),
        detail: Some(detail),
    };
    for (i, e) in edits.iter().enumerate() {
        let dur_s = e.duration as f64 / f64::from(movie_scale.max(1));
        if e.media_time < 0 {
            if !segs.is_empty() && dur_s >= min_gap_s {
                cuts.push(cut(
                    at,
                    dur_s,
                    format!("an empty edit shows nothing for {dur_s:.3} s"),
                ));
            }
            at += dur_s;
            continue;
        }
        // A zero-length media edit runs to the end of the media.
        let span = if e.duration == 0 {
            (media_end - e.media_time).max(0)
        } else {
            (dur_s * scale).round() as i64
        };
        let seg = Segment {
            start: e.media_time,
            end: e.media_time + span,
            shown_at: at,
        };
        // What the first edit hides is measured from the first sample's
        // presentation time: with composition offsets (B-frames) the
        // media's first frame is presented after zero, and an edit that
        // starts there hides nothing.
        let head = (e.media_time - first_shown).max(0) as f64 / scale;
        match segs.last() {
            None if head >= min_gap_s => cuts.push(cut(
                at,
                head,
                format!("the edit list hides the first {head:.3} s of recorded media"),
            )),
            Some(prev) => {
                let skip = (seg.start - prev.end) as f64 / scale;
                if skip >= min_gap_s {
                    cuts.push(cut(
                        at,
                        skip,
                        format!(
                            "the edit list hides {skip:.3} s of recorded media (media {:.3}–{:.3} s)",
                            prev.end as f64 / scale,
                            seg.start as f64 / scale
                        ),
                    ));
                } else if -skip >= min_gap_s {
                    cuts.push(cut(
                        at,
                        0.0,
                        format!(
                            "the edit list shows {:.3} s of recorded media again (media {:.3} s on)",
                            -skip,
                            seg.start as f64 / scale
                        ),
                    ));
                }
            }
            None => {}
        }
        segs.push(seg);
        at += if e.duration == 0 {
            span as f64 / scale
        } else {
            dur_s
        };
        let last_media = edits[i + 1..].iter().all(|e| e.media_time < 0);
        if last_media {
            let tail = (media_end - seg.end) as f64 / scale;
            if tail >= min_gap_s {
                cuts.push(cut(
                    at,
                    tail,
                    format!("the edit list hides the last {tail:.3} s of recorded media"),
                ));
            }
        }
    }
    (segs, cuts)
}

/// Reads frame times from the movie's own tables (presentation time: decode
/// time plus composition offset, placed by the edit list) and each sample's
/// place in the file from FFmpeg's index (opened with `ignore_editlist`, so
/// one entry per sample). Returns false (and tracks nothing) when they do
/// not line up, and the caller demuxes packets instead.
pub(crate) fn from_movie(
    ctx: &mut ffmpeg_next::format::context::Input,
    trackers: &mut [Tracker],
    file_len: u64,
    movie: &crate::mp4::Movie,
) -> bool {
    let mut plan = Vec::new();
    for t in trackers.iter() {
        let Some(stream) = ctx.stream(t.index) else {
            return false;
        };
        let Some(track) = movie
            .tracks
            .iter()
            .find(|tr| i64::from(tr.id) == i64::from(stream.id()))
        else {
            return false;
        };
        let n = crate::ffi::index_len(&stream);
        // Sound with a constant sample size counts audio samples, and
        // FFmpeg's index lists its chunks: those entries are the frames.
        let chunked = t.kind == StreamKind::Audio && track.constant_size > 0;
        if !chunked && n as u64 != u64::from(track.samples) {
            tracing::debug!(
                stream = t.index,
                listed = n,
                samples = track.samples,
                "sample index and tables differ; demuxing packets"
            );
            return false;
        }
        plan.push((t.index, stream.time_base(), track, chunked));
    }
    for (t, (index, tb, track, chunked)) in trackers.iter_mut().zip(plan) {
        let Some(stream) = ctx.stream(index) else {
            return false;
        };
        t.restarts = false;
        let (segs, cuts) = edit_plan(track, movie.timescale, t.min_gap_s);
        for c in cuts {
            t.gap(c);
        }
        let scale = f64::from(track.timescale.max(1));
        let place = |pts: i64| {
            segs.iter()
                .find(|s| pts >= s.start && pts < s.end)
                .map(|s| s.shown_at + (pts - s.start.max(0)) as f64 / scale)
        };
        let mut times = track.times();
        for e in crate::ffi::index(&stream) {
            let pts = if chunked {
                // Chunk times in the stream's time base (media time scale).
                (e.timestamp as f64 * f64::from(tb.numerator()) / f64::from(tb.denominator())
                    * scale)
                    .round() as i64
            } else {
                match times.next() {
                    Some((_, pts)) => pts,
                    None => break,
                }
            };
            let Some(shown) = place(pts) else {
                t.discarded += 1; // not shown (priming, or cut)
                continue;
            };
            let size = e.size.max(0) as u64;
            if e.pos < 0 || e.pos as u64 + size > file_len {
                t.missing += 1; // data not in the file
                continue;
            }
            t.bytes += size;
            let len = t.pcm_s_per_byte.map_or(0.0, |s| s * size as f64);
            t.push(
                Frame {
                    start: shown,
                    len,
                    count: 1,
                },
                0.0,
            );
        }
    }
    true
}

/// ADTS sampling rates by index.
pub(crate) const ADTS_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// ADTS AAC frames at the start of `data`, each found by the length in its
/// header (a PES of an MPEG-TS audio stream holds several), and the
/// sampling rate the first header gives (0: none).
pub(crate) fn adts_frames(data: &[u8]) -> (u64, u32) {
    let rate = match data {
        [0xff, b1, b2, ..] if b1 & 0xf0 == 0xf0 => ADTS_RATES
            .get(usize::from((b2 >> 2) & 0x0f))
            .copied()
            .unwrap_or(0),
        _ => 0,
    };
    let mut at = 0usize;
    let mut n = 0;
    while at + 7 <= data.len() && data[at] == 0xff && data[at + 1] & 0xf0 == 0xf0 {
        let len = (usize::from(data[at + 3] & 3) << 11)
            | (usize::from(data[at + 4]) << 3)
            | usize::from(data[at + 5] >> 5);
        if len < 7 {
            break;
        }
        n += 1;
        at += len;
    }
    (n, rate)
}

/// AVI with its index (`idx1`, or OpenDML's): FFmpeg loads every chunk's
/// place, size and time at open, so no media data is read. Empty chunks
/// are placeholders for frames not recorded. Returns false (tracks nothing)
/// when a stream has no index (a file cut off before its index was
/// written), and the caller demuxes packets.
pub(crate) fn from_avi_index(
    ctx: &mut ffmpeg_next::format::context::Input,
    trackers: &mut [Tracker],
    file_len: u64,
) -> bool {
    let mut plan = Vec::new();
    for t in trackers.iter() {
        let Some(stream) = ctx.stream(t.index) else {
            return false;
        };
        let n = crate::ffi::index_len(&stream);
        // A file whose RIFF sizes hold (checked first) has its idx1; one
        // cut off before it was written has only the first chunks FFmpeg
        // read, and is demuxed.
        if n <= 1 {
            return false;
        }
        plan.push((t.index, stream.time_base()));
    }
    // The clock: the first audio stream, whose chunks are interleaved with
    // the video's in the order they were recorded. A video index that
    // skips frames (a DVR that wrote no placeholder for what it did not
    // record) numbers the frames after the skip as if none were missing;
    // where they lie among the audio chunks says when they were recorded.
    // Its chunks' (position, start), timed as the audio tracker times them
    // (16 bytes a chunk: about 1 MiB an hour).
    let clock: Vec<(i64, f64)> = trackers
        .iter()
        .zip(&plan)
        .find(|(t, _)| t.kind == StreamKind::Audio)
        .and_then(|(t, &(index, tb))| Some((t, ctx.stream(index)?, tb)))
        .map(|(t, stream, tb)| {
            let mut bytes = 0u64;
            crate::ffi::index(&stream)
                .filter(|e| e.size > 0)
                .map(|e| {
                    let at = match t.pcm_s_per_byte {
                        Some(s) => s * bytes as f64,
                        None => seconds(e.timestamp, tb),
                    };
                    bytes += e.size.max(0) as u64;
                    (e.pos, at)
                })
                .collect()
        })
        .unwrap_or_default();
    for (t, (index, tb)) in trackers.iter_mut().zip(plan) {
        let Some(stream) = ctx.stream(index) else {
            return false;
        };
        // PCM chunks are placed by the bytes before them.
        let mut pcm_bytes = 0u64;
        let mut shift = 0.0f64;
        let clock: &[(i64, f64)] = if t.kind == StreamKind::Video {
            &clock
        } else {
            &[]
        };
        for e in crate::ffi::index(&stream) {
            let size = e.size.max(0) as u64;
            if size == 0 {
                continue;
            }
            let mut start = match t.pcm_s_per_byte {
                Some(s) => s * pcm_bytes as f64,
                None => seconds(e.timestamp, tb) + shift,
            };
            pcm_bytes += size;
            {
                if let Some((at, chunk)) = clock_at(clock, e.pos) {
                    let lag = at - start;
                    if lag >= t.min_gap_s + chunk {
                        shift += lag;
                        start += lag;
                        t.retimed = Some(format!(
                            "the video index skips frames: frames after {:.3} s are placed by where they lie among the audio chunks",
                            start - lag
                        ));
                    }
                }
            }
            if e.pos < 0 || e.pos as u64 + size > file_len {
                t.missing += 1;
                continue;
            }
            let len = t.pcm_s_per_byte.map_or(0.0, |s| s * size as f64);
            t.push(
                Frame {
                    start,
                    len,
                    count: 1,
                },
                0.0,
            );
        }
    }
    true
}

/// The time of the last clock chunk that lies before byte `pos` of the
/// file, and the time between it and the next (how coarsely the streams
/// are interleaved there).
pub(crate) fn clock_at(clock: &[(i64, f64)], pos: i64) -> Option<(f64, f64)> {
    let k = clock.partition_point(|&(p, _)| p <= pos).checked_sub(1)?;
    let at = clock[k].1;
    let next = clock.get(k + 1).map_or(at, |c| c.1);
    Some((at, (next - at).max(0.0)))
}

/// Demuxes every packet of the tracked streams, each packet's buffer freed
/// as soon as its timestamp is taken. Returns the read error that stopped
/// it early, if any, with where (from the clip start).
pub(crate) fn from_packets(
    ctx: &mut ffmpeg_next::format::context::Input,
    trackers: &mut Vec<Tracker>,
    clip_start: Option<f64>,
) -> Option<String> {
    let mut slot = vec![usize::MAX; ctx.nb_streams() as usize];
    let mut tbs = vec![ffmpeg_next::Rational::new(1, 1); ctx.nb_streams() as usize];
    for (i, t) in trackers.iter().enumerate() {
        slot[t.index] = i;
    }
    for (i, s) in ctx.streams().enumerate() {
        tbs[i] = s.time_base();
    }
    for (i, &used) in slot.iter().enumerate() {
        if used == usize::MAX {
            crate::ffi::discard(ctx, i);
        }
    }
    // MPEG-TS and Matroska frame their packets themselves: FFmpeg's parsers
    // (which scan all of the video data to split access units) add nothing
    // to the timestamps but time. Without them an MPEG-TS packet is a whole
    // PES, which for audio may hold several frames: its length is then the
    // local step, not the codec's frame size.
    let format = ctx.format().name().to_owned();
    let unparsed = format == "mpegts" || format.starts_with("matroska");
    if unparsed {
        crate::ffi::unparsed(ctx);
    }
    // Unparsed MPEG-TS audio: a packet is a PES of several frames. ADTS AAC
    // says how many (each frame has its length in its header); other audio
    // is measured by the local step.
    let mut adts = vec![false; trackers.len()];
    if format == "mpegts" {
        for (t, a) in trackers.iter_mut().zip(adts.iter_mut()) {
            if t.kind == StreamKind::Audio && t.pcm_s_per_byte.is_none() {
                *a = t.codec == "aac";
                if !*a {
                    t.codec_len = None;
                }
            }
        }
    }
    let mut start = clip_start;
    let mut early: Vec<(usize, Frame)> = Vec::new();
    let mut packet = ffmpeg_next::Packet::empty();
    let mut errors_in_a_row = 0;
    let mut last_error = None;
    loop {
        let read = packet.read(ctx);
        // av_read_frame does not free what the packet held before: free it
        // here, or every packet of the file stays in memory.
        let (si, ts, size) = (
            packet.stream(),
            packet.pts().or(packet.dts()),
            packet.size(),
        );
        let (frames_in, rate) = match slot.get(si) {
            Some(&i) if i != usize::MAX && adts[i] => packet.data().map_or((0, 0), adts_frames),
            _ => (0, 0),
        };
        crate::ffi::unref(&mut packet);
        match read {
            Ok(()) => {
                errors_in_a_row = 0;
                if si >= slot.len() {
                    // A stream that appears mid-file (FLV's audio changing
                    // codec, a new program in MPEG-TS) is tracked from its
                    // first packet on: its frames are recorded media too.
                    let min_gap = trackers.first().map_or(1.0, |t| t.min_gap_s);
                    for k in slot.len()..=si {
                        let Some(stream) = ctx.stream(k) else { break };
                        tbs.push(stream.time_base());
                        match tracker_for(&stream, min_gap) {
                            Some(mut t) => {
                                if format == "mpegts" && t.kind == StreamKind::Audio {
                                    t.codec_len = None;
                                }
                                slot.push(trackers.len());
                                adts.push(false);
                                trackers.push(t);
                            }
                            None => slot.push(usize::MAX),
                        }
                    }
                }
                let Some(&i) = slot.get(si) else { continue };
                if i == usize::MAX {
                    continue;
                }
                let Some(ts) = ts else {
                    continue;
                };
                let t = &mut trackers[i];
                t.bytes += size as u64;
                if adts[i] && t.codec_len.is_none() && rate > 0 {
                    t.codec_len = Some(1024.0 / f64::from(rate));
                }
                let at = seconds(ts, tbs[si]);
                let len = match (t.pcm_s_per_byte, t.codec_len) {
                    (Some(s), _) => s * size as f64,
                    (None, Some(l)) if adts[i] && frames_in > 0 => l * frames_in as f64,
                    _ => 0.0,
                };
                let count = if adts[i] { frames_in.max(1) as u32 } else { 1 };
                let frame = Frame {
                    start: at,
                    len,
                    count,
                };
                match start {
                    Some(origin) => t.push(frame, origin),
                    None => {
                        // No container start (MPEG-TS read without its
                        // stream-info pass): the clip starts at the earliest
                        // first packet of any stream, so a few are held.
                        early.push((i, frame));
                        let seen = trackers
                            .iter()
                            .enumerate()
                            .all(|(k, _)| early.iter().any(|(j, _)| *j == k));
                        if seen || early.len() >= EARLY {
                            start = Some(flush_early(trackers, &mut early));
                        }
                    }
                }
            }
            Err(ffmpeg_next::Error::Eof) => break,
            Err(ffmpeg_next::Error::Other {
                errno: ffmpeg_next::util::error::EAGAIN,
            }) => continue,
            Err(e) => {
                errors_in_a_row += 1;
                last_error = Some(e.to_string());
                if errors_in_a_row >= 16 {
                    break;
                }
            }
        }
    }
    if start.is_none() {
        flush_early(trackers, &mut early);
    }
    let at = trackers.iter().map(|t| t.end_pos).fold(0.0, f64::max);
    last_error
        .map(|e| format!("packets stop with an error near {at:.3} s from the clip start: {e}"))
}

/// First packets held while the clip's start is not known.
pub(crate) const EARLY: usize = 256;

/// Pushes the held first packets with the clip starting at the earliest of
/// them; returns that start.
pub(crate) fn flush_early(trackers: &mut [Tracker], early: &mut Vec<(usize, Frame)>) -> f64 {
    let origin = early
        .iter()
        .map(|(_, f)| f.start)
        .fold(f64::INFINITY, f64::min);
    let origin = if origin.is_finite() { origin } else { 0.0 };
    for (i, f) in early.drain(..) {
        trackers[i].push(f, origin);
    }
    origin
}
