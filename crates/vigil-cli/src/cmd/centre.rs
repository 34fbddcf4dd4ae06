//! `vigil centre join URL --fingerprint SHA256 --witness VKEY`: the
//! agency centre the station sends its log to (admin; audited
//! `centre.joined`); `vigil centre`: the link, how much of the log waits
//! in the outbox, when the centre last answered, the newest cosigned
//! checkpoint.

use std::process::ExitCode;

use vigil_service::centre::Join;
use vigil_service::op::Empty;
use vigil_service::ops;

use crate::output;

/// Arguments of `vigil centre`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    cmd: Option<Sub>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Send this station's log to the centre at URL (https://HOST:PORT).
    Join(JoinArgs),
}

/// Arguments of `vigil centre join`.
#[derive(Debug, clap::Args)]
pub struct JoinArgs {
    /// The centre's address, https://HOST:PORT.
    url: String,
    /// The SHA-256 fingerprint of the centre's TLS certificate
    /// (`vigil-centre init` prints it).
    #[arg(long)]
    fingerprint: String,
    /// The centre's witness key (`vigil-centre init` prints it).
    #[arg(long)]
    witness: String,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil centre`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let (doc, json) = match args.cmd {
        Some(Sub::Join(j)) => (
            ctx.run::<ops::CentreJoin>(
                (),
                Join {
                    url: j.url,
                    fingerprint: j.fingerprint,
                    witness: j.witness,
                },
            )?,
            j.json,
        ),
        None => (ctx.run::<ops::Centre>((), Empty {})?, args.json),
    };
    if json {
        output::print_json(&doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    let link = &doc["link"];
    if link.is_null() {
        crate::say!(
            "not joined to a centre (`vigil centre join URL --fingerprint SHA256 --witness VKEY`)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let out = &doc["outbox"];
    crate::say!("centre      {}", link["url"].as_str().unwrap_or("-"));
    crate::say!("witness     {}", link["witness"].as_str().unwrap_or("-"));
    crate::say!("joined      {}", link["joined_at"].as_str().unwrap_or("-"));
    crate::say!(
        "log         {} entries, {} at the centre, {} waiting to be sent",
        doc["log_size"],
        out["applied"],
        doc["depth"]
    );
    crate::say!(
        "last answer {}",
        out["last_contact"].as_str().unwrap_or("never")
    );
    if let Some(e) = out["last_error"].as_str() {
        crate::say!(
            "last error  {} ({})",
            e,
            out["error_at"].as_str().unwrap_or("-")
        );
    }
    match doc["cosigned"]["size"].as_u64() {
        Some(s) => crate::say!(
            "cosigned    checkpoint of size {s}, received {}",
            doc["cosigned"]["signed_at"].as_str().unwrap_or("-")
        ),
        None => crate::say!("cosigned    no checkpoint yet"),
    }
    Ok(ExitCode::SUCCESS)
}
