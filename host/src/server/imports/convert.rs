//! The WIT views of the host's records (a session, a timer), for the imports and for the game
//! thread's own guest calls. They name no game state, only the records they convert.

use crate::server::session::ServerSession;
use crate::shared::ids::{AccountId, ObjectId};
use crate::store::Timer;
use crate::wasm::bindings::types::{SessionInfo, TimerInfo};

/// Convert a session to its WIT view.
pub fn session_info(s: &ServerSession) -> SessionInfo {
    let d = &s.data;
    SessionInfo {
        sessid: d.sessid.get(),
        address: d.address.clone(),
        protocol_key: d.protocol_key.clone(),
        csessid: d.csessid.clone(),
        logged_in: d.logged_in,
        account: d.uid.map(AccountId::get),
        account_name: d.uname.clone(),
        puppet: d.puid.map(ObjectId::get),
        conn_time: d.conn_time,
        cmd_last: d.cmd_last,
        cmd_last_visible: d.cmd_last_visible,
        cmd_total: d.cmd_total,
        protocol_flags: d
            .protocol_flags
            .iter()
            .map(|(k, v)| (k.to_string(), flag_json(v)))
            .collect(),
    }
}

/// A flag's value as JSON text. Flags are mostly booleans and short plain strings, built into
/// every invocation: those skip the general serializer.
fn flag_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Bool(b) => (if *b { "true" } else { "false" }).to_string(),
        serde_json::Value::String(s)
            if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f) =>
        {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('"');
            out.push_str(s);
            out.push('"');
            out
        }
        other => other.to_string(),
    }
}

/// The view of "no session" given to load hooks, which run outside any command.
pub(super) fn no_session() -> SessionInfo {
    SessionInfo {
        sessid: 0,
        address: String::new(),
        protocol_key: String::new(),
        csessid: None,
        logged_in: false,
        account: None,
        account_name: None,
        puppet: None,
        conn_time: 0,
        cmd_last: 0,
        cmd_last_visible: 0,
        cmd_total: 0,
        protocol_flags: vec![],
    }
}

/// A timer as the WIT shows it.
pub fn timer_info(t: &Timer) -> TimerInfo {
    TimerInfo {
        id: t.id,
        due_ms: t.due_ms,
        interval_ms: t.interval_ms,
        payload: t.payload.clone(),
        obj: t.obj.map(ObjectId::get),
        persistent: t.persistent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_the_json_the_serializer_writes() {
        for v in [
            serde_json::json!(true),
            serde_json::json!(false),
            serde_json::json!("utf-8"),
            serde_json::json!("Evennia Webclient (websocket: [v1.evennia.com])"),
            serde_json::json!("quote \" and backslash \\"),
            serde_json::json!("tab\tand é"),
            serde_json::json!({"0": 80}),
            serde_json::json!(null),
            serde_json::json!(12),
        ] {
            assert_eq!(flag_json(&v), v.to_string(), "{v:?}");
        }
    }
}
