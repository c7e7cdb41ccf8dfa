//! Asterisk's sort order of extensions (spec §4): which one wins a lookup, and
//! which names are duplicates of each other.
//!
//! Mirrors `ext_cmp` / `ext_cmp_pattern_pos` of `main/pbx.c`: literals first
//! (compared as C `char` strings, i.e. *signed* bytes), then patterns compared
//! position by position through [`Token`]s.

use std::cmp::Ordering;

use super::byteset::ByteSet;

/// What one position of a pattern contributes to the ordering.
///
/// Tokens are canonical: two positions that Asterisk scores as equal are the
/// same `Token` value, so `==` on token sequences is "same extension".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Token {
    /// One exact byte: a plain character, or a set whose only item is that byte.
    Char(u8),
    /// Any other character class: `X`, `N`, `Z`, `[...]`.
    Class(Box<ClassToken>),
    /// `.`, sorts after every character or class.
    Dot,
    /// `!`, sorts after `.` (the end of a pattern sorts after `!`).
    Bang,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClassToken {
    /// Number of distinct member bytes: fewer members sort first.
    count: u32,
    /// Smallest *first character* of the set's items (`cmin` in `pbx.c`);
    /// differs from the smallest member only for sets with reversed ranges.
    low: u8,
    members: ByteSet,
}

impl Token {
    fn class(count: u32, low: u8, members: ByteSet) -> Self {
        if count == 1 && members.single() == Some(low) {
            Token::Char(low)
        } else {
            Token::Class(Box::new(ClassToken {
                count,
                low,
                members,
            }))
        }
    }

    /// `(count, low, members)` for character tokens, the score `pbx.c` uses.
    fn score(&self) -> Option<(u32, u8, ByteSet)> {
        match self {
            Token::Char(byte) => {
                let mut members = ByteSet::default();
                members.insert(*byte);
                Some((1, *byte, members))
            }
            Token::Class(class) => Some((class.count, class.low, class.members)),
            Token::Dot | Token::Bang => None,
        }
    }

    fn kind_rank(&self) -> u8 {
        match self {
            Token::Char(_) | Token::Class(_) => 0,
            Token::Dot => 1,
            Token::Bang => 2,
        }
    }
}

impl Ord for Token {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.score(), other.score()) {
            (Some((count_a, low_a, set_a)), Some((count_b, low_b, set_b))) => count_a
                .cmp(&count_b)
                .then(low_a.cmp(&low_b))
                .then_with(|| set_a.cmp_members(&set_b)),
            _ => self.kind_rank().cmp(&other.kind_rank()),
        }
    }
}

impl PartialOrd for Token {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The tokens of a pattern body (the text after `_`), or the offset in `body`
/// of a `[` that has no `]` after it (Asterisk's "BROKEN" token).
///
/// Dashes are skipped and empty sets (`[]`, `[5-1]`) give no token: the next
/// element provides it. Everything after a `.` or `!` still counts here, even
/// though matching never looks at it.
pub(crate) fn pattern_tokens(body: &[u8]) -> Result<Vec<Token>, usize> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let byte = body[at];
        at += 1;
        let token = match byte {
            b'-' => continue,
            b'n' | b'N' => Token::class(8, b'2', ByteSet::inclusive_range(b'2', b'9')),
            b'z' | b'Z' => Token::class(9, b'1', ByteSet::inclusive_range(b'1', b'9')),
            b'x' | b'X' => Token::class(10, b'0', ByteSet::inclusive_range(b'0', b'9')),
            b'.' => Token::Dot,
            b'!' => Token::Bang,
            b'[' => {
                let Some(close) = body[at..].iter().position(|&b| b == b']') else {
                    return Err(at - 1);
                };
                let set_body = &body[at..at + close];
                at += close + 1;
                match set_score(set_body) {
                    Some((count, low, members)) => Token::class(count, low, members),
                    None => continue,
                }
            }
            other => Token::Char(other),
        };
        tokens.push(token);
    }
    Ok(tokens)
}

/// Score of a set body for ordering: `None` for a set without members.
/// Ranges are *unsigned* byte ranges here (unlike matching, see `matching.rs`).
fn set_score(set_body: &[u8]) -> Option<(u32, u8, ByteSet)> {
    let mut members = ByteSet::default();
    let mut low = u8::MAX;
    for (first, last) in set_items(set_body) {
        low = low.min(first);
        for byte in first..=last {
            members.insert(byte);
        }
        // `first..=last` is empty for a reversed range: no members, but `first`
        // still counts for `low` (as in pbx.c).
    }
    let count = members.len();
    (count > 0).then_some((count, low, members))
}

