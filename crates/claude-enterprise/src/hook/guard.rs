//! The PreToolUse policy for Claude Code's Bash tool: "PRs only".
//!
//! Claude may push branches matching `hooks.push_branches` (`claude/*`), so that
//! `github_create_pull_request` has a head to open; everything that lands work without a
//! review, or destroys it, is denied with a reason Claude can act on: a push to any other branch
//! (the remote's default and `hooks.protected_branches` always), any force push or remote
//! deletion, `gh pr merge`, repository deletion and settings, writes through `gh api`, and the
//! `[[hooks.deny]]` rules. Every simple command of the line is checked, however it is joined,
//! nested or wrapped (`env`, `sudo`, `xargs`, `sh -c`, `eval`, git aliases, ...). When a command
//! cannot be read with certainty (an unclosed quote, a branch name in a variable, a shell
//! reading a pipe), it is denied with the reason: Claude can write it out plainly.
//!
//! A guardrail, not a sandbox: a program that runs git itself (a script, a Python one-liner
//! that is not obviously a push) is not read. Branch protection on the forge is the
//! enforcement; this keeps Claude from trying.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::shell::{self, Word};

/// `[hooks]`: what `claude-enterprise hook EVENT` does for Claude Code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HooksConfig {
    /// PostToolUse / PostToolUseFailure: journal Claude Code's own tool uses (Bash, Edit,
    /// Write, WebFetch, Task, ...) as tool `claude-code`.
    pub audit_tools: bool,
    /// MCP servers that journal their own calls (`mcp__<server>__*`,
    /// `mcp__plugin_<plugin>_<server>__*`): their tool uses are not journaled a second time.
    pub audited_servers: Vec<String>,
    /// PreToolUse: check Claude Code's Bash commands against the rules below.
    pub guard_bash: bool,
    /// Branch globs `git push` may create or update (`*` also matches `/`).
    pub push_branches: Vec<String>,
    /// Branch globs never pushed to, even when `push_branches` matches; the remote's default
    /// branch is always protected too.
    pub protected_branches: Vec<String>,
    /// `gh api` only reads: GET requests and GraphQL queries, no mutation.
    pub gh_api_read_only: bool,
    /// Commands denied in any Bash command line.
    pub deny: Vec<CommandRule>,
}

/// A command Claude may not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandRule {
    /// The program (matched by file name: `/usr/bin/gh` is `gh`) and the subcommand words
    /// that follow it, options between them skipped: `"gh pr merge"`.
    pub command: String,
    /// Deny only when one of these globs matches an argument, or an option with its value
    /// (`"-X DELETE"`, `"--method=DELETE"`); case-insensitive. Empty: always.
    #[serde(default)]
    pub with: Vec<String>,
    /// What Claude is told, so that it can do the right thing instead.
    pub reason: String,
}

impl Default for HooksConfig {
    fn default() -> Self {
        let rule = |command: &str, reason: &str| CommandRule {
            command: command.into(),
            with: Vec::new(),
            reason: reason.into(),
        };
        const MERGE: &str = "merging is a person's decision after review: open or update a pull \
                             request (github_create_pull_request) and leave the merge to a reviewer";
        const SETTINGS: &str = "repository deletion and settings are not changed from Claude Code: \
                                ask a repository admin";
        const RELEASE: &str = "releases are published by people or CI, not from Claude Code";
        const SECRETS: &str = "secrets and variables are not changed from Claude Code";
        Self {
            audit_tools: true,
            audited_servers: ["github", "aws", "jira", "confluence"]
                .map(String::from)
                .to_vec(),
            guard_bash: true,
            push_branches: vec!["claude/*".into()],
            protected_branches: [
                "main",
                "master",
                "trunk",
                "develop",
                "release/*",
                "production",
            ]
            .map(String::from)
            .to_vec(),
            gh_api_read_only: true,
            deny: vec![
                rule("gh pr merge", MERGE),
                rule("gh repo delete", SETTINGS),
                rule("gh repo archive", SETTINGS),
                rule("gh repo rename", SETTINGS),
                rule("gh repo edit", SETTINGS),
                rule("gh release create", RELEASE),
                rule("gh release delete", RELEASE),
                rule("gh release edit", RELEASE),
                rule("gh release upload", RELEASE),
                rule("gh release delete-asset", RELEASE),
                rule("gh secret", SECRETS),
                rule("gh variable", SECRETS),
                rule(
                    "gh repo sync",
                    "`gh repo sync` updates remote branches directly: push a claude/* branch and \
                     open a pull request",
                ),
                rule("gh repo deploy-key", SETTINGS),
                rule(
                    "gh issue delete",
                    "issues are not deleted from Claude Code: close them",
                ),
                rule(
                    "gh auth token",
                    "tokens are never shown to the model: the servers use them for you",
                ),
            ],
        }
    }
}

/// Why a command is denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The config key that decided (`hooks.push_branches`, `hooks.deny[0]`).
    pub rule: String,
    /// What Claude is told.
    pub reason: String,
}

type Verdict = Result<(), Denial>;

/// A bad `[hooks]` pattern.
#[derive(Debug, thiserror::Error)]
#[error("hooks.{key}: `{pattern}` is not a valid glob ({source})")]
pub struct PatternError {
    key: String,
    pattern: String,
    source: globset::Error,
}

const MAX_DEPTH: usize = 12;
/// How long past the lookup deadline a check may run before it gives up (and denies).
const CHECK_GRACE: Duration = Duration::from_millis(250);
/// Script files read whole to check them (`bash FILE`, `source FILE`).
const MAX_SCRIPT_BYTES: u64 = 256 * 1024;

/// The Bash policy, compiled, for one hook call.
pub struct Guard {
    push_branches: GlobSet,
    protected: GlobSet,
    gh_api_read_only: bool,
    rules: Vec<Rule>,
    /// The directory the command runs in (the payload's `cwd`).
    cwd: PathBuf,
    /// The lookups this check may still start (git aliases, the remote's default branch).
    deadline: Instant,
    /// gh's config directory, where its aliases are.
    gh_config: Option<PathBuf>,
}

struct Rule {
    key: String,
    words: Vec<String>,
    with: Option<GlobSet>,
    reason: String,
}

