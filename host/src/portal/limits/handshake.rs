//! Handshakes in progress: a cap per address (group) and a total; a full table makes room for a
//! newcomer by closing the oldest handshake of the address holding the most.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::address::canonical;
use super::{ConnectionLimits, Table};

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

impl ConnectionLimits {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::limits::tests::cfg;
    use std::time::Duration;

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
}
