//! Where playback starts: the video rendition and the audio track the [`Player`](super::Player)
//! begins with.
//!
//! Both follow from the tracks' kinds, bandwidths and first segments' sizes alone, so a driver
//! that has only those knows the start's first objects before it has the manifest: a session's
//! answer lists them beside the sealed manifest, and the player asks for the start's init and
//! first segments while the key and the manifest are being opened ([`start_tracks`]).

use super::config::{AbrConfig, PlaybackConfig};
use crate::media::TrackKind;

/// What the start rule reads of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackStart {
    pub kind: TrackKind,
    /// Bits per second, as the manifest lists.
    pub bandwidth: u64,
    /// Bytes of its first segment (sealed), where known: a start from a measured estimate
    /// ([`AbrConfig::measured_bandwidth_bps`]) reads it.
    pub first_segment_bytes: Option<u64>,
}

/// The tracks a package plays from, by position in its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lineup {
    /// The video renditions, in the manifest's order (lowest bandwidth first).
    pub video: Vec<usize>,
    /// The audio track: the manifest's first, if it has one.
    pub audio: Option<usize>,
}

impl Lineup {
    pub(crate) fn new(kinds: impl IntoIterator<Item = TrackKind>) -> Self {
        let mut lineup = Self {
            video: Vec::new(),
            audio: None,
        };
        for (i, kind) in kinds.into_iter().enumerate() {
            match kind {
                TrackKind::Video => lineup.video.push(i),
                TrackKind::Audio => {
                    lineup.audio.get_or_insert(i);
                }
            }
        }
        lineup
    }
}

/// The highest rung of `ladder` (bits per second, lowest first) within `bps`, or the lowest.
pub(crate) fn fit(ladder: &[u64], bps: f64) -> usize {
    ladder.iter().rposition(|&b| b as f64 <= bps).unwrap_or(0)
}

/// The highest rung up to `top` whose segment (`bytes(rung)`) comes within `seconds` at
/// `bps`, or the lowest.
pub(crate) fn rung_within(
    top: usize,
    seconds: f64,
    bps: f64,
    bytes: impl Fn(usize) -> u64,
) -> usize {
    (0..=top)
        .rev()
        .find(|&r| bytes(r) as f64 * 8.0 <= seconds * bps)
        .unwrap_or(0)
}

/// The rung of `ladder` the player chooses at the start: the configured rendition (clamped to
/// the ladder), or the highest the measured estimate, else the initial one, allows with the
/// safety factor.
pub(crate) fn start_rung(config: &AbrConfig, ladder: &[u64]) -> usize {
    match config.start_rendition {
        Some(i) => i.min(ladder.len().saturating_sub(1)),
        None => fit(
            ladder,
            config
                .measured_bandwidth_bps
                .unwrap_or(config.initial_bandwidth_bps)
                * config.safety_factor,
        ),
    }
}

/// Whether the start's first video segments come as a seek's do
/// ([`AbrConfig::seek_budget_s`]): where the start rendition came from a measured estimate, not
/// from the page.
pub(crate) fn start_within_budget(config: &AbrConfig) -> bool {
    config.start_rendition.is_none()
        && config.measured_bandwidth_bps.is_some()
        && config.seek_budget_s.is_some()
}

