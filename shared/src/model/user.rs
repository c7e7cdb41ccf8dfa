use super::ids::{ExtensionId, LineId, UserId, UuidRef};
use serde::{Deserialize, Serialize};

/// A user (caller-ID fields only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Integer id.
    pub id: UserId,
    /// Uuid.
    #[serde(default)]
    pub uuid: String,
    /// Owning tenant.
    pub tenant_uuid: String,
    /// First name.
    #[serde(default)]
    pub firstname: String,
    /// Last name.
    #[serde(default)]
    pub lastname: Option<String>,
    /// Internal caller ID, e.g. `"Alice Doe"`; the number defaults to the
    /// line's extension.
    #[serde(default)]
    pub caller_id: Option<String>,
    /// `default` / `anonymous` / a caller ID; null and empty mean `default`.
    #[serde(default)]
    pub outgoing_caller_id: Option<String>,
}

/// A user's phone line: a SIP endpoint plus the internal extension that rings
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Integer id.
    pub id: LineId,
    /// Owning tenant.
    pub tenant_uuid: String,
    /// The user the line belongs to.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The phone's SIP endpoint.
    #[serde(default)]
    pub endpoint_sip: Option<UuidRef>,
    /// The extension (in an internal context) that rings this line; its
    /// context is where the phone's calls start.
    #[serde(default)]
    pub extension_id: Option<ExtensionId>,
}
