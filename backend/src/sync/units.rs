//! PJSIP and the dialplan written as one small file per tenant: what a
//! change rewrites is that tenant's file, not every tenant's objects
//! (Asterisk loads and saves the whole file for every `UpdateConfig`, so a
//! single file costs what the server holds). The base files pull them all in
//! with one glob line each, `#tryinclude patchbay-pjsip*.conf` and
//! `#tryinclude patchbay-extensions*.conf`, which match the main file
//! (`patchbay-pjsip.conf`: what all tenants share, transports, `[global]`,
//! `[system]`, and sections Patchbay cannot place) and every tenant file
//! (`patchbay-pjsip_<tenant uuid>.conf`, `patchbay-extensions_<tenant
//! uuid>.conf`, sorted after the main file).
//!
//! The rest of the sync keeps one logical file per kind (the units joined
//! in a fixed order: main file, then tenant files by name) for comparing,
//! verifying and reporting; only the reads and writes are per unit. Pure:
//! `sync` does the I/O.

use super::verdict::{EXTENSIONS_FILE, Owners, PJSIP_FILE};
use crate::ami::config_writer::Section;
use std::collections::BTreeMap;

/// The logical files written as one file per tenant.
pub const PER_TENANT: [&str; 2] = [PJSIP_FILE, EXTENSIONS_FILE];

/// Physical file name → its sections.
pub type Units = BTreeMap<String, Vec<Section>>;

/// The PJSIP file holding `tenant`'s sections.
pub fn tenant_file(tenant: &str) -> String {
    tenant_unit(PJSIP_FILE, tenant)
}

/// The file holding `tenant`'s sections of the logical file `file`
/// (`patchbay-pjsip.conf` → `patchbay-pjsip_<tenant>.conf`). Tenant uuids
/// are letters, digits and `-`; anything else is dropped so the name stays
/// a plain file name matching the base's glob.
pub fn tenant_unit(file: &str, tenant: &str) -> String {
    let safe: String = tenant.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!("{}_{safe}.conf", file.trim_end_matches(".conf"))
}

/// Whether `name` is one of the tenant files of the logical file `file`.
pub fn is_tenant_unit(file: &str, name: &str) -> bool {
    name.starts_with(&format!("{}_", file.trim_end_matches(".conf"))) && name.ends_with(".conf")
}

/// The tenant whose unit of `file` is `name` (`None`: the main file, or
/// not a unit of `file`).
pub fn tenant_of(file: &str, name: &str) -> Option<String> {
    let tenant = name
        .strip_prefix(&format!("{}_", file.trim_end_matches(".conf")))?
        .strip_suffix(".conf")?;
    (!tenant.is_empty()).then(|| tenant.to_string())
}

/// The periodic reread's next slice: up to `count` of `names` (in order)
/// after `cursor`, wrapping around, so that successive slices cover every
/// unit; and the cursor for the next slice.
pub fn reread_slice<'a>(
    names: impl IntoIterator<Item = &'a String>,
    cursor: Option<&str>,
    count: usize,
) -> (Vec<String>, Option<String>) {
    let names: Vec<&String> = names.into_iter().collect();
    let start = cursor.map_or(0, |cursor| {
        names
            .iter()
            .position(|name| name.as_str() > cursor)
            .unwrap_or(0)
    });
    let slice: Vec<String> = names
        .iter()
        .cycle()
        .skip(start)
        .take(count.min(names.len()))
        .map(|name| name.to_string())
        .collect();
    let next = slice.last().cloned();
    (slice, next)
}

/// Whether `file` is one of the PJSIP tenant files.
pub fn is_tenant_file(file: &str) -> bool {
    is_tenant_unit(PJSIP_FILE, file)
}

/// `sections` (the logical file `file`) split into units by owner. The
/// main file is always present (possibly empty); `known` units missing from
/// the split come out empty, so a tenant with nothing left has its file
/// emptied.
pub fn split<'a>(file: &str, sections: &[Section], owners: &Owners, known: impl IntoIterator<Item = &'a String>) -> Units {
    let mut units = Units::new();
    units.insert(file.to_string(), Vec::new());
    for name in known {
        units.entry(name.clone()).or_default();
    }
    for section in sections {
        let unit = match owners.tenant(file, &section.name) {
            Some(tenant) => tenant_unit(file, &tenant),
            None => file.to_string(),
        };
        units.entry(unit).or_default().push(section.clone());
    }
    units
}

