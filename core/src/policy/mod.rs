//! Playback policy: whether a session may have an asset's content key.
//!
//! The server gathers the facts of a request (headers, client address, geolocation, the
//! password check's result, the clock) into a [`Request`] and calls [`decide`] with the
//! asset's stored [`AssetPolicy`] and the customer's [`TokenKeys`]. The answer is a [`Grant`]
//! or a [`Deny`] whose [`reason`](Deny::reason) is a stable string for API responses. Nothing
//! here does I/O or reads a clock.
//!
//! - [`token`]: viewer tokens (`clv1.<claims>.<hmac>`) minted by customers' backends.
//! - [`cidr`], [`origin`], [`geo`]: the three allow-lists, each off while empty.
//! - [`client`]: the client address behind trusted proxies, and the password-guess key.
//! - [`rate`]: the password-guess limiter the server keeps between requests.
//!
//! Allow-list entries are validated where they are parsed (when a policy is saved or loaded),
//! with errors ([`PolicyError`]) that say what is wrong with the entry; deciding never fails
//! for a configuration reason.
//!
//! A password-protected asset, as the server would handle it: decide without the password
//! first, and spend a rate-limit slot and an Argon2 hash only if the password is all that is
//! missing.
//!
//! ```
//! use cinelock_core::policy::{
//!     AssetPolicy, AttemptLimiter, Deny, RateConfig, Request, TokenKeys, Visibility, decide,
//! };
//!
//! let policy = AssetPolicy {
//!     visibility: Visibility::Unlisted,
//!     password_required: true,
//!     ..AssetPolicy::default()
//! };
//! let keys = TokenKeys::none();
//! let mut limiter = AttemptLimiter::new(RateConfig::default());
//! let client = "192.0.2.1".parse().unwrap();
//! let password_given = Some("hunter2");
//! let argon2_verify = |p: &str| p == "hunter2"; // stands in for the real hash check
//!
//! let mut req = Request::new("asset-1", client, 1_750_000_000);
//! let outcome = match decide(&policy, &req, &keys) {
//!     Err(Deny::PasswordRequired) if password_given.is_some() => {
//!         limiter.attempt(&("asset-1", client), 1_750_000_000_000).and_then(|()| {
//!             req.password_ok = password_given.map(argon2_verify);
//!             decide(&policy, &req, &keys)
//!         })
//!     }
//!     other => other,
//! };
//! assert!(outcome.is_ok());
//! ```

mod asset;
pub mod cidr;
pub mod client;
mod decide;
mod deny;
mod error;
pub mod geo;
pub mod origin;
pub mod rate;
pub mod token;

pub use asset::{AssetPolicy, Visibility};
pub use cidr::{Cidr, ip_allowed};
pub use client::{client_ip, guess_key};
pub use decide::{Grant, Request, decide};
pub use deny::Deny;
pub use error::PolicyError;
pub use geo::{Country, country_allowed};
pub use origin::{Origin, OriginRule, frame_ancestors, origin_allowed};
pub use rate::{AttemptLimiter, RateConfig};
pub use token::{
    Claims, DEFAULT_SKEW_S, MAX_KEY_ID_LEN, MAX_TOKEN_LEN, MAX_VIEWER_LEN, MIN_SECRET_LEN,
    TOKEN_PREFIX, TOKEN_PREFIX_V2, TokenKeys, key_id, mint, mint_with_key_id, verify,
};
