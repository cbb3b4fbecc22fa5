//! A test host: an in-memory fake of the host imports, so a module's commands and hooks run in a
//! native `cargo test` (Evennia's `EvenniaTest` and `BaseEvenniaCommandTest.call`).
//!
//! Enable the SDK feature `testing` from the module's `[dev-dependencies]`:
//!
//! ```toml
//! [dev-dependencies]
//! mudhost-sdk = { path = "...", features = ["testing"] }
//! ```
//!
//! Then, in the module's unit tests:
//!
//! ```ignore
//! use mudhost_sdk::testing::TestHost;
//!
//! #[test]
//! fn look_shows_the_room() {
//!     let host = TestHost::new();
//!     let garden = host.room("Garden", "Roses everywhere.");
//!     host.player("Anna", garden);
//!     host.call::<Look>("", "Garden\nRoses everywhere.");
//! }
//! ```
//!
//! Without the feature (or in a wasm32 build) the imports are the real host's; a host function
//! called in a native test then aborts the test binary, because there is no host.
//!
//! The fake keeps objects (key, kind, location, attributes; aliases from the `aliases`
//! attribute, as the host reads exit aliases), accounts (name, password, superuser flag,
//! permission, attributes), sessions (login, puppet, ndb), cmdset stacks on every holder, a fake
//! clock ([`TestHost::advance`]) and everything sent, per session ([`TestHost::output`]) and per
//! room ([`TestHost::room_messages`]). Channels, help topics and `execute-cmd` are faked in `testing_comms.rs`
//! (channels delivered as the host does; help topics set by [`TestHost::set_help_topics`];
//! executed lines recorded, not run: [`TestHost::executed`]). The host's own answers that no module writes (the login
//! screen after `connect`, `look` after puppeting) are not reproduced: a fake login or puppet
//! only changes the session. Each test thread has its own world, made fresh by [`TestHost::new`].
//!
//! Timers ([`crate::host::delay`], [`crate::host::repeat`], `cancel`, `timers`) are kept with
//! the host's limits and fire when the fake clock passes them: give the test host the module's
//! handler once, then move the clock.
//!
//! ```ignore
//! let host = TestHost::new();
//! host.timer_handler(<CmdSet as mudhost_sdk::Guest>::at_timer);
//! host.call::<Open>(" gate", "You open the gate.");
//! host.advance(10_000); // due timers fire, in order, through at_timer
//! ```

// Channels, help, execute: the fakes of their imports.
#[path = "testing_comms.rs"]
mod comms;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;

// A file beside this one (not `testing/world.rs`): `mudhost new` copies the SDK's `src/` flat.
#[path = "testing_world.rs"]
mod world;

use crate::bindings::mudhost::game::host::MultisessionPolicy;
use crate::{
    Account, AccountId, CmdsetHolder, Command, CommandInfo, HostError, Invocation, LogLevel, Obj,
    ObjectId, Sessid, SessionInfo, TimerInfo,
};

/// Evennia's permission hierarchy, lowest first.
const PERMISSIONS: [&str; 5] = ["Player", "Helper", "Builder", "Admin", "Developer"];
/// The fake clock's start: a fixed time, so texts that show durations are repeatable.
const START_MS: u64 = 1_700_000_000_000;

/// The host's defaults for timers (`timer_max_per_module`, `timer_min_interval_ms`,
/// `guest_attr_value_bytes` for payloads); see [`TestHost::set_timer_limits`].
const TIMER_MAX: usize = 10_000;
const TIMER_MIN_INTERVAL_MS: u64 = 100;
const TIMER_PAYLOAD_BYTES: usize = 64 * 1024;

/// Firings one [`TestHost::advance`] runs at most: a repeating timer cannot make a test spin
/// forever (a year of 100 ms ticks is far more than any test means).
const MAX_FIRINGS_PER_ADVANCE: usize = 1_000_000;

/// One thing sent to a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// A text (Evennia markup kept).
    Text(String),
    /// An out-of-band command: name, args JSON, kwargs JSON.
    Oob(String, String, String),
}

struct ObjData {
    key: String,
    kind: String,
    location: Option<ObjectId>,
    attrs: BTreeMap<String, String>,
}

struct AccountData {
    name: String,
    password: String,
    superuser: bool,
    permission: String,
    attrs: BTreeMap<String, String>,
}

struct SessData {
    info: SessionInfo,
    ndb: BTreeMap<String, String>,
    sent: Vec<Sent>,
    /// Why it was disconnected: a closed session is gone for the host functions, but what it
    /// was sent stays readable.
    closed: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Holder {
    Session(Sessid),
    Account(AccountId),
    Object(ObjectId),
}

impl From<CmdsetHolder> for Holder {
    fn from(h: CmdsetHolder) -> Holder {
        match h {
            CmdsetHolder::Session(s) => Holder::Session(s),
            CmdsetHolder::Account(a) => Holder::Account(a),
            CmdsetHolder::Object(o) => Holder::Object(o),
        }
    }
}

struct State {
    next_id: u64,
    next_sessid: Sessid,
    objects: BTreeMap<ObjectId, ObjData>,
    accounts: BTreeMap<AccountId, AccountData>,
    sessions: BTreeMap<Sessid, SessData>,
    start_location: ObjectId,
    /// The session a call runs for (the caller).
    current: Option<Sessid>,
    /// The session [`TestHost::call`] uses.
    default_caller: Option<Sessid>,
    now_ms: u64,
    cmdsets: BTreeMap<Holder, Vec<String>>,
    policy: MultisessionPolicy,
    commands: Vec<CommandInfo>,
    module_report: Vec<String>,
    logs: Vec<(LogLevel, String)>,
    room_messages: Vec<(ObjectId, String)>,
    reloads: Vec<String>,
    /// Prototypes by lower-case key, as JSON objects (`TestHost::prototype`).
    prototypes: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// The module's timers by id.
    timers: BTreeMap<u64, TimerInfo>,
    next_timer: u64,
    /// `timer_max_per_module`, `timer_min_interval_ms`.
    timer_limits: (usize, u64),
    /// The module's `at_timer`, given by [`TestHost::timer_handler`].
    timer_handler: Option<fn(TimerInfo)>,
    /// A timer is firing: there is no caller, and `msg_caller` reaches nobody (as on the host).
    firing: bool,
    /// Channels, help topics, executed lines (`testing_comms.rs`).
    comms: comms::CommsState,
    /// Object classes by object (recorded only).
    classes: BTreeMap<ObjectId, String>,
}

impl State {
    fn new() -> State {
        let mut s = State {
            next_id: 1,
            next_sessid: 1,
            objects: BTreeMap::new(),
            accounts: BTreeMap::new(),
            sessions: BTreeMap::new(),
            start_location: 0,
            current: None,
            default_caller: None,
            now_ms: START_MS,
            cmdsets: BTreeMap::new(),
            policy: MultisessionPolicy {
                mode: 0,
                max_nr_characters: 1,
                max_nr_simultaneous_puppets: 1,
                auto_create_character_with_account: true,
                auto_puppet_on_login: true,
            },
            commands: Vec::new(),
            module_report: Vec::new(),
            logs: Vec::new(),
            room_messages: Vec::new(),
            reloads: Vec::new(),
            prototypes: BTreeMap::new(),
            timers: BTreeMap::new(),
            next_timer: 1,
            timer_limits: (TIMER_MAX, TIMER_MIN_INTERVAL_MS),
            timer_handler: None,
            firing: false,
            comms: Default::default(),
            classes: BTreeMap::new(),
        };
        s.start_location = s.create("Limbo", "room", None);
        s
    }

