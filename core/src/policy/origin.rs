//! Embed allow-lists: which web pages may play an asset, judged by the request's origin.
//!
//! Entries ([`OriginRule`]) come in three kinds:
//!
//! - `example.com`: that host exactly, over `http` or `https`, on any port;
//! - `*.example.com`: any subdomain of it at any depth (`a.example.com`, `a.b.example.com`),
//!   over `http` or `https`, on any port, but not `example.com` itself: list that too if wanted;
//! - `https://app.example.com:8443`: that origin exactly (scheme, host and port; a scheme's
//!   default port may be written or left out). Other schemes (`capacitor://localhost`) need
//!   this form.
//!
//! Hosts are compared in lower case. International domain names must be written in their
//! punycode (`xn--`) form, which is what browsers send.
//!
//! The request's origin is its `Origin` header if it has one, else the origin of its `Referer`.
//! `Origin: null` (sandboxed frames, `file:` pages, some redirects) never matches, even when a
//! `Referer` is present: the browser has said the origin is opaque. A `Referer` with user info
//! (`https://example.com@evil.test/`) never matches. When a list is set and the request has
//! neither header (or only empty ones), it is refused as [`Deny::OriginMissing`]: the usual
//! cause is a `Referrer-Policy: no-referrer` on the embedding page, which the customer must
//! relax to `origin` or `strict-origin-when-cross-origin` (the browsers' default) for an
//! allow-list to work. An empty list allows every origin, and no origin at all.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Deny, PolicyError};

/// A web origin: scheme, host and port, normalised (lower case; the scheme's default port
/// dropped; IPv6 hosts in brackets, compressed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

/// What may follow the host and port.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Nothing (an `Origin` header).
    Nothing,
    /// Nothing or a lone `/` (an allow-list entry pasted from the address bar).
    Slash,
    /// Any path, query and fragment (a `Referer`).
    Anything,
}

impl Origin {
    /// Parses a serialised origin (`https://example.com:8443`, as in an `Origin` header).
    /// `null` and anything with a path give `None`.
    pub fn parse(s: &str) -> Option<Self> {
        parse_origin(s, Tail::Nothing).ok()
    }

    /// The origin of an absolute URL (as in a `Referer` header).
    pub fn of_url(s: &str) -> Option<Self> {
        parse_origin(s, Tail::Anything).ok()
    }

    /// The scheme, lower case.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host, lower case; an IPv6 address is in brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, unless it is the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    fn is_web(&self) -> bool {
        self.scheme == "http" || self.scheme == "https"
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn parse_origin(s: &str, tail: Tail) -> Result<Origin, &'static str> {
    let (scheme, rest) = s.split_once("://").ok_or("not an origin (scheme://host)")?;
    let scheme = parse_scheme(scheme)?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    match tail {
        Tail::Nothing if !after.is_empty() => return Err("an origin has no path"),
        Tail::Slash if !after.is_empty() && after != "/" => return Err("an origin has no path"),
        _ => {}
    }
    // Browsers strip user info from a Referer; one that has it is crafted to confuse.
    if authority.contains('@') {
        return Err("user info (user@) is not allowed");
    }
    let (host, port) = split_port(authority)?;
    let host = parse_host(host)?;
    let port = match port {
        None => None,
        Some(p) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err("the port is not a number");
            }
            let p: u16 = p.parse().map_err(|_| "the port is above 65535")?;
            (Some(p) != default_port(&scheme)).then_some(p)
        }
    };
    Ok(Origin { scheme, host, port })
}

fn parse_scheme(s: &str) -> Result<String, &'static str> {
    let mut bytes = s.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic());
    if !first_ok || !bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) {
        return Err("the scheme is not valid");
    }
    Ok(s.to_ascii_lowercase())
}

/// Splits `host[:port]`, minding brackets around IPv6 addresses.
fn split_port(authority: &str) -> Result<(&str, Option<&str>), &'static str> {
    if authority.starts_with('[') {
        let close = authority.find(']').ok_or("unclosed [ in the host")?;
        let (host, rest) = authority.split_at(close + 1);
        match rest.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if rest.is_empty() => Ok((host, None)),
            None => Err("unexpected text after the host"),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => Ok((host, Some(port))),
            None => Ok((authority, None)),
        }
    }
}

