//! The package manifest: tracks (video renditions and audio), their codecs, bandwidth,
//! resolution, and every segment's time, duration, sealed size and nonce. It is JSON, sealed
//! like any other object of the package ([`crate::media::ObjectKind::Manifest`]), and validated
//! here on parse, so a player or worker never acts on a manifest that breaks its own rules.
//! Each listed object's nonce pins that exact object: an older object sealed at the same place
//! (an earlier transcode attempt) opens under the same key, but carries another nonce.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::media::SEGMENT_OVERHEAD;

/// Manifest format version this build writes and reads (2: every object's nonce is listed).
pub const MANIFEST_VERSION: u32 = 2;

/// The 12-byte nonce of one sealed object, written as 24 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ObjectNonce(pub [u8; 12]);

impl core::fmt::Debug for ObjectNonce {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ObjectNonce({})", hex::encode(self.0))
    }
}

impl ObjectNonce {
    /// Parses 24 lowercase hex digits (the only form the format allows).
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 24
            || !s
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            return None;
        }
        let mut n = [0u8; 12];
        hex::decode_to_slice(s, &mut n).ok()?;
        Some(Self(n))
    }
}

impl Serialize for ObjectNonce {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for ObjectNonce {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s)
            .ok_or_else(|| serde::de::Error::custom("nonce must be 24 lowercase hex digits"))
    }
}

/// What a package holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageKind {
    /// The full rendition ladder.
    Full,
    /// The first seconds at the lowest rendition, ready fast.
    Preview,
}

/// A track's media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    Video,
    Audio,
}

/// One sealed object of the package: its path (relative to the package), sealed size and
/// nonce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaFile {
    pub path: String,
    pub size: u64,
    pub nonce: ObjectNonce,
}

/// One media segment: presentation start and duration in seconds, and its sealed object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub start: f64,
    pub duration: f64,
    pub path: String,
    pub size: u64,
    pub nonce: ObjectNonce,
}

/// A video rendition or the audio track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Track {
    /// Short id, `[a-z0-9_-]{1,32}`; part of every segment's associated data.
    pub id: String,
    pub kind: TrackKind,
    /// MIME type for `MediaSource.isTypeSupported` / `addSourceBuffer` (`video/mp4`, `audio/mp4`).
    pub mime: String,
    /// RFC 6381 codecs string (`avc1.64001f`, `mp4a.40.2`).
    pub codecs: String,
    /// Peak bits per second (sealed segment bytes over their durations).
    pub bandwidth: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub init: MediaFile,
    pub segments: Vec<Segment>,
}

/// The poster image (JPEG).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poster {
    pub path: String,
    pub size: u64,
    pub nonce: ObjectNonce,
    pub mime: String,
    pub width: u32,
    pub height: u32,
}

/// A package manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub version: u32,
    pub asset_id: String,
    pub package_id: String,
    pub kind: PackageKind,
    /// Seconds: the longest track's end.
    pub duration: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poster: Option<Poster>,
    /// Video renditions from lowest to highest bandwidth, then at most one audio track.
    pub tracks: Vec<Track>,
}

fn bad(what: impl Into<String>) -> Error {
    Error::Manifest(what.into())
}

fn check_id(what: &str, id: &str, max: usize) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= max
        && id
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_');
    if ok {
        Ok(())
    } else {
        Err(bad(format!("{what} {id:?} is not [a-z0-9_-]{{1,{max}}}")))
    }
}

fn check_path(path: &str) -> Result<(), Error> {
    let ok = !path.is_empty()
        && path.len() <= 128
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
        && path
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!("path {path:?} is not a plain relative path")))
    }
}

fn check_size(path: &str, size: u64) -> Result<(), Error> {
    if size > SEGMENT_OVERHEAD as u64 {
        Ok(())
    } else {
        Err(bad(format!(
            "{path}: size {size} is below the sealed overhead"
        )))
    }
}

/// The manifest, each track, init, segment and the poster must be JSON objects.
fn check_objects(v: &serde_json::Value) -> Result<(), Error> {
    let object = |v: &serde_json::Value, what: &str| {
        if v.is_object() {
            Ok(())
        } else {
            Err(bad(format!("{what} must be a JSON object")))
        }
    };
    object(v, "the manifest")?;
    if let Some(p) = v.get("poster").filter(|p| !p.is_null()) {
        object(p, "poster")?;
    }
    for t in v
        .get("tracks")
        .and_then(|t| t.as_array())
        .into_iter()
        .flatten()
    {
        object(t, "a track")?;
        if let Some(i) = t.get("init") {
            object(i, "init")?;
        }
        for s in t
            .get("segments")
            .and_then(|s| s.as_array())
            .into_iter()
            .flatten()
        {
            object(s, "a segment")?;
        }
    }
    Ok(())
}

