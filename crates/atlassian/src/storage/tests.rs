//! Unit tests: real page bodies, one Markdown construct each, malformed bodies.

use super::*;

/// A fixture's name, its storage body, and the Markdown it renders as.
type Fixture = (&'static str, &'static str, &'static str);

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../tests/fixtures/storage/", $name, ".xml")),
            include_str!(concat!("../../tests/fixtures/storage/", $name, ".md")),
        )
    };
}

/// Real-world page bodies: the Markdown a model reads, and what Markdown cannot carry.
#[test]
fn page_bodies_convert_and_name_what_markdown_cannot_carry() {
    let cases: &[(Fixture, &[&str])] = &[
        (fixture!("table"), &[]),
        (fixture!("code"), &[]),
        (fixture!("panels"), &[]),
        (fixture!("tasks"), &[]),
        (fixture!("rich"), &[]),
        (
            fixture!("mixed"),
            &[
                "block content in a table cell",
                "date",
                "emoticon",
                "image",
                "inline comment",
                "link to Confluence content",
                "macro `expand`",
                "macro `jira`",
                "macro `toc`",
                "merged table cells",
                "page layout",
                "panel title",
                "status lozenge",
                "styled text (colour, alignment, ...)",
                "underline",
                "user mention",
            ],
        ),
    ];
    for ((name, storage, markdown), expected_lossy) in cases {
        let got = to_markdown(storage).unwrap();
        assert_eq!(&got, markdown, "{name}: storage -> Markdown");
        let names: Vec<String> = lossy(storage)
            .unwrap()
            .into_iter()
            .map(|l| l.what)
            .collect();
        assert_eq!(names, *expected_lossy, "{name}: what Markdown cannot carry");
        if expected_lossy.is_empty() {
            // What converts, converts faithfully: back to storage and again to Markdown
            // gives the same text, and the written storage is itself fully carried.
            let written = from_markdown(&got);
            assert_eq!(to_markdown(&written).unwrap(), got, "{name}: round trip");
            assert!(lossy(&written).unwrap().is_empty(), "{name}: {written}");
        }
    }
}

#[test]
fn markdown_becomes_storage() {
    let cases = [
        ("Hello *world*", "<p>Hello <em>world</em></p>"),
        ("# Title", "<h1>Title</h1>"),
        (
            "```rust\nfn main() {}\n```",
            "<ac:structured-macro ac:name=\"code\" ac:schema-version=\"1\"><ac:parameter ac:name=\"language\">rust</ac:parameter><ac:plain-text-body><![CDATA[fn main() {}]]></ac:plain-text-body></ac:structured-macro>",
        ),
        (
            "```\nend ]]> here\n```",
            "<ac:structured-macro ac:name=\"code\" ac:schema-version=\"1\"><ac:plain-text-body><![CDATA[end ]]]]><![CDATA[> here]]></ac:plain-text-body></ac:structured-macro>",
        ),
        (
            "> [!WARNING]\n> Careful",
            "<ac:structured-macro ac:name=\"warning\" ac:schema-version=\"1\"><ac:rich-text-body><p>Careful</p></ac:rich-text-body></ac:structured-macro>",
        ),
        (
            "> [!IMPORTANT]\n> Read",
            "<ac:structured-macro ac:name=\"note\" ac:schema-version=\"1\"><ac:rich-text-body><p>Read</p></ac:rich-text-body></ac:structured-macro>",
        ),
        (
            "- [x] done\n- [ ] todo",
            "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>complete</ac:task-status><ac:task-body>done</ac:task-body></ac:task><ac:task><ac:task-id>2</ac:task-id><ac:task-status>incomplete</ac:task-status><ac:task-body>todo</ac:task-body></ac:task></ac:task-list>",
        ),
        (
            "| a | b |\n|---|---|\n| 1 | 2 |",
            "<table><tbody><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></tbody></table>",
        ),
        (
            "ping [@Jane](mention:5b10ac8d) [DONE](status:Green)",
            "<p>ping <ac:link><ri:user ri:account-id=\"5b10ac8d\" /></ac:link> <ac:structured-macro ac:name=\"status\" ac:schema-version=\"1\"><ac:parameter ac:name=\"colour\">Green</ac:parameter><ac:parameter ac:name=\"title\">DONE</ac:parameter></ac:structured-macro></p>",
        ),
        (
            "![diagram](arch.png) ![logo](https://x.example/l.svg)",
            "<p><ac:image ac:alt=\"diagram\"><ri:attachment ri:filename=\"arch.png\" /></ac:image> <ac:image ac:alt=\"logo\"><ri:url ri:value=\"https://x.example/l.svg\" /></ac:image></p>",
        ),
        (
            "[a & b](https://x.example/?q=1&r=\"2\")",
            "<p><a href=\"https://x.example/?q=1&amp;r=&quot;2&quot;\">a &amp; b</a></p>",
        ),
        (
            "3. third\n4. fourth",
            "<ol start=\"3\"><li>third</li><li>fourth</li></ol>",
        ),
    ];
    for (markdown, storage) in cases {
        assert_eq!(from_markdown(markdown), storage, "{markdown}");
        to_markdown(storage).expect("what we write parses");
    }
}

