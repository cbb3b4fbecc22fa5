//! The host imports of the old WIT versions, so a module built against one behaves exactly as it
//! did: each old import is the next version's import of the same name (0.1.0 and 0.2.1 are served
//! by 0.3.0's, 0.3.0 by the current one; same checks, same quotas), written once here.
//!
//! The import lists below are the one place that says which imports each old version has: 0.1.0's
//! are a subset of 0.2.1's, which are a subset of 0.3.0's, so each list names only what its version
//! added and passes the earlier ones on. Each entry says how its answer crosses the versions:
//!
//! - `same`: the same types in every version (the `types` records are shared by all bindings);
//! - `refusal`: a `result<_, string>` in the old versions, a `result<_, host-error>` since 0.4.0;
//!   0.3.0 gives back the error's text, the older ones take 0.3.0's text as it is;
//! - `record` / `records`: a record (or a list of them) defined in `host` itself, so each version
//!   has its own twin type, converted field by field (`record_from!`);
//! - `logged`: no result in the old versions, a result since 0.4.0; 0.3.0's import is written by
//!   hand (`compat/v0_3.rs`), the older ones take it as it is.
//!
//! `delegate!` turns a list into the `impl … Host for HostCtx<D>` of one version; the files
//! below hold what each version adds by hand (its records' conversions, 0.3.0's refusal texts).

/// Hands `$then!` the 0.1.0 imports (after its own `{ … }` arguments), followed by `$later`.
macro_rules! v0_1_imports {
    ($then:ident! { $($head:tt)* } $($later:tt)*) => {
        $then! { $($head)*
            same msg_caller(text: String) -> ();
            same msg_session(session: u64, text: String) -> ();
            same msg_account(account: u64, text: String) -> ();
            same msg_object(obj: u64, text: String) -> ();
            same msg_contents(location: u64, text: String, exclude: Vec<u64>) -> ();
            same announce_all(text: String) -> ();
            refusal send_oob(session: u64, cmdname: String, args_json: String, kwargs_json: String)
                -> Result<(), String>;
            same current_session() -> types::SessionInfo;
            same get_session(session: u64) -> Option<types::SessionInfo>;
            same get_sessions(include_unloggedin: bool) -> Vec<types::SessionInfo>;
            same sessions_from_account(account: u64) -> Vec<types::SessionInfo>;
            same sessions_from_puppet(obj: u64) -> Vec<types::SessionInfo>;
            same account_count() -> u32;
            same disconnect(session: u64, reason: String) -> ();
            same ndb_get(key: String) -> Option<String>;
            same ndb_set(key: String, value: Option<String>) -> ();
            refusal create_account(name: String, password: String) -> Result<(), String>;
            refusal login(name: String, password: String) -> Result<(), String>;
            same account_name(account: u64) -> Option<String>;
            same account_characters(account: u64) -> Vec<u64>;
            same account_is_superuser(account: u64) -> bool;
            same account_attr_get(account: u64, key: String) -> Option<String>;
            logged account_attr_set(account: u64, key: String, value: Option<String>) -> ();
            refusal puppet(obj: u64) -> Result<(), String>;
            refusal unpuppet() -> Result<(), String>;
            same object_create(key: String, kind: String, location: Option<u64>) -> u64;
            records object_contents_briefs(obj: u64) -> Vec<ObjectBrief>;
            same object_exists(obj: u64) -> bool;
            same object_key(obj: u64) -> Option<String>;
            refusal object_set_key(obj: u64, key: String) -> Result<(), String>;
            same object_kind(obj: u64) -> Option<String>;
            same object_location(obj: u64) -> Option<u64>;
            same object_contents(obj: u64) -> Vec<u64>;
            refusal object_move(obj: u64, destination: Option<u64>) -> Result<(), String>;
            same object_search(key: String, location: Option<u64>) -> Vec<u64>;
            refusal object_delete(obj: u64) -> Result<(), String>;
            same object_attr_get(obj: u64, key: String) -> Option<String>;
            refusal object_attr_set(obj: u64, key: String, value: Option<String>)
                -> Result<(), String>;
            same start_location() -> u64;
            refusal session_cmdset_add(module: String) -> Result<(), String>;
            refusal session_cmdset_remove(module: String) -> Result<(), String>;
            refusal server_reload(reason: String) -> Result<(), String>;
            same module_report() -> Vec<String>;
            same now_ms() -> u64;
            same log(level: types::LogLevel, message: String) -> ();
            record get_multisession_policy() -> MultisessionPolicy;
            refusal disconnect_session(session: u64, reason: String) -> Result<(), String>;
            refusal disconnect_all(reason: String) -> Result<(), String>;
            same disconnect_duplicates(reason: String) -> u32;
            same all_connected_accounts() -> Vec<u64>;
            same sessions_from_csessid(csessid: String) -> Vec<types::SessionInfo>;
            refusal character_create(key: String, description: Option<String>)
                -> Result<u64, String>;
            refusal character_delete(obj: u64) -> Result<(), String>;
            refusal session_data(session: u64) -> Result<String, String>;
            refusal account_set_password(old: String, new: String) -> Result<(), String>;
            $($later)*
        }
    };
}

