//! Character-level rules shared by the object validators. Each returns the
//! problem as a sentence, or `None` when the value is fine.

/// Longest option value Wazo accepts.
pub const MAX_OPTION_VALUE: usize = 4092;

/// Longest option value, in UTF-8 bytes, that reaches Asterisk intact. Each
/// value travels as one `Value-NNNNNN: <value>` header of `UpdateConfig`,
/// and Asterisk's manager discards a whole message with a line longer than
/// its 1024-byte input buffer (main/manager.c, `get_input`: "Line too
/// long"); the header name, CR LF and a doubled leading `>` (see
/// backend/src/ami/config_writer.rs) leave a little over 1000.
pub const MAX_OPTION_VALUE_BYTES: usize = 1000;

/// `^[-_.a-zA-Z0-9]{1,max}$`: PJSIP section names (endpoints, templates,
/// transports). Section names are also dial targets.
pub fn section_name(value: &str, max: usize) -> Option<String> {
    charset(value, 1, max, |c| c.is_ascii_alphanumeric() || "-_.".contains(c), "letters, digits, `-`, `_`, `.`")
}

/// `^[a-zA-Z0-9_-]{1,max}$`: context names, IAX peer names.
pub fn context_like_name(value: &str, max: usize) -> Option<String> {
    charset(value, 1, max, |c| c.is_ascii_alphanumeric() || "-_".contains(c), "letters, digits, `-`, `_`")
}

/// Free text that is only ever written as a config *comment* (labels,
/// descriptions): any printable character, no control characters (a newline
/// would end the comment and start a config line), and no `${` / `$[` so
/// that no stored text anywhere looks like an Asterisk expression.
pub fn free_text(value: &str, min: usize, max: usize) -> Option<String> {
    length(value, min, max)
        .or_else(|| {
            value
                .chars()
                .find(|c| c.is_control())
                .map(|c| format!("control characters such as {c:?} are not allowed"))
        })
        .or_else(|| no_expression(value))
}

/// Refuses `${` and `$[`.
fn no_expression(value: &str) -> Option<String> {
    (value.contains("${") || value.contains("$["))
        .then(|| "`${` and `$[` are not allowed: Asterisk could evaluate them".to_owned())
}

/// Digits for prefixes: optional leading `+`, then `0-9 * #`.
pub fn dial_digits(value: &str, max: usize) -> Option<String> {
    let rest = value.strip_prefix('+').unwrap_or(value);
    length(value, 0, max).or_else(|| {
        rest.chars()
            .find(|c| !(c.is_ascii_digit() || *c == '*' || *c == '#'))
            .map(|c| format!("{c:?} is not allowed: use `0-9`, `*`, `#` and an optional leading `+`"))
    })
}

/// A PJSIP / iax.conf option value.
///
/// Rules and why: 1..4092 characters; no control characters (a newline would
/// start a new config line or section); no `${` or `$[` (they must never
/// reach anything Asterisk could evaluate); no blanks at either end (the
/// config parser trims them, so the stored value would silently differ);
/// at most [`MAX_OPTION_VALUE_BYTES`] bytes (AMI's line limit).
/// `;` is allowed and escaped as `\;` by `render::escape`.
pub fn option_value(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("the value may not be empty".into());
    }
    length(value, 1, MAX_OPTION_VALUE)
        .or_else(|| {
            (value.len() > MAX_OPTION_VALUE_BYTES).then(|| {
                format!("must be at most {MAX_OPTION_VALUE_BYTES} bytes (got {}): Asterisk's manager reads at most 1024 bytes per line", value.len())
            })
        })
        .or_else(|| {
            value.chars().find(|c| c.is_control()).map(|c| {
                format!("control characters such as {c:?} are not allowed in a value")
            })
        })
        .or_else(|| no_expression(value))
        .or_else(|| {
            (value.starts_with(' ') || value.ends_with(' '))
                .then(|| "leading or trailing blanks are not allowed".to_owned())
        })
}

/// A uuid-like identifier (`[a-zA-Z0-9-]`, at most 36).
pub fn uuid(value: &str) -> Option<String> {
    charset(value, 1, 36, |c| c.is_ascii_alphanumeric() || c == '-', "letters, digits and `-`")
}

/// Length in characters between `min` and `max`.
pub fn length(value: &str, min: usize, max: usize) -> Option<String> {
    let n = value.chars().count();
    if n < min {
        Some(if min == 1 { "may not be empty".into() } else { format!("must be at least {min} characters") })
    } else if n > max {
        Some(format!("must be at most {max} characters (got {n})"))
    } else {
        None
    }
}

/// Every character satisfies `allowed`, length within bounds.
pub fn charset(
    value: &str,
    min: usize,
    max: usize,
    allowed: impl Fn(char) -> bool,
    described: &str,
) -> Option<String> {
    length(value, min, max).or_else(|| {
        value
            .chars()
            .find(|&c| !allowed(c))
            .map(|c| format!("{c:?} is not allowed: use only {described}"))
    })
}
