//! Frame-timestamp continuity of one file (R7): demux only, never decode.
//!
//! For every audio and video stream the frame start times are collected,
//! sorted by presentation time (packets arrive in decode order with
//! B-frames), and each place where a frame starts at least `min_gap` after
//! the previous frame *nominally* ends is a gap. The nominal frame length
//! comes from the codec (audio frame size, PCM bytes per sample) or the
//! stream's median frame step, never from the packet's own duration, because
//! the MP4 muxer stretches the last sample before a hole across the hole.
//!
//! Two ways to get the timestamps:
//! - **index**: MP4/MOV files describe every sample in their header (moov);
//!   FFmpeg builds the sample index at open time, so no media data is read.
//!   Used when the index covers every declared frame. Samples whose data
//!   lies past the end of the file (a faststart clip cut mid-write) are
//!   reported as missing: the clip is damaged and ends early.
//! - **packets**: every other container (MPEG-TS, AVI, MKV, fragmented MP4,
//!   audio files) is demuxed packet by packet with other streams discarded.
//!   A read error partway marks the file damaged; fewer packets than the
//!   container declares marks it damaged as ending early.

use std::path::Path;

use ffmpeg_next::ffi;
use ffmpeg_next::media::Type;

use crate::{open_input, MediaError};

/// Which kind of stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    /// Video.
    Video,
    /// Audio.
    Audio,
}

impl StreamKind {
    /// `video` or `audio`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::Audio => "audio",
        }
    }
}

/// A hole in one stream.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Gap {
    /// Where the last frame before the hole ends, seconds from clip start.
    pub offset_s: f64,
    /// How long nothing was recorded, seconds.
    pub duration_s: f64,
}

/// What one stream looks like.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StreamReport {
    /// Audio or video.
    pub kind: StreamKind,
    /// FFmpeg's stream index.
    pub index: usize,
    /// Codec name.
    pub codec: String,
    /// Frames (packets) found.
    pub frames: u64,
    /// Frames the container declares, when it does.
    pub declared_frames: Option<u64>,
    /// First frame start, seconds from clip start.
    pub start_s: f64,
    /// Last frame end, seconds from clip start.
    pub end_s: f64,
    /// Nominal frame length, seconds.
    pub frame_s: f64,
    /// Holes of at least `min_gap`.
    pub gaps: Vec<Gap>,
    /// Frames missing in holes shorter than `min_gap`.
    pub dropped_frames: u64,
}

/// How the timestamps were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// From the container's sample index (no media data read).
    Index,
    /// By demuxing every packet.
    Packets,
}

/// The continuity analysis of one file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Analysis {
    /// Demuxer name.
    pub format: String,
    /// How timestamps were read.
    pub method: Method,
    /// Audio and video streams (data, subtitle, timecode tracks ignored).
    pub streams: Vec<StreamReport>,
    /// Readable duration, seconds (first frame start to last frame end).
    pub duration_s: f64,
    /// Set when the file is damaged: why.
    pub damaged: Option<String>,
    /// Container `creation_time`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub creation_time: Option<time::OffsetDateTime>,
    /// The demuxer is an image reader.
    pub is_image: bool,
    /// Bytes of the file FFmpeg read to analyse it (the index method reads
    /// little more than the header).
    pub bytes_read: u64,
}

impl Analysis {
    /// The stream of this kind that starts first, if any.
    pub fn first(&self, kind: StreamKind) -> Option<&StreamReport> {
        self.streams
            .iter()
            .filter(|s| s.kind == kind)
            .min_by(|a, b| a.start_s.total_cmp(&b.start_s))
    }

    /// Dropped frames over all streams.
    pub fn dropped_frames(&self) -> u64 {
        self.streams.iter().map(|s| s.dropped_frames).sum()
    }
}

/// One frame: start and nominal length, seconds (absolute stream time).
#[derive(Debug, Clone, Copy)]
struct Frame {
    start: f64,
    len: f64,
}

