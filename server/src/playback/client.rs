//! Who is asking: the client's address (the peer, or what trusted proxies forwarded) and its
//! country (a MaxMind-format database, when one is configured).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use cinelock_core::policy::{self, Cidr};

use crate::AppError;

/// Country lookups, from a MaxMind-format (GeoIP2 / GeoLite2 / DB-IP) database file.
pub struct Geo {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Geo(..)")
    }
}

impl Geo {
    /// Opens the database; a bad file is a start-up error.
    pub fn open(path: &Path) -> Result<Self, AppError> {
        let reader = maxminddb::Reader::open_readfile(path).map_err(|e| {
            AppError::Config(format!(
                "cannot open the geolocation database {}: {e}",
                path.display()
            ))
        })?;
        Ok(Self { reader })
    }

    /// The ISO country code of `ip`, if the database knows it.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let found: maxminddb::geoip2::Country = self.reader.lookup(ip).ok()??;
        found
            .country
            .or(found.registered_country)
            .and_then(|c| c.iso_code)
            .map(str::to_owned)
    }
}

/// The client's address: the socket peer, or, when the peer is one of `trusted` proxies, what
/// they appended to `header` (every line of it; the core's [`policy::client_ip`] decides).
/// Without a peer address (a request not from a socket), the unspecified address, which no
/// allow-list entry but `0.0.0.0/0` admits.
pub fn client_ip(
    extensions: &Extensions,
    headers: &HeaderMap,
    header: &str,
    trusted: &[Cidr],
) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let lines = headers
        .get_all(header)
        .iter()
        .filter_map(|v| v.to_str().ok());
    policy::client_ip(peer, lines, trusted)
}
