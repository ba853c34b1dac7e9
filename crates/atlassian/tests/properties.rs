//! Property tests of the converters that read text nobody wrote: ADF (Jira Cloud), wiki
//! markup (Jira Data Center) and the storage format (Confluence), each to and from Markdown.
//!
//! Two kinds of property:
//! - no input makes a converter panic: arbitrary strings, JSON shaped like ADF but with any
//!   value anywhere, and XML-ish strings for the storage format;
//! - what each module's docs claim about round trips holds. `wiki`: what `to_markdown` writes
//!   survives Markdown -> wiki -> Markdown unchanged, for any wiki input. `adf` and `storage`:
//!   the Markdown they write for the constructs they carry survives Markdown -> format ->
//!   Markdown unchanged, whether it was read from a document or normalised from a model's
//!   Markdown by a first trip. The Markdown for those properties comes from a grammar of the
//!   constructs each module claims, not from raw noise, so that a failure names a construct.
//!
//! Not here: what each construct converts to (the tables in each module's unit tests), and
//! long coverage-guided runs (`cargo xtask fuzz`). Case counts keep the file to seconds in a
//! debug build; `PROPTEST_CASES=5000 cargo test -p atlassian --test properties` runs more.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use atlassian::{adf, storage, wiki};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

/// The sample the suite runs (see [`config`]); other seeds with `PROPTEST_RNG_SEED`.
const SAMPLE_SEED: u64 = 1;

fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    // A failure becomes a named case in the converter's unit-test table, not a seed file.
    config.failure_persistence = None;
    // The suite's verdict is repeatable: a fixed sample unless PROPTEST_RNG_SEED asks for
    // another. New ground is `cargo xtask fuzz`'s job (and PROPTEST_RNG_SEED=random's).
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(SAMPLE_SEED);
    }
    config
}

// ---------------------------------------------------------------------------------------
// Markdown from a grammar
// ---------------------------------------------------------------------------------------

/// Which converter a Markdown document is generated for: each claims its own constructs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Flavor {
    Adf,
    Wiki,
    Storage,
}

/// Text that is literal in Markdown: words, Unicode, and escaped punctuation (which the
/// converters must escape again on the way back).
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z0-9]{1,8}",
        2 => "[a-z]{1,4}[_.:/'-][a-z0-9]{1,4}",
        1 => select(vec!["é", "naïve", "日本語", "💥", "Ω", "a\u{a0}b"]).prop_map(String::from),
        3 => r"[!-/:-@\[-`{-~]".prop_map(|p| format!("\\{p}")),
        1 => select(vec!["!", "(", ")", ":", "?", ",", ";", "'", "\"", "%", "$", "=", "@", "/"])
            .prop_map(String::from),
    ]
}

fn words(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..=max).prop_map(|w| w.join(" "))
}

/// One inline construct: text, styles, code, links, autolinks, emoji, and where the flavor
/// carries them, mentions and status lozenges.
fn inline(flavor: Flavor) -> BoxedStrategy<String> {
    let common = prop_oneof![
        8 => words(3),
        // No pipe: in a table cell it ends the cell even inside code (GFM).
        1 => "[a-z *_#<>&\\[\\]]{1,8}".prop_map(|code| {
            // A code span's outer spaces are Markdown's to strip: keep them inside.
            let code = code.trim();
            if code.is_empty() { "`x`".to_owned() } else { format!("`{code}`") }
        }),
        1 => (words(2), "[a-z]{1,6}")
            .prop_map(|(text, path)| format!("[{text}](https://x.example/{path})")),
        1 => "[a-z]{1,6}".prop_map(|path| format!("<https://x.example/{path}>")),
        1 => select(vec!["smile", "warning", "thumbsup", "x", "rocket"])
            .prop_map(|e| format!(":{e}:")),
    ];
    let mention = ("[A-Z][a-z]{1,6}", "[a-z0-9]{1,8}")
        .prop_map(|(name, id)| format!("[@{name}](mention:{id})"));
    let status = (
        "[A-Z]{1,6}( [A-Z]{1,4})?",
        select(vec!["green", "blue", "red"]),
    )
        .prop_map(|(text, color)| format!("[{text}](status:{color})"));
    let atom: BoxedStrategy<String> = match flavor {
        // Wiki markup has no status lozenge.
        Flavor::Wiki => prop_oneof![10 => common, 1 => mention].boxed(),
        Flavor::Adf => prop_oneof![10 => common, 1 => mention, 1 => status].boxed(),
        // Mentions and lozenges are what storage names lossy: not claimed stable.
        Flavor::Storage => common.boxed(),
    };
    atom.prop_recursive(2, 8, 3, |inner| {
        (
            select(vec!["**", "*", "~~"]),
            "[a-zA-Z0-9]{1,4}",
            prop::collection::vec(inner, 1..3),
            "[a-zA-Z0-9]{1,4}",
        )
            // Emphasis hugs a word at both ends: a run such as `~~a~~~~` (a mark closing
            // right where the same mark closes) is a different document in CommonMark.
            .prop_map(|(mark, first, parts, last)| {
                format!("{mark}{first} {} {last}{mark}", parts.join(" "))
            })
    })
    .boxed()
}

