//! Log lines scrubbed as the streams they were cut from.
//!
//! CloudWatch stores one event per line of a program's output, so a private key printed to a
//! log arrives as its BEGIN line, its body lines and its END line in separate events, with
//! other streams' events in between. Scrubbing each event alone would leave the body lines.
//! Here the events of one stream are joined with `\n` in stream order (the text the program
//! wrote), scanned once by [`secret_spans`], and every secret is mapped back to the part of it
//! each event holds. A block whose END is not among the events (cut by the row limit or the
//! window) is redacted to the end of its stream; one whose BEGIN is not (the window starts
//! inside it) back over its body.

use std::ops::Range;

use governance::content::secrets::{SecretSpan, secret_spans};

/// One stream's texts: indices into the scrubbed slice, in the order the stream wrote them.
#[derive(Debug, Clone)]
pub struct Sequence {
    /// Indices, oldest first.
    pub order: Vec<usize>,
    /// The order is not known (a query result without timestamps): scan it both ways, so a
    /// block read backwards (END before BEGIN) is still found.
    pub unknown_order: bool,
}

/// Scrubs `texts`, each sequence as one joined text; returns how many secrets were found
/// (a key spread over thirty events is one).
pub fn scrub_sequences(texts: &mut [String], sequences: &[Sequence]) -> usize {
    let mut redactions: Vec<Vec<(Range<usize>, &'static str)>> = vec![Vec::new(); texts.len()];
    let mut found = 0;
    for sequence in sequences {
        let forward = spans_by_text(texts, &sequence.order);
        let mut covered = forward.parts;
        if sequence.unknown_order {
            let reversed: Vec<usize> = sequence.order.iter().rev().copied().collect();
            let backward = spans_by_text(texts, &reversed);
            // The reading in the stream's real order finds a block whole, the other one in
            // pieces: the smaller count is the number of secrets. Both readings are redacted.
            found += forward.count.min(backward.count);
            covered.extend(backward.parts);
        } else {
            found += forward.count;
        }
        for (i, range, label) in covered {
            redactions[i].push((range, label));
        }
    }
    for (text, mut ranges) in texts.iter_mut().zip(redactions) {
        if !ranges.is_empty() {
            redact(text, &mut ranges);
        }
    }
    found
}

/// Scrubs Logs Insights result rows (field, value): each field's values as one sequence per
/// `@logStream` (all rows, when the query returned no stream), ordered by `@timestamp`
/// whatever the query's sort; without timestamps the order is unknown and read both ways.
pub fn scrub_rows(rows: &mut [Vec<(String, String)>]) -> usize {
    let field = |row: &Vec<(String, String)>, name: &str| {
        row.iter().find(|(f, _)| f == name).map(|(_, v)| v.clone())
    };
    let mut texts = Vec::new();
    let mut at = Vec::new();
    // (field name, stream) -> (text index, its row's timestamp), in row order.
    type Key = (String, Option<String>);
    type Members = Vec<(usize, Option<String>)>;
    let mut groups: Vec<(Key, Members)> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let stream = field(row, "@logStream");
        let timestamp = field(row, "@timestamp");
        for (c, (name, value)) in row.iter().enumerate() {
            let key = (name.clone(), stream.clone());
            let entry = (texts.len(), timestamp.clone());
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(entry),
                None => groups.push((key, vec![entry])),
            }
            texts.push(value.clone());
            at.push((r, c));
        }
    }
    let sequences: Vec<Sequence> = groups
        .into_iter()
        .map(|(_, mut members)| {
            let timed = members.iter().all(|(_, t)| t.is_some());
            if timed {
                // Insights timestamps (`2026-11-20 08:00:00.000`) sort as text; stable for ties.
                members.sort_by(|a, b| a.1.cmp(&b.1));
            }
            Sequence {
                order: members.into_iter().map(|(i, _)| i).collect(),
                unknown_order: !timed,
            }
        })
        .collect();
    let found = scrub_sequences(&mut texts, &sequences);
    for ((r, c), text) in at.into_iter().zip(texts) {
        rows[r][c].1 = text;
    }
    found
}

