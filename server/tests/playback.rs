//! Playback sessions against a real transcoded asset (Garage, ffmpeg, SQLite): every policy
//! with an allow and a deny case, the released content key and URLs a player gets, the URL
//! batches of a session, and downloads. No denial carries key material or URLs.

mod support;

use axum::http::StatusCode;
use base64::Engine as _;
use cinelock_contract::playback::StartTrack;
use cinelock_core::media::{
    Manifest, ObjectNonce, Released, Track, TrackKind, open_content_key, open_key,
};
use cinelock_core::policy::{Claims, token};
use cinelock_core::{HEADER_LEN, Header, RecipientSecretKey, StreamOpener};
use serde_json::{Value, json};
use support::VIEWER_SECRET;
use support::*;

/// A request to `/v1/play/...` from `ip` with extra headers; status, JSON and headers.
async fn send(
    env: &Env,
    uri: &str,
    body: Value,
    headers: &[(&str, &str)],
    ip: &str,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    request_from(&env.state, "POST", uri, body.to_string(), &all, ip).await
}

struct Viewer {
    secret: RecipientSecretKey,
}

impl Viewer {
    fn new(seed: u8) -> Self {
        Self {
            secret: RecipientSecretKey::from_seed(&[seed; 32]),
        }
    }

    fn body(&self, extra: Value) -> Value {
        let mut b = json!({ "public_key": hex::encode(self.secret.public_key().to_bytes()) });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    }
}

async fn play(
    env: &Env,
    id: &str,
    v: &Viewer,
    extra: Value,
    headers: &[(&str, &str)],
    ip: &str,
) -> (StatusCode, Value) {
    let (s, b, _) = send(env, &format!("/v1/play/{id}"), v.body(extra), headers, ip).await;
    (s, b)
}

/// A denial: 403 (429 for too many password guesses), `denied`, the reason, and nothing but
/// the error object.
fn assert_denied(got: (StatusCode, Value), reason: &str) {
    let (status, body) = got;
    let expected = if reason == "rate_limited" {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::FORBIDDEN
    };
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], "denied", "{body}");
    assert_eq!(body["error"]["reason"], reason, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "only the error: {body}");
    let text = body.to_string();
    assert!(
        !text.contains("http") && !text.contains("key\""),
        "no URLs or keys: {text}"
    );
}

/// One play request and what it should come to: `(body fields, headers, client address,
/// None for a grant or Some(reason) for a denial)`.
type PlayCase<'a> = (
    &'a Value,
    &'a [(&'a str, &'a str)],
    &'a str,
    Option<&'a str>,
);