/// A line of inline constructs.
fn line(flavor: Flavor) -> impl Strategy<Value = String> {
    prop::collection::vec(inline(flavor), 1..5).prop_map(|parts| parts.join(" "))
}

/// A paragraph: lines joined by soft (newline) or hard (backslash newline) breaks.
fn paragraph(flavor: Flavor) -> impl Strategy<Value = String> {
    prop::collection::vec((line(flavor), any::<bool>()), 1..3).prop_map(|lines| {
        let mut text = String::new();
        for (i, (line, hard)) in lines.into_iter().enumerate() {
            if i > 0 {
                text.push_str(if hard { "\\\n" } else { "\n" });
            }
            text.push_str(&line);
        }
        text
    })
}

#[derive(Clone, Copy, Debug)]
enum ListKind {
    Bullet,
    Ordered(u32),
    Task,
}

/// A list of up to three levels; every level has one kind (a change of kind would start
/// another list). Items are `(depth, text, done)`; a depth deeper than one more than the item
/// before is clamped, as Markdown cannot skip a level.
fn list(flavor: Flavor) -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        2 => Just(ListKind::Bullet),
        2 => (1u32..12).prop_map(ListKind::Ordered),
        1 => Just(ListKind::Task),
    ];
    (
        [kind.clone(), kind.clone(), kind],
        prop::collection::vec((0usize..3, line(flavor), any::<bool>()), 1..6),
    )
        .prop_map(|(kinds, items)| {
            let mut lines = Vec::new();
            let mut numbers = [0u32; 3];
            let mut columns = [0usize; 3];
            let mut previous: Option<usize> = None;
            for (depth, text, done) in items {
                let depth = previous.map_or(0, |p| depth.min(p + 1));
                if previous.is_none_or(|p| depth > p) {
                    numbers[depth] = match kinds[depth] {
                        ListKind::Ordered(start) => start,
                        _ => 0,
                    };
                }
                previous = Some(depth);
                let indent = if depth == 0 { 0 } else { columns[depth - 1] };
                let (marker, task) = match kinds[depth] {
                    ListKind::Bullet => ("- ".to_owned(), ""),
                    ListKind::Ordered(_) => {
                        numbers[depth] += 1;
                        (format!("{}. ", numbers[depth] - 1), "")
                    }
                    ListKind::Task => ("- ".to_owned(), if done { "[x] " } else { "[ ] " }),
                };
                columns[depth] = indent + marker.len();
                lines.push(format!("{}{marker}{task}{text}", " ".repeat(indent)));
            }
            lines.join("\n")
        })
}

/// A fenced code block: any printable ASCII but the backtick, with or without a language.
fn code_block() -> impl Strategy<Value = String> {
    (
        select(vec!["", "rust", "sh", "java"]),
        prop::collection::vec("[ -_a-~]{0,20}", 0..4),
    )
        .prop_map(|(language, lines)| {
            let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
            format!("```{language}\n{body}```")
        })
}

