//! Errors in policy *configuration*: allow-list entries, token secrets and claims that cannot be
//! accepted. They surface when a customer saves a policy or a backend mints a token, never while
//! deciding a request (that only ever yields a [`Deny`](super::Deny)).

/// An allow-list entry, token secret or token claim that cannot be accepted.
///
/// Each message quotes the offending entry and says what is wrong with it, so it can be shown
/// to the customer who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Not an IP address or CIDR block.
    #[error("invalid IP allow-list entry {entry:?}: {reason}")]
    InvalidCidr {
        /// The entry as given.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not a host, `*.` wildcard or origin.
    #[error("invalid origin allow-list entry {entry:?}: {reason}")]
    InvalidOrigin {
        /// The entry as given.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not an assigned ISO 3166-1 alpha-2 country code.
    #[error("invalid country code {entry:?}: {reason}")]
    InvalidCountry {
        /// The entry as given.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A token secret too short to resist guessing.
    #[error("a token secret must be at least {min} bytes, this one is {len}", min = super::MIN_SECRET_LEN)]
    SecretTooShort {
        /// The secret's length in bytes.
        len: usize,
    },
    /// Token claims that [`verify`](super::verify) would refuse, so [`mint`](super::mint)
    /// refuses them too.
    #[error("invalid token claims: {0}")]
    InvalidClaims(&'static str),
}

impl PolicyError {
    /// A stable, machine-readable name for the error's kind.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::InvalidCidr { .. } => "invalid_cidr",
            PolicyError::InvalidOrigin { .. } => "invalid_origin",
            PolicyError::InvalidCountry { .. } => "invalid_country",
            PolicyError::SecretTooShort { .. } => "secret_too_short",
            PolicyError::InvalidClaims(_) => "invalid_claims",
        }
    }
}