fn glob_set(
    key: &str,
    patterns: &[String],
    case_insensitive: bool,
) -> Result<GlobSet, PatternError> {
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = GlobBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .build()
            .map_err(|source| PatternError {
                key: key.into(),
                pattern: pattern.clone(),
                source,
            })?;
        set.add(glob);
    }
    set.build().map_err(|source| PatternError {
        key: key.into(),
        pattern: patterns.join(", "),
        source,
    })
}

fn deny(rule: impl Into<String>, reason: impl Into<String>) -> Verdict {
    Err(Denial {
        rule: rule.into(),
        reason: reason.into(),
    })
}

/// Denied because the command cannot be read with certainty.
fn unsure(why: impl std::fmt::Display) -> Verdict {
    deny(
        "hooks.unsure",
        format!(
            "this command cannot be checked with certainty ({why}); write it out plainly, with \
             literal branch names and no wrappers, or ask the user to run it"
        ),
    )
}

const PUSH_RULE: &str = "hooks.push_branches";

/// Words that open a compound command: the command follows them.
const RESERVED: &[&str] = &[
    "!", "{", "}", "then", "do", "else", "elif", "if", "while", "until", "fi", "done", "esac",
];

const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "rbash", "fish",
];

/// Interpreters whose inline code (`-c`, `-e`) is scanned for commands it may run.
const INTERPRETERS: &[(&str, &[&str])] = &[
    ("python", &["-c"]),
    ("perl", &["-e", "-E"]),
    ("ruby", &["-e"]),
    ("node", &["-e", "--eval", "-p", "--print"]),
    ("nodejs", &["-e", "--eval", "-p", "--print"]),
    ("deno", &["eval"]),
    ("bun", &["-e", "--eval"]),
    ("php", &["-r"]),
    ("lua", &["-e"]),
    ("pwsh", &["-c", "-command", "-Command"]),
    ("powershell", &["-c", "-command", "-Command"]),
    ("osascript", &["-e"]),
    ("Rscript", &["-e"]),
];

/// git's own commands: never aliases (git ignores aliases that shadow them).
const GIT_BUILTINS: &[&str] = &[
    "add",
    "am",
    "annotate",
    "apply",
    "archive",
    "bisect",
    "blame",
    "branch",
    "bundle",
    "cat-file",
    "check-attr",
    "check-ignore",
    "check-mailmap",
    "check-ref-format",
    "checkout",
    "checkout-index",
    "cherry",
    "cherry-pick",
    "citool",
    "clean",
    "clone",
    "column",
    "commit",
    "commit-graph",
    "commit-tree",
    "config",
    "count-objects",
    "credential",
    "describe",
    "diff",
    "diff-files",
    "diff-index",
    "diff-tree",
    "difftool",
    "fetch",
    "fetch-pack",
    "filter-branch",
    "for-each-ref",
    "for-each-repo",
    "format-patch",
    "fsck",
    "gc",
    "grep",
    "gui",
    "hash-object",
    "help",
    "index-pack",
    "init",
    "instaweb",
    "interpret-trailers",
    "log",
    "ls-files",
    "ls-remote",
    "ls-tree",
    "maintenance",
    "merge",
    "merge-base",
    "merge-file",
    "merge-tree",
    "mergetool",
    "mktag",
    "mktree",
    "mv",
    "name-rev",
    "notes",
    "pack-objects",
    "pack-refs",
    "prune",
    "pull",
    "push",
    "range-diff",
    "read-tree",
    "rebase",
    "reflog",
    "remote",
    "repack",
    "replace",
    "request-pull",
    "rerere",
    "reset",
    "restore",
    "rev-list",
    "rev-parse",
    "revert",
    "rm",
    "send-email",
    "send-pack",
    "shortlog",
    "show",
    "show-branch",
    "show-ref",
    "sparse-checkout",
    "stash",
    "status",
    "stripspace",
    "submodule",
    "switch",
    "symbolic-ref",
    "tag",
    "update-index",
    "update-ref",
    "var",
    "verify-commit",
    "verify-pack",
    "verify-tag",
    "version",
    "whatchanged",
    "worktree",
    "write-tree",
    "lfs",
];

