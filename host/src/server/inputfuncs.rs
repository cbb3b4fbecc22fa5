//! Input functions: what each inbound cmdname does (Evennia's inputfuncs). `text` runs a command
//! line; the others answer out-of-band.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::link::{Msg, Sessid};
use crate::logline::{clip, LogLimiter, LogVerdict};

use super::game_loop::GameLoop;
use super::now_ms;

/// Rate limit of the "input command not recognized" log line: the input is the client's.
static UNKNOWN_INPUT_LOG: Mutex<LogLimiter> = Mutex::new(LogLimiter::new());

/// Log an unknown input function, clipped, at most one detailed line per `log_summary_secs`.
fn log_unknown_input(cfg: &Config, sessid: Sessid, cmd: &str, msg: &Msg) {
    let interval = Duration::from_secs(cfg.log_summary_secs);
    // Poisoning needs a panic while holding the lock, which only does arithmetic.
    let verdict = UNKNOWN_INPUT_LOG.lock().unwrap_or_else(|e| e.into_inner()).check(interval);
    let LogVerdict::Log { suppressed } = verdict else { return };
    if suppressed > 0 {
        tracing::info!(suppressed, "unrecognised input commands not logged in the last {} s", cfg.log_summary_secs);
    }
    let n = cfg.log_input_chars;
    let detail = clip(&format!("{:?}, {:?}", msg.args, msg.kwargs), n);
    tracing::info!(
        sessid,
        "Session {sessid}: Input command not recognized:\n name: '{}'\n args, kwargs: {detail}",
        clip(cmd, n)
    );
}

/// Flags a client may read with `client_options` (Evennia's list).
const CLIENT_OPTION_FLAGS: &[&str] = &[
    "ANSI", "XTERM256", "MXP", "UTF-8", "SCREENREADER", "ENCODING", "MCCP", "SCREENHEIGHT",
    "SCREENWIDTH", "AUTORESIZE", "INPUTDEBUG", "RAW", "NOCOLOR", "NOGOAHEAD", "LOCALECHO",
    "ISTYPING",
];

/// Input functions this host provides, with their help, for `get_inputfuncs`.
const INPUTFUNCS: &[(&str, &str)] = &[
    ("text", "A command line."),
    ("echo", "Echo the arguments back."),
    ("client_options", "Read (no kwargs or get=true) or set client flags."),
    ("get_client_options", "Read client flags."),
    ("get_inputfuncs", "List the input functions."),
    ("login", "Log in with kwargs name and password."),
    ("default", "Anything else: logged."),
];

impl GameLoop {
    /// Dispatch one inbound message (Evennia's call_inputfuncs).
    pub fn input(&mut self, sessid: Sessid, msg: Msg) {
        if self.game().sessions.get(sessid).is_none() {
            return;
        }
        let cmd = msg.cmd.trim().to_lowercase();
        match cmd.as_str() {
            "text" => self.input_text(sessid, msg),
            "echo" => {
                let text = format!(
                    "Echo returns: {}, {}",
                    Value::Array(msg.args),
                    Value::Object(strip_options(msg.kwargs))
                );
                self.game().msg_session(sessid, &text);
            }
            "client_options" | "hello" | "supports_set" => self.client_options(sessid, msg.kwargs),
            "get_client_options" => self.client_options(sessid, Map::new()),
            "get_inputfuncs" => {
                let funcs: Map<String, Value> =
                    INPUTFUNCS.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
                self.game().send(sessid, Msg::oob("get_inputfuncs", vec![Value::Object(funcs)], Map::new()));
            }
            "login" => {
                let get = |k: &str| msg.kwargs.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let (name, password) = (get("name"), get("password"));
                if let Err(e) = self.game().request_login(sessid, &name, password) {
                    self.game().msg_session(sessid, &format!("|R{e}|n"));
                }
            }
            _ => {
                log_unknown_input(&self.game().cfg, sessid, &cmd, &msg);
                let game = self.game();
                if game.sessions.get(sessid).is_some_and(|s| s.flag("INPUTDEBUG")) {
                    game.msg_session(sessid, &format!("Input command not recognized: {cmd}"));
                }
            }
        }
    }

    /// `text`: the idle keepalive or a command line, then Evennia's counter update.
    fn input_text(&mut self, sessid: Sessid, msg: Msg) {
        let Some(line) = msg.first_str().map(str::to_owned) else { return };
        let idle = line.trim() == self.game().cfg.idle_command || line.trim() == "idle";
        if !idle {
            self.run_command_line(sessid, &line);
        }
        let game = self.game();
        if let Some(s) = game.sessions.get_mut(sessid) {
            let now = now_ms();
            s.data.cmd_last = now;
            if !idle {
                s.data.cmd_total += 1;
                s.data.cmd_last_visible = now;
            }
            game.touch(sessid);
        }
    }

    /// `client_options`: report flags, or set them from lower-case kwargs.
    fn client_options(&mut self, sessid: Sessid, kwargs: Map<String, Value>) {
        let kwargs = strip_options(kwargs);
        let get = kwargs.is_empty() || kwargs.get("get").is_some_and(truthy);
        let game = self.game();
        let Some(s) = game.sessions.get_mut(sessid) else { return };
        if get {
            let flags: Map<String, Value> = s
                .data
                .protocol_flags
                .iter()
                .filter(|(k, _)| CLIENT_OPTION_FLAGS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            game.send(sessid, Msg::oob("client_options", vec![], flags));
            return;
        }
        let mut errors = vec![];
        for (key, value) in kwargs {
            let flag = match key.as_str() {
                "client" => "CLIENTNAME".to_string(),
                "screenwidth" | "screenheight" => {
                    let n = value.as_u64().or_else(|| value.as_str().and_then(|v| v.parse().ok()));
                    if let Some(n) = n {
                        s.data.protocol_flags.insert(key.to_uppercase(), json!({ "0": n }));
                    }
                    continue;
                }
                "get" => continue,
                k if CLIENT_OPTION_FLAGS.contains(&k.to_uppercase().as_str()) => k.to_uppercase(),
                _ => {
                    errors.push(key);
                    continue;
                }
            };
            let value = if flag == "CLIENTNAME" { value } else { Value::Bool(truthy(&value)) };
            s.data.protocol_flags.insert(flag, value);
        }
        game.touch(sessid);
        for key in errors {
            game.msg_session(sessid, &format!("Inputfunc client_settings(Session {sessid}): Wrong/unrecognized input: {key}"));
        }
    }
}

/// Drop the `options` and `cmdid` kwargs the webclient adds to everything.
fn strip_options(mut kwargs: Map<String, Value>) -> Map<String, Value> {
    kwargs.remove("options");
    kwargs.remove("cmdid");
    kwargs
}

/// Evennia's boolean parsing for flags: true, "true", "on", "1", 1.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(s.to_lowercase().as_str(), "true" | "on" | "1" | "yes"),
        _ => false,
    }
}
