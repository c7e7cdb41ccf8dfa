//! The store's rules, asked through `store::db` of whichever database the
//! run uses (`PATCHBAY_TEST_DB=postgres`: a fresh PostgreSQL database; else
//! SQLite): constraints answer the same Wazo resource names, triggers keep
//! the same links and revision, lists order and search alike, a rehearsal
//! leaves nothing behind.

use patchbay_backend::store::objects::{self, Page};
use patchbay_backend::store::testing::TestStore;
use patchbay_backend::store::{Kind, ObjectRow, StoreError, Tenant, nodes, people, trunks};
use serde_json::{Value, json};

const T1: &str = "00000000-0000-4000-8000-000000000001";
const T2: &str = "00000000-0000-4000-8000-000000000002";

fn seeded() -> TestStore {
    let store = TestStore::new();
    store
        .write(|tx| {
            people::insert_tenant(tx, &Tenant { uuid: T1.into(), name: "master".into(), slug: "master".into(), parent_uuid: None })?;
            people::insert_tenant(tx, &Tenant { uuid: T2.into(), name: "acme".into(), slug: "acme".into(), parent_uuid: Some(T1.into()) })
        })
        .unwrap();
    store
}

fn insert(store: &TestStore, kind: Kind, tenant: &str, body: Value) -> Result<i64, StoreError> {
    store.write(|tx| {
        let id = objects::next_id(tx, kind)?;
        objects::insert(tx, kind, &ObjectRow { id, uuid: Some(format!("00000000-0000-4000-9000-{id:012}-{}", kind.as_str())), tenant_uuid: Some(tenant.into()), body })?;
        Ok(id)
    })
}

#[test]
fn constraints_name_the_wazo_resource() {
    let store = seeded();
    insert(&store, Kind::Context, T1, json!({"name": "from-extern", "type": "incall"})).unwrap();
    let again = insert(&store, Kind::Context, T2, json!({"name": "from-extern", "type": "incall"})).unwrap_err();
    assert_eq!(again.unique_violation(), Some("Context"), "{again}");
    insert(&store, Kind::Extension, T1, json!({"exten": "100", "context": "from-extern"})).unwrap();
    let twice = insert(&store, Kind::Extension, T1, json!({"exten": "100", "context": "from-extern"})).unwrap_err();
    assert_eq!(twice.unique_violation(), Some("Extension"), "{twice}");
    assert!(twice.constraint_violation());
    // One namespace for SIP sections: a transport named as an endpoint (the trigger).
    insert(&store, Kind::EndpointSip, T1, json!({"name": "provider", "label": "Provider"})).unwrap();
    let section = insert(&store, Kind::Transport, T1, json!({"name": "provider"})).unwrap_err();
    assert_eq!(section.unique_violation(), Some("EndpointSIP"), "{section}");
    assert!(store.read(|c| objects::sip_name_taken(c, "provider", None)).unwrap());
    let own = store.read(|c| objects::get(c, Kind::EndpointSip, 1, None)).unwrap().unwrap();
    assert!(!store.read(|c| objects::sip_name_taken(c, "provider", own.uuid.as_deref())).unwrap(), "its own name is not taken");
    let bad_type = insert(&store, Kind::Context, T1, json!({"name": "odd", "type": "nonsense"})).unwrap_err();
    assert!(bad_type.constraint_violation() && bad_type.unique_violation().is_none(), "{bad_type}");
    // The failed writes left nothing.
    assert_eq!(store.read(|c| objects::list(c, Kind::Context, None)).unwrap().len(), 1);
}

#[test]
fn revision_moves_with_every_row_and_a_rehearsal_leaves_nothing() {
    let store = seeded();
    let start = store.revision().unwrap();
    insert(&store, Kind::Context, T1, json!({"name": "a", "type": "internal"})).unwrap();
    assert_eq!(store.revision().unwrap(), start + 1);
    store.write(|tx| objects::update_body(tx, Kind::Context, 1, &json!({"name": "b", "type": "internal"}))).unwrap();
    store.write(|tx| objects::delete(tx, Kind::Context, 1)).unwrap();
    assert_eq!(store.revision().unwrap(), start + 3);
    let seen = store
        .rehearse(|tx| {
            objects::insert(tx, Kind::Context, &ObjectRow { id: 7, uuid: None, tenant_uuid: Some(T1.into()), body: json!({"name": "ghost"}) })?;
            objects::get(tx, Kind::Context, 7, None).map(|row| row.is_some())
        })
        .unwrap();
    assert!(seen, "the rehearsal sees its own write");
    assert!(store.read(|c| objects::get(c, Kind::Context, 7, None)).unwrap().is_none());
    assert_eq!(store.revision().unwrap(), start + 3);
    // A failed write is rolled back whole.
    let failed: Result<(), StoreError> = store.write(|tx| {
        objects::insert(tx, Kind::Context, &ObjectRow { id: 8, uuid: None, tenant_uuid: Some(T1.into()), body: json!({"name": "half"}) })?;
        Err(StoreError::NoRow)
    });
    assert!(failed.is_err());
    assert!(store.read(|c| objects::get(c, Kind::Context, 8, None)).unwrap().is_none());
}

