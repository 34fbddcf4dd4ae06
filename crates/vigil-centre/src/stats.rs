//! The agency's statistics (R19): per station and per officer over a
//! period, the same figures a station's `vigil report stats` gives
//! (recordings, recording hours, interruptions and their rate, late
//! ingests, explanations and how long they took, recordings with no
//! usable clock), summed by PostgreSQL from covering indexes (schema
//! migration 6), so a year of an agency is counted where it lies.
//!
//! Recordings count by when they were recorded (one with no usable clock
//! by when it was ingested, and counted as such), those purged not at all;
//! interruptions by when they happened (by wall clock, else when they were
//! found), as at a station.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use vigil_i18n::{Lang, Msg, Zone};
use vigil_service::page::{Cell, ReportPage, ReportSection};
use vigil_service::reports::{csv_records, csv_text};

use crate::error::CentreError;

/// Hours after recording's end past which an ingest is late (R1), as a
/// station's reports count it.
pub const LATE_AFTER_H: i32 = 24;

/// The least recording time, hours, a rate is given for (a rate over a
/// few seconds says nothing), as at a station.
pub const RATE_HOURS: f64 = 1.0;

/// One row: a station's officer, or (officer `*`) a whole station, or
/// (station `*`) the agency.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    /// The station.
    pub station: String,
    /// The officer's id (`-` for recordings of no officer).
    pub officer: String,
    /// Recordings.
    pub clips: i64,
    /// Readable media, hours.
    pub hours_recorded: f64,
    /// Interruptions.
    pub interruptions: i64,
    /// Interruptions per recording hour; none under [`RATE_HOURS`].
    pub interruptions_per_hour: Option<f64>,
    /// Recordings ingested later than [`LATE_AFTER_H`] after they ended.
    pub late_ingests: i64,
    /// The share of them.
    pub late_ingest_rate: f64,
    /// Interruptions with an explanation.
    pub explained: i64,
    /// Mean hours from detection to the current explanation.
    pub mean_explanation_hours: Option<f64>,
    /// Recordings with no usable recording time (placed by ingest time).
    pub clips_without_time: i64,
}

impl Totals {
    fn finish(mut self) -> Self {
        self.interruptions_per_hour = (self.hours_recorded >= RATE_HOURS)
            .then(|| self.interruptions as f64 / self.hours_recorded);
        self.late_ingest_rate = self.late_ingests as f64 / self.clips.max(1) as f64;
        self
    }

    /// Adds `o` (the mean explanation time weighted by explanations).
    fn add(&mut self, o: &Totals) {
        let weighted = |t: &Totals| t.mean_explanation_hours.map(|m| m * t.explained as f64);
        let sum = match (weighted(self), weighted(o)) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
        self.clips += o.clips;
        self.hours_recorded += o.hours_recorded;
        self.interruptions += o.interruptions;
        self.late_ingests += o.late_ingests;
        self.explained += o.explained;
        self.clips_without_time += o.clips_without_time;
        self.mean_explanation_hours = sum
            .filter(|_| self.explained > 0)
            .map(|s| s / self.explained as f64);
    }
}

/// The period's statistics.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// From (RFC 3339, UTC).
    pub since: String,
    /// Until, not included.
    pub until: String,
    /// What the period filters on.
    pub period_by: &'static str,
    /// Per officer of each station, by station then officer.
    pub officers: Vec<Totals>,
    /// Per station.
    pub stations: Vec<Totals>,
    /// The agency (or the one station asked for).
    pub total: Totals,
}

