//! Tenant isolation of references: what every stored object points at, and
//! the one rule that each of those references resolves inside the object's
//! own tenant.
//!
//! A reference is an id (a trunk, a user, an extension...) or a *name* that
//! Asterisk resolves at call time (a context in an endpoint's `context`
//! option or an outcall's `preprocess_subroutine`, a PJSIP section in an
//! endpoint's `outbound_auth`, the `Local/…@context` of a custom endpoint).
//! Names matter as much as ids: a tenant that could name the master's
//! `default` context, or another tenant's `outbound_auth_…` section, could
//! place calls as that tenant or send its credentials to any host.
//!
//! [`references`] lists them for one object; the backend resolves each in
//! the caller's tenant through a [`Directory`] over its tables (foreign and
//! missing give the same 400), and [`contain`] applies the same rule to a
//! whole [`Snapshot`] before rendering, so a foreign reference that reached
//! the database anyway never reaches Asterisk.

use crate::model::*;
use crate::validate::FieldError;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// Something a reference points at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// A context by name (dialplan `[name]`).
    Context(String),
    /// A context by id (`contexts` includes).
    ContextId(ContextId),
    /// An extension by id.
    Extension(ExtensionId),
    /// A trunk by id.
    Trunk(TrunkId),
    /// A user by id.
    User(UserId),
    /// A group by id.
    Group(GroupId),
    /// A SIP endpoint by uuid.
    EndpointSip(String),
    /// A SIP template by uuid.
    SipTemplate(String),
    /// An IAX endpoint by id.
    EndpointIax(IaxId),
    /// A custom endpoint by id.
    EndpointCustom(CustomId),
    /// A PJSIP section by name: an endpoint's own `[name]` (endpoint, aor,
    /// auth, identify, registration) or its generated `outbound_auth_<name>`
    /// and `auth_reg_<name>` auth sections.
    SipSection(String),
}

/// The prefixes of the auth sections the renderer generates for an endpoint.
pub const GENERATED_AUTH_PREFIXES: [&str; 2] = ["outbound_auth_", "auth_reg_"];

impl Target {
    /// Wazo's `… was not found (…)` wording, with the key the client used.
    fn not_found(&self, key: &str) -> String {
        match self {
            Target::Context(name) => format!("Context was not found ('{key}': '{name}')"),
            Target::ContextId(id) => format!("Context was not found ('{key}': {id})"),
            Target::Extension(id) => format!("Extension was not found ('{key}': {id})"),
            Target::Trunk(id) => format!("Trunk was not found ('{key}': {id})"),
            Target::User(id) => format!("User was not found ('{key}': {id})"),
            Target::Group(id) => format!("Group was not found ('{key}': {id})"),
            Target::EndpointSip(uuid) => format!("endpoint_sip was not found ('{key}': '{uuid}')"),
            Target::SipTemplate(uuid) => format!("endpoint_sip was not found ('{key}': '{uuid}')"),
            Target::EndpointIax(id) => format!("IAXEndpoint was not found ('{key}': {id})"),
            Target::EndpointCustom(id) => format!("CustomEndpoint was not found ('{key}': {id})"),
            Target::SipSection(name) => format!("EndpointSIP was not found ('{key}': '{name}')"),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Context(name) => write!(f, "context '{name}'"),
            Target::ContextId(id) => write!(f, "context {id}"),
            Target::Extension(id) => write!(f, "extension {id}"),
            Target::Trunk(id) => write!(f, "trunk {id}"),
            Target::User(id) => write!(f, "user {id}"),
            Target::Group(id) => write!(f, "group {id}"),
            Target::EndpointSip(uuid) => write!(f, "SIP endpoint {uuid}"),
            Target::SipTemplate(uuid) => write!(f, "SIP template {uuid}"),
            Target::EndpointIax(id) => write!(f, "IAX endpoint {id}"),
            Target::EndpointCustom(id) => write!(f, "custom endpoint {id}"),
            Target::SipSection(name) => write!(f, "PJSIP section '{name}'"),
        }
    }
}

/// One reference of an object: the field it sits in (as the API names it),
/// the key shown in the error, and what it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The top-level field of the object (`destination`, `endpoint_section_options`).
    pub field: &'static str,
    /// The key named in the message (`trunk_id`, `context`, `outbound_auth`).
    pub key: String,
    /// What it points at.
    pub target: Target,
}

