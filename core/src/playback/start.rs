//! Where playback starts: the video rendition and the audio track the [`Player`](super::Player)
//! begins with.
//!
//! Both follow from the tracks' kinds and bandwidths alone, so a driver that has only those
//! knows the start's first objects before it has the manifest: a session's answer lists them
//! beside the sealed manifest, and the player asks for the start's init and first segments
//! while the key and the manifest are being opened ([`start_tracks`]).

use super::config::{AbrConfig, PlaybackConfig};
use crate::media::TrackKind;

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

/// The rung of `ladder` playback starts at: the configured rendition (clamped to the ladder),
/// or the highest the initial estimate allows with the safety factor.
pub(crate) fn start_rung(config: &AbrConfig, ladder: &[u64]) -> usize {
    match config.start_rendition {
        Some(i) => i.min(ladder.len().saturating_sub(1)),
        None => fit(ladder, config.initial_bandwidth_bps * config.safety_factor),
    }
}

/// The tracks playback starts with, as positions in `tracks` (each track's kind and bandwidth,
/// in the manifest's order): the video rendition, then the audio track, if there are such.
///
/// A [`Player`](super::Player) made with the same `config` for a manifest with these tracks,
/// and started at 0, fetches exactly these tracks' init segments and first segments first.
pub fn start_tracks(config: &PlaybackConfig, tracks: &[(TrackKind, u64)]) -> Vec<usize> {
    let config = config.clone().sanitized();
    let lineup = Lineup::new(tracks.iter().map(|&(kind, _)| kind));
    let ladder: Vec<u64> = lineup.video.iter().map(|&i| tracks[i].1).collect();
    let video = (!ladder.is_empty()).then(|| lineup.video[start_rung(&config.abr, &ladder)]);
    video.into_iter().chain(lineup.audio).collect()
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

    #[test]
    fn the_initial_estimate_picks_the_video_and_the_first_audio_follows() {
        let tracks = [
            (V, 400_000),
            (V, 1_000_000),
            (A, 128_000),
            (V, 2_500_000),
            (A, 96_000),
        ];
        // 1 Mbit/s × 0.8 allows the 400 kbit/s rung only.
        assert_eq!(start_tracks(&config(None, 1e6), &tracks), vec![0, 2]);
        assert_eq!(start_tracks(&config(None, 4e6), &tracks), vec![3, 2]);
        // Nothing fits: the lowest.
        assert_eq!(start_tracks(&config(None, 1e3), &tracks), vec![0, 2]);
    }

    #[test]
    fn a_configured_rendition_wins_and_is_clamped() {
        let tracks = [(V, 400_000), (V, 1_000_000), (V, 2_500_000)];
        assert_eq!(start_tracks(&config(Some(1), 1e9), &tracks), vec![1]);
        assert_eq!(start_tracks(&config(Some(9), 1e3), &tracks), vec![2]);
    }

    #[test]
    fn an_unusable_estimate_is_read_as_the_default() {
        let tracks = [(V, 400_000), (V, 1_000_000)];
        assert_eq!(
            start_tracks(&config(None, f64::NAN), &tracks),
            start_tracks(&PlaybackConfig::default(), &tracks)
        );
    }

    #[test]
    fn audio_alone_or_nothing() {
        assert_eq!(start_tracks(&PlaybackConfig::default(), &[(A, 1)]), vec![0]);
        assert_eq!(
            start_tracks(&PlaybackConfig::default(), &[]),
            Vec::<usize>::new()
        );
    }
}