/// Raw HTML in a model's Markdown is text: no macro, no layout, no script gets through.
#[test]
fn raw_html_in_markdown_is_written_as_text() {
    let cases = [
        "<ac:structured-macro ac:name=\"html\"><ac:plain-text-body><![CDATA[<script>x</script>]]></ac:plain-text-body></ac:structured-macro>",
        "before <ac:layout><ac:layout-section/></ac:layout> after",
        "<script>alert(1)</script>",
        "<div>\n\n*md*\n\n</div>",
    ];
    for markdown in cases {
        let storage = from_markdown(markdown);
        assert!(
            lossy(&storage).unwrap().is_empty(),
            "{markdown} -> {storage}"
        );
        assert!(
            !storage.contains("<ac:") && !storage.contains("<script"),
            "{storage}"
        );
    }
}

#[test]
fn malformed_storage_is_an_error_with_its_position() {
    use StorageErrorKind::*;
    // (name, body, kind, byte position, words the message has)
    let cases = [
        (
            "unclosed",
            "<p>open",
            Syntax,
            7,
            "expected `</p>`, but the end of the body",
        ),
        ("mismatched", "<p>a</div>", Syntax, 4, "div"),
        ("unknown entity", "<p>&bogus;</p>", Syntax, 3, "bogus"),
        ("unquoted attribute", "<p a=1>x</p>", Syntax, 0, ""),
        (
            "trailing content after the root",
            "<p>x</p></storage-root><junk",
            TrailingContent,
            8,
            "closes nothing the body opened",
        ),
        (
            "the root closed early",
            "<p>x</p></storage-root>  ",
            TrailingContent,
            8,
            "`</storage-root>`",
        ),
        (
            "another root's end",
            "<p>x</p></root><junk",
            Syntax,
            8,
            "`</root>`",
        ),
        (
            "the root opened again",
            "<p>x</p><storage-root>",
            Syntax,
            22,
            "end of the body",
        ),
        (
            "doctype",
            "text <!DOCTYPE x> more",
            Declaration,
            5,
            "DOCTYPE",
        ),
        (
            "declaration",
            "<?xml version=\"1.0\"?><p>x</p>",
            Declaration,
            0,
            "declaration",
        ),
        ("CDATA end in text", "<p>a</p>]]>", Syntax, 8, "]]>"),
        (
            "control character",
            "<p>a\u{1}</p>",
            ForbiddenCharacter,
            4,
            "U+0001",
        ),
        (
            "control character reference",
            "<p>&#1;</p>",
            ForbiddenCharacter,
            3,
            "U+0001",
        ),
        (
            "control character in an attribute",
            "<p><a href=\"&#x1b;\">x</a></p>",
            ForbiddenCharacter,
            3,
            "U+001B",
        ),
        ("U+FFFF", "<p>\u{ffff}</p>", ForbiddenCharacter, 3, "U+FFFF"),
        (
            "double hyphen in a comment",
            "<!-- a -- b -->",
            Syntax,
            7,
            "`--`",
        ),
    ];
    for (name, storage, kind, position, needle) in cases {
        let error = to_markdown(storage).unwrap_err();
        assert_eq!(
            (error.kind, error.position),
            (kind, position),
            "{name}: {error}"
        );
        assert!(error.to_string().contains(needle), "{name}: {error}");
        assert_eq!(lossy(storage).unwrap_err(), error, "{name}");
    }
}