impl Reference {
    fn new(field: &'static str, key: impl Into<String>, target: Target) -> Reference {
        Reference { field, key: key.into(), target }
    }

    /// The 400 a client gets when this reference does not resolve in its
    /// tenant: the same words whether the target is missing or foreign.
    pub fn error(&self) -> FieldError {
        FieldError::new(format!("field '{}'", self.field), self.target.not_found(&self.key))
    }
}

/// Where references are resolved: the backend's tables, or a [`Snapshot`].
pub trait Directory {
    /// Whether `target` exists in `tenant`. Another tenant's object and a
    /// missing one are both `false`.
    fn resolves(&self, tenant: &str, target: &Target) -> bool;
}

/// A stored object whose references can be listed.
#[derive(Debug, Clone, Copy)]
pub enum Object<'a> {
    Context(&'a Context),
    Extension(&'a Extension),
    Trunk(&'a Trunk),
    EndpointSip(&'a EndpointSip),
    SipTemplate(&'a SipTemplate),
    EndpointIax(&'a EndpointIax),
    EndpointCustom(&'a EndpointCustom),
    Outcall(&'a Outcall),
    Incall(&'a Incall),
    Line(&'a Line),
    Group(&'a Group),
}

impl Object<'_> {
    /// The tenant the object belongs to: its references must resolve there.
    pub fn tenant(&self) -> &str {
        match self {
            Object::Context(o) => &o.tenant_uuid,
            Object::Extension(o) => &o.tenant_uuid,
            Object::Trunk(o) => &o.tenant_uuid,
            Object::EndpointSip(o) | Object::SipTemplate(o) => &o.tenant_uuid,
            Object::EndpointIax(o) => &o.tenant_uuid,
            Object::EndpointCustom(o) => &o.tenant_uuid,
            Object::Outcall(o) => &o.tenant_uuid,
            Object::Incall(o) => &o.tenant_uuid,
            Object::Line(o) => &o.tenant_uuid,
            Object::Group(o) => &o.tenant_uuid,
        }
    }

    /// The object as the rest of the domain names it.
    pub fn object_ref(&self) -> ObjectRef {
        match self {
            Object::Context(o) => ObjectRef::new(ObjectKind::Context, o.id),
            Object::Extension(o) => ObjectRef::new(ObjectKind::Extension, o.id),
            Object::Trunk(o) => ObjectRef::new(ObjectKind::Trunk, o.id),
            Object::EndpointSip(o) => ObjectRef::new(ObjectKind::EndpointSip, &o.uuid),
            Object::SipTemplate(o) => ObjectRef::new(ObjectKind::SipTemplate, &o.uuid),
            Object::EndpointIax(o) => ObjectRef::new(ObjectKind::EndpointIax, o.id),
            Object::EndpointCustom(o) => ObjectRef::new(ObjectKind::EndpointCustom, o.id),
            Object::Outcall(o) => ObjectRef::new(ObjectKind::Outcall, o.id),
            Object::Incall(o) => ObjectRef::new(ObjectKind::Incall, o.id),
            Object::Line(o) => ObjectRef::new(ObjectKind::Line, o.id),
            Object::Group(o) => ObjectRef::new(ObjectKind::Group, o.id),
        }
    }
}

/// PJSIP endpoint options whose value is a dialplan context.
pub const ENDPOINT_CONTEXT_OPTIONS: [&str; 4] = ["context", "subscribe_context", "message_context", "overlap_context"];
/// PJSIP options (per section) whose value is a list of PJSIP section names.
const SECTION_NAME_OPTIONS: [(SipSectionKind, &str); 6] = [
    (SipSectionKind::Endpoint, "aors"),
    (SipSectionKind::Endpoint, "auth"),
    (SipSectionKind::Endpoint, "outbound_auth"),
    (SipSectionKind::Identify, "endpoint"),
    (SipSectionKind::Registration, "endpoint"),
    (SipSectionKind::Registration, "outbound_auth"),
];

/// Every reference `object` holds, in field order.
pub fn references(object: Object<'_>) -> Vec<Reference> {
    let mut out = Vec::new();
    match object {
        Object::Context(c) => {
            for include in &c.contexts {
                out.push(Reference::new("contexts", "id", Target::ContextId(include.id)));
            }
        }
        Object::Extension(e) => out.push(Reference::new("context", "context", Target::Context(e.context.clone()))),
        Object::Trunk(t) => {
            if let Some(context) = &t.context {
                out.push(Reference::new("context", "context", Target::Context(context.clone())));
            }
            match &t.endpoint {
                Some(TrunkEndpoint::Sip(uuid)) => out.push(Reference::new("endpoint_sip", "uuid", Target::EndpointSip(uuid.clone()))),
                Some(TrunkEndpoint::Iax(id)) => out.push(Reference::new("endpoint_iax", "id", Target::EndpointIax(*id))),
                Some(TrunkEndpoint::Custom(id)) => out.push(Reference::new("endpoint_custom", "id", Target::EndpointCustom(*id))),
                None => {}
            }
        }
        Object::EndpointSip(e) | Object::SipTemplate(e) => sip_references(e, &mut out),
        Object::EndpointIax(e) => {
            for (key, value) in &e.options {
                if key.eq_ignore_ascii_case("context") {
                    out.push(Reference::new("options", "context", Target::Context(value.trim().to_owned())));
                }
            }
        }
        Object::EndpointCustom(e) => {
            if let Some(context) = local_channel_context(&e.interface, e.interface_suffix.as_deref()) {
                out.push(Reference::new("interface", "context", Target::Context(context)));
            }
        }
        Object::Outcall(o) => {
            for trunk in &o.trunks {
                out.push(Reference::new("trunks", "id", Target::Trunk(trunk.id)));
            }
            for extension in &o.extensions {
                out.push(Reference::new("extensions", "id", Target::Extension(extension.extension_id)));
            }
            if let Some(subroutine) = o.preprocess_subroutine.as_deref().filter(|s| !s.is_empty()) {
                out.push(Reference::new("preprocess_subroutine", "preprocess_subroutine", Target::Context(subroutine.to_owned())));
            }
        }
        Object::Incall(i) => {
            if let Some(id) = i.extension_id {
                out.push(Reference::new("extensions", "id", Target::Extension(id)));
            }
            match &i.destination {
                Destination::User { user_id, .. } => out.push(Reference::new("destination", "user_id", Target::User(*user_id))),
                Destination::Group { group_id, .. } => out.push(Reference::new("destination", "group_id", Target::Group(*group_id))),
                Destination::Extension { context, .. } => {
                    out.push(Reference::new("destination", "context", Target::Context(context.clone())));
                }
                Destination::Trunk(d) => {
                    out.push(Reference::new("destination", "trunk_id", Target::Trunk(d.trunk_id)));
                    if let Some(TrunkFailover::Extension { context, .. }) = &d.failover {
                        out.push(Reference::new("destination", "failover.context", Target::Context(context.clone())));
                    }
                }
                Destination::None | Destination::Hangup { .. } | Destination::Custom { .. } => {}
            }
        }
        Object::Line(l) => {
            if let Some(id) = l.user_id {
                out.push(Reference::new("user_id", "id", Target::User(id)));
            }
            if let Some(endpoint) = &l.endpoint_sip {
                out.push(Reference::new("endpoint_sip", "uuid", Target::EndpointSip(endpoint.uuid.clone())));
            }
            if let Some(id) = l.extension_id {
                out.push(Reference::new("extension_id", "id", Target::Extension(id)));
            }
        }
        Object::Group(g) => {
            if let Some(id) = g.extension_id {
                out.push(Reference::new("extensions", "id", Target::Extension(id)));
            }
            for member in &g.user_members {
                out.push(Reference::new("users", "id", Target::User(member.user_id)));
            }
        }
    }
    out
}

fn sip_references(e: &EndpointSip, out: &mut Vec<Reference>) {
    for template in &e.templates {
        out.push(Reference::new("templates", "uuid", Target::SipTemplate(template.uuid.clone())));
    }
    for kind in SipSectionKind::ALL {
        let field = kind.field_name();
        for (key, value) in e.sections.get(kind) {
            let key = key.trim();
            if kind == SipSectionKind::Endpoint && ENDPOINT_CONTEXT_OPTIONS.iter().any(|k| key.eq_ignore_ascii_case(k)) {
                out.push(Reference::new(field, key, Target::Context(value.trim().to_owned())));
            }
            if SECTION_NAME_OPTIONS.iter().any(|(k, name)| *k == kind && key.eq_ignore_ascii_case(name)) {
                // Asterisk reads these as comma-separated lists of names.
                for name in value.split(',').map(str::trim).filter(|name| !name.is_empty()) {
                    out.push(Reference::new(field, key, Target::SipSection(name.to_owned())));
                }
            }
        }
    }
}

/// The context a `Local/exten@context[/options]` dial string enters, if the
/// custom interface (with its suffix) is a Local channel.
pub fn local_channel_context(interface: &str, suffix: Option<&str>) -> Option<String> {
    let full = format!("{interface}/X{}", suffix.unwrap_or(""));
    let (tech, rest) = full.split_once('/')?;
    if !tech.eq_ignore_ascii_case("local") {
        return None;
    }
    // Local/<exten>@<context>[/<options>]; without `@` Asterisk uses `default`.
    let context = match rest.split_once('@') {
        Some((_, after)) => after.split('/').next().unwrap_or("").to_owned(),
        None => "default".to_owned(),
    };
    Some(context)
}

/// The references of `object` that do not resolve in its tenant, as the
/// 400 a client gets (every one of them, in field order).
pub fn unresolved(object: Object<'_>, directory: &dyn Directory) -> Vec<FieldError> {
    let tenant = object.tenant();
    let mut seen = BTreeSet::new();
    references(object)
        .into_iter()
        .filter(|reference| !directory.resolves(tenant, &reference.target))
        .map(|reference| reference.error())
        .filter(|error| seen.insert((error.field.clone(), error.message.clone())))
        .collect()
}

/// Whether `tenant`'s outcalls and incalls may dial `trunk`: its own, or one
/// its owner shares with it. Only SIP and IAX trunks can be shared: a custom
/// interface (`Local/…@context`) would enter the owner's dialplan. Sharing
/// lends the trunk's id alone; its endpoint, sections and context stay the
/// owner's and resolve for nobody else.
pub fn trunk_usable_by(trunk: &Trunk, tenant: &str) -> bool {
    trunk.tenant_uuid == tenant || (trunk_shareable(trunk) && trunk.shared_with.iter().any(|t| t == tenant))
}

/// Whether a trunk's kind allows sharing (SIP or IAX endpoint, or none yet).
pub fn trunk_shareable(trunk: &Trunk) -> bool {
    !matches!(trunk.endpoint, Some(TrunkEndpoint::Custom(_)))
}

/// A [`Snapshot`] indexed by owner, for resolving many references at once.
pub struct SnapshotDirectory<'a> {
    owners: HashMap<Target, &'a str>,
    /// Trunks shared with other tenants ([`trunk_usable_by`]).
    trunks: HashMap<TrunkId, &'a Trunk>,
}

impl<'a> SnapshotDirectory<'a> {
    pub fn new(s: &'a Snapshot) -> SnapshotDirectory<'a> {
        let mut owners: HashMap<Target, &'a str> = HashMap::new();
        for c in &s.contexts {
            owners.insert(Target::Context(c.name.clone()), &c.tenant_uuid);
            owners.insert(Target::ContextId(c.id), &c.tenant_uuid);
        }
        for e in &s.extensions {
            owners.insert(Target::Extension(e.id), &e.tenant_uuid);
        }
        let mut trunks = HashMap::new();
        for t in &s.trunks {
            owners.insert(Target::Trunk(t.id), &t.tenant_uuid);
            trunks.insert(t.id, t);
        }
        for u in &s.users {
            owners.insert(Target::User(u.id), &u.tenant_uuid);
        }
        for g in &s.groups {
            owners.insert(Target::Group(g.id), &g.tenant_uuid);
        }
        for e in &s.endpoints_sip {
            owners.insert(Target::EndpointSip(e.uuid.clone()), &e.tenant_uuid);
            owners.insert(Target::SipSection(e.name.clone()), &e.tenant_uuid);
            for prefix in GENERATED_AUTH_PREFIXES {
                owners.insert(Target::SipSection(format!("{prefix}{}", e.name)), &e.tenant_uuid);
            }
        }
        for t in &s.sip_templates {
            owners.insert(Target::SipTemplate(t.uuid.clone()), &t.tenant_uuid);
        }
        for e in &s.endpoints_iax {
            owners.insert(Target::EndpointIax(e.id), &e.tenant_uuid);
        }
        for e in &s.endpoints_custom {
            owners.insert(Target::EndpointCustom(e.id), &e.tenant_uuid);
        }
        SnapshotDirectory { owners, trunks }
    }

    /// The tenant that owns `target`, if it exists.
    pub fn owner(&self, target: &Target) -> Option<&'a str> {
        self.owners.get(target).copied()
    }
}

impl Directory for SnapshotDirectory<'_> {
    fn resolves(&self, tenant: &str, target: &Target) -> bool {
        match target {
            Target::Trunk(id) => self.trunks.get(id).is_some_and(|trunk| trunk_usable_by(trunk, tenant)),
            _ => self.owner(target) == Some(tenant),
        }
    }
}

/// Every object of a snapshot, as [`Object`]s.
pub fn objects(s: &Snapshot) -> impl Iterator<Item = Object<'_>> {
    s.contexts
        .iter()
        .map(Object::Context)
        .chain(s.extensions.iter().map(Object::Extension))
        .chain(s.trunks.iter().map(Object::Trunk))
        .chain(s.endpoints_sip.iter().map(Object::EndpointSip))
        .chain(s.sip_templates.iter().map(Object::SipTemplate))
        .chain(s.endpoints_iax.iter().map(Object::EndpointIax))
        .chain(s.endpoints_custom.iter().map(Object::EndpointCustom))
        .chain(s.outcalls.iter().map(Object::Outcall))
        .chain(s.incalls.iter().map(Object::Incall))
        .chain(s.lines.iter().map(Object::Line))
        .chain(s.groups.iter().map(Object::Group))
}

/// An object left out of the rendered configuration because it points into
/// another tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The object left out.
    pub object: ObjectRef,
    /// Its tenant.
    pub tenant_uuid: String,
    /// The foreign reference.
    pub reference: Reference,
}

/// The references of every object that point into *another* tenant (a
/// missing target is not listed: dangling references are the validator's
/// business, and render already skips what does not exist).
pub fn foreign_references(s: &Snapshot) -> Vec<Quarantined> {
    let directory = SnapshotDirectory::new(s);
    let mut out = Vec::new();
    for object in objects(s) {
        for reference in references(object) {
            if directory.owner(&reference.target).is_some() && !directory.resolves(object.tenant(), &reference.target) {
                out.push(Quarantined { object: object.object_ref(), tenant_uuid: object.tenant().to_owned(), reference });
            }
        }
    }
    out
}

/// `s` without the objects that point into another tenant, and the list of
/// what was left out. Rendering works on the contained snapshot, so even a
/// database written before these checks (or by hand) cannot make one
/// tenant's configuration name another's context or endpoint.
pub fn contain(s: &Snapshot) -> (Snapshot, Vec<Quarantined>) {
    let quarantined = foreign_references(s);
    if quarantined.is_empty() {
        return (s.clone(), quarantined);
    }
    let out: BTreeMap<ObjectRef, ()> = quarantined.iter().map(|q| (q.object.clone(), ())).collect();
    let keep = |object: Object<'_>| !out.contains_key(&object.object_ref());
    let mut contained = s.clone();
    contained.contexts.retain(|o| keep(Object::Context(o)));
    contained.extensions.retain(|o| keep(Object::Extension(o)));
    contained.trunks.retain(|o| keep(Object::Trunk(o)));
    contained.endpoints_sip.retain(|o| keep(Object::EndpointSip(o)));
    contained.sip_templates.retain(|o| keep(Object::SipTemplate(o)));
    contained.endpoints_iax.retain(|o| keep(Object::EndpointIax(o)));
    contained.endpoints_custom.retain(|o| keep(Object::EndpointCustom(o)));
    contained.outcalls.retain(|o| keep(Object::Outcall(o)));
    contained.incalls.retain(|o| keep(Object::Incall(o)));
    contained.lines.retain(|o| keep(Object::Line(o)));
    contained.groups.retain(|o| keep(Object::Group(o)));
    (contained, quarantined)
}

#[cfg(test)]
mod tests;
