//! Unit tests of both directions: one construct each, realistic documents, round trips.

use super::{from_markdown, to_markdown};

const BUG_REPORT: &str = include_str!("../../tests/fixtures/wiki/bug_report.wiki");
const BUG_REPORT_MARKDOWN: &str = include_str!("../../tests/fixtures/wiki/bug_report.md");
const ENVIRONMENTS: &str = include_str!("../../tests/fixtures/wiki/environments.wiki");
const RELEASE_CHECKLIST: &str = include_str!("../../tests/fixtures/wiki/release_checklist.wiki");
const INCIDENT_UPDATE_MARKDOWN: &str = include_str!("../../tests/fixtures/wiki/incident_update.md");
const INCIDENT_UPDATE: &str = include_str!("../../tests/fixtures/wiki/incident_update.wiki");

const WIKI_DOCUMENTS: [(&str, &str); 3] = [
    ("bug_report", BUG_REPORT),
    ("environments", ENVIRONMENTS),
    ("release_checklist", RELEASE_CHECKLIST),
];

/// wiki -> Markdown -> wiki -> Markdown gives the same Markdown twice.
fn check_wiki_round_trip(name: &str, wiki: &str) {
    let markdown = to_markdown(wiki);
    let again = to_markdown(&from_markdown(&markdown));
    assert_eq!(again, markdown, "{name}: wiki -> md -> wiki -> md changed");
}

/// Markdown written from the supported constructs survives Markdown -> wiki -> Markdown.
fn check_markdown_round_trip(name: &str, markdown: &str) {
    let wiki = from_markdown(markdown);
    assert_eq!(
        to_markdown(&wiki),
        markdown,
        "{name}: md -> wiki -> md changed; wiki:\n{wiki}"
    );
}

