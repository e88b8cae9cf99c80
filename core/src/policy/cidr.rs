//! IP allow-list entries: IPv4 and IPv6 CIDR blocks, and single addresses.
//!
//! IPv4 is one address family whichever way it arrives: a dual-stack listener reports an IPv4
//! client as `::ffff:a.b.c.d`, so IPv4-mapped addresses are read as the IPv4 address they carry,
//! both in the client's address and in entries (`::ffff:10.0.0.0/104` is `10.0.0.0/8`). Other
//! IPv6 entries never match IPv4 clients, `::/0` included.
//!
//! Entries must name the network itself: `10.0.0.1/8` is refused (it is usually a typo for a
//! host or for another network), and the error names the network it would cover.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Deny, PolicyError};

/// An IPv4 or IPv6 network: an address and a prefix length.
///
/// Parses from and serialises to its text form: `10.0.0.0/8`, `2001:db8::/32`, or a single
/// address (`192.0.2.7`, `::1`), which is a full-length prefix and is written without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    /// The network address (no bits set past the prefix); never IPv4-mapped IPv6.
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The network `addr/prefix`; `addr` must have no bits set past the prefix.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, PolicyError> {
        let bad = |reason: String| PolicyError::InvalidCidr {
            entry: format!("{addr}/{prefix}"),
            reason,
        };
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                // The mapped prefix ::ffff:0:0/96 is the whole of IPv4.
                Some(v4) if prefix >= 96 => (IpAddr::V4(v4), prefix - 96),
                _ => (addr, prefix),
            },
            IpAddr::V4(_) => (addr, prefix),
        };
        let max = max_prefix(addr);
        if prefix > max {
            return Err(bad(format!("the prefix is longer than {max} bits")));
        }
        let network = mask(addr, prefix);
        if network != addr {
            return Err(bad(format!(
                "bits are set past the prefix; the network is {}",
                Cidr {
                    addr: network,
                    prefix
                }
            )));
        }
        Ok(Self { addr, prefix })
    }

    /// The network address (IPv4 for IPv4-mapped entries).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in this network (IPv4-mapped IPv6 read as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let same_family = ip.is_ipv4() == self.addr.is_ipv4();
        same_family && mask(ip, self.prefix) == self.addr
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `addr` with every bit past `prefix` cleared (`prefix` at most the family's width).
fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from_bits(a.to_bits() & m))
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from_bits(a.to_bits() & m))
        }
    }
}

/// Checks `ip` against an allow-list: an empty list allows every address.
pub fn ip_allowed(allowed: &[Cidr], ip: IpAddr) -> Result<(), Deny> {
    if allowed.is_empty() || allowed.iter().any(|c| c.contains(ip)) {
        Ok(())
    } else {
        Err(Deny::IpNotAllowed)
    }
}

