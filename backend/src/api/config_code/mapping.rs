//! Stored documents ↔ the configuration document, without I/O.
//!
//! [`export_tenant`] walks a tenant's stored objects and names every
//! reference; [`desired_rows`] goes back: it finds each named object among
//! the stored ones (same tenant only) to keep its id and uuid, allocates ids
//! for new ones in document order, and produces the rows the tenant should
//! have. Both record which rows they *manage*: what the document does not
//! describe (a trunk without an endpoint, a line without a user) is left
//! alone rather than deleted.

use super::doc::*;
use crate::secrets::is_secret_key;
use crate::store::{Kind, ObjectRow, Tenant};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

/// The kinds a document manages, in the order their rows are written
/// (deletions go in reverse).
pub const MANAGED_KINDS: [Kind; 13] = [
    Kind::Context,
    Kind::SipTemplate,
    Kind::EndpointSip,
    Kind::EndpointIax,
    Kind::EndpointCustom,
    Kind::RegisterSip,
    Kind::Trunk,
    Kind::Extension,
    Kind::Outcall,
    Kind::User,
    Kind::Line,
    Kind::Group,
    Kind::Incall,
];

/// A group's fields the document carries apart (`GroupDoc`'s own), and
/// those it never carries (generated, or relations shown by the API).
const GROUP_OWN_FIELDS: [&str; 5] = ["name", "label", "uuid", "user_members", "extension_id"];

/// Wazo's default for each group setting (`GroupDoc::settings` holds the
/// others).
fn group_defaults() -> Map<String, Value> {
    let mut defaults = (crate::api::groups::GROUPS.defaults)();
    for key in GROUP_OWN_FIELDS {
        defaults.remove(key);
    }
    defaults
}

/// Everything stored that a document can describe or name: every tenant's
/// rows of the managed kinds, and the shared transports.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    pub tenants: Vec<Tenant>,
    pub rows: HashMap<Kind, Vec<ObjectRow>>,
}

impl Stored {
    pub fn of(&self, kind: Kind) -> &[ObjectRow] {
        self.rows.get(&kind).map(Vec::as_slice).unwrap_or_default()
    }

    fn in_tenant(&self, kind: Kind, tenant: &str) -> impl Iterator<Item = &ObjectRow> {
        let tenant = tenant.to_string();
        self.of(kind).iter().filter(move |row| row.tenant_uuid.as_deref() == Some(tenant.as_str()))
    }

    fn by_id(&self, kind: Kind, tenant: &str, id: Option<i64>) -> Option<&ObjectRow> {
        let id = id?;
        self.in_tenant(kind, tenant).find(|row| row.id == id)
    }

    fn by_uuid(&self, kind: Kind, tenant: &str, uuid: Option<&str>) -> Option<&ObjectRow> {
        let uuid = uuid?;
        self.in_tenant(kind, tenant).find(|row| row.uuid.as_deref() == Some(uuid))
    }

    fn named(&self, kind: Kind, tenant: &str, key: &str, value: &str) -> Option<&ObjectRow> {
        self.in_tenant(kind, tenant).find(|row| row.body.get(key).and_then(Value::as_str) == Some(value))
    }

    pub fn tenant_by_slug(&self, slug: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.slug == slug)
    }

    /// The trunk's name: its endpoint's (SIP or IAX name, custom interface).
    pub fn trunk_name(&self, trunk: &ObjectRow) -> Option<String> {
        let tenant = trunk.tenant_uuid.as_deref()?;
        let body = &trunk.body;
        if let Some(endpoint) = self.by_uuid(Kind::EndpointSip, tenant, body["endpoint_sip"]["uuid"].as_str()) {
            return endpoint.body["name"].as_str().map(str::to_string);
        }
        if let Some(endpoint) = self.by_id(Kind::EndpointIax, tenant, body["endpoint_iax"]["id"].as_i64()) {
            return endpoint.body["name"].as_str().map(str::to_string);
        }
        if let Some(endpoint) = self.by_id(Kind::EndpointCustom, tenant, body["endpoint_custom"]["id"].as_i64()) {
            return endpoint.body["interface"].as_str().map(str::to_string);
        }
        None
    }
}

/// One row a document describes, with the name a person knows it by.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: Kind,
    pub row: ObjectRow,
    pub name: String,
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

fn pairs(value: &Value) -> Vec<(String, String)> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

/// The environment variable an exported secret refers to: derived from where
/// it sits, so each secret of a file has its own.
pub fn env_name(parts: &[&str]) -> String {
    let joined = parts.join("_");
    let mut name: String = joined.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    while name.contains("__") {
        name = name.replace("__", "_");
    }
    format!("PATCHBAY_SECRET_{}", name.trim_matches('_'))
}

fn secret_ref(env: String) -> Text {
    Text::Secret(SecretRef { secret: format!("env:{env}") })
}

fn option_list(stored: &Value, env_parts: &[&str]) -> OptionList {
    pairs(stored)
        .into_iter()
        .map(|(key, value)| {
            let value = if is_secret_key(&key) {
                let mut parts = env_parts.to_vec();
                parts.push(&key);
                secret_ref(env_name(&parts))
            } else {
                Text::Plain(value)
            };
            (key, value)
        })
        .collect()
}

