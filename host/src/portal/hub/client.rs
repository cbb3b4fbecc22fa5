//! What a client brings to the hub: a new websocket session's data and protocol flags, the
//! render flags its session data asks for, and the cleaning of every string it sends.

use std::borrow::Cow;

use serde_json::Value;

use crate::link::{Msg, ProtocolFlags, Sessid, SessionData};
use crate::portal::markup::{self, RenderFlags};
use crate::portal::subprotocol::Format;
use crate::shared::clock::now_ms;

/// Every string of a client's message — arguments and keyword names and values, at any depth —
/// made safe to keep and to show other players (`markup::neutralize_client_text`): no control
/// character, and no markup that could form a link. Done here, where the input of every
/// protocol meets, before it is queued: what the server (and a replay after a crash) sees is
/// already clean, whatever a command or hook later concatenates it with.
pub(super) fn sanitize_client_msg(msg: &mut Msg) {
    msg.args.iter_mut().for_each(sanitize_client_value);
    sanitize_client_map(&mut msg.kwargs);
}

/// One value of a client message, made safe as [`sanitize_client_msg`] says.
pub(super) fn sanitize_client_value(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Cow::Owned(clean) = markup::neutralize_client_text(s) {
                *s = clean;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(sanitize_client_value),
        Value::Object(o) => sanitize_client_map(o),
        _ => {}
    }
}

fn sanitize_client_map(map: &mut serde_json::Map<String, Value>) {
    if map.keys().any(|k| matches!(markup::neutralize_client_text(k), Cow::Owned(_))) {
        *map = std::mem::take(map)
            .into_iter()
            .map(|(k, v)| (markup::neutralize_client_text(&k).into_owned(), v))
            .collect();
    }
    map.values_mut().for_each(sanitize_client_value);
}

/// Render flags from a session's protocol flags. Colour depth as Evennia's telnet: until the
/// terminal type is known (`TTYPE`), xterm 256 colours are assumed; after, ANSI / XTERM256 say.
pub(super) fn render_flags(d: &SessionData) -> RenderFlags {
    let flag = |n: &str| d.protocol_flags.get(n).and_then(Value::as_bool).unwrap_or(false);
    let known = flag("TTYPE");
    let xterm256 = !known || flag("XTERM256");
    let ansi = !known || flag("ANSI");
    RenderFlags {
        nocolor: flag("NOCOLOR") || !(xterm256 || ansi),
        raw: flag("RAW"),
        screenreader: flag("SCREENREADER"),
        ansi16: !xterm256,
    }
}

/// A new websocket session's data, with Evennia's websocket protocol flags.
pub(super) fn new_session_data(
    sessid: Sessid,
    address: String,
    csessid: Option<String>,
    browser: Option<&str>,
    format: Format,
) -> SessionData {
    let now = now_ms();
    let mut flags = ProtocolFlags::default();
    for (k, v) in [
        ("ENCODING", Value::from("utf-8")),
        ("SCREENREADER", false.into()),
        ("INPUTDEBUG", false.into()),
        ("RAW", false.into()),
        ("NOCOLOR", false.into()),
        ("LOCALECHO", false.into()),
        ("UTF-8", true.into()),
        ("OOB", format.supports_oob().into()),
        ("TRUECOLOR", true.into()),
        ("XTERM256", true.into()),
        ("ANSI", true.into()),
        ("ISTYPING", true.into()),
    ] {
        flags.insert(k, v);
    }
    flags.insert(
        "CLIENTNAME",
        Value::from(format!(
            "Evennia Webclient (websocket:{} [{}])",
            markup::neutralize_client_text(browser.unwrap_or("")),
            format.name()
        )),
    );
    SessionData {
        sessid,
        address,
        protocol_key: "websocket".into(),
        protocol_flags: flags,
        csessid: csessid.map(|c| markup::neutralize_client_text(&c).into_owned()),
        conn_time: now,
        cmd_last: now,
        cmd_last_visible: now,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_oob_flag_follows_the_format_not_its_name() {
        for (format, oob) in [(Format::V1, true), (Format::Json, true), (Format::Terminal, false)] {
            let d = new_session_data(Sessid::new(1), "127.0.0.1".into(), None, None, format);
            assert_eq!(d.protocol_flags.get("OOB"), Some(&Value::Bool(oob)), "{format:?}");
            let name = d.protocol_flags.get("CLIENTNAME").and_then(Value::as_str).unwrap_or("");
            assert!(name.ends_with(&format!("[{}])", format.name())), "{name}");
        }
    }

    #[test]
    fn every_string_a_client_sends_is_cleaned_at_any_depth_keys_included() {
        let mut msg = Msg {
            cmd: "text".into(),
            args: vec![json!("say |lcquit|ltx|le\x1b[2J"), json!([{"a\u{9b}": ["b|"]}]), json!(3)],
            kwargs: [("k\x07".to_string(), json!({"n": "\u{9d}0;t"}))].into_iter().collect(),
        };
        sanitize_client_msg(&mut msg);
        assert_eq!(
            msg.args,
            [json!("say ||lcquit||ltx||le[2J"), json!([{"a": ["b||"]}]), json!(3)]
        );
        assert_eq!(msg.kwargs.get("k"), Some(&json!({"n": "0;t"})));
    }
}
