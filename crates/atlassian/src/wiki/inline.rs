//! Wiki markup -> Markdown within a block: styles, links, mentions, images, emoticons, and
//! the escaping that keeps literal text literal in Markdown.
//!
//! Not here: blocks (see [`super::read`]), Markdown -> wiki markup (see [`super::write`]).

use super::{EMOTICONS, longest_run, starts_with_at, starts_with_url, url_len};

/// Characters a backslash escapes inside `{{monospace}}`: exactly those [`super::from_markdown`]
/// escapes there, so a regular expression's `\d` or `\.` survives.
pub(super) const MONOSPACE_ESCAPABLE: &str = "*_-+^~{}[]|!";

pub(super) fn inline_markdown(wiki: &str, in_table: bool) -> String {
    let mut markdown = String::new();
    inline_into(wiki, in_table, &mut markdown);
    trim_breaks(&markdown).to_string()
}

pub(super) fn inline_into(wiki: &str, in_table: bool, out: &mut String) {
    let chars: Vec<char> = wiki.chars().collect();
    let writer = InlineWriter {
        in_table,
        in_link_text: false,
        word_before: false,
        text_start: out.len(),
    };
    writer.write(&chars, out);
}

/// A piece of wiki text that is more than its characters.
enum Span<'a> {
    LineBreak,
    Monospace(String),
    Styled {
        marker: char,
        inner: &'a [char],
        /// What follows the closing marker.
        after: Option<char>,
    },
    Link {
        text: &'a [char],
        destination: String,
    },
    AutoLink(String),
    Mention(String),
    Image(String),
    Emoticon(&'static str),
    /// `{color:red}` and `{color}`: Markdown has no colour, the text stays.
    Dropped,
}

#[derive(Clone, Copy)]
struct InlineWriter {
    /// Table cells escape `|` and cannot hold a line break.
    in_table: bool,
    /// Markdown links don't nest: a URL in a link's text stays text.
    in_link_text: bool,
    /// The text starts right after a letter or digit (a style without Markdown markers
    /// follows a word): markup that must not follow a word is text there.
    word_before: bool,
    /// Where the block's text starts in `out`: what the caller wrote before it (a task
    /// marker and its space) is no blank of the text.
    text_start: usize,
}

impl InlineWriter {
    fn write(&self, chars: &[char], out: &mut String) {
        let mut plain = String::new();
        let mut at = 0;
        // Right after a span, what comes next follows the span's Markdown, not its wiki
        // markup: after a bare URL as after a link (`https://x:)` ends in `:)`), after an
        // underline as after its last letter (`+a+!x.png!` is `a!x.png!` in Markdown, where the
        // image would follow a word).
        let mut span_end = None;
        // A dropped colour leaves the text around it touching: `a{color}!x.png!` is `a!x.png!`
        // in Markdown, where the image would follow a word.
        let mut dropped: Option<(usize, bool)> = None;
        while at < chars.len() {
            // `\*` is a literal `*`; it stays in the text so line starts are escaped as a whole.
            let escaped = chars
                .get(at + 1)
                .filter(|next| chars[at] == '\\' && next.is_ascii_punctuation() && **next != '\\');
            if let Some(&escaped) = escaped {
                plain.push(escaped);
                at += 2;
                continue;
            }
            let after_word = match dropped {
                Some((end, word_before)) if end == at => word_before,
                _ if at == 0 => self.word_before,
                _ if span_end == Some(at) => out.ends_with(char::is_alphanumeric),
                _ => chars[at - 1].is_alphanumeric(),
            };
            match span_at(chars, at, after_word, self.in_link_text) {
                // A dropped colour joins the text around it: escaping sees both sides.
                Some((Span::Dropped, next)) => {
                    dropped = Some((next, after_word));
                    span_end = None;
                    at = next;
                }
                Some((span, next)) => {
                    span_end = Some(next);
                    dropped = None;
                    push_markdown_text(out, &plain, self.in_table);
                    plain.clear();
                    self.write_span(span, out);
                    at = next;
                }
                None => {
                    plain.push(chars[at]);
                    at += 1;
                }
            }
        }
        push_markdown_text(out, &plain, self.in_table);
    }

