//! Game configuration: one TOML file, every key documented with its default, overridable by CLI
//! flags. Relative paths are resolved against the folder holding the config file.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

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

/// Every setting of a game. Field docs are the reference; `mudhost init` writes them out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Name shown to players. Default "mudhost".
    pub server_name: String,
    /// Websocket listener address. Default 127.0.0.1:4002.
    pub ws_addr: SocketAddr,
    /// Telnet listener address (MUD clients: Mudlet, tintin++, ...); empty turns telnet off.
    /// Default "127.0.0.1:4000".
    pub telnet_addr: String,
    /// How long a new telnet connection waits for the client's answers (NAWS, TTYPE, ...)
    /// before its session starts, so the first screen already fits the client (milliseconds).
    /// Default 500.
    pub telnet_handshake_ms: u64,
    /// Largest telnet subnegotiation (GMCP message, terminal type, ...) accepted from a client,
    /// in bytes; a longer one is discarded. Default 16384.
    pub telnet_subnegotiation_bytes: usize,
    /// Folder of `.wasm` modules, watched for changes. Default "modules".
    pub modules_dir: PathBuf,
    /// Folder for the database, sockets and the compile cache. Default "data".
    pub data_dir: PathBuf,
    /// Portal⇄server link: "unix" (a socket in data_dir) or "tcp:HOST:PORT". Default "unix".
    pub link: String,
    /// Shared secret a server must present to join a TCP link (at least 16 characters; required
    /// for TCP, unused for the Unix socket, which gets a random secret per start). Default "".
    pub link_secret: String,

    /// Evennia's MULTISESSION_MODE (0–3). Default 0.
    pub multisession_mode: u8,
    /// Create a character named after the account when the account is created. Default true.
    pub auto_create_character_with_account: bool,
    /// Puppet the last character on login. Default true.
    pub auto_puppet_on_login: bool,
    /// Maximum characters per account (0 = unlimited). Default 1.
    pub max_nr_characters: u32,
    /// Maximum puppets an account may hold at once (0 = unlimited). Default 1.
    pub max_nr_simultaneous_puppets: u32,

    /// Modules whose cmdsets an unlogged-in session has. Default ["unloggedin"].
    pub cmdset_unloggedin: Vec<String>,
    /// Modules whose cmdsets every logged-in session has. Default [].
    pub cmdset_session: Vec<String>,
    /// Modules whose cmdsets every account has. Default ["account"].
    pub cmdset_account: Vec<String>,
    /// Modules whose cmdsets every puppeted character has. Default ["character"].
    pub cmdset_character: Vec<String>,
    /// Input-hook modules (Evennia's INPUT_HOOKS), in order: each sees every inbound message
    /// before the input functions, on the output of the one before. Default [].
    pub input_hooks: Vec<String>,
    /// The session-class module (Evennia's SERVER_SESSION_CLASS): its hooks run for every
    /// session; "" = none. Default "".
    pub session_class: String,

    /// Show guest error details to the player after "An untrapped error occurred.". Default false.
    pub in_game_errors: bool,
    /// Tell players about server restarts (" Server restart initiated ..."). Default true.
    pub broadcast_server_restart_messages: bool,
    /// Text that is a keepalive, not a command. Default "idle".
    pub idle_command: String,
    /// Disconnect sessions (logged in or not) silent for this many seconds; superusers are
    /// exempt (Evennia's IDLE_TIMEOUT, checked every min(60, half of it) seconds). 0 = off.
    /// Default 0.
    pub idle_timeout_secs: u64,
    /// Longest protocol flag value a session keeps (`CLIENTNAME`, a terminal type, ...), bytes;
    /// a longer value is cut. Default 256.
    pub session_flag_value_bytes: usize,
    /// Most bytes of protocol flags (names and values) one session keeps; a client option or
    /// flag update that would exceed it is refused. Default 4096.
    pub session_flag_bytes: usize,
    /// How long a game event's database write waits for a lock another process holds (an
    /// operator's `sqlite3`, a VACUUM) before the event is abandoned: the server exits and the
    /// portal replays the event on the next one (milliseconds). Default 250.
    pub db_busy_timeout_ms: u64,
    /// Longest accepted input line in characters, every protocol (MAX_CHAR_LIMIT). Default 6000.
    pub max_input_chars: usize,
    /// Largest websocket frame accepted, in bytes. Default 65536.
    pub max_frame_bytes: usize,
    /// Deepest nesting of lists/objects accepted in one client message (at most 128); deeper
    /// input is refused with an error text. Default 32.
    pub max_input_depth: usize,
    /// Seconds between websocket pings; a connection silent for two intervals is reaped.
    /// Telnet connections get TCP keepalive probes at this interval. Default 30.
    pub ws_ping_secs: u64,
    /// Milliseconds a new connection on the websocket port has to send its whole request head
    /// and finish the websocket handshake (or get its web client page). Default 10000.
    pub handshake_timeout_ms: u64,
    /// Largest HTTP request head (request line and headers) accepted on the websocket port, in
    /// bytes; a longer one is answered 431 and closed. Default 8192.
    pub http_head_bytes: usize,
    /// Outbound frames queued per session before a slow client is disconnected. Default 1024.
    pub outbox_frames: usize,
    /// Inputs the portal queues per session while the server is away; further input is refused
    /// with a notice to the player. Default 200.
    pub queued_inputs_per_session: usize,
    /// Delay before restarting a crashed server, doubled per consecutive crash up to 10 s
    /// (milliseconds). Default 200.
    pub restart_backoff_ms: u64,
    /// How long `mudhost status` / `stop` / `reload` wait for the portal's answer before
    /// failing with an error (milliseconds; a stop waits for the game to close). Default 30000.
    pub control_timeout_ms: u64,

    /// Wall-clock budget of one guest call in milliseconds. Default 50.
    pub guest_deadline_ms: u64,
    /// Linear-memory cap of one guest instance in MiB. Default 32.
    pub guest_memory_mib: u64,
    /// Guest instances alive at once: each loaded module keeps one between calls, and a call on
    /// a module without one makes one. When all are taken, the kept ones are let go (made again
    /// when next needed). Default 256.
    pub guest_instance_pool: u32,
    /// Text bytes one guest call may send to players in total (a text sent to N sessions counts
    /// N times). Default 2097152 (2 MiB).
    pub guest_output_bytes_per_call: usize,
    /// Messages one guest call may send (one per recipient session). Default 10000.
    pub guest_messages_per_call: usize,
    /// Messages one guest call may send to any one session; kept below `outbox_frames` so a
    /// module cannot get a player disconnected as a slow client by flooding them. Default 500.
    pub guest_messages_per_session_per_call: usize,
    /// Objects one guest call may create. Default 1000.
    pub guest_objects_per_call: usize,
    /// `create-account` and `login` requests one guest call may make (each starts a password
    /// hash). Default 1.
    pub guest_auth_requests_per_call: usize,
    /// Log bytes one guest call may write through `log`; also the most stderr it may write (which
    /// is logged as one line of at most `guest_log_line_bytes`). Default 65536.
    pub guest_log_bytes_per_call: usize,
    /// Longest guest log line in bytes; longer lines are cut. Default 2048.
    pub guest_log_line_bytes: usize,
    /// Largest attribute value (account or object) a guest may store, bytes. Default 65536.
    pub guest_attr_value_bytes: usize,
    /// Largest ndb of one session (keys plus values), bytes. Default 65536.
    pub guest_ndb_bytes_per_session: usize,
    /// Longest name a host import accepts (object and account names, kinds, attribute and ndb
    /// keys, module and command names, aliases), bytes. Default 256.
    pub guest_name_bytes: usize,
    /// Longest text one message may carry, bytes; longer texts are cut with a note. Also the
    /// limit of send-oob JSON, passwords and reasons. Default 262144.
    pub guest_text_bytes: usize,
    /// Most items a list argument of a host import may hold (msg-contents exclusions). Default 10000.
    pub guest_list_items: usize,
    /// Deepest nesting of send-oob JSON arguments. Default 32.
    pub guest_json_depth: usize,
    /// Most commands one cmdset may declare. Default 1000.
    pub guest_commands_per_cmdset: usize,
    /// Most aliases one cmdset may declare, over all its commands. Default 5000.
    pub guest_aliases_per_cmdset: usize,
    /// Largest module file accepted, bytes (a Python module is about 18 MiB). Default 67108864
    /// (64 MiB).
    pub guest_module_bytes: u64,
    /// Most timers one module may have scheduled at once (persistent and not). Default 10000.
    pub timer_max_per_module: usize,
    /// Shortest interval of a repeating timer, milliseconds. Default 100.
    pub timer_min_interval_ms: u64,
    /// Most timer firings the game loop runs before it serves players' inputs again. Default 64.
    pub timer_firings_per_round: usize,
    /// Watch the modules folder with file events (inotify). Turn off where events are missing or
    /// broken, and rely on `module_poll_ms`. Default true.
    pub module_events: bool,
    /// Interval of the modules-folder poll that backs up file events (filesystems without change
    /// events, replaced folders), milliseconds; 0 turns polling off. Default 2000.
    pub module_poll_ms: u64,

    /// Argon2id memory cost in KiB (OWASP minimum 19456). Default 19456.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations. Default 2.
    pub argon2_iterations: u32,
    /// Threads hashing passwords (0 = one per CPU core). Default 0.
    pub hash_threads: usize,
    /// Password checks waiting for a hashing thread; beyond it a login or account creation is
    /// answered at once with "busy, try again". Default 1024.
    pub hash_queue: usize,

    /// Open websocket connections, all addresses together; beyond it a client is refused with
    /// a message (0 = unlimited). Default 5000.
    pub max_connections: usize,
    /// Open websocket connections from one address (0 = unlimited). Default 100.
    pub max_connections_per_ip: usize,
    /// Connections on the websocket port still sending their request head or in the websocket
    /// handshake (page requests included), all addresses together; beyond it a new connection
    /// is closed at once (0 = unlimited). Default 2048.
    pub max_handshakes: usize,
    /// The same from one address (a trusted proxy is held only to the total). Default 16.
    pub max_handshakes_per_ip: usize,
    /// New connections per second from one address; faster ones are queued with Evennia's
    /// "DoS protection is active" text (0 = unlimited). Default 5.
    pub connection_rate_per_ip: u32,
    /// Connections one address may open at once before the rate applies. Default 20.
    pub connection_burst_per_ip: u32,
    /// Inbound messages per session per second (Evennia's MAX_COMMAND_RATE, 0 = unlimited);
    /// more are dropped with "You entered commands too fast. Wait a moment and try again.".
    /// Default 80.
    pub command_rate: u32,
    /// Bytes of output queued for one connection before it is disconnected as too slow,
    /// counted as sent (rendered HTML or ANSI). Default 2097152 (2 MiB).
    pub outbox_bytes: usize,
    /// Bytes per second (as sent: rendered HTML or ANSI) of output caused by other sessions'
    /// input that one session receives; beyond it and the burst, such output is dropped and
    /// the player told, so one speaker cannot push a room's players over `outbox_bytes`
    /// (0 = unlimited). Default 65536.
    pub others_output_bytes_per_sec: usize,
    /// Bytes of such output a session may receive at once before the rate applies (at most
    /// half of `outbox_bytes` is used, so others' output alone never fills an outbox).
    /// Default 262144.
    pub others_output_burst_bytes: usize,
    /// Longest account or character name, in characters. Default 30.
    pub max_name_chars: usize,
    /// Bytes of input the portal queues for one session; a client over it is disconnected.
    /// Default 1048576 (1 MiB).
    pub queued_input_bytes_per_session: usize,
    /// Reverse proxies whose `X-Forwarded-For` header names the real client address. Default [].
    pub trusted_proxies: Vec<IpAddr>,
    /// Failed logins from one address before further attempts are refused (Evennia's
    /// LOGIN_THROTTLE_LIMIT, 0 = off). Default 5.
    pub login_throttle_limit: u32,
    /// Seconds after the last failed login before an address may try again. Default 300.
    pub login_throttle_timeout_secs: u64,
    /// Accounts one address may create within the timeout (Evennia's CREATION_THROTTLE_LIMIT,
    /// 0 = off). Default 2.
    pub creation_throttle_limit: u32,
    /// Seconds the creation throttle remembers an account creation. Default 600.
    pub creation_throttle_timeout_secs: u64,
    /// Characters of untrusted input quoted in one log line. Default 200.
    pub log_input_chars: usize,
    /// Seconds between summary lines for suppressed log lines about untrusted input; one
    /// detailed line per interval. Default 10.
    pub log_summary_secs: u64,

    /// Seconds a connection may stay without logging in before it is closed with "login
    /// timeout exceeded" (0 = never). Default 300.
    pub login_timeout_secs: u64,
    /// Open connections not logged in, all addresses together: their own share of
    /// `max_connections`, so strangers cannot hold the slots players need (0 = only
    /// `max_connections` applies). Default 1000.
    pub max_unauthenticated_connections: usize,
    /// Per-address limits (connections, handshakes, inbound budgets, login throttles, the game
    /// loop's turns) count IPv4 addresses by this prefix length: 32 = each address, 24 = each
    /// /24 network. Default 32.
    pub ipv4_prefix_len: u8,
    /// The same for IPv6 (one host is usually given a whole /64). Default 64.
    pub ipv6_prefix_len: u8,
    /// Bytes per second one connection may send (read-time budget counting everything: frames,
    /// pings, fragments, telnet negotiations), with a burst of twice that; a connection over it
    /// is read no further until the budget refills. 0 = unlimited. Default 65536.
    pub inbound_bytes_per_sec: u32,
    /// Frames per second one connection may send (websocket frames of any kind, continuation
    /// fragments and pings included; telnet lines, negotiations and subnegotiations), with a
    /// burst of twice that; paused like the byte budget. 0 = unlimited. Default 100.
    pub inbound_frames_per_sec: u32,
    /// The byte budget of one address (all its connections together). 0 = unlimited.
    /// Default 262144.
    pub inbound_bytes_per_sec_per_ip: u32,
    /// The frame budget of one address (all its connections together). 0 = unlimited.
    /// Default 400.
    pub inbound_frames_per_sec_per_ip: u32,
    /// Seconds a connection may keep sending over its (or its address's) inbound budget before
    /// it is disconnected with the reason. Default 5.
    pub inbound_flood_secs: u64,
    /// Least milliseconds between two protocol-flag updates (telnet NAWS, TTYPE, ...) a
    /// connection passes to the server; changes in between are merged, latest value kept.
    /// Default 500.
    pub flags_interval_ms: u64,
    /// Inbound messages per second from one address, all its sessions together (0 =
    /// unlimited); more are dropped with the "too fast" text. Default 200.
    pub command_rate_per_ip: u32,
    /// Origins (e.g. "https://play.example.com") whose pages may open a websocket, besides
    /// the portal's own page; a browser handshake from any other Origin is refused with 403.
    /// Clients that send no Origin (not browsers) are not affected. Behind a reverse proxy that
    /// rewrites the `Host` header, list the public origin here. Default [].
    pub allowed_origins: Vec<String>,
    /// Failed logins to one account, from any address, before further attempts on it are
    /// refused for `login_throttle_timeout_secs` (0 = off). Default 10.
    pub login_throttle_account_limit: u32,

    /// Bytes one guest call may draw from `wasi:random` (a deterministic stream per module,
    /// see `wasm/wasi.rs`); more ends the call with a quota error. Default 65536.
    pub guest_random_bytes_per_call: usize,
    /// Linear-memory caps of single modules in MiB, by module name, above or below
    /// `guest_memory_mib` (a Python module's runtime needs more than a Rust one's), e.g.
    /// `guest_module_memory_mib = { pyhello = 96 }`. Default {}.
    pub guest_module_memory_mib: std::collections::BTreeMap<String, u64>,
    /// Wall-clock budgets of single modules' calls in milliseconds, by module name, instead of
    /// `guest_deadline_ms` (a Python command costs a few times a Rust one's), e.g.
    /// `guest_module_deadline_ms = { pyhello = 200 }`. Default {}.
    pub guest_module_deadline_ms: std::collections::BTreeMap<String, u64>,
    /// Threads compiling modules at once (start-up and hot loads), each off the game loop.
    /// Default 2.
    pub module_compile_threads: usize,
    /// A module file larger than this that is not in the compile cache does not hold the start:
    /// the game serves (connection screen and the other modules) while it compiles, and it is
    /// installed like a hot load when ready (bytes). Default 4194304 (4 MiB).
    pub module_background_compile_bytes: u64,
    /// A compile cache folder shared by several games (relative to the config file); "" = the
    /// game's own `data_dir/module-cache`. A shared cache is never pruned by a server (others
    /// may use its entries): its owner empties it. Default "".
    pub module_cache_dir: PathBuf,
}