impl Guard {
    /// Compiles `config` for a command run in `cwd`; lookups stop at `deadline`.
    pub fn new(config: &HooksConfig, cwd: &Path, deadline: Instant) -> Result<Self, PatternError> {
        let rules = config
            .deny
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let key = format!("deny[{i}].with");
                Ok(Rule {
                    key: format!("hooks.deny[{i}]"),
                    words: shell_words::split(&rule.command)
                        .unwrap_or_else(|_| vec![rule.command.clone()]),
                    with: if rule.with.is_empty() {
                        None
                    } else {
                        Some(glob_set(&key, &rule.with, true)?)
                    },
                    reason: rule.reason.clone(),
                })
            })
            .collect::<Result<_, PatternError>>()?;
        Ok(Self {
            push_branches: glob_set("push_branches", &config.push_branches, false)?,
            protected: glob_set("protected_branches", &config.protected_branches, false)?,
            gh_api_read_only: config.gh_api_read_only,
            rules,
            cwd: cwd.to_owned(),
            deadline,
            gh_config: std::env::var_os("GH_CONFIG_DIR")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("XDG_CONFIG_HOME").map(|d| PathBuf::from(d).join("gh"))
                })
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/gh"))),
        })
    }

    /// Checks one Bash command line.
    pub fn check(&self, command: &str) -> Result<(), Denial> {
        self.script(command, 0)
    }

    fn script(&self, text: &str, depth: usize) -> Verdict {
        if depth > MAX_DEPTH {
            return unsure("commands nested too deeply");
        }
        let script = shell::parse(text);
        if let Some(why) = script.unsure.first() {
            return unsure(why);
        }
        for nested in &script.nested {
            self.script(nested, depth + 1)?;
        }
        for command in &script.commands {
            let input = Input {
                stdin: command.stdin.as_ref(),
                stdin_file: command.stdin_file.as_ref(),
                piped: command.piped,
                appended: false,
            };
            self.command(&command.words, &input, depth)?;
        }
        Ok(())
    }

    /// One simple command: reserved words, assignments, then the program and its arguments.
    fn command(&self, words: &[Word], input: &Input<'_>, depth: usize) -> Verdict {
        if depth > MAX_DEPTH {
            return unsure("commands nested too deeply");
        }
        // A line built to outlast the hook's budget would otherwise end in no decision.
        if Instant::now() > self.deadline + CHECK_GRACE {
            return unsure("the command line takes too long to check");
        }
        let mut i = 0;
        while words
            .get(i)
            .is_some_and(|w| !w.dynamic && RESERVED.contains(&w.text.as_str()))
        {
            i += 1;
        }
        match words.get(i).map(|w| w.text.as_str()) {
            // Not a command: its code is in the commands and substitutions around it.
            Some("for" | "select" | "case") => return Ok(()),
            // `function NAME { BODY`: the body's first command follows.
            Some("function") => i += 2,
            // `coproc [NAME] { BODY` or `coproc COMMAND`.
            Some("coproc") => {
                i += 1;
                if words.get(i + 1).is_some_and(|w| w.text == "{") {
                    i += 1;
                }
            }
            _ => {}
        }
        while words
            .get(i)
            .is_some_and(|w| !w.dynamic && RESERVED.contains(&w.text.as_str()))
        {
            i += 1;
        }
        while let Some(name) = words.get(i).and_then(|w| assignment(&w.text)) {
            env_name(name)?;
            i += 1;
        }
        let Some(program) = words.get(i) else {
            return Ok(());
        };
        if program.dynamic {
            return unsure(format!(
                "the program `{}` is only known when the command runs",
                program.text
            ));
        }
        let name = program.text.rsplit('/').next().unwrap_or_default();
        let args = &words[i + 1..];
        self.rules(name, args)?;
        if let Some(subcommand) = name.strip_prefix("git-").filter(|s| !s.is_empty()) {
            // git's own programs, run directly (`/usr/lib/git-core/git-push`).
            let mut words = vec![Word::literal("git"), Word::literal(subcommand)];
            words.extend(args.iter().cloned());
            return self.command(&words, input, depth + 1);
        }
        match name {
            "git" | "hub" => self.git(args, input, depth),
            "gh" => self.gh(args, input, depth),
            "eval" => self.words(args, depth),
            "alias" => {
                // `alias g='git push -f'` makes the next lines' `g` a push.
                for arg in args {
                    if let Some((_, value)) = arg.text.split_once('=') {
                        self.code(
                            &Word {
                                text: value.to_owned(),
                                dynamic: arg.dynamic,
                            },
                            depth,
                        )?;
                    }
                }
                Ok(())
            }
            "source" | "." => match args.first() {
                Some(file) => self.script_file(file, input, depth),
                None => Ok(()),
            },
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                for arg in args {
                    env_name(assignment(&arg.text).unwrap_or(&arg.text))?;
                }
                Ok(())
            }
            name if SHELLS.contains(&name) => self.shell(args, input, depth),
            name => match self.wrapper(name, args, input, depth) {
                Some(verdict) => verdict,
                None => self.interpreter(name, args),
            },
        }
    }

    /// The `[[hooks.deny]]` rules, for any program.
    fn rules(&self, program: &str, args: &[Word]) -> Verdict {
        for rule in &self.rules {
            let Some((first, subcommands)) = rule.words.split_first() else {
                continue;
            };
            if first != program {
                continue;
            }
            match subcommand_match(subcommands, args) {
                Match::No => continue,
                Match::Unsure(word) => {
                    return unsure(format!("`{}` could be `{}`", word, rule.words.join(" ")));
                }
                Match::Yes => {}
            }
            let hit = match &rule.with {
                None => true,
                Some(with) => option_forms(args).iter().any(|form| with.is_match(form)),
            };
            if hit {
                return deny(&rule.key, &rule.reason);
            }
        }
        Ok(())
    }

    /// `sh -c CODE`, `bash FILE`, or a shell reading its standard input.
    fn shell(&self, args: &[Word], input: &Input<'_>, depth: usize) -> Verdict {
        let mut inline = false;
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            let text = arg.text.as_str();
            if text == "--" || text == "-" {
                i += 1;
                break;
            }
            if ["-o", "+o", "-O", "+O", "--rcfile", "--init-file"].contains(&text) {
                i += 2;
                continue;
            }
            if let Some(flags) = text.strip_prefix('-').filter(|f| !f.starts_with('-')) {
                inline |= flags.contains('c');
            } else if !text.starts_with("--") && !text.starts_with('+') {
                break;
            }
            i += 1;
        }
        let operand = args.get(i);
        match (inline, operand) {
            (true, Some(code)) => self.code(code, depth),
            (true, None) => Ok(()),
            (false, Some(file)) => self.script_file(file, input, depth),
            (false, None) => self.stdin_script(input, depth),
        }
    }

    /// A shell reading its commands from standard input.
    fn stdin_script(&self, input: &Input<'_>, depth: usize) -> Verdict {
        match (input.stdin, input.stdin_file) {
            (Some(stdin), _) => self.code(stdin, depth),
            (None, Some(file)) => self.script_file(file, &Input::default(), depth),
            (None, None) if input.piped => unsure("a shell reading commands from a pipe"),
            (None, None) => Ok(()),
        }
    }

    /// Code given as one word (`sh -c CODE`): checked unless only known when it runs.
    fn code(&self, code: &Word, depth: usize) -> Verdict {
        if code.dynamic {
            return unsure(format!(
                "the code `{}` is only known when it runs",
                code.text
            ));
        }
        self.script(&code.text, depth + 1)
    }

    /// Words joined into a command line and run by a shell (`eval`, `ssh HOST ...`, `watch`).
    fn words(&self, words: &[Word], depth: usize) -> Verdict {
        if let Some(word) = words.iter().find(|w| w.dynamic) {
            return unsure(format!("`{}` is only known when it runs", word.text));
        }
        self.script(&join(words), depth + 1)
    }

    /// A shell script run or sourced: read and checked like the command line.
    fn script_file(&self, file: &Word, input: &Input<'_>, depth: usize) -> Verdict {
        if ["-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"].contains(&file.text.as_str()) {
            return self.stdin_script(input, depth);
        }
        if file.dynamic {
            return unsure(format!(
                "the script `{}` is only known when it runs",
                file.text
            ));
        }
        let path = self.resolve(&file.text);
        let text = std::fs::metadata(&path)
            .ok()
            .filter(|m| m.is_file() && m.len() <= MAX_SCRIPT_BYTES)
            .and_then(|_| std::fs::read_to_string(&path).ok());
        let Some(text) = text else {
            return unsure(format!(
                "the script `{}` cannot be read (missing, written by this same command, or \
                 larger than {} KiB)",
                file.text,
                MAX_SCRIPT_BYTES / 1024
            ));
        };
        // A real script may use what this reader cannot follow; it still must not push.
        match self.script(&text, depth + 1) {
            Err(denial) if denial.rule == "hooks.unsure" => self.opaque(&text, &file.text),
            verdict => verdict,
        }
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let expanded = match path.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(rest))
                .unwrap_or_else(|| PathBuf::from(path)),
            None => PathBuf::from(path),
        };
        self.cwd.join(expanded)
    }

    /// Code this checker cannot parse (another language, or shell it cannot follow): denied
    /// when it names a command the policy governs.
    fn opaque(&self, code: &str, what: &str) -> Verdict {
        let tokens: Vec<&str> = code
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .filter(|t| !t.is_empty())
            .collect();
        let near = |words: &[&str]| {
            tokens.iter().enumerate().any(|(start, token)| {
                let mut at = start;
                *token == words[0]
                    && words[1..].iter().all(|word| {
                        match tokens[at + 1..].iter().take(4).position(|t| t == word) {
                            Some(offset) => {
                                at += offset + 1;
                                true
                            }
                            None => false,
                        }
                    })
            })
        };
        let mut governed: Vec<Vec<&str>> = vec![vec!["git", "push"], vec!["git", "send-pack"]];
        if self.gh_api_read_only {
            governed.push(vec!["gh", "api"]);
        }
        for rule in &self.rules {
            governed.push(rule.words.iter().map(String::as_str).collect());
        }
        match governed
            .iter()
            .find(|words| !words.is_empty() && near(words))
        {
            Some(words) => unsure(format!(
                "{what} runs `{}` in code this check cannot read",
                words.join(" ")
            )),
            None => Ok(()),
        }
    }

    /// Inline code of another language (`python -c`, `node -e`, ...).
    fn interpreter(&self, name: &str, args: &[Word]) -> Verdict {
        let flags = INTERPRETERS.iter().find_map(|(interpreter, flags)| {
            let versioned = name
                .strip_prefix(interpreter)
                .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.'));
            versioned.then_some(*flags)
        });
        let Some(flags) = flags else {
            return Ok(());
        };
        for (i, arg) in args.iter().enumerate() {
            let code = if flags.contains(&arg.text.as_str()) {
                args.get(i + 1)
            } else {
                None
            };
            if let Some(code) = code {
                self.opaque(&code.text, &format!("`{name} {}`", arg.text))?;
            }
        }
        Ok(())
    }

    /// Commands that run another command: the inner one is checked. `None`: not a wrapper.
    fn wrapper(
        &self,
        name: &str,
        args: &[Word],
        input: &Input<'_>,
        depth: usize,
    ) -> Option<Verdict> {
        let inner = |start: usize| -> Verdict {
            self.command(args.get(start..).unwrap_or_default(), input, depth + 1)
        };
        let options = |short: &str, long: &[&str]| skip_options(args, short, long);
        Some(match name {
            "env" => self.env(args, input, depth),
            "command" => {
                let start = options("", &[]);
                let lookup = args[..start].iter().any(|a| {
                    a.text.starts_with('-') && (a.text.contains('v') || a.text.contains('V'))
                });
                if lookup { Ok(()) } else { inner(start) }
            }
            "builtin" | "nohup" | "chronic" | "unbuffer" | "torsocks" | "catchsegv" => {
                inner(options("", &[]))
            }
            "exec" => inner(options("a", &[])),
            "setsid" => inner(options("", &[])),
            "nice" => inner(options("n", &["--adjustment"])),
            "ionice" => inner(options("cnp", &["--class", "--classdata", "--pid"])),
            "stdbuf" => inner(options("ioe", &["--input", "--output", "--error"])),
            "caffeinate" => inner(options("tw", &[])),
            "doas" => inner(options("uC", &[])),
            "time" => inner(options("fo", &["--format", "--output"])),
            "timeout" => {
                let start = options("sk", &["--signal", "--kill-after"]);
                inner(start + 1)
            }
            "sudo" => {
                let start = options(
                    "gChpRrtTUuD",
                    &[
                        "--group",
                        "--close-from",
                        "--chdir",
                        "--host",
                        "--prompt",
                        "--role",
                        "--type",
                        "--other-user",
                        "--user",
                        "--command-timeout",
                        "--chroot",
                    ],
                );
                let shell = args[..start].iter().any(|a| {
                    ["--shell", "--login"].contains(&a.text.as_str())
                        || (a.text.starts_with('-')
                            && !a.text.starts_with("--")
                            && (a.text.contains('s') || a.text.contains('i')))
                });
                if shell && start < args.len() {
                    self.words(&args[start..], depth)
                } else {
                    inner(start)
                }
            }
            "xargs" => {
                let start = options(
                    "adEILnPs",
                    &[
                        "--arg-file",
                        "--delimiter",
                        "--eof",
                        "--replace",
                        "--max-lines",
                        "--max-args",
                        "--max-procs",
                        "--max-chars",
                        "--process-slot-var",
                    ],
                );
                let appended = Input {
                    appended: true,
                    ..*input
                };
                self.command(args.get(start..).unwrap_or_default(), &appended, depth + 1)
            }
            "flock" => {
                let start = options("wE", &["--timeout", "--conflict-exit-code"]);
                match args.get(start + 1) {
                    Some(flag) if flag.text == "-c" || flag.text == "--command" => {
                        match args.get(start + 2) {
                            Some(code) => self.code(code, depth),
                            None => Ok(()),
                        }
                    }
                    _ => inner(start + 1),
                }
            }
            "watch" => {
                let start = options("nd", &["--interval"]);
                let exec = args[..start]
                    .iter()
                    .any(|a| a.text == "-x" || a.text == "--exec");
                if exec {
                    inner(start)
                } else {
                    self.words(&args[start..], depth)
                }
            }
            "su" | "script" | "runuser" => {
                // `-c CODE`, `-qc CODE`, `-cCODE`, `--command CODE`, `--command=CODE`.
                for (i, arg) in args.iter().enumerate() {
                    let text = arg.text.as_str();
                    let code = if text == "--command" {
                        args.get(i + 1).cloned()
                    } else if let Some(code) = text.strip_prefix("--command=") {
                        Some(Word {
                            text: code.to_owned(),
                            dynamic: arg.dynamic,
                        })
                    } else if let Some(cluster) =
                        text.strip_prefix('-').filter(|c| !c.starts_with('-'))
                    {
                        match cluster.find('c') {
                            Some(at) if at + 1 == cluster.len() => args.get(i + 1).cloned(),
                            Some(at) => Some(Word {
                                text: cluster[at + 1..].to_owned(),
                                dynamic: arg.dynamic,
                            }),
                            None => None,
                        }
                    } else {
                        None
                    };
                    if let Some(code) = code {
                        return Some(self.code(&code, depth));
                    }
                }
                Ok(())
            }
            "ssh" => {
                // The words after the host are a command line the remote shell runs, and
                // the remote may well be this machine.
                let start = options("bcDEeFIiJLlmOopQRSWw", &[]);
                match args.get(start + 1..) {
                    Some(command) if !command.is_empty() => self.words(command, depth),
                    _ => Ok(()),
                }
            }
            "parallel" => {
                let start = options(
                    "jSaIdEnNsL",
                    &["--jobs", "--arg-file", "--delimiter", "--max-args"],
                );
                let end = args[start..]
                    .iter()
                    .position(|a| a.text.starts_with(":::"))
                    .map_or(args.len(), |p| start + p);
                let appended = Input {
                    appended: true,
                    ..*input
                };
                self.command(&args[start..end], &appended, depth + 1)
            }
            "busybox" => inner(0),
            "find" => self.find_exec(args, input, depth),
            _ => return None,
        })
    }

    /// `env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=VALUE]... COMMAND`.
    fn env(&self, args: &[Word], input: &Input<'_>, depth: usize) -> Verdict {
        let mut i = 0;
        let mut split: Vec<Word> = Vec::new();
        while let Some(arg) = args.get(i) {
            let text = arg.text.as_str();
            if let Some(name) = assignment(text) {
                env_name(name)?;
                i += 1;
                continue;
            }
            let string = if text == "-S" || text == "--split-string" {
                i += 1;
                args.get(i).cloned()
            } else {
                text.strip_prefix("--split-string=")
                    .or_else(|| text.strip_prefix("-S").filter(|s| !s.is_empty()))
                    .map(|s| Word {
                        text: s.to_owned(),
                        dynamic: arg.dynamic,
                    })
            };
            if let Some(string) = string {
                // `env -S` splits its argument into words itself.
                if string.dynamic {
                    return unsure(format!(
                        "`env -S {}` is only known when it runs",
                        string.text
                    ));
                }
                let Ok(words) = shell_words::split(&string.text) else {
                    return unsure("env -S with an unclosed quote");
                };
                split.extend(words.into_iter().map(|w| Word {
                    dynamic: w.contains('$'),
                    text: w,
                }));
                i += 1;
                break;
            }
            match text {
                "--" => {
                    i += 1;
                    break;
                }
                "-u" | "--unset" | "-C" | "--chdir" => i += 2,
                t if t.starts_with('-') && t.len() > 1 => i += 1,
                _ => break,
            }
        }
        split.extend(args.get(i..).unwrap_or_default().iter().cloned());
        self.command(&split, input, depth + 1)
    }

    /// `find ... -exec COMMAND {} ;`: each command checked, `{}` unknown.
    fn find_exec(&self, args: &[Word], input: &Input<'_>, depth: usize) -> Verdict {
        let mut i = 0;
        while i < args.len() {
            if ["-exec", "-execdir", "-ok", "-okdir"].contains(&args[i].text.as_str()) {
                let end = args[i + 1..]
                    .iter()
                    .position(|a| a.text == ";" || a.text == "+")
                    .map_or(args.len(), |p| i + 1 + p);
                let words: Vec<Word> = args[i + 1..end]
                    .iter()
                    .map(|w| Word {
                        dynamic: w.dynamic || w.text.contains("{}"),
                        text: w.text.clone(),
                    })
                    .collect();
                self.command(&words, input, depth + 1)?;
                i = end;
            }
            i += 1;
        }
        Ok(())
    }

    /// git: global options, then the subcommand; aliases expanded.
    fn git(&self, args: &[Word], input: &Input<'_>, depth: usize) -> Verdict {
        let mut dir = self.cwd.clone();
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            let text = arg.text.as_str();
            let (option, attached) = match text.split_once('=') {
                Some((option, value)) if option.starts_with("--") => (option, Some(value)),
                _ => (text, None),
            };
            let value = |i: usize| {
                attached
                    .map(str::to_owned)
                    .or_else(|| args.get(i + 1).map(|w| w.text.clone()))
            };
            match option {
                "-C" => {
                    if let Some(path) = args.get(i + 1) {
                        dir = dir.join(&path.text);
                    }
                    i += 2;
                }
                "-c" | "--config-env" => {
                    let setting = value(i).unwrap_or_default().to_ascii_lowercase();
                    let key = setting.split('=').next().unwrap_or_default();
                    if key.starts_with("alias.") {
                        return deny(
                            "hooks.git_alias",
                            "git aliases are not defined from Claude Code: an alias can hide a \
                             push; run the git command itself",
                        );
                    }
                    if key.starts_with("push.")
                        || (key.starts_with("remote.")
                            && (key.ends_with(".push") || key.ends_with(".mirror")))
                    {
                        return deny(
                            PUSH_RULE,
                            format!(
                                "`{key}` given on the command line changes what a push sends: \
                                 push one branch plainly, `git push origin HEAD:claude/<topic>`"
                            ),
                        );
                    }
                    i += if attached.is_some() { 1 } else { 2 };
                }
                "--git-dir" | "--work-tree" | "--namespace" | "--exec-path" | "--super-prefix"
                | "--attr-source" | "--list-cmds" => {
                    i += if attached.is_some() || option == "--exec-path" {
                        1
                    } else {
                        2
                    };
                }
                o if o.starts_with('-') => i += 1,
                _ => break,
            }
        }
        let Some(subcommand) = args.get(i) else {
            return Ok(());
        };
        if subcommand.dynamic {
            return unsure(format!(
                "the git command `{}` is only known when it runs",
                subcommand.text
            ));
        }
        let rest = &args[i + 1..];
        match subcommand.text.as_str() {
            "push" => self.git_push(rest, input, &dir),
            "send-pack" | "http-push" => deny(
                PUSH_RULE,
                "pushing through git's plumbing is not allowed: `git push origin HEAD:claude/<topic>`",
            ),
            "subtree" if rest.iter().any(|w| w.text == "push") => deny(
                PUSH_RULE,
                "`git subtree push` is not allowed from Claude Code",
            ),
            "config" => git_config(rest),
            name if GIT_BUILTINS.contains(&name) => Ok(()),
            alias => match self.git_alias(&dir, alias) {
                Err(()) => unsure(format!(
                    "`git {alias}` may be an alias, and there was no time left to look it up"
                )),
                Ok(None) => Ok(()),
                Ok(Some(expansion)) => {
                    if let Some(code) = expansion.strip_prefix('!') {
                        let mut line = code.to_owned();
                        for arg in rest {
                            line.push(' ');
                            line.push_str(&shell_words::quote(&arg.text));
                        }
                        return self.script(&line, depth + 1);
                    }
                    let Ok(words) = shell_words::split(&expansion) else {
                        return unsure(format!("the git alias `{alias}` cannot be read"));
                    };
                    let mut expanded: Vec<Word> = vec![Word::literal("git")];
                    expanded.extend(words.into_iter().map(Word::literal));
                    expanded.extend(rest.iter().cloned());
                    self.command(&expanded, input, depth + 1)
                }
            },
        }
    }

    /// `git push`: only branches matching `push_branches`, named explicitly, never forced.
    fn git_push(&self, args: &[Word], input: &Input<'_>, dir: &Path) -> Verdict {
        let force = |what: &str| {
            deny(
                PUSH_RULE,
                format!(
                    "force pushes ({what}) rewrite history others may have: push new commits \
                     instead, or ask the user"
                ),
            )
        };
        let mut positionals: Vec<&Word> = Vec::new();
        let mut denial = None;
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            i += 1;
            let text = arg.text.as_str();
            if arg.dynamic && text.starts_with('-') {
                return unsure(format!("the option `{text}` is only known when it runs"));
            }
            if text == "--" {
                positionals.extend(&args[i..]);
                break;
            }
            if let Some(long) = text.strip_prefix("--") {
                let (name, value) = match long.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (long, None),
                };
                let needs_value = |i: &mut usize| {
                    if value.is_none() {
                        *i += 1;
                    }
                };
                match name {
                    "force" | "force-with-lease" | "force-if-includes" => {
                        denial.get_or_insert(force(text));
                    }
                    "delete" | "prune" => {
                        denial.get_or_insert(deny(
                            PUSH_RULE,
                            "deleting remote branches is not done from Claude Code",
                        ));
                    }
                    "mirror" | "all" | "branches" | "tags" | "follow-tags" => {
                        denial.get_or_insert(deny(
                            PUSH_RULE,
                            format!(
                                "`--{name}` pushes more than one branch: push one branch, \
                                 `git push origin HEAD:claude/<topic>`"
                            ),
                        ));
                    }
                    "repo" | "push-option" => needs_value(&mut i),
                    "receive-pack" | "exec" => {
                        denial.get_or_insert(unsure(format!("`--{name}` runs another program")));
                        needs_value(&mut i);
                    }
                    "recurse-submodules" => {
                        let mode = value.map(str::to_owned).or_else(|| {
                            let v = args.get(i).map(|w| w.text.clone());
                            i += 1;
                            v
                        });
                        if !matches!(mode.as_deref(), Some("check" | "no")) {
                            denial.get_or_insert(deny(
                                PUSH_RULE,
                                "pushing submodules' branches is not allowed: push this \
                                 repository's branch only",
                            ));
                        }
                    }
                    "no-force-with-lease"
                    | "no-force-if-includes"
                    | "no-recurse-submodules"
                    | "no-follow-tags"
                    | "signed"
                    | "no-signed"
                    | "atomic"
                    | "no-atomic"
                    | "set-upstream"
                    | "verbose"
                    | "quiet"
                    | "progress"
                    | "no-progress"
                    | "porcelain"
                    | "verify"
                    | "no-verify"
                    | "thin"
                    | "no-thin"
                    | "ipv4"
                    | "ipv6"
                    | "dry-run" => {}
                    _ => {
                        denial.get_or_insert(unsure(format!("unknown git push option `{text}`")));
                    }
                }
                continue;
            }
            if let Some(cluster) = text.strip_prefix('-').filter(|c| !c.is_empty()) {
                for (at, flag) in cluster.char_indices() {
                    match flag {
                        'f' => {
                            denial.get_or_insert(force(text));
                        }
                        'd' => {
                            denial.get_or_insert(deny(
                                PUSH_RULE,
                                "deleting remote branches is not done from Claude Code",
                            ));
                        }
                        'n' | 'u' | 'v' | 'q' | '4' | '6' => {}
                        'o' => {
                            if at + 1 == cluster.len() {
                                i += 1;
                            }
                            break;
                        }
                        _ => {
                            denial.get_or_insert(unsure(format!(
                                "unknown git push option `-{flag}`"
                            )));
                        }
                    }
                }
                continue;
            }
            positionals.push(arg);
        }
        if let Some(denial) = denial {
            return denial;
        }
        if input.appended {
            return unsure("xargs adds arguments to this push");
        }
        let example = "git push origin HEAD:claude/<topic>";
        let Some((remote, refspecs)) = positionals.split_first() else {
            return deny(
                PUSH_RULE,
                format!("name the remote and the branch, so that it can be checked: `{example}`"),
            );
        };
        if remote.dynamic {
            return unsure(format!(
                "the remote `{}` is only known when it runs",
                remote.text
            ));
        }
        if refspecs.is_empty() {
            return deny(
                PUSH_RULE,
                format!("name the branch to push, so that it can be checked: `{example}`"),
            );
        }
        let mut default_branch = None;
        for refspec in refspecs {
            let text = refspec.text.as_str();
            if refspec.dynamic {
                return unsure(format!("the branch `{text}` is only known when it runs"));
            }
            if text == "tag" {
                return deny(PUSH_RULE, "tags are not pushed from Claude Code");
            }
            if text.starts_with('+') {
                return force(text);
            }
            if text.contains(['*', '?', '[']) {
                return deny(
                    PUSH_RULE,
                    format!("`{text}` pushes by pattern: push one branch, `{example}`"),
                );
            }
            let destination = match text.split_once(':') {
                Some(("", "")) => {
                    return deny(
                        PUSH_RULE,
                        format!("`:` pushes every matching branch: push one, `{example}`"),
                    );
                }
                Some(("", _)) => {
                    return deny(
                        PUSH_RULE,
                        "deleting remote branches is not done from Claude Code",
                    );
                }
                Some((_, destination)) => destination,
                None if text == "HEAD" || text.starts_with('@') || text.contains(['~', '^']) => {
                    return deny(
                        PUSH_RULE,
                        format!("`{text}` does not name the remote branch: `{example}`"),
                    );
                }
                None => text,
            };
            // git completes `heads/x` to `refs/heads/x` and `tags/x` to `refs/tags/x`.
            let branch = destination
                .strip_prefix("refs/heads/")
                .or_else(|| destination.strip_prefix("heads/"))
                .unwrap_or(destination);
            if branch.starts_with("refs/") || branch.starts_with("tags/") {
                return deny(
                    PUSH_RULE,
                    format!(
                        "`{destination}` is not a branch: only branches are pushed from Claude Code"
                    ),
                );
            }
            if self.protected.is_match(branch) {
                return deny(
                    PUSH_RULE,
                    format!(
                        "`{branch}` is protected (hooks.protected_branches): push to a new branch, \
                         `git push origin HEAD:claude/<topic>`, and open a pull request"
                    ),
                );
            }
            if !self.push_branches.is_match(branch) {
                return deny(
                    PUSH_RULE,
                    format!(
                        "only branches matching hooks.push_branches may be pushed, and `{branch}` \
                         does not: push to one (`git push origin HEAD:claude/<topic>`) and open a \
                         pull request"
                    ),
                );
            }
            let default =
                default_branch.get_or_insert_with(|| self.default_branch(dir, &remote.text));
            if default.as_deref() == Some(branch) {
                return deny(
                    PUSH_RULE,
                    format!(
                        "`{branch}` is the remote's default branch: push to another and open a pull request"
                    ),
                );
            }
        }
        Ok(())
    }

    /// `gh`: its aliases, and `gh api` reads only.
    fn gh(&self, args: &[Word], input: &Input<'_>, depth: usize) -> Verdict {
        let Some(first) = args.iter().position(|w| !w.text.starts_with('-')) else {
            return Ok(());
        };
        let command = &args[first];
        if command.dynamic {
            return unsure(format!(
                "the gh command `{}` is only known when it runs",
                command.text
            ));
        }
        let rest = &args[first + 1..];
        match command.text.as_str() {
            "api" if self.gh_api_read_only => gh_api(rest),
            "alias"
                if rest
                    .first()
                    .is_some_and(|w| w.text == "set" || w.text == "import") =>
            {
                deny(
                    "hooks.gh_alias",
                    "gh aliases are not defined from Claude Code: an alias can hide a merge; run the \
                 gh command itself",
                )
            }
            name => match self.gh_alias(name) {
                Some(expansion) => {
                    if let Some(code) = expansion.strip_prefix('!') {
                        return self.script(code, depth + 1);
                    }
                    let Ok(words) = shell_words::split(&expansion) else {
                        return unsure(format!("the gh alias `{name}` cannot be read"));
                    };
                    let mut expanded: Vec<Word> = vec![Word::literal("gh")];
                    expanded.extend(words.into_iter().map(Word::literal));
                    expanded.extend(rest.iter().cloned());
                    self.command(&expanded, input, depth + 1)
                }
                None => Ok(()),
            },
        }
    }

    /// gh's aliases, from its config file (`aliases:` in `config.yml`).
    fn gh_alias(&self, name: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.gh_config.as_ref()?.join("config.yml")).ok()?;
        let mut in_aliases = false;
        for line in text.lines() {
            if !line.starts_with([' ', '\t']) {
                in_aliases = line.trim_end() == "aliases:";
                continue;
            }
            let Some((key, value)) = line.trim().split_once(':').filter(|_| in_aliases) else {
                continue;
            };
            if key.trim().trim_matches(['"', '\'']) == name {
                let value = value.trim();
                let unquoted = value
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                    .unwrap_or(value);
                return Some(unquoted.to_owned());
            }
        }
        None
    }

    /// `git config --get alias.NAME` in the command's directory, within the deadline.
    /// `Err`: the lookup budget is spent.
    fn git_alias(&self, dir: &Path, name: &str) -> Result<Option<String>, ()> {
        if Instant::now() >= self.deadline {
            return Err(());
        }
        let key = format!("alias.{name}");
        Ok(self.git_output(dir, &["config", "--get", &key]))
    }

    /// The remote's default branch as this clone last saw it (`refs/remotes/<remote>/HEAD`).
    fn default_branch(&self, dir: &Path, remote: &str) -> Option<String> {
        let reference = format!("refs/remotes/{remote}/HEAD");
        let target = self.git_output(dir, &["symbolic-ref", "-q", "--short", &reference])?;
        target
            .strip_prefix(&format!("{remote}/"))
            .map(str::to_owned)
    }

    fn git_output(&self, dir: &Path, args: &[&str]) -> Option<String> {
        let mut child = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_OPTIONAL_LOCKS", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => break,
                Ok(Some(_)) | Err(_) => return None,
                Ok(None) if Instant::now() >= self.deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    eprintln!(
                        "claude-enterprise hook: `git {}` took too long; not used",
                        args.join(" ")
                    );
                    return None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        let mut out = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut()?, &mut out).ok()?;
        let out = out.trim();
        (!out.is_empty()).then(|| out.to_owned())
    }
}