    fn write_span(&self, span: Span, out: &mut String) {
        match span {
            Span::LineBreak if self.in_table => out.push_str("<br>"),
            Span::LineBreak => {
                // Blanks before a break are not text Jira shows, and the writer drops them:
                // kept, they would come back only on the first trip.
                let blanks_start = out.trim_end_matches([' ', '\t']).len();
                out.truncate(blanks_start.max(self.text_start));
                out.push_str("\\\n");
            }
            Span::Monospace(code) => out.push_str(&self.code_span(&code)),
            Span::Styled {
                marker,
                inner,
                after,
            } => {
                let delimiter = match marker {
                    '*' => "**",
                    '_' => "*",
                    '-' => "~~",
                    _ => "",
                };
                // Right after a style that closed with the same delimiter the two would meet
                // (`**a****b**`) and read as other markup: this one's markers stay text.
                if !delimiter.is_empty() && out.ends_with(delimiter) && !out.ends_with("\\*") {
                    let marker = marker.to_string();
                    push_markdown_text(out, &marker, self.in_table);
                    self.write(inner, out);
                    push_markdown_text(out, &marker, self.in_table);
                    return;
                }
                let start = out.len();
                out.push_str(delimiter);
                let inner_start = out.len();
                // A style's text ends at the first closing marker, so a style never nests in
                // itself: this recursion is at most one level per marker character deep.
                // Underline, super- and subscript have no markers: their text touches what is before.
                let word_before = delimiter.is_empty() && out.ends_with(char::is_alphanumeric);
                InlineWriter {
                    word_before,
                    ..*self
                }
                .write(inner, out);
                // Markdown emphasis needs text that neither starts nor ends with a space; a
                // dropped colour can leave that, or nothing, inside the wiki markers.
                let text = &out[inner_start..];
                // Nor can a marker sit between punctuation inside it and a letter or symbol
                // outside it (`x**:)**`): it would be no emphasis, but literal markers. And a
                // letter right after the closing marker (`*a*{color}b`) is one that wiki
                // markup would not close before.
                let punctuation = |c: char| !c.is_alphanumeric() && !c.is_whitespace();
                let may_touch = |outside: Option<char>| {
                    outside.is_none_or(|c| c.is_whitespace() || c.is_ascii_punctuation())
                };
                let before = out[..start].chars().next_back();
                if text.is_empty()
                    || text.starts_with(char::is_whitespace)
                    || text.ends_with(char::is_whitespace)
                    || (text.starts_with(punctuation) && !may_touch(before))
                    || (text.ends_with(punctuation) && !may_touch(after))
                    || after.is_some_and(char::is_alphanumeric)
                {
                    out.replace_range(start..inner_start, "");
                    // The text now follows what was before the opening marker.
                    unescape_underscore_in_word(out, start);
                } else {
                    out.push_str(delimiter);
                }
            }
            Span::Link { text, destination } => {
                crate::markdown::escape_bang_before_link(out);
                out.push('[');
                let text_writer = InlineWriter {
                    in_link_text: true,
                    ..*self
                };
                text_writer.write(text, out);
                out.push_str("](");
                out.push_str(&link_destination(&destination));
                out.push(')');
            }
            Span::AutoLink(url) => {
                if is_autolink(&url) {
                    out.push_str(&format!("<{url}>"));
                } else {
                    crate::markdown::escape_bang_before_link(out);
                    out.push('[');
                    push_markdown_text(out, &url, self.in_table);
                    out.push_str(&format!("]({})", link_destination(&url)));
                }
            }
            Span::Mention(user) => {
                crate::markdown::escape_bang_before_link(out);
                out.push_str("[@");
                push_markdown_text(out, &user, self.in_table);
                out.push_str(&format!(
                    "]({})",
                    link_destination(&format!("mention:{user}"))
                ));
            }
            Span::Image(name) => {
                out.push_str(&format!("![]({})", link_destination(&name)));
            }
            Span::Emoticon(name) => out.push_str(&format!(":{name}:")),
            Span::Dropped => {}
        }
    }

