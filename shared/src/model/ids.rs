//! Integer ids of the Wazo API, one newtype per resource so a trunk id can
//! never be passed where an outcall id is expected. On the wire they are
//! plain JSON integers (`#[serde(transparent)]`), exactly as Wazo sends them.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! integer_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

integer_id!(
    /// `/contexts/{id}`.
    ContextId,
    /// `/extensions/{id}`.
    ExtensionId,
    /// `/trunks/{id}`.
    TrunkId,
    /// `/endpoints/iax/{id}`.
    IaxId,
    /// `/endpoints/custom/{id}`.
    CustomId,
    /// `/outcalls/{id}`.
    OutcallId,
    /// `/incalls/{id}`.
    IncallId,
    /// `/users/{id}`.
    UserId,
    /// `/lines/{id}`.
    LineId,
    /// `/groups/{id}`.
    GroupId,
);

/// `{"id": N}`: how Wazo bodies reference another object by integer id
/// (e.g. `PUT /outcalls/{id}/trunks {"trunks": [{"id": 5}]}`). Extra keys
/// that responses carry (`links`, `name`...) are ignored on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdRef<T> {
    /// The referenced object's id.
    pub id: T,
}

/// `{"uuid": "..."}`: how Wazo references a SIP endpoint, template or transport.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UuidRef {
    /// The referenced object's uuid.
    pub uuid: String,
}

impl UuidRef {
    /// A reference to `uuid`.
    pub fn new(uuid: impl Into<String>) -> Self {
        Self { uuid: uuid.into() }
    }
}
