//! How long a presigned URL is used, on the driver's clock: one rule for the upload engine's
//! part URLs and the player's segment URLs, so both treat clocks alike.
//!
//! The server states each URL's lifetime relative to the moment it signed (`expires_in_ms` in
//! its answers), so a browser clock set wrong changes nothing: a URL received at `now` (on the
//! driver's own clock, which need not be the wall clock) is used until `now + lifetime`, less a
//! refresh margin that also covers the answer's time on the network. The margin is capped at
//! half the lifetime, so a short-lived URL is still used rather than renewed forever.
//!
//! Where the signing server's clock and the store's disagree, URLs die early, which shows
//! only as refusals: once the store refuses a URL as expired, later URLs are trusted for no
//! longer than that one lasted (less a fifth), and never for less than
//! [`MIN_TRUSTED_LIFE_MS`], so a store refusing everything ends in a clear failure (attempts
//! run out) rather than a loop of instant renewals.

use core::fmt;

/// A presigned URL: a bearer credential, so its `Debug` output is `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct PresignedUrl(pub String);

impl fmt::Debug for PresignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The shortest lifetime a refusal can teach: below it, a URL is used for what the server
/// says.
pub const MIN_TRUSTED_LIFE_MS: u64 = 30_000;

/// Until when a URL may start a request, learned from what the server says and what the store
/// refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlLife {
    margin_ms: u64,
    cap_ms: Option<u64>,
}

/// When one URL arrived, and for how long the server signed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// On the driver's clock.
    pub received_at: u64,
    /// As the server stated it.
    pub lifetime_ms: u64,
}

impl UrlLife {
    /// URLs renewed `margin_ms` before they expire (at most half their lifetime before).
    pub fn new(margin_ms: u64) -> Self {
        Self {
            margin_ms,
            cap_ms: None,
        }
    }

    /// A URL received at `now` that the server signed for `lifetime_ms`.
    pub fn lease(&self, now: u64, lifetime_ms: u64) -> Lease {
        Lease {
            received_at: now,
            lifetime_ms,
        }
    }

    /// The last moment (exclusive) a request may start with `lease`'s URL, by what is known
    /// now: a refusal shortens the leases already given too.
    pub fn usable_until(&self, lease: &Lease) -> u64 {
        let life = self
            .cap_ms
            .map_or(lease.lifetime_ms, |c| c.min(lease.lifetime_ms));
        lease
            .received_at
            .saturating_add(life - self.margin_ms.min(life / 2))
    }

    /// Whether a request may start with `lease`'s URL at `now`.
    pub fn usable(&self, lease: &Lease, now: u64) -> bool {
        now < self.usable_until(lease)
    }

    /// The store refused the URL of `lease` as expired at `now`: later URLs are trusted for
    /// less than it lasted.
    pub fn handle_refused(&mut self, lease: &Lease, now: u64) {
        let lasted = now.saturating_sub(lease.received_at);
        let cap = (lasted - lasted / 5).max(MIN_TRUSTED_LIFE_MS);
        self.cap_ms = Some(self.cap_ms.map_or(cap, |c| c.min(cap)));
    }

    /// The longest lifetime URLs are trusted for, once a refusal taught one.
    pub fn cap_ms(&self) -> Option<u64> {
        self.cap_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_the_stated_lifetime_less_the_margin() {
        let life = UrlLife::new(30_000);
        let l = life.lease(1_000, 600_000);
        assert_eq!(life.usable_until(&l), 1_000 + 570_000);
        assert!(life.usable(&l, 570_999) && !life.usable(&l, 571_000));
    }

    #[test]
    fn a_short_lifetime_keeps_half_of_it() {
        let life = UrlLife::new(30_000);
        assert_eq!(life.usable_until(&life.lease(0, 20_000)), 10_000);
        assert!(!life.usable(&life.lease(5, 0), 5));
    }

    #[test]
    fn the_wall_clock_plays_no_part() {
        // The same answer received on clocks an hour apart leases for the same span.
        let life = UrlLife::new(15_000);
        let a = life.lease(0, 300_000);
        let b = life.lease(3_600_000, 300_000);
        assert_eq!(
            life.usable_until(&a) - a.received_at,
            life.usable_until(&b) - b.received_at
        );
    }

    #[test]
    fn a_refusal_caps_later_leases() {
        let mut life = UrlLife::new(10_000);
        let l = life.lease(0, 600_000);
        let older = life.lease(50_000, 600_000);
        // The store refused it after 100 s: the signer's clock runs behind the store's.
        life.handle_refused(&l, 100_000);
        assert_eq!(life.cap_ms(), Some(80_000));
        let next = life.lease(200_000, 600_000);
        assert_eq!(life.usable_until(&next), 200_000 + 80_000 - 10_000);
        // Leases given before the refusal are shortened too.
        assert_eq!(life.usable_until(&older), 50_000 + 70_000);
        // A later refusal only lowers the cap, and never below the floor.
        life.handle_refused(&next, 201_000);
        assert_eq!(life.cap_ms(), Some(MIN_TRUSTED_LIFE_MS));
        life.handle_refused(&life.lease(300_000, 600_000), 400_000);
        assert_eq!(life.cap_ms(), Some(MIN_TRUSTED_LIFE_MS));
    }
}
