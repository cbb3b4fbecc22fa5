//! The control socket in the game's data folder: `mudhost reload`, `stop` and `status` send one
//! line (`reload [reason]`, `stop [reason]`, `status`) and read one line back.

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

/// Parse one request line.
pub fn parse_request(line: &str) -> Option<ControlCmd> {
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
pub async fn serve(listener: UnixListener, hub: mpsc::Sender<HubEvent>, mut shutdown: Shutdown) {
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
        tokio::spawn(async move {
            let (rd, mut wr) = stream.into_split();
            let mut line = String::new();
            let mut rd = BufReader::new(rd).take(MAX_LINE as u64);
            if rd.read_line(&mut line).await.is_err() {
                return;
            }
            let answer = match parse_request(&line) {
                Some(cmd) => {
                    let (tx, rx) = oneshot::channel();
                    let _ = hub.send(HubEvent::Control { cmd, reply: Some(tx) }).await;
                    rx.await.unwrap_or_else(|_| "stopped".into())
                }
                None => format!("unknown request {:?}; use reload, stop or status", line.trim()),
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
        BufReader::new(stream).read_line(&mut answer).await?;
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
