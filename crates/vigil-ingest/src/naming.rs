//! What recorder file names say: a sequence number (recorders number their
//! files, and split one recording into numbered segments) and often the
//! recording start time.
//!
//! Default patterns (case-insensitive, matched against the file name only;
//! the first capture group is the number):
//!
//! | pattern | matches |
//! |---|---|
//! | `^(?:REC\|MOV\|VID\|VIDEO\|FILE\|CLIP\|AUD\|DSC\|IMG\|PIC)[_-]?(\d{3,6})\.` | `REC_0001.MP4`, `MOV0042.AVI`, `FILE-00012.TS` |
//! | `^G[HX](\d{2})\d{4}\.` | GoPro chapters `GH010123.MP4` (chapter 01 of recording 0123) |
//! | `[_-](\d{3,6})\.[A-Za-z0-9]+$` | `20261120_080000_0001.MP4`, `BWC001-0007.mp4` |
//!
//! The time pattern finds `YYYYMMDD[_-T ]HHMMSS` (separators optional)
//! anywhere in the name, read in the recorder's local time (default UTC+8,
//! Beijing time).

use regex::Regex;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// How to read file names.
#[derive(Debug, Clone)]
pub struct Naming {
    /// Sequence-number patterns, tried in order.
    pub seq: Vec<Regex>,
    /// Timestamp pattern: six capture groups (Y, M, D, h, m, s).
    pub time: Regex,
    /// The recorders' clock offset from UTC.
    pub offset: UtcOffset,
}

impl Default for Naming {
    fn default() -> Self {
        Self::with_seq_patterns(&[]).expect("default patterns compile")
    }
}

/// The built-in sequence patterns.
pub const DEFAULT_SEQ_PATTERNS: &[&str] = &[
    r"(?i)^(?:REC|MOV|VID|VIDEO|FILE|CLIP|AUD|DSC|IMG|PIC)[_-]?(\d{3,6})\.",
    r"(?i)^G[HX](\d{2})\d{4}\.",
    r"[_-](\d{3,6})\.[A-Za-z0-9]+$",
];

impl Naming {
    /// Naming with extra sequence patterns tried before the defaults.
    pub fn with_seq_patterns(extra: &[String]) -> Result<Self, regex::Error> {
        let mut seq = Vec::new();
        for p in extra {
            seq.push(Regex::new(p)?);
        }
        for p in DEFAULT_SEQ_PATTERNS {
            seq.push(Regex::new(p)?);
        }
        Ok(Self {
            seq,
            time: Regex::new(
                r"(20\d{2})[-_]?(\d{2})[-_]?(\d{2})[-_T ]?(\d{2})[-_:]?(\d{2})[-_:]?(\d{2})",
            )?,
            offset: UtcOffset::from_hms(8, 0, 0).expect("valid offset"),
        })
    }

    /// The sequence number in a path's file name.
    pub fn seq(&self, path: &str) -> Option<i64> {
        let name = file_name(path);
        self.seq.iter().find_map(|re| {
            re.captures(name)
                .and_then(|c| c.get(1))
                .and_then(|m| m.as_str().parse().ok())
        })
    }

    /// The recording time in a path's file name.
    pub fn time(&self, path: &str) -> Option<OffsetDateTime> {
        let c = self.time.captures(file_name(path))?;
        let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        let date = Date::from_calendar_date(
            n(1)? as i32,
            Month::try_from(n(2)? as u8).ok()?,
            n(3)? as u8,
        )
        .ok()?;
        let t = Time::from_hms(n(4)? as u8, n(5)? as u8, n(6)? as u8).ok()?;
        Some(PrimitiveDateTime::new(date, t).assume_offset(self.offset))
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_of_common_recorders() {
        let n = Naming::default();
        assert_eq!(n.seq("DCIM/100MEDIA/REC_0001.MP4"), Some(1));
        assert_eq!(n.seq("MOV0042.AVI"), Some(42));
        assert_eq!(n.seq("GH020123.MP4"), Some(2));
        assert_eq!(n.seq("20261120_080000_0007.MP4"), Some(7));
        assert_eq!(n.seq("track.log"), None);
    }

    #[test]
    fn extra_patterns_come_first() {
        let n = Naming::with_seq_patterns(&[r"^CAM\d-(\d+)\.".into()]).unwrap();
        assert_eq!(n.seq("CAM2-17.mp4"), Some(17));
        assert!(Naming::with_seq_patterns(&["(".into()]).is_err());
    }

    #[test]
    fn times_in_names_are_beijing_time_by_default() {
        let n = Naming::default();
        let t = n.time("BWC001_20261120_080000_0001.MP4").unwrap();
        assert_eq!(vigil_store::rfc3339(t), "2026-11-20T00:00:00.000Z");
        assert!(
            n.time("20261320_080000.MP4").is_none(),
            "month 13 is not a time"
        );
        assert!(n.time("REC_0001.MP4").is_none());
    }
}
