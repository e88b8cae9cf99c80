//! The start's first objects, asked for straight from the session's answer: the init segments
//! and first segments of the tracks playback starts with, while the content key and the
//! manifest are opened and the key is imported (a few milliseconds the first frame would
//! otherwise wait before its first request). Which tracks those are is the core's decision
//! ([`start_tracks`], the rule the engine starts by), made from the answer's list of tracks;
//! the engine's own fetches of these objects take the requests over ([`FirstObjects::take`]).

use std::collections::HashMap;

use cinelock_contract::playback::PlayAnswer;
use cinelock_core::playback::{PlaybackConfig, start_tracks};

use crate::opener::Early;

/// GETs under way for the start, by path in the manifest. Dropping it aborts those not taken.
#[derive(Default)]
pub(crate) struct FirstObjects {
    by_path: HashMap<String, Early>,
}

impl FirstObjects {
    /// Sends the GETs of the first objects of the tracks a player with `config` starts with, as
    /// `answer` lists them, now. None from an answer that lists no tracks (an older server).
    pub(crate) fn ask(answer: &PlayAnswer, config: &PlaybackConfig) -> Self {
        let tracks: Vec<_> = answer.start.iter().map(|t| (t.kind, t.bandwidth)).collect();
        let by_path = start_tracks(config, &tracks)
            .into_iter()
            .flat_map(|i| &answer.start[i].paths)
            .filter_map(|path| {
                let url = answer.urls.get(path)?;
                Some((path.clone(), Early::send(url)))
            })
            .collect();
        Self { by_path }
    }

    /// The GET of `path`, if it was sent and not taken yet.
    pub(crate) fn take(&mut self, path: &str) -> Option<Early> {
        self.by_path.remove(path)
    }

    /// Aborts the GETs not taken; how many there were.
    pub(crate) fn abort_rest(&mut self) -> usize {
        let n = self.by_path.len();
        self.by_path.clear();
        n
    }
}
