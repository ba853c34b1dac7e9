//! What this server accepts as a GitHub owner, repository, file path, git ref, author and time.
//!
//! Every argument that lands in a request URL, path or query, is one of these types, each
//! checked once when the call is parsed (serde's `try_from`), so a [`crate::tools::Call`] holds
//! nothing else: the scope check and the URL are both made from these values, never from a
//! second spelling of them.
//!
//! Why so strict: GitHub's names have narrow rules, and anything outside them is either a
//! mistake or an attempt to make the request name another resource than the one checked, e.g.
//! `repo = ".."` or `path = "../../../../repos/other/private/contents/x"`. Neither octocrab nor
//! `http` resolves dot segments, but a proxy in front of GitHub Enterprise Server may, after
//! decoding `%2e%2e`, `%252e%252e`, `..;`, a backslash, or a full-width `．．` (NFKC). So a
//! value is refused when any of its percent-decodings, or their NFKC forms, holds a dot
//! segment, a separator inside a segment, or a control character. File names with dots
//! (`.github`, `my.repo`, `v1.2.tar.gz`), a literal `%` or any other Unicode stay legal.

use std::fmt;

use icu_normalizer::ComposingNormalizerBorrowed;
use percent_encoding::percent_decode_str;
use schemars::JsonSchema;
use serde::Deserialize;

/// Longest GitHub login (GitHub's limit), before an Enterprise Managed User's `_shortcode`.
pub const MAX_LOGIN: usize = 39;
/// Longest repository name (GitHub's limit).
pub const MAX_REPO: usize = 100;
/// Longest file path accepted.
pub const MAX_PATH_BYTES: usize = 4096;
/// Longest branch, tag or ref name (GitHub refuses longer branch names).
pub const MAX_REF_BYTES: usize = 255;
/// Longest commit author filter (an e-mail address is at most 254 characters).
pub const MAX_AUTHOR: usize = 254;
/// How many rounds of percent-decoding are looked through: more is refused outright.
const MAX_DECODINGS: usize = 3;

/// Why an argument was refused: what it is, the value (escaped), what is wrong, what to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} {problem}")]
pub struct NameError {
    what: &'static str,
    value: String,
    problem: String,
}

fn refuse<T>(what: &'static str, value: &str, problem: impl Into<String>) -> Result<T, NameError> {
    Err(NameError {
        what,
        value: value.chars().take(120).collect(),
        problem: problem.into(),
    })
}

/// A repository owner: a GitHub user or organization login.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(inline)]
pub struct Owner(String);

/// A repository name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(inline)]
pub struct RepoName(String);

/// A path inside a repository, `/`-separated; empty for the root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(inline)]
pub struct RepoPath(String);

/// A branch, tag, ref (`refs/heads/x`) or commit SHA, by git's ref-name rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(inline)]
pub struct GitRef(String);

/// A branch, optionally of another owner's fork: `branch` or `owner:branch`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(inline)]
pub struct Head(String);

/// A commit author filter: a GitHub login or an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(inline)]
pub struct Author(String);

/// An RFC 3339 time, e.g. `2026-01-13T10:30:00Z`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(inline)]
pub struct Timestamp(String);

macro_rules! text_type {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The checked value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, NameError> {
                $ty::parse(&value)?;
                Ok(Self(value))
            }
        }
        impl std::str::FromStr for $ty {
            type Err = NameError;
            fn from_str(value: &str) -> Result<Self, NameError> {
                Self::try_from(value.to_owned())
            }
        }
    )*};
}
text_type!(Owner, RepoName, RepoPath, GitRef, Head, Author, Timestamp);

