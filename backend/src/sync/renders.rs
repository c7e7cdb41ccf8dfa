//! The configuration rendered tenant by tenant and kept between passes: a
//! pass renders only the tenants whose rows changed since the last one
//! (`snapshot::Changes`), each from its own small snapshot
//! (`SnapshotCache::per_tenant`: its objects and what it uses of a sharing
//! tenant), so a change costs what its tenant holds, not what the server
//! holds. Rendering one tenant alone gives that tenant's sections exactly
//! as rendering everything and splitting by owner does (the renderer
//! orders by name or id, and a tenant's configuration names only its own
//! objects and the trunks shared with it; tested below); what all tenants
//! share (`[global]`, `[system]`, transports) is rendered once, from no
//! tenant.
//!
//! Pure: no I/O. `sync` asks which units differ and writes them.

use super::units::{self, Units};
use super::verdict::{EXTENSIONS_FILE, IAX_FILE, Owners, PJSIP_FILE};
use crate::ami::config_writer::Section;
use patchbay_shared::model::Snapshot;
use patchbay_shared::render::{self, ConfigFile};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The logical files, in the order a pass writes them.
pub const LOGICAL: [&str; 3] = [PJSIP_FILE, EXTENSIONS_FILE, IAX_FILE];

/// One tenant's share of the configuration (or what all tenants share).
#[derive(Debug, Clone, Default)]
pub struct Part {
    /// Logical file → the sections of this tenant's unit (the IAX file has
    /// no units: its sections are joined in tenant order).
    pub own: BTreeMap<&'static str, Vec<render::Section>>,
    /// Logical file → sections whose owner Patchbay cannot place: they go
    /// to the main file, as a whole render's split puts them.
    pub main: BTreeMap<&'static str, Vec<render::Section>>,
    /// The owners of this part's sections.
    pub owners: Owners,
    /// The PJSIP sections (name, type) of this part that are SIP trunks'
    /// objects (`render::pjsip_trunk_objects`): on a node with ARI access
    /// they are pushed into Asterisk's memory wizard instead of the file.
    pub trunk_objects: BTreeSet<(String, String)>,
}

/// Every tenant's part, as of the last update (cheap to clone: the parts
/// are shared).
#[derive(Debug, Default, Clone)]
pub struct Renders {
    /// What all tenants share; `None` before the first update.
    shared: Option<Arc<Part>>,
    tenants: BTreeMap<String, Arc<Part>>,
    /// Each tenant's slug, by uuid: the joined views (the IAX file, the
    /// preview) put tenants in slug order, which two Patchbays holding the
    /// same configuration share (their uuids differ).
    slugs: BTreeMap<String, String>,
    /// The generation of the tenant list `slugs` was taken from
    /// (`SnapshotCache::tenants_generation`): a pass that changes no tenant
    /// neither copies the slugs nor sorts the tenants again.
    generation: Option<u64>,
    /// The keys of `tenants` in slug order (then uuid; a part whose tenant
    /// is gone last), kept level with `tenants` and `slugs`.
    order: Vec<String>,
    /// Per logical file, the main file's sections (`main_sections`): what
    /// is shared, then what nobody owns, part by part. Kept between updates
    /// (a route change would otherwise walk every tenant's part for it).
    main: BTreeMap<&'static str, Vec<render::Section>>,
    /// How often `order` and `main` were made again (for the tests: a
    /// change of one tenant's rows does neither).
    regathered: usize,
}

/// Whether `part` puts anything in a main file.
fn has_main(part: &Part) -> bool {
    part.main.values().any(|sections| !sections.is_empty())
}

/// A PJSIP section's (name, type).
fn identity(section: &render::Section) -> (String, String) {
    (section.name.clone(), section.values("type").next().unwrap_or_default().to_owned())
}

fn ami(sections: &[render::Section]) -> Vec<Section> {
    sections
        .iter()
        .map(|section| Section {
            name: section.name.clone(),
            lines: section.lines.clone(),
        })
        .collect()
}

