//! The `host` imports guests call, implemented for the sandbox's store data holding the
//! [`Game`]: the sandbox (`wasm/`) is generic over that data and links whatever implements the
//! imports, so it knows nothing of the game; the imports live here, beside the state they touch.
//! Each is thin glue onto a `Game` method or one of the group files below; a guest mistake comes
//! back as an error value, never a trap. `HostData` for the game (what the sandbox needs of it)
//! is in `imports/game_data.rs`.
//!
//! Every import is bounded ([`GuestQuotas`](crate::wasm::GuestQuotas)): names, texts and lists
//! it accepts have a size limit, and the call as a whole may send so many messages and bytes,
//! create so many objects and log so much. Imports that return `result<_, host-error>` answer an
//! over-quota request with `host-error.quota` naming the quota; the others end the call with
//! [`QuotaExceeded`](crate::wasm::QuotaExceeded) (the game loop then reports it like any other
//! failed call). A failure of the host itself (the database) is never answered as a refusal: it
//! ends the call ([`HostFailure`]). Host work per import is linear in its inputs or better.

pub mod accounts;
pub mod building;
pub mod comms;
pub mod convert;
pub mod game_data;
pub mod objclass;
pub mod objects;
pub mod sessions;
pub mod timers;
pub mod world;

use crate::link::Sessid;
use crate::server::game::{CmdsetHolder as GameHolder, Game};
use crate::shared::ids::{AccountId, ObjectId};
use crate::store::Holder;
use crate::wasm::bindings::mudhost::game::host::{
    AttrEntry, ChannelInfo, ContentsPacked, HelpTopic, Host, MultisessionPolicy, ObjectBrief, Tag,
};
use crate::wasm::bindings::mudhost::game::host::{BuildLimits, PrototypeCatalog};
use crate::wasm::bindings::types::{
    self, CmdsetHolder, CommandInfo, HostError, LogLevel, SessionInfo,
};
use crate::wasm::bindings::{answer, refuse_or_fail};
use crate::wasm::import_checks::{clamp, over};
use crate::wasm::HostCtx;
use convert::{no_session, session_info};
use std::collections::HashSet;

/// Result of an import that ends the call when the guest goes over a quota.
type Trappable<T> = wasmtime::Result<T>;

impl types::Host for HostCtx<Game> {}

impl Host for HostCtx<Game> {
    fn msg_caller(&mut self, text: String) -> Trappable<()> {
        let to = self.game.sessions.get(self.caller).map(|s| s.sessid()).into_iter().collect();
        self.deliver(to, text)
    }

    fn msg_session(&mut self, session: u64, text: String) -> Trappable<()> {
        let to =
            self.game.sessions.get(Sessid::new(session)).map(|s| s.sessid()).into_iter().collect();
        self.deliver(to, text)
    }

    fn msg_account(&mut self, account: u64, text: String) -> Trappable<()> {
        let to =
            self.game.sessions.from_account(AccountId::new(account)).map(|s| s.sessid()).collect();
        self.deliver(to, text)
    }

    fn msg_object(&mut self, obj: u64, text: String) -> Trappable<()> {
        let to = self.game.sessions.from_puppet(ObjectId::new(obj)).map(|s| s.sessid()).collect();
        self.deliver(to, text)
    }

    fn msg_contents(&mut self, location: u64, text: String, exclude: Vec<u64>) -> Trappable<()> {
        if exclude.len() > self.q().list_items {
            return Err(over(format!(
                "msg-contents exclude list is over guest_list_items ({} items)",
                self.q().list_items
            )));
        }
        let exclude: HashSet<ObjectId> = exclude.into_iter().map(ObjectId::new).collect();
        let to = self.game.contents_recipients(ObjectId::new(location), &exclude);
        if !self.game.world.any_classes() {
            return self.deliver(to, text);
        }
        // Object classes: the classed objects in the room hear what was sent.
        let heard = clamp(text.clone(), self.q().text_bytes);
        self.deliver(to, text)?;
        self.msg_receive_hooks(location, &heard, &exclude)
    }

