//! The FFmpeg fields and calls that `ffmpeg-next` does not wrap, behind
//! safe functions: opening a file without probing its streams and with a
//! deadline, probing a format from a buffer, keeping FFmpeg's error lines,
//! and the stream, index and packet fields the analysis reads. The
//! analysis and the audio level read as the algorithm; every `unsafe` of
//! this crate is here, each saying why it holds.
#![allow(unsafe_code)]

use ffmpeg_next::ffi;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::format::stream::Stream;

pub(crate) use ffi::AVDurationEstimationMethod;

/// An audio stream's header, as its codec parameters give it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AudioParams {
    /// Samples per second (0 when unknown).
    pub sample_rate: i32,
    /// Bytes per sample frame the container declares (0 when unknown).
    pub block_align: i32,
    /// Channels.
    pub channels: i32,
    /// Samples per coded frame (0 when the codec varies or does not say).
    pub frame_size: i32,
    /// Bits per sample of the codec (PCM and the like; 0 otherwise).
    pub bits_per_sample: i32,
}

/// The header of the stream whose codec parameters are `par`.
pub(crate) fn audio_params(par: &ffmpeg_next::codec::Parameters) -> AudioParams {
    // SAFETY: `par` wraps a valid AVCodecParameters for as long as it
    // lives; only plain fields are read.
    let cp = unsafe { &*par.as_ptr() };
    AudioParams {
        sample_rate: cp.sample_rate,
        block_align: cp.block_align,
        channels: cp.ch_layout.nb_channels,
        frame_size: cp.frame_size,
        // SAFETY: av_get_bits_per_sample only reads a codec id.
        bits_per_sample: unsafe { ffi::av_get_bits_per_sample(cp.codec_id) },
    }
}

/// Where the container's timeline starts, in seconds, if it says.
pub(crate) fn start_time_s(ctx: &Input) -> Option<f64> {
    // SAFETY: the context is open; start_time is a plain field FFmpeg set
    // when it read the header.
    let t = unsafe { (*ctx.as_ptr()).start_time };
    (t != ffi::AV_NOPTS_VALUE).then(|| t as f64 / f64::from(ffi::AV_TIME_BASE))
}

/// The container's duration (in `AV_TIME_BASE` units) and how FFmpeg
/// arrived at it.
pub(crate) fn duration(ctx: &Input) -> (i64, AVDurationEstimationMethod) {
    // SAFETY: the context is open; both are plain fields.
    let c = unsafe { &*ctx.as_ptr() };
    (c.duration, c.duration_estimation_method)
}

/// Bytes the demuxer has read from the file so far.
pub(crate) fn bytes_read(ctx: &Input) -> u64 {
    // SAFETY: the context is open; its I/O context is null or valid, and
    // bytes_read is a plain field.
    unsafe {
        let pb = (*ctx.as_ptr()).pb;
        if pb.is_null() {
            0
        } else {
            (*pb).bytes_read.max(0) as u64
        }
    }
}

/// One entry of a stream's index (FFmpeg's sample or chunk index).
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexEntry {
    /// Byte offset in the file.
    pub pos: i64,
    /// Time in the stream's time base.
    pub timestamp: i64,
    /// Bytes.
    pub size: i32,
}

/// How many entries the stream's index holds.
pub(crate) fn index_len(stream: &Stream) -> usize {
    // SAFETY: the stream belongs to an open context, borrowed for the call;
    // the count is a plain read (FFmpeg's signature takes a mutable pointer
    // but does not write).
    let n = unsafe { ffi::avformat_index_get_entries_count(stream.as_ptr() as *mut _) };
    usize::try_from(n).unwrap_or(0)
}

/// The entries of the stream's index, in order. The stream (so its
/// context) stays borrowed while they are read, so nothing changes them.
pub(crate) fn index<'a>(stream: &'a Stream<'a>) -> impl Iterator<Item = IndexEntry> + 'a {
    (0..index_len(stream)).filter_map(move |i| {
        // SAFETY: i is below the count; a null is skipped; the entry is
        // copied out at once while the stream is borrowed.
        let e =
            unsafe { ffi::avformat_index_get_entry(stream.as_ptr() as *mut _, i as i32).as_ref() }?;
        Some(IndexEntry {
            pos: e.pos,
            timestamp: e.timestamp,
            size: e.size(),
        })
    })
}

/// Tells the demuxer to skip stream `index` (its packets are not read out).
pub(crate) fn discard(ctx: &mut Input, index: usize) {
    if let Some(mut s) = ctx.stream_mut(index) {
        // SAFETY: a valid stream of the context, borrowed mutably; discard
        // is a plain field the demuxer reads.
        unsafe { (*s.as_mut_ptr()).discard = ffi::AVDiscard::AVDISCARD_ALL };
    }
}

/// Packets as the container frames them: no parser splitting or joining
/// them, no timestamps filled in.
pub(crate) fn unparsed(ctx: &mut Input) {
    // SAFETY: the context is open and borrowed mutably; flags are read by
    // the demuxer on the next packet.
    unsafe {
        (*ctx.as_mut_ptr()).flags |= ffi::AVFMT_FLAG_NOPARSE | ffi::AVFMT_FLAG_NOFILLIN;
    }
}