/// The items of a set body: `a-b` (three characters, `-` not last) is a range,
/// anything else a single character `(c, c)`.
pub(crate) fn set_items(set_body: &[u8]) -> impl Iterator<Item = (u8, u8)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let first = *set_body.get(at)?;
        if at + 2 < set_body.len() && set_body[at + 1] == b'-' {
            at += 3;
            Some((first, set_body[at - 1]))
        } else {
            at += 1;
            Some((first, first))
        }
    })
}

/// Ordering of two literal names (dash-free), as `ext_cmp_exten` does it: C
/// `char` comparison (signed on the platforms Asterisk runs on), where the end
/// of a string is a `0` byte — so a proper prefix usually sorts first, but
/// sorts *after* a continuation by a byte >= 0x80.
pub(crate) fn cmp_literals(a: &[u8], b: &[u8]) -> Ordering {
    let as_c_char = |name: &[u8], at: usize| name.get(at).map_or(0, |&byte| byte as i8);
    for at in 0.. {
        let (left, right) = (as_c_char(a, at), as_c_char(b, at));
        if left != right || left == 0 {
            return left.cmp(&right);
        }
    }
    unreachable!("the loop returns at the end of the shorter name")
}

/// Lexicographic order of token sequences, where the end of a pattern is a
/// token that sorts after all others: when one pattern is a prefix of the
/// other, the longer one sorts first.
pub(crate) fn cmp_token_sequences(a: &[Token], b: &[Token]) -> Ordering {
    for at in 0.. {
        match (a.get(at), b.get(at)) {
            (Some(left), Some(right)) => match left.cmp(right) {
                Ordering::Equal => continue,
                decided => return decided,
            },
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (None, None) => return Ordering::Equal,
        }
    }
    unreachable!("the loop returns at the end of the shorter pattern")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(body: &str) -> Vec<Token> {
        pattern_tokens(body.as_bytes()).expect("well-formed pattern")
    }

    fn check_order(names_in_order: &[&str]) {
        for pair in names_in_order.windows(2) {
            assert_eq!(
                cmp_token_sequences(&tokens(pair[0]), &tokens(pair[1])),
                Ordering::Less,
                "{} should sort before {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn equivalent_spellings_give_equal_tokens() {
        for (a, b) in [
            ("X5", "[0-9]5"),
            ("N7", "[2-9]7"),
            ("Z", "[1-9]"),
            ("[12]", "[21]"),
            ("x.", "X."),
            ("5[5]", "55"),
            ("NXX-XXXX", "NXXXXXX"),
            ("", "-"),
            ("12[]", "12"),
        ] {
            assert_eq!(tokens(a), tokens(b), "{a} vs {b}");
        }
    }

    #[test]
    fn documented_orders() {
        check_order(&["640X", "64NX", "64XX", "6[34]NX", "6[45]NX", "6XX1", "6."]);
        check_order(&["[4-5]", "[0-4]", "[4-8]", "[0-9]"]);
        check_order(&["[0-4]", "[02468]", "[1-5]", "[13579]", "[2-6]"]);
        check_order(&["#X.", "*XX", "+1NXXNXXXXXX", "+X.", "00X.", "X#", "X."]);
        check_order(&["5XX", "5!"]);
        check_order(&["3.", "3!"]);
        check_order(&["12!", "12"]);
        check_order(&["X", "[a-j]"]);
    }

    #[test]
    fn reversed_range_moves_low_but_adds_no_member() {
        // `[5-19]` has the single member 9 but its low is '5': not the same as `9`.
        assert_ne!(tokens("[5-19]"), tokens("9"));
        check_order(&["[5-19]", "9"]);
    }

    #[test]
    fn unclosed_set_is_reported_at_its_bracket() {
        assert_eq!(pattern_tokens(b"12[34"), Err(2));
    }

    #[test]
    fn literals_compare_as_signed_chars() {
        assert_eq!(cmp_literals(b"12", b"123"), Ordering::Less);
        assert_eq!(cmp_literals(b"1", b"1\xc3"), Ordering::Greater);
        assert_eq!(cmp_literals(b"\xc3", b"1"), Ordering::Less);
        assert_eq!(cmp_literals(b"abc", b"abc"), Ordering::Equal);
    }
}
