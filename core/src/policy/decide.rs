//! The decision itself: the facts of one request against an asset's policy.

use core::fmt;
use core::net::IpAddr;

use super::{
    AssetPolicy, Deny, TokenKeys, Visibility, country_allowed, ip_allowed, origin_allowed, verify,
};

/// What the server knows about a request for an asset's content key.
///
/// Empty optional strings count as absent for `origin` and `referer`, but not for `token` (an
/// empty token is [`Deny::TokenMalformed`]). `Debug` hides the token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The asset asked for.
    pub asset_id: &'a str,
    /// The `Origin` header, as sent.
    pub origin: Option<&'a str>,
    /// The `Referer` header, as sent.
    pub referer: Option<&'a str>,
    /// The client's address (after the server's trusted-proxy handling).
    pub client_ip: IpAddr,
    /// The country the server's geolocation lookup found for `client_ip`: `None` when there is
    /// no database or no match.
    pub country: Option<&'a str>,
    /// The viewer token presented, if any.
    pub token: Option<&'a str>,
    /// The password check's result: `None` if no password was given (or not checked yet).
    pub password_ok: Option<bool>,
    /// Now, Unix seconds.
    pub now_s: u64,
    /// Whether the request asks for a download rather than playback.
    pub wants_download: bool,
}

impl<'a> Request<'a> {
    /// A playback request for `asset_id` from `client_ip` at `now_s`, with no headers, token,
    /// country or password; set the other fields as the server learns them.
    pub fn new(asset_id: &'a str, client_ip: IpAddr, now_s: u64) -> Self {
        Self {
            asset_id,
            origin: None,
            referer: None,
            client_ip,
            country: None,
            token: None,
            password_ok: None,
            now_s,
            wants_download: false,
        }
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("asset_id", &self.asset_id)
            .field("origin", &self.origin)
            .field("referer", &self.referer)
            .field("client_ip", &self.client_ip)
            .field("country", &self.country)
            .field("token", &self.token.map(|_| ".."))
            .field("password_ok", &self.password_ok)
            .field("now_s", &self.now_s)
            .field("wants_download", &self.wants_download)
            .finish()
    }
}

/// A session the server may give the content key to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The token's `viewer` claim, for watermarks and analytics (`None` without a token).
    pub viewer: Option<String>,
    /// Whether this session may download the asset (whether or not it asked to).
    pub download: bool,
    /// The token's expiry (Unix seconds), if one was presented: a session granted on a token
    /// ends no later than the token.
    pub token_exp: Option<u64>,
}