#[test]
fn outcall_links_follow_the_document() {
    let store = seeded();
    let trunk = insert(&store, Kind::Trunk, T1, json!({"context": null})).unwrap();
    let other = insert(&store, Kind::Trunk, T1, json!({"context": null})).unwrap();
    let outcall = insert(&store, Kind::Outcall, T2, json!({"name": "national", "trunks": [{"id": other}, {"id": trunk}], "extensions": [{"id": 5}]})).unwrap();
    let names = |visible: Option<&[String]>| {
        store.read(|c| {
            let rows = objects::list(c, Kind::Trunk, None)?;
            Ok::<_, StoreError>(trunks::relations(c, &rows, visible)?.into_iter().map(|r| r.outcalls.iter().map(|o| o.name.clone().unwrap_or_default()).collect::<Vec<_>>()).collect::<Vec<_>>())
        })
        .unwrap()
    };
    assert_eq!(names(None), [vec!["national".to_string()], vec!["national".to_string()]]);
    assert_eq!(names(Some(&[T1.to_string()])), [Vec::<String>::new(), Vec::new()], "another tenant's outcall is not shown");
    assert_eq!(store.read(|c| patchbay_backend::store::outcalls::of_extension(c, 5)).unwrap().map(|o| o.id), Some(outcall));
    store.write(|tx| objects::update_body(tx, Kind::Outcall, outcall, &json!({"name": "national", "trunks": [{"id": trunk}], "extensions": []}))).unwrap();
    assert_eq!(names(None), [vec!["national".to_string()], vec![]]);
    assert!(store.read(|c| patchbay_backend::store::outcalls::of_extension(c, 5)).unwrap().is_none());
}

#[test]
fn lists_order_and_search_alike() {
    let store = seeded();
    for (exten, context) in [("200", "b"), ("1000", "a"), ("Zed", "a"), ("zoé", "a"), ("_X.", "a")] {
        insert(&store, Kind::Extension, T1, json!({"exten": exten, "context": context})).unwrap();
    }
    insert(&store, Kind::Extension, T1, json!({"context": "c"})).unwrap();
    let page = |order: &str, descending: bool, search: Option<&str>, limit: Option<usize>| {
        store
            .read(|c| {
                objects::page(c, Kind::Extension, &Page {
                    filters: vec![],
                    search: search.map(|needle| (vec!["exten".to_string(), "context".to_string()], needle.to_string())),
                    order: order.into(),
                    descending,
                    limit,
                    offset: 0,
                    visible: Some(&[T1.to_string()]),
                })
            })
            .map(|(rows, total)| (rows.iter().map(|r| r.body["exten"].as_str().unwrap_or("null").to_string()).collect::<Vec<_>>(), total))
            .unwrap()
    };
    // NULL first, then by bytes (upper case before `_` before lower case).
    assert_eq!(page("exten", false, None, None).0, ["null", "1000", "200", "Zed", "_X.", "zoé"]);
    assert_eq!(page("exten", true, None, Some(2)), (vec!["zoé".to_string(), "_X.".to_string()], 6));
    assert_eq!(page("exten", false, Some("ZE"), None).0, ["Zed"], "ASCII search folds case");
    assert_eq!(page("exten", false, Some("ZOÉ"), None).0, ["zoé"], "so does a Unicode one");
    assert_eq!(page("exten", false, Some("_x"), None).0, ["_X."], "`_` is a character, not a wildcard");
    assert_eq!(page("id", false, Some("00"), None).0, ["200", "1000"]);
    // Three characters or more: narrowed by the trigram index first.
    assert_eq!(page("id", false, Some("100"), None).0, ["1000"]);
    assert_eq!(page("id", false, Some("ZED"), None), (vec!["Zed".to_string()], 1));
    let filtered = store
        .read(|c| {
            let order = Kind::Extension.column_sql("id");
            objects::page(c, Kind::Extension, &Page { filters: vec![(Kind::Extension.column_sql("context"), "b".into())], search: None, order, descending: false, limit: None, offset: 0, visible: None })
        })
        .unwrap();
    assert_eq!(filtered.1, 1);
    // A key read from the document (no column): JSON equality, booleans included.
    insert(&store, Kind::User, T2, json!({"firstname": "Ann", "enabled": true, "ring_seconds": 30})).unwrap();
    let by = |key: &str, value: Value| store.read(|c| objects::list_where(c, Kind::User, key, &value, Some(&[T2.to_string()]))).unwrap().len();
    assert_eq!((by("enabled", json!(true)), by("enabled", json!(false)), by("ring_seconds", json!(30)), by("firstname", json!("Ann"))), (1, 0, 1, 1));
    assert_eq!(by("firstname", json!("Ann")), 1);
}