/// A GFM table: a header row and body rows of inline cells (pipes in text are escaped).
fn table(flavor: Flavor) -> impl Strategy<Value = String> {
    (1usize..4).prop_flat_map(move |width| {
        prop::collection::vec(prop::collection::vec(line(flavor), width), 2..4).prop_map(
            move |rows| {
                let mut lines: Vec<String> = rows
                    .iter()
                    .map(|cells| format!("| {} |", cells.join(" | ")))
                    .collect();
                lines.insert(1, format!("|{}", " --- |".repeat(width)));
                lines.join("\n")
            },
        )
    })
}

fn quoted(blocks: &[String]) -> String {
    blocks
        .join("\n\n")
        .lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_owned()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One block; quotes and alerts hold blocks of their own.
fn block(flavor: Flavor) -> BoxedStrategy<String> {
    let simple = prop_oneof![
        5 => paragraph(flavor).boxed(),
        1 => (1usize..=6, line(flavor))
            .prop_map(|(level, text)| format!("{} {text}", "#".repeat(level)))
            .boxed(),
        2 => list(flavor).boxed(),
        1 => code_block().boxed(),
        1 => table(flavor).boxed(),
        1 => Just("---".to_owned()).boxed(),
    ];
    simple
        .prop_recursive(1, 6, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..3).prop_map(|b| quoted(&b)),
                (
                    select(vec!["NOTE", "TIP", "IMPORTANT", "WARNING", "CAUTION"]),
                    prop::collection::vec(inner, 1..3),
                )
                    .prop_map(|(kind, b)| format!("> [!{kind}]\n{}", quoted(&b))),
            ]
        })
        .boxed()
}

fn markdown(flavor: Flavor) -> impl Strategy<Value = String> {
    prop::collection::vec(block(flavor), 1..5).prop_map(|blocks| blocks.join("\n\n"))
}

/// Markdown-ish noise: the characters every converter treats as markup, lines and words.
fn markdownish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => "[a-z]{1,5}",
            4 => select(vec![
                " ", "\n", "\n\n", "*", "**", "_", "~~", "`", "```", "#", "> ", "- ", "1. ",
                "|", "| --- |", "[", "]", "(", ")", "!", "<", ">", "&", "&amp;", "\\", "    ",
                "[x] ", ":smile:", "[!NOTE]", "mention:", "status:", "https://x.y", "<br>",
                "<div>", "\t", "\r\n", "-", "+", "=", "^", "~", "{", "}", "\u{0}",
            ])
            .prop_map(String::from),
            1 => any::<char>().prop_map(String::from),
        ],
        0..40,
    )
    .prop_map(|pieces| pieces.concat())
}

// ---------------------------------------------------------------------------------------
// Wiki markup from a grammar
// ---------------------------------------------------------------------------------------

/// Wiki markup built from its constructs, with markup characters in odd places: the input
/// `wiki::to_markdown` gets from Jira Data Center.
fn wikiish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => "[a-zA-Z0-9]{1,6}",
        6 => select(vec![
            " ", "\n", "\n\n", "*", "_", "-", "+", "^", "~", "??", "{{", "}}", "[", "]", "|",
            "||", "!", "\\", "\\\\", "h1. ", "h3. ", "bq. ", "----", "* ", "** ", "# ", "#* ",
            "- ", "{code}", "{code:java}", "{noformat}", "{quote}", "{panel:title=T}", "{panel}",
            "{info}", "{warning}", "{color:red}", "{color}", ":)", "(y)", "(!)", "[~jdoe]",
            "[a|https://x.y]", "[https://x.y]", "https://x.y/a_b", "!a.png!", "!a b.png|thumbnail!",
            "\\[x\\] ", "[ ] ", "&amp;", "&", "<", ">", "`", "#", "1.", "\r\n", "\t",
        ])
        .prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