/// One line of documentation per key, in file order (kept in step with the struct by a test).
const KEY_DOCS: &[(&str, &str)] = &[
    ("server_name", "Name shown to players."),
    ("ws_addr", "Websocket listener address."),
    ("telnet_addr", "Telnet listener address (MUD clients: Mudlet, tintin++, ...); empty turns telnet off."),
    ("telnet_handshake_ms", "How long a new telnet connection waits for the client's answers (NAWS, TTYPE, ...) before its session starts, so the first screen already fits the client (milliseconds)."),
    ("telnet_subnegotiation_bytes", "Largest telnet subnegotiation (GMCP message, terminal type, ...) accepted from a client, in bytes; a longer one is discarded."),
    ("modules_dir", "Folder of `.wasm` modules, watched for changes."),
    ("data_dir", "Folder for the database, sockets and the compile cache."),
    ("link", "Portal⇄server link: \"unix\" (a socket in data_dir) or \"tcp:HOST:PORT\"."),
    ("link_secret", "Secret a server must present to join a TCP link (16+ characters; required for TCP)."),
    ("multisession_mode", "Evennia's MULTISESSION_MODE (0–3)."),
    ("auto_create_character_with_account", "Create a character named after the account when the account is created."),
    ("auto_puppet_on_login", "Puppet the last character on login."),
    ("max_nr_characters", "Maximum characters per account (0 = unlimited)."),
    ("max_nr_simultaneous_puppets", "Maximum puppets an account may hold at once (0 = unlimited)."),
    ("cmdset_unloggedin", "Modules whose cmdsets an unlogged-in session has."),
    ("cmdset_session", "Modules whose cmdsets every logged-in session has."),
    ("cmdset_account", "Modules whose cmdsets every account has."),
    ("cmdset_character", "Modules whose cmdsets every puppeted character has."),
    ("input_hooks", "Input-hook modules, in order: each sees every inbound message before the input functions."),
    ("session_class", "The session-class module whose hooks run for every session (\"\" = none)."),
    ("in_game_errors", "Show guest error details to the player after \"An untrapped error occurred.\"."),
    ("broadcast_server_restart_messages", "Tell players about server restarts (\" Server restart initiated ...\")."),
    ("idle_command", "Text that is a keepalive, not a command."),
    ("idle_timeout_secs", "Disconnect sessions (logged in or not) without a command for this many seconds (the keepalive does not count); superusers are exempt (Evennia's IDLE_TIMEOUT, checked every min(60, half of it) seconds). 0 = off."),
    ("session_flag_value_bytes", "Longest protocol flag value a session keeps (CLIENTNAME, terminal type, ...), bytes; longer values are cut."),
    ("session_flag_bytes", "Most bytes of protocol flags (names and values) one session keeps; an update that would exceed it is refused."),
    ("db_busy_timeout_ms", "Milliseconds a game event's database write waits for a lock held by another process (sqlite3, VACUUM) before the event is abandoned: the server exits and the portal replays it."),
    ("max_input_chars", "Longest accepted input line in characters, every protocol (MAX_CHAR_LIMIT)."),
    ("max_frame_bytes", "Largest websocket frame accepted, in bytes."),
    ("max_input_depth", "Deepest nesting of lists/objects accepted in one client message (at most 128)."),
    ("ws_ping_secs", "Seconds between websocket pings; a connection silent for two intervals is reaped. Telnet connections get TCP keepalive probes at this interval (a vanished client is reaped after about three)."),
    ("handshake_timeout_ms", "Milliseconds a new connection on the websocket port has to send its request head and finish the websocket handshake (or get its web client page)."),
    ("http_head_bytes", "Largest HTTP request head (request line and headers) accepted on the websocket port, in bytes; a longer one is answered 431 and closed."),
    ("outbox_frames", "Outbound frames queued per session before a slow client is disconnected."),
    ("queued_inputs_per_session", "Inputs the portal queues per session while the server is away; further input is refused with a notice to the player."),
    ("restart_backoff_ms", "Delay before restarting a crashed server, doubled per consecutive crash up to 10 s (milliseconds)."),
    ("control_timeout_ms", "Milliseconds `mudhost status`, `stop` and `reload` wait for the portal's answer before failing with an error (a stop answers once the game has closed)."),
    ("guest_deadline_ms", "Wall-clock budget of one guest call in milliseconds."),
    ("guest_memory_mib", "Linear-memory cap of one guest instance in MiB."),
    ("guest_instance_pool", "Guest instances alive at once: each loaded module keeps one between calls, and a call on a module without one makes one. When all are taken, the kept ones are let go (made again when next needed)."),
    ("guest_output_bytes_per_call", "Text bytes one guest call may send to players in total (a text sent to N sessions counts N times)."),
    ("guest_messages_per_call", "Messages one guest call may send (one per recipient session)."),
    ("guest_messages_per_session_per_call", "Messages one guest call may send to any one session; kept below `outbox_frames` so a module cannot get a player disconnected as a slow client by flooding them."),
    ("guest_objects_per_call", "Objects one guest call may create."),
    ("guest_auth_requests_per_call", "`create-account` and `login` requests one guest call may make (each starts a password hash)."),
    ("guest_log_bytes_per_call", "Log bytes one guest call may write through `log`; also the most stderr it may write (which is logged as one line of at most `guest_log_line_bytes`)."),
    ("guest_log_line_bytes", "Longest guest log line in bytes; longer lines are cut."),
    ("guest_attr_value_bytes", "Largest attribute value (account or object) a guest may store, bytes."),
    ("guest_ndb_bytes_per_session", "Largest ndb of one session (keys plus values), bytes."),
    ("guest_name_bytes", "Longest name a host import accepts (object and account names, kinds, attribute and ndb keys, module and command names, aliases), bytes."),
    ("guest_text_bytes", "Longest text one message may carry, bytes; longer texts are cut with a note. Also the limit of send-oob JSON, passwords and reasons."),
    ("guest_list_items", "Most items a list argument of a host import may hold (msg-contents exclusions)."),
    ("guest_json_depth", "Deepest nesting of send-oob JSON arguments."),
    ("guest_commands_per_cmdset", "Most commands one cmdset may declare."),
    ("guest_aliases_per_cmdset", "Most aliases one cmdset may declare, over all its commands."),
    ("guest_module_bytes", "Largest module file accepted, bytes."),
    ("timer_max_per_module", "Most timers one module may have scheduled at once (persistent and not); `timer-delay` / `timer-repeat` beyond it return an error naming the limit."),
    ("timer_min_interval_ms", "Shortest interval of a repeating timer, milliseconds; a shorter one is refused with an error naming the limit."),
    ("timer_firings_per_round", "Most timer firings the game loop runs before it serves players' inputs again, so timers cannot starve players."),
    ("module_events", "Watch the modules folder with file events (inotify). Turn off where events are missing or broken, and rely on `module_poll_ms`."),
    ("module_poll_ms", "Interval of the modules-folder poll that backs up file events (filesystems without change events, replaced folders), milliseconds; 0 turns polling off."),
    ("argon2_memory_kib", "Argon2id memory cost in KiB (OWASP minimum 19456)."),
    ("argon2_iterations", "Argon2id iterations."),
    ("hash_threads", "Threads hashing passwords (0 = one per CPU core)."),
    ("hash_queue", "Password checks waiting for a hashing thread; beyond it a login or account creation is answered at once with \"busy, try again\"."),
    ("max_connections", "Open websocket connections, all addresses together; beyond it a client is refused with a message (0 = unlimited)."),
    ("max_connections_per_ip", "Open websocket connections from one address (0 = unlimited)."),
    ("max_handshakes", "Connections on the websocket port still sending their request head or in the websocket handshake (page requests included), all addresses together; beyond it a new connection is closed at once (0 = unlimited)."),
    ("max_handshakes_per_ip", "The same from one address; a trusted proxy is held only to the total (0 = unlimited)."),
    ("connection_rate_per_ip", "New connections per second from one address; faster ones are queued with Evennia's \"DoS protection is active\" text (0 = unlimited)."),
    ("connection_burst_per_ip", "Connections one address may open at once before the rate applies."),
    ("command_rate", "Inbound messages per session per second (Evennia's MAX_COMMAND_RATE, 0 = unlimited); more are dropped with a warning."),
    ("outbox_bytes", "Bytes of output queued for one connection before it is disconnected as too slow, counted as sent (rendered HTML or ANSI)."),
    ("others_output_bytes_per_sec", "Bytes per second (as sent) of output caused by other sessions' input that one session receives; beyond it and the burst such output is dropped and the player told (0 = unlimited)."),
    ("others_output_burst_bytes", "Bytes of such output a session may receive at once before the rate applies (at most half of outbox_bytes is used, so others' output alone never fills an outbox)."),
    ("max_name_chars", "Longest account or character name, in characters."),
    ("queued_input_bytes_per_session", "Bytes of input the portal queues for one session; a client over it is disconnected."),
    ("trusted_proxies", "Reverse proxies whose X-Forwarded-For header names the real client address."),
    ("login_throttle_limit", "Failed logins from one address before further attempts are refused (0 = off)."),
    ("login_throttle_timeout_secs", "Seconds after the last failed login before an address may try again."),
    ("creation_throttle_limit", "Accounts one address may create within the timeout (0 = off)."),
    ("creation_throttle_timeout_secs", "Seconds the creation throttle remembers an account creation."),
    ("log_input_chars", "Characters of untrusted input quoted in one log line."),
    ("log_summary_secs", "Seconds between summary lines for suppressed log lines about untrusted input."),
    ("login_timeout_secs", "Seconds a connection may stay without logging in before it is closed with \"login timeout exceeded\" (0 = never)."),
    ("max_unauthenticated_connections", "Open connections not logged in, all addresses together: their own share of max_connections (0 = only max_connections applies)."),
    ("ipv4_prefix_len", "Per-address limits count IPv4 addresses by this prefix length (32 = each address, 24 = each /24)."),
    ("ipv6_prefix_len", "Per-address limits count IPv6 addresses by this prefix length."),
    ("inbound_bytes_per_sec", "Bytes per second one connection may send, everything counted (burst: twice that); over it the connection is read no further until the budget refills (0 = unlimited)."),
    ("inbound_frames_per_sec", "Frames per second one connection may send: websocket frames of any kind (fragments, pings) and telnet lines and negotiations (burst: twice that; 0 = unlimited)."),
    ("inbound_bytes_per_sec_per_ip", "The inbound byte budget of one address, all its connections together (0 = unlimited)."),
    ("inbound_frames_per_sec_per_ip", "The inbound frame budget of one address, all its connections together (0 = unlimited)."),
    ("inbound_flood_secs", "Seconds a connection may keep sending over its inbound budget before it is disconnected with the reason."),
    ("flags_interval_ms", "Least milliseconds between two protocol-flag updates (telnet NAWS, TTYPE, ...) passed to the server; changes in between are merged."),
    ("command_rate_per_ip", "Inbound messages per second from one address, all its sessions together (0 = unlimited); more are dropped with a warning."),
    ("allowed_origins", "Origins whose pages may open a websocket besides the portal's own page; other browser origins get 403 (no Origin header: allowed)."),
    ("login_throttle_account_limit", "Failed logins to one account, from any address, before further attempts on it are refused for login_throttle_timeout_secs (0 = off)."),
    ("guest_random_bytes_per_call", "Bytes one guest call may draw from wasi:random (a deterministic stream per module, not a secret); more ends the call with a quota error."),
    ("guest_module_memory_mib", "Linear-memory caps of single modules in MiB by module name, e.g. { pyhello = 96 } (a Python module's runtime needs more than a Rust one's); others get guest_memory_mib."),
    ("guest_module_deadline_ms", "Wall-clock budgets of single modules' calls in milliseconds by module name, e.g. { pyhello = 200 } (a Python command costs a few times a Rust one's); others get guest_deadline_ms."),
    ("module_compile_threads", "Threads compiling modules at once (start-up and hot loads), off the game loop."),
    ("module_background_compile_bytes", "A module file larger than this (bytes) that is not in the compile cache does not hold the start: the game serves while it compiles, and it is installed like a hot load when ready."),
    ("module_cache_dir", "A compile cache folder shared by several games (relative to the config file; never pruned by a server, since others may use its entries); \"\" = the game's own data_dir/module-cache."),
];

