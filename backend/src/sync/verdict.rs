//! The pure decisions of a sync pass, taking what Asterisk reported as data:
//! whose each rendered section is, which of them Asterisk did not load,
//! which keys read back differently from what was written, which sections
//! the base `pjsip.conf` already defines, and what one viewer may see of it
//! all. No I/O here: `sync` asks Asterisk, these functions decide.

use crate::ami::config_writer::Section;
use patchbay_shared::model::Snapshot;
use patchbay_shared::render::{
    CALLER_ID_BY_NUMBER_PREFIX, INCALL_HEADERS_PREFIX, NUMBER_FORMAT_PREFIX, SUBROUTINE_PREFIX, TRUNK_DID_PREFIX, TRUNK_INBOUND_PREFIX, escape,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub const PJSIP_FILE: &str = "patchbay-pjsip.conf";
pub const EXTENSIONS_FILE: &str = "patchbay-extensions.conf";
pub const IAX_FILE: &str = "patchbay-iax.conf";

/// The Patchbay object a rendered section comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// The owning tenant; `None` for what all tenants share (transports,
    /// `[global]`, `[system]`) and for sections Patchbay cannot place.
    pub tenant_uuid: Option<String>,
    /// `endpoint_sip`, `endpoint_iax`, `context`, `outcall`, `transport`,
    /// `pjsip_global`, `pjsip_system`.
    pub object: &'static str,
    /// The id or uuid the API addresses it by.
    pub id: String,
    /// Its name as the API shows it.
    pub name: String,
}

impl Owner {
    fn shared(object: &'static str, id: String, name: String) -> Owner {
        Owner { tenant_uuid: None, object, id, name }
    }

    /// Shared by every tenant: every viewer may see it, and its failure is
    /// everyone's.
    pub fn is_shared(&self) -> bool {
        self.tenant_uuid.is_none() && matches!(self.object, "transport" | "pjsip_global" | "pjsip_system")
    }
}

/// File → section name → owner, for one snapshot; and the dialplan
/// sections named after a trunk or an incall (`pb-trunk-in-<id>`,
/// `pb-number-<id>-…`, `pb-incall-headers-<id>`), by that id.
#[derive(Debug, Default, Clone)]
pub struct Owners {
    files: BTreeMap<&'static str, BTreeMap<String, Owner>>,
    trunks: BTreeMap<String, Owner>,
    incalls: BTreeMap<String, Owner>,
}

/// Dialplan section prefixes followed by a trunk id.
const TRUNK_CONTEXT_PREFIXES: [&str; 4] = [TRUNK_INBOUND_PREFIX, TRUNK_DID_PREFIX, NUMBER_FORMAT_PREFIX, CALLER_ID_BY_NUMBER_PREFIX];

