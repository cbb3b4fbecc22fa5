//! Running code on the test host: a command called as a session would type it
//! ([`TestHost::call`], Evennia's `call(cmd, args, expected)`, its texts compared without
//! markup), a prepared invocation, or any code as a session or as a hook.

use super::{strip_markup, with, Sent, TestHost};
use crate::{Command, Invocation, Sessid};

impl TestHost {
    /// Run code as the host runs an object-class hook or a timer firing: with no calling session
    /// (`msg_caller` then has nobody to reach and panics, as a test should notice).
    pub fn as_hook<R>(&self, f: impl FnOnce() -> R) -> R {
        let before = with(|s| s.current.take());
        let result = f();
        with(|s| s.current = before);
        result
    }

    /// Run any code as if a session had called it (host functions act for that session).
    pub fn as_session<R>(&self, sessid: Sessid, f: impl FnOnce() -> R) -> R {
        let before = with(|s| s.current.replace(sessid));
        let result = f();
        with(|s| s.current = before);
        result
    }

    /// The invocation the host would pass for `C` typed with `args` by `sessid` (args as
    /// Evennia keeps them: a space before non-empty arguments, none before `/switches`). A system command (`__` key) is
    /// never typed by name: its `raw` line is `args` alone (the unmatched line for
    /// `__nomatch_command`, empty for `__noinput_command`). Change fields (`cmdname` for an
    /// alias, `matches` for a command lent by an object) and pass it to [`TestHost::run`].
    pub fn invocation<C: Command>(&self, sessid: Sessid, args: &str) -> Invocation {
        let raw = if C::KEY.starts_with("__") {
            args.to_string()
        } else if args.is_empty() || args.starts_with('/') {
            format!("{}{args}", C::KEY)
        } else {
            format!("{} {args}", C::KEY)
        };
        // `quit/all`: switches follow the name directly.
        let args = if args.is_empty() || args.starts_with('/') {
            args.to_string()
        } else {
            format!(" {args}")
        };
        let session = self.session_info(sessid).unwrap_or_else(|| panic!("no session {sessid}"));
        Invocation {
            key: C::KEY.into(),
            cmdname: C::KEY.into(),
            raw,
            args,
            session,
            matches: vec![],
        }
    }

    /// Run `C` with `args` for the default caller and check what it was sent, Evennia's
    /// `call(cmd, args, expected)`: the texts sent to the caller during the command, markup
    /// stripped ([`strip_markup`]) and joined with `||`, must start with `expected` (an empty
    /// `expected` checks nothing). Returns those texts.
    #[track_caller]
    pub fn call<C: Command>(&self, args: &str, expected: &str) -> String {
        let sessid = with(|s| s.default_caller).expect("no session yet: make one with player()");
        self.call_as::<C>(sessid, args, expected)
    }

    /// [`TestHost::call`] for a given session.
    #[track_caller]
    pub fn call_as<C: Command>(&self, sessid: Sessid, args: &str, expected: &str) -> String {
        let inv = self.invocation::<C>(sessid, args);
        self.run::<C>(inv, expected)
    }

    /// Run `C` with a prepared invocation and check its texts as [`TestHost::call`] does.
    #[track_caller]
    pub fn run<C: Command>(&self, inv: Invocation, expected: &str) -> String {
        let sessid = inv.session.sessid;
        let start = with(|s| s.sessions.get(&sessid).map_or(0, |d| d.sent.len()));
        with(|s| {
            if let Some(d) = s.sessions.get_mut(&sessid) {
                d.info.cmd_total += 1;
            }
        });
        self.as_session(sessid, || C::run(&inv));
        let texts: Vec<String> = with(|s| {
            let sent =
                s.sessions.get(&sessid).map_or(&[][..], |d| &d.sent[start.min(d.sent.len())..]);
            sent.iter()
                .filter_map(|m| match m {
                    Sent::Text(t) => Some(strip_markup(t).trim().to_string()),
                    Sent::Oob(..) => None,
                })
                .collect()
        });
        let got = texts.join("||");
        let expected = expected.trim();
        assert!(
            got.starts_with(expected),
            "`{} {}` sent\n{got}\n--- but the test expected it to start with ---\n{expected}",
            C::KEY,
            inv.args.trim()
        );
        got
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CmdResult, Obj};

    struct Look;
    impl Command for Look {
        const KEY: &'static str = "look";
        const HELP: &'static str = "Look around.";
        fn func(inv: &Invocation) -> CmdResult {
            let me = inv.puppet().ok_or("You are not puppeting anything.")?;
            let room = me.location().ok_or("You are nowhere.")?;
            let names: Vec<String> =
                room.contents().into_iter().filter(|o| *o != me).map(|o| o.name()).collect();
            inv.msg(format!("|c{}|n\n{}", room.name(), room.attr("desc").unwrap_or_default()));
            if !names.is_empty() {
                inv.msg(format!("|wYou see:|n {}", names.join(", ")));
            }
            Ok(())
        }
    }

    #[test]
    fn a_command_runs_against_the_fake_world_and_its_texts_are_compared_without_markup() {
        let host = TestHost::new();
        let garden = host.room("Garden", "Roses.");
        host.object("pebble", "thing", Some(garden));
        host.player("Anna", garden);
        let got = host.call::<Look>("", "Garden\nRoses.||You see: pebble");
        assert_eq!(got, "Garden\nRoses.||You see: pebble");
    }

    #[test]
    #[should_panic(expected = "but the test expected it to start with")]
    fn a_text_that_differs_fails_the_call() {
        let host = TestHost::new();
        let garden = host.room("Garden", "");
        host.player("Anna", garden);
        host.call::<Look>("", "Tower");
    }

    #[test]
    fn errors_go_to_the_caller_and_room_messages_to_everyone_else_there() {
        let host = TestHost::new();
        let (anna, bob) = (host.session(), host.session());
        host.call_as::<Look>(anna, "", "You are not puppeting anything.");
        let room = host.room("Hall", "");
        let b = host.player("Bob", room);
        let a = host.player("Ann", room);
        host.as_session(a, || {
            Obj(host.puppet_of(a).unwrap().0).location().unwrap().msg_contents("hi", &[])
        });
        assert_eq!(host.output(b), ["hi"]);
        assert_eq!(host.output(a), ["hi"]);
        assert!(host.output(bob).is_empty());
        assert_eq!(host.room_messages(), [(room, "hi".to_string())]);
    }
}
