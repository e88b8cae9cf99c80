//! What the page's players measured of their link, for the page's later players: the last
//! bandwidth estimate per server, in this module's memory only. Nothing is stored: it goes with
//! the page, and it says nothing of the viewer that the requests themselves do not. A later
//! player starts from it rather than from the 1 Mbit/s guess
//! (`AbrConfig::measured_bandwidth_bps`: the core decides what a start makes of it).
//!
//! `load()`'s rehearsal plays at a local origin that never reaches the network: what it
//! "measures" is not kept.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::platform;

thread_local! {
    /// Bits per second, by the server's endpoint (the players of one server share its store).
    static LAST: RefCell<HashMap<String, f64>> = RefCell::new(HashMap::new());
}

/// What the last player of `endpoint` on this page measured, if any did.
pub(crate) fn recall(endpoint: &str) -> Option<f64> {
    LAST.with(|l| l.borrow().get(endpoint).copied())
}

/// A player of `endpoint` has measured `bps`.
pub(crate) fn note(endpoint: &str, bps: f64) {
    if platform::is_local(endpoint) || !bps.is_finite() || bps <= 0.0 {
        return;
    }
    LAST.with(|l| {
        let mut l = l.borrow_mut();
        match l.get_mut(endpoint) {
            Some(v) => *v = bps,
            None => {
                l.insert(endpoint.to_owned(), bps);
            }
        }
    });
}
