//! A recording's bytes for the player: confidentiality and the viewing's audit row (R17, R20), HTTP ranges streamed in chunks, a few bodies per user at a time; and its thumbnail.

use super::page::*;
use super::preview;
use vigil_service::queries::{read_at_desk, Reading};

/// The media type a recording is served as, from its original name.
pub(super) fn media_type(path: &str) -> &'static str {
    let ext = path
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "m4a" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "ts" => "video/mp2t",
        "avi" => "video/x-msvideo",
        "jpg" | "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

#[derive(serde::Deserialize)]
pub(super) struct MediaQuery {
    download: Option<String>,
    preview: Option<String>,
}

pub(super) async fn media(
    State(state): State<ApiState>,
    desk: Desk,
    Path(clip): Path<String>,
    Query(q): Query<MediaQuery>,
    req: axum::extract::Request,
) -> Response {
    let download = q.download.is_some();
    let (parts, _) = req.into_parts();
    // Set when this request is dropped (the viewer went away): a preview
    // being made for it is stopped.
    let gone = Arc::new(AtomicBool::new(false));
    let _on_drop = SetOnDrop(gone.clone());
    as_user(&state, &desk, move |s, id| {
        let c = seen_clip(s, id, &clip)?;
        if download {
            read_at_desk(s, id, &c.clip, Reading::Download)?;
        } else if new_viewing(&id.actor(), &c.clip) {
            // The player's bytes are evidence read by a person too.
            let preview = q.preview.is_some();
            read_at_desk(s, id, &c.clip, Reading::Play { preview })?;
        }
        let path = vigil_service::queries::original_path(s, &c);
        if q.preview.is_some() && !download {
            // A transcoded copy, kept outside the store; never the evidence,
            // and only for a recording that needs one.
            let Some(source) = preview::derivable(s, &c)?.preview else {
                return Err(ServiceError::bad_request(format!(
                    "recording {} plays as it is: it has no preview",
                    c.clip
                )));
            };
            let copy = preview::make(preview::Derived::Preview, &path, &c.blake3, &source, &gone)?;
            return Ok(Out::Raw(serve_range(
                &copy,
                "video/mp4",
                &parts.headers,
                None,
                &id.user,
            )));
        }
        let name = vigil_service::export::safe(c.path.rsplit('/').next().unwrap_or("recording"));
        Ok(Out::Raw(serve_range(
            &path,
            media_type(&c.path),
            &parts.headers,
            download.then_some(name),
            &id.user,
        )))
    })
    .await
}

/// A video's thumbnail (one small frame, made once, kept outside the
/// store) for whoever may see the recording (R17): 404 for one that has
/// none (audio, a damaged or unanalysed file). A thumbnail is part of the
/// list it is on, like the list not audited; opening or playing the
/// recording is.
pub(super) async fn thumbnail(
    State(state): State<ApiState>,
    desk: Desk,
    Path(clip): Path<String>,
) -> Response {
    let gone = Arc::new(AtomicBool::new(false));
    let _on_drop = SetOnDrop(gone.clone());
    as_user(&state, &desk, move |s, id| {
        let c = seen_clip(s, id, &clip)?;
        let none = || Ok(Out::Raw(StatusCode::NOT_FOUND.into_response()));
        let Some(source) = preview::derivable(s, &c)?.thumbnail else {
            return none();
        };
        let path = vigil_service::queries::original_path(s, &c);
        let made = preview::make(
            preview::Derived::Thumbnail,
            &path,
            &c.blake3,
            &source,
            &gone,
        );
        let bytes = match made.map(std::fs::read) {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => return Err(ServiceError::bad_request(format!("the thumbnail: {e}"))),
            Err(e) => {
                tracing::warn!(clip = %c.clip, error = %e, "no thumbnail");
                return none();
            }
        };
        Ok(Out::Raw(
            (
                [
                    (header::CONTENT_TYPE, "image/jpeg"),
                    (header::CACHE_CONTROL, "private, max-age=3600"),
                ],
                bytes,
            )
                .into_response(),
        ))
    })
    .await
}

