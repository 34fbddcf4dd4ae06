//! `vigil explain GAP`: attach the explanation the regulations require to
//! an interruption (R8): spoken by a registered officer when recording
//! resumed, or written: filed and signed by the acting officer in their own
//! session, and complete once a second officer signs it in theirs
//! (`vigil sign`, in `sign.rs`). An explanation is never edited; a new one
//! supersedes it. Each step is in the audit log.

use std::process::ExitCode;

use anyhow::{bail, Context};
use vigil_store::NewExplanation;

use crate::output;

/// Audio quieter than this at the stated offset is taken as silence.
pub const SILENCE_DBFS: f64 = -50.0;
/// Seconds of audio measured from the stated offset.
pub const WINDOW_S: f64 = 3.0;

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
    let (mut store, id) = ctx.open(crate::identity::EXPLAIN, "explaining an interruption")?;
    let gap = store
        .gap(&args.gap)?
        .with_context(|| format!("no interruption {:?} (see `vigil gaps`)", args.gap))?;
    let new = if args.spoken {
        let at = args.at.context("--spoken needs --at SECONDS")?;
        let by = args.by.clone().context("--spoken needs --by OFFICER")?;
        let clip_id = args.clip.clone().unwrap_or_else(|| gap.clip.clone());
        let clip = store
            .clip(&clip_id)?
            .with_context(|| format!("no clip {clip_id:?}"))?;
        let duration = clip.duration_s.unwrap_or(0.0);
        if !(0.0..=duration).contains(&at) {
            bail!(
                "refused: clip {clip_id} ({}) is {duration:.3} s long; offset {at} s is not in it",
                clip.path
            );
        }
        let object = store.objects().object_path(&clip.blake3);
        let level = vigil_media::audio_level_dbfs(&object, at, WINDOW_S)
            .with_context(|| format!("measuring the audio of clip {clip_id}"))?;
        let Some(level) = level else {
            bail!(
                "refused: clip {clip_id} ({}) has no audio at {at} s to hold a spoken explanation",
                clip.path
            );
        };
        if level < SILENCE_DBFS {
            bail!(
                "refused: the audio of clip {clip_id} ({}) is silent at {at} s ({level:.1} dBFS over {WINDOW_S} s, below {SILENCE_DBFS} dBFS)",
                clip.path
            );
        }
        NewExplanation::Spoken {
            clip: clip_id,
            at_s: at,
            level_dbfs: (level * 10.0).round() / 10.0,
            by,
        }
    } else {
        let text = args.written.clone().context("--written needs TEXT")?;
        if !args.signed_by.is_empty() {
            bail!(
                "refused: --signed-by is no longer accepted: a signature is given by each officer in their own session; file the explanation with `vigil explain GAP --written TEXT` (it is signed by you), then the second officer runs `vigil sign EXPLANATION`"
            );
        }
        if text.trim().is_empty() {
            bail!("refused: the written explanation is empty");
        }
        let Some(officer) = id.officer.clone() else {
            bail!(
                "refused: {} has no officer id, so cannot sign a written explanation (R8); an officer files it in their own session (an admin maps the account with `vigil user add NAME --role officer --officer ID`)",
                id.user
            );
        };
        NewExplanation::Written {
            text,
            by: officer,
            user: id.user.clone(),
        }
    };
    let e = store.explain(&id.actor(), &gap.id, &new)?;
    if args.json {
        output::print_json(&e)?;
    } else {
        let superseding = e
            .supersedes
            .as_deref()
            .map(|s| format!(", superseding {s}"))
            .unwrap_or_default();
        match vigil_store::gaps::status_of(Some(&e)) {
            "awaiting_signatures" => crate::say!(
                "{} explanation {} filed and signed by officer {}{superseding}; awaiting a second officer: `vigil sign {}`",
                gap.id,
                e.id,
                e.officers.join(", "),
                e.id
            ),
            _ => crate::say!("{} explained ({}, {}){superseding}", gap.id, e.kind, e.id),
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
/// interruption's explanation; the gap log shows the reviewer.
pub fn review(ctx: &super::Ctx, args: ReviewArgs) -> anyhow::Result<ExitCode> {
    use crate::identity::Role;
    let (mut store, id) = ctx.open(
        &[Role::Supervisor, Role::Auditor, Role::Admin],
        "reviewing explanations",
    )?;
    let verdict = if args.accept { "accepted" } else { "rejected" };
    store
        .review(
            &id.actor(),
            &id.user,
            &args.gap,
            verdict,
            args.note.as_deref(),
        )
        .with_context(|| format!("reviewing {}", args.gap))?;
    crate::say!("{} explanation {verdict} by {}", args.gap, id.user);
    Ok(ExitCode::SUCCESS)
}
