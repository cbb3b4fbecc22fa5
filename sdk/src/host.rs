//! The host API: one function per import of `mudhost:game/host`, with the WIT names.
//!
//! Text parameters take anything string-like (`&str`, `String`, `format!(..)`). Ids are the raw WIT
//! ids; [`Obj`](crate::Obj) and [`Account`](crate::Account) wrap the object and account functions
//! as methods. A guest sees nothing of the host machine except through these functions.
//!
//! # Limits
//!
//! Every function is bounded by the game's `guest_*` settings (see the config file `mudhost init`
//! writes): the size of names, texts, JSON and lists it accepts; per command, the messages and
//! bytes sent (in total and to one session), objects created, log bytes and account requests;
//! attribute and ndb value sizes. A function returning `Result` answers an over-limit request with
//! [`HostError::Quota`] naming the limit (and its other refusals with the other cases of
//! [`HostError`]); any other function ends the command, which the player sees as "An untrapped
//! error occurred." and the server log explains in one line. So does a failure of the host itself.
//!
//! A module cannot wait: `std::thread::sleep`, polling and clock subscriptions end the command at
//! once, as does reading `wasi:random` (std's `HashMap` still works, with a fixed seed).

// Natively (feature `testing`) the raw imports already answer the SDK's `HostError`, so the
// `map_err(Into::into)` that converts the WIT's variant in a guest build is the identity there.
#![cfg_attr(feature = "testing", allow(clippy::useless_conversion))]

// The real host's imports; in native builds with the `testing` feature, the test host's fake
// (`crate::testing`), so commands can run in `cargo test` (without it they abort the test binary).
#[cfg(not(all(feature = "testing", not(target_arch = "wasm32"))))]
use crate::bindings::mudhost::game::host as raw;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
use crate::testing::imports as raw;
use crate::{AccountId, HostError, LogLevel, ObjectId, Sessid, SessionInfo};

// --- output -------------------------------------------------------------------------------------

/// Send text (Evennia colour markup allowed) to the session that entered the command.
pub fn msg_caller(text: impl AsRef<str>) {
    raw::msg_caller(text.as_ref())
}

/// Send text to one session.
pub fn msg_session(session: Sessid, text: impl AsRef<str>) {
    raw::msg_session(session, text.as_ref())
}

/// Send text to every session of an account.
pub fn msg_account(account: AccountId, text: impl AsRef<str>) {
    raw::msg_account(account, text.as_ref())
}

/// Send text to every session puppeting an object.
pub fn msg_object(obj: ObjectId, text: impl AsRef<str>) {
    raw::msg_object(obj, text.as_ref())
}

/// Send text to everything inside `location` except the objects in `exclude`.
pub fn msg_contents(location: ObjectId, text: impl AsRef<str>, exclude: &[ObjectId]) {
    raw::msg_contents(location, text.as_ref(), exclude)
}

/// Send text to every connected session, logged in or not.
pub fn announce_all(text: impl AsRef<str>) {
    raw::announce_all(text.as_ref())
}

/// Send an out-of-band command `[cmdname, args, kwargs]` (args/kwargs as JSON text) to a session.
pub fn send_oob(
    session: Sessid,
    cmdname: &str,
    args_json: &str,
    kwargs_json: &str,
) -> Result<(), HostError> {
    raw::send_oob(session, cmdname, args_json, kwargs_json).map_err(Into::into)
}

// --- sessions -----------------------------------------------------------------------------------

/// The session that entered the current command (fresh from the host, unlike `Invocation::session`).
pub fn current_session() -> SessionInfo {
    raw::current_session()
}

/// One session by id.
pub fn get_session(session: Sessid) -> Option<SessionInfo> {
    raw::get_session(session)
}

/// All sessions; unlogged-in ones only when asked.
pub fn get_sessions(include_unloggedin: bool) -> Vec<SessionInfo> {
    raw::get_sessions(include_unloggedin)
}

/// The logged-in sessions of an account.
pub fn sessions_from_account(account: AccountId) -> Vec<SessionInfo> {
    raw::sessions_from_account(account)
}

/// The sessions puppeting an object.
pub fn sessions_from_puppet(obj: ObjectId) -> Vec<SessionInfo> {
    raw::sessions_from_puppet(obj)
}

/// Number of distinct logged-in accounts.
pub fn account_count() -> u32 {
    raw::account_count()
}

