//! What a beacon request may leave behind, computed before anything is stored: the client's
//! address truncated (and only ever used for the country lookup and the day's pseudonym), the
//! user agent coarsened to browser family and major version, OS family and device class, the
//! referrer cut to its host, and keyed hashes in place of any identifier. (Errors cross the wire
//! as codes only, so no message, which could quote a URL, ever reaches the server.)

use core::net::IpAddr;

use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// The address with its host part cleared: IPv4 to its /24, IPv6 to its /48 (Mux and Matomo's
/// CNIL setting keep no more).
pub fn truncate_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => truncate_ip(IpAddr::V4(v4)),
            None => {
                let mut o = v6.octets();
                o[6..].fill(0);
                IpAddr::from(o)
            }
        },
    }
}

/// A user agent as far as analytics may know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoarseAgent {
    /// `Chrome`, `Edge`, `Firefox`, `Safari`, `Opera`, `Samsung Internet` or `Other`.
    pub browser: &'static str,
    /// The major version, if the agent names one.
    pub major: Option<u32>,
    /// `Windows`, `macOS`, `iOS`, `Android`, `ChromeOS`, `Linux` or `Other`.
    pub os: &'static str,
    /// `desktop`, `mobile`, `tablet` or `bot`.
    pub device: &'static str,
}

impl CoarseAgent {
    /// `Chrome 131`, or the family alone without a version.
    pub fn browser_label(&self) -> String {
        match self.major {
            Some(v) => format!("{} {v}", self.browser),
            None => self.browser.to_owned(),
        }
    }
}

/// The major version after `token` (`Chrome/131.0.1` → 131).
fn major_after(ua: &str, token: &str) -> Option<u32> {
    let rest = &ua[ua.find(token)? + token.len()..];
    let digits: &str = &rest[..rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len())];
    digits.parse().ok()
}