impl Owners {
    /// The owners of the sections `render::render(s)` produces, named as
    /// the renderer names them (`shared/src/render/pjsip.rs`: an endpoint's
    /// endpoint/aor/auth/identify/registration sections carry its name,
    /// its outbound auths `outbound_auth_NAME` and `auth_reg_NAME`).
    pub fn of(s: &Snapshot) -> Owners {
        let mut pjsip = BTreeMap::new();
        pjsip.insert("global".to_string(), Owner::shared("pjsip_global", "global".into(), "global".into()));
        pjsip.insert("system".to_string(), Owner::shared("pjsip_system", "system".into(), "system".into()));
        for transport in &s.transports {
            pjsip.insert(escape::section_name(&transport.name), Owner::shared("transport", transport.uuid.clone(), transport.name.clone()));
        }
        for endpoint in &s.endpoints_sip {
            let owner = Owner { tenant_uuid: Some(endpoint.tenant_uuid.clone()), object: "endpoint_sip", id: endpoint.uuid.clone(), name: endpoint.name.clone() };
            let name = escape::section_name(&endpoint.name);
            pjsip.insert(format!("outbound_auth_{name}"), owner.clone());
            pjsip.insert(format!("auth_reg_{name}"), owner.clone());
            pjsip.insert(name, owner);
        }
        let mut extensions = BTreeMap::new();
        for context in &s.contexts {
            let owner = Owner { tenant_uuid: Some(context.tenant_uuid.clone()), object: "context", id: context.id.to_string(), name: context.name.clone() };
            extensions.insert(escape::context_name(&context.name), owner);
        }
        for outcall in &s.outcalls {
            let owner = Owner { tenant_uuid: Some(outcall.tenant_uuid.clone()), object: "outcall", id: outcall.id.to_string(), name: outcall.name.clone() };
            extensions.insert(format!("{SUBROUTINE_PREFIX}{}", outcall.id), owner);
        }
        let trunks = s
            .trunks
            .iter()
            .map(|trunk| {
                let id = trunk.id.to_string();
                (id.clone(), Owner { tenant_uuid: Some(trunk.tenant_uuid.clone()), object: "trunk", name: format!("trunk {id}"), id })
            })
            .collect();
        let incalls = s
            .incalls
            .iter()
            .map(|incall| {
                let id = incall.id.to_string();
                (id.clone(), Owner { tenant_uuid: Some(incall.tenant_uuid.clone()), object: "incall", name: format!("incall {id}"), id })
            })
            .collect();
        let mut iax = BTreeMap::new();
        for endpoint in &s.endpoints_iax {
            let owner = Owner { tenant_uuid: Some(endpoint.tenant_uuid.clone()), object: "endpoint_iax", id: endpoint.id.to_string(), name: endpoint.name.clone() };
            iax.insert(escape::section_name(&endpoint.name), owner);
        }
        Owners { files: BTreeMap::from([(PJSIP_FILE, pjsip), (EXTENSIONS_FILE, extensions), (IAX_FILE, iax)]), trunks, incalls }
    }

    pub fn get(&self, file: &str, section: &str) -> Option<&Owner> {
        if let Some(owner) = self.files.get(file)?.get(section) {
            return Some(owner);
        }
        if file != EXTENSIONS_FILE {
            return None;
        }
        let leading_id = |rest: &str| rest.split(|c: char| !c.is_ascii_digit()).next().unwrap_or_default().to_string();
        if let Some(rest) = section.strip_prefix(INCALL_HEADERS_PREFIX) {
            return self.incalls.get(&leading_id(rest));
        }
        let rest = TRUNK_CONTEXT_PREFIXES.iter().find_map(|prefix| section.strip_prefix(prefix))?;
        self.trunks.get(&leading_id(rest))
    }

    /// Adds `other`'s owners (a tenant's, rendered alone) to these.
    pub fn merge(&mut self, other: &Owners) {
        for (file, owners) in &other.files {
            let mine = self.files.entry(file).or_default();
            for (section, owner) in owners {
                mine.entry(section.clone()).or_insert_with(|| owner.clone());
            }
        }
        for (id, owner) in &other.trunks {
            self.trunks
                .entry(id.clone())
                .or_insert_with(|| owner.clone());
        }
        for (id, owner) in &other.incalls {
            self.incalls
                .entry(id.clone())
                .or_insert_with(|| owner.clone());
        }
    }

    /// The tenant of a section (`None`: shared, or unknown).
    pub fn tenant(&self, file: &str, section: &str) -> Option<String> {
        self.get(file, section).and_then(|owner| owner.tenant_uuid.clone())
    }
}

/// Who is looking at the status.
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    /// A master admin acting for its own tenant: everything.
    All,
    /// Only these tenants' objects, and what every tenant shares.
    Tenants(&'a [String]),
}

impl Viewer<'_> {
    /// Whether this viewer may see an item owned by `owner` (`None`: a
    /// section Patchbay cannot place, which only a master sees).
    pub fn sees(&self, owner: Option<&Owner>) -> bool {
        match (self, owner) {
            (Viewer::All, _) => true,
            (Viewer::Tenants(_), None) => false,
            (Viewer::Tenants(_), Some(owner)) if owner.is_shared() => true,
            (Viewer::Tenants(visible), Some(owner)) => owner.tenant_uuid.as_ref().is_some_and(|tenant| visible.contains(tenant)),
        }
    }
}

