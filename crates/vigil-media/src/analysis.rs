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

use std::path::Path;

use ffmpeg_next::ffi;
use ffmpeg_next::media::Type;

use crate::MediaError;

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

/// What kind of interruption of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    /// Nothing was recorded for a while (a hole in the timestamps).
    Hole,
    /// The timestamps jump back: the recorder restarted mid-file.
    Restart,
    /// The stream ends at least `min_gap` before the clip does.
    StreamStopped,
    /// An MP4/MOV edit list hides recorded media, shows it again, or shows
    /// nothing for a while (R7: "selectively cut").
    EditListCut,
}

impl GapKind {
    /// The rule that reports this kind, in words (`vigil analyze --explain`).
    pub fn rule(self) -> &'static str {
        match self {
            Self::Hole => "a frame starts at least the smallest gap after the previous frame's nominal end (its codec's frame length, or the median of the last steps)",
            Self::Restart => "a frame's time lies more than 1 s before frames already placed, which reordering cannot explain: the recorder's clock started over",
            Self::StreamStopped => "another stream goes on at least the smallest gap after this one's last frame, covers at least that much more time, and no stream of the same kind takes over",
            Self::EditListCut => "the MP4/MOV edit list hides recorded media, shows it again, or shows nothing for a while",
        }
    }

    /// The name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hole => "hole",
            Self::Restart => "restart",
            Self::StreamStopped => "stream_stopped",
            Self::EditListCut => "edit_list_cut",
        }
    }
}

/// An interruption of one stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Gap {
    /// What kind.
    pub kind: GapKind,
    /// Where the last frame before it ends, seconds from clip start (on
    /// the recording's timeline, continued across restarts).
    pub offset_s: f64,
    /// How long nothing was recorded, seconds (0 for a restart: the time
    /// lost is not in the file).
    pub duration_s: f64,
    /// What was seen, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
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
    /// How its times were read, when not as the container gives them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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

/// One frame: start and nominal length (0: unknown), seconds of stream time.
#[derive(Debug, Clone, Copy)]
struct Frame {
    start: f64,
    len: f64,
    /// Frames it stands for (an MPEG-TS audio PES holds several).
    count: u32,
}

impl PartialEq for Frame {
    fn eq(&self, other: &Self) -> bool {
        self.start.total_cmp(&other.start).is_eq()
    }
}
impl Eq for Frame {}
impl PartialOrd for Frame {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Frame {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.start.total_cmp(&other.start)
    }
}

/// Frames held back to put decode order into presentation order (H.264 and
/// HEVC reorder by at most 16).
const REORDER: usize = 32;
/// Steps the local frame interval is the median of.
const STEPS: usize = 9;
/// A step back in presentation time, behind what the reorder window has
/// already released, longer than this is a restart, not reordering.
const RESTART_BACK_S: f64 = 1.0;
/// Interruptions listed per stream; more are counted in the detail of the
/// last one (a pathological file cannot grow the report without bound).
const MAX_GAPS: usize = 10_000;

/// Follows one stream frame by frame; its state does not grow with the
/// file (the reorder window, a few steps, the interruptions found).
struct Tracker {
    kind: StreamKind,
    index: usize,
    codec: String,
    declared: Option<u64>,
    /// Nominal length from the codec, when it gives one.
    codec_len: Option<f64>,
    /// PCM: seconds per byte of packet.
    pcm_s_per_byte: Option<f64>,
    /// Samples the container itself does not show (priming cut by the
    /// edit list).
    discarded: u64,
    /// Samples whose data lies beyond the end of the file.
    missing: u64,
    /// Whether a step back in time can be a restart. Not for times read
    /// from an MP4/MOV's tables: their decode times only go forward, so a
    /// presentation time earlier than another is reordering (however long
    /// the frames), and media shown again is the edit list's doing.
    restarts: bool,
    min_gap_s: f64,
    pending: std::collections::BinaryHeap<std::cmp::Reverse<Frame>>,
    /// Latest start pushed in this segment.
    newest: f64,
    last: Option<Frame>,
    steps: std::collections::VecDeque<f64>,
    frames: u64,
    /// Timeline position of stream time `t` is `base + t - origin`.
    base: f64,
    origin: f64,
    started: bool,
    first_pos: f64,
    end_pos: f64,
    gaps: Vec<Gap>,
    gaps_over: u64,
    dropped: u64,
    /// Why the stream's length was taken from its frame count.
    retimed: Option<String>,
    /// The frame length the codec's specification fixes, when FFmpeg's
    /// stream header does not give it (no decoding is done).
    frame_hint: Option<f64>,
    /// The container declares this stream's length in audio samples, not
    /// packets (QuickTime sound of constant packet size: IMA4, GSM, ...).
    counts_samples: bool,
    /// Bytes per packet and samples per packet, as the codec header says
    /// (0: not said): converts bytes read into samples.
    block_align: u64,
    packet_samples: u64,
    /// Bytes of the stream's packets read (or indexed) in the file.
    bytes: u64,
}

