//! What the continuity analysis says about a file (R7, R8): per stream,
//! its extent, frames and interruptions, and the file's verdict (damaged,
//! how it was read). Serialised as `vigil analyze --json` and kept in the
//! index with each clip.

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
