//! The station's time zone: every time is stored in UTC (RFC 3339) and
//! shown in the zone the station is in (config `timezone`, default the
//! system's), with the zone named, so a Beijing shift report reads in
//! Beijing time.

use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Why a zone or a time cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ZoneError {
    /// The zone is not in the system's time-zone database.
    #[error("time zone {name:?} is not known (an IANA name such as Asia/Shanghai; see /usr/share/zoneinfo): {why}")]
    Unknown {
        /// The name given.
        name: String,
        /// What the database said.
        why: String,
    },
    /// A date that is not `YYYY-MM-DD`.
    #[error("{text:?} is not a date (YYYY-MM-DD, in the station's time zone {zone})")]
    BadDate {
        /// The text given.
        text: String,
        /// The zone it was read in.
        zone: String,
    },
}

/// A time zone and its name.
#[derive(Debug, Clone)]
pub struct Zone {
    tz: TimeZone,
    name: String,
}

impl Zone {
    /// An IANA zone by name (`Asia/Shanghai`, `UTC`).
    pub fn named(name: &str) -> Result<Self, ZoneError> {
        let tz = TimeZone::get(name).map_err(|e| ZoneError::Unknown {
            name: name.to_owned(),
            why: e.to_string(),
        })?;
        Ok(Self {
            tz,
            name: name.to_owned(),
        })
    }

    /// The system's zone (`TZ`, else `/etc/localtime`), UTC when it cannot
    /// be found.
    pub fn system() -> Self {
        let tz = TimeZone::system();
        let name = tz.iana_name().unwrap_or("UTC").to_owned();
        Self { tz, name }
    }

    /// UTC.
    pub fn utc() -> Self {
        Self {
            tz: TimeZone::UTC,
            name: "UTC".into(),
        }
    }

    /// The zone's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone as people say it in `lang` (北京时间, China Standard Time),
    /// for the zones a station is likely to be in; the IANA name otherwise.
    pub fn spoken(&self, lang: crate::Lang) -> String {
        const SPOKEN: &[(&[&str], &str, &str)] = &[
            (
                &[
                    "Asia/Shanghai",
                    "Asia/Chongqing",
                    "Asia/Chungking",
                    "Asia/Harbin",
                    "Asia/Urumqi",
                    "PRC",
                ],
                "China Standard Time",
                "北京时间",
            ),
            (
                &["Asia/Hong_Kong", "Hongkong"],
                "Hong Kong Time",
                "香港时间",
            ),
            (&["Asia/Macau", "Asia/Macao"], "Macau Time", "澳门时间"),
            (&["Asia/Taipei", "ROC"], "Taipei Time", "台北时间"),
            (
                &["UTC", "Etc/UTC", "Etc/UCT", "Universal", "Zulu"],
                "UTC",
                "协调世界时",
            ),
        ];
        SPOKEN
            .iter()
            .find(|(names, _, _)| names.contains(&self.name.as_str()))
            .map(|(_, en, zh)| match lang {
                crate::Lang::En => (*en).to_owned(),
                crate::Lang::ZhCn => (*zh).to_owned(),
            })
            .unwrap_or_else(|| self.name.clone())
    }

    /// [`Self::spoken`] with the IANA name beside it where they differ
    /// (北京时间（Asia/Shanghai）, China Standard Time (Asia/Shanghai)), for
    /// a terminal or paper where no tooltip shows it.
    pub fn said(&self, lang: crate::Lang) -> String {
        let spoken = self.spoken(lang);
        if spoken == self.name {
            return spoken;
        }
        match lang {
            crate::Lang::ZhCn => format!("{spoken}（{}）", self.name),
            crate::Lang::En => format!("{spoken} ({})", self.name),
        }
    }

    fn zoned(&self, utc: &str) -> Option<jiff::Zoned> {
        let t: Timestamp = utc.parse().ok()?;
        Some(t.to_zoned(self.tz.clone()))
    }

    /// A stored UTC time (RFC 3339) as local date and time,
    /// `2026-12-02 15:30:05`; the text unchanged when it is not a time.
    pub fn local(&self, utc: &str) -> String {
        self.zoned(utc)
            .map(|z| z.strftime("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| utc.to_owned())
    }

    /// The same with its offset, `2026-12-02 15:30:05 +08:00`, for
    /// printed reports.
    pub fn local_with_offset(&self, utc: &str) -> String {
        self.zoned(utc)
            .map(|z| z.strftime("%Y-%m-%d %H:%M:%S %:z").to_string())
            .unwrap_or_else(|| utc.to_owned())
    }

    /// The local time of day only, `15:30:05`.
    pub fn local_time(&self, utc: &str) -> String {
        self.zoned(utc)
            .map(|z| z.strftime("%H:%M:%S").to_string())
            .unwrap_or_else(|| utc.to_owned())
    }

    /// A local date (`YYYY-MM-DD`) as the UTC span it covers: its start
    /// and the next day's start (RFC 3339), across any change of offset.
    pub fn day_utc(&self, date: &str) -> Result<(String, String), ZoneError> {
        let bad = || ZoneError::BadDate {
            text: date.to_owned(),
            zone: self.name.clone(),
        };
        let d: jiff::civil::Date = date.trim().parse().map_err(|_| bad())?;
        let start = d.to_zoned(self.tz.clone()).map_err(|_| bad())?;
        let end = d
            .tomorrow()
            .map_err(|_| bad())?
            .to_zoned(self.tz.clone())
            .map_err(|_| bad())?;
        Ok((start.timestamp().to_string(), end.timestamp().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_is_eight_hours_ahead_of_utc() {
        let z = Zone::named("Asia/Shanghai").unwrap();
        assert_eq!(z.local("2026-12-02T07:30:05Z"), "2026-12-02 15:30:05");
        assert_eq!(z.local("2026-12-01T23:59:59.5Z"), "2026-12-02 07:59:59");
        assert_eq!(
            z.local_with_offset("2026-12-02T07:30:05Z"),
            "2026-12-02 15:30:05 +08:00"
        );
        let (a, b) = z.day_utc("2026-12-02").unwrap();
        assert_eq!(
            (a.as_str(), b.as_str()),
            ("2026-12-01T16:00:00Z", "2026-12-02T16:00:00Z")
        );
        assert!(z.day_utc("02/12/2026").is_err());
        assert_eq!(z.local("not a time"), "not a time");
        assert!(Zone::named("Mars/Olympus").is_err());
    }

    #[test]
    fn a_day_across_a_change_of_offset_is_not_24_hours() {
        let z = Zone::named("Europe/Berlin").unwrap();
        let (a, b) = z.day_utc("2026-03-29").unwrap();
        assert_eq!(
            (a.as_str(), b.as_str()),
            ("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")
        );
    }
}