impl Owner {
    /// GitHub's login rules: letters, digits and hyphens, not starting with a hyphen, at most
    /// 39; an Enterprise Managed User's login ends in `_SHORTCODE`.
    fn parse(value: &str) -> Result<(), NameError> {
        const WHAT: &str = "owner";
        const RULE: &str = "is not a GitHub user or organization name: use 1-39 letters, digits \
             and hyphens, not starting with a hyphen (an Enterprise Managed User's login may end \
             in _SHORTCODE), as in `octo-org`";
        let (login, shortcode) = match value.split_once('_') {
            Some((login, code)) => (login, Some(code)),
            None => (value, None),
        };
        let login_ok = !login.is_empty()
            && login.len() <= MAX_LOGIN
            && !login.starts_with('-')
            && login
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let code_ok = shortcode.is_none_or(|c| {
            (1..=MAX_LOGIN).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if login_ok && code_ok {
            Ok(())
        } else {
            refuse(WHAT, value, RULE)
        }
    }
}

impl RepoName {
    /// GitHub's repository-name rules: letters, digits, `.`, `-` and `_`, at most 100, not `.`
    /// or `..`; GitHub strips a `.git` suffix when it creates one, so a name ending in `.git`
    /// would be checked as one repository and answered as another.
    fn parse(value: &str) -> Result<(), NameError> {
        const WHAT: &str = "repo";
        if value.is_empty()
            || value.len() > MAX_REPO
            || !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return refuse(
                WHAT,
                value,
                "is not a GitHub repository name: use 1-100 letters, digits, `.`, `-` and `_`, \
                 as in `my.repo`",
            );
        }
        // `.` and `..` are dot segments; GitHub reserves them, and names of dots only are
        // refused with them, as in paths.
        if value.bytes().all(|b| b == b'.') {
            return refuse(WHAT, value, "is a relative path, not a repository name");
        }
        if value.to_ascii_lowercase().ends_with(".git") {
            return refuse(
                WHAT,
                value,
                "ends in `.git`: name the repository without the suffix",
            );
        }
        Ok(())
    }
}

impl RepoPath {
    /// A relative, `/`-separated path without empty, `.` or `..` segments, in any spelling.
    fn parse(value: &str) -> Result<(), NameError> {
        const WHAT: &str = "path";
        if value.is_empty() {
            return Ok(());
        }
        if value.len() > MAX_PATH_BYTES {
            return refuse(
                WHAT,
                value,
                format!("is longer than {MAX_PATH_BYTES} bytes"),
            );
        }
        if value.starts_with('/') {
            return refuse(
                WHAT,
                value,
                "starts with `/`: give the path from the repository root without it, as in \
                 `src/lib.rs` (empty for the root)",
            );
        }
        if value.ends_with('/') || value.contains("//") {
            return refuse(
                WHAT,
                value,
                "has an empty segment: drop the doubled or trailing `/`",
            );
        }
        // Per segment as sent, so that a `/` that decoding reveals is caught as one.
        for segment in value.split('/') {
            for spelling in spellings(WHAT, segment)? {
                check_segment(WHAT, value, &spelling)?;
            }
        }
        Ok(())
    }