/// Decides whether the request may have the asset's content key.
///
/// Checks run in this order and the first failure is the answer, so the same facts always get
/// the same reason:
///
/// 1. **Token.** If one is presented it must verify for this asset now (whatever the
///    visibility: a bad token is never ignored) → `token_*`. A private asset with no token →
///    [`Deny::TokenRequired`]. First, so a caller without a token learns nothing about a
///    private asset's other rules.
/// 2. **Origin** allow-list → [`Deny::OriginMissing`], [`Deny::OriginNotAllowed`].
/// 3. **IP** allow-list → [`Deny::IpNotAllowed`].
/// 4. **Country** allow-list → [`Deny::GeoUnknown`], [`Deny::GeoNotAllowed`].
///    A valid token bypasses none of the allow-lists: they restrict where an asset plays, the
///    token only who may play it.
/// 5. **Password**, if required, unless a valid token with the `skip_password` claim was
///    presented (the customer's backend vouched for the viewer; a token without the claim does
///    not stand in for the password) → [`Deny::PasswordRequired`] when `password_ok` is `None`,
///    [`Deny::PasswordWrong`] when it is `Some(false)`. After every other check, so a
///    password guess is only ever judged (and only costs the server a hash and a
///    rate-limit slot) for a request that would otherwise be allowed.
/// 6. **Download**: allowed if the policy allows downloads and, when a token was presented,
///    its `download` claim does too. Refused only if the request asks for one →
///    [`Deny::DownloadNotAllowed`]; otherwise the answer goes in [`Grant::download`].
///
/// [`Deny::RateLimited`] never comes from here: the server's
/// [`AttemptLimiter`](super::AttemptLimiter) decides it before checking a password.
pub fn decide(policy: &AssetPolicy, req: &Request<'_>, keys: &TokenKeys) -> Result<Grant, Deny> {
    let claims = match req.token {
        Some(token) => Some(verify(keys, token, req.asset_id, req.now_s)?),
        None if policy.visibility == Visibility::Private => return Err(Deny::TokenRequired),
        None => None,
    };
    origin_allowed(&policy.allowed_origins, req.origin, req.referer)?;
    ip_allowed(&policy.allowed_ips, req.client_ip)?;
    country_allowed(&policy.allowed_countries, req.country)?;
    let vouched = claims.as_ref().is_some_and(|c| c.skip_password);
    if policy.password_required && !vouched {
        match req.password_ok {
            Some(true) => {}
            Some(false) => return Err(Deny::PasswordWrong),
            None => return Err(Deny::PasswordRequired),
        }
    }
    let download = policy.download_allowed && claims.as_ref().is_none_or(|c| c.download);
    if req.wants_download && !download {
        return Err(Deny::DownloadNotAllowed);
    }
    let token_exp = claims.as_ref().map(|c| c.exp);
    Ok(Grant {
        viewer: claims.and_then(|c| c.viewer),
        download,
        token_exp,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Claims, mint};
    use super::*;

    const SECRET: &[u8; 32] = b"an-example-secret-of-32-bytes-ok";
    const NOW: u64 = 1_750_000_000;
    const ASSET: &str = "asset-1";

    fn keys() -> TokenKeys {
        TokenKeys::new([SECRET]).unwrap()
    }

    fn token(f: impl FnOnce(&mut Claims)) -> String {
        let mut c = Claims::new(ASSET, NOW + 600);
        f(&mut c);
        mint(SECRET, &c).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn req() -> Request<'static> {
        Request::new(ASSET, ip("203.0.113.5"), NOW)
    }

    fn policy(visibility: Visibility) -> AssetPolicy {
        AssetPolicy {
            visibility,
            ..AssetPolicy::default()
        }
    }

    /// A policy with every restriction on, and a request that passes all of them.
    fn locked_down() -> (AssetPolicy, Request<'static>) {
        let p = AssetPolicy {
            visibility: Visibility::Public,
            allowed_origins: vec!["*.example.com".parse().unwrap()],
            allowed_ips: vec!["203.0.113.0/24".parse().unwrap()],
            allowed_countries: vec!["DE".parse().unwrap()],
            password_required: true,
            download_allowed: true,
        };
        let r = Request {
            origin: Some("https://www.example.com"),
            country: Some("DE"),
            password_ok: Some(true),
            ..req()
        };
        (p, r)
    }

    /// What a grant says, apart from the token's expiry.
    fn grant(viewer: Option<&str>, download: bool) -> Result<(Option<String>, bool), Deny> {
        Ok((viewer.map(String::from), download))
    }

    fn strip(g: Result<Grant, Deny>) -> Result<(Option<String>, bool), Deny> {
        g.map(|g| (g.viewer, g.download))
    }

    #[test]
    fn private_needs_a_valid_token() {
        let p = policy(Visibility::Private);
        assert_eq!(decide(&p, &req(), &keys()), Err(Deny::TokenRequired));
        let t = token(|c| c.viewer = Some("alice".into()));
        let r = Request {
            token: Some(&t),
            ..req()
        };
        assert_eq!(strip(decide(&p, &r, &keys())), grant(Some("alice"), false));
        // Without keys no token can be valid.
        assert_eq!(decide(&p, &r, &TokenKeys::none()), Err(Deny::TokenInvalid));
    }

    #[test]
    fn unlisted_and_public_need_no_token() {
        for v in [Visibility::Unlisted, Visibility::Public] {
            assert_eq!(
                strip(decide(&policy(v), &req(), &keys())),
                grant(None, false)
            );
        }
    }

    #[test]
    fn a_presented_token_must_be_valid_whatever_the_visibility() {
        let expired = token(|c| c.exp = NOW - 3600);
        let other = token(|c| c.asset = "asset-2".into());
        let future = token(|c| {
            c.iat = Some(NOW + 3600);
            c.exp = NOW + 7200;
        });
        let forged = {
            let t = token(|_| {});
            let (head, _) = t.rsplit_once('.').unwrap();
            format!("{head}.{}", "A".repeat(43))
        };
        let cases = [
            (expired.as_str(), Deny::TokenExpired),
            (other.as_str(), Deny::TokenWrongAsset),
            (future.as_str(), Deny::TokenNotYetValid),
            (forged.as_str(), Deny::TokenInvalid),
            ("garbage", Deny::TokenMalformed),
            ("", Deny::TokenMalformed),
        ];
        for v in [
            Visibility::Private,
            Visibility::Unlisted,
            Visibility::Public,
        ] {
            for (t, deny) in &cases {
                let r = Request {
                    token: Some(t),
                    ..req()
                };
                assert_eq!(
                    decide(&policy(v), &r, &keys()),
                    Err(deny.clone()),
                    "{v:?} {t}"
                );
            }
        }
    }

    #[test]
    fn a_valid_token_on_a_public_asset_names_the_viewer() {
        let t = token(|c| c.viewer = Some("bob".into()));
        let r = Request {
            token: Some(&t),
            ..req()
        };
        assert_eq!(
            strip(decide(&policy(Visibility::Public), &r, &keys())),
            grant(Some("bob"), false)
        );
    }

    #[test]
    fn every_allow_list_must_pass() {
        let (p, ok) = locked_down();
        assert_eq!(strip(decide(&p, &ok, &keys())), grant(None, true));
        let cases = [
            (Request { origin: None, ..ok }, Deny::OriginMissing),
            (
                Request {
                    origin: Some("https://example.com"),
                    ..ok
                },
                Deny::OriginNotAllowed,
            ),
            (
                Request {
                    origin: Some("null"),
                    referer: Some("https://www.example.com/"),
                    ..ok
                },
                Deny::OriginNotAllowed,
            ),
            (
                Request {
                    client_ip: ip("198.51.100.1"),
                    ..ok
                },
                Deny::IpNotAllowed,
            ),
            (
                Request {
                    country: Some("FR"),
                    ..ok
                },
                Deny::GeoNotAllowed,
            ),
            (
                Request {
                    country: None,
                    ..ok
                },
                Deny::GeoUnknown,
            ),
        ];
        for (r, deny) in cases {
            assert_eq!(decide(&p, &r, &keys()), Err(deny.clone()), "{r:?}");
            // A valid token does not get around an allow-list.
            let t = token(|c| c.download = true);
            let with_token = Request {
                token: Some(&t),
                ..r
            };
            assert_eq!(decide(&p, &with_token, &keys()), Err(deny), "{r:?}");
        }
        // The Referer stands in for a missing Origin; mapped IPv4 matches IPv4.
        let r = Request {
            origin: None,
            referer: Some("https://app.example.com/page"),
            client_ip: ip("::ffff:203.0.113.77"),
            country: Some("de"),
            ..ok
        };
        assert_eq!(strip(decide(&p, &r, &keys())), grant(None, true));
    }

    #[test]
    fn passwords() {
        let p = AssetPolicy {
            password_required: true,
            ..policy(Visibility::Unlisted)
        };
        assert_eq!(decide(&p, &req(), &keys()), Err(Deny::PasswordRequired));
        let wrong = Request {
            password_ok: Some(false),
            ..req()
        };
        assert_eq!(decide(&p, &wrong, &keys()), Err(Deny::PasswordWrong));
        let right = Request {
            password_ok: Some(true),
            ..req()
        };
        assert_eq!(strip(decide(&p, &right, &keys())), grant(None, false));
        // A valid token that says so stands in for the password, even beside a wrong one.
        let t = token(|c| c.skip_password = true);
        for password_ok in [None, Some(false), Some(true)] {
            let r = Request {
                token: Some(&t),
                password_ok,
                ..req()
            };
            assert_eq!(decide(&p, &r, &keys()).map(|g| g.viewer), Ok(None));
        }
        // A token without the claim does not.
        let plain = token(|_| {});
        let r = Request {
            token: Some(&plain),
            ..req()
        };
        assert_eq!(decide(&p, &r, &keys()), Err(Deny::PasswordRequired));
        let r = Request {
            token: Some(&plain),
            password_ok: Some(true),
            ..req()
        };
        assert!(decide(&p, &r, &keys()).is_ok());
        // An invalid token does not.
        let expired = token(|c| c.exp = 1);
        let r = Request {
            token: Some(&expired),
            password_ok: Some(true),
            ..req()
        };
        assert_eq!(decide(&p, &r, &keys()), Err(Deny::TokenExpired));
        // Without a password requirement the password is ignored.
        let r = Request {
            password_ok: Some(false),
            ..req()
        };
        assert_eq!(
            strip(decide(&policy(Visibility::Public), &r, &keys())),
            grant(None, false)
        );
    }

    #[test]
    fn downloads_need_the_policy_and_the_token() {
        let allow = AssetPolicy {
            download_allowed: true,
            ..policy(Visibility::Public)
        };
        let deny = policy(Visibility::Public);
        let yes = token(|c| c.download = true);
        let no = token(|_| {});
        // (policy, token, granted download right)
        let cases = [
            (&allow, None, true),
            (&allow, Some(&yes), true),
            (&allow, Some(&no), false),
            (&deny, None, false),
            (&deny, Some(&yes), false),
            (&deny, Some(&no), false),
        ];
        for (p, t, right) in cases {
            let play = Request {
                token: t.map(String::as_str),
                ..req()
            };
            assert_eq!(
                strip(decide(p, &play, &keys())),
                grant(None, right),
                "{t:?}"
            );
            let download = Request {
                wants_download: true,
                ..play
            };
            let expected = if right {
                grant(None, true)
            } else {
                Err(Deny::DownloadNotAllowed)
            };
            assert_eq!(strip(decide(p, &download, &keys())), expected, "{t:?}");
        }
        // Private: the token's right, under the policy's.
        let private = AssetPolicy {
            download_allowed: true,
            ..policy(Visibility::Private)
        };
        let r = Request {
            token: Some(&yes),
            wants_download: true,
            ..req()
        };
        assert_eq!(strip(decide(&private, &r, &keys())), grant(None, true));
    }

    #[test]
    fn checks_run_in_the_documented_order() {
        let (mut p, _) = locked_down();
        p.visibility = Visibility::Private;
        p.download_allowed = false;
        // Everything wrong at once; fix one thing at a time and the next reason appears.
        let t = token(|c| c.skip_password = true);
        let mut r = Request {
            token: None,
            origin: Some("https://evil.test"),
            client_ip: ip("198.51.100.1"),
            country: Some("FR"),
            password_ok: None,
            wants_download: true,
            ..req()
        };
        let public = AssetPolicy {
            visibility: Visibility::Public,
            ..p.clone()
        };
        assert_eq!(decide(&p, &r, &keys()), Err(Deny::TokenRequired));
        r.token = Some(&t);
        assert_eq!(decide(&p, &r, &keys()), Err(Deny::OriginNotAllowed));
        r.origin = Some("https://www.example.com");
        assert_eq!(decide(&p, &r, &keys()), Err(Deny::IpNotAllowed));
        r.client_ip = ip("203.0.113.9");
        assert_eq!(decide(&p, &r, &keys()), Err(Deny::GeoNotAllowed));
        r.country = Some("DE");
        // The token vouches for the password: download is next. Without a token (on the
        // same policy made public), the password comes first.
        assert_eq!(decide(&p, &r, &keys()), Err(Deny::DownloadNotAllowed));
        r.token = None;
        assert_eq!(decide(&public, &r, &keys()), Err(Deny::PasswordRequired));
        r.password_ok = Some(true);
        assert_eq!(decide(&public, &r, &keys()), Err(Deny::DownloadNotAllowed));
        r.wants_download = false;
        assert_eq!(strip(decide(&public, &r, &keys())), grant(None, false));
        // A token without the skip_password claim leaves the password to the viewer.
        let plain = token(|_| {});
        r.token = Some(&plain);
        r.password_ok = None;
        assert_eq!(decide(&p, &r, &keys()), Err(Deny::PasswordRequired));
    }

    #[test]
    fn request_debug_hides_the_token() {
        let t = token(|_| {});
        let r = Request {
            token: Some(&t),
            ..req()
        };
        let d = format!("{r:?}");
        assert!(!d.contains("clv1"), "{d}");
        assert!(d.contains("token: Some(\"..\")"), "{d}");
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::super::{Claims, mint};
    use super::*;
    use proptest::prelude::*;

    const SECRET: &[u8; 32] = b"an-example-secret-of-32-bytes-ok";
    const NOW: u64 = 1_750_000_000;

    fn arb_policy() -> impl Strategy<Value = AssetPolicy> {
        let origins = prop::sample::subsequence(vec!["example.com", "*.example.com"], 0..=2);
        let ips = prop::sample::subsequence(vec!["10.0.0.0/8", "2001:db8::/32"], 0..=2);
        let countries = prop::sample::subsequence(vec!["DE", "FR"], 0..=2);
        (
            prop::sample::select(vec![
                Visibility::Private,
                Visibility::Unlisted,
                Visibility::Public,
            ]),
            origins,
            ips,
            countries,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(visibility, o, i, c, password_required, download_allowed)| AssetPolicy {
                    visibility,
                    allowed_origins: o.iter().map(|s| s.parse().unwrap()).collect(),
                    allowed_ips: i.iter().map(|s| s.parse().unwrap()).collect(),
                    allowed_countries: c.iter().map(|s| s.parse().unwrap()).collect(),
                    password_required,
                    download_allowed,
                },
            )
    }

    #[derive(Debug, Clone)]
    struct Facts {
        origin: Option<&'static str>,
        referer: Option<&'static str>,
        ip: &'static str,
        country: Option<&'static str>,
        token: Option<String>,
        password_ok: Option<bool>,
        wants_download: bool,
    }

    fn arb_token() -> impl Strategy<Value = Option<String>> {
        let claims = (
            prop::sample::select(vec!["asset-1", "asset-2"]),
            prop::sample::select(vec![NOW - 10, NOW + 600]),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(asset, exp, download, skip_password)| {
                let c = Claims {
                    download,
                    skip_password,
                    viewer: Some("v".into()),
                    ..Claims::new(asset, exp)
                };
                mint(SECRET, &c).unwrap()
            });
        prop_oneof![
            Just(None),
            claims.prop_map(Some),
            Just(Some("clv1.bogus.AAAA".to_string())),
        ]
    }

    fn arb_facts() -> impl Strategy<Value = Facts> {
        (
            prop::option::of(prop::sample::select(vec![
                "https://example.com",
                "https://www.example.com",
                "https://evil.test",
                "null",
            ])),
            prop::option::of(prop::sample::select(vec![
                "https://a.example.com/x",
                "https://evil.test/",
            ])),
            prop::sample::select(vec![
                "10.1.1.1",
                "::ffff:10.2.2.2",
                "192.0.2.1",
                "2001:db8::9",
            ]),
            prop::option::of(prop::sample::select(vec!["DE", "fr", "US", "XX"])),
            arb_token(),
            prop::option::of(any::<bool>()),
            any::<bool>(),
        )
            .prop_map(
                |(origin, referer, ip, country, token, password_ok, wants_download)| Facts {
                    origin,
                    referer,
                    ip,
                    country,
                    token,
                    password_ok,
                    wants_download,
                },
            )
    }

    fn run(p: &AssetPolicy, f: &Facts) -> Result<Grant, Deny> {
        let r = Request {
            origin: f.origin,
            referer: f.referer,
            country: f.country,
            token: f.token.as_deref(),
            password_ok: f.password_ok,
            wants_download: f.wants_download,
            ..Request::new("asset-1", f.ip.parse().unwrap(), NOW)
        };
        decide(p, &r, &TokenKeys::new([SECRET]).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Loosening any one setting of a policy never turns a grant into a refusal, nor takes
        /// the download right away.
        #[test]
        fn loosening_never_refuses_more(p in arb_policy(), f in arb_facts(), which in 0..6u8) {
            let mut looser = p.clone();
            match which {
                0 => looser.visibility = Visibility::Public,
                1 => looser.allowed_origins.clear(),
                2 => looser.allowed_ips.clear(),
                3 => looser.allowed_countries.clear(),
                4 => looser.password_required = false,
                _ => looser.download_allowed = true,
            }
            if let Ok(g) = run(&p, &f) {
                let g2 = run(&looser, &f);
                prop_assert!(g2.is_ok(), "{:?} -> {:?}", looser, g2);
                prop_assert!(g2.unwrap().download >= g.download);
            }
        }

        /// A grant means every configured rule was met.
        #[test]
        fn a_grant_meets_every_rule(p in arb_policy(), f in arb_facts()) {
            if let Ok(g) = run(&p, &f) {
                let token_ok = f.token.is_some();
                let keys = TokenKeys::new([SECRET]).unwrap();
                let vouched = f
                    .token
                    .as_deref()
                    .and_then(|t| verify(&keys, t, "asset-1", NOW).ok())
                    .is_some_and(|c| c.skip_password);
                prop_assert!(p.visibility != Visibility::Private || token_ok);
                prop_assert!(!p.password_required || vouched || f.password_ok == Some(true));
                prop_assert_eq!(g.token_exp.is_some(), token_ok);
                prop_assert!(origin_allowed(&p.allowed_origins, f.origin, f.referer).is_ok());
                prop_assert!(ip_allowed(&p.allowed_ips, f.ip.parse().unwrap()).is_ok());
                prop_assert!(country_allowed(&p.allowed_countries, f.country).is_ok());
                prop_assert!(!g.download || p.download_allowed);
                prop_assert!(!f.wants_download || g.download);
                prop_assert_eq!(g.viewer.is_some(), token_ok);
            }
        }
    }
}
