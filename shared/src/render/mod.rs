//! Asterisk configuration from a [`Snapshot`]: pjsip.conf, extensions.conf
//! and iax.conf, each as a structured [`ConfigFile`] (for AMI `UpdateConfig`)
//! whose text form derives from it. Deterministic: the same snapshot gives
//! byte-identical files, ordered by name or id so diffs stay small.
//!
//! **Invariant:** only [`escape`] writes config text, and every user string
//! reaches a file through one of its functions.

mod config;
mod dialplan;
pub mod escape;
mod extensions;
mod iax;
pub mod live;
mod pjsip;

pub use config::{ConfigFile, Section};
pub use dialplan::{
    custom_command, group_dial,
    CALLER_ID_BY_NUMBER_PREFIX, TRUNK_DID_PREFIX,
    CALL_LIMIT_CATEGORY, DIALLED_NUMBER_CHARS, DialplanPlan, ExtensionRole, INCALL_HEADERS_PREFIX,
    NUMBER_FORMAT_PREFIX, TRUNK_INBOUND_PREFIX, inbound_plan, number_vars, outbound_plan, trunk_entry_context,
    PlannedContext, PlannedExtension, Priority, Rejected, SUBROUTINE_PREFIX, attempt_vars, number_for_trunks,
    outcall_trunks, trunk_dial_by_id, trunk_dial_string, trunk_destination_dial, trunk_failover_sip_dial,
    trunk_timeouts,
};
pub(crate) use pjsip::outgoing_vars;
pub use extensions::extensions_conf;
pub use iax::iax_conf;
pub use pjsip::{pjsip_conf, pjsip_trunk_objects};

use crate::model::Snapshot;
use serde::Serialize;

/// Every file Patchbay owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// pjsip.conf.
    pub pjsip: ConfigFile,
    /// extensions.conf.
    pub extensions: ConfigFile,
    /// iax.conf.
    pub iax: ConfigFile,
}

/// Renders all files. Objects that point into another tenant are left out
/// ([`crate::tenancy::contain`]): one tenant's configuration never names
/// another's context or endpoint, whatever the database holds.
pub fn render(s: &Snapshot) -> Rendered {
    let (contained, _) = crate::tenancy::contain(s);
    let s = &contained;
    Rendered {
        pjsip: pjsip_conf(s),
        extensions: extensions_conf(&DialplanPlan::new(s)),
        iax: iax_conf(s),
    }
}

#[cfg(test)]
mod tests;
