//! The portal process: every client connection, sessid allocation, the mirror of every
//! session's sync data, the input queue that carries players through server restarts, and the
//! supervision of the server process.

pub mod control;
pub mod http;
pub(crate) mod hub;
pub(crate) mod limits;
pub mod live_config;
pub mod markup;
pub(crate) mod outbox;
pub(crate) mod subprotocol;
pub(crate) mod supervisor;
pub mod telnet;
pub(crate) mod websocket;
pub mod wire;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
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

/// The lock file in the data folder that the running portal holds.
pub const LOCK_FILE: &str = "portal.lock";

/// The line printed on stdout once the websocket listener is bound (tests read the port from it).
pub const LISTENING_PREFIX: &str = "mudhost portal listening on ws://";

/// Run the portal (and, through the supervisor, the server) until shutdown.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    run_from(cfg, None).await
}

/// [`run`], with where `cfg` came from: each reload reads the config from there again
/// (`live_config`); without it a reload keeps the config the portal started with.
pub async fn run_from(
    cfg: Config,
    source: Option<live_config::ConfigSource>,
) -> anyhow::Result<()> {
    let cfg = Arc::new(cfg);
    raise_fd_limit();
    // Everything this process and its server create (database, sockets, cache) is private to
    // the game's user; the data folder itself is 0700 even if it existed before.
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe { libc::umask(0o077) };
    std::fs::create_dir_all(&cfg.data_dir).context("creating the data folder")?;
    // One portal per game, checked before anything in the folder is touched: a second portal
    // would reset the in-flight marker the live server has mapped, rebind its link socket and
    // clear its outbox. The lock is held until this process ends.
    let lock_path = cfg.data_dir.join(LOCK_FILE);
    let _portal_lock = crate::lockfile::try_lock(&lock_path)
        .with_context(|| format!("locking {}", lock_path.display()))?
        .with_context(|| {
            format!(
                "a portal is already running for {} (it holds {}); use `mudhost status`",
                cfg.data_dir.display(),
                lock_path.display()
            )
        })?;
    crate::failpoint::init(&cfg.data_dir);
    std::fs::set_permissions(&cfg.data_dir, std::fs::Permissions::from_mode(0o700))
        .context("making the data folder private")?;
    std::fs::create_dir_all(&cfg.modules_dir).context("creating the modules folder")?;
    let secret = link_secret(&cfg)?;
    crate::shared::inflight::reset(&cfg.data_dir).context("creating the in-flight marker")?;

    let control_path = cfg.control_socket();
    let ask = Duration::from_millis(cfg.control_timeout_ms);
    if control::request(&control_path, "status", ask).await.is_ok() {
        bail!("a portal is already running for {}", cfg.data_dir.display());
    }
    let _ = std::fs::remove_file(&control_path);
    let control_listener = UnixListener::bind(&control_path)
        .with_context(|| format!("binding the control socket {}", control_path.display()))?;
    std::fs::set_permissions(&control_path, std::fs::Permissions::from_mode(0o600))?;

    let ws_listener = TcpListener::bind(cfg.ws_addr)
        .await
        .with_context(|| format!("binding the websocket listener on {}", cfg.ws_addr))?;
    let ws_addr = ws_listener.local_addr()?;
    let telnet_listener = match cfg.telnet_addr.trim() {
        "" => None,
        a => {
            let addr: std::net::SocketAddr =
                a.parse().with_context(|| format!("telnet_addr {a:?}"))?;
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the telnet listener on {addr}"))?;
            Some(l)
        }
    };
    let telnet_addr = telnet_listener.as_ref().map(|l| l.local_addr()).transpose()?;

    let link_addr = if cfg.link == "unix" {
        LinkAddr::Unix(cfg.data_dir.join("link.sock"))
    } else {
        LinkAddr::parse(&cfg.link)?
    };
    let link_listener = LinkListener::bind(&link_addr).await?;

    let (trigger, shutdown) = shutdown::channel();
    let (hub_tx, hub_rx) = mpsc::channel(HUB_QUEUE);
    let (sup_tx, sup_rx) = mpsc::unbounded_channel();
    let mut hub = Hub::new(cfg.clone(), sup_tx, trigger.clone());
    if let Some(source) = source {
        hub = hub.with_config_source(source);
    }
    let hub_task = tokio::spawn(hub.run(hub_rx));

    let exe = std::env::current_exe().context("finding the mudhost executable")?;
    tokio::spawn(supervisor::supervise(
        exe,
        link_addr.clone(),
        secret.clone(),
        Duration::from_millis(cfg.restart_backoff_ms),
        sup_rx,
        hub_tx.clone(),
    ));
    tokio::spawn(link_listener.serve(hub_tx.clone(), shutdown.clone(), Arc::new(secret)));
    tokio::spawn(control::serve(
        control_listener,
        hub_tx.clone(),
        shutdown.clone(),
        cfg.data_dir.clone(),
    ));
    tokio::spawn(stop_on_signals(hub_tx.clone(), shutdown.clone()));
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let conn_limits = limits::ConnectionLimits::new(cfg.clone());
    if let Some(l) = telnet_listener {
        let (hub, down, alive) = (hub_tx.clone(), shutdown.clone(), alive_tx.clone());
        tokio::spawn(telnet::serve(l, cfg.clone(), hub, down, alive, conn_limits.clone()));
    }
    tokio::spawn(websocket::serve(
        ws_listener,
        cfg.clone(),
        hub_tx.clone(),
        shutdown.clone(),
        alive_tx,
        conn_limits,
    ));
    drop(hub_tx);

    tracing::info!(%ws_addr, telnet = ?telnet_addr, link = %link_addr, "portal started");
    if let Some(t) = telnet_addr {
        println!("{}{t}", telnet::LISTENING_PREFIX);
    }
    println!("{LISTENING_PREFIX}{ws_addr}");
    // The same port serves the bundled web client; an unspecified bind address is reachable
    // on loopback at least.
    let page_ip = if ws_addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        ws_addr.ip().to_string()
    };
    let page_host = if ws_addr.is_ipv6() && !ws_addr.ip().is_unspecified() {
        format!("[{page_ip}]")
    } else {
        page_ip
    };
    println!("web client: http://{page_host}:{}/", ws_addr.port());
    let _ = std::io::stdout().flush();

    // The hub is the portal: if it panicked, the game is gone, and a service manager must see
    // a failure, not a clean stop.
    if let Err(e) = hub_task.await {
        if e.is_panic() {
            bail!("the portal's hub panicked (see the panic line above); portal exiting");
        }
    }
    // Every connection task holds an `alive` sender; recv() ends when the last one is gone.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, alive_rx.recv()).await;
    let _ = std::fs::remove_file(&control_path);
    if let LinkAddr::Unix(p) = &link_addr {
        let _ = std::fs::remove_file(p);
    }
    tracing::info!("portal stopped");
    Ok(())
}