// ---------------------------------------------------------------------------------------
// ADF from a grammar, and JSON that only looks like ADF
// ---------------------------------------------------------------------------------------

/// Text as a text node may hold it: markup characters, spaces at the ends, Unicode.
fn adf_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9]{1,8}",
        2 => "[a-z *_`#>|+=&;:!.\\[\\]<>~()\\\\0-9-]{1,10}",
        1 => "\\PC{1,6}",
    ]
}

/// Text under a mark: it starts and ends with a letter or digit, as Markdown needs of
/// emphasis next to a word (`**:**0` is no emphasis: `adf`'s docs name that limit).
fn adf_marked_text() -> impl Strategy<Value = String> {
    ("[a-zA-Z0-9]", prop::option::of((adf_text(), "[a-zA-Z0-9]"))).prop_map(|(first, rest)| {
        match rest {
            Some((middle, last)) => format!("{first}{middle}{last}"),
            None => first,
        }
    })
}

fn adf_inline() -> impl Strategy<Value = Value> {
    let mark = select(vec!["strong", "em", "strike", "code", "link"]);
    prop_oneof![
        8 => prop::collection::btree_set(mark, 0..3).prop_map(|mut marks| {
            // ADF's schema allows the code mark with a link only.
            if marks.contains("code") {
                marks.retain(|m| matches!(*m, "code" | "link"));
            }
            marks
        }).prop_flat_map(|marks| {
            let text = match marks.len() {
                0 => adf_text().boxed(),
                1 => adf_marked_text().boxed(),
                // Nested marks put a delimiter (punctuation) next to the neighbour: spaces
                // keep them from touching a word, which Markdown cannot write (`0**~~a~~**`).
                _ => adf_marked_text().prop_map(|t| format!(" {t} ")).boxed(),
            };
            (text, Just(marks))
        }).prop_map(|(text, marks)| {
            let marks: Vec<Value> = marks
                .into_iter()
                .map(|m| match m {
                    "link" => json!({"type": "link", "attrs": {"href": "https://x.example/a"}}),
                    m => json!({"type": m}),
                })
                .collect();
            if marks.is_empty() {
                json!({"type": "text", "text": text})
            } else {
                json!({"type": "text", "text": text, "marks": marks})
            }
        }),
        1 => Just(json!({"type": "hardBreak"})),
        1 => ("[A-Z][a-z]{1,6}", "[a-z0-9]{1,8}").prop_map(|(name, id)| {
            json!({"type": "mention", "attrs": {"id": id, "text": format!("@{name}")}})
        }),
        1 => select(vec!["smile", "rocket", "warning"])
            .prop_map(|e| json!({"type": "emoji", "attrs": {"shortName": format!(":{e}:")}})),
        1 => ("[A-Z]{1,6}", select(vec!["green", "blue", "neutral"])).prop_map(|(text, color)| {
            json!({"type": "status", "attrs": {"text": text, "color": color}})
        }),
        1 => "[a-z]{1,6}".prop_map(|path| {
            json!({"type": "inlineCard", "attrs": {"url": format!("https://x.example/{path}")}})
        }),
    ]
}

fn adf_paragraph() -> impl Strategy<Value = Value> {
    prop::collection::vec(adf_inline(), 1..5)
        .prop_map(|content| json!({"type": "paragraph", "content": content}))
}

