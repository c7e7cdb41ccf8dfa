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
