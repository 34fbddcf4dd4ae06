//! Frame-timestamp continuity of one file (R7): demux only, never decode.
//!
//! Every audio and video stream is followed frame by frame in presentation
//! order by a [`Tracker`] that keeps only per-stream state (constant memory
//! in file length): packets arrive in decode order, so a small reorder
//! window puts B-frames back in place. Each place where a frame starts at
//! least `min_gap` after the previous frame *nominally* ends is a hole. The
//! nominal frame length comes from the codec (audio frame size, PCM bytes
//! per sample) or the stream's *local* frame interval (the median of its
//! last steps, so variable frame rate is not mistaken for drops), never from
//! the packet's own duration, because the MP4 muxer stretches the last
//! sample before a hole across the hole.
//!
//! Timestamps that jump back by more than the reorder window can explain
//! (a recorder that rebooted mid-file, MPEG-TS) are a `restart`: the
//! timeline continues across it, so the recording's length is the sum of
//! its segments. A stream that stops at least `min_gap` before the others
//! is an interruption of that stream (`stream_stopped`); one that starts
//! later is not (a recorder's pre-event buffer records video before audio;
//! docs/operator-guide.md).
//!
//! Two ways to get the timestamps:
//! - **index**: MP4/MOV files describe every sample in their header (moov);
//!   FFmpeg builds the sample index at open time, so no media data is read.
//!   Used when the index covers every declared frame. Samples whose data
//!   lies past the end of the file (a faststart clip cut mid-write) are
//!   reported as missing: the clip is damaged and ends early.
//! - **packets**: every other container (MPEG-TS, AVI, MKV, fragmented MP4,
//!   audio files) is demuxed packet by packet with other streams discarded.
//!   A read error partway marks the file damaged; so does a header that
//!   declares more duration than the packets cover (AVI, WAV, MKV, FLV, MXF
//!   truncated).
//!
//! This file holds the entry ([`analyse`]) and the file-level checks
//! (declared against readable length, stream extents); `tracker` follows
//! one stream, `timestamps` reads the sample tables, the AVI index and the
//! packets, `verdict` is what the analysis says.

use std::path::Path;

use ffmpeg_next::ffi;

use crate::MediaError;

use crate::timestamps::*;
use crate::tracker::*;
pub use crate::verdict::{Analysis, Gap, GapKind, Method, StreamKind, StreamReport};

/// Analyses the file at `path` for holes of at least `min_gap_s` seconds.
///
/// The analysis has a time budget ([`crate::budget_for`], from the file's
/// size): past it FFmpeg is interrupted and the file is
/// [`MediaError::OverBudget`], never a verdict drawn from half of it.
pub fn analyse(path: &Path, min_gap_s: f64) -> Result<Analysis, MediaError> {
    crate::init()?;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let budget = crate::Budget::start(crate::budget_for(size));
    let result = analyse_within(path, min_gap_s);
    if budget.exceeded() {
        return Err(MediaError::OverBudget {
            path: path.display().to_string(),
            seconds: budget.seconds(),
        });
    }
    result
}

