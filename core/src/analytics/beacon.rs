//! What the player reports (`POST /v1/beacons`, `docs/analytics.md`): one view's events, each
//! with its time in the view and the playhead, and on some the view's running totals, so a lost
//! beacon loses no totals. The same types are written by the SDK and read by the server, which
//! refuses anything [`validate`] does not accept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Most events in one beacon.
pub const MAX_BATCH_EVENTS: usize = 100;
/// Longest a view may run, as far as beacons tell (48 h).
pub const MAX_VIEW_MS: u64 = 48 * 3_600_000;
/// Most renditions a view's totals list.
pub const MAX_RENDITIONS: usize = 16;

/// One event of a view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconEvent {
    /// Position in the view, from 0: the server stores each once, however often it is sent.
    pub seq: u32,
    /// Milliseconds since the view started, on the player's clock.
    pub at_ms: u64,
    /// The playhead, in milliseconds of media.
    pub playhead_ms: u64,
    pub event: EventKind,
    /// The view's running totals (on `pause`, `ended`, `error`, `heartbeat` and `viewend`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<Totals>,
}

/// What happened (Mux Data's names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventKind {
    /// The player loaded the package: the view begins.
    Viewstart {
        /// The media's duration.
        duration_ms: u64,
    },
    /// The viewer (or autoplay) asked to play.
    Play {},
    /// The first frame showed and the playhead moved (once per view); `startup_ms` since the
    /// first `play`.
    Playing {
        startup_ms: u64,
    },
    Pause {},
    Seeking {},
    /// The seek landed `seek_ms` after it began.
    Seeked {
        seek_ms: u64,
    },
    /// Playback stalled for lack of data (not for a seek).
    Rebufferstart {},
    /// The stall ended after `rebuffer_ms`.
    Rebufferend {
        rebuffer_ms: u64,
    },
    /// The video rendition changed.
    Renditionchange {
        rendition: String,
        /// Bits per second, as the manifest lists it.
        bitrate: u64,
        width: u32,
        height: u32,
    },
    /// An error, by code (never a message: messages can hold URLs).
    Error {
        code: String,
        fatal: bool,
    },
    /// Playback reached the end.
    Ended {},
    /// Ten seconds without another event while not paused.
    Heartbeat {},
    /// The view is over (the player was destroyed or the page left).
    Viewend {},
}

impl EventKind {
    /// The event's name.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Viewstart { .. } => "viewstart",
            EventKind::Play {} => "play",
            EventKind::Playing { .. } => "playing",
            EventKind::Pause {} => "pause",
            EventKind::Seeking {} => "seeking",
            EventKind::Seeked { .. } => "seeked",
            EventKind::Rebufferstart {} => "rebufferstart",
            EventKind::Rebufferend { .. } => "rebufferend",
            EventKind::Renditionchange { .. } => "renditionchange",
            EventKind::Error { .. } => "error",
            EventKind::Ended {} => "ended",
            EventKind::Heartbeat {} => "heartbeat",
            EventKind::Viewend {} => "viewend",
        }
    }
}

