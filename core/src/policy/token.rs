//! Viewer tokens: what a customer's backend mints, with a secret it shares with Cinelock, to let
//! a viewer play one asset until a deadline.
//!
//! Wire form: `clv1.<payload>.<mac>`, where `payload` is the base64url (no padding) JSON of
//! [`Claims`] and `mac` is the base64url (no padding) HMAC-SHA256, under the shared secret, of
//! the ASCII text `clv1.<payload>` (everything before the second dot). That is the JWT signing
//! rule, so a backend in any language can mint tokens with its HMAC and base64 libraries alone:
//!
//! ```text
//! payload = base64url_nopad(json)        // e.g. {"asset":"a1","exp":1767225600,"viewer":"u42"}
//! token   = "clv1." + payload + "." + base64url_nopad(hmac_sha256(secret, "clv1." + payload))
//! ```
//!
//! The `clv1.` prefix is the version and the domain separation: no other Cinelock MAC (upload
//! tokens sign a different, binary message) can be passed off as a viewer token.
//!
//! **Key ids (`clv2`).** A `clv1` secret opens every asset of the server it is configured on,
//! so it is the operator's alone. Each customer (API key owner) gets its own secrets instead,
//! each named by a key id, and its tokens say which one signed them:
//!
//! ```text
//! token = "clv2." + kid + "." + payload + "." + base64url_nopad(hmac_sha256(secret, "clv2." + kid + "." + payload))
//! ```
//!
//! `kid` is 1 to 64 of `A-Z a-z 0-9 _ -`. A `clv2` token is checked only against the secret
//! of its key id, and the server passes only the secrets of the asset's owner: a token signed
//! with one customer's secret never opens another customer's asset (`token_invalid`).
//!
//! Verification authenticates before it parses: the claims' JSON is read only once the MAC
//! holds under one of the [`TokenKeys`], and the comparison is constant-time. Unknown claims are
//! refused rather than ignored, so a future restricting claim can never be silently dropped by
//! an older server; new claims come with a new prefix.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use core::fmt;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{Deny, PolicyError};

/// The version prefix of operator tokens (no key id).
pub const TOKEN_PREFIX: &str = "clv1.";
/// The version prefix of tokens that name their key id.
pub const TOKEN_PREFIX_V2: &str = "clv2.";
/// Longest key id, in bytes.
pub const MAX_KEY_ID_LEN: usize = 64;
/// Shortest secret accepted, in bytes (HMAC-SHA256's own output size).
pub const MIN_SECRET_LEN: usize = 32;
/// Longest token accepted, in bytes: bounds the work an unauthenticated request can cause.
pub const MAX_TOKEN_LEN: usize = 4096;
/// Longest `viewer` claim, in bytes of UTF-8.
pub const MAX_VIEWER_LEN: usize = 128;
/// Clock skew [`TokenKeys`] tolerate unless told otherwise, in seconds.
pub const DEFAULT_SKEW_S: u64 = 60;

const MAC_LEN: usize = 32;

/// What a viewer token asserts.
///
/// JSON field names are the wire names; absent optional fields are left out when minting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The asset the token opens (exactly; case-sensitive).
    pub asset: String,
    /// Expiry, Unix seconds: the token is refused from this second on (plus the skew).
    pub exp: u64,
    /// Who is watching, as the customer names them (1..=128 bytes, no control characters);
    /// handed back in the [`Grant`](super::Grant) for watermarking and analytics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewer: Option<String>,
    /// Whether the viewer may download the asset (if the asset's policy allows downloads).
    #[serde(default, skip_serializing_if = "is_false")]
    pub download: bool,
    /// Issue time, Unix seconds; a token issued in the future (beyond the skew) is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Whether the viewer may play a password-protected asset without its password (the
    /// customer's backend vouches for them). Off unless said.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_password: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Claims {
    /// Claims for `asset` until `exp`, with no viewer, no download right and no issue time.
    pub fn new(asset: impl Into<String>, exp: u64) -> Self {
        Self {
            asset: asset.into(),
            exp,
            viewer: None,
            download: false,
            iat: None,
            skip_password: false,
        }
    }

    /// The rules on the claims' own values, shared by minting and verifying.
    fn check(&self) -> Result<(), &'static str> {
        if self.asset.is_empty() {
            return Err("asset is empty");
        }
        if let Some(viewer) = &self.viewer {
            if viewer.is_empty() {
                return Err("viewer is empty (leave it out instead)");
            }
            if viewer.len() > MAX_VIEWER_LEN {
                return Err("viewer is longer than 128 bytes");
            }
            // It ends up in logs and watermarks.
            if viewer.chars().any(char::is_control) {
                return Err("viewer contains control characters");
            }
        }
        if self.iat.is_some_and(|iat| iat > self.exp) {
            return Err("iat is after exp");
        }
        Ok(())
    }
}

