//! `vigil clips`: list what is stored. Served by vigild (`GET
//! /api/v1/clips`) or, on a store you own, by the same service code here.

use std::process::ExitCode;
use vigil_service::ops;

use vigil_service::queries::ClipQuery;

use crate::output;

/// Arguments of `vigil clips`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only clips of this officer.
    #[arg(long, value_name = "ID")]
    officer: Option<String>,
    /// Only clips from this recorder.
    #[arg(long, value_name = "SERIAL")]
    device: Option<String>,
    /// Only clips found by these words: officer name or number, recorder,
    /// site, case, tag note, explanation text (any substring).
    #[arg(long, value_name = "WORDS")]
    search: Option<String>,
    /// Only this station's (at the agency centre; a station is only itself).
    #[arg(long, value_name = "NAME")]
    station: Option<String>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    json: bool,
    /// Clips ingested more than this many hours after their recording
    /// ended are late (R1).
    #[arg(long, default_value_t = 24, value_name = "HOURS")]
    late_after: u64,
}

/// Runs `vigil clips`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let q = ClipQuery {
        officer: args.officer,
        device: args.device,
        late_after: Some(args.late_after),
        search: args.search,
        station: args.station,
    };
    let doc = ctx.run::<ops::Clips>((), q)?;
    if args.json {
        output::print_json(&doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    use vigil_i18n::Msg;
    let w = output::Words::from_env();
    let clips = doc["clips"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    // At the agency centre each recording names its station.
    let stations = clips.iter().any(|c| c["station"].is_string());
    let mut heads = vec![
        Msg::Recording,
        Msg::Recorder,
        Msg::Officer,
        Msg::Start,
        Msg::Bytes,
        Msg::Status,
        Msg::File,
    ];
    if stations {
        heads.insert(0, Msg::Station);
    }
    let mut table = output::Table::new(&w.heads(&heads)).right(&[4 + usize::from(stations)]);
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    for c in clips {
        let station = stations.then(|| text(&c["station"]));
        table.row(station.into_iter().chain([
            text(&c["clip"]),
            text(&c["device"]),
            text(&c["officer"]),
            w.local(&c["recorded_start"]),
            output::bytes(c["bytes"].as_u64().unwrap_or(0)),
            // What needs attention stands out (upper case in English).
            if c["damaged"] == true {
                w.t(Msg::StatusDamaged).to_uppercase()
            } else if c["late_ingest"] == true {
                w.t(Msg::StatusLate).to_uppercase()
            } else {
                w.t(Msg::StatusOk).to_owned()
            },
            text(&c["path"]),
        ]));
    }
    table.print();
    crate::say!(
        "{}\n{}",
        w.fmt(Msg::CountClips, &[("n", &clips.len().to_string())]),
        w.zone_line()
    );
    if doc["more"] == true {
        crate::say!(
            "{}",
            w.fmt(Msg::MoreThanShown, &[("n", &clips.len().to_string())])
        );
    }
    Ok(ExitCode::SUCCESS)
}