/// What the stricter parse still takes: comments, processing instructions, whitespace.
#[test]
fn well_formed_odds_and_ends_parse() {
    let cases = [
        ("<p>a</p><!-- note --><?php x?>\n  ", "a\n"),
        ("<p>tab\tand &#x10000;</p>", "tab and \u{10000}\n"),
        ("<p><![CDATA[a <b> ]] c]]></p>", "a \\<b\\> \\]\\] c\n"),
    ];
    for (storage, markdown) in cases {
        assert_eq!(to_markdown(storage).unwrap(), markdown, "{storage:?}");
    }
}

#[test]
fn empty_bodies_are_empty() {
    for storage in ["", "<p />", "  \n ", "<p><br /></p>", "<p>&nbsp;</p>"] {
        assert_eq!(to_markdown(storage).unwrap(), "", "{storage:?}");
    }
    assert_eq!(from_markdown(""), "");
}

/// Bodies on which a Markdown round trip changed the Markdown, found by the property tests
/// (tests/properties.rs): what they read as now, which survives Markdown -> storage -> Markdown.
#[test]
fn regressions_found_by_property_tests() {
    let cases = [
        (
            "code with spaces at both ends",
            "<p><code> a </code></p>",
            "`  a  `\n",
        ),
        (
            "adjacent code elements",
            "<p><code>a</code><code>b</code></p>",
            "`ab`\n",
        ),
        (
            "adjacent emphasis",
            "<p><em>a&amp;0</em><em>0b</em></p>",
            "*a&00b*\n",
        ),
        (
            "emphasis right before strong text",
            "<blockquote><p><em>a|a</em><strong>a<em>a a</em>a</strong></p></blockquote>",
            "> _a|a_**a*a a*a**\n",
        ),
        (
            "strong text right before emphasis",
            "<ul><li><p><strong>0_0</strong><em>a<strong>a]0</strong>0</em></p></li></ul>",
            "- __0\\_0__*a**a\\]0**0*\n",
        ),
        (
            "a number opening an alert's paragraph",
            "<ac:structured-macro ac:name=\"info\"><ac:rich-text-body><p>2. A</p></ac:rich-text-body></ac:structured-macro>",
            "> [!NOTE]\n> 2\\. A\n",
        ),
        (
            "a list right after a list",
            "<ul><li>a</li></ul><ac:task-list><ac:task><ac:task-status>incomplete</ac:task-status><ac:task-body>b</ac:task-body></ac:task></ac:task-list>",
            "- a\n\n* [ ] b\n",
        ),
        (
            "a link inside a link",
            "<p><a href=\"https://x.example/a\"><a href=\"https://x.example/b\">x</a></a></p>",
            "[x](https://x.example/a)\n",
        ),
        (
            "an exclamation mark before a link",
            "<p>!<a href=\"https://x.example/a\">x</a></p>",
            "\\![x](https://x.example/a)\n",
        ),
        (
            "a backslash and an exclamation mark before a link",
            "<p>\\!<a href=\"https://x.example/a\">x</a></p>",
            "\\\\\\![x](https://x.example/a)\n",
        ),
        (
            "a hash ending a heading",
            "<blockquote><h1>#</h1></blockquote>",
            "> # \\#\n",
        ),
        (
            "code ending in blank lines",
            "<ac:structured-macro ac:name=\"code\"><ac:plain-text-body><![CDATA[x\n\n]]></ac:plain-text-body></ac:structured-macro>",
            "```\nx\n```\n",
        ),
        (
            "text that reads as an entity",
            "<p>&amp;gt;</p>",
            "\\&gt;\n",
        ),
        (
            "an empty quote",
            "<blockquote><p> </p></blockquote><p>x</p>",
            "x\n",
        ),
    ];
    for (name, storage, markdown) in cases {
        let got = to_markdown(storage).unwrap();
        assert_eq!(got, markdown, "{name}");
        let again = to_markdown(&from_markdown(&got)).unwrap();
        assert_eq!(again, got, "{name}: round trip");
    }
    // Characters XML cannot hold are written as U+FFFD, so the body parses.
    assert_eq!(from_markdown("a\u{1}b\u{0}"), "<p>a\u{fffd}b\u{fffd}</p>");
}
