//! Media analysis for Vigil: what a recorder file is and whether FFmpeg can
//! read it. Demux only; this crate never decodes a frame of video.
//!
//! [`classify`] sorts a file by its name into video, audio, photo or other
//! evidence (logs, GPS tracks), and [`analyse`] opens it with FFmpeg's
//! demuxers to find its streams, duration, creation time and every hole in
//! its frame timestamps. A file that is expected to be media and cannot be
//! opened is reported as [`MediaError::Unreadable`]; the ingest stores it
//! anyway and flags it damaged (brief: "damaged input is never dropped").
pub mod analysis;
mod ffi;
pub mod level;
pub mod mp4;
pub mod nmea;
mod timestamps;
mod tracker;
mod verdict;

pub use analysis::{analyse, Analysis, Gap, GapKind, Method, StreamKind, StreamReport};
pub use level::audio_level_dbfs;

use std::path::Path;
use std::sync::OnceLock;

/// What a file is expected to be, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A video container.
    Video,
    /// An audio file.
    Audio,
    /// A still image.
    Photo,
    /// Known not to be media (logs, GPS, metadata).
    Other,
    /// Unknown extension: probe, and treat as media only if FFmpeg finds
    /// audio or video in it.
    Unknown,
}

const VIDEO: &[&str] = &[
    "mp4", "mov", "m4v", "avi", "ts", "mts", "m2ts", "mkv", "3gp", "mpg", "mpeg", "flv", "asf",
    "wmv", "h264", "h265", "264", "265", "hevc", "webm",
];
const AUDIO: &[&str] = &[
    "wav", "mp3", "m4a", "aac", "amr", "ogg", "opus", "flac", "wma",
];
const PHOTO: &[&str] = &[
    "jpg", "jpeg", "png", "bmp", "heic", "heif", "tif", "tiff", "gif", "webp",
];
const OTHER: &[&str] = &[
    "txt", "log", "gps", "nmea", "gpx", "kml", "xml", "json", "ini", "cfg", "conf", "csv", "srt",
    "bin", "dat", "db", "sig", "md5", "sha256",
];

/// Classifies a file by its name's extension (case-insensitive).
pub fn classify(name: &[u8]) -> Expect {
    let Some(dot) = name.iter().rposition(|&b| b == b'.') else {
        return Expect::Unknown;
    };
    let Ok(ext) = std::str::from_utf8(&name[dot + 1..]) else {
        return Expect::Unknown;
    };
    let ext = ext.to_ascii_lowercase();
    let ext = ext.as_str();
    if VIDEO.contains(&ext) {
        Expect::Video
    } else if AUDIO.contains(&ext) {
        Expect::Audio
    } else if PHOTO.contains(&ext) {
        Expect::Photo
    } else if OTHER.contains(&ext) {
        Expect::Other
    } else {
        Expect::Unknown
    }
}

/// Errors from media analysis.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// FFmpeg could not open or parse the file.
    #[error("{path}: FFmpeg cannot read it: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// FFmpeg's reason.
        reason: String,
    },
    /// FFmpeg reads the file as something that is not a recording
    /// container (a playlist, a concatenation list, an image sequence...):
    /// such a file names other files or URLs, and is never followed.
    #[error("{path}: not a recording: FFmpeg reads it as '{format}', which is not a recording container; what it names was not read")]
    NotARecording {
        /// The file.
        path: String,
        /// The demuxer FFmpeg's probe chose.
        format: String,
    },
    /// Reading the file took longer than its time budget: FFmpeg was
    /// stopped, and nothing is concluded from what it had read.
    #[error("{path}: its analysis took longer than its budget of {seconds} s and was stopped")]
    OverBudget {
        /// The file.
        path: String,
        /// The budget.
        seconds: u64,
    },
    /// FFmpeg itself could not start.
    #[error("FFmpeg failed to initialise: {0}")]
    Init(String),
}

/// The time an analysis of a file of `bytes` may take: 30 s, plus one
/// second for every 8 MiB (demuxing reads far faster than that).
pub fn budget_for(bytes: u64) -> std::time::Duration {
    std::time::Duration::from_secs(30 + bytes / (8 << 20))
}

thread_local! {
    /// This thread's analysis deadline, and whether FFmpeg was stopped at it.
    static DEADLINE: std::cell::Cell<(Option<std::time::Instant>, bool)> =
        const { std::cell::Cell::new((None, false)) };
}

/// A deadline for the FFmpeg work on this thread: every open made while it
/// is held is interrupted once it passes. Cleared on drop.
#[derive(Debug)]
pub(crate) struct Budget(std::time::Duration);

