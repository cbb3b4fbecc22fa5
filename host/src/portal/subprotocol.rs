//! Websocket subprotocols: negotiation and the frame codec of each.
//!
//! - `v1.evennia.com` (`portal/wire.rs`): `[cmdname, args, kwargs]` JSON text frames (or
//!   MessagePack binary), text rendered to HTML. The default when the client offers none, and
//!   also when it offers only protocols we do not speak (as Evennia 6.1: v1 is used and nothing is
//!   echoed, so a conforming client can tell).
//! - `json.mudstandards.org`: BINARY frames carry UTF-8 text with ANSI colour both ways; TEXT
//!   frames carry `{"proto", "id", "data"}` envelopes. Inbound proto `gmcp` (id = package) becomes
//!   an input function as GMCP does, `text` a command line, `websocket_close` a close, anything
//!   else the input function named by `id` (or `proto`) with `data` parsed as JSON (object →
//!   kwargs, list → args, other → one arg). Outbound prompts are `{"proto":"prompt"}` and
//!   out-of-band commands `{"proto":"gmcp","id":"Package.Name","data":"<json>"}`.
//! - `terminal.mudstandards.org`: BINARY frames of UTF-8 text with ANSI colour both ways (TEXT
//!   accepted inbound too); out-of-band commands are dropped.
//!
//! In both mudstandards formats inbound text is trimmed and an empty line ignored; outbound text
//! ends with a line break (`\r\n`) so a terminal-style client can append frames to one stream;
//! a prompt does not.

use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::markup::RenderFlags;
use super::outbox::OutMsg;
use super::wire::{self, FrameError, V1_EVENNIA};
use crate::link::Msg;

/// The mudstandards JSON envelope format.
pub const JSON_MUDSTANDARDS: &str = "json.mudstandards.org";
/// The mudstandards plain terminal format.
pub const TERMINAL_MUDSTANDARDS: &str = "terminal.mudstandards.org";

/// The frame format of one connection, fixed at the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Evennia's webclient format.
    #[default]
    V1,
    /// `json.mudstandards.org`.
    Json,
    /// `terminal.mudstandards.org`.
    Terminal,
}

/// Server preference order, as Evennia's default WEBSOCKET_SUBPROTOCOLS (without gmcp, which
/// we do not speak): the first of these the client offered wins.
const PREFERENCE: [(Format, &str); 3] = [
    (Format::Json, JSON_MUDSTANDARDS),
    (Format::Terminal, TERMINAL_MUDSTANDARDS),
    (Format::V1, V1_EVENNIA),
];

/// The body of the HTTP answer refusing a handshake that offered only subprotocols we do not
/// speak.
pub fn refusal_text() -> String {
    format!(
        "None of the offered websocket subprotocols is spoken here. Offer one of {JSON_MUDSTANDARDS}, \
         {TERMINAL_MUDSTANDARDS} or {V1_EVENNIA}, or none (which means {V1_EVENNIA}).\n"
    )
}

impl Format {
    /// Choose from the client's offered protocols: the format and the name to echo (none when
    /// the client offered nothing, or nothing we speak: such a handshake is refused).
    pub fn negotiate(offered: &[String]) -> (Format, Option<&'static str>) {
        PREFERENCE
            .iter()
            .find(|(_, name)| offered.iter().any(|o| o.eq_ignore_ascii_case(name)))
            .map_or((Format::V1, None), |(f, name)| (*f, Some(*name)))
    }