/// What an export of one tenant produced: the document part and the rows it
/// describes (those an apply of a document for this tenant may change or delete).
pub struct Exported {
    pub doc: TenantDoc,
    pub managed: Vec<Entry>,
}

struct Exporter<'s> {
    stored: &'s Stored,
    tenant: &'s Tenant,
    managed: Vec<Entry>,
}

impl Exporter<'_> {
    fn manage(&mut self, kind: Kind, row: &ObjectRow, name: impl Into<String>) {
        self.managed.push(Entry { kind, row: row.clone(), name: name.into() });
    }

    fn sip(&mut self, kind: Kind, row: &ObjectRow, with_name: bool) -> SipDoc {
        let tenant = &self.tenant.uuid;
        let name = text(&row.body["name"]).unwrap_or_default();
        self.manage(kind, row, name.clone());
        let templates = row.body["templates"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| self.stored.by_uuid(Kind::SipTemplate, tenant, t["uuid"].as_str()))
            .filter_map(|t| text(&t.body["name"]))
            .collect();
        let transport = row.body["transport"]["uuid"]
            .as_str()
            .and_then(|uuid| self.stored.of(Kind::Transport).iter().find(|t| t.uuid.as_deref() == Some(uuid)))
            .and_then(|t| text(&t.body["name"]));
        let mut doc = SipDoc {
            name: with_name.then(|| name.clone()),
            label: text(&row.body["label"]),
            templates,
            transport,
            asterisk_id: text(&row.body["asterisk_id"]),
            ..SipDoc::default()
        };
        for (short, stored_key) in SIP_SECTIONS {
            *doc.section_mut(short) = option_list(&row.body[stored_key], &[&self.tenant.slug, &name, short]);
        }
        doc
    }

    fn extension(&mut self, id: Option<i64>) -> Option<ExtensionDoc> {
        let row = self.stored.by_id(Kind::Extension, &self.tenant.uuid, id)?;
        let doc = ExtensionDoc {
            exten: text(&row.body["exten"]).unwrap_or_default(),
            context: text(&row.body["context"]).unwrap_or_default(),
            enabled: row.body["enabled"].as_bool().unwrap_or(true),
        };
        self.manage(Kind::Extension, row, format!("{}@{}", doc.exten, doc.context));
        Some(doc)
    }
}

