//! Turns ffmpeg's plaintext output into a sealed package: every init segment, media segment
//! and the poster sealed under the asset's content key (bound to asset, package, track, kind
//! and index), uploaded under the package prefix, and the manifest built from what was sealed
//! and sealed last. Nothing is published here: [`crate::jobs::succeed`] does that once every
//! object is in the bucket.

use std::path::Path;

use cinelock_core::media::{
    ContentKey, Manifest, MediaFile, ObjectKind, ObjectNonce, ObjectRef, PackageKind, Poster,
    Segment, Track, TrackKind, seal_object,
};
use rand::RngCore;

use crate::AppError;
use crate::storage::Storage;
use crate::transcode::ffmpeg::{AUDIO_TRACK, track_dir};
use crate::transcode::ladder::Rung;

/// Objects uploaded at once.
const UPLOAD_CONCURRENCY: usize = 8;

/// Where a package lives in the bucket.
pub fn prefix(asset_id: &str, package_id: &str) -> String {
    format!("assets/{asset_id}/packages/{package_id}/")
}

/// One media segment as ffmpeg's playlist lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub file: String,
    pub duration: f64,
}

/// Reads an HLS VOD playlist: `#EXTINF:<seconds>,` then the segment file.
pub fn parse_playlist(text: &str) -> Result<Vec<Listed>, AppError> {
    let mut out = Vec::new();
    let mut pending: Option<f64> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            let secs = rest.split(',').next().and_then(|d| d.parse::<f64>().ok());
            pending = Some(
                secs.filter(|d| d.is_finite() && *d > 0.0)
                    .ok_or_else(|| AppError::Worker(format!("bad playlist duration {rest:?}")))?,
            );
        } else if !line.is_empty() && !line.starts_with('#') {
            let duration = pending
                .take()
                .ok_or_else(|| AppError::Worker(format!("segment {line} without duration")))?;
            out.push(Listed {
                file: line.to_owned(),
                duration,
            });
        }
    }
    if out.is_empty() {
        return Err(AppError::Worker("playlist lists no segments".into()));
    }
    Ok(out)
}

/// RFC 6381 codecs string of an H.264 init segment, from its `avcC` box
/// (profile, constraint flags, level).
pub fn avc_codecs(init: &[u8]) -> Option<String> {
    let at = init.windows(4).position(|w| w == b"avcC")?;
    let b = init.get(at + 5..at + 8)?;
    Some(format!("avc1.{:02x}{:02x}{:02x}", b[0], b[1], b[2]))
}

struct Sealer<'a> {
    storage: &'a Storage,
    key: &'a ContentKey,
    asset_id: &'a str,
    package_id: &'a str,
    prefix: String,
}

impl Sealer<'_> {
    /// Seals one object and uploads it; returns its sealed size and nonce (which the manifest
    /// lists, so a reader opens exactly this object).
    async fn put(
        &self,
        track: &str,
        kind: ObjectKind,
        index: u32,
        path: String,
        plain: Vec<u8>,
    ) -> Result<(u64, ObjectNonce), AppError> {
        let (sealed, nonce) = self.seal(track, kind, index, &path, plain)?;
        let size = sealed.len() as u64;
        self.storage
            .put_object(&format!("{}{path}", self.prefix), sealed)
            .await?;
        Ok((size, nonce))
    }

    /// Seals one object under a fresh nonce.
    fn seal(
        &self,
        track: &str,
        kind: ObjectKind,
        index: u32,
        path: &str,
        plain: Vec<u8>,
    ) -> Result<(Vec<u8>, ObjectNonce), AppError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let at = ObjectRef {
            asset_id: self.asset_id,
            package_id: self.package_id,
            track_id: track,
            kind,
            index,
        };
        let sealed = seal_object(self.key, &at, &nonce, &plain)
            .map_err(|e| AppError::Worker(format!("sealing {path}: {e}")))?;
        Ok((sealed, ObjectNonce(nonce)))
    }
}

async fn read(path: &Path) -> Result<Vec<u8>, AppError> {
    tokio::fs::read(path)
        .await
        .map_err(|e| AppError::Worker(format!("reading {}: {e}", path.display())))
}

/// What the packager needs to know about the job.
pub struct Input<'a> {
    pub asset_id: &'a str,
    pub package_id: &'a str,
    pub kind: PackageKind,
    pub rungs: &'a [Rung],
    pub audio: bool,
    /// ffmpeg's output directory.
    pub out: &'a Path,
    /// The poster JPEG and its size, if one was made.
    pub poster: Option<(&'a Path, u32, u32)>,
}

/// A package in the bucket: its manifest, and the manifest as sealed there.
pub struct Published {
    pub manifest: Manifest,
    /// The sealed manifest's nonce.
    pub nonce: ObjectNonce,
    /// The sealed manifest object's bytes (sessions hand them out inline, saving the player a
    /// request before its first segment).
    pub sealed: Vec<u8>,
}

