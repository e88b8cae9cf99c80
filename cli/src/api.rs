//! The Cinelock server's public HTTP API, called with the API key like any customer backend.
//! Every answer is a contract type; every JSON error becomes a [`CliError`] here and nowhere
//! else. Errors never carry a URL's query (presigned URLs are credentials).

use std::time::Duration;

use cinelock_contract::ErrorBody;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::CliError;
use crate::config::Settings;

/// A client of one server.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    endpoint: String,
    api_key: String,
}

/// An HTTP client for the server and the store: no redirects (a presigned URL is a credential
/// for one host), bounded connect time.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("cinelock-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a TLS backend")
}

/// A transport failure, without the URL (it may be presigned).
pub fn network(what: &str, e: reqwest::Error) -> CliError {
    let e = e.without_url();
    let mut msg = format!("{what}: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    CliError::Network(msg)
}

impl Api {
    pub fn new(settings: &Settings) -> Self {
        Api {
            http: http_client(),
            endpoint: settings.endpoint.clone(),
            api_key: settings.api_key.clone(),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `GET {endpoint}{path}`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.call(Method::GET, path, None::<&()>, true).await
    }

    /// `POST {endpoint}{path}` with a JSON body, with the API key.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CliError> {
        self.call(Method::POST, path, Some(body), true).await
    }

    /// `POST` without credentials (a playback session: the policy and its token decide).
    pub async fn post_anonymous<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CliError> {
        self.call(Method::POST, path, Some(body), false).await
    }

    /// Sends a request and reads its JSON answer; a non-2xx answer becomes the error it says.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        with_key: bool,
    ) -> Result<T, CliError> {
        let (status, text) = self.send(method, path, body, with_key).await?;
        if !status.is_success() {
            return Err(refusal(status, &text));
        }
        serde_json::from_str(&text).map_err(|e| {
            CliError::Server(format!(
                "the answer to {path} is not what the API returns: {e}"
            ))
        })
    }

    /// Sends a request, given a minute; the status and body, whatever the status.
    pub async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        with_key: bool,
    ) -> Result<(StatusCode, String), CliError> {
        self.send_within(method, path, body, with_key, Some(Duration::from_secs(60)))
            .await
    }

    /// Sends a request, given `timeout` (none: the caller bounds it); the status and body,
    /// whatever the status.
    pub async fn send_within<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        with_key: bool,
        timeout: Option<Duration>,
    ) -> Result<(StatusCode, String), CliError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.endpoint));
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        if with_key {
            req = req.bearer_auth(&self.api_key);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req
            .send()
            .await
            .map_err(|e| network(&format!("cannot reach the server at {}", self.endpoint), e))?;
        let status = res.status();
        let text = res
            .text()
            .await
            .map_err(|e| network("reading the server's answer", e))?;
        Ok((status, text))
    }
}

/// The error a non-2xx answer stands for.
pub fn refusal(status: StatusCode, text: &str) -> CliError {
    let body: Option<ErrorBody> = serde_json::from_str(text).ok();
    match body {
        Some(b) if status.is_client_error() => CliError::Refused {
            status: status.as_u16(),
            code: b.error.code.as_str().to_owned(),
            message: b.error.message,
            reason: b.error.reason,
        },
        Some(b) => CliError::Server(format!(
            "HTTP {} {}: {}",
            status.as_u16(),
            b.error.code.as_str(),
            b.error.message
        )),
        None => CliError::Server(format!(
            "HTTP {} with a body that is not a Cinelock error (is the endpoint a Cinelock server?)",
            status.as_u16()
        )),
    }
}

/// A path segment, percent-encoded (asset ids come from the command line).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