/// The logical file `file`: the main file's sections, then each tenant
/// file's in name order (the order of the glob, after the main file).
pub fn join(file: &str, units: &Units) -> Vec<Section> {
    let main = units.get(file).into_iter().flatten();
    let tenants = units.iter().filter(|(name, _)| name.as_str() != file).flat_map(|(_, sections)| sections);
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
    fn the_reread_walks_every_unit_a_slice_at_a_time() {
        let names: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|n| n.to_string())
            .collect();
        let (first, cursor) = reread_slice(&names, None, 2);
        assert_eq!(first, ["a", "b"]);
        let (second, cursor) = reread_slice(&names, cursor.as_deref(), 2);
        assert_eq!(second, ["c", "d"]);
        let (third, cursor) = reread_slice(&names, cursor.as_deref(), 2);
        assert_eq!(third, ["e", "a"], "wraps around");
        assert_eq!(cursor.as_deref(), Some("a"));
        // A cursor whose unit is gone continues after where it was.
        let fewer: Vec<String> = ["a", "d"].iter().map(|n| n.to_string()).collect();
        assert_eq!(reread_slice(&fewer, Some("b"), 1).0, ["d"]);
        assert_eq!(
            reread_slice(&names, None, 9).0.len(),
            5,
            "never more than there are"
        );
        assert_eq!(
            tenant_of(PJSIP_FILE, &tenant_file("t-1")),
            Some("t-1".into())
        );
        assert_eq!(tenant_of(PJSIP_FILE, PJSIP_FILE), None);
        assert_eq!(tenant_of(EXTENSIONS_FILE, &tenant_file("t-1")), None);
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
        let units = split(PJSIP_FILE, &sections, &owners, [&gone]);
        assert_eq!(units[PJSIP_FILE], [section("transport-udp", "transport")]);
        assert_eq!(units[&tenant_file("ta")], [section("trunk-a", "endpoint"), section("outbound_auth_trunk-a", "auth")]);
        assert_eq!(units[&tenant_file("tb")], [section("trunk-b", "endpoint")]);
        assert!(units[&gone].is_empty(), "a tenant with nothing left has its file emptied");
        let joined = join(PJSIP_FILE, &units);
        assert_eq!(joined.len(), 4);
        assert_eq!(joined[0].name, "transport-udp");
        assert_eq!(split(PJSIP_FILE, &joined, &owners, [&gone]), units, "splitting the joined file gives the same units");
    }

    #[test]
    fn every_dialplan_context_goes_to_its_tenants_file() {
        use patchbay_shared::model::{Context, Incall, Trunk};
        let context: Context = serde_json::from_value(serde_json::json!({"id": 1, "tenant_uuid": "ta", "name": "ctx-a", "label": "a", "type": "internal"})).unwrap();
        let trunk: Trunk = serde_json::from_value(serde_json::json!({"id": 7, "tenant_uuid": "tb"})).unwrap();
        let incall: Incall = serde_json::from_value(serde_json::json!({"id": 9, "tenant_uuid": "ta", "destination": {"type": "none"}})).unwrap();
        let snapshot = Snapshot { contexts: vec![context], trunks: vec![trunk], incalls: vec![incall], ..Snapshot::default() };
        let owners = Owners::of(&snapshot);
        let sections = vec![
            section("ctx-a", ""),
            section("pb-trunk-in-7", ""),
            section("pb-number-7-e164", ""),
            section("pb-trunk-did-7", ""),
            section("pb-incall-headers-9", ""),
            section("pb-trunk-in-70", ""),
        ];
        let units = split(EXTENSIONS_FILE, &sections, &owners, []);
        let names = |file: &str| units[file].iter().map(|s| s.name.as_str()).collect::<Vec<_>>();
        assert_eq!(names(&tenant_unit(EXTENSIONS_FILE, "ta")), ["ctx-a", "pb-incall-headers-9"]);
        assert_eq!(names(&tenant_unit(EXTENSIONS_FILE, "tb")), ["pb-trunk-in-7", "pb-number-7-e164", "pb-trunk-did-7"]);
        assert_eq!(names(EXTENSIONS_FILE), ["pb-trunk-in-70"], "an unknown trunk's context stays in the main file");
        assert_eq!(tenant_unit(EXTENSIONS_FILE, "ta"), "patchbay-extensions_ta.conf");
        assert!(is_tenant_unit(EXTENSIONS_FILE, "patchbay-extensions_ta.conf") && !is_tenant_unit(EXTENSIONS_FILE, "patchbay-pjsip_ta.conf"));
        assert_eq!(join(EXTENSIONS_FILE, &units).len(), sections.len());
    }
}
