//! `vigil clips`: list what is stored.

use std::process::ExitCode;

use serde::Serialize;
use vigil_store::{Clip, ClipFilter};

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
    /// Print one JSON document instead of a table.
    #[arg(long)]
    json: bool,
    /// Clips ingested more than this many hours after their recording
    /// ended are late (R1).
    #[arg(long, default_value_t = 24, value_name = "HOURS")]
    late_after: u64,
}

#[derive(Serialize)]
struct JsonClips<'a> {
    clips: &'a [Clip],
}

/// Runs `vigil clips`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let (mut store, id) = ctx.open(crate::identity::ANYONE, "listing clips")?;
    let all = store.clips(&ClipFilter {
        officer: args.officer,
        device: args.device,
        clip: None,
        late_after_h: Some(args.late_after),
    })?;
    // R17: confidential clips are listed only to the roles allowed to see them.
    let mut clips = Vec::with_capacity(all.len());
    let mut hidden = 0;
    for c in all {
        if super::oversight::may_see(id.role, store.confidentiality(&c.clip)?.as_deref()) {
            clips.push(c);
        } else {
            hidden += 1;
        }
    }
    // R20: every read is attributable.
    store.record_read(
        &id.actor(),
        "clips.listed",
        "clips",
        &serde_json::json!({"shown": clips.len(), "hidden": hidden}),
    )?;
    if args.json {
        let mut doc = serde_json::to_value(JsonClips { clips: &clips })?;
        if let Some(list) = doc["clips"].as_array_mut() {
            for c in list {
                let id = c["clip"].as_str().unwrap_or_default().to_owned();
                c["tag"] = serde_json::to_value(store.tag_of(&id)?)?;
            }
        }
        output::print_json(&doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::say!(
        "{:<21}  {:<12}  {:<10}  {:<24}  {:>10}  {:<7}  PATH",
        "CLIP",
        "DEVICE",
        "OFFICER",
        "RECORDED",
        "SIZE",
        "STATUS"
    );
    for c in &clips {
        crate::say!(
            "{:<21}  {:<12}  {:<10}  {:<24}  {:>10}  {:<7}  {}",
            c.clip,
            c.device.as_deref().unwrap_or("-"),
            c.officer.as_deref().unwrap_or("-"),
            c.recorded_start.as_deref().unwrap_or("-"),
            output::bytes(c.bytes),
            if c.damaged {
                "DAMAGED"
            } else if c.late_ingest {
                "LATE"
            } else {
                "ok"
            },
            c.path
        );
    }
    crate::say!("{} clips", clips.len());
    Ok(ExitCode::SUCCESS)
}