    fn create(&mut self, key: &str, kind: &str, location: Option<ObjectId>) -> ObjectId {
        let id = self.next_id;
        self.next_id += 1;
        let location = location.filter(|l| self.objects.contains_key(l));
        let data = ObjData { key: key.into(), kind: kind.into(), location, attrs: BTreeMap::new() };
        self.objects.insert(id, data);
        id
    }

    fn contents(&self, obj: ObjectId) -> Vec<ObjectId> {
        self.objects.iter().filter(|(_, o)| o.location == Some(obj)).map(|(id, _)| *id).collect()
    }

    fn caller(&self) -> Sessid {
        self.current.expect(
            "no calling session: run the code through TestHost::call, call_as or as_session",
        )
    }

    fn session(&self, sessid: Sessid) -> &SessData {
        self.sessions.get(&sessid).unwrap_or_else(|| panic!("no session {sessid}"))
    }

    fn session_mut(&mut self, sessid: Sessid) -> &mut SessData {
        self.sessions.get_mut(&sessid).unwrap_or_else(|| panic!("no session {sessid}"))
    }

    fn send(&mut self, sessid: Sessid, sent: Sent) {
        if let Some(s) = self.sessions.get_mut(&sessid).filter(|s| s.closed.is_none()) {
            s.sent.push(sent);
        }
    }

    /// A connected session.
    fn live(&self, sessid: Sessid) -> Option<&SessData> {
        self.sessions.get(&sessid).filter(|s| s.closed.is_none())
    }

    fn infos(&self, keep: impl Fn(&SessionInfo) -> bool) -> Vec<SessionInfo> {
        self.sessions
            .values()
            .filter(|s| s.closed.is_none())
            .map(|s| s.info.clone())
            .filter(|i| keep(i))
            .collect()
    }

    fn msg_object(&mut self, obj: ObjectId, text: &str) {
        let to: Vec<Sessid> =
            self.infos(|i| i.puppet == Some(obj)).iter().map(|i| i.sessid).collect();
        for s in to {
            self.send(s, Sent::Text(text.into()));
        }
    }

    fn superuser(&self, account: Option<AccountId>) -> bool {
        account.and_then(|a| self.accounts.get(&a)).is_some_and(|a| a.superuser)
    }

    fn caller_account(&self) -> Option<AccountId> {
        self.session(self.caller()).info.account
    }

    fn characters(&self, account: AccountId) -> Vec<ObjectId> {
        let id = account.to_string();
        self.objects
            .iter()
            .filter(|(_, o)| o.attrs.get("owner_account") == Some(&id))
            .map(|(id, _)| *id)
            .collect()
    }

    fn timer_list(&self) -> Vec<TimerInfo> {
        let mut list: Vec<TimerInfo> = self.timers.values().cloned().collect();
        list.sort_by_key(|t| (t.due_ms, t.id));
        list
    }

    /// Schedule a timer with the host's checks and error texts (`wasm/host_timers.rs`).
    fn timer_add(
        &mut self,
        delay_ms: u64,
        interval_ms: Option<u64>,
        payload: &str,
        obj: Option<ObjectId>,
        persistent: bool,
    ) -> Result<u64, HostError> {
        let (max, min_interval) = self.timer_limits;
        if interval_ms.is_some_and(|i| i < min_interval) {
            return Err(HostError::Invalid(format!(
                "a repeating timer's interval must be at least timer_min_interval_ms ({min_interval} ms)"
            )));
        }
        if payload.len() > TIMER_PAYLOAD_BYTES {
            return Err(HostError::Quota(format!(
                "the timer payload is over guest_attr_value_bytes ({TIMER_PAYLOAD_BYTES} bytes)"
            )));
        }
        if self.timers.len() >= max {
            return Err(HostError::Quota(format!(
                "this module already has timer_max_per_module ({max}) timers"
            )));
        }
        if obj.is_some_and(|o| !self.objects.contains_key(&o)) {
            return Err(HostError::NotFound(format!("no object #{}", obj.unwrap_or_default())));
        }
        let id = self.next_timer;
        self.next_timer += 1;
        let due_ms = self.now_ms.saturating_add(delay_ms);
        let payload = payload.to_string();
        self.timers.insert(id, TimerInfo { id, due_ms, interval_ms, payload, obj, persistent });
        Ok(id)
    }

    fn close(&mut self, sessid: Sessid, reason: &str) {
        if let Some(s) = self.sessions.get_mut(&sessid).filter(|s| s.closed.is_none()) {
            s.closed = Some(reason.into());
        }
    }
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let state = s.as_mut().expect("no test host on this thread: make one with TestHost::new()");
        f(state)
    })
}

/// Evennia's `strip_ansi` for the markup modules write: colour codes (`|w`, `|n`, `|[r`,
/// `|500`, `|=a`, `|#ff0000`) removed, `||` kept as `|`, `|/` a line break, `|-` a tab, `|_` a
/// space. What [`TestHost::call`] compares.
pub fn strip_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '|' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('|') => out.push('|'),
            Some('/') => out.push('\n'),
            Some('-') => out.push('\t'),
            Some('_') => out.push(' '),
            // A background colour: the same codes after `|[`.
            Some('[') => {
                if let Some(first) = chars.next() {
                    skip_colour(first, &mut chars);
                }
            }
            Some(first @ ('0'..='9' | '=' | '#')) => skip_colour(first, &mut chars),
            Some(c) if c.is_ascii_alphabetic() || "*^>".contains(c) => {}
            Some(other) => {
                out.push('|');
                out.push(other);
            }
            None => out.push('|'),
        }
    }
    out
}

/// The rest of a colour code whose first character is `first`: a letter alone, three digits
/// (`500`), `=x` or `#rrggbb`.
fn skip_colour(first: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match first {
        d if d.is_ascii_digit() => {
            for _ in 0..2 {
                chars.next_if(char::is_ascii_digit);
            }
        }
        '=' => {
            chars.next_if(char::is_ascii_lowercase);
        }
        '#' => {
            for _ in 0..6 {
                chars.next_if(char::is_ascii_hexdigit);
            }
        }
        _ => {}
    }
}

/// The world a test runs against; see the [module documentation](self). Dropping it removes the
/// world, so the next [`TestHost::new`] on the thread starts empty.
pub struct TestHost {
    /// The world is per thread: a handle must stay on its thread.
    _thread: PhantomData<*const ()>,
}

impl Default for TestHost {
    fn default() -> Self {
        TestHost::new()
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        STATE.with(|s| *s.borrow_mut() = None);
    }
}

impl TestHost {
    /// A fresh world with only Limbo (the start location), the clock at a fixed time and
    /// Evennia's default multisession policy (mode 0, one character, auto-puppet).
    pub fn new() -> TestHost {
        STATE.with(|s| *s.borrow_mut() = Some(State::new()));
        world::reset();
        TestHost { _thread: PhantomData }
    }

    // --- building the world ---------------------------------------------------------------

    /// Limbo, the start location.
    pub fn limbo(&self) -> Obj {
        Obj(with(|s| s.start_location))
    }

    /// A room with a description (its `desc` attribute; empty for none).
    pub fn room(&self, key: &str, desc: &str) -> Obj {
        let room = self.object(key, "room", None);
        if !desc.is_empty() {
            self.set_attr(room, "desc", desc);
        }
        room
    }