/// The secrets tokens are checked against, and the clock skew allowed.
///
/// Operator secrets (no key id) check `clv1` tokens; keyed secrets check the `clv2` tokens
/// that name their key id. Rotation: keep the old secret until every token minted with it has
/// expired; a token is authentic if any secret that may check it signed it. With no secret at
/// all, every token is [`Deny::TokenInvalid`] (so private assets cannot be played).
///
/// Secrets are wiped on drop and never printed.
#[derive(Clone)]
pub struct TokenKeys {
    secrets: Vec<(Option<String>, Zeroizing<Vec<u8>>)>,
    skew_s: u64,
}

impl TokenKeys {
    /// Keys from `secrets` (each at least [`MIN_SECRET_LEN`] bytes), with the default skew.
    pub fn new<I, S>(secrets: I) -> Result<Self, PolicyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let secrets = secrets
            .into_iter()
            .map(|s| {
                let s = s.as_ref();
                check_secret(s)?;
                Ok((None, Zeroizing::new(s.to_vec())))
            })
            .collect::<Result<_, PolicyError>>()?;
        Ok(Self {
            secrets,
            skew_s: DEFAULT_SKEW_S,
        })
    }

    /// No secrets: every token is refused as [`Deny::TokenInvalid`].
    pub fn none() -> Self {
        Self {
            secrets: Vec::new(),
            skew_s: DEFAULT_SKEW_S,
        }
    }

    /// The same keys and `secret` for the `clv2` tokens of key id `kid`.
    pub fn with_key_id(mut self, kid: &str, secret: &[u8]) -> Result<Self, PolicyError> {
        check_secret(secret)?;
        check_key_id(kid).map_err(PolicyError::InvalidClaims)?;
        self.secrets
            .push((Some(kid.to_owned()), Zeroizing::new(secret.to_vec())));
        Ok(self)
    }

    /// The same keys allowing `skew_s` seconds of difference between the minting backend's
    /// clock and ours, on both `exp` and `iat`.
    pub fn with_skew(mut self, skew_s: u64) -> Self {
        self.skew_s = skew_s;
        self
    }

    /// The clock skew allowed, in seconds.
    pub fn skew_s(&self) -> u64 {
        self.skew_s
    }

    /// How many secrets are held.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether no secret is held.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("secrets", &self.secrets.len())
            .field("skew_s", &self.skew_s)
            .finish()
    }
}

fn check_key_id(kid: &str) -> Result<(), &'static str> {
    let ok = !kid.is_empty()
        && kid.len() <= MAX_KEY_ID_LEN
        && kid
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    if ok {
        Ok(())
    } else {
        Err("a key id is 1 to 64 of A-Z a-z 0-9 _ -")
    }
}

/// The key id a `clv2` token names (unauthenticated: only to find its secret), or `None` for
/// an operator (`clv1`) or malformed token.
pub fn key_id(token: &str) -> Option<&str> {
    let kid = token.strip_prefix(TOKEN_PREFIX_V2)?.split('.').next()?;
    check_key_id(kid).ok()?;
    Some(kid)
}

fn check_secret(secret: &[u8]) -> Result<(), PolicyError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(PolicyError::SecretTooShort { len: secret.len() });
    }
    Ok(())
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length")
}

