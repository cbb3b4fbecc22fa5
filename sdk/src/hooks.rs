//! The two hook plugin kinds: [`InputHook`] (with [`input_hook!`](crate::input_hook)) and
//! [`SessionClass`] (with [`session_class!`](crate::session_class)), and helpers for the
//! [`Message`]s they see.
//!
//! A hook module also has a cmdset, declared with [`cmdset!`](crate::cmdset) as usual (it may
//! have no commands): the hook macro exports both. Host functions called from a hook act for the
//! session the hook runs for: [`crate::host::msg_caller`] answers it, `ndb_*` use its ndb.

use serde_json::{Map, Value};

use crate::{HookResult, Message};

#[cfg(any(feature = "input-hook", feature = "session-class"))]
use crate::SessionInfo;

impl Message {
    /// A message with JSON arguments (`args` an array, `kwargs` an object).
    pub fn new(
        cmdname: impl Into<String>,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Message {
        Message {
            cmdname: cmdname.into(),
            args: Value::Array(args).to_string(),
            kwargs: Value::Object(kwargs).to_string(),
        }
    }

    /// A typed line (`text` with one string argument).
    pub fn text(line: impl Into<String>) -> Message {
        Message::new("text", vec![Value::String(line.into())], Map::new())
    }

    /// The line, if this is a `text` message whose first argument is a string.
    pub fn text_line(&self) -> Option<String> {
        if self.cmdname != "text" {
            return None;
        }
        self.args_json().into_iter().next().and_then(|v| v.as_str().map(str::to_owned))
    }

    /// The same message with its line replaced (other arguments and kwargs kept).
    pub fn with_text(&self, line: impl Into<String>) -> Message {
        let mut args = self.args_json();
        match args.first_mut() {
            Some(first) => *first = Value::String(line.into()),
            None => args.push(Value::String(line.into())),
        }
        Message {
            cmdname: self.cmdname.clone(),
            args: Value::Array(args).to_string(),
            kwargs: self.kwargs.clone(),
        }
    }

    /// The arguments, parsed (empty if they are not a JSON array).
    pub fn args_json(&self) -> Vec<Value> {
        match serde_json::from_str(&self.args) {
            Ok(Value::Array(a)) => a,
            _ => vec![],
        }
    }

    /// The keyword arguments, parsed (empty if they are not a JSON object).
    pub fn kwargs_json(&self) -> Map<String, Value> {
        match serde_json::from_str(&self.kwargs) {
            Ok(Value::Object(o)) => o,
            _ => Map::new(),
        }
    }
}

impl HookResult {
    /// Replace the message with a typed line.
    pub fn rewrite_text(line: impl Into<String>) -> HookResult {
        HookResult::Rewrite(Message::text(line))
    }

    /// Swallow the message and tell the session why.
    pub fn swallow_with(answer: impl Into<String>) -> HookResult {
        HookResult::Swallow(Some(answer.into()))
    }
}

/// An input hook (Evennia's INPUT_HOOKS): sees every inbound message of every session before the
/// input functions, in the order of the game's `input_hooks`, and passes, rewrites, splits or
/// swallows it. Keep it quick: it runs for every message. A hook that panics or overruns is
/// skipped for that message (the message passes on unchanged).
#[cfg(all(feature = "input-hook", not(feature = "session-class")))]
pub trait InputHook {
    /// Decide what becomes of one inbound message of `session`.
    fn data_in(msg: &Message, session: &SessionInfo) -> HookResult;
}

/// A session class (Evennia's SERVER_SESSION_CLASS): hooks that run for every session. Each has a
/// default that does nothing (or passes the messages on).
#[cfg(feature = "session-class")]
pub trait SessionClass {
    /// The session connected, or was restored after a server restart.
    fn at_sync(_session: &SessionInfo) {}
    /// The session logged in.
    fn at_login(_session: &SessionInfo) {}
    /// The session is gone (`reason` may be empty).
    fn at_disconnect(_session: &SessionInfo, _reason: &str) {}
    /// An inbound message, after the input hooks.
    fn data_in(_msg: &Message, _session: &SessionInfo) -> HookResult {
        HookResult::Pass
    }
    /// The messages the session is about to receive from one unit of work; return what it
    /// receives instead.
    fn data_out(_session: &SessionInfo, messages: Vec<Message>) -> Vec<Message> {
        messages
    }
}

/// Export this module as an input hook: `input_hook!(Nick)` with `Nick: InputHook`, after the
/// module's [`cmdset!`](crate::cmdset). Build with the SDK feature `input-hook`.
#[cfg(all(feature = "input-hook", not(feature = "session-class")))]
#[macro_export]
macro_rules! input_hook {
    ($hook:ty) => {
        impl $crate::bindings::exports::mudhost::game::input_hook::Guest for CmdSet {
            fn data_in(msg: $crate::Message, session: $crate::SessionInfo) -> $crate::HookResult {
                <$hook as $crate::InputHook>::data_in(&msg, &session)
            }
        }
        $crate::export_cmdset!(CmdSet);
    };
}

/// Export this module as the session class: `session_class!(Chargen)` with
/// `Chargen: SessionClass`, after the module's [`cmdset!`](crate::cmdset) (the per-session cmdset
/// the class adds with [`crate::host::session_cmdset_add`] and its own module name). Build with
/// the SDK feature `session-class`.
#[cfg(feature = "session-class")]
#[macro_export]
macro_rules! session_class {
    ($class:ty) => {
        impl $crate::bindings::exports::mudhost::game::session_class::Guest for CmdSet {
            fn at_sync(session: $crate::SessionInfo) {
                <$class as $crate::SessionClass>::at_sync(&session)
            }
            fn at_login(session: $crate::SessionInfo) {
                <$class as $crate::SessionClass>::at_login(&session)
            }
            fn at_disconnect(session: $crate::SessionInfo, reason: ::std::string::String) {
                <$class as $crate::SessionClass>::at_disconnect(&session, &reason)
            }
            fn data_in(msg: $crate::Message, session: $crate::SessionInfo) -> $crate::HookResult {
                <$class as $crate::SessionClass>::data_in(&msg, &session)
            }
            fn data_out(
                session: $crate::SessionInfo,
                messages: ::std::vec::Vec<$crate::Message>,
            ) -> ::std::vec::Vec<$crate::Message> {
                <$class as $crate::SessionClass>::data_out(&session, messages)
            }
        }
        $crate::export_cmdset!(CmdSet);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_messages_round_trip_through_json() {
        let m = Message::text("say \"hi\"");
        assert_eq!(m.text_line().as_deref(), Some("say \"hi\""));
        assert_eq!(m.with_text("look").text_line().as_deref(), Some("look"));
        let oob = Message::new("echo", vec![Value::from(1)], Map::new());
        assert_eq!(oob.text_line(), None);
        assert_eq!(oob.args_json(), vec![Value::from(1)]);
    }
}