impl Manifest {
    /// Parses and validates manifest JSON (the plaintext of the sealed manifest object).
    ///
    /// The caller must still check that `asset_id` and `package_id` are those of the place it
    /// opened the manifest at (`docs/format.md` §14.5.4).
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        // serde would also read a struct from a JSON array (positionally); the format says
        // objects, so anything else is refused before it is read.
        check_objects(&value)?;
        // Read from the bytes, not the value: a value keeps only the last of duplicate members,
        // where reading the struct refuses them.
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        m.validate()?;
        Ok(m)
    }

    /// Opens a sealed manifest object of `package_id` of `asset_id`, whose nonce the session
    /// named (`nonce`), parses and validates it, and checks that it names the asset and package
    /// it was opened as.
    pub fn open(
        key: &crate::media::ContentKey,
        asset_id: &str,
        package_id: &str,
        nonce: &ObjectNonce,
        sealed: &[u8],
    ) -> Result<Self, Error> {
        let at = crate::media::ObjectRef {
            asset_id,
            package_id,
            track_id: "",
            kind: crate::media::ObjectKind::Manifest,
            index: 0,
        };
        let json = crate::media::open_pinned_object(key, &at, &nonce.0, sealed)?;
        let m = Self::from_json(&json)?;
        if m.asset_id != asset_id || m.package_id != package_id {
            return Err(bad("the manifest names another asset or package"));
        }
        Ok(m)
    }

    /// The manifest as JSON, after the same validation a reader applies.
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        self.validate()?;
        serde_json::to_vec(self).map_err(|e| bad(e.to_string()))
    }

    /// Video renditions, lowest bandwidth first.
    pub fn video(&self) -> impl Iterator<Item = &Track> {
        self.tracks.iter().filter(|t| t.kind == TrackKind::Video)
    }

    /// The audio track, if the source had audio.
    pub fn audio(&self) -> Option<&Track> {
        self.tracks.iter().find(|t| t.kind == TrackKind::Audio)
    }

    /// A track by id.
    pub fn track(&self, id: &str) -> Option<&Track> {
        self.tracks.iter().find(|t| t.id == id)
    }

    /// Checks every rule of the format (see `docs/format.md`).
    pub fn validate(&self) -> Result<(), Error> {
        if self.version != MANIFEST_VERSION {
            return Err(bad(format!(
                "version {} is not {MANIFEST_VERSION}",
                self.version
            )));
        }
        check_id("asset id", &self.asset_id, 64)?;
        check_id("package id", &self.package_id, 64)?;
        if !(self.duration.is_finite() && self.duration > 0.0) {
            return Err(bad("duration must be a positive number"));
        }
        if let Some(p) = &self.poster {
            check_path(&p.path)?;
            check_size(&p.path, p.size)?;
        }
        if self.video().next().is_none() {
            return Err(bad("no video track"));
        }
        if self
            .tracks
            .iter()
            .filter(|t| t.kind == TrackKind::Audio)
            .count()
            > 1
        {
            return Err(bad("more than one audio track"));
        }
        let mut last_bw = 0;
        for (i, t) in self.tracks.iter().enumerate() {
            check_id("track id", &t.id, 32)?;
            if self.tracks[..i].iter().any(|o| o.id == t.id) {
                return Err(bad(format!("track id {} repeats", t.id)));
            }
            if t.kind == TrackKind::Video {
                if t.bandwidth < last_bw {
                    return Err(bad("video tracks must be ordered by bandwidth"));
                }
                last_bw = t.bandwidth;
                if t.width.unwrap_or(0) == 0 || t.height.unwrap_or(0) == 0 {
                    return Err(bad(format!("video track {} lacks its size", t.id)));
                }
            }
            if t.bandwidth == 0 || t.codecs.is_empty() || t.mime.is_empty() {
                return Err(bad(format!(
                    "track {} lacks bandwidth, codecs or mime",
                    t.id
                )));
            }
            check_path(&t.init.path)?;
            check_size(&t.init.path, t.init.size)?;
            if t.segments.is_empty() {
                return Err(bad(format!("track {} has no segments", t.id)));
            }
            let mut end = 0.0f64;
            for s in &t.segments {
                check_path(&s.path)?;
                check_size(&s.path, s.size)?;
                if !(s.duration.is_finite() && s.duration > 0.0 && s.start.is_finite()) {
                    return Err(bad(format!("{}: bad duration", s.path)));
                }
                // Starts follow on from the previous segment (a millisecond of rounding allowed).
                if (s.start - end).abs() > 0.001 {
                    return Err(bad(format!("{}: starts at {} not {end}", s.path, s.start)));
                }
                end = s.start + s.duration;
            }
        }
        Ok(())
    }
}

