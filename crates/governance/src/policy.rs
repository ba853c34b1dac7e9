//! Pure policy decisions: no I/O, no clock, no upstream.
//!
//! Every decision names the rule that made it, so a denial can tell the user which line of the
//! config to change, and the audit trail can say why a call ran. Servers feed these functions
//! with what they fetched (a user's team repositories, say); the functions only decide.

use globset::{GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::{
    config::PolicyConfig,
    content::{SecretFound, secrets_in_json},
};

/// The rule that refuses a write whose arguments carry a credential, named by the config key
/// that turns it off.
pub const OUTGOING_SECRETS_RULE: &str = "safety.block_outgoing_secrets";

/// How many findings a refusal lists; the rest are counted.
const LISTED_FINDINGS: usize = 5;

/// An allow or deny, with the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the call may go on.
    pub allowed: bool,
    /// The config rule that decided (`default_allow`, `roles.delivery.deny`, `github.write_scope`).
    pub rule: String,
    /// Why, in words a user can act on. Empty for plain allows.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// What the caller is told instead of the rule and the reason, when even the reason would
    /// tell too much (that a hidden page exists, and where). The audit trail keeps the rule and
    /// the reason; only the caller's answer changes.
    #[serde(skip)]
    pub shown: Option<String>,
}

impl Decision {
    /// An allow by `rule`.
    pub fn allow(rule: impl Into<String>) -> Self {
        Self {
            allowed: true,
            rule: rule.into(),
            reason: String::new(),
            shown: None,
        }
    }

    /// A deny by `rule`, with a reason.
    pub fn deny(rule: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            allowed: false,
            rule: rule.into(),
            reason: reason.into(),
            shown: None,
        }
    }

    /// A deny by `rule` that tells the caller only `shown`: the journal records the reason,
    /// the caller learns nothing the answer for a missing resource would not tell.
    pub fn deny_unseen(
        rule: impl Into<String>,
        reason: impl Into<String>,
        shown: impl Into<String>,
    ) -> Self {
        Self {
            shown: Some(shown.into()),
            ..Self::deny(rule, reason)
        }
    }
}

/// A glob that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid glob `{glob}` in {rule}: {message}")]
pub struct PatternError {
    /// The pattern.
    pub glob: String,
    /// The config key it is in.
    pub rule: String,
    /// What is wrong with it.
    pub message: String,
}

/// A compiled list of globs, matched case-insensitively (GitHub names are).
#[derive(Debug, Clone)]
pub struct Patterns {
    set: GlobSet,
    empty: bool,
}

impl Patterns {
    /// Compiles `globs`; `rule` names the config key in errors.
    pub fn new(globs: &[String], rule: &str) -> Result<Self, PatternError> {
        let mut builder = GlobSetBuilder::new();
        for glob in globs {
            let compiled = globset::GlobBuilder::new(glob)
                .case_insensitive(true)
                .literal_separator(true)
                .build()
                .map_err(|e| PatternError {
                    glob: glob.clone(),
                    rule: rule.to_owned(),
                    message: e.kind().to_string(),
                })?;
            builder.add(compiled);
        }
        let set = builder.build().map_err(|e| PatternError {
            glob: globs.join(", "),
            rule: rule.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self {
            set,
            empty: globs.is_empty(),
        })
    }

    /// Whether any glob matches `name`.
    pub fn matches(&self, name: &str) -> bool {
        self.set.is_match(name)
    }

    /// Whether the list has no glob at all.
    pub fn is_empty(&self) -> bool {
        self.empty
    }
}

/// Which tools each role may see and call, compiled from [`PolicyConfig`].
#[derive(Debug, Clone)]
pub struct ToolPolicy {
    default_allow: Patterns,
    roles: Vec<(String, Patterns, Patterns)>,
}

impl ToolPolicy {
    /// Compiles the config's globs.
    pub fn new(config: &PolicyConfig) -> Result<Self, PatternError> {
        let default_allow = Patterns::new(&config.default_allow, "policy.default_allow")?;
        let roles = config
            .roles
            .iter()
            .map(|(role, rp)| {
                Ok((
                    role.clone(),
                    Patterns::new(&rp.allow, &format!("policy.roles.{role}.allow"))?,
                    Patterns::new(&rp.deny, &format!("policy.roles.{role}.deny"))?,
                ))
            })
            .collect::<Result<_, PatternError>>()?;
        Ok(Self {
            default_allow,
            roles,
        })
    }

