//! Outgoing caller ID: parsing Wazo's caller-ID strings and resolving which
//! caller ID an outgoing call presents, with the reason.
//!
//! Precedence (reference §3.7, seed doc 002), first that applies wins:
//! 1. the outcall's `internal_caller_id`: keep the caller's own caller ID;
//! 2. the user's `outgoing_caller_id` (`anonymous` → presentation prohibited;
//!    null, empty and `default` fall through — our deviation: Wazo lets an
//!    empty value block layer 3);
//! 3. the caller ID of the outcall pattern that matched;
//! 4. the default (the caller's own caller ID).
//!
//! The same precedence is rendered into the dialplan by `render::extensions`;
//! this module is what the simulator and the tests use to say why.

use serde::Serialize;

/// A caller ID string as Wazo accepts it, split in parts. `"Name" <num>`,
/// `Name <num>`, `"Name"`, `Name` or a bare number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCallerId {
    /// The display name, if the string has one.
    pub name: Option<String>,
    /// The number, if the string has one.
    pub number: Option<String>,
}

/// Characters a caller-ID *name* may hold besides letters and digits.
///
/// Why so strict: names are written into the dialplan (`Set(CALLERID(name)=…)`)
/// and into pjsip.conf (`callerid = …`). Leaving out `$ { } [ ] ( ) ; , = \ | " < >`
/// and every control character means a name can neither start an Asterisk
/// expression (`${…}`, `$[…]`), nor end an argument, a line or a section.
pub const NAME_PUNCTUATION: &str = " .'-_&+/@:!?#*";

/// The longest name or number part accepted.
const MAX_PART: usize = 80;

/// Whether `c` may appear in a caller-ID name.
pub fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || NAME_PUNCTUATION.contains(c)
}

/// Whether `s` is a caller-ID number: `+` optional, then `0-9 * #`.
pub fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    !digits.is_empty()
        && digits.len() <= MAX_PART
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

/// Parses a caller-ID string; the error says what is wrong.
pub fn parse(input: &str) -> Result<ParsedCallerId, String> {
    // Only blanks are trimmed: a trailing `\r` or `\n` must be seen and refused.
    let s = input.trim_matches(' ');
    if s.is_empty() {
        return Err("caller ID is empty".into());
    }
    if is_number(s) {
        return Ok(ParsedCallerId { name: None, number: Some(s.to_owned()) });
    }
    let (name_part, number) = match s.strip_suffix('>') {
        Some(rest) => {
            let open = rest.rfind('<').ok_or("`>` without `<`")?;
            let number = rest[open + 1..].trim_matches(' ');
            if !is_number(number) {
                return Err(format!(
                    "`<{number}>` is not a number: use digits, `*`, `#`, optionally a leading `+`"
                ));
            }
            (rest[..open].trim_matches(' '), Some(number.to_owned()))
        }
        None => (s, None),
    };
    let name = match name_part.strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"').ok_or("unclosed `\"` in the name")?,
        None => name_part,
    };
    if name.is_empty() {
        return match number {
            Some(number) => Ok(ParsedCallerId { name: None, number: Some(number) }),
            None => Err("caller ID has neither a name nor a number".into()),
        };
    }
    if name.chars().count() > MAX_PART {
        return Err(format!("the name is longer than {MAX_PART} characters"));
    }
    if let Some(bad) = name.chars().find(|&c| !is_name_char(c)) {
        return Err(format!(
            "the name may not contain {bad:?}: use letters, digits, spaces and {NAME_PUNCTUATION:?}"
        ));
    }
    Ok(ParsedCallerId { name: Some(name.to_owned()), number })
}

/// A user's `outgoing_caller_id`, interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutgoingCallerId {
    /// `default`, empty or null: let the outcall decide.
    Default,
    /// `anonymous`: presentation prohibited.
    Anonymous,
    /// A forced caller ID.
    Forced(ParsedCallerId),
    /// Not parseable: ignored, as Wazo does (validation rejects it upfront).
    Invalid(String),
}

impl OutgoingCallerId {
    /// Interprets the stored value.
    pub fn from_setting(value: Option<&str>) -> Self {
        match value.map(|v| v.trim_matches(' ')) {
            None | Some("") | Some("default") => Self::Default,
            Some("anonymous") => Self::Anonymous,
            Some(other) => match parse(other) {
                Ok(parsed) => Self::Forced(parsed),
                Err(why) => Self::Invalid(why),
            },
        }
    }
}

/// A caller ID as presented: both parts always set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presented {
    /// Display name.
    pub name: String,
    /// Number.
    pub number: String,
}

impl Presented {
    /// `parsed` laid over `self`: a name-only caller ID keeps this number, a
    /// number-only one uses the number as the name too.
    fn overlaid_with(&self, parsed: &ParsedCallerId) -> Presented {
        match (&parsed.name, &parsed.number) {
            (Some(name), Some(number)) => Presented { name: name.clone(), number: number.clone() },
            (Some(name), None) => Presented { name: name.clone(), number: self.number.clone() },
            (None, Some(number)) => Presented { name: number.clone(), number: number.clone() },
            (None, None) => self.clone(),
        }
    }
}

/// The calling user's caller-ID settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallingUser<'a> {
    /// `user.caller_id`, e.g. `"Alice"` or `"Alice" <1001>`.
    pub caller_id: Option<&'a str>,
    /// The number of the line the call comes from (its extension).
    pub line_number: &'a str,
    /// `user.outgoing_caller_id`.
    pub outgoing_caller_id: Option<&'a str>,
}

