//! Probe: does a presigned UploadPart carrying x-amz-checksum-sha256 make the store verify
//! the part? Prints which headers the presigned request requires and the store's answers.
//! `cargo run -p cinelock-server --example presign_probe -- http://127.0.0.1:3940 garage BUCKET KEY SECRET`

use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use base64::Engine as _;
use sha2::{Digest, Sha256};

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (endpoint, region, bucket, key, secret) = (&a[1], &a[2], &a[3], &a[4], &a[5]);
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.clone()))
        .credentials_provider(Credentials::new(key, secret, None, None, "probe"))
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(conf);
    let obj = "probe/object";
    let mpu = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(obj)
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();
    let upload_id = mpu.upload_id().unwrap();
    let body = vec![7u8; 1024];
    let sum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&body));
    let http = reqwest::Client::new();
    for (label, send_body, send_header) in [
        ("right body + header", body.clone(), true),
        (
            "corrupted body + header",
            {
                let mut b = body.clone();
                b[3] ^= 1;
                b
            },
            true,
        ),
        ("right body, header omitted", body.clone(), false),
    ] {
        let p = s3
            .upload_part()
            .bucket(bucket)
            .key(obj)
            .upload_id(upload_id)
            .part_number(1)
            .checksum_sha256(&sum)
            .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
            .await
            .unwrap();
        let uri: reqwest::Url = p.uri().parse().unwrap();
        let names: Vec<String> = uri.query_pairs().map(|(k, _)| k.into_owned()).collect();
        let headers: Vec<(String, String)> = p
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        println!(
            "{label}: query params {names:?}; required headers {:?}",
            headers.iter().map(|h| &h.0).collect::<Vec<_>>()
        );
        let mut req = http.put(uri).body(send_body);
        for (k, v) in &headers {
            if send_header || !k.eq_ignore_ascii_case("x-amz-checksum-sha256") {
                req = req.header(k, v);
            }
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let code = text
            .split("<Code>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or("");
        println!("  -> {status} {code}");
    }
    let _ = s3
        .abort_multipart_upload()
        .bucket(bucket)
        .key(obj)
        .upload_id(upload_id)
        .send()
        .await;
}
