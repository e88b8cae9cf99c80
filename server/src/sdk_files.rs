//! The SDK's files as the server serves them (`/sdk/…`): read once at start, named by a digest
//! of their content, and cached by browsers and CDNs for as long as that name lives.
//!
//! - `/sdk/<build>/dist/…` and `/sdk/<build>/pkg/…`: this server's build of the SDK. The name
//!   changes with any byte of any file, so these answers are `immutable` for a year.
//! - `/sdk/dist/…` and `/sdk/pkg/…`, the paths snippets and pages name: revalidated on every
//!   use (`no-cache` and an `ETag`, a 304 when nothing changed). A JavaScript module there is a
//!   small module that re-exports the same module under `/sdk/<build>/`, so a page imports
//!   one build, whole: the glue with its `.wasm` and every module of the graph together, even
//!   the day after an upgrade. It also imports the whole graph up front (`pointer_module`).
//!   Before, the files had only `Last-Modified`, browsers kept them by heuristic freshness
//!   under names that never change, and could pair one version's module with another's.
//! - Compressed copies go to clients that accept them: brotli where `scripts/build-sdk` wrote
//!   one (`<file>.br`, checked here to open to its file), else gzip, made at start. The `.wasm`
//!   goes out at under a third of its size.
//!
//! The server reads the files once: a rebuilt SDK is served after a restart.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::AppError;

/// The two directories of a built SDK (`scripts/build-sdk`), served as they are laid out, so
/// that the glue's `new URL("….wasm", import.meta.url)` and the modules' relative imports
/// resolve within one build.
const DIRS: [&str; 2] = ["dist", "pkg"];

/// A year: the longest freshness caches honour, for names that never change content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Names that outlive builds: used from cache only after the server says it is still current.
const REVALIDATE: &str = "no-cache";

/// One file of the build, with its compressed copies when they are smaller.
#[derive(Debug)]
struct SdkFile {
    body: Bytes,
    br: Option<Bytes>,
    gzip: Option<Bytes>,
    content_type: &'static str,
    /// For a module: the module served under the build-independent name.
    pointer: Option<Bytes>,
}

/// The SDK's files, read once, and the name of their build.
#[derive(Debug)]
pub struct SdkFiles {
    build: String,
    /// `"<build>"`: every file's validator, since the build names all of them.
    etag: HeaderValue,
    files: BTreeMap<String, SdkFile>,
}

impl SdkFiles {
    /// Reads `sdk_dir`'s `dist/` and `pkg/` (either may be missing: nothing is served from it;
    /// no directory, nothing at all).
    pub fn load(sdk_dir: Option<&Path>) -> Result<Self, AppError> {
        let mut all = BTreeMap::new();
        for (sdk_dir, dir) in sdk_dir.into_iter().flat_map(|d| DIRS.map(|dir| (d, dir))) {
            read_tree(&sdk_dir.join(dir), dir, &mut all).map_err(|e| {
                AppError::Config(format!("reading the SDK in {}: {e}", sdk_dir.display()))
            })?;
        }
        // The brotli copies are not files of the build: they only stand in for one.
        let (brotli, raw): (BTreeMap<_, _>, BTreeMap<_, _>) =
            all.into_iter().partition(|(path, _)| path.ends_with(".br"));
        let build = build_name(&raw);
        let pointers: BTreeMap<String, Bytes> = raw
            .iter()
            .filter(|(path, _)| path.ends_with(".js"))
            .map(|(path, body)| {
                let order = run_order(path, &raw).unwrap_or_default();
                (path.clone(), pointer_module(&build, path, body, &order))
            })
            .collect();
        let files = raw
            .into_iter()
            .map(|(path, body)| {
                let file = SdkFile {
                    br: brotli
                        .get(&format!("{path}.br"))
                        .and_then(|copy| opens_to(copy, &body)),
                    gzip: gzip(&body),
                    content_type: content_type(&path),
                    pointer: pointers.get(&path).cloned(),
                    body: Bytes::from(body),
                };
                (path, file)
            })
            .collect();
        let etag = HeaderValue::from_str(&format!("\"{build}\""))
            .map_err(|e| AppError::Config(format!("the SDK's build name: {e}")))?;
        Ok(Self { build, etag, files })
    }

