//! `vigil spotcheck` (R18) and `vigil confidential` (R17).

use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::identity::{Role, AUDIT, CUSTODY};
use crate::output;

/// Kinds of confidential content.
pub const KINDS: &[&str] = &["state_secret", "trade_secret", "privacy"];

/// Whether `role` may see a clip marked `kind` (R17): state secrets only
/// supervisors and admins; trade secrets and private matters custodians too.
pub fn may_see(role: Role, kind: Option<&str>) -> bool {
    vigil_service::queries::may_see(role, kind)
}

/// Arguments of `vigil spotcheck`.
#[derive(Debug, clap::Args)]
pub struct SpotArgs {
    #[command(subcommand)]
    command: SpotCmd,
}

#[derive(Debug, clap::Subcommand)]
enum SpotCmd {
    /// Draw a reproducible random sample of clips for review.
    Draw {
        /// How many clips.
        #[arg(long, default_value_t = 5)]
        count: usize,
        /// The seed (record it: the same seed over the same clips draws the same sample).
        #[arg(long)]
        seed: String,
        /// Clips ingested at or after (YYYY-MM-DD or RFC 3339) [default: all].
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// ...and before [default: now].
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record the acting user's finding on a drawn entry.
    Review {
        /// Ledger entry id.
        entry: i64,
        /// What was found.
        #[arg(long)]
        finding: String,
    },
    /// The ledger.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `vigil spotcheck`.
pub fn spotcheck(ctx: &super::Ctx, args: SpotArgs) -> anyhow::Result<ExitCode> {
    let (mut store, id) = ctx.open(AUDIT, "spot checks")?;
    match args.command {
        SpotCmd::Draw {
            count,
            seed,
            since,
            until,
            json,
        } => {
            let since = since.as_deref().map(super::parse_time).transpose()?;
            let until = until.as_deref().map(super::parse_time).transpose()?;
            super::check_period(("--since", since), ("--until", until))?;
            let since = since.map_or_else(|| "0000".into(), vigil_store::rfc3339);
            let until = until.map_or_else(|| "9999".into(), vigil_store::rfc3339);
            let drawn = store.draw_spotcheck(&id.actor(), count, &seed, &since, &until)?;
            if json {
                output::print_json(&serde_json::json!({ "drawn": drawn }))?;
            } else {
                for d in &drawn {
                    crate::say!("entry {:>4}  clip {}", d.id, d.clip);
                }
            }
        }
        SpotCmd::Review { entry, finding } => {
            if finding.trim().is_empty() {
                bail!("--finding must say what was found");
            }
            store.review_spotcheck(&id.actor(), entry, &id.user, &finding)?;
            crate::say!("entry {entry} reviewed by {}", id.user);
        }
        SpotCmd::List { json } => {
            let all = store.spotchecks()?;
            if json {
                output::print_json(&serde_json::json!({ "spotchecks": all }))?;
            } else {
                for s in &all {
                    crate::say!(
                        "{:>4}  {}  drawn {} (seed {})  {}",
                        s.id,
                        s.clip,
                        s.drawn_at,
                        s.seed,
                        s.finding
                            .as_deref()
                            .map(|f| format!("{}: {f}", s.reviewer.as_deref().unwrap_or("?")))
                            .unwrap_or_else(|| "not reviewed".into())
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil confidential`.
#[derive(Debug, clap::Args)]
pub struct ConfArgs {
    /// Clips.
    #[arg(required = true)]
    clips: Vec<String>,
    /// state_secret, trade_secret or privacy.
    #[arg(long)]
    kind: String,
    /// Print the outcome as one JSON document.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil confidential`.
pub fn confidential(ctx: &super::Ctx, args: ConfArgs) -> anyhow::Result<ExitCode> {
    if !KINDS.contains(&args.kind.as_str()) {
        bail!("--kind {:?}: one of {}", args.kind, KINDS.join(", "));
    }
    let (mut store, id) = ctx.open(
        &[CUSTODY, &[Role::Supervisor]].concat(),
        "marking clips confidential",
    )?;
    for c in &args.clips {
        store.clip(c)?.with_context(|| format!("no clip {c:?}"))?;
    }
    store.mark_confidential(&id.actor(), &args.clips, &args.kind)?;
    output::outcome(
        args.json,
        &serde_json::json!({"clips": args.clips, "kind": args.kind}),
        &format!("{} clip(s) marked {}", args.clips.len(), args.kind),
    )?;
    Ok(ExitCode::SUCCESS)
}
