//! What the source is (ffprobe) and which renditions to make of it.
//!
//! The ladder is chosen from the source's short side (so portrait video gets the same rungs
//! as landscape) and never upscales: a 360p source gets 240p and 360p, nothing above. A source
//! smaller than the lowest rung gets one rendition at its own size.

use cinelock_contract::ApiErrorCode;
use std::path::Path;

use serde_json::Value;
use tokio::process::Command;

use crate::AppError;

/// (short side in pixels, video bit rate in kbit/s), lowest first.
const RUNGS: [(u32, u32); 5] = [
    (240, 400),
    (360, 800),
    (480, 1400),
    (720, 2800),
    (1080, 5000),
];

/// What ffprobe says about the (plaintext) source.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// ffprobe's name of the container format (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`).
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub duration: f64,
    /// Frames per second of the video stream (0 when ffprobe does not say).
    pub fps: f64,
    pub has_audio: bool,
}

/// The container formats (ffmpeg demuxers) workers read; anything else, a playlist or a
/// concatenation list that names other files above all, is refused before it is opened.
pub const INPUT_FORMATS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,flv,ogg,mpeg,asf";

/// The arguments that restrict what ffprobe and ffmpeg may open for `input`: only the
/// whitelisted demuxers, only the `file` protocol, and the input named as a file URL so no
/// other protocol is even parsed.
pub fn input_args(input: &Path) -> Vec<String> {
    vec![
        "-format_whitelist".into(),
        INPUT_FORMATS.into(),
        "-protocol_whitelist".into(),
        "file".into(),
        "-i".into(),
        format!("file:{}", input.display()),
    ]
}

/// What workers accept, checked after probing (`CINELOCK_MAX_SOURCE_*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_seconds: f64,
    pub max_pixels: u64,
    pub max_fps: f64,
}

impl Probe {
    /// Refuses a source over `limits`, for good (`source_too_large`): a short, very
    /// compressible file can still decode to hours of 8K video.
    pub fn check(&self, limits: &Limits) -> Result<(), AppError> {
        let too = |what: String| {
            Err(AppError::Transcode {
                code: ApiErrorCode::SourceTooLarge,
                message: format!("the source is over this server's limits: {what}"),
            })
        };
        if self.duration > limits.max_seconds {
            return too(format!(
                "{:.0} s long, at most {:.0} s",
                self.duration, limits.max_seconds
            ));
        }
        let pixels = u64::from(self.width) * u64::from(self.height);
        if pixels > limits.max_pixels {
            return too(format!(
                "{}×{} pixels, at most {} pixels a frame",
                self.width, self.height, limits.max_pixels
            ));
        }
        if self.fps > limits.max_fps {
            return too(format!(
                "{:.0} frames a second, at most {:.0}",
                self.fps, limits.max_fps
            ));
        }
        Ok(())
    }
}

/// One video rendition to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rung {
    /// Track id in the manifest (`v360`).
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub kbps: u32,
}

fn even(x: f64) -> u32 {
    ((x / 2.0).round() as u32).max(1) * 2
}

/// The rendition ladder for a source of `width` × `height`.
pub fn ladder(width: u32, height: u32) -> Vec<Rung> {
    let short = width.min(height);
    let landscape = width >= height;
    let rung = |side: u32, kbps: u32| {
        let long = even(f64::from(side) * f64::from(width.max(height)) / f64::from(short));
        let side = even(f64::from(side));
        let (w, h) = if landscape {
            (long, side)
        } else {
            (side, long)
        };
        Rung {
            id: format!("v{side}"),
            width: w,
            height: h,
            kbps,
        }
    };
    let fitting: Vec<Rung> = RUNGS
        .iter()
        .filter(|(side, _)| *side <= short)
        .map(|&(side, kbps)| rung(side, kbps))
        .collect();
    if fitting.is_empty() {
        vec![rung(short, RUNGS[0].1)]
    } else {
        fitting
    }
}

/// ffprobe with `args` on the (whitelisted) input, quiet but for errors.
async fn ffprobe_output(
    ffprobe: &str,
    input: &Path,
    args: &[&str],
) -> Result<std::process::Output, AppError> {
    Command::new(ffprobe)
        .args(["-v", "error"])
        .args(args)
        .args(input_args(input))
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| AppError::Config(format!("cannot run {ffprobe}: {e}")))
}

