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
pub mod level;
pub mod mp4;

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
    /// FFmpeg itself could not start.
    #[error("FFmpeg failed to initialise: {0}")]
    Init(String),
}

pub(crate) fn init() -> Result<(), MediaError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        ffmpeg_next::init().map_err(|e| e.to_string())?;
        // Errors FFmpeg reports (corrupt data it skipped) are kept for the
        // thread analysing the file; nothing is printed.
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
        // SAFETY: the callback is a plain extern "C" function that only
        // formats into a stack buffer and records into a thread-local.
        unsafe { ffmpeg_next::ffi::av_log_set_callback(Some(log_callback)) };
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

unsafe extern "C" fn log_callback(
    avcl: *mut std::ffi::c_void,
    level: std::ffi::c_int,
    fmt: *const std::ffi::c_char,
    vl: *mut ffmpeg_next::ffi::__va_list_tag,
) {
    if level > ffmpeg_next::ffi::AV_LOG_ERROR as std::ffi::c_int {
        return;
    }
    let mut line = [0 as std::ffi::c_char; 256];
    let mut prefix: std::ffi::c_int = 0;
    // SAFETY: FFmpeg passes a valid format and argument list; the buffer
    // and its size are ours.
    let text = unsafe {
        ffmpeg_next::ffi::av_log_format_line2(
            avcl,
            level,
            fmt,
            vl,
            line.as_mut_ptr(),
            256,
            &mut prefix,
        );
        std::ffi::CStr::from_ptr(line.as_ptr())
            .to_string_lossy()
            .trim()
            .to_owned()
    };
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
pub(crate) fn open_input_with(
    path: &Path,
    options: &[(&str, &str)],
) -> Result<ffmpeg_next::format::context::Input, ffmpeg_next::Error> {
    use ffmpeg_next::ffi;
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| ffmpeg_next::Error::InvalidData)?;
    let mut ps: *mut ffi::AVFormatContext = std::ptr::null_mut();
    let mut dict = ffmpeg_next::Dictionary::new();
    for (k, v) in options {
        dict.set(k, v);
    }
    // SAFETY: ps is a valid out-pointer; c_path is NUL-terminated; on
    // failure avformat_open_input frees the context and leaves ps null.
    // disown hands us the dictionary, which we free after the call.
    let r = unsafe {
        let mut opts = dict.disown();
        let r = ffi::avformat_open_input(&mut ps, c_path.as_ptr(), std::ptr::null_mut(), &mut opts);
        ffi::av_dict_free(&mut opts);
        r
    };
    if r < 0 {
        return Err(ffmpeg_next::Error::from(r));
    }
    // SAFETY: avformat_open_input succeeded, so ps is a valid context that
    // Input now owns (it closes it on drop).
    let ctx = unsafe { ffmpeg_next::format::context::Input::wrap(ps) };
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
        // SAFETY: ctx wraps a valid open input context.
        let r = unsafe { ffi::avformat_find_stream_info(ps, std::ptr::null_mut()) };
        if r < 0 {
            return Err(ffmpeg_next::Error::from(r));
        }
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
