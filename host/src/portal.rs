//! The portal process: every client connection, sessid allocation, the mirror of every
//! session's sync data, the input queue that carries players through server restarts, and the
//! supervision of the server process.

pub mod control;
pub mod hub;
pub mod limits;
pub mod markup;
pub mod supervisor;
pub mod websocket;
pub mod wire;

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::link::{self, LinkAddr, LinkStream, PortalMsg, ServerMsg, LINK_VERSION};
use crate::shutdown::{self, Shutdown};
use hub::{ControlCmd, Hub, HubEvent};

/// Events queued towards the hub before connection tasks wait.
const HUB_QUEUE: usize = 8192;
/// How long to wait for connections to flush their close frames at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// The line printed on stdout once the websocket listener is bound (tests read the port from it).
pub const LISTENING_PREFIX: &str = "mudhost portal listening on ws://";

/// Run the portal (and, through the supervisor, the server) until shutdown.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let cfg = Arc::new(cfg);
    raise_fd_limit();
    std::fs::create_dir_all(&cfg.data_dir).context("creating the data folder")?;
    std::fs::create_dir_all(&cfg.modules_dir).context("creating the modules folder")?;

    let control_path = cfg.control_socket();
    if control::request(&control_path, "status").await.is_ok() {
        bail!("a portal is already running for {}", cfg.data_dir.display());
    }
    let _ = std::fs::remove_file(&control_path);
    let control_listener = UnixListener::bind(&control_path)
        .with_context(|| format!("binding the control socket {}", control_path.display()))?;

    let ws_listener = TcpListener::bind(cfg.ws_addr)
        .await
        .with_context(|| format!("binding the websocket listener on {}", cfg.ws_addr))?;
    let ws_addr = ws_listener.local_addr()?;

    let link_addr = if cfg.link == "unix" {
        LinkAddr::Unix(cfg.data_dir.join("link.sock"))
    } else {
        LinkAddr::parse(&cfg.link)?
    };
    let link_listener = LinkListener::bind(&link_addr).await?;

    let (trigger, shutdown) = shutdown::channel();
    let (hub_tx, hub_rx) = mpsc::channel(HUB_QUEUE);
    let (sup_tx, sup_rx) = mpsc::unbounded_channel();
    let hub = Hub::new(cfg.clone(), sup_tx, trigger.clone());
    let hub_task = tokio::spawn(hub.run(hub_rx));

    let exe = std::env::current_exe().context("finding the mudhost executable")?;
    tokio::spawn(supervisor::supervise(
        exe,
        link_addr.clone(),
        Duration::from_millis(cfg.restart_backoff_ms),
        sup_rx,
        hub_tx.clone(),
    ));
    tokio::spawn(link_listener.serve(hub_tx.clone(), shutdown.clone()));
    tokio::spawn(control::serve(control_listener, hub_tx.clone(), shutdown.clone()));
    tokio::spawn(stop_on_signals(hub_tx.clone(), shutdown.clone()));
    if let Some(every) = limits::idle_sweep_interval(&cfg) {
        tokio::spawn(idle_sweeps(every, hub_tx.clone(), shutdown.clone()));
    }
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    tokio::spawn(websocket::serve(ws_listener, cfg.clone(), hub_tx.clone(), shutdown.clone(), alive_tx));
    drop(hub_tx);

    tracing::info!(%ws_addr, link = %link_addr, "portal started");
    println!("{LISTENING_PREFIX}{ws_addr}");
    let _ = std::io::stdout().flush();

    let _ = hub_task.await;
    // Every connection task holds an `alive` sender; recv() ends when the last one is gone.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, alive_rx.recv()).await;
    let _ = std::fs::remove_file(&control_path);
    if let LinkAddr::Unix(p) = &link_addr {
        let _ = std::fs::remove_file(p);
    }
    tracing::info!("portal stopped");
    Ok(())
}

/// Raise the open-file soft limit to the hard limit: every client is a socket, and the common
/// default soft limit (1024) would cap a game at about a thousand players.
fn raise_fd_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain libc calls with a valid, initialised struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            let wanted = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) != 0 {
                tracing::warn!("could not raise the open-file limit");
            }
        }
    }
}

