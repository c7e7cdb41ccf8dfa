use super::failover::FailoverPolicy;
use super::ids::{ExtensionId, IdRef, OutcallId, TrunkId};
use serde::{Deserialize, Serialize};

/// An outgoing route (`/outcalls`): dial patterns (extensions in an outcall
/// context) sent to an ordered list of trunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcall {
    /// Integer id.
    pub id: OutcallId,
    /// Owning tenant.
    pub tenant_uuid: String,
    /// Unique across all tenants.
    pub name: String,
    /// Keep the caller's own caller ID (beats every other caller-ID layer).
    #[serde(default)]
    pub internal_caller_id: bool,
    /// Dial timeout in seconds; `None` (or 0) = no timeout.
    #[serde(default)]
    pub ring_time: Option<u32>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// A disabled outcall makes its patterns fail the call.
    #[serde(default = "super::default_true")]
    pub enabled: bool,
    /// Dialplan context Gosub'ed before dialling.
    #[serde(default)]
    pub preprocess_subroutine: Option<String>,
    /// Trunks in failover order: the first is tried first.
    #[serde(default)]
    pub trunks: Vec<IdRef<TrunkId>>,
    /// Dial patterns bound to this outcall, with their per-pattern settings.
    #[serde(default)]
    pub extensions: Vec<OutcallExtension>,
    /// Which failures of a trunk move the call to the next one (Patchbay's
    /// own key; Wazo has no such setting).
    #[serde(default)]
    pub failover_policy: FailoverPolicy,
    /// Marks the outcall as the tenant's emergency route (Patchbay's own
    /// key): its patterns are the tenant's emergency numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<Emergency>,
}

/// An emergency route's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Emergency {
    /// The callback number every emergency call presents (the site's
    /// number), whatever the caller's own caller ID or presentation.
    pub callback_number: String,
    /// What the test mode calls through the route's trunk instead of an
    /// emergency number (the provider's test number, e.g. 933).
    #[serde(default)]
    pub test_number: Option<String>,
}

/// One pattern of an outcall (`PUT /outcalls/{id}/extensions/{extension_id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcallExtension {
    /// The extension (its `exten` is the pattern). Wazo names it `id` in
    /// responses; `extension_id` is accepted too.
    #[serde(rename = "id", alias = "extension_id")]
    pub extension_id: ExtensionId,
    /// Characters removed from the left of the dialled string; `None` = 0.
    #[serde(default)]
    pub strip_digits: Option<u32>,
    /// Prepended after stripping.
    #[serde(default)]
    pub external_prefix: Option<String>,
    /// Stored and returned, never used for routing (as in Wazo).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Caller ID for calls through this pattern, e.g. `"ACME" <5551234>`.
    #[serde(default)]
    pub caller_id: Option<String>,
}

impl OutcallExtension {
    /// The number sent to the trunks for `dialled`: strip, then prefix.
    /// Stripping more characters than there are leaves an empty number.
    pub fn number_to_dial(&self, dialled: &str) -> String {
        let strip = self.strip_digits.unwrap_or(0) as usize;
        let rest: String = dialled.chars().skip(strip).collect();
        format!("{}{}", self.external_prefix.as_deref().unwrap_or(""), rest)
    }
}
