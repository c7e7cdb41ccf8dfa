use super::ids::CustomId;
use serde::{Deserialize, Serialize};

/// A custom endpoint (`/endpoints/custom`): any channel technology, dialled
/// as `<interface>/<number><interface_suffix>` (e.g. `Local/0123@ctx`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCustom {
    /// Integer id.
    pub id: CustomId,
    /// Owning tenant.
    pub tenant_uuid: String,
    /// Channel prefix, e.g. `Local` or `DAHDI/g1`.
    pub interface: String,
    /// Appended after the number, e.g. `@from-pbx-b`.
    #[serde(default)]
    pub interface_suffix: Option<String>,
    /// A disabled custom endpoint is skipped when dialling.
    #[serde(default = "super::default_true")]
    pub enabled: bool,
}

impl EndpointCustom {
    /// What `Dial()` receives for `number`.
    pub fn dial_string(&self, number: &str) -> String {
        format!(
            "{}/{}{}",
            self.interface,
            number,
            self.interface_suffix.as_deref().unwrap_or("")
        )
    }
}
