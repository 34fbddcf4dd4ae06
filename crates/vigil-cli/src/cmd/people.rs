//! `vigil user`, `vigil officers`, `vigil devices`: who may act (R16, R20)
//! and who each recorder belongs to (R3). Every change is audited.

use std::process::ExitCode;
use vigil_service::op::{self};
use vigil_service::ops;

use anyhow::Context;
use vigil_service::registry::{Binding, NewDevice, NewOfficer, NewUser};

use super::Door;
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
        /// Where the station's notices of what waits for the user go.
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
    },
    /// Set where a user's notices of what waits for them are sent (no
    /// ADDRESS: none). An admin sets anyone's, a user their own.
    Email {
        /// User name.
        name: String,
        /// The address, e.g. zhang.san@station.example.
        address: Option<String>,
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
            email,
        } => {
            let u = NewUser {
                name,
                role,
                unix,
                officer,
                email,
            };
            ctx.run::<ops::AddUser>((), u.clone())?;
            crate::say!("user {} added as {}", u.name, u.role);
        }
        UserCmd::Email { name, address } => {
            super::plain_id("user", &name)?;
            ctx.run::<ops::SetEmail>(
                name.clone(),
                vigil_service::registry::NewEmail {
                    email: address.clone(),
                },
            )?;
            match address {
                Some(a) => crate::say!("notices for {name} go to {a}"),
                None => crate::say!("no notices are sent to {name}"),
            }
        }
        UserCmd::Passwd { name } => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password = line.trim_end_matches(['\n', '\r']).to_owned();
            super::plain_id("user", &name)?;
            ctx.run::<ops::SetPassword>(
                name.clone(),
                vigil_service::auth::NewPassword { password },
            )?;
            crate::say!("password of {name} set; their desk sessions ended");
        }
        UserCmd::List { json } => {
            let doc = ctx.run::<ops::Users>((), op::Empty {})?;
            if json {
                output::print_json(&doc)?;
            } else {
                use vigil_i18n::Msg;
                let w = output::Words::from_env();
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
                let mut table = output::Table::new(&w.heads(&[
                    Msg::ColUser,
                    Msg::ColRole,
                    Msg::ColUnix,
                    Msg::Officer,
                    Msg::ColEmail,
                ]));
                for u in doc["users"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    table.row([
                        text(&u["name"]),
                        w.role(&u["role"]),
                        text(&u["unix_user"]),
                        text(&u["officer"]),
                        text(&u["email"]),
                    ]);
                }
                table.print();
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
            let o = NewOfficer {
                id: officer.clone(),
                name,
                unit,
            };
            ctx.run::<ops::AddOfficer>((), o)?;
            crate::say!("officer {officer} registered");
        }
        OfficerCmd::List { json } => {
            let doc = ctx.run::<ops::Officers>((), op::Empty {})?;
            if json {
                output::print_json(&doc)?;
            } else {
                use vigil_i18n::Msg;
                let w = output::Words::from_env();
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
                let mut table =
                    output::Table::new(&w.heads(&[Msg::Officer, Msg::ColName, Msg::Unit]));
                for o in doc["officers"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    table.row([text(&o["id"]), text(&o["name"]), text(&o["unit"])]);
                }
                table.print();
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
            let d = NewDevice {
                serial: serial.clone(),
                model,
            };
            ctx.run::<ops::AddDevice>((), d)?;
            crate::say!("recorder {serial} registered");
        }
        DeviceCmd::Bind {
            serial,
            officer,
            from,
        } => {
            let from = match from {
                Some(f) => super::when(&f).context("--from")?,
                None => vigil_service::model::now_rfc3339(),
            };
            let b = Binding {
                officer: officer.clone(),
                from: from.clone(),
            };
            // Over the socket the serial is a path segment.
            if matches!(ctx.door(), Door::Daemon(_)) {
                super::plain_id("recorder", &serial)?;
            }
            ctx.run::<ops::Bind>(serial.clone(), b)?;
            crate::say!("recorder {serial} bound to officer {officer} from {from}");
        }
        DeviceCmd::List { json } => {
            let doc = ctx.run::<ops::Devices>((), op::Empty {})?;
            if json {
                output::print_json(&doc)?;
            } else {
                use vigil_i18n::Msg;
                let w = output::Words::from_env();
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
                // One row per binding (R3): who had the recorder when.
                let mut table = output::Table::new(&w.heads(&[
                    Msg::Recorder,
                    Msg::ColModel,
                    Msg::Officer,
                    Msg::From,
                    Msg::Until,
                ]));
                for d in doc["devices"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    let bindings = d["bindings"].as_array().cloned().unwrap_or_default();
                    if bindings.is_empty() {
                        table.row([
                            text(&d["serial"]),
                            text(&d["model"]),
                            text(&d["officer"]),
                            "-".into(),
                            "-".into(),
                        ]);
                    }
                    for b in &bindings {
                        table.row([
                            text(&d["serial"]),
                            text(&d["model"]),
                            text(&b["officer"]),
                            w.local(&b["from"]),
                            if b["to"].is_string() {
                                w.local(&b["to"])
                            } else {
                                w.t(Msg::ColNow).to_owned()
                            },
                        ]);
                    }
                }
                table.print();
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
