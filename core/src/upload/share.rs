//! How uploads running side by side share the PUTs a browser runs at once.
//!
//! A browser runs at most six requests at once to one host over HTTP/1.1 (which S3 speaks) and
//! queues the rest where nobody sees them: a PUT waiting there sends nothing, so its stall
//! timeout ([`UploadConfig::put_stall_ms`](super::UploadConfig::put_stall_ms)) would take it for
//! a silent connection, abort it and count a failed attempt. So the uploads of one page never
//! have more PUTs out together than the browser runs: the driver asks each
//! [`Upload`](super::Upload) for its [`put_demand`](super::Upload::put_demand), divides the slots
//! with [`share_puts`], and caps each with [`set_put_share`](super::Upload::set_put_share).

/// PUTs a browser runs at once to one host over HTTP/1.1 (Chromium, Firefox and Safari alike):
/// the most a page's uploads have out together.
pub const BROWSER_PUTS_AT_ONCE: usize = 6;

/// One upload's side of the division: the PUTs it has out and the most it would have out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutDemand {
    pub in_flight: usize,
    pub wanted: usize,
}

/// Divides `total` PUT slots among uploads listed in the order they started. Every upload that
/// wants a PUT gets one while slots last, so none waits for all the others to finish; the
/// slots left go to the earliest uploads first, so files finish one after another rather than
/// all at the end. An upload never gets fewer than it has out (PUTs are not cut to rebalance),
/// so the sum can exceed `total` for as long as those PUTs last.
pub fn share_puts(total: usize, uploads: &[PutDemand]) -> Vec<usize> {
    let mut shares: Vec<usize> = uploads.iter().map(|u| u.in_flight.min(u.wanted)).collect();
    let mut left = total.saturating_sub(uploads.iter().map(|u| u.in_flight).sum());
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
        .map(|(s, u)| s.max(u.in_flight))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(in_flight: usize, wanted: usize) -> PutDemand {
        PutDemand { in_flight, wanted }
    }

    #[test]
    fn one_upload_gets_what_it_wants_up_to_the_total() {
        assert_eq!(share_puts(6, &[want(0, 4)]), [4]);
        assert_eq!(share_puts(6, &[want(0, 16)]), [6]);
        assert_eq!(share_puts(6, &[]), Vec::<usize>::new());
    }

    #[test]
    fn every_upload_gets_one_then_the_earliest_the_rest() {
        assert_eq!(share_puts(6, &[want(0, 4), want(0, 4)]), [4, 2]);
        assert_eq!(
            share_puts(6, &[want(0, 4), want(0, 4), want(0, 4)]),
            [4, 1, 1]
        );
        let seven = [want(0, 4); 7];
        assert_eq!(share_puts(6, &seven), [1, 1, 1, 1, 1, 1, 0]);
    }

    #[test]
    fn an_upload_that_wants_less_leaves_its_slots_to_the_others() {
        // Paused, or waiting for its parts to be sealed.
        assert_eq!(
            share_puts(6, &[want(0, 0), want(0, 4), want(0, 4)]),
            [0, 4, 2]
        );
        assert_eq!(
            share_puts(6, &[want(1, 1), want(0, 4), want(0, 4)]),
            [1, 4, 1]
        );
    }

    #[test]
    fn puts_already_out_are_never_cut_and_count_against_the_total() {
        // The later uploads took slots while the first wanted none.
        assert_eq!(
            share_puts(6, &[want(0, 4), want(3, 4), want(3, 4)]),
            [0, 3, 3]
        );
        // More out than the total (a share just shrank): no new PUT anywhere.
        assert_eq!(share_puts(6, &[want(4, 4), want(4, 4)]), [4, 4]);
        assert_eq!(share_puts(6, &[want(2, 4), want(2, 4)]), [4, 2]);
    }

    #[test]
    fn the_shares_never_exceed_the_total_beyond_what_is_out() {
        for n in 0..10 {
            for wanted in 0..8 {
                let uploads = vec![want(0, wanted); n];
                let total: usize = share_puts(6, &uploads).iter().sum();
                assert_eq!(total, (n * wanted).min(6));
            }
        }
    }
}