    /// The protocol's name (for the session's CLIENTNAME).
    pub fn name(self) -> &'static str {
        match self {
            Format::V1 => V1_EVENNIA,
            Format::Json => JSON_MUDSTANDARDS,
            Format::Terminal => TERMINAL_MUDSTANDARDS,
        }
    }

    /// Whether the format carries out-of-band commands (the session's OOB flag).
    pub fn supports_oob(self) -> bool {
        self != Format::Terminal
    }

    /// Decode a data frame (text or binary): a message, nothing (an empty line, or a frame the
    /// format ignores), or an error to show the sender.
    pub fn decode(self, frame: &Message, max_depth: usize) -> Result<Option<Msg>, FrameError> {
        match (self, frame) {
            (Format::V1, Message::Text(t)) => wire::decode_text(t.as_str(), max_depth).map(Some),
            (Format::V1, Message::Binary(b)) => wire::decode_binary(b, max_depth).map(Some),
            (Format::Json, Message::Text(t)) => decode_envelope(t.as_str(), max_depth),
            (Format::Json | Format::Terminal, Message::Binary(b)) => match std::str::from_utf8(b) {
                Ok(s) => Ok(text_line(s)),
                Err(_) => Err(FrameError::NotParsable("UTF-8")),
            },
            (Format::Terminal, Message::Text(t)) => Ok(text_line(t.as_str())),
            _ => Ok(None),
        }
    }

    /// Encode an outbound message; `None` if this format has no way to carry it.
    pub fn encode(self, out: &OutMsg) -> Option<Message> {
        let msg = &out.msg;
        match self {
            // Shared by every v1 connection the message goes to: rendered once.
            Format::V1 => Some(Message::Text(out.v1_frame())),
            Format::Json | Format::Terminal => {
                if msg.cmd == "options" {
                    return None;
                }
                // Rendered once per message, shared with every terminal it goes to.
                let text = || out.ansi_text().map(str::to_owned);
                match msg.cmd.as_str() {
                    "text" => Some(Message::binary(with_line_break(&text()?).into_bytes())),
                    "prompt" if self == Format::Json => Some(Message::text(
                        json!({"proto": "prompt", "id": "", "data": text()?}).to_string(),
                    )),
                    "prompt" => Some(Message::binary(text()?.into_bytes())),
                    _ if self == Format::Json => {
                        let (package, data) = encode_gmcp(msg);
                        Some(Message::text(
                            json!({"proto": "gmcp", "id": package, "data": data}).to_string(),
                        ))
                    }
                    _ => None,
                }
            }
        }
    }

    /// A notice from the portal itself (an error reply, a limit's text) in this format.
    pub fn notice(self, text: impl Into<String>) -> Message {
        self.encode(&OutMsg::new(Msg::text(text.into()), RenderFlags::default()))
            .expect("every format carries text")
    }
}

/// A typed line: trimmed, an empty one ignored.
fn text_line(s: &str) -> Option<Msg> {
    let line = s.trim();
    (!line.is_empty()).then(|| Msg::text(line.to_owned()))
}

/// Terminal text ends each message with `\r\n`; inner bare newlines become `\r\n` too.
fn with_line_break(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let mut prev = '\0';
    for c in s.chars() {
        if c == '\n' && prev != '\r' {
            out.push('\r');
        }
        out.push(c);
        prev = c;
    }
    if !out.ends_with('\n') {
        out.push_str("\r\n");
    }
    out
}

/// Decode a `{"proto", "id", "data"}` envelope (a TEXT frame of `json.mudstandards.org`).
fn decode_envelope(text: &str, max_depth: usize) -> Result<Option<Msg>, FrameError> {
    let value = wire::parse_json(text, max_depth)?;
    let Value::Object(mut env) = value else {
        return Err(FrameError::WrongType(
            "a json.mudstandards.org text frame must be {\"proto\", \"id\", \"data\"}",
        ));
    };
    let Some(Value::String(proto)) = env.remove("proto") else {
        return Err(FrameError::WrongType("proto must be a string"));
    };
    let id = match env.remove("id") {
        Some(Value::String(s)) => s,
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    };
    // The proposal's data is a string; a client that sent JSON directly is understood too.
    let data = match env.remove("data") {
        Some(Value::String(s)) => s,
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    };
    let msg = match proto.as_str() {
        "gmcp" => decode_gmcp(id.trim(), &data, max_depth)?,
        "text" => text_line(&data),
        "websocket_close" => {
            Some(Msg { cmd: "websocket_close".into(), args: vec![], kwargs: Map::new() })
        }
        _ => {
            let name = if id.is_empty() { proto } else { id };
            if name.trim().is_empty() {
                return Err(FrameError::WrongType(
                    "an envelope needs a proto or an id naming the input function",
                ));
            }
            let (args, kwargs) = split_payload(parse_data(&data, max_depth)?);
            Some(Msg { cmd: name.trim().to_owned(), args, kwargs })
        }
    };
    match msg {
        Some(m) if crate::link::msg_depth(&m) > max_depth => Err(FrameError::TooDeep(max_depth)),
        other => Ok(other),
    }
}

/// `data` as JSON; text that is not JSON is one string value; empty is no payload.
fn parse_data(data: &str, max_depth: usize) -> Result<Option<Value>, FrameError> {
    if data.trim().is_empty() {
        return Ok(None);
    }
    match wire::parse_json(data, max_depth) {
        Ok(v) => Ok(Some(v)),
        Err(e @ FrameError::TooDeep(_)) => Err(e),
        Err(_) => Ok(Some(Value::String(data.to_owned()))),
    }
}

