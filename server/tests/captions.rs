//! Caption tracks on SQLite and PostgreSQL (Garage): added, listed and deleted by the owner,
//! refused to anyone else and for every bad input; sealed in the bucket (no cue text in clear);
//! handed to a player's session with a URL and nonce that open to the very file sent; and gone
//! with the asset.

mod support;

use axum::http::StatusCode;
use cinelock_core::RecipientSecretKey;
use cinelock_core::media::{ObjectNonce, ObjectRef, open_content_key, open_pinned_object};
use serde_json::{Value, json};
use support::*;

const VTT: &str =
    "WEBVTT\n\n00:00.000 --> 00:02.500\nThe secret line\n\n00:02.500 --> 00:03.000\nBye\n";

on_each_database!(captions_are_added_listed_refused_and_deleted);

fn path(id: &str) -> String {
    format!("/v1/assets/{id}/captions")
}

async fn add(env: &Env, key: &str, id: &str, body: Value) -> (StatusCode, Value) {
    call(&env.state, "POST", &path(id), Some(key), Some(body)).await
}

async fn captions_are_added_listed_refused_and_deleted(db: Db) {
    let (env, _keys, _, _) = transcode_env(db, 30).await;
    let s = &env.state;
    // Captions may come before the transcode: the asset is still uploading here.
    let id = create(&env, 100).await.asset_id;
    let (st, en) = add(
        &env,
        &env.key,
        &id,
        json!({"language": "en", "label": "English", "vtt": VTT}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{en}");
    assert_eq!(
        (&en["language"], &en["label"], &en["kind"], &en["cues"]),
        (
            &json!("en"),
            &json!("English"),
            &json!("subtitles"),
            &json!(2)
        )
    );
    let (st, fr) = add(
        &env,
        &env.key,
        &id,
        json!({"language": "fr-CA", "label": "Français (SDH)", "kind": "captions", "vtt": VTT}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{fr}");
    let (st, list) = call(s, "GET", &path(&id), Some(&env.key), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["captions"].as_array().unwrap().len(), 2);
    assert_eq!(list["captions"][0]["id"], en["id"]);
    assert_eq!(list["captions"][1]["kind"], "captions");

    // In the bucket: sealed, at the caption's place, with no cue text in clear.
    let en_id = en["id"].as_str().unwrap();
    let stored = object(&env, &format!("assets/{id}/captions/{en_id}.cnls"))
        .await
        .expect("the sealed caption is stored");
    assert!(!String::from_utf8_lossy(&stored).contains("secret line"));
    let key = content_key(&env, &id).await;
    let plain = open_pinned_object(
        &key,
        &ObjectRef::caption(&id, en_id),
        &stored[6..18].try_into().unwrap(),
        &stored,
    )
    .unwrap();
    assert_eq!(plain, VTT.as_bytes());
    // Bound to its place: not another caption's, not another asset's.
    assert!(
        open_pinned_object(
            &key,
            &ObjectRef::caption(&id, fr["id"].as_str().unwrap()),
            &stored[6..18].try_into().unwrap(),
            &stored,
        )
        .is_err()
    );

    // Bad input: 400 with a code, and nothing stored.
    for (body, want) in [
        (
            json!({"language": "en", "label": "E", "vtt": "hello"}),
            "invalid_captions",
        ),
        (
            json!({"language": "en", "label": "E", "vtt": "WEBVTT\n\n00:05.000 --> 00:01.000\nx\n"}),
            "invalid_captions",
        ),
        (
            json!({"language": "english", "label": "E", "vtt": VTT}),
            "invalid_captions",
        ),
        (
            json!({"language": "en", "label": "", "vtt": VTT}),
            "invalid_captions",
        ),
        (
            json!({"language": "en", "label": "E", "kind": "chapters", "vtt": VTT}),
            "invalid_body",
        ),
        (json!({"language": "en", "label": "E"}), "invalid_body"),
    ] {
        let (st, v) = add(&env, &env.key, &id, body.clone()).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::BAD_REQUEST, want),
            "{body}: {v}"
        );
        assert!(v["error"]["message"].as_str().unwrap().len() > 5, "{v}");
    }
    // Bigger than a caption may be: refused before it is parsed.
    let huge = format!("WEBVTT\n\n{}", "x".repeat(3 * 1024 * 1024));
    let (st, v) = add(
        &env,
        &env.key,
        &id,
        json!({"language": "en", "label": "E", "vtt": huge}),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
    // Just over 1 MiB of text, within the body limit: the core's limit says why.
    let big = format!(
        "WEBVTT\n\n00:00.000 --> 00:01.000\n{}\n",
        "y".repeat(1024 * 1024)
    );
    let (st, v) = add(
        &env,
        &env.key,
        &id,
        json!({"language": "en", "label": "E", "vtt": big}),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_captions"),
        "{v}"
    );
    let (_, list) = call(s, "GET", &path(&id), Some(&env.key), None).await;
    assert_eq!(list["captions"].as_array().unwrap().len(), 2);

    // Deny: another owner's key sees no such asset; a key without the write scope may not add
    // or delete (whoever owns the asset); no key is unauthorized.
    let other =
        cinelock_server::auth::create_api_key(s.db(), "other", "uploads:write,uploads:read")
            .await
            .unwrap();
    let (st, v) = add(
        &env,
        &other,
        &id,
        json!({"language": "en", "label": "E", "vtt": VTT}),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "unknown_asset"));
    let (st, _) = call(s, "GET", &path(&id), Some(&other), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = call(
        s,
        "DELETE",
        &format!("{}/{en_id}", path(&id)),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let reader = cinelock_server::auth::create_api_key(s.db(), "reader", "uploads:read")
        .await
        .unwrap();
    let (st, v) = add(
        &env,
        &reader,
        &id,
        json!({"language": "en", "label": "E", "vtt": VTT}),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (st, _) = call(
        s,
        "DELETE",
        &format!("{}/{en_id}", path(&id)),
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = call(s, "GET", &path(&id), None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = call(s, "GET", &path("no-such-asset"), Some(&env.key), None).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "unknown_asset"));

    // Delete one: its row and object go; a second delete is unknown.
    let one = format!("{}/{en_id}", path(&id));
    let (st, _) = call(s, "DELETE", &one, Some(&env.key), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = call(s, "DELETE", &one, Some(&env.key), None).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "unknown_caption"));
    let (_, list) = call(s, "GET", &path(&id), Some(&env.key), None).await;
    assert_eq!(list["captions"].as_array().unwrap().len(), 1);
    assert_eq!(
        all_keys(&env, &format!("assets/{id}/captions/")).await,
        vec![format!(
            "assets/{id}/captions/{}.cnls",
            fr["id"].as_str().unwrap()
        )]
    );

    // Deleting the asset deletes the rest, row and object.
    let (st, _) = call(
        s,
        "DELETE",
        &format!("/v1/assets/{id}"),
        Some(&env.key),
        None,
    )
    .await;
    assert!(st.is_success(), "{st}");
    cinelock_server::deletion::sweep(s).await.unwrap();
    assert!(all_keys(&env, &format!("assets/{id}/")).await.is_empty());
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM captions WHERE asset_id = $1")
        .bind(&id)
        .fetch_one(s.db())
        .await
        .unwrap();
    assert_eq!(rows, 0);
    let (st, _) = call(s, "GET", &path(&id), Some(&env.key), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// A player's session lists the tracks; each URL serves the sealed file, which opens under
/// the released key with the listed nonce.
#[tokio::test]
async fn a_session_hands_the_player_its_text_tracks() {
    let (env, keys, _, _) = transcode_env(Db::Sqlite, 30).await;
    let c = upload_clip(&env, clip(keys.path(), "c.mp4", 160, 120, 2.0, false)).await;
    let id = asset_id(&env, &c).await;
    drain(&env).await;
    let (st, added) = add(
        &env,
        &env.key,
        &id,
        json!({"language": "de", "label": "Deutsch", "vtt": VTT}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = call(
        &env.state,
        "PATCH",
        &format!("/v1/assets/{id}/policy"),
        Some(&env.key),
        Some(json!({"visibility": "public"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let player = RecipientSecretKey::from_seed(&[9; 32]);
    let body = json!({"public_key": hex::encode(player.public_key().to_bytes())});
    let (st, session, _) = request_from(
        &env.state,
        "POST",
        &format!("/v1/play/{id}"),
        body.to_string(),
        &[("content-type", "application/json")],
        "127.0.0.1",
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{session}");
    let tracks = session["text_tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 1);
    let t = &tracks[0];
    assert_eq!(
        (&t["id"], &t["language"], &t["label"], &t["kind"]),
        (
            &added["id"],
            &json!("de"),
            &json!("Deutsch"),
            &json!("subtitles")
        )
    );
    let sealed = reqwest::get(t["url"].as_str().unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(sealed.len() as u64, t["size"].as_u64().unwrap());
    let key = open_content_key(
        &player,
        &id,
        &hex::decode(session["key"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let nonce = ObjectNonce::parse(t["nonce"].as_str().unwrap()).unwrap();
    let caption_id = t["id"].as_str().unwrap();
    let plain = open_pinned_object(
        &key,
        &ObjectRef::caption(&id, caption_id),
        &nonce.0,
        &sealed,
    )
    .unwrap();
    assert_eq!(plain, VTT.as_bytes());
}