impl Track {
    /// The index of the segment that holds time `t` (seconds); the last one past the end.
    pub fn segment_at(&self, t: f64) -> usize {
        self.segments
            .iter()
            .position(|s| t < s.start + s.duration)
            .unwrap_or(self.segments.len().saturating_sub(1))
    }

    /// The track's end time in seconds.
    pub fn end(&self) -> f64 {
        self.segments.last().map_or(0.0, |s| s.start + s.duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Manifest {
        let seg = |track: &str, i: usize, start: f64, duration: f64| Segment {
            start,
            duration,
            path: format!("{track}/{i:05}.cnls"),
            size: 1000,
            nonce: ObjectNonce([i as u8; 12]),
        };
        let video = |id: &str, bw: u64, h: u32| Track {
            id: id.into(),
            kind: TrackKind::Video,
            mime: "video/mp4".into(),
            codecs: "avc1.64001e".into(),
            bandwidth: bw,
            width: Some(h * 16 / 9),
            height: Some(h),
            init: MediaFile {
                path: format!("{id}/init.cnls"),
                size: 800,
                nonce: ObjectNonce([0xab; 12]),
            },
            segments: vec![seg(id, 0, 0.0, 4.0), seg(id, 1, 4.0, 3.3)],
        };
        Manifest {
            version: MANIFEST_VERSION,
            asset_id: "a1".into(),
            package_id: "p1".into(),
            kind: PackageKind::Full,
            duration: 7.3,
            poster: None,
            tracks: vec![video("v240", 400_000, 240), video("v360", 800_000, 360)],
        }
    }

    #[test]
    fn round_trip_and_rules() {
        let m = sample();
        assert_eq!(Manifest::from_json(&m.to_json().unwrap()).unwrap(), m);
        assert_eq!(m.track("v360").unwrap().segment_at(5.0), 1);
        assert_eq!(m.track("v360").unwrap().segment_at(99.0), 1);
        let breaks: Vec<fn(&mut Manifest)> = vec![
            |m| m.version = 1,
            |m| m.tracks.clear(),
            |m| m.tracks[0].segments.clear(),
            |m| m.tracks[0].segments[1].start = 5.0,
            |m| m.tracks[0].segments[0].path = "../x".into(),
            |m| m.tracks[0].segments[0].size = 10,
            |m| m.tracks[1].id = "v240".into(),
            |m| m.tracks[0].bandwidth = 900_000,
            |m| m.duration = f64::NAN,
            |m| m.asset_id = "A/../b".into(),
        ];
        for (i, f) in breaks.into_iter().enumerate() {
            let mut bad = sample();
            f(&mut bad);
            assert!(
                matches!(bad.validate(), Err(Error::Manifest(_))),
                "case {i}"
            );
        }
        assert!(Manifest::from_json(b"{\"version\":2}").is_err());
        // Nonces: exactly 24 lowercase hex digits.
        let text = String::from_utf8(m.to_json().unwrap()).unwrap();
        let nonce = hex::encode([0xabu8; 12]);
        assert!(text.contains(&nonce));
        for other in [
            nonce.to_uppercase(),
            nonce[1..].to_owned(),
            format!("{nonce}00"),
        ] {
            let changed = text.replacen(&nonce, &other, 1);
            assert!(Manifest::from_json(changed.as_bytes()).is_err(), "{other}");
        }
        // Positional (array) forms of the objects are refused.
        let json: serde_json::Value = serde_json::from_slice(&m.to_json().unwrap()).unwrap();
        let as_array = |v: &serde_json::Value| {
            serde_json::Value::Array(v.as_object().unwrap().values().cloned().collect())
        };
        let mut whole = as_array(&json);
        assert!(Manifest::from_json(whole.to_string().as_bytes()).is_err());
        for path in ["/tracks/0", "/tracks/0/init", "/tracks/0/segments/0"] {
            let mut v = json.clone();
            let arr = as_array(v.pointer(path).unwrap());
            *v.pointer_mut(path).unwrap() = arr;
            assert!(
                Manifest::from_json(v.to_string().as_bytes()).is_err(),
                "{path}"
            );
        }
        whole = json;
        assert!(Manifest::from_json(whole.to_string().as_bytes()).is_ok());
    }
}
