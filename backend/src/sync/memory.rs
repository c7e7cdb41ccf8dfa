//! The SIP trunks' PJSIP objects on a node with ARI access: they live in
//! Asterisk's sorcery memory wizard, pushed one by one (`crate::ari`), not
//! in their tenant's file, so a new trunk needs no res_pjsip reload.
//!
//! Pure: from what Patchbay last pushed (`Held`, `None` when it does not
//! know: a new AMI session, which may be a restarted Asterisk with an
//! empty memory wizard) and what the database wants, the operations in
//! dependency order: deletions first, the referring objects before what
//! they refer to (registration → identify → endpoint → aor → auth), then
//! creations the other way round. A changed object is deleted and created
//! again: ARI updates an object on a copy, which keeps the fields the new
//! version drops and cannot copy an endpoint carrying `set_var`.

use crate::ami::config_writer::Section;
use std::collections::{BTreeMap, BTreeSet};

/// The order objects are created in.
pub const ORDER: [&str; 5] = ["auth", "aor", "endpoint", "identify", "registration"];

/// An object: (type, id).
pub type Key = (String, String);

/// An object as pushed: its tenant and its fields (keys may repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub tenant: String,
    pub fields: Vec<(String, String)>,
}

/// What Patchbay pushed and Asterisk answered for, with each tenant's keys
/// (a pass compares only its tenants' objects: at 1,000 tenants walking
/// every object on each pass cost a tenth of a route change's pass).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    objects: BTreeMap<Key, Object>,
    by_tenant: BTreeMap<String, BTreeSet<Key>>,
}

impl Held {
    pub fn insert(&mut self, key: Key, object: Object) {
        // Out of its former tenant's keys first (an id may change tenant).
        self.remove(&key);
        self.by_tenant.entry(object.tenant.clone()).or_default().insert(key.clone());
        self.objects.insert(key, object);
    }

    pub fn remove(&mut self, key: &Key) {
        if let Some(old) = self.objects.remove(key) {
            self.unindex(&old.tenant, key);
        }
    }