    /// An object of any kind in `location`.
    pub fn object(&self, key: &str, kind: &str, location: Option<Obj>) -> Obj {
        Obj(with(|s| s.create(key, kind, location.map(|l| l.0))))
    }

    /// An exit named `key` in `from` leading to `to` (its `destination` attribute).
    pub fn exit(&self, key: &str, from: Obj, to: Obj) -> Obj {
        let exit = self.object(key, "exit", Some(from));
        self.set_attr(exit, "destination", &to.0.to_string());
        exit
    }

    /// Set an object attribute.
    pub fn set_attr(&self, obj: Obj, key: &str, value: &str) {
        with(|s| {
            if let Some(o) = s.objects.get_mut(&obj.0) {
                o.attrs.insert(key.into(), value.into());
            }
        })
    }

    /// An object attribute.
    pub fn attr(&self, obj: Obj, key: &str) -> Option<String> {
        with(|s| s.objects.get(&obj.0).and_then(|o| o.attrs.get(key).cloned()))
    }

    /// Where an object is.
    pub fn location(&self, obj: Obj) -> Option<Obj> {
        with(|s| s.objects.get(&obj.0).and_then(|o| o.location).map(Obj))
    }

    /// An account (password `password`; the first one made is not special: see
    /// [`TestHost::superuser`]).
    pub fn account(&self, name: &str) -> Account {
        self.make_account(name, false)
    }

    /// A superuser account.
    pub fn superuser(&self, name: &str) -> Account {
        self.make_account(name, true)
    }

    fn make_account(&self, name: &str, superuser: bool) -> Account {
        Account(with(|s| {
            let id = s.next_id;
            s.next_id += 1;
            let permission = if superuser { "Developer" } else { "Player" };
            let data = AccountData {
                name: name.into(),
                password: "password".into(),
                superuser,
                permission: permission.into(),
                attrs: BTreeMap::new(),
            };
            s.accounts.insert(id, data);
            id
        }))
    }

    /// A character owned by `account` in `location`.
    pub fn character(&self, account: Account, key: &str, location: Option<Obj>) -> Obj {
        let ch = self.object(key, "character", location);
        self.set_attr(ch, "owner_account", &account.0.to_string());
        ch
    }

    /// A connected session, not logged in. The first session made is the default caller of
    /// [`TestHost::call`] (see [`TestHost::set_caller`]).
    pub fn session(&self) -> Sessid {
        with(|s| {
            let sessid = s.next_sessid;
            s.next_sessid += 1;
            let info = SessionInfo {
                sessid,
                address: "127.0.0.1".into(),
                protocol_key: "websocket".into(),
                csessid: None,
                logged_in: false,
                account: None,
                account_name: None,
                puppet: None,
                conn_time: s.now_ms,
                cmd_last: s.now_ms,
                cmd_last_visible: s.now_ms,
                cmd_total: 0,
                protocol_flags: vec![],
            };
            let data = SessData { info, ndb: BTreeMap::new(), sent: vec![], closed: None };
            s.sessions.insert(sessid, data);
            s.default_caller.get_or_insert(sessid);
            sessid
        })
    }

    /// Log a session in to an account.
    pub fn login(&self, sessid: Sessid, account: Account) {
        with(|s| {
            let name = s.accounts.get(&account.0).map(|a| a.name.clone());
            let info = &mut s.session_mut(sessid).info;
            info.logged_in = true;
            info.account = Some(account.0);
            info.account_name = name;
        })
    }

    /// Make a session puppet an object.
    pub fn puppet(&self, sessid: Sessid, obj: Obj) {
        with(|s| s.session_mut(sessid).info.puppet = Some(obj.0));
    }

    /// A player in one step: an account named `name`, its character `name` in `room`, a session
    /// logged in and puppeting it. Returns the session (the default caller if it is the first).
    pub fn player(&self, name: &str, room: Obj) -> Sessid {
        let account = self.account(name);
        let ch = self.character(account, name, Some(room));
        let sessid = self.session();
        self.login(sessid, account);
        self.puppet(sessid, ch);
        sessid
    }

    /// The session [`TestHost::call`] runs commands for.
    pub fn set_caller(&self, sessid: Sessid) {
        with(|s| s.default_caller = Some(sessid));
    }

    /// A session as the host would pass it (None once it is disconnected).
    pub fn session_info(&self, sessid: Sessid) -> Option<SessionInfo> {
        with(|s| s.live(sessid).map(|d| d.info.clone()))
    }

    /// The character a session puppets.
    pub fn puppet_of(&self, sessid: Sessid) -> Option<Obj> {
        self.session_info(sessid).and_then(|i| i.puppet).map(Obj)
    }

    /// Why a session was disconnected, if it was.
    pub fn disconnected(&self, sessid: Sessid) -> Option<String> {
        with(|s| s.sessions.get(&sessid).and_then(|d| d.closed.clone()))
    }

    /// A session's ndb value.
    pub fn ndb(&self, sessid: Sessid, key: &str) -> Option<String> {
        with(|s| s.sessions.get(&sessid).and_then(|d| d.ndb.get(key).cloned()))
    }

    /// The module names on a holder's cmdset stack, bottom first.
    pub fn cmdsets(&self, holder: CmdsetHolder) -> Vec<String> {
        with(|s| s.cmdsets.get(&holder.into()).cloned().unwrap_or_default())
    }

    /// The multisession policy `get-multisession-policy` answers.
    pub fn set_policy(&self, policy: MultisessionPolicy) {
        with(|s| s.policy = policy);
    }

    /// The commands `caller-commands` answers (e.g. `CmdSet::commands()`), for `help`.
    pub fn set_commands(&self, commands: Vec<CommandInfo>) {
        with(|s| s.commands = commands);
    }

    /// The lines `module-report` answers.
    pub fn set_module_report(&self, lines: Vec<String>) {
        with(|s| s.module_report = lines);
    }

    // --- the clock ------------------------------------------------------------------------

    /// The fake clock, unix milliseconds (what `now-ms` answers).
    pub fn now_ms(&self) -> u64 {
        with(|s| s.now_ms)
    }

    /// Move the fake clock forward by `ms`, firing every timer that falls due on the way, in
    /// due order (ties by id), each with the clock at its due time and no caller, through the
    /// handler given to [`TestHost::timer_handler`] (a one-shot is gone before it runs, a
    /// repeating timer is due again one interval later). Due timers without a handler panic:
    /// the test would otherwise pass without the module's timer code ever running.
    #[track_caller]
    pub fn advance(&self, ms: u64) {
        let target = with(|s| s.now_ms.saturating_add(ms));
        for _ in 0..MAX_FIRINGS_PER_ADVANCE {
            let fire = with(|s| {
                let (&id, t) = s.timers.iter().min_by_key(|(id, t)| (t.due_ms, **id))?;
                if t.due_ms > target {
                    return None;
                }
                let fired = t.clone();
                s.now_ms = s.now_ms.max(fired.due_ms);
                match fired.interval_ms {
                    Some(every) => {
                        if let Some(t) = s.timers.get_mut(&id) {
                            t.due_ms = t.due_ms.saturating_add(every.max(1));
                        }
                    }
                    None => {
                        s.timers.remove(&id);
                    }
                }
                let handler = s.timer_handler.unwrap_or_else(|| {
                    panic!(
                        "timer {id} ({:?}) is due but the test host has no handler: call \
                         host.timer_handler(<CmdSet as mudhost_sdk::Guest>::at_timer) first",
                        fired.payload
                    )
                });
                Some((handler, fired))
            });
            let Some((handler, timer)) = fire else {
                with(|s| s.now_ms = s.now_ms.max(target));
                return;
            };
            let before = with(|s| (s.current.take(), std::mem::replace(&mut s.firing, true)));
            handler(timer);
            with(|s| (s.current, s.firing) = before);
        }
        panic!("more than {MAX_FIRINGS_PER_ADVANCE} timer firings in one advance({ms})");
    }

