//! The security review's findings, each as the attack it describes, against the real server
//! (Garage, SQLite, ffmpeg): a replayed source, forged client addresses, password guessing,
//! framing the embed page, the development key, one customer's viewer-token secret used on
//! another's asset, sessions outliving their token or policy, hostile transcode inputs, and
//! what job errors tell uploaders.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cinelock_core::policy::{Claims, token};
use cinelock_core::{RecipientSecretKey, SEED_LEN, SealSeed, seal};
use cinelock_server::{AppState, app, auth};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use support::process::{api_url, server, start};
use support::*;
use tower::ServiceExt;

/// A `POST /v1/play/{id}` from `peer` with extra headers (repeated names are separate lines).
async fn play_from(
    state: &AppState,
    id: &str,
    body: Value,
    headers: &[(&str, &str)],
    peer: &str,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    request_from(
        state,
        "POST",
        &format!("/v1/play/{id}"),
        body.to_string(),
        &all,
        peer,
    )
    .await
}

/// A player's request body with `extra` fields.
fn body(extra: Value) -> Value {
    let player = RecipientSecretKey::from_seed(&[3; 32]);
    let mut b = json!({ "public_key": hex::encode(player.public_key().to_bytes()) });
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

/// The reason of a denial, or `"admitted"` when the policy let the request through (an asset
/// with no package yet then answers 409 `not_ready`, one with a package 200).
fn outcome(got: &(StatusCode, Value, axum::http::HeaderMap)) -> String {
    match got.0 {
        StatusCode::OK => "admitted".into(),
        StatusCode::CONFLICT if got.1["error"]["code"] == "not_ready" => "admitted".into(),
        _ => got.1["error"]["reason"]
            .as_str()
            .or(got.1["error"]["code"].as_str())
            .unwrap_or("?")
            .to_owned(),
    }
}

async fn admin(env: &Env, key: &str, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(&env.state, method, path, Some(key), Some(body)).await
}

async fn set_policy(env: &Env, id: &str, policy: Value) {
    let (st, v) = admin(
        env,
        &env.key,
        "PUT",
        &format!("/v1/assets/{id}/policy"),
        policy,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// An asset with an upload created but nothing uploaded: enough for every policy decision.
async fn bare_asset(env: &Env) -> String {
    let c = create(env, 1000).await;
    asset_id(env, &c).await
}

#[tokio::test]
async fn a_source_copied_into_another_asset_is_refused_and_nothing_is_released_for_it() {
    let (env, keys, _, _) = transcode_env(Db::Sqlite, 30).await;
    let source = clip(keys.path(), "a.mp4", 320, 240, 2.0, false);
    let a = upload_clip(&env, source.clone()).await;
    let a_id = asset_id(&env, &a).await;
    drain(&env).await;
    assert_eq!(asset(&env, &a_id).await["status"], "ready");

    // Someone who can read the bucket copies A's sealed source, and another customer uploads
    // those bytes as an asset of its own.
    let stolen = object(&env, &format!("assets/{a_id}/source.cnlk"))
        .await
        .unwrap();
    let other_key = auth::create_api_key(env.state.db(), "attacker", "uploads:write,uploads:read")
        .await
        .unwrap();
    let mut b = create_as(&env, &other_key, vec![0; source.len()]).await;
    assert_eq!(b.sealed.len(), stolen.len());
    b.sealed = stolen;
    upload_and_complete(&env, &b).await;
    drain(&env).await;

    let (st, view) = admin(
        &env,
        &other_key,
        "GET",
        &format!("/v1/assets/{}", b.asset_id),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "failed", "{view}");
    let preview = job(&view, "preview");
    assert_eq!(preview["status"], "failed", "{view}");
    assert_eq!(preview["error"]["code"], "source_replayed", "{view}");
    // Nothing was made or stored for B: no package, no content key, no source key.
    let (packages,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM packages WHERE asset_id = $1")
        .bind(&b.asset_id)
        .fetch_one(env.state.db())
        .await
        .unwrap();
    let (keys_stored,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM asset_keys WHERE asset_id = $1")
            .bind(&b.asset_id)
            .fetch_one(env.state.db())
            .await
            .unwrap();
    assert_eq!((packages, keys_stored), (0, 0));
    assert!(
        all_keys(&env, &format!("assets/{}/packages/", b.asset_id))
            .await
            .is_empty()
    );
    // A is untouched, and still plays.
    assert_eq!(asset(&env, &a_id).await["status"], "ready");
}

#[tokio::test]
async fn a_source_sealed_for_another_asset_does_not_open() {
    // The format's own binding, without the header record: B's bytes are a valid stream,
    // sealed to the workers' key, but for A's asset id. B is transcoded first.
    let (env, keys, _, _) = transcode_env(Db::Sqlite, 30).await;
    let source = clip(keys.path(), "b.mp4", 320, 240, 2.0, false);
    let b = create_with(&env, source.clone()).await;
    let mut forged = b.clone();
    forged.sealed = seal(
        env.worker.public_key(),
        b.plan.chunk_size(),
        &SealSeed::from_bytes(&[9; SEED_LEN]),
        b"some-other-asset",
        &source,
    )
    .unwrap();
    upload_and_complete(&env, &forged).await;
    drain(&env).await;
    let view = asset(&env, &b.asset_id).await;
    let preview = job(&view, "preview");
    assert_eq!(preview["error"]["code"], "source_tampered", "{view}");
    assert!(
        preview["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not open for this asset"),
        "{view}"
    );
}

/// Headers, the socket peer, and the outcome.
type ForwardCase<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

#[tokio::test]
async fn client_addresses_come_only_from_trusted_proxies() {
    let env = env_with(
        Store::Garage,
        Db::Sqlite,
        &["--trusted-proxies", "127.0.0.1,10.0.0.0/8"],
    )
    .await;
    let id = bare_asset(&env).await;
    set_policy(
        &env,
        &id,
        json!({"visibility": "unlisted", "allowed_ips": ["203.0.113.0/24"]}),
    )
    .await;
    let xff = "x-forwarded-for";
    let cases: &[ForwardCase] = &[
        // The client writes an allowed address in a header line of its own; the proxy adds
        // the line with the address it saw. That one counts.
        (
            &[(xff, "203.0.113.5"), (xff, "198.51.100.7")],
            "127.0.0.1",
            "ip_not_allowed",
        ),
        (
            &[(xff, "203.0.113.5, 198.51.100.7")],
            "127.0.0.1",
            "ip_not_allowed",
        ),
        (&[(xff, "203.0.113.5")], "127.0.0.1", "admitted"),
        // Through two trusted proxies.
        (
            &[(xff, "198.51.100.7, 203.0.113.5, 10.1.2.3")],
            "127.0.0.1",
            "admitted",
        ),
        // A peer that is not a trusted proxy is the client, whatever it claims.
        (&[(xff, "203.0.113.5")], "198.51.100.9", "ip_not_allowed"),
        (&[], "203.0.113.77", "admitted"),
    ];
    for (headers, peer, want) in cases {
        let got = play_from(&env.state, &id, body(json!({})), headers, peer).await;
        assert_eq!(outcome(&got), *want, "{headers:?} from {peer}: {}", got.1);
    }
    // Without the setting, the header is never read.
    let plain = env_with(Store::Garage, Db::Sqlite, &[]).await;
    let id = bare_asset(&plain).await;
    set_policy(
        &plain,
        &id,
        json!({"visibility": "unlisted", "allowed_ips": ["203.0.113.0/24"]}),
    )
    .await;
    let got = play_from(
        &plain.state,
        &id,
        body(json!({})),
        &[(xff, "203.0.113.5")],
        "127.0.0.1",
    )
    .await;
    assert_eq!(outcome(&got), "ip_not_allowed");
    // A header name without trusted proxies is a configuration error, not a silent trust.
    let dir = tempfile::tempdir().unwrap();
    let err = config(
        dir.path(),
        &sqlite_url(dir.path()),
        None,
        &[0x11; 32],
        &["--client-ip-header", "x-real-ip"],
    )
    .validate()
    .unwrap_err()
    .to_string();
    assert!(err.contains("CINELOCK_TRUSTED_PROXIES"), "{err}");
}

#[tokio::test]
async fn password_guesses_are_bounded_per_ipv6_64_per_asset_across_restarts_and_in_hashing() {
    let env = env_with(Store::Garage, Db::Sqlite, &["--password-hashes", "1"]).await;
    let id = bare_asset(&env).await;
    set_policy(
        &env,
        &id,
        json!({"visibility": "unlisted", "password": "correct horse"}),
    )
    .await;
    let guess = |state: AppState, peer: &'static str, pw: &'static str| {
        let id = id.clone();
        async move { play_from(&state, &id, body(json!({"password": pw})), &[], peer).await }
    };
    // Five quick guesses per client; the addresses of one IPv6 /64 are one client.
    for i in 0..5 {
        let peer = [
            "2001:db8:1:1::1",
            "2001:db8:1:1::2",
            "2001:db8:1:1:ffff::9",
            "2001:db8:1:1::4",
            "2001:db8:1:1::5",
        ][i];
        assert_eq!(
            outcome(&guess(env.state.clone(), peer, "nope").await),
            "password_wrong"
        );
    }
    let limited = guess(env.state.clone(), "2001:db8:1:1::6", "correct horse").await;
    assert_eq!(limited.0, StatusCode::TOO_MANY_REQUESTS, "{}", limited.1);
    assert_eq!(outcome(&limited), "rate_limited");
    assert!(
        limited.2["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Another /64 has its own budget.
    assert_eq!(
        outcome(&guess(env.state.clone(), "2001:db8:1:2::1", "correct horse").await),
        "admitted"
    );

    // A restart (a new process on the same database) keeps the count.
    let restarted = AppState::new(env.state.settings().clone()).await.unwrap();
    assert_eq!(
        outcome(&guess(restarted.clone(), "2001:db8:1:1::7", "correct horse").await),
        "rate_limited"
    );

    // Across many addresses, the asset's own budget (20 at once) runs out too.
    let peers: Vec<&'static str> = (0..30)
        .map(|i| &*Box::leak(format!("198.51.100.{}", i + 1).into_boxed_str()))
        .collect();
    let mut refused_at = None;
    for (i, peer) in peers.iter().enumerate() {
        let got = guess(restarted.clone(), peer, "nope").await;
        if outcome(&got) == "rate_limited" {
            refused_at = Some(i);
            break;
        }
        assert_eq!(outcome(&got), "password_wrong");
    }
    // 6 guesses were spent on the asset above, so 14 of its 20 remained.
    assert_eq!(refused_at, Some(14));

    // Every hashing slot taken: a guess is shed at once (429, busy), before spending anything.
    let fresh = bare_asset(&env).await;
    set_policy(
        &env,
        &fresh,
        json!({"visibility": "unlisted", "password": "pw"}),
    )
    .await;
    let slot = env.state.password_hashers().hold_all(1).await;
    let busy = play_from(
        &env.state,
        &fresh,
        body(json!({"password": "pw"})),
        &[],
        "192.0.2.1",
    )
    .await;
    assert_eq!(
        (busy.0, busy.1["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("busy")),
        "{}",
        busy.1
    );
    assert_eq!(busy.2["retry-after"], "1");
    drop(slot);
    let got = play_from(
        &env.state,
        &fresh,
        body(json!({"password": "pw"})),
        &[],
        "192.0.2.1",
    )
    .await;
    assert_eq!(outcome(&got), "admitted");
}

/// GETs `path` through the router; status and headers.
async fn get(state: &AppState, path: &str) -> (StatusCode, axum::http::HeaderMap) {
    let req = Request::builder().uri(path).body(Body::empty()).unwrap();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    (res.status(), res.headers().clone())
}

#[tokio::test]
async fn the_embed_page_is_framed_only_where_the_asset_may_play_and_every_page_has_a_strict_csp() {
    let env = env(Store::Garage, Db::Sqlite).await;
    std::fs::write(
        env.state.settings().demo_dir.join("embed.html"),
        "<!doctype html><title>embed</title>",
    )
    .unwrap();
    let id = bare_asset(&env).await;
    let csp = |h: &axum::http::HeaderMap| h["content-security-policy"].to_str().unwrap().to_owned();
    set_policy(&env, &id, json!({"visibility": "unlisted", "allowed_origins": ["*.example.com", "https://app.test:8443"]})).await;
    let (st, h) = get(&env.state, &format!("/embed.html?asset={id}")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        csp(&h).ends_with(
            "frame-ancestors http://*.example.com:* https://*.example.com:* https://app.test:8443"
        ),
        "{}",
        csp(&h)
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    // The list changes, the header follows.
    set_policy(&env, &id, json!({"visibility": "unlisted"})).await;
    assert!(
        csp(&get(&env.state, &format!("/embed.html?asset={id}")).await.1)
            .ends_with("frame-ancestors *")
    );
    // No such asset, or none named: nobody may frame it.
    for path in [
        "/embed.html?asset=nope".to_owned(),
        "/embed.html".to_owned(),
    ] {
        assert!(
            csp(&get(&env.state, &path).await.1).ends_with("frame-ancestors 'none'"),
            "{path}"
        );
    }
    // Every other page: strict, own-origin framing only; every response: nosniff.
    let (st, h) = get(&env.state, "/").await;
    assert_eq!(st, StatusCode::OK);
    let page = csp(&h);
    for part in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
        "style-src 'self';",
    ] {
        assert!(page.contains(part), "{part} in {page}");
    }
    assert!(!page.contains("unsafe-inline"), "{page}");
    // Players fetch from the store: it is the one other origin allowed.
    let store = env.storage_settings().endpoint;
    assert!(
        page.contains(&format!("connect-src 'self' blob: {store}")),
        "{page}"
    );
    assert_eq!(h["x-frame-options"], "SAMEORIGIN");
    for path in ["/sdk/dist/index.js", "/healthz", "/v1/nothing-here"] {
        assert_eq!(
            get(&env.state, path).await.1["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_development_key_dies_with_a_start_without_it_and_keys_can_be_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, sdk) = fake_static(dir.path());
    let db = sqlite_url(dir.path());
    let worker = RecipientSecretKey::from_seed(&[8; 32]);
    let dev_key = "clk_dev_well_known_key";
    let serve = |dev: Option<&str>| {
        let mut c = server();
        c.env("CINELOCK_LISTEN", "127.0.0.1:0")
            .env("CINELOCK_DEMO_DIR", &demo)
            .env("CINELOCK_SDK_DIR", &sdk)
            .env("CINELOCK_DATABASE_URL", &db)
            .env("CINELOCK_EMBEDDED_S3_DIR", dir.path().join("s3"))
            .env("CINELOCK_TOKEN_SECRET", TOKEN_SECRET)
            .env(
                "CINELOCK_WORKER_PUBLIC_KEY",
                hex::encode(worker.public_key().to_bytes()),
            );
        if let Some(k) = dev {
            c.env("CINELOCK_DEV_API_KEY", k);
        }
        c
    };
    let http = reqwest::Client::new();
    let status_with = |api: String, key: &'static str| {
        let http = http.clone();
        async move {
            http.post(format!("{api}/v1/uploads"))
                .bearer_auth(key)
                .json(&json!({"size": 10}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    {
        let (_running, lines) = start(serve(Some(dev_key))).await;
        assert_eq!(status_with(api_url(&lines), dev_key).await, 201);
    }
    {
        let (_running, lines) = start(serve(None)).await;
        assert_eq!(status_with(api_url(&lines), dev_key).await, 401);
    }
    // The commands: a listed key (never the key itself), revoked by id.
    let run = |args: &[&str]| {
        // The commands need the database and the pages only (no store: nothing is served).
        let out = server()
            .env("CINELOCK_DEMO_DIR", &demo)
            .env("CINELOCK_SDK_DIR", &sdk)
            .env("CINELOCK_DATABASE_URL", &db)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, key, _) = run(&["create-api-key", "--name", "backend"]);
    assert_eq!(code, Some(0));
    let key = key.trim().to_owned();
    let (code, listed, _) = run(&["list-api-keys"]);
    assert_eq!(code, Some(0));
    let rows: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        !listed.contains(&key) && !listed.contains(dev_key),
        "{listed}"
    );
    let dev_row = rows.iter().find(|r| r["dev"] == 1).unwrap();
    assert!(dev_row["revoked_at"].is_i64(), "{dev_row}");
    let backend = rows.iter().find(|r| r["name"] == "backend").unwrap();
    assert!(backend["revoked_at"].is_null());
    let id = backend["id"].as_str().unwrap();
    assert_eq!(run(&["revoke-api-key", "--id", id]).0, Some(0));
    // Twice, or an unknown id: a clear failure.
    let (code, _, err) = run(&["revoke-api-key", "--id", id]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no API key"), "{err}");
    let (_running, lines) = start(serve(None)).await;
    let key: &'static str = Box::leak(key.into_boxed_str());
    assert_eq!(status_with(api_url(&lines), key).await, 401);
    // A start with the development key brings it back (the demo runs again).
    drop(_running);
    let (_running, lines) = start(serve(Some(dev_key))).await;
    assert_eq!(status_with(api_url(&lines), dev_key).await, 201);
}

#[tokio::test]
async fn a_customers_token_secret_opens_only_its_own_assets() {
    let (env, _keys, _, _) = transcode_env(Db::Sqlite, 30).await;
    let x = auth::create_api_key(env.state.db(), "customer x", "uploads:write,uploads:read")
        .await
        .unwrap();
    let y = env.key.clone();
    let y_asset = bare_asset(&env).await; // private by default
    // X makes a secret of its own (shown once) and signs a token for Y's asset with it.
    let (st, made) = admin(&env, &x, "POST", "/v1/viewer-token-keys", json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{made}");
    let (kid, secret) = (
        made["id"].as_str().unwrap(),
        hex::decode(made["secret"].as_str().unwrap()).unwrap(),
    );
    let now = cinelock_server::now_ms() as u64 / 1000;
    let forged =
        token::mint_with_key_id(&secret, kid, &Claims::new(y_asset.clone(), now + 600)).unwrap();
    let got = play_from(
        &env.state,
        &y_asset,
        body(json!({"token": forged})),
        &[],
        "192.0.2.1",
    )
    .await;
    assert_eq!(outcome(&got), "token_invalid", "{}", got.1);
    // The same claims under Y's own key id but X's secret: still no.
    let (st, y_made) = admin(&env, &y, "POST", "/v1/viewer-token-keys", json!({})).await;
    assert_eq!(st, StatusCode::CREATED);
    let y_kid = y_made["id"].as_str().unwrap();
    let forged =
        token::mint_with_key_id(&secret, y_kid, &Claims::new(y_asset.clone(), now + 600)).unwrap();
    assert_eq!(
        outcome(
            &play_from(
                &env.state,
                &y_asset,
                body(json!({"token": forged})),
                &[],
                "192.0.2.1"
            )
            .await
        ),
        "token_invalid"
    );
    // Y's own secret opens it, and the mint endpoint signs with Y's newest key.
    let y_secret = hex::decode(y_made["secret"].as_str().unwrap()).unwrap();
    let own = token::mint_with_key_id(&y_secret, y_kid, &Claims::new(y_asset.clone(), now + 600))
        .unwrap();
    assert_eq!(
        outcome(
            &play_from(
                &env.state,
                &y_asset,
                body(json!({"token": own.clone()})),
                &[],
                "192.0.2.1"
            )
            .await
        ),
        "admitted"
    );
    let (st, minted) = admin(
        &env,
        &y,
        "POST",
        &format!("/v1/assets/{y_asset}/viewer-tokens"),
        json!({"ttl": 60}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{minted}");
    assert!(
        minted["token"]
            .as_str()
            .unwrap()
            .starts_with(&format!("clv2.{y_kid}."))
    );
    // Listing shows ids only; revoking ends the key's tokens (rotation: mint with a new one).
    let (_, listed) = admin(&env, &y, "GET", "/v1/viewer-token-keys", json!({})).await;
    assert!(
        !listed
            .to_string()
            .contains(y_made["secret"].as_str().unwrap())
    );
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1, "{listed}");
    let (st, _) = admin(
        &env,
        &x,
        "DELETE",
        &format!("/v1/viewer-token-keys/{y_kid}"),
        json!({}),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "another customer's key is not X's to revoke"
    );
    let (st, _) = admin(
        &env,
        &y,
        "DELETE",
        &format!("/v1/viewer-token-keys/{y_kid}"),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        outcome(
            &play_from(
                &env.state,
                &y_asset,
                body(json!({"token": own})),
                &[],
                "192.0.2.1"
            )
            .await
        ),
        "token_invalid"
    );
    // The operator's secret (clv1) still opens every asset: it is the operator's alone.
    let op = token::mint(
        &hex::decode(VIEWER_SECRET).unwrap(),
        &Claims::new(y_asset.clone(), now + 600),
    )
    .unwrap();
    assert_eq!(
        outcome(
            &play_from(
                &env.state,
                &y_asset,
                body(json!({"token": op})),
                &[],
                "192.0.2.1"
            )
            .await
        ),
        "admitted"
    );
}

#[tokio::test]
async fn minting_rights_beyond_playing_needs_the_write_scope_and_tokens_skip_passwords_only_when_they_say_so()
 {
    let (env, _keys, _, _) = transcode_env(Db::Sqlite, 30).await;
    let id = bare_asset(&env).await;
    set_policy(
        &env,
        &id,
        json!({"visibility": "unlisted", "password": "pw", "download_allowed": true}),
    )
    .await;
    // A read-only key of the asset's owner.
    let reader = auth::create_api_key(env.state.db(), "frontend", "uploads:read")
        .await
        .unwrap();
    let (reader_id,): (String,) = sqlx::query_as("SELECT id FROM api_keys WHERE name = 'frontend'")
        .fetch_one(env.state.db())
        .await
        .unwrap();
    sqlx::query("UPDATE assets SET api_key_id = $1 WHERE id = $2")
        .bind(&reader_id)
        .bind(&id)
        .execute(env.state.db())
        .await
        .unwrap();
    let mint = |key: String, body: Value| {
        let (env, id) = (&env, id.clone());
        async move {
            admin(
                env,
                &key,
                "POST",
                &format!("/v1/assets/{id}/viewer-tokens"),
                body,
            )
            .await
        }
    };
    for rights in [json!({"download": true}), json!({"skip_password": true})] {
        let (st, v) = mint(reader.clone(), rights.clone()).await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{rights}: {v}"
        );
    }
    let (st, plain) = mint(reader.clone(), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{plain}");
    // A token without skip_password leaves the password to the viewer.
    let plain = plain["token"].as_str().unwrap();
    let got = play_from(
        &env.state,
        &id,
        body(json!({"token": plain})),
        &[],
        "192.0.2.1",
    )
    .await;
    assert_eq!(outcome(&got), "password_required");
    let got = play_from(
        &env.state,
        &id,
        body(json!({"token": plain, "download": true})),
        &[],
        "192.0.2.1",
    )
    .await;
    assert_eq!(outcome(&got), "password_required");
    // The owner's write key may grant both.
    sqlx::query("UPDATE assets SET api_key_id = (SELECT id FROM api_keys WHERE name = 'test') WHERE id = $1")
        .bind(&id)
        .execute(env.state.db())
        .await
        .unwrap();
    let (st, full) = mint(
        env.key.clone(),
        json!({"download": true, "skip_password": true}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{full}");
    let got = play_from(
        &env.state,
        &id,
        body(json!({"token": full["token"], "download": true})),
        &[],
        "192.0.2.1",
    )
    .await;
    assert_eq!(outcome(&got), "admitted");
}

#[tokio::test]
async fn sessions_end_with_their_token_and_with_any_policy_change() {
    let (env, keys, _, _) = transcode_env(Db::Sqlite, 30).await;
    let c = upload_clip(&env, clip(keys.path(), "s.mp4", 320, 240, 2.0, false)).await;
    let id = asset_id(&env, &c).await;
    drain(&env).await;
    let urls = |session: Value, path: String| {
        let (state, id) = (env.state.clone(), id.clone());
        async move {
            let req = Request::builder()
                .method("POST")
                .uri(format!("/v1/play/{id}/urls"))
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"session": session, "paths": [path]}).to_string(),
                ))
                .unwrap();
            let res = app(state).oneshot(req).await.unwrap();
            let status = res.status();
            let v: Value =
                serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes())
                    .unwrap();
            (status, v)
        }
    };
    let start_session = |ttl: u64| {
        let env = &env;
        let id = id.clone();
        async move {
            let (st, t) = admin(
                env,
                &env.key,
                "POST",
                &format!("/v1/assets/{id}/viewer-tokens"),
                json!({"ttl": ttl}),
            )
            .await;
            assert_eq!(st, StatusCode::OK, "{t}");
            let got = play_from(
                &env.state,
                &id,
                body(json!({"token": t["token"]})),
                &[],
                "192.0.2.1",
            )
            .await;
            assert_eq!(got.0, StatusCode::OK, "{}", got.1);
            got.1
        }
    };
    // A 2 s token: the session (6 h by default) ends with it.
    let s = start_session(2).await;
    let path = "manifest.cnls".to_owned();
    assert_eq!(
        urls(s["session"].clone(), path.clone()).await.0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (st, v) = urls(s["session"].clone(), path.clone()).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("session_expired")),
        "{v}"
    );
    // A policy change ends the sessions granted under the old policy.
    let s = start_session(600).await;
    assert_eq!(
        urls(s["session"].clone(), path.clone()).await.0,
        StatusCode::OK
    );
    set_policy(
        &env,
        &id,
        json!({"visibility": "private", "allowed_countries": ["DE"]}),
    )
    .await;
    let (st, v) = urls(s["session"].clone(), path.clone()).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("session_expired")),
        "{v}"
    );
}

/// A stand-in for ffmpeg: answers `-version` like ffmpeg, and otherwise runs `behaviour`.
fn fake_ffmpeg(dir: &std::path::Path, name: &str, behaviour: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nif [ \"$1\" = -version ]; then exec ffmpeg -version; fi\n{behaviour}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

/// Uploads `plaintext` (sealed for its asset, as a browser would) and runs the workers; the
/// asset as the API shows it.
async fn transcoded(env: &Env, plaintext: Vec<u8>) -> Value {
    let c = upload_clip(env, plaintext).await;
    drain(env).await;
    asset(env, &c.asset_id).await
}

#[tokio::test]
async fn a_playlist_naming_files_on_the_worker_is_not_read() {
    let (env, keys, _, _) = transcode_env(Db::Sqlite, 30).await;
    // A real video on the worker's disk, and an "upload" that is an HLS playlist naming it:
    // read as HLS, ffmpeg would transcode the worker's file into the uploader's asset.
    let local = keys.path().join("local.ts");
    std::fs::write(&local, clip(keys.path(), "local.mp4", 320, 240, 2.0, false)).unwrap();
    let local_ts = keys.path().join("local-seg.ts");
    let made = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(keys.path().join("local.mp4"))
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(&local_ts)
        .status()
        .unwrap();
    assert!(made.success());
    let playlist = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile://{}\n#EXT-X-ENDLIST\n",
        local_ts.display()
    );
    let view = transcoded(&env, playlist.into_bytes()).await;
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(
        job(&view, "preview")["error"]["code"],
        "source_not_video",
        "{view}"
    );
}

#[tokio::test]
async fn sources_over_the_limits_are_refused_for_good() {
    let (env, keys, _, _) = transcode_env_with(
        Db::Sqlite,
        30,
        &["--max-source-seconds", "3", "--max-source-pixels", "100000"],
    )
    .await;
    for (w, h, secs) in [(320, 240, 4.0), (480, 270, 2.0)] {
        let view = transcoded(&env, clip(keys.path(), "big.mp4", w, h, secs, false)).await;
        let preview = job(&view, "preview");
        assert_eq!(preview["error"]["code"], "source_too_large", "{view}");
        assert_eq!(
            (preview["status"].as_str(), preview["attempts"].as_i64()),
            (Some("failed"), Some(1)),
            "{view}"
        );
    }
    // Within them: transcoded.
    let view = transcoded(&env, clip(keys.path(), "ok.mp4", 320, 240, 2.0, false)).await;
    assert_eq!(view["status"], "ready", "{view}");
}

#[tokio::test]
async fn a_job_past_its_time_fails_for_good_and_failures_tell_uploaders_no_paths() {
    let tools = tempfile::tempdir().unwrap();
    let slow = fake_ffmpeg(tools.path(), "slow-ffmpeg", "exec sleep 30");
    let (env, keys, _, _) =
        transcode_env_with(Db::Sqlite, 30, &["--job-timeout", "2", "--ffmpeg", &slow]).await;
    let started = std::time::Instant::now();
    let view = transcoded(&env, clip(keys.path(), "t.mp4", 320, 240, 2.0, false)).await;
    let preview = job(&view, "preview");
    assert_eq!(preview["error"]["code"], "job_timeout", "{view}");
    assert_eq!(
        (preview["status"].as_str(), preview["attempts"].as_i64()),
        (Some("failed"), Some(1)),
        "{view}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "both jobs stopped at their timeout"
    );

    // ffmpeg failing with its output full of worker paths: the uploader reads a reason only.
    let work = keys.path().display().to_string();
    let broken = fake_ffmpeg(
        tools.path(),
        "broken-ffmpeg",
        &format!("echo \"{work}/secret/out/v240/00000.m4s: Invalid data\" >&2; exit 1"),
    );
    let (env, keys, _, _) = transcode_env_with(Db::Sqlite, 30, &["--ffmpeg", &broken]).await;
    let c = upload_clip(&env, clip(keys.path(), "f.mp4", 320, 240, 2.0, false)).await;
    let settings = worker_settings(&env.state);
    cinelock_server::transcode::prepare(&settings)
        .await
        .unwrap();
    assert!(
        cinelock_server::transcode::run_once(&env.state, &settings, "w")
            .await
            .unwrap()
    );
    let view = asset(&env, &c.asset_id).await;
    let text = view.to_string();
    assert_eq!(job(&view, "preview")["error"]["code"], "worker", "{view}");
    assert!(
        !text.contains(&work) && !text.contains("/tmp") && !text.contains("m4s"),
        "{text}"
    );
}
