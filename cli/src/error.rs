//! The one error type of the command, and the exit code each kind of failure ends with (the
//! only place that decides them: docs/cli.md lists them for scripts).

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The command line or an input the user named is wrong (a missing file, a bad URL).
    #[error("{0}")]
    Usage(String),
    /// The endpoint, API key or profile file is missing or wrong.
    #[error("{0}")]
    Config(String),
    /// The server refused the request (credentials, scope, a missing asset, the policy).
    #[error("the server refused: {message} ({code})")]
    Refused {
        status: u16,
        code: String,
        message: String,
        /// The policy's reason, with `denied`.
        reason: Option<String>,
    },
    /// The server failed (5xx) or answered something that is not its API.
    #[error("the server failed: {0}")]
    Server(String),
    /// The server or the store could not be reached.
    #[error("{0}")]
    Network(String),
    /// An upload ended without completing (retries used up, the store refusing parts).
    #[error("the upload failed: {0}")]
    Upload(String),
    /// A transcode failed or was cancelled.
    #[error("{0}")]
    Failed(String),
    /// A downloaded file did not authenticate: it was altered, or is not the asset's.
    #[error("the file did not open: it was altered in storage, or is not this asset's")]
    Integrity,
    /// Reading or writing a local file.
    #[error("{0}")]
    Io(String),
    /// A wait ran out of time.
    #[error("{0}")]
    Timeout(String),
    /// Ctrl-C: what was done is kept, and the same command resumes.
    #[error("interrupted: run the same command again to resume")]
    Interrupted,
    /// A failure already reported (one of several files): only its exit code is left.
    #[error("{0}")]
    Reported(Box<CliError>),
}

impl CliError {
    /// The process's exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Config(_) => 3,
            CliError::Refused { .. } => 4,
            CliError::Integrity => 5,
            CliError::Timeout(_) => 6,
            CliError::Interrupted => 130,
            CliError::Reported(e) => e.exit_code(),
            CliError::Server(_)
            | CliError::Network(_)
            | CliError::Upload(_)
            | CliError::Failed(_)
            | CliError::Io(_) => 1,
        }
    }

    /// A short, stable name of the kind, for `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Usage(_) => "usage",
            CliError::Config(_) => "config",
            CliError::Refused { .. } => "refused",
            CliError::Server(_) => "server",
            CliError::Network(_) => "network",
            CliError::Upload(_) => "upload",
            CliError::Failed(_) => "failed",
            CliError::Integrity => "integrity",
            CliError::Io(_) => "io",
            CliError::Timeout(_) => "timeout",
            CliError::Interrupted => "interrupted",
            CliError::Reported(e) => e.kind(),
        }
    }

    /// A local file operation on `path` failed.
    pub fn io(what: &str, path: &std::path::Path, e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::Usage(format!(
                "{what} {}: no such file or directory",
                path.display()
            ))
        } else {
            CliError::Io(format!("{what} {}: {e}", path.display()))
        }
    }
}

impl From<cinelock_core::Error> for CliError {
    fn from(e: cinelock_core::Error) -> Self {
        match e {
            // Opaque, like every decrypt failure.
            cinelock_core::Error::Decrypt => CliError::Integrity,
            e => CliError::Failed(e.to_string()),
        }
    }
}