    // --- timers ---------------------------------------------------------------------------

    /// The module's timer handler (`at_timer`), which [`TestHost::advance`] fires due timers
    /// through: `host.timer_handler(<CmdSet as mudhost_sdk::Guest>::at_timer)`.
    pub fn timer_handler(&self, handler: fn(TimerInfo)) {
        with(|s| s.timer_handler = Some(handler));
    }

    /// The module's timers, soonest first (what `host::timers` answers).
    pub fn timers(&self) -> Vec<TimerInfo> {
        with(|s| s.timer_list())
    }

    /// The game's `timer_max_per_module` and `timer_min_interval_ms` (host defaults: 10000 and
    /// 100), to test a module against other limits.
    pub fn set_timer_limits(&self, max_per_module: usize, min_interval_ms: u64) {
        with(|s| s.timer_limits = (max_per_module, min_interval_ms));
    }

    // --- running code ---------------------------------------------------------------------

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

    // --- what was sent --------------------------------------------------------------------

    /// Everything sent to a session so far, in order.
    pub fn sent(&self, sessid: Sessid) -> Vec<Sent> {
        with(|s| s.sessions.get(&sessid).map(|d| d.sent.clone()).unwrap_or_default())
    }

    /// The texts sent to a session so far, markup stripped.
    pub fn output(&self, sessid: Sessid) -> Vec<String> {
        self.sent(sessid)
            .into_iter()
            .filter_map(|m| match m {
                Sent::Text(t) => Some(strip_markup(&t)),
                Sent::Oob(..) => None,
            })
            .collect()
    }

    /// The texts sent to a session so far (markup stripped), and forget them.
    pub fn take_output(&self, sessid: Sessid) -> Vec<String> {
        let out = self.output(sessid);
        with(|s| {
            if let Some(d) = s.sessions.get_mut(&sessid) {
                d.sent.clear();
            }
        });
        out
    }

    /// Every `msg-contents` so far: the room and the text (markup kept).
    pub fn room_messages(&self) -> Vec<(Obj, String)> {
        with(|s| s.room_messages.iter().map(|(r, t)| (Obj(*r), t.clone())).collect())
    }

    /// The module's log lines so far.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        with(|s| s.logs.clone())
    }

    /// The reasons of `server-reload` calls accepted so far.
    pub fn reloads(&self) -> Vec<String> {
        with(|s| s.reloads.clone())
    }

    /// Put a prototype in the fake prototypes folder (a JSON object with Evennia's keys; its
    /// `prototype_key` is `key`). Replaces one of the same key, as editing its file would.
    pub fn prototype(&self, key: &str, json: &str) {
        let serde_json::Value::Object(mut data) =
            serde_json::from_str(json).expect("a JSON object")
        else {
            panic!("a prototype is a JSON object: {json}");
        };
        data.insert("prototype_key".into(), key.to_lowercase().into());
        with(|s| s.prototypes.insert(key.to_lowercase(), data));
    }
}

/// The host imports, one function per import with the signature the bindings give it, on the
/// thread's fake world. `host.rs` calls these instead of the bindings in native builds with the
/// `testing` feature.
pub(crate) mod imports {
    use super::*;

    pub use crate::bindings::mudhost::game::host::{ContentsPacked, ObjectBrief};
    // World model: tags, aliases, search, attributes, locks (`testing/world.rs`).
    pub use super::world::{
        access, alias_add, alias_remove, aliases, attr_get_json, attr_list, attr_set_json,
        lock_add, lock_remove, locks, search_kind, search_tag, tag_add, tag_remove, tags,
    };
    pub use crate::bindings::mudhost::game::host::{AttrEntry, Tag};

    pub use super::comms::{
        channel_ban, channel_bans, channel_create, channel_history, channel_list, channel_mute,
        channel_send, channel_sub, channel_unsub, channel_who, execute_cmd, help_topic_text,
        help_topics,
    };
    pub use crate::bindings::mudhost::game::host::{ChannelInfo, HelpTopic};

    pub fn msg_caller(text: &str) {
        with(|s| {
            // A timer firing has no caller: its `msg_caller` reaches nobody, as on the host.
            if s.firing && s.current.is_none() {
                return;
            }
            let c = s.caller();
            s.send(c, Sent::Text(text.into()))
        })
    }

    pub fn msg_session(session: Sessid, text: &str) {
        with(|s| s.send(session, Sent::Text(text.into())))
    }

    pub fn msg_account(account: AccountId, text: &str) {
        with(|s| {
            let to: Vec<Sessid> =
                s.infos(|i| i.account == Some(account)).iter().map(|i| i.sessid).collect();
            for sid in to {
                s.send(sid, Sent::Text(text.into()));
            }
        })
    }

    pub fn msg_object(obj: ObjectId, text: &str) {
        with(|s| s.msg_object(obj, text))
    }

    pub fn msg_contents(location: ObjectId, text: &str, exclude: &[ObjectId]) {
        with(|s| {
            s.room_messages.push((location, text.into()));
            for obj in s.contents(location) {
                if !exclude.contains(&obj) {
                    s.msg_object(obj, text);
                }
            }
        })
    }

    pub fn announce_all(text: &str) {
        with(|s| {
            let all: Vec<Sessid> = s.infos(|_| true).iter().map(|i| i.sessid).collect();
            for sid in all {
                s.send(sid, Sent::Text(text.into()));
            }
        })
    }

    pub fn send_oob(
        session: Sessid,
        cmdname: &str,
        args_json: &str,
        kwargs_json: &str,
    ) -> Result<(), HostError> {
        with(|s| s.send(session, Sent::Oob(cmdname.into(), args_json.into(), kwargs_json.into())));
        Ok(())
    }

    pub fn current_session() -> SessionInfo {
        with(|s| s.session(s.caller()).info.clone())
    }

    pub fn get_session(session: Sessid) -> Option<SessionInfo> {
        with(|s| s.live(session).map(|d| d.info.clone()))
    }

    pub fn get_sessions(include_unloggedin: bool) -> Vec<SessionInfo> {
        with(|s| s.infos(|i| include_unloggedin || i.logged_in))
    }

    pub fn sessions_from_account(account: AccountId) -> Vec<SessionInfo> {
        with(|s| s.infos(|i| i.account == Some(account)))
    }

    pub fn sessions_from_puppet(obj: ObjectId) -> Vec<SessionInfo> {
        with(|s| s.infos(|i| i.puppet == Some(obj)))
    }

    pub fn account_count() -> u32 {
        with(|s| {
            let mut ids: Vec<AccountId> =
                s.infos(|i| i.logged_in).iter().filter_map(|i| i.account).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len() as u32
        })
    }

    pub fn disconnect(session: Sessid, reason: &str) {
        let _ = disconnect_session(session, reason);
    }

    pub fn ndb_get(key: &str) -> Option<String> {
        with(|s| s.session(s.caller()).ndb.get(key).cloned())
    }

