//! Where an upload's plaintext comes from: a local file, or an object in another S3 bucket
//! (read with that bucket's own credentials). Both are read part by part, by range, so no
//! source is ever copied whole to memory or disk.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use bytes::Bytes;

use crate::CliError;

/// A readable source of known length.
#[derive(Clone)]
pub enum Source {
    File {
        path: PathBuf,
        file: Arc<std::fs::File>,
        len: u64,
        /// Modification time in ns since the epoch (part of the fingerprint).
        modified_ns: u128,
    },
    S3 {
        bucket: Arc<Bucket>,
        key: String,
        len: u64,
        etag: String,
    },
}

impl Source {
    /// Opens a local file.
    pub fn file(path: &Path) -> Result<Self, CliError> {
        let file = std::fs::File::open(path).map_err(|e| CliError::io("opening", path, e))?;
        let meta = file
            .metadata()
            .map_err(|e| CliError::io("reading", path, e))?;
        if !meta.is_file() {
            return Err(CliError::Usage(format!("{} is not a file", path.display())));
        }
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let path = std::fs::canonicalize(path).map_err(|e| CliError::io("opening", path, e))?;
        Ok(Source::File {
            path,
            file: Arc::new(file),
            len: meta.len(),
            modified_ns,
        })
    }

    pub fn len(&self) -> u64 {
        match self {
            Source::File { len, .. } | Source::S3 { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What names this content: a file's path, size and modification time; an object's
    /// store, key, size and ETag. A changed source is a new one.
    pub fn fingerprint(&self) -> String {
        match self {
            Source::File {
                path,
                len,
                modified_ns,
                ..
            } => format!("file:{}:{len}:{modified_ns}", path.display()),
            Source::S3 {
                bucket,
                key,
                len,
                etag,
            } => format!("s3:{}/{}/{key}:{len}:{etag}", bucket.endpoint, bucket.name),
        }
    }

    /// Where it is, for people.
    pub fn describe(&self) -> String {
        match self {
            Source::File { path, .. } => path.display().to_string(),
            Source::S3 { bucket, key, .. } => format!("s3://{}/{key}", bucket.name),
        }
    }

    /// The name the asset gets.
    pub fn filename(&self) -> Option<String> {
        let name = match self {
            Source::File { path, .. } => path.file_name()?.to_string_lossy().into_owned(),
            Source::S3 { key, .. } => key.rsplit('/').next()?.to_owned(),
        };
        (!name.is_empty()).then_some(name)
    }

    /// The plaintext bytes in `range`.
    pub async fn read(&self, range: Range<u64>) -> Result<Bytes, CliError> {
        let want = (range.end - range.start) as usize;
        if want == 0 {
            return Ok(Bytes::new());
        }
        match self {
            Source::File { path, file, .. } => {
                let (file, path) = (file.clone(), path.clone());
                tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; want];
                    read_exact_at(&file, &mut buf, range.start)
                        .map_err(|e| CliError::io("reading", &path, e))?;
                    Ok(Bytes::from(buf))
                })
                .await
                .map_err(|e| CliError::Io(format!("reading: {e}")))?
            }
            Source::S3 { bucket, key, .. } => {
                let object = bucket
                    .client
                    .get_object()
                    .bucket(&bucket.name)
                    .key(key)
                    .range(format!("bytes={}-{}", range.start, range.end - 1))
                    .send()
                    .await
                    .map_err(|e| bucket.error(&format!("reading s3://{}/{key}", bucket.name), e))?;
                let bytes = object
                    .body
                    .collect()
                    .await
                    .map_err(|e| {
                        CliError::Network(format!("reading s3://{}/{key}: {e}", bucket.name))
                    })?
                    .into_bytes();
                if bytes.len() != want {
                    return Err(CliError::Io(format!(
                        "s3://{}/{key} changed while it was read (asked for {want} bytes, got {})",
                        bucket.name,
                        bytes.len()
                    )));
                }
                Ok(bytes)
            }
        }
    }
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(not(unix))]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(at))?;
    f.read_exact(buf)
}