/// A token carrying `claims`, signed with `secret` (what a customer's backend does; here for
/// tests, tools and Cinelock's own dashboard). Refuses claims [`verify`] would refuse.
pub fn mint(secret: &[u8], claims: &Claims) -> Result<String, PolicyError> {
    mint_as(secret, String::from(TOKEN_PREFIX), claims)
}

/// A `clv2` token carrying `claims`, signed with the secret of key id `kid`.
pub fn mint_with_key_id(secret: &[u8], kid: &str, claims: &Claims) -> Result<String, PolicyError> {
    check_key_id(kid).map_err(PolicyError::InvalidClaims)?;
    mint_as(secret, format!("{TOKEN_PREFIX_V2}{kid}."), claims)
}

fn mint_as(secret: &[u8], mut token: String, claims: &Claims) -> Result<String, PolicyError> {
    check_secret(secret)?;
    claims.check().map_err(PolicyError::InvalidClaims)?;
    let json = serde_json::to_vec(claims).expect("claims serialise");
    URL_SAFE_NO_PAD.encode_string(json, &mut token);
    let mut m = mac(secret);
    m.update(token.as_bytes());
    let tag = m.finalize().into_bytes();
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag, &mut token);
    if token.len() > MAX_TOKEN_LEN {
        return Err(PolicyError::InvalidClaims(
            "the token would exceed 4096 bytes",
        ));
    }
    Ok(token)
}

