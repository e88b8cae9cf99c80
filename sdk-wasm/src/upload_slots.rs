//! What the uploads running on this thread share (this worker's, or the page's when
//! `worker: false`, recordings included): the PUT and sealing slots, which the core divides
//! ([`share`]), and the 8 MiB buffers parts are sealed in. So the uploads never have more PUTs
//! out together than a browser runs at once to the store, and never seal more parts, nor keep
//! more buffers, than one thread seals at once, and leave their neighbours (players, other
//! threads' uploads) the connections they need. This module only keeps the table, tells an
//! upload when its shares changed, and lends buffers.

use std::cell::RefCell;

use cinelock_core::upload::{BROWSER_SEALS_AT_ONCE, Demands, Neighbours, Shares, share};
use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

use crate::io::release;

struct Seated {
    id: u64,
    demands: Demands,
    shares: Shares,
    /// Tells the upload its shares changed.
    changed: Box<dyn Fn()>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    /// In the order the uploads started: the earliest gets the most (see `share`).
    seated: Vec<Seated>,
    /// Part buffers no seal is using, for the next seal of any upload here.
    spare: Vec<Uint8Array>,
    /// Who else uses the browser's connections to the store (told by the package's
    /// JavaScript, which keeps the count: npm/src/internal/neighbours.ts).
    neighbours: Neighbours,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::default();
}

/// One upload's seat at the table; it leaves on drop, and its slots go to the others.
pub(crate) struct Seat {
    id: u64,
}

impl Seat {
    /// Seats an upload, which `changed` tells when its shares changed.
    pub(crate) fn take(changed: impl Fn() + 'static) -> Self {
        TABLE.with_borrow_mut(|t| {
            t.next_id += 1;
            let id = t.next_id;
            t.seated.push(Seated {
                id,
                demands: Demands::default(),
                shares: Shares::default(),
                changed: Box::new(changed),
            });
            Seat { id }
        })
    }

    /// Records what this upload uses and wants, divides the slots again, tells the other
    /// uploads whose shares changed, and returns this one's.
    pub(crate) fn shares(&self, demands: Demands) -> Shares {
        TABLE.with_borrow_mut(|t| {
            if let Some(s) = t.seated.iter_mut().find(|s| s.id == self.id) {
                s.demands = demands;
            }
            t.divide(Some(self.id));
            t.seated
                .iter()
                .find(|s| s.id == self.id)
                .map_or_else(Shares::default, |s| s.shares)
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        TABLE.with_borrow_mut(|t| {
            t.seated.retain(|s| s.id != self.id);
            t.divide(None);
        });
    }
}

impl Table {
    /// Divides the slots; every upload but `asking` whose shares changed hears of it.
    fn divide(&mut self, asking: Option<u64>) {
        let demands: Vec<Demands> = self.seated.iter().map(|s| s.demands).collect();
        for (s, shares) in self.seated.iter_mut().zip(share(&demands, self.neighbours)) {
            if s.shares != shares {
                s.shares = shares;
                if Some(s.id) != asking {
                    (s.changed)();
                }
            }
        }
    }
}

/// Who else uses the browser's connections to the store: `players` on the page and in the
/// origin's other tabs, and `uploaders`, the other threads with uploads (the page's other one,
/// and other tabs'). This thread's uploads keep to what that leaves them; every upload whose
/// shares changed hears of it.
#[wasm_bindgen(js_name = setNeighbours)]
pub fn set_neighbours(players: u32, uploaders: u32) {
    let neighbours = Neighbours {
        players: players as usize,
        uploaders: uploaders as usize,
    };
    TABLE.with_borrow_mut(|t| {
        if t.neighbours != neighbours {
            t.neighbours = neighbours;
            t.divide(None);
        }
    });
}

/// A spare part buffer, if one is free (else the seal makes one).
pub(crate) fn borrow_buffer() -> Option<Uint8Array> {
    TABLE.with_borrow_mut(|t| t.spare.pop())
}

/// Gives back a buffer a part was sealed in (the part's Blob holds a copy). The thread keeps
/// as many as it seals at once and lets go of the others at once.
pub(crate) fn return_buffer(buffer: Uint8Array) {
    TABLE.with_borrow_mut(|t| {
        if t.spare.len() < BROWSER_SEALS_AT_ONCE {
            t.spare.push(buffer);
        } else {
            release(&buffer);
        }
    });
}

/// Lets go of the spare buffers (after an upload's rehearsal, whose parts are smaller than a
/// real upload's, so its buffers would serve none).
pub(crate) fn release_spare_buffers() {
    for buffer in TABLE.with_borrow_mut(|t| std::mem::take(&mut t.spare)) {
        release(&buffer);
    }
}
