//! `cinelock download`: an asset's original file, when its policy allows downloads. The
//! session is asked for like a player's, with a one-time key; the released data key is opened
//! here, and the sealed original is streamed from its presigned URL and opened chunk by chunk
//! into a temporary file beside the output, renamed only once every chunk authenticated.
//! Memory stays at a chunk or two whatever the size.

use std::io::Write;
use std::path::{Path, PathBuf};

use cinelock_contract::playback::{MintRequest, MintedToken, PlayAnswer, PlayRequest};
use cinelock_core::media::{Released, open_key};
use cinelock_core::policy::Deny;
use cinelock_core::{DataKey, HEADER_LEN, Header, RecipientSecretKey, StreamOpener};
use futures::StreamExt;
use serde_json::json;
use zeroize::Zeroizing;

use crate::CliError;
use crate::api::{Api, network, segment};
use crate::output::Output;

/// Who asks.
pub struct Credentials {
    /// A viewer token; without one, if the policy wants a token, the command mints a
    /// short-lived one with the API key (the policy must still allow downloads).
    pub token: Option<String>,
    pub password: Option<String>,
}

/// Asks for a download session with a one-time key; the key and the answer.
async fn session(
    api: &Api,
    id: &str,
    token: Option<String>,
    password: Option<String>,
) -> Result<(RecipientSecretKey, PlayAnswer), CliError> {
    let mut ikm = Zeroizing::new([0u8; 32]);
    rand::fill(&mut ikm[..]);
    let secret = RecipientSecretKey::from_seed(&ikm);
    let answer = api
        .post_anonymous(
            &format!("/v1/play/{}", segment(id)),
            &PlayRequest {
                public_key: hex::encode(secret.public_key().to_bytes()),
                token,
                password,
                download: true,
                package: None,
                start_rendition: None,
                initial_bandwidth: None,
                measured_bandwidth: None,
                seek_budget: None,
            },
        )
        .await?;
    Ok((secret, answer))
}

/// Downloads asset `id` to `out_path` (`-`: standard output).
pub async fn download(
    api: &Api,
    id: &str,
    creds: Credentials,
    out_path: &Path,
    out: &Output,
) -> Result<(), CliError> {
    let to_stdout = out_path == Path::new("-");
    let dir = if to_stdout {
        None
    } else {
        let dir = match out_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(CliError::Usage(format!(
                "cannot write {}: {} is not a directory",
                out_path.display(),
                dir.display()
            )));
        }
        Some(dir)
    };
    // The policy decides. Without a token, the session is asked for as it is; only if the
    // policy wants a token is one minted with the API key (short-lived, allowed to download).
    let (secret, answer) = match session(api, id, creds.token.clone(), creds.password.clone()).await
    {
        Err(CliError::Refused {
            reason: Some(r), ..
        }) if creds.token.is_none() && r == Deny::TokenRequired.reason() => {
            let minted: MintedToken = api
                .post(
                    &format!("/v1/assets/{}/viewer-tokens", segment(id)),
                    &MintRequest {
                        ttl: 300,
                        viewer: None,
                        download: true,
                        skip_password: false,
                    },
                )
                .await?;
            session(api, id, Some(minted.token), creds.password).await?
        }
        other => other?,
    };
    let grant = answer
        .download
        .ok_or_else(|| CliError::Server("the server granted a session but no download".into()))?;
    let released = hex::decode(&grant.key).map_err(|_| CliError::Integrity)?;
    let key = open_key(Released::SourceKey, &secret, id, &released)?;
    let key = DataKey::from_bytes(*key.as_bytes());
    let size = grant.size.max(0) as u64;
    let label = grant.filename.clone().unwrap_or_else(|| id.to_owned());
    let bar = out.bytes_bar(size, &label);

    let (mut sink, tmp): (Box<dyn Write>, Option<tempfile::NamedTempFile>) = match &dir {
        None => (Box::new(std::io::BufWriter::new(std::io::stdout())), None),
        Some(dir) => {
            let tmp = tempfile::Builder::new()
                .prefix(".cinelock-download-")
                .tempfile_in(dir)
                .map_err(|e| CliError::io("writing in", dir, e))?;
            let file = tmp
                .reopen()
                .map_err(|e| CliError::io("writing", tmp.path(), e))?;
            (
                Box::new(std::io::BufWriter::with_capacity(1 << 20, file)),
                Some(tmp),
            )
        }
    };
    let response = api
        .http()
        .get(&grant.url)
        .send()
        .await
        .map_err(|e| network("fetching the sealed file", e))?;
    if !response.status().is_success() {
        return Err(CliError::Network(format!(
            "fetching the sealed file: HTTP {}",
            response.status().as_u16()
        )));
    }
    let mut body = response.bytes_stream();
    let mut head = Vec::with_capacity(HEADER_LEN);
    let mut opener: Option<StreamOpener> = None;
    let mut plain = Vec::new();
    let mut written = 0u64;
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|e| network("fetching the sealed file", e))?;
        let mut piece = &piece[..];
        let opener = match &mut opener {
            Some(o) => o,
            None => {
                let take = (HEADER_LEN - head.len()).min(piece.len());
                head.extend_from_slice(&piece[..take]);
                piece = &piece[take..];
                if head.len() < HEADER_LEN {
                    continue;
                }
                let header = Header::parse(&head).map_err(|_| CliError::Integrity)?;
                opener.insert(StreamOpener::with_key(secret.clone(), &header, &key)?)
            }
        };
        opener.push(piece, &mut plain)?;
        written += write_out(&mut sink, &mut plain)?;
        bar.set_position(written);
    }
    let opener = opener.ok_or(CliError::Integrity)?;
    opener.finish(&mut plain)?;
    written += write_out(&mut sink, &mut plain)?;
    sink.flush()
        .map_err(|e| CliError::Io(format!("writing: {e}")))?;
    drop(sink);
    bar.finish_and_clear();
    if written != size {
        return Err(CliError::Integrity);
    }
    if let Some(tmp) = tmp {
        tmp.persist(out_path)
            .map_err(|e| CliError::io("writing", out_path, e.error))?;
        out.result(
            &out_path.display().to_string(),
            &format!("{} ({} bytes) -> {}", label, written, out_path.display()),
            json!({"type": "downloaded", "assetId": id, "file": out_path, "bytes": written, "filename": grant.filename}),
        );
    }
    Ok(())
}

/// Writes and clears the opened plaintext; its length.
fn write_out(sink: &mut Box<dyn Write>, plain: &mut Vec<u8>) -> Result<u64, CliError> {
    sink.write_all(plain)
        .map_err(|e| CliError::Io(format!("writing: {e}")))?;
    let n = plain.len() as u64;
    // Plaintext does not linger in freed memory.
    zeroize::Zeroize::zeroize(plain);
    plain.clear();
    Ok(n)
}