/// Another store's bucket, read with its own credentials.
pub struct Bucket {
    pub client: aws_sdk_s3::Client,
    pub endpoint: String,
    pub name: String,
}

/// How to reach a source bucket.
#[derive(Debug, Clone, Default)]
pub struct BucketAccess {
    /// An S3-compatible store's URL; AWS when absent.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
}

impl Bucket {
    pub fn connect(name: &str, access: &BucketAccess) -> Result<Self, CliError> {
        let (Some(access_key), Some(secret_key)) = (&access.access_key, &access.secret_key) else {
            return Err(CliError::Config(
                "reading a bucket needs its credentials: --source-access-key and --source-secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)".into(),
            ));
        };
        let region = access.region.clone().unwrap_or_else(|| "us-east-1".into());
        let mut conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .credentials_provider(Credentials::new(
                access_key,
                secret_key,
                None,
                None,
                "cinelock-cli",
            ));
        let endpoint = match &access.endpoint {
            Some(e) => {
                if !(e.starts_with("http://") || e.starts_with("https://")) {
                    return Err(CliError::Usage(format!(
                        "--source-endpoint must be an http(s) URL, not {e:?}"
                    )));
                }
                // S3-compatible stores address buckets by path.
                conf = conf.endpoint_url(e).force_path_style(true);
                e.clone()
            }
            None => format!("https://s3.{region}.amazonaws.com"),
        };
        Ok(Bucket {
            client: aws_sdk_s3::Client::from_conf(conf.build()),
            endpoint,
            name: name.to_owned(),
        })
    }

    /// Every object under `prefix` (not "directory" markers), in key order.
    pub async fn list(self: &Arc<Self>, prefix: &str) -> Result<Vec<Source>, CliError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.name)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| self.error(&format!("listing s3://{}/{prefix}", self.name), e))?;
            for o in page.contents() {
                let (Some(key), Some(len)) = (o.key(), o.size()) else {
                    continue;
                };
                if key.ends_with('/') {
                    continue;
                }
                out.push(Source::S3 {
                    bucket: self.clone(),
                    key: key.to_owned(),
                    len: len.max(0) as u64,
                    etag: o.e_tag().unwrap_or_default().to_owned(),
                });
            }
        }
        Ok(out)
    }

    fn error<E>(&self, what: &str, e: aws_sdk_s3::error::SdkError<E>) -> CliError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        use aws_sdk_s3::error::ProvideErrorMetadata;
        let status = e.raw_response().map(|r| r.status().as_u16());
        match (e.code(), status) {
            // The store answered: say what it said, not the SDK's whole error chain.
            (Some(code), Some(status @ 400..=499)) => CliError::Refused {
                status,
                code: code.to_owned(),
                message: format!("{what}: {}", e.message().unwrap_or(code)),
                reason: None,
            },
            (Some(code), _) => CliError::Server(format!(
                "{what}: {code}: {}",
                e.message().unwrap_or("the store failed")
            )),
            _ => CliError::Network(format!(
                "{what}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )),
        }
    }
}

/// Splits `s3://bucket/prefix` into its bucket and prefix.
pub fn parse_s3_url(url: &str) -> Result<(String, String), CliError> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| CliError::Usage(format!("{url:?} is not an s3:// URL")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.len() < 3
        || bucket.len() > 63
        || !bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err(CliError::Usage(format!(
            "{url:?}: {bucket:?} is not a bucket name (3 to 63 of a-z 0-9 . -)"
        )));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls() {
        assert_eq!(
            parse_s3_url("s3://media-in/2026/").unwrap(),
            ("media-in".into(), "2026/".into())
        );
        assert_eq!(
            parse_s3_url("s3://media-in").unwrap(),
            ("media-in".into(), "".into())
        );
        for bad in ["media-in/x", "s3://", "s3://A_B/x", "s3://ab"] {
            let e = parse_s3_url(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }
}
