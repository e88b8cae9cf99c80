//! The contract holds: the TypeScript the npm package ships is what the Rust types generate,
//! every code an error of the core can carry is a code of the contract, and the wire forms are
//! the documented ones.

use cinelock_contract::events::{UploadEvent, UploadProgress, UploadRetryReason};
use cinelock_contract::{ApiErrorCode, ErrorCode, typescript};

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_npm_packages_typescript_is_generated_from_these_types() {
    let path = root().join(typescript::PATH);
    let generated = typescript::declarations();
    if std::env::var_os("CINELOCK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is not what the contract generates: run CINELOCK_BLESS=1 cargo test -p cinelock-contract",
        typescript::PATH
    );
}

#[test]
fn every_code_of_the_core_is_a_code_of_the_sdk_and_of_the_api_where_requests_cause_it() {
    for code in cinelock_core::Error::CODES {
        assert!(
            ErrorCode::parse(code).is_some(),
            "the SDK's ErrorCode lacks {code}"
        );
    }
    for code in cinelock_core::playback::ErrorCode::ALL {
        assert!(
            ErrorCode::parse(code.as_str()).is_some(),
            "the SDK's ErrorCode lacks {}",
            code.as_str()
        );
    }
    // What a request can make the core refuse on the server: plans and tokens.
    for code in [
        "invalid_plan",
        "chunk_size",
        "too_long",
        "part_size",
        "missing_part",
        "unexpected_part",
        "duplicate_part",
    ] {
        assert!(
            ApiErrorCode::parse(code).is_some(),
            "ApiErrorCode lacks {code}"
        );
    }
    for code in [
        "invalid_cidr",
        "invalid_origin",
        "invalid_country",
        "secret_too_short",
        "invalid_claims",
    ] {
        assert!(
            ApiErrorCode::parse(code).is_some(),
            "ApiErrorCode lacks {code}"
        );
    }
}

#[test]
fn codes_are_their_wire_strings_both_ways() {
    for c in ErrorCode::ALL {
        let json = serde_json::to_string(c).unwrap();
        assert_eq!(json, format!("\"{}\"", c.as_str()));
        assert_eq!(ErrorCode::parse(c.as_str()), Some(*c));
    }
    for c in ApiErrorCode::ALL {
        assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        assert_eq!(ApiErrorCode::parse(c.as_str()), Some(*c));
    }
    // Every server code the SDK can meet maps to one of its own.
    for c in ApiErrorCode::ALL {
        let _ = ErrorCode::from_api(*c);
    }
    assert_eq!(ErrorCode::from_api(ApiErrorCode::Denied), ErrorCode::Denied);
    assert_eq!(
        ErrorCode::from_api(ApiErrorCode::Database),
        ErrorCode::ServerError
    );
}

#[test]
fn upload_events_have_their_documented_shape() {
    let progress = UploadEvent::Progress(UploadProgress {
        sealed_bytes: 1,
        acked_bytes: 2,
        sent_bytes: 2,
        total_bytes: 3,
        rate: 4.5,
        eta_ms: None,
    });
    assert_eq!(
        serde_json::to_value(&progress).unwrap(),
        serde_json::json!({"type": "progress", "sealedBytes": 1, "ackedBytes": 2, "sentBytes": 2, "totalBytes": 3, "rate": 4.5, "etaMs": null})
    );
    let retry = UploadEvent::Retrying {
        number: Some(3),
        attempt: 2,
        delay_ms: 500,
        reason: UploadRetryReason::Status,
        status: Some(503),
    };
    assert_eq!(
        serde_json::to_value(&retry).unwrap(),
        serde_json::json!({"type": "retrying", "number": 3, "attempt": 2, "delayMs": 500, "reason": "status", "status": 503})
    );
    assert_eq!(
        serde_json::to_value(UploadEvent::PartDone {
            number: 1,
            etag: "\"e\"".into()
        })
        .unwrap(),
        serde_json::json!({"type": "partDone", "number": 1, "etag": "\"e\""})
    );
}

#[test]
fn a_sign_part_carries_one_checksum_of_the_uploads_algorithm() {
    use cinelock_contract::uploads::{CreatedUpload, SignPart};
    use cinelock_core::upload::{ChecksumAlgorithm, PartChecksum};
    let crc = ChecksumAlgorithm::Crc32c.checksum(b"123456789");
    let part = SignPart::new(3, crc, 9);
    assert_eq!(
        serde_json::to_value(&part).unwrap(),
        serde_json::json!({"number": 3, "crc32c": "4waSgw==", "size": 9})
    );
    assert_eq!(part.checksum(ChecksumAlgorithm::Crc32c), Ok(crc));
    // The upload's algorithm, and only it.
    let err = part.checksum(ChecksumAlgorithm::Sha256).unwrap_err();
    assert!(err.contains("carry sha256, and only sha256"), "{err}");
    let neither = SignPart {
        crc32c: None,
        ..part.clone()
    };
    let err = neither.checksum(ChecksumAlgorithm::Crc32c).unwrap_err();
    assert!(err.contains("crc32c is missing"), "{err}");
    let both = SignPart {
        sha256: Some("x".into()),
        ..part.clone()
    };
    assert!(
        both.checksum(ChecksumAlgorithm::Crc32c)
            .unwrap_err()
            .contains("only crc32c")
    );
    let short = SignPart {
        crc32c: Some("AAA=".into()),
        ..part.clone()
    };
    assert!(
        short
            .checksum(ChecksumAlgorithm::Crc32c)
            .unwrap_err()
            .contains("4 bytes")
    );
    let sha = PartChecksum::Sha256([5; 32]);
    assert_eq!(
        SignPart::new(1, sha, 9).checksum(ChecksumAlgorithm::Sha256),
        Ok(sha)
    );
    // An answer from a server before CRC32C names no algorithm, and meant SHA-256.
    let old = serde_json::json!({
        "upload_id": "u", "asset_id": "a", "token": "t", "token_expires_at": 0,
        "plan": {"plaintext_len": 1, "chunk_size": 1, "chunks_per_part": 1, "part_count": 1, "sealed_len": 1},
        "recipient": {"public_key": "", "key_id": ""}
    });
    let old: CreatedUpload = serde_json::from_value(old).unwrap();
    assert_eq!(
        ChecksumAlgorithm::from(old.part_checksum),
        ChecksumAlgorithm::Sha256
    );
}
