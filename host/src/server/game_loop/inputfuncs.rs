//! Input functions: what each inbound cmdname does (Evennia's inputfuncs). `text` runs a command
//! line; the others answer out-of-band.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::link::{Msg, Sessid};
use crate::logline::{clip, LogLimiter, LogVerdict};

use super::GameLoop;
use crate::server::now_ms;
use crate::server::protocol_flags::{bounded_flag, flags_bytes};

/// Rate limit of the "input command not recognized" log line: the input is the client's.
static UNKNOWN_INPUT_LOG: Mutex<LogLimiter> = Mutex::new(LogLimiter::new());

/// Log an unknown input function, clipped, at most one detailed line per `log_summary_secs`.
fn log_unknown_input(cfg: &Config, sessid: Sessid, cmd: &str, msg: &Msg) {
    let interval = Duration::from_secs(cfg.log_summary_secs);
    // Poisoning needs a panic while holding the lock, which only does arithmetic.
    let verdict = UNKNOWN_INPUT_LOG.lock().unwrap_or_else(|e| e.into_inner()).check(interval);
    let LogVerdict::Log { suppressed } = verdict else { return };
    if suppressed > 0 {
        tracing::info!(
            suppressed,
            "unrecognised input commands not logged in the last {} s",
            cfg.log_summary_secs
        );
    }
    let n = cfg.log_input_chars;
    let detail = clip(&format!("{:?}, {:?}", msg.args, msg.kwargs), n);
    tracing::info!(
        %sessid,
        "Session {sessid}: Input command not recognized:\n name: '{}'\n args, kwargs: {detail}",
        clip(cmd, n)
    );
}

/// Flags a client may read with `client_options` (Evennia's list).
const CLIENT_OPTION_FLAGS: &[&str] = &[
    "ANSI",
    "XTERM256",
    "MXP",
    "UTF-8",
    "SCREENREADER",
    "ENCODING",
    "MCCP",
    "SCREENHEIGHT",
    "SCREENWIDTH",
    "AUTORESIZE",
    "INPUTDEBUG",
    "RAW",
    "NOCOLOR",
    "NOGOAHEAD",
    "LOCALECHO",
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
    ("websocket_close", "Close this connection."),
    ("default", "Anything else: logged."),
];

impl GameLoop {
    /// Handle one inbound message: the input hooks and the session class's `data-in` first (they
    /// may rewrite, split or swallow it), then the input function of each resulting message.
    pub fn input(&mut self, sessid: Sessid, msg: Msg) {
        if self.game().sessions.get(sessid).is_none() {
            return;
        }
        for msg in self.data_in(sessid, msg) {
            self.dispatch_input(sessid, msg);
        }
    }

    /// Dispatch one inbound message (Evennia's call_inputfuncs).
    fn dispatch_input(&mut self, sessid: Sessid, msg: Msg) {
        if self.game().sessions.get(sessid).is_none() {
            return;
        }
        let cmd = msg.cmd.trim().to_lowercase();
        match cmd.as_str() {
            "text" => self.input_text(sessid, msg),
            "echo" => {
                // Evennia formats Python values; only the portal's `options` is stripped.
                let mut kwargs = msg.kwargs;
                kwargs.remove("options");
                let text = format!(
                    "Echo returns: {}, {}",
                    py_repr(&Value::Array(msg.args)),
                    py_repr(&Value::Object(kwargs))
                );
                self.game().msg_session(sessid, &text);
            }
            "client_options" | "hello" | "supports_set" => self.client_options(sessid, msg.kwargs),
            "get_client_options" => self.client_options(sessid, Map::new()),
            // Flags the portal learned late (telnet NAWS/TTYPE answers): merged as they are.
            crate::link::PORTAL_FLAGS_CMD => {
                let game = self.game();
                let (value_cap, total_cap) =
                    (game.cfg.session_flag_value_bytes, game.cfg.session_flag_bytes);
                if let Some(s) = game.sessions.get_mut(sessid) {
                    let before = s.data.protocol_flags.clone();
                    s.data.protocol_flags.extend(
                        msg.kwargs.into_iter().map(|(k, v)| (k, bounded_flag(v, value_cap))),
                    );
                    if flags_bytes(&s.data.protocol_flags) > total_cap {
                        tracing::warn!(
                            %sessid,
                            "protocol flags over session_flag_bytes; update dropped"
                        );
                        s.data.protocol_flags = before;
                    }
                    game.touch(sessid);
                }
            }
            "get_inputfuncs" => {
                let funcs: Map<String, Value> =
                    INPUTFUNCS.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
                self.game().send(sessid, Msg::oob("get_inputfuncs", vec![], funcs));
            }
            // The portal closes the socket itself; this arm serves clients whose portal passes it on.
            "websocket_close" => self.game().disconnect(sessid, ""),
            "login" => {
                let get =
                    |k: &str| msg.kwargs.get(k).and_then(Value::as_str).unwrap_or("").to_string();
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
        // LOCALECHO: the client wants its own input back (the keepalive is not input).
        if !idle && self.game().sessions.get(sessid).is_some_and(|s| s.flag("LOCALECHO")) {
            self.game().msg_session(sessid, &line);
        }
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
                game.seen_active(sessid);
            }
            game.touch_counters(sessid);
        }
    }

