//! Part plans: S3's limits hold for any object, parts tile the sealed object exactly on chunk
//! boundaries, a stored plan rebuilds exactly, and completion checks catch every bad list.

#![cfg(not(target_arch = "wasm32"))]

use cinelock_core::upload::{
    DEFAULT_PART_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, PartLimits, PartPlan,
};
use cinelock_core::{
    Error, HEADER_LEN, Layout, MAX_CHUNK_SIZE, MAX_STREAM_PLAINTEXT, MIN_CHUNK_SIZE,
};
use proptest::prelude::*;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;
const TIB: u64 = 1024 * GIB;

/// Checks every invariant of `plan` against the limits it was built under.
fn check_plan(plan: &PartPlan, limits: PartLimits) -> Result<(), TestCaseError> {
    let layout = Layout::new(plan.chunk_size()).unwrap();
    let n = plan.part_count();
    prop_assert!(n >= 1 && n <= limits.max_parts);
    prop_assert_eq!(
        plan.sealed_len(),
        layout.sealed_len(plan.plaintext_len()).unwrap()
    );
    prop_assert!(plan.part(0).is_none());
    prop_assert!(plan.part(n + 1).is_none());
    let (mut sealed_at, mut chunk_at, mut plain_at) = (0u64, 0u64, 0u64);
    for k in 1..=n {
        let p = plan.part(k).unwrap();
        prop_assert_eq!(p.number, k);
        prop_assert_eq!(p.includes_header, k == 1);
        prop_assert_eq!(p.last, k == n);
        // Contiguous in all three coordinates.
        prop_assert_eq!(p.sealed.start, sealed_at);
        prop_assert_eq!(p.chunks.start, chunk_at);
        prop_assert_eq!(p.plaintext.start, plain_at);
        prop_assert!(!p.chunks.is_empty());
        // Chunk aligned: a part (after the header) starts where its first chunk starts.
        if k > 1 {
            prop_assert_eq!(p.sealed.start, layout.chunk_offset(p.chunks.start));
        }
        prop_assert_eq!(p.plaintext.start, layout.plaintext_offset(p.chunks.start));
        let size = p.sealed_len();
        prop_assert!(size <= limits.max_part_size, "part {} is {}", k, size);
        if !p.last {
            prop_assert!(size >= limits.min_part_size, "part {} is {}", k, size);
            prop_assert_eq!(p.chunks.end - p.chunks.start, plan.chunks_per_part());
        }
        // Sealed size is the plaintext plus a header (part 1) and a tag per chunk.
        let overhead = 16 * (p.chunks.end - p.chunks.start)
            + if p.includes_header {
                HEADER_LEN as u64
            } else {
                0
            };
        prop_assert_eq!(size, p.plaintext.end - p.plaintext.start + overhead);
        sealed_at = p.sealed.end;
        chunk_at = p.chunks.end;
        plain_at = p.plaintext.end;
    }
    prop_assert_eq!(sealed_at, plan.sealed_len());
    prop_assert_eq!(chunk_at, layout.chunk_count(plan.plaintext_len()).unwrap());
    prop_assert_eq!(plain_at, plan.plaintext_len());
    // The three stored numbers rebuild the same plan.
    let rebuilt = PartPlan::from_parts_with_limits(
        plan.plaintext_len(),
        plan.chunk_size(),
        plan.chunks_per_part(),
        limits,
    )
    .unwrap();
    prop_assert_eq!(&rebuilt, plan);
    Ok(())
}

fn planned_sizes(plan: &PartPlan) -> Vec<(u32, u64)> {
    (1..=plan.part_count())
        .map(|k| (k, plan.part(k).unwrap().sealed_len()))
        .collect()
}

