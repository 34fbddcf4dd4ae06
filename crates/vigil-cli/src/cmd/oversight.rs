//! `vigil spotcheck` (R18) and `vigil confidential` (R17).

use std::process::ExitCode;
use vigil_service::op::{self};
use vigil_service::ops;

use vigil_service::custody::{Confidential, Draw, Finding};

use crate::output;

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
            let d = Draw {
                count,
                seed,
                since: since.map(vigil_service::model::rfc3339),
                until: until.map(vigil_service::model::rfc3339),
            };
            let doc = ctx.run::<ops::Draw>((), d)?;
            if json {
                output::print_json(&doc)?;
            } else {
                for d in doc["drawn"].as_array().into_iter().flatten() {
                    crate::say!(
                        "entry {:>4}  clip {}",
                        d["id"],
                        d["clip"].as_str().unwrap_or("-")
                    );
                }
            }
        }
        SpotCmd::Review { entry, finding } => {
            let f = Finding { finding };
            let doc = ctx.run::<ops::Finding>(entry, f)?;
            crate::say!(
                "entry {entry} reviewed by {}",
                doc["reviewer"].as_str().unwrap_or("-")
            );
        }
        SpotCmd::List { json } => {
            let doc = ctx.run::<ops::Spotchecks>((), op::Empty {})?;
            if json {
                output::print_json(&doc)?;
            } else {
                use vigil_i18n::Msg;
                let w = output::Words::from_env();
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
                let mut t = output::Table::new(&w.heads(&[
                    Msg::ColEntry,
                    Msg::Recording,
                    Msg::ColDrawn,
                    Msg::ColSeed,
                    Msg::ColReviewer,
                    Msg::ColFinding,
                ]))
                .right(&[0]);
                for s in doc["spotchecks"].as_array().into_iter().flatten() {
                    t.row([
                        s["id"].to_string(),
                        text(&s["clip"]),
                        w.local(&s["drawn_at"]),
                        text(&s["seed"]),
                        text(&s["reviewer"]),
                        s["finding"]
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| w.t(Msg::NotReviewed).to_owned()),
                    ]);
                }
                t.print();
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
    let c = Confidential {
        clips: args.clips,
        kind: args.kind,
    };
    let doc = ctx.run::<ops::Confidential>((), c.clone())?;
    output::outcome(
        args.json,
        &doc,
        &format!("{} clip(s) marked {}", c.clips.len(), c.kind),
    )?;
    Ok(ExitCode::SUCCESS)
}