pub(crate) fn analyse_within(path: &Path, min_gap_s: f64) -> Result<Analysis, MediaError> {
    // MP4/MOV: the timing tables are read here (composition offsets, edit
    // lists), so FFmpeg is asked to leave edit lists alone: applied, they
    // drop samples from its index and hide what they cut.
    let movie = crate::mp4::read(path).filter(|m| !m.fragmented);
    // FFmpeg's stream-info pass (header-less formats: MPEG-TS) decodes
    // frames until it knows each codec: half a second of them is enough for
    // what continuity needs, and the frame rate is not probed at all.
    let mut options: Vec<(&str, &str)> = vec![("analyzeduration", "500000"), ("fpsprobesize", "0")];
    if movie.is_some() {
        options.push(("ignore_editlist", "1"));
    }
    let options = options.as_slice();
    let mut ctx = crate::open_input_with(path, options)?;
    let format = ctx.format().name().to_owned();
    let is_image = format.contains("image") || format.ends_with("_pipe");
    let is_mov = format.contains("mov");
    let creation_time = ctx.metadata().get("creation_time").and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    });
    let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(u64::MAX);

    let mut trackers: Vec<Tracker> = ctx
        .streams()
        .filter_map(|s| tracker_for(&s, min_gap_s))
        .collect();
    if let Some(m) = movie.as_ref().filter(|_| is_mov) {
        for t in trackers.iter_mut().filter(|t| t.kind == StreamKind::Audio) {
            let id = ctx.stream(t.index).map_or(-1, |s| i64::from(s.id()));
            t.counts_samples = m.tracks.iter().any(|tr| {
                i64::from(tr.id) == id
                    && tr.constant_size > 0
                    && tr.stts.iter().all(|&(_, delta)| delta == 1)
            });
        }
    }
    if trackers.is_empty() {
        return Ok(Analysis {
            format,
            method: Method::Packets,
            streams: Vec::new(),
            duration_s: 0.0,
            damaged: None,
            creation_time,
            is_image,
            bytes_read: crate::ffi::bytes_read(&ctx),
        });
    }

    // The clip's timeline: MP4/MOV's presentation starts at zero (encoder
    // priming may put the first audio packet slightly before it, and a
    // leading empty edit presents the media later); other containers start
    // where their timeline starts (MPEG-TS well above zero).
    let clip_start = if is_mov {
        Some(0.0)
    } else {
        crate::ffi::start_time_s(&ctx)
    };

    // RIFF files (AVI, WAV) say in their chunk sizes whether they are whole:
    // read once, for the method and for the damage.
    let riff = (format == "avi" || format == "wav")
        .then(|| riff_declared(path, file_len))
        .flatten();
    let mut damaged = Vec::new();
    let method = if is_image {
        Method::Packets
    } else if movie
        .as_ref()
        .filter(|_| is_mov)
        .is_some_and(|m| from_movie(&mut ctx, &mut trackers, file_len, m))
        || (format == "avi" && riff.is_none() && from_avi_index(&mut ctx, &mut trackers, file_len))
    {
        Method::Index
    } else {
        crate::take_errors();
        if let Some(err) = from_packets(&mut ctx, &mut trackers, clip_start) {
            damaged.push(err);
        } else if let (n @ 1.., first) = crate::take_errors() {
            // The demuxer resynchronised over data it could not read (a
            // corrupt Matroska cluster, a damaged TS packet): what was in
            // it is lost, and the file says nothing of it.
            damaged.push(format!(
                "the demuxer skipped corrupt data ({n} error{}; first: {})",
                if n == 1 { "" } else { "s" },
                first.unwrap_or_default()
            ));
        }
        Method::Packets
    };

    let mut streams = Vec::new();
    for t in trackers {
        // Only MP4/MOV declare a trustworthy frame count (AVI counts its
        // placeholder chunks, and PCM samples rather than packets).
        // A count in audio samples is compared in samples, converted from
        // the bytes read by the codec's packet size; where the codec header
        // does not give it, the count is not compared (unknown, not damage).
        let counts_samples = t.counts_samples && t.pcm_s_per_byte.is_none();
        let comparable = is_mov && t.pcm_s_per_byte.is_none() && !counts_samples;
        let samples_read = (counts_samples && t.block_align > 0 && t.packet_samples > 0)
            .then(|| t.bytes / t.block_align * t.packet_samples);
        let packet_samples = t.packet_samples;
        let (kind, index, declared, discarded) = (t.kind, t.index, t.declared, t.discarded);
        let missing = t.missing;
        let mut report = t.finish();
        if counts_samples {
            if let Some(r) = report.as_mut() {
                r.note = Some(match samples_read {
                    Some(n) => format!(
                        "the container counts this stream in audio samples: {n} readable of {} declared",
                        declared.unwrap_or(0)
                    ),
                    None => "the container counts this stream in audio samples and its codec header gives no packet size: the count is not compared".into(),
                });
            }
            if let (Some(declared), Some(read)) = (declared, samples_read) {
                if read + packet_samples < declared {
                    damaged.push(format!(
                        "{} stream {index} ends early: {read} of {declared} declared audio samples are readable",
                        kind.as_str(),
                    ));
                }
            }
        }
        let found = report.as_ref().map_or(0, |r| r.frames) + discarded;
        if missing > 0 && !(comparable && declared.is_some()) {
            damaged.push(format!(
                "{} stream {index} ends early: {missing} of its index entries lie beyond the end of the file",
                kind.as_str(),
            ));
        }
        if let Some(declared) = declared.filter(|_| comparable) {
            if found < declared {
                damaged.push(format!(
                    "{} stream {index} ends early: {found} of {declared} declared frames are readable",
                    kind.as_str(),
                ));
            }
        }
        streams.extend(report);
    }
    let duration_s = streams.iter().map(|s| s.end_s).fold(0.0, f64::max);
    if !is_mov {
        let truncated = if format == "avi" || format == "wav" {
            riff
        } else {
            declared_beyond(&ctx, duration_s, min_gap_s)
        };
        damaged.extend(truncated);
    }
    stream_extents(&mut streams, min_gap_s);
    let bytes_read = crate::ffi::bytes_read(&ctx);
    let damaged = if damaged.is_empty() {
        None
    } else {
        Some(format!(
            "{}; readable duration {duration_s:.3} s",
            damaged.join("; ")
        ))
    };
    Ok(Analysis {
        format,
        method,
        streams,
        duration_s,
        damaged,
        creation_time,
        is_image,
        bytes_read,
    })
}