/// A DNS name, IPv4 address or bracketed IPv6 address, lower-cased.
fn parse_host(host: &str) -> Result<String, &'static str> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or("unclosed [ in the host")?;
        let v6: Ipv6Addr = inner.parse().map_err(|_| "not an IPv6 address in [ ]")?;
        return Ok(format!("[{v6}]"));
    }
    if host.is_empty() {
        return Err("the host is empty");
    }
    if !host.is_ascii() {
        return Err("international domain names must be written in punycode (xn--...)");
    }
    if host.len() > 253 {
        return Err("the host is longer than 253 characters");
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err("the host has an empty label (a leading, trailing or double dot)");
        }
        if label.len() > 63 {
            return Err("a label of the host is longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("the host has characters not allowed in a domain name");
        }
    }
    Ok(host.to_ascii_lowercase())
}

/// One entry of an origin allow-list.
///
/// Parses from and serialises to the text forms in the [module docs](self); parsing
/// normalises case and default ports, so `HTTPS://App.Example.com:443/` is written back as
/// `https://app.example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OriginRule {
    /// `example.com`: this host, `http` or `https`, any port.
    Host(String),
    /// `*.example.com` (holding `example.com`): strict subdomains, `http` or `https`, any port.
    Subdomains(String),
    /// `https://app.example.com:8443`: exactly this origin.
    Exact(Origin),
}

impl OriginRule {
    /// Whether `origin` is allowed by this entry.
    pub fn matches(&self, origin: &Origin) -> bool {
        match self {
            OriginRule::Host(host) => origin.is_web() && origin.host == *host,
            OriginRule::Subdomains(base) => {
                origin.is_web()
                    && origin
                        .host
                        .strip_suffix(base.as_str())
                        .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
            }
            OriginRule::Exact(o) => o == origin,
        }
    }
}

/// The `Content-Security-Policy: frame-ancestors` value that lets exactly the pages an
/// allow-list admits frame a page: each entry's origins (any port for host entries), or `*`
/// for an empty list (no restriction). The browser then refuses to render the frame anywhere
/// else, which is what makes the list hold for an iframe embed: inside the frame the player's
/// requests carry the embed page's own origin, not the framing page's.
pub fn frame_ancestors(allowed: &[OriginRule]) -> String {
    if allowed.is_empty() {
        return "*".into();
    }
    let sources: Vec<String> = allowed
        .iter()
        .flat_map(|rule| match rule {
            OriginRule::Host(host) => vec![format!("http://{host}:*"), format!("https://{host}:*")],
            OriginRule::Subdomains(base) => {
                vec![format!("http://*.{base}:*"), format!("https://*.{base}:*")]
            }
            OriginRule::Exact(origin) => vec![origin.to_string()],
        })
        .collect();
    sources.join(" ")
}

/// Checks a request's `Origin` or, failing that, `Referer` header against an allow-list (see
/// the [module docs](self)). An empty list allows everything.
pub fn origin_allowed(
    allowed: &[OriginRule],
    origin: Option<&str>,
    referer: Option<&str>,
) -> Result<(), Deny> {
    if allowed.is_empty() {
        return Ok(());
    }
    let origin = match (
        origin.filter(|v| !v.is_empty()),
        referer.filter(|v| !v.is_empty()),
    ) {
        // `null` fails to parse, and the Referer is not consulted.
        (Some(o), _) => Origin::parse(o),
        (None, Some(r)) => Origin::of_url(r),
        (None, None) => return Err(Deny::OriginMissing),
    }
    .ok_or(Deny::OriginNotAllowed)?;
    if allowed.iter().any(|rule| rule.matches(&origin)) {
        Ok(())
    } else {
        Err(Deny::OriginNotAllowed)
    }
}

impl FromStr for OriginRule {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, PolicyError> {
        let bad = |reason| PolicyError::InvalidOrigin {
            entry: s.to_string(),
            reason,
        };
        let entry = s.trim();
        if entry.contains("://") {
            return parse_origin(entry, Tail::Slash)
                .map(OriginRule::Exact)
                .map_err(bad);
        }
        if entry.contains(['/', '?', '#']) {
            return Err(bad(
                "a host entry has no path; write the host alone, or a full origin (https://host)",
            ));
        }
        if let Some(base) = entry.strip_prefix("*.") {
            if base.contains('*') {
                return Err(bad("only one leading wildcard (*.example.com) is allowed"));
            }
            if base.starts_with('[') || base.parse::<Ipv4Addr>().is_ok() {
                return Err(bad("a wildcard needs a domain name, not an IP address"));
            }
            if base.contains(':') {
                return Err(bad(
                    "a wildcard entry has no port; it allows every port of every subdomain",
                ));
            }
            return parse_host(base).map(OriginRule::Subdomains).map_err(bad);
        }
        if entry.contains('*') {
            return Err(bad(
                "a wildcard must be a whole leading label, as in *.example.com",
            ));
        }
        let (host, port) = split_port(entry).map_err(bad)?;
        if port.is_some() {
            return Err(bad(
                "a host entry has no port; write the full origin (https://host:port) to pin one",
            ));
        }
        parse_host(host).map(OriginRule::Host).map_err(bad)
    }
}

