//! `vigil gaps`: the gap log (R7–R9): every interruption, open or explained.

use std::process::ExitCode;
use vigil_service::ops;

use vigil_service::explanations::{self, GapQuery};

use crate::output;

/// Default hours after which an open interruption is overdue.
pub const DEFAULT_DEADLINE_H: i64 = explanations::DEFAULT_DEADLINE_H;

/// Arguments of `vigil gaps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only interruptions still needing an explanation.
    #[arg(long)]
    open: bool,
    /// Only this officer's.
    #[arg(long, value_name = "ID")]
    officer: Option<String>,
    /// Only this recorder's.
    #[arg(long, value_name = "SERIAL")]
    device: Option<String>,
    /// Only interruptions at or after this time (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Open interruptions found more than this many hours ago are overdue.
    #[arg(long, default_value_t = DEFAULT_DEADLINE_H, value_name = "HOURS")]
    deadline: i64,
    /// Only this station's (at the agency centre; a station is only itself).
    #[arg(long, value_name = "NAME")]
    station: Option<String>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil gaps`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    if let Some(since) = &args.since {
        anyhow::Context::context(super::parse_time(since), "--since")?;
    }
    let q = GapQuery {
        open: args.open,
        officer: args.officer,
        device: args.device,
        since: args.since,
        deadline: Some(args.deadline),
        station: args.station,
    };
    let doc = ctx.run::<ops::Gaps>((), q)?;
    if args.json {
        output::print_json(&doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    use vigil_i18n::Msg;
    let w = output::Words::from_env();
    let gaps = doc["gaps"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    // At the agency centre each interruption names its station.
    let stations = gaps.iter().any(|g| g["station"].is_string());
    let mut heads = vec![
        Msg::ColId,
        Msg::ColKind,
        Msg::Status,
        Msg::ColStream,
        Msg::ColOffset,
        Msg::Duration,
        Msg::ColWallClock,
        Msg::File,
    ];
    if stations {
        heads.insert(0, Msg::Station);
    }
    let shift = usize::from(stations);
    let mut table = output::Table::new(&w.heads(&heads)).right(&[4 + shift, 5 + shift]);
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    for g in gaps {
        let state = g["status"].as_str().unwrap_or("open");
        // Overdue stands out (upper case in English).
        let status = match (state, g["overdue"] == true) {
            ("explained", _) => w.t(Msg::GapExplained).to_owned(),
            (_, true) => w.t(Msg::OverdueMark).to_uppercase(),
            ("awaiting_signatures", false) => w.t(Msg::GapAwaiting).to_owned(),
            _ => w.t(Msg::GapOpen).to_owned(),
        };
        let kind = w.kind(&g["kind"]);
        let stream = w.stream(&g["stream"]);
        let here = text(&g["path"]).unwrap_or_default();
        let path = match (text(&g["previous_path"]), text(&g["missing"])) {
            (Some(prev), Some(missing)) => format!(
                "{prev} .. [{}] .. {here}",
                w.fmt(Msg::GapMissingFiles, &[("missing", &missing)])
            ),
            (Some(prev), None) => format!("{prev} -> {here}"),
            _ => here,
        };
        let station = stations.then(|| text(&g["station"]).unwrap_or_default());
        table.row(
            station.into_iter().chain([
                text(&g["id"]).unwrap_or_default(),
                kind,
                status,
                stream,
                g["offset_s"]
                    .as_f64()
                    .map(|o| format!("{o:.3}s"))
                    .unwrap_or_else(|| "-".into()),
                format!("{:.3}s", g["duration_s"].as_f64().unwrap_or(0.0)),
                w.local(&g["wall_start"]),
                path,
            ]),
        );
    }
    table.print();
    if doc["more"] == true {
        crate::say!(
            "{}",
            w.fmt(Msg::MoreThanShown, &[("n", &gaps.len().to_string())])
        );
    }
    let open = gaps.iter().filter(|g| g["status"] != "explained").count();
    let overdue = gaps.iter().filter(|g| g["overdue"] == true).count();
    crate::say!(
        "{}\n{}",
        w.fmt(
            Msg::CountGaps,
            &[
                ("n", &gaps.len().to_string()),
                ("open", &open.to_string()),
                ("overdue", &overdue.to_string())
            ]
        ),
        w.zone_line()
    );
    Ok(ExitCode::SUCCESS)
}