/// The statistics of `[since, until)` over `station`'s recordings, or
/// every station's.
pub async fn gather(
    client: &mut deadpool_postgres::Client,
    station: Option<&str>,
    since: &str,
    until: &str,
) -> Result<Stats, CentreError> {
    // The officers of a year are grouped in memory, not sorted through
    // temporary files (PostgreSQL's 4 MB default would have it spill a
    // million rows to disk), and a query run once a page is not compiled.
    let client = client.transaction().await?;
    client
        .batch_execute("SET LOCAL work_mem = '128MB'; SET LOCAL jit = off")
        .await?;
    let bad_time = |e: tokio_postgres::Error| match e.as_db_error() {
        Some(d) if d.code() == &tokio_postgres::error::SqlState::INVALID_DATETIME_FORMAT => {
            CentreError::BadRequest(format!(
                "the period {since:?} to {until:?}: not dates or times"
            ))
        }
        _ => e.into(),
    };
    let clips = client
        .query(
            "SELECT station, COALESCE(officer, '-'), count(*), COALESCE(sum(duration_s), 0) / 3600.0,
                    count(*) FILTER (WHERE ingested_at - recorded_end > make_interval(hours => $4)),
                    count(*) FILTER (WHERE recorded_start IS NULL)
             FROM (SELECT station, officer, duration_s, ingested_at, recorded_end, recorded_start
                   FROM clips
                   WHERE recorded_start >= $1::text::timestamptz AND recorded_start < $2::text::timestamptz
                     AND purged_at IS NULL AND ($3::text IS NULL OR station = $3)
                   UNION ALL
                   SELECT station, officer, duration_s, ingested_at, NULL, NULL
                   FROM clips
                   WHERE recorded_start IS NULL AND purged_at IS NULL
                     AND ingested_at >= $1::text::timestamptz AND ingested_at < $2::text::timestamptz
                     AND ($3::text IS NULL OR station = $3)) c
             GROUP BY 1, 2",
            &[&since, &until, &station, &LATE_AFTER_H],
        )
        .await
        .map_err(bad_time)?;
    let gaps = client
        .query(
            "SELECT station, COALESCE(officer, '-'), count(*), count(explained_at),
                    avg(extract(epoch FROM explained_at - detected_at) / 3600.0)::float8
             FROM gaps
             WHERE COALESCE(wall_start, detected_at) >= $1::text::timestamptz
               AND COALESCE(wall_start, detected_at) < $2::text::timestamptz
               AND ($3::text IS NULL OR station = $3)
             GROUP BY 1, 2",
            &[&since, &until, &station],
        )
        .await
        .map_err(bad_time)?;
    let mut by: std::collections::BTreeMap<(String, String), Totals> = Default::default();
    for r in &clips {
        let key: (String, String) = (r.get(0), r.get(1));
        by.insert(
            key.clone(),
            Totals {
                station: key.0,
                officer: key.1,
                clips: r.get(2),
                hours_recorded: r.get(3),
                late_ingests: r.get(4),
                clips_without_time: r.get(5),
                ..Default::default()
            },
        );
    }
    // An officer's interruptions count where the officer's recordings do;
    // an officer with interruptions in the period and no recording in it
    // (a missing file found now of an older day) gets a row too, so the
    // sums are the agency's.
    for r in &gaps {
        let key: (String, String) = (r.get(0), r.get(1));
        let t = by.entry(key.clone()).or_insert_with(|| Totals {
            station: key.0,
            officer: key.1,
            ..Default::default()
        });
        t.interruptions = r.get(2);
        t.explained = r.get(3);
        t.mean_explanation_hours = r.get(4);
    }
    client.commit().await?;
    let officers: Vec<Totals> = by.into_values().map(Totals::finish).collect();
    let mut stations: Vec<Totals> = Vec::new();
    let mut total = Totals {
        station: station.unwrap_or("*").to_owned(),
        officer: "*".into(),
        ..Default::default()
    };
    for o in &officers {
        match stations.last_mut() {
            Some(s) if s.station == o.station => s.add(o),
            _ => {
                let mut s = Totals {
                    station: o.station.clone(),
                    officer: "*".into(),
                    ..Default::default()
                };
                s.add(o);
                stations.push(s);
            }
        }
        total.add(o);
    }
    Ok(Stats {
        since: since.to_owned(),
        until: until.to_owned(),
        period_by: "recording",
        officers,
        stations: stations.into_iter().map(Totals::finish).collect(),
        total: total.finish(),
    })
}

/// Who reads the statistics, and where.
#[derive(Debug)]
pub struct Reader<'a> {
    /// The reader's language.
    pub lang: Lang,
    /// The centre's zone.
    pub zone: &'a Zone,
    /// Who asked.
    pub by: &'a str,
}

