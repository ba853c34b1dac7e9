//! A shell command line taken apart far enough to check what it runs.
//!
//! Not a shell: nothing is expanded or run. The scanner finds every simple command however it
//! is joined (`&&`, `||`, `;`, `&`, `|`, newlines, `( )` subshells, `{ }` groups, `if`/`while`
//! bodies) and every piece of code that runs inside another (`$( )`, backticks, `<( )`,
//! `${ }`, here-documents whose words expand), so that each is checked on its own. Quote
//! removal is `shell_words`' (POSIX rules); the scanner only rewrites what it does not know:
//! ANSI-C `$'...'` strings become plain single-quoted ones, redirections are set apart, and every
//! expansion is marked so that a word whose value is only known when the command runs is
//! flagged [`Word::dynamic`]. Whatever cannot be read with certainty is reported in
//! [`Script::unsure`]; the checker denies on it.

/// Marks an expansion (`$X`, `$( )`, a glob) in the rewritten text.
const EXPANSION: char = '\u{E000}';
/// Marks a redirection operator, set apart as its own word.
const OPERATOR: char = '\u{E001}';

/// One command line, taken apart.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Script {
    /// Every simple command, in order.
    pub commands: Vec<Command>,
    /// Code run inside the line: command and process substitutions, `${ }` and arithmetic.
    pub nested: Vec<String>,
    /// Why (part of) the line could not be read with certainty.
    pub unsure: Vec<String>,
}

/// One simple command: its words after quote removal, redirections taken out.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Command {
    /// The words, program first (assignments and reserved words included).
    pub words: Vec<Word>,
    /// What a here-document or here-string feeds to its standard input.
    pub stdin: Option<Word>,
    /// The file redirected to its standard input (`< FILE`).
    pub stdin_file: Option<Word>,
    /// Its standard input comes from a pipe.
    pub piped: bool,
}

/// One word after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The text, expansions left as written (`$X`).
    pub text: String,
    /// Part of it is only known when the command runs: a variable, a substitution, a glob.
    pub dynamic: bool,
}

impl Word {
    /// A word known as written.
    pub fn literal(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            dynamic: false,
        }
    }
}

/// Takes `line` apart.
pub fn parse(line: &str) -> Script {
    let mut scanner = Scanner {
        chars: line.chars().collect(),
        i: 0,
        raw: String::new(),
        piped: false,
        heredocs: Vec::new(),
        script: Script::default(),
    };
    if line.contains([EXPANSION, OPERATOR]) {
        scanner
            .script
            .unsure
            .push("the command contains private-use characters".into());
        return scanner.script;
    }
    scanner.run();
    scanner.script
}

/// A here-document waiting for the end of its line.
struct HereDoc {
    delimiter: String,
    strip_tabs: bool,
    /// An unquoted delimiter: the body's `$( )` and backticks run.
    expands: bool,
    /// The command it feeds, once that command is complete.
    target: Option<usize>,
}

struct Scanner {
    chars: Vec<char>,
    i: usize,
    /// The current simple command, rewritten for `shell_words`.
    raw: String,
    /// The current command reads a pipe.
    piped: bool,
    heredocs: Vec<HereDoc>,
    script: Script,
}

impl Scanner {
    fn peek(&self, offset: usize) -> Option<char> {
        self.chars.get(self.i + offset).copied()
    }

    fn at_word_start(&self) -> bool {
        self.raw.is_empty() || self.raw.ends_with(' ')
    }