/// Disconnect a session, telling it `reason`: own sessions, or any for a superuser (a refusal is
/// only logged; [`disconnect_session`] returns it).
pub fn disconnect(session: Sessid, reason: impl AsRef<str>) {
    raw::disconnect(session, reason.as_ref())
}

// --- per-session scratch data -------------------------------------------------------------------

/// Read a value from the calling session's `ndb` (kept across server restarts).
pub fn ndb_get(key: &str) -> Option<String> {
    raw::ndb_get(key)
}

/// Set (`Some`) or delete (`None`) a value on the calling session's `ndb`. The whole ndb (keys
/// plus values) is limited by `guest_ndb_bytes_per_session`; going over ends the command.
pub fn ndb_set(key: &str, value: Option<&str>) {
    raw::ndb_set(key, value)
}

// --- accounts and login -------------------------------------------------------------------------

/// Start creating an account: name checks fail at once, the outcome is told to the session by the host.
pub fn create_account(name: &str, password: &str) -> Result<(), HostError> {
    raw::create_account(name, password).map_err(Into::into)
}

/// Start logging the calling session in: quick refusals fail at once, the host reports the outcome.
pub fn login(name: &str, password: &str) -> Result<(), HostError> {
    raw::login(name, password).map_err(Into::into)
}

/// An account's name.
pub fn account_name(account: AccountId) -> Option<String> {
    raw::account_name(account)
}

/// Characters owned by an account (objects whose `owner_account` attribute is its id; only the
/// host sets that attribute, through [`character_create`]).
pub fn account_characters(account: AccountId) -> Vec<ObjectId> {
    raw::account_characters(account)
}

/// Whether an account is a superuser.
pub fn account_is_superuser(account: AccountId) -> bool {
    raw::account_is_superuser(account)
}

/// Read a persistent account attribute.
pub fn account_attr_get(account: AccountId, key: &str) -> Option<String> {
    raw::account_attr_get(account, key)
}

/// Set (`Some`) or delete (`None`) a persistent account attribute; [`HostError::NotFound`] for
/// an account that does not exist.
pub fn account_attr_set(
    account: AccountId,
    key: &str,
    value: Option<&str>,
) -> Result<(), HostError> {
    raw::account_attr_set(account, key, value).map_err(Into::into)
}

// --- puppeting ----------------------------------------------------------------------------------

/// Puppet an object with the calling session (Evennia's `puppet_object`); the host tells the player.
pub fn puppet(obj: ObjectId) -> Result<(), HostError> {
    raw::puppet(obj).map_err(Into::into)
}

/// Stop puppeting (go OOC).
pub fn unpuppet() -> Result<(), HostError> {
    raw::unpuppet().map_err(Into::into)
}

// --- objects ------------------------------------------------------------------------------------

/// Create an object; `kind` is free text, the host knows "room", "character", "exit".
pub fn object_create(key: &str, kind: &str, location: Option<ObjectId>) -> ObjectId {
    raw::object_create(key, kind, location)
}

/// Whether an object exists.
pub fn object_exists(obj: ObjectId) -> bool {
    raw::object_exists(obj)
}

/// An object's key (name).
pub fn object_key(obj: ObjectId) -> Option<String> {
    raw::object_key(obj)
}

/// Rename an object (a character under the same name rules as [`character_create`]).
pub fn object_set_key(obj: ObjectId, key: &str) -> Result<(), HostError> {
    raw::object_set_key(obj, key).map_err(Into::into)
}

/// An object's kind ("room", "character", "exit", ...).
pub fn object_kind(obj: ObjectId) -> Option<String> {
    raw::object_kind(obj)
}

/// Where an object is.
pub fn object_location(obj: ObjectId) -> Option<ObjectId> {
    raw::object_location(obj)
}

/// What is inside an object.
pub fn object_contents(obj: ObjectId) -> Vec<ObjectId> {
    raw::object_contents(obj)
}

/// One object of a container with its key and kind (see [`object_contents_briefs`]).
pub use raw::ObjectBrief;

/// The contents of `obj` with each one's key and kind, in one call: what a room description
/// needs, without two calls per object in the room. (It asks the host for the packed form,
/// `object-contents-packed`, and unpacks it here: three values cross from the host however full
/// the room, instead of two strings per object.)
pub fn object_contents_briefs(obj: ObjectId) -> Vec<ObjectBrief> {
    unpack_contents(raw::object_contents_packed(obj))
}

