//! `vigil sign EXPLANATION`: the acting officer signs a written
//! explanation in their own session (R8). The explanation counts once two
//! distinct registered officers have signed it; the same officer twice, an
//! unregistered officer and a user without an officer id are refused.

use std::process::ExitCode;

use anyhow::bail;

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
    let (mut store, id) = ctx.open(crate::identity::EXPLAIN, "signing an explanation")?;
    let Some(officer) = id.officer.clone() else {
        bail!(
            "refused: {} has no officer id, so cannot sign (R8); only an officer signs, in their own session",
            id.user
        );
    };
    let signed = store.sign(&id.actor(), &id.user, &officer, &args.explanation)?;
    if args.json {
        output::print_json(&signed)?;
    } else {
        crate::say!(
            "{} explanation {} signed by officer {officer}; signed by {}: {}",
            signed.gap,
            signed.explanation,
            signed.officers.join(", "),
            signed.status
        );
    }
    Ok(ExitCode::SUCCESS)
}
