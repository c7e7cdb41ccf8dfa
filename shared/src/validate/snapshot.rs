//! Rules that span objects: references exist and stay inside one tenant,
//! names are unique where Wazo makes them unique, extensions are bound to
//! one thing of the right context type. Runs every per-object check too.

use super::{FieldError, objects, sip};
use crate::model::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A [`FieldError`] on a stored object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectError {
    /// The object at fault.
    pub object: ObjectRef,
    /// The field and the problem.
    pub error: FieldError,
}

struct Collector<'a> {
    snapshot: &'a Snapshot,
    errors: Vec<ObjectError>,
}

impl Collector<'_> {
    fn push(&mut self, object: ObjectRef, field: &str, message: impl Into<String>) {
        self.errors.push(ObjectError { object, error: FieldError::new(field, message) });
    }

    fn extend(&mut self, object: ObjectRef, errors: Vec<FieldError>) {
        self.errors.extend(errors.into_iter().map(|error| ObjectError { object: object.clone(), error }));
    }

    fn same_tenant(&mut self, object: &ObjectRef, field: &str, mine: &str, theirs: &str) {
        if mine != theirs {
            self.push(object.clone(), field, format!("different tenants ('{mine}' vs '{theirs}')"));
        }
    }

    fn tenant_exists(&mut self, object: &ObjectRef, tenant_uuid: &str) {
        if self.snapshot.tenant(tenant_uuid).is_none() {
            self.push(object.clone(), "tenant_uuid", format!("Tenant was not found ('{tenant_uuid}')"));
        }
    }
}

/// Every rule, per object and across objects. Empty = the snapshot may be
/// rendered as is.
pub fn snapshot(s: &Snapshot) -> Vec<ObjectError> {
    let mut c = Collector { snapshot: s, errors: Vec::new() };
    for t in &s.tenants {
        c.extend(ObjectRef::new(ObjectKind::Tenant, &t.uuid), objects::tenant(t));
    }
    contexts(&mut c);
    extensions(&mut c);
    sip_objects(&mut c);
    trunks(&mut c);
    outcalls(&mut c);
    incalls(&mut c);
    users_and_lines(&mut c);
    groups(&mut c);
    for e in &s.endpoints_iax {
        let me = ObjectRef::new(ObjectKind::EndpointIax, e.id);
        c.extend(me.clone(), objects::endpoint_iax(e));
        c.tenant_exists(&me, &e.tenant_uuid);
    }
    for e in &s.endpoints_custom {
        let me = ObjectRef::new(ObjectKind::EndpointCustom, e.id);
        c.extend(me.clone(), objects::endpoint_custom(e));
        c.tenant_exists(&me, &e.tenant_uuid);
    }
    c.extend(ObjectRef::new(ObjectKind::PjsipGlobal, "global"), objects::pjsip_global(&s.pjsip_global));
    c.extend(ObjectRef::new(ObjectKind::PjsipSystem, "system"), objects::pjsip_system(&s.pjsip_system));
    unique_names(&mut c);
    c.errors
}

fn contexts(c: &mut Collector<'_>) {
    let s = c.snapshot;
    for ctx in &s.contexts {
        let me = ObjectRef::new(ObjectKind::Context, ctx.id);
        c.extend(me.clone(), objects::context(ctx));
        c.tenant_exists(&me, &ctx.tenant_uuid);
        for include in &ctx.contexts {
            match s.context(include.id) {
                None => c.push(me.clone(), "contexts", format!("Context was not found ('id': {})", include.id)),
                Some(other) => c.same_tenant(&me, "contexts", &ctx.tenant_uuid, &other.tenant_uuid),
            }
        }
    }
}

