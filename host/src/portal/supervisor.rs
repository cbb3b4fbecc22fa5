//! Supervision of the server process: start it, restart it with backoff when it dies, restart
//! it at once after a deliberate reload, and stop it for good on shutdown.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;
use tokio::sync::mpsc;

use crate::link::LinkAddr;

/// Requests from the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupervisorCmd {
    /// The server was asked to reload: its exit is expected, restart it at once.
    ExpectExit,
    /// Shutdown: let the server exit and do not restart it.
    Stop,
}

/// What the supervisor tells whoever started it (the hub, which turns these into its own
/// events: the supervisor need not know the hub).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupervisorEvent {
    /// A server process was started.
    Spawned {
        /// Its process id.
        pid: u32,
    },
    /// The server has stopped for good (shutdown).
    Stopped,
}

/// How long a server asked to exit may take before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(15);
/// Longest wait between crash restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A server that ran this long before crashing resets the backoff.
const STABLE_RUN: Duration = Duration::from_secs(30);

/// Run the supervision loop until shutdown.
pub async fn supervise<E: From<SupervisorEvent>>(
    exe: PathBuf,
    link: LinkAddr,
    secret: String,
    base_backoff: Duration,
    mut cmds: mpsc::UnboundedReceiver<SupervisorCmd>,
    hub: mpsc::Sender<E>,
) {
    let mut backoff = base_backoff;
    let mut stopping = false;
    loop {
        let mut cmd = Command::new(&exe);
        cmd.arg("server")
            .arg("--link")
            .arg(link.to_string())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        // The link secret goes through the environment, which only this user can read, never
        // through argv, which every local user can see.
        cmd.env(crate::link::SECRET_ENV, &secret);
        // Own process group: a Ctrl-C in the terminal reaches only the portal, which then shuts
        // the server down in order. PDEATHSIG: if the portal dies, the server is not orphaned.
        cmd.process_group(0);
        // SAFETY: prctl is async-signal-safe and only affects the child being spawned.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(cause = %e, exe = %exe.display(), "cannot start the server process");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let started = Instant::now();
        let pid = child.id().unwrap_or(0);
        tracing::info!(pid, "server process started");
        let _ = hub.send(SupervisorEvent::Spawned { pid }.into()).await;
        let mut expected = false;
        let mut deadline: Option<tokio::time::Instant> = None;
        let status = loop {
            let kill_at = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                status = child.wait() => break status,
                cmd = cmds.recv() => {
                    match cmd {
                        Some(SupervisorCmd::ExpectExit) => expected = true,
                        Some(SupervisorCmd::Stop) | None => stopping = true,
                    }
                    deadline = Some(tokio::time::Instant::now() + EXIT_GRACE);
                }
                _ = kill_at => {
                    tracing::warn!(pid, "server did not exit in time; killing it");
                    let _ = child.start_kill();
                    deadline = None;
                }
            }
        };
        match &status {
            Ok(s) if s.success() => tracing::info!(pid, "server process exited"),
            Ok(s) => tracing::warn!(pid, status = %s, "server process died"),
            Err(e) => tracing::error!(pid, cause = %e, "cannot wait for the server process"),
        }
        if stopping {
            let _ = hub.send(SupervisorEvent::Stopped.into()).await;
            return;
        }
        if expected {
            backoff = base_backoff;
            continue;
        }
        if started.elapsed() > STABLE_RUN {
            backoff = base_backoff;
        }
        tracing::warn!(
            pid,
            backoff_ms = backoff.as_millis() as u64,
            "server exited unexpectedly; restarting"
        );
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            cmd = cmds.recv() => if matches!(cmd, Some(SupervisorCmd::Stop) | None) {
                let _ = hub.send(SupervisorEvent::Stopped.into()).await;
                return;
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
