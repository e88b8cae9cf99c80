//! The PUT slots the uploads running on this thread share (this worker's, or the page's when
//! `worker: false`, recordings included): the core divides them ([`share_puts`]), so the
//! uploads never have more PUTs out together than a browser runs at once to the store. This
//! module only keeps the list and tells an upload when its share changed.

use std::cell::RefCell;

use cinelock_core::upload::{BROWSER_PUTS_AT_ONCE, PutDemand, share_puts};

struct Seated {
    id: u64,
    demand: PutDemand,
    share: usize,
    /// Tells the upload its share changed.
    changed: Box<dyn Fn()>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    /// In the order the uploads started: the earliest gets the most (see `share_puts`).
    seated: Vec<Seated>,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::default();
}

/// One upload's seat at the table; it leaves on drop, and its slots go to the others.
pub(crate) struct Seat {
    id: u64,
}

impl Seat {
    /// Seats an upload, which `changed` tells when its share changed.
    pub(crate) fn take(changed: impl Fn() + 'static) -> Self {
        TABLE.with_borrow_mut(|t| {
            t.next_id += 1;
            let id = t.next_id;
            t.seated.push(Seated {
                id,
                demand: PutDemand {
                    in_flight: 0,
                    wanted: 0,
                },
                share: 0,
                changed: Box::new(changed),
            });
            Seat { id }
        })
    }

    /// Records what this upload has out and wants, divides the slots again, tells the other
    /// uploads whose share changed, and returns this one's.
    pub(crate) fn share(&self, demand: PutDemand) -> usize {
        TABLE.with_borrow_mut(|t| {
            if let Some(s) = t.seated.iter_mut().find(|s| s.id == self.id) {
                s.demand = demand;
            }
            t.divide(Some(self.id));
            t.seated
                .iter()
                .find(|s| s.id == self.id)
                .map_or(0, |s| s.share)
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
    /// Divides the slots; every upload but `asking` whose share changed hears of it.
    fn divide(&mut self, asking: Option<u64>) {
        let demands: Vec<PutDemand> = self.seated.iter().map(|s| s.demand).collect();
        for (s, share) in self
            .seated
            .iter_mut()
            .zip(share_puts(BROWSER_PUTS_AT_ONCE, &demands))
        {
            if s.share != share {
                s.share = share;
                if Some(s.id) != asking {
                    (s.changed)();
                }
            }
        }
    }
}
