//! A JQL tokenizer, and the two guardrails that read JQL: which fields a query references (a
//! financial field in a clause or in `ORDER BY` leaks its value through result membership and
//! order), and the project allowlist AND-ed around the user's query.
//!
//! Tokens, not regular expressions: a field can be spelled by name, quoted in either quote,
//! with escapes, as `cf[10050]`, as `customfield_10050`, or with a type suffix
//! (`"Budget[Number]"`), and a quoted argument of a function (ScriptRunner's `subtasksOf("...")`)
//! can hold a whole query of its own. Unbalanced parentheses are refused, since they could
//! close the wrapping that keeps the allowlist in force.

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
    /// An unquoted word: field, value, keyword, function name.
    Word,
    /// A quoted string.
    Quoted,
    /// `=`, `!=`, `~`, `!~`, `<`, `<=`, `>`, `>=`.
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
}

const OPERATOR_CHARS: &[char] = &['=', '!', '~', '<', '>'];

/// Splits a query into tokens.
pub fn tokenize(jql: &str) -> Result<Vec<Token>, JqlError> {
    let mut tokens = Vec::new();
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
        if OPERATOR_CHARS.contains(&c) {
            let mut text = String::new();
            while let Some(&(_, d)) = chars.peek() {
                if !OPERATOR_CHARS.contains(&d) {
                    break;
                }
                text.push(d);
                chars.next();
            }
            tokens.push(Token {
                kind: Kind::Operator,
                text,
                start,
            });
            continue;
        }
        let mut text = String::new();
        while let Some(&(_, d)) = chars.peek() {
            if d.is_whitespace()
                || matches!(d, '(' | ')' | ',' | '"' | '\'')
                || OPERATOR_CHARS.contains(&d)
            {
                break;
            }
            chars.next();
            match d {
                '\\' => text.push(unescape(&mut chars)),
                // `cf[ 10050 ]` and `Budget[Number]`: the brackets belong to the word.
                '[' => {
                    text.push('[');
                    for (_, e) in chars.by_ref() {
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

fn is_keyword(token: &Token, keyword: &str) -> bool {
    token.kind == Kind::Word && token.text.eq_ignore_ascii_case(keyword)
}

/// Words JQL reserves; unquoted, they are never field names.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "was", "changed", "empty", "null", "order", "by", "asc", "desc",
];

/// Does this token start an operator (`=`, `in`, `not in`, `is`, `was`, `changed`)?
fn starts_operator(token: &Token) -> bool {
    token.kind == Kind::Operator
        || ["in", "not", "is", "was", "changed"]
            .iter()
            .any(|k| is_keyword(token, k))
}

/// A field reference normalized for comparison: lower case, `cf[N]` as `customfield_N`, a type
/// suffix (`[Number]`) dropped, inner whitespace collapsed.
pub fn normalize_field(name: &str) -> String {
    let lower = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if let Some(number) = lower
        .strip_prefix("cf[")
        .and_then(|rest| rest.strip_suffix(']'))
    {
        return format!("customfield_{}", number.trim());
    }
    match lower.find('[') {
        Some(at) if lower.ends_with(']') && at > 0 => lower[..at].trim_end().to_owned(),
        _ => lower,
    }
}

/// Every field the query references, normalized: fields of clauses (`X = ...`, `X in (...)`,
/// `X is EMPTY`, `X was ...`, `X changed`) and of `ORDER BY`, including those of queries
/// quoted inside function arguments.
pub fn referenced_fields(tokens: &[Token]) -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    let mut in_order_by = false;
    let mut function_depth = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1);
        if is_keyword(token, "order") && next.is_some_and(|n| is_keyword(n, "by")) {
            in_order_by = true;
            continue;
        }
        let is_name = matches!(token.kind, Kind::Word | Kind::Quoted);
        if !is_name {
            if token.kind == Kind::Open && i > 0 && tokens[i - 1].kind == Kind::Word {
                function_depth += 1;
            }
            if token.kind == Kind::Close && function_depth > 0 {
                function_depth -= 1;
            }
            continue;
        }
        let keyword =
            token.kind == Kind::Word && KEYWORDS.iter().any(|k| token.text.eq_ignore_ascii_case(k));
        if keyword {
            continue;
        }
        let order_field = in_order_by
            && !["by", "asc", "desc"].iter().any(|k| is_keyword(token, k))
            && token.kind != Kind::Comma;
        if order_field || next.is_some_and(starts_operator) {
            fields.insert(normalize_field(&token.text));
        }
        // A quoted function argument may be a query of its own.
        if function_depth > 0
            && token.kind == Kind::Quoted
            && let Ok(inner) = tokenize(&token.text)
        {
            fields.extend(referenced_fields(&inner));
        }
    }
    fields
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
            ("customfield_10050 is not EMPTY", &["customfield_10050"]),
            ("\"Budget[Number]\" = 5", &["budget"]),
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
            ("Budget was 5", &["budget"]),
            ("Budget changed", &["budget"]),
            ("Budget in (1, 2)", &["budget"]),
            ("Budget not in (1)", &["budget"]),
            (
                "issueFunction in subtasksOf(\"cf[10050] > 5\")",
                &["issuefunction", "customfield_10050"],
            ),
            (
                "summary ~ \"budget\" AND status = Done",
                &["summary", "status"],
            ),
            ("NOT (Budget = 5)", &["budget"]),
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
        for jql in ["x = 1) OR (project = SECRET", "(a = 1", "a = 1))"] {
            assert_eq!(tokenize(jql), Err(JqlError::Unbalanced), "{jql}");
        }
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