/// The briefs in a packed contents list. Offsets that do not fit (which the host never sends)
/// give empty strings rather than a panic.
fn unpack_contents(packed: raw::ContentsPacked) -> Vec<ObjectBrief> {
    let raw::ContentsPacked { ids, text, ends } = packed;
    let mut start = 0usize;
    let mut next = |end: Option<&u32>| -> String {
        let end = end.map_or(start, |&e| e as usize);
        let s = text.get(start..end).unwrap_or_default().to_string();
        start = end.max(start);
        s
    };
    ids.iter()
        .enumerate()
        .map(|(i, &id)| {
            let key = next(ends.get(2 * i));
            let kind = next(ends.get(2 * i + 1));
            ObjectBrief { id, key, kind }
        })
        .collect()
}

/// Move an object into `destination` (`None` = nowhere).
pub fn object_move(obj: ObjectId, destination: Option<ObjectId>) -> Result<(), HostError> {
    raw::object_move(obj, destination).map_err(Into::into)
}

/// Objects whose key or alias equals `key` (case-insensitive), inside `location` or anywhere.
pub fn object_search(key: &str, location: Option<ObjectId>) -> Vec<ObjectId> {
    raw::object_search(key, location)
}

/// Delete an object; its contents move to its location.
pub fn object_delete(obj: ObjectId) -> Result<(), HostError> {
    raw::object_delete(obj).map_err(Into::into)
}

/// Read a persistent object attribute.
pub fn object_attr_get(obj: ObjectId, key: &str) -> Option<String> {
    raw::object_attr_get(obj, key)
}

/// Set (`Some`) or delete (`None`) a persistent object attribute.
pub fn object_attr_set(obj: ObjectId, key: &str, value: Option<&str>) -> Result<(), HostError> {
    raw::object_attr_set(obj, key, value).map_err(Into::into)
}

/// The room new characters start in (Evennia's START_LOCATION, "Limbo").
pub fn start_location() -> ObjectId {
    raw::start_location()
}

// --- cmdsets ------------------------------------------------------------------------------------

/// Add a loaded cmdset module (by module name) to the calling session's cmdset stack.
pub fn session_cmdset_add(module: &str) -> Result<(), HostError> {
    raw::session_cmdset_add(module).map_err(Into::into)
}

/// Remove a cmdset module from the calling session's cmdset stack.
pub fn session_cmdset_remove(module: &str) -> Result<(), HostError> {
    raw::session_cmdset_remove(module).map_err(Into::into)
}

// --- server -------------------------------------------------------------------------------------

/// Restart the server process (players stay connected). Superusers only.
pub fn server_reload(reason: &str) -> Result<(), HostError> {
    raw::server_reload(reason).map_err(Into::into)
}

/// Loaded modules and load errors, one line each.
pub fn module_report() -> Vec<String> {
    raw::module_report()
}

/// Current time, unix milliseconds (the only clock a guest has).
pub fn now_ms() -> u64 {
    raw::now_ms()
}

/// Write a line to the server log, tagged with the module name. Line breaks and control characters
/// are escaped, long lines are cut, and one command may log `guest_log_bytes_per_call` bytes.
pub fn log(level: LogLevel, message: impl AsRef<str>) {
    raw::log(level, message.as_ref())
}

// --- session handler and multisession policy ----------------------------------------------------

/// The multisession settings the host applies (mode, character and puppet limits, auto-create
/// and auto-puppet); limits of 0 mean unlimited.
pub fn get_multisession_policy() -> crate::MultisessionPolicy {
    raw::get_multisession_policy()
}

/// Disconnect a session, with a permission check (own account's sessions, or any for a
/// superuser); the error says why not.
pub fn disconnect_session(session: Sessid, reason: impl AsRef<str>) -> Result<(), HostError> {
    raw::disconnect_session(session, reason.as_ref()).map_err(Into::into)
}

/// Disconnect every session (superusers only); an empty reason gives Evennia's default.
pub fn disconnect_all(reason: impl AsRef<str>) -> Result<(), HostError> {
    raw::disconnect_all(reason.as_ref()).map_err(Into::into)
}

/// Disconnect the calling account's other sessions; returns how many were closed.
pub fn disconnect_duplicates(reason: impl AsRef<str>) -> u32 {
    raw::disconnect_duplicates(reason.as_ref())
}

/// Accounts with at least one logged-in session.
pub fn all_connected_accounts() -> Vec<AccountId> {
    raw::all_connected_accounts()
}

/// Sessions opened from one browser session.
pub fn sessions_from_csessid(csessid: &str) -> Vec<SessionInfo> {
    raw::sessions_from_csessid(csessid)
}

