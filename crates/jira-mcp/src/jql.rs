//! Reading JQL: a tokenizer, the fields a query references (in clauses, in `ORDER BY`, and in
//! queries quoted inside function arguments), every function argument down to the bottom of its
//! quoting, and the wrap that AND-s the project allowlist around a query.
//!
//! Not here: what a reference *means* (whether it is a financial field: `fields`), and no call
//! to Jira. This module only says what a query says, or that it cannot be read with certainty.
//!
//! Tokens, not regular expressions: a field can be spelled by name, quoted in either quote,
//! with escapes, as `cf[10050]` or `cf [ 010050 ]`, as `customfield_10050`, or with a type
//! suffix (`"Budget[Number]"`), and a quoted argument of a function (ScriptRunner's
//! `subtasksOf("...")`, `expression("", "...")`) can hold a whole query or expression of its
//! own. `&&`, `&`, `||`, `|` and `!` are JQL's other spellings of AND, OR and NOT, so they end
//! words as the keywords do. Unbalanced parentheses are refused, since they could close the
//! wrapping that keeps the allowlist in force.

use std::collections::BTreeSet;

/// One lexical token with its byte range in the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// Its text: unquoted and unescaped for strings.
    pub text: String,
    /// Byte offset of its start in the query.
    pub start: usize,
}

/// Token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An unquoted word: field, value, keyword, function name, `&&` / `||`.
    Word,
    /// A quoted string.
    Quoted,
    /// `=`, `!=`, `~`, `!~`, `<`, `<=`, `>`, `>=`, `!`.
    Operator,
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `,`.
    Comma,
}

/// JQL that cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JqlError {
    /// A quote is never closed.
    #[error("the JQL has an unterminated quoted string starting at character {0}")]
    Unterminated(usize),
    /// Parentheses do not balance.
    #[error("the JQL's parentheses do not balance")]
    Unbalanced,
    /// A function argument whose meaning to the function is not certain.
    #[error("the argument `{argument}` of `{function}()` cannot be read with certainty: {why}")]
    Unreadable {
        /// The function it is an argument of.
        function: String,
        /// The argument as the function receives it.
        argument: String,
        /// What makes it uncertain.
        why: String,
    },
}

const OPERATOR_CHARS: &[char] = &['=', '!', '~', '<', '>'];
/// `&&` / `&` (AND) and `||` / `|` (OR): words of their own.
const LOGICAL_CHARS: &[char] = &['&', '|'];
/// Quotes nested deeper than this are refused: without escapes JQL's two quotes nest two deep,
/// and a reader that recurses must stop somewhere.
const MAX_NESTING: usize = 4;

/// Splits a query into tokens.
pub fn tokenize(jql: &str) -> Result<Vec<Token>, JqlError> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut chars = jql.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = match c {
            '(' => Some(Kind::Open),
            ')' => Some(Kind::Close),
            ',' => Some(Kind::Comma),
            _ => None,
        };
        if let Some(kind) = single {
            chars.next();
            tokens.push(Token {
                kind,
                text: c.to_string(),
                start,
            });
            continue;
        }
        if c == '"' || c == '\'' {
            chars.next();
            let mut text = String::new();
            let mut closed = false;
            while let Some((_, d)) = chars.next() {
                match d {
                    '\\' => text.push(unescape(&mut chars)),
                    d if d == c => {
                        closed = true;
                        break;
                    }
                    d => text.push(d),
                }
            }
            if !closed {
                return Err(JqlError::Unterminated(jql[..start].chars().count() + 1));
            }
            tokens.push(Token {
                kind: Kind::Quoted,
                text,
                start,
            });
            continue;
        }
        let group = if OPERATOR_CHARS.contains(&c) {
            Some((OPERATOR_CHARS, Kind::Operator))
        } else if LOGICAL_CHARS.contains(&c) {
            Some((LOGICAL_CHARS, Kind::Word))
        } else {
            None
        };
        if let Some((set, kind)) = group {
            let mut text = String::new();
            while let Some(&(_, d)) = chars.peek() {
                if !set.contains(&d) {
                    break;
                }
                text.push(d);
                chars.next();
            }
            tokens.push(Token { kind, text, start });
            continue;
        }
        let mut text = String::new();
        while let Some(&(_, d)) = chars.peek() {
            if d.is_whitespace()
                || matches!(d, '(' | ')' | ',' | '"' | '\'')
                || OPERATOR_CHARS.contains(&d)
                || LOGICAL_CHARS.contains(&d)
            {
                break;
            }
            chars.next();
            match d {
                '\\' => text.push(unescape(&mut chars)),
                // `cf[ 10050 ]` and `Budget[Number]`: the brackets belong to the word. A
                // parenthesis, quote or comma ends them all the same, so that nothing can hide
                // from the balance check inside brackets.
                '[' => {
                    text.push('[');
                    while let Some(&(_, e)) = chars.peek() {
                        if matches!(e, '(' | ')' | ',' | '"' | '\'') {
                            break;
                        }
                        chars.next();
                        if !e.is_whitespace() {
                            text.push(e);
                        }
                        if e == ']' {
                            break;
                        }
                    }
                }
                d => text.push(d),
            }
        }
        // `cf [10050]` and `"Budget" [Number]`: a bracket after a name is part of that name.
        if text.starts_with('[')
            && let Some(last) = tokens.last_mut()
            && matches!(last.kind, Kind::Word | Kind::Quoted)
            && !is_keyword_text(&last.text)
        {
            last.text.push_str(&text);
            continue;
        }
        tokens.push(Token {
            kind: Kind::Word,
            text,
            start,
        });
    }
    let mut depth = 0i32;
    for token in &tokens {
        match token.kind {
            Kind::Open => depth += 1,
            Kind::Close => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return Err(JqlError::Unbalanced);
        }
    }
    if depth != 0 {
        return Err(JqlError::Unbalanced);
    }
    Ok(tokens)
}

