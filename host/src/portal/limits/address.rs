//! The client address throttles and logs see: the peer, or the forwarded address behind a
//! trusted reverse proxy; IPv4-mapped IPv6 addresses counted as IPv4.

use std::net::{IpAddr, SocketAddr};

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
pub(super) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
