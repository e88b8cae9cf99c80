//! Where the command's settings come from: flags win over environment variables (clap reads
//! both), and both win over the profile file (`~/.config/cinelock/config.toml`, or
//! `CINELOCK_CONFIG`), whose `[NAME]` tables are profiles (`default` unless `--profile`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::CliError;

/// One profile of the profile file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub endpoint: Option<String>,
    pub api_key: Option<String>,
    pub state_dir: Option<PathBuf>,
    /// Parts in flight per upload.
    pub parallel: Option<usize>,
    /// Where `import s3://…` reads: another store's endpoint, region and keys.
    pub source_endpoint: Option<String>,
    pub source_region: Option<String>,
    pub source_access_key: Option<String>,
    pub source_secret_key: Option<String>,
}

/// What the flags and environment gave.
#[derive(Debug, Default, Clone)]
pub struct Given {
    pub endpoint: Option<String>,
    pub api_key: Option<String>,
    pub profile: Option<String>,
    pub config: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
}

/// The settings a command runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server's base URL, without a trailing slash.
    pub endpoint: String,
    pub api_key: String,
    /// Resume records and the import ledger.
    pub state_dir: PathBuf,
    pub profile: Profile,
}

/// The profile file's default place.
fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("cinelock").join("config.toml"))
}

fn default_state_dir() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local").join("state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("cinelock")
}

/// Reads the profile `given.profile` (or `default`) from the profile file. A file named
/// explicitly must exist; so must a profile named explicitly.
pub fn load_profile(given: &Given) -> Result<Profile, CliError> {
    let (path, explicit) = match &given.config {
        Some(p) => (Some(p.clone()), true),
        None => (default_config_path(), false),
    };
    let text = match path.as_deref().map(std::fs::read_to_string) {
        Some(Ok(text)) => Some(text),
        Some(Err(e)) if explicit || e.kind() != std::io::ErrorKind::NotFound => {
            return Err(CliError::Config(format!(
                "cannot read the profile file {}: {e}",
                path.as_deref().unwrap_or(Path::new("")).display()
            )));
        }
        _ => None,
    };
    let name = given.profile.as_deref().unwrap_or("default");
    let Some(text) = text else {
        return match &given.profile {
            Some(p) => Err(CliError::Config(format!(
                "profile {p:?} asked for, but there is no profile file (looked for {})",
                path.map(|p| p.display().to_string())
                    .unwrap_or_else(|| "$HOME/.config/cinelock/config.toml".into())
            ))),
            None => Ok(Profile::default()),
        };
    };
    let path = path.unwrap_or_default();
    let mut profiles: BTreeMap<String, Profile> = toml::from_str(&text)
        .map_err(|e| CliError::Config(format!("the profile file {}: {e}", path.display())))?;
    match profiles.remove(name) {
        Some(p) => Ok(p),
        None if given.profile.is_none() => Ok(Profile::default()),
        None => Err(CliError::Config(format!(
            "the profile file {} has no [{name}] profile (it has: {})",
            path.display(),
            profiles.keys().cloned().collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The settings for a command that talks to the server.
pub fn resolve(given: &Given) -> Result<Settings, CliError> {
    let profile = load_profile(given)?;
    let endpoint = given
        .endpoint
        .clone()
        .or_else(|| profile.endpoint.clone())
        .ok_or_else(|| {
            CliError::Config(
                "no server: pass --endpoint URL, set CINELOCK_ENDPOINT, or put endpoint in the profile file".into(),
            )
        })?;
    let endpoint = endpoint.trim_end_matches('/').to_owned();
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(CliError::Config(format!(
            "the endpoint must be an http(s) URL, not {endpoint:?}"
        )));
    }
    let api_key = given
        .api_key
        .clone()
        .or_else(|| profile.api_key.clone())
        .ok_or_else(|| {
            CliError::Config(
                "no API key: pass --api-key, set CINELOCK_API_KEY, or put api_key in the profile file".into(),
            )
        })?;
    if !api_key.starts_with("clk_") {
        return Err(CliError::Config(
            "the API key does not look like one (API keys start with clk_)".into(),
        ));
    }
    let state_dir = given
        .state_dir
        .clone()
        .or_else(|| profile.state_dir.clone())
        .unwrap_or_else(default_state_dir);
    Ok(Settings {
        endpoint,
        api_key,
        state_dir,
        profile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(file: &Path, profile: Option<&str>) -> Given {
        Given {
            config: Some(file.to_owned()),
            profile: profile.map(String::from),
            ..Given::default()
        }
    }

    #[test]
    fn flags_win_over_the_profile_and_profiles_are_chosen_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[default]\nendpoint = \"http://a/\"\napi_key = \"clk_a\"\n[b]\nendpoint = \"http://b\"\napi_key = \"clk_b\"\nparallel = 3\n",
        )
        .unwrap();
        let s = resolve(&given(&file, None)).unwrap();
        assert_eq!(
            (s.endpoint.as_str(), s.api_key.as_str()),
            ("http://a", "clk_a")
        );
        let s = resolve(&given(&file, Some("b"))).unwrap();
        assert_eq!(
            (s.endpoint.as_str(), s.profile.parallel),
            ("http://b", Some(3))
        );
        let mut g = given(&file, Some("b"));
        g.endpoint = Some("https://flag".into());
        assert_eq!(resolve(&g).unwrap().endpoint, "https://flag");
        let e = resolve(&given(&file, Some("nope"))).unwrap_err();
        assert!(e.to_string().contains("no [nope] profile"), "{e}");
        assert_eq!(e.exit_code(), 3);
    }

    #[test]
    fn missing_and_bad_settings_are_config_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[default]\nendpont = \"typo\"\n").unwrap();
        let e = resolve(&given(&file, None)).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        std::fs::write(
            &file,
            "[default]\nendpoint = \"ftp://x\"\napi_key = \"clk_x\"\n",
        )
        .unwrap();
        assert!(
            resolve(&given(&file, None))
                .unwrap_err()
                .to_string()
                .contains("http(s)")
        );
        std::fs::write(
            &file,
            "[default]\nendpoint = \"http://x\"\napi_key = \"secret\"\n",
        )
        .unwrap();
        assert!(
            resolve(&given(&file, None))
                .unwrap_err()
                .to_string()
                .contains("clk_")
        );
        std::fs::write(&file, "[default]\nendpoint = \"http://x\"\n").unwrap();
        assert!(
            resolve(&given(&file, None))
                .unwrap_err()
                .to_string()
                .contains("no API key")
        );
        let e = resolve(&given(&dir.path().join("missing.toml"), None)).unwrap_err();
        assert_eq!(e.exit_code(), 3);
    }
}
