//! Country allow-lists, on ISO 3166-1 alpha-2 codes.
//!
//! The server looks the client's address up in its geolocation database and passes the code it
//! found, if any. When a list is set and there is no code to check (no database configured,
//! the address not in it, or a code that names no country, such as the `XX` and `T1` that CDNs
//! send for unknown and Tor clients), the request is refused as [`Deny::GeoUnknown`], distinct
//! from [`Deny::GeoNotAllowed`] so an operator can tell a missing database from a foreign
//! viewer. A restriction that cannot be checked does not pass. An empty list allows everyone,
//! located or not.
//!
//! Entries must be officially assigned codes (plus `XK`, Kosovo's code in the common
//! geolocation databases), so a typo such as `UK` for `GB` is refused when the policy is saved
//! instead of silently refusing a whole country's viewers.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Deny, PolicyError};

/// The officially assigned ISO 3166-1 alpha-2 codes (as listed in tzdata's `iso3166.tab`),
/// and `XK`; sorted, for binary search.
const ASSIGNED: [&str; 250] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
];

/// A country: an assigned ISO 3166-1 alpha-2 code, upper case.
///
/// Parses case-insensitively and serialises as the upper-case code (`"DE"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// The country `code` names, if it names one (any case, no surrounding space).
    pub fn from_code(code: &str) -> Option<Self> {
        let &[a, b] = code.as_bytes() else {
            return None;
        };
        let c = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
        let s = core::str::from_utf8(&c).ok()?;
        ASSIGNED.binary_search(&s).is_ok().then_some(Country(c))
    }

    /// The two-letter code, upper case.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).expect("codes are ASCII")
    }
}

/// Checks the country the server's lookup found (if any) against an allow-list: an empty list
/// allows everyone.
pub fn country_allowed(allowed: &[Country], country: Option<&str>) -> Result<(), Deny> {
    if allowed.is_empty() {
        return Ok(());
    }
    let country = country
        .and_then(|c| Country::from_code(c.trim()))
        .ok_or(Deny::GeoUnknown)?;
    if allowed.contains(&country) {
        Ok(())
    } else {
        Err(Deny::GeoNotAllowed)
    }
}

impl FromStr for Country {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, PolicyError> {
        let code = s.trim();
        let bad = |reason| PolicyError::InvalidCountry {
            entry: s.to_string(),
            reason,
        };
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(bad("a country is a two-letter ISO 3166-1 code, such as DE"));
        }
        if code.eq_ignore_ascii_case("UK") {
            return Err(bad("the United Kingdom's code is GB"));
        }
        Country::from_code(code).ok_or_else(|| bad("no country has this ISO 3166-1 code"))
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(codes: &[&str]) -> Vec<Country> {
        codes.iter().map(|c| c.parse().unwrap()).collect()
    }

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(ASSIGNED.windows(2).all(|w| w[0] < w[1]));
        assert!(
            ASSIGNED
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn codes_normalise_to_upper_case() {
        let de: Country = "de".parse().unwrap();
        assert_eq!(de.as_str(), "DE");
        assert_eq!(" Gb ".parse::<Country>().unwrap().to_string(), "GB");
        assert_eq!(Country::from_code("xk").unwrap().as_str(), "XK");
        assert_eq!(Country::from_code("fr"), Some("FR".parse().unwrap()));
    }

    #[test]
    fn bad_codes_say_what_is_wrong() {
        for (entry, reason) in [
            ("", "a country is a two-letter ISO 3166-1 code, such as DE"),
            (
                "DEU",
                "a country is a two-letter ISO 3166-1 code, such as DE",
            ),
            (
                "D1",
                "a country is a two-letter ISO 3166-1 code, such as DE",
            ),
            (
                "Ää",
                "a country is a two-letter ISO 3166-1 code, such as DE",
            ),
            ("uk", "the United Kingdom's code is GB"),
            ("XX", "no country has this ISO 3166-1 code"),
            ("ZZ", "no country has this ISO 3166-1 code"),
            ("EU", "no country has this ISO 3166-1 code"),
            ("QQ", "no country has this ISO 3166-1 code"),
        ] {
            assert_eq!(
                entry.parse::<Country>(),
                Err(PolicyError::InvalidCountry {
                    entry: entry.into(),
                    reason
                }),
                "{entry:?}"
            );
        }
    }

    #[test]
    fn listed_countries_pass_and_others_do_not() {
        let l = list(&["DE", "at", "CH"]);
        assert_eq!(country_allowed(&l, Some("DE")), Ok(()));
        assert_eq!(country_allowed(&l, Some("at")), Ok(()));
        assert_eq!(country_allowed(&l, Some("ch")), Ok(()));
        assert_eq!(country_allowed(&l, Some("FR")), Err(Deny::GeoNotAllowed));
        assert_eq!(country_allowed(&l, Some("US")), Err(Deny::GeoNotAllowed));
    }

    #[test]
    fn unknown_countries_are_refused_distinctly() {
        let l = list(&["DE"]);
        // No database, or no entry for the address.
        assert_eq!(country_allowed(&l, None), Err(Deny::GeoUnknown));
        // Placeholders CDNs and databases use for "unknown", "Tor", "anonymous proxy".
        for unknown in ["", "XX", "ZZ", "T1", "A1", "EU", "--", "DEU"] {
            assert_eq!(
                country_allowed(&l, Some(unknown)),
                Err(Deny::GeoUnknown),
                "{unknown:?}"
            );
        }
    }

    #[test]
    fn an_empty_list_allows_everyone() {
        assert_eq!(country_allowed(&[], None), Ok(()));
        assert_eq!(country_allowed(&[], Some("XX")), Ok(()));
        assert_eq!(country_allowed(&[], Some("FR")), Ok(()));
    }

    #[test]
    fn serde_round_trip() {
        let c: Country = serde_json::from_str("\"ch\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"CH\"");
        assert!(serde_json::from_str::<Country>("\"UK\"").is_err());
        assert!(serde_json::from_str::<Country>("41").is_err());
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn lookup_agrees_with_the_table(code in "[a-zA-Z]{2}") {
            let upper = code.to_ascii_uppercase();
            let assigned = ASSIGNED.contains(&upper.as_str());
            prop_assert_eq!(Country::from_code(&code).is_some(), assigned);
            let l = [Country::from_code("DE").unwrap()];
            let expected = if !assigned {
                Err(Deny::GeoUnknown)
            } else if upper == "DE" {
                Ok(())
            } else {
                Err(Deny::GeoNotAllowed)
            };
            prop_assert_eq!(country_allowed(&l, Some(&code)), expected);
        }
    }
}
