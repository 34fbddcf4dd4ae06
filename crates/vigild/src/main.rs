//! `vigild`, the Vigil service. See `docs/operations.md`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Empties docked recorders and recorder mounts into the evidence store.
#[derive(Debug, Parser)]
#[command(name = "vigild", version)]
struct Args {
    /// Configuration file [default: /etc/vigil/vigild.toml if present].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The evidence store (overrides `store`).
    #[arg(long, value_name = "DIR", env = "VIGIL_STORE")]
    store: Option<PathBuf>,
    /// A dock device path or glob (overrides `docks`; repeatable).
    #[arg(long, value_name = "PATH")]
    dock: Vec<String>,
    /// The mount root to watch (overrides `watch`).
    #[arg(long, value_name = "DIR")]
    watch: Option<PathBuf>,
    /// Recorders served at once (overrides `max_parallel`).
    #[arg(long, value_name = "N")]
    max_parallel: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(!journald)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut config = vigild::config::Config::load(args.config.as_deref())?;
    if let Some(s) = args.store {
        config.store = s;
    }
    if !args.dock.is_empty() {
        config.docks = args.dock;
    }
    if let Some(w) = args.watch {
        config.watch = w;
    }
    if let Some(n) = args.max_parallel {
        config.max_parallel = n;
    }
    let rt = tokio::runtime::Runtime::new().context("starting the runtime")?;
    rt.block_on(vigild::run(config, async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT"),
        }
    }))
}
