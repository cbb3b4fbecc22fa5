//! The two hook plugin kinds on the game loop: input hooks (Evennia's INPUT_HOOKS) and the session
//! class (SERVER_SESSION_CLASS).
//!
//! Every call is an ordinary guest call: the module's kept instance (fresh after a failure, as for
//! commands), the same deadline, memory cap and quotas, inside a checkpoint. A hook that fails (trap, deadline, quota, or an
//! answer the host cannot use) is skipped: its effects are undone, the message goes on unchanged
//! and the failure is logged. A broken hook never eats players' input or output.
//!
//! Cost per inbound message: one call per configured hook (plus one for the session class), none
//! when no hook is configured. `data-out` is one call per session per unit of work that produced
//! output for it.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::imports::convert::session_info;
use crate::link::{Msg, Sessid};
use crate::wasm::bindings::types::{HookResult, Message};
use crate::wasm::import_checks::json_depth;
use crate::{server::LoadedModule, wasm::GuestQuotas};

use super::game::ClassEvent;
use super::game_loop::GameLoop;

/// Which hook of a module is called for an inbound message.
#[derive(Clone, Copy)]
enum DataIn {
    Hook,
    Class,
}

impl GameLoop {
    /// Run an inbound message through the input hooks, then the session class's `data-in`;
    /// returns the messages to dispatch (none if swallowed).
    pub(super) fn data_in(&mut self, sessid: Sessid, msg: Msg) -> Vec<Msg> {
        let cfg = self.game().cfg.clone();
        if cfg.input_hooks.is_empty() && cfg.session_class.is_empty() {
            return vec![msg];
        }
        let mut msgs = vec![msg];
        let stages = cfg.input_hooks.iter().map(|h| (h, DataIn::Hook));
        let class = (!cfg.session_class.is_empty()).then_some((&cfg.session_class, DataIn::Class));
        for (name, kind) in stages.chain(class) {
            // Looked up per message: a hot-reloaded hook serves the very next message.
            let Some(module) = self.plugins.get(name).cloned() else { continue };
            let mut next = Vec::with_capacity(msgs.len());
            for m in msgs {
                next.extend(self.data_in_one(&module, kind, sessid, m));
            }
            msgs = next;
            if msgs.is_empty() {
                break;
            }
        }
        msgs
    }

    /// One hook on one message.
    fn data_in_one(
        &mut self,
        module: &Arc<LoadedModule>,
        kind: DataIn,
        sessid: Sessid,
        msg: Msg,
    ) -> Vec<Msg> {
        let Some(session) = self.game().sessions.get(sessid).map(session_info) else {
            return vec![msg];
        };
        let wire = to_wire(&msg);
        let quotas = GuestQuotas::from_config(&self.game().cfg);
        let check = |r: HookResult| checked_result(r, &quotas);
        self.expose_caller_cmdset(sessid);
        let game = self.take_game();
        let (game, result) = {
            let _span =
                tracing::debug_span!("guest", %sessid, module = %module.name, hook = "data-in")
                    .entered();
            match kind {
                DataIn::Hook => {
                    self.plugins.hook_data_in(module, game, sessid, &wire, &session, check)
                }
                DataIn::Class => self.plugins.class_call(module, game, sessid, |g, store| {
                    let r = g.call_data_in(&mut *store, &wire, &session)?;
                    check(r).map_err(|e| wasmtime::Error::new(crate::wasm::QuotaExceeded(e)))
                }),
            }
        };
        self.put_game(game);
        match result {
            None => vec![msg],
            Some(Ok(Outcome::Pass)) => vec![msg],
            Some(Ok(Outcome::Messages(m))) => m,
            Some(Ok(Outcome::Swallow(answer))) => {
                if let Some(text) = answer {
                    self.game().msg_session(sessid, &text);
                }
                vec![]
            }
            Some(Err(e)) => {
                self.note_guest_error(&e);
                tracing::error!(%sessid, module = %module.name, cause = %e, "input hook failed; the message passes on unchanged");
                vec![msg]
            }
        }
    }

