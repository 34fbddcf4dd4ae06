//! The `vigil-centre` binary: `init` (schema, witness key, certificate;
//! prints what a station joins with), `serve`, `station add NAME --key
//! VKEY`, `station revoke NAME`, `station list`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use vigil_centre::config::Config;
use vigil_centre::{db, server, stations, users, witness_key};

#[derive(Debug, Parser)]
#[command(
    name = "vigil-centre",
    version,
    about = "The agency centre: stations' logs in PostgreSQL, each witnessed"
)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        default_value = "/etc/vigil/centre.toml",
        env = "VIGIL_CENTRE_CONFIG"
    )]
    config: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Bring the database's schema up to date, make the witness key and
    /// the TLS certificate if missing; print what stations join with.
    Init,
    /// Serve stations and desks.
    Serve,
    /// Enrolled stations.
    Station {
        #[command(subcommand)]
        cmd: StationCmd,
    },
    /// The agency's users at the centre.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Add a user; the password is read from standard input.
    Add {
        /// The user name.
        name: String,
        /// officer, custodian, auditor, supervisor or admin.
        #[arg(long)]
        role: String,
        /// The one station they see [default: every station].
        #[arg(long)]
        station: Option<String>,
        /// Their officer number, as the stations know it: a station
        /// refuses their approval of a request that officer filed, and
        /// their review of that officer's own work (R16).
        #[arg(long)]
        officer: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum StationCmd {
    /// Enrol a station by its log key (`vigil checkpoint --key` on it).
    Add {
        /// Its name (its log's origin, the key's name).
        name: String,
        /// Its verifier key, NAME+ID+BASE64.
        #[arg(long)]
        key: String,
    },
    /// Refuse a station from now on (what it sent is kept).
    Revoke {
        /// Its name.
        name: String,
    },
    /// Every station: last contact, entries held, last cosigned, flags.
    List {
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// Who runs the command: the operating system's account.
fn os_user() -> String {
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |u| u.name)
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: the journal and a log
        // file get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let config = Config::load(&cli.config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(cli.cmd, config))
}

async fn run(cmd: Cmd, config: Config) -> anyhow::Result<()> {
    let pool = db::pool(&config.database)?;
    match cmd {
        Cmd::Init => {
            let version = db::migrate(&pool).await?;
            let key = witness_key::ensure(&config)?;
            let (cert, tls_key) = config.tls();
            vigil_api::tls::ensure_self_signed(&cert, &tls_key, &config.hosts)?;
            println!("schema version {version}");
            println!("witness     {}", key.verifier().to_key_string());
            println!("fingerprint {}", vigil_api::tls::fingerprint(&cert)?);
        }
        Cmd::Serve => {
            db::migrate(&pool).await?;
            let witness = Arc::new(witness_key::load(&config)?);
            let zone = match &config.timezone {
                Some(z) => vigil_i18n::Zone::named(z).with_context(|| format!("timezone {z:?}"))?,
                None => vigil_i18n::Zone::system(),
            };
            let centre = server::Centre {
                pool: pool.clone(),
                witness,
                zone: Arc::new(zone),
            };
            let after_s = config.out_of_touch_s;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(
                    (after_s / 4).clamp(1, 60),
                ));
                loop {
                    tick.tick().await;
                    let swept = match pool.get().await {
                        Ok(c) => stations::sweep_out_of_touch(&c, after_s).await,
                        Err(e) => Err(e.into()),
                    };
                    if let Err(e) = swept {
                        tracing::warn!(error = %e, "the out-of-touch sweep failed");
                    }
                }
            });
            let shutdown = async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("a SIGTERM handler");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            };
            server::serve(&config, centre, shutdown).await?;
        }
        Cmd::User {
            cmd:
                UserCmd::Add {
                    name,
                    role,
                    station,
                    officer,
                },
        } => {
            db::migrate(&pool).await?;
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let client = pool.get().await.context("connecting to the database")?;
            users::add(
                &client,
                &os_user(),
                &name,
                &role,
                station.as_deref(),
                officer.as_deref(),
                password.trim_end_matches(['\n', '\r']),
            )
            .await?;
            println!(
                "added {name} ({role}, {})",
                station.as_deref().unwrap_or("every station")
            );
        }
        Cmd::Station { cmd } => {
            db::migrate(&pool).await?;
            let mut client = pool.get().await.context("connecting to the database")?;
            match cmd {
                StationCmd::Add { name, key } => {
                    stations::add(&mut client, &os_user(), &name, &key).await?;
                    println!("enrolled {name}");
                }
                StationCmd::Revoke { name } => {
                    stations::revoke(&mut client, &os_user(), &name).await?;
                    println!("revoked {name}");
                }
                StationCmd::List { json } => {
                    let all = stations::list(&client).await?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&all)?);
                    } else {
                        for s in all {
                            println!(
                                "{}\t{} entries, {} to come\tcosigned {} at {}\tlast contact {}\t{} open interruptions ({} overdue){}{}{}",
                                s.name,
                                s.applied,
                                s.depth.map_or("?".into(), |d| d.to_string()),
                                s.witnessed,
                                s.cosigned_at.as_deref().unwrap_or("never"),
                                s.last_contact.as_deref().unwrap_or("never"),
                                s.open_gaps,
                                s.overdue_gaps,
                                s.out_of_touch_since
                                    .map(|t| format!("\tOUT OF TOUCH since {t}"))
                                    .unwrap_or_default(),
                                s.revoked_at
                                    .map(|r| format!("\tREVOKED {r}"))
                                    .unwrap_or_default(),
                                s.flag
                                    .map(|f| format!("\tFLAGGED: {f}"))
                                    .unwrap_or_default(),
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
