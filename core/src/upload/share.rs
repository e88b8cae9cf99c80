//! How uploads running side by side on one browser thread share what the browser gives them:
//! the PUTs it runs at once, and the parts the thread seals at once.
//!
//! A browser runs at most six requests at once to one host over HTTP/1.1 (which S3 speaks) and
//! queues the rest where nobody sees them: a PUT waiting there sends nothing, so its stall
//! timeout ([`UploadConfig::put_stall_ms`](super::UploadConfig::put_stall_ms)) would take it for
//! a silent connection, abort it and count a failed attempt. And a thread seals one part at a
//! time in the end (WebCrypto encrypts elsewhere, but reading, copying and the checksum are on
//! the thread): more seals at once only hold more 8 MiB buffers. So the driver asks each
//! [`Upload`](super::Upload) for its [`demands`](super::Upload::demands), divides the slots with
//! [`share`], and gives each its [`Shares`] ([`set_shares`](super::Upload::set_shares)).
//!
//! Others use the same six connections (one browser, one store): a player on the page, or in
//! another tab of its origin, fetching its segments; and the uploads of the page's other thread
//! (its upload worker, or the page's own) and of other tabs. A request queued behind six parts
//! waits until one of them is through: seconds on a real uplink, so a player stalls, and a PUT
//! queued unseen is taken for stalled. So the driver tells the table its [`Neighbours`], and the
//! thread's uploads keep to [`puts_at_once`].

/// PUTs a browser runs at once to one host over HTTP/1.1 (Chromium, Firefox and Safari alike):
/// the most a page's uploads and players have out together.
pub const BROWSER_PUTS_AT_ONCE: usize = 6;

/// PUT slots a thread's uploads leave free while the page has a player: one for each of its
/// slots (video and audio), so its next segments never queue behind parts.
pub const PUTS_LEFT_TO_PLAYERS: usize = 2;

/// What else uses the browser's connections to the store, beside one thread's uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Neighbours {
    /// Players on the page and in the other tabs of its origin.
    pub players: usize,
    /// Other threads with uploads running: the page's other one, and those of other tabs.
    pub uploaders: usize,
}

/// The PUTs a thread's uploads may have out together beside its `neighbours`: the browser's
/// six, less what players need, split evenly with the other threads that upload (at least one).
pub fn puts_at_once(neighbours: Neighbours) -> usize {
    let left = if neighbours.players == 0 {
        BROWSER_PUTS_AT_ONCE
    } else {
        BROWSER_PUTS_AT_ONCE - PUTS_LEFT_TO_PLAYERS
    };
    (left / (1 + neighbours.uploaders)).max(1)
}

/// Parts a thread's uploads seal at once, together: one sealing while the other's reads and
/// encryptions are out, as a single upload does ([`UploadConfig::max_sealing`](super::UploadConfig::max_sealing)).
pub const BROWSER_SEALS_AT_ONCE: usize = 2;

/// One upload's claim on one kind of slot: how many it uses now, and the most it could use now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Demand {
    pub in_use: usize,
    pub wanted: usize,
}

/// One upload's claims on PUT slots and on sealing slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Demands {
    pub puts: Demand,
    pub seals: Demand,
}

/// What one upload may use: PUTs out, and parts being sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shares {
    pub puts: usize,
    pub seals: usize,
}

/// Divides a browser thread's PUT and sealing slots among its uploads, listed in the order they
/// started (see [`share_slots`]), beside `neighbours` ([`puts_at_once`]).
///
/// The PUTs at once are a bound the browser holds to, so when more are out than it leaves now
/// (a player just came to the page, or another thread started uploading), some uploads get a PUT share below their PUTs out, which
/// they cancel ([`Upload::set_shares`](super::Upload::set_shares)): see [`cut_to`].
pub fn share(uploads: &[Demands], neighbours: Neighbours) -> Vec<Shares> {
    let total = puts_at_once(neighbours);
    let puts: Vec<Demand> = uploads.iter().map(|u| u.puts).collect();
    let seals: Vec<Demand> = uploads.iter().map(|u| u.seals).collect();
    let mut put_shares = share_slots(total, &puts);
    cut_to(total, &puts, &mut put_shares);
    put_shares
        .into_iter()
        .zip(share_slots(BROWSER_SEALS_AT_ONCE, &seals))
        .map(|(puts, seals)| Shares { puts, seals })
        .collect()
}

