//! What of the whole configuration a caller may see: its tenants' objects
//! and the trunks shared with them, cut down. A leaf of the API (the
//! simulator, lint, preview and trunk test mode all start from it).

use super::auth::Caller;
use super::error::ApiResult;
use crate::api::AppState;
use patchbay_shared::model::{EndpointIax, EndpointSip, Snapshot, Trunk, TrunkEndpoint};
use patchbay_shared::tenancy;

/// Everything the caller may see, and nothing else: another tenant's objects
/// (and their secrets) never leave the server.
pub fn visible_snapshot(state: &AppState, caller: &Caller) -> ApiResult<Snapshot> {
    let full = state.store.read(crate::snapshot::load_snapshot)?;
    if caller.is_master() && caller.tenant_uuid == caller.account.tenant_uuid {
        return Ok(full);
    }
    let mine = |tenant: &str| caller.visible.iter().any(|visible| visible == tenant);
    let (shared_trunks, shared_sip, shared_iax) = shared_with_caller(&full, caller);
    Ok(Snapshot {
        tenants: full.tenants.into_iter().filter(|t| mine(&t.uuid)).collect(),
        contexts: full.contexts.into_iter().filter(|o| mine(&o.tenant_uuid)).collect(),
        extensions: full.extensions.into_iter().filter(|o| mine(&o.tenant_uuid)).collect(),
        trunks: full.trunks.into_iter().filter(|o| mine(&o.tenant_uuid)).chain(shared_trunks).collect(),
        endpoints_sip: full.endpoints_sip.into_iter().filter(|o| mine(&o.tenant_uuid)).chain(shared_sip).collect(),
        sip_templates: full.sip_templates.into_iter().filter(|o| mine(&o.tenant_uuid)).collect(),
        endpoints_iax: full.endpoints_iax.into_iter().filter(|o| mine(&o.tenant_uuid)).chain(shared_iax).collect(),
        endpoints_custom: full.endpoints_custom.into_iter().filter(|o| mine(&o.tenant_uuid)).collect(),
        outcalls: full.outcalls.into_iter().filter(|o| mine(&o.tenant_uuid)).collect(),
        incalls: full.incalls.into_iter().filter(|o| mine(&o.tenant_uuid)).collect(),
        users: full.users.into_iter().filter(|o| mine(&o.tenant_uuid)).collect(),
        lines: full.lines.into_iter().filter(|o| mine(&o.tenant_uuid)).collect(),
        groups: full.groups.into_iter().filter(|o| mine(&o.tenant_uuid)).collect(),
        transports: full.transports,
        ..Snapshot::default()
    })
}

/// The trunks other tenants share with the caller's, as much of them as
/// dialling and simulating need: the trunk without its inbound context or
/// share list, its endpoint with its name only (no host, credentials or
/// options). Their `tenant_uuid` stays the owner's: `shared::tenancy`
/// resolves them through `shared_with`, which keeps just the caller's tenants.
fn shared_with_caller(full: &Snapshot, caller: &Caller) -> (Vec<Trunk>, Vec<EndpointSip>, Vec<EndpointIax>) {
    let mut trunks = Vec::new();
    let (mut sip, mut iax) = (Vec::new(), Vec::new());
    for trunk in &full.trunks {
        if caller.visible.contains(&trunk.tenant_uuid) || !caller.visible.iter().any(|t| tenancy::trunk_usable_by(trunk, t)) {
            continue;
        }
        match &trunk.endpoint {
            Some(TrunkEndpoint::Sip(uuid)) => {
                if let Some(endpoint) = full.endpoint_sip(uuid) {
                    sip.push(EndpointSip {
                        uuid: endpoint.uuid.clone(),
                        tenant_uuid: endpoint.tenant_uuid.clone(),
                        name: endpoint.name.clone(),
                        label: endpoint.label.clone(),
                        sections: Default::default(),
                        templates: Vec::new(),
                        transport: None,
                        asterisk_id: None,
                    });
                }
            }
            Some(TrunkEndpoint::Iax(id)) => {
                if let Some(endpoint) = full.endpoint_iax(*id) {
                    iax.push(EndpointIax { options: Vec::new(), host: "dynamic".into(), ..endpoint.clone() });
                }
            }
            _ => continue,
        }
        let shared_with = trunk.shared_with.iter().filter(|t| caller.visible.contains(t)).cloned().collect();
        trunks.push(Trunk { context: None, shared_with, ..trunk.clone() });
    }
    (trunks, sip, iax)
}