    fn code_span(&self, code: &str) -> String {
        let code = if self.in_table {
            code.replace('|', "\\|")
        } else {
            code.to_string()
        };
        let ticks = "`".repeat(longest_run(&code, '`') + 1);
        // Markdown strips one space from both ends, and needs one next to a backtick.
        let pad = code.starts_with('`')
            || code.ends_with('`')
            || (code.starts_with(' ') && code.ends_with(' ') && !code.trim().is_empty());
        let pad = if pad { " " } else { "" };
        format!("{ticks}{pad}{code}{pad}{ticks}")
    }
}

/// The span starting at `chars[at]`, if any, and the index after it.
fn span_at(
    chars: &[char],
    at: usize,
    after_word: bool,
    in_link_text: bool,
) -> Option<(Span<'_>, usize)> {
    match chars[at] {
        '\\' if chars.get(at + 1) == Some(&'\\') => Some((Span::LineBreak, at + 2)),
        '{' => monospace_at(chars, at).or_else(|| color_at(chars, at)),
        '[' => link_at(chars, at),
        '!' if !after_word => image_at(chars, at),
        '*' | '_' | '-' | '+' if !after_word => styled_at(chars, at),
        // Superscript and subscript sit inside words: `x^2^`, `H~2~O`.
        '^' | '~' => styled_at(chars, at),
        ':' | '(' if !after_word => emoticon_at(chars, at),
        'h' if !after_word && !in_link_text && starts_with_url(&chars[at..]) => {
            Some(bare_url_at(chars, at))
        }
        _ => None,
    }
}

fn monospace_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    if chars.get(at + 1) != Some(&'{') {
        return None;
    }
    let start = at + 2;
    let close = (start + 1..chars.len())
        .find(|&i| chars[i] == '}' && chars.get(i + 1) == Some(&'}') && chars[i - 1] != '\\')?;
    let mut code = String::new();
    let mut i = start;
    while i < close {
        match chars.get(i + 1) {
            Some(&next) if chars[i] == '\\' && MONOSPACE_ESCAPABLE.contains(next) => {
                code.push(next);
                i += 2;
            }
            _ => {
                code.push(chars[i]);
                i += 1;
            }
        }
    }
    Some((Span::Monospace(code), close + 2))
}

fn color_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    let is_color = starts_with_at(chars, at, "{color}") || starts_with_at(chars, at, "{color:");
    if !is_color {
        return None;
    }
    let close = (at..chars.len()).find(|&i| chars[i] == '}')?;
    Some((Span::Dropped, close + 1))
}

fn link_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    let close = (at + 1..chars.len()).find(|&i| chars[i] == ']' && chars[i - 1] != '\\')?;
    let inside = &chars[at + 1..close];
    let next = close + 1;
    // `[a [b|c]`: the first bracket is text, the link starts at the second.
    if inside.contains(&'[') {
        return None;
    }
    if let Some(user) = inside.strip_prefix(&['~']) {
        let user: String = user.iter().collect();
        let is_user = !user.is_empty() && !user.contains(char::is_whitespace);
        return is_user.then_some((Span::Mention(user), next));
    }
    let pipe = (0..inside.len()).find(|&i| inside[i] == '|' && (i == 0 || inside[i - 1] != '\\'));
    let Some(pipe) = pipe else {
        // `[PROJ-1]` or `[Page title]` is no URL: keep the brackets as text.
        let destination: String = inside.iter().collect::<String>().trim().to_string();
        // A scheme first: `[\\|https://x]` is an escaped pipe before a URL, no link.
        let is_url = is_autolink(&destination)
            && (destination.contains("://") || destination.starts_with("mailto:"));
        return is_url.then_some((Span::AutoLink(destination), next));
    };
    let text = &inside[..pipe];
    // `[text|url|tooltip]`: the tooltip has no Markdown form.
    let destination = unescape_wiki(
        &inside[pipe + 1..]
            .iter()
            .take_while(|&&c| c != '|')
            .collect::<String>(),
    );
    if destination.is_empty() {
        return None;
    }
    if text.iter().all(|c| c.is_whitespace()) {
        return Some((Span::AutoLink(destination), next));
    }
    Some((Span::Link { text, destination }, next))
}

fn unescape_wiki(text: &str) -> String {
    let mut unescaped = String::new();
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(&next) if c == '\\' && next.is_ascii_punctuation() => {
                unescaped.push(next);
                chars.next();
            }
            _ => unescaped.push(c),
        }
    }
    unescaped
}

