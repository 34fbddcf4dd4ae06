//! `vigil sign EXPLANATION`: the acting officer signs a written
//! explanation in their own session (R8). The explanation counts once two
//! distinct registered officers have signed it; the same officer twice, an
//! unregistered officer and a user without an officer id are refused.

use std::process::ExitCode;
use vigil_service::op::{self};
use vigil_service::ops;

use crate::output;

/// Arguments of `vigil sign`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The explanation's id (printed by `vigil explain`, in `vigil gaps --json`).
    explanation: String,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil sign`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    super::plain_id("explanation", &args.explanation)?;
    let signed = ctx.run::<ops::Sign>(args.explanation.clone(), op::Empty {})?;
    if args.json {
        output::print_json(&signed)?;
    } else {
        let officers: Vec<&str> = signed["officers"]
            .as_array()
            .map(|a| a.iter().filter_map(|o| o.as_str()).collect())
            .unwrap_or_default();
        crate::say!(
            "{} explanation {} signed; signed by {}: {}",
            signed["gap"].as_str().unwrap_or(""),
            signed["explanation"].as_str().unwrap_or(""),
            officers.join(", "),
            signed["status"].as_str().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}
