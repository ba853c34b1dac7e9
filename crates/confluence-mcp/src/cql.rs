//! CQL, just enough to confine a query to the spaces a caller may see.
//!
//! A small tokenizer (strings with their escapes, parentheses, operators, words) checks that
//! the query is closed: every string terminated, parentheses balanced and never closed below
//! the top. Only such a query is wrapped as `(<query>) AND space NOT IN (...)`, with a
//! top-level `ORDER BY` kept after the wrap, so no `OR`, no `)` and no quoting trick in the
//! user's text can reach outside the parentheses.
//!
//! The wrap holds only if Confluence splits the query where this tokenizer does, so whatever
//! the two could read differently is refused rather than guessed at: a backslash outside a
//! string, a quotation mark or bracket other than ASCII `"` `'` `(` `)` outside a string
//! (typographic quotes, fullwidth parentheses), characters a reader cannot see, and an
//! `ORDER BY` tail that is anything but `field [ASC|DESC], ...`.
//!
//! Not a CQL parser: field names, functions and values are Confluence's to judge, and results
//! are filtered by space again after the search, whatever the query said.

use icu_properties::{
    CodePointMapData, CodePointSetData,
    props::{GeneralCategory, QuotationMark},
};

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
    /// A character outside a quoted string that Confluence could read as a quote, a bracket or
    /// an escape where this server does not.
    #[error(
        "the CQL query has `{ch}` outside a quoted string at character {at}; put the value in \
         double quotes (`title ~ \"...\"`)"
    )]
    Unquoted {
        /// The character.
        ch: char,
        /// Where, in characters.
        at: usize,
    },
    /// A character nobody reading the query can see (zero-width, bidi control, tag, control).
    #[error("the CQL query has an invisible character (U+{code:04X}) at character {at}; remove it")]
    Invisible {
        /// Its code point.
        code: u32,
        /// Where, in characters.
        at: usize,
    },
    /// An `ORDER BY` that is not a list of fields with optional directions.
    #[error(
        "the CQL query's ORDER BY must be fields with ASC or DESC, separated by commas \
         (`ORDER BY lastmodified DESC, title`); found `{0}`"
    )]
    OrderBy(String),
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Str,
    Open,
    Close,
    Comma,
    Operator,
}

/// Whether `c`, outside a string, is a quotation mark or bracket that is not one of the ASCII
/// ones this tokenizer understands: Confluence might read it as one.
fn lookalike(c: char) -> bool {
    if c.is_ascii() {
        return c == '\\';
    }
    CodePointSetData::new::<QuotationMark>().contains(c)
        || matches!(
            CodePointMapData::<GeneralCategory>::new().get(c),
            GeneralCategory::OpenPunctuation
                | GeneralCategory::ClosePunctuation
                | GeneralCategory::InitialPunctuation
                | GeneralCategory::FinalPunctuation
        )
}

