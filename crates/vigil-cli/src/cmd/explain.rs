//! `vigil explain GAP`: attach the explanation the regulations require to
//! an interruption (R8): spoken by a registered officer when recording
//! resumed, or written: filed and signed by the acting officer in their own
//! session, and complete once a second officer signs it in theirs
//! (`vigil sign`, in `sign.rs`). An explanation is never edited; a new one
//! supersedes it. Each step is in the audit log.

use std::process::ExitCode;
use vigil_service::ops;

use anyhow::bail;
use vigil_service::explanations::{Explain, Review};

use crate::output;

/// Arguments of `vigil explain`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("how").required(true).args(["spoken", "written"])))]
pub struct Args {
    /// The interruption's id (from `vigil gaps`).
    gap: String,
    /// The explanation is spoken in the footage.
    #[arg(long, requires_all = ["at", "by"])]
    spoken: bool,
    /// Where it is spoken: seconds from the start of the clip.
    #[arg(long, value_name = "SECONDS")]
    at: Option<f64>,
    /// The clip holding it [default: the clip where recording resumed].
    #[arg(long, value_name = "CLIP")]
    clip: Option<String>,
    /// The officer who spoke it (a registered officer).
    #[arg(long, value_name = "OFFICER")]
    by: Option<String>,
    /// The written explanation, filed and signed by you (the acting officer);
    /// a second officer signs it with `vigil sign EXPLANATION`.
    #[arg(long, value_name = "TEXT")]
    written: Option<String>,
    /// No longer accepted: signatures are given by each officer in their own
    /// session (`vigil sign`).
    #[arg(long, value_name = "OFFICER", hide = true)]
    signed_by: Vec<String>,
    /// Print the explanation as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil explain`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    super::plain_id("interruption", &args.gap)?;
    if !args.signed_by.is_empty() {
        bail!(
            "refused: --signed-by is no longer accepted: a signature is given by each officer in their own session; file the explanation with `vigil explain GAP --written TEXT` (it is signed by you), then the second officer runs `vigil sign EXPLANATION`"
        );
    }
    let how = if args.spoken {
        Explain::Spoken {
            at: args
                .at
                .ok_or_else(|| anyhow::anyhow!("--spoken needs --at SECONDS"))?,
            clip: args.clip.clone(),
            by: args
                .by
                .clone()
                .ok_or_else(|| anyhow::anyhow!("--spoken needs --by OFFICER"))?,
        }
    } else {
        Explain::Written {
            text: args.written.clone().unwrap_or_default(),
        }
    };
    let e = ctx.run::<ops::Explain>(args.gap.clone(), how)?;
    if args.json {
        output::print_json(&e)?;
    } else {
        let s = |k: &str| e[k].as_str().unwrap_or("").to_owned();
        let superseding = e["supersedes"]
            .as_str()
            .map(|p| format!(", superseding {p}"))
            .unwrap_or_default();
        let officers: Vec<&str> = e["officers"]
            .as_array()
            .map(|a| a.iter().filter_map(|o| o.as_str()).collect())
            .unwrap_or_default();
        if s("status") == "awaiting_signatures" {
            crate::say!(
                "{} explanation {} filed and signed by officer {}{superseding}; awaiting a second officer: `vigil sign {}`",
                s("gap"),
                s("id"),
                officers.join(", "),
                s("id")
            );
        } else {
            crate::say!(
                "{} explained ({}, {}){superseding}",
                s("gap"),
                s("kind"),
                s("id")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil review`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["accept", "reject"])))]
pub struct ReviewArgs {
    /// The interruption whose current explanation is reviewed.
    gap: String,
    /// The explanation is sufficient.
    #[arg(long)]
    accept: bool,
    /// The explanation is not sufficient (the officer must explain again).
    #[arg(long)]
    reject: bool,
    /// Why.
    #[arg(long)]
    note: Option<String>,
}

/// Runs `vigil review`: a supervisor or auditor accepts or rejects an
/// interruption's explanation; the gap log shows the reviewer, and a
/// rejection reopens the gap.
pub fn review(ctx: &super::Ctx, args: ReviewArgs) -> anyhow::Result<ExitCode> {
    super::plain_id("interruption", &args.gap)?;
    let r = Review {
        verdict: if args.accept { "accepted" } else { "rejected" }.to_owned(),
        note: args.note,
    };
    let doc = ctx.run::<ops::Review>(args.gap.clone(), r.clone())?;
    crate::say!(
        "{} explanation {} by {}; the interruption is {}",
        args.gap,
        r.verdict,
        doc["reviewer"].as_str().unwrap_or(""),
        doc["status"].as_str().unwrap_or("")
    );
    Ok(ExitCode::SUCCESS)
}
