//! From the name written in `exten => NAME,...` to a stored [`Extension`]
//! (spec §2).

use std::cmp::Ordering;

use super::error::PatternError;
use super::order::{Token, cmp_literals, cmp_token_sequences, pattern_tokens};

/// A parsed extension name, as Asterisk stores it in a context.
///
/// Caller-ID patterns (`NAME/CIDPATTERN`, spec §9.1) are **not supported**:
/// a name containing `/` is rejected with a [`PatternError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    name: String,
    key: OrderKey,
}

/// What the ordering of §4 looks at; equal keys are the same extension.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum OrderKey {
    /// A literal's bytes without dashes.
    Literal(Vec<u8>),
    /// A pattern's tokens (after the `_`).
    Pattern(Vec<Token>),
}

impl Extension {
    /// Parses a name as `pbx_config` would store it: surrounding blanks
    /// trimmed, spaces removed (except inside `[...]` of a pattern), dashes
    /// kept.
    ///
    /// Rejected, because `extensions.conf` cannot produce them: an empty name,
    /// a `[` never closed, a `,` outside `[...]`, a NUL byte, and `/`
    /// (caller-ID patterns are not supported).
    pub fn parse(written: &str) -> Result<Extension, PatternError> {
        let start = written.len() - written.trim_start_matches(is_blank).len();
        let trimmed = written.trim_matches(is_blank);
        if trimmed.is_empty() {
            return Err(PatternError::new(start, "empty extension name"));
        }
        check_splittable(trimmed.as_bytes(), start)?;
        let is_pattern = trimmed.starts_with('_');
        let name = remove_spaces(trimmed, is_pattern);
        let key = if is_pattern {
            // Cannot fail: check_splittable has seen every `[` closed.
            OrderKey::Pattern(
                pattern_tokens(&name.as_bytes()[1..])
                    .map_err(|at| PatternError::new(start + at + 1, "`[` without a closing `]`"))?,
            )
        } else {
            OrderKey::Literal(name.bytes().filter(|&byte| byte != b'-').collect())
        };
        Ok(Extension { name, key })
    }

    /// The stored form (blanks removed, dashes kept), as `dialplan show` prints it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True for a name starting with `_`.
    pub fn is_pattern(&self) -> bool {
        matches!(self.key, OrderKey::Pattern(_))
    }

    pub(crate) fn order_key(&self) -> &OrderKey {
        &self.key
    }
}

/// Asterisk's sort order (spec §4). `Equal` means "the same extension": the
/// later one is dropped when both are added to a context.
pub fn compare(a: &Extension, b: &Extension) -> Ordering {
    cmp_keys(&a.key, &b.key)
}

pub(crate) fn cmp_keys(a: &OrderKey, b: &OrderKey) -> Ordering {
    match (a, b) {
        (OrderKey::Literal(left), OrderKey::Literal(right)) => cmp_literals(left, right),
        (OrderKey::Literal(_), OrderKey::Pattern(_)) => Ordering::Less,
        (OrderKey::Pattern(_), OrderKey::Literal(_)) => Ordering::Greater,
        (OrderKey::Pattern(left), OrderKey::Pattern(right)) => cmp_token_sequences(left, right),
    }
}

/// Blanks trimmed by the configuration parser around a value.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Refuses names that the `exten =>` line splitter would have cut or merged
/// differently (spec §2.1). `offset` maps positions back to the caller's string.
fn check_splittable(name: &[u8], offset: usize) -> Result<(), PatternError> {
    let mut open_bracket = None;
    for (at, &byte) in name.iter().enumerate() {
        let position = offset + at;
        match byte {
            0 => return Err(PatternError::new(position, "NUL byte in extension name")),
            b'/' => {
                return Err(PatternError::new(
                    position,
                    "caller-ID patterns (NAME/CIDPATTERN) are not supported",
                ));
            }
            b'[' if open_bracket.is_none() => open_bracket = Some(position),
            b']' => open_bracket = None,
            b',' if open_bracket.is_none() => {
                return Err(PatternError::new(position, "`,` ends an extension name"));
            }
            _ => {}
        }
    }
    match open_bracket {
        Some(position) => Err(PatternError::new(position, "`[` without a closing `]`")),
        None => Ok(()),
    }
}

/// `ext_strncpy`: spaces go, except inside `[...]` of a pattern.
fn remove_spaces(name: &str, is_pattern: bool) -> String {
    let mut inside_set = false;
    name.chars()
        .filter(|&c| {
            match c {
                '[' if is_pattern => inside_set = true,
                ']' => inside_set = false,
                ' ' => return inside_set,
                _ => {}
            }
            true
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_stored(written: &str, stored: &str, is_pattern: bool) {
        let extension = Extension::parse(written).expect("valid name");
        assert_eq!(extension.name(), stored);
        assert_eq!(extension.is_pattern(), is_pattern);
    }

    fn check_rejected(written: &str, position: usize) {
        let error = Extension::parse(written).expect_err("invalid name");
        assert_eq!(error.position, position, "{written}: {error}");
    }

    #[test]
    fn stored_forms() {
        check_stored("9 9 9", "999", false);
        check_stored(" _[1 2]X ", "_[1 2]X", true);
        check_stored("_N X X", "_NXX", true);
        check_stored("555-1212", "555-1212", false);
        check_stored("X.", "X.", false);
        check_stored("1_2", "1_2", false);
        check_stored("_X_X", "_X_X", true);
        check_stored("1[2 3]", "1[23]", false);
        check_stored("_[,]", "_[,]", true);
    }

    #[test]
    fn garbage_is_rejected_with_its_position() {
        check_rejected("_12[34", 3);
        check_rejected("  _[1", 3);
        check_rejected("306/_101", 3);
        check_rejected("12,3", 2);
        check_rejected("   ", 3);
        check_rejected("1\u{0}", 1);
    }

    #[test]
    fn error_display_names_the_position() {
        let error = Extension::parse("_1[").expect_err("unclosed");
        assert_eq!(error.to_string(), "`[` without a closing `]` (at byte 2)");
    }
}
