//! `vigil`: the command line for custodians and auditors.
//!
//! One file per subcommand under `cmd/`. Every command opens the store named
//! by `--store`, `VIGIL_STORE`, or the default location, and acts as the
//! Unix user running it (recorded in the audit log, R20).

mod cmd;
mod output;
mod proof;

/// Who acts and may they: the service's identity module, shared with vigild.
mod identity {
    pub use vigil_service::identity::*;
}

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vigil keeps body-worn camera footage as evidence a court can trust.
#[derive(Debug, Parser)]
#[command(
    name = "vigil",
    version,
    about,
    after_long_help = "EXIT STATUS:\n  0  done, and everything checked holds\n  1  a problem was found (verify found damage or tampering, files not stored, a refused erase)\n  2  an error: bad arguments, no store, a store that cannot be used, I/O\n  3  refused: the acting user may not do this, or a rule of custody forbids it\n  4  nothing answers: no vigild at the socket, or no server at --server's address\n\nEnvironment: VIGIL_STORE (the store), VIGIL_LOG (log filter), VIGIL_TIMEZONE (the station's zone for in-process reports), VIGIL_STATION (the audit log's name when a new store's key is made), LANG (the language of printable reports), NO_COLOR."
)]
struct Cli {
    /// The evidence store directory [default: /var/lib/vigil for root,
    /// $XDG_DATA_HOME/vigil otherwise].
    #[arg(long, global = true, env = "VIGIL_STORE", value_name = "DIR")]
    store: Option<PathBuf>,

    /// Talk to vigild on this socket [default: /run/vigil/vigil.sock when no
    /// --store is given and it exists]. Served through it so far: clips,
    /// audit, status.
    #[arg(long, global = true, env = "VIGIL_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,

