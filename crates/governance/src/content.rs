//! Content safety for text that comes from an upstream.
//!
//! Titles, bodies, comments and file contents are written by people other than the user and
//! reach the model verbatim: invisible characters, bidirectional controls and Unicode tag
//! characters can hide instructions a human reviewer never sees. They are stripped before the
//! model sees the text, and the count goes to the audit event. This module does not judge
//! meaning; it removes what cannot be seen.

use serde_json::Value;

/// Whether `c` is invisible, a bidi control, a tag character or a terminal control.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{0000}'..='\u{0008}' | '\u{000B}' | '\u{000C}' | '\u{000E}'..='\u{001F}' | '\u{007F}'
        | '\u{0080}'..='\u{009F}'      // C1 controls (terminal escapes)
        | '\u{00AD}'                   // soft hyphen
        | '\u{061C}'                   // Arabic letter mark
        | '\u{180E}'                   // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}'      // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}'      // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'      // word joiner, invisible operators, bidi isolates
        | '\u{FEFF}'                   // zero-width no-break space
        | '\u{FFF9}'..='\u{FFFB}'      // interlinear annotations
        | '\u{E0000}'..='\u{E007F}'    // tag characters
        | '\u{E0100}'..='\u{E01EF}'    // variation selectors supplement (payload smuggling)
    )
}

/// Removes hidden characters from `text`, returning how many were removed.
pub fn strip_hidden(text: &mut String) -> usize {
    if !text.chars().any(is_hidden) {
        return 0;
    }
    let before = text.chars().count();
    text.retain(|c| !is_hidden(c));
    before - text.chars().count()
}

/// Strips hidden characters from every string (values and keys are left as keys) in a JSON value.
pub fn strip_hidden_json(value: &mut Value) -> usize {
    match value {
        Value::String(s) => strip_hidden(s),
        Value::Array(items) => items.iter_mut().map(strip_hidden_json).sum(),
        Value::Object(map) => map.values_mut().map(strip_hidden_json).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_what_cannot_be_seen_and_keeps_the_rest() {
        let cases: &[(&str, &str, usize)] = &[
            ("plain text\nwith\ttabs", "plain text\nwith\ttabs", 0),
            ("ze\u{200B}ro", "zero", 1),
            ("abc\u{202E}fed\u{202C}", "abcfed", 2),
            ("\u{E0049}\u{E0067}nore", "nore", 2),
            ("esc\u{1B}[31mred", "esc[31mred", 1),
            ("naïve café ✓ 日本語 👍🏽", "naïve café ✓ 日本語 👍🏽", 0),
            ("\u{FEFF}bom", "bom", 1),
            ("iso\u{2066}late\u{2069}", "isolate", 2),
        ];
        for (input, expected, count) in cases {
            let mut s = input.to_string();
            assert_eq!(strip_hidden(&mut s), *count, "{input:?}");
            assert_eq!(s, *expected);
        }
    }

    #[test]
    fn walks_json() {
        let mut v = serde_json::json!({"title": "a\u{200B}b", "list": ["\u{E0041}", 3], "n": null});
        assert_eq!(strip_hidden_json(&mut v), 2);
        assert_eq!(v["title"], "ab");
    }
}