/// Checks `token` opens `asset_id` at `now_s` (Unix seconds) and returns its claims.
///
/// Checks, in order (the first failure is the answer):
/// 1. shape: prefix, two parts, base64url, length → [`Deny::TokenMalformed`];
/// 2. signature under any of `keys`, constant-time → [`Deny::TokenInvalid`];
/// 3. the claims parse and obey their rules → [`Deny::TokenMalformed`];
/// 4. `asset` equals `asset_id` → [`Deny::TokenWrongAsset`];
/// 5. `iat`, if present, is not after `now_s + skew` → [`Deny::TokenNotYetValid`];
/// 6. `now_s` is before `exp + skew` → [`Deny::TokenExpired`].
pub fn verify(keys: &TokenKeys, token: &str, asset_id: &str, now_s: u64) -> Result<Claims, Deny> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Deny::TokenMalformed);
    }
    // The key id (`None`: an operator token) and what follows it.
    let (kid, rest) = match token.strip_prefix(TOKEN_PREFIX) {
        Some(rest) => (None, rest),
        None => {
            let rest = token
                .strip_prefix(TOKEN_PREFIX_V2)
                .ok_or(Deny::TokenMalformed)?;
            let (kid, rest) = rest.split_once('.').ok_or(Deny::TokenMalformed)?;
            check_key_id(kid).map_err(|_| Deny::TokenMalformed)?;
            (Some(kid), rest)
        }
    };
    let (payload, tag) = rest.split_once('.').ok_or(Deny::TokenMalformed)?;
    if payload.is_empty() {
        return Err(Deny::TokenMalformed);
    }
    // A third part, a stray character or padding all fail to decode here.
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| Deny::TokenMalformed)?;
    if tag.len() != MAC_LEN {
        return Err(Deny::TokenMalformed);
    }
    let signed = &token[..token.len() - rest.len() + payload.len()];
    // Every key that may check this token is tried, whichever matches, so the time taken does
    // not say which one did.
    let mut authentic = false;
    for (_, secret) in keys.secrets.iter().filter(|(k, _)| k.as_deref() == kid) {
        let mut m = mac(secret);
        m.update(signed.as_bytes());
        authentic |= m.verify_slice(&tag).is_ok();
    }
    if !authentic {
        return Err(Deny::TokenInvalid);
    }
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or(Deny::TokenMalformed)?;
    claims.check().map_err(|_| Deny::TokenMalformed)?;
    if claims.asset != asset_id {
        return Err(Deny::TokenWrongAsset);
    }
    if claims
        .iat
        .is_some_and(|iat| iat > now_s.saturating_add(keys.skew_s))
    {
        return Err(Deny::TokenNotYetValid);
    }
    if now_s >= claims.exp.saturating_add(keys.skew_s) {
        return Err(Deny::TokenExpired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S1: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
    const S2: &[u8; 32] = b"fedcba9876543210fedcba9876543210";
    const NOW: u64 = 1_700_000_000;

    fn keys() -> TokenKeys {
        TokenKeys::new([S1]).unwrap()
    }

    fn claims() -> Claims {
        Claims {
            viewer: Some("viewer-42".into()),
            download: true,
            iat: Some(NOW - 10),
            ..Claims::new("asset-1", NOW + 300)
        }
    }

    /// Signs arbitrary payload bytes the way a (possibly buggy) backend would.
    fn sign_raw(secret: &[u8], json: &[u8]) -> String {
        let mut token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(json));
        let mut m = mac(secret);
        m.update(token.as_bytes());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()));
        token
    }

    #[test]
    fn mint_then_verify_returns_the_claims() {
        let t = mint(S1, &claims()).unwrap();
        assert!(t.starts_with("clv1."));
        assert_eq!(t.matches('.').count(), 2);
        assert_eq!(verify(&keys(), &t, "asset-1", NOW), Ok(claims()));
    }

    #[test]
    fn known_answer_matches_the_documented_construction() {
        // Computed with Python's hmac and base64 modules from the construction in the module docs.
        let c = Claims::new("a1", 2_000_000_000);
        let t = mint(S1, &c).unwrap();
        let payload = URL_SAFE_NO_PAD.encode(br#"{"asset":"a1","exp":2000000000}"#);
        assert_eq!(t.split('.').nth(1), Some(payload.as_str()));
        assert_eq!(t, sign_raw(S1, br#"{"asset":"a1","exp":2000000000}"#));
        assert_eq!(
            t,
            "clv1.eyJhc3NldCI6ImExIiwiZXhwIjoyMDAwMDAwMDAwfQ.\
             wpI--jaS_Eg7JIBU04FXQE25ikbTsCAg2smgd5kT1zk"
        );
    }

    #[test]
    fn optional_claims_default_and_are_left_out() {
        let t = sign_raw(S1, br#"{"asset":"asset-1","exp":1700000100}"#);
        let c = verify(&keys(), &t, "asset-1", NOW).unwrap();
        assert_eq!(c, Claims::new("asset-1", 1_700_000_100));
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"asset":"asset-1","exp":1700000100}"#);
    }

    #[test]
    fn rotation_accepts_any_listed_secret() {
        let both = TokenKeys::new([S2, S1]).unwrap();
        let old = mint(S1, &claims()).unwrap();
        let new = mint(S2, &claims()).unwrap();
        assert!(verify(&both, &old, "asset-1", NOW).is_ok());
        assert!(verify(&both, &new, "asset-1", NOW).is_ok());
        // Once the old secret is dropped, its tokens stop working.
        let only_new = TokenKeys::new([S2]).unwrap();
        assert_eq!(
            verify(&only_new, &old, "asset-1", NOW),
            Err(Deny::TokenInvalid)
        );
    }

    #[test]
    fn no_keys_refuses_every_token() {
        let t = mint(S1, &claims()).unwrap();
        assert_eq!(
            verify(&TokenKeys::none(), &t, "asset-1", NOW),
            Err(Deny::TokenInvalid)
        );
        assert!(TokenKeys::none().is_empty());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            TokenKeys::new([&S1[..31]]).unwrap_err(),
            PolicyError::SecretTooShort { len: 31 }
        );
        assert_eq!(
            mint(b"short", &claims()).unwrap_err().code(),
            "secret_too_short"
        );
        assert_eq!(TokenKeys::new([S1, S2]).unwrap().len(), 2);
    }

    #[test]
    fn debug_hides_secrets() {
        let d = format!("{:?}", keys());
        assert!(!d.contains("0123"), "{d}");
        assert!(d.contains("secrets: 1"));
    }

    #[test]
    fn wrong_asset_is_refused() {
        let t = mint(S1, &claims()).unwrap();
        assert_eq!(
            verify(&keys(), &t, "asset-2", NOW),
            Err(Deny::TokenWrongAsset)
        );
        assert_eq!(
            verify(&keys(), &t, "Asset-1", NOW),
            Err(Deny::TokenWrongAsset)
        );
    }

    #[test]
    fn expiry_allows_the_skew_and_no_more() {
        let t = mint(S1, &claims()).unwrap();
        let exp = NOW + 300;
        let k = keys().with_skew(5);
        assert_eq!(k.skew_s(), 5);
        assert!(verify(&k, &t, "asset-1", exp - 1).is_ok());
        assert!(verify(&k, &t, "asset-1", exp + 4).is_ok());
        assert_eq!(verify(&k, &t, "asset-1", exp + 5), Err(Deny::TokenExpired));
        let strict = keys().with_skew(0);
        assert_eq!(verify(&strict, &t, "asset-1", exp), Err(Deny::TokenExpired));
        // The default skew.
        assert!(verify(&keys(), &t, "asset-1", exp + DEFAULT_SKEW_S - 1).is_ok());
        assert_eq!(
            verify(&keys(), &t, "asset-1", exp + DEFAULT_SKEW_S),
            Err(Deny::TokenExpired)
        );
    }

    #[test]
    fn keyed_tokens_open_only_with_their_key_ids_secret() {
        let tenant_x = TokenKeys::none().with_key_id("kx", S1).unwrap();
        let tenant_y = TokenKeys::none().with_key_id("ky", S2).unwrap();
        let t = mint_with_key_id(S1, "kx", &claims()).unwrap();
        assert!(t.starts_with("clv2.kx."));
        assert_eq!(key_id(&t), Some("kx"));
        assert_eq!(verify(&tenant_x, &t, "asset-1", NOW), Ok(claims()));
        // Another tenant's keys: refused, even if they hold the very same secret under
        // another key id, and an operator secret does not check keyed tokens.
        assert_eq!(
            verify(&tenant_y, &t, "asset-1", NOW),
            Err(Deny::TokenInvalid)
        );
        let same_secret = TokenKeys::none().with_key_id("ky", S1).unwrap();
        assert_eq!(
            verify(&same_secret, &t, "asset-1", NOW),
            Err(Deny::TokenInvalid)
        );
        assert_eq!(verify(&keys(), &t, "asset-1", NOW), Err(Deny::TokenInvalid));
        // Nor does a keyed secret check operator tokens.
        let op = mint(S1, &claims()).unwrap();
        assert_eq!(key_id(&op), None);
        assert_eq!(
            verify(&tenant_x, &op, "asset-1", NOW),
            Err(Deny::TokenInvalid)
        );
        // The key id is signed: moving the payload under another id breaks the MAC.
        let moved = t.replacen("clv2.kx.", "clv2.ky.", 1);
        let both = tenant_x.clone().with_key_id("ky", S1).unwrap();
        assert_eq!(
            verify(&both, &moved, "asset-1", NOW),
            Err(Deny::TokenInvalid)
        );
        // Rotation: a tenant's old and new key ids both check until the old one goes.
        let rotated = tenant_x.with_key_id("kx2", S2).unwrap();
        let newer = mint_with_key_id(S2, "kx2", &claims()).unwrap();
        assert!(verify(&rotated, &t, "asset-1", NOW).is_ok());
        assert!(verify(&rotated, &newer, "asset-1", NOW).is_ok());
        // Key ids are restricted.
        for bad in ["", "a.b", &"k".repeat(65)] {
            assert!(mint_with_key_id(S1, bad, &claims()).is_err());
        }
        assert_eq!(
            verify(&both, "clv2.a.b.c.d", "asset-1", NOW),
            Err(Deny::TokenMalformed)
        );
    }

    #[test]
    fn exp_near_the_end_of_time_does_not_overflow() {
        let t = mint(S1, &Claims::new("asset-1", u64::MAX)).unwrap();
        assert!(verify(&keys(), &t, "asset-1", u64::MAX - 1).is_ok());
        assert_eq!(
            verify(&keys(), &t, "asset-1", u64::MAX),
            Err(Deny::TokenExpired)
        );
    }

    #[test]
    fn issued_in_the_future_is_refused_beyond_the_skew() {
        let c = Claims {
            iat: Some(NOW + 100),
            ..claims()
        };
        let t = mint(S1, &c).unwrap();
        let k = keys().with_skew(30);
        assert_eq!(verify(&k, &t, "asset-1", NOW), Err(Deny::TokenNotYetValid));
        assert_eq!(
            verify(&k, &t, "asset-1", NOW + 69),
            Err(Deny::TokenNotYetValid)
        );
        assert!(verify(&k, &t, "asset-1", NOW + 70).is_ok());
    }

    #[test]
    fn asset_is_checked_before_time() {
        let t = mint(S1, &claims()).unwrap();
        assert_eq!(
            verify(&keys(), &t, "other", NOW + 10_000),
            Err(Deny::TokenWrongAsset)
        );
    }

    #[test]
    fn tampered_payload_or_mac_is_invalid() {
        let t = mint(S1, &claims()).unwrap();
        let (head, tag) = t.rsplit_once('.').unwrap();
        // Another payload under the old MAC.
        let forged_payload =
            URL_SAFE_NO_PAD.encode(br#"{"asset":"asset-1","exp":99999999999,"download":true}"#);
        let forged = format!("clv1.{forged_payload}.{tag}");
        assert_eq!(
            verify(&keys(), &forged, "asset-1", NOW),
            Err(Deny::TokenInvalid)
        );
        // A MAC of the right length but wrong.
        let zero = URL_SAFE_NO_PAD.encode([0u8; 32]);
        assert_eq!(
            verify(&keys(), &format!("{head}.{zero}"), "asset-1", NOW),
            Err(Deny::TokenInvalid)
        );
        // Signed with another secret.
        let other = mint(S2, &claims()).unwrap();
        assert_eq!(
            verify(&keys(), &other, "asset-1", NOW),
            Err(Deny::TokenInvalid)
        );
    }

    #[test]
    fn malformed_shapes_are_refused() {
        let t = mint(S1, &claims()).unwrap();
        let (head, tag) = t.rsplit_once('.').unwrap();
        let short_tag = URL_SAFE_NO_PAD.encode([0u8; 31]);
        let long = format!("clv1.{}.{tag}", "A".repeat(MAX_TOKEN_LEN));
        let cases = [
            String::new(),
            "clv1.".into(),
            "clv1..".into(),
            format!("clv2.{}", &t[5..]),
            format!("CLV1.{}", &t[5..]),
            head.to_string(),
            format!("{head}."),
            format!("clv1.{tag}"),
            format!(".{tag}"),
            format!("{head}.{short_tag}"),
            format!("{t}="),
            format!("{t}.extra"),
            format!("{head}.{tag}{tag}"),
            format!("{head}.{}", tag.replace(['-', '_'], "+")),
            format!(" {t}"),
            long,
        ];
        for case in cases {
            assert_eq!(
                verify(&keys(), &case, "asset-1", NOW),
                Err(Deny::TokenMalformed),
                "{case:?}"
            );
        }
    }

    #[test]
    fn authentic_but_bad_claims_are_malformed() {
        let bad: [&[u8]; 12] = [
            b"not json",
            b"[]",
            br#"{"exp":1800000000}"#,
            br#"{"asset":"asset-1"}"#,
            br#"{"asset":"","exp":1800000000}"#,
            br#"{"asset":"asset-1","exp":-1}"#,
            br#"{"asset":"asset-1","exp":1.8e9}"#,
            br#"{"asset":"asset-1","exp":"1800000000"}"#,
            br#"{"asset":"asset-1","exp":1800000000,"admin":true}"#,
            br#"{"asset":"asset-1","asset":"asset-2","exp":1800000000}"#,
            br#"{"asset":"asset-1","exp":1800000000,"viewer":""}"#,
            br#"{"asset":"asset-1","exp":1800000000,"iat":1800000001}"#,
        ];
        for json in bad {
            assert_eq!(
                verify(&keys(), &sign_raw(S1, json), "asset-1", NOW),
                Err(Deny::TokenMalformed),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        let long_viewer = format!(
            r#"{{"asset":"asset-1","exp":1800000000,"viewer":"{}"}}"#,
            "v".repeat(129)
        );
        assert_eq!(
            verify(
                &keys(),
                &sign_raw(S1, long_viewer.as_bytes()),
                "asset-1",
                NOW
            ),
            Err(Deny::TokenMalformed)
        );
        let control = br#"{"asset":"asset-1","exp":1800000000,"viewer":"a\nb"}"#;
        assert_eq!(
            verify(&keys(), &sign_raw(S1, control), "asset-1", NOW),
            Err(Deny::TokenMalformed)
        );
        // `null` optional claims are the same as absent ones.
        let nulls = br#"{"asset":"asset-1","exp":1800000000,"viewer":null,"iat":null}"#;
        assert!(verify(&keys(), &sign_raw(S1, nulls), "asset-1", NOW).is_ok());
    }

    #[test]
    fn mint_refuses_what_verify_would() {
        let cases = [
            Claims::new("", NOW),
            Claims {
                viewer: Some(String::new()),
                ..claims()
            },
            Claims {
                viewer: Some("é".repeat(65)),
                ..claims()
            },
            Claims {
                viewer: Some("tab\there".into()),
                ..claims()
            },
            Claims {
                iat: Some(NOW + 301),
                ..claims()
            },
            Claims::new("a".repeat(MAX_TOKEN_LEN), NOW),
        ];
        for c in cases {
            assert_eq!(mint(S1, &c).unwrap_err().code(), "invalid_claims", "{c:?}");
        }
        // 128 bytes of viewer is fine, in any script.
        let c = Claims {
            viewer: Some("é".repeat(64)),
            ..claims()
        };
        assert!(verify(&keys(), &mint(S1, &c).unwrap(), "asset-1", NOW).is_ok());
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
    use proptest::prelude::*;

    const S1: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

    fn arb_claims() -> impl Strategy<Value = Claims> {
        (
            "[ -~]{1,64}",
            any::<u64>(),
            proptest::option::of("[a-zA-Z0-9 @._é-]{1,40}"),
            any::<bool>(),
            proptest::option::of(any::<u64>()),
            any::<bool>(),
        )
            .prop_map(
                |(asset, exp, viewer, download, iat, skip_password)| Claims {
                    asset,
                    exp,
                    viewer,
                    download,
                    iat: iat.map(|i| i.min(exp)),
                    skip_password,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn round_trip_before_expiry(c in arb_claims(), now in any::<u64>()) {
            let keys = TokenKeys::new([S1]).unwrap().with_skew(0);
            let t = mint(S1, &c).unwrap();
            let got = verify(&keys, &t, &c.asset, now);
            if c.iat.is_some_and(|iat| iat > now) {
                prop_assert_eq!(got, Err(Deny::TokenNotYetValid));
            } else if now >= c.exp {
                prop_assert_eq!(got, Err(Deny::TokenExpired));
            } else {
                prop_assert_eq!(got, Ok(c));
            }
        }

        /// No single-character edit of a token yields a token that verifies.
        #[test]
        fn any_edit_is_refused(
            c in arb_claims(),
            pos in any::<prop::sample::Index>(),
            ch in prop::sample::select(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ "
                    .chars()
                    .collect::<Vec<_>>(),
            ),
        ) {
            let keys = TokenKeys::new([S1]).unwrap();
            let t = mint(S1, &c).unwrap();
            let i = pos.index(t.len());
            let mut edited = t.clone();
            edited.replace_range(i..=i, ch.encode_utf8(&mut [0; 4]));
            prop_assume!(edited != t);
            // Base64 allows a few non-canonical spellings of the last character; the base64
            // decoder refuses them, so none can slip through either way.
            prop_assert!(verify(&keys, &edited, &c.asset, 0).is_err());
        }

        #[test]
        fn arbitrary_input_never_panics(s in ".{0,300}", suffix in "[A-Za-z0-9_.-]{0,80}") {
            let keys = TokenKeys::new([S1]).unwrap();
            let _ = verify(&keys, &s, "a", 0);
            let _ = verify(&keys, &format!("clv1.{suffix}"), "a", 0);
        }
    }
}
