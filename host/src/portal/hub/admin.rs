//! The hub's admin requests: reload (with the config file read again), stop, status.

use std::sync::Arc;

use super::Hub;
use crate::link::{Msg, PortalMsg, Sessid, StartKind};
use crate::portal::supervisor::SupervisorCmd;

/// How a refused reload's answer starts (`mudhost reload` exits with an error on it).
pub const RELOAD_REFUSED: &str = "error: reload refused:";

/// Names the config keys whose change waits for a full restart (reload answers, `status`).
pub const RESTART_NOTE: &str = "needs a restart (mudhost stop, then start) to apply:";

impl Hub {
    /// Restart the server with the config re-read (`live_config`); `by` is the session whose
    /// command asked, told what the config changed or why it refuses the reload. The answer
    /// starts with [`RELOAD_REFUSED`] when nothing was done (a TOML error's snippet makes it
    /// several lines).
    pub(super) fn reload(&mut self, reason: &str, by: Option<Sessid>) -> String {
        if self.stopping {
            return "shutting down; reload ignored".into();
        }
        // Read even when no server is connected (a crash restart's backoff, a reload under
        // way): the next server to start gets the new config.
        let config_note = match self.reread_config() {
            Ok(note) => note,
            Err(why) => {
                tracing::error!("reload refused: {why}; the game goes on with the old config");
                let text = format!(
                    "{RELOAD_REFUSED} {why}. The game goes on with the old config; fix the file and reload again."
                );
                if let Some(s) = by.and_then(|id| self.sessions.get(&id)) {
                    s.send(Msg::text(format!(
                        "|rReload refused:|n {}. The game goes on with the old config; fix the file and reload again.",
                        // Literal bars (a TOML error's snippet has them), not markup.
                        why.replace('|', "||")
                    )));
                }
                return text;
            }
        };
        let Some(server) = self.server.as_mut().filter(|s| !s.leaving) else {
            return format!(
                "the server is not connected; it is restarted automatically{config_note}"
            );
        };
        let _ = server.tx.send(PortalMsg::Reload { reason: reason.into() });
        server.leaving = true;
        if self.cfg.broadcast_server_restart_messages {
            let reason =
                if reason.is_empty() { String::new() } else { format!("(Reason: {reason}) ") };
            self.broadcast(&format!(" Server restart initiated {reason}..."));
        }
        tracing::info!(%reason, "server reload requested");
        let _ = self.supervisor.send(SupervisorCmd::ExpectExit);
        self.next_start = StartKind::Reload;
        // The superuser who typed `reload` learns what the config changed, as the CLI does.
        if let Some(s) =
            by.and_then(|id| self.sessions.get(&id)).filter(|_| !config_note.is_empty())
        {
            s.send(Msg::text(format!("Reloading{config_note}.")));
        }
        format!("reloading{config_note}")
    }

    /// Read the config file again and make it the one the next server gets (keys only the
    /// portal holds keep their value; see `live_config`). Returns a note for the caller.
    fn reread_config(&mut self) -> Result<String, String> {
        let Some(source) = &self.config_source else {
            return Ok(String::new());
        };
        let file = source.load().map_err(|e| e.to_string())?;
        let applied =
            crate::portal::live_config::apply(&self.cfg, file).map_err(|e| e.to_string())?;
        if !applied.restart.is_empty() {
            tracing::warn!(
                keys = %applied.restart.join(", "),
                "config keys changed that take effect only after a full restart (mudhost stop, then start); their old values stay in use"
            );
        }
        if !applied.live.is_empty() {
            tracing::info!(keys = %applied.live.join(", "), "config re-read: changed keys apply from this reload");
        }
        let mut note = String::new();
        if !applied.live.is_empty() {
            note += &format!("; config applied: {}", applied.live.join(", "));
        }
        if !applied.restart.is_empty() {
            note += &format!("; {RESTART_NOTE} {}", applied.restart.join(", "));
        }
        self.restart_pending = applied.restart;
        self.cfg = Arc::new(applied.config);
        Ok(note)
    }

    /// Stop the game: tell the players and the server, and have the supervisor end it.
    pub(super) fn stop(&mut self, reason: &str) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        tracing::info!(%reason, "shutdown requested");
        let extra = if reason.is_empty() { String::new() } else { format!("{reason}\n") };
        self.broadcast(&format!("\nServer is being SHUT DOWN!\n{extra}"));
        self.to_server(PortalMsg::Shutdown { reason: reason.into() });
        if let Some(s) = self.server.as_mut() {
            s.leaving = true;
        }
        let _ = self.supervisor.send(SupervisorCmd::Stop);
    }

    /// One line of state for `mudhost status`.
    pub(super) fn status(&self) -> String {
        let server = match (&self.server, self.server_pid) {
            (Some(_), Some(pid)) => format!("up (pid {pid})"),
            (None, Some(pid)) => format!("starting (pid {pid})"),
            _ => "down".into(),
        };
        let queued: usize = self.sessions.values().map(|s| s.pending.len()).sum();
        let open = self.sessions.values().filter(|s| s.closed.is_none()).count();
        let pending = if self.restart_pending.is_empty() {
            String::new()
        } else {
            format!("; {RESTART_NOTE} {}", self.restart_pending.join(", "))
        };
        format!(
            "portal pid {}; server {server}; sessions {}; queued inputs {queued}; server starts {}; next sessid {}{pending}",
            std::process::id(),
            open,
            self.server_starts,
            self.next_sessid
        )
    }
}
