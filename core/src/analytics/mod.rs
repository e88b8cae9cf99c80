//! Playback analytics, privacy first (`docs/analytics.md`, `docs/privacy.md`).
//!
//! - [`tracker`]: the player's side: a view's events and running totals, batching and retries
//!   ([`ViewTracker`]), sans-IO like the engines.
//! - [`beacon`]: what crosses the wire, its validation, and what a batch says about its view.
//! - [`mask`]: what the server may keep of a request, computed before anything is stored:
//!   truncated addresses, coarse user agents, referrer hosts, keyed-hash pseudonyms.
//! - [`rollup`]: what the server keeps per view and what each view adds to the hourly rollups
//!   the reports read.
//! - [`salt`]: the daily salts of pseudonyms, destroyed after 48 hours.
//!
//! No clock and no randomness here: times and salts come from the caller.

pub mod beacon;
pub mod mask;
pub mod rollup;
pub mod salt;
pub mod tracker;

pub use beacon::{BeaconEvent, EventKind, Totals, ViewFacts, validate};
pub use tracker::{Batch, SendFailure, TrackerConfig, ViewTracker};

/// What the embedding page allows (the player's `consent` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// No beacons at all.
    Off,
    /// Anonymous audience measurement (exempt from consent under the CNIL's conditions): no
    /// identifier from the page, and a pseudonym that lives one day.
    #[default]
    Anonymous,
    /// The page has the viewer's consent: a customer `viewerId` may go along (stored only as a
    /// keyed hash).
    Full,
}

impl Consent {
    /// What applies once the browser's own signals are heard: Do Not Track or Global Privacy
    /// Control make any consent anonymous, and the server then keeps no pseudonym either.
    pub fn effective(self, do_not_track: bool) -> Consent {
        match self {
            Consent::Full | Consent::Anonymous if do_not_track => Consent::Anonymous,
            c => c,
        }
    }
}