impl FromStr for Cidr {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, PolicyError> {
        let entry = s.trim();
        let bad = |reason: &str| PolicyError::InvalidCidr {
            entry: s.to_string(),
            reason: reason.to_string(),
        };
        let (addr, prefix) = match entry.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (entry, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| bad("not an IPv4 or IPv6 address"))?;
        let prefix = match prefix {
            None => max_prefix(addr),
            Some(p) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("the prefix length is not a number of bits"));
                }
                match p.parse::<u8>() {
                    Ok(p) if p <= max_prefix(addr) => p,
                    _ if addr.is_ipv4() => return Err(bad("the prefix is longer than 32 bits")),
                    _ => return Err(bad("the prefix is longer than 128 bits")),
                }
            }
        };
        Cidr::new(addr, prefix).map_err(|e| match e {
            PolicyError::InvalidCidr { reason, .. } => PolicyError::InvalidCidr {
                entry: s.to_string(),
                reason,
            },
            other => other,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == max_prefix(self.addr) {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_blocks() {
        let n = c("10.0.0.0/8");
        assert_eq!((n.addr(), n.prefix()), (ip("10.0.0.0"), 8));
        assert!(n.contains(ip("10.0.0.0")));
        assert!(n.contains(ip("10.255.255.255")));
        assert!(!n.contains(ip("11.0.0.0")));
        assert!(!n.contains(ip("9.255.255.255")));
        let m = c("192.168.1.128/25");
        assert!(m.contains(ip("192.168.1.200")));
        assert!(!m.contains(ip("192.168.1.127")));
    }

    #[test]
    fn ipv6_blocks() {
        let n = c("2001:db8::/32");
        assert!(n.contains(ip("2001:db8::1")));
        assert!(n.contains(ip("2001:db8:ffff:ffff::")));
        assert!(!n.contains(ip("2001:db9::")));
        assert!(!n.contains(ip("10.0.0.1")));
        assert!(c("2001:DB8::/32") == n);
    }

    #[test]
    fn single_addresses_are_full_prefixes() {
        let a = c("192.0.2.7");
        assert_eq!(a.prefix(), 32);
        assert!(a.contains(ip("192.0.2.7")));
        assert!(!a.contains(ip("192.0.2.8")));
        assert_eq!(a, c("192.0.2.7/32"));
        let b = c("::1");
        assert_eq!(b.prefix(), 128);
        assert!(b.contains(ip("::1")));
        assert!(!b.contains(ip("::2")));
        assert_eq!(c(" 192.0.2.7 "), a);
    }

    #[test]
    fn zero_prefixes_cover_their_family_only() {
        assert!(c("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(!c("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(c("::/0").contains(ip("2001:db8::1")));
        assert!(!c("::/0").contains(ip("203.0.113.9")));
        assert!(!c("::/0").contains(ip("::ffff:203.0.113.9")));
    }

    #[test]
    fn ipv4_mapped_addresses_match_ipv4_rules() {
        let n = c("10.0.0.0/8");
        assert!(n.contains(ip("::ffff:10.1.2.3")));
        assert!(!n.contains(ip("::ffff:11.1.2.3")));
        // An entry written mapped is the IPv4 network it carries.
        let m = c("::ffff:10.0.0.0/104");
        assert_eq!(m, n);
        assert_eq!(m.to_string(), "10.0.0.0/8");
        assert!(m.contains(ip("10.9.9.9")));
        assert_eq!(c("::ffff:192.0.2.7"), c("192.0.2.7"));
        assert_eq!(c("::ffff:0:0/96"), c("0.0.0.0/0"));
        // A network wider than the mapped range is IPv6, and holds no IPv4 client.
        let wide = c("::fffe:0:0/95");
        assert!(wide.addr().is_ipv6());
        assert!(!wide.contains(ip("10.0.0.1")));
        assert!(!wide.contains(ip("::ffff:10.0.0.1")));
        assert!(wide.contains(ip("::fffe:1:2")));
        // IPv4-compatible (::a.b.c.d, deprecated) addresses are not IPv4.
        assert!(!n.contains(ip("::10.1.2.3")));
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        let cases = [
            ("", "not an IPv4 or IPv6 address"),
            ("example.com", "not an IPv4 or IPv6 address"),
            ("10.0.0/8", "not an IPv4 or IPv6 address"),
            ("010.0.0.0/8", "not an IPv4 or IPv6 address"),
            ("256.0.0.0/8", "not an IPv4 or IPv6 address"),
            ("fe80::1%eth0", "not an IPv4 or IPv6 address"),
            ("[::1]/128", "not an IPv4 or IPv6 address"),
            ("10.0.0.0/", "the prefix length is not a number of bits"),
            ("10.0.0.0/+8", "the prefix length is not a number of bits"),
            ("10.0.0.0/-1", "the prefix length is not a number of bits"),
            ("10.0.0.0/8/8", "the prefix length is not a number of bits"),
            ("10.0.0.0/ 8", "the prefix length is not a number of bits"),
            ("10.0.0.0/33", "the prefix is longer than 32 bits"),
            ("10.0.0.0/256", "the prefix is longer than 32 bits"),
            ("10.0.0.0/99999999999", "the prefix is longer than 32 bits"),
            ("2001:db8::/129", "the prefix is longer than 128 bits"),
            (
                "10.0.0.1/8",
                "bits are set past the prefix; the network is 10.0.0.0/8",
            ),
            (
                "2001:db8::1/32",
                "bits are set past the prefix; the network is 2001:db8::/32",
            ),
            (
                "::ffff:10.0.0.1/104",
                "bits are set past the prefix; the network is 10.0.0.0/8",
            ),
        ];
        for (entry, reason) in cases {
            match entry.parse::<Cidr>() {
                Err(PolicyError::InvalidCidr {
                    entry: e,
                    reason: r,
                }) => {
                    assert_eq!((e.as_str(), r.as_str()), (entry, reason));
                }
                other => panic!("{entry:?}: {other:?}"),
            }
        }
        let e = "10.0.0.1/8".parse::<Cidr>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid IP allow-list entry \"10.0.0.1/8\": bits are set past the prefix; \
             the network is 10.0.0.0/8"
        );
        assert_eq!(e.code(), "invalid_cidr");
    }

    #[test]
    fn display_and_serde_round_trip() {
        for s in [
            "10.0.0.0/8",
            "192.0.2.7",
            "2001:db8::/32",
            "::1",
            "0.0.0.0/0",
        ] {
            assert_eq!(c(s).to_string(), s);
            let json = serde_json::to_string(&c(s)).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Cidr>(&json).unwrap(), c(s));
        }
        assert!(serde_json::from_str::<Cidr>("\"10.0.0.1/8\"").is_err());
        assert!(serde_json::from_str::<Cidr>("17").is_err());
    }

    #[test]
    fn allow_lists() {
        let list = [c("10.0.0.0/8"), c("2001:db8::/32")];
        assert_eq!(ip_allowed(&list, ip("10.2.3.4")), Ok(()));
        assert_eq!(ip_allowed(&list, ip("::ffff:10.2.3.4")), Ok(()));
        assert_eq!(ip_allowed(&list, ip("2001:db8::5")), Ok(()));
        assert_eq!(ip_allowed(&list, ip("192.0.2.1")), Err(Deny::IpNotAllowed));
        assert_eq!(ip_allowed(&list, ip("2001:db9::")), Err(Deny::IpNotAllowed));
        assert_eq!(ip_allowed(&[], ip("192.0.2.1")), Ok(()));
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Membership is "the first `prefix` bits agree", for IPv4 in both spellings.
        #[test]
        fn v4_membership(net in any::<u32>(), prefix in 0u8..=32, probe in any::<u32>()) {
            let shift = 32 - u32::from(prefix);
            let net = net.checked_shr(shift).unwrap_or(0).checked_shl(shift).unwrap_or(0);
            let cidr = Cidr::new(IpAddr::V4(Ipv4Addr::from_bits(net)), prefix).unwrap();
            let same = (net ^ probe).checked_shr(shift).unwrap_or(0) == 0;
            let v4 = Ipv4Addr::from_bits(probe);
            prop_assert_eq!(cidr.contains(IpAddr::V4(v4)), same);
            prop_assert_eq!(cidr.contains(IpAddr::V6(v4.to_ipv6_mapped())), same);
            prop_assert_eq!(cidr.to_string().parse::<Cidr>().unwrap(), cidr);
        }

        #[test]
        fn v6_membership(net in any::<u128>(), prefix in 0u8..=128, probe in any::<u128>()) {
            let shift = 128 - u32::from(prefix);
            let net = net.checked_shr(shift).unwrap_or(0).checked_shl(shift).unwrap_or(0);
            let addr = Ipv6Addr::from_bits(net);
            prop_assume!(addr.to_ipv4_mapped().is_none());
            let cidr = Cidr::new(IpAddr::V6(addr), prefix).unwrap();
            let probe = Ipv6Addr::from_bits(probe);
            prop_assume!(probe.to_ipv4_mapped().is_none());
            let same = (net ^ probe.to_bits()).checked_shr(shift).unwrap_or(0) == 0;
            prop_assert_eq!(cidr.contains(IpAddr::V6(probe)), same);
            prop_assert_eq!(cidr.to_string().parse::<Cidr>().unwrap(), cidr);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "[0-9a-fA-F:./%]{0,50}") {
            if let Ok(c) = s.parse::<Cidr>() {
                prop_assert_eq!(c.to_string().parse::<Cidr>().unwrap(), c);
            }
        }
    }
}
