//! Helpers that keep a result inside [`RESULT_BUDGET_BYTES`](super::RESULT_BUDGET_BYTES),
//! counted the way the budget is: in bytes of serialized JSON (escapes included), so that a
//! text of quotes or line breaks cannot double past a limit counted in raw bytes.

use serde_json::Value;

/// Bytes `c` takes inside a serialized JSON string.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Bytes `value` takes serialized.
pub fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}

/// The part of `text` from byte `offset` (moved back to a character boundary) that takes at
/// most `max` bytes as a JSON string's content, and the byte offset of what is left, if
/// anything is: the argument that fetches the rest.
pub fn cut(text: &str, offset: usize, max: usize) -> (&str, Option<usize>) {
    let mut start = offset.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let rest = &text[start..];
    let mut used = 0;
    for (i, c) in rest.char_indices() {
        used += escaped_len(c);
        if used > max {
            return (&rest[..i], Some(start + i));
        }
    }
    (rest, None)
}

/// Shortens the longest strings of `item` (at any depth, keys kept) until it serializes in at
/// most `max` bytes, marking it (an object) `"truncated": true` if anything was cut. For list
/// items and extra fields, whose whole text another call shows. Strings stay where they were,
/// so JSON pointers into `item` stay valid.
pub fn fit_item(item: &mut Value, max: usize) {
    fit_item_keeping(item, max, &[]);
}

/// [`fit_item`], never cutting a string equal to one of `kept` (a mask that must stay
/// recognisable).
pub fn fit_item_keeping(item: &mut Value, max: usize, kept: &[&str]) {
    let mut size = json_len(item);
    if size <= max {
        return;
    }
    if let Some(object) = item.as_object_mut() {
        object.insert("truncated".into(), Value::Bool(true));
    }
    size = json_len(item);
    while size > max {
        let Some(text) = longest_string(item, kept) else {
            return;
        };
        let over = size - max;
        let length: usize = text.chars().map(escaped_len).sum();
        let (kept, _) = cut(text, 0, length.saturating_sub(over + 3));
        *text = format!("{kept}…");
        let next = json_len(item);
        if next >= size {
            return;
        }
        size = next;
    }
}

/// The longest non-empty string in `value`, at any depth.
fn longest_string<'a>(value: &'a mut Value, kept: &[&str]) -> Option<&'a mut String> {
    match value {
        Value::String(s) if !s.is_empty() && !kept.contains(&s.as_str()) => Some(s),
        Value::Array(items) => items
            .iter_mut()
            .filter_map(|v| longest_string(v, kept))
            .max_by_key(|s| s.len()),
        Value::Object(object) => object
            .values_mut()
            .filter_map(|v| longest_string(v, kept))
            .max_by_key(|s| s.len()),
        _ => None,
    }
}

/// The most the kernel adds to a result for each untrusted text it marks
/// (`trust.untrusted_content`): the fence with its nonce, the author and the reason, and the
/// `provenance` key. A server reserves it per item that may be marked.
pub const MARK_OVERHEAD_BYTES: usize = 400;

/// Keeps the leading items of `items` whose serialized sizes, each with `extra` bytes more
/// (say [`MARK_OVERHEAD_BYTES`]), add up to at most `max` bytes; answers how many were dropped.
pub fn fit_list(items: &mut Vec<Value>, max: usize, extra: usize) -> usize {
    let mut used = 2;
    let keep = items
        .iter()
        .take_while(|item| {
            used += json_len(item) + 1 + extra;
            used <= max
        })
        .count();
    let dropped = items.len() - keep;
    items.truncate(keep);
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cut_counts_escapes_and_resumes_where_it_stopped() {
        let cases: &[(&str, usize, usize, &str, Option<usize>)] = &[
            ("hello", 0, 10, "hello", None),
            ("hello", 0, 3, "hel", Some(3)),
            ("hello", 3, 10, "lo", None),
            ("\"\"\"\"", 0, 4, "\"\"", Some(2)),
            ("a\nb\nc", 0, 3, "a\n", Some(2)),
            ("ééé", 0, 3, "é", Some(2)),
            // An offset inside a character starts at the character.
            ("ééé", 3, 10, "éé", None),
            ("abc", 9, 10, "", None),
        ];
        for (text, offset, max, kept, next) in cases {
            assert_eq!(
                cut(text, *offset, *max),
                (*kept, *next),
                "{text:?} {offset} {max}"
            );
            let quoted = serde_json::to_string(kept).unwrap();
            assert!(quoted.len() - 2 <= *max, "{quoted}");
        }
        // Reading on from each next offset gives the whole text back.
        let text = "line \"one\"\nliné two\tend".repeat(50);
        let (mut offset, mut whole) = (0, String::new());
        loop {
            let (part, next) = cut(&text, offset, 37);
            whole.push_str(part);
            match next {
                Some(n) => offset = n,
                None => break,
            }
        }
        assert_eq!(whole, text);
    }

    #[test]
    fn fit_item_shortens_the_longest_strings_and_marks_the_item() {
        let mut item = json!({"title": "t".repeat(500), "body": "\"".repeat(800), "n": 7});
        fit_item(&mut item, 400);
        assert!(json_len(&item) <= 400, "{}", json_len(&item));
        assert_eq!(item["truncated"], true);
        assert_eq!(item["n"], 7);
        let mut nested = json!({"key": "K-1", "fields": {"a": {"value": "v".repeat(900)}, "b": ["w".repeat(900)]}});
        fit_item(&mut nested, 700);
        assert!(json_len(&nested) <= 700, "{nested}");
        assert_eq!(nested["key"], "K-1");
        assert!(nested["fields"]["a"]["value"].is_string() && nested["fields"]["b"][0].is_string());
        let mut small = json!({"title": "short"});
        fit_item(&mut small, 400);
        assert_eq!(small, json!({"title": "short"}));
    }

    #[test]
    fn fit_list_keeps_what_fits() {
        let mut items: Vec<Value> = (0..10)
            .map(|i| json!({"i": i, "pad": "x".repeat(90)}))
            .collect();
        let dropped = fit_list(&mut items, 450, 0);
        assert_eq!((items.len(), dropped), (4, 6));
        assert!(json_len(&Value::Array(items.clone())) <= 450);
        assert_eq!(fit_list(&mut items, 450, 100), 2);
    }
}