/// ADF blocks of the node types `adf`'s table lists.
fn adf_block() -> BoxedStrategy<Value> {
    let item = |content: Vec<Value>| json!({"type": "listItem", "content": content});
    let simple = prop_oneof![
        5 => adf_paragraph().boxed(),
        1 => (1u64..=6, prop::collection::vec(adf_inline(), 1..4)).prop_map(|(level, content)| {
            json!({"type": "heading", "attrs": {"level": level}, "content": content})
        }).boxed(),
        1 => (select(vec!["", "rust", "java"]), "[ -~\n]{0,30}").prop_map(|(language, code)| {
            let content = if code.is_empty() { json!([]) } else { json!([{"type": "text", "text": code}]) };
            json!({"type": "codeBlock", "attrs": {"language": language}, "content": content})
        }).boxed(),
        // A task item opens with a word: an empty one has no Markdown form (`- [ ]` is text).
        1 => prop::collection::vec(("[a-z]{1,5}", prop::collection::vec(adf_inline(), 0..3), any::<bool>()), 1..4)
            .prop_map(|items| {
                let items: Vec<Value> = items.into_iter().map(|(word, rest, done)| (
                    std::iter::once(json!({"type": "text", "text": format!("{word} ")})).chain(rest).collect::<Vec<_>>(),
                    done,
                )).map(|(content, done)| json!({
                    "type": "taskItem",
                    "attrs": {"localId": "", "state": if done { "DONE" } else { "TODO" }},
                    "content": content,
                })).collect();
                json!({"type": "taskList", "attrs": {"localId": ""}, "content": items})
            }).boxed(),
        1 => (1usize..4).prop_flat_map(|width| {
            prop::collection::vec(prop::collection::vec(adf_paragraph(), width), 1..4)
        }).prop_map(|rows| {
            let rows: Vec<Value> = rows.into_iter().enumerate().map(|(r, cells)| {
                let kind = if r == 0 { "tableHeader" } else { "tableCell" };
                let cells: Vec<Value> = cells.into_iter()
                    .map(|p| json!({"type": kind, "attrs": {}, "content": [p]}))
                    .collect();
                json!({"type": "tableRow", "content": cells})
            }).collect();
            json!({"type": "table", "content": rows})
        }).boxed(),
        1 => Just(json!({"type": "rule"})).boxed(),
    ];
    simple
        .prop_recursive(2, 12, 3, move |inner| {
            prop_oneof![
                (any::<bool>(), 1u64..5, prop::collection::vec((adf_paragraph(), prop::option::weighted(0.3, inner.clone())), 1..4))
                    .prop_map(move |(ordered, order, items)| {
                        let items: Vec<Value> = items.into_iter().map(|(p, nested)| {
                            // Only a list nests directly in an item in this grammar.
                            let nested = nested.filter(|n| matches!(n["type"].as_str(), Some("bulletList" | "orderedList")));
                            item(std::iter::once(p).chain(nested).collect())
                        }).collect();
                        if ordered {
                            json!({"type": "orderedList", "attrs": {"order": order}, "content": items})
                        } else {
                            json!({"type": "bulletList", "content": items})
                        }
                    }),
                prop::collection::vec(adf_paragraph(), 1..3)
                    .prop_map(|content| json!({"type": "blockquote", "content": content})),
                (select(vec!["info", "note", "tip", "warning", "error"]), prop::collection::vec(inner, 1..3))
                    .prop_map(|(kind, content)| json!({"type": "panel", "attrs": {"panelType": kind}, "content": content})),
            ]
        })
        .boxed()
}

fn adf_doc() -> impl Strategy<Value = Value> {
    prop::collection::vec(adf_block(), 1..5)
        .prop_map(|content| json!({"type": "doc", "version": 1, "content": content}))
}

/// JSON that looks like ADF where the converter looks, with any value in any place: wrong
/// types, huge numbers, unknown node types, missing fields.
fn adf_like_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
        select(NODE_TYPES.to_vec()).prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            (
                select(NODE_TYPES.to_vec()),
                prop::collection::vec((select(ATTRIBUTES.to_vec()), inner.clone()), 0..4),
                prop::option::of(prop::collection::vec(inner.clone(), 0..5)),
                prop::option::of(inner.clone()),
                prop::option::of(inner),
            )
                .prop_map(|(kind, attrs, content, text, marks)| {
                    let mut node = Map::new();
                    node.insert("type".into(), kind.into());
                    let attrs: Map<String, Value> =
                        attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                    node.insert("attrs".into(), Value::Object(attrs));
                    if let Some(content) = content {
                        node.insert("content".into(), Value::Array(content));
                    }
                    if let Some(text) = text {
                        node.insert("text".into(), text);
                    }
                    if let Some(marks) = marks {
                        node.insert("marks".into(), marks);
                    }
                    Value::Object(node)
                }),
        ]
    })
}