/// The part of `tenant` (`None`: what is shared) in the rendering of
/// `snapshot`: its own sections, and the sections nobody owns when `keep`
/// says so.
fn part_of(snapshot: &Snapshot, tenant: Option<&str>) -> Part {
    let rendered = render::render(snapshot);
    let owners = Owners::of(snapshot);
    let mut part = Part {
        owners,
        trunk_objects: if tenant.is_some() { render::pjsip_trunk_objects(snapshot) } else { BTreeSet::new() },
        ..Part::default()
    };
    for (file, config) in [
        (PJSIP_FILE, &rendered.pjsip),
        (EXTENSIONS_FILE, &rendered.extensions),
        (IAX_FILE, &rendered.iax),
    ] {
        let (mut own, mut main) = (Vec::new(), Vec::new());
        for section in config.sections.iter().cloned() {
            match (
                part.owners
                    .get(file, &section.name)
                    .map(|owner| (owner.tenant_uuid.as_deref(), owner.is_shared())),
                tenant,
            ) {
                (Some((Some(owner), _)), Some(tenant)) if owner == tenant => own.push(section),
                // Another tenant's (a trunk shared with this one): its own part.
                (Some((Some(_), _)), _) => {}
                (Some((None, true)), None) => own.push(section),
                (Some((None, true)), Some(_)) => {}
                // Nobody's: the main file, from whoever renders it.
                (Some((None, false)) | None, Some(_)) => main.push(section),
                (Some((None, false)) | None, None) => {}
            }
        }
        part.own.insert(file, own);
        part.main.insert(file, main);
    }
    part
}

impl Renders {
    /// Renders again the tenants `changes` names (every tenant when it says
    /// something shared changed, or on the first update) from `cache`;
    /// `tenants` are the tenants that exist. Returns the tenants rendered
    /// (including those removed).
    pub fn update(
        &mut self,
        cache: &crate::snapshot::SnapshotCache,
        changes: &crate::snapshot::Changes,
    ) -> BTreeSet<String> {
        let mut reorder = false;
        if self.generation != Some(cache.tenants_generation()) {
            self.slugs = cache.tenant_slugs();
            self.generation = Some(cache.tenants_generation());
            reorder = true;
        }
        // `slugs` holds exactly the tenants that exist.
        let all = changes.shared || self.shared.is_none();
        if all {
            self.shared = Some(Arc::new(part_of(&cache.shared(), None)));
        }
        let redo: BTreeSet<String> = if all {
            self.slugs.keys().chain(self.tenants.keys()).cloned().collect()
        } else {
            changes.tenants.clone()
        };
        let present: BTreeSet<String> = redo.iter().filter(|tenant| self.slugs.contains_key(*tenant)).cloned().collect();
        let mut snapshots = cache.per_tenant(&present);
        let mut main_changed = all;
        for tenant in &redo {
            let before = match snapshots.remove(tenant) {
                Some(snapshot) => {
                    let part = Arc::new(part_of(&snapshot, Some(tenant)));
                    main_changed |= has_main(&part);
                    self.tenants.insert(tenant.clone(), part)
                }
                None => self.tenants.remove(tenant),
            };
            reorder |= before.is_some() != self.tenants.contains_key(tenant);
            main_changed |= before.is_some_and(|part| has_main(&part));
        }
        if reorder {
            self.sort();
        }
        if reorder || main_changed {
            self.gather_main();
        }
        redo
    }

    /// Puts `main` level with the parts.
    fn gather_main(&mut self) {
        self.regathered += 1;
        let main = LOGICAL
            .iter()
            .map(|file| {
                let shared = self.shared.iter().flat_map(|part| part.own.get(file).into_iter().flatten());
                let nobodys = self
                    .shared
                    .iter()
                    .chain(self.in_slug_order())
                    .flat_map(|part| part.main.get(file).into_iter().flatten());
                (*file, shared.chain(nobodys).cloned().collect())
            })
            .collect();
        self.main = main;
    }

