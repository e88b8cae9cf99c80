//! What the request side hands the writer: a view as masked before storage ([`ViewDims`]: no
//! address, no full user agent, no URL) and one beacon's events ([`Item`]).

use cinelock_core::analytics::BeaconEvent;

/// What the request side knows of a view, masked ([`super::ingest`]).
#[derive(Debug, Clone)]
pub struct ViewDims {
    pub view_id: String,
    pub asset_id: String,
    pub tenant: String,
    pub received_at: i64,
    pub country: Option<String>,
    pub browser: String,
    pub os: String,
    pub device: String,
    pub referrer: Option<String>,
    pub network: Option<String>,
    pub pseudonym: Option<String>,
    pub viewer_hash: Option<String>,
}

/// One accepted beacon.
#[derive(Debug)]
pub struct Item {
    pub view: ViewDims,
    pub events: Vec<BeaconEvent>,
}