/// Coarsens a `User-Agent` header. The most specific browser tokens are tried first: Edge,
/// Opera and Samsung Internet also say `Chrome`, and Chrome also says `Safari`.
pub fn coarsen_agent(ua: &str) -> CoarseAgent {
    let lower = ua.to_ascii_lowercase();
    let browsers: [(&str, &'static str); 9] = [
        ("Edg/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("FxiOS/", "Firefox"),
        ("Firefox/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chrome"),
    ];
    let (browser, major) = browsers
        .iter()
        .find(|(token, _)| ua.contains(token))
        .map(|&(token, name)| (name, major_after(ua, token)))
        .or_else(|| {
            (ua.contains("Safari/") && ua.contains("Version/"))
                .then(|| ("Safari", major_after(ua, "Version/")))
        })
        .unwrap_or(("Other", None));
    let os = if ua.contains("Windows NT") {
        "Windows"
    } else if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        "iOS"
    } else if ua.contains("Android") {
        "Android"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        "Other"
    };
    let device = if ["bot", "crawl", "spider", "slurp"]
        .iter()
        .any(|w| lower.contains(w))
    {
        "bot"
    } else if ua.contains("iPad") || (ua.contains("Android") && !ua.contains("Mobile")) {
        "tablet"
    } else if ua.contains("Mobi") || ua.contains("iPhone") || ua.contains("Android") {
        "mobile"
    } else {
        "desktop"
    };
    CoarseAgent {
        browser,
        major,
        os,
        device,
    }
}

/// The host of a `Referer` or `Origin` header (`https://news.example:8443/a?b` →
/// `news.example`); nothing for anything else. Paths and queries never survive.
pub fn referrer_host(value: &str) -> Option<String> {
    let rest = value.split_once("://")?.1;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    // No credentials, no port.
    let host = authority.rsplit('@').next()?;
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    ok.then(|| host.to_ascii_lowercase())
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    for p in parts {
        // Length-prefixed: no two different tuples hash alike.
        m.update(&(p.len() as u32).to_be_bytes());
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// The day's pseudonym of a viewer: a keyed hash of the day's salt, the tenant, the site the
/// player ran on (the referrer's host, or empty), the truncated address and the coarse agent
/// (16 hex digits). The same person is another pseudonym on another site, for another tenant
/// and on another day; with the salt destroyed, nobody can tell which address and browser it
/// was.
pub fn day_pseudonym(
    salt: &[u8; 32],
    tenant: &str,
    site: &str,
    ip: IpAddr,
    agent: &CoarseAgent,
) -> String {
    let ip = truncate_ip(ip).to_string();
    let ua = format!("{}|{}|{}", agent.browser_label(), agent.os, agent.device);
    let h = mac(
        salt,
        &[
            b"cinelock viewer day",
            tenant.as_bytes(),
            site.as_bytes(),
            ip.as_bytes(),
            ua.as_bytes(),
        ],
    );
    hex::encode(&h[..8])
}

/// A customer's own viewer id, under that customer's key (32 hex digits): countable, never
/// readable, and unrelated across customers.
pub fn viewer_hash(tenant_key: &[u8; 32], viewer_id: &str) -> String {
    let h = mac(tenant_key, &[b"cinelock viewer id", viewer_id.as_bytes()]);
    hex::encode(&h[..16])
}

/// A tenant's key for [`viewer_hash`], derived from the server's secret.
pub fn tenant_key(server_secret: &[u8], tenant: &str) -> [u8; 32] {
    mac(
        server_secret,
        &[b"cinelock analytics tenant key", tenant.as_bytes()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_lose_their_host_part() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(truncate_ip(ip("203.0.113.77")), ip("203.0.113.0"));
        assert_eq!(
            truncate_ip(ip("2001:db8:abcd:12:34::1")),
            ip("2001:db8:abcd::")
        );
        assert_eq!(truncate_ip(ip("::ffff:198.51.100.9")), ip("198.51.100.0"));
    }

    #[test]
    fn agents_are_coarsened() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36",
                ("Chrome", Some(131), "Windows", "desktop"),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
                ("Edge", Some(131), "Windows", "desktop"),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                ("Safari", Some(18), "macOS", "desktop"),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                ("Safari", Some(18), "iOS", "mobile"),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                ("Chrome", Some(131), "Android", "mobile"),
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Safari/537.36",
                ("Samsung Internet", Some(26), "Android", "tablet"),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                ("Firefox", Some(133), "Linux", "desktop"),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
                ("Chrome", Some(156), "Linux", "desktop"),
            ),
            (
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                ("Other", None, "Other", "bot"),
            ),
            ("", ("Other", None, "Other", "desktop")),
        ];
        for (ua, (browser, major, os, device)) in cases {
            let a = coarsen_agent(ua);
            assert_eq!(
                (a.browser, a.major, a.os, a.device),
                (browser, major, os, device),
                "{ua}"
            );
        }
    }

    #[test]
    fn referrers_keep_the_host_only() {
        assert_eq!(
            referrer_host("https://News.Example:8443/a/b?token=x#y").as_deref(),
            Some("news.example")
        );
        assert_eq!(
            referrer_host("http://user:pw@example.org/").as_deref(),
            Some("example.org")
        );
        assert_eq!(referrer_host("http://[::1]:8080/").as_deref(), Some("::1"));
        assert_eq!(referrer_host("null"), None);
        assert_eq!(referrer_host("javascript:alert(1)"), None);
        assert_eq!(referrer_host("https://ex ample.com/"), None);
    }

    #[test]
    fn pseudonyms_depend_on_everything_they_cover_and_nothing_else() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let chrome = coarsen_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.1 Safari/537.36");
        let firefox = coarsen_agent("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Firefox/133.0");
        let salt = [7u8; 32];
        let p = day_pseudonym(&salt, "t1", "a.example", ip("203.0.113.5"), &chrome);
        assert_eq!(p.len(), 16);
        // The host part of the address is not covered: it is truncated away first.
        let same = |t, site, addr, agent| day_pseudonym(&salt, t, site, ip(addr), agent) == p;
        assert!(same("t1", "a.example", "203.0.113.200", &chrome));
        assert!(!same("t1", "a.example", "203.0.114.5", &chrome));
        assert!(!same("t1", "a.example", "203.0.113.5", &firefox));
        assert!(!same("t2", "a.example", "203.0.113.5", &chrome));
        assert!(!same("t1", "b.example", "203.0.113.5", &chrome));
        assert_ne!(
            p,
            day_pseudonym(&[8; 32], "t1", "a.example", ip("203.0.113.5"), &chrome)
        );
        let k1 = tenant_key(b"secret", "t1");
        let k2 = tenant_key(b"secret", "t2");
        assert_eq!(viewer_hash(&k1, "alice").len(), 32);
        assert_ne!(viewer_hash(&k1, "alice"), viewer_hash(&k2, "alice"));
        assert_ne!(viewer_hash(&k1, "alice"), viewer_hash(&k1, "bob"));
        assert!(!viewer_hash(&k1, "alice").contains("alice"));
    }
}