/// (name, wiki markup, Markdown): one construct each.
const WIKI_TO_MARKDOWN: &[(&str, &str, &str)] = &[
    ("empty", "", ""),
    ("blank lines only", "\n  \n\n", ""),
    (
        "headings",
        "h1. One\nh3. Three\nh6. Six",
        "# One\n\n### Three\n\n###### Six",
    ),
    ("h7 is text", "h7. Seven", "h7. Seven"),
    (
        "bold italic strike",
        "*bold* _italic_ -strike-",
        "**bold** *italic* ~~strike~~",
    ),
    (
        "monospace",
        "run {{mvn -q install}}",
        "run `mvn -q install`",
    ),
    ("monospace with backtick", "{{a`b}}", "``a`b``"),
    (
        "underline sup sub colour",
        "+under+ x^2^ H~2~O {color:red}red{color}",
        "under x2 H2O red",
    ),
    (
        "nested styles",
        "*bold _and italic_*",
        "**bold *and italic***",
    ),
    (
        "intraword markers are text",
        "snake_case_name a*b*c 2-3-4",
        "snake_case_name a\\*b\\*c 2-3-4",
    ),
    (
        "link",
        "[the docs|https://example.com/docs]",
        "[the docs](https://example.com/docs)",
    ),
    (
        "link with tooltip",
        "[docs|https://example.com|Read me]",
        "[docs](https://example.com)",
    ),
    (
        "bare link",
        "[https://example.com/a?b=1]",
        "<https://example.com/a?b=1>",
    ),
    (
        "mail link",
        "[mailto:ops@example.com]",
        "<mailto:ops@example.com>",
    ),
    (
        "bare URL in text",
        "see https://example.com/x.",
        "see <https://example.com/x>.",
    ),
    (
        "mention",
        "ping [~jdoe] and [~j.doe]",
        "ping [@jdoe](mention:jdoe) and [@j.doe](mention:j.doe)",
    ),
    (
        "brackets without URL stay text",
        "[PROJ-12] and [Page]",
        "\\[PROJ-12\\] and \\[Page\\]",
    ),
    ("image", "!diagram.png!", "![](diagram.png)"),
    (
        "image with options",
        "!diagram.png|thumbnail,width=300!",
        "![](diagram.png)",
    ),
    (
        "image with a space",
        "!screen shot.png!",
        "![](<screen shot.png>)",
    ),
    (
        "exclamations are no image",
        "Works! Ship it!",
        "Works! Ship it!",
    ),
    ("rule", "a\n----\nb", "a\n\n---\n\nb"),
    ("line breaks", "one\\\\two\nthree", "one\\\ntwo\\\nthree"),
    ("trailing line break", "one\\\\", "one"),
    ("blanks before a line break", "a\t\\\\\\\\A", "a\\\n\\\nA"),
    (
        "a line holding only a forced break",
        "A\n\\\\\na",
        "A\\\n\\\na",
    ),
    (
        "emoticons",
        ":) :( :D (y) (n) (i) (/) (x) (!)",
        ":smile: :disappointed: :grinning: :thumbsup: :thumbsdown: :information_source: :white_check_mark: :x: :warning:",
    ),
    (
        "no emoticon inside words",
        "f(x) and :Done",
        "f(x) and :Done",
    ),
    (
        "bullets",
        "* one\n** two\n*** three\n* four",
        "- one\n  - two\n    - three\n- four",
    ),
    (
        "numbered",
        "# one\n## one.one\n# two",
        "1. one\n   1. one.one\n2. two",
    ),
    (
        "mixed",
        "# step\n#* detail\n#* detail\n# step",
        "1. step\n   - detail\n   - detail\n2. step",
    ),
    ("dash bullets", "- one\n- two", "- one\n- two"),
    (
        "skipped level nests once",
        "* one\n*** three",
        "- one\n  - three",
    ),
    ("list across blank lines", "* one\n\n* two", "- one\n- two"),
    (
        "text after a list ends it",
        "# one\nExpected: ok",
        "1. one\n\nExpected: ok",
    ),
    (
        "checklist",
        "* \\[x\\] done\n* \\[ \\] todo",
        "- [x] done\n- [ ] todo",
    ),
    (
        "bullet vs bold",
        "* item\n*bold* text",
        "- item\n\n**bold** text",
    ),
    ("bold list item", "* *bold* item", "- **bold** item"),
    (
        "table",
        "||a||b||\n|1|2|",
        "| a | b |\n| --- | --- |\n| 1 | 2 |",
    ),
    (
        "table without header",
        "|1|2|\n|3|4|",
        "| | |\n| --- | --- |\n| 1 | 2 |\n| 3 | 4 |",
    ),
    (
        "table escaped pipe",
        "||x||\n|a\\|b|",
        "| x |\n| --- |\n| a\\|b |",
    ),
    (
        "table link and mono keep their pipes",
        "|[a|https://x.y]|{{p|q}}|",
        "| | |\n| --- | --- |\n| [a](https://x.y) | `p\\|q` |",
    ),
    (
        "table ragged rows",
        "||a||b||c||\n|1|",
        "| a | b | c |\n| --- | --- | --- |\n| 1 | | |",
    ),
    (
        "table header column",
        "||Env|prod|",
        "| | |\n| --- | --- |\n| **Env** | prod |",
    ),
    ("table line break", "|a\\\\b|", "| |\n| --- |\n| a<br>b |"),
    (
        "code with language",
        "{code:java}\nint x = 1;\n{code}",
        "```java\nint x = 1;\n```",
    ),
    ("code without language", "{code}\nx\n{code}", "```\nx\n```"),
    (
        "code title only",
        "{code:title=A.java|borderStyle=solid}\nx\n{code}",
        "```\nx\n```",
    ),
    (
        "code language parameter",
        "{code:title=a.py|language=python}\nx\n{code}",
        "```python\nx\n```",
    ),
    (
        "noformat",
        "{noformat}\n*raw* text\n{noformat}",
        "```\n*raw* text\n```",
    ),
    (
        "code stays verbatim",
        "{code}\n*a* _b_ |c| {d} [e|f] {{g}} \\\\ h\n{code}",
        "```\n*a* _b_ |c| {d} [e|f] {{g}} \\\\ h\n```",
    ),
    (
        "code with a fence inside",
        "{code}\n```\n{code}",
        "````\n```\n````",
    ),
    (
        "code on one line",
        "text {code}x = 1{code} more",
        "text\n\n```\nx = 1\n```\n\nmore",
    ),
    (
        "unclosed code keeps the rest",
        "{code:sql}\nSELECT 1;\n\n*not bold*",
        "```sql\nSELECT 1;\n\n*not bold*\n```",
    ),
    ("empty code", "{code}{code}", "```\n```"),
    ("macro name in monospace", "{{ {code} }}", "`  {code}  `"),
    ("escaped macro", "\\{code} stays", "{code} stays"),
    ("quote", "{quote}\nwise words\n{quote}", "> wise words"),
    ("bq", "bq. short quote", "> short quote"),
    (
        "quote with blocks",
        "{quote}\nh3. Title\n* item\n{quote}",
        "> ### Title\n>\n> - item",
    ),
    ("info", "{info}\nFYI\n{info}", "> [!NOTE]\n> FYI"),
    ("tip", "{tip}\nHint\n{tip}", "> [!TIP]\n> Hint"),
    (
        "note",
        "{note}\nCareful\n{note}",
        "> [!IMPORTANT]\n> Careful",
    ),
    (
        "warning",
        "{warning}\nDanger\n{warning}",
        "> [!WARNING]\n> Danger",
    ),
    (
        "panel with title",
        "{panel:title=Setup|borderStyle=dashed}\nDo this\n{panel}",
        "> **Setup**\n>\n> Do this",
    ),
    (
        "info with title",
        "{info:title=Heads up}\nFYI\n{info}",
        "> [!NOTE]\n> **Heads up**\n>\n> FYI",
    ),
    ("panel without title", "{panel}\nboxed\n{panel}", "> boxed"),
    (
        "unclosed quote keeps the rest",
        "{quote}\nquoted\n\nstill quoted",
        "> quoted\n>\n> still quoted",
    ),
    (
        "escaped markup",
        "\\*not bold\\* \\[not link\\] \\{{not mono}}",
        "\\*not bold\\* \\[not link\\] {{not mono}}",
    ),
    (
        "Markdown characters are escaped",
        "a `tick` <tag> ~x &amp; 1_000 *",
        "a \\`tick\\` \\<tag> \\~x \\&amp; 1_000 \\*",
    ),
    (
        "line starts are escaped",
        "# one\n\n1. not a list",
        "1. one\n\n1\\. not a list",
    ),
    (
        "paragraph line starting like Markdown",
        "x\n+ plus\n> gt",
        "x\\\n\\+ plus\\\n\\> gt",
    ),
    (
        "Windows line endings",
        "h1. T\r\n* a\r\n* b\r\n{code}\r\nx\r\n{code}",
        "# T\n\n- a\n- b\n\n```\nx\n```",
    ),
    // Found by feeding random markup through both directions.
    (
        "bare URL then emoticon",
        "see https://x.y/a:)",
        "see <https://x.y/a>:smile:",
    ),
    (
        "escaped closing tag in a quote",
        "{quote}\nuse \\{quote}\n{quote}",
        "> use {quote}",
    ),
    ("heading ending in a hash", "h2. Issue #", "## Issue \\#"),
    ("colour inside bold", "*{color:red}red{color}*", "**red**"),
    (
        "bold of nothing but a colour",
        "*{color:red}{color}* x",
        "x",
    ),
    (
        "URL in link text",
        "[see https://x.y|https://x.y]",
        "[see https://x.y](https://x.y)",
    ),
    ("empty items are dropped", "* a\n*\n* b", "- a\n- b"),
    // Found by the property tests (tests/properties.rs).
    (
        "quote holding a panel",
        "{quote}{panel:title=T}A",
        "> > **T**\n> >\n> > A",
    ),
    (
        "code holding the closing tag of the quote around it",
        "{quote}\n{code}\n{quote}\n{code}\n{quote}",
        "> ```\n> {quote}\n> ```",
    ),
    ("colour before an image", "a{color:red}!a.png!", "a!a.png!"),
    ("underscore before a colour", "a_{color:red}A", "a_A"),
    ("escaped emoticon", "\\:)", ":)"),
    (
        "header column of punctuation",
        "||* |a|",
        "| | |\n| --- | --- |\n| \\* | a |",
    ),
    (
        "escaped pipe before a URL is no link",
        "[\\|https://x.y]",
        "\\[|<https://x.y>\\]",
    ),
    // Found by `cargo xtask fuzz`.
    (
        "image in a superscript after a word",
        "A^!a.png!^",
        "A!a.png!",
    ),
    ("bold right after bold", "**a:**b c*", "\\***a:**\\*b c\\*"),
    // Found by the property tests (tests/properties.rs).
    ("underline before an image", "+0+!a.png!", "0!a.png!"),
    ("underscore in a word before a superscript", "a_^a^", "a_a"),
    ("subscript of an underscore in a word", "a~_~A", "a_A"),
    (
        "bold ending in an underscore before a colour and a letter",
        "*a_*{color:red}b",
        "a_b",
    ),
    (
        "bold ending in punctuation before a symbol",
        "*A:)*\u{18cd6}",
        "A:)\u{18cd6}",
    ),
    (
        "bold opening with punctuation after a symbol",
        "\u{e000}*:)* ",
        "\u{e000}:smile:",
    ),
    (
        "star that could close the bold around it",
        "*0\\* 0* ",
        "**0\\* 0**",
    ),
    (
        "bold before a colour and a letter",
        "*Aa*{color:red}a",
        "Aaa",
    ),
    (
        "line break and a backslash before a URL",
        "00\n\\https://x.y/a_b",
        "00\\\n\\\\<https://x.y/a_b>",
    ),
    (
        "monospace with a pipe in a heading",
        "h1. {{!a b.png|thumbnail!}}",
        "# `!a b.png|thumbnail!`",
    ),
    (
        "line break before a number in a heading",
        "h1. A\\\\1. b",
        "# A 1. b",
    ),
    (
        "backslash and a line break in a quote in a panel",
        "{panel:title=T}{quote}\\\n0",
        "> **T**\n>\n> > \\\\\\\n> > 0",
    ),
    ("task marker alone", "* \\[x\\] ", "- \\[x\\]"),
    (
        "backslash before a bracket in monospace",
        "{{\\\\]}}",
        "`\\]`",
    ),
    (
        "line break before a dash in a heading",
        "h1. A\\\\-0",
        "# A -0",
    ),
    (
        "line break before a hash ending a heading",
        "h1. A\\\\# ",
        "# A \\#",
    ),
    (
        "image whose name makes an emoticon of the bracket before it",
        "\\(!)(!)",
        "(![](<)(>))",
    ),
    ("escaped hash in bold opening a line", "*\\#* ", "**#**"),
    (
        "bold holding a URL with a star",
        "*a [https://x.y/a*] b*",
        "**a <https://x.y/a*> b**",
    ),
    (
        "header column holding a URL with a star",
        "||h1. https://x.y/a_b* !a b.png|thumbnail!",
        "| | |\n| --- | --- |\n| **h1. <https://x.y/a_b*> !a b.png** | thumbnail! |",
    ),
    (
        "entity after an ampersand in an image's name",
        "A(!)&&amp;!",
        "A(![](<)&\\&amp;>)",
    ),
    (
        "two line breaks opening a strike",
        "-\\\\\\\\0- ",
        "~~\\\n\\\n0~~",
    ),
    (
        "literal backslash before a line break in a strike",
        "-a\\ \\\\b-",
        "~~a\\\\\\\nb~~",
    ),
    (
        "line break opening a task item",
        "* \\[x\\] \\\\A",
        "- [x] A",
    ),
    (
        "emoticon after a URL after a backslash",
        "\\https://x.y/a_b:)",
        "\\\\<https://x.y/a_b>:smile:",
    ),
    (
        "ampersand before an underlined entity name",
        "&+amp;+",
        "\\&amp;",
    ),
    (
        "NUL in a URL",
        "[https://x.y/a\0b]",
        "<https://x.y/a\u{fffd}b>",
    ),
    (
        "control character in a URL",
        "[https://x.y/a\u{1}b]",
        "<https://x.y/a\u{fffd}b>",
    ),
];

