//! GMCP ⇄ Evennia messages, as Evennia's telnet_oob: an outbound `[cmdname, args, kwargs]`
//! becomes `Package.Name <json>` (`foo_bar` → `Foo.Bar`, a bare `foo` → `Core.Foo`, and a few
//! fixed names such as `client_options` → `Core.Supports.Get`); an inbound `Package.Name <json>`
//! becomes the input function `package_name` (`Core.` dropped), a JSON object as kwargs and
//! anything else as args.

use serde_json::{Map, Value};

use super::super::wire::{self, FrameError};
use crate::link::Msg;

/// Evennia's EVENNIA_TO_GMCP: outbound names that do not follow the general rule.
const EVENNIA_TO_GMCP: &[(&str, &str)] = &[
    ("client_options", "Core.Supports.Get"),
    ("get_inputfuncs", "Core.Commands.Get"),
    ("get_value", "Char.Value.Get"),
    ("repeat", "Char.Repeat.Update"),
    ("monitor", "Char.Monitor.Update"),
];

/// Python's `str.capitalize`: first character upper case, the rest lower case.
fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

/// Python's `str.istitle` for names: words start upper case and continue lower case.
fn is_title(s: &str) -> bool {
    let mut cased = false;
    let mut prev_cased = false;
    for c in s.chars() {
        if c.is_uppercase() {
            if prev_cased {
                return false;
            }
            (prev_cased, cased) = (true, true);
        } else if c.is_lowercase() {
            if !prev_cased {
                return false;
            }
            (prev_cased, cased) = (true, true);
        } else {
            prev_cased = false;
        }
    }
    cased
}

/// The GMCP package name for an outbound command name.
pub fn package_name(cmd: &str) -> String {
    if let Some((_, g)) = EVENNIA_TO_GMCP.iter().find(|(e, _)| *e == cmd) {
        return (*g).to_string();
    }
    if cmd.contains('_') {
        if is_title(cmd) {
            cmd.split('_').collect::<Vec<_>>().join(".")
        } else {
            cmd.split('_').map(capitalize).collect::<Vec<_>>().join(".")
        }
    } else if is_title(cmd) {
        format!("Core.{cmd}")
    } else {
        format!("Core.{}", capitalize(cmd))
    }
}

/// The GMCP payload (`Package.Name json`) for an outbound message.
pub fn encode(msg: &Msg) -> String {
    let name = package_name(&msg.cmd);
    let mut kwargs = msg.kwargs.clone();
    kwargs.remove("options");
    let args = match msg.args.len() {
        0 => None,
        1 => Some(msg.args[0].clone()),
        _ => Some(Value::Array(msg.args.clone())),
    };
    match (args, kwargs.is_empty()) {
        (None, true) => name,
        (Some(a), true) => format!("{name} {a}"),
        (Some(a), false) => format!("{name} {}", Value::Array(vec![a, Value::Object(kwargs)])),
        (None, false) => format!("{name} {}", Value::Object(kwargs)),
    }
}

/// Why an inbound GMCP message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GmcpError {
    /// No package name.
    #[error("empty GMCP message")]
    Empty,
    /// JSON nested deeper than the input depth limit.
    #[error("GMCP data nested deeper than {0} levels")]
    TooDeep(usize),
}

/// Decode an inbound GMCP payload into an input message.
pub fn decode(payload: &[u8], max_depth: usize) -> Result<Msg, GmcpError> {
    let text = String::from_utf8_lossy(payload);
    let text = text.trim();
    let (name, data) = match text.split_once(char::is_whitespace) {
        Some((n, d)) => (n, d.trim()),
        None => (text, ""),
    };
    if name.is_empty() {
        return Err(GmcpError::Empty);
    }
    let mut cmd = name.replace('.', "_").to_lowercase();
    if let Some(rest) = cmd.strip_prefix("core_") {
        cmd = rest.to_string();
    }
    let (mut args, mut kwargs) = (vec![], Map::new());
    if !data.is_empty() {
        match wire::parse_json(data, max_depth) {
            Ok(Value::Object(o)) => kwargs = o.into_iter().filter(|(k, _)| !k.is_empty()).collect(),
            Ok(Value::Array(a)) => args = a,
            Ok(v) => args = vec![v],
            Err(FrameError::TooDeep(_)) => return Err(GmcpError::TooDeep(max_depth)),
            // Not JSON at all: Evennia passes the text on as the one argument.
            Err(_) => args = vec![Value::String(data.to_string())],
        }
    }
    let msg = Msg { cmd, args, kwargs };
    if crate::link::msg_depth(&msg) > max_depth {
        return Err(GmcpError::TooDeep(max_depth));
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(cmd: &str, args: Value, kwargs: Value) -> Msg {
        Msg {
            cmd: cmd.into(),
            args: args.as_array().cloned().unwrap_or_default(),
            kwargs: kwargs.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn outbound_names_follow_evennias_rules() {
        assert_eq!(package_name("char_vitals"), "Char.Vitals");
        assert_eq!(package_name("logged_in"), "Logged.In");
        assert_eq!(package_name("ping"), "Core.Ping");
        assert_eq!(package_name("Room_Info"), "Room.Info");
        assert_eq!(package_name("client_options"), "Core.Supports.Get");
    }

    #[test]
    fn outbound_data_is_args_kwargs_or_both() {
        assert_eq!(encode(&msg("ping", json!([]), json!({}))), "Core.Ping");
        assert_eq!(
            encode(&msg("char_vitals", json!([]), json!({"hp": 10}))),
            r#"Char.Vitals {"hp":10}"#
        );
        assert_eq!(encode(&msg("char_name", json!(["Anna"]), json!({}))), r#"Char.Name "Anna""#);
        assert_eq!(encode(&msg("char_list", json!([1, 2]), json!({}))), "Char.List [1,2]");
        assert_eq!(
            encode(&msg("x_y", json!([1]), json!({"a": true, "options": {}}))),
            r#"X.Y [1,{"a":true}]"#
        );
    }

    #[test]
    fn inbound_messages_become_input_functions() {
        let m = decode(br#"Core.Hello {"client": "Mudlet", "version": "4.17"}"#, 32).unwrap();
        assert_eq!(m.cmd, "hello");
        assert_eq!(m.kwargs["client"], "Mudlet");
        let m = decode(br#"Core.Supports.Set ["Char 1", "Room 1"]"#, 32).unwrap();
        assert_eq!((m.cmd.as_str(), m.args.len()), ("supports_set", 2));
        let m = decode(b"Char.Ping", 32).unwrap();
        assert_eq!(
            (m.cmd.as_str(), m.args.is_empty(), m.kwargs.is_empty()),
            ("char_ping", true, true)
        );
        let m = decode(b"Char.Say hello there", 32).unwrap();
        assert_eq!(m.args, [json!("hello there")]);
        assert_eq!(decode(b"  ", 32), Err(GmcpError::Empty));
        let deep = format!("X.Y {}{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(decode(deep.as_bytes(), 32), Err(GmcpError::TooDeep(32)));
        let deeper = format!("X.Y {}{}", "[".repeat(400), "]".repeat(400));
        assert_eq!(decode(deeper.as_bytes(), 32), Err(GmcpError::TooDeep(32)));
    }
}
