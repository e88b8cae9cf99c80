//! What the core's test crates share: the simulations' dice and the vector files' hex fields.
// Each test crate uses part of it.
#![allow(dead_code)]

use std::ops::Range;

use serde_json::Value;

/// The hex field `field` of a vector, decoded.
pub fn hexf(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(
        v[field]
            .as_str()
            .unwrap_or_else(|| panic!("missing {field}")),
    )
    .expect("hex")
}

/// splitmix64, for the simulation's own dice.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
    pub fn range(&mut self, r: Range<u64>) -> u64 {
        r.start + self.next() % (r.end - r.start).max(1)
    }
}
