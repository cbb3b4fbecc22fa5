//! The `mudhost` command: CLI → config → tracing → run.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use mudhost::config::Config;
use mudhost::link::LinkAddr;

/// A MUD server host whose game logic is sandboxed WebAssembly, reloaded live.
#[derive(Parser)]
#[command(name = "mudhost", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// Where the game lives; shared by every subcommand that needs it.
#[derive(clap::Args, Clone, Default)]
struct GameArgs {
    /// Config file (TOML); relative paths in it are resolved against its folder.
    #[arg(long, env = "MUDHOST_CONFIG")]
    config: Option<PathBuf>,
    /// Data folder (database, sockets, compile cache); overrides the config file.
    #[arg(long)]
    data: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal in the foreground; it starts and supervises the server (the default).
    Start {
        #[command(flatten)]
        game: GameArgs,
        /// Websocket listener address (port 0 picks a free port; the chosen one is printed).
        #[arg(long)]
        ws_addr: Option<SocketAddr>,
        /// Folder of .wasm modules.
        #[arg(long)]
        modules: Option<PathBuf>,
    },
    /// Restart the server process of a running game with mudhost.toml read again; players stay
    /// connected. An invalid file refuses the reload (exit status 1) and the game goes on.
    Reload {
        #[command(flatten)]
        game: GameArgs,
        /// Reason shown to players.
        reason: Vec<String>,
    },
    /// Shut a running game down, telling players.
    Stop {
        #[command(flatten)]
        game: GameArgs,
        /// Reason shown to players.
        reason: Vec<String>,
    },
    /// Show whether a game is running, its processes and sessions.
    Status {
        #[command(flatten)]
        game: GameArgs,
    },
    /// List the running game's modules: kind, slots, WIT version, hash, commands, load time and
    /// last error (a rejected module shows its error).
    Modules {
        #[command(flatten)]
        game: GameArgs,
    },
    /// Create a game folder with a documented config, modules/ and data/.
    Init {
        /// Folder to create.
        dir: PathBuf,
    },
    /// Create a module crate NAME (in DIR, default the current folder) that builds on its own,
    /// with a first command and its unit test; the SDK is written beside it once.
    New {
        /// The module's name (its crate and .wasm are named after it).
        name: String,
        /// The plugin kind.
        #[arg(long, value_enum, default_value_t = mudhost::scaffold::Kind::Cmdset)]
        kind: mudhost::scaffold::Kind,
        /// The folder to create it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Build the module crate in DIR (default the current folder) for wasm32-wasip2 and put its
    /// .wasm in the game's modules folder (the config's; a running game loads it at once).
    Build {
        /// The module crate's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The game's config; without it, mudhost.toml in the current folder, else in the
        /// crate's parent folder.
        #[arg(long, env = "MUDHOST_CONFIG")]
        config: Option<PathBuf>,
        /// The modules folder to install into (instead of the config's).
        #[arg(long)]
        modules: Option<PathBuf>,
    },
    /// Run the server process (started by the portal; not for direct use).
    #[command(hide = true)]
    Server {
        /// The portal's link address, unix:PATH or tcp:HOST:PORT.
        #[arg(long)]
        link: String,
    },
}

fn load_config(game: &GameArgs) -> anyhow::Result<Config> {
    let mut cfg = Config::load(game.config.as_deref())?;
    if let Some(d) = &game.data {
        cfg.data_dir = d.clone();
    }
    Ok(cfg)
}

fn init_tracing(process: &'static str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    tracing::debug!(process, "tracing ready");
}

/// Log every panic as one error line (thread, place, message) before the default report. In
/// the server a panic anywhere also ends the process at once with status 101: its state lives
/// in the database and the portal, which restarts it, so continuing with a dead thread (the game
/// loop, the link reader) would only leave a server that looks up and serves nothing.
fn install_panic_hook(exit_on_panic: bool) {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
        let place = info.location().map(|l| l.to_string()).unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        tracing::error!(thread, place, "panic: {message}");
        default(info);
        if exit_on_panic {
            // SAFETY: _exit ends the process without running anything else; nothing here
            // needs unwinding (the database is committed or rolled back by SQLite itself).
            unsafe { libc::_exit(101) };
        }
    }));
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    install_panic_hook(matches!(cli.command, Some(Command::Server { .. })));
    let command = cli.command.unwrap_or(Command::Start {
        game: GameArgs::default(),
        ws_addr: None,
        modules: None,
    });
    // One thread per process for the async side: the portal's connection tasks, hub and link
    // tasks (and the server's link reader and writer) then hand messages to each other without
    // cross-thread wake-ups, which cost more CPU than the work itself. Blocking work never runs
    // on it: the game loop, password hashing and the module watcher have threads of their own.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match command {
        Command::Start { game, ws_addr, modules } => {
            init_tracing("portal");
            // Kept so that each reload reads the config again the same way (live config).
            let source = mudhost::portal::live_config::ConfigSource {
                path: game.config.clone(),
                data_dir: game.data.clone(),
                ws_addr,
                modules_dir: modules,
            };
            let cfg = source.load()?;
            let span = tracing::info_span!("portal");
            let portal = mudhost::portal::run_from(cfg, Some(source));
            rt.block_on(tracing::Instrument::instrument(portal, span))
        }
        Command::Server { link } => {
            init_tracing("server");
            let link = LinkAddr::parse(&link)?;
            let span = tracing::info_span!("server");
            rt.block_on(tracing::Instrument::instrument(mudhost::server::run(link), span))
        }
        Command::Reload { game, reason } => {
            // The file is read here first (to find the game): a broken one refuses the reload
            // before the game is asked, as the portal would.
            if let Err(e) = load_config(&game) {
                anyhow::bail!(
                    "reload refused: {e:#}. The game goes on with the old config (it was not \
                     asked to reload); fix the file and reload again."
                );
            }
            control(&rt, &game, &format!("reload {}", reason.join(" ")))
        }
        Command::Stop { game, reason } => {
            control(&rt, &game, &format!("stop {}", reason.join(" ")))
        }
        Command::Status { game } => control(&rt, &game, "status"),
        Command::Modules { game } => control(&rt, &game, "modules"),
        Command::New { name, kind, dir } => {
            let krate = mudhost::scaffold::new_module(&dir, &name, kind)?;
            println!(
                "{kind} module crate ready: {} (cargo test there runs its unit test; \
                 `mudhost build {}` puts it in the game)",
                krate.display(),
                krate.display()
            );
            Ok(())
        }
        Command::Build { dir, config, modules } => {
            let modules = match modules {
                Some(m) => m,
                None => build_config(config, &dir)?.modules_dir,
            };
            let installed = mudhost::scaffold::build_module(&dir, &modules)?;
            println!("installed {}", installed.display());
            Ok(())
        }
        Command::Init { dir } => {
            std::fs::create_dir_all(dir.join("modules"))?;
            std::fs::create_dir_all(dir.join("data"))?;
            let cfg = dir.join("mudhost.toml");
            if !cfg.exists() {
                // Private to the game's user from the start: the file may come to hold a TCP
                // `link_secret`.
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&cfg)
                    .and_then(|mut f| f.write_all(Config::default_file_text().as_bytes()))
                    .context("writing mudhost.toml")?;
            }
            println!("game folder ready: {} (config {})", dir.display(), cfg.display());
            Ok(())
        }
    }
}

