//! `vigil user`, `vigil officers`, `vigil devices`: who may act (R16, R20)
//! and who each recorder belongs to (R3). Every change is audited.

use std::process::ExitCode;

use anyhow::Context;
use vigil_store::people::{Officer, User};

use crate::identity::{ADMIN, ANYONE, CUSTODY};
use crate::output;

/// Arguments of `vigil user`.
#[derive(Debug, clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCmd,
}

#[derive(Debug, clap::Subcommand)]
enum UserCmd {
    /// Register a user.
    Add {
        /// User name.
        name: String,
        /// officer, custodian, auditor, supervisor or admin.
        #[arg(long)]
        role: String,
        /// The Unix account that acts as this user [default: NAME].
        #[arg(long, value_name = "UNIXUSER")]
        unix: Option<String>,
        /// The officer id, for officers.
        #[arg(long, value_name = "ID")]
        officer: Option<String>,
    },
    /// List users.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set a user's desk password (read from standard input, first line;
    /// at least 10 characters). An admin sets anyone's, a user their own;
    /// their desk sessions end.
    Passwd {
        /// User name.
        name: String,
    },
}

/// Runs `vigil user`.
pub fn user(ctx: &super::Ctx, args: UserArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        UserCmd::Add {
            name,
            role,
            unix,
            officer,
        } => {
            let (mut store, id) = ctx.open(ADMIN, "adding users")?;
            let u = User {
                unix_user: Some(unix.unwrap_or_else(|| name.clone())),
                name,
                role,
                officer,
                created_at: String::new(),
            };
            store
                .add_user(&id.actor(), &u)
                .with_context(|| format!("adding user {}", u.name))?;
            crate::say!("user {} added as {}", u.name, u.role);
        }
        UserCmd::Passwd { name } => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password = line.trim_end_matches(['\n', '\r']).to_owned();
            super::explain::plain_id("user", &name)?;
            match ctx.door() {
                super::Door::Daemon(c) => {
                    c.post(
                        &format!("/api/v1/users/{name}/password"),
                        &serde_json::json!({ "password": password }),
                    )?;
                }
                super::Door::Embedded => {
                    let (mut store, id) = ctx.open(ANYONE, "setting a password")?;
                    vigil_service::auth::set_password(&mut store, &id, &name, &password)?;
                }
            }
            crate::say!("password of {name} set; their desk sessions ended");
        }
        UserCmd::List { json } => {
            let (store, _) = ctx.open(ANYONE, "listing users")?;
            let users = store.users()?;
            if json {
                output::print_json(&serde_json::json!({ "users": users }))?;
            } else {
                for u in users {
                    crate::say!(
                        "{:<16} {:<11} unix:{:<12} {}",
                        u.name,
                        u.role,
                        u.unix_user.as_deref().unwrap_or("-"),
                        u.officer
                            .as_deref()
                            .map(|o| format!("officer {o}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil officers`.
#[derive(Debug, clap::Args)]
pub struct OfficerArgs {
    #[command(subcommand)]
    command: OfficerCmd,
}

#[derive(Debug, clap::Subcommand)]
enum OfficerCmd {
    /// Register (or update) an officer.
    Add {
        /// Officer id (badge number).
        id: String,
        /// Name.
        #[arg(long)]
        name: Option<String>,
        /// Unit.
        #[arg(long)]
        unit: Option<String>,
    },
    /// List officers.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `vigil officers`.
pub fn officers(ctx: &super::Ctx, args: OfficerArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        OfficerCmd::Add {
            id: officer,
            name,
            unit,
        } => {
            let (mut store, id) = ctx.open(CUSTODY, "registering officers")?;
            store.upsert_officer(
                &id.actor(),
                &Officer {
                    id: officer.clone(),
                    name,
                    unit,
                },
            )?;
            crate::say!("officer {officer} registered");
        }
        OfficerCmd::List { json } => {
            let (store, _) = ctx.open(ANYONE, "listing officers")?;
            let officers = store.officers()?;
            if json {
                output::print_json(&serde_json::json!({ "officers": officers }))?;
            } else {
                for o in officers {
                    crate::say!(
                        "{:<12} {:<20} {}",
                        o.id,
                        o.name.as_deref().unwrap_or("-"),
                        o.unit.as_deref().unwrap_or("-")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil devices`.
#[derive(Debug, clap::Args)]
pub struct DeviceArgs {
    #[command(subcommand)]
    command: DeviceCmd,
}

#[derive(Debug, clap::Subcommand)]
enum DeviceCmd {
    /// Register a recorder.
    Add {
        /// Serial number.
        serial: String,
        /// Model.
        #[arg(long)]
        model: Option<String>,
    },
    /// Bind a recorder to an officer (R3); the previous binding ends then.
    Bind {
        /// Recorder serial.
        serial: String,
        /// Officer id.
        officer: String,
        /// From when (YYYY-MM-DD or RFC 3339) [default: now].
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
    },
    /// List recorders with their binding history.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `vigil devices`.
pub fn devices(ctx: &super::Ctx, args: DeviceArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DeviceCmd::Add { serial, model } => {
            let (mut store, id) = ctx.open(CUSTODY, "registering recorders")?;
            store.register_device(&id.actor(), &serial, model.as_deref())?;
            crate::say!("recorder {serial} registered");
        }
        DeviceCmd::Bind {
            serial,
            officer,
            from,
        } => {
            let from = match from {
                Some(f) => super::when(&f).context("--from")?,
                None => vigil_store::now_rfc3339(),
            };
            let (mut store, id) = ctx.open(CUSTODY, "binding recorders")?;
            store.bind(&id.actor(), &serial, &officer, &from)?;
            crate::say!("recorder {serial} bound to officer {officer} from {from}");
        }
        DeviceCmd::List { json } => {
            let (store, _) = ctx.open(ANYONE, "listing recorders")?;
            let devices = store.devices()?;
            if json {
                output::print_json(&serde_json::json!({ "devices": devices }))?;
            } else {
                for d in devices {
                    crate::say!(
                        "{:<12} {:<12} officer {}",
                        d.serial,
                        d.model.as_deref().unwrap_or("-"),
                        d.officer.as_deref().unwrap_or("-")
                    );
                    for b in d.bindings {
                        crate::say!(
                            "    {} .. {}  {}",
                            b.from,
                            b.to.as_deref().unwrap_or("now"),
                            b.officer
                        );
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
