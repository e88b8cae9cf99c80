//! The start's first objects, asked for straight from the session's answer: the init segments
//! and first segments of the tracks playback starts with, while the content key and the
//! manifest are opened and the key is imported (a few milliseconds the first frame would
//! otherwise wait before its first request). Which objects those are is the core's decision
//! ([`StartTrack::first_paths`], by the rule the engine starts by), made from the answer's list
//! of tracks; the engine's own fetches of them take the requests over ([`FirstObjects::take`]).
//!
//! A player started before the wasm loaded finds some already asked for by the package's
//! JavaScript (`npm/src/internal/early-session.ts`: the answer's `first`, which the server chose
//! by the same rule from what the page asked): those it would ask for too are taken over, the
//! others aborted at once.

use std::collections::HashMap;

use cinelock_contract::playback::{PlayAnswer, RenditionPick, StartTrack};
use cinelock_core::playback::PlaybackConfig;
use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortController;

use crate::opener::Early;

/// GETs under way for the start, by path in the manifest. Dropping it aborts those not taken.
#[derive(Default)]
pub(crate) struct FirstObjects {
    by_path: HashMap<String, Early>,
    /// Asked for by the page's JavaScript, not needed, and aborted.
    unused: usize,
}

impl FirstObjects {
    /// Sends the GETs of the first objects of a player with `config` started at `pick`, as
    /// `answer` lists them, now; those in `sent` (asked for already) are taken over instead,
    /// and the rest of `sent` aborted. None from an answer that lists no tracks (an older
    /// server), or for a `pick` the package does not have.
    pub(crate) fn ask(
        answer: &PlayAnswer,
        config: &PlaybackConfig,
        pick: Option<&RenditionPick>,
        mut sent: HashMap<String, Early>,
    ) -> Self {
        let paths = StartTrack::first_paths(&answer.start, config, pick).unwrap_or_default();
        let by_path = paths
            .into_iter()
            .filter_map(|path| {
                let early = match sent.remove(path) {
                    Some(early) => early,
                    None => Early::send(answer.urls.get(path)?),
                };
                Some((path.to_owned(), early))
            })
            .collect();
        Self {
            by_path,
            unused: sent.len(),
        }
    }

    /// None; the GETs in `sent` are not needed, and aborted.
    pub(crate) fn none(sent: HashMap<String, Early>) -> Self {
        Self {
            by_path: HashMap::new(),
            unused: sent.len(),
        }
    }

    /// The GETs the page's JavaScript sent from the answer's `first` while the wasm loaded:
    /// `early.first` is `[{path, sent, controller, started}]` (the `fetch` promise, its
    /// `AbortController`, and `performance.now()` when it was sent).
    pub(crate) fn sent_by_page(early: &JsValue) -> HashMap<String, Early> {
        let get = |o: &JsValue, k: &str| Reflect::get(o, &k.into()).unwrap_or(JsValue::UNDEFINED);
        let Ok(list) = get(early, "first").dyn_into::<Array>() else {
            return HashMap::new();
        };
        list.iter()
            .filter_map(|o| {
                let path = get(&o, "path").as_string()?;
                let sent = get(&o, "sent").dyn_into::<Promise>().ok()?;
                let controller = get(&o, "controller").dyn_into::<AbortController>().ok()?;
                let started = get(&o, "started").as_f64()?;
                Some((path, Early::sent(sent, controller, started)))
            })
            .collect()
    }

    /// The GET of `path`, if it was sent and not taken yet.
    pub(crate) fn take(&mut self, path: &str) -> Option<Early> {
        self.by_path.remove(path)
    }

    /// Aborts the GETs not taken; how many were not needed, these and the page's.
    pub(crate) fn abort_rest(&mut self) -> usize {
        let n = self.by_path.len() + std::mem::take(&mut self.unused);
        self.by_path.clear();
        n
    }
}
