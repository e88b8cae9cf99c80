//! The ffmpeg command lines and their execution.
//!
//! One ffmpeg process decodes the source once and encodes every rung: H.264 with a keyframe
//! forced every [`KEYFRAME_SECONDS`] in every rung (scene-cut keyframes off), so segment
//! boundaries fall at the same times in all renditions and the player can switch between them
//! at any segment. Each rung (and the audio, AAC stereo 48 kHz) is written by ffmpeg's HLS
//! muxer as CMAF-style fragmented MP4: an init segment and `moof`/`mdat` media segments of
//! [`SEGMENT_SECONDS`] (cut at keyframes), listed in a playlist the packager reads for the
//! segment durations. The HLS playlists never leave the worker.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use crate::AppError;
use crate::transcode::ladder::{Rung, input_args};

/// Keyframe interval of every rendition, in seconds.
pub const KEYFRAME_SECONDS: u32 = 2;
/// Target media segment length, in seconds (a multiple of the keyframe interval).
pub const SEGMENT_SECONDS: u32 = 4;
/// Audio track id in the manifest.
pub const AUDIO_TRACK: &str = "a128";

/// What to encode.
#[derive(Debug, Clone)]
pub struct Plan {
    pub rungs: Vec<Rung>,
    pub audio: bool,
    /// Only the first seconds (the preview).
    pub limit: Option<f64>,
    pub segment_seconds: u32,
    pub preset: String,
}

/// The directory ffmpeg writes a track into.
pub fn track_dir(out: &Path, track: &str) -> PathBuf {
    out.join(track)
}

fn hls_output(args: &mut Vec<String>, dir: &Path, segment_seconds: u32) {
    let s = |x: &str| x.to_owned();
    args.extend([
        s("-f"),
        s("hls"),
        s("-hls_time"),
        segment_seconds.to_string(),
        s("-hls_playlist_type"),
        s("vod"),
        s("-hls_segment_type"),
        s("fmp4"),
        s("-hls_fmp4_init_filename"),
        s("init.mp4"),
        s("-hls_segment_filename"),
        dir.join("%05d.m4s").display().to_string(),
        dir.join("index.m3u8").display().to_string(),
    ]);
}

/// The full ffmpeg argument list for `plan`, reading `input`, writing under `out`.
pub fn args(plan: &Plan, input: &Path, out: &Path) -> Vec<String> {
    let s = |x: &str| x.to_owned();
    let mut a = vec![
        s("-hide_banner"),
        s("-nostdin"),
        s("-y"),
        s("-loglevel"),
        s("error"),
    ];
    // An input option: it limits what is read, so it applies to every output.
    if let Some(t) = plan.limit {
        a.extend([s("-t"), format!("{t:.3}")]);
    }
    a.extend(input_args(input));
    let n = plan.rungs.len();
    let mut graph = format!("[0:v:0]split={n}");
    for i in 0..n {
        graph.push_str(&format!("[s{i}]"));
    }
    for (i, r) in plan.rungs.iter().enumerate() {
        graph.push_str(&format!(
            ";[s{i}]scale={}:{},setsar=1[o{i}]",
            r.width, r.height
        ));
    }
    a.extend([s("-filter_complex"), graph]);
    for (i, r) in plan.rungs.iter().enumerate() {
        let kbps = r.kbps;
        a.extend([
            s("-map"),
            format!("[o{i}]"),
            s("-c:v"),
            s("libx264"),
            s("-preset"),
            plan.preset.clone(),
            s("-profile:v"),
            s("high"),
            s("-pix_fmt"),
            s("yuv420p"),
            s("-b:v"),
            format!("{kbps}k"),
            s("-maxrate"),
            format!("{}k", kbps * 11 / 10),
            s("-bufsize"),
            format!("{}k", kbps * 2),
            s("-sc_threshold"),
            s("0"),
            s("-force_key_frames"),
            format!("expr:gte(t,n_forced*{KEYFRAME_SECONDS})"),
            s("-an"),
        ]);
        hls_output(&mut a, &track_dir(out, &r.id), plan.segment_seconds);
    }
    if plan.audio {
        a.extend([
            s("-map"),
            s("0:a:0"),
            s("-vn"),
            s("-c:a"),
            s("aac"),
            s("-b:a"),
            s("128k"),
            s("-ac"),
            s("2"),
            s("-ar"),
            s("48000"),
        ]);
        hls_output(&mut a, &track_dir(out, AUDIO_TRACK), plan.segment_seconds);
    }
    a.extend([s("-progress"), s("pipe:1"), s("-nostats")]);
    a
}

/// The poster: one JPEG frame, at most 720 pixels high.
pub fn poster_args(input: &Path, at: f64, height: u32, out: &Path) -> Vec<String> {
    let s = |x: &str| x.to_owned();
    vec![
        s("-hide_banner"),
        s("-nostdin"),
        s("-y"),
        s("-loglevel"),
        s("error"),
        s("-ss"),
        format!("{at:.3}"),
    ]
    .into_iter()
    .chain(input_args(input))
    .chain([
        s("-frames:v"),
        s("1"),
        s("-vf"),
        format!("scale=-2:{}", height.min(720)),
        s("-q:v"),
        s("3"),
        out.display().to_string(),
    ])
    .collect()
}

/// Limits the kernel enforces on each ffmpeg process, whatever the input makes it do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildLimits {
    /// CPU seconds (all threads together) before the kernel kills it.
    pub cpu_seconds: u64,
    /// Largest file it may write, in bytes.
    pub file_bytes: u64,
}

#[cfg(unix)]
fn apply(limits: ChildLimits, cmd: &mut Command) {
    let set = move |resource, value: u64| {
        let lim = libc::rlimit {
            rlim_cur: value as libc::rlim_t,
            rlim_max: value as libc::rlim_t,
        };
        // SAFETY: setrlimit only reads `lim`; it is async-signal-safe, as pre_exec needs.
        if unsafe { libc::setrlimit(resource, &lim) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    // SAFETY: the closure only calls setrlimit (async-signal-safe) and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            set(libc::RLIMIT_CPU, limits.cpu_seconds)?;
            set(libc::RLIMIT_FSIZE, limits.file_bytes)
        });
    }
}

#[cfg(not(unix))]
fn apply(_: ChildLimits, _: &mut Command) {}

/// Runs ffmpeg with `args`, reporting encoded seconds to `on_time` as it goes. A failure keeps
/// the tail of ffmpeg's error output (it names files in the private work directory, no keys).
pub async fn run(
    ffmpeg: &str,
    args: &[String],
    limits: ChildLimits,
    mut on_time: impl FnMut(f64),
) -> Result<(), AppError> {
    let mut cmd = Command::new(ffmpeg);
    apply(limits, &mut cmd);
    let mut child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A job that is abandoned (lease lost, shutdown) takes its ffmpeg with it.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| AppError::Config(format!("cannot run {ffmpeg}: {e}")))?;
    let mut stderr = child.stderr.take().expect("piped");
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(us) = line
            .strip_prefix("out_time_us=")
            .and_then(|v| v.parse::<i64>().ok())
        {
            on_time(us.max(0) as f64 / 1e6);
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| AppError::Worker(format!("waiting for ffmpeg: {e}")))?;
    let errors = errors.await.unwrap_or_default();
    if status.success() {
        Ok(())
    } else {
        let tail: String = errors.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        Err(AppError::Worker(format!(
            "ffmpeg failed ({status}): {tail}"
        )))
    }
}
