//! What the desk derives from a recording, outside the evidence store (in
//! the service's temporary directory, made once per object by FFmpeg from
//! the stored object): previews for recordings a browser cannot play
//! (HEVC, MJPEG in AVI, ADPCM sound and the like), an H.264/AAC MP4
//! labelled on the page as a preview, the original always being what is
//! downloaded and hashed; and thumbnails, one small JPEG frame of each
//! video, shown on the lists, a request's page and as the player's poster.
//!
//! FFmpeg is confined as every other open of evidence is: its demuxer is
//! forced to the container the ingest's analysis named (one of
//! `vigil_media::DEMUXERS`), only the `file` protocol, and only the one
//! object. It runs with a wall-clock and a CPU budget, dies with vigild
//! (`PR_SET_PDEATHSIG`), is killed when the viewer goes away or vigild is
//! stopping ([`stop_all`]), and one FFmpeg runs per object at a time
//! (others wait for its result).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use vigil_service::model::ClipKind;
use vigil_service::queries::Seen;
use vigil_service::ServiceError;
use vigil_service::Station;

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

/// What a preview is made from: the demuxer the ingest's analysis named
/// (its first alias, as FFmpeg's `-f` takes it) and the recording's length.
#[derive(Debug, Clone)]
pub(super) struct Source {
    demuxer: String,
    duration_s: f64,
}

/// What can be made of a recording, from the analysis its ingest
/// recorded (read once for both).
#[derive(Debug, Clone, Default)]
pub(super) struct Derivable {
    /// The source of a preview, when the page should play one instead of
    /// the original: the analysis names a container or codec browsers do
    /// not play, in a container evidence may be opened with. A damaged file
    /// with a readable part always gets one (what can be played of it,
    /// whatever the browser makes of the damaged original); unanalysed
    /// files play as they are (`None`).
    pub(super) preview: Option<Source>,
    /// The source of a thumbnail: any analysed video that is not damaged,
    /// in a container evidence may be opened with.
    pub(super) thumbnail: Option<Source>,
}

/// [`Derivable`] of `c`.
pub(super) fn derivable(store: &Station, c: &Seen) -> Result<Derivable, ServiceError> {
    if !matches!(c.kind, ClipKind::Video | ClipKind::Audio) {
        return Ok(Derivable::default());
    }
    let Some(a) = analysis(store, c)? else {
        return Ok(Derivable::default());
    };
    let thumbnail = (c.kind == ClipKind::Video && !c.damaged)
        .then(|| source(&a))
        .flatten();
    if c.damaged {
        return Ok(Derivable {
            preview: source(&a).filter(|s| s.duration_s > 0.0),
            thumbnail,
        });
    }
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
    Ok(Derivable {
        preview: if playable { None } else { source(&a) },
        thumbnail,
    })
}

/// The analysis the ingest recorded, as JSON.
fn analysis(store: &Station, c: &Seen) -> Result<Option<serde_json::Value>, ServiceError> {
    Ok(vigil_service::queries::analysis_of(store, c)?
        .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok()))
}

/// FFmpeg's demuxer for the analysed container, when evidence may be
/// opened with it, and the recording's length.
fn source(a: &serde_json::Value) -> Option<Source> {
    let format = a["format"].as_str().unwrap_or("");
    let demuxer = format
        .split(',')
        .find(|n| vigil_media::DEMUXERS.contains(n))?;
    Some(Source {
        demuxer: demuxer.to_owned(),
        duration_s: a["duration_s"].as_f64().unwrap_or(0.0).max(0.0),
    })
}

/// What is made from a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Derived {
    /// An H.264/AAC MP4 a browser plays.
    Preview,
    /// One JPEG frame, 160 pixels wide, a second in (or halfway through a
    /// shorter recording).
    Thumbnail,
}

impl Derived {
    fn extension(self) -> &'static str {
        match self {
            Self::Preview => "mp4",
            Self::Thumbnail => "jpg",
        }
    }

    /// FFmpeg's arguments before the input and after it (the output's).
    fn arguments(self, source: &Source) -> (Vec<String>, Vec<String>) {
        let all = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match self {
            Self::Preview => (
                Vec::new(),
                [
                    all(&[
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
                        "-f",
                        "mp4",
                    ]),
                    // Never longer than the recording the analysis measured.
                    vec!["-t".into(), format!("{:.3}", source.duration_s + 1.0)],
                ]
                .concat(),
            ),
            Self::Thumbnail => (
                vec![
                    "-ss".into(),
                    format!("{:.3}", (source.duration_s / 2.0).min(1.0)),
                ],
                all(&[
                    "-map",
                    "0:v:0",
                    "-frames:v",
                    "1",
                    "-vf",
                    "scale=160:-2",
                    "-q:v",
                    "5",
                    "-f",
                    "mjpeg",
                ]),
            ),
        }
    }

    /// The longest FFmpeg may take.
    fn budget(self, source: &Source) -> Duration {
        match self {
            Self::Preview => budget(source.duration_s),
            Self::Thumbnail => Duration::from_secs(30),
        }
    }
}