    fn unindex(&mut self, tenant: &str, key: &Key) {
        if let Some(keys) = self.by_tenant.get_mut(tenant) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_tenant.remove(tenant);
            }
        }
    }

    pub fn get(&self, key: &Key) -> Option<&Object> {
        self.objects.get(key)
    }

    /// The tenants with an object held.
    pub fn tenants(&self) -> impl Iterator<Item = &String> {
        self.by_tenant.keys()
    }

    /// `tenant`'s objects.
    pub fn of<'a>(&'a self, tenant: &str) -> impl Iterator<Item = (&'a Key, &'a Object)> {
        self.by_tenant.get(tenant).into_iter().flatten().filter_map(|key| self.objects.get_key_value(key))
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

impl Extend<(Key, Object)> for Held {
    fn extend<I: IntoIterator<Item = (Key, Object)>>(&mut self, objects: I) {
        for (key, object) in objects {
            self.insert(key, object);
        }
    }
}

impl FromIterator<(Key, Object)> for Held {
    fn from_iter<I: IntoIterator<Item = (Key, Object)>>(objects: I) -> Held {
        let mut held = Held::default();
        held.extend(objects);
        held
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Delete it; `known`: Patchbay pushed it (else it may not be there).
    Delete { key: Key, known: bool, tenant: String },
    Create { key: Key, object: Object },
}

/// The objects of `tenant`'s trunk sections (`type` line apart).
pub fn objects(tenant: &str, sections: &[Section]) -> BTreeMap<Key, Object> {
    sections
        .iter()
        .map(|section| {
            let kind = section.lines.iter().find(|(key, _)| key == "type").map(|(_, value)| value.clone()).unwrap_or_default();
            let fields = section.lines.iter().filter(|(key, _)| key != "type").cloned().collect();
            ((kind, section.name.clone()), Object { tenant: tenant.to_owned(), fields })
        })
        .collect()
}

/// The value of `key` when it appears once (`None`: absent or repeated).
pub fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    let mut values = fields.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() { None } else { first }
}

fn rank(kind: &str) -> usize {
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

/// Deletions go referring objects first (registration → … → auth).
fn deletion_order(key: &Key) -> (std::cmp::Reverse<usize>, Key) {
    (std::cmp::Reverse(rank(&key.0)), key.clone())
}

/// The operations that make Asterisk hold `desired` for the tenants in
/// `scope`: objects held for other tenants stay, except those of tenants
/// that no longer exist (`existing`).
pub fn plan(held: Option<&Held>, desired: &BTreeMap<Key, Object>, scope: &BTreeSet<String>, existing: &BTreeSet<String>) -> Vec<Op> {
    let mut deletes: Vec<Op> = Vec::new();
    let mut creates: Vec<Op> = Vec::new();
    match held {
        None => {
            // Whatever Asterisk holds under these ids goes first.
            for (key, object) in desired {
                deletes.push(Op::Delete { key: key.clone(), known: false, tenant: object.tenant.clone() });
                creates.push(Op::Create { key: key.clone(), object: object.clone() });
            }
        }
        Some(held) => {
            let gone = held.tenants().filter(|tenant| !existing.contains(*tenant));
            let compared: BTreeSet<&String> = scope.iter().chain(gone).collect();
            for (key, object) in compared.into_iter().flat_map(|tenant| held.of(tenant)) {
                if desired.get(key) != Some(object) {
                    deletes.push(Op::Delete { key: key.clone(), known: true, tenant: object.tenant.clone() });
                }
            }
            for (key, object) in desired {
                if held.get(key) != Some(object) {
                    creates.push(Op::Create { key: key.clone(), object: object.clone() });
                }
            }
        }
    }
    let key_of = |op: &Op| match op {
        Op::Delete { key, .. } | Op::Create { key, .. } => key.clone(),
    };
    deletes.sort_by_key(|op| deletion_order(&key_of(op)));
    creates.sort_by_key(|op| {
        let key = key_of(op);
        (rank(&key.0), key)
    });
    deletes.extend(creates);
    deletes
}

impl Op {
    pub fn tenant(&self) -> &str {
        match self {
            Op::Delete { tenant, .. } => tenant,
            Op::Create { object, .. } => &object.tenant,
        }
    }
}

/// Objects Asterisk lists (`listed`: type → ids, as `PJSIPShow*` gives
/// them) that no file defines (`in_files`: (id, type)) and Patchbay does
/// not hold in memory: pushed by an earlier run for a trunk gone since (its
/// delete lost in a crash, or made while another Patchbay held the node).
/// Asked only when Patchbay has just pushed everything afresh (a new
/// session), in deletion order. An identify is not listed by AMI: the one
/// named as an orphan endpoint (the renderer names them alike) goes with
/// it. Deleting one a file does define is refused by Asterisk (403), so a
/// mistake here costs a request, never an object.
pub fn orphans(listed: &BTreeMap<&str, BTreeSet<String>>, in_files: &BTreeSet<(String, String)>, held: &Held) -> Vec<Key> {
    let mut out: BTreeSet<Key> = BTreeSet::new();
    let orphan = |kind: &str, id: &str| {
        let key = (kind.to_owned(), id.to_owned());
        (!in_files.contains(&(id.to_owned(), kind.to_owned())) && held.get(&key).is_none()).then_some(key)
    };
    for kind in ORDER {
        for id in listed.get(kind).into_iter().flatten() {
            if let Some(key) = orphan(kind, id) {
                out.insert(key);
                if kind == "endpoint" {
                    out.extend(orphan("identify", id));
                }
            }
        }
    }
    let mut out: Vec<Key> = out.into_iter().collect();
    out.sort_by_key(deletion_order);
    out
}

/// `ops` (as [`plan`] orders them) shared out into at most `lanes` lists
/// that may run at the same time: one tenant's operations stay in one
/// lane, in their order (its objects refer to one another), and tenants
/// never share objects, so lanes need no order between them. Tenants are
/// dealt to the lane with the fewest operations so far, the largest first,
/// so a restart's thousand trunks spread evenly. Why lanes: an ARI request
/// waits mostly on Asterisk (a registration's creation on a pjsip
/// serializer), so one request at a time left a restart at 1,000
/// registering trunks ~73 s behind.
pub fn lanes(ops: Vec<Op>, lanes: usize) -> Vec<Vec<Op>> {
    let mut per_tenant: BTreeMap<String, Vec<Op>> = BTreeMap::new();
    for op in ops {
        per_tenant.entry(op.tenant().to_owned()).or_default().push(op);
    }
    let mut tenants: Vec<Vec<Op>> = per_tenant.into_values().collect();
    // Stable: equal sizes keep the tenants' order.
    tenants.sort_by_key(|ops| std::cmp::Reverse(ops.len()));
    let mut out: Vec<Vec<Op>> = (0..lanes.max(1).min(tenants.len())).map(|_| Vec::new()).collect();
    for ops in tenants {
        let lightest = (0..out.len()).min_by_key(|&lane| out[lane].len()).unwrap_or(0);
        out[lightest].extend(ops);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &str, kind: &str, lines: &[(&str, &str)]) -> Section {
        let mut all = vec![("type".to_owned(), kind.to_owned())];
        all.extend(lines.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Section { name: name.into(), lines: all }
    }

    fn trunk(tenant: &str, name: &str, context: &str) -> BTreeMap<Key, Object> {
        objects(
            tenant,
            &[
                section(name, "endpoint", &[("context", context), ("set_var", "A=1"), ("set_var", "B=2"), ("aors", name)]),
                section(name, "aor", &[("contact", "sip:x")]),
                section(name, "auth", &[("username", "u")]),
                section(name, "identify", &[("endpoint", name), ("match", "192.0.2.1")]),
                section(name, "registration", &[("server_uri", "sip:x")]),
            ],
        )
    }

    fn keys(ops: &[Op]) -> Vec<String> {
        ops.iter()
            .map(|op| match op {
                Op::Delete { key, known, .. } => format!("-{}/{}{}", key.0, key.1, if *known { "" } else { "?" }),
                Op::Create { key, .. } => format!("+{}/{}", key.0, key.1),
            })
            .collect()
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_new_trunk_is_created_in_dependency_order_with_its_repeated_keys() {
        let desired = trunk("t1", "tr", "c");
        let ops = plan(Some(&Held::default()), &desired, &set(&["t1"]), &set(&["t1"]));
        assert_eq!(keys(&ops), ["+auth/tr", "+aor/tr", "+endpoint/tr", "+identify/tr", "+registration/tr"]);
        let Op::Create { object, .. } = &ops[2] else { panic!() };
        assert_eq!(object.fields.iter().filter(|(k, _)| k == "set_var").count(), 2);
        assert!(!object.fields.iter().any(|(k, _)| k == "type"));
    }

    #[test]
    fn nothing_changed_nothing_sent_and_a_change_replaces_only_its_object() {
        let held: Held = trunk("t1", "tr", "c").into_iter().collect();
        assert!(plan(Some(&held), &trunk("t1", "tr", "c"), &set(&["t1"]), &set(&["t1"])).is_empty());
        let ops = plan(Some(&held), &trunk("t1", "tr", "other"), &set(&["t1"]), &set(&["t1"]));
        assert_eq!(keys(&ops), ["-endpoint/tr", "+endpoint/tr"]);
    }

    #[test]
    fn a_removed_trunk_is_deleted_referring_objects_first_and_other_tenants_stay() {
        let mut held: Held = trunk("t1", "tr", "c").into_iter().collect();
        held.extend(trunk("t2", "other", "c"));
        // t2 is not compared by this pass: its objects stay.
        let ops = plan(Some(&held), &BTreeMap::new(), &set(&["t1"]), &set(&["t1", "t2"]));
        assert_eq!(keys(&ops), ["-registration/tr", "-identify/tr", "-endpoint/tr", "-aor/tr", "-auth/tr"]);
        // A tenant gone: its objects go whatever the scope.
        let ops = plan(Some(&held), &BTreeMap::new(), &set(&[]), &set(&["t1"]));
        assert_eq!(ops.len(), 5);
        assert!(keys(&ops).iter().all(|k| k.ends_with("/other")));
    }

    #[test]
    fn unknown_state_replaces_every_object_after_a_new_session() {
        let ops = plan(None, &trunk("t1", "tr", "c"), &set(&["t1"]), &set(&["t1"]));
        assert_eq!(
            keys(&ops),
            [
                "-registration/tr?", "-identify/tr?", "-endpoint/tr?", "-aor/tr?", "-auth/tr?",
                "+auth/tr", "+aor/tr", "+endpoint/tr", "+identify/tr", "+registration/tr"
            ]
        );
    }

    #[test]
    fn lanes_keep_each_tenants_order_and_share_the_work() {
        let mut desired = trunk("t1", "a", "c");
        desired.extend(trunk("t2", "b", "c"));
        desired.extend(trunk("t3", "d", "c"));
        let ops = plan(None, &desired, &set(&["t1", "t2", "t3"]), &set(&["t1", "t2", "t3"]));
        assert_eq!(ops.len(), 30);
        let lanes = lanes(ops.clone(), 2);
        assert_eq!(lanes.len(), 2);
        assert_eq!(lanes.iter().map(Vec::len).sum::<usize>(), 30);
        assert_eq!(lanes.iter().map(Vec::len).collect::<Vec<_>>(), [20, 10], "two tenants, then one");
        for tenant in ["t1", "t2", "t3"] {
            // One lane holds all of a tenant's operations, in plan order.
            let holding: Vec<&Vec<Op>> = lanes.iter().filter(|lane| lane.iter().any(|op| op.tenant() == tenant)).collect();
            assert_eq!(holding.len(), 1, "{tenant} in one lane");
            let mine: Vec<&Op> = holding[0].iter().filter(|op| op.tenant() == tenant).collect();
            let planned: Vec<&Op> = ops.iter().filter(|op| op.tenant() == tenant).collect();
            assert_eq!(mine, planned);
        }
        // Fewer tenants than lanes: no empty lane; nothing to do: no lane.
        assert_eq!(super::lanes(plan(None, &trunk("t1", "a", "c"), &set(&["t1"]), &set(&["t1"])), 8).len(), 1);
        assert!(super::lanes(Vec::new(), 8).is_empty());
    }

    #[test]
    fn held_objects_are_found_by_tenant_and_leave_their_tenant_when_removed() {
        let mut held: Held = trunk("t1", "a", "c").into_iter().collect();
        held.extend(trunk("t2", "b", "c"));
        assert_eq!(held.len(), 10);
        assert_eq!(held.tenants().collect::<Vec<_>>(), ["t1", "t2"]);
        assert!(held.of("t1").all(|(key, object)| key.1 == "a" && object.tenant == "t1"));
        assert_eq!(held.of("t1").count(), 5);
        for kind in ORDER {
            held.remove(&(kind.to_string(), "a".to_string()));
        }
        assert_eq!(held.tenants().collect::<Vec<_>>(), ["t2"], "t1 has nothing left");
        // An id taken over by another tenant moves to it.
        let (key, mut object) = trunk("t2", "b", "c").into_iter().next().unwrap();
        object.tenant = "t3".into();
        held.insert(key.clone(), object);
        assert_eq!(held.of("t3").map(|(k, _)| k.clone()).collect::<Vec<_>>(), [key.clone()]);
        assert!(held.of("t2").all(|(k, _)| *k != key));
        assert_eq!(held.len(), 5);
    }

    #[test]
    fn orphans_are_listed_objects_in_no_file_and_not_held_referring_ones_first() {
        let held: Held = trunk("t1", "kept", "c").into_iter().collect();
        let listed: BTreeMap<&str, BTreeSet<String>> = BTreeMap::from([
            ("endpoint", set(&["kept", "gone", "phone-1"])),
            ("aor", set(&["kept", "gone", "phone-1"])),
            ("auth", set(&["kept", "gone", "phone-1"])),
            ("registration", set(&["kept", "gone"])),
        ]);
        // A user's line is in its tenant's file; "gone" was pushed by an
        // earlier run for a trunk deleted since.
        let in_files: BTreeSet<(String, String)> =
            ["endpoint", "aor", "auth"].iter().map(|kind| ("phone-1".to_string(), kind.to_string())).collect();
        let found: Vec<String> = orphans(&listed, &in_files, &held).iter().map(|(kind, id)| format!("{kind}/{id}")).collect();
        assert_eq!(found, ["registration/gone", "identify/gone", "endpoint/gone", "aor/gone", "auth/gone"]);
        assert!(orphans(&BTreeMap::new(), &in_files, &held).is_empty());
    }

    #[test]
    fn a_field_read_back_is_its_single_value() {
        let fields = vec![("server_uri".to_owned(), "sip:a".to_owned()), ("set_var".to_owned(), "A=1".to_owned()), ("set_var".to_owned(), "B=2".to_owned())];
        assert_eq!(field(&fields, "server_uri"), Some("sip:a"));
        assert_eq!(field(&fields, "set_var"), None, "repeated");
        assert_eq!(field(&fields, "client_uri"), None);
    }
}