    /// May a user with `roles` see and call `tool`? A deny of any of the user's roles wins over
    /// every allow; then the default grant; then any role's grant.
    pub fn tool(&self, roles: &[String], tool: &str) -> Decision {
        let mine = || self.roles.iter().filter(|(r, ..)| roles.contains(r));
        if let Some((role, ..)) = mine().find(|(_, _, deny)| deny.matches(tool)) {
            return Decision::deny(
                format!("policy.roles.{role}.deny"),
                format!("role `{role}` may not use {tool}"),
            );
        }
        if self.default_allow.matches(tool) {
            return Decision::allow("policy.default_allow");
        }
        if let Some((role, ..)) = mine().find(|(_, allow, _)| allow.matches(tool)) {
            return Decision::allow(format!("policy.roles.{role}.allow"));
        }
        Decision::deny(
            "policy.default_allow",
            format!("{tool} is not granted to roles [{}]", roles.join(", ")),
        )
    }
}

/// Is `resource` inside a scope made of configured globs plus resources fetched from the
/// upstream (a user's team repositories, say)? An empty configured list with `open_when_empty`
/// means "everything".
pub fn in_scope(
    resource: &str,
    globs: &Patterns,
    fetched: &[String],
    rule: &str,
    open_when_empty: bool,
) -> Decision {
    if open_when_empty && globs.is_empty() && fetched.is_empty() {
        return Decision::allow(format!("{rule} (unset: open)"));
    }
    if globs.matches(resource) {
        return Decision::allow(rule);
    }
    if fetched.iter().any(|r| r.eq_ignore_ascii_case(resource)) {
        return Decision::allow(format!("{rule} (team membership)"));
    }
    Decision::deny(rule, format!("{resource} is outside {rule}"))
}

/// Refuses a write of `tool` whose `arguments` carry a credential in any string, at any depth
/// (a pull request body, a comment, a page): the secrets the journal's cleaning removes, which
/// once sent upstream are out of this process's reach. The reason names each argument path
/// and the kind of secret, never the value. `None` when the arguments hold none.
pub fn outgoing_secrets(tool: &str, arguments: &serde_json::Value) -> Option<Decision> {
    let found = secrets_in_json(arguments);
    if found.is_empty() {
        return None;
    }
    let mut listed: Vec<String> = found
        .iter()
        .take(LISTED_FINDINGS)
        .map(
            |SecretFound { path, in_key, kind }| match (in_key, path.is_empty()) {
                (false, _) => format!("`{path}` holds a secret ({kind})"),
                (true, true) => format!("an argument name is a secret ({kind})"),
                (true, false) => format!("a key of `{path}` is a secret ({kind})"),
            },
        )
        .collect();
    if found.len() > LISTED_FINDINGS {
        listed.push(format!("and {} more", found.len() - LISTED_FINDINGS));
    }
    Some(Decision::deny(
        OUTGOING_SECRETS_RULE,
        format!(
            "{tool} was not sent: {}. Credentials are never written upstream; remove the secret \
             (share it through a secrets manager) and call again",
            listed.join(", ")
        ),
    ))
}

/// Replaces the value of every object key named in `fields`, at any depth, with a mask, and
/// returns how many it masked.
pub fn mask_fields(value: &mut serde_json::Value, fields: &[String], mask: &str) -> usize {
    match value {
        serde_json::Value::Object(map) => map
            .iter_mut()
            .map(|(key, v)| {
                if fields.iter().any(|f| f == key) {
                    *v = serde_json::Value::String(mask.to_owned());
                    1
                } else {
                    mask_fields(v, fields, mask)
                }
            })
            .sum(),
        serde_json::Value::Array(items) => {
            items.iter_mut().map(|v| mask_fields(v, fields, mask)).sum()
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RolePolicy;

    fn policy(default_allow: &[&str], roles: &[(&str, &[&str], &[&str])]) -> ToolPolicy {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ToolPolicy::new(&PolicyConfig {
            default_allow: owned(default_allow),
            roles: roles
                .iter()
                .map(|(name, allow, deny)| {
                    (
                        name.to_string(),
                        RolePolicy {
                            allow: owned(allow),
                            deny: owned(deny),
                        },
                    )
                })
                .collect(),
        })
        .unwrap()
    }

    #[test]
    fn tool_decisions_name_their_rule() {
        let p = policy(
            &["github_get_*", "github_list_*"],
            &[
                ("delivery", &["github_*"], &[]),
                ("contractor", &[], &["github_get_file_contents"]),
            ],
        );
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases: &[(&[&str], &str, bool, &str)] = &[
            (&[], "github_get_pull_request", true, "policy.default_allow"),
            (
                &[],
                "github_create_pull_request",
                false,
                "policy.default_allow",
            ),
            (
                &["delivery"],
                "github_create_pull_request",
                true,
                "policy.roles.delivery.allow",
            ),
            (
                &["contractor"],
                "github_get_file_contents",
                false,
                "policy.roles.contractor.deny",
            ),
            (
                &["delivery", "contractor"],
                "github_get_file_contents",
                false,
                "policy.roles.contractor.deny",
            ),
            (
                &["other"],
                "github_add_comment",
                false,
                "policy.default_allow",
            ),
        ];
        for (r, tool, allowed, rule) in cases {
            let d = p.tool(&roles(r), tool);
            assert_eq!(
                (d.allowed, d.rule.as_str()),
                (*allowed, *rule),
                "{r:?} {tool}"
            );
        }
    }

    #[test]
    fn scope_by_glob_and_by_team() {
        let globs = Patterns::new(&["acme/platform-*".into()], "github.write_scope").unwrap();
        let teams = vec!["acme/web".to_string()];
        assert!(
            in_scope(
                "acme/platform-api",
                &globs,
                &teams,
                "github.write_scope",
                false
            )
            .allowed
        );
        assert!(in_scope("ACME/Web", &globs, &teams, "github.write_scope", false).allowed);
        let d = in_scope("acme/payroll", &globs, &teams, "github.write_scope", false);
        assert!(!d.allowed);
        assert_eq!(d.rule, "github.write_scope");
        assert!(!in_scope("acme/platform-x/y", &globs, &[], "r", false).allowed);
        let none = Patterns::new(&[], "github.read_scope").unwrap();
        assert!(in_scope("any/thing", &none, &[], "github.read_scope", true).allowed);
        assert!(!in_scope("any/thing", &none, &[], "github.write_scope", false).allowed);
    }

    /// Every string at any depth is looked at, keys too; the reason names path and kind, never
    /// the value; clean arguments pass.
    #[test]
    fn outgoing_secrets_are_named_by_path_and_kind() {
        use serde_json::json;
        let ghp = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
        let aws = "AKIAIOSFODNN7EXAMPLE";
        let slack = "xoxb-1234567890-abcdefghijklmnop";
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi7Bx1k2Q8xqfJzVn5e3kP8Wq7r\n-----END RSA PRIVATE KEY-----";
        // (arguments, what the reason lists; empty: allowed)
        let cases: Vec<(serde_json::Value, &[&str])> = vec![
            (
                json!({"owner": "octo", "title": "Fix the token refresh", "body": "Rotates `GITHUB_TOKEN` every hour; see docs/tokens.md.", "draft": true, "number": 7}),
                &[],
            ),
            (
                json!({"body": format!("deploy with {ghp} please")}),
                &["`body` holds a secret (github-token)"],
            ),
            (
                json!({"fields": {"description": format!("key {aws}"), "summary": "ok"}}),
                &["`fields.description` holds a secret (aws-access-key-id)"],
            ),
            (
                json!({"labels": ["ok", slack], "comments": [{"body": "fine"}, {"body": pem}]}),
                &[
                    "`labels[1]` holds a secret (slack-token)",
                    "`comments[1].body` holds a secret (private-key)",
                ],
            ),
            (
                json!({"body": format!("{ghp} and password=correct-horse-battery")}),
                &[
                    "`body` holds a secret (github-token)",
                    "`body` holds a secret (secret-assignment)",
                ],
            ),
            (
                json!({"fields": {ghp: {"note": format!("again {ghp}")}}}),
                &[
                    "a key of `fields` is a secret (github-token)",
                    "`fields.[REDACTED].note` holds a secret (github-token)",
                ],
            ),
            (
                json!({ghp: 1}),
                &["an argument name is a secret (github-token)"],
            ),
            (
                json!({"body": "hidden in plain sight: ghp_0123456789\u{200B}abcdefghijklmnopqrstuvwxyzAB"}),
                &["`body` holds a secret (github-token)"],
            ),
            (
                json!({"items": [aws, aws, aws, aws, aws, aws, aws]}),
                &[
                    "`items[0]` holds a secret (aws-access-key-id)",
                    "and 2 more",
                ],
            ),
        ];
        for (args, expected) in cases {
            let decision = outgoing_secrets("jira_update_issue", &args);
            let Some(decision) = decision else {
                assert!(expected.is_empty(), "not refused: {args}");
                continue;
            };
            assert!(!expected.is_empty(), "refused: {args}: {}", decision.reason);
            assert!(!decision.allowed);
            assert_eq!(decision.rule, OUTGOING_SECRETS_RULE);
            assert!(
                decision
                    .reason
                    .starts_with("jira_update_issue was not sent: "),
                "{}",
                decision.reason
            );
            for part in expected {
                assert!(
                    decision.reason.contains(part),
                    "{part} in {}",
                    decision.reason
                );
            }
            for value in [ghp, aws, slack, "MIIEowIBAAKCAQEA", "correct-horse"] {
                assert!(!decision.reason.contains(value), "{}", decision.reason);
            }
        }
    }

    #[test]
    fn masks_nested_fields() {
        let mut v = serde_json::json!({"a": {"Budget": 10, "x": [{"Budget": 3}]}, "b": 1});
        assert_eq!(mask_fields(&mut v, &["Budget".into()], "***"), 2);
        assert_eq!(v["a"]["x"][0]["Budget"], "***");
    }
}