/// The link secret: for a TCP link the configured one (required: anything that can reach the
/// port could otherwise pose as the server); for the Unix socket a random one per start.
fn link_secret(cfg: &Config) -> anyhow::Result<String> {
    if cfg.link != "unix" {
        if cfg.link_secret.len() < 16 {
            bail!("a TCP link needs `link_secret` (at least 16 characters) in the config: without it anything that can reach {} could join as the server", cfg.link);
        }
        return Ok(cfg.link_secret.clone());
    }
    let bytes: [u8; 32] = rand::random();
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Compare two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Read (and clear) the input the server was running when it died, if any.
pub(crate) fn inflight_marker(data_dir: &std::path::Path) -> Option<(crate::link::Sessid, u64)> {
    let running = crate::shared::inflight::read(data_dir);
    if let Err(e) = crate::shared::inflight::reset(data_dir) {
        tracing::warn!(cause = %e, "cannot reset the in-flight marker");
    }
    running
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
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
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
                let l = UnixListener::bind(p)
                    .with_context(|| format!("binding the link socket {}", p.display()))?;
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600))?;
                LinkListener::Unix(l)
            }
            LinkAddr::Tcp(a) => LinkListener::Tcp(
                TcpListener::bind(a)
                    .await
                    .with_context(|| format!("binding the link address {a}"))?,
            ),
        })
    }

    /// Accept one connection; also says who the peer is, for the log.
    async fn accept(&self) -> std::io::Result<(LinkStream, String)> {
        Ok(match self {
            LinkListener::Unix(l) => {
                let (s, _) = l.accept().await?;
                let peer = match s.peer_cred() {
                    Ok(c) => format!("unix peer pid {:?} uid {}", c.pid(), c.uid()),
                    Err(_) => "unix peer".into(),
                };
                (Box::new(s), peer)
            }
            LinkListener::Tcp(l) => {
                let (s, addr) = l.accept().await?;
                s.set_nodelay(true)?;
                (Box::new(s), addr.to_string())
            }
        })
    }

    /// Accept server connections, check their hello, and hand each link to the hub.
    async fn serve(self, hub: mpsc::Sender<HubEvent>, mut shutdown: Shutdown, secret: Arc<String>) {
        static NEXT_LINK: AtomicU64 = AtomicU64::new(1);
        let mut backoff = websocket::AcceptBackoff::default();
        loop {
            let (stream, peer) = tokio::select! {
                r = self.accept() => match r {
                    Ok(s) => { backoff.reset(); s }
                    Err(e) => { backoff.wait("link", &e).await; continue }
                },
                _ = shutdown.wait() => return,
            };
            let link_id = NEXT_LINK.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(serve_link(stream, peer, link_id, hub.clone(), secret.clone()));
        }
    }
}

