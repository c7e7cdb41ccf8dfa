//! The forms a number can be written in for one country, as Asterisk
//! extension patterns: the renderer writes one extension per form (Asterisk
//! picks the most specific, as `pattern` does), the simulator and the
//! preview call [`super::outbound`]. The two agree: `tests` runs every form
//! through the matcher against `normalise` for every country and format.

use super::{Habits, MAX_E164_DIGITS, OutboundFormat};

/// How the digits an extension matched are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// A number of the plan's country: the national significant number
    /// starts after `strip` characters.
    Home { strip: usize },
    /// Another country's number (or one whose national part is not of a
    /// national length): E.164 digits start after `strip` characters.
    Abroad { strip: usize },
    /// Not a number the plan reads: it goes on as it is.
    AsWritten,
}

/// One form: the extension pattern and how what it matches is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// An Asterisk extension pattern (`_+1XXXXXXXXXX`); only digits, `+`,
    /// `X`, `.` and `[…]` classes of digits, `*`, `#` and `+`.
    pub pattern: String,
    /// How the matched number is read.
    pub reading: Reading,
}

/// Characters of a number that the catch-all forms accept (what the
/// dialplan's `FILTER` keeps).
pub const NUMBER_CLASS: &str = "[0-9*#+]";

/// Every form of `habits`' country, catch-alls last. In Asterisk's order of
/// specificity the forms give the answers of [`super::normalise`]: a
/// literal prefix beats a class, so `00…` (international) beats `0X…`
/// (trunk prefix), and country-code forms are left out where `normalise`
/// reads the same digits as a national number.
pub fn forms(habits: &Habits) -> Vec<Form> {
    let cc = habits.country_code.as_str();
    let tp = habits.trunk_prefix.as_str();
    let x = |n: usize| "X".repeat(n);
    let fits = |length: usize| cc.len() + length <= MAX_E164_DIGITS;
    let lengths: Vec<usize> = habits.national_lengths.iter().copied().filter(|&l| l > 0 && fits(l)).collect();
    let mut out: Vec<Form> = Vec::new();
    let mut push = |pattern: String, reading: Reading| {
        if !out.iter().any(|f| f.pattern == pattern) {
            out.push(Form { pattern, reading });
        }
    };
    for &l in &lengths {
        push(format!("_+{cc}{}", x(l)), Reading::Home { strip: 1 + cc.len() });
    }
    for n in 1..=MAX_E164_DIGITS {
        push(format!("_+{}", x(n)), Reading::Abroad { strip: 1 });
    }
    let mut prefixes = vec![habits.international_prefix.as_str()];
    prefixes.push("00");
    for prefix in prefixes.into_iter().filter(|p| !p.is_empty()) {
        for &l in &lengths {
            push(format!("_{prefix}{cc}{}", x(l)), Reading::Home { strip: prefix.len() + cc.len() });
        }
        // `normalise` wants more than two digits after the prefix.
        for n in 3..=MAX_E164_DIGITS {
            push(format!("_{prefix}{}", x(n)), Reading::Abroad { strip: prefix.len() });
        }
    }
    // A national significant number never starts with the trunk prefix.
    let first = match tp.chars().next() {
        Some(t) => format!("[{}]", ('0'..='9').filter(|&d| d != t).collect::<String>()),
        None => "X".into(),
    };
    for &l in &lengths {
        push(format!("_{first}{}", x(l - 1)), Reading::Home { strip: 0 });
    }
    // Country code then a national number, unless those digits are already
    // a national number (`normalise` tries that first).
    let cc_is_national_start = tp.is_empty() || !cc.starts_with(tp);
    for &l in &lengths {
        if cc_is_national_start && habits.national_lengths.contains(&(cc.len() + l)) {
            continue;
        }
        push(format!("_{cc}{}", x(l)), Reading::Home { strip: cc.len() });
    }
    if !tp.is_empty() {
        for &l in &lengths {
            push(format!("_{tp}{}", x(l)), Reading::Home { strip: tp.len() });
        }
    }
    push(format!("_{NUMBER_CLASS}"), Reading::AsWritten);
    push(format!("_{NUMBER_CLASS}."), Reading::AsWritten);
    out
}

impl Form {
    /// `number` (which this form matched) written in `format`.
    pub fn apply(&self, number: &str, format: OutboundFormat, habits: &Habits) -> String {
        let rest = |strip: usize| number.get(strip..).unwrap_or_default().to_owned();
        self.write(format, habits, number.to_owned(), rest)
    }

    /// The dialplan expression of [`Form::apply`]: `${EXTEN}` is the number.
    /// Only digits of the country table and `+` are added around it.
    pub fn expression(&self, format: OutboundFormat, habits: &Habits) -> String {
        let rest = |strip: usize| if strip == 0 { "${EXTEN}".to_owned() } else { format!("${{EXTEN:{strip}}}") };
        self.write(format, habits, "${EXTEN}".to_owned(), rest)
    }

    fn write(&self, format: OutboundFormat, habits: &Habits, whole: String, rest: impl Fn(usize) -> String) -> String {
        use OutboundFormat::*;
        let (cc, tp, intl) = (&habits.country_code, &habits.trunk_prefix, &habits.international_prefix);
        match (self.reading, format) {
            (Reading::AsWritten, _) | (_, AsDialled) => whole,
            (Reading::Home { strip }, E164) => format!("{cc}{}", rest(strip)),
            (Reading::Home { strip }, PlusE164) => format!("+{cc}{}", rest(strip)),
            (Reading::Home { strip }, National) => format!("{tp}{}", rest(strip)),
            (Reading::Home { strip }, NationalSignificant) => rest(strip),
            (Reading::Abroad { strip }, E164) => rest(strip),
            (Reading::Abroad { strip }, PlusE164) => format!("+{}", rest(strip)),
            (Reading::Abroad { strip }, National | NationalSignificant) => format!("{intl}{}", rest(strip)),
        }
    }
}
