//! Characters a reader cannot see (invisible, bidi controls, tags), stripped from upstream text
//! before the model reads it. Not a filter of what text says.

use serde_json::Value;

use icu_properties::{
    CodePointSetData,
    props::{BidiControl, DefaultIgnorableCodePoint},
};

/// Whether `c` cannot be seen or changes how the text around it is shown: Unicode's
/// Default_Ignorable_Code_Point set (zero-width characters, joiners, variation selectors,
/// the combining grapheme joiner, Hangul fillers, tags, ...), the Bidi_Control set, the tag
/// block, the line and paragraph separators (line breaks some renderers do not show), and C0 /
/// C1 controls other than tab, line feed and carriage return (terminal escapes).
///
/// The sets come from ICU4X's Unicode data, so the list follows Unicode rather than memory.
pub fn is_hidden(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r');
    }
    matches!(c, '\u{0080}'..='\u{009F}' | '\u{2028}' | '\u{2029}' | '\u{E0000}'..='\u{E007F}')
        || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || CodePointSetData::new::<BidiControl>().contains(c)
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

/// Strips hidden characters from every string of a JSON value, object keys included, returning
/// how many were removed. A key that, cleaned, collides with another key of the same object
/// keeps its value under `"<key> (hidden characters)"`, so that it can shadow nothing.
pub fn strip_hidden_json(value: &mut Value) -> usize {
    match value {
        Value::String(s) => strip_hidden(s),
        Value::Array(items) => items.iter_mut().map(strip_hidden_json).sum(),
        Value::Object(map) => {
            let mut count: usize = map.values_mut().map(strip_hidden_json).sum();
            if map.keys().any(|k| k.chars().any(is_hidden)) {
                let entries = std::mem::take(map);
                let (hidden, clean): (Vec<_>, Vec<_>) = entries
                    .into_iter()
                    .partition(|(k, _)| k.chars().any(is_hidden));
                map.extend(clean);
                for (mut key, item) in hidden {
                    count += strip_hidden(&mut key);
                    while map.contains_key(&key) {
                        key.push_str(" (hidden characters)");
                    }
                    map.insert(key, item);
                }
            }
            count
        }
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
            // Missed by the hand-written list this set replaced.
            ("vs\u{FE0F}16", "vs16", 1),
            ("cg\u{034F}j", "cgj", 1),
            (
                "hangul\u{115F}\u{1160}\u{3164}\u{FFA0}fillers",
                "hangulfillers",
                4,
            ),
            ("line\u{2028}sep\u{2029}", "linesep", 2),
            ("\u{E0001}\u{E0100}tag and vs", "tag and vs", 2),
            ("arabic\u{061C}mark\u{200E}", "arabicmark", 2),
            ("c1\u{009B}31m", "c131m", 1),
            ("keep\r\n", "keep\r\n", 0),
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

    #[test]
    fn cleans_object_keys_without_letting_one_shadow_another() {
        let mut v = serde_json::json!({
            "summary": "real",
            "summ\u{200B}ary": "smuggled",
            "customfield_\u{E0031}10050": 5,
        });
        assert_eq!(strip_hidden_json(&mut v), 2);
        assert_eq!(v["summary"], "real");
        assert_eq!(v["summary (hidden characters)"], "smuggled");
        assert_eq!(v["customfield_10050"], 5);
    }
}