impl Budget {
    pub(crate) fn start(d: std::time::Duration) -> Self {
        DEADLINE.with(|c| c.set((Some(std::time::Instant::now() + d), false)));
        Self(d)
    }

    /// Whether FFmpeg was stopped at the deadline.
    pub(crate) fn exceeded(&self) -> bool {
        DEADLINE.with(|c| c.get().1)
    }

    pub(crate) fn seconds(&self) -> u64 {
        self.0.as_secs()
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        DEADLINE.with(|c| c.set((None, false)));
    }
}

/// Whether this thread's deadline has passed (FFmpeg's interrupt
/// callback asks, [`ffi::open_input`]); noted as exceeded when it has.
pub(crate) fn past_deadline() -> bool {
    DEADLINE
        .try_with(|c| match c.get() {
            (Some(at), _) if std::time::Instant::now() >= at => {
                c.set((Some(at), true));
                true
            }
            _ => false,
        })
        .unwrap_or(false)
}

/// The demuxers evidence is ever opened with: recording containers and
/// elementary streams that read only the one file they are given. Never
/// `hls`, `dash`, `concat`, `image2`, `tee`, `subfile`, `data` or any other
/// demuxer that opens further files or URLs named inside the content.
/// Each entry is a demuxer's short name as FFmpeg's `format_whitelist`
/// matches it.
pub const DEMUXERS: &[&str] = &[
    "mov",
    "mp4",
    "matroska",
    "webm",
    "avi",
    "mpegts",
    "mpeg",
    "mpegvideo",
    "flv",
    "wav",
    "w64",
    "asf",
    "mp3",
    "aac",
    "ogg",
    "amr",
    "amrnb",
    "amrwb",
    "flac",
    "mxf",
    "h264",
    "hevc",
    "m4v",
    "mjpeg",
    "caf",
    "au",
    "aiff",
    "dv",
    "g722",
    "gsm",
    "alaw",
    "mulaw",
    "ac3",
    "eac3",
    "dts",
    "jpeg_pipe",
    "png_pipe",
    "bmp_pipe",
    "tiff_pipe",
    "webp_pipe",
    "gif",
];

/// The only protocol evidence is read through: the one local file.
pub const PROTOCOLS: &str = "file";

/// Whether FFmpeg's demuxer name `name` (comma-separated aliases, as
/// `AVInputFormat::name`) is one evidence may be opened with.
pub fn allowed_demuxer(name: &str) -> bool {
    name.split(',').any(|n| DEMUXERS.contains(&n))
}

/// The options that confine an FFmpeg open of evidence to the one file and
/// to [`DEMUXERS`]: every open (analysis, audio level, previews) uses them.
pub fn confined_options() -> Vec<(&'static str, String)> {
    vec![
        ("format_whitelist", DEMUXERS.join(",")),
        ("protocol_whitelist", PROTOCOLS.to_owned()),
        // QuickTime data references name other files: never followed.
        ("enable_drefs", "0".to_owned()),
    ]
}

/// What FFmpeg's probe takes the file at `path` for, from its first MiB:
/// the demuxer's name, when one matches with more than FFmpeg's retry
/// score (a guess at noise is not a verdict). Reads the bytes itself: no
/// demuxer is opened.
pub fn probe_format(path: &Path) -> Option<String> {
    use std::io::Read as _;
    init().ok()?;
    let mut buf = Vec::with_capacity(1 << 20);
    std::fs::File::open(path)
        .ok()?
        .take(1 << 20)
        .read_to_end(&mut buf)
        .ok()?;
    ffi::probe(buf)
}

pub(crate) fn init() -> Result<(), MediaError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        ffmpeg_next::init().map_err(|e| e.to_string())?;
        // Errors FFmpeg reports (corrupt data it skipped) are kept for the
        // thread analysing the file; nothing is printed.
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
        ffi::keep_errors();
        Ok(())
    })
    .clone()
    .map_err(MediaError::Init)
}

thread_local! {
    /// FFmpeg's error messages on this thread since [`take_errors`].
    static ERRORS: std::cell::RefCell<(u64, Option<String>)> =
        const { std::cell::RefCell::new((0, None)) };
}

/// Keeps an error line FFmpeg reported on this thread ([`ffi::keep_errors`]).
pub(crate) fn note_error(text: String) {
    let _ = ERRORS.try_with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            e.0 += 1;
            e.1.get_or_insert(text);
        }
    });
}

/// The errors FFmpeg reported on this thread since the last call: how many,
/// and the first.
pub(crate) fn take_errors() -> (u64, Option<String>) {
    ERRORS.with(|e| std::mem::take(&mut *e.borrow_mut()))
}