    fn announce_all(&mut self, text: String) -> Trappable<()> {
        let to = self.game.sessions.ids();
        self.deliver(to, text)
    }

    fn send_oob(
        &mut self,
        session: u64,
        cmdname: String,
        args_json: String,
        kwargs_json: String,
    ) -> Trappable<Result<(), HostError>> {
        self.queue_oob(session, cmdname, args_json, kwargs_json)
    }

    fn current_session(&mut self) -> Trappable<SessionInfo> {
        Ok(self.game.sessions.get(self.caller).map(session_info).unwrap_or_else(no_session))
    }

    fn get_session(&mut self, session: u64) -> Trappable<Option<SessionInfo>> {
        Ok(self.game.sessions.get(Sessid::new(session)).map(session_info))
    }

    fn get_sessions(&mut self, include_unloggedin: bool) -> Trappable<Vec<SessionInfo>> {
        Ok(self.game.sessions.all(include_unloggedin).map(session_info).collect())
    }

    fn sessions_from_account(&mut self, account: u64) -> Trappable<Vec<SessionInfo>> {
        Ok(self.game.sessions.from_account(AccountId::new(account)).map(session_info).collect())
    }

    fn sessions_from_puppet(&mut self, obj: u64) -> Trappable<Vec<SessionInfo>> {
        Ok(self.game.sessions.from_puppet(ObjectId::new(obj)).map(session_info).collect())
    }

    fn account_count(&mut self) -> Trappable<u32> {
        Ok(self.game.sessions.account_count() as u32)
    }

    fn disconnect(&mut self, session: u64, reason: String) -> Trappable<()> {
        let reason = clamp(reason, self.q().text_bytes);
        // No result to report through in this signature: a refusal is logged
        // (`disconnect-session` reports it to the guest).
        if let Err(e) = self.game.disconnect_checked(self.caller, Sessid::new(session), &reason) {
            tracing::warn!(module = %self.module, session, cause = %e, "disconnect refused");
        }
        Ok(())
    }

    fn ndb_get(&mut self, key: String) -> Trappable<Option<String>> {
        self.name("an ndb key", &key)?;
        Ok(self.game.sessions.get(self.caller).and_then(|s| s.data.ndb.get(&key).cloned()))
    }

    fn ndb_set(&mut self, key: String, value: Option<String>) -> Trappable<()> {
        self.name("an ndb key", &key)?;
        if let Some(v) = &value {
            if self.ndb_size_after(&key, v) > self.q().ndb_bytes_per_session {
                return Err(over(format!(
                    "the session's ndb would be over guest_ndb_bytes_per_session ({} bytes)",
                    self.q().ndb_bytes_per_session
                )));
            }
        }
        self.game.ndb_set(self.caller, key, value);
        Ok(())
    }

    fn create_account(
        &mut self,
        name: String,
        password: String,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.auth_checks(Some(&name), &[&password]) {
            return Ok(Err(e));
        }
        Ok(self
            .game
            .request_create_account(self.caller, &name, password)
            .map_err(HostError::Refused))
    }

