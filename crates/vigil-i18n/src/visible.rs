//! Text shown to a person as it is: characters that would change how the
//! rest of a line reads (bidirectional overrides and isolates such as
//! U+202E, which display `gpm.exe` as `exe.mpg`) or that a screen does not
//! show (control characters) are written as a visible `\u{..}` escape,
//! in the terminal (the CLI) and on the page (the desk, printed reports)
//! alike.

use std::borrow::Cow;

/// Whether `c` is a bidirectional formatting character: the marks (LRM,
/// RLM, ALM), embeddings and overrides (U+202A–U+202E) and isolates
/// (U+2066–U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every character for which `hide` holds written as `\u{XX}`.
pub fn escape_chars(s: &str, hide: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&hide) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if hide(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line of text as a reader should see it (a log line, a device's
/// name): every control character, line breaks included, and every
/// bidirectional control made visible.
pub fn line(s: &str) -> Cow<'_, str> {
    escape_chars(s, |c| c.is_control() || is_bidi_control(c))
}

/// An HTML page as a reader should see it: bidirectional controls and
/// control characters other than line breaks and tabs made visible (the
/// markup itself never holds them, so only shown text changes).
pub fn html(page: &str) -> Cow<'_, str> {
    escape_chars(page, |c| {
        is_bidi_control(c) || (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_controls_become_visible_and_text_stays() {
        assert_eq!(
            html("<p>张三 x\u{202e}gpm.exe</p>"),
            "<p>张三 x\\u{202e}gpm.exe</p>"
        );
        assert_eq!(html("a\u{2067}b\u{7}c\nd"), "a\\u{2067}b\\u{7}c\nd");
        assert!(matches!(html("<p>plain 文本</p>"), Cow::Borrowed(_)));
    }
}
