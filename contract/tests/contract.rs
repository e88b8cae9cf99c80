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
