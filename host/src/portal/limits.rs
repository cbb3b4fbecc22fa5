//! What an anonymous client may cost the portal: connections (total, per address, and a rate per
//! address; connections not logged in have a share of their own), handshakes in progress (a full
//! table makes room by closing the oldest of the address holding most), commands per second per
//! session and per address, inbound bytes and frames per second per connection and per address
//! (charged as they are read), bytes queued towards a connection, the real client address behind
//! a trusted reverse proxy. "Per address" means per address group (`Config::address_group`: an
//! IPv6 /64, an IPv4 address or /24). (The idle timeout is the server's: `Game::idle_sweep`; the
//! login timeout is the hub's.)
//!
//! Texts are Evennia's where Evennia has them (EVENNIA-REFERENCE.md §limits).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::Config;

/// Evennia's COMMAND_RATE_WARNING.
pub const COMMAND_RATE_TEXT: &str = "You entered commands too fast. Wait a moment and try again.";
/// Told to a client refused because its address holds too many connections.
pub const TOO_MANY_FROM_ADDRESS_TEXT: &str =
    "Too many connections from your address. Close some of them and try again.";
/// Told to a client refused because the game holds as many connections as it allows.
pub const SERVER_FULL_TEXT: &str = "The server is full. Please try again later.";
/// Close reason for a session whose queued input went over its byte budget.
pub const INPUT_BUDGET_REASON: &str = "too much input queued: input byte budget exceeded";
/// Close reason for a connection whose queued output went over its byte budget.
pub const OUTPUT_BUDGET_REASON: &str = "output queue overflow: client too slow";
/// Close reason (and telnet text) for a connection that kept sending over its inbound budget.
pub const INPUT_FLOOD_REASON: &str =
    "input flood: more bytes or frames per second than allowed; disconnecting";

/// Log a refused connection, at most one line per `log_summary_secs` (with a count of the
/// ones not logged): a flood of refused connections cannot fill the disk.
pub fn log_refused(cfg: &Config, kind: &str, address: IpAddr, text: &str) {
    static LIMITER: Mutex<crate::logline::LogLimiter> =
        Mutex::new(crate::logline::LogLimiter::new());
    let verdict = LIMITER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .check(Duration::from_secs(cfg.log_summary_secs.max(1)));
    if let crate::logline::LogVerdict::Log { suppressed } = verdict {
        tracing::info!(kind, %address, suppressed, "connection refused: {text}");
    }
}

/// Evennia's queued-connection text (sic: no space after the first full stop); `wait` is shown
/// the way Python prints a float.
pub fn queued_text(server_name: &str, wait: Duration) -> String {
    let secs = (wait.as_secs_f64() * 10.0).ceil() / 10.0;
    format!(
        "{server_name} DoS protection is active.You are queued to connect in {secs:?} seconds ..."
    )
}

// --- connections -------------------------------------------------------------------------------

/// Per-address connection state: open connections, handshakes in progress and the rate bucket.
struct Address {
    open: usize,
    /// Handshakes in progress, oldest first: (id, what closes it when evicted).
    handshaking: VecDeque<(u64, Arc<tokio::sync::Notify>)>,
    /// Connections the address may still open at once; negative while connections are queued.
    tokens: f64,
    refilled: Instant,
    /// The inbound budgets all the address's connections share: (bytes, frames).
    inbound: (Bucket, Bucket),
    /// Inbound messages of all the address's sessions.
    commands: CommandRate,
}

struct Table {
    total: usize,
    /// Open connections not logged in.
    unauthenticated: usize,
    handshakes: usize,
    next_handshake: u64,
    addresses: HashMap<IpAddr, Address>,
}

/// Connection admission for the whole portal (shared by every connection task). A std mutex:
/// it is never held across an await.
#[derive(Clone)]
pub struct ConnectionLimits {
    cfg: Arc<Config>,
    table: Arc<Mutex<Table>>,
}