struct Collected {
    kind: StreamKind,
    index: usize,
    codec: String,
    declared: Option<u64>,
    frames: Vec<Frame>,
    /// Nominal length from the codec, when it gives one.
    codec_len: Option<f64>,
    /// PCM: seconds per byte of packet.
    pcm_s_per_byte: Option<f64>,
    /// Index entries the container itself marks as not to be shown.
    discarded: u64,
}

/// Analyses the file at `path` for holes of at least `min_gap_s` seconds.
pub fn analyse(path: &Path, min_gap_s: f64) -> Result<Analysis, MediaError> {
    crate::init()?;
    let unreadable = |reason: String| MediaError::Unreadable {
        path: path.display().to_string(),
        reason,
    };
    let mut ctx = open_input(path).map_err(|e| unreadable(e.to_string()))?;
    let format = ctx.format().name().to_owned();
    let is_image = format.contains("image") || format.ends_with("_pipe");
    let creation_time = ctx.metadata().get("creation_time").and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    });
    let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(u64::MAX);

    let mut collected: Vec<Collected> = Vec::new();
    for s in ctx.streams() {
        let par = s.parameters();
        let kind = match par.medium() {
            Type::Video
                if !s
                    .disposition()
                    .contains(ffmpeg_next::format::stream::Disposition::ATTACHED_PIC) =>
            {
                StreamKind::Video
            }
            Type::Audio => StreamKind::Audio,
            _ => continue,
        };
        // SAFETY: parameters() wraps the stream's valid codecpar.
        let cp = unsafe { &*par.as_ptr() };
        let (codec_len, pcm_s_per_byte) = match kind {
            StreamKind::Audio if cp.sample_rate > 0 => {
                // Bytes per sample frame: block_align, or bits × channels.
                // SAFETY: av_get_bits_per_sample only reads a codec id.
                let bits = unsafe { ffi::av_get_bits_per_sample(cp.codec_id) };
                let align = if cp.block_align > 0 {
                    cp.block_align
                } else {
                    bits * cp.ch_layout.nb_channels / 8
                };
                let pcm = align > 0 && is_pcm(par.id());
                let per_byte = pcm.then(|| 1.0 / (f64::from(align) * f64::from(cp.sample_rate)));
                let frame = (cp.frame_size > 0)
                    .then(|| f64::from(cp.frame_size) / f64::from(cp.sample_rate));
                (frame, per_byte)
            }
            _ => (None, None),
        };
        collected.push(Collected {
            kind,
            index: s.index(),
            codec: par.id().name().to_owned(),
            declared: (s.frames() > 0).then_some(s.frames() as u64),
            frames: Vec::new(),
            codec_len,
            pcm_s_per_byte,
            discarded: 0,
        });
    }
    if collected.is_empty() {
        return Ok(Analysis {
            format,
            method: Method::Packets,
            streams: Vec::new(),
            duration_s: 0.0,
            damaged: None,
            creation_time,
            is_image,
            bytes_read: bytes_read(&ctx),
        });
    }

    let mut damaged = Vec::new();
    let method = if is_image {
        Method::Packets
    } else if format.contains("mov") && from_index(&mut ctx, &mut collected, file_len) {
        Method::Index
    } else {
        if let Some(err) = from_packets(&mut ctx, &mut collected) {
            damaged.push(err);
        }
        Method::Packets
    };

    let mut streams = Vec::new();
    let first_frame = collected
        .iter()
        .filter_map(|c| c.frames.iter().map(|f| f.start).min_by(f64::total_cmp))
        .min_by(f64::total_cmp)
        .unwrap_or(0.0);
    // The clip starts where the container's timeline starts (MPEG-TS starts
    // well above zero); MP4's timeline starts at zero even when encoder
    // priming puts the first audio packet slightly before it.
    // SAFETY: reading a plain field of the open context.
    let container_start = unsafe { (*ctx.as_ptr()).start_time };
    let clip_start = match container_start {
        t if t != ffi::AV_NOPTS_VALUE => t as f64 / f64::from(ffi::AV_TIME_BASE),
        _ if format.contains("mov") => first_frame.max(0.0),
        _ => first_frame,
    };
    for c in &mut collected {
        c.frames.sort_by(|a, b| a.start.total_cmp(&b.start));
        c.frames.dedup_by(|b, a| (a.start - b.start).abs() < 1e-9);
        let found = c.frames.len() as u64 + c.discarded;
        // Only MP4/MOV declare a trustworthy frame count (AVI counts its
        // placeholder chunks, and PCM samples rather than packets).
        let comparable = format.contains("mov") && c.pcm_s_per_byte.is_none();
        if let Some(declared) = c.declared.filter(|_| comparable) {
            if found < declared {
                damaged.push(format!(
                    "{} stream {} ends early: {found} of {declared} declared frames are readable",
                    c.kind.as_str(),
                    c.index
                ));
            }
        }
        if c.frames.is_empty() {
            continue;
        }
        streams.push(stream_report(c, clip_start, min_gap_s));
    }
    let duration_s = streams.iter().map(|s| s.end_s).fold(0.0, f64::max);
    let bytes_read = bytes_read(&ctx);
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