/// Seals and uploads every object of the package, then the manifest.
pub async fn seal_and_upload(
    storage: &Storage,
    key: &ContentKey,
    input: &Input<'_>,
    mut on_progress: impl FnMut(f64),
) -> Result<Published, AppError> {
    let sealer = Sealer {
        storage,
        key,
        asset_id: input.asset_id,
        package_id: input.package_id,
        prefix: prefix(input.asset_id, input.package_id),
    };
    let mut tracks = Vec::new();
    let mut specs: Vec<(String, TrackKind, Option<&Rung>)> = input
        .rungs
        .iter()
        .map(|r| (r.id.clone(), TrackKind::Video, Some(r)))
        .collect();
    if input.audio {
        specs.push((AUDIO_TRACK.to_owned(), TrackKind::Audio, None));
    }
    let total_tracks = specs.len() as f64;
    for (done, (id, kind, rung)) in specs.into_iter().enumerate() {
        let dir = track_dir(input.out, &id);
        let playlist = tokio::fs::read_to_string(dir.join("index.m3u8"))
            .await
            .map_err(|e| AppError::Worker(format!("{id}: no playlist: {e}")))?;
        let listed = parse_playlist(&playlist)?;
        let init_plain = read(&dir.join("init.mp4")).await?;
        let codecs = match kind {
            TrackKind::Video => avc_codecs(&init_plain)
                .ok_or_else(|| AppError::Worker(format!("{id}: no avcC in the init segment")))?,
            TrackKind::Audio => "mp4a.40.2".to_owned(),
        };
        let init_path = format!("{id}/init.cnls");
        let (init_size, init_nonce) = sealer
            .put(&id, ObjectKind::Init, 0, init_path.clone(), init_plain)
            .await?;
        let mut sizes = Vec::with_capacity(listed.len());
        for (batch_no, batch) in listed.chunks(UPLOAD_CONCURRENCY).enumerate() {
            let mut puts = Vec::with_capacity(batch.len());
            for (j, seg) in batch.iter().enumerate() {
                let i = batch_no * UPLOAD_CONCURRENCY + j;
                let plain = read(&dir.join(&seg.file)).await?;
                let path = format!("{id}/{i:05}.cnls");
                puts.push(sealer.put(&id, ObjectKind::Media, i as u32, path, plain));
            }
            sizes.extend(futures::future::try_join_all(puts).await?);
        }
        let mut start = 0.0;
        let mut segments = Vec::with_capacity(listed.len());
        let mut peak = 0f64;
        for (i, (seg, (size, nonce))) in listed.iter().zip(sizes).enumerate() {
            peak = peak.max(size as f64 * 8.0 / seg.duration);
            segments.push(Segment {
                start,
                duration: seg.duration,
                path: format!("{id}/{i:05}.cnls"),
                size,
                nonce,
            });
            start += seg.duration;
        }
        tracks.push(Track {
            id: id.clone(),
            kind,
            mime: match kind {
                TrackKind::Video => "video/mp4".into(),
                TrackKind::Audio => "audio/mp4".into(),
            },
            codecs,
            bandwidth: peak.ceil() as u64,
            width: rung.map(|r| r.width),
            height: rung.map(|r| r.height),
            init: MediaFile {
                path: init_path,
                size: init_size,
                nonce: init_nonce,
            },
            segments,
        });
        on_progress((done + 1) as f64 / total_tracks);
    }
    // Peak rates of neighbouring rungs can cross on easy content; the format lists video by
    // bandwidth, so order by it (ties keep the ladder order).
    tracks.sort_by(|a, b| {
        (a.kind == TrackKind::Audio)
            .cmp(&(b.kind == TrackKind::Audio))
            .then(
                if a.kind == TrackKind::Video && b.kind == TrackKind::Video {
                    a.bandwidth.cmp(&b.bandwidth)
                } else {
                    std::cmp::Ordering::Equal
                },
            )
    });
    let poster = match input.poster {
        Some((path, width, height)) => {
            let (size, nonce) = sealer
                .put(
                    "",
                    ObjectKind::Poster,
                    0,
                    "poster.cnls".into(),
                    read(path).await?,
                )
                .await?;
            Some(Poster {
                path: "poster.cnls".into(),
                size,
                nonce,
                mime: "image/jpeg".into(),
                width,
                height,
            })
        }
        None => None,
    };
    let duration = tracks.iter().map(Track::end).fold(0.0, f64::max);
    let manifest = Manifest {
        version: cinelock_core::media::MANIFEST_VERSION,
        asset_id: input.asset_id.to_owned(),
        package_id: input.package_id.to_owned(),
        kind: input.kind,
        duration,
        poster,
        tracks,
    };
    let json = manifest
        .to_json()
        .map_err(|e| AppError::Worker(format!("manifest: {e}")))?;
    let (sealed, nonce) = sealer.seal("", ObjectKind::Manifest, 0, "manifest.cnls", json)?;
    storage
        .put_object(&format!("{}manifest.cnls", sealer.prefix), sealed.clone())
        .await?;
    Ok(Published {
        manifest,
        nonce,
        sealed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlist_and_codecs() {
        let text = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4.000000,\n00000.m4s\n#EXTINF:3.3,\n00001.m4s\n#EXT-X-ENDLIST\n";
        assert_eq!(
            parse_playlist(text).unwrap(),
            [
                Listed {
                    file: "00000.m4s".into(),
                    duration: 4.0
                },
                Listed {
                    file: "00001.m4s".into(),
                    duration: 3.3
                }
            ]
        );
        assert!(parse_playlist("#EXTM3U\n").is_err());
        assert!(parse_playlist("#EXTINF:x,\na.m4s\n").is_err());
        assert!(parse_playlist("a.m4s\n").is_err());
        let init = [b"....avcC".as_slice(), &[1, 0x64, 0x00, 0x1f, 0xff]].concat();
        assert_eq!(avc_codecs(&init).as_deref(), Some("avc1.64001f"));
        assert_eq!(avc_codecs(b"moov"), None);
    }
}