    pub fn ndb_set(key: &str, value: Option<&str>) {
        with(|s| {
            let c = s.caller();
            let ndb = &mut s.session_mut(c).ndb;
            match value {
                Some(v) => ndb.insert(key.into(), v.into()),
                None => ndb.remove(key),
            };
        })
    }

    pub fn create_account(name: &str, password: &str) -> Result<(), HostError> {
        let name = name.trim();
        if password.chars().count() < 8 {
            return Err(HostError::Refused(
                "This password is too short. It must contain at least 8 characters.".into(),
            ));
        }
        if account_search(name).is_some() {
            return Err(HostError::Refused(format!(
                "Sorry, there is already an account with the name '{name}'."
            )));
        }
        with(|s| {
            let id = s.next_id;
            s.next_id += 1;
            let data = AccountData {
                name: name.into(),
                password: password.into(),
                superuser: false,
                permission: "Player".into(),
                attrs: BTreeMap::new(),
            };
            s.accounts.insert(id, data);
            let c = s.caller();
            let text = format!("A new account '{name}' was created. Welcome!\n\nYou can now log with the command 'connect {name} <your password>'.");
            s.send(c, Sent::Text(text));
        });
        Ok(())
    }

    pub fn login(name: &str, password: &str) -> Result<(), HostError> {
        let found = account_search(name)
            .filter(|id| with(|s| s.accounts.get(id).is_some_and(|a| a.password == password)));
        with(|s| {
            let c = s.caller();
            match found {
                Some(id) => {
                    let name = s.accounts.get(&id).map(|a| a.name.clone());
                    let info = &mut s.session_mut(c).info;
                    info.logged_in = true;
                    info.account = Some(id);
                    info.account_name = name;
                }
                None => s.send(c, Sent::Text("|RUsername and/or password is incorrect.|n".into())),
            }
        });
        Ok(())
    }

    pub fn account_name(account: AccountId) -> Option<String> {
        with(|s| s.accounts.get(&account).map(|a| a.name.clone()))
    }

    pub fn account_characters(account: AccountId) -> Vec<ObjectId> {
        with(|s| s.characters(account))
    }

    pub fn account_is_superuser(account: AccountId) -> bool {
        with(|s| s.superuser(Some(account)))
    }

    pub fn account_attr_get(account: AccountId, key: &str) -> Option<String> {
        with(|s| s.accounts.get(&account).and_then(|a| a.attrs.get(key).cloned()))
    }

    pub fn account_attr_set(
        account: AccountId,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), HostError> {
        with(|s| {
            let a = s
                .accounts
                .get_mut(&account)
                .ok_or_else(|| HostError::NotFound(format!("no account {account}")))?;
            match value {
                Some(v) => a.attrs.insert(key.into(), v.into()),
                None => a.attrs.remove(key),
            };
            Ok(())
        })
    }

    pub fn puppet(obj: ObjectId) -> Result<(), HostError> {
        with(|s| {
            let c = s.caller();
            let account = s
                .session(c)
                .info
                .account
                .ok_or_else(|| HostError::Refused("You are not logged in.".into()))?;
            let key = s
                .objects
                .get(&obj)
                .map(|o| o.key.clone())
                .ok_or_else(|| HostError::Refused("No such object.".into()))?;
            let own = s.characters(account).contains(&obj);
            if !own && !s.superuser(Some(account)) {
                return Err(HostError::Refused(format!(
                    "You don't have permission to puppet '{key}'."
                )));
            }
            if s.objects.get(&obj).is_some_and(|o| o.location.is_none()) {
                let start = s.start_location;
                if let Some(o) = s.objects.get_mut(&obj) {
                    o.location = Some(start);
                }
            }
            s.session_mut(c).info.puppet = Some(obj);
            s.msg_object(obj, &format!("\nYou become |c{key}|n.\n"));
            Ok(())
        })
    }

    pub fn unpuppet() -> Result<(), HostError> {
        with(|s| {
            let c = s.caller();
            s.session_mut(c)
                .info
                .puppet
                .take()
                .map(|_| ())
                .ok_or_else(|| HostError::Refused("You are already OOC.".into()))
        })
    }

    pub fn object_create(key: &str, kind: &str, location: Option<ObjectId>) -> ObjectId {
        with(|s| s.create(key, kind, location))
    }

    pub fn object_exists(obj: ObjectId) -> bool {
        with(|s| s.objects.contains_key(&obj))
    }

    pub fn object_key(obj: ObjectId) -> Option<String> {
        with(|s| s.objects.get(&obj).map(|o| o.key.clone()))
    }

    pub fn object_set_key(obj: ObjectId, key: &str) -> Result<(), HostError> {
        if key.trim().is_empty() {
            return Err(HostError::Invalid("An object's key cannot be empty.".into()));
        }
        with(|s| {
            let o = s
                .objects
                .get_mut(&obj)
                .ok_or_else(|| HostError::NotFound("No such object.".into()))?;
            o.key = key.into();
            Ok(())
        })
    }

    pub fn object_kind(obj: ObjectId) -> Option<String> {
        with(|s| s.objects.get(&obj).map(|o| o.kind.clone()))
    }

    pub fn object_location(obj: ObjectId) -> Option<ObjectId> {
        with(|s| s.objects.get(&obj).and_then(|o| o.location))
    }

    pub fn object_contents(obj: ObjectId) -> Vec<ObjectId> {
        with(|s| s.contents(obj))
    }

    pub fn object_contents_packed(obj: ObjectId) -> ContentsPacked {
        with(|s| {
            let (mut ids, mut text, mut ends) = (vec![], String::new(), vec![]);
            for id in s.contents(obj) {
                let o = &s.objects[&id];
                ids.push(id);
                text += &o.key;
                ends.push(text.len() as u32);
                text += &o.kind;
                ends.push(text.len() as u32);
            }
            ContentsPacked { ids, text, ends }
        })
    }

    pub fn object_move(obj: ObjectId, destination: Option<ObjectId>) -> Result<(), HostError> {
        with(|s| {
            if !s.objects.contains_key(&obj) {
                return Err(HostError::NotFound("No such object.".into()));
            }
            // Not into itself, nor into anything inside it.
            let mut at = destination;
            while let Some(d) = at {
                if d == obj {
                    return Err(HostError::Invalid(
                        "An object cannot be moved into itself.".into(),
                    ));
                }
                at = s
                    .objects
                    .get(&d)
                    .ok_or_else(|| HostError::NotFound("No such destination.".into()))?
                    .location;
            }
            s.objects.get_mut(&obj).expect("checked").location = destination;
            Ok(())
        })
    }

    pub fn object_search(key: &str, location: Option<ObjectId>) -> Vec<ObjectId> {
        let key = key.trim().to_lowercase();
        let found: Vec<ObjectId> = with(|s| {
            s.objects
                .iter()
                .filter(|(_, o)| location.is_none() || o.location == location)
                .filter(|(_, o)| {
                    o.key.to_lowercase() == key
                        || o.attrs
                            .get("aliases")
                            .is_some_and(|a| a.split(';').any(|a| a.trim().to_lowercase() == key))
                })
                .map(|(id, _)| *id)
                .collect()
        });
        // Object aliases (`alias-add`) too.
        let by_alias = with(|s| {
            s.objects
                .iter()
                .filter(|(_, o)| location.is_none() || o.location == location)
                .map(|(id, _)| *id)
                .collect::<Vec<_>>()
        });
        let mut all = found;
        all.extend(by_alias.into_iter().filter(|id| world::has_alias(*id, &key)));
        all.sort_unstable();
        all.dedup();
        all
    }