    /// Act as this registered Vigil user (root only; the audit log records
    /// both).
    #[arg(long = "as", global = true, value_name = "NAME")]
    as_user: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest a recorder's mounted storage into the store.
    Ingest(cmd::ingest::Args),
    /// List stored clips.
    Clips(cmd::clips::Args),
    /// Re-read every object and check hashes, clips and the audit chain.
    Verify(cmd::verify::Args),
    /// Check a court package offline: manifests, checkpoint, custody proofs.
    VerifyExport(cmd::verify_export::Args),
    /// List interruptions in the footage and their explanations.
    Gaps(cmd::gaps::Args),
    /// Attach a spoken or written explanation to an interruption.
    Explain(cmd::explain::Args),
    /// Accept or reject an interruption's explanation (supervisor, auditor).
    Review(cmd::explain::ReviewArgs),
    /// Sign a written explanation as the acting officer (a second officer completes it).
    Sign(cmd::sign::Args),
    /// Log in to a station's desk listener (password on standard input).
    Login(cmd::login::Args),
    /// End the desk session and forget it.
    Logout,
    /// Write man pages and shell completions to a directory (packaging).
    #[command(hide = true)]
    GenerateDocs(cmd::generate::Args),
    /// Analyse media files for interruptions without storing them.
    Analyze(cmd::analyze::Args),
    /// Talk to a docking station: status, pull, enroll.
    Dock(cmd::dock::Args),
    /// What vigild is doing now: docks, recorders, progress, errors.
    Status(cmd::status::Args),
    /// Vigil users and their roles.
    User(cmd::people::UserArgs),
    /// The officers registry.
    Officers(cmd::people::OfficerArgs),
    /// The recorder registry and its officer bindings.
    Devices(cmd::people::DeviceArgs),
    /// The audit log.
    Audit(cmd::audit::Args),
    /// The agency centre this station sends its log to: join it, see the outbox.
    Centre(cmd::centre::Args),
    /// The audit log's signed checkpoint; check that the log extends one kept.
    Checkpoint(cmd::checkpoint::Args),
    /// Tag clips with site, case, category and description.
    Tag(cmd::tag::TagArgs),
    /// What is past its deadline: untagged clips, unexplained interruptions.
    Overdue(cmd::tag::OverdueArgs),
    /// Ask to retrieve clips (the retrieval form); prints the request id.
    Request(cmd::export::RequestArgs),
    /// The newest retrieval requests and what was decided (at the agency centre, every station's).
    Requests(cmd::export::RequestsArgs),
    /// Approve a retrieval request (a supervisor other than the requester).
    Approve(cmd::export::ApproveArgs),
    /// Turn a retrieval request down, with the reason (a supervisor other than the requester).
    Reject(cmd::export::RejectArgs),
    /// Write an approved request's clips as a package checkable with b3sum/sha256sum.
    Export(cmd::export::ExportArgs),
    /// Reports: ingest (shift/day), gap log, statistics.
    Report(cmd::report::Args),
    /// Give clips a retention class.
    Retain(cmd::retention::RetainArgs),
    /// Hold clips beyond their retention (dispute, complaint...).
    Hold(cmd::retention::HoldArgs),
    /// Release a hold.
    Release(cmd::retention::ReleaseArgs),
    /// Record a case closed or filed.
    Case(cmd::retention::CaseArgs),
    /// Remove expired clips: dry run, --confirm, --approve, --run.
    Purge(cmd::retention::PurgeArgs),
    /// The spot-check ledger: draw a sample, record findings.
    Spotcheck(cmd::oversight::SpotArgs),
    /// Mark clips confidential (state secret, trade secret, privacy).
    Confidential(cmd::oversight::ConfArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    if let Ok(name) = std::env::var("VIGIL_STATION") {
        // The log's name, when this open of a store makes its key.
        if let Err(e) = vigil_service::model::set_origin(&name) {
            eprintln!("vigil: error: VIGIL_STATION={name:?} cannot name the audit log: {e}");
            return ExitCode::from(2);
        }
    }
    let store = cmd::Ctx {
        socket: cli.socket.clone(),
        named: cli.store.is_some(),
        store: cli.store.clone().unwrap_or_else(default_store),
        as_user: cli.as_user.clone(),
    };
    let result = match cli.command {
        Command::Ingest(args) => cmd::ingest::run(&store, args),
        Command::Clips(args) => cmd::clips::run(&store, args),
        Command::Verify(args) => cmd::verify::run(&store, args),
        Command::VerifyExport(args) => cmd::verify_export::run(args),
        Command::Analyze(args) => cmd::analyze::run(&store, args),
        Command::Gaps(args) => cmd::gaps::run(&store, args),
        Command::Explain(args) => cmd::explain::run(&store, args),
        Command::Review(args) => cmd::explain::review(&store, args),
        Command::Sign(args) => cmd::sign::run(&store, args),
        Command::Login(args) => cmd::login::login(args),
        Command::Logout => cmd::login::logout(),
        Command::GenerateDocs(args) => {
            cmd::generate::run(<Cli as clap::CommandFactory>::command(), args)
        }
        Command::Dock(args) => cmd::dock::run(&store, args),
        Command::Status(args) => cmd::status::run(&store, args),
        Command::Centre(args) => cmd::centre::run(&store, args),
        Command::User(args) => cmd::people::user(&store, args),
        Command::Officers(args) => cmd::people::officers(&store, args),
        Command::Devices(args) => cmd::people::devices(&store, args),
        Command::Audit(args) => cmd::audit::run(&store, args),
        Command::Checkpoint(args) => cmd::checkpoint::run(&store, args),
        Command::Tag(args) => cmd::tag::tag(&store, args),
        Command::Overdue(args) => cmd::tag::overdue(&store, args),
        Command::Request(args) => cmd::export::request(&store, args),
        Command::Requests(args) => cmd::export::requests(&store, args),
        Command::Approve(args) => cmd::export::approve(&store, args),
        Command::Reject(args) => cmd::export::reject(&store, args),
        Command::Export(args) => cmd::export::export(&store, args),
        Command::Report(args) => cmd::report::run(&store, args),
        Command::Retain(args) => cmd::retention::retain(&store, args),
        Command::Hold(args) => cmd::retention::hold(&store, args),
        Command::Release(args) => cmd::retention::release(&store, args),
        Command::Case(args) => cmd::retention::case(&store, args),
        Command::Purge(args) => cmd::retention::purge(&store, args),
        Command::Spotcheck(args) => cmd::oversight::spotcheck(&store, args),
        Command::Confidential(args) => cmd::oversight::confidential(&store, args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vigil: error: {}", output::printable(&format!("{e:#}")));
            // A refusal (who may do what, a rule of custody) is not an error
            // of the command: exit 3, as the man page says.
            let unreachable = e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<vigil_api::client::ClientError>(),
                    Some(
                        vigil_api::client::ClientError::Unreachable { .. }
                            | vigil_api::client::ClientError::ServerUnreachable { .. }
                    )
                )
            });
            if unreachable {
                ExitCode::from(4)
            } else if e.chain().any(|c| c.to_string().starts_with("refused")) {
                ExitCode::from(3)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

/// `/var/lib/vigil` for root, `$XDG_DATA_HOME/vigil` (or
/// `~/.local/share/vigil`) for anyone else.
/// The station's time zone for in-process work: `VIGIL_TIMEZONE` (an IANA
/// name), else the system's.
pub(crate) fn zone() -> vigil_i18n::Zone {
    std::env::var("VIGIL_TIMEZONE")
        .ok()
        .and_then(|z| vigil_i18n::Zone::named(&z).ok())
        .unwrap_or_else(vigil_i18n::Zone::system)
}

fn default_store() -> PathBuf {
    if rustix::process::geteuid().is_root() {
        return PathBuf::from("/var/lib/vigil");
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("vigil");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".local/share/vigil")
}
