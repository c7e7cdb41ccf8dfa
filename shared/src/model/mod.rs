//! The Wazo confd objects Patchbay manages, in their JSON wire shapes (PJSIP
//! generation). The REST backend uses them as request/response bodies and
//! stores each as a JSON document; [`Snapshot`] gathers them all as the one
//! input of `render`, `simulate` and `lint`.
//!
//! Field names are Wazo's. Integer ids are newtypes that serialize as plain
//! integers. Unknown keys are ignored on input, as Wazo does.
//! These types carry no invariant beyond their JSON shape: `validate` says
//! whether a value is acceptable, and the renderer never trusts them.

mod context;
mod custom;
mod extension;
mod failover;
mod group;
mod iax;
mod ids;
mod object_ref;
mod incall;
mod outcall;
mod sip;
mod snapshot;
mod tenant;
mod trunk;
mod user;

pub use context::{Context, ContextKind, ContextRange, ContextRanges, RangeUse};
pub use custom::EndpointCustom;
pub use extension::Extension;
pub use group::{Group, GroupMember, RingStrategy};
pub use failover::{AttemptResult, DialStatus, FailoverAction, FailoverPolicy, FailureOutcome, sip_reason};
pub use iax::{EndpointIax, PeerType, RegisterIax};
pub use ids::{
    ContextId, CustomId, ExtensionId, GroupId, IaxId, IdRef, IncallId, LineId, OutcallId, TrunkId, UserId,
    UuidRef,
};
pub use object_ref::{ObjectKind, ObjectRef};
pub use incall::{
    CallLimit, CallerIdMode, Destination, HangupCause, Incall, TrunkDestination, TrunkFailover,
    sip_header_name_ok, sip_header_value_ok,
};
pub use outcall::{Emergency, Outcall, OutcallExtension};
pub use sip::{
    EndpointSip, OptionPair, PjsipGlobal, PjsipSectionSettings, PjsipSystem, SipSectionKind,
    SipSections, SipTemplate, Transport,
};
pub use snapshot::{ExtensionOwner, Snapshot};
pub use tenant::Tenant;
pub use trunk::{CallerIdFormat, Trunk, TrunkEndpoint, NumberCallerId};
pub use user::{Line, User};

/// serde default for Wazo's `enabled: true` fields.
fn default_true() -> bool {
    true
}

/// serde default for the `host` of IAX and legacy SIP peers: they register
/// to us from wherever they are.
pub(crate) fn default_dynamic_host() -> String {
    "dynamic".into()
}

#[cfg(test)]
mod tests;
