//! The reports (`vigil report ingest|gaps|stats`, `GET /api/v1/reports/
//! {kind}`): what came in and what needs attention, for the custodian (R1,
//! R4, R5, R8, R9) and the auditor (R19). Formats: text, CSV, JSON, and a
//! self-contained HTML page (inline CSS and SVG, no external assets) with a
//! timeline per officer of recorded spans and interruptions. Rendered where
//! the store is, so the CLI, the desk and a printed page show one report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vigil_store::{Clip, ClipFilter, Gap, GapFilter, Store};

use crate::error::ServiceError;
use crate::identity::Identity;
use crate::page::ReportPage;
pub use crate::report_data::human_bytes;
use crate::report_data::{sorted_gaps, stat_rows, Data, Row};

/// The kinds of report.
pub const KINDS: &[&str] = &["ingest", "gaps", "stats"];
/// The formats.
pub const FORMATS: &[&str] = &["text", "csv", "json", "html"];

/// What to report on (`GET /api/v1/reports/{kind}`): the period (RFC 3339
/// UTC; default the last 24 h) and the format.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// From this time [default: 24 h before `until`]. The gap log goes by
    /// when each interruption happened (its wall clock, else when it was
    /// found); the statistics by when recordings were made (a recording
    /// with no usable clock by when it was ingested, and counted as such)
    /// and interruptions happened; the ingest report by when recordings
    /// were ingested. Each report's header says which.
    pub since: Option<String>,
    /// Until this time [default: now].
    pub until: Option<String>,
    /// text, csv, json or html [default: text].
    pub format: Option<String>,
    /// The reader's language for the printable page (`zh-CN`, `en`)
    /// [default: en].
    pub lang: Option<String>,
    /// Only this station's (at the agency centre; a station reports only
    /// on itself, and refuses another's name).
    pub station: Option<String>,
}

/// A report: a printable page (the text and HTML formats, drawn by
/// `vigil-desk`) or a finished document (CSV, JSON).
#[derive(Debug, Clone)]
pub struct Report {
    /// What it holds.
    pub body: Body,
    /// Its format (one of [`FORMATS`]).
    pub format: &'static str,
}

/// What a report holds.
#[derive(Debug, Clone)]
pub enum Body {
    /// A page to draw, as HTML or as text by its format.
    Page(Box<ReportPage>),
    /// The document itself.
    Document(String),
}

impl Report {
    /// The media type the API sends it as.
    pub fn content_type(&self) -> &'static str {
        match self.format {
            "csv" => "text/csv; charset=utf-8",
            "json" => "application/json",
            "html" => "text/html; charset=utf-8",
            _ => "text/plain; charset=utf-8",
        }
    }
}

