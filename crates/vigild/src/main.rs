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
    /// The audit log's name in its checkpoints (overrides `station`; fixed
    /// when the station key is made at first start).
    #[arg(long, value_name = "NAME")]
    station: Option<String>,
    /// The station's time zone, an IANA name (overrides `timezone`).
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
    /// A dock device path or glob (overrides `docks`; repeatable).
    #[arg(long, value_name = "PATH")]
    dock: Vec<String>,
    /// The mount root to watch (overrides `watch`).
    #[arg(long, value_name = "DIR")]
    watch: Option<PathBuf>,
    /// The API's Unix socket (overrides `socket`; `""` for none).
    #[arg(long, value_name = "PATH", env = "VIGIL_SOCKET")]
    socket: Option<String>,
    /// The desk listener, HOST:PORT (overrides `listen`; TLS).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Recorders served at once (overrides `max_parallel`).
    #[arg(long, value_name = "N")]
    max_parallel: Option<usize>,
    /// Run as this user (name or uid) when started as root: vigild drops
    /// to it before it opens anything, and a new store is made its own.
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Write the udev rules for the configured recorder and dock USB ids
    /// (`recorder_usb_ids`, `dock_usb_ids`) to
    /// /run/udev/rules.d/71-vigil-local.rules, have udev apply them, and
    /// exit. The unit runs this as root before vigild starts.
    #[arg(long)]
    install_udev_rules: bool,
    /// Write the man page and shell completions under DIR and exit
    /// (packaging).
    #[arg(long, value_name = "DIR", hide = true)]
    generate_docs: Option<PathBuf>,
}

/// `vigild.8` and completions, from these very definitions.
fn generate_docs(dir: &std::path::Path) -> anyhow::Result<()> {
    use clap::CommandFactory;
    let (man, comp) = (dir.join("man"), dir.join("completions"));
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&comp)?;
    let mut cmd = Args::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .section("8")
        .render(&mut page)?;
    std::fs::write(man.join("vigild.8"), page)?;
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        clap_complete::generate_to(shell, &mut cmd, "vigild", &comp)?;
    }
    Ok(())
}

/// Logging: one line per event on stderr, every field in it
/// (`recorder mount found dir=/run/vigil/media/REC0001`), control and
/// bidirectional characters from recorders' file names and devices'
/// strings written as visible escapes. Under systemd (`JOURNAL_STREAM`)
/// each line starts with its syslog priority (`<6>`), which journald takes
/// as the entry's priority, and carries no time (the journal has it), so
/// `journalctl -u vigild` reads as plain sentences. On a terminal the
/// lines are coloured (never with `NO_COLOR`).
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .event_format(JournalLine)
            .init();
        return;
    }
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(filter)
        .init();
}

/// A journal line: `<priority>message field=value ...`, escaped.
struct JournalLine;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for JournalLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        use tracing_subscriber::fmt::FormatFields as _;
        let mut line = String::new();
        ctx.format_fields(
            tracing_subscriber::fmt::format::Writer::new(&mut line),
            event,
        )?;
        writeln!(writer, "<{priority}>{}", vigil_i18n::visible::line(&line))
    }
}

/// Memory that a burst of work leaves behind is given back: glibc's
/// allocator would otherwise keep each large buffer (a password hash's
/// 19 MiB, a page being built) in the arena of whichever of the many
/// blocking threads used it, and vigild would grow with how many requests
/// ever arrived at once. Large blocks are always mapped and unmapped, and
/// threads share a few arenas.
#[allow(unsafe_code)] // mallopt, which no safe wrapper sets
fn bound_the_allocator() {
    // SAFETY: mallopt only sets allocator parameters; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

fn main() -> anyhow::Result<()> {
    bound_the_allocator();
    init_logging();
    let args = Args::parse();
    if let Some(dir) = &args.generate_docs {
        return generate_docs(dir).with_context(|| format!("writing docs to {}", dir.display()));
    }
    let mut config = vigild::config::Config::load(args.config.as_deref())?;
    if args.install_udev_rules {
        let changed = vigild::devices::install_rules(&config.recorder_ids()?, &config.dock_ids()?)?;
        tracing::info!(
            path = vigild::devices::RULES_PATH,
            changed,
            recorders = ?config.recorder_usb_ids,
            docks = ?config.dock_usb_ids,
            "udev rules for the configured USB ids"
        );
        return Ok(());
    }
    if let Some(s) = args.store {
        config.store = s;
    }
    if let Some(z) = args.timezone {
        config.timezone = Some(z);
    }
    if let Some(s) = args.station {
        config.station = Some(s);
    }
    if !args.dock.is_empty() {
        config.docks = args.dock;
    }
    if let Some(w) = args.watch {
        config.watch = w;
    }
    if let Some(s) = args.socket {
        config.socket = (!s.is_empty()).then(|| PathBuf::from(s));
    }
    if let Some(l) = args.listen {
        config.listen = Some(l);
    }
    if let Some(n) = args.max_parallel {
        config.max_parallel = n;
    }
    if let Some(user) = &args.user {
        vigild::privilege::drop_to(user, &config.store)?;
    }
    vigild::privilege::check_owner(&config.store)?;
    let rt = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let mut term = rt
        .block_on(async {
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        })
        .context("installing the SIGTERM handler")?;
    rt.block_on(vigild::run(config, async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT"),
        }
    }))
}
