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

// The test host's parts, one job each. Files beside this one (not `testing/…`): `mudhost new`
// copies the SDK's `src/` flat.
#[path = "testing_accounts.rs"]
mod accounts;
#[path = "testing_building.rs"]
mod building;
// Channels, help, execute: the fakes of their imports.
#[path = "testing_comms.rs"]
mod comms;
#[path = "testing_markup.rs"]
mod markup;
#[path = "testing_objects.rs"]
mod objects;
#[path = "testing_run.rs"]
mod run;
#[path = "testing_server.rs"]
mod server;
#[path = "testing_sessions.rs"]
mod sessions;
#[path = "testing_timers.rs"]
mod timers;
#[path = "testing_world.rs"]
mod world;

pub use markup::strip_markup;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use crate::bindings::mudhost::game::host::MultisessionPolicy;
use crate::{
    AccountId, CmdsetHolder, CommandInfo, LogLevel, ObjectId, Sessid, SessionInfo, TimerInfo,
};

/// The fake clock's start: a fixed time, so texts that show durations are repeatable.
const START_MS: u64 = 1_700_000_000_000;

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
            timer_limits: (timers::TIMER_MAX, timers::TIMER_MIN_INTERVAL_MS),
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
}

/// The host imports, one function per import with the signature the bindings give it, on the
/// thread's fake world. `host.rs` calls these instead of the bindings in native builds with the
/// `testing` feature; each is written in the file of its job.
pub(crate) mod imports {
    pub use crate::bindings::mudhost::game::host::{AttrEntry, ChannelInfo, HelpTopic, Tag};
    pub use crate::bindings::mudhost::game::host::{ContentsPacked, ObjectBrief};

    pub use super::accounts::{
        account_attr_get, account_attr_set, account_characters, account_is_superuser, account_name,
        account_permission, account_search, account_set_password, account_set_permission,
        character_create, character_delete, create_account, get_multisession_policy, login, puppet,
        unpuppet,
    };
    pub use super::building::{build_object, building_limits, prototype_get, prototype_list};
    pub use super::comms::{
        channel_ban, channel_bans, channel_create, channel_history, channel_list, channel_mute,
        channel_send, channel_sub, channel_unsub, channel_who, execute_cmd, help_topic_text,
        help_topics,
    };
    pub use super::objects::{
        object_appearance, object_attr_get, object_attr_set, object_class, object_contents,
        object_contents_packed, object_create, object_delete, object_exists, object_key,
        object_kind, object_location, object_move, object_search, object_set_class, object_set_key,
        object_traverse, start_location,
    };
    pub use super::server::{
        caller_commands, cmdset_add, cmdset_list, cmdset_remove, log, module_report, server_reload,
        session_cmdset_add, session_cmdset_remove,
    };
    pub use super::sessions::{
        account_count, all_connected_accounts, announce_all, current_session, disconnect,
        disconnect_all, disconnect_duplicates, disconnect_session, get_session, get_sessions,
        msg_account, msg_caller, msg_contents, msg_object, msg_session, ndb_get, ndb_set, send_oob,
        session_data, sessions_from_account, sessions_from_csessid, sessions_from_puppet,
    };
    pub use super::timers::{now_ms, timer_cancel, timer_delay, timer_list, timer_repeat};
    // World model: tags, aliases, search, attributes, locks (`testing_world.rs`).
    pub use super::world::{
        access, alias_add, alias_remove, aliases, attr_get_json, attr_list, attr_set_json,
        lock_add, lock_remove, locks, search_kind, search_tag, tag_add, tag_remove, tags,
    };
}
