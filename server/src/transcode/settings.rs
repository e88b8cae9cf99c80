//! A transcode worker's settings, validated at start-up by the configuration.

use std::path::PathBuf;
use std::time::Duration;

use cinelock_core::RecipientSecretKey;

use super::ffmpeg::ChildLimits;
use super::ladder::Limits;
use crate::kek::Kek;

/// A worker's settings, validated at start-up.
#[derive(Clone)]
pub struct WorkerSettings {
    pub secret_key: RecipientSecretKey,
    pub kek: Kek,
    pub work_dir: PathBuf,
    pub lease: Duration,
    pub poll: Duration,
    pub ffmpeg: String,
    pub ffprobe: String,
    pub preset: String,
    /// What a source may be (duration, frame size, frame rate).
    pub limits: Limits,
    /// Wall-clock time one attempt may take before it fails for good.
    pub job_timeout: Duration,
}

impl WorkerSettings {
    /// What the kernel allows each ffmpeg process: the job's time on every core, and files of
    /// at most 16 GiB (segments are megabytes; a runaway output fails instead of filling the
    /// disk).
    pub(super) fn child_limits(&self) -> ChildLimits {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        ChildLimits {
            cpu_seconds: self.job_timeout.as_secs().max(1).saturating_mul(cores),
            file_bytes: 16 << 30,
        }
    }
}