/// A rendered object Asterisk does not have, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectFailure {
    pub file: String,
    /// The section (`[name]`) and its `type` (`endpoint`, `aor`, …, or
    /// `context` for the dialplan).
    pub section: String,
    pub section_type: String,
    /// The Patchbay object it comes from, when known.
    pub owner: Option<Owner>,
    pub reason: String,
}

/// A key that reads back from Asterisk differently from what was written.
/// Only the key is named, never a value: it may be a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub file: String,
    pub section: String,
    pub section_type: String,
    /// `None` for a whole section.
    pub key: Option<String>,
    /// `reads back differently`, `missing`, `not written by Patchbay`.
    pub what: &'static str,
    pub owner: Option<Owner>,
}

/// The `type` of a PJSIP section (`context` when it has none: a dialplan
/// context, an IAX peer).
pub fn section_type(section: &Section) -> &str {
    section.lines.iter().find(|(key, _)| key.trim() == "type").map(|(_, value)| value.trim()).unwrap_or("")
}

/// `(name, type)` of every section, with its occurrence count.
fn identities(sections: &[Section]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for section in sections {
        *counts.entry((section.name.clone(), section_type(section).to_string())).or_insert(0) += 1;
    }
    counts
}

/// The sections of `pjsip.conf` that are not Patchbay's: GetConfig of the
/// base file resolves its `#tryinclude`, so Patchbay's own sections (as
/// `own` holds them) are taken out once each.
pub fn base_sections(whole: &[Section], own: &[Section]) -> BTreeSet<(String, String)> {
    let mut own = identities(own);
    let mut base = BTreeSet::new();
    for section in whole {
        let identity = (section.name.clone(), section_type(section).to_string());
        match own.get_mut(&identity) {
            Some(count) if *count > 0 => *count -= 1,
            _ => {
                base.insert(identity);
            }
        }
    }
    base
}

/// Splits the rendered `pjsip` sections into those Patchbay writes and those
/// the base configuration already defines under the same name and type
/// (which Patchbay must not write again: two `[transport-udp]` make every
/// reload log a duplicate and leave the transport unbound after a restart).
pub fn without_base_duplicates(rendered: &[Section], base: &BTreeSet<(String, String)>) -> (Vec<Section>, Vec<Section>) {
    rendered.iter().cloned().partition(|section| !base.contains(&(section.name.clone(), section_type(section).to_string())))
}

/// What Asterisk lists as loaded, by PJSIP `type`. A type that is absent was
/// not asked (no list action for it, such as `identify`), so it is not judged.
#[derive(Debug, Default, Clone)]
pub struct Loaded(pub BTreeMap<&'static str, BTreeSet<String>>);

/// How Asterisk is asked about each PJSIP type: (type, what lists it).
pub const PJSIP_LISTS: [(&str, &str); 5] = [
    ("endpoint", "PJSIPShowEndpoints"),
    ("aor", "PJSIPShowAors"),
    ("auth", "PJSIPShowAuths"),
    ("registration", "PJSIPShowRegistrationsOutbound"),
    ("transport", "`pjsip show transports`"),
];

/// The sections of `expected` whose (name, type) Asterisk does not list.
pub fn not_loaded<'a>(expected: &'a [Section], loaded: &Loaded) -> Vec<&'a Section> {
    expected
        .iter()
        .filter(|section| loaded.0.get(section_type(section)).is_some_and(|names| !names.contains(section.name.trim())))
        .collect()
}

/// Why `section` is not loaded, in the terms Patchbay can verify over AMI:
/// Asterisk logs which option it refused, but no AMI action or event carries
/// its log, so the reason is the fact (written, read back, not listed) and,
/// when the object loaded before, the keys that changed since.
pub fn refused_reason(file: &str, section: &Section, loaded_before: Option<&Section>) -> String {
    let kind = section_type(section);
    let listed_by = PJSIP_LISTS.iter().find(|(t, _)| *t == kind).map_or("Asterisk", |(_, list)| list);
    let mut reason = format!(
        "Asterisk did not load {kind} {}: its section is in {file} as written, but {listed_by} does not list it; Asterisk's log names the option it refused",
        section.name
    );
    if let Some(before) = loaded_before {
        let changed = changed_keys(before, section);
        if !changed.is_empty() {
            reason.push_str(&format!(" (it loaded before with other values of: {})", changed.join(", ")));
        }
    }
    reason
}

