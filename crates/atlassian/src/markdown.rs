//! Markdown written the same way by every converter of this crate.
//!
//! Only what must agree to the byte between them; not a Markdown writer. Parsing stays with
//! pulldown-cmark in each converter.

/// Inline code as a Markdown code span that reads back as exactly `code`.
pub(crate) fn code_span(code: &str) -> String {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    // Markdown strips one space from both ends when both have one, and needs a space between
    // a backtick of the code and the fence.
    let pad = code.starts_with('`')
        || code.ends_with('`')
        || (code.starts_with(' ') && code.ends_with(' ') && !code.trim().is_empty());
    let pad = if pad { " " } else { "" };
    format!("{ticks}{pad}{code}{pad}{ticks}")
}

/// The marker a list block written by this crate opens with: `-` or `*` for bullets, `.` or
/// `)` for numbers; `None` for any other block (whose text at a line start is escaped).
fn list_marker(first_line: &str) -> Option<char> {
    let digits = first_line.len()
        - first_line
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    // CommonMark reads at most nine digits as a list number.
    let marker_at = if digits > 9 { return None } else { digits };
    let rest = &first_line[marker_at..];
    let marker = match rest.chars().next()? {
        marker @ ('-' | '*') if digits == 0 => marker,
        marker @ ('.' | ')') if digits > 0 => marker,
        _ => return None,
    };
    let rest = &rest[1..];
    (rest.is_empty() || rest.starts_with(' ')).then_some(marker)
}

/// Markdown joins a list to the list block right before it when both use the same marker
/// (`- a` then `- [ ] b` become one list): this list's top-level markers switch to the
/// other marker of their kind (`*` for `-`, `)` for `.`) so that it stays a list of its own.
pub(crate) fn separate_from_previous_list(previous_first_line: Option<&str>, lines: &mut [String]) {
    let Some(previous) = previous_first_line.and_then(list_marker) else {
        return;
    };
    let Some(mine) = lines.first().and_then(|line| list_marker(line)) else {
        return;
    };
    if previous != mine {
        return;
    }
    let other = match mine {
        '-' => '*',
        '*' => '-',
        '.' => ')',
        _ => '.',
    };
    for line in lines.iter_mut() {
        // Top-level items start at column 0; their other lines are indented.
        if list_marker(line) == Some(mine) {
            let at = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            line.replace_range(at..at + 1, &other.to_string());
        }
    }
}

/// Whether a block must be set off from the line before it by an empty line: a list numbered
/// from other than 1 cannot interrupt a paragraph, and right after an alert's `> [!NOTE]`
/// line pulldown-cmark reads it as a paragraph's text too (`> [!NOTE]` then `> 2. a`).
/// An empty item (`-` alone) cannot interrupt a paragraph either: it would underline it as a
/// heading.
pub(crate) fn alert_needs_gap(first_body_line: &str) -> bool {
    let marker = list_marker(first_body_line);
    let empty_item = marker.is_some()
        && first_body_line
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len()
            == 1;
    empty_item || (matches!(marker, Some('.' | ')')) && !first_body_line.starts_with('1'))
}

/// Whether `&` at the start of `after_ampersand` would read as an entity (`&gt;`, `&#62;`):
/// then a literal `&` there is written `\&`.
pub(crate) fn entity_follows(after_ampersand: &str) -> bool {
    let name = after_ampersand
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
        .unwrap_or(after_ampersand.len());
    name > 0 && after_ampersand[name..].starts_with(';')
}

/// `!` right before a link's `[` would make it an image: a `!` that ends `out` unescaped is
/// escaped. A `!` after an even run of backslashes (`\\!`) follows a literal backslash and
/// is unescaped too.
pub(crate) fn escape_bang_before_link(out: &mut String) {
    let Some(before_bang) = out.strip_suffix('!') else {
        return;
    };
    let backslashes = before_bang.len() - before_bang.trim_end_matches('\\').len();
    if backslashes % 2 == 0 {
        out.insert(out.len() - 1, '\\');
    }
}
