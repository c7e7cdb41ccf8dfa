use super::ids::ExtensionId;
use serde::{Deserialize, Serialize};

/// An extension (`/extensions`): a dialplan name inside a context. What it
/// does comes from what it is bound to (a line, an incall, an outcall).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Integer id.
    pub id: ExtensionId,
    /// Owning tenant (the context's tenant).
    pub tenant_uuid: String,
    /// The name exactly as the client sent it: `101`, `_**99.`, or even `418.`
    /// (a literal to Asterisk; linted, never rewritten).
    pub exten: String,
    /// Name of the context it lives in.
    pub context: String,
    /// A disabled extension is not written to Asterisk.
    #[serde(default = "super::default_true")]
    pub enabled: bool,
}

impl Extension {
    /// Asterisk decides "pattern or literal" on the first character only.
    pub fn is_pattern(&self) -> bool {
        self.exten.starts_with('_')
    }
}