/// The keys whose new value Asterisk did not take, when it kept running the
/// previous version of an object: res_sorcery_config, failing to create an
/// object on reload, retains the existing one ("Retaining existing
/// configuration"), so the object stays listed with its old values.
/// `held` is the object's detail as Asterisk reports it (`EndpointDetail`,
/// `AorDetail`, `OutboundRegistrationDetail`: CamelCase option names). Only
/// keys that changed since `before` are judged, and only when Asterisk
/// clearly holds the old value and not the new one.
pub fn retained_keys(before: &Section, written: &Section, held: &BTreeMap<String, String>) -> Vec<String> {
    changed_keys(before, written)
        .into_iter()
        .filter(|key| {
            let (Some(old), Some(new)) = (single_value(before, key), single_value(written, key)) else { return false };
            held.get(&camel_case(key)).is_some_and(|now| same_value(now, old) && !same_value(now, new))
        })
        .collect()
}

/// The keys of a written registration whose value Asterisk does not hold
/// as written, from its `OutboundRegistrationDetail` (`held`): the
/// registrar and the address of record, which decide where its REGISTER
/// goes. Empty: Asterisk runs this registration as written.
pub fn registration_not_held(written: &Section, held: &BTreeMap<String, String>) -> Vec<String> {
    ["server_uri", "client_uri"]
        .into_iter()
        .filter(|key| {
            let Some(value) = single_value(written, key) else { return false };
            held.get(&camel_case(key)).is_none_or(|now| !same_value(now, value))
        })
        .map(str::to_string)
        .collect()
}

/// The value of a key a section holds once (absent: empty); `None` for a
/// repeated key, which a detail does not show one by one.
fn single_value<'a>(section: &'a Section, key: &str) -> Option<&'a str> {
    let mut values = section.lines.iter().filter(|(k, _)| k.trim() == key).map(|(_, v)| v.as_str());
    match (values.next(), values.next()) {
        (value, None) => Some(value.unwrap_or("")),
        _ => None,
    }
}