/// The character after a backslash: JQL's `\n`, `\t`, `\uXXXX`, or the character itself.
fn unescape(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> char {
    match chars.next().map(|(_, c)| c) {
        Some('n') => '\n',
        Some('t') => '\t',
        Some('r') => '\r',
        Some('u') => {
            let hex: String = (0..4)
                .filter_map(|_| chars.next().map(|(_, c)| c))
                .collect();
            u32::from_str_radix(&hex, 16)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}')
        }
        Some(c) => c,
        None => '\\',
    }
}

/// Words JQL reserves; unquoted, they are never field names. The history predicates' words
/// (`from`, `after`, ...) are here so that a list after them is not read as a function call.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "was", "changed", "empty", "null", "order", "by", "asc",
    "desc", "from", "to", "after", "before", "during", "on", "&&", "&", "||", "|",
];

fn is_keyword_text(text: &str) -> bool {
    KEYWORDS.iter().any(|k| text.eq_ignore_ascii_case(k))
}

fn is_keyword(token: &Token, keyword: &str) -> bool {
    token.kind == Kind::Word && token.text.eq_ignore_ascii_case(keyword)
}

fn is_any_keyword(token: &Token) -> bool {
    token.kind == Kind::Word && is_keyword_text(&token.text)
}

/// Does this token start an operator (`=`, `in`, `not in`, `is`, `was`, `changed`)?
fn starts_operator(token: &Token) -> bool {
    token.kind == Kind::Operator
        || ["in", "not", "is", "was", "changed"]
            .iter()
            .any(|k| is_keyword(token, k))
}

/// A field reference normalized for comparison, so that every spelling of one field compares
/// equal: hidden characters and all whitespace dropped, lower case, a type suffix (`[Number]`)
/// dropped, and `cf[N]` / `customfield_N` (and `cfN`) as `customfield_N` with N's leading
/// zeros stripped, since Jira reads N as a number. Two names that differ only in spaces
/// compare equal: a false match refuses a query, a missed one leaks.
pub fn normalize_field(name: &str) -> String {
    let mut lower: String = fold(name).chars().filter(|c| !c.is_whitespace()).collect();
    loop {
        if let Some(number) = custom_field_number(&lower) {
            return format!("customfield_{number}");
        }
        match lower.rfind('[') {
            // `cf[...]` is an id, not a name with a type suffix.
            Some(at) if at > 0 && lower.ends_with(']') && &lower[..at] != "cf" => {
                lower.truncate(at)
            }
            _ => return lower,
        }
    }
}

/// Lower case as a case-insensitive comparison sees it, one character for one, hidden
/// characters dropped: `İ` is `i`, `K` (Kelvin) is `k`, `ſ` is `s`, as Java's
/// `equalsIgnoreCase` (which Jira matches names with) has them. Spelling tricks a reader
/// cannot see then compare equal.
pub fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| !governance::content::is_hidden(*c))
        .map(|c| {
            let upper = c.to_uppercase().next().unwrap_or(c);
            upper.to_lowercase().next().unwrap_or(upper)
        })
        .collect()
}