impl Default for Config {
    fn default() -> Self {
        Config {
            server_name: "mudhost".into(),
            ws_addr: "127.0.0.1:4002".parse().expect("literal address"),
            telnet_addr: "127.0.0.1:4000".into(),
            telnet_handshake_ms: 500,
            telnet_subnegotiation_bytes: 16 * 1024,
            modules_dir: "modules".into(),
            data_dir: "data".into(),
            link: "unix".into(),
            link_secret: String::new(),
            multisession_mode: 0,
            auto_create_character_with_account: true,
            auto_puppet_on_login: true,
            max_nr_characters: 1,
            max_nr_simultaneous_puppets: 1,
            cmdset_unloggedin: vec!["unloggedin".into()],
            cmdset_session: vec![],
            cmdset_account: vec!["account".into()],
            cmdset_character: vec!["character".into()],
            input_hooks: vec![],
            session_class: String::new(),
            in_game_errors: false,
            broadcast_server_restart_messages: true,
            idle_command: "idle".into(),
            idle_timeout_secs: 0,
            session_flag_value_bytes: 256,
            session_flag_bytes: 4096,
            db_busy_timeout_ms: 250,
            max_input_chars: 6000,
            max_frame_bytes: 65536,
            max_input_depth: 32,
            ws_ping_secs: 30,
            handshake_timeout_ms: 10_000,
            http_head_bytes: 8192,
            outbox_frames: 1024,
            queued_inputs_per_session: 200,
            restart_backoff_ms: 200,
            control_timeout_ms: 30_000,
            guest_deadline_ms: 50,
            guest_memory_mib: 32,
            guest_instance_pool: 256,
            guest_output_bytes_per_call: 2 * 1024 * 1024,
            guest_messages_per_call: 10_000,
            guest_messages_per_session_per_call: 500,
            guest_objects_per_call: 1000,
            guest_auth_requests_per_call: 1,
            guest_log_bytes_per_call: 64 * 1024,
            guest_log_line_bytes: 2048,
            guest_attr_value_bytes: 64 * 1024,
            guest_ndb_bytes_per_session: 64 * 1024,
            guest_name_bytes: 256,
            guest_text_bytes: 256 * 1024,
            guest_list_items: 10_000,
            guest_json_depth: 32,
            guest_commands_per_cmdset: 1000,
            guest_aliases_per_cmdset: 5000,
            guest_module_bytes: 64 * 1024 * 1024,
            timer_max_per_module: 10_000,
            timer_min_interval_ms: 100,
            timer_firings_per_round: 64,
            module_events: true,
            module_poll_ms: 2000,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            hash_threads: 0,
            hash_queue: 1024,
            max_connections: 5000,
            max_connections_per_ip: 100,
            max_handshakes: 2048,
            max_handshakes_per_ip: 16,
            connection_rate_per_ip: 5,
            connection_burst_per_ip: 20,
            command_rate: 80,
            outbox_bytes: 2 * 1024 * 1024,
            others_output_bytes_per_sec: 64 * 1024,
            others_output_burst_bytes: 256 * 1024,
            max_name_chars: 30,
            queued_input_bytes_per_session: 1024 * 1024,
            trusted_proxies: vec![],
            login_throttle_limit: 5,
            login_throttle_timeout_secs: 300,
            creation_throttle_limit: 2,
            creation_throttle_timeout_secs: 600,
            log_input_chars: 200,
            log_summary_secs: 10,
            login_timeout_secs: 300,
            max_unauthenticated_connections: 1000,
            ipv4_prefix_len: 32,
            ipv6_prefix_len: 64,
            inbound_bytes_per_sec: 65536,
            inbound_frames_per_sec: 100,
            inbound_bytes_per_sec_per_ip: 262_144,
            inbound_frames_per_sec_per_ip: 400,
            inbound_flood_secs: 5,
            flags_interval_ms: 500,
            command_rate_per_ip: 200,
            allowed_origins: vec![],
            login_throttle_account_limit: 10,
            guest_random_bytes_per_call: 64 * 1024,
            guest_module_memory_mib: Default::default(),
            guest_module_deadline_ms: Default::default(),
            module_compile_threads: 2,
            module_background_compile_bytes: 4 * 1024 * 1024,
            module_cache_dir: PathBuf::new(),
        }
    }
}