fn plaintext_len() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..200_000, 0u64..4 * GIB, 0u64..16 * TIB]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn s3_plans_respect_every_limit(
        len in plaintext_len(),
        chunk in MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE,
        target in 0u64..2 * GIB,
    ) {
        match PartPlan::new(len, chunk, target) {
            Ok(plan) => {
                check_plan(&plan, PartLimits::S3)?;
                // Parts are no bigger than needed: one chunk fewer would be under the target
                // (unless the part count forced them bigger).
                let cpp = plan.chunks_per_part();
                let sealed_chunk = u64::from(chunk) + 16;
                let chunk_count = Layout::new(chunk).unwrap().chunk_count(len).unwrap();
                if cpp > 1 && chunk_count.div_ceil(cpp - 1) <= u64::from(MAX_PARTS) {
                    prop_assert!((cpp - 1) * sealed_chunk < target.max(MIN_PART_SIZE));
                }
            }
            // Within 16 TiB the only way to fail is the stream limit (4 TiB, or 2^32 chunks).
            Err(e) => prop_assert_eq!(e, Error::TooLong),
        }
    }

    #[test]
    fn small_limit_plans_respect_every_limit(
        len in 0u64..100_000,
        chunk in MIN_CHUNK_SIZE..600,
        min_part in 0u64..20_000,
        target in 0u64..40_000,
        max_parts in 1u32..50,
    ) {
        let limits = PartLimits { min_part_size: min_part, max_part_size: MAX_PART_SIZE, max_parts };
        // Parts here stay far below the maximum, so a plan always exists.
        let plan = PartPlan::with_limits(len, chunk, target, limits).unwrap();
        check_plan(&plan, limits)?;
    }

    #[test]
    fn completion_accepts_exactly_the_plan(
        len in 0u64..50_000,
        chunk in MIN_CHUNK_SIZE..300,
        which in any::<prop::sample::Index>(),
        shuffle in any::<u64>(),
    ) {
        let limits = PartLimits { min_part_size: 1_000, ..PartLimits::S3 };
        let plan = PartPlan::with_limits(len, chunk, 1_000, limits).unwrap();
        let mut parts = planned_sizes(&plan);
        // Any order is fine.
        let r = (shuffle as usize) % parts.len();
        parts.rotate_left(r);
        prop_assert_eq!(plan.verify_completion(&parts), Ok(()));

        let i = which.index(parts.len());
        let (number, size) = parts[i];
        let mut missing = parts.clone();
        missing.remove(i);
        prop_assert_eq!(plan.verify_completion(&missing), Err(Error::MissingPart(number)));

        for found in [size - 1, size + 1] {
            let mut wrong = parts.clone();
            wrong[i].1 = found;
            prop_assert_eq!(
                plan.verify_completion(&wrong),
                Err(Error::PartSize { part: number, expected: size, found })
            );
        }

        let mut extra = parts.clone();
        extra.push((plan.part_count() + 1, 5));
        prop_assert_eq!(
            plan.verify_completion(&extra),
            Err(Error::UnexpectedPart(plan.part_count() + 1))
        );

        let mut twice = parts.clone();
        twice.push((number, size));
        prop_assert_eq!(plan.verify_completion(&twice), Err(Error::DuplicatePart(number)));
    }
}

#[test]
fn one_tib_fits_in_ten_thousand_parts() {
    for chunk in [64 * 1024, 256 * 1024, 1024 * 1024] {
        let plan = PartPlan::new(TIB, chunk, DEFAULT_PART_SIZE).unwrap();
        assert!(plan.part_count() <= MAX_PARTS);
        // The target alone would need ~131,000 parts: the count limit grew them.
        assert!(plan.part(1).unwrap().sealed_len() > TIB / u64::from(MAX_PARTS));
        check_plan(&plan, PartLimits::S3).unwrap();
    }
}

#[test]
fn part_size_limit_of_5_gib() {
    // A target past 5 GiB cannot be met.
    assert!(matches!(
        PartPlan::new(20 * GIB, 16 * 1024 * 1024, 6 * GIB),
        Err(Error::InvalidPlan(_))
    ));
    // One data key seals at most MAX_STREAM_PLAINTEXT (4 TiB): the largest plan, in 10 000
    // parts at most, and nothing beyond it.
    let big = PartPlan::new(MAX_STREAM_PLAINTEXT, MAX_CHUNK_SIZE, DEFAULT_PART_SIZE).unwrap();
    assert!(big.part_count() <= MAX_PARTS);
    assert!(big.part(1).unwrap().sealed_len() <= MAX_PART_SIZE);
    assert!(matches!(
        PartPlan::new(MAX_STREAM_PLAINTEXT + 1, MAX_CHUNK_SIZE, DEFAULT_PART_SIZE),
        Err(Error::TooLong)
    ));
    assert!(matches!(
        PartPlan::new(48 * TIB, MAX_CHUNK_SIZE, DEFAULT_PART_SIZE),
        Err(Error::TooLong)
    ));
    // And a stored plan with parts over 5 GiB is refused.
    let cpp_over = MAX_PART_SIZE / (u64::from(MAX_CHUNK_SIZE) + 16) + 1;
    assert!(matches!(
        PartPlan::from_parts(20 * GIB, MAX_CHUNK_SIZE, cpp_over),
        Err(Error::InvalidPlan(_))
    ));
    assert!(PartPlan::from_parts(20 * GIB, MAX_CHUNK_SIZE, cpp_over - 1).is_ok());
}

