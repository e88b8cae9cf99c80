//! One part's state inside the engine: its bytes in the driver's memory, its PUT, its URL.
//!
//! The three facets move independently (a part can be sealed, backing off, and waiting for a
//! fresh URL all at once), so they are separate fields rather than one product enum.

use core::fmt;

use super::PartChecksum;
use super::action::Redacted;
use crate::presigned::{Lease, UrlLife};

/// What the driver holds in memory for a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Data {
    /// Nothing: not sealed yet, or acknowledged and released.
    Absent,
    /// Bytes the store refused (bad digest); they still occupy the driver's slot until the
    /// reseal replaces them.
    Stale,
    /// A `Seal` is out.
    Sealing,
    /// Sealed and held, ready to send.
    Sealed { checksum: PartChecksum, len: u64 },
}

/// Where a part's upload stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Put {
    /// No PUT out (never sent, or waiting to retry).
    Idle,
    /// A PUT is out; only its result counts. The lease of its URL tells, if the store calls
    /// the URL expired, how long it lasted. `active_at`: when it started or last sent bytes
    /// (for the stall timeout).
    InFlight {
        attempt: u32,
        lease: Lease,
        active_at: u64,
    },
    /// The store acknowledged the part.
    Done { etag: String },
}

/// A presigned URL and when to stop using it.
#[derive(Clone)]
pub(crate) struct Url {
    pub(crate) url: String,
    /// The checksum the signature covers, when it covers one: the URL then fits only bytes
    /// with that checksum.
    pub(crate) signed_for: Option<PartChecksum>,
    /// When it arrived and until when a new PUT may start with it ([`crate::presigned`]).
    pub(crate) lease: Lease,
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Url")
            .field("url", &Redacted)
            .field("signed_for", &self.signed_for.is_some())
            .field("lease", &self.lease)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) data: Data,
    pub(crate) put: Put,
    /// PUTs made this session (each one's number tells its result from a later one's).
    pub(crate) attempts: u32,
    /// Of those, PUTs a pause cancelled: not failures, so not counted against the limit.
    pub(crate) cancelled: u32,
    /// Bytes of the PUT that is out the driver has sent so far.
    pub(crate) sent: u64,
    /// Backoff: no PUT before this time.
    pub(crate) retry_at: Option<u64>,
    pub(crate) url: Option<Url>,
    /// In the signing request that is out.
    pub(crate) requested: bool,
    /// The checksum that request carries (checksum-in-signature mode).
    pub(crate) requested_for: Option<PartChecksum>,
    /// Already counted in the sealed bytes (a reseal does not count twice).
    pub(crate) counted: bool,
    /// When the `Seal` that is out went out.
    pub(crate) sealing_since: u64,
    /// Seals of this part given up for stalling.
    pub(crate) seal_stalls: u32,
}

impl Part {
    pub(crate) fn new() -> Self {
        Self {
            data: Data::Absent,
            put: Put::Idle,
            attempts: 0,
            cancelled: 0,
            sent: 0,
            retry_at: None,
            url: None,
            requested: false,
            requested_for: None,
            counted: false,
            sealing_since: 0,
            seal_stalls: 0,
        }
    }

    /// PUTs that failed (cancelled ones are not failures).
    pub(crate) fn failures(&self) -> u32 {
        self.attempts - self.cancelled
    }

    pub(crate) fn is_done(&self) -> bool {
        matches!(self.put, Put::Done { .. })
    }

    /// The checksum of the bytes held, once sealed.
    pub(crate) fn sealed_checksum(&self) -> Option<PartChecksum> {
        match self.data {
            Data::Sealed { checksum, .. } => Some(checksum),
            _ => None,
        }
    }

    /// Has a URL a new PUT of the bytes held may start with at `now`.
    pub(crate) fn url_usable(&self, life: &UrlLife, now: u64) -> bool {
        self.url.as_ref().is_some_and(|u| {
            life.usable(&u.lease, now)
                && u.signed_for
                    .is_none_or(|s| Some(s) == self.sealed_checksum())
        })
    }

    /// Sealed, not out, not backing off: only a URL and a free slot are missing.
    pub(crate) fn ready_to_put(&self) -> bool {
        matches!(self.data, Data::Sealed { .. }) && self.put == Put::Idle && self.retry_at.is_none()
    }

    /// Needs a URL the signing request that is out does not already cover. When signatures
    /// cover checksums, only sealed bytes can be signed for.
    pub(crate) fn wants_url(&self, life: &UrlLife, now: u64, checksum_in_signature: bool) -> bool {
        !self.requested
            && !self.url_usable(life, now)
            && matches!(self.put, Put::Idle)
            && (!checksum_in_signature || self.sealed_checksum().is_some())
    }
}