    /// `client_options`: report flags, or set them from lower-case kwargs.
    fn client_options(&mut self, sessid: Sessid, kwargs: Map<String, Value>) {
        let kwargs = strip_options(kwargs);
        let get = kwargs.is_empty() || kwargs.get("get").is_some_and(truthy);
        let game = self.game();
        let (value_cap, total_cap) =
            (game.cfg.session_flag_value_bytes, game.cfg.session_flag_bytes);
        let Some(s) = game.sessions.get_mut(sessid) else { return };
        if get {
            let flags: Map<String, Value> = s
                .data
                .protocol_flags
                .iter()
                .filter(|(k, _)| CLIENT_OPTION_FLAGS.contains(k))
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            game.send(sessid, Msg::oob("client_options", vec![], flags));
            return;
        }
        let mut errors = vec![];
        let before = s.data.protocol_flags.clone();
        for (key, value) in kwargs {
            let flag = match key.to_lowercase().as_str() {
                "client" => "CLIENTNAME".to_string(),
                // Appended to a client name given in the same call, as Evennia does.
                "version" => {
                    if let Some(Value::String(name)) =
                        s.data.protocol_flags.get("CLIENTNAME").cloned()
                    {
                        let v = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                        let named = bounded_flag(Value::String(format!("{name} {v}")), value_cap);
                        s.data.protocol_flags.insert("CLIENTNAME", named);
                    }
                    continue;
                }
                // The encoding is a name, not a flag (Evennia means to store it but never can).
                "encoding" => match value.as_str().map(str::trim).filter(|e| valid_encoding(e)) {
                    Some(e) => {
                        s.data.protocol_flags.insert("ENCODING", Value::String(e.to_string()));
                        continue;
                    }
                    None => {
                        let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                        errors.push(format!("The encoding '|w{shown}|n' is invalid. "));
                        continue;
                    }
                },
                // Mudlet's default sends, aimed at IRE games.
                "char 1" | "char.skills 1" | "char.items 1" | "room 1" | "ire.rift 1"
                | "ire.composer 1" => continue,
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
                    errors.push(format!(
                        "Inputfunc client_settings(Session {sessid}): Wrong/unrecognized input: {key}"
                    ));
                    continue;
                }
            };
            let value = if flag == "CLIENTNAME" {
                bounded_flag(value, value_cap)
            } else {
                Value::Bool(truthy(&value))
            };
            s.data.protocol_flags.insert(flag, value);
        }
        if flags_bytes(&s.data.protocol_flags) > total_cap {
            s.data.protocol_flags = before;
            errors.push(FLAGS_FULL_TEXT.to_string());
        }
        game.touch(sessid);
        for text in errors {
            game.msg_session(sessid, &text);
        }
    }
}

/// What a client is told when its options would make its session's flags larger than
/// `session_flag_bytes`.
pub const FLAGS_FULL_TEXT: &str =
    "Your client options were not changed: they would take more room than a session may keep.";

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

/// Encodings a client may name: the ones a websocket client can mean (text frames are UTF-8,
/// but the flag is the client's to report).
fn valid_encoding(name: &str) -> bool {
    const KNOWN: &[&str] = &[
        "utf-8",
        "utf8",
        "latin-1",
        "latin1",
        "iso-8859-1",
        "ascii",
        "us-ascii",
        "cp1252",
        "windows-1252",
        "utf-16",
    ];
    KNOWN.contains(&name.to_lowercase().as_str())
}

/// A JSON value as Python's `repr` prints it (Evennia's `echo` formats its arguments so).
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str(s),
        Value::Array(items) => {
            format!("[{}]", items.iter().map(py_repr).collect::<Vec<_>>().join(", "))
        }
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's string repr: single quotes unless the text has one and no double quote.
fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_formats_values_as_python_does() {
        assert_eq!(py_repr(&json!(["x"])), "['x']");
        assert_eq!(py_repr(&json!({})), "{}");
        assert_eq!(
            py_repr(&json!([1, true, null, "it's", "a\nb"])),
            "[1, True, None, \"it's\", 'a\\nb']"
        );
        assert_eq!(py_repr(&json!({"k": [false]})), "{'k': [False]}");
        assert_eq!(py_repr(&json!("both ' and \"")), "'both \\' and \"'");
    }
}