fn extensions(c: &mut Collector<'_>) {
    let s = c.snapshot;
    let mut seen = BTreeSet::new();
    for ext in &s.extensions {
        let me = ObjectRef::new(ObjectKind::Extension, ext.id);
        let Some(ctx) = s.context_named(&ext.context) else {
            c.push(me, "context", format!("Context was not found ('context': '{}')", ext.context));
            continue;
        };
        c.extend(me.clone(), objects::extension(ext, ctx.kind));
        c.same_tenant(&me, "context", &ext.tenant_uuid, &ctx.tenant_uuid);
        if !seen.insert((ext.context.as_str(), ext.exten.as_str())) {
            c.push(me, "exten", format!("Extension already exists ('exten': '{}', 'context': '{}')", ext.exten, ext.context));
        }
    }
    // An extension is bound to at most one thing.
    let mut owners: BTreeMap<ExtensionId, Vec<String>> = BTreeMap::new();
    for o in &s.outcalls {
        for e in &o.extensions {
            owners.entry(e.extension_id).or_default().push(format!("outcall {}", o.id));
        }
    }
    for i in &s.incalls {
        if let Some(id) = i.extension_id {
            owners.entry(id).or_default().push(format!("incall {}", i.id));
        }
    }
    let mut line_exts = BTreeSet::new();
    for l in &s.lines {
        if let Some(id) = l.extension_id.filter(|id| line_exts.insert(*id)) {
            owners.entry(id).or_default().push("lines".into());
        }
    }
    for (id, users) in owners.into_iter().filter(|(_, u)| u.len() > 1) {
        c.push(ObjectRef::new(ObjectKind::Extension, id), "id", format!("Extension is associated with several objects: {}", users.join(", ")));
    }
}

fn sip_objects(c: &mut Collector<'_>) {
    let s = c.snapshot;
    for (kind, list) in [(ObjectKind::EndpointSip, &s.endpoints_sip), (ObjectKind::SipTemplate, &s.sip_templates)] {
        for ep in list {
            let me = ObjectRef::new(kind, &ep.uuid);
            c.extend(me.clone(), sip::endpoint_sip(ep));
            c.tenant_exists(&me, &ep.tenant_uuid);
            for t in &ep.templates {
                match s.sip_template(&t.uuid) {
                    None => c.push(me.clone(), "templates", format!("endpoint_sip was not found ('uuid': '{}')", t.uuid)),
                    Some(tpl) => c.same_tenant(&me, "templates", &ep.tenant_uuid, &tpl.tenant_uuid),
                }
            }
            if let Some(t) = &ep.transport
                && s.transport(&t.uuid).is_none()
            {
                c.push(me.clone(), "transport", format!("SIPTransport was not found ('uuid': '{}')", t.uuid));
            }
        }
    }
    for tpl in &s.sip_templates {
        if template_reaches(s, &tpl.uuid, &tpl.uuid, &mut BTreeSet::new()) {
            c.push(ObjectRef::new(ObjectKind::SipTemplate, &tpl.uuid), "templates", "Operation not permitted. Cannot use itself as template");
        }
    }
    for t in &s.transports {
        c.extend(ObjectRef::new(ObjectKind::Transport, &t.uuid), objects::transport(t));
    }
}

/// Whether `target` is reachable from `from`'s templates.
fn template_reaches(s: &Snapshot, from: &str, target: &str, seen: &mut BTreeSet<String>) -> bool {
    let Some(tpl) = s.sip_template(from) else { return false };
    tpl.templates.iter().any(|t| {
        t.uuid == target || (seen.insert(t.uuid.clone()) && template_reaches(s, &t.uuid, target, seen))
    })
}

fn trunks(c: &mut Collector<'_>) {
    let s = c.snapshot;
    let mut endpoints = BTreeSet::new();
    for t in &s.trunks {
        let me = ObjectRef::new(ObjectKind::Trunk, t.id);
        c.extend(me.clone(), objects::trunk(t));
        c.tenant_exists(&me, &t.tenant_uuid);
        if let Some(name) = &t.context {
            match s.context_named(name) {
                None => c.push(me.clone(), "context", format!("Context was not found ('context': '{name}')")),
                Some(ctx) => c.same_tenant(&me, "context", &t.tenant_uuid, &ctx.tenant_uuid),
            }
        }
        let Some(endpoint) = &t.endpoint else { continue };
        if !endpoints.insert(endpoint.clone()) {
            c.push(me.clone(), "endpoint", "Trunk is associated with a Endpoint: this endpoint already belongs to another trunk");
        }
        let owner = match endpoint {
            TrunkEndpoint::Sip(uuid) => {
                if s.line_of_sip(uuid).is_some() {
                    c.push(me.clone(), "endpoint_sip", "Line is associated with a Endpoint: a line's endpoint cannot be a trunk's");
                }
                s.endpoint_sip(uuid).map(|e| e.tenant_uuid.as_str())
            }
            TrunkEndpoint::Iax(id) => s.endpoint_iax(*id).map(|e| e.tenant_uuid.as_str()),
            TrunkEndpoint::Custom(id) => s.endpoint_custom(*id).map(|e| e.tenant_uuid.as_str()),
        };
        match owner {
            None => c.push(me, "endpoint", "Endpoint was not found"),
            Some(tenant) => c.same_tenant(&me, "endpoint", &t.tenant_uuid, tenant),
        }
    }
}