/// A payload as input-function arguments: an object is kwargs, a list args, anything else one
/// argument.
fn split_payload(payload: Option<Value>) -> (Vec<Value>, Map<String, Value>) {
    match payload {
        None => (vec![], Map::new()),
        Some(Value::Object(o)) => (vec![], o.into_iter().filter(|(k, _)| !k.is_empty()).collect()),
        Some(Value::Array(a)) => (a, Map::new()),
        Some(v) => (vec![v], Map::new()),
    }
}

/// GMCP package names with an Evennia input-function name of their own (Evennia's
/// `EVENNIA_TO_GMCP`).
const GMCP_NAMES: &[(&str, &str)] = &[
    ("client_options", "Core.Supports.Get"),
    ("get_inputfuncs", "Core.Commands.Get"),
    ("get_value", "Char.Value.Get"),
    ("repeat", "Char.Repeat.Update"),
    ("monitor", "Char.Monitor.Update"),
];

/// An inbound GMCP message (`Package.Name` + JSON data) as an input function:
/// `Core.Name` → `name`, `Package.Name` → `package_name`, lower case.
fn decode_gmcp(package: &str, data: &str, max_depth: usize) -> Result<Option<Msg>, FrameError> {
    if package.is_empty() {
        return Ok(None);
    }
    let cmd = match GMCP_NAMES.iter().find(|(_, g)| *g == package) {
        Some((name, _)) => (*name).to_owned(),
        None => {
            let name = package.replace('.', "_").to_lowercase();
            name.strip_prefix("core_").map(str::to_owned).unwrap_or(name)
        }
    };
    let (args, kwargs) = split_payload(parse_data(data, max_depth)?);
    Ok(Some(Msg { cmd, args, kwargs }))
}

/// An outbound out-of-band command as GMCP: the package name and the JSON data (empty for none),
/// shaped as Evennia's `encode_gmcp`: one argument is sent bare, several as a list, kwargs as an
/// object, both as `[args, kwargs]`.
fn encode_gmcp(msg: &Msg) -> (String, String) {
    let cmd = msg.cmd.as_str();
    let package = match GMCP_NAMES.iter().find(|(name, _)| *name == cmd) {
        Some((_, g)) => (*g).to_owned(),
        None if cmd.contains('_') => cmd
            .split('_')
            .map(|w| if w.chars().any(char::is_lowercase) { capitalize(w) } else { w.to_owned() })
            .collect::<Vec<_>>()
            .join("."),
        None => format!("Core.{}", capitalize(cmd)),
    };
    let mut kwargs = msg.kwargs.clone();
    kwargs.remove("options");
    let args = match msg.args.as_slice() {
        [one] => one.clone(),
        many => Value::Array(many.to_vec()),
    };
    let data = match (msg.args.is_empty(), kwargs.is_empty()) {
        (true, true) => String::new(),
        (false, true) => args.to_string(),
        (true, false) => Value::Object(kwargs).to_string(),
        (false, false) => json!([args, kwargs]).to_string(),
    };
    (package, data)
}

