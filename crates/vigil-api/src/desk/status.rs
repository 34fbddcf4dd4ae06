//! The station's live status on the desk: every docked
//! recorder's slot, state, progress, battery, faults (with their meaning,
//! R4) and clock drift (R5), from vigild's status board. The page is whole
//! without script; `desk.js` then follows `/desk/status/events`, a stream
//! of server-sent events that sends the rows again whenever they change.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::response::Response;
use tokio_stream::StreamExt as _;
use vigil_desk as view;
use vigil_dock_proto::msg::fault;
use vigil_i18n::{Lang, Msg};

use super::page::{as_user, chrome, Desk, Names, Out};
use crate::context::ApiState;

fn state_label(s: &str, lang: Lang) -> String {
    let m = match s {
        "detected" => Msg::StDetected,
        "identified" => Msg::StIdentified,
        "clock_synced" => Msg::StClockSynced,
        "pulling" => Msg::StPulling,
        "analysing" => Msg::StAnalysing,
        "verified" => Msg::StVerified,
        "erased" => Msg::StErased,
        "done" => Msg::StDone,
        "parked" => Msg::StParked,
        "failed" => Msg::StFailed,
        other => return other.to_owned(),
    };
    m.text(lang).to_owned()
}

/// What a fault code means (the dock protocol's codes, R4).
fn fault_label(code: u16, lang: Lang) -> String {
    let n = code.to_string();
    match code {
        fault::LOW_BATTERY => Msg::FaultLowBattery.text(lang).to_owned(),
        fault::STORAGE_FULL => Msg::FaultStorageFull.text(lang).to_owned(),
        fault::CLOCK_INVALID => Msg::FaultClock.text(lang).to_owned(),
        fault::STORAGE_ERROR => Msg::FaultStorage.text(lang).to_owned(),
        c if c >= fault::VENDOR => Msg::FaultVendor.fmt(lang, &[("code", &format!("{c:#06x}"))]),
        _ => Msg::FaultOther.fmt(lang, &[("code", &n)]),
    }
}

pub(super) fn head(lang: Lang) -> Vec<String> {
    [
        Msg::Dock,
        Msg::Slot,
        Msg::Recorder,
        Msg::Officer,
        Msg::State,
        Msg::Progress,
        Msg::Battery,
        Msg::Faults,
        Msg::ClockDrift,
    ]
    .iter()
    .map(|m| m.text(lang).to_owned())
    .collect()
}

/// The board's rows (one per recorder) in `lang`, and when it changed.
pub(super) fn rows(
    doc: &serde_json::Value,
    lang: Lang,
    zone: &vigil_i18n::Zone,
    names: &Names,
) -> (String, Vec<Vec<String>>) {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut out = Vec::new();
    for r in doc["recorders"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        let (done, total) = (
            r["bytes_done"].as_u64().unwrap_or(0),
            r["bytes_total"].as_u64().unwrap_or(0),
        );
        let progress = if total > 0 {
            format!(
                "{:.0} % ({})",
                done as f64 * 100.0 / total as f64,
                vigil_service::reports::human_bytes(total)
            )
        } else {
            String::new()
        };
        let faults: Vec<String> = r["faults"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_u64())
            .map(|f| fault_label(u16::try_from(f).unwrap_or(u16::MAX), lang))
            .collect();
        let mut state = state_label(r["state"].as_str().unwrap_or(""), lang);
        let failed: Vec<String> = r["failed_files"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| format!("{}: {}", text(&f["path"]), text(&f["error"])))
            .collect();
        let stop = match lang {
            Lang::ZhCn => "。",
            _ => ". ",
        };
        if let Some(n) = r["left_on_recorder"].as_u64().filter(|n| *n > 0) {
            state = format!(
                "{state}{stop}{}",
                Msg::NotEmptied.fmt(lang, &[("n", &n.to_string())])
            );
        }
        if !failed.is_empty() {
            state = format!("{state}{stop}{}", failed.join("; "));
        } else if let Some(e) = r["last_error"].as_str() {
            state = format!("{state}: {e}");
        }
        out.push(vec![
            text(&r["dock"]),
            text(&r["slot"]),
            text(&r["serial"]),
            names.show(r["officer"].as_str()),
            state,
            progress,
            r["battery_pct"]
                .as_u64()
                .map(|b| format!("{b} %"))
                .unwrap_or_default(),
            faults.join("; "),
            r["drift_ms"]
                .as_i64()
                .map(|d| format!("{:+.1} s", d as f64 / 1000.0))
                .unwrap_or_default(),
        ]);
    }
    // USB devices that are not the station's, under the recorders.
    for u in doc["unknown_devices"].as_array().into_iter().flatten() {
        let kind = match u["kind"].as_str() {
            Some("mass storage") if lang == Lang::ZhCn => "大容量存储",
            Some("serial") if lang == Lang::ZhCn => "串口",
            Some("vendor") if lang == Lang::ZhCn => "厂商接口",
            other => other.unwrap_or(""),
        };
        let mut device = format!("{} {}", text(&u["id"]), text(&u["name"]));
        if let Some(s) = u["serial"].as_str() {
            device = format!("{device} ({s})");
        }
        let mut row = vec![
            Msg::UsbPort.fmt(lang, &[("port", &text(&u["port"]))]),
            String::new(),
            device,
            String::new(),
            Msg::UnknownUsbDevice.fmt(lang, &[("kind", kind)]),
        ];
        row.resize(head(lang).len(), String::new());
        out.push(row);
    }
    let updated = doc["updated_at"]
        .as_str()
        .map(|t| Msg::Updated.fmt(lang, &[("at", &zone.local(t))]))
        .unwrap_or_default();
    // The rows also travel as JSON in the event stream, past the page's
    // own escaping: a recorder's serial or file name with a bidirectional
    // override is shown as an escape there too.
    for row in &mut out {
        shown(row);
    }
    (updated, out)
}