/// (name, Markdown, wiki markup): one construct each.
const MARKDOWN_TO_WIKI: &[(&str, &str, &str)] = &[
    ("empty", "", ""),
    ("headings", "# One\n\n###### Six", "h1. One\n\nh6. Six"),
    (
        "styles",
        "**bold** *italic* _also_ ~~strike~~ `mono`",
        "*bold* _italic_ _also_ -strike- {{mono}}",
    ),
    (
        "links",
        "[docs](https://x.y/d) <https://x.y> <ops@x.y>",
        "[docs|https://x.y/d] [https://x.y] [mailto:ops@x.y]",
    ),
    (
        "link text equal to URL",
        "[https://x.y](https://x.y)",
        "[https://x.y]",
    ),
    ("mention", "[@jdoe](mention:jdoe)", "[~jdoe]"),
    ("image", "![alt](a.png)", "!a.png!"),
    ("bullets", "- a\n  - b\n- c", "* a\n** b\n* c"),
    ("numbered mixed", "1. a\n   - b\n2. c", "# a\n#* b\n# c"),
    (
        "task list",
        "- [x] done\n- [ ] todo",
        "* \\[x\\] done\n* \\[ \\] todo",
    ),
    (
        "loose item paragraphs",
        "- one\n\n  more\n- two",
        "* one\\\\more\n* two",
    ),
    (
        "code in a list item",
        "1. run:\n\n   ```sh\n   make\n   ```\n2. done",
        "# run:\n{code:sh}\nmake\n{code}\n# done",
    ),
    (
        "table",
        "| a | b |\n| --- | --- |\n| 1 | |",
        "||a||b||\n|1| |",
    ),
    (
        "table without header",
        "| | |\n| --- | --- |\n| 1 | 2 |",
        "|1|2|",
    ),
    (
        "table pipes",
        "| x |\n| --- |\n| a\\|b `c\\|d` |",
        "||x||\n|a\\|b {{c\\|d}}|",
    ),
    (
        "code block",
        "```python\nprint('*hi*')\n```",
        "{code:python}\nprint('*hi*')\n{code}",
    ),
    (
        "code block without language",
        "```\n{code}\n```",
        "{noformat}\n{code}\n{noformat}",
    ),
    (
        "noformat inside code",
        "```\n{noformat}\n```",
        "{code}\n{noformat}\n{code}",
    ),
    (
        "indented code",
        "    x = 1",
        "{noformat}\nx = 1\n{noformat}",
    ),
    (
        "quote",
        "> said\n>\n> twice",
        "{quote}\nsaid\n\ntwice\n{quote}",
    ),
    (
        "nested quote paragraph",
        "> a\n> > b",
        "{quote}\na\n\nbq. b\n{quote}",
    ),
    (
        "nested quote blocks are a panel",
        "> a\n> > b\n> >\n> > c",
        "{quote}\na\n\n{panel}\nb\n\nc\n{panel}\n{quote}",
    ),
    (
        "a third quote flattens",
        "> > > a\n> > >\n> > > b",
        "{quote}\n{panel}\na\n\nb\n{panel}\n{quote}",
    ),
    (
        "alerts",
        "> [!NOTE]\n> n\n\n> [!CAUTION]\n> c",
        "{info}\nn\n{info}\n\n{warning}\nc\n{warning}",
    ),
    (
        "rule and breaks",
        "a  \nb\\\nc\nd\n\n---",
        "a\\\\b\\\\c d\n\n----",
    ),
    ("br tag", "a<br>b", "a\\\\b"),
    (
        "shortcodes",
        ":smile: :thumbsup: :x: :unknown:",
        ":) (y) (x) :unknown:",
    ),
    (
        "literal markup is escaped",
        "\\*a\\* \\_b\\_ \\[c\\] {d} -e- ^f",
        "\\*a* \\_b_ \\[c] \\{d} \\-e- \\^f",
    ),
    (
        "line start markers are escaped",
        "\\- not a list\n\n\\# not a number",
        "\\- not a list\n\n\\# not a number",
    ),
    (
        "URLs are not escaped",
        "see https://x.y/~me/a_b-c",
        "see https://x.y/~me/a_b-c",
    ),
    (
        "Windows line endings",
        "# T\r\n\r\n- a\r\n- b\r\n",
        "h1. T\n\n* a\n* b",
    ),
    // Found by feeding random markup through both directions.
    (
        "block words are escaped",
        "h1. no heading\n\nbq. no quote",
        "h1\\. no heading\n\nbq\\. no quote",
    ),
    ("doubled markers", "a \\*\\* b", "a \\*\\* b"),
    ("shortcode inside a word", "ok:smile:", "ok:smile:"),
    ("link to a page", "[Page](Page)", "[Page|Page]"),
    // Found by the property tests (tests/properties.rs).
    ("literal emoticon", ":) x", "\\:) x"),
    ("backslash before a hard break", "a\\\\\\\nb", "a\\\nb"),
    // `\\` at the end of a line and the newline after it read as one break: a second break
    // in a row is a line of its own.
    ("two breaks in a row", "A\\\n\\\na", "A\\\\\n\\\\\na"),
    (
        "three breaks in a row",
        "A\\\n\\\n\\\na",
        "A\\\\\n\\\\\n\\\\\na",
    ),
    (
        "two breaks after a backslash",
        "a\\\\\\\n\\\nb",
        "a\\\n\\\\\nb",
    ),
    (
        "cell ending in a backslash",
        "| x |\n| --- |\n| a\\\\ |",
        "||x||\n|a\\ |",
    ),
    ("bold hash opening a line", "**#**", "*\\#*"),
    ("two breaks in a strike", "~~a\\\n\\\nb~~", "-a\\\\\\\\b-"),
    (
        "backslash before a hard break in a strike",
        "~~a\\\\\\\nb~~",
        "-a\\ \\\\b-",
    ),
];