    /// The path's segments, for a URL.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

/// One segment of a path in one spelling: no dot segment (also `..;x`, `.. `, `...`), no
/// separator, no control character.
fn check_segment(what: &'static str, value: &str, segment: &str) -> Result<(), NameError> {
    if let Some(c) = segment.chars().find(|c| c.is_control()) {
        return refuse(
            what,
            value,
            format!("holds the control character U+{:04X}", c as u32),
        );
    }
    if segment.contains('\\') {
        return refuse(
            what,
            value,
            "holds a backslash (or its encoding): use `/` between directories",
        );
    }
    if segment.contains('/') {
        return refuse(
            what,
            value,
            "holds an encoded or full-width `/`: write directories with a plain `/`",
        );
    }
    // `;` starts path parameters on some servers (`..;/`); trailing spaces are dropped by others.
    let stem = segment.split(';').next().unwrap_or("").trim();
    if !segment.is_empty() && stem.chars().all(|c| c == '.') {
        return refuse(
            what,
            value,
            "has a `.` or `..` segment (perhaps encoded): paths are relative to the repository \
             root and cannot step out of it; give the path without it",
        );
    }
    Ok(())
}

/// `value` as an upstream, or a proxy in front of it, might read it: as sent, each round of
/// percent-decoding, and the NFKC form of each (`．`, `‥`, `／`, `＼` become `.`, `..`, `/`,
/// `\`), with the best-fit look-alikes of `/`, `\` and `.` mapped too. More rounds of
/// encoding than [`MAX_DECODINGS`] are refused: no real name has them.
fn spellings(what: &'static str, value: &str) -> Result<Vec<String>, NameError> {
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let mut decoded = vec![value.to_owned()];
    let mut last = value.to_owned();
    loop {
        let next = percent_decode_str(&last).decode_utf8_lossy().into_owned();
        if next == last {
            break;
        }
        if decoded.len() > MAX_DECODINGS {
            return refuse(
                what,
                value,
                "is percent-encoded more than three times over: send the name itself",
            );
        }
        decoded.push(next.clone());
        last = next;
    }
    let mut all = decoded.clone();
    all.extend(decoded.iter().map(|s| {
        // Look-alikes that NFKC leaves alone but "best fit" code-page mapping (Windows
        // servers and proxies) turns into separators or dots.
        nfkc.normalize(s)
            .chars()
            .map(|c| match c {
                '\u{2215}' | '\u{2044}' | '\u{29F8}' => '/',
                '\u{2216}' | '\u{29F9}' => '\\',
                '\u{3002}' | '\u{FF61}' => '.',
                c => c,
            })
            .collect()
    }));
    Ok(all)
}

impl GitRef {
    /// git's ref-name rules (`git check-ref-format --allow-onelevel`), in every spelling.
    fn parse(value: &str) -> Result<(), NameError> {
        check_ref("ref", value)
    }
}

fn check_ref(what: &'static str, value: &str) -> Result<(), NameError> {
    if value.is_empty() || value.len() > MAX_REF_BYTES {
        return refuse(
            what,
            value,
            format!("must be a branch, tag or commit SHA of 1-{MAX_REF_BYTES} bytes"),
        );
    }
    for spelling in spellings(what, value)? {
        if let Some(problem) = ref_problem(&spelling) {
            return refuse(
                what,
                value,
                format!(
                    "is not a branch, tag or commit name: {problem} (git's ref-name rules); \
                     give the branch as in `main` or `feature/x`, or a commit SHA"
                ),
            );
        }
    }
    Ok(())
}

/// What git's `check-ref-format` finds wrong with `name`, if anything.
fn ref_problem(name: &str) -> Option<&'static str> {
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Some(if c == '\0' {
            "it holds a NUL character"
        } else {
            "it holds a control character"
        });
    }
    if name.chars().any(|c| c.is_whitespace()) {
        return Some("it holds whitespace");
    }
    if let Some(_c) = name.chars().find(|c| "~^:?*[\\".contains(*c)) {
        return Some("it holds one of ~ ^ : ? * [ \\");
    }
    if name.contains("..") {
        return Some("it holds `..`");
    }
    if name.contains("@{") || name == "@" {
        return Some("it holds `@{` or is `@`");
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Some("it starts or ends with `/` or holds `//`");
    }
    if name.ends_with('.') {
        return Some("it ends with `.`");
    }
    if name
        .split('/')
        .any(|c| c.starts_with('.') || c.ends_with(".lock"))
    {
        return Some("a component starts with `.` or ends with `.lock`");
    }
    None
}

impl Head {
    /// `branch`, or `owner:branch` for a fork in the same network.
    fn parse(value: &str) -> Result<(), NameError> {
        match value.split_once(':') {
            Some((owner, branch)) => {
                Owner::parse(owner).or_else(|_| {
                    refuse(
                        "head",
                        value,
                        "names an owner that is not a GitHub login: write `owner:branch`, as in \
                         `octocat:feature`",
                    )
                })?;
                check_ref("head", branch)
            }
            None => check_ref("head", value),
        }
    }

    /// The branch without its owner.
    pub fn branch(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(_, b)| b)
    }
}

impl Author {
    /// A login or an e-mail address: no whitespace, control characters, or separators.
    fn parse(value: &str) -> Result<(), NameError> {
        if value.is_empty()
            || value.chars().count() > MAX_AUTHOR
            || value
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || "/\\?#&".contains(c))
        {
            return refuse(
                "author",
                value,
                "is not a GitHub login or e-mail address: send one, as in `octocat` or \
                 `octocat@github.com`",
            );
        }
        Ok(())
    }
}

impl Timestamp {
    fn parse(value: &str) -> Result<(), NameError> {
        match chrono::DateTime::parse_from_rfc3339(value) {
            Ok(_) => Ok(()),
            Err(e) => refuse(
                "since",
                value,
                format!("is not an RFC 3339 time ({e}): send one as in `2026-01-13T10:30:00Z`"),
            ),
        }
    }
}

/// `owner/repo` checked: the one spelling that the scope check and the URL both use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName {
    /// The owner.
    pub owner: Owner,
    /// The repository.
    pub repo: RepoName,
}