fn image_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    let first = *chars.get(at + 1)?;
    if first.is_whitespace() || first == '!' {
        return None;
    }
    let close = (at + 2..chars.len()).find(|&i| chars[i] == '!')?;
    let inside: String = chars[at + 1..close].iter().collect();
    // `!name.png|thumbnail!`: the display options have no Markdown form.
    let name = inside.split('|').next().unwrap_or_default();
    let extension = name.rsplit_once('.').map(|(_, extension)| extension);
    let has_extension = extension.is_some_and(|extension| {
        (1..=5).contains(&extension.len()) && extension.chars().all(char::is_alphanumeric)
    });
    // Exclamations in prose ("Works! Ship it!") are no image: spaces need a file extension.
    let is_image = !name.is_empty()
        && !name.ends_with(char::is_whitespace)
        && !name.contains(['\\', '[', ']', '{', '}'])
        && (has_extension || !name.contains(char::is_whitespace));
    is_image.then(|| (Span::Image(name.to_string()), close + 1))
}

/// `*bold*` and friends: the marker follows no letter (checked by the caller), the text
/// neither starts nor ends with a space, and the closing marker precedes no letter (except
/// for super- and subscript).
fn styled_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    let marker = chars[at];
    let first = *chars.get(at + 1)?;
    if first.is_whitespace() || first == marker {
        return None;
    }
    let closes_at = |i: usize| {
        let before = chars[i - 1];
        chars[i] == marker
            && !before.is_whitespace()
            && before != marker
            && before != '\\'
            && (matches!(marker, '^' | '~')
                || chars
                    .get(i + 1)
                    .is_none_or(|after| !after.is_alphanumeric()))
    };
    // A link is one span of the text: a marker inside it (`*[https://x.y/a*]*`, where a URL
    // cannot escape it) is the link's, not the style's end.
    let mut i = at + 1;
    let close = loop {
        if i >= chars.len() {
            return None;
        }
        if chars[i] == '['
            && chars[i - 1] != '\\'
            && let Some((_, next)) = link_at(chars, i)
        {
            i = next;
            continue;
        }
        if i >= at + 2 && closes_at(i) {
            break i;
        }
        i += 1;
    };
    let inner = &chars[at + 1..close];
    // A dropped colour is no text: what shows after the style is what follows it.
    let mut after = close + 1;
    while let Some((Span::Dropped, next)) = color_at(chars, after) {
        after = next;
    }
    let after = chars.get(after).copied();
    Some((
        Span::Styled {
            marker,
            inner,
            after,
        },
        close + 1,
    ))
}

fn emoticon_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    EMOTICONS.iter().find_map(|&(wiki, name)| {
        let end = at + wiki.len();
        // `:D` must not start a word such as `:Done`.
        let matches = starts_with_at(chars, at, wiki)
            && !(wiki == ":D" && chars.get(end).is_some_and(|c| c.is_alphanumeric()));
        matches.then_some((Span::Emoticon(name), end))
    })
}

/// A URL in the text, which Jira links by itself; trailing punctuation stays text.
fn bare_url_at(chars: &[char], at: usize) -> (Span<'_>, usize) {
    let end = at + url_len(&chars[at..]);
    (Span::AutoLink(chars[at..end].iter().collect()), end)
}

/// Whether Markdown reads `<url>` as a link: a scheme, then no space or angle bracket.
fn is_autolink(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    let valid_scheme = (2..=32).contains(&scheme.len())
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    valid_scheme
        && !url
            .contains(|c: char| c.is_whitespace() || c.is_ascii_control() || c == '<' || c == '>')
}

