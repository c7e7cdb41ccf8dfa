//! PJSIP written as one small file per tenant: what a change rewrites is
//! that tenant's file, not every tenant's objects (Asterisk loads and saves
//! the whole file for every `UpdateConfig`, so a single file costs what the
//! server holds). The base `pjsip.conf` pulls them all in with one glob
//! line, `#tryinclude patchbay-pjsip*.conf`, which matches the main file
//! (`patchbay-pjsip.conf`: what all tenants share, transports, `[global]`,
//! `[system]`, and sections Patchbay cannot place) and every tenant file
//! (`patchbay-pjsip_<tenant uuid>.conf`, sorted after the main file).
//!
//! The rest of the sync keeps one logical PJSIP file (the units joined in
//! a fixed order: main file, then tenant files by name) for comparing,
//! verifying and reporting; only the reads and writes are per unit. Pure:
//! `sync` does the I/O.

use super::verdict::{Owners, PJSIP_FILE};
use crate::ami::config_writer::Section;
use std::collections::BTreeMap;

/// Physical file name → its sections.
pub type Units = BTreeMap<String, Vec<Section>>;

/// The file holding `tenant`'s PJSIP sections. Tenant uuids are letters,
/// digits and `-`; anything else is dropped so the name stays a plain file
/// name matching the base's glob.
pub fn tenant_file(tenant: &str) -> String {
    let safe: String = tenant.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!("patchbay-pjsip_{safe}.conf")
}

/// Whether `file` is one of the tenant files.
pub fn is_tenant_file(file: &str) -> bool {
    file.starts_with("patchbay-pjsip_") && file.ends_with(".conf")
}

/// `sections` (the logical PJSIP file) split into units by owner. The main
/// file is always present (possibly empty); `known` units missing from
/// the split come out empty, so a tenant with nothing left has its file
/// emptied.
pub fn split<'a>(sections: &[Section], owners: &Owners, known: impl IntoIterator<Item = &'a String>) -> Units {
    let mut units = Units::new();
    units.insert(PJSIP_FILE.to_string(), Vec::new());
    for name in known {
        units.entry(name.clone()).or_default();
    }
    for section in sections {
        let file = match owners.tenant(PJSIP_FILE, &section.name) {
            Some(tenant) => tenant_file(&tenant),
            None => PJSIP_FILE.to_string(),
        };
        units.entry(file).or_default().push(section.clone());
    }
    units
}

/// The logical file: the main file's sections, then each tenant file's in
/// name order (the order of the glob, after the main file).
pub fn join(units: &Units) -> Vec<Section> {
    let main = units.get(PJSIP_FILE).into_iter().flatten();
    let tenants = units.iter().filter(|(name, _)| name.as_str() != PJSIP_FILE).flat_map(|(_, sections)| sections);
    main.chain(tenants).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchbay_shared::model::{EndpointSip, Snapshot, Transport};

    fn section(name: &str, kind: &str) -> Section {
        Section { name: name.into(), lines: vec![("type".into(), kind.into())] }
    }

    #[test]
    fn tenant_files_sort_after_the_main_file_and_match_the_glob() {
        let file = tenant_file("2a6c1a8e-0000-4000-8000-000000000001");
        assert_eq!(file, "patchbay-pjsip_2a6c1a8e-0000-4000-8000-000000000001.conf");
        assert!(file.as_str() > PJSIP_FILE, "the glob loads the main file first");
        assert!(is_tenant_file(&file) && !is_tenant_file(PJSIP_FILE) && !is_tenant_file(&format!("{file}.staging")));
        assert_eq!(tenant_file("../x;y"), "patchbay-pjsip_xy.conf");
    }

    #[test]
    fn sections_go_to_their_tenant_file_and_shared_ones_to_the_main_file() {
        let endpoint = |uuid: &str, tenant: &str, name: &str| -> EndpointSip {
            serde_json::from_value(serde_json::json!({"uuid": uuid, "tenant_uuid": tenant, "name": name})).unwrap()
        };
        let transport: Transport = serde_json::from_value(serde_json::json!({"uuid": "t1", "name": "transport-udp"})).unwrap();
        let snapshot = Snapshot {
            endpoints_sip: vec![endpoint("e1", "ta", "trunk-a"), endpoint("e2", "tb", "trunk-b")],
            transports: vec![transport],
            ..Snapshot::default()
        };
        let owners = Owners::of(&snapshot);
        let sections = vec![section("transport-udp", "transport"), section("trunk-a", "endpoint"), section("trunk-b", "endpoint"), section("outbound_auth_trunk-a", "auth")];
        let gone = tenant_file("tc");
        let units = split(&sections, &owners, [&gone]);
        assert_eq!(units[PJSIP_FILE], [section("transport-udp", "transport")]);
        assert_eq!(units[&tenant_file("ta")], [section("trunk-a", "endpoint"), section("outbound_auth_trunk-a", "auth")]);
        assert_eq!(units[&tenant_file("tb")], [section("trunk-b", "endpoint")]);
        assert!(units[&gone].is_empty(), "a tenant with nothing left has its file emptied");
        let joined = join(&units);
        assert_eq!(joined.len(), 4);
        assert_eq!(joined[0].name, "transport-udp");
        assert_eq!(split(&joined, &owners, [&gone]), units, "splitting the joined file gives the same units");
    }
}