    pub fn object_delete(obj: ObjectId) -> Result<(), HostError> {
        with(|s| {
            if obj == s.start_location {
                return Err(HostError::Refused("The start location cannot be deleted.".into()));
            }
            let o = s
                .objects
                .remove(&obj)
                .ok_or_else(|| HostError::NotFound("No such object.".into()))?;
            for inner in s.objects.values_mut().filter(|i| i.location == Some(obj)) {
                inner.location = o.location;
            }
            // Timers bound to it go with it.
            s.timers.retain(|_, t| t.obj != Some(obj));
            Ok(())
        })
    }

    pub fn object_attr_get(obj: ObjectId, key: &str) -> Option<String> {
        with(|s| s.objects.get(&obj).and_then(|o| o.attrs.get(key).cloned()))
    }

    pub fn object_attr_set(obj: ObjectId, key: &str, value: Option<&str>) -> Result<(), HostError> {
        with(|s| {
            let o = s
                .objects
                .get_mut(&obj)
                .ok_or_else(|| HostError::NotFound("No such object.".into()))?;
            match value {
                Some(v) => o.attrs.insert(key.into(), v.into()),
                None => o.attrs.remove(key),
            };
            Ok(())
        })
    }

    pub fn start_location() -> ObjectId {
        with(|s| s.start_location)
    }

    pub fn session_cmdset_add(module: &str) -> Result<(), HostError> {
        let c = with(|s| s.caller());
        cmdset_add(CmdsetHolder::Session(c), module, false)
    }

    pub fn session_cmdset_remove(module: &str) -> Result<(), HostError> {
        let c = with(|s| s.caller());
        cmdset_remove(CmdsetHolder::Session(c), module)
    }

    pub fn server_reload(reason: &str) -> Result<(), HostError> {
        with(|s| {
            if !s.superuser(s.caller_account()) {
                return Err(HostError::Denied("Only a superuser may reload the server.".into()));
            }
            s.reloads.push(reason.into());
            Ok(())
        })
    }

    pub fn module_report() -> Vec<String> {
        with(|s| s.module_report.clone())
    }

    pub fn now_ms() -> u64 {
        with(|s| s.now_ms)
    }

    pub fn log(level: LogLevel, message: &str) {
        with(|s| s.logs.push((level, message.into())))
    }

    pub fn get_multisession_policy() -> MultisessionPolicy {
        with(|s| s.policy)
    }

    pub fn disconnect_session(session: Sessid, reason: &str) -> Result<(), HostError> {
        with(|s| {
            let caller = s.current.and_then(|c| s.sessions.get(&c)).map(|d| d.info.clone());
            let target = s
                .live(session)
                .ok_or_else(|| HostError::Refused("No such session.".into()))?
                .info
                .account;
            let allowed = caller.as_ref().is_some_and(|c| {
                c.sessid == session || (c.account.is_some() && c.account == target)
            }) || s.superuser(caller.and_then(|c| c.account));
            if !allowed {
                return Err(HostError::Refused(
                    "You may only disconnect your own sessions.".into(),
                ));
            }
            s.close(session, reason);
            Ok(())
        })
    }

    pub fn disconnect_all(reason: &str) -> Result<(), HostError> {
        with(|s| {
            if !s.superuser(s.caller_account()) {
                return Err(HostError::Denied("Only a superuser may disconnect everyone.".into()));
            }
            let reason = if reason.is_empty() { "You have been disconnected." } else { reason };
            let all: Vec<Sessid> = s.infos(|_| true).iter().map(|i| i.sessid).collect();
            for sid in all {
                s.close(sid, reason);
            }
            Ok(())
        })
    }

    pub fn disconnect_duplicates(reason: &str) -> u32 {
        with(|s| {
            let c = s.caller();
            let Some(account) = s.session(c).info.account else { return 0 };
            let reason =
                if reason.is_empty() { "Logged in from elsewhere. Disconnecting." } else { reason };
            let others: Vec<Sessid> = s
                .infos(|i| i.account == Some(account) && i.sessid != c)
                .iter()
                .map(|i| i.sessid)
                .collect();
            for sid in &others {
                s.close(*sid, reason);
            }
            others.len() as u32
        })
    }

    pub fn all_connected_accounts() -> Vec<AccountId> {
        with(|s| {
            let mut ids: Vec<AccountId> =
                s.infos(|i| i.logged_in).iter().filter_map(|i| i.account).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        })
    }

    pub fn sessions_from_csessid(csessid: &str) -> Vec<SessionInfo> {
        if csessid.is_empty() {
            return vec![];
        }
        with(|s| s.infos(|i| i.csessid.as_deref() == Some(csessid)))
    }

    pub fn character_create(key: &str, description: Option<&str>) -> Result<ObjectId, HostError> {
        with(|s| {
            let account = s
                .caller_account()
                .ok_or_else(|| HostError::Refused("You are not logged in.".into()))?;
            let key = key.trim();
            if key.is_empty() {
                return Err(HostError::Refused(
                    "Usage: charcreate <charname> [= description]".into(),
                ));
            }
            let max = s.policy.max_nr_characters;
            if max > 0 && !s.superuser(Some(account)) && s.characters(account).len() >= max as usize
            {
                return Err(HostError::Refused(format!(
                    "You may only have a maximum of {max} character{}.",
                    if max == 1 { "" } else { "s" }
                )));
            }
            let taken = s
                .objects
                .values()
                .any(|o| o.kind == "character" && o.key.eq_ignore_ascii_case(key));
            if taken {
                return Err(HostError::Refused(format!(
                    "|rA character named '|w{key}|r' already exists.|n"
                )));
            }
            let id = s.create(key, "character", None);
            let o = s.objects.get_mut(&id).expect("just made");
            o.attrs.insert("owner_account".into(), account.to_string());
            if let Some(d) = description {
                o.attrs.insert("desc".into(), d.into());
            }
            Ok(id)
        })
    }

    pub fn character_delete(obj: ObjectId) -> Result<(), HostError> {
        let played = !sessions_from_puppet(obj).is_empty();
        with(|s| {
            let account = s
                .caller_account()
                .ok_or_else(|| HostError::Refused("You are not logged in.".into()))?;
            if !s.characters(account).contains(&obj) {
                return Err(HostError::Refused("You have no such character to delete.".into()));
            }
            if played {
                return Err(HostError::Refused(
                    "You cannot delete a character that is being played.".into(),
                ));
            }
            s.objects.remove(&obj);
            Ok(())
        })
    }

    pub fn session_data(session: Sessid) -> Result<String, HostError> {
        with(|s| {
            let caller = s.caller_account();
            let target =
                s.live(session).ok_or_else(|| HostError::Refused("No such session.".into()))?;
            if target.info.account != caller && !s.superuser(caller) && s.caller() != session {
                return Err(HostError::Refused("You may only inspect your own sessions.".into()));
            }
            let i = &target.info;
            Ok(serde_json::json!({
                "sessid": i.sessid,
                "address": i.address,
                "protocol_key": i.protocol_key,
                "logged_in": i.logged_in,
                "uid": i.account,
                "uname": i.account_name,
                "puid": i.puppet,
                "ndb": target.ndb,
            })
            .to_string())
        })
    }