pub fn export_tenant(stored: &Stored, tenant: &Tenant) -> Exported {
    let mut ex = Exporter { stored, tenant, managed: Vec::new() };
    let uuid = tenant.uuid.as_str();
    let mut doc = TenantDoc { slug: tenant.slug.clone(), name: tenant.name.clone(), ..TenantDoc::default() };

    for row in stored.in_tenant(Kind::Context, uuid) {
        let includes = row.body["contexts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| stored.by_id(Kind::Context, uuid, c["id"].as_i64()))
            .filter_map(|c| text(&c.body["name"]))
            .collect();
        let context = ContextDoc {
            name: text(&row.body["name"]).unwrap_or_default(),
            label: text(&row.body["label"]).unwrap_or_default(),
            kind: text(&row.body["type"]).unwrap_or_else(|| "internal".into()),
            description: text(&row.body["description"]),
            enabled: row.body["enabled"].as_bool().unwrap_or(true),
            includes,
        };
        ex.manage(Kind::Context, row, context.name.clone());
        doc.contexts.push(context);
    }
    for row in stored.in_tenant(Kind::SipTemplate, uuid) {
        let template = ex.sip(Kind::SipTemplate, row, true);
        doc.sip_templates.push(template);
    }
    for row in stored.in_tenant(Kind::Trunk, uuid) {
        let Some(name) = stored.trunk_name(row) else { continue };
        ex.manage(Kind::Trunk, row, name.clone());
        let body = &row.body;
        let mut trunk = TrunkDoc {
            name: name.clone(),
            context: text(&body["context"]),
            twilio_incoming: body["twilio_incoming"].as_bool().unwrap_or(false),
            outgoing_caller_id_format: text(&body["outgoing_caller_id_format"]).unwrap_or_else(|| "+E164".into()),
            description: text(&body["description"]),
            sip: None,
            iax: None,
            custom: None,
            register: None,
            number_plan: serde_json::from_value(body["number_plan"].clone()).ok().flatten(),
        };
        if let Some(endpoint) = stored.by_uuid(Kind::EndpointSip, uuid, body["endpoint_sip"]["uuid"].as_str()) {
            trunk.sip = Some(ex.sip(Kind::EndpointSip, endpoint, false));
        } else if let Some(endpoint) = stored.by_id(Kind::EndpointIax, uuid, body["endpoint_iax"]["id"].as_i64()) {
            ex.manage(Kind::EndpointIax, endpoint, name.clone());
            trunk.iax = Some(IaxDoc {
                kind: text(&endpoint.body["type"]).unwrap_or_else(|| "friend".into()),
                host: text(&endpoint.body["host"]).unwrap_or_else(|| "dynamic".into()),
                options: option_list(&endpoint.body["options"], &[&tenant.slug, &name, "iax"]),
            });
        } else if let Some(endpoint) = stored.by_id(Kind::EndpointCustom, uuid, body["endpoint_custom"]["id"].as_i64()) {
            ex.manage(Kind::EndpointCustom, endpoint, name.clone());
            trunk.custom = Some(CustomDoc {
                interface_suffix: text(&endpoint.body["interface_suffix"]),
                enabled: endpoint.body["enabled"].as_bool().unwrap_or(true),
            });
        }
        if let Some(register) = stored.by_id(Kind::RegisterSip, uuid, body["register_sip"]["id"].as_i64()) {
            ex.manage(Kind::RegisterSip, register, format!("{name} register"));
            let mut shown = without_nulls(register.body.clone());
            if let Value::Object(map) = &mut shown {
                for (key, value) in map.iter_mut() {
                    if is_secret_key(key) {
                        *value = json!({"secret": format!("env:{}", env_name(&[&tenant.slug, &name, "register", key]))});
                    }
                }
            }
            trunk.register = Some(shown);
        }
        doc.trunks.push(trunk);
    }
    for row in stored.in_tenant(Kind::Outcall, uuid) {
        let name = text(&row.body["name"]).unwrap_or_default();
        ex.manage(Kind::Outcall, row, name.clone());
        let trunks = row.body["trunks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| stored.by_id(Kind::Trunk, uuid, t["id"].as_i64()))
            .filter_map(|t| stored.trunk_name(t))
            .collect();
        let mut patterns = Vec::new();
        for pattern in row.body["extensions"].as_array().into_iter().flatten() {
            let Some(ext) = ex.extension(pattern["id"].as_i64()) else { continue };
            patterns.push(PatternDoc {
                exten: ext.exten,
                context: ext.context,
                enabled: ext.enabled,
                strip_digits: Some(pattern["strip_digits"].clone()).filter(|v| !v.is_null()),
                external_prefix: text(&pattern["external_prefix"]),
                prefix: text(&pattern["prefix"]),
                caller_id: text(&pattern["caller_id"]),
            });
        }
        doc.outcalls.push(OutcallDoc {
            name,
            description: text(&row.body["description"]),
            enabled: row.body["enabled"].as_bool().unwrap_or(true),
            internal_caller_id: row.body["internal_caller_id"].as_bool().unwrap_or(false),
            ring_time: Some(row.body["ring_time"].clone()).filter(|v| !v.is_null()),
            preprocess_subroutine: text(&row.body["preprocess_subroutine"]),
            trunks,
            patterns,
            failover_policy: serde_json::from_value::<patchbay_shared::model::FailoverPolicy>(row.body["failover_policy"].clone())
                .ok()
                .filter(|p| *p != patchbay_shared::model::FailoverPolicy::default()),
            emergency: serde_json::from_value(row.body["emergency"].clone()).ok().flatten(),
        });
    }
    for row in stored.in_tenant(Kind::Incall, uuid) {
        let Some(did) = ex.extension(row.body["extension_id"].as_i64()) else { continue };
        ex.manage(Kind::Incall, row, format!("{}@{}", did.exten, did.context));
        let mut destination = without_nulls(row.body["destination"].clone());
        if let Value::Object(map) = &mut destination {
            if let Some(user_id) = map.remove("user_id")
                && let Some(user) = stored.by_id(Kind::User, uuid, user_id.as_i64())
            {
                map.insert("user".into(), json!(user.uuid));
            }
            if let Some(trunk_id) = map.remove("trunk_id")
                && let Some(trunk) = stored.by_id(Kind::Trunk, uuid, trunk_id.as_i64())
            {
                map.insert("trunk".into(), json!(stored.trunk_name(trunk)));
            }
            if let Some(group_id) = map.remove("group_id")
                && let Some(group) = stored.by_id(Kind::Group, uuid, group_id.as_i64())
            {
                map.insert("group".into(), group.body["name"].clone());
            }
            // Presentation-only keys the API adds are not part of the document.
            map.remove("user_firstname");
            map.remove("user_lastname");
            map.remove("group_name");
        }
        doc.incalls.push(IncallDoc {
            exten: did.exten,
            context: did.context,
            enabled: did.enabled,
            destination,
            caller_id_mode: text(&row.body["caller_id_mode"]),
            caller_id_name: text(&row.body["caller_id_name"]),
            description: text(&row.body["description"]),
        });
    }
    for row in stored.in_tenant(Kind::User, uuid) {
        let firstname = text(&row.body["firstname"]).unwrap_or_default();
        let user_uuid = row.uuid.clone().unwrap_or_default();
        ex.manage(Kind::User, row, format!("{firstname} ({user_uuid})"));
        let mut lines = Vec::new();
        for line in stored.in_tenant(Kind::Line, uuid).filter(|l| l.body["user_id"].as_i64() == Some(row.id)) {
            let Some(endpoint) = stored.by_uuid(Kind::EndpointSip, uuid, line.body["endpoint_sip"]["uuid"].as_str()) else { continue };
            ex.manage(Kind::Line, line, format!("line {}", text(&endpoint.body["name"]).unwrap_or_default()));
            let endpoint = ex.sip(Kind::EndpointSip, endpoint, true);
            let extension = ex.extension(line.body["extension_id"].as_i64());
            lines.push(LineDoc { endpoint, extension });
        }
        doc.users.push(UserDoc {
            uuid: user_uuid,
            firstname,
            lastname: text(&row.body["lastname"]),
            caller_id: text(&row.body["caller_id"]),
            outgoing_caller_id: text(&row.body["outgoing_caller_id"]),
            lines,
        });
    }
    let defaults = group_defaults();
    for row in stored.in_tenant(Kind::Group, uuid) {
        let name = text(&row.body["name"]).unwrap_or_default();
        ex.manage(Kind::Group, row, format!("group {name}"));
        let settings = defaults
            .iter()
            .filter_map(|(key, default)| {
                let value = row.body.get(key).cloned().unwrap_or(Value::Null);
                (value != *default).then(|| (key.clone(), value))
            })
            .collect();
        let members = row.body["user_members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|member| stored.by_id(Kind::User, uuid, member["user_id"].as_i64()))
            .filter_map(|user| user.uuid.clone())
            .collect();
        let extension = ex.extension(row.body["extension_id"].as_i64());
        doc.groups.push(GroupDoc { name, label: text(&row.body["label"]).unwrap_or_default(), settings, members, extension });
    }
    let described: HashSet<i64> = ex.managed.iter().filter(|e| e.kind == Kind::Extension).map(|e| e.row.id).collect();
    for row in stored.in_tenant(Kind::Extension, uuid).filter(|row| !described.contains(&row.id)) {
        if let Some(ext) = ex.extension(Some(row.id)) {
            doc.extensions.push(ext);
        }
    }
    Exported { doc, managed: ex.managed }
}

/// Ids for new rows: after every stored id of the kind (ids are per kind
/// across tenants), in the order the document names the objects.
pub struct Ids {
    next: HashMap<Kind, i64>,
}

impl Ids {
    pub fn after(stored: &Stored) -> Ids {
        let next = MANAGED_KINDS.iter().map(|kind| (*kind, stored.of(*kind).iter().map(|r| r.id).max().unwrap_or(0) + 1)).collect();
        Ids { next }
    }

    fn take(&mut self, kind: Kind) -> i64 {
        let slot = self.next.entry(kind).or_insert(1);
        let id = *slot;
        *slot += 1;
        id
    }
}

/// Where the values of secret references come from.
pub struct Secrets<'a> {
    /// An environment variable's value (`None`: not set).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// The desired rows of one tenant, or every problem of its document part.
pub struct Desired {
    pub entries: Vec<Entry>,
    /// Secrets an `env:` reference kept because the variable was not set.
    pub notes: Vec<String>,
}

struct Builder<'a> {
    stored: &'a Stored,
    tenant: &'a str,
    slug: &'a str,
    ids: &'a mut Ids,
    new_uuid: &'a mut dyn FnMut() -> String,
    secrets: &'a Secrets<'a>,
    errors: Vec<String>,
    notes: Vec<String>,
    entries: Vec<Entry>,
    /// (exten, context) → (extension id, what uses it), for this document.
    extensions: HashMap<(String, String), (i64, String)>,
}

impl Builder<'_> {
    fn error(&mut self, path: &str, message: impl std::fmt::Display) {
        self.errors.push(format!("Input Error - tenants[{}].{path}: {message}", self.slug));
    }

    /// The stored row to change, or a new one with a fresh id (and uuid).
    fn row(&mut self, kind: Kind, existing: Option<&ObjectRow>, with_uuid: bool) -> ObjectRow {
        match existing {
            Some(row) => row.clone(),
            None => ObjectRow {
                id: self.ids.take(kind),
                uuid: with_uuid.then(|| (self.new_uuid)()),
                tenant_uuid: Some(self.tenant.to_string()),
                body: json!({}),
            },
        }
    }

    fn push(&mut self, kind: Kind, row: ObjectRow, name: impl Into<String>) {
        self.entries.push(Entry { kind, row, name: name.into() });
    }

    fn secret(&mut self, path: &str, value: &Text, stored: Option<&str>) -> Option<String> {
        let Text::Secret(reference) = value else {
            self.error(path, "is a secret: write {secret: \"env:NAME\"} or {secret: \"keep\"}, never the value itself");
            return None;
        };
        let reference = reference.secret.as_str();
        if let Some(var) = reference.strip_prefix("env:") {
            if let Some(value) = (self.secrets.env)(var) {
                return Some(value);
            }
            return match stored {
                Some(kept) => {
                    self.notes.push(format!("tenants[{}].{path}: {var} is not set, the stored secret is kept", self.slug));
                    Some(kept.to_string())
                }
                None => {
                    self.error(path, format!("the environment variable {var} is not set and the server has no secret here"));
                    None
                }
            };
        }
        if reference == "keep" {
            if stored.is_none() {
                self.error(path, "{secret: \"keep\"} but the server has no secret here: use {secret: \"env:NAME\"}");
            }
            return stored.map(str::to_string);
        }
        self.error(path, "a secret reference is \"env:NAME\" or \"keep\"");
        None
    }

    /// An option list with its secrets resolved against the stored list.
    fn options(&mut self, path: &str, list: &OptionList, stored: &Value) -> Value {
        let stored = pairs(stored);
        let mut out = Vec::new();
        for (key, value) in list {
            let resolved = if is_secret_key(key) {
                let kept = stored.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str());
                self.secret(&format!("{path}.{key}"), value, kept)
            } else {
                match value {
                    Text::Plain(text) => Some(text.clone()),
                    Text::Secret(_) => {
                        self.error(&format!("{path}.{key}"), "is not a secret: write its value");
                        None
                    }
                }
            };
            if let Some(value) = resolved {
                out.push(json!([key, value]));
            }
        }
        Value::Array(out)
    }

    fn sip_body(&mut self, path: &str, doc: &SipDoc, name: &str, row: &mut ObjectRow, templates: &HashMap<String, String>) {
        let mut body = row.body.as_object().cloned().unwrap_or_default();
        body.insert("name".into(), json!(name));
        body.insert("label".into(), json!(doc.label));
        let mut refs = Vec::new();
        for template in &doc.templates {
            match templates.get(template) {
                Some(uuid) => refs.push(json!({"uuid": uuid})),
                None => self.error(&format!("{path}.templates"), format!("SIP template '{template}' is not in this tenant's sip_templates")),
            }
        }
        body.insert("templates".into(), Value::Array(refs));
        let transport = match &doc.transport {
            None => Value::Null,
            Some(wanted) => match self.stored.of(Kind::Transport).iter().find(|t| t.body["name"].as_str() == Some(wanted)) {
                Some(found) => json!({"uuid": found.uuid}),
                None => {
                    self.error(&format!("{path}.transport"), format!("transport '{wanted}' does not exist on this server"));
                    Value::Null
                }
            },
        };
        body.insert("transport".into(), transport);
        body.insert("asterisk_id".into(), json!(doc.asterisk_id));
        for (short, stored_key) in SIP_SECTIONS {
            let list = self.options(&format!("{path}.{short}"), doc.section(short), &row.body[stored_key]);
            body.insert(stored_key.into(), list);
        }
        row.body = Value::Object(body);
    }

    /// The id of the extension `exten@context`, claimed for `owner`: one
    /// extension is bound to one thing.
    fn extension(&mut self, path: &str, doc: &ExtensionDoc, owner: &str) -> i64 {
        let key = (doc.exten.clone(), doc.context.clone());
        if let Some((id, first)) = self.extensions.get(&key) {
            let (id, first) = (*id, first.clone());
            self.error(path, format!("extension {}@{} is already used by {first}", doc.exten, doc.context));
            return id;
        }
        let existing = self
            .stored
            .in_tenant(Kind::Extension, self.tenant)
            .find(|row| row.body["exten"].as_str() == Some(&doc.exten) && row.body["context"].as_str() == Some(&doc.context));
        let mut row = self.row(Kind::Extension, existing, false);
        let mut body = row.body.as_object().cloned().unwrap_or_default();
        body.insert("exten".into(), json!(doc.exten));
        body.insert("context".into(), json!(doc.context));
        body.insert("enabled".into(), json!(doc.enabled));
        row.body = Value::Object(body);
        let id = row.id;
        self.extensions.insert(key, (id, owner.to_string()));
        self.push(Kind::Extension, row, format!("{}@{}", doc.exten, doc.context));
        id
    }
}