#[test]
fn tenants_nodes_and_tokens() {
    let store = seeded();
    let names: Vec<String> = store.read(people::tenants).unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["master", "acme"], "creation order");
    let node = |name: &str, is_default: bool| nodes::Node { id: 0, name: name.into(), host: "127.0.0.1".into(), port: 5038, username: "pb".into(), secret: "s".into(), is_default, ari: None };
    let first = store.write(|tx| nodes::insert(tx, &node("one", true))).unwrap();
    let node_with_id = |id: i64| nodes::Node { id, ..node("one", false) };
    let second = store.write(|tx| nodes::insert(tx, &node("two", true))).unwrap();
    assert_ne!(first, second);
    let default = store.read(nodes::default_node).unwrap().unwrap();
    assert_eq!((default.id, default.port, default.is_default), (second, 5038, true));
    assert!(store.write(|tx| nodes::insert(tx, &node("one", false))).unwrap_err().constraint_violation());
    // ARI access (migration 10): kept, and taken away.
    let ari = nodes::Ari { url: "http://127.0.0.1:8088".into(), username: "pb".into(), secret: "ari-s".into() };
    let with_ari = nodes::Node { id: first, ari: Some(ari.clone()), ..node("one", false) };
    store.write(|tx| nodes::update(tx, &with_ari)).unwrap();
    assert_eq!(store.read(|c| nodes::get(c, first)).unwrap().and_then(|n| n.ari), Some(ari));
    store.write(|tx| nodes::update(tx, &node_with_id(first))).unwrap();
    assert_eq!(store.read(|c| nodes::get(c, first)).unwrap().and_then(|n| n.ari), None);
    store.write(|tx| nodes::set_placement(tx, T2, nodes::Placement { node_id: Some(first), moving_from: None })).unwrap();
    let on = |node: i64| store.read(|c| nodes::tenants_on(c, node)).unwrap().map(|set| set.into_iter().collect::<Vec<_>>());
    assert_eq!(on(first), Some(vec![T2.to_string()]));
    // The default node holds the tenants placed nowhere (T1).
    assert_eq!(on(second), Some(vec![T1.to_string()]));
    // T2 on the default node, moving from the first: both render it; the
    // default holds every tenant (`None`).
    store.write(|tx| nodes::set_placement(tx, T2, nodes::Placement { node_id: Some(second), moving_from: Some(first) })).unwrap();
    assert_eq!((on(first), on(second)), (Some(vec![T2.to_string()]), None));
    store.write(|tx| nodes::set_placement(tx, T2, nodes::Placement { node_id: None, moving_from: None })).unwrap();
    assert_eq!((on(first), on(second)), (Some(vec![]), None));
    let account = patchbay_backend::store::Account { uuid: "a1".into(), tenant_uuid: T1.into(), username: "admin".into(), role: patchbay_backend::store::Role::MasterAdmin };
    store.write(|tx| people::insert_account(tx, &account, "pw")).unwrap();
    store.write(|tx| people::insert_token(tx, "tok", "a1", 4_000_000_000)).unwrap();
    assert_eq!(store.read(|c| people::account_for_token(c, "tok", 1)).unwrap(), Some(account.clone()));
    assert_eq!(store.read(|c| people::account_for_token(c, "tok", 4_000_000_001)).unwrap(), None, "expired");
    let duplicate = store.write(|tx| people::insert_account(tx, &account, "pw")).unwrap_err();
    assert_eq!(duplicate.unique_violation(), Some("User"), "{duplicate}");
}

#[test]
fn a_caller_who_sees_no_tenant_sees_only_rows_without_one() {
    // An empty `IN ()` is SQLite's only; PostgreSQL refused it (a rollback
    // of a trunk's health thresholds asked with no tenant visible).
    let store = seeded();
    insert(&store, Kind::Context, T2, json!({"name": "acme-internal", "label": "acme", "type": "internal"})).unwrap();
    let none: &[String] = &[];
    assert!(store.read(|conn| objects::list(conn, Kind::Context, Some(none))).unwrap().is_empty());
    assert_eq!(store.read(|conn| objects::list(conn, Kind::Context, Some(&[T2.to_string()]))).unwrap().len(), 1);
    assert!(store.read(|conn| objects::list_raw_of(conn, Kind::Context, &[])).unwrap().is_empty());
}