/// The statistics as a printable page (drawn as text for the CLI and as
/// HTML on the desk): the period and what it filters on, a table per
/// station with the agency's total, and one per officer of each station.
pub fn page(s: &Stats, r: &Reader<'_>) -> ReportPage {
    let t = |m: Msg| m.text(r.lang).to_owned();
    let all = t(Msg::AllStations);
    let figures = |x: &Totals| {
        vec![
            Cell::n(x.clips),
            Cell::n(format!("{:.2}", x.hours_recorded)),
            Cell::n(x.interruptions),
            Cell::n(
                x.interruptions_per_hour
                    .map(|v| format!("{v:.2}"))
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::n(format!("{:.1} %", x.late_ingest_rate * 100.0)),
            Cell::n(x.explained),
            Cell::n(
                x.mean_explanation_hours
                    .map(|h| format!("{h:.2}"))
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::count(x.clips_without_time.max(0) as u64),
        ]
    };
    let columns = [
        Msg::Clips,
        Msg::HoursRecorded,
        Msg::Interruptions,
        Msg::PerHour,
        Msg::LateRate,
        Msg::ExplainedCount,
        Msg::MeanHours,
        Msg::Undated,
    ];
    let head = |first: &[Msg]| -> Vec<String> {
        first.iter().chain(columns.iter()).map(|m| t(*m)).collect()
    };
    let mut per_station: Vec<Vec<Cell>> = s
        .stations
        .iter()
        .map(|x| {
            let mut row = vec![Cell::text(x.station.clone())];
            row.extend(figures(x));
            row
        })
        .collect();
    if s.stations.len() > 1 {
        let mut row = vec![Cell::text(format!("{} ({})", t(Msg::Totals), all))];
        row.extend(figures(&s.total));
        per_station.push(row);
    }
    let per_officer = s
        .officers
        .iter()
        .map(|x| {
            let mut row = vec![Cell::text(x.station.clone()), Cell::text(x.officer.clone())];
            row.extend(figures(x));
            row
        })
        .collect();
    let now = vigil_service::model::now_rfc3339();
    ReportPage {
        lang: r.lang,
        title: t(Msg::AgencyStats),
        meta: vec![
            (
                t(Msg::Station),
                if s.total.station == "*" {
                    all
                } else {
                    s.total.station.clone()
                },
            ),
            (
                t(Msg::PeriodByRecording),
                format!("{} – {}", r.zone.local(&s.since), r.zone.local(&s.until)),
            ),
            (t(Msg::MadeBy), r.by.to_owned()),
            (t(Msg::MadeAt), r.zone.local_with_offset(&now)),
            (t(Msg::TimeZone), r.zone.said(r.lang)),
        ],
        sections: vec![
            ReportSection {
                title: t(Msg::PerStation),
                class: "stats",
                head: head(&[Msg::Station]),
                rows: per_station,
            },
            ReportSection {
                title: t(Msg::PerStationOfficer),
                class: "stats",
                head: head(&[Msg::Station, Msg::Officer]),
                rows: per_officer,
            },
        ],
        timelines: Vec::new(),
        legend: String::new(),
        empty: t(Msg::Nothing),
        signatures: vec![t(Msg::SignPrepared), t(Msg::SignReviewed)],
        date_label: t(Msg::Date),
        checkpoint_title: t(Msg::CheckpointTitle),
        checkpoint: None,
        cosigned: None,
        links: false,
        print_label: t(Msg::Print),
    }
}

/// The statistics as CSV: one record per officer of each station, then
/// one per station (officer `*`) and the agency's (station `*`).
pub fn csv(s: &Stats) -> Result<String, CentreError> {
    let opt = |v: Option<f64>, d: usize| v.map(|v| format!("{v:.d$}")).unwrap_or_default();
    let head = [
        "station",
        "officer",
        "clips",
        "hours_recorded",
        "interruptions",
        "interruptions_per_hour",
        "late_ingest_rate",
        "explained",
        "mean_explanation_hours",
        "clips_without_time",
    ]
    .map(str::to_owned);
    let records = s
        .officers
        .iter()
        .chain(&s.stations)
        .chain([&s.total])
        .map(|x| {
            [
                csv_text(&x.station),
                csv_text(&x.officer),
                x.clips.to_string(),
                format!("{:.3}", x.hours_recorded),
                x.interruptions.to_string(),
                opt(x.interruptions_per_hour, 3),
                format!("{:.3}", x.late_ingest_rate),
                x.explained.to_string(),
                opt(x.mean_explanation_hours, 2),
                x.clips_without_time.to_string(),
            ]
        });
    csv_records(std::iter::once(head).chain(records))
        .map_err(|e| CentreError::BadRequest(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_weigh_the_explanation_time_by_explanations() {
        let a = Totals {
            clips: 3,
            hours_recorded: 2.0,
            interruptions: 4,
            explained: 3,
            mean_explanation_hours: Some(2.0),
            late_ingests: 1,
            ..Default::default()
        };
        let b = Totals {
            clips: 1,
            interruptions: 1,
            explained: 1,
            mean_explanation_hours: Some(10.0),
            ..Default::default()
        };
        let none = Totals {
            clips: 2,
            hours_recorded: 0.5,
            ..Default::default()
        };
        let mut t = Totals::default();
        t.add(&a);
        t.add(&none);
        t.add(&b);
        let t = t.finish();
        assert_eq!((t.clips, t.interruptions, t.explained), (6, 5, 4));
        assert_eq!(t.mean_explanation_hours, Some(4.0));
        assert_eq!(t.interruptions_per_hour, Some(2.0));
        assert!((t.late_ingest_rate - 1.0 / 6.0).abs() < 1e-12);
        let only_none = {
            let mut t = Totals::default();
            t.add(&none);
            t.finish()
        };
        assert_eq!(only_none.mean_explanation_hours, None);
        assert_eq!(only_none.interruptions_per_hour, None);
    }
}