fn set(row: &mut ObjectRow, fields: Vec<(&str, Value)>) {
    let mut body = row.body.as_object().cloned().unwrap_or_default();
    for (key, value) in fields {
        body.insert(key.into(), value);
    }
    row.body = Value::Object(body);
}

/// Writes `key` only when the stored value (absent or `null` for rows
/// stored before the key existed) differs from `wanted`, so that such rows
/// plan no change.
fn set_if_changed<T: serde::de::DeserializeOwned + serde::Serialize + PartialEq>(row: &mut ObjectRow, key: &str, wanted: &Option<T>) {
    let stored: Option<T> = serde_json::from_value(row.body[key].clone()).ok().flatten();
    if stored != *wanted {
        set(row, vec![(key, json!(wanted))]);
    }
}

/// The rows `doc` describes for `tenant` (a stored tenant's uuid, or a new
/// one's), every reference by name resolved to ids within that tenant.
pub fn desired_rows(
    doc: &TenantDoc,
    tenant: &str,
    stored: &Stored,
    ids: &mut Ids,
    new_uuid: &mut dyn FnMut() -> String,
    secrets: &Secrets<'_>,
) -> Result<Desired, Vec<String>> {
    let mut b = Builder {
        stored,
        tenant,
        slug: &doc.slug,
        ids,
        new_uuid,
        secrets,
        errors: Vec::new(),
        notes: Vec::new(),
        entries: Vec::new(),
        extensions: HashMap::new(),
    };
    let mut seen: HashSet<(Kind, String)> = HashSet::new();
    let mut once = |b: &mut Builder, kind: Kind, path: &str, name: &str| {
        if !seen.insert((kind, name.to_string())) {
            b.error(path, format!("'{name}' is described twice"));
        }
    };

    // Contexts: ids first, so includes may name a context described later.
    let mut contexts: HashMap<String, i64> = HashMap::new();
    let mut context_rows = Vec::new();
    for (i, context) in doc.contexts.iter().enumerate() {
        once(&mut b, Kind::Context, &format!("contexts[{i}].name"), &context.name);
        let existing = stored.named(Kind::Context, tenant, "name", &context.name);
        let row = b.row(Kind::Context, existing, false);
        contexts.insert(context.name.clone(), row.id);
        context_rows.push(row);
    }
    for (i, (context, mut row)) in doc.contexts.iter().zip(context_rows).enumerate() {
        let mut includes = Vec::new();
        for name in &context.includes {
            match contexts.get(name) {
                Some(id) => includes.push(json!({"id": id})),
                None => b.error(&format!("contexts[{i}].includes"), format!("context '{name}' is not in this tenant's contexts")),
            }
        }
        let context_uuid = row.body.get("context_uuid").cloned().filter(|v| !v.is_null()).unwrap_or_else(|| json!((b.new_uuid)()));
        set(&mut row, vec![
            ("name", json!(context.name)),
            ("label", json!(context.label)),
            ("type", json!(context.kind)),
            ("description", json!(context.description)),
            ("enabled", json!(context.enabled)),
            ("contexts", Value::Array(includes)),
            ("context_uuid", context_uuid),
        ]);
        b.push(Kind::Context, row, context.name.clone());
    }

    // SIP templates: uuids first (a template may use another).
    let mut templates: HashMap<String, String> = HashMap::new();
    let mut template_rows = Vec::new();
    for (i, template) in doc.sip_templates.iter().enumerate() {
        let Some(name) = template.name.clone() else {
            b.error(&format!("sip_templates[{i}].name"), "Missing data for required field.");
            continue;
        };
        once(&mut b, Kind::SipTemplate, &format!("sip_templates[{i}].name"), &name);
        let existing = stored.named(Kind::SipTemplate, tenant, "name", &name);
        let row = b.row(Kind::SipTemplate, existing, true);
        templates.insert(name.clone(), row.uuid.clone().unwrap_or_default());
        template_rows.push((i, name, template, row));
    }
    for (i, name, template, mut row) in template_rows {
        b.sip_body(&format!("sip_templates[{i}]"), template, &name, &mut row, &templates);
        b.push(Kind::SipTemplate, row, name);
    }

    // Trunks and their endpoints.
    let mut trunks: HashMap<String, i64> = HashMap::new();
    for (i, trunk) in doc.trunks.iter().enumerate() {
        let path = format!("trunks[{i}]");
        once(&mut b, Kind::Trunk, &format!("{path}.name"), &trunk.name);
        let kinds = [trunk.sip.is_some(), trunk.iax.is_some(), trunk.custom.is_some()].iter().filter(|x| **x).count();
        if kinds != 1 {
            b.error(&path, "a trunk has exactly one of sip, iax, custom");
            continue;
        }
        let existing = stored.in_tenant(Kind::Trunk, tenant).find(|row| stored.trunk_name(row).as_deref() == Some(&trunk.name));
        let mut row = b.row(Kind::Trunk, existing, false);
        let (mut endpoint_sip, mut endpoint_iax, mut endpoint_custom) = (Value::Null, Value::Null, Value::Null);
        if let Some(sip) = &trunk.sip {
            if sip.name.as_ref().is_some_and(|n| n != &trunk.name) {
                b.error(&format!("{path}.sip.name"), "a trunk's SIP endpoint takes the trunk's name: leave it out");
            }
            let existing = stored.named(Kind::EndpointSip, tenant, "name", &trunk.name);
            let mut endpoint = b.row(Kind::EndpointSip, existing, true);
            b.sip_body(&format!("{path}.sip"), sip, &trunk.name, &mut endpoint, &templates);
            endpoint_sip = json!({"uuid": endpoint.uuid});
            b.push(Kind::EndpointSip, endpoint, trunk.name.clone());
        } else if let Some(iax) = &trunk.iax {
            let existing = stored.named(Kind::EndpointIax, tenant, "name", &trunk.name);
            let mut endpoint = b.row(Kind::EndpointIax, existing, false);
            let options = b.options(&format!("{path}.iax.options"), &iax.options, &endpoint.body["options"]);
            set(&mut endpoint, vec![("name", json!(trunk.name)), ("type", json!(iax.kind)), ("host", json!(iax.host)), ("options", options)]);
            endpoint_iax = json!({"id": endpoint.id});
            b.push(Kind::EndpointIax, endpoint, trunk.name.clone());
        } else if let Some(custom) = &trunk.custom {
            let existing = stored.named(Kind::EndpointCustom, tenant, "interface", &trunk.name);
            let mut endpoint = b.row(Kind::EndpointCustom, existing, false);
            set(&mut endpoint, vec![
                ("interface", json!(trunk.name)),
                ("interface_suffix", json!(custom.interface_suffix)),
                ("enabled", json!(custom.enabled)),
            ]);
            endpoint_custom = json!({"id": endpoint.id});
            b.push(Kind::EndpointCustom, endpoint, trunk.name.clone());
        }
        let mut register_sip = Value::Null;
        if let Some(register) = &trunk.register {
            let rpath = format!("{path}.register");
            let existing = stored.by_id(Kind::RegisterSip, tenant, row.body["register_sip"]["id"].as_i64());
            let mut register_row = b.row(Kind::RegisterSip, existing, false);
            let mut body = Map::new();
            body.insert("enabled".into(), json!(true));
            match register {
                Value::Object(fields) => {
                    for (key, value) in fields {
                        if !crate::api::interconnect::REGISTERS_SIP.writable.contains(&key.as_str()) {
                            b.error(&format!("{rpath}.{key}"), "is not a field of a SIP register");
                        } else if is_secret_key(key) {
                            let reference: Text = serde_json::from_value(value.clone()).unwrap_or(Text::Plain(String::new()));
                            let kept = register_row.body[key.as_str()].as_str().map(str::to_string);
                            if let Some(secret) = b.secret(&format!("{rpath}.{key}"), &reference, kept.as_deref()) {
                                body.insert(key.clone(), json!(secret));
                            }
                        } else {
                            body.insert(key.clone(), value.clone());
                        }
                    }
                }
                _ => b.error(&rpath, "must be a mapping of register fields"),
            }
            register_row.body = Value::Object(body);
            register_sip = json!({"id": register_row.id});
            b.push(Kind::RegisterSip, register_row, format!("{} register", trunk.name));
        }
        set(&mut row, vec![
            ("context", json!(trunk.context)),
            ("twilio_incoming", json!(trunk.twilio_incoming)),
            ("outgoing_caller_id_format", json!(trunk.outgoing_caller_id_format)),
            ("description", json!(trunk.description)),
            ("endpoint_sip", endpoint_sip),
            ("endpoint_iax", endpoint_iax),
            ("endpoint_custom", endpoint_custom),
            ("register_sip", register_sip),
        ]);
        set_if_changed::<patchbay_shared::numbers::NumberPlan>(&mut row, "number_plan", &trunk.number_plan);
        trunks.insert(trunk.name.clone(), row.id);
        b.push(Kind::Trunk, row, trunk.name.clone());
    }

    for (i, outcall) in doc.outcalls.iter().enumerate() {
        let path = format!("outcalls[{i}]");
        once(&mut b, Kind::Outcall, &format!("{path}.name"), &outcall.name);
        let existing = stored.named(Kind::Outcall, tenant, "name", &outcall.name);
        let mut row = b.row(Kind::Outcall, existing, false);
        let mut trunk_refs = Vec::new();
        for name in &outcall.trunks {
            match trunks.get(name) {
                Some(id) => trunk_refs.push(json!({"id": id})),
                None => b.error(&format!("{path}.trunks"), format!("trunk '{name}' is not in this tenant's trunks")),
            }
        }
        let mut patterns = Vec::new();
        for (j, pattern) in outcall.patterns.iter().enumerate() {
            let ext = ExtensionDoc { exten: pattern.exten.clone(), context: pattern.context.clone(), enabled: pattern.enabled };
            let id = b.extension(&format!("{path}.patterns[{j}]"), &ext, &format!("outcall '{}'", outcall.name));
            patterns.push(json!({
                "id": id, "strip_digits": pattern.strip_digits, "external_prefix": pattern.external_prefix,
                "prefix": pattern.prefix, "caller_id": pattern.caller_id,
            }));
        }
        set(&mut row, vec![
            ("name", json!(outcall.name)),
            ("description", json!(outcall.description)),
            ("enabled", json!(outcall.enabled)),
            ("internal_caller_id", json!(outcall.internal_caller_id)),
            ("ring_time", json!(outcall.ring_time)),
            ("preprocess_subroutine", json!(outcall.preprocess_subroutine)),
            ("trunks", Value::Array(trunk_refs)),
            ("extensions", Value::Array(patterns)),
        ]);
        // A row stored before policies existed holds none, which means the
        // default: written only when the policy really changes.
        let wanted = outcall.failover_policy.clone().unwrap_or_default();
        if serde_json::from_value::<patchbay_shared::model::FailoverPolicy>(row.body["failover_policy"].clone()).unwrap_or_default() != wanted {
            set(&mut row, vec![("failover_policy", json!(wanted))]);
        }
        set_if_changed::<patchbay_shared::model::Emergency>(&mut row, "emergency", &outcall.emergency);
        b.push(Kind::Outcall, row, outcall.name.clone());
    }

    let mut users: HashMap<String, i64> = HashMap::new();
    for (i, user) in doc.users.iter().enumerate() {
        let path = format!("users[{i}]");
        once(&mut b, Kind::User, &format!("{path}.uuid"), &user.uuid);
        let elsewhere = stored.of(Kind::User).iter().any(|r| r.uuid.as_deref() == Some(&user.uuid) && r.tenant_uuid.as_deref() != Some(tenant));
        if elsewhere {
            b.error(&format!("{path}.uuid"), "another tenant has a user with this uuid");
            continue;
        }
        let existing = stored.by_uuid(Kind::User, tenant, Some(&user.uuid));
        let mut row = b.row(Kind::User, existing, false);
        row.uuid = Some(user.uuid.clone());
        set(&mut row, vec![
            ("firstname", json!(user.firstname)),
            ("lastname", json!(user.lastname)),
            ("caller_id", json!(user.caller_id)),
            ("outgoing_caller_id", json!(user.outgoing_caller_id)),
        ]);
        let user_id = row.id;
        users.insert(user.uuid.clone(), user_id);
        b.push(Kind::User, row, format!("{} ({})", user.firstname, user.uuid));
        for (j, line) in user.lines.iter().enumerate() {
            let lpath = format!("{path}.lines[{j}]");
            let Some(name) = line.endpoint.name.clone() else {
                b.error(&format!("{lpath}.endpoint.name"), "Missing data for required field.");
                continue;
            };
            once(&mut b, Kind::EndpointSip, &format!("{lpath}.endpoint.name"), &name);
            let existing = stored.named(Kind::EndpointSip, tenant, "name", &name);
            let mut endpoint = b.row(Kind::EndpointSip, existing, true);
            b.sip_body(&format!("{lpath}.endpoint"), &line.endpoint, &name, &mut endpoint, &templates);
            let endpoint_uuid = endpoint.uuid.clone();
            b.push(Kind::EndpointSip, endpoint, name.clone());
            let existing_line = stored
                .in_tenant(Kind::Line, tenant)
                .find(|l| endpoint_uuid.is_some() && l.body["endpoint_sip"]["uuid"].as_str() == endpoint_uuid.as_deref());
            let mut line_row = b.row(Kind::Line, existing_line, false);
            let extension_id = match &line.extension {
                Some(ext) => json!(b.extension(&format!("{lpath}.extension"), ext, &format!("line '{name}'"))),
                None => Value::Null,
            };
            set(&mut line_row, vec![("user_id", json!(user_id)), ("endpoint_sip", json!({"uuid": endpoint_uuid})), ("extension_id", extension_id)]);
            b.push(Kind::Line, line_row, format!("line {name}"));
        }
    }

    let mut groups: HashMap<String, i64> = HashMap::new();
    let defaults = group_defaults();
    for (i, group) in doc.groups.iter().enumerate() {
        let path = format!("groups[{i}]");
        once(&mut b, Kind::Group, &format!("{path}.name"), &group.name);
        let elsewhere = stored.of(Kind::Group).iter().any(|r| r.body["name"].as_str() == Some(&group.name) && r.tenant_uuid.as_deref() != Some(tenant));
        if elsewhere {
            b.error(&format!("{path}.name"), "another tenant has a group with this name");
            continue;
        }
        let existing = stored.named(Kind::Group, tenant, "name", &group.name);
        let mut row = b.row(Kind::Group, existing, true);
        let mut fields: Vec<(&str, Value)> = vec![("name", json!(group.name)), ("label", json!(group.label))];
        for key in group.settings.keys().filter(|key| !defaults.contains_key(*key)) {
            b.error(&format!("{path}.settings.{key}"), "is not a group setting");
        }
        for (key, default) in &defaults {
            fields.push((key.as_str(), group.settings.get(key).cloned().unwrap_or_else(|| default.clone())));
        }
        let mut members = Vec::new();
        for (priority, member) in group.members.iter().enumerate() {
            match users.get(member) {
                Some(id) => members.push(json!({"user_id": id, "priority": priority})),
                None => b.error(&format!("{path}.members"), format!("user {member} is not in this tenant's users")),
            }
        }
        fields.push(("user_members", Value::Array(members)));
        let extension_id = match &group.extension {
            Some(ext) => json!(b.extension(&format!("{path}.extension"), ext, &format!("group '{}'", group.name))),
            None => Value::Null,
        };
        fields.push(("extension_id", extension_id));
        set(&mut row, fields);
        groups.insert(group.name.clone(), row.id);
        b.push(Kind::Group, row, format!("group {}", group.name));
    }

    for (i, incall) in doc.incalls.iter().enumerate() {
        let path = format!("incalls[{i}]");
        let did = ExtensionDoc { exten: incall.exten.clone(), context: incall.context.clone(), enabled: incall.enabled };
        let name = format!("{}@{}", incall.exten, incall.context);
        let extension_id = b.extension(&path, &did, &format!("incall {name}"));
        let existing = stored.in_tenant(Kind::Incall, tenant).find(|row| row.body["extension_id"].as_i64() == Some(extension_id));
        let mut row = b.row(Kind::Incall, existing, false);
        let mut destination = incall.destination.clone();
        if let Value::Object(map) = &mut destination {
            for id_key in ["user_id", "trunk_id", "group_id"] {
                if map.contains_key(id_key) {
                    b.error(&format!("{path}.destination.{id_key}"), "name the target instead of its id (user: <uuid>, trunk: <name>, group: <name>)");
                }
            }
            if let Some(group) = map.remove("group") {
                match group.as_str().and_then(|name| groups.get(name)) {
                    Some(id) => {
                        map.insert("group_id".into(), json!(id));
                    }
                    None => b.error(&format!("{path}.destination.group"), format!("group {group} is not in this tenant's groups")),
                }
            }
            if let Some(user) = map.remove("user") {
                match user.as_str().and_then(|uuid| users.get(uuid)) {
                    Some(id) => {
                        map.insert("user_id".into(), json!(id));
                    }
                    None => b.error(&format!("{path}.destination.user"), format!("user {user} is not in this tenant's users")),
                }
            }
            if let Some(trunk) = map.remove("trunk") {
                match trunk.as_str().and_then(|name| trunks.get(name)) {
                    Some(id) => {
                        map.insert("trunk_id".into(), json!(id));
                    }
                    None => b.error(&format!("{path}.destination.trunk"), format!("trunk {trunk} is not in this tenant's trunks")),
                }
            }
        } else {
            b.error(&format!("{path}.destination"), "must be a mapping with a type");
        }
        set(&mut row, vec![
            ("destination", destination),
            ("caller_id_mode", json!(incall.caller_id_mode)),
            ("caller_id_name", json!(incall.caller_id_name)),
            ("description", json!(incall.description)),
            ("extension_id", json!(extension_id)),
        ]);
        b.push(Kind::Incall, row, name);
    }

    for (i, ext) in doc.extensions.iter().enumerate() {
        b.extension(&format!("extensions[{i}]"), ext, "the extensions list");
    }

    if b.errors.is_empty() { Ok(Desired { entries: b.entries, notes: b.notes }) } else { Err(b.errors) }
}