    pub fn account_set_password(old: &str, new: &str) -> Result<(), HostError> {
        with(|s| {
            let c = s.caller();
            let account = s
                .caller_account()
                .ok_or_else(|| HostError::Refused("You are not logged in.".into()))?;
            let a = s
                .accounts
                .get_mut(&account)
                .ok_or_else(|| HostError::Refused("You are not logged in.".into()))?;
            let text = if a.password != old {
                "The specified old password isn't correct."
            } else if new.chars().count() < 8 {
                "This password is too short. It must contain at least 8 characters."
            } else {
                a.password = new.into();
                "Password changed."
            };
            s.send(c, Sent::Text(text.into()));
            Ok(())
        })
    }

    pub fn cmdset_add(
        holder: CmdsetHolder,
        module: &str,
        _persistent: bool,
    ) -> Result<(), HostError> {
        with(|s| {
            let stack = s.cmdsets.entry(holder.into()).or_default();
            if !stack.iter().any(|m| m == module) {
                stack.push(module.into());
            }
            Ok(())
        })
    }

    pub fn cmdset_remove(holder: CmdsetHolder, module: &str) -> Result<(), HostError> {
        with(|s| {
            let stack = s.cmdsets.entry(holder.into()).or_default();
            let before = stack.len();
            stack.retain(|m| m != module);
            if stack.len() == before {
                return Err(HostError::Refused(format!("No cmdset '{module}' on that stack.")));
            }
            Ok(())
        })
    }

    pub fn cmdset_list(holder: CmdsetHolder) -> Vec<String> {
        with(|s| s.cmdsets.get(&holder.into()).cloned().unwrap_or_default())
    }

    pub fn caller_commands() -> Vec<CommandInfo> {
        with(|s| s.commands.clone())
    }

    pub fn account_permission(account: AccountId) -> Option<String> {
        with(|s| s.accounts.get(&account).map(|a| a.permission.clone()))
    }

    pub fn account_set_permission(account: AccountId, permission: &str) -> Result<(), HostError> {
        with(|s| {
            let caller = s.caller_account();
            let developer = caller
                .and_then(|c| s.accounts.get(&c))
                .is_some_and(|a| a.superuser || a.permission == "Developer");
            if !developer {
                return Err(HostError::Refused(
                    "You are not allowed to change permissions.".into(),
                ));
            }
            let perm = PERMISSIONS
                .iter()
                .find(|p| p.eq_ignore_ascii_case(permission.trim()))
                .ok_or_else(|| {
                    HostError::Refused(format!(
                        "No permission '{permission}' (one of {}).",
                        PERMISSIONS.join(", ")
                    ))
                })?;
            let a = s
                .accounts
                .get_mut(&account)
                .ok_or_else(|| HostError::Refused("No such account.".into()))?;
            a.permission = (*perm).into();
            Ok(())
        })
    }

    pub fn account_search(name: &str) -> Option<AccountId> {
        let name = name.trim();
        with(|s| {
            s.accounts.iter().find(|(_, a)| a.name.eq_ignore_ascii_case(name)).map(|(id, _)| *id)
        })
    }

    // --- Building: the host's rules, on the fake world ---

    /// The host's defaults.
    pub fn building_limits() -> crate::host::BuildLimits {
        crate::host::BuildLimits { name_bytes: 256, attr_value_bytes: 64 * 1024 }
    }