/// Opens a file for demuxing. Unlike `ffmpeg_next::format::input`, this
/// does not run `avformat_find_stream_info` (which decodes frames) when the
/// container header already describes every stream, as MP4, MOV, MKV and
/// AVI headers do; header-less formats (MPEG-TS, raw streams) still get it.
/// `options` go to the demuxer (`ignore_editlist`, ...).
///
/// Every open is confined ([`confined_options`]): only the `file` protocol,
/// only the demuxers of [`DEMUXERS`]. A file FFmpeg takes for anything else
/// (an HLS playlist named `REC_0001.MP4`, a concat list) is
/// [`MediaError::NotARecording`]; nothing it names is opened.
pub(crate) fn open_input_with(
    path: &Path,
    options: &[(&str, &str)],
) -> Result<ffmpeg_next::format::context::Input, MediaError> {
    let unreadable = |reason: String| MediaError::Unreadable {
        path: path.display().to_string(),
        reason,
    };
    if let Some(format) = probe_format(path).filter(|f| !allowed_demuxer(f)) {
        return Err(MediaError::NotARecording {
            path: path.display().to_string(),
            format,
        });
    }
    // `file:` so that a path with a colon is never read as a protocol.
    let mut url = b"file:".to_vec();
    url.extend_from_slice(path.as_os_str().as_encoded_bytes());
    let c_path =
        std::ffi::CString::new(url).map_err(|_| unreadable("the path holds a NUL byte".into()))?;
    let mut dict = ffmpeg_next::Dictionary::new();
    for (k, v) in options {
        dict.set(k, v);
    }
    for (k, v) in confined_options() {
        dict.set(k, &v);
    }
    let mut ctx = ffi::open_input(&c_path, dict).map_err(|e| unreadable(e.to_string()))?;
    // A header describes the file when every stream has a known medium
    // and a length (the container's, or each stream's own: AVI's).
    // MPEG-TS has no header, but its program map names every stream and
    // codec, which is all continuity needs (AAC's frame length is read
    // from its ADTS headers while demuxing).
    let mpegts = ctx.format().name() == "mpegts";
    let described = ctx.nb_streams() > 0
        && ctx.streams().all(|s| {
            s.parameters().medium() != ffmpeg_next::media::Type::Unknown
                && s.parameters().id() != ffmpeg_next::codec::Id::None
                && (mpegts || ctx.duration() > 0 || s.duration() > 0 || s.frames() > 0)
        });
    if !described {
        ffi::find_stream_info(&mut ctx).map_err(|e| unreadable(e.to_string()))?;
    }
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_by_extension_case_insensitively() {
        assert_eq!(classify(b"DCIM/100/REC_0001.MP4"), Expect::Video);
        assert_eq!(classify(b"a.wav"), Expect::Audio);
        assert_eq!(classify(b"IMG.JPG"), Expect::Photo);
        assert_eq!(classify(b"gps.log"), Expect::Other);
        assert_eq!(classify(b"README"), Expect::Unknown);
        assert_eq!(classify(b"x.\xff\xfe"), Expect::Unknown);
    }

    #[test]
    fn an_analysis_past_its_budget_is_stopped_and_says_so() {
        let clean = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/generated/continuity/clean.mp4");
        assert!(analyse(&clean, 1.0).is_ok(), "within its budget");
        let budget = Budget::start(std::time::Duration::ZERO);
        let r = analysis::analyse_within(&clean, 1.0);
        assert!(r.is_err() && budget.exceeded(), "{r:?}");
        drop(budget);
        assert!(
            analyse(&clean, 1.0).is_ok(),
            "the deadline is this analysis's only"
        );
    }

    #[test]
    fn playlists_are_not_recordings() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("REC_0001.MP4");
        std::fs::write(
            &f,
            "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n/etc/hostname\n#EXT-X-ENDLIST\n",
        )
        .unwrap();
        match analyse(&f, 1.0) {
            Err(MediaError::NotARecording { format, .. }) => assert_eq!(format, "hls"),
            other => panic!("{other:?}"),
        }
        assert!(
            !allowed_demuxer("hls") && !allowed_demuxer("concat") && !allowed_demuxer("image2")
        );
        assert!(allowed_demuxer("mov,mp4,m4a,3gp,3g2,mj2"));
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        let dir = std::env::temp_dir().join(format!("vigil-media-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("junk.mp4");
        std::fs::write(&f, b"this is not a video at all, just forty bytes").unwrap();
        let err = analyse(&f, 1.0).unwrap_err();
        assert!(matches!(err, MediaError::Unreadable { .. }), "{err}");
        assert!(err.to_string().contains("junk.mp4"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