    fn login(&mut self, name: String, password: String) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.auth_checks(Some(&name), &[&password]) {
            return Ok(Err(e));
        }
        Ok(self.game.request_login(self.caller, &name, password).map_err(HostError::Refused))
    }

    fn account_name(&mut self, account: u64) -> Trappable<Option<String>> {
        Ok(self.game.world.account(AccountId::new(account)).map(|a| a.name.clone()))
    }

    fn account_characters(&mut self, account: u64) -> Trappable<Vec<u64>> {
        Ok(self
            .game
            .world
            .account_characters(AccountId::new(account))
            .into_iter()
            .map(ObjectId::get)
            .collect())
    }

    fn account_is_superuser(&mut self, account: u64) -> Trappable<bool> {
        Ok(self.game.world.account(AccountId::new(account)).is_some_and(|a| a.is_superuser))
    }

    fn account_attr_get(&mut self, account: u64, key: String) -> Trappable<Option<String>> {
        self.name("an attribute key", &key)?;
        Ok(self
            .game
            .world
            .account(AccountId::new(account))
            .and_then(|a| a.attrs.get(&key).cloned()))
    }

    fn account_attr_set(
        &mut self,
        account: u64,
        key: String,
        value: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        self.set_account_attr(account, key, value)
    }

    fn puppet(&mut self, obj: u64) -> Trappable<Result<(), HostError>> {
        Ok(self.game.puppet(self.caller, ObjectId::new(obj)).map_err(HostError::Refused))
    }

    fn unpuppet(&mut self) -> Trappable<Result<(), HostError>> {
        Ok(self.game.unpuppet(self.caller).map_err(HostError::Refused))
    }

    fn object_create(
        &mut self,
        key: String,
        kind: String,
        location: Option<u64>,
    ) -> Trappable<u64> {
        self.create_object_counted(key, kind, location)
    }

    fn object_exists(&mut self, obj: u64) -> Trappable<bool> {
        Ok(self.game.world.object(ObjectId::new(obj)).is_some())
    }

    fn object_key(&mut self, obj: u64) -> Trappable<Option<String>> {
        Ok(self.game.world.object(ObjectId::new(obj)).map(|o| o.key.clone()))
    }

    fn object_set_key(&mut self, obj: u64, key: String) -> Trappable<Result<(), HostError>> {
        self.rename_object(obj, key)
    }

    fn object_kind(&mut self, obj: u64) -> Trappable<Option<String>> {
        Ok(self.game.world.object(ObjectId::new(obj)).map(|o| o.kind.clone()))
    }

    fn object_location(&mut self, obj: u64) -> Trappable<Option<u64>> {
        Ok(self.game.world.object(ObjectId::new(obj)).and_then(|o| o.location).map(ObjectId::get))
    }

    fn object_contents(&mut self, obj: u64) -> Trappable<Vec<u64>> {
        Ok(self
            .game
            .world
            .object(ObjectId::new(obj))
            .map(|o| o.contents.iter().map(|c| c.get()).collect())
            .unwrap_or_default())
    }

    fn object_contents_briefs(&mut self, obj: u64) -> Trappable<Vec<ObjectBrief>> {
        self.contents_briefs(obj)
    }

    fn object_contents_packed(&mut self, obj: u64) -> Trappable<ContentsPacked> {
        self.contents_packed(obj)
    }

    fn object_move(
        &mut self,
        obj: u64,
        destination: Option<u64>,
    ) -> Trappable<Result<(), HostError>> {
        self.move_with_hooks(obj, destination)
    }

    fn object_search(&mut self, key: String, location: Option<u64>) -> Trappable<Vec<u64>> {
        self.name("a search key", &key)?;
        Ok(self
            .game
            .world
            .search(&key, location.map(ObjectId::new))
            .into_iter()
            .map(ObjectId::get)
            .collect())
    }

    fn object_delete(&mut self, obj: u64) -> Trappable<Result<(), HostError>> {
        if self.game.sessions.from_puppet(ObjectId::new(obj)).next().is_some() {
            return Ok(Err(HostError::Refused("That object is being puppeted.".into())));
        }
        refuse_or_fail(self.game.world.delete_object(ObjectId::new(obj)))
    }

    fn object_attr_get(&mut self, obj: u64, key: String) -> Trappable<Option<String>> {
        self.attr_text(obj, key)
    }

    fn object_attr_set(
        &mut self,
        obj: u64,
        key: String,
        value: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        self.set_attr_text(obj, key, value)
    }

    fn start_location(&mut self) -> Trappable<u64> {
        Ok(self.game.world.start_location().get())
    }

    fn session_cmdset_add(&mut self, module: String) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("the module name", &module) {
            return Ok(Err(e));
        }
        Ok(self.game.session_cmdset_add(self.caller, module).map_err(HostError::NotFound))
    }

    fn session_cmdset_remove(&mut self, module: String) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("the module name", &module) {
            return Ok(Err(e));
        }
        Ok(self.game.session_cmdset_remove(self.caller, &module).map_err(HostError::NotFound))
    }

    fn server_reload(&mut self, reason: String) -> Trappable<Result<(), HostError>> {
        if reason.len() > self.q().text_bytes {
            return Ok(Err(HostError::Quota(format!(
                "the reason is over guest_text_bytes ({} bytes)",
                self.q().text_bytes
            ))));
        }
        Ok(self.game.request_reload(self.caller, reason).map_err(HostError::Denied))
    }

    fn module_report(&mut self) -> Trappable<Vec<String>> {
        Ok(self.game.module_report.clone())
    }

    fn now_ms(&mut self) -> Trappable<u64> {
        Ok(crate::shared::clock::now_ms())
    }

    fn log(&mut self, level: LogLevel, message: String) -> Trappable<()> {
        self.guest_log(level, message)
    }

    fn get_multisession_policy(&mut self) -> Trappable<MultisessionPolicy> {
        let c = &self.game.cfg;
        Ok(MultisessionPolicy {
            mode: c.multisession_mode,
            max_nr_characters: c.max_nr_characters,
            max_nr_simultaneous_puppets: c.max_nr_simultaneous_puppets,
            auto_create_character_with_account: c.auto_create_character_with_account,
            auto_puppet_on_login: c.auto_puppet_on_login,
        })
    }

    fn disconnect_session(
        &mut self,
        session: u64,
        reason: String,
    ) -> Trappable<Result<(), HostError>> {
        let reason = clamp(reason, self.q().text_bytes);
        Ok(self
            .game
            .disconnect_checked(self.caller, Sessid::new(session), &reason)
            .map_err(HostError::Refused))
    }

    fn disconnect_all(&mut self, reason: String) -> Trappable<Result<(), HostError>> {
        let reason = clamp(reason, self.q().text_bytes);
        Ok(self.game.disconnect_all(self.caller, &reason).map_err(HostError::Denied))
    }

    fn disconnect_duplicates(&mut self, reason: String) -> Trappable<u32> {
        let reason = clamp(reason, self.q().text_bytes);
        Ok(self.game.disconnect_duplicates(self.caller, &reason))
    }

    fn all_connected_accounts(&mut self) -> Trappable<Vec<u64>> {
        Ok(self.game.all_connected_accounts().into_iter().map(AccountId::get).collect())
    }

    fn sessions_from_csessid(&mut self, csessid: String) -> Trappable<Vec<SessionInfo>> {
        self.name("a csessid", &csessid)?;
        Ok(self.game.sessions.from_csessid(&csessid).map(session_info).collect())
    }

    fn character_create(
        &mut self,
        key: String,
        description: Option<String>,
    ) -> Trappable<Result<u64, HostError>> {
        self.create_character(key, description)
    }

    fn character_delete(&mut self, obj: u64) -> Trappable<Result<(), HostError>> {
        answer(self.game.character_delete(self.caller, ObjectId::new(obj)))
    }

    fn session_data(&mut self, session: u64) -> Trappable<Result<String, HostError>> {
        Ok(self.game.session_data(self.caller, Sessid::new(session)).map_err(HostError::Refused))
    }

    fn account_set_password(
        &mut self,
        old: String,
        new: String,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.auth_checks(None, &[&old, &new]) {
            return Ok(Err(e));
        }
        Ok(self.game.request_password_change(self.caller, old, new).map_err(HostError::Refused))
    }

    fn cmdset_add(
        &mut self,
        holder: CmdsetHolder,
        module: String,
        persistent: bool,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("the module name", &module) {
            return Ok(Err(e));
        }
        answer(self.game.cmdset_add(game_holder(holder), &module, persistent))
    }

    fn cmdset_remove(
        &mut self,
        holder: CmdsetHolder,
        module: String,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("the module name", &module) {
            return Ok(Err(e));
        }
        answer(self.game.cmdset_remove(game_holder(holder), &module))
    }

    fn cmdset_list(&mut self, holder: CmdsetHolder) -> Trappable<Vec<String>> {
        Ok(self.game.cmdset_list(game_holder(holder)))
    }

    fn caller_commands(&mut self) -> Trappable<Vec<CommandInfo>> {
        self.commands_for_caller()
    }

    fn account_permission(&mut self, account: u64) -> Trappable<Option<String>> {
        Ok(self.game.world.account(AccountId::new(account)).map(|a| a.permission.clone()))
    }

    fn account_set_permission(
        &mut self,
        account: u64,
        permission: String,
    ) -> Trappable<Result<(), HostError>> {
        if let Err(e) = self.name_value("the permission", &permission) {
            return Ok(Err(e));
        }
        answer(self.game.set_account_permission(self.caller, AccountId::new(account), &permission))
    }

    fn account_search(&mut self, name: String) -> Trappable<Option<u64>> {
        self.name("an account name", &name)?;
        Ok(self.game.world.account_by_name(&name).map(|a| a.id).map(AccountId::get))
    }

    fn timer_delay(
        &mut self,
        delay_ms: u64,
        payload: String,
        obj: Option<u64>,
        persistent: bool,
    ) -> Trappable<Result<u64, HostError>> {
        answer(self.timer_schedule(delay_ms, None, payload, obj, persistent))
    }

    fn timer_repeat(
        &mut self,
        interval_ms: u64,
        payload: String,
        obj: Option<u64>,
        persistent: bool,
    ) -> Trappable<Result<u64, HostError>> {
        answer(self.timer_schedule(interval_ms, Some(interval_ms), payload, obj, persistent))
    }

    fn timer_cancel(&mut self, id: u64) -> Trappable<bool> {
        self.timer_cancel_own(id)
    }

    fn timer_list(&mut self) -> Trappable<Vec<types::TimerInfo>> {
        Ok(self.timer_list_own())
    }

    // --- Building (`imports/building.rs`) ---

    fn building_limits(&mut self) -> Trappable<BuildLimits> {
        Ok(self.building_limits_now())
    }

    fn build_object(
        &mut self,
        key: String,
        kind: String,
        location: Option<u64>,
    ) -> Trappable<Result<u64, HostError>> {
        self.build_object_checked(&key, &kind, location)
    }

    fn prototype_list(&mut self) -> Trappable<PrototypeCatalog> {
        Ok(self.prototype_catalog())
    }

    fn prototype_get(&mut self, key: String) -> Trappable<Result<String, HostError>> {
        Ok(self.prototype_json(&key))
    }

    // Channels, help, execute (`imports/comms.rs`)
    fn channel_list(&mut self) -> Trappable<Vec<ChannelInfo>> {
        self.comms_list()
    }

    fn channel_create(
        &mut self,
        name: String,
        aliases: Vec<String>,
        description: String,
    ) -> Trappable<Result<(), HostError>> {
        answer(self.comms_create(name, aliases, description))
    }

    fn channel_sub(&mut self, channel: String) -> Trappable<Result<String, HostError>> {
        answer(self.comms_sub(channel))
    }

    fn channel_unsub(&mut self, channel: String) -> Trappable<Result<String, HostError>> {
        answer(self.comms_unsub(channel))
    }

    fn channel_mute(
        &mut self,
        channel: String,
        muted: bool,
    ) -> Trappable<Result<String, HostError>> {
        answer(self.comms_mute(channel, muted))
    }

    fn channel_who(&mut self, channel: String) -> Trappable<Result<Vec<String>, HostError>> {
        answer(self.comms_who(channel))
    }

    fn channel_history(
        &mut self,
        channel: String,
        count: u32,
    ) -> Trappable<Result<Vec<String>, HostError>> {
        answer(self.comms_history(channel, count))
    }

    fn channel_ban(
        &mut self,
        channel: String,
        account: String,
        banned: bool,
    ) -> Trappable<Result<String, HostError>> {
        answer(self.comms_ban(channel, account, banned))
    }

    fn channel_bans(&mut self, channel: String) -> Trappable<Result<Vec<String>, HostError>> {
        answer(self.comms_bans(channel))
    }

    fn channel_send(&mut self, channel: String, text: String) -> Trappable<Result<(), HostError>> {
        self.comms_send(channel, text)
    }

    fn help_topics(&mut self) -> Trappable<Vec<HelpTopic>> {
        Ok(self.comms_help_topics())
    }

    fn help_topic_text(&mut self, topic: String) -> Trappable<Option<String>> {
        self.name("a help topic", &topic)?;
        Ok(self.comms_help_text(&topic))
    }

    fn execute_cmd(&mut self, obj: u64, line: String) -> Trappable<Result<(), HostError>> {
        self.comms_execute(obj, line)
    }

    // World model: tags, aliases, search, attributes, locks (`imports/world.rs`).

    fn tag_add(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        answer(self.world_tag_add(obj, key, category))
    }

    fn tag_remove(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Trappable<Result<bool, HostError>> {
        answer(self.world_tag_remove(obj, key, category))
    }

    fn tags(&mut self, obj: u64) -> Trappable<Vec<Tag>> {
        Ok(self.world_tags(obj))
    }

    fn search_tag(
        &mut self,
        key: String,
        category: Option<String>,
        location: Option<u64>,
    ) -> Trappable<Vec<u64>> {
        self.world_search_tag(key, category, location)
    }

    fn alias_add(&mut self, obj: u64, alias: String) -> Trappable<Result<(), HostError>> {
        answer(self.world_alias_add(obj, alias))
    }

    fn alias_remove(&mut self, obj: u64, alias: String) -> Trappable<Result<bool, HostError>> {
        answer(self.world_alias_remove(obj, alias))
    }

    fn aliases(&mut self, obj: u64) -> Trappable<Vec<String>> {
        Ok(self.game.world.aliases(ObjectId::new(obj)).to_vec())
    }

    fn search_kind(&mut self, kind: String, location: Option<u64>) -> Trappable<Vec<u64>> {
        self.world_search_kind(kind, location)
    }

    fn attr_get_json(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Trappable<Option<String>> {
        self.world_attr_get_json(obj, key, category)
    }

    fn attr_set_json(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
        value_json: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        answer(self.world_attr_set_json(obj, key, category, value_json))
    }

    fn attr_list(&mut self, obj: u64) -> Trappable<Vec<AttrEntry>> {
        Ok(self.world_attr_list(obj))
    }

    fn lock_add(&mut self, obj: u64, lockstring: String) -> Trappable<Result<(), HostError>> {
        answer(self.world_lock_add(obj, lockstring))
    }

    fn lock_remove(&mut self, obj: u64, access_type: String) -> Trappable<Result<bool, HostError>> {
        answer(self.world_lock_remove(obj, access_type))
    }

    fn locks(&mut self, obj: u64) -> Trappable<Vec<String>> {
        Ok(self.world_locks(obj))
    }

    fn access(&mut self, obj: u64, accessor: u64, access_type: String) -> Trappable<bool> {
        self.world_access(obj, accessor, access_type)
    }

    // Object classes
    fn object_set_class(
        &mut self,
        obj: u64,
        class: Option<String>,
    ) -> Trappable<Result<(), HostError>> {
        if let Some(c) = &class {
            if let Err(e) = self.name_value("a class module name", c) {
                return Ok(Err(e));
            }
        }
        self.set_class(obj, class)
    }

    fn object_class(&mut self, obj: u64) -> Trappable<Option<String>> {
        Ok(self.game.world.object_class(ObjectId::new(obj)).map(|c| c.to_string()))
    }

    fn object_appearance(&mut self, obj: u64, looker: u64) -> Trappable<String> {
        self.appearance(obj, looker)
    }

    fn object_traverse(&mut self, obj: u64, exit: u64) -> Trappable<Result<(), HostError>> {
        self.traverse(obj, exit)
    }
}

/// The game's name for a WIT cmdset holder.
fn game_holder(h: CmdsetHolder) -> GameHolder {
    match h {
        CmdsetHolder::Session(id) => GameHolder::Session(Sessid::new(id)),
        CmdsetHolder::Account(id) => GameHolder::World(Holder::Account(AccountId::new(id))),
        CmdsetHolder::Object(id) => GameHolder::World(Holder::Object(ObjectId::new(id))),
    }
}