fn bytes_read(ctx: &ffmpeg_next::format::context::Input) -> u64 {
    // SAFETY: reading plain fields of the open context and its I/O context.
    unsafe {
        let pb = (*ctx.as_ptr()).pb;
        if pb.is_null() {
            0
        } else {
            (*pb).bytes_read.max(0) as u64
        }
    }
}

fn is_pcm(id: ffmpeg_next::codec::Id) -> bool {
    id.name().starts_with("pcm_")
}

fn stream_report(c: &Collected, clip_start: f64, min_gap_s: f64) -> StreamReport {
    // Nominal length: the codec's when known, else the median step.
    let median = {
        let mut d: Vec<f64> = c
            .frames
            .windows(2)
            .map(|w| w[1].start - w[0].start)
            .filter(|d| *d > 0.0)
            .collect();
        d.sort_by(f64::total_cmp);
        d.get(d.len() / 2).copied()
    };
    let frame_s = c.codec_len.or(median).unwrap_or(0.0);
    let len_of = |f: &Frame| if f.len > 0.0 { f.len } else { frame_s };
    let mut gaps = Vec::new();
    let mut dropped = 0u64;
    for w in c.frames.windows(2) {
        let end = w[0].start + len_of(&w[0]);
        let hole = w[1].start - end;
        if hole >= min_gap_s {
            gaps.push(Gap {
                offset_s: round_us(end - clip_start),
                duration_s: round_us(hole),
            });
        } else if frame_s > 0.0 && hole > frame_s * 0.5 {
            dropped += (hole / frame_s).round().max(1.0) as u64;
        }
    }
    let first = c.frames.first().expect("non-empty");
    let last = c.frames.last().expect("non-empty");
    StreamReport {
        kind: c.kind,
        index: c.index,
        codec: c.codec.clone(),
        frames: c.frames.len() as u64,
        declared_frames: c.declared,
        // Decode order can put the first B-frame's timestamp before zero.
        start_s: round_us((first.start - clip_start).max(0.0)),
        end_s: round_us(last.start + len_of(last) - clip_start),
        frame_s,
        gaps,
        dropped_frames: dropped,
    }
}

