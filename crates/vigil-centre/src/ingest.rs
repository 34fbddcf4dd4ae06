//! The agency's ingest report (R1, R6, R8): what came in at each station
//! over a period, by when recordings were ingested, the same figures a
//! station's `vigil report ingest` gives with `station` added: per
//! officer and recorder the recordings, their hours and size, those
//! ingested late (over 24 h after they ended) or damaged, their
//! interruptions open and explained, and the recorder's last docking
//! (clock drift, battery, faults) from the station's `device.docked` log
//! entries; then each late or damaged recording by name.
//!
//! Recordings purged since are not counted, as at a station.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use vigil_i18n::Msg;
use vigil_service::page::{Cell, ReportPage, ReportSection};
use vigil_service::reports::{csv_records, csv_text};
use vigil_service::{identity::Role, queries::hidden_from};

use crate::error::CentreError;
use crate::stats::Reader;

/// The most late or damaged recordings the report names; the rest are
/// counted (`troubled_not_listed`).
pub const TROUBLED_LISTED: i64 = 500;

/// One officer's recorder at one station.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Row {
    /// The station.
    pub station: String,
    /// The officer's id (`-` for none).
    pub officer: String,
    /// The recorder's serial (`-` for none).
    pub device: String,
    /// Recordings ingested in the period.
    pub clips: i64,
    /// Their readable media, hours.
    pub hours_recorded: f64,
    /// Their size, bytes.
    pub bytes: i64,
    /// Those ingested over 24 h after they ended (R1).
    pub late_ingests: i64,
    /// Those stored damaged (byte-exact, flagged).
    pub damaged: i64,
    /// Their interruptions not yet explained.
    pub interruptions_open: i64,
    /// Their interruptions explained.
    pub interruptions_explained: i64,
    /// When the recorder last docked at the station (RFC 3339, UTC).
    pub last_docked: Option<String>,
    /// Its clock's drift then, milliseconds.
    pub clock_drift_ms: Option<i64>,
    /// Its battery then, percent.
    pub battery_pct: Option<i64>,
    /// Its fault codes then.
    pub faults: Vec<u16>,
}

impl Row {
    /// Adds `o`'s counts and sums (a totals row).
    fn add(&mut self, o: &Row) {
        self.clips += o.clips;
        self.hours_recorded += o.hours_recorded;
        self.bytes += o.bytes;
        self.late_ingests += o.late_ingests;
        self.damaged += o.damaged;
        self.interruptions_open += o.interruptions_open;
        self.interruptions_explained += o.interruptions_explained;
    }
}

/// A late or damaged recording.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Troubled {
    /// The station.
    pub station: String,
    /// The recording.
    pub clip: String,
    /// Its file name on the recorder.
    pub path: String,
    /// The officer's id.
    pub officer: Option<String>,
    /// The recorder.
    pub device: Option<String>,
    /// When it started (RFC 3339, UTC), if its clock is usable.
    pub recorded_start: Option<String>,
    /// When it was ingested.
    pub ingested_at: String,
    /// Stored damaged.
    pub damaged: bool,
    /// Why, as recorded at ingest.
    pub damage_reason: Option<String>,
    /// Ingested over 24 h after it ended.
    pub late: bool,
}

/// The period's ingest report.
#[derive(Debug, Clone, Serialize)]
pub struct Ingest {
    /// From (RFC 3339, UTC).
    pub since: String,
    /// Until, not included.
    pub until: String,
    /// What the period filters on.
    pub period_by: &'static str,
    /// The station asked for, or `*` for every one the reader may see.
    pub station: String,
    /// By station, officer and recorder.
    pub rows: Vec<Row>,
    /// Interruptions of the period's recordings not yet explained.
    pub interruptions_open: i64,
    /// The late or damaged recordings the reader may see (R17), oldest
    /// ingest first, at most [`TROUBLED_LISTED`].
    pub troubled: Vec<Troubled>,
    /// Those the reader may see and the list leaves out.
    pub troubled_not_listed: i64,
    /// Those confidential to the reader (R17): counted, not named.
    pub troubled_confidential: i64,
}

