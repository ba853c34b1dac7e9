//! CQL, just enough to confine a query to the spaces a caller may see.
//!
//! A small tokenizer (strings with their escapes, parentheses, operators, words) checks that
//! the query is closed: every string terminated, parentheses balanced and never closed below
//! the top. Only such a query is wrapped as `(<query>) AND space NOT IN (...)`, with a
//! top-level `ORDER BY` kept after the wrap, so no `OR`, no `)` and no quoting trick in the
//! user's text can reach outside the parentheses. Not a CQL parser: field names and functions
//! are Confluence's to judge.

/// Why a query was refused before it was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CqlError {
    /// Nothing to search for.
    #[error("the CQL query is empty")]
    Empty,
    /// A quoted string runs to the end.
    #[error("the CQL query has an unterminated string starting at character {0}")]
    UnterminatedString(usize),
    /// A `)` with no `(` before it.
    #[error("the CQL query closes a parenthesis it never opened, at character {0}")]
    UnopenedParenthesis(usize),
    /// A `(` never closed.
    #[error("the CQL query leaves {0} parenthesis(es) open")]
    UnclosedParenthesis(usize),
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Str,
    Open,
    Close,
    Other,
}

/// Tokens with their byte offsets.
fn tokenize(cql: &str) -> Result<Vec<(usize, Token)>, CqlError> {
    let mut tokens = Vec::new();
    let mut chars = cql.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '"' | '\'' => {
                let mut closed = false;
                while let Some((_, d)) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(CqlError::UnterminatedString(cql[..at].chars().count()));
                }
                tokens.push((at, Token::Str));
            }
            '(' => tokens.push((at, Token::Open)),
            ')' => tokens.push((at, Token::Close)),
            ',' | '=' | '!' | '~' | '<' | '>' => tokens.push((at, Token::Other)),
            _ => {
                let mut end = at + c.len_utf8();
                while let Some(&(i, d)) = chars.peek() {
                    if d.is_whitespace() || "\"'(),=!~<>".contains(d) {
                        break;
                    }
                    end = i + d.len_utf8();
                    chars.next();
                }
                tokens.push((at, Token::Word(cql[at..end].to_ascii_lowercase())));
            }
        }
    }
    Ok(tokens)
}

/// The query split into its condition and its top-level `ORDER BY ...` (empty when none),
/// after checking that it is closed.
fn split(cql: &str) -> Result<(&str, &str), CqlError> {
    if cql.trim().is_empty() {
        return Err(CqlError::Empty);
    }
    let tokens = tokenize(cql)?;
    let mut depth = 0usize;
    let mut order_at = None;
    for (i, (at, token)) in tokens.iter().enumerate() {
        match token {
            Token::Open => depth += 1,
            Token::Close => {
                depth = depth
                    .checked_sub(1)
                    .ok_or(CqlError::UnopenedParenthesis(cql[..*at].chars().count()))?;
            }
            Token::Word(w) if w == "order" && depth == 0 && order_at.is_none() => {
                if matches!(tokens.get(i + 1), Some((_, Token::Word(by))) if by == "by") {
                    order_at = Some(*at);
                }
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err(CqlError::UnclosedParenthesis(depth));
    }
    Ok(match order_at {
        Some(at) => (cql[..at].trim(), cql[at..].trim()),
        None => (cql.trim(), ""),
    })
}

/// A CQL string literal.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The query to send: `cql` itself when nothing is hidden, else wrapped so that no result can
/// come from a `hidden` space (each key excluded as configured and lower-cased).
pub fn confine(cql: &str, hidden: &[String]) -> Result<String, CqlError> {
    let (condition, order) = split(cql)?;
    if hidden.is_empty() {
        return Ok(cql.trim().to_owned());
    }
    let mut keys: Vec<String> = Vec::new();
    for key in hidden {
        for variant in [key.clone(), key.to_lowercase()] {
            if !keys.contains(&variant) {
                keys.push(variant);
            }
        }
    }
    let list = keys.iter().map(|k| quote(k)).collect::<Vec<_>>().join(",");
    let mut out = if condition.is_empty() {
        format!("space NOT IN ({list})")
    } else {
        format!("({condition}) AND space NOT IN ({list})")
    };
    if !order.is_empty() {
        out.push(' ');
        out.push_str(order);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Escape attempts: each is wrapped whole, or refused when it is not closed.
    #[test]
    fn queries_are_confined_or_refused() {
        let hidden = vec!["HR".to_owned(), "LEGAL".to_owned()];
        let not_in = r#"space NOT IN ("HR","hr","LEGAL","legal")"#;
        let cases: &[(&str, Result<String, CqlError>)] = &[
            ("type = page", Ok(format!("(type = page) AND {not_in}"))),
            (
                r#"space in ("HR", "ENG")"#,
                Ok(format!(r#"(space in ("HR", "ENG")) AND {not_in}"#)),
            ),
            (
                "space = ENG OR space = HR",
                Ok(format!("(space = ENG OR space = HR) AND {not_in}")),
            ),
            (
                "ancestor = 98765",
                Ok(format!("(ancestor = 98765) AND {not_in}")),
            ),
            (
                "parent = 98765",
                Ok(format!("(parent = 98765) AND {not_in}")),
            ),
            ("space = hr", Ok(format!("(space = hr) AND {not_in}"))),
            (
                r#"title ~ "x\" ) OR space = HR OR (\"""#,
                Ok(format!(
                    r#"(title ~ "x\" ) OR space = HR OR (\"") AND {not_in}"#
                )),
            ),
            (
                "text ~ 'deploy' order by created desc",
                Ok(format!(
                    "(text ~ 'deploy') AND {not_in} order by created desc"
                )),
            ),
            (
                r#"title ~ "order by" AND space = ENG"#,
                Ok(format!(
                    r#"(title ~ "order by" AND space = ENG) AND {not_in}"#
                )),
            ),
            (
                "ORDER BY lastmodified",
                Ok(format!("{not_in} ORDER BY lastmodified")),
            ),
            (
                "type = page) OR (space = HR",
                Err(CqlError::UnopenedParenthesis(11)),
            ),
            (
                "x = 1) OR space = HR OR (x = 1",
                Err(CqlError::UnopenedParenthesis(5)),
            ),
            ("(type = page", Err(CqlError::UnclosedParenthesis(1))),
            (
                r#"title ~ "unterminated"#,
                Err(CqlError::UnterminatedString(8)),
            ),
            (r#"title ~ "a\""#, Err(CqlError::UnterminatedString(8))),
            ("   ", Err(CqlError::Empty)),
        ];
        for (cql, expected) in cases {
            assert_eq!(&confine(cql, &hidden), expected, "{cql}");
        }
    }

    #[test]
    fn nothing_hidden_sends_the_query_as_written_but_still_checks_it() {
        assert_eq!(confine(" space = HR ", &[]).unwrap(), "space = HR");
        assert!(confine("a = (1", &[]).is_err());
    }
}