fn outcalls(c: &mut Collector<'_>) {
    let s = c.snapshot;
    for o in &s.outcalls {
        let me = ObjectRef::new(ObjectKind::Outcall, o.id);
        c.extend(me.clone(), objects::outcall(o));
        c.tenant_exists(&me, &o.tenant_uuid);
        for t in &o.trunks {
            match s.trunk(t.id) {
                None => c.push(me.clone(), "trunks", format!("Trunk was not found ('id': {})", t.id)),
                Some(trunk) => c.same_tenant(&me, "trunks", &o.tenant_uuid, &trunk.tenant_uuid),
            }
        }
        for e in &o.extensions {
            bound_extension(c, &me, "extensions", &o.tenant_uuid, e.extension_id, ContextKind::Outcall);
        }
    }
}

/// An extension bound to `me` exists, shares its tenant, and lives in a
/// context of the `expected` type.
fn bound_extension(c: &mut Collector<'_>, me: &ObjectRef, field: &str, tenant: &str, id: ExtensionId, expected: ContextKind) {
    let s = c.snapshot;
    let Some(ext) = s.extension(id) else {
        c.push(me.clone(), field, format!("Extension was not found ('id': {id})"));
        return;
    };
    c.same_tenant(me, field, tenant, &ext.tenant_uuid);
    if let Some(ctx) = s.context_named(&ext.context)
        && ctx.kind != expected
    {
        c.push(me.clone(), field, format!(
            "ContextType '{}' cannot be associated ('id': {id}, 'context': '{}'): expected a context of type '{}'",
            ctx.kind.as_str(), ctx.name, expected.as_str()
        ));
    }
}

fn incalls(c: &mut Collector<'_>) {
    let s = c.snapshot;
    for i in &s.incalls {
        let me = ObjectRef::new(ObjectKind::Incall, i.id);
        c.extend(me.clone(), objects::incall(i));
        c.tenant_exists(&me, &i.tenant_uuid);
        if let Some(id) = i.extension_id {
            bound_extension(c, &me, "extensions", &i.tenant_uuid, id, ContextKind::Incall);
        }
        match &i.destination {
            Destination::User { user_id, .. } => match s.user(*user_id) {
                None => c.push(me, "destination.user_id", format!("User was not found ('user_id': {user_id})")),
                Some(u) => c.same_tenant(&me, "destination.user_id", &i.tenant_uuid, &u.tenant_uuid),
            },
            Destination::Group { group_id, .. } => match s.group(*group_id) {
                None => c.push(me, "destination.group_id", format!("Group was not found ('group_id': {group_id})")),
                Some(g) => c.same_tenant(&me, "destination.group_id", &i.tenant_uuid, &g.tenant_uuid),
            },
            Destination::Extension { context, .. } => {
                if s.context_named(context).is_none() {
                    c.push(me, "destination.context", format!("Context was not found ('context': '{context}')"));
                }
            }
            Destination::Trunk(d) => {
                match s.trunk(d.trunk_id) {
                    None => c.push(me.clone(), "destination.trunk_id", format!("Trunk was not found ('trunk_id': {})", d.trunk_id)),
                    Some(t) => c.same_tenant(&me, "destination.trunk_id", &i.tenant_uuid, &t.tenant_uuid),
                }
                if let Some(TrunkFailover::Extension { context, .. }) = &d.failover
                    && s.context_named(context).is_none()
                {
                    c.push(me, "destination.failover.context", format!("Context was not found ('context': '{context}')"));
                }
            }
            Destination::None | Destination::Hangup { .. } | Destination::Custom { .. } => {}
        }
    }
}