impl Config {
    /// Load a config file (missing file → defaults) and resolve relative paths against its folder.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.into(), source })?;
        Config::parse(&text, path)
    }

    /// Parse the text of the config file at `path` (named in errors; relative paths are resolved
    /// against its folder) and check its values.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text)
            .map_err(|source| ConfigError::Parse { path: path.into(), source })?;
        let base = path.parent().unwrap_or(Path::new("."));
        // Absolute, so file-event paths and the folder compare equal whatever the working
        // directory (a relative modules folder made the watcher miss every event and rely on
        // its poll).
        let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        cfg.modules_dir = absolute(base.join(&cfg.modules_dir));
        cfg.data_dir = absolute(base.join(&cfg.data_dir));
        if !cfg.module_cache_dir.as_os_str().is_empty() {
            cfg.module_cache_dir = absolute(base.join(&cfg.module_cache_dir));
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check ranges that TOML types alone do not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.multisession_mode > 3 {
            return Err(ConfigError::Invalid("multisession_mode must be 0-3".into()));
        }
        // Evennia's launcher refuses this too: modes 0 and 1 have one puppet per account.
        if self.multisession_mode < 2 && self.max_nr_simultaneous_puppets != 1 {
            return Err(ConfigError::Invalid(
                "multisession_mode 0 and 1 need max_nr_simultaneous_puppets = 1".into(),
            ));
        }
        if self.module_compile_threads == 0 {
            return Err(ConfigError::Invalid("module_compile_threads must be at least 1".into()));
        }
        if self
            .guest_module_memory_mib
            .values()
            .chain(self.guest_module_deadline_ms.values())
            .any(|m| *m == 0)
        {
            return Err(ConfigError::Invalid(
                "guest_module_memory_mib and guest_module_deadline_ms values must be positive"
                    .into(),
            ));
        }
        if self.guest_deadline_ms == 0 || self.guest_memory_mib == 0 {
            return Err(ConfigError::Invalid("guest limits must be positive".into()));
        }
        // One instance for a call, one for loading a module beside it.
        if self.guest_instance_pool < 2 {
            return Err(ConfigError::Invalid("guest_instance_pool must be at least 2".into()));
        }
        if self.guest_messages_per_session_per_call >= self.outbox_frames {
            return Err(ConfigError::Invalid(
                "guest_messages_per_session_per_call must be below outbox_frames, or one command could get a player disconnected as a slow client".into(),
            ));
        }
        if self.timer_firings_per_round == 0 {
            return Err(ConfigError::Invalid(
                "timer_firings_per_round must be at least 1, or timers never fire".into(),
            ));
        }
        if !self.module_events && self.module_poll_ms == 0 {
            return Err(ConfigError::Invalid(
                "module_events = false needs module_poll_ms > 0, or hot reload is off".into(),
            ));
        }
        if self.guest_name_bytes == 0
            || self.guest_text_bytes == 0
            || self.guest_log_line_bytes == 0
        {
            return Err(ConfigError::Invalid(
                "guest name, text and log line limits must be positive".into(),
            ));
        }
        // A request line alone needs a few hundred bytes; below that no browser gets the page.
        if self.handshake_timeout_ms == 0 || self.http_head_bytes < 512 {
            return Err(ConfigError::Invalid(
                "handshake_timeout_ms must be positive and http_head_bytes at least 512".into(),
            ));
        }
        if self.session_flag_value_bytes < 32 || self.session_flag_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "session_flag_value_bytes must be at least 32 and session_flag_bytes at least 1024 (a client's own flags need that much)".into(),
            ));
        }
        if self.max_input_chars == 0 || self.outbox_frames == 0 {
            return Err(ConfigError::Invalid("input and outbox limits must be positive".into()));
        }
        if self.others_output_bytes_per_sec > 0 && self.others_output_burst_bytes == 0 {
            return Err(ConfigError::Invalid(
                "others_output_burst_bytes must be positive while others_output_bytes_per_sec is, or no other player's output would ever arrive".into(),
            ));
        }
        if self.max_name_chars < 2 {
            return Err(ConfigError::Invalid("max_name_chars must be at least 2".into()));
        }
        if !self.telnet_addr.trim().is_empty()
            && self.telnet_addr.trim().parse::<SocketAddr>().is_err()
        {
            return Err(ConfigError::Invalid(format!(
                "telnet_addr must be HOST:PORT (an IP address and a port) or empty, not {:?}",
                self.telnet_addr
            )));
        }
        if self.telnet_subnegotiation_bytes < 64 {
            return Err(ConfigError::Invalid(
                "telnet_subnegotiation_bytes must be at least 64".into(),
            ));
        }
        if !(1..=crate::link::MAX_INPUT_DEPTH).contains(&self.max_input_depth) {
            return Err(ConfigError::Invalid(format!(
                "max_input_depth must be 1-{}",
                crate::link::MAX_INPUT_DEPTH
            )));
        }
        if self.outbox_bytes == 0
            || self.queued_input_bytes_per_session == 0
            || self.hash_queue == 0
        {
            return Err(ConfigError::Invalid(
                "outbox_bytes, queued_input_bytes_per_session and hash_queue must be positive"
                    .into(),
            ));
        }
        if !(8..=32).contains(&self.ipv4_prefix_len) || !(16..=128).contains(&self.ipv6_prefix_len)
        {
            return Err(ConfigError::Invalid(
                "ipv4_prefix_len must be 8-32 and ipv6_prefix_len 16-128".into(),
            ));
        }
        if self.inbound_flood_secs == 0 {
            return Err(ConfigError::Invalid("inbound_flood_secs must be positive".into()));
        }
        Ok(())
    }

    /// The address group `ip` counts in for every per-address limit: IPv4 by
    /// `ipv4_prefix_len`, IPv6 by `ipv6_prefix_len` (an IPv4-mapped IPv6 address counts as its
    /// IPv4 address), so one host's many addresses share one allowance.
    pub fn address_group(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => IpAddr::V4(mask_v4(v4, self.ipv4_prefix_len)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(mask_v4(v4, self.ipv4_prefix_len)),
                None => {
                    let bits = u32::from(self.ipv6_prefix_len.min(128));
                    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                    IpAddr::V6((u128::from(v6) & mask).into())
                }
            },
        }
    }

    /// [`Config::address_group`] of an address given as text (a session's address); text that
    /// is not an address is its own group.
    pub fn address_group_text(&self, address: &str) -> String {
        match address.parse::<IpAddr>() {
            Ok(ip) => self.address_group(ip).to_string(),
            Err(_) => address.to_string(),
        }
    }

    /// The documented default config file that `mudhost init` writes: every key, its meaning
    /// and its default value.
    pub fn default_file_text() -> String {
        let defaults = toml::Table::try_from(Config::default()).expect("default config serialises");
        let mut out = String::from(
            "# mudhost game configuration. Every key is shown with its default value.\n\
             # Paths are relative to this file. CLI flags (--ws-addr, --modules, --data) override it.\n",
        );
        for (key, doc) in KEY_DOCS {
            let value = defaults.get(*key).map(|v| v.to_string()).unwrap_or_default();
            out.push_str(&format!("\n# {doc}\n{key} = {value}\n"));
        }
        out
    }

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