/// Renders the report `kind` (ingest, gaps, stats) over the period; the
/// reading is audited (R20).
pub(crate) fn report(
    store: &mut Store,
    id: &Identity,
    kind: &str,
    q: &ReportQuery,
    zone: &vigil_i18n::Zone,
) -> Result<Report, ServiceError> {
    let Some(kind) = KINDS.iter().copied().find(|k| *k == kind) else {
        return Err(ServiceError::not_found(format!(
            "no report {kind:?}: one of {}",
            KINDS.join(", ")
        )));
    };
    let format = q.format.as_deref().unwrap_or("text");
    let Some(format) = FORMATS.iter().copied().find(|f| *f == format) else {
        return Err(ServiceError::bad_request(format!(
            "--format {format:?}: one of {}",
            FORMATS.join(", ")
        )));
    };
    if !crate::station::is_here(store, q.station.as_deref())? {
        return Err(ServiceError::not_found(format!(
            "this station reports on itself only, not on {:?}: the agency centre reports across stations",
            q.station.as_deref().unwrap_or_default()
        )));
    }
    let d = gather(store, q, kind)?;
    // The checkpoint of the log the report was made from: a
    // reader can later show the log still holds what it was then.
    let checkpoint = match store.log().checkpoint()? {
        Some(k) => Some(crate::checkpoints::describe(
            &k,
            &store.log().station_key()?,
        )?),
        None => None,
    };
    // And the newest one the agency centre's witness cosigned, when the
    // station sends its log to one.
    let cosigned = store.log().cosigned_latest()?;
    let witness = store
        .log()
        .centre_link()?
        .map(|l| l.witness.split('+').next().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let checkpoint = checkpoint.map(|mut c| {
        c["cosigned"] = cosigned.as_ref().map_or(
            serde_json::Value::Null,
            |k| serde_json::json!({"checkpoint": k.note, "size": k.size, "witness": witness}),
        );
        c
    });
    let body = if format == "html" || format == "text" {
        let lang = q
            .lang
            .as_deref()
            .and_then(vigil_i18n::Lang::parse)
            .unwrap_or_default();
        let names: BTreeMap<String, String> = store
            .people()
            .officers()?
            .into_iter()
            .map(|o| {
                let shown = match &o.name {
                    Some(n) => vigil_i18n::Msg::NameNumber.fmt(lang, &[("name", n), ("id", &o.id)]),
                    None => o.id.clone(),
                };
                (o.id, shown)
            })
            .collect();
        let cx = crate::printed::Context {
            lang,
            zone,
            names: &names,
            by: id.user.clone(),
            station: store
                .log()
                .station_key()
                .map(|k| k.name().to_owned())
                .unwrap_or_default(),
            checkpoint: checkpoint.as_ref().map(|c| {
                (
                    c["checkpoint"].as_str().unwrap_or_default().to_owned(),
                    c["key"].as_str().unwrap_or_default().to_owned(),
                )
            }),
            cosigned: cosigned.map(|k| (k.note, witness.clone(), k.size)),
        };
        let page = match kind {
            "ingest" => crate::printed::ingest(&d, &cx),
            "gaps" => crate::printed::gap_log(&d, &sorted_gaps(&d), &cx),
            _ => crate::printed::stats(&d, &cx),
        };
        Body::Page(Box::new(page))
    } else {
        let text = match kind {
            "ingest" => ingest(&d, format)?,
            "gaps" => gap_log(&d, format)?,
            _ => stats(&d, format)?,
        };
        let text = with_checkpoint(text, format, checkpoint.as_ref())?;
        Body::Document(if format == "csv" {
            // A UTF-8 byte-order mark: spreadsheets then read Chinese names
            // as UTF-8.
            format!("\u{feff}{text}")
        } else {
            text
        })
    };
    store.log_mut().record_read(
        &id.actor(),
        "report.read",
        kind,
        &serde_json::json!({"since": vigil_store::rfc3339(d.since), "until": vigil_store::rfc3339(d.until), "format": format}),
    )?;
    Ok(Report { body, format })
}

/// `text` (CSV or JSON; the text and HTML pages carry their own) with the
/// signed checkpoint `cp` added: a closing row padded to the header's
/// width (CSV), a `checkpoint` member (JSON).
fn with_checkpoint(
    mut text: String,
    format: &str,
    cp: Option<&serde_json::Value>,
) -> Result<String, ServiceError> {
    let Some(cp) = cp else {
        return Ok(text);
    };
    let note = cp["checkpoint"].as_str().unwrap_or_default();
    let key = cp["key"].as_str().unwrap_or_default();
    match format {
        "json" => {
            let mut doc: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| ServiceError::bad_request(e.to_string()))?;
            if let Some(m) = doc.as_object_mut() {
                m.insert("checkpoint".into(), cp.clone());
            }
            text = pretty(&doc)?;
            text.push('\n');
        }
        _ => {
            let width = text.lines().next().map_or(1, |h| h.split(',').count());
            let mut row = vec![String::new(); width.max(2)];
            row[0] = "checkpoint".into();
            row[1] = csv_text(note);
            if width > 2 {
                row[2] = csv_text(key);
            }
            text.push_str(&csv_records([row])?);
        }
    }
    Ok(text)
}

fn pretty(v: &serde_json::Value) -> Result<String, ServiceError> {
    serde_json::to_string_pretty(v).map_err(|e| ServiceError::bad_request(e.to_string()))
}

/// A time a caller passed as `flag` (RFC 3339), or a refusal naming it.
pub fn time_arg(flag: &str, t: &Option<String>) -> Result<Option<OffsetDateTime>, ServiceError> {
    t.as_deref()
        .map(|t| {
            OffsetDateTime::parse(t, &Rfc3339).map_err(|_| {
                ServiceError::bad_request(format!("{flag} {t:?} is not an RFC 3339 time"))
            })
        })
        .transpose()
}