/// The cells as the event stream may carry them past the page's own
/// escaping: a serial or file name with a bidirectional override shown as
/// an escape.
fn shown(cells: &mut [String]) {
    for cell in cells {
        if let std::borrow::Cow::Owned(shown) = vigil_i18n::visible::html(cell) {
            *cell = shown;
        }
    }
}

pub(super) fn dock_head(lang: Lang) -> Vec<String> {
    [Msg::Dock, Msg::DockPath, Msg::State]
        .iter()
        .map(|m| m.text(lang).to_owned())
        .collect()
}

/// The board's docks in `lang`: (class, cells), a lost dock's class
/// `lost` (shown in red), connected ones first.
pub(super) fn dock_rows(
    doc: &serde_json::Value,
    lang: Lang,
    zone: &vigil_i18n::Zone,
) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(u8, String, Vec<String>)> = Vec::new();
    for d in doc["docks"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        let at = |k: &str| d[k].as_str().map(|t| zone.local(t)).unwrap_or_default();
        let (rank, class, state) = if d["connected"] == true {
            (
                0,
                "",
                Msg::DockConnected.fmt(lang, &[("at", &at("connected_at"))]),
            )
        } else if d["lost_at"].is_string() {
            (
                1,
                "lost",
                Msg::DockLost.fmt(lang, &[("at", &at("lost_at"))]),
            )
        } else {
            (
                1,
                "lost",
                Msg::DockCannotConnect.fmt(
                    lang,
                    &[("error", d["last_error"].as_str().unwrap_or_default())],
                ),
            )
        };
        let mut cells = vec![
            d["serial"].as_str().unwrap_or("?").to_owned(),
            d["path"].as_str().unwrap_or_default().to_owned(),
            state,
        ];
        shown(&mut cells);
        out.push((rank, class.to_owned(), cells));
    }
    out.sort_by(|a, b| (a.0, &a.2).cmp(&(b.0, &b.2)));
    out.into_iter().map(|(_, c, r)| (c, r)).collect()
}

/// The store: last ingest, free space and how long it lasts.
fn store_facts(
    s: &vigil_service::Station,
    doc: &serde_json::Value,
    lang: Lang,
    zone: &vigil_i18n::Zone,
) -> Result<Vec<(String, String)>, vigil_service::ServiceError> {
    let free = doc["store_free_bytes"].as_u64().unwrap_or(0);
    let o = vigil_service::queries::outlook(s, free)?;
    let human = vigil_service::reports::human_bytes;
    Ok(vec![
        (
            Msg::LastIngest.text(lang).to_owned(),
            o.last_ingest
                .as_deref()
                .map(|t| zone.local(t))
                .unwrap_or_else(|| Msg::NoIngestYet.text(lang).to_owned()),
        ),
        (Msg::FreeSpace.text(lang).to_owned(), human(free)),
        (
            Msg::DaysLeft.text(lang).to_owned(),
            match o.days_left {
                Some(n) if n > 3650.0 => {
                    Msg::DaysLeftMany.fmt(lang, &[("rate", &human(o.bytes_per_day))])
                }
                Some(n) => Msg::DaysLeftValue.fmt(
                    lang,
                    &[
                        ("n", &format!("{:.0}", n.floor())),
                        ("rate", &human(o.bytes_per_day)),
                    ],
                ),
                None => Msg::NoPace.text(lang).to_owned(),
            },
        ),
    ])
}

