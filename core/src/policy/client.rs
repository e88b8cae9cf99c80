//! Who is asking: the client address a policy judges, and the key its password guesses are
//! counted under.
//!
//! **The address.** A header such as `X-Forwarded-For` is written by whoever sends the request,
//! so it says something only about the hops a trusted proxy appended. The rule (the one
//! RFC 7239 and every careful proxy set-up use): start from the socket peer; while the address
//! in hand is a trusted proxy, step one entry to the left in the forwarded list (all header
//! lines joined in order, as RFC 9110 §5.3 defines them); the first address that is not a
//! trusted proxy is the client. A request whose peer is not a trusted proxy is judged by its
//! peer, whatever it claims. A garbled entry stops the walk at the proxy that passed it on.
//!
//! **The guess key.** An IPv6 client holds a whole /64 (one host gets one by SLAAC), so
//! counting guesses per address would give it 2^64 budgets; guesses are counted per /64 for
//! IPv6 and per address for IPv4.

use core::net::{IpAddr, Ipv6Addr};

use super::Cidr;

/// The client address: the peer, or, when the peer is a trusted proxy, the rightmost address
/// of `forwarded` (every line of the forwarded header, in order) that is not a trusted proxy.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded: impl IntoIterator<Item = &'a str>,
    trusted: &[Cidr],
) -> IpAddr {
    let trusted_hop = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !trusted_hop(peer) {
        return peer.to_canonical();
    }
    let hops: Vec<&str> = forwarded
        .into_iter()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // A garbled entry was written by whoever the last trusted proxy heard from: that
        // proxy's peer is as far as anything is known.
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !trusted_hop(ip) {
            break;
        }
    }
    client.to_canonical()
}

/// An address as proxies write it: bare, `[v6]`, or with a port (`1.2.3.4:56`, `[v6]:78`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<core::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The part of `ip` password guesses are counted under: the IPv4 address, or the IPv6 /64.
pub fn guess_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let net = Ipv6Addr::from_bits(v6.to_bits() & (u128::MAX << 64));
            format!("{net}/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> Vec<Cidr> {
        vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()]
    }

    #[test]
    fn a_peer_that_is_no_trusted_proxy_is_the_client() {
        let peer = ip("198.51.100.7");
        assert_eq!(client_ip(peer, ["203.0.113.5"], &proxies()), peer);
        assert_eq!(client_ip(peer, ["203.0.113.5"], &[]), peer);
    }

    #[test]
    fn the_address_the_trusted_proxy_appended_wins_over_what_the_client_wrote() {
        let peer = ip("10.0.0.2");
        // The client wrote an allowed address in its own header line; the proxy appended
        // another line with the address it saw.
        let lines = ["203.0.113.5", "198.51.100.7"];
        assert_eq!(client_ip(peer, lines, &proxies()), ip("198.51.100.7"));
        // Same in one comma-joined line.
        let joined = ["203.0.113.5, 198.51.100.7"];
        assert_eq!(client_ip(peer, joined, &proxies()), ip("198.51.100.7"));
    }

    #[test]
    fn chains_of_trusted_proxies_are_walked_from_the_right() {
        let peer = ip("10.0.0.2");
        let lines = ["203.0.113.5, 198.51.100.7, 10.1.2.3"];
        assert_eq!(client_ip(peer, lines, &proxies()), ip("198.51.100.7"));
        // Every hop trusted: the leftmost one is as far as anyone knows.
        assert_eq!(
            client_ip(peer, ["10.9.9.9, 10.1.2.3"], &proxies()),
            ip("10.9.9.9")
        );
        // No header: the proxy itself.
        assert_eq!(client_ip(peer, [], &proxies()), peer);
    }

    #[test]
    fn garbled_entries_stop_the_walk_and_ports_and_brackets_are_read() {
        let peer = ip("10.0.0.2");
        assert_eq!(client_ip(peer, ["203.0.113.5, nonsense"], &proxies()), peer);
        assert_eq!(
            client_ip(peer, ["198.51.100.7:4711"], &proxies()),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(peer, ["[2001:db8::7]:443"], &proxies()),
            ip("2001:db8::7")
        );
        assert_eq!(
            client_ip(ip("::1"), ["::ffff:192.0.2.1"], &proxies()),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn guesses_are_counted_per_ipv4_address_and_per_ipv6_slash_64() {
        assert_eq!(guess_key(ip("192.0.2.1")), "192.0.2.1");
        assert_eq!(guess_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
        let a = guess_key(ip("2001:db8:1:2::1"));
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(guess_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), a);
        assert_ne!(guess_key(ip("2001:db8:1:3::1")), a);
    }
}
