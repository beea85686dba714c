//! The client's address behind a reverse proxy.
//!
//! Behind a proxy every connection comes from the proxy, so limits on sign-in attempts per
//! address and the audit's address hashes would lump everyone together. The proxy says who
//! connected to it in a header (`X-Forwarded-For` by default). That header is believed only
//! when the connection comes from a proxy the relay was told to trust (`--trusted-proxies`);
//! otherwise anyone could write any address into it. No I/O here.

use axum::http::{HeaderMap, HeaderName};
use std::net::IpAddr;

/// Which connecting addresses are the council's own proxies, and the header they write.
#[derive(Debug, Clone)]
pub struct TrustedProxies {
    /// Networks as (address, prefix length).
    nets: Vec<(IpAddr, u8)>,
    header: HeaderName,
}

impl Default for TrustedProxies {
    /// Trusts nobody: the connection's own address is the client's.
    fn default() -> Self {
        Self {
            nets: Vec::new(),
            header: HeaderName::from_static("x-forwarded-for"),
        }
    }
}

impl TrustedProxies {
    /// `list`: addresses or networks, comma-separated (`127.0.0.1, 10.0.0.0/8, ::1`).
    /// `header`: the header the proxies write the client's address in.
    pub fn parse(list: &str, header: &str) -> Result<Self, String> {
        let header = HeaderName::try_from(header.trim())
            .map_err(|_| format!("{header} is not a header name"))?;
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, prefix) = match item.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (item, None),
            };
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("{item} is not an address or network like 10.0.0.0/8"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("{item} has a prefix length that does not fit"))?,
            };
            nets.push((addr, prefix));
        }
        Ok(Self { nets, header })
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.nets
            .iter()
            .any(|(net, prefix)| within(addr, net.to_canonical(), *prefix))
    }

    /// The client's address: the connection's, unless that is a trusted proxy; then the
    /// nearest address in the proxies' header that is not itself a trusted proxy. Anything
    /// unreadable in the header stops the walk there (it was written by someone untrusted).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all(&self.header)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(addr) => {
                    client = addr.to_canonical();
                    if !self.trusts(addr) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

/// Whether `addr` is in the network `net`/`prefix` (both of one family, else no).
fn within(addr: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_is_believed_only_from_a_trusted_proxy() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, ::1", "X-Forwarded-For").unwrap();
        let h = headers(&["203.0.113.7"]);
        assert_eq!(proxies.client(ip("10.1.2.3"), &h), ip("203.0.113.7"));
        assert_eq!(proxies.client(ip("::1"), &h), ip("203.0.113.7"));
        // Straight from the internet, the header is whatever the client wrote.
        assert_eq!(proxies.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        // Nobody trusted by default.
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.1.2.3"), &h), ip("10.1.2.3"));
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8", "x-forwarded-for").unwrap();
        // The client made up the first entry; our proxies added the rest.
        let h = headers(&["1.1.1.1, 203.0.113.7", "10.0.0.5"]);
        assert_eq!(proxies.client(ip("10.0.0.9"), &h), ip("203.0.113.7"));
        // Garbage stops the walk at the last address our proxies vouch for.
        let h = headers(&["203.0.113.7, nonsense, 10.0.0.5"]);
        assert_eq!(proxies.client(ip("10.0.0.9"), &h), ip("10.0.0.5"));
        // No header: the proxy itself.
        assert_eq!(
            proxies.client(ip("10.0.0.9"), &HeaderMap::new()),
            ip("10.0.0.9")
        );
        // An IPv4 client over an IPv6 socket is the IPv4 address.
        let h = headers(&["::ffff:203.0.113.7"]);
        assert_eq!(proxies.client(ip("10.0.0.9"), &h), ip("203.0.113.7"));
        assert_eq!(
            proxies.client(ip("::ffff:10.0.0.9"), &headers(&["203.0.113.8"])),
            ip("203.0.113.8")
        );
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        assert!(TrustedProxies::parse("10.0.0.0/33", "x").is_err());
        assert!(TrustedProxies::parse("proxy.example", "x").is_err());
        assert!(TrustedProxies::parse("", "bad header").is_err());
        assert!(TrustedProxies::parse("0.0.0.0/0", "x-real-ip").is_ok());
    }
}