/// Set once vigild is stopping: every preview being made is stopped.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Stops every preview being made and refuses new ones (vigild is
/// stopping: a transcode must not hold up its exit).
pub fn stop_all() {
    STOPPING.store(true, Ordering::SeqCst);
}

fn dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "vigil-previews-{}",
        rustix::process::geteuid().as_raw()
    ))
}

/// The longest FFmpeg may take for a recording of `duration_s` seconds:
/// two minutes, plus four times the recording, at most two hours.
fn budget(duration_s: f64) -> Duration {
    Duration::from_secs_f64((120.0 + 4.0 * duration_s).min(7200.0))
}

/// One lock per object being previewed: a player asks for several ranges
/// at once, and the first request makes the preview while the others wait
/// for it; previews of other objects go on side by side.
fn lock_for(blake3: &str) -> Arc<Mutex<()>> {
    static MAKING: Mutex<Option<HashMap<String, Arc<Mutex<()>>>>> = Mutex::new(None);
    let mut all = MAKING.lock().unwrap_or_else(PoisonError::into_inner);
    let all = all.get_or_insert_with(HashMap::new);
    all.retain(|_, l| Arc::strong_count(l) > 1);
    all.entry(blake3.to_owned()).or_default().clone()
}

/// The `what` of the object at `object` (BLAKE3 `blake3`), made now if it
/// is not made yet: FFmpeg writes a temporary file that is renamed into
/// place when whole, so a half-made preview or thumbnail is never served.
/// `cancel` is set when the viewer has gone: FFmpeg is then killed.
#[allow(unsafe_code)] // pre_exec: the FFmpeg dies with vigild and has CPU and memory limits
pub(super) fn make(
    what: Derived,
    object: &Path,
    blake3: &str,
    source: &Source,
    cancel: &AtomicBool,
) -> Result<PathBuf, ServiceError> {
    let dir = dir();
    let failed = |step: &str, e: &dyn std::fmt::Display| {
        let made = match what {
            Derived::Preview => "the preview",
            Derived::Thumbnail => "the thumbnail",
        };
        ServiceError::bad_request(format!("making {made}: {step}: {e}"))
    };
    std::fs::create_dir_all(&dir).map_err(|e| failed("its directory", &e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    let ext = what.extension();
    let done = dir.join(format!("{blake3}.{ext}"));
    let lock = lock_for(&format!("{blake3}.{ext}"));
    let _one = lock.lock().unwrap_or_else(PoisonError::into_inner);
    if done.exists() {
        return Ok(done);
    }
    let part = dir.join(format!("{blake3}.{}.part.{ext}", std::process::id()));
    let budget = what.budget(source);
    let (before, after) = what.arguments(source);
    let mut input = std::ffi::OsString::from("file:");
    input.push(object);
    let mut cmd = std::process::Command::new("ffmpeg");
    cmd.args(["-nostdin", "-loglevel", "error", "-y"])
        .args(["-protocol_whitelist", vigil_media::PROTOCOLS])
        .arg("-format_whitelist")
        .arg(vigil_media::DEMUXERS.join(","))
        .args(before)
        .args(["-f", &source.demuxer, "-i"])
        .arg(&input)
        .args(after)
        .arg(&part)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let cpu_s = budget.as_secs().saturating_mul(2);
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only async-signal-safe calls:
        // prctl and setrlimit.
        unsafe {
            cmd.pre_exec(move || {
                // Dies with the thread that started it (vigild's).
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let cpu = libc::rlimit {
                    rlim_cur: cpu_s,
                    rlim_max: cpu_s,
                };
                if libc::setrlimit(libc::RLIMIT_CPU, &cpu) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
    }
    if STOPPING.load(Ordering::Relaxed) {
        return Err(failed("not started", &"vigild is stopping"));
    }
    let mut child = cmd.spawn().map_err(|e| failed("running ffmpeg", &e))?;
    let mut stderr = child.stderr.take();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(e) = stderr.as_mut() {
            use std::io::Read as _;
            let _ = e.take(64 << 10).read_to_string(&mut text);
        }
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(failed("waiting for ffmpeg", &e)),
        }
        let stop = if cancel.load(Ordering::Relaxed) {
            Some("the viewer went away")
        } else if STOPPING.load(Ordering::Relaxed) {
            Some("vigild is stopping")
        } else if started.elapsed() > budget {
            Some("it took longer than its time budget")
        } else {
            None
        };
        if let Some(why) = stop {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&part);
            tracing::warn!(object = %blake3, why, "preview stopped");
            return Err(failed("stopped", &why));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let status = status?;
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        let _ = std::fs::remove_file(&part);
        return Err(failed("ffmpeg", &errors.trim()));
    }
    std::fs::rename(&part, &done).map_err(|e| failed("putting it in place", &e))?;
    Ok(done)
}