/// How a command gets its input, for the shells and wrappers that read it.
#[derive(Clone, Copy, Default)]
struct Input<'a> {
    /// A here-document or here-string.
    stdin: Option<&'a Word>,
    /// A file redirected to it.
    stdin_file: Option<&'a Word>,
    piped: bool,
    /// More arguments are added when it runs (`xargs`).
    appended: bool,
}

enum Match {
    Yes,
    No,
    /// A word only known when it runs stands where a subcommand must be.
    Unsure(String),
}

/// Whether `args` begin with the subcommand words `expected`, options between them skipped
/// (an option's value too, unless it is the word expected next).
fn subcommand_match(expected: &[String], args: &[Word]) -> Match {
    let mut i = 0;
    for word in expected {
        loop {
            let Some(arg) = args.get(i) else {
                return Match::No;
            };
            if arg.dynamic {
                return Match::Unsure(arg.text.clone());
            }
            if &arg.text == word {
                i += 1;
                break;
            }
            if arg.text.starts_with('-') {
                i += 1;
                let takes_value = !arg.text.contains('=')
                    && args
                        .get(i)
                        .is_some_and(|next| &next.text != word && !next.text.starts_with('-'));
                if takes_value {
                    i += 1;
                }
                continue;
            }
            return Match::No;
        }
    }
    Match::Yes
}

