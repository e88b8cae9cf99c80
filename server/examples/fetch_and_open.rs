//! Downloads a sealed object from S3 and opens it with a worker secret key, as a transcode worker
//! will. Writes the sealed bytes and the plaintext to files (used by the browser upload tests).
//! `fetch_and_open ENDPOINT REGION BUCKET KEY CONTEXT SECRET_KEY_HEX SEALED_OUT PLAIN_OUT`
//! (CONTEXT: what the stream was sealed for, an upload's asset id.)
//! (S3 credentials come from CINELOCK_S3_ACCESS_KEY / CINELOCK_S3_SECRET_KEY.)

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use cinelock_core::{RecipientSecretKey, StreamOpener};

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let [
        _,
        endpoint,
        region,
        bucket,
        key,
        context,
        sk,
        sealed_out,
        plain_out,
    ] = &a[..]
    else {
        eprintln!(
            "usage: fetch_and_open ENDPOINT REGION BUCKET KEY CONTEXT SECRET_KEY_HEX SEALED_OUT PLAIN_OUT"
        );
        std::process::exit(2);
    };
    let access = std::env::var("CINELOCK_S3_ACCESS_KEY").expect("CINELOCK_S3_ACCESS_KEY");
    let secret = std::env::var("CINELOCK_S3_SECRET_KEY").expect("CINELOCK_S3_SECRET_KEY");
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.clone()))
        .credentials_provider(Credentials::new(
            access,
            secret,
            None,
            None,
            "fetch_and_open",
        ))
        .force_path_style(true)
        .build();
    let out = aws_sdk_s3::Client::from_conf(conf)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("GetObject");
    let sealed = out.body.collect().await.expect("body").into_bytes();
    std::fs::write(sealed_out, &sealed).expect("write sealed");
    let secret =
        RecipientSecretKey::from_bytes(&hex::decode(sk).expect("hex")).expect("secret key");
    let mut opener = StreamOpener::new(secret, context.as_bytes()).expect("context");
    let mut plain = Vec::with_capacity(sealed.len());
    // Streamed in 1 MiB pieces, as a worker would read it.
    for piece in sealed.chunks(1 << 20) {
        opener.push(piece, &mut plain).expect("authentic stream");
    }
    opener.finish(&mut plain).expect("complete stream");
    std::fs::write(plain_out, &plain).expect("write plaintext");
    println!(
        "opened {} sealed bytes into {} plaintext bytes",
        sealed.len(),
        plain.len()
    );
}