/// Divides `total` slots among uploads listed in the order they started. Every upload that
/// wants a slot gets one while they last, so none waits for all the others to finish; the
/// slots left go to the earliest uploads first, so files finish one after another. An upload
/// never gets fewer than it uses (work is not cut to rebalance), so the sum can exceed `total`
/// for as long as that work lasts.
pub fn share_slots(total: usize, uploads: &[Demand]) -> Vec<usize> {
    let mut shares: Vec<usize> = uploads.iter().map(|u| u.in_use.min(u.wanted)).collect();
    let mut left = total.saturating_sub(uploads.iter().map(|u| u.in_use).sum());
    // First one each, in order, to every upload that wants one and has none.
    for (share, u) in shares.iter_mut().zip(uploads) {
        if left == 0 {
            break;
        }
        if *share == 0 && u.wanted > 0 {
            *share = 1;
            left -= 1;
        }
    }
    // Then the rest, earliest upload first.
    for (share, u) in shares.iter_mut().zip(uploads) {
        let more = u.wanted.saturating_sub(*share).min(left);
        *share += more;
        left -= more;
    }
    shares
        .into_iter()
        .zip(uploads)
        .map(|(s, u)| s.max(u.in_use))
        .collect()
}

/// Where more slots are in use than `total`, lowers `shares` so that they add up to `total`,
/// cutting first from the uploads that use more than a division from scratch would give them
/// ([`share_slots`] with nothing in use), the latest started first, then from the latest
/// started. Nothing changes while the slots in use fit, which is always the case unless
/// `total` itself fell.
pub fn cut_to(total: usize, uploads: &[Demand], shares: &mut [usize]) {
    let mut excess = uploads
        .iter()
        .map(|u| u.in_use)
        .sum::<usize>()
        .saturating_sub(total);
    if excess == 0 {
        return;
    }
    let fresh: Vec<Demand> = uploads
        .iter()
        .map(|u| Demand {
            in_use: 0,
            wanted: u.wanted,
        })
        .collect();
    let fair = share_slots(total, &fresh);
    for i in (0..uploads.len()).rev() {
        let over = uploads[i].in_use.saturating_sub(fair[i]).min(excess);
        shares[i] = uploads[i].in_use - over;
        excess -= over;
    }
    for share in shares.iter_mut().rev() {
        let more = (*share).min(excess);
        *share -= more;
        excess -= more;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(in_use: usize, wanted: usize) -> Demand {
        Demand { in_use, wanted }
    }

    #[test]
    fn one_upload_gets_what_it_wants_up_to_the_total() {
        assert_eq!(share_slots(6, &[want(0, 4)]), [4]);
        assert_eq!(share_slots(6, &[want(0, 16)]), [6]);
        assert_eq!(share_slots(6, &[]), Vec::<usize>::new());
    }

    #[test]
    fn every_upload_gets_one_then_the_earliest_the_rest() {
        assert_eq!(share_slots(6, &[want(0, 4), want(0, 4)]), [4, 2]);
        assert_eq!(
            share_slots(6, &[want(0, 4), want(0, 4), want(0, 4)]),
            [4, 1, 1]
        );
        let seven = [want(0, 4); 7];
        assert_eq!(share_slots(6, &seven), [1, 1, 1, 1, 1, 1, 0]);
    }

    #[test]
    fn an_upload_that_wants_less_leaves_its_slots_to_the_others() {
        // Paused, or nearly done.
        assert_eq!(
            share_slots(6, &[want(0, 0), want(0, 4), want(0, 4)]),
            [0, 4, 2]
        );
        assert_eq!(
            share_slots(6, &[want(1, 1), want(0, 4), want(0, 4)]),
            [1, 4, 1]
        );
    }

    #[test]
    fn slots_in_use_are_never_taken_back_and_count_against_the_total() {
        // The later uploads took slots while the first wanted none.
        assert_eq!(
            share_slots(6, &[want(0, 4), want(3, 4), want(3, 4)]),
            [0, 3, 3]
        );
        // More in use than the total (a share just shrank): nothing new anywhere.
        assert_eq!(share_slots(6, &[want(4, 4), want(4, 4)]), [4, 4]);
        assert_eq!(share_slots(6, &[want(2, 4), want(2, 4)]), [4, 2]);
    }

    #[test]
    fn the_shares_never_exceed_the_total_beyond_what_is_in_use() {
        for n in 0..10 {
            for wanted in 0..8 {
                let uploads = vec![want(0, wanted); n];
                let total: usize = share_slots(6, &uploads).iter().sum();
                assert_eq!(total, (n * wanted).min(6));
            }
        }
    }

    #[test]
    fn a_cut_takes_what_is_over_a_fair_part_latest_first_then_from_the_latest() {
        // Each upload's share as `share_slots` left it: what it has in use.
        let cut = |total, uploads: &[Demand]| {
            let mut shares: Vec<usize> = uploads.iter().map(|u| u.in_use).collect();
            cut_to(total, uploads, &mut shares);
            shares
        };
        assert_eq!(cut(4, &[want(4, 4), want(2, 4)]), [3, 1]);
        // Only the excess: the later upload is over its fair part by 2, but 1 is enough.
        assert_eq!(cut(4, &[want(3, 4), want(2, 4)]), [3, 1]);
        // In use but wanting none (its last PUTs): its own are the ones over.
        assert_eq!(cut(4, &[want(2, 4), want(4, 0)]), [2, 2]);
        // Within the total, nothing moves.
        assert_eq!(cut(6, &[want(4, 4), want(2, 4)]), [4, 2]);
    }

    #[test]
    fn puts_and_seals_are_divided_apart() {
        let d = |puts, seals| Demands {
            puts: want(0, puts),
            seals: want(0, seals),
        };
        let shares = share(&[d(4, 2), d(4, 2), d(4, 2)], Neighbours::default());
        let puts: Vec<_> = shares.iter().map(|s| s.puts).collect();
        let seals: Vec<_> = shares.iter().map(|s| s.seals).collect();
        assert_eq!(puts, [4, 1, 1]);
        assert_eq!(seals, [1, 1, 0]);
    }

    #[test]
    fn a_player_on_the_page_keeps_two_puts_free_and_takes_no_running_put() {
        let d = |in_use, wanted| Demands {
            puts: want(in_use, wanted),
            seals: want(0, 1),
        };
        let puts = |uploads: &[Demands], players| -> Vec<usize> {
            let beside = Neighbours {
                players,
                uploaders: 0,
            };
            share(uploads, beside).iter().map(|s| s.puts).collect()
        };
        assert_eq!(puts(&[d(0, 4), d(0, 4)], 0), [4, 2]);
        assert_eq!(puts(&[d(0, 4), d(0, 4)], 1), [3, 1]);
        // However many players: they fetch through the same two slots' worth of connections.
        assert_eq!(puts(&[d(0, 4), d(0, 4)], 3), [3, 1]);
        // One upload alone at the SDK's default concurrency (4) is not slowed by a player.
        assert_eq!(puts(&[d(0, 4)], 1), [4]);
        // A player that comes while six PUTs are out takes two back at once (on a slow uplink a
        // PUT takes seconds), from the upload that has more than its fair part.
        assert_eq!(puts(&[d(4, 4), d(2, 4)], 1), [3, 1]);
        assert_eq!(puts(&[d(4, 4), d(1, 4), d(1, 4)], 1), [2, 1, 1]);
        assert_eq!(puts(&[d(3, 4), d(1, 4)], 1), [3, 1]);
        // Four out under a player: nothing is cut.
        assert_eq!(puts(&[d(2, 4), d(1, 4), d(1, 4)], 1), [2, 1, 1]);
        // The sealing slots are the thread's own, whatever plays.
        let beside = Neighbours {
            players: 1,
            uploaders: 0,
        };
        let seals: Vec<_> = share(&[d(0, 4), d(0, 4)], beside)
            .iter()
            .map(|s| s.seals)
            .collect();
        assert_eq!(seals, [1, 1]);
    }

    #[test]
    fn threads_that_upload_side_by_side_split_the_puts_and_never_go_below_one() {
        let at_once = |players, uploaders| puts_at_once(Neighbours { players, uploaders });
        assert_eq!(at_once(0, 0), 6);
        // The page's thread and its upload worker, both uploading: three each.
        assert_eq!(at_once(0, 1), 3);
        assert_eq!(at_once(0, 2), 2);
        // With a player besides: two each.
        assert_eq!(at_once(1, 1), 2);
        // However many: one each, never none.
        assert_eq!(at_once(1, 5), 1);
        assert_eq!(at_once(0, 9), 1);
    }
}