    /// Puts `order` level with `tenants` and `slugs`.
    fn sort(&mut self) {
        let mut order: Vec<(Option<&String>, &String)> = self.tenants.keys().map(|uuid| (self.slugs.get(uuid), uuid)).collect();
        order.sort_by(|a, b| (a.0.is_none(), a.0, a.1).cmp(&(b.0.is_none(), b.0, b.1)));
        self.order = order.into_iter().map(|(_, uuid)| uuid.clone()).collect();
    }

    /// Every part from one whole `snapshot` (a fleet node holding only
    /// some tenants: what it renders of a sharing tenant off the node is
    /// only what it shares), split by owner as the units are.
    pub fn replace_from(&mut self, snapshot: &Snapshot) -> BTreeSet<String> {
        let rendered = render::render(snapshot);
        let owners = Owners::of(snapshot);
        let mut shared = Part {
            owners: owners.clone(),
            ..Part::default()
        };
        let mut tenants: BTreeMap<String, Part> = snapshot
            .tenants
            .iter()
            .map(|tenant| {
                (
                    tenant.uuid.clone(),
                    Part {
                        owners: owners.clone(),
                        ..Part::default()
                    },
                )
            })
            .collect();
        for (file, config) in [
            (PJSIP_FILE, &rendered.pjsip),
            (EXTENSIONS_FILE, &rendered.extensions),
            (IAX_FILE, &rendered.iax),
        ] {
            shared.own.insert(file, Vec::new());
            shared.main.insert(file, Vec::new());
            for part in tenants.values_mut() {
                part.own.insert(file, Vec::new());
                part.main.insert(file, Vec::new());
            }
            for section in config.sections.iter().cloned() {
                let owner = owners.get(file, &section.name);
                match owner.and_then(|owner| owner.tenant_uuid.clone()) {
                    Some(tenant) => tenants
                        .entry(tenant)
                        .or_insert_with(|| Part {
                            owners: owners.clone(),
                            ..Part::default()
                        })
                        .own
                        .entry(file)
                        .or_default()
                        .push(section),
                    None if owner.is_some_and(|owner| owner.is_shared()) => {
                        shared.own.entry(file).or_default().push(section)
                    }
                    None => shared.main.entry(file).or_default().push(section),
                }
            }
        }
        let trunk_objects = render::pjsip_trunk_objects(snapshot);
        for part in tenants.values_mut() {
            let own = part.own.get(PJSIP_FILE).into_iter().flatten().map(identity);
            part.trunk_objects = own.filter(|object| trunk_objects.contains(object)).collect();
        }
        let redo = tenants.keys().chain(self.tenants.keys()).cloned().collect();
        self.slugs = snapshot.tenants.iter().map(|tenant| (tenant.uuid.clone(), tenant.slug.clone())).collect();
        self.generation = None;
        self.shared = Some(Arc::new(shared));
        self.tenants = tenants
            .into_iter()
            .map(|(tenant, part)| (tenant, Arc::new(part)))
            .collect();
        self.sort();
        self.gather_main();
        redo
    }

