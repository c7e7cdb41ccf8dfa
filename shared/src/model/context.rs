use super::ids::{ContextId, IdRef};
use serde::{Deserialize, Serialize};

/// A dialplan context (`/contexts`). Its `name` is the Asterisk context name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// Integer id.
    pub id: ContextId,
    /// Uuid (read-only in the API).
    #[serde(default)]
    pub uuid: String,
    /// Owning tenant.
    pub tenant_uuid: String,
    /// Asterisk context name (generated, or legacy client-chosen such as `default`).
    pub name: String,
    /// Human name.
    pub label: String,
    /// What the context is for; decides what its extensions may be bound to.
    #[serde(rename = "type", default)]
    pub kind: ContextKind,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// A disabled context is not written to Asterisk.
    #[serde(default = "super::default_true")]
    pub enabled: bool,
    /// Included contexts, in include order (`include => <name>` lines). Wazo
    /// responses also carry `name`/`label`/`links`; only the id is stored so a
    /// rename can never leave a stale include behind.
    #[serde(default)]
    pub contexts: Vec<IdRef<ContextId>>,
    /// The numbers its extensions may take, per use.
    #[serde(flatten)]
    pub ranges: ContextRanges,
}

/// A context's number ranges, per use (Wazo's `user_ranges`...). `None` is a
/// context stored before Patchbay kept ranges: it restricts nothing. `Some`
/// (even empty) is checked as Wazo checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRanges {
    /// Numbers of extensions bound to users' lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ranges: Option<Vec<ContextRange>>,
    /// Numbers of group extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_ranges: Option<Vec<ContextRange>>,
    /// Numbers of queue extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_ranges: Option<Vec<ContextRange>>,
    /// Numbers of conference extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_room_ranges: Option<Vec<ContextRange>>,
    /// DIDs of incall extensions (`did_length` applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incall_ranges: Option<Vec<ContextRange>>,
}

/// Which of a context's ranges a use is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeUse {
    /// `user_ranges`.
    User,
    /// `group_ranges`.
    Group,
    /// `queue_ranges`.
    Queue,
    /// `conference_room_ranges`.
    Conference,
    /// `incall_ranges`.
    Incall,
}

impl RangeUse {
    /// The context field holding these ranges.
    pub fn field(self) -> &'static str {
        match self {
            Self::User => "user_ranges",
            Self::Group => "group_ranges",
            Self::Queue => "queue_ranges",
            Self::Conference => "conference_room_ranges",
            Self::Incall => "incall_ranges",
        }
    }
}

impl ContextRanges {
    /// The ranges of one use.
    pub fn of(&self, use_: RangeUse) -> Option<&Vec<ContextRange>> {
        match use_ {
            RangeUse::User => self.user_ranges.as_ref(),
            RangeUse::Group => self.group_ranges.as_ref(),
            RangeUse::Queue => self.queue_ranges.as_ref(),
            RangeUse::Conference => self.conference_room_ranges.as_ref(),
            RangeUse::Incall => self.incall_ranges.as_ref(),
        }
    }

    /// Whether `exten` may serve `use_` here: a pattern (`_…`) always may
    /// (Wazo skips the check), a number must lie in one of the ranges.
    pub fn allows(&self, use_: RangeUse, exten: &str) -> bool {
        if exten.starts_with('_') {
            return true;
        }
        match self.of(use_) {
            None => true,
            Some(ranges) => ranges.iter().any(|range| range.contains(exten)),
        }
    }
}

/// One range: `start`..=`end` (digit strings of the same length; `end`
/// absent = just `start`). For DIDs, `did_length` N compares only the last N
/// digits of `start`/`end` with the number (0 = all of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRange {
    /// First number.
    pub start: String,
    /// Last number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Incall ranges only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did_length: Option<u32>,
}

impl ContextRange {
    /// `end`, or `start` when there is none (as Wazo shows it).
    pub fn last(&self) -> &str {
        self.end.as_deref().filter(|end| !end.is_empty()).unwrap_or(&self.start)
    }

    /// Whether the number `exten` lies in the range, compared as integers
    /// (`0100` is 100). A non-numeric exten lies in no range.
    pub fn contains(&self, exten: &str) -> bool {
        let Some(number) = as_number(exten) else { return false };
        let limit = |text: &str| {
            let keep = self.did_length.filter(|n| *n > 0).map(|n| n as usize).unwrap_or(text.len()).min(text.len());
            as_number(&text[text.len() - keep..])
        };
        match (limit(&self.start), limit(self.last())) {
            (Some(start), Some(end)) => start <= number && number <= end,
            _ => false,
        }
    }

    /// What is wrong with the range, as `(field, message)` in Wazo's words
    /// (`_schema` for a fault of the whole range).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let digits = |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_digit());
        for (field, value) in [("start", Some(self.start.as_str())), ("end", self.end.as_deref())] {
            let Some(value) = value else { continue };
            if !digits(value) {
                out.push((field, "Invalid input.".to_string()));
            } else if value.len() > 16 {
                out.push((field, "Longer than maximum length 16.".to_string()));
            }
        }
        if out.is_empty()
            && let Some(end) = self.end.as_deref()
        {
            if end.len() != self.start.len() {
                out.push(("_schema", "Start and end must be of the same length".to_string()));
            } else if as_number(&self.start) > as_number(end) {
                out.push(("_schema", "Start of range must be lower than or equal to the end".to_string()));
            }
        }
        out
    }
}

fn as_number(text: &str) -> Option<u128> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Wazo's context types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextKind {
    /// Where users' lines live and dial from.
    #[default]
    Internal,
    /// Where trunk calls land (DIDs).
    Incall,
    /// Where outgoing-call patterns live; included from internal contexts.
    Outcall,
    /// Feature codes.
    Services,
    /// Anything else; nothing routable is generated for it.
    Others,
}

impl ContextKind {
    /// The wire spelling (`internal`, `incall`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::Incall => "incall",
            Self::Outcall => "outcall",
            Self::Services => "services",
            Self::Others => "others",
        }
    }
}
