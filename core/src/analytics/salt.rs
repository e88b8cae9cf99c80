//! The daily salts of viewer pseudonyms ([`super::mask::day_pseudonym`]). Each UTC day gets 32
//! fresh random bytes (the caller draws them), used for that day's pseudonyms and destroyed at
//! the end of the next day: a salt lives at most 48 hours, and once it is gone nobody, the
//! operator included, can recompute a pseudonym of its day. (A salt derived from the date and a
//! secret could always be derived again.)

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// The UTC day (days since 1970-01-01) of a time in Unix milliseconds.
pub fn day_of(unix_ms: i64) -> i64 {
    unix_ms.div_euclid(DAY_MS)
}

/// One day's salt.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DailySalt {
    #[zeroize(skip)]
    pub day: i64,
    pub bytes: [u8; 32],
}

impl core::fmt::Debug for DailySalt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "DailySalt(day {})", self.day)
    }
}

/// Whether the salt of `day` may still exist at `now_ms`: during its day and the next.
pub fn salt_alive(day: i64, now_ms: i64) -> bool {
    day >= day_of(now_ms) - 1 && day <= day_of(now_ms)
}

/// The salts a process holds: at most today's and yesterday's.
#[derive(Debug, Default)]
pub struct SaltBook {
    salts: Vec<DailySalt>,
}

impl SaltBook {
    /// The salt for the day of `now_ms`, if held; the expired ones are destroyed first.
    pub fn current(&mut self, now_ms: i64) -> Option<&DailySalt> {
        self.purge(now_ms);
        let day = day_of(now_ms);
        self.salts.iter().find(|s| s.day == day)
    }

    /// Holds `salt` (today's, made or read by the caller), unless its day is over.
    pub fn insert(&mut self, salt: DailySalt, now_ms: i64) {
        self.purge(now_ms);
        if salt_alive(salt.day, now_ms) && !self.salts.iter().any(|s| s.day == salt.day) {
            self.salts.push(salt);
        }
    }

    /// Destroys (zeroes) the salts past their 48 hours.
    pub fn purge(&mut self, now_ms: i64) {
        self.salts.retain(|s| salt_alive(s.day, now_ms));
    }

    /// The days held.
    pub fn days(&self) -> Vec<i64> {
        self.salts.iter().map(|s| s.day).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_salt_lives_its_day_and_the_next() {
        let d = 20_000;
        let t = d * DAY_MS;
        assert!(salt_alive(d, t));
        assert!(salt_alive(d, t + 2 * DAY_MS - 1));
        assert!(!salt_alive(d, t + 2 * DAY_MS));
        assert!(!salt_alive(d + 1, t), "no salt for a day to come");
        assert_eq!(day_of(-1), -1);
    }

    #[test]
    fn the_book_holds_today_and_yesterday_only() {
        let mut book = SaltBook::default();
        let t = 20_000 * DAY_MS + 5;
        book.insert(
            DailySalt {
                day: 20_000,
                bytes: [1; 32],
            },
            t,
        );
        assert_eq!(book.current(t).map(|s| s.bytes), Some([1; 32]));
        // The next day: yesterday's is kept (not current), today's is missing until made.
        let t2 = t + DAY_MS;
        assert!(book.current(t2).is_none());
        assert_eq!(book.days(), [20_000]);
        book.insert(
            DailySalt {
                day: 20_001,
                bytes: [2; 32],
            },
            t2,
        );
        // A second salt for a day is refused: pseudonyms of a day stay comparable.
        book.insert(
            DailySalt {
                day: 20_001,
                bytes: [3; 32],
            },
            t2,
        );
        assert_eq!(book.current(t2).map(|s| s.bytes), Some([2; 32]));
        // Two days on, the first is gone.
        book.purge(t + 2 * DAY_MS);
        assert_eq!(book.days(), [20_001]);
        // An old salt is never taken.
        book.insert(
            DailySalt {
                day: 19_000,
                bytes: [4; 32],
            },
            t2,
        );
        assert_eq!(book.days(), [20_001]);
    }
}
