//! The `mudhost:game@0.1.0` host imports, for modules built against that WIT: each is the 0.3.0
//! import of the same name ([`super::compat_v0_3`]: the current one, its refusals as texts; same
//! checks, same quotas), so an old module behaves exactly as it did. 0.1.0 is a subset of that
//! `host` interface with the same types, except the records defined in `host` itself
//! (`multisession-policy`, `object-brief`), which are converted.

use super::bindings::types::{LogLevel, SessionInfo};
use super::bindings::v0_1::mudhost::game::host as v0_1;
use super::bindings::v0_3::mudhost::game::host::Host;
use super::HostCtx;

/// Result of an import that ends the call when the guest goes over a quota.
type Trappable<T> = wasmtime::Result<T>;

impl<D: Send + 'static> v0_1::Host for HostCtx<D>
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
        <Self as Host>::send_oob(self, session, cmdname, args_json, kwargs_json)
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
        <Self as Host>::create_account(self, name, password)
    }

    fn login(&mut self, name: String, password: String) -> Trappable<Result<(), String>> {
        <Self as Host>::login(self, name, password)
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
        <Self as Host>::account_attr_set(self, account, key, value)
    }

    fn puppet(&mut self, obj: u64) -> Trappable<Result<(), String>> {
        <Self as Host>::puppet(self, obj)
    }

    fn unpuppet(&mut self) -> Trappable<Result<(), String>> {
        <Self as Host>::unpuppet(self)
    }

    fn object_create(
        &mut self,
        key: String,
        kind: String,
        location: Option<u64>,
    ) -> Trappable<u64> {
        <Self as Host>::object_create(self, key, kind, location)
    }

    fn object_contents_briefs(&mut self, obj: u64) -> Trappable<Vec<v0_1::ObjectBrief>> {
        let briefs = <Self as Host>::object_contents_briefs(self, obj)?;
        Ok(briefs
            .into_iter()
            .map(|b| v0_1::ObjectBrief { id: b.id, key: b.key, kind: b.kind })
            .collect())
    }

    fn object_exists(&mut self, obj: u64) -> Trappable<bool> {
        <Self as Host>::object_exists(self, obj)
    }

    fn object_key(&mut self, obj: u64) -> Trappable<Option<String>> {
        <Self as Host>::object_key(self, obj)
    }

    fn object_set_key(&mut self, obj: u64, key: String) -> Trappable<Result<(), String>> {
        <Self as Host>::object_set_key(self, obj, key)
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

    fn object_move(&mut self, obj: u64, destination: Option<u64>) -> Trappable<Result<(), String>> {
        <Self as Host>::object_move(self, obj, destination)
    }

    fn object_search(&mut self, key: String, location: Option<u64>) -> Trappable<Vec<u64>> {
        <Self as Host>::object_search(self, key, location)
    }

    fn object_delete(&mut self, obj: u64) -> Trappable<Result<(), String>> {
        <Self as Host>::object_delete(self, obj)
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
        <Self as Host>::object_attr_set(self, obj, key, value)
    }

    fn start_location(&mut self) -> Trappable<u64> {
        <Self as Host>::start_location(self)
    }

    fn session_cmdset_add(&mut self, module: String) -> Trappable<Result<(), String>> {
        <Self as Host>::session_cmdset_add(self, module)
    }

    fn session_cmdset_remove(&mut self, module: String) -> Trappable<Result<(), String>> {
        <Self as Host>::session_cmdset_remove(self, module)
    }

    fn server_reload(&mut self, reason: String) -> Trappable<Result<(), String>> {
        <Self as Host>::server_reload(self, reason)
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

    fn get_multisession_policy(&mut self) -> Trappable<v0_1::MultisessionPolicy> {
        let p = <Self as Host>::get_multisession_policy(self)?;
        Ok(v0_1::MultisessionPolicy {
            mode: p.mode,
            max_nr_characters: p.max_nr_characters,
            max_nr_simultaneous_puppets: p.max_nr_simultaneous_puppets,
            auto_create_character_with_account: p.auto_create_character_with_account,
            auto_puppet_on_login: p.auto_puppet_on_login,
        })
    }

    fn disconnect_session(
        &mut self,
        session: u64,
        reason: String,
    ) -> Trappable<Result<(), String>> {
        <Self as Host>::disconnect_session(self, session, reason)
    }

    fn disconnect_all(&mut self, reason: String) -> Trappable<Result<(), String>> {
        <Self as Host>::disconnect_all(self, reason)
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
        <Self as Host>::character_create(self, key, description)
    }

    fn character_delete(&mut self, obj: u64) -> Trappable<Result<(), String>> {
        <Self as Host>::character_delete(self, obj)
    }

    fn session_data(&mut self, session: u64) -> Trappable<Result<String, String>> {
        <Self as Host>::session_data(self, session)
    }

    fn account_set_password(&mut self, old: String, new: String) -> Trappable<Result<(), String>> {
        <Self as Host>::account_set_password(self, old, new)
    }
}
