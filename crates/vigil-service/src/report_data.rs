//! What a report holds, whatever it is rendered as: the period's
//! recordings, interruptions and per-officer rows and totals, and the
//! statistics derived from them (R19). `reports` gathers and renders it as
//! text, CSV and JSON; `printed` as the printable page.

use std::collections::BTreeMap;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vigil_store::{Clip, Gap};

/// A byte count as people read it (binary prefixes, two decimals).
pub fn human_bytes(n: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

pub(crate) fn parse(t: Option<&str>) -> Option<OffsetDateTime> {
    t.and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
}

/// One row of the ingest report.
#[derive(Debug, Default, Serialize, Clone)]
pub(crate) struct Row {
    pub(crate) officer: String,
    pub(crate) device: String,
    pub(crate) clips: u64,
    pub(crate) hours_recorded: f64,
    pub(crate) bytes: u64,
    pub(crate) late_ingests: u64,
    pub(crate) damaged: u64,
    pub(crate) interruptions_open: u64,
    pub(crate) interruptions_explained: u64,
    pub(crate) clock_drift_ms: Option<i64>,
    pub(crate) battery_pct: Option<u8>,
    pub(crate) faults: Vec<u16>,
}

pub(crate) struct Data {
    pub(crate) units: BTreeMap<String, String>,
    pub(crate) since: OffsetDateTime,
    pub(crate) until: OffsetDateTime,
    pub(crate) clips: Vec<Clip>,
    pub(crate) gaps: Vec<Gap>,
    pub(crate) rows: Vec<Row>,
    /// Per officer totals (the statistics), summed by the store.
    pub(crate) totals: Vec<vigil_store::stats::OfficerTotals>,
}

/// The period's gaps, overdue first, then open, then explained.
pub(crate) fn sorted_gaps(d: &Data) -> Vec<Gap> {
    let mut gaps = d.gaps.clone();
    gaps.sort_by_key(|g| (!g.overdue, g.status == "explained"));
    gaps
}

/// The least recording time, hours, an interruption rate is given for.
pub(crate) const RATE_HOURS: f64 = 1.0;

/// One officer's statistics (R19).
#[derive(Serialize, Default)]
pub(crate) struct Stat {
    pub(crate) officer: String,
    pub(crate) unit: Option<String>,
    pub(crate) clips: u64,
    pub(crate) hours_recorded: f64,
    pub(crate) interruptions: u64,
    /// None under [`RATE_HOURS`] of recording (a rate of a few seconds
    /// says nothing: one interruption in 3 s would be "1,200 an hour").
    pub(crate) interruptions_per_hour: Option<f64>,
    pub(crate) late_ingest_rate: f64,
    pub(crate) explained: u64,
    pub(crate) mean_explanation_hours: Option<f64>,
    /// Clips with no usable recording time, placed by ingest time.
    pub(crate) clips_without_time: u64,
}

/// Per officer, and per unit (recording hours, interruptions).
pub(crate) fn stat_rows(d: &Data) -> (Vec<Stat>, BTreeMap<String, (f64, u64)>) {
    let mut by: BTreeMap<String, Stat> = BTreeMap::new();
    for t in &d.totals {
        by.insert(
            t.officer.clone(),
            Stat {
                officer: t.officer.clone(),
                unit: d.units.get(&t.officer).cloned(),
                clips: t.clips,
                hours_recorded: t.hours_recorded,
                interruptions: t.interruptions,
                interruptions_per_hour: (t.hours_recorded >= RATE_HOURS)
                    .then(|| t.interruptions as f64 / t.hours_recorded),
                late_ingest_rate: t.late_ingests as f64 / t.clips.max(1) as f64,
                explained: t.explained,
                mean_explanation_hours: t.mean_explanation_hours,
                clips_without_time: t.undated,
            },
        );
    }
    let rows: Vec<Stat> = by.into_values().collect();
    // Per unit: recording hours and interruptions summed over its officers.
    let mut units: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    for st in &rows {
        let u = units
            .entry(st.unit.clone().unwrap_or_else(|| "-".into()))
            .or_default();
        u.0 += st.hours_recorded;
        u.1 += st.interruptions;
    }
    (rows, units)
}