/// N of `cf[N]`, `customfield_N`, `cfN` or `customfieldN` (normalized text), leading zeros
/// stripped; `None` when the text is none of these or N is not a plain decimal number.
fn custom_field_number(text: &str) -> Option<String> {
    let digits = text
        .strip_prefix("cf[")
        .and_then(|rest| rest.strip_suffix(']'))
        .or_else(|| text.strip_prefix("customfield_"))
        .or_else(|| text.strip_prefix("customfield"))
        .or_else(|| text.strip_prefix("cf"))?;
    let digits = digits.strip_prefix('+').unwrap_or(digits);
    number(digits)
}

/// A decimal number without its leading zeros (`"010050"` -> `"10050"`).
pub(crate) fn number(digits: &str) -> Option<String> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0" } else { trimmed }.to_owned())
}

/// Whether a normalized reference looks like a custom field id whose number is not a plain
/// decimal (`cf[１００５０]`, `cf[1e4]`): Jira may read it as a number we cannot.
pub(crate) fn odd_custom_field(normalized: &str) -> bool {
    (normalized.starts_with("cf[") || normalized.starts_with("customfield"))
        && custom_field_number(normalized).is_none()
}

/// What one query says: the fields its clauses name and every argument of every function, down
/// to the bottom of the queries quoted in arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// Fields of clauses and of `ORDER BY`, normalized, at every depth.
    pub fields: BTreeSet<String>,
    /// Every function argument, at every depth, as the function receives it.
    pub arguments: Vec<Argument>,
}

/// One argument of one function call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argument {
    /// The function's name as written.
    pub function: String,
    /// The argument, unquoted and unescaped once (as JQL hands it to the function).
    pub text: String,
}

/// Reads a tokenized query completely, or says which function argument it cannot read with
/// certainty: one holding a backslash (the function may unescape it again), one that does
/// not tokenize (unclosed quotes or parentheses: where it ends is a guess), one whose string
/// literals are joined by something other than JQL (`'Bud' + 'get'` could spell a field), or
/// quoting nested deeper than four levels.
pub fn read(tokens: &[Token]) -> Result<Reading, JqlError> {
    let mut reading = Reading::default();
    read_into(tokens, 0, true, &mut reading)?;
    Ok(reading)
}

/// Every field the query references, normalized: fields of clauses (`X = ...`, `X in (...)`,
/// `X is EMPTY`, `X was ...`, `X changed`) and of `ORDER BY`, including those of queries
/// quoted inside function arguments that can be read (see [`read`] for the strict reading).
pub fn referenced_fields(tokens: &[Token]) -> BTreeSet<String> {
    let mut reading = Reading::default();
    // Lenient: an argument that cannot be read is skipped, never an error.
    let _ = read_into(tokens, 0, false, &mut reading);
    reading.fields
}

fn read_into(
    tokens: &[Token],
    depth: usize,
    strict: bool,
    reading: &mut Reading,
) -> Result<(), JqlError> {
    reading.fields.extend(clause_fields(tokens));
    for (function, at) in function_arguments(tokens) {
        let token = &tokens[at];
        let unreadable = |why: &str| JqlError::Unreadable {
            function: function.to_owned(),
            argument: token.text.clone(),
            why: why.to_owned(),
        };
        reading.arguments.push(Argument {
            function: function.to_owned(),
            text: token.text.clone(),
        });
        if !strict {
            if token.kind == Kind::Quoted
                && depth < MAX_NESTING
                && let Ok(inner) = tokenize(&token.text)
            {
                let _ = read_into(&inner, depth + 1, false, reading);
            }
            continue;
        }
        // Inside an argument every string is checked before it is read (below).
        if depth == 0 && token.kind == Kind::Quoted && joined_literal(tokens, at) {
            return Err(unreadable(
                "a string joined to something other than JQL could spell a field name; write \
                 the argument as plain JQL",
            ));
        }
        if token.text.contains('\\') {
            return Err(unreadable(
                "it holds a backslash, which the function may unescape again; write it \
                 without escapes",
            ));
        }
        if token.kind != Kind::Quoted {
            continue;
        }
        let inner = tokenize(&token.text).map_err(|e| {
            unreadable(&format!(
                "read as JQL, {e}; close its quotes and parentheses (an apostrophe counts as a \
                 quote)"
            ))
        })?;
        if inner.iter().any(|t| t.kind == Kind::Quoted) && depth + 1 >= MAX_NESTING {
            return Err(unreadable("its quoting is nested too deep to read"));
        }
        for (i, t) in inner.iter().enumerate() {
            if t.kind == Kind::Quoted && joined_literal(&inner, i) {
                return Err(JqlError::Unreadable {
                    function: function.to_owned(),
                    argument: token.text.clone(),
                    why: format!(
                        "its string `{}` is joined to something other than JQL, which could \
                         spell a field name; write the argument as plain JQL",
                        t.text
                    ),
                });
            }
        }
        read_into(&inner, depth + 1, true, reading)?;
    }
    Ok(())
}