/// Hands `$then!` the 0.2.1 imports: 0.1.0's and the ones 0.2 added.
macro_rules! v0_2_imports {
    ($then:ident! { $($head:tt)* } $($later:tt)*) => {
        v0_1_imports! { $then! { $($head)* }
            record object_contents_packed(obj: u64) -> ContentsPacked;
            refusal cmdset_add(holder: types::CmdsetHolder, module: String, persistent: bool)
                -> Result<(), String>;
            refusal cmdset_remove(holder: types::CmdsetHolder, module: String)
                -> Result<(), String>;
            same cmdset_list(holder: types::CmdsetHolder) -> Vec<String>;
            same caller_commands() -> Vec<types::CommandInfo>;
            same account_permission(account: u64) -> Option<String>;
            refusal account_set_permission(account: u64, permission: String) -> Result<(), String>;
            same account_search(name: String) -> Option<u64>;
            $($later)*
        }
    };
}

/// Hands `$then!` the 0.3.0 imports: 0.2.1's and the ones 0.3 added.
macro_rules! v0_3_imports {
    ($then:ident! { $($head:tt)* } $($later:tt)*) => {
        v0_2_imports! { $then! { $($head)* }
            refusal timer_delay(delay_ms: u64, payload: String, obj: Option<u64>, persistent: bool)
                -> Result<u64, String>;
            refusal timer_repeat(
                interval_ms: u64, payload: String, obj: Option<u64>, persistent: bool
            ) -> Result<u64, String>;
            same timer_cancel(id: u64) -> bool;
            same timer_list() -> Vec<types::TimerInfo>;
            record building_limits() -> BuildLimits;
            refusal build_object(key: String, kind: String, location: Option<u64>)
                -> Result<u64, String>;
            record prototype_list() -> PrototypeCatalog;
            refusal prototype_get(key: String) -> Result<String, String>;
            records channel_list() -> Vec<ChannelInfo>;
            refusal channel_create(name: String, aliases: Vec<String>, description: String)
                -> Result<(), String>;
            refusal channel_sub(channel: String) -> Result<String, String>;
            refusal channel_unsub(channel: String) -> Result<String, String>;
            refusal channel_mute(channel: String, muted: bool) -> Result<String, String>;
            refusal channel_who(channel: String) -> Result<Vec<String>, String>;
            refusal channel_history(channel: String, count: u32) -> Result<Vec<String>, String>;
            refusal channel_ban(channel: String, account: String, banned: bool)
                -> Result<String, String>;
            refusal channel_bans(channel: String) -> Result<Vec<String>, String>;
            refusal channel_send(channel: String, text: String) -> Result<(), String>;
            records help_topics() -> Vec<HelpTopic>;
            same help_topic_text(topic: String) -> Option<String>;
            refusal execute_cmd(obj: u64, line: String) -> Result<(), String>;
            refusal tag_add(obj: u64, key: String, category: Option<String>) -> Result<(), String>;
            refusal tag_remove(obj: u64, key: String, category: Option<String>)
                -> Result<bool, String>;
            records tags(obj: u64) -> Vec<Tag>;
            same search_tag(key: String, category: Option<String>, location: Option<u64>)
                -> Vec<u64>;
            refusal alias_add(obj: u64, alias: String) -> Result<(), String>;
            refusal alias_remove(obj: u64, alias: String) -> Result<bool, String>;
            same aliases(obj: u64) -> Vec<String>;
            same search_kind(kind: String, location: Option<u64>) -> Vec<u64>;
            same attr_get_json(obj: u64, key: String, category: Option<String>) -> Option<String>;
            refusal attr_set_json(
                obj: u64, key: String, category: Option<String>, value_json: Option<String>
            ) -> Result<(), String>;
            records attr_list(obj: u64) -> Vec<AttrEntry>;
            refusal lock_add(obj: u64, lockstring: String) -> Result<(), String>;
            refusal lock_remove(obj: u64, access_type: String) -> Result<bool, String>;
            same locks(obj: u64) -> Vec<String>;
            same access(obj: u64, accessor: u64, access_type: String) -> bool;
            refusal object_set_class(obj: u64, class: Option<String>) -> Result<(), String>;
            same object_class(obj: u64) -> Option<String>;
            same object_appearance(obj: u64, looker: u64) -> String;
            refusal object_traverse(obj: u64, exit: u64) -> Result<(), String>;
            $($later)*
        }
    };
}

