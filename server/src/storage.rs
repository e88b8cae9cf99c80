//! The object store, through aws-sdk-s3 exactly as against AWS S3 (endpoint, region,
//! credentials and path-style come from the settings). The HTTP service only creates, signs,
//! lists, completes and aborts multipart uploads and presigns reads: media bytes never pass
//! through it. Transcode workers also read sealed sources and write sealed packages here.
//!
//! Presigned part URLs are secrets until they expire: they are returned to the browser that
//! asked, never logged, and errors from this module never include them. Presigned GETs, which a
//! playback session asks for by the dozen, are signed by [`crate::presign`] once it has
//! reproduced the SDK's own URL exactly.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, CorsConfiguration, CorsRule,
};

use cinelock_core::upload::{ChecksumAlgorithm as PartChecksumAlgorithm, PartChecksum};

use crate::AppError;
use crate::config::StorageSettings;
use crate::presign::GetSigner;

/// A presigned UploadPart request: the URL plus the headers the browser must send with it.
#[derive(Clone)]
pub struct SignedPart {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Unix ms, on this server's clock.
    pub expires_at_ms: i64,
    /// How long the signature lives from now.
    pub lifetime_ms: u64,
}

impl std::fmt::Debug for SignedPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedPart")
            .field("url", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A part the store holds (the wire type: `GET /v1/uploads/{id}` lists them as they are). Some
/// stores (s3s-fs 0.14) list parts without ETags; the browser keeps its own.
pub use cinelock_contract::uploads::ListedPartView as ListedPart;

/// A finished part for CompleteMultipartUpload.
#[derive(Debug, Clone)]
pub struct FinishedPart {
    pub number: u32,
    pub etag: String,
    /// What its URL was signed for: the store repeats the check.
    pub checksum: PartChecksum,
}

/// The bucket sealed uploads go to.
#[derive(Debug, Clone)]
pub struct Storage {
    client: Client,
    bucket: String,
    region: String,
    credentials: Credentials,
    /// Presigned GETs without the SDK's pipeline, once one URL showed they come out the same
    /// (`None` inside: they did not, and the SDK signs every one).
    get_signer: Arc<OnceLock<Option<GetSigner>>>,
}

fn storage_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    op: &str,
    e: aws_sdk_s3::error::SdkError<E>,
) -> AppError {
    let code = e.code().unwrap_or("unknown").to_owned();
    AppError::Storage(format!("{op} failed ({code}): {}", DisplayErrorContext(&e)))
}

fn is_no_such_upload<E: ProvideErrorMetadata>(e: &aws_sdk_s3::error::SdkError<E>) -> bool {
    e.code() == Some("NoSuchUpload")
}