impl Tracker {
    fn frame_s(&self) -> f64 {
        if let Some(l) = self.codec_len {
            return l;
        }
        // The median of the last steps, sorted on the stack (this runs for
        // every frame).
        let mut d = [0.0f64; STEPS];
        let n = self.steps.len();
        for (slot, s) in d.iter_mut().zip(&self.steps) {
            *slot = *s;
        }
        let d = &mut d[..n];
        d.sort_unstable_by(f64::total_cmp);
        d.get(n / 2).copied().unwrap_or(0.0)
    }

    fn gap(&mut self, g: Gap) {
        if self.gaps.len() < MAX_GAPS {
            self.gaps.push(g);
        } else {
            self.gaps_over += 1;
        }
    }

    /// Takes the next frame in decode order; `clip_start` is where the
    /// clip's timeline starts, in stream time.
    fn push(&mut self, f: Frame, clip_start: f64) {
        if !self.started {
            self.started = true;
            self.origin = clip_start;
            self.newest = f.start;
        } else {
            // Reordering never puts a frame before one already released
            // (held back by the window): a frame that lands well before
            // that is a restart. Before anything is released, the newest
            // frame is the reference.
            let reference = self.last.map_or(self.newest, |l| l.start);
            if self.restarts && f.start < reference - RESTART_BACK_S {
                self.restart(f);
            }
        }
        self.newest = self.newest.max(f.start);
        self.pending.push(std::cmp::Reverse(f));
        if self.pending.len() > REORDER {
            self.release_one();
        }
    }

    fn release_one(&mut self) {
        if let Some(std::cmp::Reverse(f)) = self.pending.pop() {
            self.release(f);
        }
    }

    /// The timestamps went back: what is held is released, and the
    /// timeline continues from where the last segment ended.
    fn restart(&mut self, f: Frame) {
        while !self.pending.is_empty() {
            self.release_one();
        }
        let at = self.end_pos;
        let back = self.newest - f.start;
        self.gap(Gap {
            kind: GapKind::Restart,
            offset_s: round_us(at),
            duration_s: 0.0,
            detail: Some(format!(
                "timestamps go back {back:.3} s here: the recording restarted"
            )),
        });
        self.base = at;
        self.origin = f.start;
        self.newest = f.start;
        self.last = None;
    }

    fn release(&mut self, f: Frame) {
        let pos = |t: &Self, x: f64| t.base + x - t.origin;
        if let Some(prev) = self.last {
            let step = f.start - prev.start;
            if step.abs() < 1e-9 {
                return; // the same frame twice
            }
            let nominal = self.codec_len.unwrap_or_else(|| {
                let local = self.frame_s();
                if local > 0.0 {
                    local
                } else {
                    step
                }
            });
            let prev_len = if prev.len > 0.0 { prev.len } else { nominal };
            let hole = f.start - (prev.start + prev_len);
            if hole >= self.min_gap_s {
                let at = pos(self, prev.start + prev_len);
                self.gap(Gap {
                    kind: GapKind::Hole,
                    offset_s: round_us(at),
                    duration_s: round_us(hole),
                    detail: Some(format!(
                        "a frame at {:.6} s (stream time) lasting {prev_len:.6} s, then the next at {:.6} s: {hole:.6} s with no frame",
                        prev.start, f.start
                    )),
                });
            } else {
                if step > 0.0 {
                    if self.steps.len() == STEPS {
                        self.steps.pop_front();
                    }
                    self.steps.push_back(step);
                }
                // A drop is a hole of about one local interval or more: a
                // frame rate that changes (30 to 20 fps: half of one) is not.
                if nominal > 0.0 && hole >= nominal * 0.75 {
                    self.dropped += ((hole / nominal).round() as u64).max(1);
                }
            }
        } else if self.frames == 0 {
            self.first_pos = pos(self, f.start);
        }
        self.frames += u64::from(f.count.max(1));
        let len = if f.len > 0.0 { f.len } else { self.frame_s() };
        self.end_pos = self.end_pos.max(pos(self, f.start + len));
        self.last = Some(f);
    }