/// What the report `kind` needs over the period, read by the store's
/// indexes: the period's clips and their interruptions for the ingest
/// report, the interruptions alone for the gap log, totals counted by
/// SQLite for the statistics (a year is a million clips).
fn gather(store: &Store, q: &ReportQuery, kind: &str) -> Result<Data, ServiceError> {
    let (since, until) = (time_arg("since", &q.since)?, time_arg("until", &q.until)?);
    if let (Some(a), Some(b)) = (since, until) {
        if a > b {
            return Err(ServiceError::bad_request(format!(
                "since ({}) is later than until ({}): the period would be empty",
                vigil_store::rfc3339(a),
                vigil_store::rfc3339(b)
            )));
        }
    }
    let until = until.unwrap_or_else(OffsetDateTime::now_utc);
    let since = since.unwrap_or_else(|| until.saturating_sub(time::Duration::hours(24)));
    let period = (vigil_store::rfc3339(since), vigil_store::rfc3339(until));
    let clips: Vec<Clip> = if kind == "ingest" {
        store.recordings().clips(&ClipFilter {
            ingested: Some(period.clone()),
            late_after_h: Some(24),
            ..Default::default()
        })?
    } else {
        Vec::new()
    };
    let gaps: Vec<Gap> = if kind == "stats" {
        Vec::new()
    } else {
        // The gap log goes by when each interruption happened (its wall
        // clock, else when it was found); the ingest report by when its
        // recordings came in (R1, R8).
        let when = if kind == "gaps" {
            GapFilter {
                since: Some(period.0.clone()),
                until: Some(period.1.clone()),
                ..Default::default()
            }
        } else {
            GapFilter {
                ingested: Some(period.clone()),
                ..Default::default()
            }
        };
        store.gap_log().gaps(&GapFilter {
            overdue_after_s: 24 * 3600,
            ..when
        })?
    };
    let totals = if kind == "stats" {
        store
            .recordings()
            .officer_totals(&period.0, &period.1, 24)?
    } else {
        Vec::new()
    };
    // The last docking of each recorder: the ingest report's rows only.
    let dockings: BTreeMap<String, vigil_store::Docking> = if clips.is_empty() {
        BTreeMap::new()
    } else {
        store
            .recordings()
            .dockings()?
            .into_iter()
            .map(|d| (d.device.clone(), d))
            .collect()
    };
    // Open and explained interruptions per clip.
    let mut per_clip: std::collections::HashMap<&str, (u64, u64)> = Default::default();
    for g in &gaps {
        let e = per_clip.entry(g.clip.as_str()).or_default();
        if g.status == "explained" {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    for c in &clips {
        let key = (
            c.officer.clone().unwrap_or_else(|| "-".into()),
            c.device.clone().unwrap_or_else(|| "-".into()),
        );
        let r = rows.entry(key.clone()).or_insert_with(|| Row {
            officer: key.0.clone(),
            device: key.1.clone(),
            ..Default::default()
        });
        r.clips += 1;
        r.bytes += c.bytes;
        r.hours_recorded += c.duration_s.unwrap_or(0.0) / 3600.0;
        r.late_ingests += u64::from(c.late_ingest);
        r.damaged += u64::from(c.damaged);
        let (open, explained) = per_clip.get(c.clip.as_str()).copied().unwrap_or_default();
        r.interruptions_open += open;
        r.interruptions_explained += explained;
        if let Some(d) = c.device.as_ref().and_then(|d| dockings.get(d)) {
            r.clock_drift_ms = d.drift_ms;
            r.battery_pct = Some(d.battery_pct);
            r.faults = d.faults.clone();
        }
    }
    let units = store
        .people()
        .officers()?
        .into_iter()
        .filter_map(|o| o.unit.map(|u| (o.id, u)))
        .collect();
    Ok(Data {
        units,
        since,
        until,
        clips,
        gaps,
        rows: rows.into_values().collect(),
        totals,
    })
}

/// A text field of a CSV report: a value a spreadsheet would take for a
/// formula (`=`, `+`, `-`, `@`, a tab or a carriage return first) is
/// prefixed with `'` (OWASP's CSV injection advice). The `csv` writer
/// quotes it where needed.
pub fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// CSV records as text (the `csv` crate: fields quoted only where needed,
/// one `\n` after each record).
pub fn csv_records<I, R>(records: I) -> Result<String, ServiceError>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    let fail = |e: &dyn std::fmt::Display| ServiceError::bad_request(format!("writing CSV: {e}"));
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for r in records {
        w.write_record(r).map_err(|e| fail(&e))?;
    }
    let bytes = w.into_inner().map_err(|e| fail(&e))?;
    String::from_utf8(bytes).map_err(|e| fail(&e))
}

fn ingest(d: &Data, format: &str) -> Result<String, ServiceError> {
    let mut s = String::new();
    match format {
        "json" => {
            s = pretty(&serde_json::json!({
                "since": vigil_store::rfc3339(d.since), "until": vigil_store::rfc3339(d.until), "rows": d.rows,
                "interruptions_open": d.gaps.iter().filter(|g| g.status != "explained").count(),
            }))? + "\n"
        }
        _ => {
            s.push_str("officer,device,clips,hours_recorded,bytes,late_ingests,damaged,interruptions_open,interruptions_explained,clock_drift_ms,battery_pct,faults\n");
            s.push_str(&csv_records(d.rows.iter().map(|r| {
                let faults: Vec<String> = r.faults.iter().map(u16::to_string).collect();
                [
                    csv_text(&r.officer),
                    csv_text(&r.device),
                    r.clips.to_string(),
                    format!("{:.3}", r.hours_recorded),
                    r.bytes.to_string(),
                    r.late_ingests.to_string(),
                    r.damaged.to_string(),
                    r.interruptions_open.to_string(),
                    r.interruptions_explained.to_string(),
                    r.clock_drift_ms.map(|v| v.to_string()).unwrap_or_default(),
                    r.battery_pct.map(|v| v.to_string()).unwrap_or_default(),
                    csv_text(&faults.join(" ")),
                ]
            }))?);
        }
    }
    Ok(s)
}

fn gap_log(d: &Data, format: &str) -> Result<String, ServiceError> {
    let gaps = sorted_gaps(d);
    let mut s = String::new();
    match format {
        "json" => s = pretty(&serde_json::json!({ "gaps": gaps }))? + "\n",
        _ => {
            s.push_str("id,kind,status,overdue,officer,device,path,stream,offset_s,duration_s,wall_start,explanation,officers,recorded_by,reviewed_by,review,detected_at\n");
            s.push_str(&csv_records(gaps.iter().map(|g| {
                let e = g.explanation.as_ref();
                [
                    g.id.clone(),
                    g.kind.as_str().to_owned(),
                    g.status.to_owned(),
                    g.overdue.to_string(),
                    csv_text(g.officer.as_deref().unwrap_or("")),
                    csv_text(g.device.as_deref().unwrap_or("")),
                    csv_text(&g.path),
                    g.stream.clone().unwrap_or_default(),
                    g.offset_s.map(|o| format!("{o:.3}")).unwrap_or_default(),
                    g.duration_s.to_string(),
                    g.wall_start.clone().unwrap_or_default(),
                    csv_text(
                        &e.map(|e| {
                            e.text.clone().unwrap_or_else(|| {
                                format!("spoken at {:.1} s", e.at_s.unwrap_or(0.0))
                            })
                        })
                        .unwrap_or_default(),
                    ),
                    csv_text(&e.map(|e| e.officers.join(" ")).unwrap_or_default()),
                    csv_text(e.map(|e| e.recorded_by.as_str()).unwrap_or("")),
                    csv_text(e.and_then(|e| e.reviewed_by.as_deref()).unwrap_or("")),
                    e.and_then(|e| e.review.clone()).unwrap_or_default(),
                    g.detected_at.clone(),
                ]
            }))?);
        }
    }
    Ok(s)
}

fn stats(d: &Data, format: &str) -> Result<String, ServiceError> {
    let (rows, units) = stat_rows(d);
    let units: Vec<serde_json::Value> = units
        .into_iter()
        .map(|(unit, (hours, gaps))| serde_json::json!({"unit": unit, "hours_recorded": hours, "interruptions": gaps}))
        .collect();
    Ok(match format {
        "json" => {
            pretty(
                &serde_json::json!({"since": vigil_store::rfc3339(d.since), "until": vigil_store::rfc3339(d.until), "officers": rows, "units": units}),
            )? + "\n"
        }
        _ => {
            let mut s = String::from("officer,clips,hours_recorded,interruptions,interruptions_per_hour,late_ingest_rate,explained,mean_explanation_hours,clips_without_time\n");
            s.push_str(&csv_records(rows.iter().map(|st| {
                [
                    csv_text(&st.officer),
                    st.clips.to_string(),
                    format!("{:.3}", st.hours_recorded),
                    st.interruptions.to_string(),
                    st.interruptions_per_hour
                        .map(|r| format!("{r:.3}"))
                        .unwrap_or_default(),
                    format!("{:.3}", st.late_ingest_rate),
                    st.explained.to_string(),
                    st.mean_explanation_hours
                        .map(|h| format!("{h:.2}"))
                        .unwrap_or_default(),
                    st.clips_without_time.to_string(),
                ]
            }))?);
            s
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One field as a CSV record writes it.
    fn csv_field(s: &str) -> String {
        csv_records([[csv_text(s), String::new()]])
            .unwrap()
            .trim_end_matches(",\n")
            .to_owned()
    }

    #[test]
    fn csv_text_cannot_become_a_formula() {
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_field("+1 battery"), "'+1 battery");
        assert_eq!(csv_field("-"), "'-");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("张三, 1002"), "\"张三, 1002\"");
        assert_eq!(csv_field("BWC002"), "BWC002");
    }
}