impl Storage {
    pub fn new(s: &StorageSettings) -> Self {
        let credentials =
            Credentials::new(&s.access_key, &s.secret_key, None, None, "cinelock-config");
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&s.endpoint)
            .region(Region::new(s.region.clone()))
            .credentials_provider(credentials.clone())
            .force_path_style(s.path_style)
            // A store that accepts the connection and never answers must not hang a request
            // (or the start-up check) forever.
            .timeout_config(
                aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .operation_timeout(Duration::from_secs(90))
                    .build(),
            )
            .build();
        Self {
            client: Client::from_conf(conf),
            bucket: s.bucket.clone(),
            region: s.region.clone(),
            credentials,
            get_signer: Arc::default(),
        }
    }

    /// Starts a multipart upload whose parts carry `checksum`s.
    pub async fn create_upload(
        &self,
        key: &str,
        checksum: PartChecksumAlgorithm,
    ) -> Result<String, AppError> {
        let algorithm = match checksum {
            PartChecksumAlgorithm::Crc32c => ChecksumAlgorithm::Crc32C,
            PartChecksumAlgorithm::Sha256 => ChecksumAlgorithm::Sha256,
        };
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/vnd.cinelock.sealed")
            .checksum_algorithm(algorithm)
            .send()
            .await
            .map_err(|e| storage_error("CreateMultipartUpload", e))?;
        out.upload_id()
            .map(str::to_owned)
            .ok_or_else(|| AppError::Storage("no upload id returned".into()))
    }

    /// Presigns one part. The checksum (and so the exact bytes) is covered by the signature:
    /// the store rejects a part corrupted in transit before the upload is completed.
    pub async fn sign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        checksum: &PartChecksum,
        size: u64,
        ttl: Duration,
    ) -> Result<SignedPart, AppError> {
        let config = PresigningConfig::builder()
            .start_time(SystemTime::now())
            .expires_in(ttl)
            .build()
            .map_err(|e| AppError::Storage(format!("presigning config: {e}")))?;
        let b64 = checksum.to_base64();
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number as i32)
            .content_length(size as i64);
        let request = match checksum {
            PartChecksum::Crc32c(_) => request.checksum_crc32_c(b64),
            PartChecksum::Sha256(_) => request.checksum_sha256(b64),
        };
        let presigned = request
            .presigned(config)
            .await
            .map_err(|e| storage_error("presign UploadPart", e))?;
        // A browser sets Content-Length itself (and may not set it by hand).
        let headers = presigned
            .headers()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("content-length"))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let expires_at_ms = crate::db::now_ms() + ttl.as_millis() as i64;
        Ok(SignedPart {
            url: presigned.uri().to_owned(),
            headers,
            expires_at_ms,
            lifetime_ms: ttl.as_millis() as u64,
        })
    }

    /// Lists every part the store holds for an upload (all pages), in part order; `None` when
    /// the store no longer knows the upload (completed, aborted or expired).
    pub async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<Vec<ListedPart>>, AppError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = match self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.clone())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if is_no_such_upload(&e) => return Ok(None),
                Err(e) => return Err(storage_error("ListParts", e)),
            };
            for p in out.parts() {
                parts.push(ListedPart {
                    number: p.part_number().unwrap_or(0) as u32,
                    size: p.size().unwrap_or(0) as u64,
                    etag: p.e_tag().filter(|e| !e.is_empty()).map(str::to_owned),
                });
            }
            match (out.is_truncated(), out.next_part_number_marker()) {
                (Some(true), Some(next)) => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        parts.sort_by_key(|p| p.number);
        Ok(Some(parts))
    }

    /// Completes an upload; `Ok(false)` when the store no longer knows it (maybe completed by
    /// an earlier attempt whose response was lost: the caller checks the object).
    pub async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[FinishedPart],
    ) -> Result<bool, AppError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| {
                        let part = CompletedPart::builder()
                            .part_number(p.number as i32)
                            .e_tag(&p.etag);
                        let b64 = p.checksum.to_base64();
                        match p.checksum {
                            PartChecksum::Crc32c(_) => part.checksum_crc32_c(b64),
                            PartChecksum::Sha256(_) => part.checksum_sha256(b64),
                        }
                        .build()
                    })
                    .collect(),
            ))
            .build();
        match self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_no_such_upload(&e) => Ok(false),
            Err(e) => Err(storage_error("CompleteMultipartUpload", e)),
        }
    }

    /// Aborts an upload; an upload the store no longer knows counts as aborted.
    pub async fn abort(&self, key: &str, upload_id: &str) -> Result<(), AppError> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_no_such_upload(&e) => Ok(()),
            Err(e) => Err(storage_error("AbortMultipartUpload", e)),
        }
    }

    /// The object's size, if it exists.
    pub async fn object_size(&self, key: &str) -> Result<Option<u64>, AppError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.content_length().unwrap_or(0) as u64)),
            Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => Ok(None),
            Err(e) => Err(storage_error("HeadObject", e)),
        }
    }

    /// Streams an object's body (a transcode worker reading a sealed source).
    pub async fn get_object(
        &self,
        key: &str,
    ) -> Result<aws_sdk_s3::primitives::ByteStream, AppError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| storage_error("GetObject", e))?;
        Ok(out.body)
    }

    /// Writes a whole (sealed) object.
    pub async fn put_object(&self, key: &str, body: Vec<u8>) -> Result<(), AppError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/vnd.cinelock.sealed")
            .body(body.into())
            .send()
            .await
            .map_err(|e| storage_error("PutObject", e))?;
        Ok(())
    }

    /// Every key under `prefix`.
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, AppError> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| storage_error("ListObjectsV2", e))?;
            keys.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => return Ok(keys),
            }
        }
    }

    /// Deletes every object under `prefix`; returns how many.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, AppError> {
        let keys = self.list_keys(prefix).await?;
        for key in &keys {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| storage_error("DeleteObject", e))?;
        }
        Ok(keys.len())
    }

    /// A presigned GET for one object (a player fetching a sealed segment). A secret until it
    /// expires: never logged.
    pub async fn presign_get(&self, key: &str, ttl: Duration) -> Result<String, AppError> {
        let now = SystemTime::now();
        if let Some(Some(signer)) = self.get_signer.get()
            && let Some(url) = signer.presign(key, now, ttl)
        {
            return Ok(url);
        }
        let url = self.sdk_presign_get(key, now, ttl).await?;
        self.get_signer.get_or_init(|| {
            GetSigner::learn(&url, key, now, ttl, &self.region, self.credentials.clone())
        });
        Ok(url)
    }

    /// The presigned GET of `key` as the SDK signs it, at `at`.
    async fn sdk_presign_get(
        &self,
        key: &str,
        at: SystemTime,
        ttl: Duration,
    ) -> Result<String, AppError> {
        let config = PresigningConfig::builder()
            .start_time(at)
            .expires_in(ttl)
            .build()
            .map_err(|e| AppError::Storage(format!("presigning config: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| storage_error("presign GetObject", e))?;
        Ok(req.uri().to_owned())
    }

    /// Writes CORS rules letting `origins` PUT parts and read the ETag header, and any origin
    /// GET (embedded players).
    pub async fn configure_cors(&self, origins: &[String]) -> Result<(), AppError> {
        let origins = if origins.is_empty() {
            vec!["*".to_owned()]
        } else {
            origins.to_vec()
        };
        let rule = CorsRule::builder()
            .set_allowed_origins(Some(origins))
            .set_allowed_methods(Some(
                ["GET", "PUT", "POST", "HEAD", "DELETE"]
                    .map(String::from)
                    .to_vec(),
            ))
            .allowed_headers("*")
            .expose_headers("ETag")
            .max_age_seconds(3600)
            .build()
            .map_err(|e| AppError::Storage(format!("CORS rule: {e}")))?;
        // Players embedded on any site GET sealed segments with presigned URLs: the signature
        // is the authorization, and the objects are ciphertext, so any origin may read.
        let read = CorsRule::builder()
            .allowed_origins("*")
            .allowed_methods("GET")
            .allowed_methods("HEAD")
            .allowed_headers("*")
            .max_age_seconds(3600)
            .build()
            .map_err(|e| AppError::Storage(format!("CORS rule: {e}")))?;
        let config = CorsConfiguration::builder()
            .cors_rules(rule)
            .cors_rules(read)
            .build()
            .map_err(|e| AppError::Storage(format!("CORS configuration: {e}")))?;
        self.client
            .put_bucket_cors()
            .bucket(&self.bucket)
            .cors_configuration(config)
            .send()
            .await
            .map_err(|e| storage_error("PutBucketCors", e))?;
        Ok(())
    }

    /// Checks the bucket's CORS rules let every origin PUT and read `ETag`; the message says
    /// what is missing and how to fix it.
    pub async fn check_cors(&self, origins: &[String]) -> Result<(), String> {
        let fix = "run `cinelock-server configure-bucket-cors` (or set the rules yourself), or pass --skip-cors-check";
        let rules = match self
            .client
            .get_bucket_cors()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(out) => out.cors_rules().to_vec(),
            Err(e) => {
                return Err(format!(
                    "cannot read the bucket's CORS rules ({}); {fix}",
                    e.code().unwrap_or("unknown")
                ));
            }
        };
        let wanted: Vec<&str> = if origins.is_empty() {
            vec!["*"]
        } else {
            origins.iter().map(String::as_str).collect()
        };
        for origin in wanted {
            let ok = rules.iter().any(|r| {
                let origin_ok = r.allowed_origins().iter().any(|o| o == "*" || o == origin);
                let put_ok = r
                    .allowed_methods()
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case("PUT"));
                let etag_ok = r
                    .expose_headers()
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case("etag"));
                origin_ok && put_ok && etag_ok
            });
            if !ok {
                return Err(format!(
                    "bucket CORS does not let {origin} PUT parts and read the ETag header (ExposeHeaders: ETag); {fix}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(endpoint: &str, path_style: bool) -> Storage {
        Storage::new(&StorageSettings {
            endpoint: endpoint.into(),
            region: "eu-west-1".into(),
            bucket: "media".into(),
            access_key: "GKexample".into(),
            secret_key: "c2VjcmV0/c2VjcmV0+c2VjcmV0".into(),
            path_style,
        })
    }

    #[tokio::test]
    async fn presigned_gets_are_signed_here_exactly_as_the_sdk_signs_them() {
        let ttl = Duration::from_secs(900);
        for (endpoint, path_style) in [
            ("http://127.0.0.1:3900", true),
            ("https://s3.eu-west-1.amazonaws.com", false),
            ("https://store.example:8443", true),
        ] {
            let s = storage(endpoint, path_style);
            let first = s
                .presign_get("assets/a/packages/p/manifest.cnls", ttl)
                .await
                .unwrap();
            assert!(first.contains("X-Amz-Signature="), "{first}");
            let signer =
                s.get_signer.get().unwrap().as_ref().unwrap_or_else(|| {
                    panic!("{endpoint}: the SDK's URL was not reproduced: {first}")
                });
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
            for key in [
                "assets/a/packages/p/v720/00001.cnls",
                "assets/with space/é+%/~x_y-z.cnls",
                "k",
            ] {
                let sdk = s.sdk_presign_get(key, at, ttl).await.unwrap();
                assert_eq!(
                    signer.presign(key, at, ttl).unwrap(),
                    sdk,
                    "{endpoint} {key}"
                );
            }
            // Another key, another time: another signature.
            assert_ne!(
                signer.presign("k", at, ttl),
                signer.presign("k", at + Duration::from_secs(1), ttl)
            );
        }
    }
}
