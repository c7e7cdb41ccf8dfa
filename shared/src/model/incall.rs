use super::ids::{ExtensionId, GroupId, IncallId, TrunkId, UserId};
use serde::{Deserialize, Serialize};

/// An incoming route (`/incalls`): a DID (an extension in an incall
/// context) sent to a destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incall {
    /// Integer id.
    pub id: IncallId,
    /// Owning tenant.
    pub tenant_uuid: String,
    /// Where the call goes.
    pub destination: Destination,
    /// How `caller_id_name` changes the inbound caller name.
    #[serde(default)]
    pub caller_id_mode: Option<CallerIdMode>,
    /// Name used by `caller_id_mode`.
    #[serde(default)]
    pub caller_id_name: Option<String>,
    /// The DID extension (one per incall).
    #[serde(default)]
    pub extension_id: Option<ExtensionId>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// The supported incall destinations, tagged by `type` as in Wazo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Destination {
    /// Ring a user's lines.
    User {
        /// The user.
        user_id: UserId,
        /// Ring timeout in seconds; `None` = no timeout.
        #[serde(default)]
        ring_time: Option<f64>,
    },
    /// Ring a group's members together.
    Group {
        /// The group.
        group_id: GroupId,
        /// Ring timeout in seconds; `None` = the group's own `timeout`.
        #[serde(default)]
        ring_time: Option<f64>,
    },
    /// Do nothing (the call is hung up).
    None,
    /// Hang up with a cause (Wazo's `hangup` subtypes `normal`, `busy`,
    /// `congestion`).
    Hangup {
        /// Hangup cause.
        #[serde(default)]
        cause: HangupCause,
        /// `busy` / `congestion`: seconds the tone plays before the hang-up;
        /// `None` = until the caller hangs up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<f64>,
    },
    /// Run one dialplan application (Wazo's `custom`: `App(args)`).
    Custom {
        /// The application call, e.g. `Playback(tt-monkeys)`.
        command: String,
    },
    /// Jump to an extension of a context.
    Extension {
        /// Target extension, digits `0-9*#`.
        exten: String,
        /// Target context name.
        context: String,
    },
    /// Deliver the call to a trunk: a PBX that sits behind Patchbay (not in
    /// Wazo; the Kazoo connectivity API maps a DID of a server onto it).
    Trunk(Box<TrunkDestination>),
}

/// `destination` of `type: trunk`: dial one trunk with a fixed number, then
/// fail over when it does not answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrunkDestination {
    /// The trunk dialled.
    pub trunk_id: TrunkId,
    /// The Request-URI user sent to the trunk; `None` = the DID as dialled.
    #[serde(default)]
    pub number: Option<String>,
    /// `false` refuses the call (Q.850 cause 21, call rejected).
    #[serde(default = "super::default_true")]
    pub enabled: bool,
    /// Seconds to wait before dialling.
    #[serde(default)]
    pub delay: Option<u32>,
    /// Seconds to wait for an answer; `None` = no limit.
    #[serde(default)]
    pub timeout: Option<u32>,
    /// Seconds to wait for progress (180/183) before giving up.
    #[serde(default)]
    pub progress_timeout: Option<u32>,
    /// Headers added to the INVITE sent to the trunk, `(name, value)`.
    #[serde(default)]
    pub sip_headers: Vec<(String, String)>,
    /// Concurrent calls allowed across every destination of the same group.
    #[serde(default)]
    pub call_limit: Option<CallLimit>,
    /// Where the call goes when the trunk does not answer.
    #[serde(default)]
    pub failover: Option<TrunkFailover>,
}

/// A limit on concurrent calls: `GROUP()` / `GROUP_COUNT()` in the dialplan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLimit {
    /// Group name, shared by the destinations that count together.
    pub group: String,
    /// Calls allowed at once; the next one is refused with congestion.
    pub max: u32,
}

/// Where a [`TrunkDestination`] sends a call its trunk did not answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TrunkFailover {
    /// Continue at an extension (e.g. an E.164 number in an outcall context).
    Extension {
        /// Extension, digits `0-9*#+`.
        exten: String,
        /// Context name.
        context: String,
    },
    /// Dial a SIP URI (`sip:user@host[:port]`) through the same trunk's endpoint.
    Sip {
        /// The URI.
        uri: String,
    },
}

impl TrunkFailover {
    /// Whether `uri` is a `sip:`/`sips:` URI `user@host[:port]` made only
    /// of characters that are safe in a `Dial()` target.
    pub fn uri_ok(uri: &str) -> bool {
        let Some(rest) = uri.strip_prefix("sip:").or_else(|| uri.strip_prefix("sips:")) else { return false };
        let Some((user, host)) = rest.split_once('@') else { return false };
        let (host, port) = match host.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        };
        !user.is_empty()
            && user.len() <= 64
            && user.chars().all(|c| c.is_ascii_alphanumeric() || "+*#._-".contains(c))
            && !host.is_empty()
            && host.len() <= 253
            && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
            && port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()))
    }
}

/// Whether `name` is a SIP header name Patchbay lets a client add: a token
/// of letters, digits and `-`, and not one that defines the dialog.
pub fn sip_header_name_ok(name: &str) -> bool {
    const RESERVED: [&str; 12] = [
        "via", "from", "to", "call-id", "cseq", "contact", "max-forwards", "content-length", "content-type", "route",
        "record-route", "authorization",
    ];
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !RESERVED.contains(&name.to_ascii_lowercase().as_str())
}

/// Whether `value` is a SIP header value Patchbay lets a client add: printable
/// ASCII from a charset that cannot end a dialplan argument or be evaluated.
pub fn sip_header_value_ok(value: &str) -> bool {
    value.len() <= 256 && value.chars().all(|c| c.is_ascii_alphanumeric() || " .'-_+/@:!?#*=<>".contains(c))
}

/// `destination.cause` of a `hangup` destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HangupCause {
    /// Q.850 cause 16.
    #[default]
    Normal,
    /// Q.850 cause 17.
    Busy,
    /// Q.850 cause 34.
    Congestion,
}

impl HangupCause {
    /// The wire spelling (`normal`, `busy`, `congestion`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Busy => "busy",
            Self::Congestion => "congestion",
        }
    }

    /// The Q.850 code given to `Hangup()`.
    pub fn q850(self) -> u8 {
        match self {
            Self::Normal => 16,
            Self::Busy => 17,
            Self::Congestion => 34,
        }
    }
}

/// `caller_id_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallerIdMode {
    /// `"<caller_id_name> - <inbound name>"`.
    Prepend,
    /// `caller_id_name`.
    Overwrite,
    /// `"<inbound name> - <caller_id_name>"`.
    Append,
}
