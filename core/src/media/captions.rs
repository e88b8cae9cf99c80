//! Caption and subtitle tracks: what the server accepts before it seals one, so a player is
//! never handed a file the browser's WebVTT parser would drop, and a caption's language and
//! label are fit to show in a menu.
//!
//! A caption is one WebVTT file of the asset (not of a package), sealed as a media object of
//! kind [`crate::media::ObjectKind::Caption`]. The checks here are the structure a browser
//! needs (the `WEBVTT` signature, cue timings that parse and do not run backwards); cue text is
//! left as it is, since browsers render it as text, never as markup of the page.

use crate::Error;

/// The largest WebVTT file accepted: about ten hours of dense subtitles.
pub const MAX_CAPTION_BYTES: usize = 1024 * 1024;
/// Caption tracks one asset may have.
pub const MAX_CAPTIONS_PER_ASSET: usize = 32;
/// The longest label (characters).
pub const MAX_LABEL_CHARS: usize = 64;

/// What a valid WebVTT file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptionSummary {
    /// How many cues.
    pub cues: u32,
    /// When the last cue ends (ms).
    pub end_ms: u64,
}

fn bad(what: impl Into<String>) -> Error {
    Error::Captions(what.into())
}

/// Checks a BCP 47 language tag's shape: a 2–3 letter language, then subtags of 1–8 letters or
/// digits (`en`, `pt-BR`, `zh-Hant-TW`, `es-419`), at most 35 characters.
pub fn check_language(tag: &str) -> Result<(), Error> {
    let mut parts = tag.split('-');
    let lang = parts.next().unwrap_or_default();
    let ok = tag.len() <= 35
        && (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_alphabetic())
        && parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "language {tag:?} is not a language tag like \"en\" or \"pt-BR\""
        )))
    }
}

/// Checks a label shown in the player's menu: 1 to [`MAX_LABEL_CHARS`] characters, no control
/// characters, not only spaces.
pub fn check_label(label: &str) -> Result<(), Error> {
    let chars = label.chars().count();
    if label.trim().is_empty() || chars > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(bad(format!(
            "label must be 1 to {MAX_LABEL_CHARS} characters without control characters"
        )));
    }
    Ok(())
}

/// Which of `tracks` (id, language) a viewer's `wanted` names: the track with that id, else
/// the first whose language is that tag or a more specific one (`"pt"` finds `pt-BR`), case
/// aside.
pub fn choose_caption<'a>(tracks: &[(&'a str, &'a str)], wanted: &str) -> Option<&'a str> {
    let by_language = |&&(_, lang): &&(&str, &str)| {
        lang.eq_ignore_ascii_case(wanted)
            || (lang.len() > wanted.len()
                && lang.as_bytes()[wanted.len()] == b'-'
                && lang[..wanted.len()].eq_ignore_ascii_case(wanted))
    };
    tracks
        .iter()
        .find(|(id, _)| *id == wanted)
        .or_else(|| tracks.iter().find(by_language))
        .map(|(id, _)| *id)
}

/// A WebVTT timestamp (`mm:ss.ttt` or `hh:mm:ss.ttt`, hours of any length) in ms.
fn timestamp(s: &str) -> Option<u64> {
    let (clock, ms) = s.split_once('.')?;
    if ms.len() != 3 || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fields: Vec<&str> = clock.split(':').collect();
    let (h, m, sec) = match fields[..] {
        [m, s] => ("0", m, s),
        [h, m, s] if h.len() >= 2 => (h, m, s),
        _ => return None,
    };
    let two = |x: &str| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit());
    if !two(m) || !two(sec) || !h.bytes().all(|b| b.is_ascii_digit()) || h.len() > 6 {
        return None;
    }
    let (h, m, sec, ms): (u64, u64, u64, u64) = (
        h.parse().ok()?,
        m.parse().ok()?,
        sec.parse().ok()?,
        ms.parse().ok()?,
    );
    if m > 59 || sec > 59 {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1000 + ms)
}