/// Create a character for the calling account; the host enforces the character limit, unique
/// names and the name rules (letters, digits, single spaces and `' - . _`, no markup or control
/// characters, at most `max_name_chars`) and returns the refusal text to show the player.
pub fn character_create(key: &str, description: Option<&str>) -> Result<ObjectId, HostError> {
    raw::character_create(key, description).map_err(Into::into)
}

/// Delete one of the calling account's characters (refused while it is played).
pub fn character_delete(obj: ObjectId) -> Result<(), HostError> {
    raw::character_delete(obj).map_err(Into::into)
}

/// A session's full host-side data as JSON (own sessions, or any for a superuser).
pub fn session_data(session: Sessid) -> Result<String, HostError> {
    raw::session_data(session).map_err(Into::into)
}

/// Start changing the calling account's password; the host tells the player the outcome.
pub fn account_set_password(old: &str, new: &str) -> Result<(), HostError> {
    raw::account_set_password(old, new).map_err(Into::into)
}

// --- cmdsets on every provider, permissions (WIT 0.2.0) --------------------------------------

/// Add a loaded module's cmdset to a holder (session, account or object). A persistent one is
/// stored and survives server restarts; adding one that is there already only changes that.
pub fn cmdset_add(
    holder: crate::CmdsetHolder,
    module: &str,
    persistent: bool,
) -> Result<(), HostError> {
    raw::cmdset_add(holder, module, persistent).map_err(Into::into)
}

/// Remove a module's cmdset from a holder.
pub fn cmdset_remove(holder: crate::CmdsetHolder, module: &str) -> Result<(), HostError> {
    raw::cmdset_remove(holder, module).map_err(Into::into)
}

/// The module names on a holder's cmdset stack, bottom first.
pub fn cmdset_list(holder: crate::CmdsetHolder) -> Vec<String> {
    raw::cmdset_list(holder)
}

/// Every command the calling session can use now (its merged cmdset from every provider, minus
/// the commands whose lock it fails), for `help`.
pub fn caller_commands() -> Vec<crate::CommandInfo> {
    raw::caller_commands()
}

/// An account's permission (Player, Helper, Builder, Admin or Developer).
pub fn account_permission(account: AccountId) -> Option<String> {
    raw::account_permission(account)
}

/// Set an account's permission (the caller must be a superuser or a Developer).
pub fn account_set_permission(account: AccountId, permission: &str) -> Result<(), HostError> {
    raw::account_set_permission(account, permission).map_err(Into::into)
}

/// An account by name (case-insensitive).
pub fn account_search(name: &str) -> Option<AccountId> {
    raw::account_search(name)
}

// Object classes
// --- object classes (WIT 0.3.0) ----------------------------------------------------------------

/// Bind an object to an object-class module (Evennia's typeclass) by module name, or unbind it
/// (`None`); the class's `at_object_creation` runs at once. `Err` if the module is not a loaded
/// object class. See [`crate::objclass`].
pub fn object_set_class(obj: ObjectId, class: Option<&str>) -> Result<(), HostError> {
    raw::object_set_class(obj, class).map_err(Into::into)
}

/// The module name of an object's class, if it has one.
pub fn object_class(obj: ObjectId) -> Option<String> {
    raw::object_class(obj)
}

/// What `looker` sees looking at `obj`: its class's `return_appearance`, or Evennia's default
/// (name, description, exits, characters, things).
pub fn object_appearance(obj: ObjectId, looker: ObjectId) -> String {
    raw::object_appearance(obj, looker)
}

/// Move `obj` through `exit` to the exit's `destination` attribute, with the exit's
/// `at_pre_traverse` (which may refuse: its text is the `Err`) and `at_traverse` and the move's
/// hooks.
pub fn object_traverse(obj: ObjectId, exit: ObjectId) -> Result<(), HostError> {
    raw::object_traverse(obj, exit).map_err(Into::into)
}

// --- timers (WIT 0.3.0) ------------------------------------------------------------------------

/// A one-shot or repeating timer of this module (see [`delay`], [`repeat`]).
pub use crate::TimerInfo as Timer;

/// How a timer is kept: [`Persistence::Persistent`] timers are stored in the world database and
/// survive reloads, crashes and cold starts; [`Persistence::Memory`] ones last until the server
/// process stops (a reload included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Stored with the world.
    Persistent,
    /// In memory until the server stops.
    Memory,
}