/// Tokens with their byte offsets.
fn tokenize(cql: &str) -> Result<Vec<(usize, Token)>, CqlError> {
    let position = |at: usize| cql[..at].chars().count();
    let mut tokens = Vec::new();
    let mut chars = cql.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if is_invisible(c) => {
                return Err(CqlError::Invisible {
                    code: c as u32,
                    at: position(at),
                });
            }
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
                    return Err(CqlError::UnterminatedString(position(at)));
                }
                tokens.push((at, Token::Str));
            }
            '(' => tokens.push((at, Token::Open)),
            ')' => tokens.push((at, Token::Close)),
            ',' => tokens.push((at, Token::Comma)),
            '=' | '!' | '~' | '<' | '>' => tokens.push((at, Token::Operator)),
            c if lookalike(c) => {
                return Err(CqlError::Unquoted {
                    ch: c,
                    at: position(at),
                });
            }
            _ => {
                let mut end = at + c.len_utf8();
                while let Some(&(i, d)) = chars.peek() {
                    if is_invisible(d) || d.is_whitespace() || "\"'(),=!~<>".contains(d) {
                        break;
                    }
                    if lookalike(d) {
                        return Err(CqlError::Unquoted {
                            ch: d,
                            at: position(i),
                        });
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

/// Invisible characters outside a string: hidden ones (zero-width, bidi, tags, controls other
/// than tab and line breaks) could join or split words where a reader sees none, and the kernel
/// strips them from the journal, so its reader would not see the query Confluence saw. Inside
/// a string they only change what is searched for.
fn is_invisible(c: char) -> bool {
    governance::content::is_hidden(c)
}

/// Checks an `ORDER BY` tail (the tokens after `BY`): `field [asc|desc] (, field [asc|desc])*`.
fn check_order(cql: &str, tail: &[(usize, Token)]) -> Result<(), CqlError> {
    let refuse = || {
        let from = tail.first().map_or(cql.len(), |(at, _)| *at);
        CqlError::OrderBy(cql[from..].trim().chars().take(80).collect())
    };
    let mut expect_field = true;
    let mut after_field = false;
    for (_, token) in tail {
        match token {
            Token::Word(_) if expect_field => {
                expect_field = false;
                after_field = true;
            }
            Token::Word(w) if after_field && (w == "asc" || w == "desc") => after_field = false,
            Token::Comma if !expect_field => {
                expect_field = true;
                after_field = false;
            }
            _ => return Err(refuse()),
        }
    }
    if expect_field {
        return Err(refuse());
    }
    Ok(())
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
                    order_at = Some((*at, i + 2));
                }
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err(CqlError::UnclosedParenthesis(depth));
    }
    Ok(match order_at {
        Some((at, tail)) => {
            check_order(cql, &tokens[tail..])?;
            (cql[..at].trim(), cql[at..].trim())
        }
        None => (cql.trim(), ""),
    })
}

/// A CQL string literal.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The query to send: `cql` itself when nothing is hidden, else wrapped so that no result can
/// come from a `hidden` space. Each key is excluded as given, upper-cased and lower-cased: a
/// personal space (`~jdoe`, `~5b10ac8d...`) keeps the case Confluence gave it, and whether
/// CQL compares keys case-sensitively is Confluence's business.
pub fn confine(cql: &str, hidden: &[String]) -> Result<String, CqlError> {
    let (condition, order) = split(cql)?;
    if hidden.is_empty() {
        return Ok(cql.trim().to_owned());
    }
    let mut keys: Vec<String> = Vec::new();
    for key in hidden {
        for variant in [key.clone(), key.to_uppercase(), key.to_lowercase()] {
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

    /// Escape attempts: each is wrapped whole, or refused when it is not closed or could be
    /// split differently by Confluence.
    #[test]
    fn queries_are_confined_or_refused() {
        let hidden = vec!["HR".to_owned(), "LEGAL".to_owned(), "~JDoe".to_owned()];
        let not_in = r#"space NOT IN ("HR","hr","LEGAL","legal","~JDoe","~JDOE","~jdoe")"#;
        let unquoted = |ch, at| Err(CqlError::Unquoted { ch, at });
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
                "SPACE.KEY = hr OR Space.Key = \"~jdoe\"",
                Ok(format!(
                    "(SPACE.KEY = hr OR Space.Key = \"~jdoe\") AND {not_in}"
                )),
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
                "type = page ORDER BY space.key ASC, title",
                Ok(format!(
                    "(type = page) AND {not_in} ORDER BY space.key ASC, title"
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
                "text ~ \"「設計」 “quoted” （\"",
                Ok(format!("(text ~ \"「設計」 “quoted” （\") AND {not_in}")),
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
            // Read differently by a lexer that escapes outside strings.
            (r#"title ~ \"x") OR space = HR OR ("\""#, unquoted('\\', 8)),
            (r#"title = a\"b"#, unquoted('\\', 9)),
            // Typographic quotes and fullwidth brackets Confluence might take for ASCII ones.
            ("title ~ “a) OR space = HR OR (b”", unquoted('“', 8)),
            ("title ~ ‘x’", unquoted('‘', 8)),
            ("（space = HR）", unquoted('（', 0)),
            ("title ~ ＂x＂", unquoted('＂', 8)),
            ("title ~ «x»", unquoted('«', 8)),
            ("title ~ a「b」", unquoted('「', 9)),
            // What a reader of the journal cannot see.
            (
                "type = page\u{200B} OR space = HR",
                Err(CqlError::Invisible {
                    code: 0x200B,
                    at: 11,
                }),
            ),
            (
                "title ~ \"a\u{202E}\"",
                Ok(format!("(title ~ \"a\u{202E}\") AND {not_in}")),
            ),
            (
                "type = page ORDER\u{2060}BY title",
                Err(CqlError::Invisible {
                    code: 0x2060,
                    at: 17,
                }),
            ),
            (
                "type = page\u{0000}",
                Err(CqlError::Invisible { code: 0, at: 11 }),
            ),
            // ORDER BY tails that are more than fields and directions.
            (
                "type = page ORDER BY title OR space = HR",
                Err(CqlError::OrderBy("title OR space = HR".into())),
            ),
            (
                "type = page ORDER BY title, (space)",
                Err(CqlError::OrderBy("title, (space)".into())),
            ),
            (
                "type = page ORDER BY",
                Err(CqlError::OrderBy(String::new())),
            ),
            (
                "type = page ORDER BY title ASC DESC",
                Err(CqlError::OrderBy("title ASC DESC".into())),
            ),
            (
                "type = page ORDER BY title, ",
                Err(CqlError::OrderBy("title,".into())),
            ),
            (
                r#"type = page ORDER BY "title""#,
                Err(CqlError::OrderBy("\"title\"".into())),
            ),
        ];
        for (cql, expected) in cases {
            assert_eq!(&confine(cql, &hidden), expected, "{cql}");
        }
    }

    #[test]
    fn nothing_hidden_sends_the_query_as_written_but_still_checks_it() {
        assert_eq!(confine(" space = HR ", &[]).unwrap(), "space = HR");
        assert!(confine("a = (1", &[]).is_err());
        assert!(confine("title ~ “x”", &[]).is_err());
    }
}