    /// The units of the per-tenant logical file `file`: the main file
    /// (shared sections, then the sections nobody owns) and one per tenant
    /// rendered, plus an empty one for each name of `known` no tenant has
    /// (a tenant gone: its file is emptied).
    pub fn units<'a>(&self, file: &str, known: impl IntoIterator<Item = &'a String>) -> Units {
        let mut out = Units::new();
        for name in known {
            if units::is_tenant_unit(file, name) {
                out.insert(name.clone(), Vec::new());
            }
        }
        out.insert(file.to_string(), ami(&self.main_sections(file)));
        for (tenant, part) in &self.tenants {
            out.insert(
                units::tenant_unit(file, tenant),
                part.own.get(file).map(|own| ami(own)).unwrap_or_default(),
            );
        }
        out
    }

    /// The unit of `tenant` in the per-tenant logical file `file`, as
    /// rendered (a tenant gone: empty).
    pub fn tenant_unit(&self, file: &str, tenant: &str) -> Vec<Section> {
        self.tenants
            .get(tenant)
            .and_then(|part| part.own.get(file))
            .map(|own| ami(own))
            .unwrap_or_default()
    }

    /// The PJSIP unit of `tenant` split in two: the sections for its file,
    /// and the SIP trunks' objects (for Asterisk's memory wizard, on a node
    /// with ARI access).
    pub fn pjsip_unit_and_trunk_objects(&self, tenant: &str) -> (Vec<Section>, Vec<Section>) {
        let Some(part) = self.tenants.get(tenant) else { return Default::default() };
        let (memory, file): (Vec<render::Section>, Vec<render::Section>) =
            part.own.get(PJSIP_FILE).into_iter().flatten().cloned().partition(|section| part.trunk_objects.contains(&identity(section)));
        (ami(&file), ami(&memory))
    }

    /// The main file of the per-tenant logical file `file`.
    pub fn main_unit(&self, file: &str) -> Vec<Section> {
        ami(&self.main_sections(file))
    }

    fn main_sections(&self, file: &str) -> Vec<render::Section> {
        self.main.get(file).cloned().unwrap_or_default()
    }

    /// A logical file without units (IAX): every part's sections, shared
    /// first, then tenant by tenant.
    pub fn whole(&self, file: &str) -> Vec<Section> {
        ami(&self.whole_sections(file))
    }

    fn whole_sections(&self, file: &str) -> Vec<render::Section> {
        let mut out = self.main_sections(file);
        out.extend(
            self.in_slug_order()
                .flat_map(|part| part.own.get(file).into_iter().flatten())
                .cloned(),
        );
        out
    }

    /// The tenants' parts by slug (then uuid; a part whose tenant is gone
    /// last).
    fn in_slug_order(&self) -> impl Iterator<Item = &Arc<Part>> {
        self.order.iter().filter_map(|uuid| self.tenants.get(uuid))
    }

    /// The owners of the sections of `tenants` (and of what is shared).
    pub fn owners<'a>(&self, tenants: impl IntoIterator<Item = &'a String>) -> Owners {
        let mut owners = self
            .shared
            .as_ref()
            .map(|part| part.owners.clone())
            .unwrap_or_default();
        for tenant in tenants {
            if let Some(part) = self.tenants.get(tenant) {
                owners.merge(&part.owners);
            }
        }
        owners
    }

    /// The owners of every section.
    pub fn all_owners(&self) -> Owners {
        self.owners(self.tenants.keys())
    }

    /// The tenants rendered.
    pub fn tenants(&self) -> impl Iterator<Item = &String> {
        self.tenants.keys()
    }
}