/// A view's running totals (Mux Data's definitions, `docs/analytics.md`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// Time spent watching or trying to watch: from the first `play`, paused time excluded
    /// (startup, rebuffering and seeking included).
    pub watch_ms: u64,
    /// Time the playhead moved.
    pub playing_ms: u64,
    pub rebuffer_count: u32,
    pub rebuffer_ms: u64,
    /// Σ bitrate × playing time (bits): over `playing_ms`, the weighted average bitrate.
    pub played_bits: u64,
    /// Σ upscale × playing time (ms): over `playing_ms`, the time-weighted upscale.
    pub upscale_ms: u64,
    /// Σ downscale × playing time (ms): over `playing_ms`, the time-weighted downscale (a
    /// picture larger than the player: bandwidth with nothing to show for it). Absent from
    /// older players; left out at 0, so that a server from before it (which refuses fields it
    /// does not know) still takes a view with no downscale and no seek.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub downscale_ms: u64,
    /// Seeks that landed (`seeked`), and the time from each one's `seeking` in all: over
    /// `seek_count`, the average seek latency. Absent from older players; left out at 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seek_count: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seek_ms: u64,
    /// The furthest the playhead got.
    pub max_playhead_ms: u64,
    /// Playing time by video rendition id.
    pub renditions: BTreeMap<String, u64>,
    /// The player's size in CSS pixels when the totals were taken.
    pub player_width: u32,
    pub player_height: u32,
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Totals {
    /// Element-wise maximum: totals only grow, so the latest of two copies (in any order) wins.
    pub fn merge(&mut self, other: &Totals) {
        self.watch_ms = self.watch_ms.max(other.watch_ms);
        self.playing_ms = self.playing_ms.max(other.playing_ms);
        self.rebuffer_count = self.rebuffer_count.max(other.rebuffer_count);
        self.rebuffer_ms = self.rebuffer_ms.max(other.rebuffer_ms);
        self.played_bits = self.played_bits.max(other.played_bits);
        self.upscale_ms = self.upscale_ms.max(other.upscale_ms);
        self.downscale_ms = self.downscale_ms.max(other.downscale_ms);
        self.seek_count = self.seek_count.max(other.seek_count);
        self.seek_ms = self.seek_ms.max(other.seek_ms);
        self.max_playhead_ms = self.max_playhead_ms.max(other.max_playhead_ms);
        for (r, ms) in &other.renditions {
            let e = self.renditions.entry(r.clone()).or_insert(0);
            *e = (*e).max(*ms);
        }
        self.player_width = other.player_width.max(self.player_width);
        self.player_height = other.player_height.max(self.player_height);
    }
}

fn id_like(s: &str, max: usize, extra: &[char]) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || extra.contains(&c))
}

/// Checks one event's values are possible: times within [`MAX_VIEW_MS`], sizes and rates in
/// range, totals consistent with themselves and with the event's time. The message names the
/// first field out of range.
pub fn validate(e: &BeaconEvent) -> Result<(), String> {
    let bad = |what: &str| Err(format!("event {}: {what} out of range", e.seq));
    if e.at_ms > MAX_VIEW_MS {
        return bad("at_ms");
    }
    if e.playhead_ms > MAX_VIEW_MS {
        return bad("playhead_ms");
    }
    match &e.event {
        EventKind::Viewstart { duration_ms } if *duration_ms > MAX_VIEW_MS => {
            return bad("duration_ms");
        }
        EventKind::Playing { startup_ms } if *startup_ms > e.at_ms => return bad("startup_ms"),
        EventKind::Seeked { seek_ms } if *seek_ms > e.at_ms => return bad("seek_ms"),
        EventKind::Rebufferend { rebuffer_ms } if *rebuffer_ms > e.at_ms => {
            return bad("rebuffer_ms");
        }
        EventKind::Renditionchange {
            rendition,
            bitrate,
            width,
            height,
        } => {
            if !id_like(rendition, 32, &['-']) {
                return bad("rendition");
            }
            if *bitrate > 1_000_000_000 || *width > 16_384 || *height > 16_384 {
                return bad("bitrate or size");
            }
        }
        EventKind::Error { code, .. } if !id_like(code, 40, &[]) => return bad("code"),
        _ => {}
    }
    if let Some(t) = &e.totals {
        // A second of slack for rounding on the player's side.
        let elapsed = e.at_ms + 1_000;
        if t.watch_ms > elapsed {
            return bad("watch_ms");
        }
        if t.playing_ms > t.watch_ms || t.rebuffer_ms > t.watch_ms {
            return bad("playing_ms or rebuffer_ms");
        }
        if u64::from(t.rebuffer_count) > elapsed / 10 + 1 {
            return bad("rebuffer_count");
        }
        if t.played_bits > t.playing_ms.saturating_mul(1_000_000) {
            return bad("played_bits");
        }
        if t.upscale_ms > t.playing_ms.saturating_mul(32)
            || t.downscale_ms > t.playing_ms.saturating_mul(32)
        {
            return bad("upscale_ms or downscale_ms");
        }
        if t.seek_ms > elapsed || u64::from(t.seek_count) > elapsed / 10 + 1 {
            return bad("seek_ms or seek_count");
        }
        if t.max_playhead_ms > MAX_VIEW_MS || t.player_width > 16_384 || t.player_height > 16_384 {
            return bad("max_playhead_ms or player size");
        }
        if t.renditions.len() > MAX_RENDITIONS
            || t.renditions.keys().any(|r| !id_like(r, 32, &['-']))
            || t.renditions.values().sum::<u64>() > t.playing_ms + 1_000
        {
            return bad("renditions");
        }
    }
    Ok(())
}

