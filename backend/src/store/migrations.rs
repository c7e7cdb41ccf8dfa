//! The schema, as an ordered list of migrations. Never edit a released
//! migration: append a new one.

use rusqlite_migration::{M, Migrations};

const STEPS: &[M<'static>] = &[M::up(
    r#"
CREATE TABLE tenants (
    uuid        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    parent_uuid TEXT REFERENCES tenants(uuid)
);

-- People and scripts that use the API. `role` decides what a token may do.
CREATE TABLE accounts (
    uuid          TEXT PRIMARY KEY,
    tenant_uuid   TEXT NOT NULL REFERENCES tenants(uuid) ON DELETE CASCADE,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('master_admin', 'tenant_admin'))
);

CREATE TABLE tokens (
    token        TEXT PRIMARY KEY,
    account_uuid TEXT NOT NULL REFERENCES accounts(uuid) ON DELETE CASCADE,
    expires_at   INTEGER NOT NULL
);

-- Every confd resource (trunk, endpoint, context, extension, outcall...) is a
-- JSON document in the Wazo wire shape, keyed by its kind and its per-kind id.
CREATE TABLE objects (
    kind        TEXT NOT NULL,
    id          INTEGER NOT NULL,
    uuid        TEXT,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body)),
    PRIMARY KEY (kind, id)
);
CREATE UNIQUE INDEX objects_by_uuid ON objects(kind, uuid) WHERE uuid IS NOT NULL;
CREATE INDEX objects_by_tenant ON objects(kind, tenant_uuid);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    account     TEXT NOT NULL,
    tenant_uuid TEXT,
    action      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    before      TEXT,
    after       TEXT
);
"#,
),
// Kazoo's `PUT /v2/user_auth` sends md5("user:password"): argon2 hashes
// cannot answer it, so accounts created from now on also keep that md5
// (as Kazoo itself does). Accounts created before have none.
M::up(
    r#"
CREATE TABLE kazoo_credentials (
    account_uuid TEXT PRIMARY KEY REFERENCES accounts(uuid) ON DELETE CASCADE,
    md5          TEXT NOT NULL
);
"#,
),
// The revision: every committed change of what Asterisk is configured from
// (objects, tenants) moves it forward, in the same transaction, so a reader
// sees the revision of exactly the rows it reads.
M::up(
    r#"
CREATE TABLE revision (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);
CREATE TRIGGER revision_objects_insert AFTER INSERT ON objects BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_objects_update AFTER UPDATE ON objects BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_objects_delete AFTER DELETE ON objects BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_tenants_insert AFTER INSERT ON tenants BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_tenants_update AFTER UPDATE ON tenants BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_tenants_delete AFTER DELETE ON tenants BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
"#,
),
// Trunk health (`crate::health`): each trunk's transitions (bounded per
// trunk by its policy) and its thresholds, by PJSIP endpoint name; and the
// change set of each audit line (the writes of one request), which a
// rollback undoes together (`api::change_sets`).
M::up(
    r#"
CREATE TABLE trunk_health (
    id         INTEGER PRIMARY KEY,
    endpoint   TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    transition TEXT NOT NULL CHECK (json_valid(transition))
);
CREATE INDEX trunk_health_by_endpoint ON trunk_health(endpoint, id);
CREATE TABLE trunk_health_policy (
    endpoint TEXT PRIMARY KEY,
    policy   TEXT NOT NULL CHECK (json_valid(policy))
);
ALTER TABLE audit ADD COLUMN change_set INTEGER;
CREATE INDEX audit_by_change_set ON audit(change_set);
"#,
)];

pub fn all() -> Migrations<'static> {
    Migrations::from_slice(STEPS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::all().validate().is_ok());
    }
}