/// Each argument, each option with the next word (`-X DELETE`), `--opt=value` also as
/// `--opt value`: what `with` globs are matched against.
fn option_forms(args: &[Word]) -> Vec<String> {
    let mut forms = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        forms.push(arg.text.clone());
        if let Some(next) = args.get(i + 1) {
            forms.push(format!("{} {}", arg.text, next.text));
        }
        if let Some((option, value)) = arg.text.split_once('=') {
            forms.push(format!("{option} {value}"));
        }
    }
    forms
}

/// `gh api`: GET requests and GraphQL queries only.
fn gh_api(args: &[Word]) -> Verdict {
    let mut method: Option<Word> = None;
    let mut fields = false;
    let mut query: Option<(Word, bool)> = None;
    let mut endpoint: Option<&Word> = None;
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let text = arg.text.as_str();
        i += 1;
        let (option, attached) = match text.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, Some(v.to_owned())),
            _ if text.len() > 2 && text.starts_with('-') && !text.starts_with("--") => {
                (&text[..2], Some(text[2..].to_owned()))
            }
            _ => (text, None),
        };
        let mut value = || match &attached {
            Some(v) => Word {
                text: v.clone(),
                dynamic: arg.dynamic,
            },
            None => {
                let v = args.get(i).cloned().unwrap_or_else(|| Word::literal(""));
                i += 1;
                v
            }
        };
        match option {
            "-X" | "--method" => method = Some(value()),
            "-f" | "-F" | "--field" | "--raw-field" => {
                fields = true;
                let field = value();
                if let Some(q) = field.text.strip_prefix("query=") {
                    let from_file = option == "-F" || option == "--field";
                    query = Some((
                        Word {
                            text: q.to_owned(),
                            dynamic: field.dynamic,
                        },
                        from_file,
                    ));
                }
            }
            "--input" => {
                fields = true;
                value();
            }
            "-H" | "--header" | "-q" | "--jq" | "-t" | "--template" | "--cache" | "--hostname"
            | "-p" | "--preview" => {
                value();
            }
            o if o.starts_with('-') => {
                if arg.dynamic {
                    return unsure(format!(
                        "the gh api option `{text}` is only known when it runs"
                    ));
                }
            }
            _ => {
                endpoint.get_or_insert(arg);
            }
        }
    }
    let rule = "hooks.gh_api_read_only";
    let graphql = match endpoint {
        Some(e) if e.dynamic && (fields || method.is_some()) => {
            return unsure(format!(
                "the gh api endpoint `{}` is only known when it runs",
                e.text
            ));
        }
        Some(e) => e.text == "graphql",
        None => false,
    };
    if graphql {
        return match query {
            Some((q, _)) if q.dynamic => unsure("the GraphQL query is only known when it runs"),
            Some((q, true)) if q.text.starts_with('@') => {
                unsure("a GraphQL query read from a file")
            }
            Some((q, _)) if q.text.to_ascii_lowercase().contains("mutation") => deny(
                rule,
                "GraphQL mutations change GitHub: use the governed tools (github_create_pull_request, \
                 github_add_comment)",
            ),
            Some(_) => Ok(()),
            None => unsure("a GraphQL request without a visible query"),
        };
    }
    let method = match method {
        Some(m) if m.dynamic => {
            return unsure(format!(
                "the gh api method `{}` is only known when it runs",
                m.text
            ));
        }
        Some(m) => m.text.to_ascii_uppercase(),
        None if fields => "POST".into(),
        None => "GET".into(),
    };
    if method == "GET" || method == "HEAD" {
        return Ok(());
    }
    deny(
        rule,
        format!(
            "`gh api` {method} requests change GitHub: use the governed tools \
             (github_create_pull_request, github_add_comment) instead"
        ),
    )
}