/// One server link: handshake, then a reader feeding the hub and a writer draining its channel.
async fn serve_link(
    stream: LinkStream,
    peer: String,
    link_id: u64,
    hub: mpsc::Sender<HubEvent>,
    secret: Arc<String>,
) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    // The first frame comes from a peer that has not proven anything yet: it must be a small
    // Hello with the secret, or the connection learns nothing and is closed.
    let hello = tokio::time::timeout(
        Duration::from_secs(10),
        link::read_frame_limited::<_, ServerMsg>(&mut rd, link::MAX_HELLO_BYTES),
    )
    .await;
    let pid = match hello {
        Ok(Ok(Some(ServerMsg::Hello { secret: s, .. }))) if !same_secret(&s, &secret) => {
            tracing::error!(%peer, "link connection refused: wrong secret (not our server)");
            let reason = "not authorised".to_string();
            let _ = link::write_frame(&mut wr, &PortalMsg::Refused { reason }).await;
            return;
        }
        Ok(Ok(Some(ServerMsg::Hello { version, pid, .. }))) if version == LINK_VERSION => pid,
        Ok(Ok(Some(ServerMsg::Hello { version, .. }))) => {
            let reason =
                format!("link version {version} does not match the portal's {LINK_VERSION}");
            tracing::error!(%peer, "{reason}");
            let _ = link::write_frame(&mut wr, &PortalMsg::Refused { reason }).await;
            return;
        }
        _ => {
            tracing::warn!(%peer, "a link connection did not say hello; closed");
            return;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<PortalMsg>();
    tokio::spawn(async move {
        // Everything queued when the writer wakes goes out in one write (inputs of many players
        // arriving together cost one system call, not one each).
        let mut buf = Vec::new();
        while let Some(msg) = rx.recv().await {
            buf.clear();
            let mut encoded = link::encode_frame_into(&mut buf, &msg);
            while encoded.is_ok() && buf.len() < link::WRITE_BATCH_BYTES {
                let Ok(msg) = rx.try_recv() else { break };
                encoded = link::encode_frame_into(&mut buf, &msg);
            }
            let written = match encoded {
                Ok(()) => tokio::io::AsyncWriteExt::write_all(&mut wr, &buf)
                    .await
                    .map_err(link::LinkError::from),
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                // The server cannot be told anything more; closing the link makes it exit (its
                // reader ends) and the supervisor restart it.
                tracing::error!(cause = %e, "link write to the server failed; closing the link");
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut wr).await;
                break;
            }
        }
    });
    if hub.send(HubEvent::ServerUp { link_id, pid, tx }).await.is_err() {
        return;
    }
    // From here on the peer is our server: read through a buffer.
    let mut rd = tokio::io::BufReader::with_capacity(link::READ_BUFFER_BYTES, rd);
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