/// The tracks playback starts with, as positions in `tracks` (in the manifest's order): the
/// video rendition its first segment comes at, then the audio track, if there are such.
///
/// A [`Player`](super::Player) made with the same `config` for a manifest with these tracks,
/// and started at 0, fetches exactly these tracks' init segments and first segments first.
/// `None` where that cannot be told: a start from a measured estimate, with a video track's
/// first segment size unknown (an older server's answer).
pub fn start_tracks(config: &PlaybackConfig, tracks: &[TrackStart]) -> Option<Vec<usize>> {
    let config = config.clone().sanitized();
    let abr = &config.abr;
    let lineup = Lineup::new(tracks.iter().map(|t| t.kind));
    let ladder: Vec<u64> = lineup.video.iter().map(|&i| tracks[i].bandwidth).collect();
    let video = match ladder.is_empty() {
        true => None,
        false => {
            let top = start_rung(abr, &ladder);
            let rung = match (abr.measured_bandwidth_bps, abr.seek_budget_s) {
                (Some(bps), Some(budget)) if start_within_budget(abr) => {
                    let sizes = lineup
                        .video
                        .iter()
                        .map(|&i| tracks[i].first_segment_bytes)
                        .collect::<Option<Vec<u64>>>()?;
                    rung_within(top, budget, bps * abr.safety_factor, |r| sizes[r])
                }
                _ => top,
            };
            Some(lineup.video[rung])
        }
    };
    Some(video.into_iter().chain(lineup.audio).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: TrackKind = TrackKind::Video;
    const A: TrackKind = TrackKind::Audio;

    fn config(start: Option<usize>, initial_bps: f64) -> PlaybackConfig {
        let mut c = PlaybackConfig::default();
        c.abr.start_rendition = start;
        c.abr.initial_bandwidth_bps = initial_bps;
        c
    }

    /// Tracks of these kinds and bandwidths, each first segment 4 s long.
    fn tracks(list: &[(TrackKind, u64)]) -> Vec<TrackStart> {
        list.iter()
            .map(|&(kind, bandwidth)| TrackStart {
                kind,
                bandwidth,
                first_segment_bytes: Some(bandwidth / 2),
            })
            .collect()
    }

    #[test]
    fn the_initial_estimate_picks_the_video_and_the_first_audio_follows() {
        let tracks = tracks(&[
            (V, 400_000),
            (V, 1_000_000),
            (A, 128_000),
            (V, 2_500_000),
            (A, 96_000),
        ]);
        // 1 Mbit/s × 0.8 allows the 400 kbit/s rung only.
        assert_eq!(start_tracks(&config(None, 1e6), &tracks), Some(vec![0, 2]));
        assert_eq!(start_tracks(&config(None, 4e6), &tracks), Some(vec![3, 2]));
        // Nothing fits: the lowest.
        assert_eq!(start_tracks(&config(None, 1e3), &tracks), Some(vec![0, 2]));
    }

    #[test]
    fn a_configured_rendition_wins_and_is_clamped() {
        let tracks = tracks(&[(V, 400_000), (V, 1_000_000), (V, 2_500_000)]);
        assert_eq!(start_tracks(&config(Some(1), 1e9), &tracks), Some(vec![1]));
        assert_eq!(start_tracks(&config(Some(9), 1e3), &tracks), Some(vec![2]));
        let mut measured = config(Some(0), 1e6);
        measured.abr.measured_bandwidth_bps = Some(1e9);
        assert_eq!(start_tracks(&measured, &tracks), Some(vec![0]));
    }

    #[test]
    fn an_unusable_estimate_is_read_as_the_default() {
        let tracks = tracks(&[(V, 400_000), (V, 1_000_000)]);
        assert_eq!(
            start_tracks(&config(None, f64::NAN), &tracks),
            start_tracks(&PlaybackConfig::default(), &tracks)
        );
        for bad in [f64::NAN, f64::INFINITY, 0.0, -5e6] {
            let mut c = config(None, 1e6);
            c.abr.measured_bandwidth_bps = Some(bad);
            assert_eq!(start_tracks(&c, &tracks), Some(vec![0]), "{bad}");
        }
    }

    #[test]
    fn a_measured_estimate_starts_at_the_highest_first_segment_within_the_budget() {
        // 4 s segments: 200 kB, 500 kB, 1.25 MB, 2.5 MB.
        let tracks = tracks(&[
            (V, 400_000),
            (V, 1_000_000),
            (V, 2_500_000),
            (V, 5_000_000),
            (A, 128_000),
        ]);
        let measured = |bps: f64, budget: Option<f64>| {
            let mut c = config(None, 1e6);
            c.abr.measured_bandwidth_bps = Some(bps);
            c.abr.seek_budget_s = budget;
            start_tracks(&c, &tracks).unwrap()
        };
        // 5 Mbit/s × 0.8 = 4 Mbit/s: 500 kB in one second, the 1 Mbit/s rung.
        assert_eq!(measured(5e6, Some(1.0)), vec![1, 4]);
        // Three seconds: the 2.5 Mbit/s rung, the highest within the estimate anyway.
        assert_eq!(measured(5e6, Some(3.0)), vec![2, 4]);
        // No budget: the rung the estimate allows, however long its first segment takes.
        assert_eq!(measured(5e6, None), vec![2, 4]);
        // A fast link: the top within a second.
        assert_eq!(measured(50e6, Some(1.0)), vec![3, 4]);
        // A slow one: nothing within the budget, the lowest.
        assert_eq!(measured(1e6, Some(1.0)), vec![0, 4]);
        // The measurement beats the page's guess either way.
        let mut c = config(None, 100e6);
        c.abr.measured_bandwidth_bps = Some(1e6);
        assert_eq!(start_tracks(&c, &tracks), Some(vec![0, 4]));
    }

    #[test]
    fn a_measured_start_without_the_first_segments_sizes_cannot_be_told() {
        let mut tracks = tracks(&[(V, 400_000), (V, 1_000_000), (A, 128_000)]);
        tracks[1].first_segment_bytes = None;
        let mut c = config(None, 1e6);
        c.abr.measured_bandwidth_bps = Some(50e6);
        assert_eq!(start_tracks(&c, &tracks), None);
        // Any other start needs no sizes.
        assert_eq!(start_tracks(&config(None, 50e6), &tracks), Some(vec![1, 2]));
        c.abr.seek_budget_s = None;
        assert_eq!(start_tracks(&c, &tracks), Some(vec![1, 2]));
    }

    #[test]
    fn audio_alone_or_nothing() {
        assert_eq!(
            start_tracks(&PlaybackConfig::default(), &tracks(&[(A, 1)])),
            Some(vec![0])
        );
        assert_eq!(
            start_tracks(&PlaybackConfig::default(), &[]),
            Some(Vec::<usize>::new())
        );
    }
}
