//! `cinelock assets`: the API key's assets listed, shown, and followed until their transcode
//! ends.

use std::time::{Duration, Instant};

use cinelock_contract::assets::{AssetList, AssetView};
use serde_json::json;

use crate::CliError;
use crate::api::{Api, segment};
use crate::output::{Mode, Output};

/// `assets ls`: newest first, page after page until `limit` assets (all with `None`).
pub async fn list(
    api: &Api,
    status: Option<&str>,
    limit: Option<usize>,
    out: &Output,
) -> Result<(), CliError> {
    let mut cursor: Option<String> = None;
    let mut shown = 0usize;
    let mut header = out.mode() == Mode::Human;
    loop {
        let page_size = limit.map_or(100, |l| (l - shown).clamp(1, 100));
        let mut query = format!("?limit={page_size}");
        if let Some(s) = status {
            query.push_str(&format!("&status={}", segment(s)));
        }
        if let Some(c) = &cursor {
            query.push_str(&format!("&cursor={}", segment(c)));
        }
        let page: AssetList = api.get(&format!("/v1/assets{query}")).await?;
        if std::mem::take(&mut header) {
            println!(
                "{:<36} {:<11} {:>10} {:<20} NAME",
                "ASSET", "STATUS", "SIZE", "CREATED (UTC)"
            );
        }
        for a in &page.assets {
            let name = a.title.as_deref().or(a.filename.as_deref()).unwrap_or("");
            out.result(
                &a.asset_id,
                &format!(
                    "{:<36} {:<11} {:>10} {:<20} {name}",
                    a.asset_id,
                    a.status,
                    human_bytes(a.size.max(0) as u64),
                    utc(a.created_at)
                ),
                serde_json::to_value(a).expect("assets serialize"),
            );
            shown += 1;
        }
        cursor = page.next_cursor;
        if cursor.is_none() || limit.is_some_and(|l| shown >= l) || page.assets.is_empty() {
            return Ok(());
        }
    }
}

/// `assets show ID`.
pub async fn show(api: &Api, id: &str, out: &Output) -> Result<(), CliError> {
    let asset: AssetView = api.get(&format!("/v1/assets/{}", segment(id))).await?;
    let json = serde_json::to_value(&asset).expect("assets serialize");
    out.result(&asset.status, &describe(&asset), json);
    Ok(())
}

fn describe(a: &AssetView) -> String {
    let mut s = format!(
        "asset    {}\nstatus   {}\nname     {}\nsize     {}\ncreated  {}\n",
        a.asset_id,
        a.status,
        a.title.as_deref().or(a.filename.as_deref()).unwrap_or("-"),
        human_bytes(a.size.max(0) as u64),
        utc(a.created_at),
    );
    for j in &a.jobs {
        s.push_str(&format!(
            "job      {} {} {}% (attempt {}/{}){}\n",
            j.kind,
            j.status,
            j.progress,
            j.attempts,
            j.max_attempts,
            j.error
                .as_ref()
                .map(|e| format!(": {}", e.message))
                .unwrap_or_default()
        ));
    }
    for p in &a.packages {
        s.push_str(&format!(
            "package  {} {} ({:.1} s)\n",
            p.kind,
            p.package_id,
            p.duration_ms as f64 / 1000.0
        ));
    }
    s.trim_end().to_owned()
}

/// The asset's state as `wait` judges it.
enum Verdict {
    Ready,
    Failed(String),
    Pending,
}

fn verdict(a: &AssetView) -> Verdict {
    match a.status.as_str() {
        "ready" => Verdict::Ready,
        "failed" => Verdict::Failed(
            a.jobs
                .iter()
                .find_map(|j| j.error.as_ref().map(|e| e.message.clone()))
                .unwrap_or_else(|| "the transcode failed".into()),
        ),
        s @ ("cancelled" | "aborted" | "abandoned") => Verdict::Failed(format!("the asset is {s}")),
        _ => Verdict::Pending,
    }
}

/// `assets wait ID`: until the asset is ready (exit 0), failed (1) or `timeout` passes (6),
/// with the transcode's progress.
pub async fn wait(
    api: &Api,
    id: &str,
    timeout: Duration,
    interval: Duration,
    out: &Output,
) -> Result<(), CliError> {
    let deadline = Instant::now() + timeout;
    let bar = out.percent_bar(id);
    let mut last = None;
    loop {
        let asset: AssetView = api.get(&format!("/v1/assets/{}", segment(id))).await?;
        let job = asset
            .jobs
            .iter()
            .find(|j| j.kind == "full")
            .or(asset.jobs.first());
        let progress = job.map_or(0, |j| j.progress.clamp(0, 100) as u64);
        bar.set_position(progress);
        let now = (asset.status.clone(), progress);
        if last.as_ref() != Some(&now) {
            out.event(json!({"type": "status", "assetId": id, "status": asset.status, "progress": progress}));
            last = Some(now);
        }
        match verdict(&asset) {
            Verdict::Ready => {
                bar.finish_and_clear();
                out.result(
                    id,
                    &format!("{id} is ready"),
                    json!({"type": "ready", "assetId": id}),
                );
                return Ok(());
            }
            Verdict::Failed(why) => {
                bar.finish_and_clear();
                return Err(CliError::Failed(format!("{id}: {why}")));
            }
            Verdict::Pending if Instant::now() >= deadline => {
                bar.finish_and_clear();
                return Err(CliError::Timeout(format!(
                    "{id} is still {} after {} s",
                    asset.status,
                    timeout.as_secs()
                )));
            }
            Verdict::Pending => tokio::time::sleep(interval).await,
        }
    }
}

/// 1536 → "1.5 KiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Unix ms as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_796_342_400_000), "2026-12-04 00:00:00");
        assert_eq!(utc(951_782_400_000 + 3_723_000), "2000-02-29 01:02:03");
    }
}
