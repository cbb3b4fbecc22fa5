//! Game configuration: one TOML file, every key documented with its default, overridable by CLI
//! flags. Relative paths are resolved against the folder holding the config file.
//!
//! This file holds the key table (the `config!` list: each key's field, doc comment and
//! default) and the paths derived from it; loading and validation (`config/load.rs`), address
//! groups (`config/address.rs`) and the documentation made from the field docs
//! (`config/docs.rs`) have files of their own.

mod address;
mod docs;
mod load;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The file is not valid TOML or has unknown / mistyped keys.
    #[error("invalid config {path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    /// A value is out of range.
    #[error("invalid config value: {0}")]
    Invalid(String),
}

/// Declares the config struct from one list of keys, each a field with its doc comment and
/// its default (`key: Type = default,`), and makes from it the struct, its `Default` and
/// [`Config::KEYS`], the documentation of every key. One source, so the struct, the defaults,
/// `mudhost init`'s file and the README's table cannot drift apart.
macro_rules! config {
    (
        $(#[$outer:meta])*
        pub struct $name:ident {
            $( $(#[doc = $doc:literal])* $key:ident : $ty:ty = $default:expr, )*
        }
    ) => {
        $(#[$outer])*
        pub struct $name {
            $( $(#[doc = $doc])* pub $key: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $key: $default, )* }
            }
        }

        impl $name {
            /// Every key with its doc comment (lines joined), in declaration order.
            pub const KEYS: &'static [(&'static str, &'static str)] =
                &[ $( (stringify!($key), concat!($($doc, "\n"),*)) ),* ];
        }
    };
}

config! {
    /// Every setting of a game. Each key is one field here: its doc comment is its only
    /// documentation (`mudhost init`'s commented file and the README's table are made from it)
    /// and its default is written beside it. Adding a key is adding one field.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Config {
        /// Name shown to players.
        server_name: String = "mudhost".into(),
        /// Websocket listener address.
        ws_addr: SocketAddr = "127.0.0.1:4002".parse().expect("literal address"),
        /// Telnet listener address (MUD clients: Mudlet, tintin++, ...); empty turns telnet off.
        telnet_addr: String = "127.0.0.1:4000".into(),
        /// How long a new telnet connection waits for the client's answers (NAWS, TTYPE, ...)
        /// before its session starts, so the first screen already fits the client (milliseconds).
        telnet_handshake_ms: u64 = 500,
        /// Largest telnet subnegotiation (GMCP message, terminal type, ...) accepted from a client,
        /// in bytes; a longer one is discarded.
        telnet_subnegotiation_bytes: usize = 16 * 1024,
        /// Folder of `.wasm` modules, watched for changes.
        modules_dir: PathBuf = "modules".into(),
        /// Folder for the database, sockets and the compile cache.
        data_dir: PathBuf = "data".into(),
        /// Portal⇄server link: "unix" (a socket in data_dir) or "tcp:HOST:PORT".
        link: String = "unix".into(),
        /// Shared secret a server must present to join a TCP link (at least 16 characters; required
        /// for TCP, unused for the Unix socket, which gets a random secret per start).
        link_secret: String = String::new(),

        /// Evennia's MULTISESSION_MODE (0–3).
        multisession_mode: u8 = 0,
        /// Create a character named after the account when the account is created.
        auto_create_character_with_account: bool = true,
        /// Puppet the last character on login.
        auto_puppet_on_login: bool = true,
        /// Maximum characters per account (0 = unlimited).
        max_nr_characters: u32 = 1,
        /// Maximum puppets an account may hold at once (0 = unlimited).
        max_nr_simultaneous_puppets: u32 = 1,

        /// Modules whose cmdsets an unlogged-in session has.
        cmdset_unloggedin: Vec<String> = vec!["unloggedin".into()],
        /// Modules whose cmdsets every logged-in session has.
        cmdset_session: Vec<String> = vec![],
        /// Modules whose cmdsets every account has (comms: the channels).
        cmdset_account: Vec<String> = vec!["account".into(), "comms".into()],
        /// Modules whose cmdsets every puppeted character has (the builder commands are locked
        /// to Builder and above).
        cmdset_character: Vec<String> = vec!["character".into(), "builder".into()],
        /// Input-hook modules (Evennia's INPUT_HOOKS), in order: each sees every inbound message
        /// before the input functions, on the output of the one before.
        input_hooks: Vec<String> = vec![],
        /// The session-class module (Evennia's SERVER_SESSION_CLASS): its hooks run for every
        /// session; "" = none.
        session_class: String = String::new(),

        /// Show guest error details to the player after "An untrapped error occurred.".
        in_game_errors: bool = false,
        /// Tell players about server restarts (" Server restart initiated ...").
        broadcast_server_restart_messages: bool = true,
        /// Text that is a keepalive, not a command.
        idle_command: String = "idle".into(),
        /// Disconnect sessions (logged in or not) without a command for this many seconds (the
        /// keepalive `idle_command` does not count); superusers are exempt (Evennia's IDLE_TIMEOUT,
        /// checked every min(60, half of it) seconds). 0 = off.
        idle_timeout_secs: u64 = 0,
        /// Longest protocol flag value a session keeps (`CLIENTNAME`, a terminal type, ...), bytes;
        /// a longer value is cut.
        session_flag_value_bytes: usize = 256,
        /// Most bytes of protocol flags (names and values) one session keeps; a client option or
        /// flag update that would exceed it is refused.
        session_flag_bytes: usize = 4096,
        /// How long a game event's database write waits for a lock another process holds (an
        /// operator's `sqlite3`, a VACUUM) before the event is abandoned: the server exits and the
        /// portal replays the event on the next one (milliseconds).
        db_busy_timeout_ms: u64 = 250,
        /// Longest accepted input line in characters, every protocol (MAX_CHAR_LIMIT).
        max_input_chars: usize = 6000,
        /// Largest websocket frame accepted, in bytes.
        max_frame_bytes: usize = 65536,
        /// Deepest nesting of lists/objects accepted in one client message (at most 128); deeper
        /// input is refused with an error text.
        max_input_depth: usize = 32,
        /// Seconds between websocket pings; a connection silent for two intervals is reaped. Telnet
        /// connections get TCP keepalive probes at this interval (a vanished client is reaped after
        /// about three).
        ws_ping_secs: u64 = 30,
        /// Milliseconds a new connection on the websocket port has to send its whole request head
        /// and finish the websocket handshake (or get its web client page).
        handshake_timeout_ms: u64 = 10_000,
        /// Largest HTTP request head (request line and headers) accepted on the websocket port, in
        /// bytes; a longer one is answered 431 and closed.
        http_head_bytes: usize = 8192,
        /// Outbound frames queued per session before a slow client is disconnected.
        outbox_frames: usize = 1024,
        /// Inputs the portal queues per session while the server is away; further input is refused
        /// with a notice to the player.
        queued_inputs_per_session: usize = 200,
        /// Delay before restarting a crashed server, doubled per consecutive crash up to 10 s
        /// (milliseconds).
        restart_backoff_ms: u64 = 200,
        /// How long `mudhost status` / `stop` / `reload` wait for the portal's answer before
        /// failing with an error (milliseconds; a stop waits for the game to close).
        control_timeout_ms: u64 = 30_000,

        /// Wall-clock budget of one guest call in milliseconds.
        guest_deadline_ms: u64 = 50,
        /// Linear-memory cap of one guest instance in MiB.
        guest_memory_mib: u64 = 32,
        /// Guest instances alive at once: each loaded module keeps one between calls, and a call on
        /// a module without one makes one. When all are taken, the kept ones are let go (made again
        /// when next needed).
        guest_instance_pool: u32 = 256,
        /// Text bytes one guest call may send to players in total (a text sent to N sessions counts
        /// N times).
        guest_output_bytes_per_call: usize = 2 * 1024 * 1024,
        /// Messages one guest call may send (one per recipient session).
        guest_messages_per_call: usize = 10_000,
        /// Messages one guest call may send to any one session; kept below `outbox_frames` so a
        /// module cannot get a player disconnected as a slow client by flooding them.
        guest_messages_per_session_per_call: usize = 500,
        /// Objects one guest call may create.
        guest_objects_per_call: usize = 1000,
        /// `create-account` and `login` requests one guest call may make (each starts a password
        /// hash).
        guest_auth_requests_per_call: usize = 1,
        /// Log bytes one guest call may write through `log`; also the most stderr it may write
        /// (which is logged as one line of at most `guest_log_line_bytes`).
        guest_log_bytes_per_call: usize = 64 * 1024,
        /// Longest guest log line in bytes; longer lines are cut.
        guest_log_line_bytes: usize = 2048,
        /// Largest attribute value (account or object) a guest may store, bytes.
        guest_attr_value_bytes: usize = 64 * 1024,
        /// Largest ndb of one session (keys plus values), bytes.
        guest_ndb_bytes_per_session: usize = 64 * 1024,
        /// Longest name a host import accepts (object and account names, kinds, attribute and ndb
        /// keys, module and command names, aliases), bytes.
        guest_name_bytes: usize = 256,
        /// Longest text one message may carry, bytes; longer texts are cut with a note. Also the
        /// limit of send-oob JSON, passwords and reasons.
        guest_text_bytes: usize = 256 * 1024,
        /// Most items a list argument of a host import may hold (msg-contents exclusions).
        guest_list_items: usize = 10_000,
        /// Deepest nesting of send-oob JSON arguments.
        guest_json_depth: usize = 32,
        /// Most commands one cmdset may declare.
        guest_commands_per_cmdset: usize = 1000,
        /// Most aliases one cmdset may declare, over all its commands.
        guest_aliases_per_cmdset: usize = 5000,
        /// Largest module file accepted, bytes (a Python module is about 18 MiB).
        guest_module_bytes: u64 = 64 * 1024 * 1024,
        /// Most timers one module may have scheduled at once (persistent and not).
        timer_max_per_module: usize = 10_000,
        /// Shortest interval of a repeating timer, milliseconds.
        timer_min_interval_ms: u64 = 100,
        /// Most timer firings the game loop runs before it serves players' inputs again.
        timer_firings_per_round: usize = 64,
        /// Watch the modules folder with file events (inotify). Turn off where events are missing
        /// or broken, and rely on `module_poll_ms`.
        module_events: bool = true,
        /// Interval of the modules-folder poll that backs up file events (filesystems without
        /// change events, replaced folders), milliseconds; 0 turns polling off.
        module_poll_ms: u64 = 2000,

        /// Argon2id memory cost in KiB (OWASP minimum 19456).
        argon2_memory_kib: u32 = 19456,
        /// Argon2id iterations.
        argon2_iterations: u32 = 2,
        /// Threads hashing passwords (0 = one per CPU core).
        hash_threads: usize = 0,
        /// Password checks waiting for a hashing thread; beyond it a login or account creation is
        /// answered at once with "busy, try again".
        hash_queue: usize = 1024,

        /// Open websocket connections, all addresses together; beyond it a client is refused with a
        /// message (0 = unlimited).
        max_connections: usize = 5000,
        /// Open websocket connections from one address (0 = unlimited).
        max_connections_per_ip: usize = 100,
        /// Connections on the websocket port still sending their request head or in the websocket
        /// handshake (page requests included), all addresses together; beyond it a new connection
        /// is closed at once (0 = unlimited).
        max_handshakes: usize = 2048,
        /// The same from one address (a trusted proxy is held only to the total).
        max_handshakes_per_ip: usize = 16,
        /// New connections per second from one address; faster ones are queued with Evennia's "DoS
        /// protection is active" text (0 = unlimited).
        connection_rate_per_ip: u32 = 5,
        /// Connections one address may open at once before the rate applies.
        connection_burst_per_ip: u32 = 20,
        /// Inbound messages per session per second (Evennia's MAX_COMMAND_RATE, 0 = unlimited);
        /// more are dropped with "You entered commands too fast. Wait a moment and try again.".
        command_rate: u32 = 80,
        /// Bytes of output queued for one connection before it is disconnected as too slow, counted
        /// as sent (rendered HTML or ANSI).
        outbox_bytes: usize = 2 * 1024 * 1024,
        /// Bytes per second (as sent: rendered HTML or ANSI) of output caused by other sessions'
        /// input that one session receives; beyond it and the burst, such output is dropped and the
        /// player told, so one speaker cannot push a room's players over `outbox_bytes` (0 =
        /// unlimited).
        others_output_bytes_per_sec: usize = 64 * 1024,
        /// Bytes of such output a session may receive at once before the rate applies (at most half
        /// of `outbox_bytes` is used, so others' output alone never fills an outbox).
        others_output_burst_bytes: usize = 256 * 1024,
        /// Longest account or character name, in characters.
        max_name_chars: usize = 30,
        /// Bytes of input the portal queues for one session; a client over it is disconnected.
        queued_input_bytes_per_session: usize = 1024 * 1024,
        /// Reverse proxies whose `X-Forwarded-For` header names the real client address.
        trusted_proxies: Vec<IpAddr> = vec![],
        /// Failed logins from one address before further attempts are refused (Evennia's
        /// LOGIN_THROTTLE_LIMIT, 0 = off).
        login_throttle_limit: u32 = 5,
        /// Seconds after the last failed login before an address may try again.
        login_throttle_timeout_secs: u64 = 300,
        /// Accounts one address may create within the timeout (Evennia's CREATION_THROTTLE_LIMIT, 0
        /// = off).
        creation_throttle_limit: u32 = 2,
        /// Seconds the creation throttle remembers an account creation.
        creation_throttle_timeout_secs: u64 = 600,
        /// Characters of untrusted input quoted in one log line.
        log_input_chars: usize = 200,
        /// Seconds between summary lines for suppressed log lines about untrusted input; one
        /// detailed line per interval.
        log_summary_secs: u64 = 10,

        /// Seconds a connection may stay without logging in before it is closed with "login timeout
        /// exceeded" (0 = never).
        login_timeout_secs: u64 = 300,
        /// Open connections not logged in, all addresses together: their own share of
        /// `max_connections`, so strangers cannot hold the slots players need (0 = only
        /// `max_connections` applies).
        max_unauthenticated_connections: usize = 1000,
        /// Per-address limits (connections, handshakes, inbound budgets, login throttles, the game
        /// loop's turns) count IPv4 addresses by this prefix length: 32 = each address, 24 = each
        /// /24 network.
        ipv4_prefix_len: u8 = 32,
        /// The same for IPv6 (one host is usually given a whole /64).
        ipv6_prefix_len: u8 = 64,
        /// Bytes per second one connection may send (read-time budget counting everything: frames,
        /// pings, fragments, telnet negotiations), with a burst of twice that; a connection over it
        /// is read no further until the budget refills. 0 = unlimited.
        inbound_bytes_per_sec: u32 = 65536,
        /// Frames per second one connection may send (websocket frames of any kind, continuation
        /// fragments and pings included; telnet lines, negotiations and subnegotiations), with a
        /// burst of twice that; paused like the byte budget. 0 = unlimited.
        inbound_frames_per_sec: u32 = 100,
        /// The byte budget of one address (all its connections together). 0 = unlimited.
        inbound_bytes_per_sec_per_ip: u32 = 262_144,
        /// The frame budget of one address (all its connections together). 0 = unlimited.
        inbound_frames_per_sec_per_ip: u32 = 400,
        /// Seconds a connection may keep sending over its (or its address's) inbound budget before
        /// it is disconnected with the reason.
        inbound_flood_secs: u64 = 5,
        /// Least milliseconds between two protocol-flag updates (telnet NAWS, TTYPE, ...) a
        /// connection passes to the server; changes in between are merged, latest value kept.
        flags_interval_ms: u64 = 500,
        /// Inbound messages per second from one address, all its sessions together (0 = unlimited);
        /// more are dropped with the "too fast" text.
        command_rate_per_ip: u32 = 200,
        /// Origins (e.g. "https://play.example.com") whose pages may open a websocket, besides the
        /// portal's own page; a browser handshake from any other Origin is refused with 403.
        /// Clients that send no Origin (not browsers) are not affected. Behind a reverse proxy that
        /// rewrites the `Host` header, list the public origin here.
        allowed_origins: Vec<String> = vec![],
        /// Failed logins to one account, from any address, before further attempts on it are
        /// refused for `login_throttle_timeout_secs` (0 = off).
        login_throttle_account_limit: u32 = 10,

        // --- Building: prototypes (`server/prototypes.rs`) ---
        /// Folder of prototype files (`.toml` / `.json`, Evennia's prototype keys) that `spawn`
        /// uses; read again whenever a file in it changes.
        prototypes_dir: PathBuf = "prototypes".into(),
        /// Largest prototype file read, bytes; a bigger file is refused by name.
        prototype_file_bytes: usize = 64 * 1024,
        /// Most prototype files read from the folder (and most prototypes in all); beyond it the
        /// rest are refused by name.
        prototype_files: usize = 256,
        /// Longest chain of `prototype_parent`s one prototype may have (a cycle is refused at any
        /// length).
        prototype_parent_depth: usize = 8,

        // --- Channels, help, execute (`server/channels.rs`, `server/help.rs`, `server/execute.rs`) ---
        /// Most channels the game may have (`channel/create` beyond it is refused naming this key).
        channel_max_count: usize = 200,
        /// Longest channel name or alias, characters.
        channel_name_chars: usize = 32,
        /// Longest channel message or description, characters.
        channel_message_chars: usize = 2000,
        /// Messages kept per channel for `channel/history`; older ones are deleted.
        channel_history_size: usize = 200,
        /// Most accounts subscribed to one channel.
        channel_max_subscribers: usize = 5000,
        /// Folder of help topic files (Markdown with front matter: key, aliases, category, locks),
        /// read when `help` asks, so a file added while the game runs is found.
        help_dir: PathBuf = "help".into(),
        /// Largest help topic file, bytes; a larger one is skipped with a warning.
        help_topic_bytes: u64 = 64 * 1024,
        /// Most help topic files read from `help_dir`; the rest are skipped with a warning.
        help_max_topics: usize = 1000,
        /// Deepest chain of `execute-cmd` (a command making a character run a command that makes
        /// one run a command ...).
        execute_cmd_max_depth: usize = 5,
        /// Most command lines `execute-cmd` may run in one unit of work (all depths).
        execute_cmd_max_per_unit: usize = 50,

        // --- The world model (`store/world.rs`, `cmd/locks.rs`) ---
        /// Most tags one object may carry; `tag-add` beyond it returns an error naming the limit.
        world_tags_per_object: usize = 64,
        /// Longest tag key or tag category, bytes; a longer one is refused naming the limit.
        world_tag_bytes: usize = 128,
        /// Most aliases one object may have; `alias-add` beyond it returns an error naming the
        /// limit.
        world_aliases_per_object: usize = 32,
        /// Longest lock string `lock-add` accepts, and most bytes of lock expressions one object
        /// may hold.
        world_lock_bytes: usize = 2048,

        // --- Object classes (`server/objclass.rs`) ---
        /// Deepest nesting of object-class hooks (a hook whose host call runs another hook counts
        /// one deeper); a host import that would go deeper fails its guest call, which is undone
        /// as a whole.
        objclass_max_depth: usize = 4,
        /// Most classed objects that hear one room message through `at-msg-receive`; the others
        /// do not hear it.
        objclass_max_fanout: usize = 16,

        // --- Python guests and big modules (`wasm/wasi.rs`, `wasm/watcher.rs`) ---
        /// Bytes one guest call may draw from wasi:random (a deterministic stream per module,
        /// not a secret; see `wasm/wasi.rs`); more ends the call with a quota error.
        guest_random_bytes_per_call: usize = 64 * 1024,
        /// Linear-memory caps of single modules in MiB by module name, e.g. { pyhello = 128 }
        /// (a Python module's runtime needs more than a Rust one's); others get guest_memory_mib.
        guest_module_memory_mib: std::collections::BTreeMap<String, u64> = Default::default(),
        /// Wall-clock budgets of single modules' calls in milliseconds by module name, e.g.
        /// { pyhello = 200 } (a Python command costs a few times a Rust one's); others get
        /// guest_deadline_ms.
        guest_module_deadline_ms: std::collections::BTreeMap<String, u64> = Default::default(),
        /// Threads compiling modules at once (start-up and hot loads), off the game loop.
        module_compile_threads: usize = 2,
        /// A module file larger than this (bytes) that is not in the compile cache does not hold
        /// the start: the game serves while it compiles, and it is installed like a hot load
        /// when ready.
        module_background_compile_bytes: u64 = 4 * 1024 * 1024,
        /// A compile cache folder shared by several games (relative to the config file; never
        /// pruned by a server, since others may use its entries); "" = the game's own
        /// data_dir/module-cache.
        module_cache_dir: PathBuf = PathBuf::new(),
    }
}

impl Config {
    /// Path of the portal's control socket (`mudhost reload/stop/status` talk to it).
    pub fn control_socket(&self) -> PathBuf {
        self.data_dir.join("portal.sock")
    }

    /// Path of the SQLite database.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("game.sqlite3")
    }

    /// Folder of the compiled-module cache.
    pub fn module_cache_dir(&self) -> PathBuf {
        if !self.module_cache_dir.as_os_str().is_empty() {
            return self.module_cache_dir.clone();
        }
        self.data_dir.join("module-cache")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cfg` is refused with a text that names `key` and says `why`.
    pub(super) fn refused(cfg: Config, key: &str, why: &str) {
        match cfg.validate() {
            Err(ConfigError::Invalid(text)) => {
                assert!(text.contains(key) && text.contains(why), "{key}, {why:?}: {text}")
            }
            other => panic!("{key}: expected a refusal, got {other:?}"),
        }
    }
}
