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
//!
//! This file holds the connection table (admission, the share not logged in, the guards);
//! handshakes in progress are in `handshake.rs`, inbound budgets in `inbound.rs`, command rates
//! in `rate.rs`, the client's address in `address.rs`.

mod address;
mod handshake;
mod inbound;
mod rate;

pub use address::client_address;
pub use inbound::{InboundBudget, InboundVerdict};
pub use rate::{check_rates, CommandRate, RateVerdict};

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::Config;
use address::canonical;
use inbound::Bucket;

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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn cfg(f: impl FnOnce(&mut Config)) -> Arc<Config> {
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
}