impl FullName {
    /// From `owner` and `repo` already checked.
    pub fn new(owner: &Owner, repo: &RepoName) -> Self {
        Self {
            owner: owner.clone(),
            repo: repo.clone(),
        }
    }

    /// `owner/repo` as GitHub writes it (a search hit's `full_name`), checked.
    pub fn parse(full_name: &str) -> Result<Self, NameError> {
        let Some((owner, repo)) = full_name.split_once('/') else {
            return refuse(
                "repository",
                full_name,
                "is not `owner/repo`: write it as in `octo-org/my.repo`",
            );
        };
        Ok(Self {
            owner: owner.parse()?,
            repo: repo.parse()?,
        })
    }
}

impl fmt::Display for FullName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.repo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each hostile value of each kind is refused with a message that says what is wrong; each
    /// legitimate one passes. The end-to-end table in tests/paths.rs sends the same classes
    /// through the server and checks that nothing reaches GitHub.
    #[test]
    fn hostile_names_are_refused_and_real_ones_pass() {
        type Check = fn(&str) -> Result<(), NameError>;
        let owner: Check = Owner::parse;
        let repo: Check = RepoName::parse;
        let path: Check = RepoPath::parse;
        let git_ref: Check = GitRef::parse;
        let head: Check = Head::parse;
        let author: Check = Author::parse;
        let since: Check = Timestamp::parse;
        // (check, value, Some(words the refusal holds) or None when legal)
        let cases: &[(Check, &str, Option<&str>)] = &[
            (owner, "octo-org", None),
            (owner, "Octocat", None),
            (owner, "jdoe_acme", None),
            (owner, "a", None),
            (owner, "..", Some("not a GitHub user or organization name")),
            (owner, ".", Some("not a GitHub")),
            (owner, "", Some("not a GitHub")),
            (owner, "-lead", Some("not a GitHub")),
            (owner, "acme/other", Some("not a GitHub")),
            (owner, "acme%2F..", Some("not a GitHub")),
            (owner, "ac me", Some("not a GitHub")),
            (owner, "acme\0", Some("not a GitHub")),
            (owner, &"a".repeat(40), Some("not a GitHub")),
            (owner, "ａcme", Some("not a GitHub")),
            (repo, "my.repo", None),
            (repo, ".github", None),
            (repo, "Hello-World", None),
            (repo, "a_b-c.d", None),
            (repo, "...", Some("relative path")),
            (repo, "..", Some("relative path")),
            (repo, ".", Some("relative path")),
            (repo, "%2e%2e", Some("not a GitHub repository name")),
            (repo, "x/..", Some("not a GitHub repository name")),
            (repo, "x\\y", Some("not a GitHub repository name")),
            (repo, "x.git", Some("without the suffix")),
            (repo, "X.GIT", Some("without the suffix")),
            (repo, &"r".repeat(101), Some("1-100")),
            (repo, "", Some("1-100")),
            (path, "", None),
            (path, "README.md", None),
            (path, "a/.github/workflows/ci.yml", None),
            (path, "docs/v1.2/notes..md", None),
            (path, "ドキュメント/説明.md", None),
            (path, "café/naïve résumé.txt", None),
            (path, "100%.txt", None),
            (path, "a%20b.txt", None),
            (path, "src/.env.example", None),
            (path, "..", Some("`.` or `..` segment")),
            (
                path,
                "../../../../repos/other/private/contents/x",
                Some("`..` segment"),
            ),
            (path, "a/../../b", Some("`..` segment")),
            (path, "a/./b", Some("`..` segment")),
            (path, "%2e%2e/x", Some("`..` segment")),
            (path, "%2E./x", Some("`..` segment")),
            (path, ".%2E/x", Some("`..` segment")),
            (path, "%252e%252e/x", Some("`..` segment")),
            (path, "%25252e%25252e/x", Some("`..` segment")),
            (path, "%2525252e%2525252e/x", Some("more than three times")),
            (path, "..;/x", Some("`..` segment")),
            (path, "..%3b/x", Some("`..` segment")),
            (path, ".. /x", Some("`..` segment")),
            (path, "..%20/x", Some("`..` segment")),
            (path, ".../x", Some("`..` segment")),
            (path, "．．/x", Some("`..` segment")),
            (path, "‥/x", Some("`..` segment")),
            (path, "a/%2e", Some("`..` segment")),
            (path, "..\\..\\x", Some("backslash")),
            (path, "a%5c..%5cx", Some("backslash")),
            (path, "a＼b", Some("backslash")),
            (path, "a%2f..%2fb", Some("encoded or full-width `/`")),
            (path, "a%252f..", Some("encoded or full-width `/`")),
            (path, "a／b", Some("encoded or full-width `/`")),
            (path, "..∕..∕x", Some("encoded or full-width `/`")),
            (path, "a⁄b", Some("encoded or full-width `/`")),
            (path, "a∖b", Some("backslash")),
            (path, "。。/x", Some("`..` segment")),
            (path, "説明。md", None),
            (path, "a\0b", Some("U+0000")),
            (path, "a%00b", Some("U+0000")),
            (path, "a\nb", Some("U+000A")),
            (path, "a%0d%0aHost: x", Some("U+000D")),
            (path, "a\u{85}b", Some("U+0085")),
            (path, "/etc/passwd", Some("starts with `/`")),
            (path, "//x", Some("starts with `/`")),
            (path, "a//b", Some("empty segment")),
            (path, "src/", Some("empty segment")),
            (path, &"a/".repeat(2049), Some("longer than 4096")),
            (git_ref, "main", None),
            (git_ref, "feature/x-1.2", None),
            (git_ref, "refs/heads/main", None),
            (git_ref, "v1.0.0", None),
            (git_ref, "6dcb09b5b57875f334f61aebed695e2e4193db5e", None),
            (git_ref, "..", Some("holds `..`")),
            (git_ref, "main/../x", Some("holds `..`")),
            (git_ref, "%2e%2e", Some("holds `..`")),
            (git_ref, "%252e%252e", Some("holds `..`")),
            (git_ref, "main\0", Some("NUL")),
            (git_ref, "main%00", Some("NUL")),
            (git_ref, "a b", Some("whitespace")),
            (git_ref, "main&path=x", None),
            (git_ref, "a\\b", Some("~ ^ : ? * [ \\")),
            (git_ref, "HEAD~1", Some("~ ^ : ? * [ \\")),
            (git_ref, "x:y", Some("~ ^ : ? * [ \\")),
            (git_ref, "/main", Some("`/`")),
            (git_ref, "main/", Some("`/`")),
            (git_ref, "a//b", Some("`/`")),
            (git_ref, ".hidden", Some("starts with `.`")),
            (git_ref, "x.lock", Some("`.lock`")),
            (git_ref, "main.", Some("ends with `.`")),
            (git_ref, "@", Some("`@{`")),
            (git_ref, "a@{1}", Some("`@{`")),
            (git_ref, "", Some("1-255")),
            (git_ref, &"b".repeat(256), Some("1-255")),
            (head, "feature", None),
            (head, "octocat:feature/x", None),
            (head, "../x:main", Some("owner that is not a GitHub login")),
            (head, "octocat:..", Some("holds `..`")),
            (head, "a:b:c", Some("~ ^ : ? * [ \\")),
            (author, "octocat", None),
            (author, "octo.cat+x@example.com", None),
            (author, "a b", Some("not a GitHub login or e-mail")),
            (author, "x&since=1", Some("not a GitHub login or e-mail")),
            (author, "a\0", Some("not a GitHub login or e-mail")),
            (since, "2026-01-13T10:30:00Z", None),
            (since, "2026-01-13T10:30:00+02:00", None),
            (since, "yesterday", Some("RFC 3339")),
            (since, "2026-01-13", Some("RFC 3339")),
        ];
        for (check, value, refusal) in cases {
            match (check(value), refusal) {
                (Ok(()), None) => {}
                (Err(e), Some(words)) => {
                    let text = e.to_string();
                    assert!(text.contains(words), "{value:?}: {text}");
                }
                (got, want) => panic!("{value:?}: got {got:?}, wanted refusal {want:?}"),
            }
        }
    }

    #[test]
    fn full_names_parse_to_their_parts_or_are_refused() {
        let ok = FullName::parse("octo-org/my.repo").unwrap();
        assert_eq!(
            (ok.owner.as_str(), ok.repo.as_str()),
            ("octo-org", "my.repo")
        );
        assert_eq!(ok.to_string(), "octo-org/my.repo");
        for bad in ["acme", "acme/..", "acme/a/b", "../x", "acme/", "/x"] {
            assert!(FullName::parse(bad).is_err(), "{bad}");
        }
    }
}