impl fmt::Display for OriginRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginRule::Host(host) => f.write_str(host),
            OriginRule::Subdomains(base) => write!(f, "*.{base}"),
            OriginRule::Exact(origin) => write!(f, "{origin}"),
        }
    }
}

impl Serialize for OriginRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OriginRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> OriginRule {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn rules(list: &[&str]) -> Vec<OriginRule> {
        list.iter().map(|s| rule(s)).collect()
    }

    fn allows(list: &[&str], origin: &str) -> bool {
        origin_allowed(&rules(list), Some(origin), None).is_ok()
    }

    #[test]
    fn origins_parse_and_normalise() {
        let o = Origin::parse("HTTPS://App.Example.COM:443").unwrap();
        assert_eq!(
            (o.scheme(), o.host(), o.port()),
            ("https", "app.example.com", None)
        );
        assert_eq!(o.to_string(), "https://app.example.com");
        let o = Origin::parse("http://example.com:8080").unwrap();
        assert_eq!(o.port(), Some(8080));
        assert_eq!(o.to_string(), "http://example.com:8080");
        assert_eq!(
            Origin::parse("http://example.com:80"),
            Origin::parse("http://example.com")
        );
        let o = Origin::parse("http://[2001:DB8::0001]:3000").unwrap();
        assert_eq!(o.host(), "[2001:db8::1]");
        assert_eq!(o.to_string(), "http://[2001:db8::1]:3000");
        assert_eq!(
            Origin::parse("capacitor://localhost").unwrap().to_string(),
            "capacitor://localhost"
        );
        for bad in [
            "null",
            "",
            "example.com",
            "https://",
            "https://example.com/",
            "https://example.com/path",
            "https://example.com?q",
            "https://example.com:",
            "https://example.com:65536",
            "https://example.com:+80",
            "https://example.com:80:80",
            "https://exa mple.com",
            "https://example..com",
            "https://example.com.",
            "https://.example.com",
            "https://bücher.example",
            "https://user@example.com",
            "https://[::1",
            "https://[::1]x",
            "https://[nope]",
            "1http://example.com",
            "ht tp://example.com",
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn referers_give_their_origin() {
        let o = Origin::of_url("https://Blog.Example.com:8443/post/1?x=y#top").unwrap();
        assert_eq!(o.to_string(), "https://blog.example.com:8443");
        assert_eq!(
            Origin::of_url("https://example.com?q=1").unwrap().host(),
            "example.com"
        );
        assert_eq!(
            Origin::of_url("https://evil.test#@example.com")
                .unwrap()
                .host(),
            "evil.test"
        );
        assert_eq!(
            Origin::of_url("https://evil.test/@example.com")
                .unwrap()
                .host(),
            "evil.test"
        );
        assert_eq!(Origin::of_url("https://example.com@evil.test/"), None);
        assert_eq!(Origin::of_url("https://evil.test\\@example.com/"), None);
        assert_eq!(Origin::of_url("about:blank"), None);
        assert_eq!(Origin::of_url("/relative/path"), None);
    }

    #[test]
    fn host_entries_match_that_host_only() {
        let list = ["example.com"];
        assert!(allows(&list, "https://example.com"));
        assert!(allows(&list, "http://example.com"));
        assert!(allows(&list, "https://EXAMPLE.com:8443"));
        assert!(!allows(&list, "https://www.example.com"));
        assert!(!allows(&list, "https://example.com.evil.test"));
        assert!(!allows(&list, "https://badexample.com"));
        assert!(!allows(&list, "https://example.co"));
        // Host entries are for web pages: other schemes need an exact origin.
        assert!(!allows(&list, "capacitor://example.com"));
        assert!(!allows(&list, "ws://example.com"));
        assert_eq!(rule("Example.COM"), OriginRule::Host("example.com".into()));
        assert!(allows(&["localhost"], "http://localhost:5173"));
        assert!(allows(&["127.0.0.1"], "http://127.0.0.1:8080"));
        assert!(allows(&["[::1]"], "http://[::1]:8080"));
    }

    #[test]
    fn wildcards_match_subdomains_not_the_apex() {
        let list = ["*.example.com"];
        assert!(allows(&list, "https://app.example.com"));
        assert!(allows(&list, "https://a.b.example.com:444"));
        assert!(allows(&list, "http://WWW.Example.Com"));
        assert!(!allows(&list, "https://example.com"));
        assert!(!allows(&list, "https://badexample.com"));
        assert!(!allows(&list, "https://example.com.evil.test"));
        assert!(!allows(&list, "https://app.example.co"));
        assert!(!allows(&list, "capacitor://app.example.com"));
        // With the apex listed too.
        assert!(allows(
            &["*.example.com", "example.com"],
            "https://example.com"
        ));
    }

    #[test]
    fn exact_origins_pin_scheme_host_and_port() {
        let list = ["https://app.example.com:8443"];
        assert!(allows(&list, "https://app.example.com:8443"));
        assert!(allows(&list, "https://APP.example.com:8443"));
        assert!(!allows(&list, "https://app.example.com"));
        assert!(!allows(&list, "http://app.example.com:8443"));
        assert!(!allows(&list, "https://app.example.com:8444"));
        assert!(!allows(&list, "https://x.app.example.com:8443"));
        // Default ports are the same as none.
        let list = ["https://app.example.com:443/"];
        assert!(allows(&list, "https://app.example.com"));
        assert!(allows(&list, "https://app.example.com:443"));
        assert!(!allows(&list, "http://app.example.com"));
        // Custom schemes, as webviews send them.
        assert!(allows(&["capacitor://localhost"], "capacitor://localhost"));
        assert!(!allows(&["capacitor://localhost"], "http://localhost"));
    }

    #[test]
    fn referer_is_used_only_without_origin() {
        let list = rules(&["example.com"]);
        let ok = |o, r| origin_allowed(&list, o, r);
        assert_eq!(ok(None, Some("https://example.com/watch?v=1")), Ok(()));
        assert_eq!(
            ok(None, Some("https://evil.test/")),
            Err(Deny::OriginNotAllowed)
        );
        // The Origin header wins over the Referer, both ways.
        assert_eq!(
            ok(Some("https://evil.test"), Some("https://example.com/")),
            Err(Deny::OriginNotAllowed)
        );
        assert_eq!(
            ok(Some("https://example.com"), Some("https://evil.test/")),
            Ok(())
        );
        // `null` is refused and does not fall back on the Referer.
        assert_eq!(
            ok(Some("null"), Some("https://example.com/")),
            Err(Deny::OriginNotAllowed)
        );
        assert_eq!(ok(Some("null"), None), Err(Deny::OriginNotAllowed));
        // Unparseable headers are refused.
        assert_eq!(ok(Some("example.com"), None), Err(Deny::OriginNotAllowed));
        assert_eq!(
            ok(None, Some("https://example.com@evil.test/")),
            Err(Deny::OriginNotAllowed)
        );
        // Neither header, or empty ones: missing.
        assert_eq!(ok(None, None), Err(Deny::OriginMissing));
        assert_eq!(ok(Some(""), Some("")), Err(Deny::OriginMissing));
        assert_eq!(ok(Some(""), Some("https://example.com/")), Ok(()));
    }

    #[test]
    fn an_empty_list_allows_anything() {
        assert_eq!(origin_allowed(&[], None, None), Ok(()));
        assert_eq!(origin_allowed(&[], Some("null"), None), Ok(()));
        assert_eq!(origin_allowed(&[], Some("https://evil.test"), None), Ok(()));
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        let cases = [
            ("", "the host is empty"),
            (
                "*",
                "a wildcard must be a whole leading label, as in *.example.com",
            ),
            (
                "*example.com",
                "a wildcard must be a whole leading label, as in *.example.com",
            ),
            (
                "app.*.example.com",
                "a wildcard must be a whole leading label, as in *.example.com",
            ),
            (
                "*.*.example.com",
                "only one leading wildcard (*.example.com) is allowed",
            ),
            ("*.", "the host is empty"),
            (
                "*.10.0.0.1",
                "a wildcard needs a domain name, not an IP address",
            ),
            (
                "*.[::1]",
                "a wildcard needs a domain name, not an IP address",
            ),
            (
                "*.example.com:443",
                "a wildcard entry has no port; it allows every port of every subdomain",
            ),
            (
                "example.com:8080",
                "a host entry has no port; write the full origin (https://host:port) to pin one",
            ),
            (
                "example.com/videos",
                "a host entry has no path; write the host alone, or a full origin (https://host)",
            ),
            (
                "example.com.",
                "the host has an empty label (a leading, trailing or double dot)",
            ),
            (
                "exa mple.com",
                "the host has characters not allowed in a domain name",
            ),
            (
                "bücher.example",
                "international domain names must be written in punycode (xn--...)",
            ),
            ("https://example.com/videos", "an origin has no path"),
            (
                "https://user@example.com",
                "user info (user@) is not allowed",
            ),
            ("https://example.com:99999", "the port is above 65535"),
            ("https://example.com:http", "the port is not a number"),
            ("://example.com", "the scheme is not valid"),
            ("https://[::1", "unclosed [ in the host"),
            ("https://[zz]", "not an IPv6 address in [ ]"),
        ];
        for (entry, reason) in cases {
            assert_eq!(
                entry.parse::<OriginRule>(),
                Err(PolicyError::InvalidOrigin {
                    entry: entry.into(),
                    reason
                }),
                "{entry:?}"
            );
        }
        let long = format!("{}.com", "a".repeat(64));
        assert!(long.parse::<OriginRule>().is_err());
        let too_long = ["abc"; 64].join(".");
        assert!(too_long.parse::<OriginRule>().is_err());
    }

    #[test]
    fn display_and_serde_round_trip() {
        for (given, written) in [
            ("Example.com", "example.com"),
            ("*.Example.com", "*.example.com"),
            ("HTTPS://App.Example.com:443/", "https://app.example.com"),
            (
                "https://app.example.com:8443",
                "https://app.example.com:8443",
            ),
            (" localhost ", "localhost"),
            ("[::1]", "[::1]"),
        ] {
            let r = rule(given);
            assert_eq!(r.to_string(), written);
            assert_eq!(rule(written), r);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{written}\""));
            assert_eq!(serde_json::from_str::<OriginRule>(&json).unwrap(), r);
        }
        assert!(serde_json::from_str::<OriginRule>("\"*\"").is_err());
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn label() -> impl Strategy<Value = String> {
        "[a-z0-9][a-z0-9-]{0,8}"
    }

    fn domain() -> impl Strategy<Value = String> {
        prop::collection::vec(label(), 1..4).prop_map(|l| l.join("."))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// `*.d` matches exactly the hosts that end in `.d` with something before, and never
        /// `d` itself; `d` matches only itself; case never matters.
        #[test]
        fn wildcard_and_host_semantics(base in domain(), host in domain(), upper in any::<bool>()) {
            let wildcard: OriginRule = format!("*.{base}").parse().unwrap();
            let exact: OriginRule = base.parse().unwrap();
            let shown = if upper { host.to_ascii_uppercase() } else { host.clone() };
            let o = Origin::parse(&format!("https://{shown}")).unwrap();
            let is_sub = host.ends_with(&format!(".{base}"));
            prop_assert_eq!(wildcard.matches(&o), is_sub);
            prop_assert_eq!(exact.matches(&o), host == base);
            let apex = Origin::parse(&format!("https://{base}")).unwrap();
            prop_assert!(!wildcard.matches(&apex));
        }

        #[test]
        fn parsing_never_panics_and_round_trips(s in "[a-zA-Z0-9:/.*@\\[\\]?#%-]{0,40}") {
            let _ = Origin::parse(&s);
            let _ = Origin::of_url(&s);
            if let Ok(r) = s.parse::<OriginRule>() {
                prop_assert_eq!(r.to_string().parse::<OriginRule>().unwrap(), r);
            }
        }

        /// A Referer's origin is the origin of the page, whatever its path.
        #[test]
        fn referer_path_is_ignored(host in domain(), path in "[a-zA-Z0-9/?#@:._-]{0,30}") {
            let r = format!("https://{host}/{path}");
            prop_assert_eq!(Origin::of_url(&r), Origin::parse(&format!("https://{host}")));
        }
    }

    #[test]
    fn frame_ancestors_follow_the_allow_list() {
        let rules: Vec<OriginRule> = ["example.com", "*.video.test", "https://app.test:8443"]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect();
        assert_eq!(
            frame_ancestors(&rules),
            "http://example.com:* https://example.com:* http://*.video.test:* \
             https://*.video.test:* https://app.test:8443"
        );
        assert_eq!(frame_ancestors(&[]), "*");
    }
}
