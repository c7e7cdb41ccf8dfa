use super::ids::{ExtensionId, IncallId, UserId};
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
    /// Do nothing (the call is hung up).
    None,
    /// Hang up with a cause.
    Hangup {
        /// Hangup cause.
        #[serde(default)]
        cause: HangupCause,
    },
    /// Jump to an extension of a context.
    Extension {
        /// Target extension, digits `0-9*#`.
        exten: String,
        /// Target context name.
        context: String,
    },
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