/// `GET /desk/status`.
pub(super) async fn page(State(state): State<ApiState>, desk: Desk) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let names = Names::of(s, d.lang)?;
        let board = (st.status)();
        let (updated, rows) = rows(&board, d.lang, &st.zone, &names);
        Ok(Out::Page(view::render(&view::StatusPage {
            dock_head: dock_head(d.lang),
            docks: dock_rows(&board, d.lang, &st.zone),
            store: store_facts(s, &board, d.lang, &st.zone)?,
            full: board["store_full"] == true,
            chrome: chrome(
                &st,
                &d,
                Some(id),
                Msg::StationStatus.text(d.lang).into(),
                "status",
            ),
            updated,
            head: head(d.lang),
            rows,
        })))
    })
    .await
}

/// `GET /desk/status/events`: an `event: board` with `{updated, rows}`
/// (JSON) at once and whenever the board changes (checked twice a second),
/// for as long as the page stays open.
pub(super) async fn events(State(state): State<ApiState>, desk: Desk) -> Response {
    let (st, lang) = (state.clone(), desk.lang);
    as_user(&state, &desk, move |s, _| {
        let names = Names::of(s, lang)?;
        let mut last = String::new();
        let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(
            Duration::from_millis(500),
        ));
        let stream = ticks.filter_map(move |_| {
            let board = (st.status)();
            let (updated, rows) = rows(&board, lang, &st.zone, &names);
            let docks = dock_rows(&board, lang, &st.zone);
            let data =
                serde_json::json!({"updated": updated, "rows": rows, "docks": docks}).to_string();
            if data == last {
                return None;
            }
            last.clone_from(&data);
            Some(Ok::<_, Infallible>(
                Event::default().event("board").data(data),
            ))
        });
        Ok(Out::Raw(
            Sse::new(stream)
                .keep_alive(KeepAlive::default())
                .into_response(),
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streamed_rows_show_bidi_overrides_as_escapes() {
        let doc = serde_json::json!({"recorders": {"dock x slot 0": {
            "dock": "D1", "slot": 0, "serial": "BWC\u{202e}1", "state": "failed",
            "failed_files": [{"path": "REC\u{202e}4pm.exe.MP4", "error": "StorageError"}],
            "left_on_recorder": 1}}});
        let zone = vigil_i18n::Zone::named("Asia/Shanghai").unwrap();
        let (_, rows) = rows(&doc, Lang::En, &zone, &Names::default());
        assert_eq!(rows[0][2], "BWC\\u{202e}1");
        assert!(
            rows[0][4].contains("REC\\u{202e}4pm.exe.MP4: StorageError")
                && rows[0][4].contains("NOT EMPTIED: 1 file(s)"),
            "{:?}",
            rows[0][4]
        );
        assert!(rows.iter().flatten().all(|c| !c.contains('\u{202e}')));
    }

    #[test]
    fn each_fault_code_is_said_in_words() {
        assert_eq!(fault_label(fault::LOW_BATTERY, Lang::ZhCn), "电量低");
        assert_eq!(
            fault_label(fault::CLOCK_INVALID, Lang::En),
            "clock lost (power cut)"
        );
        assert_eq!(fault_label(0x8003, Lang::En), "maker's fault 0x8003");
        assert_eq!(fault_label(9, Lang::ZhCn), "故障 9");
        let doc = serde_json::json!({"updated_at": "2026-12-02T08:00:00Z", "recorders": {"dock x slot 0": {
            "dock": "D1", "slot": 0, "serial": "BWC1", "officer": null, "state": "pulling",
            "bytes_done": 50, "bytes_total": 200, "battery_pct": 12, "faults": [1, 3], "drift_ms": -45000}}});
        let zone = vigil_i18n::Zone::named("Asia/Shanghai").unwrap();
        let (updated, rows) = rows(&doc, Lang::ZhCn, &zone, &Names::default());
        assert_eq!(updated, "更新于 2026-12-02 16:00:00");
        assert_eq!(
            rows[0],
            [
                "D1",
                "0",
                "BWC1",
                "",
                "正在导入",
                "25 % (200 B)",
                "12 %",
                "电量低; 时钟失效（曾断电）",
                "-45.0 s"
            ]
        );
    }
}