/// What one batch of a view's events says about the view: the facts the server keeps per view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewFacts {
    /// From `viewstart`.
    pub duration_ms: Option<u64>,
    /// A `play` was seen.
    pub intent: bool,
    /// From `playing`.
    pub startup_ms: Option<u64>,
    /// A fatal error was seen; the first one's code.
    pub failed: bool,
    pub error_code: Option<String>,
    /// `ended` was seen.
    pub ended: bool,
    /// The latest totals.
    pub totals: Option<Totals>,
}

impl ViewFacts {
    /// Folds a batch of events (in any order) into facts.
    pub fn of(events: &[BeaconEvent]) -> Self {
        let mut f = ViewFacts::default();
        for e in events {
            match &e.event {
                EventKind::Viewstart { duration_ms } => f.duration_ms = Some(*duration_ms),
                EventKind::Play {} => f.intent = true,
                EventKind::Playing { startup_ms } => {
                    f.intent = true;
                    f.startup_ms = Some(f.startup_ms.map_or(*startup_ms, |s| s.min(*startup_ms)));
                }
                EventKind::Error { code, fatal: true } => {
                    f.failed = true;
                    f.error_code.get_or_insert_with(|| code.clone());
                }
                EventKind::Ended {} => f.ended = true,
                _ => {}
            }
            if let Some(t) = &e.totals {
                f.totals.get_or_insert_with(Totals::default).merge(t);
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_a_server_from_before_seeks_and_downscale_reads_while_they_are_zero() {
        // What such a server read: every field it knew, and no other.
        let before = r#"{"watch_ms":1,"playing_ms":1,"rebuffer_count":0,"rebuffer_ms":0,
            "played_bits":0,"upscale_ms":0,"max_playhead_ms":0,"renditions":{},
            "player_width":0,"player_height":0}"#;
        let old: Totals = serde_json::from_str(before).unwrap();
        assert_eq!((old.seek_count, old.seek_ms, old.downscale_ms), (0, 0, 0));
        let mut t = Totals {
            watch_ms: 1,
            playing_ms: 1,
            ..Totals::default()
        };
        let keys = |t: &Totals| match serde_json::to_value(t).unwrap() {
            serde_json::Value::Object(m) => m.keys().cloned().collect::<Vec<_>>(),
            _ => unreachable!(),
        };
        let known = match serde_json::from_str::<serde_json::Value>(before).unwrap() {
            serde_json::Value::Object(m) => m.keys().cloned().collect::<Vec<_>>(),
            _ => unreachable!(),
        };
        assert_eq!(keys(&t), known);
        (t.seek_count, t.seek_ms, t.downscale_ms) = (1, 300, 5);
        assert_eq!(keys(&t).len(), known.len() + 3);
    }

    fn ev(seq: u32, at_ms: u64, event: EventKind) -> BeaconEvent {
        BeaconEvent {
            seq,
            at_ms,
            playhead_ms: 0,
            event,
            totals: None,
        }
    }

    #[test]
    fn the_wire_form_is_strict() {
        let json =
            r#"{"seq":3,"at_ms":1200,"playhead_ms":0,"event":{"type":"playing","startup_ms":800}}"#;
        let e: BeaconEvent = serde_json::from_str(json).unwrap();
        assert_eq!(e.event, EventKind::Playing { startup_ms: 800 });
        assert_eq!(serde_json::to_string(&e).unwrap(), json);
        for bad in [
            r#"{"seq":3,"at_ms":1,"playhead_ms":0,"event":{"type":"teleport"}}"#,
            r#"{"seq":3,"at_ms":1,"playhead_ms":0,"event":{"type":"pause","x":1}}"#,
            r#"{"seq":3,"at_ms":1,"playhead_ms":0,"event":{"type":"pause"},"url":"https://x"}"#,
            r#"{"seq":-1,"at_ms":1,"playhead_ms":0,"event":{"type":"pause"}}"#,
        ] {
            assert!(serde_json::from_str::<BeaconEvent>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn absurd_values_are_refused() {
        assert!(validate(&ev(0, 5_000, EventKind::Playing { startup_ms: 800 })).is_ok());
        assert!(validate(&ev(0, 500, EventKind::Playing { startup_ms: 800 })).is_err());
        assert!(validate(&ev(0, MAX_VIEW_MS + 1, EventKind::Pause {})).is_err());
        let rc = |r: &str, bitrate| EventKind::Renditionchange {
            rendition: r.into(),
            bitrate,
            width: 1280,
            height: 720,
        };
        assert!(validate(&ev(0, 1, rc("v720", 2_500_000))).is_ok());
        assert!(validate(&ev(0, 1, rc("https://x", 1))).is_err());
        assert!(validate(&ev(0, 1, rc("v720", 5_000_000_000))).is_err());
        let err = |code: &str| EventKind::Error {
            code: code.into(),
            fatal: true,
        };
        assert!(validate(&ev(0, 1, err("fetch_failed"))).is_ok());
        assert!(validate(&ev(0, 1, err("GET /x?token=1"))).is_err());
        let mut e = ev(0, 10_000, EventKind::Heartbeat {});
        e.totals = Some(Totals {
            watch_ms: 9_000,
            playing_ms: 8_000,
            played_bits: 8 * 2_500_000,
            ..Totals::default()
        });
        assert!(validate(&e).is_ok());
        e.totals.as_mut().unwrap().watch_ms = 60_000;
        assert!(
            validate(&e).is_err(),
            "more watch time than the view lasted"
        );
        e.totals.as_mut().unwrap().watch_ms = 9_000;
        e.totals.as_mut().unwrap().playing_ms = 9_500;
        assert!(validate(&e).is_err(), "more playing than watching");
    }

    #[test]
    fn facts_fold_a_batch_in_any_order() {
        let mut hb = ev(5, 20_000, EventKind::Heartbeat {});
        hb.totals = Some(Totals {
            watch_ms: 19_000,
            renditions: [("v360".to_string(), 5_000)].into(),
            ..Totals::default()
        });
        let mut early = ev(2, 10_000, EventKind::Pause {});
        early.totals = Some(Totals {
            watch_ms: 9_000,
            renditions: [("v360".to_string(), 6_000), ("v240".to_string(), 1_000)].into(),
            ..Totals::default()
        });
        let events = vec![
            hb,
            ev(
                0,
                0,
                EventKind::Viewstart {
                    duration_ms: 60_000,
                },
            ),
            ev(1, 100, EventKind::Play {}),
            early,
            ev(3, 900, EventKind::Playing { startup_ms: 800 }),
            ev(
                6,
                21_000,
                EventKind::Error {
                    code: "fetch_failed".into(),
                    fatal: true,
                },
            ),
        ];
        let f = ViewFacts::of(&events);
        assert_eq!(f.duration_ms, Some(60_000));
        assert!(f.intent && f.failed && !f.ended);
        assert_eq!(f.startup_ms, Some(800));
        assert_eq!(f.error_code.as_deref(), Some("fetch_failed"));
        let t = f.totals.unwrap();
        assert_eq!(t.watch_ms, 19_000);
        assert_eq!(t.renditions["v360"], 6_000);
        assert_eq!(t.renditions["v240"], 1_000);
    }
}
