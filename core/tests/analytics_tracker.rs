//! The player's analytics tracker on a scripted view and a simulated beacon endpoint: the
//! events a view produces, its totals, batching, heartbeats, retries and bounds.

use cinelock_core::analytics::{
    Batch, BeaconEvent, EventKind, SendFailure, TrackerConfig, ViewFacts, ViewTracker, validate,
};

/// Drives the tracker's timers up to `to`, sending batches into `sent` (the endpoint takes
/// them while `up`).
fn run(t: &mut ViewTracker, now: &mut u64, to: u64, up: bool, sent: &mut Vec<Batch>) {
    while *now < to {
        let next = t.poll_timeout().map_or(to, |d| d.clamp(*now + 1, to));
        *now = next;
        t.handle_timeout(*now);
        flush(t, *now, up, sent);
    }
}

fn flush(t: &mut ViewTracker, now: u64, up: bool, sent: &mut Vec<Batch>) {
    while let Some(b) = t.poll_send(now) {
        if up {
            t.handle_sent(now, b.id);
            sent.push(b);
        } else {
            t.handle_send_failed(now, b.id, SendFailure::Status(503));
            break;
        }
    }
}

fn names(sent: &[Batch]) -> Vec<&'static str> {
    events(sent).map(|e| e.event.name()).collect()
}

fn events(sent: &[Batch]) -> impl Iterator<Item = &BeaconEvent> {
    sent.iter().flat_map(|b| &b.events)
}

#[test]
fn a_view_yields_the_expected_events_and_totals() {
    let mut t = ViewTracker::new(TrackerConfig::default(), 1_000, 60_000);
    let mut sent = Vec::new();
    let mut now = 1_000;
    t.handle_player_size(now, 1280, 720);
    t.handle_rendition(now, "v360", 1_000_000, 640, 360);
    now = 1_500;
    t.handle_play(now);
    // The first frame: the playhead moves 800 ms after play.
    now = 2_300;
    t.handle_playhead(now, 40);
    // Plays 10 s (heartbeat at 10 s without another event).
    for i in 1..=50 {
        run(&mut t, &mut now, 2_300 + i * 200, true, &mut sent);
        t.handle_playhead(now, 40 + i * 200);
    }
    t.handle_pause(now);
    let to = now + 5_000;
    run(&mut t, &mut now, to, true, &mut sent);
    t.handle_play(now);
    // A seek: 1 s with no data.
    t.handle_seeking(now);
    let to = now + 1_000;
    run(&mut t, &mut now, to, true, &mut sent);
    t.handle_seeked(now);
    t.handle_playhead(now, 30_000);
    // A stall of 2 s, then a switch down.
    let to = now + 3_000;
    run(&mut t, &mut now, to, true, &mut sent);
    t.handle_stall(now);
    let to = now + 2_000;
    run(&mut t, &mut now, to, true, &mut sent);
    t.handle_stall_end(now);
    t.handle_rendition(now, "v240", 400_000, 426, 240);
    let to = now + 4_000;
    run(&mut t, &mut now, to, true, &mut sent);
    t.handle_playhead(now, 60_000);
    t.handle_ended(now);
    t.handle_end(now);
    flush(&mut t, now, true, &mut sent);
    assert!(t.is_done());

    assert_eq!(
        names(&sent),
        [
            "viewstart",
            "renditionchange",
            "play",
            "playing",
            "heartbeat",
            "pause",
            "play",
            "seeking",
            "seeked",
            "rebufferstart",
            "rebufferend",
            "renditionchange",
            "ended",
            "viewend"
        ]
    );
    // In order, numbered, valid.
    for (i, e) in events(&sent).enumerate() {
        assert_eq!(e.seq as usize, i);
        validate(e).unwrap();
    }
    let facts = ViewFacts::of(&events(&sent).cloned().collect::<Vec<_>>());
    assert_eq!(facts.startup_ms, Some(800));
    assert_eq!(facts.duration_ms, Some(60_000));
    assert!(facts.intent && facts.ended && !facts.failed);
    let totals = facts.totals.unwrap();
    assert_eq!(totals, *t.totals());
    // Watch: from play (1.5 s) to the end, less the 5 s pause.
    let end = now;
    assert_eq!(totals.watch_ms, end - 1_500 - 5_000);
    // Playing: watch time less startup (800), the seek (1 s) and the stall (2 s).
    assert_eq!(totals.playing_ms, totals.watch_ms - 800 - 1_000 - 2_000);
    assert_eq!((totals.rebuffer_count, totals.rebuffer_ms), (1, 2_000));
    assert_eq!(totals.renditions["v240"], 4_000);
    assert_eq!(totals.renditions["v360"], totals.playing_ms - 4_000);
    // Bits: 1 Mbit/s and 0.4 Mbit/s for their times.
    let bits = totals.renditions["v360"] * 1_000 + totals.renditions["v240"] * 400;
    assert!(
        totals.played_bits.abs_diff(bits) <= 1,
        "{} vs {bits}",
        totals.played_bits
    );
    // 640×360 in 1280×720 is 100 % upscale; 426×240 is 200 % (the height fills first).
    let upscale = totals.renditions["v360"] + 2 * totals.renditions["v240"];
    assert!(
        totals.upscale_ms.abs_diff(upscale) <= 1,
        "{} vs {upscale}",
        totals.upscale_ms
    );
    // Never larger than the player: no downscale. One seek, of 1 s.
    assert_eq!(totals.downscale_ms, 0);
    assert_eq!((totals.seek_count, totals.seek_ms), (1, 1_000));
    assert_eq!(totals.max_playhead_ms, 60_000);
    // The leaving batch goes with keepalive.
    assert!(sent.last().unwrap().keepalive);
}

