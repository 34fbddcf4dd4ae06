//! Following one stream frame by frame ([`Tracker`]): the reorder window
//! that puts decode order back into presentation order, the local frame
//! interval, holes and restarts, in state that does not grow with the
//! file; and what the codec's specification says a frame or packet holds
//! when the stream's header does not.

use ffmpeg_next::media::Type;

use crate::verdict::{Gap, GapKind, StreamKind, StreamReport};

/// One frame: start and nominal length (0: unknown), seconds of stream time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) start: f64,
    pub(crate) len: f64,
    /// Frames it stands for (an MPEG-TS audio PES holds several).
    pub(crate) count: u32,
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
pub(crate) const REORDER: usize = 32;
/// Steps the local frame interval is the median of.
pub(crate) const STEPS: usize = 9;
/// A step back in presentation time, behind what the reorder window has
/// already released, longer than this is a restart, not reordering.
pub(crate) const RESTART_BACK_S: f64 = 1.0;
/// Interruptions listed per stream; more are counted in the detail of the
/// last one (a pathological file cannot grow the report without bound).
pub(crate) const MAX_GAPS: usize = 10_000;

/// Follows one stream frame by frame; its state does not grow with the
/// file (the reorder window, a few steps, the interruptions found).
pub(crate) struct Tracker {
    pub(crate) kind: StreamKind,
    pub(crate) index: usize,
    pub(crate) codec: String,
    pub(crate) declared: Option<u64>,
    /// Nominal length from the codec, when it gives one.
    pub(crate) codec_len: Option<f64>,
    /// PCM: seconds per byte of packet.
    pub(crate) pcm_s_per_byte: Option<f64>,
    /// Samples the container itself does not show (priming cut by the
    /// edit list).
    pub(crate) discarded: u64,
    /// Samples whose data lies beyond the end of the file.
    pub(crate) missing: u64,
    /// Whether a step back in time can be a restart. Not for times read
    /// from an MP4/MOV's tables: their decode times only go forward, so a
    /// presentation time earlier than another is reordering (however long
    /// the frames), and media shown again is the edit list's doing.
    pub(crate) restarts: bool,
    pub(crate) min_gap_s: f64,
    pub(crate) pending: std::collections::BinaryHeap<std::cmp::Reverse<Frame>>,
    /// Latest start pushed in this segment.
    pub(crate) newest: f64,
    pub(crate) last: Option<Frame>,
    pub(crate) steps: std::collections::VecDeque<f64>,
    pub(crate) frames: u64,
    /// Timeline position of stream time `t` is `base + t - origin`.
    pub(crate) base: f64,
    pub(crate) origin: f64,
    pub(crate) started: bool,
    pub(crate) first_pos: f64,
    pub(crate) end_pos: f64,
    pub(crate) gaps: Vec<Gap>,
    pub(crate) gaps_over: u64,
    pub(crate) dropped: u64,
    /// Why the stream's length was taken from its frame count.
    pub(crate) retimed: Option<String>,
    /// The frame length the codec's specification fixes, when FFmpeg's
    /// stream header does not give it (no decoding is done).
    pub(crate) frame_hint: Option<f64>,
    /// The container declares this stream's length in audio samples, not
    /// packets (QuickTime sound of constant packet size: IMA4, GSM, ...).
    pub(crate) counts_samples: bool,
    /// Bytes per packet and samples per packet, as the codec header says
    /// (0: not said): converts bytes read into samples.
    pub(crate) block_align: u64,
    pub(crate) packet_samples: u64,
    /// Bytes of the stream's packets read (or indexed) in the file.
    pub(crate) bytes: u64,
}

impl Tracker {
    pub(crate) fn frame_s(&self) -> f64 {
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

    pub(crate) fn gap(&mut self, g: Gap) {
        if self.gaps.len() < MAX_GAPS {
            self.gaps.push(g);
        } else {
            self.gaps_over += 1;
        }
    }

    /// Takes the next frame in decode order; `clip_start` is where the
    /// clip's timeline starts, in stream time.
    pub(crate) fn push(&mut self, f: Frame, clip_start: f64) {
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

    pub(crate) fn release_one(&mut self) {
        if let Some(std::cmp::Reverse(f)) = self.pending.pop() {
            self.release(f);
        }
    }

    /// The timestamps went back: what is held is released, and the
    /// timeline continues from where the last segment ended.
    pub(crate) fn restart(&mut self, f: Frame) {
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

    pub(crate) fn release(&mut self, f: Frame) {
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

    pub(crate) fn finish(mut self) -> Option<StreamReport> {
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
pub(crate) fn tracker_for(
    s: &ffmpeg_next::format::stream::Stream,
    min_gap_s: f64,
) -> Option<Tracker> {
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

/// Samples per frame the codec's specification fixes (MPEG audio layers
/// I–III, AC-3, E-AC-3), for a stream whose header does not say.
pub(crate) fn spec_frame_samples(id: ffmpeg_next::codec::Id, rate: i32) -> Option<u32> {
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
pub(crate) fn spec_packet(id: ffmpeg_next::codec::Id, channels: i32) -> Option<(u64, u64)> {
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

pub(crate) fn is_pcm(id: ffmpeg_next::codec::Id) -> bool {
    id.name().starts_with("pcm_")
}

pub(crate) fn round_us(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

pub(crate) fn seconds(ts: i64, tb: ffmpeg_next::Rational) -> f64 {
    ts as f64 * f64::from(tb.numerator()) / f64::from(tb.denominator())
}