    /// After a unit of work: the session class's lifecycle hooks for what happened, then its
    /// `data-out` over the output produced since the last pass.
    pub(super) fn run_session_class(&mut self) {
        let name = self.game().cfg.session_class.clone();
        if name.is_empty() {
            return;
        }
        let Some(module) = self.plugins.get(&name).cloned() else {
            // Not loaded (yet): events are dropped, output passes as it is.
            self.game().take_class_events();
            self.out_mark = self.game().outputs_len();
            return;
        };
        // Lifecycle hooks may cause more events (a hook disconnecting its session): a few rounds.
        for _ in 0..4 {
            let events = self.game().take_class_events();
            if events.is_empty() {
                break;
            }
            // What a hook sends goes where its event happened; earlier hooks' output shifts the
            // later positions.
            let mut shift = 0;
            for (sessid, event, at) in events {
                let before = self.game().outputs_len();
                let unit = self.mark_for(sessid);
                self.class_event(&module, sessid, event);
                self.mark(unit.0, unit.1);
                let added = self.game().outputs_len().saturating_sub(before);
                let to = (at + shift).max(self.out_mark);
                self.game().move_outputs(before, to);
                shift += added;
            }
        }
        self.game().take_class_events();
        self.data_out(&module);
    }

    fn class_event(&mut self, module: &Arc<LoadedModule>, sessid: Sessid, event: ClassEvent) {
        let (hook, session, reason) = match event {
            ClassEvent::Sync | ClassEvent::Login => {
                let Some(info) = self.game().sessions.get(sessid).map(session_info) else { return };
                (
                    if matches!(event, ClassEvent::Sync) { "at-sync" } else { "at-login" },
                    info,
                    String::new(),
                )
            }
            ClassEvent::Disconnect { session, reason } => {
                ("at-disconnect", session_info(&session), reason)
            }
        };
        self.expose_caller_cmdset(sessid);
        let game = self.take_game();
        let (game, result) = {
            let _span =
                tracing::debug_span!("guest", %sessid, module = %module.name, hook).entered();
            self.plugins.class_call(module, game, sessid, |g, store| match hook {
                "at-sync" => g.call_at_sync(store, &session),
                "at-login" => g.call_at_login(store, &session),
                _ => g.call_at_disconnect(store, &session, &reason),
            })
        };
        self.put_game(game);
        if let Some(Err(e)) = result {
            tracing::error!(%sessid, module = %module.name, hook, cause = %e, "session class hook failed");
        }
    }

    /// The session class's `data-out` over the output queued since the last pass, one call per
    /// session, in order. A failed call leaves that session's messages as they were.
    fn data_out(&mut self, module: &Arc<LoadedModule>) {
        let mark = self.out_mark;
        let pending = self.game().split_outputs(mark);
        if pending.is_empty() {
            return;
        }
        // Group by session, keeping each session's order (and sessions in order of first output).
        let mut order: Vec<Sessid> = vec![];
        let mut by_session: std::collections::HashMap<Sessid, Vec<Msg>> = Default::default();
        for (sessid, msg) in pending {
            by_session.entry(sessid).or_insert_with(|| {
                order.push(sessid);
                vec![]
            });
            by_session.get_mut(&sessid).expect("inserted above").push(msg);
        }
        let quotas = GuestQuotas::from_config(&self.game().cfg);
        for sessid in order {
            let msgs = by_session.remove(&sessid).unwrap_or_default();
            let Some(session) = self.game().sessions.get(sessid).map(session_info) else {
                self.game().push_outputs(sessid, msgs);
                continue;
            };
            let wire: Vec<Message> = msgs.iter().map(to_wire).collect();
            self.expose_caller_cmdset(sessid);
            let game = self.take_game();
            let (game, result) = {
                let _span =
                    tracing::debug_span!("guest", %sessid, module = %module.name, hook = "data-out")
                        .entered();
                self.plugins.class_call(module, game, sessid, |g, store| {
                    let out = g.call_data_out(&mut *store, &session, &wire)?;
                    checked_list(out, &quotas)
                        .map_err(|e| wasmtime::Error::new(crate::wasm::QuotaExceeded(e)))
                })
            };
            self.put_game(game);
            match result {
                Some(Ok(out)) => self.game().push_outputs(sessid, out),
                None => self.game().push_outputs(sessid, msgs),
                Some(Err(e)) => {
                    tracing::error!(%sessid, module = %module.name, cause = %e, "data-out failed; the output passes unchanged");
                    self.game().push_outputs(sessid, msgs);
                }
            }
        }
        self.out_mark = self.game().outputs_len();
    }
}

