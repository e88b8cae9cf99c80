//! The command line, as clap reads it. Flags win over their environment variables; both win
//! over the profile file ([`crate::config`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Given;

#[derive(Debug, Parser)]
#[command(
    name = "cinelock",
    version,
    about = "Seal and upload videos to a Cinelock server, import folders and S3 buckets, follow and download assets",
    after_help = "Exit codes: 0 done, 1 failed (network, server, upload, transcode), 2 bad usage or input, \
3 configuration, 4 refused by the server, 5 a download that did not authenticate, 6 timed out, \
130 interrupted (run the same command again to resume)."
)]
pub struct Cli {
    /// The Cinelock server's URL.
    #[arg(long, env = "CINELOCK_ENDPOINT", global = true)]
    pub endpoint: Option<String>,
    /// An API key (clk_…).
    #[arg(long, env = "CINELOCK_API_KEY", global = true, hide_env_values = true)]
    pub api_key: Option<String>,
    /// The profile of the profile file to use (default: `default`).
    #[arg(long, env = "CINELOCK_PROFILE", global = true)]
    pub profile: Option<String>,
    /// The profile file (default: ~/.config/cinelock/config.toml).
    #[arg(long, env = "CINELOCK_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Where resume records and the import ledger are kept (default: ~/.local/state/cinelock).
    #[arg(long, env = "CINELOCK_STATE_DIR", global = true)]
    pub state_dir: Option<PathBuf>,
    /// One JSON object per line on stdout, no progress bars.
    #[arg(long, global = true, conflicts_with = "quiet")]
    pub json: bool,
    /// Print only results (asset ids) and errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Seal and upload files, each into a new asset; prints each asset id. An interrupted
    /// upload resumes when the same command runs again.
    Upload {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        upload: UploadArgs,
    },
    /// Import every file of a folder, or every object under s3://bucket/prefix, skipping what
    /// was imported before.
    Import {
        /// A folder, or s3://bucket/prefix.
        from: String,
        #[command(flatten)]
        upload: UploadArgs,
        #[command(flatten)]
        source: SourceArgs,
        /// Only files with these extensions (repeat, or separate with commas).
        #[arg(long, value_delimiter = ',')]
        ext: Vec<String>,
        /// Import again what was imported before.
        #[arg(long)]
        force: bool,
        /// Keep watching the folder and import new files as they settle (Ctrl-C stops).
        #[arg(long)]
        watch: bool,
        /// Seconds between looks at a watched folder.
        #[arg(long, default_value_t = 5.0)]
        interval: f64,
    },
    /// List, show and wait for assets.
    Assets {
        #[command(subcommand)]
        command: AssetsCommand,
    },
    /// Download an asset's original file, where its policy allows downloads.
    Download {
        id: String,
        /// Where to write it (`-` for standard output).
        #[arg(long, short)]
        out: PathBuf,
        /// A viewer token; without one, a short-lived one is minted with the API key if the
        /// policy wants a token.
        #[arg(long, env = "CINELOCK_VIEWER_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// The asset's password, if its policy has one.
        #[arg(long, env = "CINELOCK_ASSET_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// The newest assets first.
    Ls {
        /// Only assets in this status (uploading, processing, ready, failed, …).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Every asset, page after page.
        #[arg(long, conflicts_with = "limit")]
        all: bool,
    },
    /// One asset: status, jobs and packages.
    Show { id: String },
    /// Wait until the asset is ready (exit 0), failed (1), or the timeout passes (6).
    Wait {
        id: String,
        /// Seconds.
        #[arg(long, default_value_t = 3600.0)]
        timeout: f64,
        /// Seconds between looks.
        #[arg(long, default_value_t = 2.0)]
        interval: f64,
    },
}

/// How uploads are made.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Parts sealed or sent at once (1 to 32; default 6).
    #[arg(long, env = "CINELOCK_PARALLEL")]
    pub parallel: Option<usize>,
    /// Target part size in MiB (5 or more; default: the server's, 8).
    #[arg(long = "part-size")]
    pub part_size_mib: Option<u64>,
    /// Plaintext bytes per sealed chunk (default: the server's, 256 KiB).
    #[arg(long)]
    pub chunk_size: Option<u32>,
    /// Seconds to wait for the server's answer to the completion, which comes once the store
    /// has put the object together, before asking again (default 300; 0 waits for ever).
    #[arg(long, env = "CINELOCK_COMPLETE_TIMEOUT")]
    pub complete_timeout: Option<f64>,
    /// Testing only: seal with this fixed seed (hex). Never for real content: files sealed
    /// with one seed share their key and nonces.
    #[arg(long, hide = true)]
    pub insecure_seed: Option<String>,
}

/// Where `import s3://…` reads from.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The source store's URL (S3-compatible stores; AWS when absent).
    #[arg(long, env = "CINELOCK_SOURCE_ENDPOINT")]
    pub source_endpoint: Option<String>,
    #[arg(long, env = "CINELOCK_SOURCE_REGION")]
    pub source_region: Option<String>,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub source_access_key: Option<String>,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub source_secret_key: Option<String>,
}

impl Cli {
    /// The settings the flags and environment gave.
    pub fn given(&self) -> Given {
        Given {
            endpoint: self.endpoint.clone(),
            api_key: self.api_key.clone(),
            profile: self.profile.clone(),
            config: self.config.clone(),
            state_dir: self.state_dir.clone(),
        }
    }
}
