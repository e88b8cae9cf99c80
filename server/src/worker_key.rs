//! The transcode workers' key pair for local set-ups (`cinelock-server generate-worker-key`).
//! The secret key goes to a file only its owner can read; the public key, which is all the
//! server needs, is returned for printing. An existing key file is never overwritten: uploads
//! sealed to it would become unreadable.

use std::io::Write;
use std::path::Path;

use cinelock_core::{RecipientPublicKey, RecipientSecretKey};
use rand::RngCore;

use crate::AppError;

/// The key pair in `path`, created there first if the file does not exist. The flag says
/// whether it was created now.
pub fn ensure(path: &Path) -> Result<(RecipientPublicKey, bool), AppError> {
    let fail = |what: &str, e: std::io::Error| {
        AppError::Config(format!("cannot {what} {}: {e}", path.display()))
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = hex::decode(text.trim())
                .ok()
                .and_then(|b| RecipientSecretKey::from_bytes(&b).ok())
                .ok_or_else(|| {
                    AppError::Config(format!(
                        "{} exists but is not a 32-byte X25519 secret key in hex; refusing to overwrite it",
                        path.display()
                    ))
                })?;
            return Ok((key.public_key().clone(), false));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail("read", e)),
    }
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let key = RecipientSecretKey::from_seed(&seed);
    write_secret_file(path, &hex::encode(key.to_bytes()))?;
    Ok((key.public_key().clone(), true))
}

/// Writes `text` to a new file readable only by its owner; never replaces an existing file.
pub(crate) fn write_secret_file(path: &Path, text: &str) -> Result<(), AppError> {
    let fail = |what: &str, e: std::io::Error| {
        AppError::Config(format!("cannot {what} {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail("create the directory of", e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    // create_new: a file that appeared since the caller looked is not clobbered either.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Owner-only from the first byte written, not chmod-ed afterwards.
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| fail("create", e))?;
    writeln!(file, "{text}").map_err(|e| fail("write", e))?;
    file.sync_all().map_err(|e| fail("write", e))?;
    Ok(())
}

/// Reads the workers' secret key file (what `ensure` wrote).
pub fn load_secret(path: &Path) -> Result<RecipientSecretKey, AppError> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        AppError::Config(format!(
            "cannot read the worker secret key {}: {e}",
            path.display()
        ))
    })?);
    let bytes = zeroize::Zeroizing::new(hex::decode(text.trim()).unwrap_or_default());
    RecipientSecretKey::from_bytes(&bytes).map_err(|_| {
        AppError::Config(format!(
            "{} is not a 32-byte X25519 secret key in hex",
            path.display()
        ))
    })
}
