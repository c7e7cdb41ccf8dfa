use serde::Serialize;
use std::fmt;

/// Names one stored object, for validation errors and lints that are about
/// an object rather than a request body.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    /// Which collection.
    pub kind: ObjectKind,
    /// Its id or uuid, as text.
    pub id: String,
}

/// The collections of a [`super::Snapshot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A tenant.
    Tenant,
    /// A context.
    Context,
    /// An extension.
    Extension,
    /// A trunk.
    Trunk,
    /// A SIP endpoint.
    EndpointSip,
    /// A SIP template.
    SipTemplate,
    /// A transport.
    Transport,
    /// The `[global]` settings.
    PjsipGlobal,
    /// The `[system]` settings.
    PjsipSystem,
    /// An IAX endpoint.
    EndpointIax,
    /// A custom endpoint.
    EndpointCustom,
    /// An outcall.
    Outcall,
    /// An incall.
    Incall,
    /// A user.
    User,
    /// A line.
    Line,
    /// A group (ring group).
    Group,
}

impl ObjectRef {
    /// `kind` number/uuid `id`.
    pub fn new(kind: ObjectKind, id: impl fmt::Display) -> Self {
        Self { kind, id: id.to_string() }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.kind, self.id)
    }
}
