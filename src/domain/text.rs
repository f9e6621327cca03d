//! The one rule for text that comes from outside and reaches the store:
//! names, references, titles, reasons, labels, search queries, free-text form
//! values. PostgreSQL cannot store NUL in `text` or `jsonb`, and other
//! control characters have no business in a name, so they are refused here
//! with a field-named error rather than failing in the database. Nothing is
//! normalised: odd but valid Unicode (combining marks, RTL, emoji, full-width
//! forms) passes through byte for byte.

use super::DomainError;

/// Whether a field may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: no control character at all.
    Single,
    /// Free text: line feed, carriage return and tab allowed, no other
    /// control character.
    Multi,
}

/// Text that passed [`Text::check`]; holds the input unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    /// Validates one line of text of at most `max_chars` characters (empty
    /// allowed: callers that need content say so with [`Text::required`]).
    pub fn parse(field: &str, s: &str, max_chars: usize) -> Result<Text, DomainError> {
        Text::check(field, s, max_chars, Lines::Single)?;
        Ok(Text(s.to_string()))
    }

    /// Checks `s` against the rule without copying it.
    pub fn check(field: &str, s: &str, max_chars: usize, lines: Lines) -> Result<(), DomainError> {
        // Characters, not bytes: a CJK name is as long as it reads.
        if s.chars().nth(max_chars).is_some() {
            return Err(DomainError::invalid(field, format!("must be at most {max_chars} characters")));
        }
        if let Some(c) = s.chars().find(|&c| refused(c, lines)) {
            let what = if c == '\0' {
                "a NUL character".to_string()
            } else {
                format!("the control character U+{:04X}", c as u32)
            };
            return Err(DomainError::invalid(field, format!("must not contain {what}")));
        }
        Ok(())
    }

    /// [`Text::check`], and not blank.
    pub fn required(field: &str, s: &str, max_chars: usize, lines: Lines) -> Result<(), DomainError> {
        if s.trim().is_empty() {
            return Err(DomainError::invalid(field, "must not be empty"));
        }
        Text::check(field, s, max_chars, lines)
    }

    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as given, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Whether `s` has the form of a key id (a bidder's: 16 lowercase hex
/// digits, see `seal::keys::key_id`). Anything else cannot name a bidder, so
/// a lookup of it is a plain "not found" without asking the store.
pub fn is_key_id(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// True for a character the rule refuses: C0 and C1 controls and DEL, except
/// line breaks and tab in free text.
fn refused(c: char, lines: Lines) -> bool {
    c.is_control() && !(lines == Lines::Multi && matches!(c, '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_controls_are_refused_with_the_field() {
        for bad in ["a\0b", "\u{7}", "x\u{1b}[31m", "\u{7f}", "\u{85}"] {
            let e = Text::parse("name", bad, 100).unwrap_err();
            assert!(e.to_string().starts_with("name: "), "{e}");
        }
        assert!(Text::parse("name", "two\nlines", 100).is_err());
        assert!(Text::check("description", "two\r\nlines\tand a tab", 100, Lines::Multi).is_ok());
        assert!(Text::check("description", "nul\0", 100, Lines::Multi).is_err());
    }

    #[test]
    fn key_ids_are_sixteen_lowercase_hex_digits() {
        assert!(is_key_id("0123456789abcdef"));
        for bad in ["", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "0123456789abcde\0"] {
            assert!(!is_key_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert!(Text::parse("q", &"字".repeat(200), 200).is_ok());
        assert!(Text::parse("q", &"字".repeat(201), 200).is_err());
        assert!(Text::parse("q", "", 0).is_ok());
        assert!(Text::required("q", "  ", 10, Lines::Single).is_err());
    }

    #[test]
    fn odd_valid_unicode_is_kept_unchanged() {
        for s in ["e\u{301}", "\u{5e9}\u{5dc}\u{5d5}\u{5dd} abc", "🏗️👷🏽‍♀️", "ＡＢＣ１２３", "\u{200d}\u{feff}"]
        {
            assert_eq!(Text::parse("name", s, 100).unwrap().as_str(), s);
        }
    }
}
