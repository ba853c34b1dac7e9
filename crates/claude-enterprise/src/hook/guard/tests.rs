//! The Bash policy as tables: command lines that must be denied (with the rule that denies
//! them) and command lines that must pass.

use super::*;

fn guard_in(cwd: &Path) -> Guard {
    let mut guard = Guard::new(
        &HooksConfig::default(),
        cwd,
        Instant::now() + Duration::from_secs(10),
    )
    .unwrap();
    guard.gh_config = None;
    guard
}

/// Outside any repository: no git alias, no remote default branch.
fn guard() -> (tempfile::TempDir, Guard) {
    let dir = tempfile::tempdir().unwrap();
    let guard = guard_in(dir.path());
    (dir, guard)
}

fn assert_denied(guard: &Guard, cases: &[(&str, &str)]) {
    for (line, rule) in cases {
        match guard.check(line) {
            Ok(()) => panic!("allowed, must be denied: {line:?}"),
            Err(denial) => {
                assert_eq!(denial.rule, *rule, "{line:?}: {}", denial.reason);
                assert!(!denial.reason.is_empty(), "{line:?}");
            }
        }
    }
}

fn assert_allowed(guard: &Guard, lines: &[&str]) {
    for line in lines {
        if let Err(denial) = guard.check(line) {
            panic!(
                "denied, must pass: {line:?}: {} ({})",
                denial.reason, denial.rule
            );
        }
    }
}

const PUSH: &str = "hooks.push_branches";
const UNSURE: &str = "hooks.unsure";
const API: &str = "hooks.gh_api_read_only";
const ALIAS: &str = "hooks.git_alias";