/// The texts of every logical file, as the config preview shows them: the
/// per-tenant files joined (main file, then tenant by tenant), comments
/// included.
pub fn texts(renders: &Renders) -> BTreeMap<String, String> {
    [
        ("pjsip.conf", PJSIP_FILE),
        ("extensions.conf", EXTENSIONS_FILE),
        ("iax.conf", IAX_FILE),
    ]
    .into_iter()
    .map(|(name, file)| {
        (
            name.to_string(),
            render::escape::file_text(&ConfigFile {
                sections: renders.whole_sections(file),
            }),
        )
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Changes, SnapshotCache};
    use serde_json::json;

    fn from<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    /// Three tenants: `ta` shares its trunk with `tb`, whose route dials
    /// it; `tc` has its own trunk, route, DID and an IAX trunk.
    fn snapshot() -> Snapshot {
        let tenant = |uuid: &str| json!({"uuid": uuid, "name": uuid, "slug": uuid});
        let context = |id: u64, tenant: &str, name: &str, kind: &str| json!({"id": id, "uuid": format!("c{id}"), "tenant_uuid": tenant, "name": name, "label": name, "type": kind});
        let endpoint = |uuid: &str, tenant: &str, name: &str| {
            json!({"uuid": uuid, "tenant_uuid": tenant, "name": name, "auth_section_options": [["username", name], ["password", "pw"]],
                   "aor_section_options": [["contact", "sip:10.0.0.1:5060"]], "identify_section_options": [["match", "10.0.0.1"]]})
        };
        let outcall = |id: u64, tenant: &str, trunk: u64, extension: u64| {
            json!({"id": id, "tenant_uuid": tenant, "name": format!("route{id}"), "trunks": [{"id": trunk}],
                   "extensions": [{"id": extension, "caller_id": "Bench <5550000>"}]})
        };
        Snapshot {
            tenants: vec![from(tenant("ta")), from(tenant("tb")), from(tenant("tc"))],
            contexts: vec![
                from(context(1, "ta", "in-a", "incall")),
                from(context(2, "tb", "out-b", "outcall")),
                from(context(3, "tc", "out-c", "outcall")),
                from(context(4, "tc", "in-c", "incall")),
            ],
            extensions: vec![
                from(json!({"id": 1, "tenant_uuid": "tb", "exten": "_0X.", "context": "out-b"})),
                from(json!({"id": 2, "tenant_uuid": "tc", "exten": "_00X.", "context": "out-c"})),
                from(json!({"id": 3, "tenant_uuid": "tc", "exten": "5551000", "context": "in-c"})),
            ],
            trunks: vec![
                from(
                    json!({"id": 1, "tenant_uuid": "ta", "context": "in-a", "endpoint_sip": {"uuid": "ep-a"}, "shared_with": ["tb"]}),
                ),
                from(
                    json!({"id": 2, "tenant_uuid": "tc", "context": "in-c", "endpoint_sip": {"uuid": "ep-c"}}),
                ),
                from(
                    json!({"id": 3, "tenant_uuid": "tc", "context": "in-c", "endpoint_iax": {"id": 1}}),
                ),
            ],
            endpoints_sip: vec![
                from(endpoint("ep-a", "ta", "trunk-a")),
                from(endpoint("ep-c", "tc", "trunk-c")),
            ],
            endpoints_iax: vec![from(
                json!({"id": 1, "tenant_uuid": "tc", "name": "iax-c", "type": "peer", "host": "10.0.0.3"}),
            )],
            transports: vec![from(
                json!({"uuid": "tr", "name": "transport-udp", "options": [["protocol", "udp"], ["bind", "0.0.0.0:5060"]]}),
            )],
            outcalls: vec![from(outcall(1, "tb", 1, 1)), from(outcall(2, "tc", 2, 2))],
            incalls: vec![from(
                json!({"id": 1, "tenant_uuid": "tc", "extension_id": 3, "destination": {"type": "none"}}),
            )],
            ..Snapshot::default()
        }
    }

    fn same(a: &Renders, b: &Renders) {
        for file in [PJSIP_FILE, EXTENSIONS_FILE] {
            assert_eq!(a.units(file, []), b.units(file, []), "{file}");
        }
        assert_eq!(a.whole(IAX_FILE), b.whole(IAX_FILE));
        assert_eq!(texts(a), texts(b));
    }

    #[test]
    fn rendering_tenant_by_tenant_gives_the_whole_rendering_split_by_owner() {
        let snapshot = snapshot();
        let mut whole = Renders::default();
        whole.replace_from(&snapshot);
        let mut by_tenant = Renders::default();
        let cache = SnapshotCache::of_snapshot(&snapshot);
        let redone = by_tenant.update(&cache, &Changes::default());
        assert_eq!(redone.len(), 3, "the first update renders every tenant");
        same(&whole, &by_tenant);
        // The shared trunk dialled by tb's route; its sections are ta's.
        let b = units::join(
            EXTENSIONS_FILE,
            &BTreeMap::from([(
                units::tenant_unit(EXTENSIONS_FILE, "tb"),
                by_tenant.tenant_unit(EXTENSIONS_FILE, "tb"),
            )]),
        );
        assert!(b.iter().any(|section| section.name == "out-b"), "{b:?}");
        assert!(
            by_tenant.tenant_unit(PJSIP_FILE, "tb").is_empty(),
            "the shared trunk's endpoint stays in ta's file"
        );
        assert!(
            by_tenant
                .tenant_unit(PJSIP_FILE, "ta")
                .iter()
                .any(|section| section.name == "trunk-a")
        );
        assert!(!by_tenant.whole(IAX_FILE).is_empty());
        let whole_text = render::escape::file_text(&render::render(&snapshot).extensions);
        for section in units::join(EXTENSIONS_FILE, &by_tenant.units(EXTENSIONS_FILE, [])) {
            assert!(
                whole_text.contains(&format!("[{}]", section.name)),
                "{} is rendered whole too",
                section.name
            );
        }
    }

    #[test]
    fn a_change_renders_only_its_tenant_and_a_tenant_gone_empties_its_unit() {
        let mut snapshot = snapshot();
        let mut renders = Renders::default();
        renders.update(&SnapshotCache::of_snapshot(&snapshot), &Changes::default());
        // tc's route gets another caller ID.
        snapshot.outcalls[1].extensions[0].caller_id = Some("Other <5551111>".into());
        let cache = SnapshotCache::of_snapshot(&snapshot);
        let b_before = renders.tenant_unit(EXTENSIONS_FILE, "tb");
        let redone = renders.update(
            &cache,
            &Changes {
                tenants: ["tc".to_string()].into(),
                shared: false,
            },
        );
        assert_eq!(redone, BTreeSet::from(["tc".to_string()]));
        assert_eq!(renders.tenant_unit(EXTENSIONS_FILE, "tb"), b_before);
        let mut whole = Renders::default();
        whole.replace_from(&snapshot);
        same(&whole, &renders);
        // tc removed: its units come out empty when known.
        snapshot.tenants.retain(|tenant| tenant.uuid != "tc");
        for list in [&mut snapshot.contexts] {
            list.retain(|o| o.tenant_uuid != "tc");
        }
        snapshot.extensions.retain(|o| o.tenant_uuid != "tc");
        snapshot.trunks.retain(|o| o.tenant_uuid != "tc");
        snapshot.endpoints_sip.retain(|o| o.tenant_uuid != "tc");
        snapshot.endpoints_iax.clear();
        snapshot.outcalls.retain(|o| o.tenant_uuid != "tc");
        snapshot.incalls.clear();
        renders.update(
            &SnapshotCache::of_snapshot(&snapshot),
            &Changes {
                tenants: ["tc".to_string()].into(),
                shared: false,
            },
        );
        let gone = units::tenant_unit(EXTENSIONS_FILE, "tc");
        let units = renders.units(EXTENSIONS_FILE, [&gone]);
        assert_eq!(units.get(&gone), Some(&Vec::new()));
        whole.replace_from(&snapshot);
        same(&whole, &renders);
    }

    #[test]
    fn joined_views_follow_a_renamed_tenant_and_keep_their_order_otherwise() {
        let mut snapshot = snapshot();
        let mut renders = Renders::default();
        renders.update(&SnapshotCache::of_snapshot(&snapshot), &Changes::default());
        let before = renders.order.clone();
        // A change of one tenant's rows, the tenant list unchanged: same
        // order, and neither the order nor the main files made again.
        let cache = SnapshotCache::of_snapshot(&snapshot);
        renders.update(&cache, &Changes { tenants: ["tb".to_string()].into(), shared: false });
        let gathered = renders.regathered;
        renders.update(&cache, &Changes { tenants: ["tc".to_string()].into(), shared: false });
        renders.update(&cache, &Changes { tenants: ["tb".to_string()].into(), shared: false });
        assert_eq!((&renders.order, renders.regathered), (&before, gathered));
        // ta renamed to sort last: the joined views put it last.
        let ta = snapshot.tenants.iter_mut().find(|tenant| tenant.uuid == "ta").unwrap();
        ta.slug = "zz-last".into();
        renders.update(&SnapshotCache::of_snapshot(&snapshot), &Changes { tenants: ["ta".to_string()].into(), shared: false });
        assert_eq!(renders.order.last().map(String::as_str), Some("ta"), "{:?}", renders.order);
        assert_ne!(renders.order, before);
        let mut whole = Renders::default();
        whole.replace_from(&snapshot);
        same(&whole, &renders);
    }
}
