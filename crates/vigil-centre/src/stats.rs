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
/// station's reports count it: written as `interval '24 hours'` in the
/// rows' query here and in the daily totals' trigger (schema migration 7).
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
    /// The hours the explanations took, in all (the mean's numerator).
    #[serde(skip)]
    explanation_hours: f64,
    /// Recordings with no usable recording time (placed by ingest time).
    pub clips_without_time: i64,
}

impl Totals {
    fn finish(mut self) -> Self {
        self.mean_explanation_hours =
            (self.explained > 0).then(|| self.explanation_hours / self.explained as f64);
        self.interruptions_per_hour = (self.hours_recorded >= RATE_HOURS)
            .then(|| self.interruptions as f64 / self.hours_recorded);
        self.late_ingest_rate = self.late_ingests as f64 / self.clips.max(1) as f64;
        self
    }

    /// Adds `o`'s counts and sums (the rates and the mean follow in
    /// [`Totals::finish`]).
    fn add(&mut self, o: &Totals) {
        self.clips += o.clips;
        self.hours_recorded += o.hours_recorded;
        self.interruptions += o.interruptions;
        self.late_ingests += o.late_ingests;
        self.explained += o.explained;
        self.explanation_hours += o.explanation_hours;
        self.clips_without_time += o.clips_without_time;
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

/// A time the caller passed as `flag` (RFC 3339), as a station reads it
/// (`vigil_service::reports::time_arg`).
pub fn time_of(flag: &str, t: Option<&str>) -> Result<Option<time::OffsetDateTime>, CentreError> {
    vigil_service::reports::time_arg(flag, &t.map(str::to_owned))
        .map_err(|e| CentreError::BadRequest(e.to_string()))
}

/// `[since, until)` as asked, else the 24 hours before now, as a
/// station's reports take it.
pub fn period(since: Option<&str>, until: Option<&str>) -> Result<(String, String), CentreError> {
    let until = time_of("until", until)?.unwrap_or_else(time::OffsetDateTime::now_utc);
    let since = time_of("since", since)?.unwrap_or(until - time::Duration::hours(24));
    if since >= until {
        return Err(CentreError::BadRequest(format!(
            "the period ends before it starts: since {} until {}",
            vigil_service::model::rfc3339(since),
            vigil_service::model::rfc3339(until)
        )));
    }
    Ok((
        vigil_service::model::rfc3339(since),
        vigil_service::model::rfc3339(until),
    ))
}

/// How a period is summed: its whole UTC days from the daily totals, its
/// edges (part days) from the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Whole days `[from, until)`, `YYYY-MM-DD`, if any.
    pub days: Option<(String, String)>,
    /// Spans read from the rows, RFC 3339 `[since, until)`.
    pub edges: Vec<(String, String)>,
}

/// Splits `[since, until)` into whole UTC days and edges.
pub fn split(since: &str, until: &str) -> Result<Split, CentreError> {
    let utc = |flag: &str, t: &str| {
        time_of(flag, Some(t)).map(|t| {
            t.unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
                .to_offset(time::UtcOffset::UTC)
        })
    };
    let (s, u) = (utc("since", since)?, utc("until", until)?);
    let first = if s.time() == time::Time::MIDNIGHT {
        s.date()
    } else {
        s.date().next_day().unwrap_or(s.date())
    };
    let end = u.date();
    let at = |d: time::Date| vigil_service::model::rfc3339(d.midnight().assume_utc());
    if first >= end {
        return Ok(Split {
            days: None,
            edges: vec![(since.to_owned(), until.to_owned())],
        });
    }
    let mut edges = Vec::new();
    if s < first.midnight().assume_utc() {
        edges.push((since.to_owned(), at(first)));
    }
    if end.midnight().assume_utc() < u {
        edges.push((at(end), until.to_owned()));
    }
    Ok(Split {
        days: Some((first.to_string(), end.to_string())),
        edges,
    })
}

/// The recordings' figures per (station, officer): clips, hours, late,
/// undated; from the rows of `[since, until)`.
const CLIP_ROWS: &str = "
    SELECT station, COALESCE(officer, '-'), count(*), COALESCE(sum(duration_s), 0) / 3600.0,
           count(*) FILTER (WHERE ingested_at - recorded_end > interval '24 hours'),
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
    GROUP BY 1, 2";

/// The same from the daily totals of the days `[$1, $2)`.
const CLIP_DAYS: &str = "
    SELECT station, officer, sum(clips)::bigint, sum(seconds) / 3600.0, sum(late)::bigint,
           sum(undated)::bigint
    FROM clip_days
    WHERE day >= $1::text::date AND day < $2::text::date AND ($3::text IS NULL OR station = $3)
    GROUP BY 1, 2 HAVING sum(clips) > 0";

/// The interruptions' figures per (station, officer): how many, how many
/// explained, the hours their explanations took in all; from the rows.
const GAP_ROWS: &str = "
    SELECT station, COALESCE(officer, '-'), count(*), count(explained_at),
           COALESCE(sum(extract(epoch FROM explained_at - detected_at) / 3600.0), 0)::float8
    FROM gaps
    WHERE COALESCE(wall_start, detected_at) >= $1::text::timestamptz
      AND COALESCE(wall_start, detected_at) < $2::text::timestamptz
      AND ($3::text IS NULL OR station = $3)
    GROUP BY 1, 2";

/// The same from the daily totals.
const GAP_DAYS: &str = "
    SELECT station, officer, sum(gaps)::bigint, sum(explained)::bigint, sum(explain_hours)::float8
    FROM gap_days
    WHERE day >= $1::text::date AND day < $2::text::date AND ($3::text IS NULL OR station = $3)
    GROUP BY 1, 2 HAVING sum(gaps) > 0";

/// Rows by (station, officer).
type Totalled = std::collections::BTreeMap<(String, String), Totals>;

/// The row of the station and officer a query's row `r` begins with.
fn row_of<'a>(by: &'a mut Totalled, r: &tokio_postgres::Row) -> &'a mut Totals {
    let key: (String, String) = (r.get(0), r.get(1));
    by.entry(key.clone()).or_insert_with(|| Totals {
        station: key.0,
        officer: key.1,
        ..Default::default()
    })
}