/// Checks a WebVTT file: UTF-8 without NUL, at most [`MAX_CAPTION_BYTES`], the `WEBVTT`
/// signature (after an optional byte order mark), at least one cue, and every cue timing line
/// `start --> end` with valid timestamps, `end > start`, and starts that never go back.
pub fn check_webvtt(bytes: &[u8]) -> Result<CaptionSummary, Error> {
    if bytes.len() > MAX_CAPTION_BYTES {
        return Err(bad(format!(
            "a caption file is at most {MAX_CAPTION_BYTES} bytes"
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| bad("a WebVTT file is UTF-8 text"))?;
    if text.contains('\0') {
        return Err(bad("a WebVTT file holds no NUL characters"));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or_default();
    let signed = first == "WEBVTT"
        || first
            .strip_prefix("WEBVTT")
            .is_some_and(|rest| rest.starts_with([' ', '\t']));
    if !signed {
        return Err(bad("a WebVTT file starts with the line \"WEBVTT\""));
    }
    let mut cues = 0u32;
    let mut last_start = 0u64;
    let mut end_ms = 0u64;
    for (n, line) in text.lines().enumerate().skip(1) {
        let Some((start, rest)) = line.split_once("-->") else {
            continue;
        };
        let at = n + 1;
        let start = timestamp(start.trim_end_matches([' ', '\t']))
            .ok_or_else(|| bad(format!("line {at}: the cue's start is not a timestamp")))?;
        let rest = rest.trim_start_matches([' ', '\t']);
        let end = rest.split([' ', '\t']).next().unwrap_or_default();
        let end = timestamp(end)
            .ok_or_else(|| bad(format!("line {at}: the cue's end is not a timestamp")))?;
        if end <= start {
            return Err(bad(format!("line {at}: the cue ends before it starts")));
        }
        if start < last_start {
            return Err(bad(format!(
                "line {at}: cues must be in order of their start times"
            )));
        }
        last_start = start;
        end_ms = end_ms.max(end);
        cues += 1;
    }
    if cues == 0 {
        return Err(bad("the WebVTT file has no cues"));
    }
    Ok(CaptionSummary { cues, end_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "WEBVTT - the pilot\n\nNOTE made by hand\n\n1\n00:00.500 --> 00:02.000 line:90%\nHello <b>there</b>\n\n01:00:01.000 --> 01:00:03.250\nAn hour in\n";

    #[test]
    fn a_valid_file_is_summarised() {
        assert_eq!(
            check_webvtt(GOOD.as_bytes()).unwrap(),
            CaptionSummary {
                cues: 2,
                end_ms: 3_603_250
            }
        );
        let bom = format!("\u{feff}{GOOD}");
        assert!(check_webvtt(bom.as_bytes()).is_ok());
        assert!(check_webvtt(b"WEBVTT\r\n\r\n00:01.000 --> 00:02.000\r\nhi\r\n").is_ok());
    }

    #[test]
    fn broken_files_are_refused_with_the_reason() {
        for (file, says) in [
            (&b"00:01.000 --> 00:02.000\nhi\n"[..], "starts with"),
            (b"WEBVTTX\n\n00:01.000 --> 00:02.000\nhi\n", "starts with"),
            (b"WEBVTT\n\njust text\n", "no cues"),
            (b"WEBVTT\n\n00:01 --> 00:02.000\nhi\n", "start is not"),
            (b"WEBVTT\n\n00:01.000 --> 00:61.000\nhi\n", "end is not"),
            (b"WEBVTT\n\n00:03.000 --> 00:02.000\nhi\n", "ends before"),
            (
                b"WEBVTT\n\n00:05.000 --> 00:06.000\na\n\n00:01.000 --> 00:02.000\nb\n",
                "in order",
            ),
            (b"WEBVTT\n\n\xff\n", "UTF-8"),
            (b"WEBVTT\n\n00:01.000 --> 00:02.000\n\0\n", "NUL"),
        ] {
            let e = check_webvtt(file).unwrap_err();
            assert_eq!(e.code(), "invalid_captions");
            assert!(e.to_string().contains(says), "{e} should say {says:?}");
        }
        let big = format!("WEBVTT\n\n{}", "x".repeat(MAX_CAPTION_BYTES));
        assert!(check_webvtt(big.as_bytes()).is_err());
    }

    #[test]
    fn a_caption_is_chosen_by_id_or_language() {
        let tracks = [("a", "en"), ("b", "pt-BR"), ("c", "PT"), ("d", "de")];
        assert_eq!(choose_caption(&tracks, "d"), Some("d"));
        assert_eq!(choose_caption(&tracks, "EN"), Some("a"));
        assert_eq!(choose_caption(&tracks, "pt"), Some("b"));
        assert_eq!(choose_caption(&tracks, "pt-br"), Some("b"));
        assert_eq!(choose_caption(&tracks, "p"), None);
        assert_eq!(choose_caption(&tracks, "fr"), None);
        assert_eq!(choose_caption(&[], "en"), None);
    }

    #[test]
    fn languages_and_labels() {
        for ok in ["en", "pt-BR", "zh-Hant-TW", "es-419", "fil"] {
            assert!(check_language(ok).is_ok(), "{ok}");
        }
        for bad in ["", "e", "english", "en_US", "en-", "en-toolongsubtag", "1a"] {
            assert!(check_language(bad).is_err(), "{bad}");
        }
        assert!(check_label("English (CC)").is_ok());
        assert!(check_label("Français").is_ok());
        for bad in ["", "   ", "a\nb", &"x".repeat(65)] {
            assert!(check_label(bad).is_err(), "{bad:?}");
        }
    }
}
