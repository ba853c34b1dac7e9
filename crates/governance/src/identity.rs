//! Who is calling, and from which AI session.
//!
//! With `[sso]` configured and a session in the keychain (`claude-enterprise login sso`), the
//! user and roles come from the validated ID token (through `auth`, refreshed when near
//! expiry). Otherwise the user comes from the config (`identity.user`), else from the
//! upstream's own "who am I" (GitHub `/user`), else from the OS account, marked as
//! unverified; roles from the config. The AI session comes from Claude Code: `CLAUDE_CODE_SESSION_ID` in the
//! environment, `_meta["claudecode/toolUseId"]` per call, and the per-session state file the
//! `claude-enterprise hook` command writes (prompt hash, model).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::audit::AiContext;

/// Where the user name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// The SSO session's validated ID token.
    Sso,
    /// `identity.user` in the config.
    Config,
    /// The upstream's "who am I" for the token in use.
    Upstream,
    /// The OS account: nothing vouches for it.
    Os,
}

/// The user a call runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// E-mail or login, as written to the audit trail.
    pub user: String,
    /// Roles: from the SSO groups through `sso.role_map`, else from the config.
    pub roles: Vec<String>,
    /// Where `user` came from.
    pub source: IdentitySource,
}

impl Caller {
    /// The OS account, as a last resort.
    pub fn from_os(roles: Vec<String>) -> Self {
        let name = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Self {
            user: format!("os:{name}"),
            roles,
            source: IdentitySource::Os,
        }
    }
}

/// The SSO caller and when its session must be refreshed by: `None` when SSO is not
/// configured or nobody is logged in. A session that cannot be read or refreshed is logged
/// (with the command that fixes it) and treated as not logged in.
pub async fn sso_caller(
    sso: &auth::config::SsoConfig,
    keychain: &auth::config::KeychainConfig,
) -> Option<(Caller, chrono::DateTime<chrono::Utc>)> {
    match auth::sso::identity(sso, keychain).await {
        Ok(Some(identity)) => Some((
            Caller {
                user: identity.user,
                roles: identity.roles,
                source: IdentitySource::Sso,
            },
            identity.expires_at,
        )),
        Ok(None) => {
            if sso.issuer.is_some() {
                tracing::warn!(
                    "SSO is configured but nobody is logged in: run `claude-enterprise login sso`"
                );
            }
            None
        }
        Err(e) => {
            tracing::warn!("SSO identity unavailable ({e}); run `claude-enterprise login sso`");
            None
        }
    }
}

/// Per-session facts recorded by the Claude Code hooks.
#[derive(Debug, Default, Deserialize)]
struct SessionState {
    prompt_hash: Option<String>,
    model: Option<String>,
}

/// The state file of a Claude Code session, written by `claude-enterprise hook`. Every
/// non-empty id has one, so that the hooks and every server of a session meet in the same
/// files whatever Claude Code's ids look like: an id of letters, digits and '-' (a UUID) names
/// its file; any other (it comes from the environment and could hold `/` or `..`) is named by
/// its SHA-256, which never leaves the sessions directory.
pub fn session_state_path(session_id: &str) -> Option<PathBuf> {
    if session_id.is_empty() {
        return None;
    }
    let plain = session_id.len() <= 128
        && session_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    let name = if plain {
        session_id.to_owned()
    } else {
        use sha2::Digest;
        format!("sha256-{}", hex::encode(sha2::Sha256::digest(session_id)))
    };
    crate::config::state_dir().map(|d| d.join("sessions").join(format!("{name}.json")))
}

/// Replaces a file of the session state directory whole: `bytes` go to a temporary file (0600)
/// in the same directory, synced, then renamed over `path`, so a reader sees the old file or
/// the new one, never half; the temporary is removed when anything fails.
pub fn replace_session_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The AI context of one call: the session from the environment, the hooks' state file, and
/// the call's tool-use id.
pub fn ai_context(session_id: Option<&str>, tool_use_id: Option<String>) -> AiContext {
    let state = session_id
        .and_then(session_state_path)
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<SessionState>(&b).ok())
        .unwrap_or_default();
    AiContext {
        session_id: session_id.map(str::to_owned),
        prompt_hash: state.prompt_hash,
        model: state.model,
        tool_use_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_session_id_has_a_state_file_inside_the_sessions_directory() {
        let name = |id: &str| {
            let path = session_state_path(id).expect("HOME or XDG_STATE_HOME is set for tests");
            assert_eq!(
                path.parent().and_then(|p| p.file_name()),
                Some(std::ffi::OsStr::new("sessions")),
                "{id:?} -> {}",
                path.display()
            );
            path.file_name().unwrap().to_string_lossy().into_owned()
        };
        let uuid = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        assert_eq!(name(uuid), format!("{uuid}.json"));
        for odd in [
            "../../etc/passwd",
            "a/b",
            "x.y",
            "sess\u{0}ion",
            &"a".repeat(300),
        ] {
            let file = name(odd);
            assert!(
                file.starts_with("sha256-") && file.ends_with(".json"),
                "{odd:?} -> {file}"
            );
            assert_eq!(name(odd), file, "the same id, the same file");
        }
        assert_ne!(name("a/b"), name("a/c"));
        assert!(session_state_path("").is_none());
    }
}
