//! Previews for recordings a browser cannot play (issue 13): HEVC, MJPEG in
//! AVI, ADPCM sound and the like. A preview is an H.264/AAC MP4 made on
//! demand by FFmpeg from the stored object, kept outside the evidence store
//! (in the service's temporary directory, made once per object) and
//! labelled on the page as a preview; the original is always what is
//! downloaded and hashed.

use std::path::{Path, PathBuf};

use vigil_service::ServiceError;
use vigil_store::{Clip, ClipKind, Store};

/// Video codecs current Chromium and Firefox play in MP4/WebM.
const VIDEO: &[&str] = &["h264", "vp8", "vp9", "av1"];
/// Audio codecs they play.
const AUDIO: &[&str] = &[
    "aac",
    "mp3",
    "opus",
    "vorbis",
    "flac",
    "pcm_s16le",
    "pcm_u8",
    "pcm_f32le",
];
/// Containers they open.
const CONTAINERS: &[&str] = &[
    "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska,webm",
    "ogg",
    "mp3",
    "wav",
];

/// Whether the page should play a preview instead of the original: the
/// analysis recorded at ingest names a container or codec browsers do not
/// play. Damaged and unanalysed files play as they are.
pub(super) fn needed(store: &Store, c: &Clip) -> Result<bool, ServiceError> {
    if !matches!(c.kind, ClipKind::Video | ClipKind::Audio) || c.damaged {
        return Ok(false);
    }
    let Some(a) = store.analysis_of(&c.clip)? else {
        return Ok(false);
    };
    let Ok(a) = serde_json::from_str::<serde_json::Value>(&a) else {
        return Ok(false);
    };
    let format = a["format"].as_str().unwrap_or("");
    let playable = CONTAINERS.contains(&format)
        && a["streams"].as_array().into_iter().flatten().all(|s| {
            let codec = s["codec"].as_str().unwrap_or("");
            match s["kind"].as_str() {
                Some("video") => VIDEO.contains(&codec),
                Some("audio") => AUDIO.contains(&codec),
                _ => true,
            }
        });
    Ok(!playable)
}

fn dir() -> PathBuf {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    std::env::temp_dir().join(format!("vigil-previews-{uid}"))
}

/// The preview of the object at `object` (BLAKE3 `blake3`), made now if it
/// is not made yet: FFmpeg writes a temporary file that is renamed into
/// place when whole, so a half-made preview is never served.
pub(super) fn make(object: &Path, blake3: &str) -> Result<PathBuf, ServiceError> {
    let dir = dir();
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        ServiceError::bad_request(format!("making the preview: {what}: {e}"))
    };
    std::fs::create_dir_all(&dir).map_err(|e| failed("its directory", &e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    let done = dir.join(format!("{blake3}.mp4"));
    // A player asks for several ranges at once: one FFmpeg at a time, and
    // the others then find the preview made.
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = MAKING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if done.exists() {
        return Ok(done);
    }
    let part = dir.join(format!("{blake3}.{}.part.mp4", std::process::id()));
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
        .arg(object)
        .args([
            "-map",
            "0:v:0?",
            "-map",
            "0:a:0?",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "26",
            "-pix_fmt",
            "yuv420p",
            "-vf",
            "scale=-2:'min(720,ih)'",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-movflags",
            "+faststart",
        ])
        .arg(&part)
        .output()
        .map_err(|e| failed("running ffmpeg", &e))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&part);
        return Err(failed(
            "ffmpeg",
            &String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    std::fs::rename(&part, &done).map_err(|e| failed("putting it in place", &e))?;
    Ok(done)
}
