//! The player's presigned URLs: which object paths have one fresh enough to fetch with, the
//! one request for more that may be out, and whether the next request must renew the session
//! instead. How long a URL is used follows [`crate::presigned`], as in the upload engine.

use std::collections::{HashMap, HashSet};

use super::action::{Action, SignedUrls, UrlRequestId};
use crate::presigned::{Lease, PresignedUrl, UrlLife};

/// Most paths one request for URLs asks for (the server's bound on `POST /v1/play/{id}/urls`).
pub const MAX_URL_BATCH: usize = 100;

/// The request for URLs that is out.
#[derive(Debug, Clone)]
pub(crate) struct Asked {
    pub(crate) id: UrlRequestId,
    /// The paths asked for (none for a renewal, whose answer lists what the server chooses).
    pub(crate) paths: HashSet<String>,
    /// When it times out.
    pub(crate) deadline: Option<u64>,
    /// It renews the session.
    pub(crate) renewal: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct UrlBook {
    urls: HashMap<String, (PresignedUrl, Lease)>,
    life: UrlLife,
    out: Option<Asked>,
    /// The server said the session ended: the next request renews it.
    renew: bool,
    next_id: u64,
    /// Paths asked for that an answer did not sign: never asked for again ahead of need (a
    /// fetch that needs one still asks, and fails if it is refused again).
    declined: HashSet<String>,
}

impl UrlBook {
    pub(crate) fn new(margin_ms: u64) -> Self {
        Self {
            urls: HashMap::new(),
            life: UrlLife::new(margin_ms),
            out: None,
            renew: false,
            next_id: 1,
            declined: HashSet::new(),
        }
    }

    /// The answer to `asked` came at `now`: what it did not sign is declined.
    pub(crate) fn note_declined(&mut self, asked: &Asked, now: u64) {
        for path in &asked.paths {
            if self.fresh(path, now).is_none() {
                self.declined.insert(path.clone());
            }
        }
    }

    /// Whether `path` may be asked for ahead of need at `now`: it has no fresh URL, and no
    /// answer declined it.
    pub(crate) fn worth_asking(&self, path: &str, now: u64) -> bool {
        self.fresh(path, now).is_none() && !self.declined.contains(path)
    }

    /// `path`'s URL and its lease, if a fetch may start with it at `now`.
    pub(crate) fn fresh(&self, path: &str, now: u64) -> Option<(PresignedUrl, Lease)> {
        self.urls
            .get(path)
            .filter(|(_, lease)| self.life.usable(lease, now))
            .cloned()
    }

    /// URLs the server signed, received at `now`. URLs no longer usable are dropped, so the
    /// book holds about what one session's answers listed.
    pub(crate) fn add(&mut self, now: u64, signed: SignedUrls) {
        let lease = self.life.lease(now, signed.lifetime_ms);
        for (path, url) in signed.urls {
            self.urls.insert(path, (url, lease));
        }
        let life = &self.life;
        self.urls.retain(|_, (_, lease)| life.usable(lease, now));
    }

    /// The store refused `path`'s URL of `lease` as expired at `now`: drop it (unless a newer
    /// one came meanwhile), and trust URLs for less than it lasted.
    pub(crate) fn refused(&mut self, path: &str, lease: &Lease, now: u64) {
        self.life.handle_refused(lease, now);
        if self
            .urls
            .get(path)
            .is_some_and(|(_, l)| l.received_at <= lease.received_at)
        {
            self.urls.remove(path);
        }
    }

    /// A request is out.
    pub(crate) fn busy(&self) -> bool {
        self.out.is_some()
    }

    /// Asks for `paths` (or renews the session, if it ended), timing out at `deadline`.
    pub(crate) fn ask(&mut self, paths: Vec<String>, deadline: Option<u64>) -> Action {
        let id = UrlRequestId(self.next_id);
        self.next_id += 1;
        let renew = std::mem::take(&mut self.renew);
        self.out = Some(Asked {
            id,
            paths: if renew {
                HashSet::new()
            } else {
                paths.iter().cloned().collect()
            },
            deadline,
            renewal: renew,
        });
        if renew {
            Action::RenewSession { id }
        } else {
            Action::RequestUrls { id, paths }
        }
    }

    /// The request out, if `id` names it; it is over.
    pub(crate) fn answered(&mut self, id: UrlRequestId) -> Option<Asked> {
        if self.out.as_ref().is_some_and(|a| a.id == id) {
            self.out.take()
        } else {
            None
        }
    }

    /// The next request renews the session.
    pub(crate) fn session_ended(&mut self) {
        self.renew = true;
    }

    /// When the request out times out.
    pub(crate) fn deadline(&self) -> Option<u64> {
        self.out.as_ref().and_then(|a| a.deadline)
    }

    /// The request out, if it timed out at `now`; it is over (a late answer's URLs are still
    /// kept).
    pub(crate) fn timed_out(&mut self, now: u64) -> Option<Asked> {
        if self.deadline().is_some_and(|d| d <= now) {
            self.out.take()
        } else {
            None
        }
    }
}