/// The answer to a new connection.
#[derive(Debug)]
pub enum Admission {
    /// Refused: tell the client this and close.
    Refused(&'static str),
    /// Admitted after `wait` (zero: at once); the guard gives the slot back when dropped.
    Admitted { wait: Duration, guard: ConnectionGuard },
}

/// Holds one connection's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct ConnectionGuard {
    slot: Arc<Slot>,
}

/// One admitted connection's place in the table, shared by its guard and its [`LoginMark`].
#[derive(Debug)]
struct Slot {
    table: Arc<Mutex<Table>>,
    /// The address group it counts in.
    ip: IpAddr,
    /// Logged in (counted out of `unauthenticated`); changed only under the table's lock.
    logged_in: std::sync::atomic::AtomicBool,
    /// The guard has gone: the slot is free and a late mark changes nothing.
    released: std::sync::atomic::AtomicBool,
}

/// Tells the connection limits whether a connection is logged in (the hub learns it from the
/// server's syncs): a connection not logged in counts against
/// `max_unauthenticated_connections`.
#[derive(Debug, Clone)]
pub struct LoginMark {
    slot: Arc<Slot>,
}

/// Holds one handshake's place, from the accept until the connection is admitted (or its page
/// is served, or it fails); dropping it frees the place. [`HandshakeGuard::evicted`] completes
/// when a newcomer from a lighter address took the place over.
#[derive(Debug)]
pub struct HandshakeGuard {
    table: Arc<Mutex<Table>>,
    ip: IpAddr,
    id: u64,
    evict: Arc<tokio::sync::Notify>,
}

impl Table {
    /// The state of `ip` (new: nothing open, a full rate bucket), after forgetting idle addresses
    /// if the table is over its size.
    fn address(&mut self, ip: IpAddr, cfg: &Config, now: Instant) -> &mut Address {
        self.forget_idle(cfg, now);
        let burst = cfg.connection_burst_per_ip.max(1) as f64;
        self.addresses.entry(ip).or_insert_with(|| Address {
            open: 0,
            handshaking: VecDeque::new(),
            tokens: burst,
            refilled: now,
            inbound: (
                Bucket::new(cfg.inbound_bytes_per_sec_per_ip, now),
                Bucket::new(cfg.inbound_frames_per_sec_per_ip, now),
            ),
            commands: CommandRate::new(cfg.command_rate_per_ip),
        })
    }

    /// Past [`FORGET_ABOVE`] addresses, forget those with nothing open, no handshake in progress
    /// and a full rate bucket (they are as if never seen), so a flood from many addresses cannot
    /// grow the table without bound.
    fn forget_idle(&mut self, cfg: &Config, now: Instant) {
        if self.addresses.len() <= FORGET_ABOVE {
            return;
        }
        let (rate, burst) =
            (cfg.connection_rate_per_ip as f64, cfg.connection_burst_per_ip.max(1) as f64);
        self.addresses.retain(|_, a| {
            a.open > 0
                || !a.handshaking.is_empty()
                || a.tokens + now.duration_since(a.refilled).as_secs_f64() * rate < burst
        });
    }
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table {{ total: {}, addresses: {} }}", self.total, self.addresses.len())
    }
}

/// Addresses remembered before idle ones (no connection, full bucket) are forgotten.
const FORGET_ABOVE: usize = 4096;

impl ConnectionLimits {
    /// Limits from the config's connection keys.
    pub fn new(cfg: Arc<Config>) -> ConnectionLimits {
        ConnectionLimits {
            cfg,
            table: Arc::new(Mutex::new(Table {
                total: 0,
                unauthenticated: 0,
                handshakes: 0,
                next_handshake: 0,
                addresses: HashMap::new(),
            })),
        }
    }

