//! The embedded S3 store, so the demo runs with no external service: s3s-fs (objects as files
//! under a directory) behind s3s's S3 protocol layer and signature checks, served on its own
//! loopback listener. [`start_if_configured`] starts it and points [`Settings::storage`] at it
//! (path-style, region `us-east-1`), so the rest of the server uses it exactly like any S3
//! endpoint. It is for demos and local development, not production.
//!
//! s3s has no bucket CORS, so a [`CorsLayer`] in front of it answers the browser's preflights
//! for the allowed origins and exposes `ETag`; the start-up CORS check is skipped for it.
//!
//! Known gaps of s3s-fs 0.14.1, each observed by a `gap_*` test in
//! `server/tests/embedded_s3.rs`:
//! - ListParts returns no ETags, and the parts in directory order, not by number. The server
//!   sorts what it lists, and the browser keeps the ETags that UploadPart returned.
//! - CompleteMultipartUpload checks neither checksums nor ETags.
//! - ListParts of an aborted, completed or unknown upload is an empty list, not NoSuchUpload.
//!   Completing again after a lost answer still works: an empty listing makes the server look
//!   for the object, as NoSuchUpload does.
//!
//! Two gaps are closed here, by [`Store`] in front of s3s-fs:
//! - s3s-fs stores an UploadPart without checking its `x-amz-checksum-crc32c` or
//!   `x-amz-checksum-sha256`, and checks a PutObject's only after writing it (a mismatching
//!   body is refused yet replaces the object). The store checks the checksum first and refuses
//!   a mismatch with BadDigest, storing nothing,
//!   as a real store does; the browser then sends the part again. (It holds the part in memory
//!   for that: parts are the plan's size, 8 MiB by default.)
//! - s3s-fs answers UploadPart, CompleteMultipartUpload and AbortMultipartUpload of an upload
//!   it does not know with AccessDenied. With one credential there is nothing else AccessDenied
//!   can mean, so the store answers NoSuchUpload, as a real store does (and a repeated abort is
//!   the no-op the server expects).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use tower_http::cors::{AllowHeaders, CorsLayer};

use cinelock_core::upload::{ChecksumAlgorithm, PartChecksum};

use crate::AppError;
use crate::config::{EmbeddedS3Settings, Settings, StorageSettings};

/// s3s-fs, checking signed checksums before anything is stored and answering NoSuchUpload
/// where it says AccessDenied (see the module docs).
struct Store(s3s_fs::FileSystem);

/// The checksum a request carries (signed, for the SDK's URLs): CRC32C or SHA-256, the
/// algorithms uploads use. A header that is not base64 of the algorithm's length is refused.
fn carried(crc32c: &Option<String>, sha256: &Option<String>) -> S3Result<Option<PartChecksum>> {
    let Some((algorithm, b64)) = [
        (ChecksumAlgorithm::Crc32c, crc32c),
        (ChecksumAlgorithm::Sha256, sha256),
    ]
    .into_iter()
    .find_map(|(a, v)| v.as_ref().map(|v| (a, v))) else {
        return Ok(None);
    };
    PartChecksum::from_base64(algorithm, b64)
        .map(Some)
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidDigest,
                format!(
                    "{} is not a {} checksum",
                    algorithm.header(),
                    algorithm.name()
                ),
            )
        })
}

/// Reads `body` whole and checks it against the checksum the request was signed with; gives
/// back a body with the same bytes.
async fn verified(body: Option<StreamingBlob>, expected: PartChecksum) -> S3Result<StreamingBlob> {
    use futures::TryStreamExt;
    let body = body.ok_or_else(|| S3Error::new(S3ErrorCode::IncompleteBody))?;
    let chunks: Vec<bytes::Bytes> = body
        .try_collect()
        .await
        .map_err(|_| S3Error::new(S3ErrorCode::IncompleteBody))?;
    let algorithm = expected.algorithm();
    let mut hash = algorithm.hasher();
    for c in &chunks {
        hash.update(c);
    }
    if hash.finish() != expected {
        return Err(S3Error::with_message(
            S3ErrorCode::BadDigest,
            format!("the body does not match {}", algorithm.header()),
        ));
    }
    Ok(StreamingBlob::from(s3s::Body::from(bytes::Bytes::from(
        chunks.concat(),
    ))))
}

/// The embedded store has one credential: an upload s3s-fs denies is one it does not know.
fn no_such_upload(e: S3Error) -> S3Error {
    if *e.code() == S3ErrorCode::AccessDenied {
        S3Error::new(S3ErrorCode::NoSuchUpload)
    } else {
        e
    }
}

/// `impl S3 for Store`: the operations s3s-fs implements, passed through, plus `$rest`.
/// (A macro around the whole impl, because `async_trait` must see every method it rewrites.)
macro_rules! store_impl {
    ($($op:ident($input:ident) -> $output:ident;)* @rest $($rest:tt)*) => {
        #[async_trait::async_trait]
        impl S3 for Store {
            $(
                async fn $op(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.0.$op(req).await
                }
            )*
            $($rest)*
        }
    };
}

