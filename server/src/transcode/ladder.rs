//! What the source is (ffprobe) and which renditions to make of it.
//!
//! The ladder is chosen from the source's short side (so portrait video gets the same rungs
//! as landscape) and never upscales: a 360p source gets 240p and 360p, nothing above. A source
//! smaller than the lowest rung gets one rendition at its own size.

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
    pub width: u32,
    pub height: u32,
    pub duration: f64,
    pub has_audio: bool,
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

/// Runs ffprobe on the source; a file it cannot read, or one without video, is a permanent
/// failure (retrying will not help).
pub async fn probe(ffprobe: &str, input: &Path) -> Result<Probe, AppError> {
    let out = Command::new(ffprobe)
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .arg(input)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| AppError::Config(format!("cannot run {ffprobe}: {e}")))?;
    let not_media = |why: &str| AppError::Transcode {
        code: "source_not_video",
        message: format!("the uploaded file is not a video ffmpeg can read ({why})"),
    };
    if !out.status.success() {
        return Err(not_media("ffprobe refused it"));
    }
    let json: Value =
        serde_json::from_slice(&out.stdout).map_err(|_| not_media("no probe output"))?;
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
    let duration = json["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse::<f64>().ok())
        .or_else(|| video["duration"].as_str().and_then(|d| d.parse().ok()))
        .filter(|d| d.is_finite() && *d > 0.0)
        .ok_or_else(|| not_media("no duration"))?;
    Ok(Probe {
        width,
        height,
        duration,
        has_audio: streams.iter().any(|s| s["codec_type"] == "audio"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(l: &[Rung]) -> Vec<(u32, u32)> {
        l.iter().map(|r| (r.width, r.height)).collect()
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
}
