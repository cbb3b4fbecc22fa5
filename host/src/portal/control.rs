//! The control socket in the game's data folder: `mudhost reload`, `stop`, `status` and
//! `modules` send one line (`reload [reason]`, `stop [reason]`, `status`, `modules`) and read
//! the answer until the portal closes the connection (one line; the module report has one per
//! module). An answer starting with `error: ` says the request was refused.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::hub::{ControlCmd, HubEvent};
use crate::shutdown::Shutdown;

/// Longest request line accepted.
const MAX_LINE: usize = 4096;

/// Largest answer a client reads (the module report of a big game fits many times over).
const MAX_ANSWER: u64 = 4 * 1024 * 1024;

/// The request for the module report, answered from [`crate::shared::files::MODULE_REPORT_FILE`]
/// (the server rewrites it whenever a module loads, fails or goes), not by the hub.
const MODULES: &str = "modules";

/// Parse one request line.
pub(crate) fn parse_request(line: &str) -> Option<ControlCmd> {
    let line = line.trim();
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim().to_string();
    match verb {
        "reload" => Some(ControlCmd::Reload(rest)),
        "stop" => Some(ControlCmd::Stop(rest)),
        "status" => Some(ControlCmd::Status),
        _ => None,
    }
}

/// Serve the control socket until shutdown.
pub async fn serve(
    listener: UnixListener,
    hub: mpsc::Sender<HubEvent>,
    mut shutdown: Shutdown,
    data_dir: std::path::PathBuf,
) {
    let mut backoff = super::websocket::AcceptBackoff::default();
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => { backoff.reset(); s }
                Err(e) => { backoff.wait("control", &e).await; continue }
            },
            _ = shutdown.wait() => return,
        };
        // The socket is 0600 in a 0700 folder; the peer's uid is checked as well, so a socket
        // made reachable by mistake still obeys only this user (and root).
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        match stream.peer_cred() {
            Ok(c) if c.uid() == me || c.uid() == 0 => {}
            Ok(c) => {
                tracing::warn!(uid = c.uid(), pid = ?c.pid(), "control request from another user refused");
                continue;
            }
            Err(e) => {
                tracing::warn!(cause = %e, "control request refused: peer unknown");
                continue;
            }
        }
        let hub = hub.clone();
        let data_dir = data_dir.clone();
        tokio::spawn(async move {
            let (rd, mut wr) = stream.into_split();
            let mut line = String::new();
            let mut rd = BufReader::new(rd).take(MAX_LINE as u64);
            if rd.read_line(&mut line).await.is_err() {
                return;
            }
            let answer = match parse_request(&line) {
                _ if line.trim() == MODULES => module_report(&data_dir),
                Some(cmd) => {
                    let (tx, rx) = oneshot::channel();
                    let _ = hub.send(HubEvent::Control { cmd, reply: Some(tx) }).await;
                    rx.await.unwrap_or_else(|_| "stopped".into())
                }
                None => format!(
                    "unknown request {:?}; use reload, stop, status or modules",
                    line.trim()
                ),
            };
            let _ = wr.write_all(format!("{answer}\n").as_bytes()).await;
        });
    }
}

/// Send one request to a running portal and return its answer, or fail once `timeout` has
/// passed (a wedged portal must not hang the command).
pub async fn request(socket: &Path, line: &str, timeout: Duration) -> anyhow::Result<String> {
    let exchange = async {
        let mut stream = UnixStream::connect(socket).await.with_context(|| {
            format!("no portal is running for this game (cannot reach {})", socket.display())
        })?;
        stream.write_all(format!("{line}\n").as_bytes()).await?;
        let mut answer = String::new();
        stream.take(MAX_ANSWER).read_to_string(&mut answer).await?;
        anyhow::Ok(answer.trim_end().to_string())
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| {
        anyhow::anyhow!(
            "the portal at {} did not answer {line:?} within {} ms (control_timeout_ms); it may be wedged",
            socket.display(),
            timeout.as_millis()
        )
    })?
}

/// The server's last module report, or why there is none.
fn module_report(data_dir: &Path) -> String {
    match std::fs::read_to_string(data_dir.join(crate::shared::files::MODULE_REPORT_FILE)) {
        Ok(text) => text.trim_end().to_string(),
        Err(_) => "error: no module report yet: the server has not loaded its modules".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_with_optional_reasons() {
        assert!(
            matches!(parse_request("reload new code\n"), Some(ControlCmd::Reload(r)) if r == "new code")
        );
        assert!(matches!(parse_request("stop"), Some(ControlCmd::Stop(r)) if r.is_empty()));
        assert!(matches!(parse_request("status"), Some(ControlCmd::Status)));
        assert!(parse_request("explode").is_none());
    }
}