store_impl! {
    create_bucket(CreateBucketInput) -> CreateBucketOutput;
    copy_object(CopyObjectInput) -> CopyObjectOutput;
    delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
    delete_object(DeleteObjectInput) -> DeleteObjectOutput;
    delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
    get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
    get_object(GetObjectInput) -> GetObjectOutput;
    head_bucket(HeadBucketInput) -> HeadBucketOutput;
    head_object(HeadObjectInput) -> HeadObjectOutput;
    list_buckets(ListBucketsInput) -> ListBucketsOutput;
    list_objects(ListObjectsInput) -> ListObjectsOutput;
    list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
    create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
    upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
    list_parts(ListPartsInput) -> ListPartsOutput;
    @rest
    async fn put_object(&self, mut req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        if let Some(expected) = carried(&req.input.checksum_crc32c, &req.input.checksum_sha256)? {
            req.input.body = Some(verified(req.input.body.take(), expected).await?);
        }
        self.0.put_object(req).await
    }

    async fn upload_part(&self, mut req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        if let Some(expected) = carried(&req.input.checksum_crc32c, &req.input.checksum_sha256)? {
            req.input.body = Some(verified(req.input.body.take(), expected).await?);
        }
        self.0.upload_part(req).await.map_err(no_such_upload)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.0.complete_multipart_upload(req).await.map_err(no_such_upload)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.0.abort_multipart_upload(req).await.map_err(no_such_upload)
    }
}

/// The region clients sign for: s3s accepts any, and AWS SDKs need one.
const REGION: &str = "us-east-1";

/// A running embedded store; it stops accepting connections when dropped.
pub struct EmbeddedS3 {
    addr: SocketAddr,
    storage: StorageSettings,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for EmbeddedS3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedS3")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts the embedded store if the settings ask for one, and points `settings.storage` at
/// it. The store serves until the returned handle is dropped.
pub async fn start_if_configured(settings: &mut Settings) -> Result<Option<EmbeddedS3>, AppError> {
    let Some(cfg) = &settings.embedded_s3 else {
        return Ok(None);
    };
    let store = EmbeddedS3::start(cfg, &settings.allowed_origins).await?;
    tracing::info!(
        endpoint = %store.endpoint(),
        dir = %cfg.dir.display(),
        bucket = cfg.bucket,
        "embedded S3 store serving (for demos and development, not production)"
    );
    settings.storage = Some(store.storage_settings().clone());
    Ok(Some(store))
}

impl EmbeddedS3 {
    /// Creates the store's directory and bucket if needed, and serves it on `cfg.listen`;
    /// browsers from `allowed_origins` (none: any) may call it.
    pub async fn start(
        cfg: &EmbeddedS3Settings,
        allowed_origins: &[String],
    ) -> Result<Self, AppError> {
        let fail = |what: String| AppError::Config(format!("embedded S3 store: {what}"));
        // s3s-fs needs its root to exist, and a bucket is a subdirectory of the root.
        let bucket_dir = cfg.dir.join(&cfg.bucket);
        std::fs::create_dir_all(&bucket_dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", bucket_dir.display())))?;
        let fs = s3s_fs::FileSystem::new(&cfg.dir)
            .map_err(|e| fail(format!("cannot open {}: {e:?}", cfg.dir.display())))?;
        let (access_key, secret_key) = cfg.credentials.clone().unwrap_or_else(random_credentials);
        let mut builder = S3ServiceBuilder::new(Store(fs));
        builder.set_auth(SimpleAuth::from_single(
            access_key.clone(),
            secret_key.clone(),
        ));
        // What a bucket CORS rule would grant: PUT from the pages, and the ETag readable (the
        // browser needs each part's ETag to complete the upload).
        let cors = CorsLayer::new()
            .allow_origin(crate::routes::allow_origin(allowed_origins))
            .allow_methods([
                Method::GET,
                Method::PUT,
                Method::POST,
                Method::HEAD,
                Method::DELETE,
            ])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers([header::ETAG])
            .max_age(Duration::from_secs(3600));
        let app = Router::new()
            .fallback(forward)
            .with_state(builder.build())
            .layer(cors);
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| fail(format!("cannot listen on {}: {e}", cfg.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| fail(format!("no local address: {e}")))?;
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "embedded S3 store stopped");
            }
        });
        let storage = StorageSettings {
            endpoint: format!("http://{addr}"),
            region: REGION.into(),
            bucket: cfg.bucket.clone(),
            access_key,
            secret_key,
            path_style: true,
        };
        Ok(Self {
            addr,
            storage,
            server,
        })
    }

    /// The store's URL (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> &str {
        &self.storage.endpoint
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How a client reaches it: endpoint, region, bucket, credentials, path-style.
    pub fn storage_settings(&self) -> &StorageSettings {
        &self.storage
    }
}

/// Every request goes to s3s, which parses, authenticates and answers it as S3 would.
async fn forward(State(s3): State<S3Service>, req: Request) -> Response {
    let mut s3 = s3;
    match tower::Service::call(&mut s3, req).await {
        Ok(res) => res.map(Body::new),
        // s3s has logged the failure (its own target); the request URI may be a presigned
        // URL, so nothing from the request is logged here.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Credentials for this run only: clients get them from the settings, nobody types them.
fn random_credentials() -> (String, String) {
    let mut rng = rand::rng();
    let mut access = [0u8; 10];
    let mut secret = [0u8; 20];
    rng.fill_bytes(&mut access);
    rng.fill_bytes(&mut secret);
    (
        format!("CLKE{}", hex::encode_upper(access)),
        hex::encode(secret),
    )
}