/// Frees a packet's buffer and resets it for the next read.
pub(crate) fn unref(packet: &mut ffmpeg_next::Packet) {
    // SAFETY: the packet is ours; unref frees its buffer and leaves a
    // valid empty packet.
    unsafe { ffi::av_packet_unref(ffmpeg_next::packet::Mut::as_mut_ptr(packet)) };
}

/// What FFmpeg's probe takes `buf` (a file's first bytes) for: the
/// demuxer's name, when one matches with more than FFmpeg's retry score.
pub(crate) fn probe(mut buf: Vec<u8>) -> Option<String> {
    let len = buf.len();
    // AVPROBE_PADDING_SIZE zero bytes after the data.
    buf.resize(len + 64, 0);
    // No file name: the stored object's name says nothing, and a name
    // must not steer the choice.
    let empty = c"";
    let pd = ffi::AVProbeData {
        filename: empty.as_ptr(),
        buf: buf.as_mut_ptr(),
        buf_size: std::ffi::c_int::try_from(len).ok()?,
        mime_type: std::ptr::null(),
    };
    let mut score: std::ffi::c_int = 0;
    // SAFETY: pd points at our buffer, padded as FFmpeg requires; the
    // returned format is a static FFmpeg table entry (or null).
    let fmt = unsafe { ffi::av_probe_input_format2(&pd, 1, &mut score) };
    // AVPROBE_SCORE_RETRY: AVPROBE_SCORE_MAX / 4.
    if fmt.is_null() || score <= 25 {
        return None;
    }
    // SAFETY: a demuxer's name is a static NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr((*fmt).name) };
    Some(name.to_string_lossy().into_owned())
}

/// Sends FFmpeg's error lines to this thread's record ([`crate::note_error`])
/// instead of standard error.
pub(crate) fn keep_errors() {
    // SAFETY: the callback is a plain extern "C" function that only
    // formats into a stack buffer and records into a thread-local.
    unsafe { ffi::av_log_set_callback(Some(log_callback)) };
}

unsafe extern "C" fn log_callback(
    avcl: *mut std::ffi::c_void,
    level: std::ffi::c_int,
    fmt: *const std::ffi::c_char,
    vl: *mut ffi::__va_list_tag,
) {
    if level > ffi::AV_LOG_ERROR as std::ffi::c_int {
        return;
    }
    let mut line = [0 as std::ffi::c_char; 256];
    let mut prefix: std::ffi::c_int = 0;
    // SAFETY: FFmpeg passes a valid format and argument list; the buffer
    // and its size are ours.
    let text = unsafe {
        ffi::av_log_format_line2(avcl, level, fmt, vl, line.as_mut_ptr(), 256, &mut prefix);
        std::ffi::CStr::from_ptr(line.as_ptr())
            .to_string_lossy()
            .trim()
            .to_owned()
    };
    crate::note_error(text);
}

/// FFmpeg's interrupt callback: non-zero (stop) once this thread's
/// deadline has passed ([`crate::past_deadline`]).
unsafe extern "C" fn interrupt(_: *mut std::ffi::c_void) -> std::ffi::c_int {
    std::ffi::c_int::from(crate::past_deadline())
}

/// Opens `url` with the demuxer options `dict`, without probing its
/// streams, interrupted at this thread's deadline; FFmpeg's error when it
/// cannot.
pub(crate) fn open_input(
    url: &std::ffi::CStr,
    dict: ffmpeg_next::Dictionary,
) -> Result<Input, ffmpeg_next::Error> {
    // SAFETY: a fresh context (or null when out of memory).
    let mut ps: *mut ffi::AVFormatContext = unsafe { ffi::avformat_alloc_context() };
    if ps.is_null() {
        return Err(ffmpeg_next::Error::Other {
            errno: ffmpeg_next::util::error::ENOMEM,
        });
    }
    // SAFETY: ps is the valid context just allocated.
    unsafe {
        (*ps).interrupt_callback = ffi::AVIOInterruptCB {
            callback: Some(interrupt),
            opaque: std::ptr::null_mut(),
        };
    }
    // SAFETY: ps is a context we allocated; url is NUL-terminated; on
    // failure avformat_open_input frees the context and leaves ps null.
    // disown hands us the dictionary, which we free after the call.
    let r = unsafe {
        let mut opts = dict.disown();
        let r = ffi::avformat_open_input(&mut ps, url.as_ptr(), std::ptr::null_mut(), &mut opts);
        ffi::av_dict_free(&mut opts);
        r
    };
    if r < 0 {
        return Err(ffmpeg_next::Error::from(r));
    }
    // SAFETY: avformat_open_input succeeded, so ps is a valid context that
    // Input now owns (it closes it on drop).
    Ok(unsafe { Input::wrap(ps) })
}

/// Reads packets to learn the streams a header does not describe.
pub(crate) fn find_stream_info(ctx: &mut Input) -> Result<(), ffmpeg_next::Error> {
    // SAFETY: ctx wraps a valid open input context.
    let r = unsafe { ffi::avformat_find_stream_info(ctx.as_mut_ptr(), std::ptr::null_mut()) };
    if r < 0 {
        return Err(ffmpeg_next::Error::from(r));
    }
    Ok(())
}