/// The recordings' figures per (station, officer, recorder).
const CLIPS: &str = "
    SELECT station, COALESCE(officer, '-'), COALESCE(device, '-'), count(*),
           COALESCE(sum(duration_s), 0)::float8 / 3600.0, COALESCE(sum(bytes), 0)::bigint,
           count(*) FILTER (WHERE ingested_at - recorded_end > interval '24 hours'),
           count(*) FILTER (WHERE damaged)
    FROM clips
    WHERE ingested_at >= $1::text::timestamptz AND ingested_at < $2::text::timestamptz
      AND purged_at IS NULL AND station = ANY($3)
    GROUP BY 1, 2, 3";

/// Their interruptions, open and explained.
const GAPS: &str = "
    SELECT c.station, COALESCE(c.officer, '-'), COALESCE(c.device, '-'),
           count(*) FILTER (WHERE g.status <> 'explained'),
           count(*) FILTER (WHERE g.status = 'explained')
    FROM clips c JOIN gaps g ON g.station = c.station AND g.clip = c.id
    WHERE c.ingested_at >= $1::text::timestamptz AND c.ingested_at < $2::text::timestamptz
      AND c.purged_at IS NULL AND c.station = ANY($3)
    GROUP BY 1, 2, 3";

/// Each recorder's last docking at its station.
const DOCKINGS: &str = "
    SELECT DISTINCT ON (station, subject) station, subject,
           to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), detail
    FROM entries
    WHERE action = 'device.docked' AND station = ANY($1) AND subject = ANY($2)
    ORDER BY station, subject, seq DESC";

/// The late or damaged recordings, oldest ingest first; `$4` the
/// confidentiality kinds hidden from the reader, `$5` how many to name.
const TROUBLED: &str = "
    SELECT station, id, path, officer, device,
           to_char(recorded_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
           to_char(ingested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
           damaged, data ->> 'damage_reason',
           COALESCE(ingested_at - recorded_end > interval '24 hours', false),
           confidential IS NOT NULL AND confidential = ANY($4)
    FROM clips
    WHERE ingested_at >= $1::text::timestamptz AND ingested_at < $2::text::timestamptz
      AND purged_at IS NULL AND station = ANY($3)
      AND (damaged OR ingested_at - recorded_end > interval '24 hours')
    ORDER BY ingested_at, station, id";

/// The ingest report of `[since, until)` over `stations` (those the
/// reader may see, or the one asked for: `asked`), for a reader of `role`,
/// read in one snapshot.
pub async fn gather(
    client: &mut deadpool_postgres::Client,
    stations: &[String],
    asked: Option<&str>,
    role: Role,
    since: &str,
    until: &str,
) -> Result<Ingest, CentreError> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let mut rows: std::collections::BTreeMap<(String, String, String), Row> = Default::default();
    let key =
        |r: &tokio_postgres::Row| -> (String, String, String) { (r.get(0), r.get(1), r.get(2)) };
    for r in &tx.query(CLIPS, &[&since, &until, &stations]).await? {
        let k = key(r);
        rows.insert(
            k.clone(),
            Row {
                station: k.0,
                officer: k.1,
                device: k.2,
                clips: r.get(3),
                hours_recorded: r.get(4),
                bytes: r.get(5),
                late_ingests: r.get(6),
                damaged: r.get(7),
                ..Default::default()
            },
        );
    }
    let mut interruptions_open = 0;
    for r in &tx.query(GAPS, &[&since, &until, &stations]).await? {
        if let Some(row) = rows.get_mut(&key(r)) {
            row.interruptions_open = r.get(3);
            row.interruptions_explained = r.get(4);
            interruptions_open += row.interruptions_open;
        }
    }
    let devices: Vec<String> = rows
        .keys()
        .map(|k| k.2.clone())
        .filter(|d| d != "-")
        .collect();
    let mut docked = std::collections::HashMap::new();
    for r in &tx.query(DOCKINGS, &[&stations, &devices]).await? {
        let detail: String = r.get(3);
        let d: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
        docked.insert(
            (r.get::<_, String>(0), r.get::<_, String>(1)),
            (r.get::<_, String>(2), d),
        );
    }
    for row in rows.values_mut() {
        if let Some((at, d)) = docked.get(&(row.station.clone(), row.device.clone())) {
            row.last_docked = Some(at.clone());
            row.clock_drift_ms = d["drift_ms"].as_i64();
            row.battery_pct = d["battery_pct"].as_i64();
            row.faults = d["faults"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter_map(|x| x.as_u64().and_then(|x| u16::try_from(x).ok()))
                        .collect()
                })
                .unwrap_or_default();
        }
    }
    let (mut troubled, mut troubled_not_listed, mut troubled_confidential) = (Vec::new(), 0, 0);
    let hidden = hidden_from(role);
    for r in &tx
        .query(TROUBLED, &[&since, &until, &stations, &hidden])
        .await?
    {
        if r.get::<_, bool>(10) {
            troubled_confidential += 1;
        } else if troubled.len() as i64 >= TROUBLED_LISTED {
            troubled_not_listed += 1;
        } else {
            troubled.push(Troubled {
                station: r.get(0),
                clip: r.get(1),
                path: r.get(2),
                officer: r.get(3),
                device: r.get(4),
                recorded_start: r.get(5),
                ingested_at: r.get(6),
                damaged: r.get(7),
                damage_reason: r.get(8),
                late: r.get(9),
            });
        }
    }
    tx.commit().await?;
    Ok(Ingest {
        since: since.to_owned(),
        until: until.to_owned(),
        period_by: "ingest",
        station: asked.unwrap_or("*").to_owned(),
        rows: rows.into_values().collect(),
        interruptions_open,
        troubled,
        troubled_not_listed,
        troubled_confidential,
    })
}