    pub fn build_object(
        key: &str,
        kind: &str,
        location: Option<ObjectId>,
    ) -> Result<ObjectId, HostError> {
        if key.trim().is_empty() {
            return Err(HostError::Invalid("The name must not be empty.".into()));
        }
        if key.len() > 256 {
            return Err(HostError::Invalid(
                "The name is too long (over guest_name_bytes, 256 bytes).".into(),
            ));
        }
        if key.chars().any(char::is_control) {
            return Err(HostError::Invalid(
                "The name must not hold a line break or control character.".into(),
            ));
        }
        if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(HostError::Invalid(format!(
                "'{kind}' is not a kind of object (letters, digits and _)."
            )));
        }
        if kind == "character" {
            return Err(HostError::Invalid(
                "Characters are made with charcreate, not built.".into(),
            ));
        }
        with(|s| {
            if let Some(l) = location.filter(|l| !s.objects.contains_key(l)) {
                return Err(HostError::NotFound(format!("There is no object #{l} to put it in.")));
            }
            Ok(s.create(key.trim(), kind, location))
        })
    }

    pub fn prototype_list() -> crate::host::PrototypeCatalog {
        with(|s| crate::host::PrototypeCatalog {
            entries: s
                .prototypes
                .iter()
                .map(|(k, p)| crate::host::PrototypeEntry {
                    key: k.clone(),
                    desc: p.get("prototype_desc").and_then(|d| d.as_str()).unwrap_or("").into(),
                    tags: vec![],
                    file: format!("{k}.json"),
                })
                .collect(),
            problems: vec![],
        })
    }

    /// Parents applied as the host does (left to right, `attrs` merged, `tags` joined), cycles
    /// refused; no depth limit.
    pub fn prototype_get(key: &str) -> Result<String, HostError> {
        use serde_json::{Map, Value};
        fn resolve(
            all: &BTreeMap<String, Map<String, Value>>,
            key: &str,
            path: &mut Vec<String>,
        ) -> Result<Map<String, Value>, String> {
            if path.iter().any(|k| k == key) {
                path.push(key.into());
                return Err(format!(
                    "Prototype '{}' has a cycle of parents: {}.",
                    path[0],
                    path.join(" -> ")
                ));
            }
            let proto = all.get(key).ok_or_else(|| match path.last() {
                Some(child) => {
                    format!("Prototype '{child}' has a parent '{key}' that was not found.")
                }
                None => format!("No prototype named '{key}' was found."),
            })?;
            path.push(key.into());
            let mut merged = Map::new();
            let parents = match proto.get("prototype_parent") {
                Some(Value::String(p)) => vec![p.to_lowercase()],
                Some(Value::Array(a)) => {
                    a.iter().filter_map(|p| p.as_str()).map(str::to_lowercase).collect()
                }
                _ => vec![],
            };
            for layer in parents
                .iter()
                .map(|p| resolve(all, p, path))
                .collect::<Result<Vec<_>, _>>()?
                .iter()
                .chain([proto])
            {
                for (k, v) in layer {
                    match (k.as_str(), merged.get_mut(k), v) {
                        ("attrs", Some(Value::Object(old)), Value::Object(new)) => {
                            old.extend(new.clone());
                        }
                        ("tags", Some(Value::Array(old)), Value::Array(new)) => {
                            old.extend(
                                new.iter()
                                    .filter(|t| !old.contains(t))
                                    .cloned()
                                    .collect::<Vec<_>>(),
                            );
                        }
                        _ => {
                            merged.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            path.pop();
            Ok(merged)
        }
        let key = key.trim().to_lowercase();
        // No such prototype, or a parent missing, in a cycle or too deep: as the host, not found.
        let mut merged =
            with(|s| resolve(&s.prototypes, &key, &mut vec![])).map_err(HostError::NotFound)?;
        merged.remove("prototype_parent");
        merged.insert("prototype_key".into(), key.into());
        Ok(Value::Object(merged).to_string())
    }

    pub fn timer_delay(
        delay_ms: u64,
        payload: &str,
        obj: Option<ObjectId>,
        persistent: bool,
    ) -> Result<u64, HostError> {
        with(|s| s.timer_add(delay_ms, None, payload, obj, persistent))
    }

    pub fn timer_repeat(
        interval_ms: u64,
        payload: &str,
        obj: Option<ObjectId>,
        persistent: bool,
    ) -> Result<u64, HostError> {
        with(|s| s.timer_add(interval_ms, Some(interval_ms), payload, obj, persistent))
    }

    pub fn timer_cancel(id: u64) -> bool {
        with(|s| s.timers.remove(&id).is_some())
    }

    pub fn timer_list() -> Vec<TimerInfo> {
        with(|s| s.timer_list())
    }

    // Object classes: the class is only recorded (no hook of another module runs here), the
    // appearance is the host's default, a traverse is a plain move to the exit's destination.
    pub fn object_set_class(obj: ObjectId, class: Option<&str>) -> Result<(), HostError> {
        with(|s| {
            if !s.objects.contains_key(&obj) {
                return Err(HostError::NotFound(format!("no object #{obj}")));
            }
            match class {
                Some(c) => s.classes.insert(obj, c.into()),
                None => s.classes.remove(&obj),
            };
            Ok(())
        })
    }

    pub fn object_class(obj: ObjectId) -> Option<String> {
        with(|s| s.classes.get(&obj).cloned())
    }

    pub fn object_appearance(obj: ObjectId, looker: ObjectId) -> String {
        with(|s| {
            let Some(target) = s.objects.get(&obj) else { return format!("#{obj}") };
            let desc = target.attrs.get("desc").cloned().unwrap_or_else(|| {
                match target.kind.as_str() {
                    "room" => "This is a room.",
                    "character" => "This is a character.",
                    "exit" => "This is an exit.",
                    _ => "You see nothing special.",
                }
                .into()
            });
            let mut text = format!("|c{}|n\n{desc}", target.key);
            let (mut exits, mut characters, mut things) = (vec![], vec![], vec![]);
            for id in s.contents(obj).into_iter().filter(|id| *id != looker) {
                let o = &s.objects[&id];
                match o.kind.as_str() {
                    "exit" => exits.push(o.key.clone()),
                    "character" => characters.push(o.key.clone()),
                    _ => things.push(o.key.clone()),
                }
            }
            things.sort();
            for (label, names) in
                [("Exits", exits), ("Characters", characters), ("You see", things)]
            {
                if !names.is_empty() {
                    text += &format!("\n|w{label}:|n {}", crate::text::iter_to_str(names));
                }
            }
            text
        })
    }

    pub fn object_traverse(obj: ObjectId, exit: ObjectId) -> Result<(), HostError> {
        let dest = with(|s| {
            let e = s.objects.get(&exit).filter(|e| e.kind == "exit");
            let e = e.ok_or_else(|| HostError::Invalid(format!("#{exit} is not an exit")))?;
            e.attrs
                .get("destination")
                .and_then(|d| d.trim().trim_start_matches('#').parse::<ObjectId>().ok())
                .filter(|d| s.objects.contains_key(d))
                .ok_or_else(|| HostError::Refused("That exit leads nowhere.".into()))
        })?;
        object_move(obj, Some(dest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CmdResult, Command, Invocation};

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

    #[test]
    fn the_clock_ndb_and_moves_behave_as_the_host() {
        let host = TestHost::new();
        let s = host.session();
        let t0 = host.now_ms();
        host.advance(1500);
        host.as_session(s, || {
            assert_eq!(crate::host::now_ms(), t0 + 1500);
            crate::host::ndb_set("k", Some("v"));
            let bag = Obj::create("bag", "thing", None);
            let coin = Obj::create("coin", "thing", Some(bag));
            assert!(bag.move_to(Some(coin)).is_err(), "no cycles");
            bag.delete().unwrap();
            assert_eq!(coin.location(), None);
        });
        assert_eq!(host.ndb(s, "k").as_deref(), Some("v"));
    }

    thread_local! {
        static FIRED: RefCell<Vec<(u64, String, u64)>> = const { RefCell::new(Vec::new()) };
    }

    /// A timer handler recording (due, payload, clock) and writing to the caller (nobody).
    fn record(t: TimerInfo) {
        crate::host::msg_caller("nobody hears this");
        FIRED.with(|f| f.borrow_mut().push((t.due_ms, t.payload, crate::host::now_ms())));
    }

    fn fired() -> Vec<(u64, String, u64)> {
        FIRED.with(|f| std::mem::take(&mut *f.borrow_mut()))
    }

    #[test]
    fn timers_fire_in_due_order_on_the_fake_clock_and_repeat_on_schedule() {
        use crate::host::{self, Persistence::Memory};
        use std::time::Duration;
        let host = TestHost::new();
        host.timer_handler(record);
        let s = host.session();
        let t0 = host.now_ms();
        let tick = host
            .as_session(s, || host::repeat(Duration::from_millis(300), "tick", None, Memory))
            .unwrap();
        host.as_session(s, || host::delay(Duration::from_millis(500), "once", None, Memory))
            .unwrap();
        host.advance(299);
        assert!(fired().is_empty());
        host.advance(601);
        assert_eq!(
            fired(),
            [
                (t0 + 300, "tick".into(), t0 + 300),
                (t0 + 500, "once".into(), t0 + 500),
                (t0 + 600, "tick".into(), t0 + 600),
                (t0 + 900, "tick".into(), t0 + 900),
            ]
        );
        assert_eq!(host.now_ms(), t0 + 900);
        assert!(host.output(s).is_empty(), "a firing has no caller");
        assert_eq!(host.timers().len(), 1);
        assert!(host.as_session(s, || host::cancel(tick)));
        assert!(!host.as_session(s, || host::cancel(tick)));
        host.advance(10_000);
        assert!(fired().is_empty());
    }

    #[test]
    fn timers_are_refused_as_the_host_refuses_them() {
        use crate::host::{self, Persistence::Persistent};
        use std::time::Duration;
        let host = TestHost::new();
        host.set_timer_limits(1, 100);
        let err = host::repeat(Duration::from_millis(10), "x", None, Persistent).unwrap_err();
        assert_eq!(
            err,
            HostError::Invalid(
                "a repeating timer's interval must be at least timer_min_interval_ms (100 ms)"
                    .into()
            )
        );
        let err = host::delay(Duration::ZERO, "x", Some(Obj(999)), Persistent).unwrap_err();
        assert_eq!(err, HostError::NotFound("no object #999".into()));
        host::delay(Duration::ZERO, "x", None, Persistent).unwrap();
        let err = host::delay(Duration::ZERO, "y", None, Persistent).unwrap_err();
        assert_eq!(
            err,
            HostError::Quota("this module already has timer_max_per_module (1) timers".into())
        );
        assert_eq!(
            err.to_string(),
            "quota: this module already has timer_max_per_module (1) timers"
        );
        assert_eq!(host::timers().len(), 1);
    }

    #[test]
    #[should_panic(expected = "has no handler")]
    fn a_due_timer_without_a_handler_fails_the_test() {
        let host = TestHost::new();
        crate::host::delay(
            std::time::Duration::from_secs(1),
            "x",
            None,
            crate::host::Persistence::Memory,
        )
        .unwrap();
        host.advance(1000);
    }

    #[test]
    fn markup_is_stripped_as_evennia_does() {
        assert_eq!(strip_markup("|wHi|n ||x|/|[rred|500z|#ff0000a"), "Hi |x\nredza");
    }
}