/// Every node type `adf` reads, and some it does not.
const NODE_TYPES: &[&str] = &[
    "doc",
    "paragraph",
    "heading",
    "bulletList",
    "orderedList",
    "listItem",
    "taskList",
    "taskItem",
    "decisionList",
    "decisionItem",
    "codeBlock",
    "blockquote",
    "panel",
    "rule",
    "table",
    "tableRow",
    "tableHeader",
    "tableCell",
    "mediaSingle",
    "mediaGroup",
    "media",
    "mediaInline",
    "expand",
    "nestedExpand",
    "blockCard",
    "embedCard",
    "text",
    "hardBreak",
    "mention",
    "emoji",
    "status",
    "inlineCard",
    "date",
    "layoutSection",
    "unknownNode",
];

/// Every attribute `adf` reads.
const ATTRIBUTES: &[&str] = &[
    "level",
    "order",
    "language",
    "panelType",
    "title",
    "url",
    "alt",
    "type",
    "id",
    "text",
    "shortName",
    "color",
    "timestamp",
    "state",
    "href",
];

// ---------------------------------------------------------------------------------------
// Storage format from a grammar, and XML-ish noise
// ---------------------------------------------------------------------------------------

/// Storage bodies of the elements Markdown carries, with text that needs escaping both ways.
fn storage_body() -> impl Strategy<Value = String> {
    let text = "[a-zA-Z0-9 *_`#>|+.&;:!\\[\\]~-]{1,10}".prop_map(|t| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    });
    let inline = text.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            // Emphasis hugs a letter or digit at both ends, as Markdown needs next to a word
            // (`A**&**` is no emphasis: `storage`'s docs name that limit).
            (
                select(vec!["strong", "em", "s"]),
                "[a-z0-9]",
                inner.clone(),
                "[a-z0-9]"
            )
                .prop_map(|(tag, a, t, b)| format!("<{tag}>{a}{t}{b}</{tag}>")),
            "[a-z ]{1,6}".prop_map(|c| format!("<code>{c}</code>")),
            inner
                .clone()
                .prop_map(|t| format!("<a href=\"https://x.example/a\">{t}</a>")),
            prop::collection::vec(inner, 1..3).prop_map(|parts| parts.join("<br />")),
        ]
    });
    let paragraph =
        prop::collection::vec(inline, 1..3).prop_map(|p| format!("<p>{}</p>", p.concat()));
    let block = prop_oneof![
        4 => paragraph.clone(),
        1 => (1u8..=6, "[a-zA-Z ]{1,8}").prop_map(|(l, t)| format!("<h{l}>{t}</h{l}>")),
        1 => (select(vec!["ul", "ol"]), prop::collection::vec(paragraph.clone(), 1..3)).prop_map(|(tag, items)| {
            let items: String = items.iter().map(|i| format!("<li>{i}</li>")).collect();
            format!("<{tag}>{items}</{tag}>")
        }),
        1 => (select(vec!["", "java"]), "[ -~\n]{0,20}").prop_map(|(language, code)| {
            let parameter = if language.is_empty() { String::new() } else {
                format!("<ac:parameter ac:name=\"language\">{language}</ac:parameter>")
            };
            let code = code.replace("]]>", "]] >");
            format!("<ac:structured-macro ac:name=\"code\">{parameter}<ac:plain-text-body><![CDATA[{code}]]></ac:plain-text-body></ac:structured-macro>")
        }),
        1 => (select(vec!["info", "tip", "note", "warning"]), paragraph.clone()).prop_map(|(name, p)| {
            format!("<ac:structured-macro ac:name=\"{name}\"><ac:rich-text-body>{p}</ac:rich-text-body></ac:structured-macro>")
        }),
        1 => paragraph.clone().prop_map(|p| format!("<blockquote>{p}</blockquote>")),
        1 => Just("<hr />".to_owned()),
        1 => prop::collection::vec(("[a-z ]{1,8}", any::<bool>()), 1..3).prop_map(|tasks| {
            let tasks: String = tasks.iter().map(|(t, done)| format!(
                "<ac:task><ac:task-status>{}</ac:task-status><ac:task-body>{t}</ac:task-body></ac:task>",
                if *done { "complete" } else { "incomplete" }
            )).collect();
            format!("<ac:task-list>{tasks}</ac:task-list>")
        }),
        1 => (1usize..3).prop_flat_map(|width| prop::collection::vec(prop::collection::vec("[a-z0-9 ]{1,6}", width), 1..3))
            .prop_map(|rows| {
                let rows: String = rows.iter().enumerate().map(|(r, cells)| {
                    let tag = if r == 0 { "th" } else { "td" };
                    let cells: String = cells.iter().map(|c| format!("<{tag}><p>{c}</p></{tag}>")).collect();
                    format!("<tr>{cells}</tr>")
                }).collect();
                format!("<table><tbody>{rows}</tbody></table>")
            }),
    ];
    prop::collection::vec(block, 1..5).prop_map(|b| b.concat())
}