/// The report as a printable page (text for the CLI, HTML on the desk):
/// the period and what it filters on, a row per officer's recorder at
/// each station with the totals, then each late or damaged recording,
/// with what is not listed said.
pub fn page(s: &Ingest, r: &Reader<'_>) -> ReportPage {
    let t = |m: Msg| m.text(r.lang).to_owned();
    let mut totals = Row::default();
    let mut rows: Vec<Vec<Cell>> = s
        .rows
        .iter()
        .map(|x| {
            totals.add(x);
            let mut row = vec![
                Cell::text(x.station.clone()),
                Cell::text(r.names.show(&x.station, Some(&x.officer))),
                Cell::text(x.device.clone()),
            ];
            row.extend(figures(x));
            row.push(Cell::text(
                x.last_docked
                    .as_deref()
                    .map(|d| r.zone.local(d))
                    .unwrap_or_else(|| "-".into()),
            ));
            row.extend(vigil_service::printed::docking_cells(
                x.clock_drift_ms,
                x.battery_pct,
                &x.faults,
            ));
            row
        })
        .collect();
    if !rows.is_empty() {
        let mut row = vec![Cell::text(t(Msg::Totals)), Cell::text(""), Cell::text("")];
        row.extend(figures(&totals));
        row.extend((0..4).map(|_| Cell::text("")));
        rows.push(row);
    }
    let mut troubled: Vec<Vec<Cell>> = s
        .troubled
        .iter()
        .map(|c| {
            let mut what = Vec::new();
            if c.damaged {
                what.push(vigil_service::printed::damage_said(
                    c.damage_reason.as_deref().unwrap_or_default(),
                    r.lang,
                ));
            }
            if c.late {
                what.push(t(Msg::StatusLate));
            }
            vec![
                Cell::text(c.station.clone()),
                Cell::text(c.path.clone()),
                Cell::text(r.names.show(&c.station, c.officer.as_deref())),
                Cell::text(c.device.clone().unwrap_or_else(|| "-".into())),
                Cell::text(
                    c.recorded_start
                        .as_deref()
                        .map(|d| r.zone.local(d))
                        .unwrap_or_else(|| t(Msg::TimeUnknown)),
                ),
                Cell::text(r.zone.local(&c.ingested_at)),
                Cell::prose(what.join("\n")),
            ]
        })
        .collect();
    for (n, m) in [
        (s.troubled_not_listed, Msg::NotListed),
        (s.troubled_confidential, Msg::ConfidentialNotShown),
    ] {
        if n > 0 {
            let mut row = vec![Cell::prose(m.text(r.lang).replace("{n}", &n.to_string()))];
            row.extend((0..6).map(|_| Cell::text("")));
            troubled.push(row);
        }
    }
    crate::stats::agency_page(
        r,
        Msg::AgencyIngest,
        &s.station,
        (Msg::PeriodByIngest, &s.since, &s.until),
        vec![
            ReportSection {
                title: t(Msg::PerStationRecorder),
                class: "ingest",
                head: [
                    Msg::Station,
                    Msg::Officer,
                    Msg::Recorder,
                    Msg::Clips,
                    Msg::HoursRecorded,
                    Msg::Bytes,
                    Msg::LateCount,
                    Msg::DamagedCount,
                    Msg::OpenCount,
                    Msg::ExplainedCount,
                    Msg::LastDocked,
                    Msg::ClockDrift,
                    Msg::Battery,
                    Msg::Faults,
                ]
                .map(t)
                .to_vec(),
                rows,
            },
            ReportSection {
                title: t(Msg::TroubledFiles),
                class: "troubled",
                head: [
                    Msg::Station,
                    Msg::File,
                    Msg::Officer,
                    Msg::Recorder,
                    Msg::Start,
                    Msg::Ingested,
                    Msg::Status,
                ]
                .map(t)
                .to_vec(),
                rows: troubled,
            },
        ],
    )
}