impl CallingUser<'_> {
    /// The user's own caller ID: `caller_id`'s name, its number or else the
    /// line number. Without a name, the number is the name.
    pub fn own(&self) -> Presented {
        let line = Presented { name: self.line_number.to_owned(), number: self.line_number.to_owned() };
        match self.caller_id.map(parse) {
            Some(Ok(parsed)) => line.overlaid_with(&parsed),
            _ => line,
        }
    }
}

/// Everything the precedence looks at for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerIdInputs<'a> {
    /// `outcall.internal_caller_id`.
    pub internal_caller_id: bool,
    /// The calling user, or `None` when the caller is not a user (a trunk).
    pub user: Option<CallingUser<'a>>,
    /// The matched outcall pattern's `caller_id`.
    pub route_caller_id: Option<&'a str>,
    /// The caller ID the channel already has when nothing else applies; for
    /// a user this is [`CallingUser::own`].
    pub default: &'a Presented,
}

/// Caller-ID presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Presentation {
    /// Shown to the callee.
    Allowed,
    /// Withheld (`CALLERID(pres)=prohib`).
    Prohibited,
}

/// Which precedence layer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// 1. `internal_caller_id`.
    InternalCallerId,
    /// 2. the user's `outgoing_caller_id`.
    UserOutgoingCallerId,
    /// 3. the outcall pattern's `caller_id`.
    OutcallCallerId,
    /// 4. the default.
    Default,
}

/// The caller ID an outgoing call presents, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// Name and number sent.
    pub caller_id: Presented,
    /// Whether the callee may see it.
    pub presentation: Presentation,
    /// The layer that won.
    pub layer: Layer,
    /// One line per layer considered, in precedence order: why each higher
    /// layer did not apply, then why the winner did.
    pub explanation: Vec<String>,
}

/// Applies the precedence.
pub fn resolve(inputs: &CallerIdInputs<'_>) -> Resolved {
    let mut why = Vec::new();
    let own = inputs.user.map(|u| u.own()).unwrap_or_else(|| inputs.default.clone());

    if inputs.internal_caller_id {
        why.push(format!(
            "the outcall sets internal_caller_id: the caller's own caller ID {} is kept",
            show(&own)
        ));
        return Resolved { caller_id: own, presentation: Presentation::Allowed, layer: Layer::InternalCallerId, explanation: why };
    }
    why.push("the outcall does not set internal_caller_id".into());

    // What layers 3-4 give; anonymous hides it but still uses it (Wazo sends
    // it as P-Asserted-Identity).
    let route = inputs.route_caller_id.map(|v| v.trim_matches(' ')).filter(|s| !s.is_empty());
    let route_parsed = route.map(parse);
    let (lower, lower_layer) = match &route_parsed {
        Some(Ok(parsed)) => (inputs.default.overlaid_with(parsed), Layer::OutcallCallerId),
        _ => (inputs.default.clone(), Layer::Default),
    };

    match inputs.user.map(|u| (u.outgoing_caller_id, OutgoingCallerId::from_setting(u.outgoing_caller_id))) {
        None => why.push("the caller is not a user, so no user outgoing_caller_id applies".into()),
        Some((raw, OutgoingCallerId::Default)) => why.push(match raw.map(|v| v.trim_matches(' ')) {
            None => "the user's outgoing_caller_id is null, treated as `default`".into(),
            Some("") => "the user's outgoing_caller_id is empty, treated as `default`".into(),
            _ => "the user's outgoing_caller_id is `default`".into(),
        }),
        Some((_, OutgoingCallerId::Invalid(reason))) => {
            why.push(format!("the user's outgoing_caller_id is ignored: {reason}"))
        }
        Some((_, OutgoingCallerId::Anonymous)) => {
            why.push(format!(
                "the user's outgoing_caller_id is `anonymous`: presentation prohibited ({} still sent as the asserted identity)",
                show(&lower)
            ));
            return Resolved { caller_id: lower, presentation: Presentation::Prohibited, layer: Layer::UserOutgoingCallerId, explanation: why };
        }
        Some((_, OutgoingCallerId::Forced(parsed))) => {
            let chosen = own.overlaid_with(&parsed);
            why.push(format!("the user's outgoing_caller_id forces {}", show(&chosen)));
            return Resolved { caller_id: chosen, presentation: Presentation::Allowed, layer: Layer::UserOutgoingCallerId, explanation: why };
        }
    }

    match (route, &route_parsed) {
        (None, _) => why.push("the outcall pattern has no caller_id".into()),
        (Some(raw), Some(Err(reason))) => {
            why.push(format!("the outcall pattern's caller_id {raw:?} is ignored: {reason}"))
        }
        (Some(_), _) => {
            why.push(format!("the outcall pattern's caller_id gives {}", show(&lower)));
        }
    }
    if lower_layer == Layer::Default {
        why.push(format!("the default caller ID {} is kept", show(&lower)));
    }
    Resolved { caller_id: lower, presentation: Presentation::Allowed, layer: lower_layer, explanation: why }
}

fn show(p: &Presented) -> String {
    format!("\"{}\" <{}>", p.name, p.number)
}

#[cfg(test)]
mod tests;
