//! Baseline for the upload benchmark: a plain (unencrypted) presigned multipart upload, as
//! uploaders without encryption do it. `create` prints JSON with the part URLs (for the bench
//! page only; never log them); `complete` finishes it.
//! `plain_multipart create ENDPOINT REGION BUCKET KEY PARTS`
//! `plain_multipart complete ENDPOINT REGION BUCKET KEY UPLOAD_ID ETAGS_JSON`
//! (credentials from CINELOCK_S3_ACCESS_KEY / CINELOCK_S3_SECRET_KEY)

use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (cmd, endpoint, region, bucket, key) = (&a[1], &a[2], &a[3], &a[4], &a[5]);
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.clone()))
        .credentials_provider(Credentials::new(
            std::env::var("CINELOCK_S3_ACCESS_KEY").expect("access key"),
            std::env::var("CINELOCK_S3_SECRET_KEY").expect("secret key"),
            None,
            None,
            "plain_multipart",
        ))
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(conf);
    match cmd.as_str() {
        "create" => {
            let parts: i32 = a[6].parse().expect("parts");
            let mpu = s3
                .create_multipart_upload()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .expect("create");
            let id = mpu.upload_id().expect("upload id").to_owned();
            let mut urls = Vec::new();
            for n in 1..=parts {
                let p = s3
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&id)
                    .part_number(n)
                    .presigned(
                        PresigningConfig::expires_in(Duration::from_secs(3600)).expect("ttl"),
                    )
                    .await
                    .expect("presign");
                urls.push(serde_json::Value::String(p.uri().to_owned()));
            }
            println!("{}", serde_json::json!({ "upload_id": id, "urls": urls }));
        }
        "complete" => {
            let etags: Vec<String> = serde_json::from_str(&a[7]).expect("etags json");
            let parts = etags
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    CompletedPart::builder()
                        .part_number(i as i32 + 1)
                        .e_tag(e)
                        .build()
                })
                .collect();
            s3.complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&a[6])
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .expect("complete");
        }
        other => panic!("unknown command {other}"),
    }
}