/// Runs `convert` on every case and reports all mismatches at once.
fn check_cases(cases: &[(&str, &str, &str)], convert: fn(&str) -> String) {
    let failures: Vec<String> = cases
        .iter()
        .filter(|(_, input, expected)| convert(input) != *expected)
        .map(|(name, input, expected)| {
            format!(
                "{name}:\n  input:    {input:?}\n  expected: {expected:?}\n  actual:   {:?}",
                convert(input)
            )
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn wiki_constructs_read_as_markdown() {
    check_cases(WIKI_TO_MARKDOWN, to_markdown);
}

#[test]
fn wiki_constructs_round_trip() {
    for (name, wiki, _) in WIKI_TO_MARKDOWN {
        check_wiki_round_trip(name, wiki);
    }
}

#[test]
fn markdown_constructs_write_as_wiki_markup() {
    check_cases(MARKDOWN_TO_WIKI, from_markdown);
}

#[test]
fn markdown_read_from_wiki_round_trips() {
    // What to_markdown writes is the canonical Markdown: it must survive md -> wiki -> md.
    for (name, _, markdown) in WIKI_TO_MARKDOWN {
        check_markdown_round_trip(name, markdown);
    }
}

#[test]
fn bug_report_reads_as_the_expected_markdown() {
    assert_eq!(to_markdown(BUG_REPORT), BUG_REPORT_MARKDOWN.trim_end());
}

#[test]
fn realistic_documents_keep_each_construct() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "environments",
            ENVIRONMENTS,
            &[
                "# Test environments\n\n",
                "Owner: [@a.nguyen](mention:a.nguyen) (platform team).",
                "[#platform-help](https://chat.example.com/channels/platform-help)",
                "| Name | URL | Database | Notes |\n| --- | --- | --- | --- |\n",
                "| dev | <https://dev.example.com> | PostgreSQL 15 | resets nightly |",
                "[QA portal](https://qa.example.com/portal?x=1&y=2)",
                "| `feature_flags=all` |",
                "| perf | | Oracle 19c | cost center A\\|B, ask first |",
                "**change freeze** until ~~May~~ June",
                "> **Access**\n>\n> Request access in [IT-2231](https://jira.example.com/browse/IT-2231); approval takes 1-2 days.",
                "> [!NOTE]\n> Credentials rotate every **90** days :information_source:",
                "> [!TIP]\n> **Faster logins**\n>\n> Use the SSO bookmark :grinning:",
                "| Region | Primary | Fallback |\n| --- | --- | --- |\n| eu-west-1 | yes | no |",
                "| | | |\n| --- | --- | --- |\n| no | header | row |\n| second | row | here |",
            ],
        ),
        (
            "release_checklist",
            RELEASE_CHECKLIST,
            &[
                "## Release 3.8 checklist\n\nDue **Friday**; blockers go in [the release page](https://wiki.example.com/x/Rel38).",
                "1. Freeze the branch\n   - [x] create `release/3.8`\n   - [x] announce in the channel :thumbsup:\n   - [ ] lock the CI job\n2. Run the checks\n   1. unit tests\n",
                "   2. integration tests on <https://ci.example.com/job/integration>\n      - [ ] Oracle\n      - [ ] PostgreSQL\n3. Publish\n   - ship it :white_check_mark:\n",
                "- Loose bullet one\n- Loose bullet two with a literal \\* star and \\_underscores\\_ and \\[brackets\\]",
                "> [!IMPORTANT]\n> Do **not** merge into `main` during the freeze. Ask [@release.manager](mention:release.manager) first.",
                "> We ship when it's ready, not before.\\\n> \\-- the team",
                "> Two approvals are required.\n\n---\n\n",
                "```\nRelease notes go in CHANGES.md: *no markup* _here_ [not a link] {not a macro}\n```",
                "Questions? :disappointed: Ask in the channel. Done :thumbsdown: / not done :x:",
            ],
        ),
    ];
    for (name, wiki, constructs) in cases {
        let markdown = to_markdown(wiki);
        for construct in *constructs {
            assert!(
                markdown.contains(construct),
                "{name}: no {construct:?} in\n{markdown}"
            );
        }
    }
}

#[test]
fn realistic_documents_round_trip() {
    for (name, wiki) in WIKI_DOCUMENTS {
        check_wiki_round_trip(name, wiki);
    }
    check_markdown_round_trip("incident_update", INCIDENT_UPDATE_MARKDOWN.trim_end());
}

#[test]
fn incident_update_writes_as_the_expected_wiki_markup() {
    assert_eq!(
        from_markdown(INCIDENT_UPDATE_MARKDOWN),
        INCIDENT_UPDATE.trim_end()
    );
}

#[test]
fn windows_line_endings_read_like_unix_ones() {
    for (name, wiki) in WIKI_DOCUMENTS {
        let windows = wiki.replace('\n', "\r\n");
        assert_eq!(to_markdown(&windows), to_markdown(wiki), "{name}");
    }
    let windows = INCIDENT_UPDATE_MARKDOWN.replace('\n', "\r\n");
    assert_eq!(
        from_markdown(&windows),
        from_markdown(INCIDENT_UPDATE_MARKDOWN)
    );
}