    fn unsure(&mut self, why: impl Into<String>) {
        self.script.unsure.push(why.into());
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            match c {
                '\\' => match self.peek(1) {
                    Some('\n') => self.i += 2,
                    Some(next) => {
                        self.raw.push('\\');
                        self.raw.push(next);
                        self.i += 2;
                    }
                    None => {
                        self.raw.push_str("\\\\");
                        self.i += 1;
                    }
                },
                '\'' => self.single_quoted(),
                '"' => self.double_quoted(),
                '$' => self.dollar(false),
                '`' => self.backtick(),
                '#' if self.at_word_start() => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.i += 1;
                    }
                }
                '\n' => {
                    self.i += 1;
                    self.finish();
                    self.read_heredocs();
                }
                ';' => {
                    self.finish();
                    while self.peek(0).is_some_and(|c| c == ';' || c == '&') {
                        self.i += 1;
                    }
                    self.i += 1;
                }
                '&' => match self.peek(1) {
                    Some('&') => {
                        self.i += 2;
                        self.finish();
                    }
                    Some('>') => {
                        let op = if self.peek(2) == Some('>') {
                            "&>>"
                        } else {
                            "&>"
                        };
                        self.i += op.len();
                        self.operator(op);
                    }
                    _ => {
                        self.i += 1;
                        self.finish();
                    }
                },
                '|' => match self.peek(1) {
                    Some('|') => {
                        self.i += 2;
                        self.finish();
                    }
                    Some('&') => {
                        self.i += 2;
                        self.finish();
                        self.piped = true;
                    }
                    _ => {
                        self.i += 1;
                        self.finish();
                        self.piped = true;
                    }
                },
                '(' | ')' => {
                    self.i += 1;
                    self.finish();
                }
                '<' | '>' => self.redirection(c),
                ' ' | '\t' | '\r' => {
                    self.i += 1;
                    if !self.at_word_start() {
                        self.raw.push(' ');
                    }
                }
                '*' | '?' | '[' => {
                    // Pathname expansion: the word's value depends on the files present.
                    self.raw.push(EXPANSION);
                    self.raw.push(c);
                    self.i += 1;
                }
                '{' | '}' if !self.standalone(c) => {
                    // Brace expansion (`{a,b}`) makes several words of one.
                    self.raw.push(EXPANSION);
                    self.raw.push(c);
                    self.i += 1;
                }
                _ => {
                    self.raw.push(c);
                    self.i += 1;
                }
            }
        }
        self.finish();
        if self.heredocs.iter().any(|h| h.target.is_some()) {
            self.read_heredocs();
        }
    }

    /// `{` or `}` as a word of its own (a group), not inside a word.
    fn standalone(&self, c: char) -> bool {
        let before = self
            .i
            .checked_sub(1)
            .and_then(|i| self.chars.get(i))
            .copied();
        let after = self.peek(1);
        let boundary = |c: Option<char>| c.is_none_or(|c| " \t\n;&|()".contains(c));
        match c {
            '{' => self.at_word_start() && boundary(after),
            _ => boundary(before) && boundary(after),
        }
    }

    fn single_quoted(&mut self) {
        let start = self.i;
        self.i += 1;
        while self.peek(0).is_some_and(|c| c != '\'') {
            self.i += 1;
        }
        if self.peek(0).is_none() {
            self.unsure("a single quote is not closed");
            self.raw.extend(&self.chars[start..]);
            self.raw.push('\'');
            return;
        }
        self.i += 1;
        self.raw.extend(&self.chars[start..self.i]);
    }

    fn double_quoted(&mut self) {
        self.raw.push('"');
        self.i += 1;
        loop {
            match self.peek(0) {
                None => {
                    self.unsure("a double quote is not closed");
                    self.raw.push('"');
                    return;
                }
                Some('"') => {
                    self.raw.push('"');
                    self.i += 1;
                    return;
                }
                Some('\\') => {
                    self.raw.push('\\');
                    if let Some(next) = self.peek(1) {
                        self.raw.push(next);
                    }
                    self.i += 2;
                }
                Some('$') => self.dollar(true),
                Some('`') => self.backtick(),
                Some(c) => {
                    self.raw.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// `$` at `self.i`: an expansion, an ANSI-C string, or a plain dollar sign.
    fn dollar(&mut self, quoted: bool) {
        match self.peek(1) {
            Some('(') => {
                self.i += 1;
                if let Some(body) = self.parenthesised() {
                    self.script.nested.push(body);
                }
                self.raw.push(EXPANSION);
            }
            Some('{') => {
                self.i += 1;
                if let Some(body) = self.braced() {
                    // Checked as code: a `${x:-$(cmd)}` default runs `cmd`.
                    self.script.nested.push(body);
                }
                self.raw.push(EXPANSION);
            }
            Some('\'') if !quoted => {
                self.i += 2;
                let mut text = String::new();
                loop {
                    match self.peek(0) {
                        None => {
                            self.unsure("a $'...' string is not closed");
                            break;
                        }
                        Some('\'') => {
                            self.i += 1;
                            break;
                        }
                        Some('\\') => {
                            self.i += 1;
                            self.ansi_escape(&mut text);
                        }
                        Some(c) => {
                            text.push(c);
                            self.i += 1;
                        }
                    }
                }
                self.raw.push('\'');
                self.raw.push_str(&text.replace('\'', "'\\''"));
                self.raw.push('\'');
            }
            Some('"') if !quoted => {
                // A locale-translated string reads as a double-quoted one.
                self.i += 1;
                self.double_quoted();
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                self.raw.push(EXPANSION);
                self.raw.push('$');
                self.i += 1;
                while let Some(c) = self
                    .peek(0)
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    self.raw.push(c);
                    self.i += 1;
                }
            }
            Some(c) if c.is_ascii_digit() || "@*#?$!-".contains(c) => {
                self.raw.push(EXPANSION);
                self.raw.push('$');
                self.raw.push(c);
                self.i += 2;
            }
            _ => {
                self.raw.push('$');
                self.i += 1;
            }
        }
    }

    /// One escape of an ANSI-C string, the backslash consumed.
    fn ansi_escape(&mut self, text: &mut String) {
        let Some(c) = self.peek(0) else {
            text.push('\\');
            return;
        };
        self.i += 1;
        let simple = match c {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'e' | 'E' => Some('\x1b'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' | '\'' | '"' | '?' => Some(c),
            _ => None,
        };
        if let Some(ch) = simple {
            text.push(ch);
            return;
        }
        let digits = |s: &mut Self, radix: u32, max: usize| {
            let mut value = 0u32;
            let mut n = 0;
            while n < max
                && let Some(d) = s.peek(0).and_then(|c| c.to_digit(radix))
            {
                value = value * radix + d;
                s.i += 1;
                n += 1;
            }
            (value, n)
        };
        let code = match c {
            'x' => digits(self, 16, 2),
            'u' => digits(self, 16, 4),
            'U' => digits(self, 16, 8),
            '0'..='7' => {
                self.i -= 1;
                digits(self, 8, 3)
            }
            'c' => {
                let control = self.peek(0).map_or(0, |c| (c as u32) & 0x1f);
                self.i += 1;
                (control, 1)
            }
            _ => {
                text.push('\\');
                text.push(c);
                return;
            }
        };
        match code {
            (_, 0) => {
                text.push('\\');
                text.push(c);
            }
            (value, _) => text.push(char::from_u32(value).unwrap_or('\u{FFFD}')),
        }
    }

    /// The text between the parenthesis at `self.i` and its match, quotes (and backquotes)
    /// respected.
    fn parenthesised(&mut self) -> Option<String> {
        self.balanced(('(', ')'), true, "a parenthesis is not closed")
    }

    /// The text between the brace at `self.i` and its match.
    fn braced(&mut self) -> Option<String> {
        self.balanced(('{', '}'), false, "a ${ is not closed")
    }

    /// The text between the opening delimiter at `self.i` and its match, skipping quoted text
    /// (and backquoted text when `backquotes`); unsure with `unclosed` when there is no match.
    fn balanced(
        &mut self,
        (open, close): (char, char),
        backquotes: bool,
        unclosed: &str,
    ) -> Option<String> {
        let start = self.i + 1;
        let mut depth = 0usize;
        while let Some(c) = self.peek(0) {
            match c {
                '\\' => self.i += 1,
                '\'' => {
                    self.i += 1;
                    while self.peek(0).is_some_and(|c| c != '\'') {
                        self.i += 1;
                    }
                }
                '"' => self.skip_double_quoted(),
                '`' if backquotes => {
                    self.i += 1;
                    while self.peek(0).is_some_and(|c| c != '`') {
                        if self.peek(0) == Some('\\') {
                            self.i += 1;
                        }
                        self.i += 1;
                    }
                }
                c if c == open => depth += 1,
                c if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        let body = self.chars[start..self.i].iter().collect();
                        self.i += 1;
                        return Some(body);
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        self.unsure(unclosed);
        None
    }

    fn skip_double_quoted(&mut self) {
        self.i += 1;
        while let Some(c) = self.peek(0) {
            match c {
                '\\' => self.i += 1,
                '"' => return,
                _ => {}
            }
            self.i += 1;
        }
    }

    fn backtick(&mut self) {
        self.i += 1;
        let mut body = String::new();
        loop {
            match self.peek(0) {
                None => {
                    self.unsure("a backtick is not closed");
                    break;
                }
                Some('`') => {
                    self.i += 1;
                    break;
                }
                Some('\\') if self.peek(1).is_some_and(|c| "`\\$".contains(c)) => {
                    body.push(self.peek(1).unwrap_or_default());
                    self.i += 2;
                }
                Some(c) => {
                    body.push(c);
                    self.i += 1;
                }
            }
        }
        self.script.nested.push(body);
        self.raw.push(EXPANSION);
    }

    fn redirection(&mut self, c: char) {
        let next = self.peek(1);
        let op = match (c, next) {
            ('<' | '>', Some('(')) => {
                // Process substitution: code that runs beside the command.
                self.i += 1;
                if let Some(body) = self.parenthesised() {
                    self.script.nested.push(body);
                }
                self.raw.push(EXPANSION);
                return;
            }
            ('<', Some('<')) => match self.peek(2) {
                Some('<') => "<<<",
                Some('-') => "<<-",
                _ => "<<",
            },
            ('<', Some('&')) => "<&",
            ('<', Some('>')) => "<>",
            ('>', Some('>')) => ">>",
            ('>', Some('&')) => ">&",
            ('>', Some('|')) => ">|",
            _ => {
                if c == '<' {
                    "<"
                } else {
                    ">"
                }
            }
        };
        self.i += op.len();
        if op == "<<" || op == "<<-" {
            self.heredoc(op == "<<-");
        } else {
            self.operator(op);
        }
    }

    /// Sets a redirection apart as its own word, with the file descriptor number before it.
    fn operator(&mut self, op: &str) {
        let word_start = self.raw.rfind(' ').map_or(0, |i| i + 1);
        let fd: String = if self.raw[word_start..].chars().all(|c| c.is_ascii_digit()) {
            self.raw.split_off(word_start)
        } else {
            String::new()
        };
        if !self.at_word_start() {
            self.raw.push(' ');
        }
        self.raw.push(OPERATOR);
        self.raw.push_str(&fd);
        self.raw.push_str(op);
        self.raw.push(' ');
    }

    /// `<<WORD`: the delimiter is read now, the body after the end of the line.
    fn heredoc(&mut self, strip_tabs: bool) {
        while self.peek(0).is_some_and(|c| c == ' ' || c == '\t') {
            self.i += 1;
        }
        let mut delimiter = String::new();
        let mut quoted = false;
        while let Some(c) = self.peek(0) {
            match c {
                '\'' | '"' => {
                    quoted = true;
                    self.i += 1;
                    while let Some(q) = self.peek(0) {
                        self.i += 1;
                        if q == c {
                            break;
                        }
                        delimiter.push(q);
                    }
                }
                '\\' => {
                    quoted = true;
                    if let Some(next) = self.peek(1) {
                        delimiter.push(next);
                    }
                    self.i += 2;
                }
                c if " \t\n;&|<>()".contains(c) => break,
                c => {
                    delimiter.push(c);
                    self.i += 1;
                }
            }
        }
        if delimiter.is_empty() {
            self.unsure("a here-document has no delimiter");
            return;
        }
        self.heredocs.push(HereDoc {
            delimiter,
            strip_tabs,
            expands: !quoted,
            target: None,
        });
    }

    /// After a newline: the bodies of the line's here-documents.
    fn read_heredocs(&mut self) {
        for heredoc in std::mem::take(&mut self.heredocs) {
            let mut body = String::new();
            let mut closed = false;
            while self.peek(0).is_some() {
                let start = self.i;
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.i += 1;
                }
                let line: String = self.chars[start..self.i].iter().collect();
                self.i += 1;
                let compared = if heredoc.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    &line
                };
                if compared == heredoc.delimiter {
                    closed = true;
                    break;
                }
                body.push_str(compared);
                body.push('\n');
            }
            if !closed {
                self.unsure(format!(
                    "the here-document `{}` is not closed",
                    heredoc.delimiter
                ));
            }
            if heredoc.expands {
                let inner = parse_expansions(&body);
                self.script.nested.extend(inner.nested);
                self.script.unsure.extend(inner.unsure);
            }
            if let Some(command) = heredoc.target.and_then(|t| self.script.commands.get_mut(t)) {
                command
                    .stdin
                    .get_or_insert_with(|| Word::literal(""))
                    .text
                    .push_str(&body);
            }
        }
    }

    /// Ends the current simple command.
    fn finish(&mut self) {
        let raw = std::mem::take(&mut self.raw);
        let piped = std::mem::take(&mut self.piped);
        let split = match shell_words::split(&raw) {
            Ok(split) => split,
            Err(e) => {
                self.unsure(format!("the words cannot be split ({e})"));
                Vec::new()
            }
        };
        let mut command = Command {
            words: Vec::new(),
            stdin: None,
            stdin_file: None,
            piped,
        };
        let mut words = split.into_iter();
        while let Some(word) = words.next() {
            if let Some(op) = word.strip_prefix(OPERATOR) {
                let target = words.next().unwrap_or_default();
                let target = Word {
                    dynamic: target.contains(EXPANSION),
                    text: target.replace(EXPANSION, ""),
                };
                let fd = op.trim_end_matches(['<', '>', '&', '|']);
                if op.ends_with("<<<") {
                    command.stdin = Some(target);
                } else if (op.ends_with('<') || op.ends_with("<>")) && (fd.is_empty() || fd == "0")
                {
                    command.stdin_file = Some(target);
                }
                continue;
            }
            command.words.push(Word {
                dynamic: word.contains(EXPANSION),
                text: word.replace(EXPANSION, ""),
            });
        }
        let waiting = self.heredocs.iter().any(|h| h.target.is_none());
        if command.words.is_empty() && command.stdin.is_none() && !waiting {
            return;
        }
        let index = self.script.commands.len();
        self.script.commands.push(command);
        for heredoc in self.heredocs.iter_mut().filter(|h| h.target.is_none()) {
            heredoc.target = Some(index);
        }
    }
}

/// The code that runs inside text that expands like a double-quoted string (an unquoted
/// here-document's body).
fn parse_expansions(text: &str) -> Script {
    let mut scanner = Scanner {
        chars: text.chars().collect(),
        i: 0,
        raw: String::new(),
        piped: false,
        heredocs: Vec::new(),
        script: Script::default(),
    };
    while let Some(c) = scanner.peek(0) {
        match c {
            '\\' => scanner.i += 2,
            '$' => scanner.dollar(true),
            '`' => scanner.backtick(),
            _ => scanner.i += 1,
        }
    }
    scanner.script
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each command as its words (`~` before a dynamic one), `|` before a piped one, `<` and
    /// its standard input after.
    fn show(script: &Script) -> Vec<String> {
        script
            .commands
            .iter()
            .map(|c| {
                let words: Vec<String> = c
                    .words
                    .iter()
                    .map(|w| {
                        if w.dynamic {
                            format!("~{}", w.text)
                        } else {
                            w.text.clone()
                        }
                    })
                    .collect();
                let mut shown = format!("{}{}", if c.piped { "| " } else { "" }, words.join(" "));
                if let Some(stdin) = &c.stdin {
                    let mark = if stdin.dynamic { "~" } else { "" };
                    shown.push_str(&format!(" < {mark}{:?}", stdin.text));
                }
                if let Some(file) = &c.stdin_file {
                    shown.push_str(&format!(" <file {}", file.text));
                }
                shown
            })
            .collect()
    }

    #[test]
    fn commands_nested_code_and_words() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("git push origin main", &["git push origin main"], &[]),
            (
                "cd x && git push||echo no; ls &",
                &["cd x", "git push", "echo no", "ls"],
                &[],
            ),
            ("(git push -f)", &["git push -f"], &[]),
            ("{ git push; }", &["{ git push", "}"], &[]),
            ("echo $(git push -f)", &["echo ~"], &["git push -f"]),
            (
                "echo \"$(git push \")\")\"",
                &["echo ~"],
                &["git push \")\""],
            ),
            ("echo `git push -f`", &["echo ~"], &["git push -f"]),
            ("diff <(git push) x", &["diff ~ x"], &["git push"]),
            ("cat x | bash", &["cat x", "| bash"], &[]),
            ("a |& b", &["a", "| b"], &[]),
            ("git push 2>/dev/null >out", &["git push"], &[]),
            ("git push>out", &["git push"], &[]),
            ("git push 2>&1 &>x", &["git push"], &[]),
            ("echo '>' \">\"", &["echo > >"], &[]),
            ("git push $'-\\x66' origin", &["git push -f origin"], &[]),
            ("git push $'a\\'b'", &["git push a'b"], &[]),
            ("git push origin \"$B\"", &["git push origin ~$B"], &[]),
            ("git push origin '$B'", &["git push origin $B"], &[]),
            ("git push origin \\$B", &["git push origin $B"], &[]),
            (
                "git push origin {a,main}",
                &["git push origin ~{a,main}"],
                &[],
            ),
            (
                "git push origin claude/*",
                &["git push origin ~claude/*"],
                &[],
            ),
            ("g\\\nit push", &["git push"], &[]),
            ("echo a # git push -f", &["echo a"], &[]),
            ("echo a#b", &["echo a#b"], &[]),
            ("x=${y:-$(git push)}", &["~x="], &["y:-$(git push)"]),
            (
                "if true; then git push; fi",
                &["if true", "then git push", "fi"],
                &[],
            ),
            (
                "bash <<EOF\ngit push -f\nEOF\necho done",
                &["bash < \"git push -f\\n\"", "echo done"],
                &[],
            ),
            (
                "cat <<-'E' | sh\n\tgit push $(x)\n\tE",
                &["cat < \"git push $(x)\\n\"", "| sh"],
                &[],
            ),
            (
                "cat <<E\n$(git push)\nE",
                &["cat < \"$(git push)\\n\""],
                &["git push"],
            ),
            ("bash <<< 'git push -f'", &["bash < \"git push -f\""], &[]),
            ("bash <<< \"$CMD\"", &["bash < ~\"$CMD\""], &[]),
            ("bash -s < x.sh 2>/dev/null", &["bash -s <file x.sh"], &[]),
            ("bash 0<x.sh", &["bash <file x.sh"], &[]),
            ("cat 3<x.sh", &["cat"], &[]),
            ("env -S'git push'", &["env -Sgit push"], &[]),
        ];
        for (line, commands, nested) in cases {
            let script = parse(line);
            assert!(script.unsure.is_empty(), "{line}: {:?}", script.unsure);
            assert_eq!(show(&script), *commands, "{line}");
            assert_eq!(script.nested, *nested, "{line}");
        }
    }

    #[test]
    fn what_cannot_be_read_is_reported() {
        for line in [
            "git push 'origin",
            "git push \"origin",
            "echo $(git push",
            "echo `git push",
            "cat <<EOF\ngit push",
            "echo \u{E000}",
            "x <<",
        ] {
            assert!(!parse(line).unsure.is_empty(), "{line:?} read as sure");
        }
    }
}
