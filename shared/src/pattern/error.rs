//! The one error of this module: an extension name (or ignore pattern) that
//! `extensions.conf` could not have produced.

/// A malformed extension name or ignore pattern.
///
/// `position` is the byte offset, in the string given to the parser, of the
/// character that makes the name unusable (e.g. the `[` that is never closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {position})")]
pub struct PatternError {
    pub position: usize,
    pub message: String,
}

impl PatternError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
        }
    }
}
