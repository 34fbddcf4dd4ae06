//! GPS tracks a recorder stores beside a recording as NMEA 0183 text (a
//! `.NMEA` or `.GPS` file of the same name): the fixes of its RMC
//! sentences (`$GPRMC`, `$GNRMC`, ...), each with its UTC time and
//! position. A sentence whose checksum is wrong, that reports no valid fix
//! (status `V`), or that does not parse is skipped: a track shows only what
//! the receiver vouched for.

use time::{Date, Month, OffsetDateTime, Time};

/// One position fix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// When (UTC, the receiver's clock).
    pub at: OffsetDateTime,
    /// Latitude, degrees (north positive).
    pub lat: f64,
    /// Longitude, degrees (east positive).
    pub lon: f64,
}

/// The valid RMC fixes of an NMEA text, in the order written.
pub fn fixes(text: &[u8]) -> Vec<Fix> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(|l| rmc(l.trim()))
        .collect()
}

/// One RMC sentence: `$xxRMC,hhmmss.ss,A,ddmm.mmmm,N,dddmm.mmmm,E,speed,course,ddmmyy,...*CS`.
fn rmc(line: &str) -> Option<Fix> {
    let body = line.strip_prefix('$')?;
    let (body, sum) = body.split_once('*')?;
    let want = u8::from_str_radix(sum.get(..2)?, 16).ok()?;
    if body.bytes().fold(0u8, |a, b| a ^ b) != want {
        return None;
    }
    let f: Vec<&str> = body.split(',').collect();
    if f.len() < 10 || !f[0].ends_with("RMC") || f[2] != "A" {
        return None;
    }
    let lat = degrees(f[3], 2)? * if f[4] == "S" { -1.0 } else { 1.0 };
    let lon = degrees(f[5], 3)? * if f[6] == "W" { -1.0 } else { 1.0 };
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return None;
    }
    let (hms, d) = (f[1], f[9]);
    let n = |s: &str, a: usize| s.get(a..a + 2)?.parse::<u8>().ok();
    let secs: f64 = hms.get(4..)?.parse().ok()?;
    let time = Time::from_hms_milli(
        n(hms, 0)?,
        n(hms, 2)?,
        secs.trunc() as u8,
        ((secs.fract() * 1000.0).round() as u16).min(999),
    )
    .ok()?;
    let date = Date::from_calendar_date(
        2000 + i32::from(n(d, 4)?),
        Month::try_from(n(d, 2)?).ok()?,
        n(d, 0)?,
    )
    .ok()?;
    Some(Fix {
        at: date.with_time(time).assume_utc(),
        lat,
        lon,
    })
}

/// `ddmm.mmmm` (or `dddmm.mmmm`, `deg` digits of degrees) as degrees.
fn degrees(s: &str, deg: usize) -> Option<f64> {
    let d: f64 = s.get(..deg)?.parse().ok()?;
    let m: f64 = s.get(deg..)?.parse().ok()?;
    (m < 60.0).then_some(d + m / 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(body: &str) -> String {
        let sum = body.bytes().fold(0u8, |a, b| a ^ b);
        format!("${body}*{sum:02X}")
    }

    #[test]
    fn valid_fixes_are_read_and_the_rest_skipped() {
        let good = sentence("GPRMC,080001.50,A,3954.2000,N,11623.4000,E,0.5,90.0,201126,,,A");
        let south_west = sentence("GNRMC,080002,A,3354.0000,S,07030.0000,W,0.0,0.0,201126,,,A");
        let no_fix = sentence("GPRMC,080003,V,3954.2000,N,11623.4000,E,0.0,0.0,201126,,,N");
        let mut bad_sum = sentence("GPRMC,080004,A,3954.2000,N,11623.4000,E,0.0,0.0,201126,,,A");
        bad_sum.replace_range(bad_sum.len() - 2.., "00");
        let gga = sentence("GPGGA,080005,3954.2000,N,11623.4000,E,1,08,0.9,50.0,M,0,M,,");
        let text = [good, south_west, no_fix, bad_sum, gga, "garbage".into()].join("\r\n");
        let f = fixes(text.as_bytes());
        assert_eq!(f.len(), 2, "{f:?}");
        assert!((f[0].lat - 39.903_333).abs() < 1e-5 && (f[0].lon - 116.39).abs() < 1e-5);
        assert_eq!(f[0].at, time::macros::datetime!(2026-11-20 08:00:01.5 UTC));
        assert!((f[1].lat + 33.9).abs() < 1e-9 && (f[1].lon + 70.5).abs() < 1e-9);
    }
}
