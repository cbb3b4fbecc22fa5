//! Test input hook. Default build (`hooktest`):
//! - `hi` → `say hello` (the `v2` build: `say hello v2`, for the hot-reload test);
//! - `multi a;b;c` → three messages `say a`, `say b`, `say c`;
//! - `secret ...` → swallowed with an answer; `quiet` → swallowed silently;
//! - `boom` → sends "partial effect" and panics (the line must pass on unchanged, and the partial
//!   effect be undone); `spin` → loops until the deadline;
//! - `order1` → `order2`; an `echo` message gets "hooked" put before its arguments;
//! - `mycmds` → swallowed, answering the keys of the caller's merged cmdset (`caller-commands`).
//!
//! The `b` build (`hooktest_b`), for ordering: `order2` → `say order via b`, nothing else.

// The `b` build uses fewer of these.
#[allow(unused_imports)]
use mudhost_sdk::{cmdset, host, input_hook, HookResult, InputHook, Message, SessionInfo};
#[allow(unused_imports)]
use serde_json::Value;

struct Hook;

#[cfg(feature = "b")]
impl InputHook for Hook {
    fn data_in(msg: &Message, _session: &SessionInfo) -> HookResult {
        match msg.text_line().as_deref().map(str::trim) {
            Some("order2") => HookResult::Rewrite(msg.with_text("say order via b")),
            _ => HookResult::Pass,
        }
    }
}

#[cfg(not(feature = "b"))]
impl InputHook for Hook {
    fn data_in(msg: &Message, _session: &SessionInfo) -> HookResult {
        if msg.cmdname == "echo" {
            let mut args = vec![Value::from("hooked")];
            args.extend(msg.args_json());
            return HookResult::Rewrite(Message::new("echo", args, msg.kwargs_json()));
        }
        let Some(line) = msg.text_line() else { return HookResult::Pass };
        let line = line.trim();
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "hi" if cfg!(feature = "v2") => HookResult::rewrite_text("say hello v2"),
            "hi" => HookResult::rewrite_text("say hello"),
            "multi" => HookResult::Split(
                rest.split(';').map(|p| Message::text(format!("say {}", p.trim()))).collect(),
            ),
            "secret" => HookResult::swallow_with("The hook swallowed that."),
            "quiet" => HookResult::Swallow(None),
            "boom" => {
                host::msg_caller("partial effect");
                panic!("hook boom")
            }
            "spin" =>
            {
                #[allow(clippy::empty_loop)]
                loop {}
            }
            "order1" => HookResult::Rewrite(msg.with_text("order2")),
            "mycmds" => {
                let mut keys: Vec<String> =
                    host::caller_commands().into_iter().map(|c| c.key).collect();
                keys.sort();
                HookResult::swallow_with(format!("your commands: {}", keys.join(" ")))
            }
            _ => HookResult::Pass,
        }
    }
}

cmdset! { key: "HookTestCmdSet", priority: 0, merge_type: Union, commands: [] }
input_hook!(Hook);