/// Runs ffprobe on the source; a file it cannot read, or one without video, is a permanent
/// failure (retrying will not help).
pub async fn probe(ffprobe: &str, input: &Path) -> Result<Probe, AppError> {
    let out = ffprobe_output(
        ffprobe,
        input,
        &["-print_format", "json", "-show_streams", "-show_format"],
    )
    .await?;
    let not_media = |why: &str| AppError::Transcode {
        code: ApiErrorCode::SourceNotVideo,
        message: format!("the uploaded file is not a video ffmpeg can read ({why})"),
    };
    if !out.status.success() {
        return Err(not_media("ffprobe refused it"));
    }
    let json: Value =
        serde_json::from_slice(&out.stdout).map_err(|_| not_media("no probe output"))?;
    let format = json["format"]["format_name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The whitelist already kept other demuxers from opening it; say so plainly if one did.
    let known = format
        .split(',')
        .any(|f| !f.is_empty() && INPUT_FORMATS.split(',').any(|k| k == f));
    if !known {
        return Err(not_media("not a container format workers read"));
    }
    let streams = json["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video" && s["disposition"]["attached_pic"] != 1)
        .ok_or_else(|| not_media("no video stream"))?;
    let dim = |k: &str| {
        video[k]
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
    };
    let (width, height) = dim("width")
        .zip(dim("height"))
        .ok_or_else(|| not_media("no frame size"))?;
    let stated = json["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse::<f64>().ok())
        .or_else(|| video["duration"].as_str().and_then(|d| d.parse().ok()))
        .filter(|d| d.is_finite() && *d > 0.0);
    let stated_fps = frame_rate(
        video["avg_frame_rate"].as_str(),
        video["r_frame_rate"].as_str(),
    );
    // A browser recording (MediaRecorder's WebM) states no duration and has no cues, and its
    // frame rate is a guess from the first timestamps: its packets say how long it is and how
    // many frames it has.
    let (duration, fps) = match stated {
        Some(d) => (d, stated_fps),
        None => {
            let video_index = video["index"].as_u64().unwrap_or(0);
            let stats = packet_stats(ffprobe, input, video_index)
                .await?
                .ok_or_else(|| not_media("no duration"))?;
            (stats.end, stats.video_frames as f64 / stats.end)
        }
    };
    Ok(Probe {
        format,
        width,
        height,
        duration,
        fps,
        has_audio: streams.iter().any(|s| s["codec_type"] == "audio"),
    })
}

/// What a source's packets say: where the last one ends (seconds) and how many frames the
/// video stream has.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PacketStats {
    end: f64,
    video_frames: u64,
}

/// Reads every packet header (no decoding): the duration and frame count of a file whose
/// container does not state them.
async fn packet_stats(
    ffprobe: &str,
    input: &Path,
    video_index: u64,
) -> Result<Option<PacketStats>, AppError> {
    let out = ffprobe_output(
        ffprobe,
        input,
        &[
            "-print_format",
            "csv=p=0",
            "-show_entries",
            "packet=stream_index,pts_time,duration_time",
        ],
    )
    .await?;
    if !out.status.success() {
        return Ok(None);
    }
    Ok(read_packets(
        &String::from_utf8_lossy(&out.stdout),
        video_index,
    ))
}

/// ffprobe's `stream_index,pts_time,duration_time` lines: the largest `pts + duration`, and the
/// packets of `video_index`.
fn read_packets(csv: &str, video_index: u64) -> Option<PacketStats> {
    let mut end: Option<f64> = None;
    let mut video_frames = 0;
    for line in csv.lines() {
        let mut fields = line.split(',');
        let Some(index) = fields.next().and_then(|i| i.trim().parse::<u64>().ok()) else {
            continue;
        };
        if index == video_index {
            video_frames += 1;
        }
        let Some(pts) = fields.next().and_then(|p| p.trim().parse::<f64>().ok()) else {
            continue;
        };
        let duration: f64 = fields
            .next()
            .and_then(|d| d.trim().parse().ok())
            .unwrap_or(0.0);
        let packet_end = pts + duration;
        if packet_end.is_finite() {
            end = Some(end.map_or(packet_end, |e| e.max(packet_end)));
        }
    }
    let end = end.filter(|e| *e > 0.0)?;
    Some(PacketStats { end, video_frames })
}

/// Frames per second: the average where ffprobe knows it. A variable-rate recording (a
/// browser's screen capture in WebM) has an `r_frame_rate` of its time base, 1000/1, which says
/// nothing of how many frames there are; the average does.
fn frame_rate(avg: Option<&str>, r: Option<&str>) -> f64 {
    avg.and_then(rate)
        .or_else(|| r.and_then(rate))
        .unwrap_or(0.0)
}

/// `"30000/1001"` → 29.97; `None` for `0/0` and nonsense.
fn rate(text: &str) -> Option<f64> {
    let (n, d) = text.split_once('/')?;
    let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
    (d > 0.0 && n.is_finite()).then(|| n / d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(l: &[Rung]) -> Vec<(u32, u32)> {
        l.iter().map(|r| (r.width, r.height)).collect()
    }

    #[test]
    fn the_average_frame_rate_wins_over_a_time_base() {
        assert_eq!(frame_rate(Some("30/1"), Some("1000/1")), 30.0);
        assert_eq!(frame_rate(Some("0/0"), Some("25/1")), 25.0);
        assert_eq!(frame_rate(None, None), 0.0);
    }

    #[test]
    fn packets_give_the_end_and_the_video_frames() {
        let csv = "0,0.000000,0.033000\n1,0.000000,0.020000\n0,0.033000,0.033000\n1,19.967000,N/A\n0,19.934000,0.033000\n0,N/A,N/A\n";
        let stats = read_packets(csv, 0).unwrap();
        assert!((stats.end - 19.967).abs() < 1e-9);
        assert_eq!(stats.video_frames, 4);
        assert_eq!(read_packets("", 0), None);
        assert_eq!(read_packets("0,N/A,N/A\n", 0), None);
    }

    #[test]
    fn never_upscales_and_keeps_aspect() {
        assert_eq!(
            sizes(&ladder(1920, 1080)),
            [
                (426, 240),
                (640, 360),
                (854, 480),
                (1280, 720),
                (1920, 1080)
            ]
        );
        assert_eq!(sizes(&ladder(640, 360)), [(426, 240), (640, 360)]);
        // Between rungs: the rung above the source is not made.
        assert_eq!(
            sizes(&ladder(1000, 562)),
            [(428, 240), (640, 360), (854, 480)]
        );
        // Portrait: rungs by the short side.
        assert_eq!(
            sizes(&ladder(720, 1280)),
            [(240, 426), (360, 640), (480, 854), (720, 1280)]
        );
        // Smaller than the lowest rung: one rendition at (even) source size.
        assert_eq!(sizes(&ladder(176, 143)), [(176, 144)]);
        assert_eq!(ladder(640, 360)[1].id, "v360");
    }

    #[test]
    fn limits_refuse_long_large_and_fast_sources() {
        let limits = Limits {
            max_seconds: 60.0,
            max_pixels: 1920 * 1080,
            max_fps: 60.0,
        };
        let ok = Probe {
            format: "mov,mp4,m4a,3gp,3g2,mj2".into(),
            width: 1920,
            height: 1080,
            duration: 60.0,
            fps: 60.0,
            has_audio: true,
        };
        assert!(ok.check(&limits).is_ok());
        for over in [
            Probe {
                duration: 61.0,
                ..ok.clone()
            },
            Probe {
                width: 1921,
                ..ok.clone()
            },
            Probe {
                fps: 120.0,
                ..ok.clone()
            },
        ] {
            let e = over.check(&limits).unwrap_err();
            assert_eq!(e.code(), ApiErrorCode::SourceTooLarge, "{over:?}");
        }
        assert_eq!(
            rate("30000/1001").map(|r| (r * 100.0).round()),
            Some(2997.0)
        );
        assert_eq!(rate("0/0"), None);
    }
}