/// A row's counts as cells, from recordings to explained.
fn figures(x: &Row) -> [Cell; 7] {
    [
        Cell::n(x.clips),
        Cell::n(format!("{:.2}", x.hours_recorded)),
        Cell::n(vigil_service::report_data::human_bytes(
            x.bytes.max(0) as u64
        )),
        Cell::count(x.late_ingests.max(0) as u64),
        Cell::count(x.damaged.max(0) as u64),
        Cell::count(x.interruptions_open.max(0) as u64),
        Cell::n(x.interruptions_explained),
    ]
}

/// The report as CSV: one record per officer's recorder at each station,
/// the station's columns followed by `station` first.
pub fn csv(s: &Ingest) -> Result<String, CentreError> {
    let head = [
        "station",
        "officer",
        "device",
        "clips",
        "hours_recorded",
        "bytes",
        "late_ingests",
        "damaged",
        "interruptions_open",
        "interruptions_explained",
        "last_docked",
        "clock_drift_ms",
        "battery_pct",
        "faults",
    ]
    .map(str::to_owned);
    let records = s.rows.iter().map(|x| {
        [
            csv_text(&x.station),
            csv_text(&x.officer),
            csv_text(&x.device),
            x.clips.to_string(),
            format!("{:.3}", x.hours_recorded),
            x.bytes.to_string(),
            x.late_ingests.to_string(),
            x.damaged.to_string(),
            x.interruptions_open.to_string(),
            x.interruptions_explained.to_string(),
            x.last_docked.clone().unwrap_or_default(),
            x.clock_drift_ms.map(|v| v.to_string()).unwrap_or_default(),
            x.battery_pct.map(|v| v.to_string()).unwrap_or_default(),
            x.faults
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        ]
    });
    csv_records(std::iter::once(head).chain(records))
        .map_err(|e| CentreError::BadRequest(e.to_string()))
}