/// SIGINT / SIGTERM: shut down cleanly, telling players.
async fn stop_on_signals(hub: mpsc::Sender<HubEvent>, mut shutdown: Shutdown) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        _ = shutdown.wait() => return,
    };
    tracing::info!(signal = name, "signal received; shutting down");
    let _ = hub.send(HubEvent::Control { cmd: ControlCmd::Stop(String::new()), reply: None }).await;
}

/// Ask the hub for an idle sweep every `every` until shutdown.
async fn idle_sweeps(every: Duration, hub: mpsc::Sender<HubEvent>, mut shutdown: Shutdown) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if hub.send(HubEvent::IdleSweep).await.is_err() {
                    return;
                }
            }
            _ = shutdown.wait() => return,
        }
    }
}

/// The listener the server process connects to.
enum LinkListener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl LinkListener {
    async fn bind(addr: &LinkAddr) -> anyhow::Result<LinkListener> {
        Ok(match addr {
            LinkAddr::Unix(p) => {
                let _ = std::fs::remove_file(p);
                LinkListener::Unix(
                    UnixListener::bind(p).with_context(|| format!("binding the link socket {}", p.display()))?,
                )
            }
            LinkAddr::Tcp(a) => LinkListener::Tcp(
                TcpListener::bind(a).await.with_context(|| format!("binding the link address {a}"))?,
            ),
        })
    }

    async fn accept(&self) -> std::io::Result<LinkStream> {
        Ok(match self {
            LinkListener::Unix(l) => Box::new(l.accept().await?.0),
            LinkListener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                s.set_nodelay(true)?;
                Box::new(s)
            }
        })
    }

    /// Accept server connections, check their hello, and hand each link to the hub.
    async fn serve(self, hub: mpsc::Sender<HubEvent>, mut shutdown: Shutdown) {
        static NEXT_LINK: AtomicU64 = AtomicU64::new(1);
        let mut backoff = websocket::AcceptBackoff::default();
        loop {
            let stream = tokio::select! {
                r = self.accept() => match r {
                    Ok(s) => { backoff.reset(); s }
                    Err(e) => { backoff.wait("link", &e).await; continue }
                },
                _ = shutdown.wait() => return,
            };
            let link_id = NEXT_LINK.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(serve_link(stream, link_id, hub.clone()));
        }
    }
}

/// One server link: handshake, then a reader feeding the hub and a writer draining its channel.
async fn serve_link(stream: LinkStream, link_id: u64, hub: mpsc::Sender<HubEvent>) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    // Before Hello the peer is unknown: only a frame the size of a Hello is read.
    let hello = tokio::time::timeout(
        Duration::from_secs(10),
        link::read_frame_limited::<_, ServerMsg>(&mut rd, link::HELLO_MAX_BYTES),
    )
    .await;
    let pid = match hello {
        Ok(Ok(Some(ServerMsg::Hello { version, pid }))) if version == LINK_VERSION => pid,
        Ok(Ok(Some(ServerMsg::Hello { version, .. }))) => {
            let reason = format!("link version {version} does not match the portal's {LINK_VERSION}");
            tracing::error!("{reason}");
            let _ = link::write_frame(&mut wr, &PortalMsg::Refused { reason }).await;
            return;
        }
        _ => {
            tracing::warn!("a link connection did not say hello; closed");
            return;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<PortalMsg>();
    tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if let Err(e) = link::write_frame(&mut wr, &msg).await {
                tracing::debug!(cause = %e, "link write failed");
                break;
            }
        }
    });
    if hub.send(HubEvent::ServerUp { link_id, pid, tx }).await.is_err() {
        return;
    }
    loop {
        match link::read_frame::<_, ServerMsg>(&mut rd).await {
            Ok(Some(msg)) => {
                if hub.send(HubEvent::FromServer { link_id, msg }).await.is_err() {
                    return;
                }
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(cause = %e, "link read failed");
                break;
            }
        }
    }
    let _ = hub.send(HubEvent::ServerDown { link_id }).await;
}
