//! What a caller reads of one Asterisk's sync: connected, in sync, the last
//! pass, the objects Asterisk refused, and the revision it holds, filtered
//! to the viewer's tenants.

use super::*;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AsteriskStatus {
    pub connected: bool,
    pub message: String,
    /// Endpoint names Asterisk reported after the last pass.
    pub endpoints: Vec<String>,
    /// Why the last pass failed as a whole (Asterisk could not be reached,
    /// a file could not be written); `None` once a pass succeeds. Never
    /// names a tenant's object: those are in `failed` and `differences`.
    pub last_error: Option<String>,
    /// Whether Asterisk has what the database says, for the viewer: its
    /// files read back as written, every object of the viewer's tenants and
    /// every transport loaded.
    pub in_sync: bool,
    /// Unix time (s) of the last comparison with what Asterisk has.
    pub last_check_at: Option<u64>,
    /// The last pass that changed something in Asterisk.
    pub last_apply: Option<ApplyReport>,
    /// Live dialplan edits applied whose file write is still to come.
    pub dialplan_file_pending: bool,
    /// Objects Asterisk did not load, each with its owner and why; the rest
    /// of the configuration is applied.
    pub failed: Vec<verdict::ObjectFailure>,
    /// Keys that read back from Asterisk differently from what was written.
    pub differences: Vec<verdict::Difference>,
    /// Sections the base `pjsip.conf` defines, which Patchbay therefore
    /// does not write (transports: the base's one is used).
    pub from_base_config: Vec<String>,
    /// The database revision of the last committed change.
    pub revision: Revision,
    /// The revision Asterisk holds for the viewer's tenants, as read back
    /// by the last pass of this AMI session (`None`: nothing read back).
    pub revision_live: Option<Revision>,
    /// A committed change is on its way to Asterisk (no finished pass has
    /// covered it yet).
    pub pending: bool,
    /// The highest revision a finished pass covered: once it reaches a
    /// client's revision, that change is live or listed in `failed`.
    pub revision_checked: Option<Revision>,
    /// `in_sync` apart from `failed` and `differences`: connected, last
    /// pass complete, transports listed.
    #[serde(skip)]
    pub globally_ok: bool,
    /// Which revision Asterisk holds, per tenant.
    #[serde(skip)]
    pub held: self::core::Held,
    /// Owner of each name in `endpoints` (`None`: not Patchbay's).
    #[serde(skip)]
    pub endpoint_owners: BTreeMap<String, Option<verdict::Owner>>,
}

impl AsteriskStatus {
    /// What `viewer` may see: its tenants' endpoints, failures and
    /// differences, and what all tenants share; `in_sync` judged on those.
    pub fn for_viewer(&self, viewer: Viewer) -> AsteriskStatus {
        let mut view = self.clone();
        view.endpoints.retain(|name| viewer.sees(self.endpoint_owners.get(name).and_then(Option::as_ref)));
        view.failed.retain(|failure| viewer.sees(failure.owner.as_ref()));
        view.differences.retain(|difference| viewer.sees(difference.owner.as_ref()));
        if !matches!(viewer, Viewer::All) {
            view.from_base_config.clear();
        }
        view.in_sync = verdict::in_sync_for(viewer, self.globally_ok, &self.failed, &self.differences) && !self.pending;
        view.revision_live = match viewer {
            Viewer::All => self.held.behind.values().fold(self.held.revision, |low, behind| low.min(*behind)),
            Viewer::Tenants(tenants) => tenants.iter().fold(self.held.revision, |low, tenant| low.min(self.held.for_tenant(tenant))),
        };
        if self.connected && self.globally_ok {
            // Another tenant's refused object is no news to this viewer.
            view.message = message_after_pass(view.failed.is_empty() && view.differences.is_empty()).into();
        }
        view
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ApplyReport {
    /// Unix time (s).
    pub at: u64,
    /// `full` (files written and reloaded) or `incremental` (live dialplan
    /// edits).
    pub mode: &'static str,
    pub files: Vec<String>,
    pub millis: u64,
}