/// Python's `str.capitalize`: first letter upper, the rest lower.
fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn negotiation_follows_the_server_preference_and_falls_back_to_v1_without_echo() {
        assert_eq!(Format::negotiate(&offered(&[])), (Format::V1, None));
        assert_eq!(
            Format::negotiate(&offered(&["v1.evennia.com"])),
            (Format::V1, Some(V1_EVENNIA))
        );
        assert_eq!(
            Format::negotiate(&offered(&[
                "v1.evennia.com",
                "terminal.mudstandards.org",
                "json.mudstandards.org"
            ])),
            (Format::Json, Some(JSON_MUDSTANDARDS))
        );
        assert_eq!(
            Format::negotiate(&offered(&["telnet.mudstandards.org", "terminal.mudstandards.org"])),
            (Format::Terminal, Some(TERMINAL_MUDSTANDARDS))
        );
        assert_eq!(Format::negotiate(&offered(&["chat.example.org"])), (Format::V1, None));
    }

    #[test]
    fn terminal_frames_are_trimmed_lines_and_output_is_ansi_with_a_line_break() {
        let f = Format::Terminal;
        let m = f.decode(&Message::binary(b"  look here \r\n".to_vec()), 32).unwrap().unwrap();
        assert_eq!((m.cmd.as_str(), m.first_str()), ("text", Some("look here")));
        assert_eq!(
            f.decode(&Message::text("say hi"), 32).unwrap().unwrap().first_str(),
            Some("say hi")
        );
        assert_eq!(f.decode(&Message::binary(b" \r\n".to_vec()), 32), Ok(None));
        assert!(f.decode(&Message::binary(vec![0xff, 0xfe]), 32).is_err());
        let out =
            f.encode(&OutMsg::new(Msg::text("|rRed|n\nnext"), RenderFlags::default())).unwrap();
        // `|r` is Evennia's bright red; the renderer ends coloured text with a reset.
        assert_eq!(out, Message::binary(b"\x1b[0;91mRed\x1b[0m\r\nnext\x1b[0m\r\n".to_vec()));
        assert_eq!(
            f.encode(&OutMsg::new(
                Msg::oob("logged_in", vec![], Map::new()),
                RenderFlags::default()
            )),
            None
        );
        let prompt = Msg { cmd: "prompt".into(), args: vec![json!("HP> ")], kwargs: Map::new() };
        assert_eq!(
            f.encode(&OutMsg::new(prompt.clone(), RenderFlags::default())),
            Some(Message::binary(b"HP> ".to_vec()))
        );
    }

    #[test]
    fn json_envelopes_decode_to_input_functions() {
        let f = Format::Json;
        let dec = |s: &str| f.decode(&Message::text(s), 32);
        let m = dec(r#"{"proto":"text","data":"look"}"#).unwrap().unwrap();
        assert_eq!((m.cmd.as_str(), m.first_str()), ("text", Some("look")));
        let m = dec(r#"{"proto":"gmcp","id":"Core.Supports.Get","data":""}"#).unwrap().unwrap();
        assert_eq!(m.cmd, "client_options");
        let m = dec(r#"{"proto":"gmcp","id":"Char.Skills.Get","data":"{\"group\":\"x\"}"}"#)
            .unwrap()
            .unwrap();
        assert_eq!((m.cmd.as_str(), &m.kwargs["group"]), ("char_skills_get", &json!("x")));
        let m = dec(r#"{"proto":"gmcp","id":"Core.Echo","data":"[1,2]"}"#).unwrap().unwrap();
        assert_eq!((m.cmd.as_str(), m.args.clone()), ("echo", vec![json!(1), json!(2)]));
        let m = dec(r#"{"proto":"custom","id":"get_inputfuncs","data":""}"#).unwrap().unwrap();
        assert_eq!(m.cmd, "get_inputfuncs");
        let m = dec(r#"{"proto":"echo","data":"\"hi\""}"#).unwrap().unwrap();
        assert_eq!((m.cmd.as_str(), m.first_str()), ("echo", Some("hi")));
        assert_eq!(dec(r#"{"proto":"websocket_close"}"#).unwrap().unwrap().cmd, "websocket_close");
        let m = f.decode(&Message::binary(b"say hi".to_vec()), 32).unwrap().unwrap();
        assert_eq!(m.first_str(), Some("say hi"));
        assert!(dec("[1]").is_err());
        assert!(dec(r#"{"id":"x"}"#).is_err());
        assert!(dec("nope").is_err());
        let deep = format!(r#"{{"proto":"x","data":"{}1{}"}}"#, "[".repeat(40), "]".repeat(40));
        assert_eq!(dec(&deep), Err(FrameError::TooDeep(32)));
    }

    #[test]
    fn json_output_is_ansi_text_binary_frames_and_gmcp_envelopes() {
        let f = Format::Json;
        let text = f.encode(&OutMsg::new(Msg::text("|gok|n"), RenderFlags::default())).unwrap();
        assert_eq!(text, Message::binary(b"\x1b[0;92mok\x1b[0m\r\n".to_vec()));
        let env = |m: &Msg| -> Value {
            match f.encode(&OutMsg::new(m.clone(), RenderFlags::default())).unwrap() {
                Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
                other => panic!("{other:?}"),
            }
        };
        let mut kw = Map::new();
        kw.insert("options".into(), json!({}));
        // As Evennia: an underscore splits the name into packages.
        assert_eq!(
            env(&Msg::oob("logged_in", vec![], kw)),
            json!({"proto":"gmcp","id":"Logged.In","data":""})
        );
        assert_eq!(
            env(&Msg::oob("ping", vec![], Map::new())),
            json!({"proto":"gmcp","id":"Core.Ping","data":""})
        );
        let v = env(&Msg::oob("char_vitals", vec![json!({"hp": 3})], Map::new()));
        assert_eq!(v, json!({"proto":"gmcp","id":"Char.Vitals","data":"{\"hp\":3}"}));
        let v = env(&Msg::oob(
            "client_options",
            vec![],
            [("a".to_string(), json!(1))].into_iter().collect(),
        ));
        assert_eq!(v, json!({"proto":"gmcp","id":"Core.Supports.Get","data":"{\"a\":1}"}));
        let prompt = Msg { cmd: "prompt".into(), args: vec![json!("> ")], kwargs: Map::new() };
        assert_eq!(env(&prompt), json!({"proto":"prompt","id":"","data":"> "}));
    }
}