    fn finish(mut self) -> Option<StreamReport> {
        while !self.pending.is_empty() {
            self.release_one();
        }
        if self.frames == 0 {
            return None;
        }
        // The last frame's length is only known now that every step is in.
        if let Some(last) = self.last.filter(|l| l.len <= 0.0) {
            let end = self.base + last.start + self.frame_s() - self.origin;
            self.end_pos = self.end_pos.max(end);
        }
        // Frames of a codec with a fixed frame length cannot overlap: when
        // the container's times would fit them into less than half the time
        // they take, its times are on a wrong base (an AVI stream header
        // whose rate does not match its chunks), and the frames themselves
        // say how long the stream is.
        if let Some(len) = self
            .codec_len
            .or(self.frame_hint)
            .filter(|_| self.pcm_s_per_byte.is_none())
        {
            let by_frames = self.frames as f64 * len;
            if self.frames > 1 && self.end_pos - self.first_pos < by_frames / 2.0 {
                self.retimed = Some(format!(
                    "the container's times put {} frames of {:.3} s each in {:.3} s: timed by its frames instead",
                    self.frames,
                    len,
                    self.end_pos - self.first_pos
                ));
                self.end_pos = self.first_pos + by_frames;
            }
        }
        // An empty edit leaves a hole in the presented frames: one
        // interruption, reported once, as the cut that makes it.
        let near = (2.0 * self.frame_s()).max(0.05);
        let cuts: Vec<(f64, f64)> = self
            .gaps
            .iter()
            .filter(|g| g.kind == GapKind::EditListCut)
            .map(|g| (g.offset_s, g.duration_s))
            .collect();
        self.gaps.retain(|g| {
            g.kind != GapKind::Hole
                || !cuts.iter().any(|(o, d)| {
                    (g.offset_s - o).abs() <= near && (g.duration_s - d).abs() <= near
                })
        });
        self.gaps.sort_by(|a, b| a.offset_s.total_cmp(&b.offset_s));
        if self.gaps_over > 0 {
            if let Some(g) = self.gaps.last_mut() {
                g.detail = Some(format!(
                    "and {} more interruptions not listed",
                    self.gaps_over
                ));
            }
        }
        Some(StreamReport {
            kind: self.kind,
            index: self.index,
            codec: self.codec.clone(),
            frames: self.frames,
            declared_frames: self.declared,
            start_s: round_us(self.first_pos.max(0.0)),
            end_s: round_us(self.end_pos),
            frame_s: self.frame_s(),
            gaps: self.gaps,
            dropped_frames: self.dropped,
            note: self.retimed,
        })
    }
}

/// A tracker for stream `s`, if it is audio or video (an attached picture
/// is neither).
fn tracker_for(s: &ffmpeg_next::format::stream::Stream, min_gap_s: f64) -> Option<Tracker> {
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
        _ => return None,
    };
    let cp = crate::ffi::audio_params(&par);
    let (codec_len, pcm_s_per_byte) = match kind {
        StreamKind::Audio if cp.sample_rate > 0 => {
            // Bytes per sample frame: block_align, or bits × channels.
            let align = if cp.block_align > 0 {
                cp.block_align
            } else {
                cp.bits_per_sample * cp.channels / 8
            };
            let pcm = align > 0 && is_pcm(par.id());
            let per_byte = pcm.then(|| 1.0 / (f64::from(align) * f64::from(cp.sample_rate)));
            let frame =
                (cp.frame_size > 0).then(|| f64::from(cp.frame_size) / f64::from(cp.sample_rate));
            (frame, per_byte)
        }
        _ => (None, None),
    };
    let (block_align, packet_samples) = spec_packet(par.id(), cp.channels).unwrap_or((
        u64::try_from(cp.block_align).unwrap_or(0),
        u64::try_from(cp.frame_size).unwrap_or(0),
    ));
    Some(Tracker {
        kind,
        index: s.index(),
        codec: par.id().name().to_owned(),
        declared: (s.frames() > 0).then_some(s.frames() as u64),
        codec_len,
        pcm_s_per_byte,
        discarded: 0,
        missing: 0,
        restarts: true,
        min_gap_s,
        pending: std::collections::BinaryHeap::with_capacity(REORDER + 1),
        newest: 0.0,
        last: None,
        steps: std::collections::VecDeque::with_capacity(STEPS),
        frames: 0,
        base: 0.0,
        origin: 0.0,
        started: false,
        first_pos: 0.0,
        end_pos: 0.0,
        gaps: Vec::new(),
        gaps_over: 0,
        dropped: 0,
        retimed: None,
        frame_hint: (cp.sample_rate > 0)
            .then(|| spec_frame_samples(par.id(), cp.sample_rate))
            .flatten()
            .map(|n| f64::from(n) / f64::from(cp.sample_rate)),
        counts_samples: false,
        block_align,
        packet_samples,
        bytes: 0,
    })
}

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