/// What one reading of a sequence found: every secret as the parts of texts it covers.
struct Reading {
    count: usize,
    /// (text index, byte range in that text, label), for every part of every secret.
    parts: Vec<(usize, Range<usize>, &'static str)>,
}

fn spans_by_text(texts: &[String], order: &[usize]) -> Reading {
    let mut joined = String::new();
    let mut starts = Vec::with_capacity(order.len());
    for (n, i) in order.iter().enumerate() {
        if n > 0 {
            joined.push('\n');
        }
        starts.push(joined.len());
        joined.push_str(&texts[*i]);
    }
    let spans: Vec<SecretSpan> = secret_spans(&joined);
    let mut parts = Vec::new();
    for span in &spans {
        for (n, i) in order.iter().enumerate() {
            let start = starts[n];
            let end = start + texts[*i].len();
            let from = span.range.start.max(start);
            let to = span.range.end.min(end);
            if from < to {
                parts.push((*i, from - start..to - start, span.label));
            }
        }
    }
    Reading {
        count: spans.len(),
        parts,
    }
}

/// Replaces `ranges` of `text` (overlapping ones merged) with their labels.
fn redact(text: &mut String, ranges: &mut [(Range<usize>, &'static str)]) {
    ranges.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut i = 0;
    while i < ranges.len() {
        let (range, mut label) = ranges[i].clone();
        let mut end = range.end;
        let mut widest = range.len();
        i += 1;
        while i < ranges.len() && ranges[i].0.start < end {
            let (next, next_label) = &ranges[i];
            end = end.max(next.end);
            // As in `secret_spans`: the widest part names the whole, a named label over the
            // plain one on a tie.
            if next.len() > widest || (next.len() == widest && label == "[REDACTED]") {
                widest = next.len();
                label = next_label;
            }
            i += 1;
        }
        out.push_str(&text[at..range.start]);
        out.push_str(label);
        at = end;
    }
    out.push_str(&text[at..]);
    *text = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: [&str; 3] = [
        "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi7Bx1k2Q8xqfJzVn5e3kP8Wq7r",
        "Hc4Lk2Vb9Yd1Fs6Gt0Jp3Nm8Qw4Er7Ty1Ui5Op2As9Df6Gh3Jk0Lz8Xc5Vb2Nm",
        "Ab3d==",
    ];

    fn run(events: &[&str], sequences: &[(Vec<usize>, bool)]) -> (Vec<String>, usize) {
        let mut texts: Vec<String> = events.iter().map(|e| e.to_string()).collect();
        let sequences: Vec<Sequence> = sequences
            .iter()
            .map(|(order, unknown_order)| Sequence {
                order: order.clone(),
                unknown_order: *unknown_order,
            })
            .collect();
        let n = scrub_sequences(&mut texts, &sequences);
        (texts, n)
    }

    #[test]
    fn a_key_split_over_events_is_removed_from_each() {
        let k = "[REDACTED PRIVATE KEY]";
        // (events, sequences, expected texts, secrets found)
        type Case<'a> = (Vec<&'a str>, Vec<(Vec<usize>, bool)>, Vec<&'a str>, usize);
        let cases: Vec<Case> = vec![
            // BEGIN, body and END in separate events, another stream's event in between.
            (
                vec![
                    "INFO boot",
                    "-----BEGIN RSA PRIVATE KEY-----",
                    "other stream",
                    BODY[0],
                    BODY[1],
                    BODY[2],
                    "-----END RSA PRIVATE KEY-----",
                    "INFO after",
                ],
                vec![(vec![0, 1, 3, 4, 5, 6, 7], false), (vec![2], false)],
                vec!["INFO boot", k, "other stream", k, k, k, k, "INFO after"],
                1,
            ),
            // No END among the events: to the end of the stream.
            (
                vec!["-----BEGIN OPENSSH PRIVATE KEY-----", BODY[0], "x=1"],
                vec![(vec![0, 1, 2], false)],
                vec![k, k, k],
                1,
            ),
            // The window starts inside the block: END without BEGIN, back over the body.
            (
                vec![
                    "INFO before",
                    BODY[1],
                    BODY[2],
                    "-----END PRIVATE KEY-----",
                    "INFO after",
                ],
                vec![(vec![0, 1, 2, 3, 4], false)],
                vec!["INFO before", k, k, k, "INFO after"],
                1,
            ),
            // PGP, read newest first without timestamps: both readings.
            (
                vec![
                    "-----END PGP PRIVATE KEY BLOCK-----",
                    "=Xb3f",
                    BODY[2],
                    BODY[1],
                    BODY[0],
                    "-----BEGIN PGP PRIVATE KEY BLOCK-----",
                ],
                vec![(vec![0, 1, 2, 3, 4, 5], true)],
                vec![k, k, k, k, k, k],
                1,
            ),
            // Markers split mid-event keep the event's other text.
            (
                vec![
                    "dump: -----BEGIN EC PRIVATE KEY-----",
                    BODY[0],
                    "-----END EC PRIVATE KEY----- done",
                ],
                vec![(vec![0, 1, 2], false)],
                vec![
                    "dump: [REDACTED PRIVATE KEY]",
                    k,
                    "[REDACTED PRIVATE KEY] done",
                ],
                1,
            ),
            // Ordinary secrets in single events still count one each.
            (
                vec!["password=hunter2", "nothing", "AKIAIOSFODNN7EXAMPLE"],
                vec![(vec![0, 1, 2], false)],
                vec!["password=[REDACTED]", "nothing", "[REDACTED AWS KEY]"],
                2,
            ),
        ];
        for (events, sequences, expected, count) in cases {
            let (texts, n) = run(&events, &sequences);
            assert_eq!(texts, expected, "{events:?}");
            assert_eq!(n, count, "{events:?}");
        }
    }

    #[test]
    fn insights_rows_are_read_in_time_order_per_stream() {
        let row = |t: Option<&str>, stream: &str, message: &str| -> Vec<(String, String)> {
            let mut row = Vec::new();
            if let Some(t) = t {
                row.push(("@timestamp".to_owned(), t.to_owned()));
            }
            row.push(("@logStream".to_owned(), stream.to_owned()));
            row.push(("@message".to_owned(), message.to_owned()));
            row
        };
        let k = "[REDACTED PRIVATE KEY]";
        // Newest first (`sort @timestamp desc`), two streams interleaved.
        let mut rows = vec![
            row(Some("2026-11-20 08:00:05.000"), "a", "INFO after"),
            row(
                Some("2026-11-20 08:00:04.000"),
                "a",
                "-----END RSA PRIVATE KEY-----",
            ),
            row(Some("2026-11-20 08:00:03.500"), "b", "other stream"),
            row(Some("2026-11-20 08:00:03.000"), "a", BODY[2]),
            row(Some("2026-11-20 08:00:02.000"), "a", BODY[1]),
            row(
                Some("2026-11-20 08:00:01.000"),
                "a",
                "-----BEGIN RSA PRIVATE KEY-----",
            ),
        ];
        assert_eq!(scrub_rows(&mut rows), 1);
        let messages: Vec<&str> = rows.iter().map(|r| r[2].1.as_str()).collect();
        assert_eq!(messages, ["INFO after", k, "other stream", k, k, k]);
        // Without timestamps: read both ways.
        let mut rows = vec![
            row(None, "a", "-----END RSA PRIVATE KEY-----"),
            row(None, "a", BODY[2]),
            row(None, "a", "-----BEGIN RSA PRIVATE KEY-----"),
        ];
        assert_eq!(scrub_rows(&mut rows), 1);
        assert!(rows.iter().all(|r| r[1].1 == k), "{rows:?}");
    }
}