    /// A place for the handshake of a connection just accepted from `peer` (the TCP peer: the
    /// forwarded address is not known before the request head), or None when the address
    /// already has as many handshakes in progress as it allows: the connection is then closed
    /// at once, so clients that connect and trickle (or send nothing) cannot hold sockets
    /// beyond the caps while they wait for the handshake deadline. When the portal's total is
    /// reached, the newcomer takes the place of the oldest handshake of the address (group)
    /// holding the most, if that is more than the newcomer's own would then hold: silent
    /// connections from a few addresses cannot keep everyone else out for the whole deadline.
    pub fn begin_handshake(&self, peer: IpAddr) -> Option<HandshakeGuard> {
        let cfg = &self.cfg;
        let now = Instant::now();
        let trusted = cfg.trusted_proxies.contains(&peer);
        let group = cfg.address_group(canonical(peer));
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let mine = t.address(group, cfg, now).handshaking.len();
        // A trusted proxy brings many clients' handshakes: only the total applies to it.
        if cfg.max_handshakes_per_ip > 0 && !trusted && mine >= cfg.max_handshakes_per_ip {
            return None;
        }
        if cfg.max_handshakes > 0 && t.handshakes >= cfg.max_handshakes {
            let heaviest = t
                .addresses
                .iter_mut()
                .filter(|(ip, _)| **ip != group)
                .max_by_key(|(_, a)| a.handshaking.len())
                .map(|(_, a)| a)?;
            if heaviest.handshaking.len() <= mine + 1 {
                return None;
            }
            let (_, evict) = heaviest.handshaking.pop_front()?;
            evict.notify_one();
            t.handshakes -= 1;
        }
        let id = t.next_handshake;
        t.next_handshake += 1;
        let evict = Arc::new(tokio::sync::Notify::new());
        t.address(group, cfg, now).handshaking.push_back((id, evict.clone()));
        t.handshakes += 1;
        Some(HandshakeGuard { table: self.table.clone(), ip: group, id, evict })
    }

    /// Admit (possibly after a wait) or refuse a connection from `ip`.
    pub fn admit(&self, ip: IpAddr) -> Admission {
        self.admit_at(ip, Instant::now())
    }

    fn admit_at(&self, ip: IpAddr, now: Instant) -> Admission {
        let cfg = &self.cfg;
        let ip = cfg.address_group(canonical(ip));
        // Poisoning only follows a panic while holding the lock, which cannot leave the counts
        // inconsistent (every critical section is plain arithmetic).
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if cfg.max_connections > 0 && t.total >= cfg.max_connections {
            return Admission::Refused(SERVER_FULL_TEXT);
        }
        if cfg.max_unauthenticated_connections > 0
            && t.unauthenticated >= cfg.max_unauthenticated_connections
        {
            return Admission::Refused(SERVER_FULL_TEXT);
        }
        let burst = cfg.connection_burst_per_ip.max(1) as f64;
        let a = t.address(ip, cfg, now);
        if cfg.max_connections_per_ip > 0 && a.open >= cfg.max_connections_per_ip {
            return Admission::Refused(TOO_MANY_FROM_ADDRESS_TEXT);
        }
        let mut wait = Duration::ZERO;
        if cfg.connection_rate_per_ip > 0 {
            let rate = cfg.connection_rate_per_ip as f64;
            a.tokens = (a.tokens + now.duration_since(a.refilled).as_secs_f64() * rate).min(burst);
            a.refilled = now;
            a.tokens -= 1.0;
            if a.tokens < 0.0 {
                // Queued behind the connections already waiting: released in order, at the rate.
                wait = Duration::from_secs_f64(-a.tokens / rate);
            }
        }
        a.open += 1;
        t.total += 1;
        t.unauthenticated += 1;
        let slot = Arc::new(Slot {
            table: self.table.clone(),
            ip,
            logged_in: false.into(),
            released: false.into(),
        });
        Admission::Admitted { wait, guard: ConnectionGuard { slot } }
    }