/// What a `data-in` decided, checked and converted.
pub enum Outcome {
    /// Unchanged.
    Pass,
    /// Replaced by these (possibly several, possibly none).
    Messages(Vec<Msg>),
    /// Swallowed, with an optional answer to the session.
    Swallow(Option<String>),
}

/// A host message as the guest sees it: args and kwargs as JSON text.
fn to_wire(m: &Msg) -> Message {
    Message {
        cmdname: m.cmd.clone(),
        args: Value::Array(m.args.clone()).to_string(),
        kwargs: Value::Object(m.kwargs.clone()).to_string(),
    }
}

/// Check a guest's message against the quotas and parse it.
fn from_wire(m: Message, q: &GuestQuotas) -> Result<Msg, String> {
    let cmd = m.cmdname.trim().to_string();
    if cmd.is_empty() || cmd.len() > q.name_bytes {
        return Err(format!(
            "a message's cmdname is empty or over guest_name_bytes ({} bytes)",
            q.name_bytes
        ));
    }
    if m.args.len() + m.kwargs.len() > q.text_bytes {
        return Err(format!("a message is over guest_text_bytes ({} bytes)", q.text_bytes));
    }
    if json_depth(&m.args).max(json_depth(&m.kwargs)) > q.json_depth {
        return Err(format!("a message is nested deeper than guest_json_depth ({})", q.json_depth));
    }
    let args = match serde_json::from_str::<Value>(if m.args.trim().is_empty() {
        "[]"
    } else {
        &m.args
    }) {
        Ok(Value::Array(a)) => a,
        _ => return Err("a message's args are not a JSON array".into()),
    };
    let kwargs = match serde_json::from_str::<Value>(if m.kwargs.trim().is_empty() {
        "{}"
    } else {
        &m.kwargs
    }) {
        Ok(Value::Object(o)) => o,
        _ => return Err("a message's kwargs are not a JSON object".into()),
    };
    Ok(Msg { cmd, args, kwargs: Map::from_iter(kwargs) })
}

/// Check and convert a list of guest messages (split, data-out).
fn checked_list(list: Vec<Message>, q: &GuestQuotas) -> Result<Vec<Msg>, String> {
    if list.len() > q.list_items {
        return Err(format!("{} messages, over guest_list_items ({})", list.len(), q.list_items));
    }
    list.into_iter().map(|m| from_wire(m, q)).collect()
}

/// Check and convert a `data-in` result.
fn checked_result(r: HookResult, q: &GuestQuotas) -> Result<Outcome, String> {
    Ok(match r {
        HookResult::Pass => Outcome::Pass,
        HookResult::Rewrite(m) => Outcome::Messages(vec![from_wire(m, q)?]),
        HookResult::Split(list) => Outcome::Messages(checked_list(list, q)?),
        HookResult::Swallow(answer) => {
            if answer.as_ref().is_some_and(|a| a.len() > q.text_bytes) {
                return Err(format!(
                    "the answer is over guest_text_bytes ({} bytes)",
                    q.text_bytes
                ));
            }
            Outcome::Swallow(answer)
        }
    })
}