/// A header that declares more duration than the packets cover (AVI's
/// frame count, WAV's data size, MKV's and FLV's duration, MXF's): the file
/// is truncated. Durations FFmpeg only estimated (from the bit rate, or
/// from the last timestamps it found) declare nothing.
fn declared_beyond(
    ctx: &ffmpeg_next::format::context::Input,
    readable_s: f64,
    min_gap_s: f64,
) -> Option<String> {
    let (duration, method) = crate::ffi::duration(ctx);
    // A duration "from PTS" is measured from the file itself, except where
    // the demuxer read it from a header first (Matroska's Segment Duration);
    // MPEG-TS and -PS measure (and their timestamps may wrap or restart).
    let format = ctx.format();
    let measured = format.name().contains("mpeg");
    let declares = match method {
        ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_STREAM => true,
        ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_PTS => !measured,
        _ => false,
    };
    let declared = if duration != ffi::AV_NOPTS_VALUE && duration > 0 {
        if !declares {
            return None;
        }
        duration as f64 / f64::from(ffi::AV_TIME_BASE)
    } else {
        // No container duration: FFmpeg estimated nothing (its stream-info
        // pass did not run, the header described the file), so each
        // stream's duration is what its header declares (MXF).
        ctx.streams()
            .filter(|s| s.duration() > 0)
            .map(|s| seconds(s.duration(), s.time_base()))
            .fold(0.0, f64::max)
    };
    if declared <= 0.0 {
        return None;
    }
    let tolerance = (min_gap_s / 2.0).clamp(0.25, 1.0);
    (declared - readable_s > tolerance).then(|| {
        format!(
            "the header declares {declared:.3} s but the file holds {readable_s:.3} s (truncated)"
        )
    })
}

/// A RIFF file (AVI, WAV) whose chunk headers declare more bytes than the
/// file holds: cut off before it was finished. AVI files over 1 GiB are a
/// chain of RIFF chunks (`AVIX`), each checked. FFmpeg itself trims its
/// duration to what it finds, so the header is read here.
fn riff_declared(path: &Path, file_len: u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let mut pos = 0u64;
    let mut head = [0u8; 12];
    for _ in 0..4096 {
        f.seek(SeekFrom::Start(pos)).ok()?;
        if f.read_exact(&mut head).is_err() {
            return None;
        }
        if &head[..4] != b"RIFF" {
            return None;
        }
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if size == u32::MAX {
            return None; // RF64: the size is elsewhere
        }
        let end = pos + 8 + u64::from(size) + u64::from(size % 2);
        if end > file_len + 1 {
            return Some(format!(
                "the RIFF header declares {end} bytes but the file holds {file_len} (truncated)"
            ));
        }
        if end >= file_len {
            return None;
        }
        pos = end;
    }
    None
}

/// Marks each stream that stopped before the clip ended (R7:
/// "intermittent"). The rule, the same for every container, on each
/// stream's presented span `[start, end]`:
///
/// a stream *stopped* when another stream goes on at least `min_gap` after
/// its last frame, covers at least `min_gap` more time than it does, and no
/// stream of the same kind starts where it ended (a codec change in FLV or
/// MPEG-TS opens a new stream that carries on). The interruption starts at
/// its last frame and lasts the smaller of the two amounts: the time the
/// other stream went on, and the time it covered more.
///
/// So a stream that starts late, or is presented late (a leading empty
/// edit, an audio PES that leads the video), and ends late by as much is
/// shorter by design, not stopped; nor is one that starts late and ends
/// with the others (a pre-event buffer of video alone).
fn stream_extents(streams: &mut [StreamReport], min_gap_s: f64) {
    let spans: Vec<(StreamKind, f64, f64)> = streams
        .iter()
        .map(|s| (s.kind, s.start_s, s.end_s))
        .collect();
    for s in streams.iter_mut() {
        let taken_over = spans.iter().any(|&(kind, start, _)| {
            kind == s.kind && start >= s.end_s - min_gap_s && start > s.start_s
        });
        if taken_over {
            continue;
        }
        // The other stream that went on longest after this one, and by how
        // much more it covered.
        let mut stop: Option<(f64, f64, f64)> = None;
        for &(_, start, end) in &spans {
            let after = end - s.end_s;
            let more = (end - start) - (s.end_s - s.start_s);
            if after >= min_gap_s && more >= min_gap_s {
                let lost = after.min(more);
                if stop.is_none_or(|(l, _, _)| lost > l) {
                    stop = Some((lost, after, more));
                }
            }
        }
        if let Some((lost, after, more)) = stop {
            s.gaps.push(Gap {
                kind: GapKind::StreamStopped,
                offset_s: s.end_s,
                duration_s: round_us(lost),
                detail: Some(format!(
                    "{} stops at {:.3} s; another stream goes on {after:.3} s after it and covers {more:.3} s more",
                    s.kind.as_str(),
                    s.end_s,
                )),
            });
        }
    }
}