/// `git config`: reading is fine; defining an alias is not.
fn git_config(args: &[Word]) -> Verdict {
    let reading = args.iter().any(|a| {
        a.text.starts_with("--get")
            || ["-l", "--list", "get", "list", "--show-origin"].contains(&a.text.as_str())
    });
    let alias = args
        .iter()
        .any(|a| a.dynamic || a.text.to_ascii_lowercase().starts_with("alias."));
    if alias && !reading {
        return deny(
            "hooks.git_alias",
            "git aliases are not defined from Claude Code: an alias can hide a push; run the git \
             command itself",
        );
    }
    Ok(())
}

/// The variable an assignment word sets (`NAME=value`, `NAME+=value`).
fn assignment(word: &str) -> Option<&str> {
    let (name, _) = word.split_once('=')?;
    let name = name.strip_suffix('+').unwrap_or(name);
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
}

/// Variables that change what a git command means.
fn env_name(name: &str) -> Verdict {
    if name.starts_with("GIT_CONFIG") {
        return deny(
            "hooks.git_alias",
            format!("`{name}` can define git aliases that hide a push: run the git command itself"),
        );
    }
    Ok(())
}

fn join(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where the command starts after a wrapper's options: `short` lists the short options that
/// take a value, `long` the long ones.
fn skip_options(args: &[Word], short: &str, long: &[&str]) -> usize {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let text = arg.text.as_str();
        if text == "--" {
            return i + 1;
        }
        if let Some(name) = text.strip_prefix("--") {
            i += if name.contains('=') || !long.contains(&text) {
                1
            } else {
                2
            };
            continue;
        }
        if let Some(cluster) = text.strip_prefix('-').filter(|c| !c.is_empty()) {
            i += 1;
            if let Some(at) = cluster.find(|c| short.contains(c))
                && at + 1 == cluster.len()
            {
                i += 1;
            }
            continue;
        }
        return i;
    }
    i
}

/// The glob a pattern compiles to, checked: for `config check`.
pub fn validate(config: &HooksConfig) -> Result<(), PatternError> {
    Guard::new(config, Path::new("."), Instant::now()).map(|_| ())
}

#[cfg(test)]
mod tests;