fn mask_v4(ip: std::net::Ipv4Addr, prefix: u8) -> std::net::Ipv4Addr {
    let bits = u32::from(prefix.min(32));
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    (u32::from(ip) & mask).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_grouped_by_prefix_ipv6_by_64_and_ipv4_as_configured() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let cfg = Config::default();
        assert_eq!(cfg.address_group(ip("203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(cfg.address_group(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            cfg.address_group(ip("2001:db8:1:2:ffff:1:2:3")),
            cfg.address_group(ip("2001:db8:1:2::9"))
        );
        assert_ne!(cfg.address_group(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        let slash24 = Config { ipv4_prefix_len: 24, ..Config::default() };
        assert_eq!(slash24.address_group(ip("203.0.113.7")), ip("203.0.113.0"));
        assert_eq!(slash24.address_group(ip("::ffff:203.0.113.9")), ip("203.0.113.0"));
        assert_eq!(slash24.address_group_text("203.0.113.200"), "203.0.113.0");
        assert!(Config { ipv4_prefix_len: 33, ..Config::default() }.validate().is_err());
        assert!(Config { ipv6_prefix_len: 8, ..Config::default() }.validate().is_err());
    }

    #[test]
    fn folders_of_a_config_given_by_a_relative_path_are_absolute() {
        // The module watcher compares file-event paths with the folder: both must be absolute.
        let cfg = Config::parse("", Path::new("game/mudhost.toml")).unwrap();
        assert!(
            cfg.modules_dir.is_absolute() && cfg.modules_dir.ends_with("game/modules"),
            "{:?}",
            cfg.modules_dir
        );
        assert!(
            cfg.data_dir.is_absolute() && cfg.data_dir.ends_with("game/data"),
            "{:?}",
            cfg.data_dir
        );
    }

    #[test]
    fn the_default_file_parses_back_to_the_defaults() {
        let cfg: Config = toml::from_str(&Config::default_file_text()).unwrap();
        assert_eq!(cfg, Config::default());
    }

    #[test]
    fn every_key_is_documented_in_the_default_file() {
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        let documented: Vec<&str> = KEY_DOCS.iter().map(|(k, _)| *k).collect();
        let mut keys: Vec<&str> = defaults.keys().map(String::as_str).collect();
        keys.sort();
        let mut sorted = documented.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn a_per_session_message_quota_at_or_above_the_outbox_is_refused() {
        let cfg = Config { guest_messages_per_session_per_call: 1024, ..Config::default() };
        assert!(cfg.validate().is_err());
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn an_empty_others_output_burst_and_too_short_a_name_limit_are_refused() {
        let cfg = Config { others_output_burst_bytes: 0, ..Config::default() };
        assert!(cfg.validate().is_err());
        let off = Config {
            others_output_bytes_per_sec: 0,
            others_output_burst_bytes: 0,
            ..Config::default()
        };
        assert!(off.validate().is_ok());
        assert!(Config { max_name_chars: 1, ..Config::default() }.validate().is_err());
    }

    #[test]
    fn zero_timer_firings_per_round_is_refused() {
        let cfg = Config { timer_firings_per_round: 0, ..Config::default() };
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn per_module_limits_parse_and_zero_ones_and_no_compile_thread_are_refused() {
        let cfg: Config = toml::from_str(
            "guest_module_memory_mib = { pyhello = 128 }\nguest_module_deadline_ms = { pyhello = 200 }",
        )
        .unwrap();
        assert_eq!(cfg.guest_module_memory_mib.get("pyhello"), Some(&128));
        assert!(cfg.validate().is_ok());
        let zero: Config = toml::from_str("guest_module_memory_mib = { pyhello = 0 }").unwrap();
        assert!(zero.validate().is_err());
        let zero: Config = toml::from_str("guest_module_deadline_ms = { pyhello = 0 }").unwrap();
        assert!(zero.validate().is_err());
        assert!(Config { module_compile_threads: 0, ..Config::default() }.validate().is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("no_such_key = 1").is_err());
    }

    #[test]
    fn modes_0_and_1_refuse_more_than_one_puppet_as_evennias_launcher_does() {
        let with = |mode, puppets| Config {
            multisession_mode: mode,
            max_nr_simultaneous_puppets: puppets,
            ..Config::default()
        };
        assert!(with(0, 1).validate().is_ok());
        assert!(with(1, 2).validate().is_err());
        assert!(with(0, 0).validate().is_err());
        assert!(with(2, 0).validate().is_ok());
        assert!(with(3, 5).validate().is_ok());
        assert!(with(4, 1).validate().is_err());
    }

    #[test]
    fn session_flag_limits_too_small_for_a_clients_own_flags_are_refused() {
        let with = |value, total| Config {
            session_flag_value_bytes: value,
            session_flag_bytes: total,
            ..Config::default()
        };
        assert!(with(256, 4096).validate().is_ok());
        assert!(with(31, 4096).validate().is_err());
        assert!(with(256, 1023).validate().is_err());
    }
}