/// How long one viewing of a recording lasts: range requests for the same
/// recording by the same session within it are the same viewing.
pub(super) const VIEWING: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Whether `actor` (a desk session) reading `clip`'s bytes now starts a new
/// viewing: the first request, or the first after [`VIEWING`] without one.
pub(super) fn new_viewing(actor: &str, clip: &str) -> bool {
    static SEEN: std::sync::Mutex<Option<HashMap<(String, String), std::time::Instant>>> =
        std::sync::Mutex::new(None);
    let now = std::time::Instant::now();
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let seen = seen.get_or_insert_with(HashMap::new);
    seen.retain(|_, at| now.duration_since(*at) < VIEWING);
    let key = (actor.to_owned(), clip.to_owned());
    let new = !seen.contains_key(&key);
    seen.insert(key, now);
    new
}

/// Sets its flag when dropped.
pub(super) struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How many evidence bodies one user may have streaming at once: a player
/// asks for a few ranges side by side; more is a download loop.
pub(super) const STREAMS_PER_USER: usize = 8;

/// A user's place among the bodies streaming now; given back when the
/// body is done or dropped.
pub(super) struct StreamSlot(String);

impl StreamSlot {
    fn streaming() -> &'static std::sync::Mutex<HashMap<String, usize>> {
        static NOW: std::sync::OnceLock<std::sync::Mutex<HashMap<String, usize>>> =
            std::sync::OnceLock::new();
        NOW.get_or_init(Default::default)
    }

    /// A slot for `user`, unless they have [`STREAMS_PER_USER`] already.
    fn take(user: &str) -> Option<Self> {
        let mut now = Self::streaming()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = now.entry(user.to_owned()).or_default();
        if *n >= STREAMS_PER_USER {
            return None;
        }
        *n += 1;
        Some(Self(user.to_owned()))
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut now = Self::streaming()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = now.get_mut(&self.0) {
            *n -= 1;
            if *n == 0 {
                now.remove(&self.0);
            }
        }
    }
}

/// Serves `path` to `user` with HTTP range requests (RFC 9110 §14): one
/// range, or the whole file. The body streams from the file in 64 KiB
/// chunks: memory does not grow with the file, and a user has at most
/// [`STREAMS_PER_USER`] bodies streaming at once (429 past that).
pub(super) fn serve_range(
    path: &std::path::Path,
    kind: &'static str,
    headers: &HeaderMap,
    attachment: Option<String>,
    user: &str,
) -> Response {
    use std::io::{Seek, SeekFrom};
    use tokio::io::AsyncReadExt as _;
    use tokio_stream::StreamExt as _;
    let Ok(mut f) = std::fs::File::open(path) else {
        return (
            StatusCode::NOT_FOUND,
            "the object is missing (run `vigil verify`)",
        )
            .into_response();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|r| {
            let (a, b) = r.split(',').next()?.trim().split_once('-')?;
            let (start, end) = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
                (Some(s), Some(e)) => (s, e.min(len.saturating_sub(1))),
                (Some(s), None) => (s, len.saturating_sub(1)),
                (None, Some(n)) => (len.saturating_sub(n), len.saturating_sub(1)),
                (None, None) => return None,
            };
            Some((start, end))
        });
    let (status, start, end) = match range {
        Some((s, e)) if s <= e && s < len => (StatusCode::PARTIAL_CONTENT, s, e),
        Some(_) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response()
        }
        None => (StatusCode::OK, 0, len.saturating_sub(1)),
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    // At most 8 MiB a response: a player asks again for the rest.
    let count = if status == StatusCode::PARTIAL_CONTENT {
        count.min(8 << 20)
    } else {
        count
    };
    let end = start + count.saturating_sub(1);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the object cannot be read",
        )
            .into_response();
    }
    let Some(slot) = StreamSlot::take(user) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "5")],
            format!("{user} has {STREAMS_PER_USER} recordings streaming already: wait for one to finish"),
        )
            .into_response();
    };
    let chunks = tokio_util::io::ReaderStream::with_capacity(
        tokio::fs::File::from_std(f).take(count),
        64 << 10,
    )
    .map(move |chunk| {
        let _held = &slot;
        chunk
    });
    let mut resp = (status, axum::body::Body::from_stream(chunks)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    if let Some(name) = attachment {
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    resp
}