    /// The build's name, as it appears in `/sdk/<build>/…`.
    pub fn build(&self) -> &str {
        &self.build
    }
}

/// Every file under `dir`, keyed by its path from the SDK directory (`dist/index.js`).
fn read_tree(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        let key = format!("{prefix}/{name}");
        if path.is_dir() {
            read_tree(&path, &key, out)?;
        } else {
            out.insert(key, std::fs::read(&path)?);
        }
    }
    Ok(())
}

/// 16 hex digits of a SHA-256 over every path and its content: any change, a new name.
fn build_name(files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut h = Sha256::new();
    for (path, body) in files {
        h.update((path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        h.update((body.len() as u64).to_le_bytes());
        h.update(body);
    }
    hex::encode(&h.finalize()[..8])
}

/// A brotli copy, kept when it opens to exactly `body` (a copy left from another build, or
/// damaged, is not sent) and saves something.
fn opens_to(copy: &[u8], body: &[u8]) -> Option<Bytes> {
    let mut opened = Vec::with_capacity(body.len());
    let mut reader = brotli_decompressor::Decompressor::new(copy, 64 * 1024);
    // One byte more than the file: a copy that opens to something longer is not its copy.
    std::io::Read::take(&mut reader, body.len() as u64 + 1)
        .read_to_end(&mut opened)
        .ok()?;
    (opened == body && copy.len() + 64 < body.len()).then(|| Bytes::copy_from_slice(copy))
}

/// The gzip copy, kept only when it saves something worth a `Vary`.
fn gzip(body: &[u8]) -> Option<Bytes> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(body).ok()?;
    let out = enc.finish().ok()?;
    (out.len() + 64 < body.len()).then(|| Bytes::from(out))
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    match ext {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The module served at a build-independent name: it re-exports the build's module, named
/// relative to itself so that the server can sit under any path prefix. A module's default
/// export (the wasm-bindgen glue's `init`) is not part of `export *`, so it is named too.
///
/// It first imports every module the build's module imports, however deep, in the order they
/// run (`order`): the browser then asks for all of them at once, where the module alone would
/// be fetched one level of its graph after another (a round trip each on a first visit). In
/// that order each module's imports come before it, so they run exactly as they would have.
fn pointer_module(build: &str, path: &str, body: &[u8], order: &[String]) -> Bytes {
    let up = "../".repeat(path.matches('/').count());
    let named = |p: &str| format!("{up}{build}/{p}");
    let target = named(path);
    let text = String::from_utf8_lossy(body);
    let has_default = text.contains("export default")
        || text.contains(" as default }")
        || text.contains(" as default,");
    let mut module = format!(
        "// This server's SDK build {build}: its files are cached for good, this one is revalidated.\n"
    );
    for dep in order {
        module.push_str(&format!("import \"{}\";\n", named(dep)));
    }
    module.push_str(&format!("export * from \"{target}\";\n"));
    if has_default {
        module.push_str(&format!("export {{ default }} from \"{target}\";\n"));
    }
    Bytes::from(module)
}

/// The modules `entry` runs before itself, in the order it runs them (the post-order of its
/// static imports). `None`, and so no list, where that order could differ from the module's
/// own: a cycle, or an import this parser does not follow to a file of the build.
fn run_order(entry: &str, files: &BTreeMap<String, Vec<u8>>) -> Option<Vec<String>> {
    fn visit(
        path: &str,
        files: &BTreeMap<String, Vec<u8>>,
        open: &mut Vec<String>,
        order: &mut Vec<String>,
    ) -> Option<()> {
        if order.iter().any(|p| p == path) {
            return Some(());
        }
        if open.iter().any(|p| p == path) {
            return None;
        }
        open.push(path.to_owned());
        let text = std::str::from_utf8(files.get(path)?).ok()?;
        for spec in static_imports(text) {
            visit(&resolve(path, spec)?, files, open, order)?;
        }
        open.pop();
        order.push(path.to_owned());
        Some(())
    }
    let mut order = Vec::new();
    visit(entry, files, &mut Vec::new(), &mut order)?;
    order.pop();
    Some(order)
}

/// The specifiers of a module's static imports and re-exports, in source order. tsc and
/// wasm-bindgen write each on one line that starts with `import` or `export` (or `}` closing a
/// list). Dynamic `import()` is not followed: it runs later, if at all.
fn static_imports(text: &str) -> Vec<&str> {
    fn quoted(s: &str) -> Option<&str> {
        let q = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let rest = &s[1..];
        rest.find(q).map(|end| &rest[..end])
    }
    text.lines()
        .filter_map(|line| {
            let l = line.trim_start();
            if let Some(spec) = l
                .strip_prefix("import ")
                .and_then(|r| quoted(r.trim_start()))
            {
                return Some(spec);
            }
            if !(l.starts_with("import ") || l.starts_with("export ") || l.starts_with('}')) {
                return None;
            }
            let at = l.find(" from ")?;
            quoted(l[at + " from ".len()..].trim_start())
        })
        .collect()
}

/// `spec` as a path of the build, from the module at `from`; `None` for a bare name or a path
/// that leaves the build.
fn resolve(from: &str, spec: &str) -> Option<String> {
    if !(spec.starts_with("./") || spec.starts_with("../")) {
        return None;
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for seg in spec.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// `GET /sdk/…` (and HEAD), from the files read at start.
pub fn routes<S>(sdk: Arc<SdkFiles>) -> Router<S> {
    Router::new().route("/{*path}", get(serve)).with_state(sdk)
}

async fn serve(
    State(sdk): State<Arc<SdkFiles>>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (name, versioned) = match path.split_once('/') {
        Some((build, rest)) if build == sdk.build => (rest, true),
        _ => (path.as_str(), false),
    };
    let file = sdk.files.get(name).ok_or(AppError::NotFound)?;
    let cache = HeaderValue::from_static(if versioned { IMMUTABLE } else { REVALIDATE });
    // A pointer is a few lines: sent as it is.
    let (body, copies) = match (&file.pointer, versioned) {
        (Some(pointer), false) => (pointer.clone(), [None, None]),
        _ => (file.body.clone(), [&file.br, &file.gzip].map(Clone::clone)),
    };
    let varies = copies.iter().any(Option::is_some);
    let mut res = if matches(&headers, &sdk.build) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut res = Response::new(Body::empty());
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(file.content_type),
        );
        // The smaller copy first, where the client takes it.
        let coded = ["br", "gzip"]
            .into_iter()
            .zip(copies)
            .find_map(|(coding, copy)| {
                copy.filter(|_| accepts(&headers, coding))
                    .map(|c| (coding, c))
            });
        *res.body_mut() = match coded {
            Some((coding, copy)) => {
                res.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
                Body::from(copy)
            }
            None => Body::from(body),
        };
        res
    };
    let h = res.headers_mut();
    h.insert(header::ETAG, sdk.etag.clone());
    h.insert(header::CACHE_CONTROL, cache);
    if varies {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    Ok(res)
}

/// Whether `If-None-Match` names this build (a weak tag counts: the comparison is weak).
fn matches(headers: &HeaderMap, build: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| {
            tag == "*" || tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) == Some(build)
        })
}

/// Whether `Accept-Encoding` admits `coding` (named or `*`, with a quality above 0).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    let mut named = None;
    let mut any = None;
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name == coding || (coding == "gzip" && name == "x-gzip") {
            named = Some(q > 0.0);
        } else if name == "*" {
            any = Some(q > 0.0);
        }
    }
    named.or(any).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_coding_is_sent_only_where_accepted() {
        let ae = header::ACCEPT_ENCODING;
        let chromium = headers(&[(ae.clone(), "gzip, deflate, br, zstd")]);
        assert!(accepts(&chromium, "gzip") && accepts(&chromium, "br"));
        let star = headers(&[(ae.clone(), "br;q=1.0, *;q=0.5")]);
        assert!(accepts(&star, "gzip") && accepts(&star, "br"));
        let refused = headers(&[(ae.clone(), "gzip;q=0, *")]);
        assert!(!accepts(&refused, "gzip") && accepts(&refused, "br"));
        assert!(accepts(&headers(&[(ae.clone(), "x-gzip")]), "gzip"));
        assert!(!accepts(&headers(&[(ae.clone(), "identity")]), "gzip"));
        assert!(!accepts(&headers(&[(ae.clone(), "gzip")]), "br"));
        assert!(!accepts(&headers(&[]), "gzip"));
    }

    #[test]
    fn if_none_match_compares_weakly_and_in_lists() {
        let inm = header::IF_NONE_MATCH;
        assert!(matches(&headers(&[(inm.clone(), "\"abc\"")]), "abc"));
        assert!(matches(
            &headers(&[(inm.clone(), "\"x\", W/\"abc\"")]),
            "abc"
        ));
        assert!(matches(&headers(&[(inm.clone(), "*")]), "abc"));
        assert!(!matches(&headers(&[(inm.clone(), "\"abd\"")]), "abc"));
        assert!(!matches(&headers(&[]), "abc"));
    }

    #[test]
    fn a_pointer_names_its_module_relative_to_itself_and_keeps_a_default_export() {
        let p = pointer_module("b1", "dist/internal/wasm.js", b"export const a = 1;", &[]);
        let p = String::from_utf8(p.to_vec()).unwrap();
        assert!(
            p.contains("export * from \"../../b1/dist/internal/wasm.js\";"),
            "{p}"
        );
        assert!(!p.contains("default"), "{p}");
        let glue = pointer_module(
            "b1",
            "pkg/glue.js",
            b"export { initSync, __wbg_init as default };",
            &[],
        );
        let glue = String::from_utf8(glue.to_vec()).unwrap();
        assert!(
            glue.contains("export { default } from \"../b1/pkg/glue.js\";"),
            "{glue}"
        );
    }

    fn tree(files: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        files
            .iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_modules_imports_are_listed_in_the_order_they_run() {
        let files = tree(&[
            (
                "dist/index.js",
                "/**\n * import { x } from \"cinelock\";\n */\nimport { a } from \"./public/a.js\";\n\
                 export { b } from './public/b.js';\nimport \"./side.js\";\nconst w = import(\"./lazy.js\");",
            ),
            (
                "dist/public/a.js",
                "import init, * as wasm from \"../../pkg/glue.js\";\nimport { c } from \"../internal/c.js\";",
            ),
            (
                "dist/public/b.js",
                "import {\n  c,\n} from \"../internal/c.js\";",
            ),
            ("dist/internal/c.js", "export const c = 1;"),
            ("dist/side.js", ""),
            ("dist/lazy.js", ""),
            ("pkg/glue.js", "export { initSync, __wbg_init as default };"),
        ]);
        let order = run_order("dist/index.js", &files).unwrap();
        assert_eq!(
            order,
            [
                "pkg/glue.js",
                "dist/internal/c.js",
                "dist/public/a.js",
                "dist/public/b.js",
                "dist/side.js"
            ]
        );
        let p = pointer_module("b1", "dist/index.js", b"", &order);
        let p = String::from_utf8(p.to_vec()).unwrap();
        let glue = p.find("import \"../b1/pkg/glue.js\";").unwrap();
        let a = p.find("import \"../b1/dist/public/a.js\";").unwrap();
        let entry = p.find("export * from \"../b1/dist/index.js\";").unwrap();
        assert!(glue < a && a < entry, "{p}");
    }

    #[test]
    fn no_list_where_the_order_could_differ() {
        let cycle = tree(&[
            ("dist/index.js", "import \"./a.js\";"),
            ("dist/a.js", "import \"./b.js\";"),
            ("dist/b.js", "import \"./a.js\";"),
        ]);
        assert_eq!(run_order("dist/index.js", &cycle), None);
        let outside = tree(&[("dist/index.js", "import { x } from \"some-package\";")]);
        assert_eq!(run_order("dist/index.js", &outside), None);
        let missing = tree(&[("dist/index.js", "import \"./gone.js\";")]);
        assert_eq!(run_order("dist/index.js", &missing), None);
        let escape = tree(&[("dist/index.js", "import \"../../../etc.js\";")]);
        assert_eq!(run_order("dist/index.js", &escape), None);
    }
}