/// Plays every case in order and checks each outcome.
async fn expect_plays(env: &Env, id: &str, v: &Viewer, cases: &[PlayCase<'_>]) {
    for &(extra, headers, ip, denied) in cases {
        let got = play(env, id, v, extra.clone(), headers, ip).await;
        match denied {
            None => assert_granted(&got),
            Some(reason) => assert_denied(got, reason),
        }
    }
}

fn assert_granted(got: &(StatusCode, Value)) {
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    assert_eq!(got.1["key"].as_str().unwrap().len(), 160);
}

/// An API call with the admin key that must succeed; its answer.
async fn admin_ok(env: &Env, method: &str, path: &str, body: Value) -> Value {
    let (status, v) = call(&env.state, method, path, Some(&env.key), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{method} {path}: {v}");
    v
}

async fn set_policy(env: &Env, id: &str, policy: Value) -> Value {
    admin_ok(env, "PUT", &format!("/v1/assets/{id}/policy"), policy).await
}

async fn mint(env: &Env, id: &str, body: Value) -> String {
    let v = admin_ok(env, "POST", &format!("/v1/assets/{id}/viewer-tokens"), body).await;
    v["token"].as_str().unwrap().to_owned()
}

/// An environment with a transcoded 3 s clip; its asset id and the uploaded plaintext.
async fn ready_asset() -> (Env, tempfile::TempDir, String, Vec<u8>) {
    let (env, keys, _, _) = transcode_env_with(Db::Sqlite, 30, &[]).await;
    let source = clip(keys.path(), "p.mp4", 320, 240, 3.0, true);
    let c = upload_clip(&env, source.clone()).await;
    let id = asset_id(&env, &c).await;
    drain(&env).await;
    assert_eq!(asset(&env, &id).await["status"], "ready");
    (env, keys, id, source)
}

#[tokio::test]
async fn sessions_tokens_and_urls() {
    let (env, _keys, id, _) = ready_asset().await;
    let v = Viewer::new(7);
    let ip = "127.0.0.1";
    // Private by default.
    assert_eq!(
        call(
            &env.state,
            "GET",
            &format!("/v1/assets/{id}/policy"),
            Some(&env.key),
            None
        )
        .await
        .1["visibility"],
        "private"
    );
    assert_denied(
        play(&env, &id, &v, json!({}), &[], ip).await,
        "token_required",
    );
    // A token the service minted opens it.
    let token = mint(&env, &id, json!({"ttl": 600, "viewer": "user-42"})).await;
    let got = play(&env, &id, &v, json!({"token": token}), &[], ip).await;
    assert_granted(&got);
    let s = &got.1;
    assert_eq!(s["kind"], "full");
    assert_eq!(s["viewer"], "user-42");
    assert!(s.get("download").is_none());
    // The released key opens only with the player's ephemeral secret, and opens the manifest.
    let key = open_content_key(
        &v.secret,
        &id,
        &hex::decode(s["key"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(
        open_content_key(
            &Viewer::new(8).secret,
            &id,
            &hex::decode(s["key"].as_str().unwrap()).unwrap()
        )
        .is_err()
    );
    let get = |url: &str| {
        let url = url.to_owned();
        async move { reqwest::get(url).await.unwrap() }
    };
    let sealed_manifest = get(s["manifest_url"].as_str().unwrap())
        .await
        .bytes()
        .await
        .unwrap();
    // The answer carries the same sealed manifest inline, so the player skips that request.
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(s["manifest"].as_str().expect("an inline manifest"))
            .unwrap(),
        sealed_manifest
    );
    let package_id = s["package_id"].as_str().unwrap();
    let nonce = ObjectNonce::parse(s["manifest_nonce"].as_str().unwrap()).unwrap();
    let manifest = Manifest::open(&key, &id, package_id, &nonce, &sealed_manifest).unwrap();
    // The session pins the manifest: another nonce refuses it.
    assert!(
        Manifest::open(
            &key,
            &id,
            package_id,
            &ObjectNonce([0; 12]),
            &sealed_manifest
        )
        .is_err()
    );
    // Every init segment and the first segments come signed.
    let urls = s["urls"].as_object().unwrap();
    for t in &manifest.tracks {
        assert!(urls.contains_key(&t.init.path));
        assert!(urls.contains_key(&t.segments[0].path));
        let res = get(urls[&t.init.path].as_str().unwrap()).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.bytes().await.unwrap().len() as u64, t.init.size);
    }
    // Every track is listed with its first objects, as the sealed manifest has them, so the
    // player can ask for those it starts with before it has opened the manifest.
    let start: Vec<StartTrack> = serde_json::from_value(s["start"].clone()).unwrap();
    assert_eq!(start.len(), manifest.tracks.len());
    for (listed, t) in start.iter().zip(&manifest.tracks) {
        assert_eq!(
            (&listed.id, listed.kind, listed.bandwidth),
            (&t.id, t.kind, t.bandwidth)
        );
        assert_eq!(
            listed.paths,
            [t.init.path.clone(), t.segments[0].path.clone()]
        );
        assert!(
            listed.paths.iter().all(|p| urls.contains_key(p)),
            "{listed:?}"
        );
    }
    // `first`: what a player started as the request says fetches first (for a client that
    // asks before it can run the rule): the start rendition's and the audio's init and first
    // segments, at the rendition asked for, or where the assumed bandwidth allows, or where
    // a kept measurement brings the first segment within the seek budget.
    let video: Vec<&Track> = manifest.video().collect();
    let audio = manifest.tracks.iter().find(|t| t.kind == TrackKind::Audio);
    let firsts = |t: &Track| [t.init.path.clone(), t.segments[0].path.clone()];
    let expect = |v: &Track| -> Vec<String> {
        firsts(v)
            .into_iter()
            .chain(audio.into_iter().flat_map(firsts))
            .collect()
    };
    let (top, lowest) = (video[video.len() - 1], video[0]);
    // A measurement the page kept: `sustains` is just enough for the top rendition; `budget`
    // lets only the lowest rendition's first segment come within it at that rate.
    let safety = cinelock_core::playback::AbrConfig::default().safety_factor;
    let sustains = top.bandwidth as f64 / safety * 1.01;
    let first_bits = |t: &Track| t.segments[0].size as f64 * 8.0;
    let budget = first_bits(lowest) / (sustains * safety) * 1.001;
    // So the cases below tell the budget's rung from the sustained one: at `sustains`, the top
    // rendition's first segment takes over the default second, and only the lowest's comes
    // within `budget`.
    assert!(first_bits(top) > sustains * safety);
    assert!(
        video
            .iter()
            .skip(1)
            .all(|t| first_bits(t) > budget * sustains * safety)
    );
    for (hint, want) in [
        (json!({}), expect(lowest)),
        (json!({"measured_bandwidth": 1e12}), expect(top)),
        (
            json!({"measured_bandwidth": 1e12, "start_rendition": 0}),
            expect(lowest),
        ),
        (
            json!({"measured_bandwidth": sustains, "seek_budget": 0}),
            expect(top),
        ),
        (
            json!({"measured_bandwidth": sustains, "seek_budget": budget}),
            expect(lowest),
        ),
        (
            json!({"measured_bandwidth": sustains, "seek_budget": budget * 1e6}),
            expect(top),
        ),
        (json!({"start_rendition": top.id}), expect(top)),
        (json!({"start_rendition": video.len() + 5}), expect(top)),
        (
            json!({"start_rendition": 0, "initial_bandwidth": 1e9}),
            expect(lowest),
        ),
        (json!({"initial_bandwidth": 1e9}), expect(top)),
        (json!({"start_rendition": "v9999"}), Vec::new()),
    ] {
        let mut body = json!({"token": token});
        body.as_object_mut()
            .unwrap()
            .extend(hint.as_object().unwrap().clone());
        let got = play(&env, &id, &v, body, &[], ip).await;
        assert_granted(&got);
        let first: Vec<String> = serde_json::from_value(got.1["first"].clone()).unwrap();
        assert_eq!(first, want, "{hint}");
        assert!(
            first.iter().all(|p| got.1["urls"].get(p).is_some()),
            "{hint}"
        );
    }
    // A hint of the wrong type is a clear JSON error.
    let (st, bad) = play(
        &env,
        &id,
        &v,
        json!({"token": token, "start_rendition": 1.5}),
        &[],
        ip,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rendition id or its position"),
        "{bad}"
    );
    // More URLs through the session, only for objects of the package.
    let session = s["session"].as_str().unwrap();
    let last = manifest.tracks[0].segments.last().unwrap().path.clone();
    let (st, more, _) = send(
        &env,
        &format!("/v1/play/{id}/urls"),
        json!({"session": session, "paths": [last]}),
        &[],
        ip,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{more}");
    assert_eq!(
        get(more["urls"][&last].as_str().unwrap()).await.status(),
        200
    );
    // Lifetimes are stated relative to signing too (clients time URLs with them), and agree
    // with the absolute expiry.
    let ttl_ms = env.state.settings().play_url_ttl.as_millis() as i64;
    for answer in [s, &more] {
        assert_eq!(answer["expires_in_ms"].as_i64(), Some(ttl_ms), "{answer}");
        let left = answer["expires_at"].as_i64().unwrap() - cinelock_server::now_ms();
        assert!((ttl_ms - 60_000..=ttl_ms).contains(&left), "{left}");
    }
    let (st, bad, _) = send(
        &env,
        &format!("/v1/play/{id}/urls"),
        json!({"session": session, "paths": ["../source.cnlk"]}),
        &[],
        ip,
    )
    .await;
    assert_eq!(
        (st, bad["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_path"))
    );
    let forged = session.replacen(&id, "other", 1);
    let (st, bad, _) = send(
        &env,
        &format!("/v1/play/{id}/urls"),
        json!({"session": forged, "paths": [last]}),
        &[],
        ip,
    )
    .await;
    assert_eq!(
        (st, bad["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("session_invalid"))
    );
    // Embeds on any site may GET the sealed objects, even when only the app's origin may PUT.
    let storage = env.state.storage().unwrap();
    storage
        .configure_cors(&["https://app.test".into()])
        .await
        .unwrap();
    let res = reqwest::Client::new()
        .get(more["urls"][&last].as_str().unwrap())
        .header("origin", "https://blog.elsewhere.test")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().contains_key("access-control-allow-origin"),
        "{:?}",
        res.headers()
    );
    // The preview package can be asked for by name.
    let got = play(
        &env,
        &id,
        &v,
        json!({"token": token, "package": "preview"}),
        &[],
        ip,
    )
    .await;
    assert_granted(&got);
    assert_eq!(got.1["kind"], "preview");

    // Bad tokens, each with its reason.
    let secret = hex::decode(VIEWER_SECRET).unwrap();
    let now = cinelock_server::now_ms() as u64 / 1000;
    let expired = token::mint(&secret, &Claims::new(id.clone(), now - 120)).unwrap();
    assert_denied(
        play(&env, &id, &v, json!({"token": expired}), &[], ip).await,
        "token_expired",
    );
    let other = token::mint(&secret, &Claims::new("another-asset", now + 600)).unwrap();
    assert_denied(
        play(&env, &id, &v, json!({"token": other}), &[], ip).await,
        "token_wrong_asset",
    );
    let forged = token::mint(&[9u8; 32], &Claims::new(id.clone(), now + 600)).unwrap();
    assert_denied(
        play(&env, &id, &v, json!({"token": forged}), &[], ip).await,
        "token_invalid",
    );
    assert_denied(
        play(&env, &id, &v, json!({"token": "nonsense"}), &[], ip).await,
        "token_malformed",
    );

    // Unlisted and public need no token (a bad one is still refused).
    for visibility in ["unlisted", "public"] {
        set_policy(&env, &id, json!({"visibility": visibility})).await;
        assert_granted(&play(&env, &id, &v, json!({}), &[], ip).await);
        assert_denied(
            play(&env, &id, &v, json!({"token": "nonsense"}), &[], ip).await,
            "token_malformed",
        );
    }
    // Requests the server refuses before any policy.
    let (st, _) = play(&env, "no-such-asset", &v, json!({}), &[], ip).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, b, _) = send(
        &env,
        &format!("/v1/play/{id}"),
        json!({"public_key": "00"}),
        &[],
        ip,
    )
    .await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_public_key"))
    );
    // The SDK labels its JSON text/plain (a simple request: no CORS preflight from another
    // site). A session and its URLs are granted so; a body that is not JSON, or not the
    // request's shape, is a JSON error either way.
    let plain = [("content-type", "text/plain;charset=UTF-8")];
    let token = mint(&env, &id, json!({"ttl": 600})).await;
    let (st, granted, _) = request_from(
        &env.state,
        "POST",
        &format!("/v1/play/{id}"),
        v.body(json!({"token": token})).to_string(),
        &plain,
        ip,
    )
    .await;
    assert_granted(&(st, granted.clone()));
    let (st, more, _) = request_from(
        &env.state,
        "POST",
        &format!("/v1/play/{id}/urls"),
        json!({"session": granted["session"], "paths": ["manifest.cnls"]}).to_string(),
        &plain,
        ip,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{more}");
    assert!(more["urls"]["manifest.cnls"].is_string(), "{more}");
    for (body, code) in [
        ("{not json", "invalid_json"),
        (r#"{"key": 1}"#, "invalid_body"),
    ] {
        let (st, b, _) = request_from(
            &env.state,
            "POST",
            &format!("/v1/play/{id}"),
            body,
            &plain,
            ip,
        )
        .await;
        assert_eq!(
            (st, b["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{body}"
        );
    }
    // The API proper (an API key's routes) still wants its JSON labelled JSON.
    let bearer = format!("Bearer {}", env.key);
    let (st, b, _) = request_from(
        &env.state,
        "PUT",
        &format!("/v1/assets/{id}/policy"),
        json!({"visibility": "public"}).to_string(),
        &[
            ("authorization", bearer.as_str()),
            ("content-type", "text/plain"),
        ],
        ip,
    )
    .await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("content_type")),
        "{b}"
    );
    let (st, b) = call(
        &env.state,
        "PUT",
        &format!("/v1/assets/{id}/policy"),
        Some(&env.key),
        Some(json!({"allowed_ips": ["10.0.0.0/33"]})),
    )
    .await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_policy"))
    );
}

#[tokio::test]
async fn allow_lists_password_and_download() {
    let (env, _keys, id, source) = ready_asset().await;
    let v = Viewer::new(3);
    let local = "127.0.0.1";

    // Origin / Referer.
    set_policy(&env, &id, json!({"visibility": "unlisted", "allowed_origins": ["*.example.com", "https://app.test:8443"]})).await;
    let none = json!({});
    expect_plays(
        &env,
        &id,
        &v,
        &[
            (&none, &[("origin", "https://www.example.com")], local, None),
            (&none, &[("origin", "https://app.test:8443")], local, None),
            (
                &none,
                &[("referer", "https://embed.example.com/page?x=1")],
                local,
                None,
            ),
            (
                &none,
                &[("origin", "https://evil.test")],
                local,
                Some("origin_not_allowed"),
            ),
            (
                &none,
                &[("origin", "https://example.com")],
                local,
                Some("origin_not_allowed"),
            ),
            (&none, &[], local, Some("origin_missing")),
        ],
    )
    .await;

    // IP allow-list, IPv4 and IPv6.
    set_policy(
        &env,
        &id,
        json!({"visibility": "unlisted", "allowed_ips": ["10.0.0.0/8", "2001:db8::/32"]}),
    )
    .await;
    expect_plays(
        &env,
        &id,
        &v,
        &[
            (&none, &[], "10.1.2.3", None),
            (&none, &[], "2001:db8::5", None),
            (&none, &[], "192.0.2.1", Some("ip_not_allowed")),
            (&none, &[], "2001:db9::5", Some("ip_not_allowed")),
        ],
    )
    .await;

    // Countries: without a database the server cannot tell, and says so.
    set_policy(
        &env,
        &id,
        json!({"visibility": "unlisted", "allowed_countries": ["DE"]}),
    )
    .await;
    expect_plays(
        &env,
        &id,
        &v,
        &[(&none, &[], "10.1.2.3", Some("geo_unknown"))],
    )
    .await;

    // Password: checked with argon2, guesses rate-limited per asset and address.
    set_policy(
        &env,
        &id,
        json!({"visibility": "unlisted", "password": "correct horse"}),
    )
    .await;
    let p = call(
        &env.state,
        "GET",
        &format!("/v1/assets/{id}/policy"),
        Some(&env.key),
        None,
    )
    .await
    .1;
    assert_eq!(p["password_set"], true);
    assert!(!p.to_string().contains("correct horse"));
    let (hash,): (String,) =
        sqlx::query_as("SELECT password_hash FROM asset_policies WHERE asset_id = $1")
            .bind(&id)
            .fetch_one(env.state.db())
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2"), "{hash}");
    assert_denied(
        play(&env, &id, &v, json!({}), &[], "192.0.2.9").await,
        "password_required",
    );
    assert_granted(
        &play(
            &env,
            &id,
            &v,
            json!({"password": "correct horse"}),
            &[],
            "192.0.2.9",
        )
        .await,
    );
    // A token that says so stands in for the password.
    let token = mint(&env, &id, json!({"skip_password": true})).await;
    assert_granted(&play(&env, &id, &v, json!({"token": token}), &[], "192.0.2.9").await);
    for _ in 0..4 {
        assert_denied(
            play(
                &env,
                &id,
                &v,
                json!({"password": "guess"}),
                &[],
                "192.0.2.9",
            )
            .await,
            "password_wrong",
        );
    }
    let (status, body, headers) = send(
        &env,
        &format!("/v1/play/{id}"),
        v.body(json!({"password": "correct horse"})),
        &[],
        "192.0.2.9",
    )
    .await;
    assert_denied((status, body), "rate_limited");
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Another address has its own allowance.
    assert_granted(
        &play(
            &env,
            &id,
            &v,
            json!({"password": "correct horse"}),
            &[],
            "192.0.2.10",
        )
        .await,
    );

    // Downloads: refused unless the policy allows them (and the token, if any).
    set_policy(&env, &id, json!({"visibility": "unlisted"})).await;
    assert_denied(
        play(&env, &id, &v, json!({"download": true}), &[], local).await,
        "download_not_allowed",
    );
    set_policy(
        &env,
        &id,
        json!({"visibility": "unlisted", "download_allowed": true}),
    )
    .await;
    let no_right = mint(&env, &id, json!({"download": false})).await;
    assert_denied(
        play(
            &env,
            &id,
            &v,
            json!({"download": true, "token": no_right}),
            &[],
            local,
        )
        .await,
        "download_not_allowed",
    );
    let got = play(&env, &id, &v, json!({"download": true}), &[], local).await;
    assert_granted(&got);
    let d = &got.1["download"];
    assert_eq!(d["size"], source.len());
    // The sealed source, opened with the released data key, is the uploaded file.
    let sealed = reqwest::get(d["url"].as_str().unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let released = hex::decode(d["key"].as_str().unwrap()).unwrap();
    let data_key = open_key(Released::SourceKey, &v.secret, &id, &released).unwrap();
    for as_id in [id.clone(), format!("{id}/source")] {
        assert!(
            open_content_key(&v.secret, &as_id, &released).is_err(),
            "not usable as a content key"
        );
    }
    let header = Header::parse(&sealed[..HEADER_LEN]).unwrap();
    let key = cinelock_core::DataKey::from_bytes(*data_key.as_bytes());
    let mut opener = StreamOpener::with_key(v.secret.clone(), &header, &key).unwrap();
    let mut plain = Vec::new();
    opener.push(&sealed[HEADER_LEN..], &mut plain).unwrap();
    opener.finish(&mut plain).unwrap();
    assert!(plain == source, "the download is the original");
}

#[tokio::test]
async fn geo_allow_list_with_a_country_database() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("countries.mmdb");
    std::fs::write(
        &db_path,
        mmdb::country_db(&[
            ("10.0.0.0".parse().unwrap(), 8, "DE"),
            ("192.0.2.0".parse().unwrap(), 24, "FR"),
        ]),
    )
    .unwrap();
    let (env, keys, _, _) =
        transcode_env_with(Db::Sqlite, 30, &["--geoip-db", db_path.to_str().unwrap()]).await;
    let c = upload_clip(&env, clip(keys.path(), "g.mp4", 160, 120, 2.0, false)).await;
    let id = asset_id(&env, &c).await;
    drain(&env).await;
    let v = Viewer::new(4);
    set_policy(
        &env,
        &id,
        json!({"visibility": "public", "allowed_countries": ["DE", "AT"]}),
    )
    .await;
    assert_granted(&play(&env, &id, &v, json!({}), &[], "10.9.8.7").await);
    assert_denied(
        play(&env, &id, &v, json!({}), &[], "192.0.2.1").await,
        "geo_not_allowed",
    );
    assert_denied(
        play(&env, &id, &v, json!({}), &[], "198.51.100.1").await,
        "geo_unknown",
    );
    // Without an allow-list the country does not matter.
    set_policy(&env, &id, json!({"visibility": "public"})).await;
    assert_granted(&play(&env, &id, &v, json!({}), &[], "192.0.2.1").await);
}

#[tokio::test]
async fn not_ready_until_a_package_is_published() {
    let (env, keys, _, _) = transcode_env_with(Db::Sqlite, 30, &[]).await;
    let c = upload_clip(&env, clip(keys.path(), "n.mp4", 160, 120, 1.0, false)).await;
    let id = asset_id(&env, &c).await;
    set_policy(&env, &id, json!({"visibility": "public"})).await;
    let (st, b) = play(&env, &id, &Viewer::new(1), json!({}), &[], "127.0.0.1").await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_ready"))
    );
    assert!(b.get("key").is_none());
    // Another customer's key cannot see or change the policy.
    let other = cinelock_server::auth::create_api_key(
        env.state.db(),
        "other",
        "uploads:write,uploads:read",
    )
    .await
    .unwrap();
    let (st, _) = call(
        &env.state,
        "PUT",
        &format!("/v1/assets/{id}/policy"),
        Some(&other),
        Some(json!({})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// Every row about `id` in the tables that hold asset data.
async fn rows_about(env: &Env, id: &str) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for (table, column) in [
        ("assets", "id"),
        ("uploads", "asset_id"),
        ("jobs", "asset_id"),
        ("packages", "asset_id"),
        ("asset_keys", "asset_id"),
        ("asset_policies", "asset_id"),
        ("source_headers", "asset_id"),
        ("analytics_views", "asset_id"),
    ] {
        let (n,): (i64,) =
            sqlx::query_as(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"))
                .bind(id)
                .fetch_one(env.state.db())
                .await
                .unwrap();
        out.push((table, n));
    }
    out.retain(|(_, n)| *n > 0);
    out
}

#[tokio::test]
async fn deleting_an_asset_deletes_everything_and_every_call_about_it_is_404() {
    let (env, _keys, id, _) = ready_asset().await;
    let v = Viewer::new(9);
    let ip = "198.51.100.7";
    set_policy(&env, &id, json!({"visibility": "public"})).await;
    let (st, s) = play(&env, &id, &v, json!({}), &[], ip).await;
    assert_eq!(st, StatusCode::OK, "{s}");
    let session = s["session"].as_str().unwrap().to_owned();
    let storage = env.state.storage().unwrap();
    let prefix = format!("assets/{id}/");
    assert!(storage.list_keys(&prefix).await.unwrap().len() > 5);
    assert!(!rows_about(&env, &id).await.is_empty());
    let (upload_id,): (String,) = sqlx::query_as("SELECT id FROM uploads WHERE asset_id = $1")
        .bind(&id)
        .fetch_one(env.state.db())
        .await
        .unwrap();

    // Another customer cannot delete it, nor learn that it exists.
    let other = cinelock_server::auth::create_api_key(
        env.state.db(),
        "other",
        "uploads:write,uploads:read",
    )
    .await
    .unwrap();
    let (st, _) = call(
        &env.state,
        "DELETE",
        &format!("/v1/assets/{id}"),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, d) = call(
        &env.state,
        "DELETE",
        &format!("/v1/assets/{id}"),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d, json!({"asset_id": id, "status": "deleted"}));
    // Nothing left in the bucket under the asset, nor in the database.
    assert_eq!(
        storage.list_keys(&prefix).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(rows_about(&env, &id).await, vec![]);
    // Every call about it: 404.
    for (method, path, body) in [
        ("GET", format!("/v1/assets/{id}"), None),
        ("GET", format!("/v1/assets/{id}/policy"), None),
        ("PUT", format!("/v1/assets/{id}/policy"), Some(json!({}))),
        (
            "POST",
            format!("/v1/assets/{id}/viewer-tokens"),
            Some(json!({"ttl": 60})),
        ),
        ("POST", format!("/v1/assets/{id}/cancel"), None),
        ("GET", format!("/v1/uploads/{upload_id}"), None),
    ] {
        let (st, b) = call(&env.state, method, &path, Some(&env.key), body).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{method} {path}: {b}");
    }
    let (st, b) = play(&env, &id, &v, json!({}), &[], ip).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
    let (st, b, _) = send(
        &env,
        &format!("/v1/play/{id}/urls"),
        json!({"session": session, "paths": ["x"]}),
        &[],
        ip,
    )
    .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "an open session ends with the asset: {b}"
    );
    // Deleting again answers the same; another key still learns nothing.
    let (st, again) = call(
        &env.state,
        "DELETE",
        &format!("/v1/assets/{id}"),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!((st, again), (StatusCode::OK, d));
    let (st, _) = call(
        &env.state,
        "DELETE",
        &format!("/v1/assets/{id}"),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = call(
        &env.state,
        "DELETE",
        "/v1/assets/no-such-asset",
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_sweep_finishes_a_deletion_stopped_half_way_and_removes_late_objects() {
    let env = env(Store::Garage, Db::Sqlite).await;
    let c = create(&env, 1000).await;
    let etag = signed_put(&env, &c, 1).await;
    let (st, _) = complete_one(&env, &c, &etag).await;
    assert_eq!(st, StatusCode::OK);
    let storage = env.state.storage().unwrap();
    // A deletion that got as far as its keys, as if the server stopped there.
    let now = cinelock_server::now_ms();
    sqlx::query("INSERT INTO asset_deletions (asset_id, api_key_id, requested_at) SELECT id, api_key_id, $2 FROM assets WHERE id = $1")
        .bind(&c.asset_id)
        .bind(now)
        .execute(env.state.db())
        .await
        .unwrap();
    sqlx::query("UPDATE assets SET status = 'deleting' WHERE id = $1")
        .bind(&c.asset_id)
        .execute(env.state.db())
        .await
        .unwrap();
    let (st, _) = call(
        &env.state,
        "GET",
        &format!("/v1/assets/{}", c.asset_id),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "an asset being deleted is gone already"
    );
    assert_eq!(
        cinelock_server::deletion::sweep(&env.state).await.unwrap(),
        1
    );
    assert_eq!(rows_about(&env, &c.asset_id).await, vec![]);
    let prefix = format!("assets/{}/", c.asset_id);
    assert!(storage.list_keys(&prefix).await.unwrap().is_empty());
    // A worker that was still running writes an object afterwards: the next sweep removes it.
    storage
        .put_object(&format!("{prefix}packages/late/init.cnlk"), vec![1, 2, 3])
        .await
        .unwrap();
    assert_eq!(
        cinelock_server::deletion::sweep(&env.state).await.unwrap(),
        0
    );
    assert!(storage.list_keys(&prefix).await.unwrap().is_empty());
    let (st, d) = call(
        &env.state,
        "DELETE",
        &format!("/v1/assets/{}", c.asset_id),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(
        (st, d["status"].as_str()),
        (StatusCode::OK, Some("deleted"))
    );
}

#[tokio::test]
async fn a_failed_asset_says_it_will_never_play_and_why() {
    let (env, _keys, _, _) = transcode_env_with(Db::Sqlite, 30, &[]).await;
    let junk: Vec<u8> = (0..50_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let c = upload_clip(&env, junk).await;
    let id = asset_id(&env, &c).await;
    drain(&env).await;
    assert_eq!(asset(&env, &id).await["status"], "failed");
    set_policy(&env, &id, json!({"visibility": "public"})).await;
    let (st, b) = play(&env, &id, &Viewer::new(2), json!({}), &[], "127.0.0.1").await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("asset_failed")),
        "{b}"
    );
    let message = b["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("never play") && message.contains("source_not_video"),
        "{message}"
    );
}