/// A link destination, in angle brackets when Markdown would otherwise end it early.
fn link_destination(destination: &str) -> String {
    let needs_brackets = destination
        .chars()
        .any(|c| c.is_whitespace() || c.is_ascii_control() || matches!(c, '(' | ')' | '<' | '>'));
    // Markdown decodes entities in destinations; `\&` keeps `&amp;` as written. Each `&` is
    // looked at, not only the first (`&&amp;`).
    let mut escaped = String::with_capacity(destination.len());
    for (at, c) in destination.char_indices() {
        if c == '&' && crate::markdown::entity_follows(&destination[at + 1..]) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    let destination = escaped;
    if needs_brackets {
        format!("<{}>", destination.replace('<', "\\<").replace('>', "\\>"))
    } else {
        destination
    }
}

/// Text as Markdown that shows exactly that text.
fn push_markdown_text(out: &mut String, text: &str, in_table: bool) {
    let chars: Vec<char> = text.chars().collect();
    let start = out.len();
    let mut ordered_marker_at = None;
    for (at, &c) in chars.iter().enumerate() {
        // Cells hold no blocks, so only other text escapes what would open one.
        let line_start = !in_table && (out.is_empty() || out.ends_with('\n'));
        if line_start {
            if c.is_whitespace() {
                continue;
            }
            // What would open a block at a line start: `#`, `>`, `-`, `+`, `=`, `1.`.
            if "#>-+=".contains(c) {
                out.push('\\');
            } else if c.is_ascii_digit() {
                let digits = chars[at..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                let closes_number = matches!(chars.get(at + digits), Some('.' | ')'));
                let item_follows = chars
                    .get(at + digits + 1)
                    .is_none_or(|after| after.is_whitespace());
                if closes_number && item_follows {
                    ordered_marker_at = Some(at + digits);
                }
            }
        }
        let before = out.chars().next_back();
        let after = chars.get(at + 1);
        let escape = match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '~' => true,
            // An underscore inside a word (`snake_case`) is no emphasis.
            '_' => {
                before.is_none_or(|b| !b.is_alphanumeric())
                    || after.is_none_or(|a| !a.is_alphanumeric())
            }
            '|' => in_table,
            '&' => entity_follows(&chars[at + 1..]),
            _ => ordered_marker_at == Some(at),
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    unescape_underscore_in_word(out, start);
    escape_ampersand_before_entity(out, start);
}

/// Text cannot see past its end, so it escapes an underscore there (as before a space); what
/// follows is only known once written, and may be text outside the span the underscore ends
/// (`a~_~A`, `*a_*{color}b`) or the text of a span after it (`a_+b+`). When that is a letter
/// or digit (the text from `at` on, now written), the underscore is inside a word, where it
/// is no emphasis and the wiki writer does not escape it either. An escaped underscore right
/// after a letter or digit is always such a guess: the other escapes of `_` are before
/// something that is no letter or digit, which then follows it in `out`.
fn unescape_underscore_in_word(out: &mut String, at: usize) {
    let (text, next) = out.split_at(at);
    let in_word = next.starts_with(char::is_alphanumeric)
        && text
            .strip_suffix("\\_")
            .is_some_and(|before| before.ends_with(char::is_alphanumeric));
    if in_word {
        out.remove(at - 2);
    }
}

/// Text cannot see past its end either for an `&` ending it, which it leaves unescaped; the
/// text from `start` on (an underline's: `&+amp;+`) can make that `&` open an entity, which
/// Markdown would decode. Once that text is written, the `&` is escaped.
fn escape_ampersand_before_entity(out: &mut String, start: usize) {
    let Some(ampersand) = out[..start].rfind('&') else {
        return;
    };
    let name_so_far = &out[ampersand + 1..start];
    let backslashes = out[..ampersand].len() - out[..ampersand].trim_end_matches('\\').len();
    let opens_entity = name_so_far
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '#')
        && crate::markdown::entity_follows(&out[ampersand + 1..]);
    if backslashes.is_multiple_of(2) && opens_entity {
        out.insert(ampersand, '\\');
    }
}

fn entity_follows(chars: &[char]) -> bool {
    let name_len = chars
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '#')
        .count();
    name_len > 0 && chars.get(name_len) == Some(&';')
}

/// A paragraph's or cell's Markdown without line breaks at its ends, which Markdown would
/// show as a literal backslash.
pub(super) fn trim_breaks(markdown: &str) -> &str {
    let blank = |c: char| c == ' ' || c == '\t';
    let mut trimmed = markdown.trim_matches(blank);
    loop {
        let before = trimmed;
        for lone_break in ["\\\n", "<br>"] {
            trimmed = trimmed.strip_prefix(lone_break).unwrap_or(trimmed);
            trimmed = trimmed.strip_suffix(lone_break).unwrap_or(trimmed);
            trimmed = trimmed.trim_matches(blank);
        }
        if trimmed == before {
            return trimmed;
        }
    }
}