/// Call this module's timer handler once, `after` from now, with `payload` (Evennia's
/// `utils.delay`). Bound to an object (`on`), the timer is cancelled when the object is deleted.
/// The handler is the `at_timer` entry of [`cmdset!`](crate::cmdset):
///
/// ```no_run
/// use std::time::Duration;
/// use mudhost_sdk::host::{self, Persistence, Timer};
///
/// fn open_gate(gate: mudhost_sdk::Obj) -> Result<(), String> {
///     gate.set_attr("open", "yes")?;
///     // Close it again in 10 seconds, also if the server restarts meanwhile.
///     host::delay(Duration::from_secs(10), "close", Some(gate), Persistence::Persistent)?;
///     Ok(())
/// }
///
/// fn at_timer(timer: Timer) {
///     if timer.payload == "close" {
///         if let Some(gate) = timer.obj.map(mudhost_sdk::Obj) {
///             let _ = gate.del_attr("open");
///         }
///     }
/// }
/// # fn main() {}
/// ```
///
/// Like every change a command makes, the timer exists only if the command succeeds. Refused
/// ([`HostError::Quota`] naming the limit) beyond the game's `timer_max_per_module`. Returns the timer's id.
pub fn delay(
    after: std::time::Duration,
    payload: &str,
    on: Option<crate::Obj>,
    keep: Persistence,
) -> Result<u64, HostError> {
    let ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
    raw::timer_delay(ms, payload, on.map(|o| o.0), keep == Persistence::Persistent)
        .map_err(Into::into)
}

/// Call this module's timer handler every `interval`, first one interval from now (Evennia's
/// `TickerHandler.add`, a `Script` with `interval` and `at_repeat`). Ticks keep to the original
/// schedule; ticks missed while the server was down or busy are not made up (the timer fires once,
/// then at its next tick). Refused below the game's `timer_min_interval_ms`, and as [`delay`].
pub fn repeat(
    interval: std::time::Duration,
    payload: &str,
    on: Option<crate::Obj>,
    keep: Persistence,
) -> Result<u64, HostError> {
    let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
    raw::timer_repeat(ms, payload, on.map(|o| o.0), keep == Persistence::Persistent)
        .map_err(Into::into)
}

/// Cancel one of this module's timers (Evennia's `TickerHandler.remove`, stopping a `Script`);
/// false if there is no such timer.
pub fn cancel(id: u64) -> bool {
    raw::timer_cancel(id)
}

/// This module's timers, soonest first.
pub fn timers() -> Vec<Timer> {
    raw::timer_list()
}

// --- Building (WIT 0.3.0) ----------------------------------------------------------------------

/// The limits a builder command checks input against (see [`building_limits`]).
pub use crate::bindings::mudhost::game::host::BuildLimits;
/// The prototypes folder as [`prototype_list`] sees it.
pub use crate::bindings::mudhost::game::host::{PrototypeCatalog, PrototypeEntry};

/// The game's limits on names (object names, search texts, attribute keys) and attribute values:
/// a command checks its input against them to refuse it with a clear text, where passing it on
/// would end the command.
pub fn building_limits() -> BuildLimits {
    raw::building_limits()
}

/// Create an object for a builder: like [`Obj::create`](crate::Obj::create), but a bad name
/// (empty, with a line break or control character, over the name limit), the kind "character",
/// a location that does not exist or the per-command object quota come back as `Err` with a text
/// for the builder.
pub fn build_object(
    key: &str,
    kind: &str,
    location: Option<ObjectId>,
) -> Result<ObjectId, HostError> {
    raw::build_object(key, kind, location).map_err(Into::into)
}

/// Every prototype in the game's prototypes folder, and what in it could not be used (read
/// again whenever a file changed).
pub fn prototype_list() -> PrototypeCatalog {
    raw::prototype_list()
}

/// One prototype (any case) with its parents applied, as a JSON object text with Evennia's keys
/// (`key`, `aliases`, `desc`, `attrs`, `tags`, `locks`, `typeclass`, `prototype_*`, and any other
/// key as an attribute). `Err` is Evennia's "No prototype named '...' was found." or why the
/// parents cannot be applied.
pub fn prototype_get(key: &str) -> Result<String, HostError> {
    raw::prototype_get(key).map_err(Into::into)
}

// --- channels, help, execute (WIT 0.3.0) -------------------------------------------------------

pub use raw::{ChannelInfo, HelpTopic};

/// Every channel, by name, as the calling account sees it (subscribed, muted, owner, count).
pub fn channel_list() -> Vec<ChannelInfo> {
    raw::channel_list()
}