#[test]
fn a_picture_larger_than_the_player_counts_as_downscale() {
    let mut t = ViewTracker::new(TrackerConfig::default(), 0, 60_000);
    // 1280×720 in 640×360: 100 % for 4 s; 1920×1080 in 640×480 (the width fills first): 200 %
    // for 2 s; a 1 px player counts at most 3,100 %.
    t.handle_player_size(0, 640, 360);
    t.handle_rendition(0, "v720", 2_500_000, 1280, 720);
    t.handle_play(0);
    t.handle_playhead(100, 40);
    t.handle_playhead(4_100, 4_040);
    t.handle_player_size(4_100, 640, 480);
    t.handle_rendition(4_100, "v1080", 5_000_000, 1920, 1080);
    t.handle_playhead(6_100, 6_040);
    t.handle_player_size(6_100, 1, 1);
    t.handle_playhead(7_100, 7_040);
    let totals = t.totals();
    assert_eq!(totals.playing_ms, 7_000);
    assert_eq!(totals.downscale_ms, 4_000 + 2 * 2_000 + 31 * 1_000);
    assert_eq!(totals.upscale_ms, 0);
    let e = BeaconEvent {
        seq: 9,
        at_ms: 7_100,
        playhead_ms: 7_040,
        event: EventKind::Heartbeat {},
        totals: Some(totals.clone()),
    };
    validate(&e).unwrap();
}

#[test]
fn batches_go_every_five_seconds_and_heartbeats_every_ten_while_not_paused() {
    let mut t = ViewTracker::new(TrackerConfig::default(), 0, 600_000);
    let mut sent = Vec::new();
    let mut now = 0;
    t.handle_play(0);
    t.handle_playhead(100, 50);
    run(&mut t, &mut now, 60_000, true, &mut sent);
    let hbs: Vec<u64> = events(&sent)
        .filter(|e| e.event == EventKind::Heartbeat {})
        .map(|e| e.at_ms)
        .collect();
    assert_eq!(hbs, [10_100, 20_100, 30_100, 40_100, 50_100]);
    assert!(
        events(&sent)
            .filter(|e| e.event == EventKind::Heartbeat {})
            .all(|e| e.totals.is_some())
    );
    // Each batch went about five seconds after its first event.
    assert!(sent.len() >= 5);
    // Paused: no heartbeats, and nothing to send.
    t.handle_pause(now);
    run(&mut t, &mut now, 200_000, true, &mut sent);
    let after = events(&sent).filter(|e| e.at_ms >= 60_000).count();
    assert_eq!(after, 1, "only the pause");
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn a_failing_endpoint_loses_nothing_until_it_returns_and_the_queue_stays_bounded() {
    let config = TrackerConfig {
        max_queue: 20,
        ..TrackerConfig::default()
    };
    let mut t = ViewTracker::new(config, 0, 3_600_000);
    let mut sent = Vec::new();
    let mut now = 0;
    t.handle_play(0);
    t.handle_playhead(100, 50);
    t.handle_rendition(200, "v360", 1_000_000, 640, 360);
    // Ten minutes down: heartbeats pile up, the oldest go first.
    run(&mut t, &mut now, 600_000, false, &mut sent);
    assert!(sent.is_empty());
    assert!(t.dropped() > 0);
    // Back up: what is kept arrives, the view's start included, and the totals are whole.
    t.handle_pause(now);
    run(&mut t, &mut now, 1_200_000, true, &mut sent);
    let got = names(&sent);
    assert_eq!(
        &got[..4],
        ["viewstart", "play", "playing", "renditionchange"]
    );
    assert!(got.len() <= 20);
    let last = events(&sent).last().unwrap();
    assert_eq!(last.event, EventKind::Pause {});
    assert_eq!(last.totals.as_ref().unwrap().watch_ms, 600_000);
}

#[test]
fn a_refused_credential_stops_the_beacons() {
    let mut t = ViewTracker::new(TrackerConfig::default(), 0, 60_000);
    t.handle_play(0);
    t.handle_hidden(1);
    let b = t.poll_send(1).expect("hidden: sent at once");
    assert!(b.keepalive);
    t.handle_send_failed(2, b.id, SendFailure::Status(401));
    t.handle_playhead(3, 10);
    t.handle_end(4);
    assert_eq!(t.poll_send(100_000), None);
    assert!(t.is_done());
}

#[test]
fn stalls_before_the_first_frame_or_while_seeking_are_not_rebuffers() {
    let mut t = ViewTracker::new(TrackerConfig::default(), 0, 60_000);
    t.handle_play(0);
    t.handle_stall(100);
    t.handle_stall_end(500);
    t.handle_playhead(600, 10);
    t.handle_seeking(1_000);
    t.handle_stall(1_100);
    t.handle_seeked(1_500);
    t.handle_stall_end(1_600);
    t.handle_pause(2_000);
    t.handle_stall(2_100);
    assert_eq!(t.totals().rebuffer_count, 0);
    assert_eq!(t.totals().rebuffer_ms, 0);
}

#[test]
fn a_fatal_error_ends_the_view() {
    let mut t = ViewTracker::new(TrackerConfig::default(), 0, 60_000);
    t.handle_play(0);
    t.handle_error(5_000, "fetch_failed", true);
    let b = t.poll_send(5_000).expect("sent at once");
    let kinds: Vec<_> = b.events.iter().map(|e| e.event.name()).collect();
    assert_eq!(kinds, ["viewstart", "play", "error", "viewend"]);
    let facts = ViewFacts::of(&b.events);
    assert!(facts.failed && facts.startup_ms.is_none());
    assert_eq!(facts.error_code.as_deref(), Some("fetch_failed"));
}