/// `from_user` → `FromUser`, as Asterisk names options in AMI details.
fn camel_case(key: &str) -> String {
    key.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Whether a value as Asterisk reports it is the one written (booleans
/// come back as `true`/`false`).
fn same_value(reported: &str, written: &str) -> bool {
    let canonical = |value: &str| match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => "true".to_string(),
        "no" | "false" | "off" | "0" => "false".to_string(),
        other => other.to_string(),
    };
    canonical(reported) == canonical(written)
}

/// Why Asterisk runs the previous version of `section`: the keys it did
/// not take (never their values).
pub fn retained_reason(file: &str, section: &Section, keys: &[String]) -> String {
    format!(
        "Asterisk did not take the new {kind} {name} and keeps running the previous one: it still holds the previous value of {keys} (written to {file}); Asterisk's log names the option it refused",
        kind = section_type(section),
        name = section.name,
        keys = keys.join(", "),
    )
}

/// Keys whose values differ between two versions of a section, in order.
fn changed_keys(a: &Section, b: &Section) -> Vec<String> {
    let values = |section: &Section| {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in &section.lines {
            map.entry(key.trim().to_string()).or_default().push(value.clone());
        }
        map
    };
    let (a, b) = (values(a), values(b));
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().filter(|key| a.get(*key) != b.get(*key)).cloned().collect()
}

/// Compares what was written with what Asterisk reads back, section by
/// section (matched by name, type and occurrence) and key by key: a value
/// Asterisk changed on the way (a leading `>` turned into `=>`, blanks
/// trimmed) is named. Values are compared exactly: nothing here may hide
/// such a change.
pub fn differences(file: &str, written: &[Section], read: &[Section], owners: &Owners) -> Vec<Difference> {
    let key_of = |section: &Section| (section.name.clone(), section_type(section).to_string());
    let mut read_by: BTreeMap<(String, String), Vec<&Section>> = BTreeMap::new();
    for section in read {
        read_by.entry(key_of(section)).or_default().push(section);
    }
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut found = Vec::new();
    let difference = |section: &Section, key: Option<String>, what| Difference {
        file: file.to_string(),
        section: section.name.clone(),
        section_type: section_type(section).to_string(),
        key,
        what,
        owner: owners.get(file, &section.name).cloned(),
    };
    for section in written {
        let identity = key_of(section);
        let index = seen.entry(identity.clone()).or_insert(0);
        let back = read_by.get(&identity).and_then(|sections| sections.get(*index)).copied();
        *index += 1;
        let Some(back) = back else {
            found.push(difference(section, None, "missing"));
            continue;
        };
        let (mine, theirs) = (values_by_key(section), values_by_key(back));
        for (key, wanted) in &mine {
            match theirs.iter().find(|(k, _)| k == key) {
                None => found.push(difference(section, Some(key.clone()), "missing")),
                Some((_, got)) if got != wanted => found.push(difference(section, Some(key.clone()), "reads back differently")),
                Some(_) => {}
            }
        }
        for (key, _) in theirs.iter().filter(|(key, _)| !mine.iter().any(|(k, _)| k == key)) {
            found.push(difference(section, Some(key.clone()), "not written by Patchbay"));
        }
    }
    for (identity, sections) in &read_by {
        let written_count = seen.get(identity).copied().unwrap_or(0);
        for section in sections.iter().skip(written_count) {
            found.push(difference(section, None, "not written by Patchbay"));
        }
    }
    found
}

/// A section's values grouped by key, keys in first-seen order.
fn values_by_key(section: &Section) -> Vec<(String, Vec<&str>)> {
    let mut map: Vec<(String, Vec<&str>)> = Vec::new();
    for (key, value) in &section.lines {
        match map.iter_mut().find(|(k, _)| k == key.trim()) {
            Some((_, values)) => values.push(value),
            None => map.push((key.trim().to_string(), vec![value])),
        }
    }
    map
}

/// Whether the viewer's part of Asterisk equals the database: nothing
/// global is wrong (`global_ok`: connected, files written, transports
/// listed) and none of the failures or differences it may see remain.
/// Another tenant's refused object does not make this tenant out of sync.
pub fn in_sync_for(viewer: Viewer, global_ok: bool, failures: &[ObjectFailure], differences: &[Difference]) -> bool {
    global_ok
        && !failures.iter().any(|failure| viewer.sees(failure.owner.as_ref()))
        && !differences.iter().any(|difference| viewer.sees(difference.owner.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchbay_shared::model::{EndpointSip, Transport};

    fn section(name: &str, lines: &[(&str, &str)]) -> Section {
        Section { name: name.into(), lines: lines.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    fn snapshot() -> Snapshot {
        let endpoint = |uuid: &str, tenant: &str, name: &str| -> EndpointSip {
            serde_json::from_value(serde_json::json!({"uuid": uuid, "tenant_uuid": tenant, "name": name})).unwrap()
        };
        let transport: Transport = serde_json::from_value(serde_json::json!({"uuid": "t-1", "name": "transport-udp"})).unwrap();
        Snapshot {
            endpoints_sip: vec![endpoint("e-a", "tenant-a", "acme-trunk"), endpoint("e-b", "tenant-b", "bravo-trunk")],
            transports: vec![transport],
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_registration_is_held_when_its_registrar_and_aor_read_back_as_written() {
        let written = section("acme-trunk", &[("type", "registration"), ("server_uri", "sip:10.0.0.1"), ("client_uri", "sip:42@10.0.0.1")]);
        let held = |server: &str| BTreeMap::from([("ServerUri".to_string(), server.to_string()), ("ClientUri".to_string(), "sip:42@10.0.0.1".to_string())]);
        assert!(registration_not_held(&written, &held("sip:10.0.0.1")).is_empty());
        assert_eq!(registration_not_held(&written, &held("sip:10.0.0.2")), ["server_uri"]);
        assert_eq!(registration_not_held(&written, &BTreeMap::new()), ["server_uri", "client_uri"]);
    }

    #[test]
    fn every_section_of_an_endpoint_belongs_to_its_tenant() {
        let owners = Owners::of(&snapshot());
        for name in ["acme-trunk", "outbound_auth_acme-trunk", "auth_reg_acme-trunk"] {
            let owner = owners.get(PJSIP_FILE, name).unwrap();
            assert_eq!((owner.tenant_uuid.as_deref(), owner.object, owner.id.as_str()), (Some("tenant-a"), "endpoint_sip", "e-a"), "{name}");
        }
        assert!(owners.get(PJSIP_FILE, "transport-udp").unwrap().is_shared());
        assert_eq!(owners.get(PJSIP_FILE, "base-endpoint"), None);
    }

    #[test]
    fn a_refused_object_is_failed_for_its_tenant_only() {
        let owners = Owners::of(&snapshot());
        let file = [
            section("acme-trunk", &[("type", "endpoint"), ("from_user", "a b")]),
            section("acme-trunk", &[("type", "aor")]),
            section("acme-trunk", &[("type", "identify"), ("match", "127.0.0.1")]),
            section("bravo-trunk", &[("type", "endpoint")]),
        ];
        // What Asterisk listed: acme's endpoint is missing; identify has no list.
        let loaded = Loaded(BTreeMap::from([
            ("endpoint", BTreeSet::from(["bravo-trunk".to_string()])),
            ("aor", BTreeSet::from(["acme-trunk".to_string()])),
        ]));
        let missing = not_loaded(&file, &loaded);
        assert_eq!(missing.iter().map(|s| (s.name.as_str(), section_type(s))).collect::<Vec<_>>(), [("acme-trunk", "endpoint")]);
        let before = section("acme-trunk", &[("type", "endpoint"), ("from_user", "ab")]);
        let reason = refused_reason(PJSIP_FILE, missing[0], Some(&before));
        assert!(reason.contains("PJSIPShowEndpoints does not list it") && reason.contains("other values of: from_user"), "{reason}");
        assert!(!reason.contains("a b"), "values are never quoted: {reason}");

        let failure = ObjectFailure {
            file: PJSIP_FILE.into(),
            section: "acme-trunk".into(),
            section_type: "endpoint".into(),
            owner: owners.get(PJSIP_FILE, "acme-trunk").cloned(),
            reason,
        };
        let (a, b) = (["tenant-a".to_string()], ["tenant-b".to_string()]);
        assert!(Viewer::Tenants(&a).sees(failure.owner.as_ref()));
        assert!(!Viewer::Tenants(&b).sees(failure.owner.as_ref()));
        let failures = [failure];
        assert!(!in_sync_for(Viewer::Tenants(&a), true, &failures, &[]));
        assert!(in_sync_for(Viewer::Tenants(&b), true, &failures, &[]), "another tenant's failure is not B's");
        assert!(!in_sync_for(Viewer::All, true, &failures, &[]));
        assert!(!in_sync_for(Viewer::Tenants(&b), false, &[], &[]), "a global problem is everyone's");
    }

    #[test]
    fn an_object_asterisk_kept_in_its_previous_version_names_the_key() {
        let before = section("acme-trunk", &[("type", "endpoint"), ("from_user", "ab"), ("direct_media", "no"), ("context", "in")]);
        let written = section("acme-trunk", &[("type", "endpoint"), ("from_user", "a b"), ("direct_media", "yes"), ("context", "in")]);
        let detail = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        // Asterisk refused the new object and kept the old one.
        let kept = detail(&[("FromUser", "ab"), ("DirectMedia", "false"), ("Context", "in")]);
        assert_eq!(retained_keys(&before, &written, &kept), ["direct_media", "from_user"]);
        // It took the new one (booleans reported as true/false).
        let took = detail(&[("FromUser", "a b"), ("DirectMedia", "true"), ("Context", "in")]);
        assert!(retained_keys(&before, &written, &took).is_empty());
        // A value reported in another form proves nothing either way.
        let unknown = detail(&[("FromUser", "<a b>")]);
        assert!(retained_keys(&before, &written, &unknown).is_empty());
        let reason = retained_reason(PJSIP_FILE, &written, &["from_user".to_string()]);
        assert!(reason.contains("keeps running the previous one") && reason.contains("from_user") && !reason.contains("a b"), "{reason}");
    }

    #[test]
    fn a_missing_transport_is_everyones_problem() {
        let owners = Owners::of(&snapshot());
        let expected = [section("transport-udp", &[("type", "transport")])];
        let nothing = Loaded(BTreeMap::from([("transport", BTreeSet::new())]));
        let missing = not_loaded(&expected, &nothing);
        assert_eq!(missing.len(), 1);
        let failure = ObjectFailure {
            file: "pjsip.conf".into(),
            section: "transport-udp".into(),
            section_type: "transport".into(),
            owner: owners.get(PJSIP_FILE, "transport-udp").cloned(),
            reason: String::new(),
        };
        let b = ["tenant-b".to_string()];
        assert!(!in_sync_for(Viewer::Tenants(&b), true, &[failure], &[]));
    }

    #[test]
    fn read_back_is_compared_key_by_key_and_names_only_the_key() {
        let owners = Owners::of(&snapshot());
        let written = [
            section("acme-trunk", &[("type", "auth"), ("password", "s3cret")]),
            section("acme-trunk", &[("type", "endpoint"), ("from_user", ">x"), ("context", "in")]),
            section("bravo-trunk", &[("type", "endpoint")]),
        ];
        let read = [
            section("acme-trunk", &[("type", "auth"), ("password", "s3cret ")]),
            section("acme-trunk", &[("type", "endpoint"), ("from_user", "x"), ("context", "in")]),
            section("bravo-trunk", &[("type", "endpoint"), ("added", "1")]),
            section("stray", &[("type", "aor")]),
        ];
        let found = differences(PJSIP_FILE, &written, &read, &owners);
        let summary: Vec<(&str, &str, Option<&str>, &str)> =
            found.iter().map(|d| (d.section.as_str(), d.section_type.as_str(), d.key.as_deref(), d.what)).collect();
        assert_eq!(
            summary,
            [
                ("acme-trunk", "auth", Some("password"), "reads back differently"),
                ("acme-trunk", "endpoint", Some("from_user"), "reads back differently"),
                ("bravo-trunk", "endpoint", Some("added"), "not written by Patchbay"),
                ("stray", "aor", None, "not written by Patchbay"),
            ]
        );
        assert!(!serde_json::to_string(&found).unwrap().contains("s3cret"), "no value in a difference");
        assert_eq!(found[0].owner.as_ref().and_then(|o| o.tenant_uuid.as_deref()), Some("tenant-a"));
        assert!(differences(PJSIP_FILE, &written, &written, &owners).is_empty());
        let lost = differences(PJSIP_FILE, &written, &read[..1], &owners);
        assert!(lost.iter().any(|d| d.section == "bravo-trunk" && d.key.is_none() && d.what == "missing"), "{lost:?}");
    }

    #[test]
    fn base_sections_are_the_base_files_own_and_are_not_written_again() {
        let own = [section("transport-udp", &[("type", "transport")]), section("acme-trunk", &[("type", "endpoint")])];
        // GetConfig pjsip.conf: the base's transport, then the included file.
        let whole = [section("transport-udp", &[("type", "transport")]), own[0].clone(), own[1].clone()];
        let base = base_sections(&whole, &own);
        assert_eq!(base, BTreeSet::from([("transport-udp".to_string(), "transport".to_string())]));
        let (written, skipped) = without_base_duplicates(&own, &base);
        assert_eq!(written.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["acme-trunk"]);
        assert_eq!(skipped.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["transport-udp"]);
        // Nothing of Patchbay's in the base: nothing skipped.
        assert!(base_sections(&own, &own).is_empty());
    }
}
