//! Presigned GETs signed here with `aws-sigv4`, for the reads a playback session asks for by the
//! dozen. aws-sdk-s3 runs its whole operation pipeline (endpoint rules, interceptors, a runtime
//! plugin) for every presigned URL: 30–80 µs each, 22 per session (docs/benchmarks.md). The
//! signature itself is a few HMACs.
//!
//! It is the SDK's URL, not an imitation of it: [`GetSigner::learn`] takes the URL the SDK
//! presigned for one key, and keeps the part before the key as the base (the SDK's endpoint
//! resolution, path-style or virtual-hosted, stays the SDK's). It then signs the same key at
//! the same time itself, and the fast path is used only if both URLs are the same, byte for
//! byte. Otherwise [`crate::storage::Storage`] goes on presigning through the SDK.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// The query the SDK puts before the signature of a presigned GetObject.
const GET_OBJECT_QUERY: &str = "x-id=GetObject";

/// Signs presigned GetObject URLs for one bucket.
#[derive(Debug, Clone)]
pub struct GetSigner {
    /// Everything before the key, as the SDK writes it (`http://host:3900/bucket/`).
    base: String,
    region: String,
    identity: Identity,
}

impl GetSigner {
    /// A signer matching `sdk_url`, the URL the SDK presigned for `key` at `at` for `ttl`; or
    /// nothing if this module would sign it differently (the SDK's URL is then the only way).
    pub fn learn(
        sdk_url: &str,
        key: &str,
        at: SystemTime,
        ttl: Duration,
        region: &str,
        credentials: Credentials,
    ) -> Option<Self> {
        let path = format!("{}?", encode_key(key));
        let base = &sdk_url[..sdk_url.find(&path)?];
        let signer = Self {
            base: base.to_owned(),
            region: region.to_owned(),
            identity: credentials.into(),
        };
        (signer.presign(key, at, ttl).as_deref() == Some(sdk_url)).then_some(signer)
    }

    /// The presigned GET of `key`, signed at `at`, valid for `ttl`.
    pub fn presign(&self, key: &str, at: SystemTime, ttl: Duration) -> Option<String> {
        let mut url = format!("{}{}?{GET_OBJECT_QUERY}", self.base, encode_key(key));
        // S3's signing rules, as aws-sdk-s3 sets them for presigning: the path taken as it is
        // (not normalised, not encoded twice), the payload unsigned, the signature in the query.
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(ttl);
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("s3")
            .time(at)
            .settings(settings)
            .build()
            .ok()?
            .into();
        let request = SignableRequest::new(
            "GET",
            &url,
            std::iter::empty(),
            SignableBody::UnsignedPayload,
        )
        .ok()?;
        let (instructions, _) = sign(request, &params).ok()?.into_parts();
        let (_, query) = instructions.into_parts();
        for (name, value) in query {
            url.push('&');
            url.push_str(name);
            url.push('=');
            url.extend(percent_encoding::utf8_percent_encode(&value, QUERY_VALUE));
        }
        Some(url)
    }
}

/// What a query value keeps unencoded: RFC 3986's unreserved characters.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What an object key keeps unencoded in a URL path: the unreserved characters and `/`.
const KEY_PATH: &percent_encoding::AsciiSet = &QUERY_VALUE.remove(b'/');

/// An object key as a URL path.
fn encode_key(key: &str) -> String {
    percent_encoding::utf8_percent_encode(key, KEY_PATH).to_string()
}