/// XML-ish noise: tags of the storage format, entities, CDATA, comments, stray brackets.
fn xmlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-z ]{1,5}",
        6 => select(vec![
            "<p>", "</p>", "<p/>", "<br />", "<ul>", "</ul>", "<li>", "</li>", "<table>",
            "</table>", "<tr>", "</tr>", "<td>", "</td>", "<th colspan=\"2\">", "</th>",
            "<ac:structured-macro ac:name=\"code\">", "<ac:structured-macro ac:name=\"info\">",
            "<ac:structured-macro ac:name=\"status\">", "</ac:structured-macro>",
            "<ac:parameter ac:name=\"language\">", "<ac:parameter ac:name=\"title\">",
            "</ac:parameter>", "<ac:rich-text-body>", "</ac:rich-text-body>",
            "<ac:plain-text-body>", "</ac:plain-text-body>", "<![CDATA[", "]]>",
            "<ac:link>", "</ac:link>", "<ri:user ri:account-id=\"x\" />", "<ac:task-list>",
            "</ac:task-list>", "<ac:task>", "</ac:task>", "<ac:task-status>complete",
            "</ac:task-status>", "<ac:image ac:alt=\"a\">", "</ac:image>",
            "<ri:attachment ri:filename=\"a.png\" />", "<a href=\"x\">", "</a>", "&amp;",
            "&lt;", "&#65;", "&#x1F4A5;", "&nbsp;", "&bogus;", "&", "<", ">", "\"", "'",
            "<!-- c -->", "<?pi x?>", "</storage-root>", "<storage-root>", "<ol start=\"99999999999999999999\">",
            "</ol>", "<h1>", "</h1>", "<pre>", "</pre>", "<blockquote>", "</blockquote>",
            "<code>", "</code>", "<strong>", "</strong>", "\n", "\r\n", "\t",
        ])
        .prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