/// The statistics of `[since, until)` over `station`'s recordings, or
/// every station's: the period's whole UTC days from the daily totals the
/// triggers keep (schema migration 7), its edges from the rows, in one
/// snapshot.
pub async fn gather(
    client: &mut deadpool_postgres::Client,
    station: Option<&str>,
    since: &str,
    until: &str,
) -> Result<Stats, CentreError> {
    let parts = split(since, until)?;
    // One snapshot for every part; the edges' officers grouped in memory,
    // not sorted through temporary files, and queries run once a page not
    // compiled.
    let client = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    client
        .batch_execute("SET LOCAL work_mem = '128MB'; SET LOCAL jit = off")
        .await?;
    let mut by = Totalled::default();
    let mut spans: Vec<(&str, &str, &str, &str)> = parts
        .edges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str(), CLIP_ROWS, GAP_ROWS))
        .collect();
    if let Some((a, b)) = &parts.days {
        spans.push((a.as_str(), b.as_str(), CLIP_DAYS, GAP_DAYS));
    }
    // An officer's interruptions count where the officer's recordings do;
    // an officer with interruptions in the period and no recording in it
    // (a missing file found now of an older day) gets a row too, so the
    // sums are the agency's.
    for (a, b, clips_sql, gaps_sql) in spans {
        for r in &client.query(clips_sql, &[&a, &b, &station]).await? {
            let t = row_of(&mut by, r);
            t.clips += r.get::<_, i64>(2);
            t.hours_recorded += r.get::<_, f64>(3);
            t.late_ingests += r.get::<_, i64>(4);
            t.clips_without_time += r.get::<_, i64>(5);
        }
        for r in &client.query(gaps_sql, &[&a, &b, &station]).await? {
            let t = row_of(&mut by, r);
            t.interruptions += r.get::<_, i64>(2);
            t.explained += r.get::<_, i64>(3);
            t.explanation_hours += r.get::<_, f64>(4);
        }
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
    /// The officers' names.
    pub names: &'a crate::officers::Names,
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
            let mut row = vec![
                Cell::text(x.station.clone()),
                Cell::text(r.names.show(&x.station, Some(&x.officer))),
            ];
            row.extend(figures(x));
            row
        })
        .collect();
    agency_page(
        r,
        Msg::AgencyStats,
        &s.total.station,
        (Msg::PeriodByRecording, &s.since, &s.until),
        vec![
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
    )
}

/// An agency report as a printable page: its title; the station (`*`:
/// all) and the period with what it filters on (`by`), who made it,
/// when, and the zone its times are in; its sections; the lines to sign.
pub fn agency_page(
    r: &Reader<'_>,
    title: Msg,
    station: &str,
    (by, since, until): (Msg, &str, &str),
    sections: Vec<ReportSection>,
) -> ReportPage {
    let t = |m: Msg| m.text(r.lang).to_owned();
    let now = vigil_service::model::now_rfc3339();
    ReportPage {
        lang: r.lang,
        title: t(title),
        meta: vec![
            (
                t(Msg::Station),
                if station == "*" {
                    t(Msg::AllStations)
                } else {
                    station.to_owned()
                },
            ),
            (
                t(by),
                format!("{} – {}", r.zone.local(since), r.zone.local(until)),
            ),
            (t(Msg::MadeBy), r.by.to_owned()),
            (t(Msg::MadeAt), r.zone.local_with_offset(&now)),
            (t(Msg::TimeZone), r.zone.said(r.lang)),
        ],
        sections,
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
    fn a_period_is_whole_days_and_edges() {
        let p = split("2026-01-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00").unwrap();
        assert_eq!(
            p,
            Split {
                days: Some(("2026-01-01".into(), "2026-12-31".into())),
                edges: vec![
                    (
                        "2026-01-01T00:00:00+08:00".into(),
                        "2026-01-01T00:00:00.000Z".into()
                    ),
                    (
                        "2026-12-31T00:00:00.000Z".into(),
                        "2027-01-01T00:00:00+08:00".into()
                    ),
                ],
            }
        );
        let utc = split("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z").unwrap();
        assert_eq!(utc.days, Some(("2026-03-01".into(), "2026-04-01".into())));
        assert!(utc.edges.is_empty());
        let hours = split("2026-03-01T10:00:00Z", "2026-03-02T09:00:00Z").unwrap();
        assert_eq!(hours.days, None);
        assert_eq!(
            hours.edges,
            vec![("2026-03-01T10:00:00Z".into(), "2026-03-02T09:00:00Z".into())]
        );
        assert!(split("yesterday", "2026-03-02T09:00:00Z").is_err());
    }

    #[test]
    fn sums_weigh_the_explanation_time_by_explanations() {
        let a = Totals {
            clips: 3,
            hours_recorded: 2.0,
            interruptions: 4,
            explained: 3,
            explanation_hours: 6.0,
            late_ingests: 1,
            ..Default::default()
        };
        let b = Totals {
            clips: 1,
            interruptions: 1,
            explained: 1,
            explanation_hours: 10.0,
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
