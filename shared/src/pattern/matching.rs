//! Matching one extension against one dialled string (spec §3): the classic
//! matcher of `main/pbx.c` (`_extension_match_core`), byte for byte.
//!
//! [`walk`] is the reference: it reads the stored name exactly as Asterisk
//! does on every lookup. [`steps`] pre-digests a name into the same semantics
//! for the index (`index.rs`), which is property-tested against [`walk`].

use serde::{Deserialize, Serialize};

use super::byteset::ByteSet;
use super::order::{Token, pattern_tokens, set_items};
use super::parse::{Extension, OrderKey};

/// The three lookup modes (all for priority 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mode {
    /// `ast_exists_extension`: the dialled string matches completely.
    Match,
    /// `ast_canmatch_extension`: matches now or could with more characters.
    CanMatch,
    /// `ast_matchmore_extension`: could match with more characters.
    MatchMore,
}

/// The answer of one extension for one dialled string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MatchResult {
    No,
    Yes,
    /// Matched by reaching a `!`; in matchmore mode this vetoes the context.
    YesBang,
}

impl MatchResult {
    pub fn is_match(self) -> bool {
        self != MatchResult::No
    }
}

/// Matches one extension against a dialled string (spec §3, including the
/// §3.4 quirk: in match mode a dialled `_...` equal to the pattern matches).
pub fn match_one(extension: &Extension, dialed: &str, mode: Mode) -> MatchResult {
    let data = up_to_nul(dialed.as_bytes());
    if let OrderKey::Pattern(tokens) = extension.order_key()
        && dialled_is_same_pattern(data, mode, tokens)
    {
        return MatchResult::Yes;
    }
    walk(extension.name().as_bytes(), data, mode)
}

/// [`match_one`] for a name that was never parsed (ignore patterns keep their
/// blanks, and Asterisk reads them with the very same matcher).
pub(crate) fn match_raw(name: &[u8], dialed: &[u8], mode: Mode) -> MatchResult {
    let (name, data) = (up_to_nul(name), up_to_nul(dialed));
    if let Some(body) = name.strip_prefix(b"_")
        && let Ok(tokens) = pattern_tokens(body)
        && dialled_is_same_pattern(data, mode, &tokens)
    {
        return MatchResult::Yes;
    }
    walk(name, data, mode)
}

/// Asterisk works on C strings: a NUL ends them.
pub(crate) fn up_to_nul(bytes: &[u8]) -> &[u8] {
    bytes.split(|&byte| byte == 0).next().unwrap_or_default()
}

/// §3.4: in match mode, a dialled string starting with `_` is first compared
/// with the pattern *as a pattern*, using the ordering of §4.
pub(crate) fn dialled_is_same_pattern(data: &[u8], mode: Mode, pattern: &[Token]) -> bool {
    mode == Mode::Match
        && data.first() == Some(&b'_')
        && pattern_tokens(&data[1..]).is_ok_and(|dialled| dialled == pattern)
}

/// `_extension_match_core` without the §3.4 quirk: the walk of §3.3.
pub(crate) fn walk(name: &[u8], data: &[u8], mode: Mode) -> MatchResult {
    let Some(pattern) = name.strip_prefix(b"_") else {
        return match_literal(name, data, mode);
    };
    let (mut p, mut d) = (0, 0);
    loop {
        while data.get(d) == Some(&b'-') {
            d += 1;
        }
        while pattern.get(p) == Some(&b'-') {
            p += 1;
        }
        let (Some(&wanted), Some(&dialled)) = (pattern.get(p), data.get(d)) else {
            break;
        };
        match wanted {
            b'/' => break,
            b'[' => {
                let body_start = p + 1;
                let Some(close) = pattern[body_start..].iter().position(|&b| b == b']') else {
                    return MatchResult::No;
                };
                let body = &pattern[body_start..body_start + close];
                p = body_start + close;
                if body.is_empty() {
                    // An empty set vanishes while a dialled character waits.
                    p += 1;
                    continue;
                }
                if !set_matches(body, dialled) {
                    return MatchResult::No;
                }
            }
            b'n' | b'N' if !(b'2'..=b'9').contains(&dialled) => return MatchResult::No,
            b'x' | b'X' if !dialled.is_ascii_digit() => return MatchResult::No,
            b'z' | b'Z' if !(b'1'..=b'9').contains(&dialled) => return MatchResult::No,
            b'n' | b'N' | b'x' | b'X' | b'z' | b'Z' => {}
            b'.' => return MatchResult::Yes,
            b'!' => return MatchResult::YesBang,
            b' ' => {
                // A blank in a pattern is skipped without consuming a character.
                p += 1;
                continue;
            }
            literal if literal != dialled => return MatchResult::No,
            _ => {}
        }
        p += 1;
        d += 1;
    }
    if d < data.len() {
        return MatchResult::No;
    }
    match pattern.get(p) {
        None | Some(b'/') if mode == Mode::MatchMore => MatchResult::No,
        None | Some(b'/') => MatchResult::Yes,
        Some(b'!') => MatchResult::YesBang,
        Some(_) if mode == Mode::Match => MatchResult::No,
        Some(_) => MatchResult::Yes,
    }
}

/// Literal names (§3.1): equality or prefix on dash-free strings.
fn match_literal(name: &[u8], data: &[u8], mode: Mode) -> MatchResult {
    let name: Vec<u8> = without_dashes(name).collect();
    let data: Vec<u8> = without_dashes(data).collect();
    let found = match mode {
        Mode::Match => name == data,
        Mode::CanMatch => name.starts_with(&data),
        Mode::MatchMore => name.len() > data.len() && name.starts_with(&data),
    };
    if found {
        MatchResult::Yes
    } else {
        MatchResult::No
    }
}

