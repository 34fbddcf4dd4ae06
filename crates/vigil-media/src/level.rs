//! Audio level at a point in a clip, for checking that a spoken
//! explanation (R8) is really there: decodes a few seconds of audio (the one
//! place Vigil decodes anything) and measures its RMS level in dBFS.

use std::path::Path;

use ffmpeg_next::format::sample::{Sample, Type as Packing};

use crate::MediaError;

/// Level of the first audio stream from `at_s` for `window_s` seconds
/// (seconds from the clip's start). `Ok(None)` when the file has no audio
/// or no audio in that window.
pub fn audio_level_dbfs(path: &Path, at_s: f64, window_s: f64) -> Result<Option<f64>, MediaError> {
    crate::init()?;
    let err = |reason: String| MediaError::Unreadable {
        path: path.display().to_string(),
        reason,
    };
    let mut ictx = crate::open_input_with(path, &[])?;
    let Some(stream) = ictx.streams().best(ffmpeg_next::media::Type::Audio) else {
        return Ok(None);
    };
    let index = stream.index();
    let tb = stream.time_base();
    let to_s = |ts: i64| ts as f64 * f64::from(tb.numerator()) / f64::from(tb.denominator());
    let start = crate::ffi::start_time_s(&ictx).unwrap_or(0.0);
    let mut decoder = ffmpeg_next::codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().audio())
        .map_err(|e| err(format!("no audio decoder: {e}")))?;
    let target = ((start + at_s) * f64::from(ffmpeg_next::ffi::AV_TIME_BASE)) as i64;
    // Seeking is an optimisation: from the start is correct too.
    let _ = ictx.seek(target, ..target);
    let (from, to) = (start + at_s, start + at_s + window_s);
    let mut sum_sq = 0.0f64;
    let mut n = 0u64;
    let mut frame = ffmpeg_next::frame::Audio::empty();
    let mut done = false;
    let mut take = |frame: &ffmpeg_next::frame::Audio, done: &mut bool| {
        let Some(pts) = frame.pts() else { return };
        let t0 = to_s(pts);
        if t0 >= to {
            *done = true;
            return;
        }
        let rate = f64::from(frame.rate().max(1));
        accumulate(frame, |i, x| {
            let t = t0 + i as f64 / rate;
            if t >= from && t < to {
                sum_sq += x * x;
                n += 1;
            }
        });
    };
    for (s, packet) in ictx.packets() {
        if s.index() != index {
            continue;
        }
        if decoder.send_packet(&packet).is_err() {
            continue;
        }
        while decoder.receive_frame(&mut frame).is_ok() {
            take(&frame, &mut done);
        }
        if done {
            break;
        }
    }
    if !done {
        let _ = decoder.send_eof();
        while decoder.receive_frame(&mut frame).is_ok() {
            take(&frame, &mut done);
        }
    }
    if n == 0 {
        return Ok(None);
    }
    let rms = (sum_sq / n as f64).sqrt();
    Ok(Some(if rms > 0.0 {
        20.0 * rms.log10()
    } else {
        f64::NEG_INFINITY
    }))
}

/// Calls `f(sample_index, value in -1..1)` for every sample of every channel.
fn accumulate(frame: &ffmpeg_next::frame::Audio, mut f: impl FnMut(usize, f64)) {
    let samples = frame.samples();
    let channels = usize::from(frame.channels()).max(1);
    let (size, decode): (usize, fn(&[u8]) -> f64) = match frame.format() {
        Sample::U8(_) => (1, |b| (f64::from(b[0]) - 128.0) / 128.0),
        Sample::I16(_) => (2, |b| f64::from(i16::from_ne_bytes([b[0], b[1]])) / 32768.0),
        Sample::I32(_) => (4, |b| {
            f64::from(i32::from_ne_bytes([b[0], b[1], b[2], b[3]])) / 2_147_483_648.0
        }),
        Sample::F32(_) => (4, |b| {
            f64::from(f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        }),
        Sample::F64(_) => (8, |b| {
            f64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]))
        }),
        _ => return,
    };
    let planar = matches!(
        frame.format(),
        Sample::U8(Packing::Planar)
            | Sample::I16(Packing::Planar)
            | Sample::I32(Packing::Planar)
            | Sample::F32(Packing::Planar)
            | Sample::F64(Packing::Planar)
    );
    if planar {
        for ch in 0..channels.min(frame.planes()) {
            let data = frame.data(ch);
            for i in 0..samples.min(data.len() / size) {
                f(i, decode(&data[i * size..]));
            }
        }
    } else {
        let data = frame.data(0);
        for i in 0..(samples * channels).min(data.len() / size) {
            f(i / channels, decode(&data[i * size..]));
        }
    }
}
