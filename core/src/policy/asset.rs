//! An asset's playback policy as the customer configures it and the server stores it.
//!
//! The JSON form is the struct's fields, every one optional (the default is the most closed
//! policy: private, no password, no download, no allow-lists). Allow-list entries are parsed
//! as the policy is read, so a stored policy with a bad entry fails to load rather than
//! silently allowing or refusing. Unknown fields are refused too: a restriction this version
//! does not know must not be dropped on the floor.

use serde::{Deserialize, Serialize};

use super::{Cidr, Country, OriginRule};

/// Who may start a playback session without a token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only viewers holding a valid token minted by the customer's backend.
    #[default]
    Private,
    /// Anyone with the link; not listed anywhere. Decides as [`Public`](Visibility::Public):
    /// the difference matters to catalogues, not to playback.
    Unlisted,
    /// Anyone.
    Public,
}

/// An asset's playback policy (see [`decide`](super::decide) for how it is applied).
///
/// Every allow-list is off while empty; a non-empty list must be passed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssetPolicy {
    /// Whether a token is needed.
    pub visibility: Visibility,
    /// Pages that may embed the asset (see [`origin`](super::origin)).
    pub allowed_origins: Vec<OriginRule>,
    /// Client networks that may play it.
    pub allowed_ips: Vec<Cidr>,
    /// Countries it may be played in.
    pub allowed_countries: Vec<Country>,
    /// Whether a password (or a valid token) is needed.
    pub password_required: bool,
    /// Whether the asset may be downloaded at all.
    pub download_allowed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_closed() {
        let p = AssetPolicy::default();
        assert_eq!(p.visibility, Visibility::Private);
        assert!(!p.download_allowed && !p.password_required);
        assert_eq!(serde_json::from_str::<AssetPolicy>("{}").unwrap(), p);
    }

    #[test]
    fn json_round_trip() {
        let json = r#"{
            "visibility": "unlisted",
            "allowed_origins": ["example.com", "*.Example.com", "https://app.example.com:8443"],
            "allowed_ips": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"],
            "allowed_countries": ["de", "AT"],
            "password_required": true,
            "download_allowed": true
        }"#;
        let p: AssetPolicy = serde_json::from_str(json).unwrap();
        assert_eq!(p.visibility, Visibility::Unlisted);
        assert_eq!(p.allowed_origins.len(), 3);
        assert_eq!(p.allowed_ips[2].prefix(), 32);
        assert_eq!(p.allowed_countries[0].as_str(), "DE");
        let out = serde_json::to_string(&p).unwrap();
        assert_eq!(
            out,
            r#"{"visibility":"unlisted","allowed_origins":["example.com","*.example.com","https://app.example.com:8443"],"allowed_ips":["10.0.0.0/8","2001:db8::/32","192.0.2.7"],"allowed_countries":["DE","AT"],"password_required":true,"download_allowed":true}"#
        );
        assert_eq!(serde_json::from_str::<AssetPolicy>(&out).unwrap(), p);
    }

    #[test]
    fn bad_policies_fail_to_load() {
        for (json, needle) in [
            (r#"{"visibility":"secret"}"#, "unknown variant"),
            (
                r#"{"allowed_ips":["10.0.0.1/8"]}"#,
                "the network is 10.0.0.0/8",
            ),
            (r#"{"allowed_origins":["*"]}"#, "wildcard"),
            (r#"{"allowed_countries":["UK"]}"#, "GB"),
            (r#"{"allowed_ips":null}"#, "invalid type"),
            (r#"{"geo_block":["RU"]}"#, "unknown field"),
        ] {
            let e = serde_json::from_str::<AssetPolicy>(json).unwrap_err();
            assert!(e.to_string().contains(needle), "{json}: {e}");
        }
    }
}
