//! Continuity across files (R7): a recorder's clips, ordered by recording
//! start, form recording sessions. Inside a session (the next clip starts
//! less than `join_window` after the previous ends):
//!
//! - a numbered file missing between two clips is a `missing_file`
//!   interruption;
//! - otherwise a pause of at least `min_gap` is a `between_clips`
//!   interruption: segments of one recording must join without an interval
//!   (GA/T 947 "maximum recording interval"), so any pause above `min_gap` is
//!   one, and anything below joins the segments into one recording.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vigil_store::{GapKind, NewGap, TimelineClip};

/// Finds the interruptions between a recorder's clips (in recording order).
pub fn find(timeline: &[TimelineClip], min_gap_s: f64, join_window_s: f64) -> Vec<NewGap> {
    let parse = |t: &str| OffsetDateTime::parse(t, &Rfc3339).ok();
    let mut gaps = Vec::new();
    for pair in timeline.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        let (Some(prev_end), Some(next_start)) = (parse(&prev.end), parse(&next.start)) else {
            continue;
        };
        let hole = (next_start - prev_end).as_seconds_f64();
        if hole >= join_window_s {
            continue; // a new recording session
        }
        let missing = match (prev.seq, next.seq) {
            (Some(a), Some(b)) if b > a + 1 => Some(if b == a + 2 {
                format!("{}", a + 1)
            } else {
                format!("{}-{}", a + 1, b - 1)
            }),
            _ => None,
        };
        let kind = if missing.is_some() {
            GapKind::MissingFile
        } else if hole >= min_gap_s {
            GapKind::BetweenClips
        } else {
            continue;
        };
        gaps.push(NewGap {
            kind,
            clip: next.id.clone(),
            previous_clip: Some(prev.id.clone()),
            stream: None,
            offset_s: None,
            duration_s: (hole.max(0.0) * 1e6).round() / 1e6,
            wall_start: Some(prev.end.clone()),
            missing,
        });
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(id: &str, seq: i64, start: &str, end: &str) -> TimelineClip {
        TimelineClip {
            id: id.into(),
            path: format!("REC_{seq:04}.MP4"),
            seq: Some(seq),
            start: start.into(),
            end: end.into(),
        }
    }

    #[test]
    fn pauses_missing_files_and_new_sessions() {
        let t = vec![
            clip("a", 1, "2026-11-20T08:00:00Z", "2026-11-20T08:00:03Z"),
            clip("b", 2, "2026-11-20T08:00:03.400Z", "2026-11-20T08:00:06Z"),
            clip("c", 3, "2026-11-20T08:00:36Z", "2026-11-20T08:00:39Z"),
            clip("e", 5, "2026-11-20T08:00:42Z", "2026-11-20T08:00:45Z"),
            clip("f", 6, "2026-11-20T09:00:00Z", "2026-11-20T09:00:03Z"),
        ];
        let g = find(&t, 1.0, 600.0);
        assert_eq!(g.len(), 2, "{g:?}");
        assert_eq!(
            (g[0].kind, g[0].clip.as_str(), g[0].duration_s),
            (GapKind::BetweenClips, "c", 30.0)
        );
        assert_eq!(g[0].previous_clip.as_deref(), Some("b"));
        assert_eq!(
            (g[1].kind, g[1].clip.as_str(), g[1].missing.as_deref()),
            (GapKind::MissingFile, "e", Some("4"))
        );
        assert_eq!(g[1].duration_s, 3.0);
    }

    #[test]
    fn short_pauses_join_segments() {
        let t = vec![
            clip("a", 1, "2026-11-20T08:00:00Z", "2026-11-20T08:00:03Z"),
            clip("b", 2, "2026-11-20T08:00:03.900Z", "2026-11-20T08:00:06Z"),
        ];
        assert!(find(&t, 1.0, 600.0).is_empty());
    }
}
