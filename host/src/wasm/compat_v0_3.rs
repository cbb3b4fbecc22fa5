//! The `mudhost:game@0.3.0` host imports, for modules built against the previous WIT: each is the
//! current import of the same name (same checks, same quotas), and a refusal, a
//! [`HostError`](super::bindings::types::HostError) since 0.4.0, reaches the module as the very
//! text 0.3.0 gave it ([`HostError::text`](super::bindings::types::HostError::text)), so an old
//! module that matched on `"quota: "` behaves exactly as it did. The records defined in `host`
//! itself are converted; the `types` records are shared (see [`super::bindings::v0_3`]).

use super::bindings::mudhost::game::host::{self as current, Host};
use super::bindings::types::{self, CmdsetHolder, CommandInfo, HostError, LogLevel, SessionInfo};
use super::bindings::v0_3::mudhost::game::host as v0_3;
use super::HostCtx;

/// Result of an import that ends the call when the guest goes over a quota.
type Trappable<T> = wasmtime::Result<T>;

/// A current import's refusal as 0.3.0 answered it: its text.
fn refusal_text<T>(r: Result<T, HostError>) -> Result<T, String> {
    r.map_err(|e| e.text())
}

/// `From` between a record of the current `host` and its 0.3.0 twin, field by field.
macro_rules! same_record {
    ($($name:ident { $($field:ident),* $(,)? })*) => {
        $(impl From<current::$name> for v0_3::$name {
            fn from(r: current::$name) -> Self {
                Self { $($field: r.$field),* }
            }
        })*
    };
}

same_record! {
    ObjectBrief { id, key, kind }
    ContentsPacked { ids, text, ends }
    MultisessionPolicy {
        mode,
        max_nr_characters,
        max_nr_simultaneous_puppets,
        auto_create_character_with_account,
        auto_puppet_on_login,
    }
    BuildLimits { name_bytes, attr_value_bytes }
    PrototypeEntry { key, desc, tags, file }
    ChannelInfo { name, aliases, description, owner, subscribed, muted, subscribers }
    HelpTopic { key, aliases, category }
    Tag { key, category }
    AttrEntry { key, category, value_json }
}

impl From<current::PrototypeCatalog> for v0_3::PrototypeCatalog {
    fn from(c: current::PrototypeCatalog) -> Self {
        Self { entries: c.entries.into_iter().map(Into::into).collect(), problems: c.problems }
    }
}