// ---------------------------------------------------------------------------------------
// No panics
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn adf_reads_any_json_without_panicking(doc in adf_like_json()) {
        let markdown = adf::to_markdown(&doc);
        // Whatever it reads, it writes Markdown that converts back.
        let back = adf::from_markdown(&markdown);
        prop_assert_eq!(&back["type"], "doc");
    }

    #[test]
    fn adf_writes_any_text_without_panicking(text in any::<String>(), noise in markdownish()) {
        for markdown in [&text, &noise] {
            let doc = adf::from_markdown(markdown);
            prop_assert_eq!(&doc["type"], "doc");
            adf::to_markdown(&doc);
        }
    }

    #[test]
    fn wiki_converts_any_text_without_panicking(
        text in any::<String>(),
        noise in wikiish(),
        markdown in markdownish(),
    ) {
        for input in [&text, &noise, &markdown] {
            let markdown = wiki::to_markdown(input);
            prop_assert!(!markdown.ends_with('\n'), "to_markdown promises no trailing newline");
            let wiki = wiki::from_markdown(input);
            prop_assert!(!wiki.ends_with('\n'), "from_markdown promises no trailing newline");
        }
    }

    #[test]
    fn storage_reads_any_text_without_panicking(text in any::<String>(), noise in xmlish()) {
        for body in [&text, &noise] {
            // Both parse the same way: both succeed or both fail, with the same error.
            match (storage::to_markdown(body), storage::lossy(body)) {
                (Ok(_), Ok(_)) => {}
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "to_markdown {a:?} but lossy {b:?}"),
            }
        }
    }

    /// What `storage::from_markdown` writes is well-formed, whatever the Markdown, and holds
    /// nothing Markdown cannot carry but the three constructs that Markdown names (images,
    /// mentions, status lozenges): raw HTML cannot smuggle a macro in.
    #[test]
    fn storage_writes_well_formed_bodies(text in any::<String>(), noise in markdownish()) {
        for markdown in [&text, &noise] {
            let body = storage::from_markdown(markdown);
            let lossy = storage::lossy(&body);
            prop_assert!(lossy.is_ok(), "{markdown:?} -> {body:?}: {lossy:?}");
            for item in lossy.unwrap() {
                prop_assert!(
                    ["image", "user mention", "status lozenge"].contains(&item.what.as_str()),
                    "{markdown:?} -> {body:?}: {}", item.what
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Round trips, where the docs claim them
// ---------------------------------------------------------------------------------------

/// Markdown -> format -> Markdown, once to normalise, then again: the second trip must not
/// change anything.
fn check_stable(markdown: &str, trip: impl Fn(&str) -> String) -> Result<(), TestCaseError> {
    let once = trip(markdown);
    let twice = trip(&once);
    prop_assert_eq!(&twice, &once, "from {:?}", markdown);
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// wiki's claim: "What `to_markdown` writes survives Markdown -> wiki -> Markdown
    /// unchanged", for any wiki markup.
    #[test]
    fn wiki_markdown_survives_a_round_trip(input in wikiish()) {
        let markdown = wiki::to_markdown(&input);
        let again = wiki::to_markdown(&wiki::from_markdown(&markdown));
        prop_assert_eq!(again, markdown, "wiki input {:?}", input);
    }

    /// The same claim for the Markdown a model writes: its first trip is what `to_markdown`
    /// writes, which then survives.
    #[test]
    fn wiki_stabilises_markdown_in_one_trip(markdown in markdown(Flavor::Wiki)) {
        check_stable(&markdown, |m| wiki::to_markdown(&wiki::from_markdown(m)))?;
    }

    /// adf: the Markdown read from a document of the table's node types survives
    /// Markdown -> ADF -> Markdown.
    #[test]
    fn adf_markdown_survives_a_round_trip(doc in adf_doc()) {
        let markdown = adf::to_markdown(&doc);
        let again = adf::to_markdown(&adf::from_markdown(&markdown));
        prop_assert_eq!(again, markdown, "document {}", doc);
    }

    #[test]
    fn adf_stabilises_markdown_in_one_trip(markdown in markdown(Flavor::Adf)) {
        check_stable(&markdown, |m| adf::to_markdown(&adf::from_markdown(m)))?;
    }

    /// storage's claim: "What Markdown carries, converts both ways and is stable over a round
    /// trip" for bodies that `lossy` finds nothing in.
    #[test]
    fn storage_markdown_survives_a_round_trip(body in storage_body()) {
        let lossy = storage::lossy(&body).expect("the grammar writes well-formed bodies");
        prop_assume!(lossy.is_empty());
        let markdown = storage::to_markdown(&body).unwrap();
        let again = storage::to_markdown(&storage::from_markdown(&markdown)).unwrap();
        prop_assert_eq!(again, markdown, "body {:?}", body);
    }

    #[test]
    fn storage_stabilises_markdown_in_one_trip(markdown in markdown(Flavor::Storage)) {
        check_stable(&markdown, |m| {
            storage::to_markdown(&storage::from_markdown(m)).expect("what we write parses")
        })?;
    }
}