pub(crate) fn without_dashes(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bytes.iter().copied().filter(|&byte| byte != b'-')
}

/// Set membership as `pbx.c` tests it: ranges compare C `char`s, which are
/// signed, so `[0-\xff]` holds nothing while `[\x80-0]` holds bytes >= 0x80.
fn set_matches(body: &[u8], dialled: u8) -> bool {
    set_items(body).any(|(first, last)| {
        if first == last {
            dialled == first
        } else {
            (first as i8..=last as i8).contains(&(dialled as i8))
        }
    })
}

/// One element of a name, as the walk of §3.3 treats it while dialled
/// characters remain.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// Exactly this byte.
    Byte(u8),
    /// Any byte of the set (which may be empty: then it never matches).
    Class(ByteSet),
    /// An empty set or a blank: consumes nothing while a character waits,
    /// but counts as "more pattern" when the dialled string runs out.
    Skip,
}

/// How a name ends, for the end rules of §3.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tail {
    End,
    /// `.`: everything after it is never looked at.
    Dot,
    /// `!`: everything after it is never looked at.
    Bang,
}

/// The elements the walk can reach, and how the name ends.
pub(crate) fn steps(name: &[u8]) -> (Vec<Step>, Tail) {
    let name = up_to_nul(name);
    let Some(pattern) = name.strip_prefix(b"_") else {
        return (without_dashes(name).map(Step::Byte).collect(), Tail::End);
    };
    let mut steps = Vec::new();
    let mut at = 0;
    while let Some(&byte) = pattern.get(at) {
        at += 1;
        let step = match byte {
            b'-' => continue,
            b'/' => break,
            b'.' => return (steps, Tail::Dot),
            b'!' => return (steps, Tail::Bang),
            b' ' => Step::Skip,
            b'n' | b'N' => Step::Class(ByteSet::inclusive_range(b'2', b'9')),
            b'x' | b'X' => Step::Class(ByteSet::inclusive_range(b'0', b'9')),
            b'z' | b'Z' => Step::Class(ByteSet::inclusive_range(b'1', b'9')),
            b'[' => match pattern[at..].iter().position(|&b| b == b']') {
                Some(0) => {
                    at += 1;
                    Step::Skip
                }
                Some(close) => {
                    let body = &pattern[at..at + close];
                    at += close + 1;
                    class_step(body)
                }
                // Never matches a character, but is "more pattern" at the end.
                None => {
                    steps.push(Step::Class(ByteSet::default()));
                    break;
                }
            },
            literal => Step::Byte(literal),
        };
        steps.push(step);
    }
    (steps, Tail::End)
}

fn class_step(body: &[u8]) -> Step {
    let mut members = ByteSet::default();
    for byte in 0..=u8::MAX {
        if set_matches(body, byte) {
            members.insert(byte);
        }
    }
    match members.single() {
        Some(byte) => Step::Byte(byte),
        None => Step::Class(members),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, dialled: &str, expected: [MatchResult; 3]) {
        let modes = [Mode::Match, Mode::CanMatch, Mode::MatchMore];
        let got = modes.map(|mode| walk(name.as_bytes(), dialled.as_bytes(), mode));
        assert_eq!(got, expected, "{name} against {dialled:?}");
    }

    use MatchResult::{No, Yes, YesBang};

    #[test]
    fn end_rules() {
        check("_12", "12", [Yes, Yes, No]);
        check("_12", "1", [No, Yes, Yes]);
        check("_12", "123", [No, No, No]);
        check("_1!", "1", [YesBang, YesBang, YesBang]);
        check("_1.", "1", [No, Yes, Yes]);
        check("_1.", "12", [Yes, Yes, Yes]);
        check("_1[]", "1", [No, Yes, Yes]);
        check("_1[5-1]", "1", [No, Yes, Yes]);
    }

    #[test]
    fn blanks_in_ignore_patterns_are_skipped_but_count_at_the_end() {
        check("_9 1", "91", [Yes, Yes, No]);
        check("_9 ", "9", [No, Yes, Yes]);
    }

    #[test]
    fn signed_ranges() {
        assert!(!set_matches(b"0-\xff", b'5'));
        assert!(set_matches(b"\x80-0", b'\xc3'));
    }

    #[test]
    fn quirk_only_in_match_mode() {
        assert_eq!(match_raw(b"_X.", b"_X.", Mode::Match), Yes);
        assert_eq!(match_raw(b"_X.", b"_[0-9].", Mode::Match), Yes);
        assert_eq!(match_raw(b"_X.", b"_X.", Mode::CanMatch), No);
        assert_eq!(match_raw(b"_X.", b"_1", Mode::Match), No);
    }

    #[test]
    fn steps_follow_the_walk() {
        assert_eq!(
            steps(b"_8[]9"),
            (
                vec![Step::Byte(b'8'), Step::Skip, Step::Byte(b'9')],
                Tail::End
            )
        );
        assert_eq!(steps(b"_1.5"), (vec![Step::Byte(b'1')], Tail::Dot));
        assert_eq!(steps(b"12-3"), (b"123".map(Step::Byte).to_vec(), Tail::End));
        assert_eq!(steps(b"_[5]"), (vec![Step::Byte(b'5')], Tail::End));
    }
}