    /// Open connections: (all, from `ip`'s address group).
    pub fn open(&self, ip: IpAddr) -> (usize, usize) {
        let group = self.cfg.address_group(canonical(ip));
        let t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        (t.total, t.addresses.get(&group).map_or(0, |a| a.open))
    }
}

impl HandshakeGuard {
    /// Completes when a newcomer took this handshake's place (the connection is to close).
    pub async fn evicted(&self) {
        self.evict.notified().await
    }
}

impl Drop for HandshakeGuard {
    fn drop(&mut self) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        // An evicted handshake has already given its place to the newcomer.
        let Some(a) = t.addresses.get_mut(&self.ip) else { return };
        let Some(pos) = a.handshaking.iter().position(|(id, _)| *id == self.id) else { return };
        a.handshaking.remove(pos);
        t.handshakes = t.handshakes.saturating_sub(1);
    }
}

impl ConnectionGuard {
    /// A handle through which the hub tells whether this connection is logged in.
    pub fn login_mark(&self) -> LoginMark {
        LoginMark { slot: self.slot.clone() }
    }
}

impl LoginMark {
    /// The connection logged in (true) or out (false).
    pub fn set(&self, logged_in: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut t = self.slot.table.lock().unwrap_or_else(|e| e.into_inner());
        if self.slot.released.load(Relaxed) || self.slot.logged_in.load(Relaxed) == logged_in {
            return;
        }
        self.slot.logged_in.store(logged_in, Relaxed);
        if logged_in {
            t.unauthenticated = t.unauthenticated.saturating_sub(1);
        } else {
            t.unauthenticated += 1;
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut t = self.slot.table.lock().unwrap_or_else(|e| e.into_inner());
        self.slot.released.store(true, Relaxed);
        t.total = t.total.saturating_sub(1);
        if !self.slot.logged_in.load(Relaxed) {
            t.unauthenticated = t.unauthenticated.saturating_sub(1);
        }
        if let Some(a) = t.addresses.get_mut(&self.slot.ip) {
            a.open = a.open.saturating_sub(1);
        }
    }
}

// --- inbound budgets ---------------------------------------------------------------------------

/// A token bucket of `rate` per second holding at most two seconds' worth; 0 = unlimited.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    fn new(rate: u32, now: Instant) -> Bucket {
        Bucket { rate: rate as f64, tokens: 2.0 * rate as f64, refilled: now }
    }

    /// Take `n`; the time until the bucket is out of debt again (zero: not in debt).
    fn charge(&mut self, n: u64, now: Instant) -> Duration {
        if self.rate <= 0.0 {
            return Duration::ZERO;
        }
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(2.0 * self.rate);
        self.refilled = now;
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// One connection's inbound budget: its own bytes and frames per second and its address's,
/// charged as they are read.
#[derive(Debug)]
pub struct InboundBudget {
    table: Arc<Mutex<Table>>,
    group: IpAddr,
    bytes: Bucket,
    frames: Bucket,
    flood_after: Duration,
    /// Since when every read has found the budget in debt.
    over_since: Option<Instant>,
}

/// What to do after a read was charged.
#[derive(Debug, PartialEq, Eq)]
pub enum InboundVerdict {
    /// Within budget: read on.
    Pass,
    /// Over budget: read nothing more for this long.
    Pause(Duration),
    /// Over budget for longer than `inbound_flood_secs`: disconnect with
    /// [`INPUT_FLOOD_REASON`].
    Flood,
}

impl InboundBudget {
    /// The budget of a connection admitted with `guard`.
    pub fn new(cfg: &Config, guard: &ConnectionGuard) -> InboundBudget {
        let now = Instant::now();
        InboundBudget {
            table: guard.slot.table.clone(),
            group: guard.slot.ip,
            bytes: Bucket::new(cfg.inbound_bytes_per_sec, now),
            frames: Bucket::new(cfg.inbound_frames_per_sec, now),
            flood_after: Duration::from_secs(cfg.inbound_flood_secs.max(1)),
            over_since: None,
        }
    }

    /// Charge what was just read: `bytes` off the wire, `frames` frames (or telnet lines and
    /// negotiations).
    pub fn charge(&mut self, bytes: u64, frames: u64) -> InboundVerdict {
        self.charge_at(bytes, frames, Instant::now())
    }

    fn charge_at(&mut self, bytes: u64, frames: u64, now: Instant) -> InboundVerdict {
        if bytes == 0 && frames == 0 {
            return InboundVerdict::Pass;
        }
        let mut pause = self.bytes.charge(bytes, now).max(self.frames.charge(frames, now));
        {
            let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(a) = t.addresses.get_mut(&self.group) {
                pause =
                    pause.max(a.inbound.0.charge(bytes, now)).max(a.inbound.1.charge(frames, now));
            }
        }
        if pause.is_zero() {
            self.over_since = None;
            return InboundVerdict::Pass;
        }
        // Over by more than the flood allowance in one go, or over for that long: a flood.
        let since = *self.over_since.get_or_insert(now);
        if pause >= self.flood_after || now.duration_since(since) >= self.flood_after {
            InboundVerdict::Flood
        } else {
            InboundVerdict::Pause(pause)
        }
    }
}

/// The per-address command rate of a connection admitted with `guard` (every session of the
/// address shares it): like [`CommandRate::check`].
pub fn check_address_rate(guard: &ConnectionGuard) -> RateVerdict {
    let mut t = guard.slot.table.lock().unwrap_or_else(|e| e.into_inner());
    match t.addresses.get_mut(&guard.slot.ip) {
        Some(a) => a.commands.check(),
        None => RateVerdict::Pass,
    }
}

/// A session's command rate and its address's together: a message passes only if both allow
/// it (the per-session count is taken first, so a session over its own rate does not use up
/// its address's).
pub fn check_rates(rate: &mut CommandRate, guard: &ConnectionGuard) -> RateVerdict {
    match rate.check() {
        RateVerdict::Pass => check_address_rate(guard),
        other => other,
    }
}

/// The address throttles and logs should see: the peer itself, or — when the peer is a trusted
/// reverse proxy — the right-most `X-Forwarded-For` entry that is not itself a trusted proxy
/// (entries further left are written by the client and cannot be believed).
pub fn client_address(peer: SocketAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    if !trusted.iter().any(|t| canonical(*t) == peer_ip) {
        return peer_ip;
    }
    let Some(header) = forwarded_for else { return peer_ip };
    let mut found = peer_ip;
    for entry in header.rsplit(',') {
        let Some(ip) = parse_forwarded_entry(entry) else { break };
        found = ip;
        if !trusted.iter().any(|t| canonical(*t) == ip) {
            break;
        }
    }
    found
}

/// One `X-Forwarded-For` entry: an address, possibly `[v6]:port` or `v4:port`.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    e.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// IPv4-mapped IPv6 addresses count as their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

// --- commands ----------------------------------------------------------------------------------

/// Evennia's command rate: at most `rate` inbound messages per one-second window, the window
/// restarting when more than a second has passed since it began.
#[derive(Debug)]
pub struct CommandRate {
    rate: u32,
    window: Instant,
    count: u32,
}

/// What to do with one inbound message.
#[derive(Debug, PartialEq, Eq)]
pub enum RateVerdict {
    /// Pass it on.
    Pass,
    /// Drop it and tell the player (the first drop of a window).
    DropAndWarn,
    /// Drop it silently (already warned in this window).
    Drop,
}

impl CommandRate {
    /// `rate` messages per second; 0 = unlimited.
    pub fn new(rate: u32) -> CommandRate {
        CommandRate { rate, window: Instant::now(), count: 0 }
    }

    /// Count one inbound message.
    pub fn check(&mut self) -> RateVerdict {
        self.check_at(Instant::now())
    }

    fn check_at(&mut self, now: Instant) -> RateVerdict {
        if self.rate == 0 {
            return RateVerdict::Pass;
        }
        if now.duration_since(self.window) > Duration::from_secs(1) {
            self.window = now;
            self.count = 0;
        }
        self.count += 1;
        if self.count <= self.rate {
            RateVerdict::Pass
        } else if self.count == self.rate + 1 {
            RateVerdict::DropAndWarn
        } else {
            RateVerdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(f: impl FnOnce(&mut Config)) -> Arc<Config> {
        let mut c = Config::default();
        f(&mut c);
        Arc::new(c)
    }

    #[test]
    fn connections_beyond_the_per_address_cap_are_refused_and_freed_on_drop() {
        let limits = ConnectionLimits::new(cfg(|c| {
            c.max_connections_per_ip = 2;
            c.connection_rate_per_ip = 0;
        }));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = limits.admit(ip);
        let b = limits.admit(ip);
        assert!(matches!(limits.admit(ip), Admission::Refused(TOO_MANY_FROM_ADDRESS_TEXT)));
        assert!(matches!(limits.admit("10.0.0.2".parse().unwrap()), Admission::Admitted { .. }));
        drop(a);
        assert!(matches!(limits.admit(ip), Admission::Admitted { .. }));
        drop(b);
    }

    #[test]
    fn handshakes_in_progress_are_capped_per_address_and_in_total_except_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let limits = ConnectionLimits::new(cfg(|c| {
            c.max_handshakes_per_ip = 2;
            c.max_handshakes = 5;
            c.trusted_proxies = vec![proxy];
        }));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = limits.begin_handshake(ip).expect("first");
        let _b = limits.begin_handshake(ip).expect("second");
        assert!(limits.begin_handshake(ip).is_none(), "third from one address");
        drop(a);
        let _c = limits.begin_handshake(ip).expect("a finished handshake frees its place");
        // The proxy passes the per-address cap but not the total (2 taken + 3).
        let via_proxy: Vec<_> =
            (0..3).map(|_| limits.begin_handshake(proxy).expect("proxy")).collect();
        assert_eq!(limits.table.lock().unwrap().handshakes, 5);
        drop(via_proxy);
        assert!(limits.begin_handshake("10.0.0.2".parse().unwrap()).is_some());
    }

    #[test]
    fn a_full_handshake_table_evicts_the_oldest_of_the_heaviest_address_for_a_lighter_one() {
        let limits = ConnectionLimits::new(cfg(|c| {
            c.max_handshakes_per_ip = 4;
            c.max_handshakes = 6;
        }));
        let heavy: IpAddr = "10.0.0.1".parse().unwrap();
        let medium: IpAddr = "10.0.0.2".parse().unwrap();
        let held: Vec<_> = (0..4).map(|_| limits.begin_handshake(heavy).unwrap()).collect();
        let _m: Vec<_> = (0..2).map(|_| limits.begin_handshake(medium).unwrap()).collect();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // A newcomer from a third address takes the place of the heavy address's oldest.
        let newcomer = limits.begin_handshake("10.0.0.3".parse().unwrap()).expect("room made");
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(1), held[0].evicted()).await.expect("evicted")
        });
        assert!(rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(20), held[1].evicted()).await.is_err()
        }));
        assert_eq!(limits.table.lock().unwrap().handshakes, 6);
        // The evicted guard's drop frees nothing twice; the medium address (2, newcomer 3)
        // cannot evict the heavy one (3) to reach 3 itself.
        drop(held);
        assert_eq!(limits.table.lock().unwrap().handshakes, 3);
        let (_x, _y, _z) = (
            limits.begin_handshake(heavy).unwrap(),
            limits.begin_handshake(heavy).unwrap(),
            limits.begin_handshake(heavy).unwrap(),
        );
        assert!(limits.begin_handshake(medium).is_none(), "no address evicts an equal one");
        drop(newcomer);
    }

    #[test]
    fn connections_not_logged_in_have_their_own_share_and_logging_in_frees_it() {
        let limits = ConnectionLimits::new(cfg(|c| {
            c.max_connections = 10;
            c.max_unauthenticated_connections = 2;
            c.connection_rate_per_ip = 0;
        }));
        let admit = |ip: &str| match limits.admit(ip.parse().unwrap()) {
            Admission::Admitted { guard, .. } => Some(guard),
            Admission::Refused(_) => None,
        };
        let a = admit("10.0.0.1").unwrap();
        let b = admit("10.0.0.2").unwrap();
        assert!(admit("10.0.0.3").is_none(), "two strangers already");
        let mark = a.login_mark();
        mark.set(true);
        let c = admit("10.0.0.3").expect("a login frees a stranger's share");
        mark.set(false);
        assert!(admit("10.0.0.4").is_none());
        drop((a, b));
        mark.set(true);
        assert_eq!(limits.table.lock().unwrap().unauthenticated, 1, "a late mark changes nothing");
        drop(c);
        assert_eq!(limits.table.lock().unwrap().unauthenticated, 0);
    }

    #[test]
    fn per_address_limits_count_an_ipv6_64_or_an_ipv4_24_as_one_address() {
        let limits = ConnectionLimits::new(cfg(|c| {
            c.max_connections_per_ip = 2;
            c.connection_rate_per_ip = 0;
            c.ipv4_prefix_len = 24;
        }));
        let admitted = |ip: &str| match limits.admit(ip.parse().unwrap()) {
            Admission::Admitted { guard, .. } => {
                std::mem::forget(guard);
                true
            }
            Admission::Refused(_) => false,
        };
        assert!(admitted("2001:db8::1") && admitted("2001:db8::ffff:2"));
        assert!(!admitted("2001:db8::3:3:3"), "the same /64");
        assert!(admitted("2001:db8:0:1::1"), "another /64");
        assert!(admitted("192.0.2.1") && admitted("192.0.2.200"));
        assert!(!admitted("192.0.2.77"), "the same /24");
    }

    #[test]
    fn inbound_budgets_pause_a_connection_over_them_and_call_a_sustained_excess_a_flood() {
        let limits = ConnectionLimits::new(cfg(|c| {
            c.inbound_frames_per_sec = 10;
            c.inbound_bytes_per_sec = 1000;
            c.inbound_frames_per_sec_per_ip = 15;
            c.inbound_flood_secs = 2;
            c.connection_rate_per_ip = 0;
        }));
        let guard = |ip: &str| match limits.admit(ip.parse().unwrap()) {
            Admission::Admitted { guard, .. } => guard,
            other => panic!("{other:?}"),
        };
        let (g, g2) = (guard("10.0.0.1"), guard("10.0.0.1"));
        let mut b = InboundBudget::new(&limits.cfg, &g);
        let mut b2 = InboundBudget::new(&limits.cfg, &g2);
        let t0 = Instant::now();
        // A burst of two seconds' worth passes; the next frame waits a tenth of a second.
        assert_eq!(b.charge_at(100, 20, t0), InboundVerdict::Pass);
        assert_eq!(b.charge_at(6, 1, t0), InboundVerdict::Pause(Duration::from_millis(100)));
        // Its address's budget (30 burst, 21 used) holds back the second connection too.
        assert_eq!(b2.charge_at(6, 9, t0), InboundVerdict::Pass);
        assert!(matches!(b2.charge_at(6, 1, t0), InboundVerdict::Pause(_)));
        // Still over two seconds later: a flood. Back within budget: forgiven.
        assert_eq!(b.charge_at(6, 40, t0 + Duration::from_secs(2)), InboundVerdict::Flood);
        let later = t0 + Duration::from_secs(10);
        assert_eq!(b.charge_at(6, 1, later), InboundVerdict::Pass);
        // Bytes count as well as frames.
        assert!(matches!(b.charge_at(3000, 1, later), InboundVerdict::Pause(_)));
        // And a debt over the flood allowance in one read is a flood at once.
        assert_eq!(b.charge_at(5000, 1, later), InboundVerdict::Flood);
    }

    #[test]
    fn a_flood_from_many_addresses_does_not_grow_the_table_without_bound() {
        let limits = ConnectionLimits::new(cfg(|_| {}));
        for i in 0..(3 * FORGET_ABOVE as u32) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            drop(limits.begin_handshake(ip).expect("under the caps"));
        }
        let t = limits.table.lock().unwrap();
        assert!(
            t.addresses.len() <= FORGET_ABOVE + 1,
            "{} addresses remembered",
            t.addresses.len()
        );
    }

    #[test]
    fn the_total_cap_refuses_with_the_full_text() {
        let limits = ConnectionLimits::new(cfg(|c| c.max_connections = 1));
        let _a = limits.admit("10.0.0.1".parse().unwrap());
        assert!(matches!(
            limits.admit("10.0.0.2".parse().unwrap()),
            Admission::Refused(SERVER_FULL_TEXT)
        ));
    }

    #[test]
    fn connections_over_the_rate_are_queued_in_order() {
        let limits = ConnectionLimits::new(cfg(|c| {
            c.connection_rate_per_ip = 2;
            c.connection_burst_per_ip = 1;
        }));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let now = Instant::now();
        let waits: Vec<Duration> = (0..3)
            .map(|_| match limits.admit_at(ip, now) {
                Admission::Admitted { wait, guard } => {
                    std::mem::forget(guard);
                    wait
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(waits[0], Duration::ZERO);
        assert_eq!(waits[1], Duration::from_millis(500));
        assert_eq!(waits[2], Duration::from_secs(1));
    }

    #[test]
    fn the_queued_text_is_evennias() {
        assert_eq!(
            queued_text("mudhost", Duration::from_millis(500)),
            "mudhost DoS protection is active.You are queued to connect in 0.5 seconds ..."
        );
        assert!(queued_text("x", Duration::from_secs(2)).contains("in 2.0 seconds"));
    }

    #[test]
    fn the_command_rate_drops_the_excess_and_warns_once_per_window() {
        let mut r = CommandRate::new(3);
        let t0 = Instant::now();
        let v: Vec<_> = (0..5).map(|_| r.check_at(t0)).collect();
        assert_eq!(
            v,
            [
                RateVerdict::Pass,
                RateVerdict::Pass,
                RateVerdict::Pass,
                RateVerdict::DropAndWarn,
                RateVerdict::Drop
            ]
        );
        assert_eq!(r.check_at(t0 + Duration::from_millis(1001)), RateVerdict::Pass);
        assert_eq!(CommandRate::new(0).check_at(t0), RateVerdict::Pass);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let from_proxy: SocketAddr = "10.0.0.9:4000".parse().unwrap();
        let direct: SocketAddr = "203.0.113.5:4000".parse().unwrap();
        let xff = Some("1.2.3.4, 198.51.100.7");
        assert_eq!(
            client_address(from_proxy, xff, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(direct, xff, &[proxy]), "203.0.113.5".parse::<IpAddr>().unwrap());
        assert_eq!(client_address(from_proxy, None, &[proxy]), proxy);
        // A chain of trusted proxies is skipped; garbage stops the walk at the last good entry.
        let chain = Some("198.51.100.7, 10.0.0.9");
        assert_eq!(
            client_address(from_proxy, chain, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(from_proxy, Some("nonsense"), &[proxy]), proxy);
        assert_eq!(
            client_address(from_proxy, Some("[2001:db8::1]:55"), &[proxy]),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }
}