fn groups(c: &mut Collector<'_>) {
    let s = c.snapshot;
    for g in &s.groups {
        let me = ObjectRef::new(ObjectKind::Group, g.id);
        c.extend(me.clone(), objects::group(g));
        c.tenant_exists(&me, &g.tenant_uuid);
        if let Some(id) = g.extension_id {
            bound_extension(c, &me, "extensions", &g.tenant_uuid, id, ContextKind::Internal);
        }
        for member in &g.user_members {
            match s.user(member.user_id) {
                None => c.push(me.clone(), "users", format!("User was not found ('id': {})", member.user_id)),
                Some(u) => c.same_tenant(&me, "users", &g.tenant_uuid, &u.tenant_uuid),
            }
        }
    }
}

fn users_and_lines(c: &mut Collector<'_>) {
    let s = c.snapshot;
    for u in &s.users {
        let me = ObjectRef::new(ObjectKind::User, u.id);
        c.extend(me.clone(), objects::user(u));
        c.tenant_exists(&me, &u.tenant_uuid);
    }
    let mut endpoints = BTreeSet::new();
    for l in &s.lines {
        let me = ObjectRef::new(ObjectKind::Line, l.id);
        c.extend(me.clone(), objects::line(l));
        c.tenant_exists(&me, &l.tenant_uuid);
        if let Some(id) = l.user_id {
            match s.user(id) {
                None => c.push(me.clone(), "user_id", format!("User was not found ('id': {id})")),
                Some(u) => c.same_tenant(&me, "user_id", &l.tenant_uuid, &u.tenant_uuid),
            }
        }
        if let Some(ep) = &l.endpoint_sip {
            if !endpoints.insert(ep.uuid.as_str()) {
                c.push(me.clone(), "endpoint_sip", "Line is associated with a Endpoint: this endpoint already belongs to another line");
            }
            match s.endpoint_sip(&ep.uuid) {
                None => c.push(me.clone(), "endpoint_sip", format!("endpoint_sip was not found ('uuid': '{}')", ep.uuid)),
                Some(e) => c.same_tenant(&me, "endpoint_sip", &l.tenant_uuid, &e.tenant_uuid),
            }
        }
        if let Some(id) = l.extension_id {
            bound_extension(c, &me, "extension_id", &l.tenant_uuid, id, ContextKind::Internal);
        }
    }
}

fn unique_names(c: &mut Collector<'_>) {
    let s = c.snapshot;
    let check = |c: &mut Collector<'_>, seen: &mut BTreeSet<String>, me: ObjectRef, field: &str, name: &str, what: &str| {
        if !seen.insert(name.to_owned()) {
            c.push(me, field, format!("{what} already exists ('{field}': '{name}')"));
        }
    };
    let mut contexts = BTreeSet::new();
    for ctx in &s.contexts {
        check(c, &mut contexts, ObjectRef::new(ObjectKind::Context, ctx.id), "name", &ctx.name, "Context");
    }
    // Endpoints, templates and transports share one namespace (Wazo).
    let mut sip_names = BTreeSet::new();
    for ep in &s.endpoints_sip {
        check(c, &mut sip_names, ObjectRef::new(ObjectKind::EndpointSip, &ep.uuid), "name", &ep.name, "EndpointSIP");
    }
    for tpl in &s.sip_templates {
        check(c, &mut sip_names, ObjectRef::new(ObjectKind::SipTemplate, &tpl.uuid), "name", &tpl.name, "EndpointSIP");
    }
    for t in &s.transports {
        check(c, &mut sip_names, ObjectRef::new(ObjectKind::Transport, &t.uuid), "name", &t.name, "SIPTransport");
    }
    let mut outcall_names = BTreeSet::new();
    for o in &s.outcalls {
        check(c, &mut outcall_names, ObjectRef::new(ObjectKind::Outcall, o.id), "name", &o.name, "Outcall");
    }
    let mut iax_names = BTreeSet::new();
    for e in &s.endpoints_iax {
        check(c, &mut iax_names, ObjectRef::new(ObjectKind::EndpointIax, e.id), "name", &e.name, "IAXEndpoint");
    }
    let mut interfaces = BTreeSet::new();
    for e in &s.endpoints_custom {
        let full = format!("{}{}", e.interface, e.interface_suffix.as_deref().unwrap_or(""));
        check(c, &mut interfaces, ObjectRef::new(ObjectKind::EndpointCustom, e.id), "interface", &full, "CustomEndpoint");
    }
}
