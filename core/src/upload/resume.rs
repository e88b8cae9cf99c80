//! Resuming an upload after a reload: which parts are done already.
//!
//! The page remembers the ETag of every part it finished; the store lists the parts it holds
//! (with ETags, on most stores). A part counts as done when the store holds it at exactly its
//! planned sealed size and an ETag for it is known, from the page's record or, failing that,
//! from the listing: the record's seed reseals byte-identical parts, so a part the page sent
//! but never heard back about is as good as one it recorded. Everything else is sent again.

use std::collections::BTreeMap;

use super::PartPlan;

/// A part as the store lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPart {
    /// 1-based part number.
    pub number: u32,
    /// Sealed bytes the store holds for it.
    pub size: u64,
    /// Its ETag, if the store's listing gives one.
    pub etag: Option<String>,
}

/// The `(part number, ETag)` of every part that needs no new PUT, in part order: listed by the
/// store at its planned size, with an ETag from `recorded` (the page's) or else the listing's.
pub fn done_parts(
    plan: &PartPlan,
    listed: &[ListedPart],
    recorded: &BTreeMap<u32, String>,
) -> Vec<(u32, String)> {
    let mut done: BTreeMap<u32, String> = BTreeMap::new();
    for p in listed {
        let Some(spec) = plan.part(p.number) else {
            continue;
        };
        if p.size != spec.sealed_len() {
            continue;
        }
        if let Some(etag) = recorded.get(&p.number).or(p.etag.as_ref()) {
            done.insert(p.number, etag.clone());
        }
    }
    done.into_iter().collect()
}

/// The `(part number, ETag)` of every part of `plan`, for an upload the server reports it has
/// completed already (the page went away between the completion and forgetting the upload):
/// nothing is sent again, and completing it again is answered with what was stored. The ETags
/// are the page's where it recorded them, and empty otherwise: the store's copy of a completed
/// upload lists no parts, and the server checks none for an upload it has completed.
pub fn completed_parts(plan: &PartPlan, recorded: &BTreeMap<u32, String>) -> Vec<(u32, String)> {
    (1..=plan.part_count())
        .map(|n| (n, recorded.get(&n).cloned().unwrap_or_default()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn listed(number: u32, size: u64, etag: Option<&str>) -> ListedPart {
        ListedPart {
            number,
            size,
            etag: etag.map(ToOwned::to_owned),
        }
    }

    #[test]
    fn parts_count_as_done_only_whole_and_with_a_known_etag() {
        let plan = PartPlan::new(12 * MIB + 5, 256 * 1024, 5 * MIB).unwrap();
        assert_eq!(plan.part_count(), 3);
        let size = |n| plan.part(n).unwrap().sealed_len();
        let recorded: BTreeMap<u32, String> = [(1, "\"r1\"".to_owned())].into();
        let got = done_parts(
            &plan,
            &[
                // Recorded by the page: its ETag wins over the listing's.
                listed(1, size(1), Some("\"s1\"")),
                // Sent but never heard back about: the listing's ETag.
                listed(2, size(2), Some("\"s2\"")),
                // Cut short in the store: sent again.
                listed(3, size(3) - 1, Some("\"s3\"")),
                // Not in the plan.
                listed(4, 10, Some("\"s4\"")),
            ],
            &recorded,
        );
        assert_eq!(
            got,
            vec![(1, "\"r1\"".to_owned()), (2, "\"s2\"".to_owned())]
        );
        // A store that lists no ETags: only what the page recorded.
        let got = done_parts(
            &plan,
            &[listed(1, size(1), None), listed(2, size(2), None)],
            &recorded,
        );
        assert_eq!(got, vec![(1, "\"r1\"".to_owned())]);
        // A recorded part the store no longer holds is sent again.
        assert!(done_parts(&plan, &[], &recorded).is_empty());
    }

    #[test]
    fn a_completed_upload_has_every_part_done() {
        let plan = PartPlan::new(12 * MIB + 5, 256 * 1024, 5 * MIB).unwrap();
        let recorded: BTreeMap<u32, String> = [(2, "\"r2\"".to_owned())].into();
        assert_eq!(
            completed_parts(&plan, &recorded),
            vec![
                (1, String::new()),
                (2, "\"r2\"".to_owned()),
                (3, String::new())
            ]
        );
    }
}