/// Create a channel owned by the calling account, which joins it (Evennia's `channel/create`).
/// Refused (`Err` with the text to show, naming the limit) over the game's channel limits or
/// when the name or an alias is taken.
pub fn channel_create(name: &str, aliases: &[String], description: &str) -> Result<(), HostError> {
    raw::channel_create(name, aliases, description).map_err(Into::into)
}

/// Subscribe the calling account to a channel (by name or alias); returns the channel's name.
pub fn channel_sub(channel: &str) -> Result<String, HostError> {
    raw::channel_sub(channel).map_err(Into::into)
}

/// End the calling account's subscription; returns the channel's name.
pub fn channel_unsub(channel: &str) -> Result<String, HostError> {
    raw::channel_unsub(channel).map_err(Into::into)
}

/// Mute (`true`) or unmute the calling account's subscription; returns the channel's name.
pub fn channel_mute(channel: &str, muted: bool) -> Result<String, HostError> {
    raw::channel_mute(channel, muted).map_err(Into::into)
}

/// The subscribers' names, marked `(muting)` / `(offline)` as Evennia does.
pub fn channel_who(channel: &str) -> Result<Vec<String>, HostError> {
    raw::channel_who(channel).map_err(Into::into)
}

/// The channel's last `count` messages, oldest first, as they were delivered.
pub fn channel_history(channel: &str, count: u32) -> Result<Vec<String>, HostError> {
    raw::channel_history(channel, count).map_err(Into::into)
}

/// Ban (`true`) or unban an account by name (the channel's owner, an Admin or a superuser);
/// returns the account's name.
pub fn channel_ban(channel: &str, account: &str, banned: bool) -> Result<String, HostError> {
    raw::channel_ban(channel, account, banned).map_err(Into::into)
}

/// The accounts banned from a channel (owner, Admin or superuser).
pub fn channel_bans(channel: &str) -> Result<Vec<String>, HostError> {
    raw::channel_bans(channel).map_err(Into::into)
}

/// Say `text` on a channel: `[channel] Account: text` reaches every session of every subscribed
/// account that has not muted it, and joins the history.
pub fn channel_send(channel: &str, text: &str) -> Result<(), HostError> {
    raw::channel_send(channel, text).map_err(Into::into)
}

/// The game's help topics (the `help` folder's Markdown files) the caller may read, by key:
/// names and categories; [`help_topic_text`] fetches one's text.
pub fn help_topics() -> Vec<HelpTopic> {
    raw::help_topics()
}

/// One help topic's text, by key or alias, if the caller may read it.
pub fn help_topic_text(topic: &str) -> Option<String> {
    raw::help_topic_text(topic)
}

/// Make a character or NPC run a command line as if typed (Evennia's `execute_cmd`): it runs
/// right after this command returns, for the session puppeting `obj` (an NPC no session puppets
/// runs it with its own cmdsets and no permissions), in the same atomic unit (if it fails, this
/// command is undone too). Bounded by the game's
/// `execute_cmd_max_depth` and `execute_cmd_max_per_unit` (an `Err` naming the key).
pub fn execute_cmd(obj: crate::Obj, line: &str) -> Result<(), HostError> {
    raw::execute_cmd(obj.0, line).map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_contents_unpack_to_the_briefs_and_bad_offsets_give_empty_strings() {
        let packed = |ends: Vec<u32>| raw::ContentsPacked {
            ids: vec![7, 9],
            text: "north\nexitBoxthing".into(),
            ends,
        };
        let briefs = unpack_contents(packed(vec![6, 10, 13, 18]));
        assert_eq!(
            briefs.iter().map(|b| (b.id, b.key.as_str(), b.kind.as_str())).collect::<Vec<_>>(),
            [(7, "north\n", "exit"), (9, "Box", "thing")]
        );
        // Missing, backwards and out-of-range offsets: empty strings, never a panic.
        let briefs = unpack_contents(packed(vec![6, 3, 99]));
        assert_eq!(
            briefs.iter().map(|b| (b.key.as_str(), b.kind.as_str())).collect::<Vec<_>>(),
            [("north\n", ""), ("", "")]
        );
        // A multi-byte character split by an offset is not a string boundary: empty, not a panic.
        let split = raw::ContentsPacked { ids: vec![1], text: "é".into(), ends: vec![1, 2] };
        assert_eq!(unpack_contents(split)[0].key, "");
    }
}