#[test]
fn pushes_that_are_not_a_feature_branch_are_denied_however_written() {
    let (_dir, guard) = guard();
    assert_denied(
        &guard,
        &[
            // Where to.
            ("git push origin main", PUSH),
            ("git push origin master", PUSH),
            ("git push origin HEAD:main", PUSH),
            ("git push origin claude/x:main", PUSH),
            ("git push origin claude/x:refs/heads/main", PUSH),
            ("git push origin feature/login", PUSH),
            ("git push origin release/1.2", PUSH),
            ("git push origin claude/x release/1.2", PUSH),
            ("git push origin 'claude/x' 'main'", PUSH),
            ("git push", PUSH),
            ("git push origin", PUSH),
            ("git push origin HEAD", PUSH),
            ("git push -u origin HEAD", PUSH),
            ("git push origin @", PUSH),
            ("git push origin tag v1.0", PUSH),
            ("git push origin refs/tags/v1:refs/tags/v1", PUSH),
            ("git push origin HEAD:refs/for/main", PUSH),
            ("git push origin 'refs/heads/*:refs/heads/*'", PUSH),
            ("git push origin :", PUSH),
            // Force and deletion, in every spelling.
            ("git push --force origin claude/x", PUSH),
            ("git push -f origin claude/x", PUSH),
            ("git push -uf origin claude/x", PUSH),
            ("git push origin claude/x -f", PUSH),
            ("git push --force-with-lease origin claude/x", PUSH),
            (
                "git push --force-with-lease=claude/x:abc origin claude/x",
                PUSH,
            ),
            ("git push --force-if-includes origin claude/x", PUSH),
            ("git push origin +claude/x", PUSH),
            ("git push origin +HEAD:claude/x", PUSH),
            ("git push $'-\\x66' origin claude/x", PUSH),
            ("git push origin :claude/x", PUSH),
            ("git push --delete origin claude/x", PUSH),
            ("git push -d origin claude/x", PUSH),
            ("git push origin --delete claude/x", PUSH),
            ("git push --prune origin claude/x", PUSH),
            ("git push --mirror origin", PUSH),
            ("git push --all origin", PUSH),
            ("git push --tags origin", PUSH),
            ("git push --follow-tags origin claude/x", PUSH),
            (
                "git push --recurse-submodules=on-demand origin claude/x",
                PUSH,
            ),
            ("git send-pack origin main", PUSH),
            ("git subtree push --prefix=x origin claude/x", PUSH),
            // The program, however it is named or wrapped.
            ("/usr/bin/git push origin main", PUSH),
            ("\\git push origin main", PUSH),
            ("'git' push origin main", PUSH),
            ("command git push origin main", PUSH),
            ("builtin command git push origin main", PUSH),
            ("exec git push origin main", PUSH),
            ("env X=1 git push origin main", PUSH),
            ("env -i PATH=/usr/bin git push origin main", PUSH),
            ("env -u HOME -C /tmp git push origin main", PUSH),
            ("env -S 'git push origin main'", PUSH),
            ("env --split-string='git push origin main'", PUSH),
            ("X=1 Y=2 git push origin main", PUSH),
            ("sudo -u bob git push origin main", PUSH),
            ("sudo -s git push origin main", PUSH),
            ("nohup git push origin main &", PUSH),
            ("timeout 10 git push origin main", PUSH),
            ("timeout -s KILL 10 git push origin main", PUSH),
            ("time git push origin main", PUSH),
            ("nice -n 5 git push origin main", PUSH),
            ("stdbuf -oL git push origin main", PUSH),
            ("setsid git push origin main", PUSH),
            ("busybox env git push origin main", PUSH),
            ("git -C /tmp push origin main", PUSH),
            ("git -c push.default=current push origin main", PUSH),
            ("git --git-dir=.git --work-tree . push origin main", PUSH),
            ("git --no-pager push origin main", PUSH),
            ("find . -maxdepth 0 -exec git push origin main \\;", PUSH),
            ("watch -n 1 git push origin main", PUSH),
            ("watch -x git push origin main", PUSH),
            ("flock /tmp/l git push origin main", PUSH),
            ("flock /tmp/l -c 'git push origin main'", PUSH),
            ("su -c 'git push origin main' bob", PUSH),
            ("su - bob -c 'git push origin main'", PUSH),
            ("script -qc 'git push origin main' /dev/null", PUSH),
            ("script --command='git push origin main'", PUSH),
            ("ssh localhost git push origin main", PUSH),
            ("ssh -p 22 localhost 'git push origin main'", PUSH),
            ("parallel git push origin ::: main", UNSURE),
            ("hub push origin main", PUSH),
            ("/usr/lib/git-core/git-push origin main", PUSH),
            ("git-push origin main", PUSH),
            ("git push origin HEAD:heads/main", PUSH),
            ("git push origin HEAD:tags/v1", PUSH),
            ("alias g='git push -f'\ng origin claude/x", PUSH),
            // Shells and evaluation.
            ("sh -c 'git push origin main'", PUSH),
            ("bash -lc \"git push -f origin claude/x\"", PUSH),
            ("bash -e -c 'cd x && git push origin main'", PUSH),
            ("sh -c \"sh -c 'git push origin main'\"", PUSH),
            ("zsh -c 'git push origin main'", PUSH),
            ("eval 'git push origin main'", PUSH),
            ("eval git push origin main", PUSH),
            ("bash <<EOF\ngit push origin main\nEOF", PUSH),
            ("bash <<'EOF'\ngit push --force origin claude/x\nEOF", PUSH),
            ("sh <<< 'git push origin main'", PUSH),
            // Anywhere in the line.
            ("ls && git push origin main", PUSH),
            ("ls || git push origin main", PUSH),
            ("ls; git push origin main", PUSH),
            ("ls\ngit push origin main", PUSH),
            ("ls | git push origin main", PUSH),
            ("ls & git push origin main", PUSH),
            ("(git push origin main)", PUSH),
            ("(cd x; (git push origin main))", PUSH),
            ("{ git push origin main; }", PUSH),
            ("if true; then git push origin main; fi", PUSH),
            ("for b in a; do git push origin main; done", PUSH),
            (
                "while true; do git push -f origin claude/x; break; done",
                PUSH,
            ),
            ("case x in x) git push origin main;; esac", PUSH),
            ("! git push origin main", PUSH),
            ("f() { git push origin main; }; f", PUSH),
            ("function f { git push origin main; }", PUSH),
            ("function f() { git push origin main; }", PUSH),
            ("coproc git push origin main", PUSH),
            ("coproc P { git push origin main; }", PUSH),
            ("bash /dev/stdin <<EOF\ngit push origin main\nEOF", PUSH),
            ("source /dev/stdin <<< 'git push origin main'", PUSH),
            ("git -c push.followTags=true push origin claude/x", PUSH),
            (
                "git -c remote.origin.push=+refs/heads/*:refs/heads/* push origin claude/x",
                PUSH,
            ),
            ("echo $(git push origin main)", PUSH),
            ("echo \"$(git push origin main)\"", PUSH),
            ("echo `git push origin main`", PUSH),
            ("x=$(git push origin main)", PUSH),
            ("echo ${x:-$(git push origin main)}", PUSH),
            ("diff <(git push origin main) x", PUSH),
            ("cat <<EOF\n$(git push origin main)\nEOF", PUSH),
            ("git push origin claude/x && git push origin main", PUSH),
            (
                "git push origin claude/x 2>/dev/null; git push origin main>/dev/null",
                PUSH,
            ),
            // What cannot be known before it runs.
            ("git push origin $BRANCH", UNSURE),
            ("git push origin \"claude/$X\"", UNSURE),
            ("git push origin claude/{x,main}", UNSURE),
            ("git push origin claude/*", UNSURE),
            ("git push $REMOTE claude/x", UNSURE),
            ("git push $FLAGS origin claude/x", UNSURE),
            ("git $CMD origin main", UNSURE),
            ("$GIT push origin main", UNSURE),
            ("\"$(which git)\" push origin main", UNSURE),
            ("xargs git push origin < branches", UNSURE),
            ("echo main | xargs git push origin", UNSURE),
            ("echo 'git push origin main' | bash", UNSURE),
            ("cat script.sh | sh", UNSURE),
            ("bash ./missing.sh", UNSURE),
            ("sh -c \"$CMD\"", UNSURE),
            ("bash <<< \"$CMD\"", UNSURE),
            ("bash < <(echo git push origin main)", UNSURE),
            ("bash -s < missing.sh", UNSURE),
            ("eval \"$(echo git push origin main)\"", UNSURE),
            ("eval git push origin $B", UNSURE),
            ("watch \"$CMD\"", UNSURE),
            ("su -c \"$CMD\"", UNSURE),
            ("git push --force-w origin claude/x", UNSURE),
            ("git push --del origin claude/x", UNSURE),
            ("git push --receive-pack=/tmp/x origin claude/x", UNSURE),
            ("git push --frobnicate origin claude/x", UNSURE),
            ("git push -z origin claude/x", UNSURE),
            ("git push 'origin", UNSURE),
            (
                "python3 -c \"import os; os.system('git push origin main')\"",
                UNSURE,
            ),
            (
                "python3 -c \"import subprocess; subprocess.run(['git', 'push', '--force'])\"",
                UNSURE,
            ),
            (
                "node -e \"require('child_process').execSync('git push -f')\"",
                UNSURE,
            ),
            ("perl -e 'system(\"gh pr merge 1\")'", UNSURE),
        ],
    );
}

