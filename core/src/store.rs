//! How to read an object store's (or the server's) refusals: which HTTP statuses are worth
//! retrying, which say "slow down", and which say that a presigned URL has expired. One rule
//! for the upload engine, the player and the SDK's API calls.

/// Whether an HTTP status is worth retrying: the server or store is overloaded or failed
/// (5xx), throttles (429) or timed out (408). Every other status is an answer.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// A status that says "too many requests": fewer requests at once. S3 throttles with
/// `503 SlowDown`, most other stores with 429.
pub fn throttle_status(status: u16) -> bool {
    matches!(status, 429 | 503)
}

/// What a refused request to a presigned URL means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The signature expired (AWS: 403 "Request has expired"; Garage: 400 "Date is too old").
    /// A new URL helps.
    Expired,
    /// The store's checksum of the body differs from the checksum header (AWS `BadDigest`,
    /// Garage `InvalidDigest`): the bytes were damaged on the way.
    BadDigest,
    /// S3's `400 RequestTimeout`: the connection idled; a network failure in all but name.
    Timeout,
    /// Any other status.
    Status(u16),
}

/// Reads a store's answer to a PUT: its status and (S3 XML) body.
pub fn classify_put(status: u16, body: &str) -> Refusal {
    if body.contains("Request has expired")
        || body.contains("too old")
        || body.contains("<Code>ExpiredToken")
    {
        Refusal::Expired
    } else if body.contains("BadDigest")
        || body.contains("InvalidDigest")
        || body.contains("XAmzContentChecksumMismatch")
    {
        Refusal::BadDigest
    } else if status == 400 && body.contains("RequestTimeout") {
        Refusal::Timeout
    } else {
        Refusal::Status(status)
    }
}

/// Reads a store's (or CDN's) answer to a GET of a presigned URL by status alone: a browser
/// may not see the body of a cross-origin error. 400, 401 and 403 are how stores and CDNs
/// refuse an expired signature (AWS 403, Garage 400 or 403); a new URL is worth one more try.
pub fn classify_get(status: u16) -> Refusal {
    match status {
        400 | 401 | 403 => Refusal::Expired,
        s => Refusal::Status(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        for s in [408, 429, 500, 502, 503, 599] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 410, 600] {
            assert!(!retryable_status(s), "{s}");
        }
        assert!(throttle_status(429) && throttle_status(503) && !throttle_status(500));
    }

    #[test]
    fn put_refusals() {
        let aws_expired =
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
        assert_eq!(classify_put(403, aws_expired), Refusal::Expired);
        assert_eq!(
            classify_put(400, "<Message>Date is too old</Message>"),
            Refusal::Expired
        );
        assert_eq!(
            classify_put(400, "<Code>BadDigest</Code>"),
            Refusal::BadDigest
        );
        assert_eq!(
            classify_put(400, "<Code>InvalidDigest</Code>"),
            Refusal::BadDigest
        );
        assert_eq!(
            classify_put(400, "<Code>RequestTimeout</Code>"),
            Refusal::Timeout
        );
        assert_eq!(
            classify_put(403, "<Code>AccessDenied</Code>"),
            Refusal::Status(403)
        );
        assert_eq!(classify_put(503, "SlowDown"), Refusal::Status(503));
    }

    #[test]
    fn get_refusals() {
        for s in [400, 401, 403] {
            assert_eq!(classify_get(s), Refusal::Expired);
        }
        assert_eq!(classify_get(404), Refusal::Status(404));
        assert_eq!(classify_get(503), Refusal::Status(503));
    }
}
