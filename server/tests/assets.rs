//! The asset library on SQLite and PostgreSQL (Garage): the API key's assets listed newest
//! first a page at a time and filtered; titles, external ids and metadata set and cleared;
//! every deny and bad-input case.

mod support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::{Db, Store, call, code, create, env, on_each_database};

on_each_database!(the_library_lists_pages_filters_and_patches);

async fn get(env: &support::Env, key: &str, path: &str) -> (StatusCode, Value) {
    call(&env.state, "GET", path, Some(key), None).await
}

fn ids(v: &Value) -> Vec<String> {
    v["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["asset_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_library_lists_pages_filters_and_patches(db: Db) {
    let env = env(Store::Garage, db).await;
    let s = &env.state;
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(create(&env, 100).await.asset_id);
        // Distinct creation times, so "newest first" is one order.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    let (st, all) = get(&env, &env.key, "/v1/assets").await;
    assert_eq!(st, StatusCode::OK, "{all}");
    assert_eq!(ids(&all), newest_first);
    assert_eq!(all["next_cursor"], Value::Null);
    assert_eq!(all["assets"][0]["status"], "uploading");

    // Pages of two: the cursor carries on where the page ended.
    let (_, p1) = get(&env, &env.key, "/v1/assets?limit=2").await;
    assert_eq!(ids(&p1), newest_first[..2]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = get(
        &env,
        &env.key,
        &format!("/v1/assets?limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(ids(&p2), newest_first[2..]);
    assert_eq!(p2["next_cursor"], Value::Null);

    // Filters.
    let (_, none) = get(&env, &env.key, "/v1/assets?status=ready").await;
    assert!(ids(&none).is_empty());
    let first_at = all["assets"][2]["created_at"].as_i64().unwrap();
    let (_, later) = get(
        &env,
        &env.key,
        &format!("/v1/assets?created_after={}", first_at + 1),
    )
    .await;
    assert_eq!(ids(&later), newest_first[..2]);
    let (_, earlier) = get(
        &env,
        &env.key,
        &format!("/v1/assets?created_before={}", first_at + 1),
    )
    .await;
    assert_eq!(ids(&earlier), newest_first[2..]);

    // Patch: title, external id, metadata; then clear.
    let id = &made[0];
    let path = format!("/v1/assets/{id}");
    let (st, a) = call(
        s,
        "PATCH",
        &path,
        Some(&env.key),
        Some(json!({"title": "Launch video", "external_id": "cms-42", "metadata": {"team": "web", "lang": "de"}})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(
        (a["title"].as_str(), a["external_id"].as_str()),
        (Some("Launch video"), Some("cms-42"))
    );
    assert_eq!(a["metadata"], json!({"lang": "de", "team": "web"}));
    let (_, by_external) = get(&env, &env.key, "/v1/assets?external_id=cms-42").await;
    assert_eq!(ids(&by_external), std::slice::from_ref(id));
    assert_eq!(by_external["assets"][0]["title"], "Launch video");
    // Only what is given changes.
    let (_, a) = call(
        s,
        "PATCH",
        &path,
        Some(&env.key),
        Some(json!({"title": "Launch"})),
    )
    .await;
    assert_eq!(
        (a["title"].as_str(), a["external_id"].as_str()),
        (Some("Launch"), Some("cms-42"))
    );
    assert_eq!(a["metadata"]["team"], "web");
    let (_, a) = call(
        s,
        "PATCH",
        &path,
        Some(&env.key),
        Some(json!({"title": null, "metadata": {}})),
    )
    .await;
    assert_eq!((&a["title"], &a["metadata"]), (&Value::Null, &json!({})));
    assert_eq!(a["external_id"], "cms-42");

    // Deny and bad input.
    let (st, v) = call(s, "GET", "/v1/assets", None, None).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let reader = cinelock_server::auth::create_api_key(s.db(), "reader", "uploads:read")
        .await
        .unwrap();
    let (st, v) = call(
        s,
        "PATCH",
        &path,
        Some(&reader),
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let other =
        cinelock_server::auth::create_api_key(s.db(), "other", "uploads:write,uploads:read")
            .await
            .unwrap();
    let (st, v) = get(&env, &other, "/v1/assets").await;
    assert_eq!(
        (st, ids(&v)),
        (StatusCode::OK, vec![]),
        "another customer's library is empty"
    );
    let (st, v) = call(s, "PATCH", &path, Some(&other), Some(json!({"title": "x"}))).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "unknown_asset"));
    for query in [
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=%%%",
        "cursor=bm9wZQ",
        "colour=red",
    ] {
        let (st, v) = get(&env, &env.key, &format!("/v1/assets?{query}")).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_query"),
            "{query}: {v}"
        );
    }
    let too_many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
    for (body, expected) in [
        (json!({"colour": "red"}), "invalid_body"),
        (json!({"title": "x".repeat(513)}), "invalid_field"),
        (json!({"title": ""}), "invalid_field"),
        (json!({"title": "a\u{7}b"}), "invalid_field"),
        (json!({"metadata": too_many}), "invalid_field"),
        (json!({"metadata": {"k": 5}}), "invalid_body"),
    ] {
        let (st, v) = call(s, "PATCH", &path, Some(&env.key), Some(body.clone())).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::BAD_REQUEST, expected),
            "{body}: {v}"
        );
    }
    // An external id is one asset's.
    let (st, v) = call(
        s,
        "PATCH",
        &format!("/v1/assets/{}", made[1]),
        Some(&env.key),
        Some(json!({"external_id": "cms-42"})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "external_id_taken"));
    // Nothing was lost by the refusals.
    let (_, a) = get(&env, &env.key, &path).await;
    assert_eq!(a["external_id"], "cms-42");
    // A deleted asset leaves the library.
    let (st, _) = call(s, "DELETE", &path, Some(&env.key), None).await;
    assert_eq!(st, StatusCode::OK);
    let (_, all) = get(&env, &env.key, "/v1/assets").await;
    assert_eq!(ids(&all), newest_first[..2]);
}

#[tokio::test]
async fn put_replaces_a_policy_and_patch_merges_into_it() {
    let env = env(Store::Garage, Db::Sqlite).await;
    let s = &env.state;
    let id = create(&env, 100).await.asset_id;
    let path = format!("/v1/assets/{id}/policy");
    let send = |method: &'static str, body: Value| {
        let path = path.clone();
        let key = env.key.clone();
        async move { call(s, method, &path, Some(&key), Some(body)).await }
    };
    let (st, p) = send(
        "PUT",
        json!({"visibility": "public", "allowed_countries": ["DE"]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    // PATCH keeps what it does not name, the password included.
    let (st, p) = send("PATCH", json!({"password": "hunter2"})).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(
        (
            &p["visibility"],
            &p["allowed_countries"],
            &p["password_set"]
        ),
        (&json!("public"), &json!(["DE"]), &json!(true))
    );
    let (_, p) = send("PATCH", json!({"download_allowed": true})).await;
    assert_eq!(
        (
            &p["password_set"],
            &p["password_required"],
            &p["download_allowed"]
        ),
        (&json!(true), &json!(true), &json!(true))
    );
    let (_, p) = send("PATCH", json!({"password": null})).await;
    assert_eq!(
        (&p["password_set"], &p["visibility"], &p["download_allowed"]),
        (&json!(false), &json!("public"), &json!(true))
    );
    // PUT replaces: what it leaves out is back to the default.
    let (_, p) = send("PUT", json!({"visibility": "unlisted"})).await;
    assert_eq!(
        (&p["allowed_countries"], &p["download_allowed"]),
        (&json!([]), &json!(false))
    );
    // Bad input: clear errors that name only fields a client may send.
    let (st, v) = send("PATCH", json!({"colour": "red"})).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_policy"));
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`password`") && !message.contains("password_required"),
        "{message}"
    );
    let (st, v) = send("PATCH", json!(["public"])).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_policy"));
    let (st, v) = send("PATCH", json!({"password_required": true})).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_policy"));
    let (_, p) = call(s, "GET", &path, Some(&env.key), None).await;
    assert_eq!(p["visibility"], "unlisted", "refusals change nothing");
    let reader = cinelock_server::auth::create_api_key(s.db(), "reader", "uploads:read")
        .await
        .unwrap();
    let (st, _) = call(s, "PATCH", &path, Some(&reader), Some(json!({}))).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let other =
        cinelock_server::auth::create_api_key(s.db(), "other", "uploads:write,uploads:read")
            .await
            .unwrap();
    let (st, _) = call(s, "PATCH", &path, Some(&other), Some(json!({}))).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// The admin address's `/metrics`.
async fn scrape(state: &cinelock_server::AppState) -> String {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let res = cinelock_server::admin::admin_app(state.clone())
        .oneshot(
            axum::http::Request::get("/metrics")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn metrics_count_requests_uploads_and_key_releases_by_pattern_only() {
    let env = env(Store::Garage, Db::Sqlite).await;
    let s = &env.state;
    let c = create(&env, 100).await;
    let (st, _) = call(s, "GET", &format!("/v1/assets/{}", c.asset_id), None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = call(
        s,
        "DELETE",
        &format!("/v1/uploads/{}", c.id),
        Some(&c.token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    // A private asset without a token: a key release denied.
    let (st, _, _) = support::request_from(
        s,
        "POST",
        &format!("/v1/play/{}", c.asset_id),
        json!({"public_key": "11".repeat(32)}).to_string(),
        &[("content-type", "application/json")],
        "203.0.113.9",
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let text = scrape(s).await;
    for line in [
        r#"cinelock_http_requests_total{route="/v1/assets/{id}",method="GET",status="401"} 1"#,
        r#"cinelock_http_requests_total{route="/v1/uploads",method="POST",status="201"} 1"#,
        r#"cinelock_uploads_total{event="created"} 1"#,
        r#"cinelock_uploads_total{event="aborted"} 1"#,
        r#"cinelock_key_releases_total{outcome="denied",reason="token_required"} 1"#,
        r#"cinelock_transcode_jobs{state="queued"} 0"#,
        "cinelock_transcode_queue_depth 0",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(text.contains(r#"cinelock_http_request_duration_seconds_bucket{le="#));
    // Patterns only: no id, address or token in any label.
    for secret in [
        c.asset_id.as_str(),
        c.id.as_str(),
        "203.0.113.9",
        c.token.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret} in the metrics");
    }
    // Every answer names its request id.
    let res = support::request_from(s, "GET", "/healthz", "", &[], "127.0.0.1").await;
    assert!(res.2.get("x-request-id").is_some_and(|v| v.len() >= 32));
}