impl<D: Send + 'static> v0_3::Host for HostCtx<D>
where
    HostCtx<D>: Host,
{
    fn msg_caller(&mut self, text: String) -> Trappable<()> {
        <Self as Host>::msg_caller(self, text)
    }

    fn msg_session(&mut self, session: u64, text: String) -> Trappable<()> {
        <Self as Host>::msg_session(self, session, text)
    }

    fn msg_account(&mut self, account: u64, text: String) -> Trappable<()> {
        <Self as Host>::msg_account(self, account, text)
    }

    fn msg_object(&mut self, obj: u64, text: String) -> Trappable<()> {
        <Self as Host>::msg_object(self, obj, text)
    }

    fn msg_contents(&mut self, location: u64, text: String, exclude: Vec<u64>) -> Trappable<()> {
        <Self as Host>::msg_contents(self, location, text, exclude)
    }

    fn announce_all(&mut self, text: String) -> Trappable<()> {
        <Self as Host>::announce_all(self, text)
    }

    fn send_oob(
        &mut self,
        session: u64,
        cmdname: String,
        args_json: String,
        kwargs_json: String,
    ) -> Trappable<Result<(), String>> {
        <Self as Host>::send_oob(self, session, cmdname, args_json, kwargs_json).map(refusal_text)
    }

    fn current_session(&mut self) -> Trappable<SessionInfo> {
        <Self as Host>::current_session(self)
    }

    fn get_session(&mut self, session: u64) -> Trappable<Option<SessionInfo>> {
        <Self as Host>::get_session(self, session)
    }

    fn get_sessions(&mut self, include_unloggedin: bool) -> Trappable<Vec<SessionInfo>> {
        <Self as Host>::get_sessions(self, include_unloggedin)
    }

    fn sessions_from_account(&mut self, account: u64) -> Trappable<Vec<SessionInfo>> {
        <Self as Host>::sessions_from_account(self, account)
    }

    fn sessions_from_puppet(&mut self, obj: u64) -> Trappable<Vec<SessionInfo>> {
        <Self as Host>::sessions_from_puppet(self, obj)
    }

    fn account_count(&mut self) -> Trappable<u32> {
        <Self as Host>::account_count(self)
    }

    fn disconnect(&mut self, session: u64, reason: String) -> Trappable<()> {
        <Self as Host>::disconnect(self, session, reason)
    }

    fn ndb_get(&mut self, key: String) -> Trappable<Option<String>> {
        <Self as Host>::ndb_get(self, key)
    }

    fn ndb_set(&mut self, key: String, value: Option<String>) -> Trappable<()> {
        <Self as Host>::ndb_set(self, key, value)
    }

    fn create_account(&mut self, name: String, password: String) -> Trappable<Result<(), String>> {
        <Self as Host>::create_account(self, name, password).map(refusal_text)
    }

    fn login(&mut self, name: String, password: String) -> Trappable<Result<(), String>> {
        <Self as Host>::login(self, name, password).map(refusal_text)
    }

    fn account_name(&mut self, account: u64) -> Trappable<Option<String>> {
        <Self as Host>::account_name(self, account)
    }

    fn account_characters(&mut self, account: u64) -> Trappable<Vec<u64>> {
        <Self as Host>::account_characters(self, account)
    }

    fn account_is_superuser(&mut self, account: u64) -> Trappable<bool> {
        <Self as Host>::account_is_superuser(self, account)
    }

    fn account_attr_get(&mut self, account: u64, key: String) -> Trappable<Option<String>> {
        <Self as Host>::account_attr_get(self, account, key)
    }

    fn account_attr_set(
        &mut self,
        account: u64,
        key: String,
        value: Option<String>,
    ) -> Trappable<()> {
        // 0.3.0 had no result here: a refusal (no such account) was only logged, as it still is.
        if let Err(e) = <Self as Host>::account_attr_set(self, account, key, value)? {
            tracing::warn!(module = %self.module, account, cause = %e.text(), "account-attr-set failed");
        }
        Ok(())
    }

    fn puppet(&mut self, obj: u64) -> Trappable<Result<(), String>> {
        <Self as Host>::puppet(self, obj).map(refusal_text)
    }

    fn unpuppet(&mut self) -> Trappable<Result<(), String>> {
        <Self as Host>::unpuppet(self).map(refusal_text)
    }

    fn object_create(
        &mut self,
        key: String,
        kind: String,
        location: Option<u64>,
    ) -> Trappable<u64> {
        <Self as Host>::object_create(self, key, kind, location)
    }

    fn object_exists(&mut self, obj: u64) -> Trappable<bool> {
        <Self as Host>::object_exists(self, obj)
    }

    fn object_key(&mut self, obj: u64) -> Trappable<Option<String>> {
        <Self as Host>::object_key(self, obj)
    }

    fn object_set_key(&mut self, obj: u64, key: String) -> Trappable<Result<(), String>> {
        <Self as Host>::object_set_key(self, obj, key).map(refusal_text)
    }

    fn object_kind(&mut self, obj: u64) -> Trappable<Option<String>> {
        <Self as Host>::object_kind(self, obj)
    }

    fn object_location(&mut self, obj: u64) -> Trappable<Option<u64>> {
        <Self as Host>::object_location(self, obj)
    }

    fn object_contents(&mut self, obj: u64) -> Trappable<Vec<u64>> {
        <Self as Host>::object_contents(self, obj)
    }

    fn object_contents_briefs(&mut self, obj: u64) -> Trappable<Vec<v0_3::ObjectBrief>> {
        Ok(<Self as Host>::object_contents_briefs(self, obj)?.into_iter().map(Into::into).collect())
    }

    fn object_contents_packed(&mut self, obj: u64) -> Trappable<v0_3::ContentsPacked> {
        Ok(<Self as Host>::object_contents_packed(self, obj)?.into())
    }

    fn object_move(&mut self, obj: u64, destination: Option<u64>) -> Trappable<Result<(), String>> {
        <Self as Host>::object_move(self, obj, destination).map(refusal_text)
    }

    fn object_search(&mut self, key: String, location: Option<u64>) -> Trappable<Vec<u64>> {
        <Self as Host>::object_search(self, key, location)
    }

    fn object_delete(&mut self, obj: u64) -> Trappable<Result<(), String>> {
        <Self as Host>::object_delete(self, obj).map(refusal_text)
    }

    fn object_attr_get(&mut self, obj: u64, key: String) -> Trappable<Option<String>> {
        <Self as Host>::object_attr_get(self, obj, key)
    }

    fn object_attr_set(
        &mut self,
        obj: u64,
        key: String,
        value: Option<String>,
    ) -> Trappable<Result<(), String>> {
        <Self as Host>::object_attr_set(self, obj, key, value).map(refusal_text)
    }

    fn start_location(&mut self) -> Trappable<u64> {
        <Self as Host>::start_location(self)
    }

    fn session_cmdset_add(&mut self, module: String) -> Trappable<Result<(), String>> {
        <Self as Host>::session_cmdset_add(self, module).map(refusal_text)
    }

    fn session_cmdset_remove(&mut self, module: String) -> Trappable<Result<(), String>> {
        <Self as Host>::session_cmdset_remove(self, module).map(refusal_text)
    }

    fn server_reload(&mut self, reason: String) -> Trappable<Result<(), String>> {
        <Self as Host>::server_reload(self, reason).map(refusal_text)
    }

    fn module_report(&mut self) -> Trappable<Vec<String>> {
        <Self as Host>::module_report(self)
    }

    fn now_ms(&mut self) -> Trappable<u64> {
        <Self as Host>::now_ms(self)
    }

    fn log(&mut self, level: LogLevel, message: String) -> Trappable<()> {
        <Self as Host>::log(self, level, message)
    }

    fn get_multisession_policy(&mut self) -> Trappable<v0_3::MultisessionPolicy> {
        Ok(<Self as Host>::get_multisession_policy(self)?.into())
    }

    fn disconnect_session(
        &mut self,
        session: u64,
        reason: String,
    ) -> Trappable<Result<(), String>> {
        <Self as Host>::disconnect_session(self, session, reason).map(refusal_text)
    }

    fn disconnect_all(&mut self, reason: String) -> Trappable<Result<(), String>> {
        <Self as Host>::disconnect_all(self, reason).map(refusal_text)
    }

    fn disconnect_duplicates(&mut self, reason: String) -> Trappable<u32> {
        <Self as Host>::disconnect_duplicates(self, reason)
    }

    fn all_connected_accounts(&mut self) -> Trappable<Vec<u64>> {
        <Self as Host>::all_connected_accounts(self)
    }

    fn sessions_from_csessid(&mut self, csessid: String) -> Trappable<Vec<SessionInfo>> {
        <Self as Host>::sessions_from_csessid(self, csessid)
    }

    fn character_create(
        &mut self,
        key: String,
        description: Option<String>,
    ) -> Trappable<Result<u64, String>> {
        <Self as Host>::character_create(self, key, description).map(refusal_text)
    }

    fn character_delete(&mut self, obj: u64) -> Trappable<Result<(), String>> {
        <Self as Host>::character_delete(self, obj).map(refusal_text)
    }

    fn session_data(&mut self, session: u64) -> Trappable<Result<String, String>> {
        <Self as Host>::session_data(self, session).map(refusal_text)
    }

    fn account_set_password(&mut self, old: String, new: String) -> Trappable<Result<(), String>> {
        <Self as Host>::account_set_password(self, old, new).map(refusal_text)
    }

    fn cmdset_add(
        &mut self,
        holder: CmdsetHolder,
        module: String,
        persistent: bool,
    ) -> Trappable<Result<(), String>> {
        <Self as Host>::cmdset_add(self, holder, module, persistent).map(refusal_text)
    }

    fn cmdset_remove(
        &mut self,
        holder: CmdsetHolder,
        module: String,
    ) -> Trappable<Result<(), String>> {
        <Self as Host>::cmdset_remove(self, holder, module).map(refusal_text)
    }

    fn cmdset_list(&mut self, holder: CmdsetHolder) -> Trappable<Vec<String>> {
        <Self as Host>::cmdset_list(self, holder)
    }

    fn caller_commands(&mut self) -> Trappable<Vec<CommandInfo>> {
        <Self as Host>::caller_commands(self)
    }

    fn account_permission(&mut self, account: u64) -> Trappable<Option<String>> {
        <Self as Host>::account_permission(self, account)
    }

    fn account_set_permission(
        &mut self,
        account: u64,
        permission: String,
    ) -> Trappable<Result<(), String>> {
        <Self as Host>::account_set_permission(self, account, permission).map(refusal_text)
    }

    fn account_search(&mut self, name: String) -> Trappable<Option<u64>> {
        <Self as Host>::account_search(self, name)
    }

    fn timer_delay(
        &mut self,
        delay_ms: u64,
        payload: String,
        obj: Option<u64>,
        persistent: bool,
    ) -> Trappable<Result<u64, String>> {
        <Self as Host>::timer_delay(self, delay_ms, payload, obj, persistent).map(refusal_text)
    }

    fn timer_repeat(
        &mut self,
        interval_ms: u64,
        payload: String,
        obj: Option<u64>,
        persistent: bool,
    ) -> Trappable<Result<u64, String>> {
        <Self as Host>::timer_repeat(self, interval_ms, payload, obj, persistent).map(refusal_text)
    }

    fn timer_cancel(&mut self, id: u64) -> Trappable<bool> {
        <Self as Host>::timer_cancel(self, id)
    }

    fn timer_list(&mut self) -> Trappable<Vec<types::TimerInfo>> {
        <Self as Host>::timer_list(self)
    }

    fn building_limits(&mut self) -> Trappable<v0_3::BuildLimits> {
        Ok(<Self as Host>::building_limits(self)?.into())
    }

    fn build_object(
        &mut self,
        key: String,
        kind: String,
        location: Option<u64>,
    ) -> Trappable<Result<u64, String>> {
        <Self as Host>::build_object(self, key, kind, location).map(refusal_text)
    }

    fn prototype_list(&mut self) -> Trappable<v0_3::PrototypeCatalog> {
        Ok(<Self as Host>::prototype_list(self)?.into())
    }

    fn prototype_get(&mut self, key: String) -> Trappable<Result<String, String>> {
        <Self as Host>::prototype_get(self, key).map(refusal_text)
    }

    fn channel_list(&mut self) -> Trappable<Vec<v0_3::ChannelInfo>> {
        Ok(<Self as Host>::channel_list(self)?.into_iter().map(Into::into).collect())
    }

    fn channel_create(
        &mut self,
        name: String,
        aliases: Vec<String>,
        description: String,
    ) -> Trappable<Result<(), String>> {
        <Self as Host>::channel_create(self, name, aliases, description).map(refusal_text)
    }

    fn channel_sub(&mut self, channel: String) -> Trappable<Result<String, String>> {
        <Self as Host>::channel_sub(self, channel).map(refusal_text)
    }

    fn channel_unsub(&mut self, channel: String) -> Trappable<Result<String, String>> {
        <Self as Host>::channel_unsub(self, channel).map(refusal_text)
    }

    fn channel_mute(&mut self, channel: String, muted: bool) -> Trappable<Result<String, String>> {
        <Self as Host>::channel_mute(self, channel, muted).map(refusal_text)
    }

    fn channel_who(&mut self, channel: String) -> Trappable<Result<Vec<String>, String>> {
        <Self as Host>::channel_who(self, channel).map(refusal_text)
    }

    fn channel_history(
        &mut self,
        channel: String,
        count: u32,
    ) -> Trappable<Result<Vec<String>, String>> {
        <Self as Host>::channel_history(self, channel, count).map(refusal_text)
    }

    fn channel_ban(
        &mut self,
        channel: String,
        account: String,
        banned: bool,
    ) -> Trappable<Result<String, String>> {
        <Self as Host>::channel_ban(self, channel, account, banned).map(refusal_text)
    }

    fn channel_bans(&mut self, channel: String) -> Trappable<Result<Vec<String>, String>> {
        <Self as Host>::channel_bans(self, channel).map(refusal_text)
    }

    fn channel_send(&mut self, channel: String, text: String) -> Trappable<Result<(), String>> {
        <Self as Host>::channel_send(self, channel, text).map(refusal_text)
    }

    fn help_topics(&mut self) -> Trappable<Vec<v0_3::HelpTopic>> {
        Ok(<Self as Host>::help_topics(self)?.into_iter().map(Into::into).collect())
    }

    fn help_topic_text(&mut self, topic: String) -> Trappable<Option<String>> {
        <Self as Host>::help_topic_text(self, topic)
    }

    fn execute_cmd(&mut self, obj: u64, line: String) -> Trappable<Result<(), String>> {
        <Self as Host>::execute_cmd(self, obj, line).map(refusal_text)
    }

    fn tag_add(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Trappable<Result<(), String>> {
        <Self as Host>::tag_add(self, obj, key, category).map(refusal_text)
    }

    fn tag_remove(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Trappable<Result<bool, String>> {
        <Self as Host>::tag_remove(self, obj, key, category).map(refusal_text)
    }

    fn tags(&mut self, obj: u64) -> Trappable<Vec<v0_3::Tag>> {
        Ok(<Self as Host>::tags(self, obj)?.into_iter().map(Into::into).collect())
    }

    fn search_tag(
        &mut self,
        key: String,
        category: Option<String>,
        location: Option<u64>,
    ) -> Trappable<Vec<u64>> {
        <Self as Host>::search_tag(self, key, category, location)
    }

    fn alias_add(&mut self, obj: u64, alias: String) -> Trappable<Result<(), String>> {
        <Self as Host>::alias_add(self, obj, alias).map(refusal_text)
    }

    fn alias_remove(&mut self, obj: u64, alias: String) -> Trappable<Result<bool, String>> {
        <Self as Host>::alias_remove(self, obj, alias).map(refusal_text)
    }

    fn aliases(&mut self, obj: u64) -> Trappable<Vec<String>> {
        <Self as Host>::aliases(self, obj)
    }

    fn search_kind(&mut self, kind: String, location: Option<u64>) -> Trappable<Vec<u64>> {
        <Self as Host>::search_kind(self, kind, location)
    }

    fn attr_get_json(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
    ) -> Trappable<Option<String>> {
        <Self as Host>::attr_get_json(self, obj, key, category)
    }

    fn attr_set_json(
        &mut self,
        obj: u64,
        key: String,
        category: Option<String>,
        value_json: Option<String>,
    ) -> Trappable<Result<(), String>> {
        <Self as Host>::attr_set_json(self, obj, key, category, value_json).map(refusal_text)
    }

    fn attr_list(&mut self, obj: u64) -> Trappable<Vec<v0_3::AttrEntry>> {
        Ok(<Self as Host>::attr_list(self, obj)?.into_iter().map(Into::into).collect())
    }

    fn lock_add(&mut self, obj: u64, lockstring: String) -> Trappable<Result<(), String>> {
        <Self as Host>::lock_add(self, obj, lockstring).map(refusal_text)
    }

    fn lock_remove(&mut self, obj: u64, access_type: String) -> Trappable<Result<bool, String>> {
        <Self as Host>::lock_remove(self, obj, access_type).map(refusal_text)
    }

    fn locks(&mut self, obj: u64) -> Trappable<Vec<String>> {
        <Self as Host>::locks(self, obj)
    }

    fn access(&mut self, obj: u64, accessor: u64, access_type: String) -> Trappable<bool> {
        <Self as Host>::access(self, obj, accessor, access_type)
    }

    fn object_set_class(
        &mut self,
        obj: u64,
        class: Option<String>,
    ) -> Trappable<Result<(), String>> {
        <Self as Host>::object_set_class(self, obj, class).map(refusal_text)
    }

    fn object_class(&mut self, obj: u64) -> Trappable<Option<String>> {
        <Self as Host>::object_class(self, obj)
    }

    fn object_appearance(&mut self, obj: u64, looker: u64) -> Trappable<String> {
        <Self as Host>::object_appearance(self, obj, looker)
    }

    fn object_traverse(&mut self, obj: u64, exit: u64) -> Trappable<Result<(), String>> {
        <Self as Host>::object_traverse(self, obj, exit).map(refusal_text)
    }
}