/// Samples per frame the codec's specification fixes (MPEG audio layers
/// I–III, AC-3, E-AC-3), for a stream whose header does not say.
fn spec_frame_samples(id: ffmpeg_next::codec::Id, rate: i32) -> Option<u32> {
    use ffmpeg_next::codec::Id;
    match id {
        Id::MP1 => Some(384),
        Id::MP2 => Some(1152),
        // MPEG-1 layer III (32 kHz and up) has 1152; MPEG-2 and 2.5, 576.
        Id::MP3 => Some(if rate >= 32_000 { 1152 } else { 576 }),
        Id::AC3 | Id::EAC3 => Some(1536),
        _ => None,
    }
}

/// Bytes and samples of one packet of a constant-size sound codec, as
/// its specification fixes them (QuickTime's sound description repeats
/// them, but FFmpeg does not pass them on without decoding).
fn spec_packet(id: ffmpeg_next::codec::Id, channels: i32) -> Option<(u64, u64)> {
    use ffmpeg_next::codec::Id;
    let ch = u64::try_from(channels.max(1)).unwrap_or(1);
    match id {
        // 34 bytes hold 64 samples of one channel.
        Id::ADPCM_IMA_QT => Some((34 * ch, 64)),
        // GSM 06.10: 33 bytes, 160 samples (mono).
        Id::GSM => Some((33, 160)),
        // Microsoft's GSM: two frames, 65 bytes, 320 samples.
        Id::GSM_MS => Some((65, 320)),
        // MACE 3:1 and 6:1: 2 and 1 bytes per 6 samples of each channel.
        Id::MACE3 => Some((2 * ch, 6)),
        Id::MACE6 => Some((ch, 6)),
        _ => None,
    }
}

fn is_pcm(id: ffmpeg_next::codec::Id) -> bool {
    id.name().starts_with("pcm_")
}

fn round_us(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn seconds(ts: i64, tb: ffmpeg_next::Rational) -> f64 {
    ts as f64 * f64::from(tb.numerator()) / f64::from(tb.denominator())
}

/// A media edit: media `[start, end)` (media time scale) shown from
/// `shown_at` seconds.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: i64,
    end: i64,
    shown_at: f64,
}

/// What a track's edit list shows, and what it cuts: the interruptions it
/// makes (a skip inside the media, media shown again, an empty edit after
/// the start, a long head or tail hidden). A leading empty edit (the track
/// is presented later) and short trims (encoder delay, AAC padding) are
/// ordinary.
fn edit_plan(t: &crate::mp4::Track, movie_scale: u32, min_gap_s: f64) -> (Vec<Segment>, Vec<Gap>) {
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
fn from_movie(
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
const ADTS_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// ADTS AAC frames at the start of `data`, each found by the length in its
/// header (a PES of an MPEG-TS audio stream holds several), and the
/// sampling rate the first header gives (0: none).
fn adts_frames(data: &[u8]) -> (u64, u32) {
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
fn from_avi_index(
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
fn clock_at(clock: &[(i64, f64)], pos: i64) -> Option<(f64, f64)> {
    let k = clock.partition_point(|&(p, _)| p <= pos).checked_sub(1)?;
    let at = clock[k].1;
    let next = clock.get(k + 1).map_or(at, |c| c.1);
    Some((at, (next - at).max(0.0)))
}

/// Demuxes every packet of the tracked streams, each packet's buffer freed
/// as soon as its timestamp is taken. Returns the read error that stopped
/// it early, if any, with where (from the clip start).
fn from_packets(
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
const EARLY: usize = 256;

/// Pushes the held first packets with the clip starting at the earliest of
/// them; returns that start.
fn flush_early(trackers: &mut [Tracker], early: &mut Vec<(usize, Frame)>) -> f64 {
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