/// Fields named by this level's clauses and `ORDER BY` (not inside quoted arguments).
fn clause_fields(tokens: &[Token]) -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    let mut in_order_by = false;
    for (i, token) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1);
        if is_keyword(token, "order") && next.is_some_and(|n| is_keyword(n, "by")) {
            in_order_by = true;
            continue;
        }
        // Jira reserves every keyword but `during`, so only `during` can be a field unquoted.
        let reserved = is_any_keyword(token) && !is_keyword(token, "during");
        if !matches!(token.kind, Kind::Word | Kind::Quoted) || reserved {
            continue;
        }
        if in_order_by || next.is_some_and(starts_operator) {
            fields.insert(normalize_field(&token.text));
        }
    }
    fields
}

/// Is this `(` a function call's? It is when a name precedes it; after a keyword (`in (`,
/// `NOT (`) or nothing it is a list or a group.
fn opens_call(tokens: &[Token], at: usize) -> Option<&str> {
    let before = tokens.get(at.checked_sub(1)?)?;
    (matches!(before.kind, Kind::Word | Kind::Quoted) && !is_any_keyword(before))
        .then_some(before.text.as_str())
}

/// Each function argument (a word or quoted string inside a call's parentheses, lists and
/// groups inside the call included) with the innermost function it belongs to.
fn function_arguments(tokens: &[Token]) -> Vec<(&str, usize)> {
    let mut calls: Vec<Option<&str>> = Vec::new();
    let mut arguments = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::Open => calls.push(opens_call(tokens, i)),
            Kind::Close => {
                calls.pop();
            }
            Kind::Word | Kind::Quoted => {
                let function = calls.iter().rev().find_map(|c| *c);
                let is_callee = tokens.get(i + 1).is_some_and(|n| n.kind == Kind::Open)
                    && opens_call(tokens, i + 1).is_some();
                if let Some(function) = function
                    && !is_callee
                {
                    arguments.push((function, i));
                }
            }
            _ => {}
        }
    }
    arguments
}

/// Whether the quoted string at `at` sits where JQL puts no string: next to something other
/// than an operator, a keyword, a comma, a parenthesis or the end (`'Bud' + 'get'`,
/// `'Bud'.concat('get')`, `'Bud' 'get'`).
fn joined_literal(tokens: &[Token], at: usize) -> bool {
    let fits = |t: Option<&Token>, opening: bool| match t {
        None => true,
        Some(t) => match t.kind {
            Kind::Operator | Kind::Comma => true,
            Kind::Open => opening,
            Kind::Close => !opening,
            Kind::Word => is_any_keyword(t),
            Kind::Quoted => false,
        },
    };
    let before = at.checked_sub(1).and_then(|i| tokens.get(i));
    !(fits(before, true) && fits(tokens.get(at + 1), false))
}

/// Splits the query at its top-level `ORDER BY`: (the condition, the `ORDER BY ...` clause).
pub fn split_order_by<'a>(jql: &'a str, tokens: &[Token]) -> (&'a str, &'a str) {
    let mut depth = 0i32;
    for (i, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::Open => depth += 1,
            Kind::Close => depth -= 1,
            _ => {}
        }
        if depth == 0
            && is_keyword(token, "order")
            && tokens.get(i + 1).is_some_and(|n| is_keyword(n, "by"))
        {
            return (jql[..token.start].trim(), jql[token.start..].trim());
        }
    }
    (jql.trim(), "")
}