#[test]
fn git_aliases_and_git_config_from_the_environment_are_denied() {
    let (_dir, guard) = guard();
    assert_denied(
        &guard,
        &[
            ("git config alias.p 'push -f'", ALIAS),
            ("git config --global alias.p 'push -f'", ALIAS),
            ("git config set alias.p 'push -f'", ALIAS),
            ("git -c alias.p='push -f' p origin claude/x", ALIAS),
            ("git -c Alias.p='push -f' p origin claude/x", ALIAS),
            ("git --config-env=alias.p=X p origin claude/x", ALIAS),
            (
                "GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=alias.p GIT_CONFIG_VALUE_0='push -f' git p",
                ALIAS,
            ),
            ("export GIT_CONFIG_PARAMETERS=\"'alias.p=push -f'\"", ALIAS),
            ("env GIT_CONFIG_GLOBAL=/tmp/c git p", ALIAS),
        ],
    );
}

#[test]
fn gh_merges_deletions_settings_and_api_writes_are_denied() {
    let (_dir, guard) = guard();
    let merge = "hooks.deny[0]";
    assert_denied(
        &guard,
        &[
            ("gh pr merge 12", merge),
            ("gh pr merge --squash --delete-branch 12", merge),
            ("gh pr -R acme/x merge 12", merge),
            ("gh pr --repo=acme/x merge 12", merge),
            ("/usr/local/bin/gh pr merge 1", merge),
            ("GH_TOKEN=x gh pr merge 1", merge),
            ("sh -c 'gh pr merge 1'", merge),
            ("gh repo delete acme/x --yes", "hooks.deny[1]"),
            ("gh repo archive acme/x", "hooks.deny[2]"),
            ("gh repo edit --default-branch main", "hooks.deny[4]"),
            ("gh release create v1", "hooks.deny[5]"),
            ("gh release delete v1", "hooks.deny[6]"),
            ("gh release upload v1 x.tgz", "hooks.deny[8]"),
            ("gh secret set X", "hooks.deny[10]"),
            (
                "gh repo sync acme/fork --branch main --force",
                "hooks.deny[12]",
            ),
            ("gh issue delete 7 --yes", "hooks.deny[14]"),
            ("gh auth token", "hooks.deny[15]"),
            ("gh pr $ACTION 12", UNSURE),
            ("gh $CMD merge 1", UNSURE),
            ("gh api -X DELETE repos/a/b/git/refs/heads/x", API),
            ("gh api --method DELETE repos/a/b", API),
            ("gh api --method=PUT repos/a/b/pulls/1/merge", API),
            ("gh api -XPUT repos/a/b/pulls/1/merge", API),
            ("gh api -X patch repos/a/b", API),
            ("gh api repos/a/b/issues -f title=x", API),
            ("gh api repos/a/b/issues --input body.json", API),
            (
                "gh api graphql -f query='mutation { mergePullRequest(input: {}) { clientMutationId } }'",
                API,
            ),
            ("gh api graphql -F query=@q.graphql", UNSURE),
            ("gh api graphql", UNSURE),
            ("gh api graphql -f query=\"$(cat q.graphql)\"", UNSURE),
            ("gh api graphql --input q.json", UNSURE),
            ("gh api -X \"$M\" repos/a/b", UNSURE),
            ("gh api \"$E\" -f x=1", UNSURE),
            ("gh alias set m 'pr merge'", "hooks.gh_alias"),
        ],
    );
}