fn round_us(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn seconds(ts: i64, tb: ffmpeg_next::Rational) -> f64 {
    ts as f64 * f64::from(tb.numerator()) / f64::from(tb.denominator())
}

/// Reads frame times from the container's sample index. Returns false (and
/// collects nothing) when the index does not describe every declared frame.
fn from_index(
    ctx: &mut ffmpeg_next::format::context::Input,
    collected: &mut [Collected],
    file_len: u64,
) -> bool {
    let mut all: Vec<(Vec<Frame>, u64)> = Vec::new();
    for c in collected.iter() {
        let Some(declared) = c.declared else {
            return false;
        };
        let Some(stream) = ctx.stream(c.index) else {
            return false;
        };
        let tb = stream.time_base();
        // SAFETY: the stream belongs to the open context and outlives st's use.
        let st = unsafe { stream.as_ptr() } as *mut ffi::AVStream;
        // SAFETY: st is a valid stream of the open context.
        let n = unsafe { ffi::avformat_index_get_entries_count(st) };
        let mut frames = Vec::with_capacity(n.max(0) as usize);
        let mut listed = 0u64;
        let mut discarded = 0u64;
        for i in 0..n {
            // SAFETY: i < n; the entry is read before any other call on ctx.
            let e = unsafe { ffi::avformat_index_get_entry(st, i) };
            if e.is_null() {
                return false;
            }
            // SAFETY: non-null entry owned by the stream.
            let e = unsafe { &*e };
            listed += 1;
            if e.flags() & ffi::AVINDEX_DISCARD_FRAME != 0 {
                discarded += 1; // e.g. AAC priming cut by the edit list
                continue;
            }
            let size = e.size().max(0) as u64;
            if e.pos < 0 || e.pos as u64 + size > file_len {
                continue; // data not in the file: counted as missing below
            }
            let len = c.pcm_s_per_byte.map_or(0.0, |s| s * size as f64);
            frames.push(Frame {
                start: seconds(e.timestamp, tb),
                len,
            });
        }
        // MOV declares PCM audio in samples, not chunks: nothing to compare.
        if listed != declared && c.pcm_s_per_byte.is_none() {
            tracing::debug!(
                stream = c.index,
                listed,
                declared,
                "sample index incomplete; demuxing packets"
            );
            return false;
        }
        all.push((frames, discarded));
    }
    for (c, (frames, discarded)) in collected.iter_mut().zip(all) {
        c.frames = frames;
        c.discarded = discarded;
    }
    true
}

/// Demuxes every packet of the selected streams. Returns the read error
/// that stopped it early, if any.
fn from_packets(
    ctx: &mut ffmpeg_next::format::context::Input,
    collected: &mut [Collected],
) -> Option<String> {
    let mut slot = vec![usize::MAX; ctx.nb_streams() as usize];
    let mut tbs = vec![ffmpeg_next::Rational::new(1, 1); ctx.nb_streams() as usize];
    for (i, c) in collected.iter().enumerate() {
        slot[c.index] = i;
    }
    for (i, s) in ctx.streams().enumerate() {
        tbs[i] = s.time_base();
        if slot[i] == usize::MAX {
            // SAFETY: valid stream pointer; tells the demuxer to skip it.
            unsafe {
                (*(s.as_ptr() as *mut ffi::AVStream)).discard = ffi::AVDiscard::AVDISCARD_ALL
            };
        }
    }
    let mut packet = ffmpeg_next::Packet::empty();
    let mut errors_in_a_row = 0;
    let mut last_error = None;
    loop {
        match packet.read(ctx) {
            Ok(()) => {
                errors_in_a_row = 0;
                let si = packet.stream();
                let Some(&i) = slot.get(si) else { continue };
                if i == usize::MAX {
                    continue;
                }
                let Some(ts) = packet.pts().or(packet.dts()) else {
                    continue;
                };
                let c = &mut collected[i];
                let len = c.pcm_s_per_byte.map_or(0.0, |s| s * packet.size() as f64);
                c.frames.push(Frame {
                    start: seconds(ts, tbs[si]),
                    len,
                });
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
    let at = collected
        .iter()
        .filter_map(|c| c.frames.iter().map(|f| f.start).max_by(f64::total_cmp))
        .max_by(f64::total_cmp)
        .unwrap_or(0.0);
    last_error.map(|e| format!("packets stop with an error near {at:.3} s: {e}"))
}
