//! A database written by the release before the table-per-resource schema
//! (`fixtures/schema3.db`, made through that release's REST API by
//! `fixtures/make_schema3.py`) opens in today's schema with every object,
//! id, uuid, tenant and audit line kept, and renders the configuration
//! that release rendered from it (`fixtures/schema3-preview.json`) byte
//! for byte.

use patchbay_backend::store::{self, Kind, ObjectRow, Store, StoreError};
use rusqlite::{Connection, OpenFlags, params};
use std::collections::BTreeMap;
use std::path::PathBuf;

const KINDS: &[Kind] = &[
    Kind::Context, Kind::Extension, Kind::Trunk, Kind::EndpointSip, Kind::SipTemplate, Kind::EndpointIax, Kind::EndpointCustom,
    Kind::RegisterSip, Kind::RegisterIax, Kind::Transport, Kind::Outcall, Kind::Incall, Kind::User, Kind::Line, Kind::Settings,
    Kind::KazooConnectivity,
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Every row as schema 3 stored it: (kind, id) → (uuid, tenant, body text).
type Rows = BTreeMap<(String, i64), (Option<String>, Option<String>, String)>;

fn schema3_rows(conn: &Connection) -> Rows {
    let mut stmt = conn.prepare("SELECT kind, id, uuid, tenant_uuid, body FROM objects").unwrap();
    stmt.query_map([], |row| Ok(((row.get(0)?, row.get(1)?), (row.get(2)?, row.get(3)?, row.get(4)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

type AuditLine = (i64, i64, String, Option<String>, String, String, String, Option<String>, Option<String>);

fn audit(conn: &store::Connection) -> Vec<AuditLine> {
    conn.query_all("SELECT id, at, account, tenant_uuid, action, kind, object_id, before, after FROM audit ORDER BY id", &[], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
    })
    .unwrap()
}

fn preview(conn: &store::Connection, rows: impl Fn(Kind) -> Result<Vec<ObjectRow>, StoreError>) -> BTreeMap<String, String> {
    let snapshot = patchbay_backend::snapshot::load_snapshot_from(conn, rows).unwrap();
    patchbay_backend::sync::preview_texts(&patchbay_shared::render::render(&snapshot)).into_iter().collect()
}

#[test]
fn a_schema3_database_upgrades_with_every_row_and_the_same_config() {
    let dir = std::env::temp_dir().join(format!("patchbay-migration-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("patchbay.db");
    std::fs::copy(fixture("schema3.db"), &db).unwrap();
    let expected: BTreeMap<String, String> = serde_json::from_str(&std::fs::read_to_string(fixture("schema3-preview.json")).unwrap()).unwrap();

    // Before: what schema 3 holds, read as that release read it.
    let (before_rows, before_audit, before_render, before_tenants) = {
        let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        assert_eq!(conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0)).unwrap(), 3);
        let rows = schema3_rows(&conn);
        let legacy = |kind: Kind| -> Result<Vec<ObjectRow>, StoreError> {
            let mut stmt = conn.prepare("SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = ?1 ORDER BY id")?;
            let rows = stmt.query_map(params![kind.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?)))?;
            rows.map(|r| {
                let (id, uuid, tenant_uuid, body) = r?;
                Ok(ObjectRow { id, uuid, tenant_uuid, body: serde_json::from_str(&body)? })
            })
            .collect()
        };
        let tenants: i64 = conn.query_row("SELECT count(*) FROM tenants", [], |r| r.get(0)).unwrap();
        let wrapped = store::Connection::from_sqlite(Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap());
        (rows, audit(&wrapped), preview(&wrapped, legacy), tenants)
    };
    assert!(before_rows.len() > 40, "the fixture holds a real configuration: {} rows", before_rows.len());
    assert_eq!(before_render, expected, "the fixture's preview is what schema 3 renders");

    // Upgrade: opening runs the migrations.
    let store = Store::open(&db).unwrap();
    store
        .read(|conn| -> Result<(), StoreError> {
            assert!(conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'objects'", &[], |r| r.get::<i64>(0))? == 0);
            // Every object: same kind, id, uuid, tenant and body text.
            let mut after_rows = Rows::new();
            for kind in KINDS {
                for (id, uuid, tenant, body) in conn.query_all(&format!("SELECT id, uuid, tenant_uuid, body FROM {}", kind.table()), &[], |r| {
                    Ok((r.get::<i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })? {
                    after_rows.insert((kind.as_str().to_string(), id), (uuid, tenant, body));
                }
            }
            assert_eq!(after_rows, before_rows);
            assert_eq!(audit(conn), before_audit, "every audit line kept");
            assert_eq!(conn.query_row("SELECT count(*) FROM tenants", &[], |r| r.get::<i64>(0))?, before_tenants);
            // The configuration, byte for byte.
            let after_render = preview(conn, |kind| patchbay_backend::store::objects::list(conn, kind, None));
            for (file, text) in &expected {
                assert_eq!(after_render.get(file), Some(text), "{file} differs after the upgrade");
            }
            assert_eq!(after_render, expected);
            // The ordered links came along from the documents.
            let links: i64 = conn.query_row("SELECT count(*) FROM outcall_trunks", &[], |r| r.get(0))?;
            let listed: i64 = conn.query_row(
                "SELECT COALESCE(SUM(json_array_length(body, '$.trunks')), 0) FROM outcalls WHERE json_type(body, '$.trunks') = 'array'",
                &[],
                |r| r.get(0),
            )?;
            assert!(links > 0 && links == listed, "{links} outcall_trunks rows for {listed} listed trunks");
            Ok(())
        })
        .unwrap();
    drop(store);
    std::fs::remove_dir_all(&dir).ok();
}
