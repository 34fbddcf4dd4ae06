//! `vigil generate-docs DIR` (hidden; used by `cargo xtask deb`): man pages
//! for `vigil` and each subcommand (clap_mangen) and shell completions for
//! bash, zsh and fish (clap_complete), all generated from the same
//! definitions as the command line itself.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `vigil generate-docs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write `man/` and `completions/`.
    dir: PathBuf,
}

/// Writes man pages and completions for `cmd` under `dir`.
pub fn write_docs(cmd: clap::Command, dir: &Path) -> anyhow::Result<()> {
    let man = dir.join("man");
    let comp = dir.join("completions");
    for d in [&man, &comp] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let mut cmd = cmd;
    cmd.build();
    let name = cmd.get_name().to_owned();
    write_man(&cmd, &name, &man)?;
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        clap_complete::generate_to(shell, &mut cmd.clone(), &name, &comp)
            .with_context(|| format!("writing {shell} completions"))?;
    }
    Ok(())
}

fn write_man(cmd: &clap::Command, name: &str, dir: &Path) -> anyhow::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .render(&mut page)
        .with_context(|| format!("rendering the man page of {name}"))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let sub_name = format!("{name}-{}", sub.get_name());
        let sub = sub.clone().name(sub_name.clone());
        write_man(&sub, &sub_name, dir)?;
    }
    Ok(())
}

/// Runs `vigil generate-docs`.
pub fn run(cmd: clap::Command, args: Args) -> anyhow::Result<ExitCode> {
    write_docs(cmd, &args.dir)?;
    Ok(ExitCode::SUCCESS)
}