/// `impl $old::Host for HostCtx<D>` from an import list, each import calling `$target`'s of the
/// same name: `refusals kept` passes refusals on as they are, `refusals <fn>` maps them through
/// `<fn>` (and leaves the `logged` imports to the hand-written items in `{ … }`). Record names in
/// the list resolve where this is invoked, to that version's records; `$old` and `$target`'s
/// records need a `From` between them.
macro_rules! delegate {
    (
        $old:ident => $target:path, refusals $mode:ident { $($by_hand:tt)* }
        $($kind:ident $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*
    ) => {
        impl<D: Send + 'static> $old::Host for $crate::wasm::HostCtx<D>
        where
            $crate::wasm::HostCtx<D>: $target,
        {
            $($by_hand)*
            $(delegate_one!($mode, $target, $kind $name($($arg: $ty),*) -> $ret);)*
        }
    };
}

/// One import of `delegate!`: its body by the entry's kind and the refusal mode.
macro_rules! delegate_one {
    ($mode:ident, $target:path, same $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        fn $name(&mut self, $($arg: $ty),*) -> wasmtime::Result<$ret> {
            <Self as $target>::$name(self, $($arg),*)
        }
    };
    ($mode:ident, $target:path, record $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        fn $name(&mut self, $($arg: $ty),*) -> wasmtime::Result<$ret> {
            Ok(<Self as $target>::$name(self, $($arg),*)?.into())
        }
    };
    ($mode:ident, $target:path, records $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        fn $name(&mut self, $($arg: $ty),*) -> wasmtime::Result<$ret> {
            Ok(<Self as $target>::$name(self, $($arg),*)?.into_iter().map(Into::into).collect())
        }
    };
    (kept, $target:path, $kind:ident $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        delegate_one!(kept, $target, same $name($($arg: $ty),*) -> $ret);
    };
    ($map:ident, $target:path, refusal $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        fn $name(&mut self, $($arg: $ty),*) -> wasmtime::Result<$ret> {
            <Self as $target>::$name(self, $($arg),*).map($map)
        }
    };
    ($map:ident, $target:path, logged $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {};
}

/// `From<$from::Name> for $to::Name` for each record named, field by field: the fields of every
/// `host` record that more than one version has, listed once.
macro_rules! record_from {
    ($from:ident => $to:ident: $($record:ident),* $(,)?) => {
        $(record_from!(@fields $from => $to $record);)*
    };
    (@fields $from:ident => $to:ident ObjectBrief) => {
        record_from!(@impl $from => $to ObjectBrief { id, key, kind });
    };
    (@fields $from:ident => $to:ident ContentsPacked) => {
        record_from!(@impl $from => $to ContentsPacked { ids, text, ends });
    };
    (@fields $from:ident => $to:ident MultisessionPolicy) => {
        record_from!(@impl $from => $to MultisessionPolicy {
            mode,
            max_nr_characters,
            max_nr_simultaneous_puppets,
            auto_create_character_with_account,
            auto_puppet_on_login,
        });
    };
    (@fields $from:ident => $to:ident BuildLimits) => {
        record_from!(@impl $from => $to BuildLimits { name_bytes, attr_value_bytes });
    };
    (@fields $from:ident => $to:ident PrototypeEntry) => {
        record_from!(@impl $from => $to PrototypeEntry { key, desc, tags, file });
    };
    (@fields $from:ident => $to:ident ChannelInfo) => {
        record_from!(@impl $from => $to ChannelInfo {
            name, aliases, description, owner, subscribed, muted, subscribers
        });
    };
    (@fields $from:ident => $to:ident HelpTopic) => {
        record_from!(@impl $from => $to HelpTopic { key, aliases, category });
    };
    (@fields $from:ident => $to:ident Tag) => {
        record_from!(@impl $from => $to Tag { key, category });
    };
    (@fields $from:ident => $to:ident AttrEntry) => {
        record_from!(@impl $from => $to AttrEntry { key, category, value_json });
    };
    (@impl $from:ident => $to:ident $record:ident { $($field:ident),* $(,)? }) => {
        impl From<$from::$record> for $to::$record {
            fn from(r: $from::$record) -> Self {
                Self { $($field: r.$field),* }
            }
        }
    };
}

mod v0_1;
mod v0_2;
mod v0_3;