/// Quotes a value for JQL.
pub fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The query with `project in (...)` AND-ed around its condition, its ordering kept.
pub fn restrict_to_projects(jql: &str, tokens: &[Token], projects: &[String]) -> String {
    let (condition, order_by) = split_order_by(jql, tokens);
    let allowed = projects
        .iter()
        .map(|p| quote(p))
        .collect::<Vec<_>>()
        .join(", ");
    let restricted = if condition.is_empty() {
        format!("project in ({allowed})")
    } else {
        format!("({condition}) AND project in ({allowed})")
    };
    if order_by.is_empty() {
        restricted
    } else {
        format!("{restricted} {order_by}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(jql: &str) -> BTreeSet<String> {
        referenced_fields(&tokenize(jql).unwrap())
    }

    #[test]
    fn every_spelling_of_a_field_is_found() {
        let cases: &[(&str, &[&str])] = &[
            ("Budget > 10", &["budget"]),
            ("\"Budget\" > 10", &["budget"]),
            ("'budget' >= 10", &["budget"]),
            ("cf[10050] > 10", &["customfield_10050"]),
            ("cf[ 10050 ]>10", &["customfield_10050"]),
            ("cf [10050] > 10", &["customfield_10050"]),
            ("CF [ 010050 ] > 10", &["customfield_10050"]),
            ("cf[+10050] > 10", &["customfield_10050"]),
            ("customfield_10050 is not EMPTY", &["customfield_10050"]),
            ("customfield_0010050 > 1", &["customfield_10050"]),
            ("\"Budget[Number]\" = 5", &["budget"]),
            ("\"Budget\" [Number] = 5", &["budget"]),
            ("\"Story Points\" > 3", &["storypoints"]),
            (
                "project = PROJ ORDER BY Budget DESC",
                &["project", "budget"],
            ),
            (
                "project = PROJ ORDER BY created, cf[10050] ASC",
                &["project", "created", "customfield_10050"],
            ),
            ("Bud\\u0067et < 3", &["budget"]),
            ("\"Bud\\u0067et\" < 3", &["budget"]),
            ("\"Bud\u{200b}get\" < 3", &["budget"]),
            ("Budget was 5", &["budget"]),
            ("Budget changed", &["budget"]),
            ("Budget in (1, 2)", &["budget"]),
            ("Budget not in (1)", &["budget"]),
            ("project=X||Budget>1", &["project", "budget"]),
            ("project=X&&!Budget>1", &["project", "budget"]),
            ("project=X|Budget>1", &["project", "budget"]),
            (
                "issueFunction in subtasksOf(\"cf[10050] > 5\")",
                &["issuefunction", "customfield_10050"],
            ),
            (
                "summary ~ \"budget\" AND status = Done",
                &["summary", "status"],
            ),
            ("NOT (Budget = 5)", &["budget"]),
            ("labels in (budget, other)", &["labels"]),
            ("during = 5 ORDER BY during", &["during"]),
        ];
        for (jql, expected) in cases {
            let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
            assert_eq!(fields(jql), expected, "{jql}");
        }
    }

    #[test]
    fn broken_queries_are_refused() {
        assert_eq!(
            tokenize("summary ~ \"open"),
            Err(JqlError::Unterminated(11))
        );
        for jql in [
            "x = 1) OR (project = SECRET",
            "(a = 1",
            "a = 1))",
            // A parenthesis cannot hide inside brackets from the balance check.
            "x = a[) OR (] AND b = c",
        ] {
            assert_eq!(tokenize(jql), Err(JqlError::Unbalanced), "{jql}");
        }
    }

    /// Every argument of every function, at every depth, and the fields of the queries quoted
    /// in them.
    #[test]
    fn function_arguments_are_read_to_the_bottom() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "issueFunction in expression(\"\", \"Budget > 10\")",
                &["issuefunction", "budget"],
                &["", "Budget > 10"],
            ),
            (
                "issueFunction in issueFieldMatch(\"project = X\", \"Budget\", \"^1.*\")",
                &["issuefunction", "project"],
                &["project = X", "Budget", "^1.*"],
            ),
            (
                "issueFunction in subtasksOf(\"issueFunction in expression('', 'cf[10050] > 1')\")",
                &["issuefunction", "customfield_10050"],
                &[
                    "issueFunction in expression('', 'cf[10050] > 1')",
                    "",
                    "cf[10050] > 1",
                ],
            ),
            (
                "assignee in membersOf(jira-users) AND status in (Open, Done)",
                &["assignee", "status"],
                &["jira-users"],
            ),
            (
                "issueFunction in aggregateExpression(\"Total\", \"Budget.sum()\")",
                &["issuefunction"],
                &["Total", "Budget.sum()"],
            ),
        ];
        for (jql, fields, arguments) in cases {
            let reading = read(&tokenize(jql).unwrap()).unwrap();
            let expected: BTreeSet<String> = fields.iter().map(|s| s.to_string()).collect();
            assert_eq!(reading.fields, expected, "{jql}");
            let texts: Vec<&str> = reading.arguments.iter().map(|a| a.text.as_str()).collect();
            assert_eq!(texts, *arguments, "{jql}");
        }
    }

    #[test]
    fn arguments_that_cannot_be_read_with_certainty_are_refused() {
        let cases = [
            (
                r#"issueFunction in expression("", "Bud\\u0067et > 1")"#,
                "backslash",
            ),
            (
                r#"issueFunction in subtasksOf("summary ~ 'it")"#,
                "unterminated",
            ),
            (
                r#"issueFunction in subtasksOf("(Budget > 1")"#,
                "do not balance",
            ),
            (
                r#"issueFunction in expression("", "getCustomFieldValue('Bud' + 'get') > 1")"#,
                "`Bud` is joined",
            ),
            (
                r#"issueFunction in expression("", "'Bud'.concat('get') > 1")"#,
                "`Bud` is joined",
            ),
            (
                r#"issueFunction in issueFieldMatch("", "Bud" "get", "x")"#,
                "joined",
            ),
            (r#"issueFunction in f(Bud\\get)"#, "backslash"),
        ];
        for (jql, why) in cases {
            let tokens = tokenize(jql).unwrap();
            let error = read(&tokens).unwrap_err();
            assert!(
                matches!(error, JqlError::Unreadable { .. }),
                "{jql}: {error:?}"
            );
            assert!(error.to_string().contains(why), "{jql}: {error}");
            // The lenient reading never fails.
            referenced_fields(&tokens);
        }
    }

    #[test]
    fn references_normalize_to_one_spelling() {
        let cases = [
            ("Budget", "budget"),
            (" Story  Points ", "storypoints"),
            ("cf[010050]", "customfield_10050"),
            ("cf[ 10050 ]", "customfield_10050"),
            ("customfield_010050", "customfield_10050"),
            ("CustomField_10050", "customfield_10050"),
            ("cf10050", "customfield_10050"),
            ("cf[000]", "customfield_0"),
            ("Budget[Number]", "budget"),
            ("cf[10050][Number]", "customfield_10050"),
            ("cf[1e4]", "cf[1e4]"),
            ("Bud\u{200b}get", "budget"),
            ("PR\u{130}C\u{130}NG", "pricing"),
            ("\u{17f}tory \u{212a}ey", "storykey"),
            ("pr\u{131}or\u{131}ty", "priority"),
        ];
        for (raw, normalized) in cases {
            assert_eq!(normalize_field(raw), normalized, "{raw}");
        }
        assert!(odd_custom_field(&normalize_field("cf[１００５０]")));
        assert!(!odd_custom_field(&normalize_field("cf[10050]")));
    }

    #[test]
    fn the_allowlist_wraps_the_condition_and_keeps_the_order() {
        let cases = [
            (
                "status = Open ORDER BY created DESC",
                "(status = Open) AND project in (\"PROJ\", \"OPS\") ORDER BY created DESC",
            ),
            ("", "project in (\"PROJ\", \"OPS\")"),
            (
                "ORDER BY rank",
                "project in (\"PROJ\", \"OPS\") ORDER BY rank",
            ),
            (
                "a = 1 OR project = SECRET",
                "(a = 1 OR project = SECRET) AND project in (\"PROJ\", \"OPS\")",
            ),
            (
                "summary ~ \"order by\" order by key",
                "(summary ~ \"order by\") AND project in (\"PROJ\", \"OPS\") order by key",
            ),
            (
                "a = 1 || project = SECRET",
                "(a = 1 || project = SECRET) AND project in (\"PROJ\", \"OPS\")",
            ),
        ];
        let projects = ["PROJ".to_owned(), "OPS".to_owned()];
        for (jql, expected) in cases {
            let tokens = tokenize(jql).unwrap();
            assert_eq!(
                restrict_to_projects(jql, &tokens, &projects),
                expected,
                "{jql}"
            );
        }
    }
}