#[test]
fn from_parts_refuses_plans_s3_would_refuse() {
    let chunk = 256 * 1024;
    // 19 chunks of 256 KiB + tags are just under 5 MiB: fine only if that part is the last.
    assert!(matches!(
        PartPlan::from_parts(100 * MIB, chunk, 19),
        Err(Error::InvalidPlan(_))
    ));
    assert!(PartPlan::from_parts(100 * MIB, chunk, 20).is_ok());
    assert!(PartPlan::from_parts(19 * 256 * 1024, chunk, 19).is_ok());
    // Two parts: the first (header included) is still under 5 MiB.
    assert!(matches!(
        PartPlan::from_parts(30 * 256 * 1024, chunk, 19),
        Err(Error::InvalidPlan(_))
    ));
    assert!(matches!(
        PartPlan::from_parts(100 * MIB, chunk, 0),
        Err(Error::InvalidPlan(_))
    ));
    // 10,001 parts.
    let limits = PartLimits {
        min_part_size: 0,
        ..PartLimits::S3
    };
    assert!(matches!(
        PartPlan::from_parts_with_limits(10_001 * 64, 64, 1, limits),
        Err(Error::InvalidPlan(_))
    ));
    assert!(PartPlan::from_parts_with_limits(10_000 * 64, 64, 1, limits).is_ok());
    assert!(matches!(
        PartPlan::from_parts(100, 32, 1),
        Err(Error::ChunkSize(32))
    ));
}

#[test]
fn twelve_mib_with_real_limits() {
    let chunk = 256 * 1024;
    let plan = PartPlan::new(12 * MIB, chunk, MIN_PART_SIZE).unwrap();
    let sealed_chunk = u64::from(chunk) + 16;
    assert_eq!(plan.chunks_per_part(), 20);
    assert_eq!(
        planned_sizes(&plan),
        vec![
            (1, HEADER_LEN as u64 + 20 * sealed_chunk),
            (2, 20 * sealed_chunk),
            (3, 8 * sealed_chunk),
        ]
    );
    // The default target gives 8 MiB parts.
    let plan = PartPlan::new(12 * MIB, chunk, DEFAULT_PART_SIZE).unwrap();
    assert_eq!(plan.part_count(), 2);
    assert_eq!(plan.chunks_per_part(), 32);
}

#[test]
fn empty_and_tiny_objects_are_one_part() {
    for len in [0u64, 1, 1000] {
        let plan = PartPlan::new(len, 64, DEFAULT_PART_SIZE).unwrap();
        assert_eq!(plan.part_count(), 1);
        let p = plan.part(1).unwrap();
        assert!(p.includes_header && p.last);
        assert_eq!(p.sealed, 0..plan.sealed_len());
    }
    assert_eq!(PartPlan::new(0, 64, 0).unwrap().sealed_len(), 107 + 16);
}

#[test]
fn error_codes_are_stable() {
    let cases = [
        (Error::InvalidPlan("x"), "invalid_plan"),
        (Error::MissingPart(1), "missing_part"),
        (Error::UnexpectedPart(1), "unexpected_part"),
        (Error::DuplicatePart(1), "duplicate_part"),
        (
            Error::PartSize {
                part: 1,
                expected: 2,
                found: 3,
            },
            "part_size",
        ),
        (
            Error::UploadRejected {
                part: 1,
                status: 403,
            },
            "upload_rejected",
        ),
        (Error::NoSuchUpload, "no_such_upload"),
        (
            Error::RetriesExhausted {
                part: 1,
                attempts: 8,
            },
            "retries_exhausted",
        ),
        (Error::SigningFailed, "signing_failed"),
        (Error::CompleteFailed { status: None }, "complete_failed"),
    ];
    for (e, code) in cases {
        assert_eq!(e.code(), code);
    }
}