#[test]
fn everyday_commands_and_feature_branch_pushes_pass() {
    let (_dir, guard) = guard();
    assert_allowed(
        &guard,
        &[
            "git push origin claude/x",
            "git push -u origin claude/fix-login",
            "git push --set-upstream origin claude/a/b",
            "git push origin HEAD:claude/x",
            "git push origin HEAD~1:claude/x",
            "git push origin HEAD:refs/heads/claude/x",
            "git push origin claude/main",
            "git push -v --no-verify --atomic origin claude/x",
            "git push -o ci.skip origin claude/x",
            "git push --push-option=ci.skip origin claude/x",
            "git push --dry-run origin claude/x",
            "git push origin claude/x 2>&1 | tail -5",
            "cd repo && git push origin claude/x",
            "git -C sub push origin claude/x",
            "bash -c 'git push origin claude/x'",
            "git status && git diff --stat",
            "git commit -m 'git push origin main'",
            "git commit -m \"do not git push -f\"",
            "echo \"git push origin main\"",
            "echo 'gh pr merge 1'",
            "git log --oneline | head -20",
            "git fetch origin main",
            "git pull --rebase origin main",
            "git checkout main && git checkout -b claude/x",
            "git branch -D old",
            "git reset --hard HEAD~1",
            "git config user.name 'Jane'",
            "git config --get alias.p",
            "git -c core.pager=cat log",
            "gh pr create --title merge --body 'x'",
            "gh pr view 12",
            "gh pr list --state merged",
            "gh pr checks 12",
            "gh repo view acme/x",
            "gh release list",
            "gh api repos/a/b/pulls",
            "gh api \"repos/$REPO/pulls\"",
            "alias ll='ls -la'",
            "gh api -X GET repos/a/b/pulls -f state=open",
            "gh api --paginate repos/a/b/issues --jq '.[].title'",
            "gh api graphql -f query='query { viewer { login } }'",
            "ls -la; cat README.md",
            "cargo test -p claude-enterprise 2>&1 | tail -30",
            "sh -c 'cargo test'",
            "env RUST_LOG=debug cargo run",
            "command -v git",
            "sudo apt-get install -y jq",
            "python3 -c 'print(1)'",
            "python3 -c \"import subprocess; subprocess.run(['git', 'status'])\"",
            "find . -name '*.rs' -exec grep -l push {} \\;",
            "for f in src/*.rs; do echo $f; done",
            "echo $HOME",
            "X=$(git rev-parse HEAD) && echo $X",
            "cat <<'EOF' > notes.md\ngit push origin main\nEOF",
            "npm test",
            "",
        ],
    );
}

fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn git_aliases_in_the_repository_are_expanded_and_the_remote_default_is_protected() {
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["config", "alias.p", "push -f"]);
    git(repo.path(), &["config", "alias.pm", "push origin main"]);
    git(
        repo.path(),
        &["config", "alias.sp", "!git push origin main"],
    );
    git(repo.path(), &["config", "alias.pc", "push origin"]);
    git(repo.path(), &["config", "alias.st", "status -sb"]);
    // The remote's default branch as the clone saw it: a name push_branches would allow.
    git(
        repo.path(),
        &[
            "symbolic-ref",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/claude/base",
        ],
    );
    let guard = guard_in(repo.path());
    assert_denied(
        &guard,
        &[
            ("git p origin claude/x", PUSH),
            ("git pm", PUSH),
            ("git sp", PUSH),
            ("git pc main", PUSH),
            ("git push origin claude/base", PUSH),
            ("git push origin HEAD:refs/heads/claude/base", PUSH),
        ],
    );
    assert_allowed(&guard, &["git st", "git pc claude/x", "git unknown-thing"]);
    // Another directory's aliases are looked up there.
    let elsewhere = tempfile::tempdir().unwrap();
    let guard = guard_in(elsewhere.path());
    assert_allowed(&guard, &["git p origin claude/x"]);
    assert_denied(
        &guard,
        &[(
            &format!("git -C {} p origin claude/x", repo.path().display()),
            PUSH,
        )],
    );
}

#[test]
fn gh_aliases_are_expanded() {
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.yml"),
        "git_protocol: https\naliases:\n    co: pr checkout\n    mm: 'pr merge --squash'\n    sh: '!gh pr merge 1'\n",
    )
    .unwrap();
    let (_dir, mut guard) = guard();
    guard.gh_config = Some(config.path().to_owned());
    assert_denied(
        &guard,
        &[("gh mm 12", "hooks.deny[0]"), ("gh sh", "hooks.deny[0]")],
    );
    assert_allowed(&guard, &["gh co 12"]);
}

#[test]
fn scripts_run_or_sourced_are_read() {
    let (dir, guard) = guard();
    std::fs::write(
        dir.path().join("ship.sh"),
        "set -e\ncargo build\ngit push origin main\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("build.sh"),
        "#!/bin/sh\ncargo build --release\n",
    )
    .unwrap();
    // Shell this reader cannot follow still may not push.
    std::fs::write(
        dir.path().join("odd.sh"),
        "x='unclosed\ngit push origin main\n",
    )
    .unwrap();
    assert_denied(
        &guard,
        &[
            ("bash ship.sh", PUSH),
            ("bash -s < ship.sh", PUSH),
            ("sh < ./ship.sh", PUSH),
            ("sh ./ship.sh", PUSH),
            ("source ship.sh", PUSH),
            (". ./ship.sh", PUSH),
            ("bash odd.sh", UNSURE),
        ],
    );
    assert_allowed(
        &guard,
        &["bash build.sh", "sh -e build.sh", "bash < build.sh"],
    );
}

#[test]
fn configured_rules_and_branches_apply() {
    let dir = tempfile::tempdir().unwrap();
    let config = HooksConfig {
        push_branches: vec!["ai/*".into(), "*".into()],
        protected_branches: vec!["main".into(), "prod-*".into()],
        deny: vec![CommandRule {
            command: "terraform apply".into(),
            with: vec!["-auto-approve".into()],
            reason: "plans are applied by the pipeline".into(),
        }],
        ..HooksConfig::default()
    };
    let guard = Guard::new(&config, dir.path(), Instant::now() + Duration::from_secs(5)).unwrap();
    assert_denied(
        &guard,
        &[
            ("git push origin main", PUSH),
            ("git push origin prod-eu", PUSH),
            ("terraform apply -auto-approve", "hooks.deny[0]"),
            ("terraform -chdir=x apply -AUTO-APPROVE", "hooks.deny[0]"),
        ],
    );
    assert_allowed(
        &guard,
        &[
            "git push origin feature/x",
            "terraform apply",
            "terraform plan -auto-approve",
        ],
    );
    let bad = HooksConfig {
        push_branches: vec!["claude/[".into()],
        ..HooksConfig::default()
    };
    let err = validate(&bad).unwrap_err().to_string();
    assert!(
        err.contains("hooks.push_branches") && err.contains("claude/["),
        "{err}"
    );
}

#[test]
fn a_check_out_of_time_denies_instead_of_guessing() {
    let dir = tempfile::tempdir().unwrap();
    // The lookup budget is spent: a command that may be an alias cannot be looked up.
    let spent = Guard::new(&HooksConfig::default(), dir.path(), Instant::now()).unwrap();
    assert_denied(&spent, &[("git frobnicate", UNSURE)]);
    assert_allowed(&spent, &["git status", "ls"]);
    // Past the grace too: nothing is checked any more, so nothing passes.
    let late = Guard::new(
        &HooksConfig::default(),
        dir.path(),
        Instant::now() - Duration::from_secs(1),
    )
    .unwrap();
    assert_denied(&late, &[("ls", UNSURE)]);
}