/// The config `mudhost build` installs for: the one named, else `mudhost.toml` in the current
/// folder, else in the crate's parent folder (a game folder holding its module crates).
fn build_config(config: Option<PathBuf>, krate: &std::path::Path) -> anyhow::Result<Config> {
    let parent = std::path::absolute(krate)?.parent().map(|p| p.join("mudhost.toml"));
    let found = config
        .or_else(|| Some(PathBuf::from("mudhost.toml")).filter(|p| p.is_file()))
        .or_else(|| parent.filter(|p| p.is_file()));
    let Some(path) = found else {
        anyhow::bail!(
            "no game config: run in the game folder, or pass --config (or --modules) to say \
             where the module goes"
        );
    };
    Ok(Config::load(Some(&path))?)
}

fn control(rt: &tokio::runtime::Runtime, game: &GameArgs, line: &str) -> anyhow::Result<()> {
    let cfg = load_config(game)?;
    let timeout = std::time::Duration::from_millis(cfg.control_timeout_ms);
    let answer = rt.block_on(mudhost::portal::control::request(
        &cfg.control_socket(),
        line.trim(),
        timeout,
    ))?;
    // A refused request (a reload with an invalid config) fails the command: scripts see it.
    if let Some(why) = answer.strip_prefix("error: ") {
        anyhow::bail!("{why}");
    }
    println!("{answer}");
    Ok(())
}
