//! Address groups: the unit every per-address limit counts in (an IPv6 prefix, an IPv4 address
//! or prefix), in the portal and in the server's throttles alike.

use std::net::IpAddr;

use super::Config;

impl Config {
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
}

/// `ip` with all but its first `prefix` bits cleared.
fn mask_v4(ip: std::net::Ipv4Addr, prefix: u8) -> std::net::Ipv4Addr {
    let bits = u32::from(prefix.min(32));
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    (u32::from(ip) & mask).into()
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use crate::config::tests::refused;
    use crate::config::Config;

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
        refused(Config { ipv4_prefix_len: 33, ..Config::default() }, "ipv4_prefix_len", "8-32");
        refused(Config { ipv6_prefix_len: 8, ..Config::default() }, "ipv6_prefix_len", "16-128");
    }
}
