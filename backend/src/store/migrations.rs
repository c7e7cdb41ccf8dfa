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
// A table per resource, with the rules as constraints (issue 12).
M::up(
    r#"
-- One table per resource (issue 12). The Wazo document stays the row's
-- `body` (free key/value option lists, and every field Asterisk reads);
-- the fields the rules and the lists need are real columns generated from
-- it (STORED: written once, indexed, constrained), so a row and its columns
-- cannot disagree. Ids, uuids and bodies are copied verbatim: the rendered
-- configuration is the same bytes. Every table bumps `revision`.

CREATE TABLE contexts (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) STORED,
    label TEXT GENERATED ALWAYS AS (json_extract(body, '$.label')) STORED,
    type TEXT GENERATED ALWAYS AS (json_extract(body, '$.type')) STORED,
    CHECK (type IS NULL OR type IN ('internal', 'incall', 'outcall', 'services', 'others'))
);
CREATE INDEX contexts_tenant ON contexts(tenant_uuid);
CREATE UNIQUE INDEX contexts_name ON contexts(name);
INSERT INTO contexts (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'context' ORDER BY id;
CREATE TABLE extensions (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    context TEXT GENERATED ALWAYS AS (json_extract(body, '$.context')) STORED,
    exten TEXT GENERATED ALWAYS AS (json_extract(body, '$.exten')) STORED
);
CREATE INDEX extensions_tenant ON extensions(tenant_uuid);
CREATE UNIQUE INDEX extensions_exten_context ON extensions(exten, context);
CREATE INDEX extensions_context ON extensions(context);
-- Lists order by number by default: (exten, rowid) serves ORDER BY exten, id.
CREATE INDEX extensions_exten ON extensions(exten);
INSERT INTO extensions (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'extension' ORDER BY id;
CREATE TABLE trunks (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    context TEXT GENERATED ALWAYS AS (json_extract(body, '$.context')) STORED,
    endpoint_sip_uuid TEXT GENERATED ALWAYS AS (json_extract(body, '$.endpoint_sip.uuid')) STORED,
    endpoint_iax_id INTEGER GENERATED ALWAYS AS (json_extract(body, '$.endpoint_iax.id')) STORED,
    endpoint_custom_id INTEGER GENERATED ALWAYS AS (json_extract(body, '$.endpoint_custom.id')) STORED
);
CREATE INDEX trunks_tenant ON trunks(tenant_uuid);
CREATE INDEX trunks_endpoint_sip ON trunks(endpoint_sip_uuid);
INSERT INTO trunks (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'trunk' ORDER BY id;
CREATE TABLE endpoint_sip (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) STORED,
    label TEXT GENERATED ALWAYS AS (json_extract(body, '$.label')) STORED
);
CREATE INDEX endpoint_sip_tenant ON endpoint_sip(tenant_uuid);
CREATE UNIQUE INDEX endpoint_sip_name ON endpoint_sip(name);
INSERT INTO endpoint_sip (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'endpoint_sip' ORDER BY id;
CREATE TABLE sip_templates (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) STORED,
    label TEXT GENERATED ALWAYS AS (json_extract(body, '$.label')) STORED
);
CREATE INDEX sip_templates_tenant ON sip_templates(tenant_uuid);
CREATE INDEX sip_templates_name ON sip_templates(name);
CREATE INDEX sip_templates_label ON sip_templates(tenant_uuid, label);
INSERT INTO sip_templates (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'endpoint_sip_template' ORDER BY id;
CREATE TABLE endpoint_iax (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) STORED
);
CREATE INDEX endpoint_iax_tenant ON endpoint_iax(tenant_uuid);
CREATE UNIQUE INDEX endpoint_iax_name ON endpoint_iax(name);
INSERT INTO endpoint_iax (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'endpoint_iax' ORDER BY id;
CREATE TABLE endpoint_custom (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    interface TEXT GENERATED ALWAYS AS (json_extract(body, '$.interface')) STORED
);
CREATE INDEX endpoint_custom_tenant ON endpoint_custom(tenant_uuid);
CREATE UNIQUE INDEX endpoint_custom_interface ON endpoint_custom(interface);
INSERT INTO endpoint_custom (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'endpoint_custom' ORDER BY id;
CREATE TABLE register_sip (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object')
);
CREATE INDEX register_sip_tenant ON register_sip(tenant_uuid);
INSERT INTO register_sip (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'register_sip' ORDER BY id;
CREATE TABLE register_iax (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object')
);
CREATE INDEX register_iax_tenant ON register_iax(tenant_uuid);
INSERT INTO register_iax (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'register_iax' ORDER BY id;
CREATE TABLE transports (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) STORED
);
CREATE INDEX transports_tenant ON transports(tenant_uuid);
CREATE UNIQUE INDEX transports_name ON transports(name);
INSERT INTO transports (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'sip_transport' ORDER BY id;
CREATE TABLE outcalls (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) STORED
);
CREATE INDEX outcalls_tenant ON outcalls(tenant_uuid);
CREATE UNIQUE INDEX outcalls_name ON outcalls(name);
INSERT INTO outcalls (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'outcall' ORDER BY id;
CREATE TABLE incalls (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    extension_id INTEGER GENERATED ALWAYS AS (json_extract(body, '$.extension_id')) STORED,
    user_id INTEGER GENERATED ALWAYS AS (json_extract(body, '$.destination.user_id')) STORED
);
CREATE INDEX incalls_tenant ON incalls(tenant_uuid);
CREATE INDEX incalls_extension ON incalls(extension_id);
INSERT INTO incalls (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'incall' ORDER BY id;
CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    firstname TEXT GENERATED ALWAYS AS (json_extract(body, '$.firstname')) STORED,
    lastname TEXT GENERATED ALWAYS AS (json_extract(body, '$.lastname')) STORED
);
CREATE INDEX users_tenant ON users(tenant_uuid);
INSERT INTO users (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'user' ORDER BY id;
CREATE TABLE lines (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    user_id INTEGER GENERATED ALWAYS AS (json_extract(body, '$.user_id')) STORED,
    extension_id INTEGER GENERATED ALWAYS AS (json_extract(body, '$.extension_id')) STORED,
    endpoint_sip_uuid TEXT GENERATED ALWAYS AS (json_extract(body, '$.endpoint_sip.uuid')) STORED
);
CREATE INDEX lines_tenant ON lines(tenant_uuid);
CREATE INDEX lines_user ON lines(user_id);
CREATE INDEX lines_extension ON lines(extension_id);
CREATE INDEX lines_endpoint_sip ON lines(endpoint_sip_uuid);
INSERT INTO lines (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'line' ORDER BY id;
CREATE TABLE settings (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object')
);
CREATE INDEX settings_tenant ON settings(tenant_uuid);
INSERT INTO settings (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'settings' ORDER BY id;
CREATE TABLE kazoo_connectivity (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object')
);
CREATE INDEX kazoo_connectivity_tenant ON kazoo_connectivity(tenant_uuid);
INSERT INTO kazoo_connectivity (id, uuid, tenant_uuid, body) SELECT id, uuid, tenant_uuid, body FROM objects WHERE kind = 'kazoo_connectivity' ORDER BY id;

-- The extension's `type` column of Wazo's lists is its context's type.
-- Ordered links, kept from the documents by triggers (the document is what
-- the handlers and the renderer read; these answer "who uses X" by index).
CREATE TABLE outcall_trunks (
    outcall_id INTEGER NOT NULL REFERENCES outcalls(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    trunk_id   INTEGER NOT NULL,
    PRIMARY KEY (outcall_id, position)
);
CREATE INDEX outcall_trunks_trunk ON outcall_trunks(trunk_id);
CREATE TABLE outcall_extensions (
    outcall_id   INTEGER NOT NULL REFERENCES outcalls(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    extension_id INTEGER NOT NULL,
    PRIMARY KEY (outcall_id, position)
);
CREATE INDEX outcall_extensions_extension ON outcall_extensions(extension_id);
INSERT INTO outcall_trunks SELECT o.id, t.key, json_extract(t.value, '$.id') FROM outcalls o, json_each(o.body, '$.trunks') t WHERE json_extract(t.value, '$.id') IS NOT NULL;
INSERT INTO outcall_extensions SELECT o.id, e.key, COALESCE(json_extract(e.value, '$.id'), json_extract(e.value, '$.extension_id')) FROM outcalls o, json_each(o.body, '$.extensions') e WHERE COALESCE(json_extract(e.value, '$.id'), json_extract(e.value, '$.extension_id')) IS NOT NULL;
CREATE TRIGGER outcall_links_insert AFTER INSERT ON outcalls BEGIN
    INSERT INTO outcall_trunks SELECT NEW.id, t.key, json_extract(t.value, '$.id') FROM json_each(NEW.body, '$.trunks') t WHERE json_extract(t.value, '$.id') IS NOT NULL;
    INSERT INTO outcall_extensions SELECT NEW.id, e.key, COALESCE(json_extract(e.value, '$.id'), json_extract(e.value, '$.extension_id')) FROM json_each(NEW.body, '$.extensions') e WHERE COALESCE(json_extract(e.value, '$.id'), json_extract(e.value, '$.extension_id')) IS NOT NULL;
END;
CREATE TRIGGER outcall_links_update AFTER UPDATE OF body ON outcalls BEGIN
    DELETE FROM outcall_trunks WHERE outcall_id = OLD.id;
    DELETE FROM outcall_extensions WHERE outcall_id = OLD.id;
    INSERT INTO outcall_trunks SELECT NEW.id, t.key, json_extract(t.value, '$.id') FROM json_each(NEW.body, '$.trunks') t WHERE json_extract(t.value, '$.id') IS NOT NULL;
    INSERT INTO outcall_extensions SELECT NEW.id, e.key, COALESCE(json_extract(e.value, '$.id'), json_extract(e.value, '$.extension_id')) FROM json_each(NEW.body, '$.extensions') e WHERE COALESCE(json_extract(e.value, '$.id'), json_extract(e.value, '$.extension_id')) IS NOT NULL;
END;

-- SIP endpoints, templates and transports share one namespace of section
-- names (pjsip.conf sections): an endpoint or transport may not take a
-- name another of them holds (`sip_name_taken`, stated here too).

CREATE TRIGGER endpoint_sip_name_insert AFTER INSERT ON endpoint_sip WHEN NEW.name IS NOT NULL AND (EXISTS (SELECT 1 FROM endpoint_sip WHERE name = NEW.name AND id <> NEW.id) OR EXISTS (SELECT 1 FROM sip_templates WHERE name = NEW.name) OR EXISTS (SELECT 1 FROM transports WHERE name = NEW.name)) BEGIN SELECT RAISE(ABORT, 'sip_name_taken'); END;
CREATE TRIGGER endpoint_sip_name_update AFTER UPDATE OF body ON endpoint_sip WHEN NEW.name IS NOT NULL AND (EXISTS (SELECT 1 FROM endpoint_sip WHERE name = NEW.name AND id <> NEW.id) OR EXISTS (SELECT 1 FROM sip_templates WHERE name = NEW.name) OR EXISTS (SELECT 1 FROM transports WHERE name = NEW.name)) BEGIN SELECT RAISE(ABORT, 'sip_name_taken'); END;
CREATE TRIGGER transports_name_insert AFTER INSERT ON transports WHEN NEW.name IS NOT NULL AND (EXISTS (SELECT 1 FROM endpoint_sip WHERE name = NEW.name) OR EXISTS (SELECT 1 FROM sip_templates WHERE name = NEW.name) OR EXISTS (SELECT 1 FROM transports WHERE name = NEW.name AND id <> NEW.id)) BEGIN SELECT RAISE(ABORT, 'sip_name_taken'); END;
CREATE TRIGGER transports_name_update AFTER UPDATE OF body ON transports WHEN NEW.name IS NOT NULL AND (EXISTS (SELECT 1 FROM endpoint_sip WHERE name = NEW.name) OR EXISTS (SELECT 1 FROM sip_templates WHERE name = NEW.name) OR EXISTS (SELECT 1 FROM transports WHERE name = NEW.name AND id <> NEW.id)) BEGIN SELECT RAISE(ABORT, 'sip_name_taken'); END;

DROP TABLE objects;
CREATE TRIGGER revision_contexts_insert AFTER INSERT ON contexts BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_contexts_update AFTER UPDATE ON contexts BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_contexts_delete AFTER DELETE ON contexts BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_extensions_insert AFTER INSERT ON extensions BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_extensions_update AFTER UPDATE ON extensions BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_extensions_delete AFTER DELETE ON extensions BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_trunks_insert AFTER INSERT ON trunks BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_trunks_update AFTER UPDATE ON trunks BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_trunks_delete AFTER DELETE ON trunks BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_endpoint_sip_insert AFTER INSERT ON endpoint_sip BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_endpoint_sip_update AFTER UPDATE ON endpoint_sip BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_endpoint_sip_delete AFTER DELETE ON endpoint_sip BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_sip_templates_insert AFTER INSERT ON sip_templates BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_sip_templates_update AFTER UPDATE ON sip_templates BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_sip_templates_delete AFTER DELETE ON sip_templates BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_endpoint_iax_insert AFTER INSERT ON endpoint_iax BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_endpoint_iax_update AFTER UPDATE ON endpoint_iax BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_endpoint_iax_delete AFTER DELETE ON endpoint_iax BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_endpoint_custom_insert AFTER INSERT ON endpoint_custom BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_endpoint_custom_update AFTER UPDATE ON endpoint_custom BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_endpoint_custom_delete AFTER DELETE ON endpoint_custom BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_register_sip_insert AFTER INSERT ON register_sip BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_register_sip_update AFTER UPDATE ON register_sip BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_register_sip_delete AFTER DELETE ON register_sip BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_register_iax_insert AFTER INSERT ON register_iax BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_register_iax_update AFTER UPDATE ON register_iax BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_register_iax_delete AFTER DELETE ON register_iax BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_transports_insert AFTER INSERT ON transports BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_transports_update AFTER UPDATE ON transports BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_transports_delete AFTER DELETE ON transports BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_outcalls_insert AFTER INSERT ON outcalls BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_outcalls_update AFTER UPDATE ON outcalls BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_outcalls_delete AFTER DELETE ON outcalls BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_incalls_insert AFTER INSERT ON incalls BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_incalls_update AFTER UPDATE ON incalls BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_incalls_delete AFTER DELETE ON incalls BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_users_insert AFTER INSERT ON users BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_users_update AFTER UPDATE ON users BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_users_delete AFTER DELETE ON users BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_lines_insert AFTER INSERT ON lines BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_lines_update AFTER UPDATE ON lines BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_lines_delete AFTER DELETE ON lines BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_settings_insert AFTER INSERT ON settings BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_settings_update AFTER UPDATE ON settings BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_settings_delete AFTER DELETE ON settings BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_kazoo_connectivity_insert AFTER INSERT ON kazoo_connectivity BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_kazoo_connectivity_update AFTER UPDATE ON kazoo_connectivity BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_kazoo_connectivity_delete AFTER DELETE ON kazoo_connectivity BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
"#,
),
// Trunk health (the `health` module): each trunk's transitions (bounded per
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
),
M::up(
    r#"
-- Lists search as Wazo does, a case-insensitive substring of any listed
-- column: a trigram index answers `LIKE '%needle%'` for needles of three
-- characters or more without reading every row. It holds the searched
-- columns an extension stores (id, number, context; unit separator between
-- them, a character no needle the index serves contains) and only narrows
-- the candidates: `store::objects::page` still applies the exact condition.
CREATE VIRTUAL TABLE extensions_search USING fts5(text, tokenize = 'trigram', detail = 'none');
INSERT INTO extensions_search (rowid, text)
    SELECT id, id || char(31) || COALESCE(exten, '') || char(31) || COALESCE(context, '') FROM extensions;
CREATE TRIGGER extensions_search_insert AFTER INSERT ON extensions BEGIN
    INSERT INTO extensions_search (rowid, text) VALUES (NEW.id, NEW.id || char(31) || COALESCE(NEW.exten, '') || char(31) || COALESCE(NEW.context, ''));
END;
CREATE TRIGGER extensions_search_delete AFTER DELETE ON extensions BEGIN
    DELETE FROM extensions_search WHERE rowid = OLD.id;
END;
CREATE TRIGGER extensions_search_update AFTER UPDATE ON extensions BEGIN
    DELETE FROM extensions_search WHERE rowid = OLD.id;
    INSERT INTO extensions_search (rowid, text) VALUES (NEW.id, NEW.id || char(31) || COALESCE(NEW.exten, '') || char(31) || COALESCE(NEW.context, ''));
END;
"#,
),
// Asterisk nodes (`crate::fleet`): where each tenant is applied. A tenant
// without `node_id` is on the default node; `moving_from` is the node a
// tenant is being moved away from (rendered on both until the new node
// holds it). The secret is write-only: no API answer carries it.
M::up(
    r#"
CREATE TABLE nodes (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    host       TEXT NOT NULL,
    port       INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    username   TEXT NOT NULL,
    secret     TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1))
);
CREATE UNIQUE INDEX nodes_one_default ON nodes(is_default) WHERE is_default = 1;
ALTER TABLE tenants ADD COLUMN node_id INTEGER REFERENCES nodes(id);
ALTER TABLE tenants ADD COLUMN moving_from INTEGER REFERENCES nodes(id);
CREATE TRIGGER revision_nodes_update AFTER UPDATE OF is_default ON nodes BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
"#,
),
// Which Patchbay instance applies to each node (`store::leases`,
// `crate::lease`): the holder's instance id ('' when released), when its
// lease runs out (Unix milliseconds of the holder's clock), and what the
// holder last verified of the node (JSON, `lease::Progress`) for the other
// instances' status. Not a configuration table: no revision trigger, no
// audit. BIGINT: milliseconds since 1970 exceed PostgreSQL's INTEGER.
M::up(
    r#"
CREATE TABLE node_leases (
    node_id       BIGINT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
    holder        TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    progress      TEXT NOT NULL DEFAULT ''
);
"#,
),
// 9: per tenant, a counter every change of one of its rows bumps; its
// triggers are generated from `TENANT_TABLES` (`sqlite_tenant_changes`).
// 11: groups (`sqlite_groups`): their tenant counter triggers come from
// `GROUP_TABLES` as step 9's do.
];

/// The tables whose rows belong to a tenant: a change to one bumps its
/// tenant's counter in `tenant_changes` (step 9; '' for rows without a
/// tenant), so the sync reads again only the rows of the tenants whose
/// counter moved (`snapshot::SnapshotCache::load`): a pass costs what
/// changed, not what the database holds.
const TENANT_TABLES: [&str; 13] = [
    "contexts", "extensions", "trunks", "endpoint_sip", "sip_templates", "transports", "endpoint_iax", "endpoint_custom", "outcalls", "incalls", "users", "lines", "settings",
];

/// Step 9 for SQLite: the table and its triggers (an update counts for the
/// old tenant and the new one).
fn sqlite_tenant_changes() -> String {
    let mut sql = String::from("CREATE TABLE tenant_changes (\n    tenant_uuid TEXT PRIMARY KEY,\n    changes     INTEGER NOT NULL\n) WITHOUT ROWID;\n");
    for table in TENANT_TABLES {
        sql += &sqlite_tenant_triggers(table);
    }
    sql
}

/// The tenant tables added after step 9 (step 11): their `tenant_changes`
/// triggers are written by the step that creates them.
const GROUP_TABLES: [&str; 1] = ["groups"];

/// The triggers that bump a table's tenant counter (steps 9 and 11).
fn sqlite_tenant_triggers(table: &str) -> String {
    let bump = |row: &str| {
        format!("INSERT INTO tenant_changes (tenant_uuid, changes) VALUES (COALESCE({row}.tenant_uuid, ''), 1) ON CONFLICT (tenant_uuid) DO UPDATE SET changes = changes + 1;")
    };
    let mut sql = format!("CREATE TRIGGER tenant_changes_{table}_insert AFTER INSERT ON {table} BEGIN {} END;\n", bump("NEW"));
    sql += &format!("CREATE TRIGGER tenant_changes_{table}_update AFTER UPDATE ON {table} BEGIN {} {} END;\n", bump("OLD"), bump("NEW"));
    sql += &format!("CREATE TRIGGER tenant_changes_{table}_delete AFTER DELETE ON {table} BEGIN {} END;\n", bump("OLD"));
    sql
}

/// Step 11 for SQLite: groups (a Wazo document with its name, label and
/// extension as columns; the name unique, as Wazo's), and their members
/// in ringing order (`group_members`, kept from the document's
/// `user_members` by triggers, as `outcall_trunks` is).
fn sqlite_groups() -> String {
    let mut sql = String::from(
        r#"
CREATE TABLE groups (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT UNIQUE,
    tenant_uuid TEXT REFERENCES tenants(uuid) ON DELETE CASCADE,
    body        TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object'),
    name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) STORED,
    label TEXT GENERATED ALWAYS AS (json_extract(body, '$.label')) STORED,
    extension_id INTEGER GENERATED ALWAYS AS (json_extract(body, '$.extension_id')) STORED
);
CREATE INDEX groups_tenant ON groups(tenant_uuid);
CREATE UNIQUE INDEX groups_name ON groups(name);
CREATE UNIQUE INDEX groups_extension ON groups(extension_id);
CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    PRIMARY KEY (group_id, position),
    UNIQUE (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);
CREATE TRIGGER group_members_insert AFTER INSERT ON groups BEGIN
    INSERT INTO group_members SELECT NEW.id, m.key, json_extract(m.value, '$.user_id'), COALESCE(json_extract(m.value, '$.priority'), m.key) FROM json_each(NEW.body, '$.user_members') m WHERE json_extract(m.value, '$.user_id') IS NOT NULL;
END;
CREATE TRIGGER group_members_update AFTER UPDATE OF body ON groups BEGIN
    DELETE FROM group_members WHERE group_id = OLD.id;
    INSERT INTO group_members SELECT NEW.id, m.key, json_extract(m.value, '$.user_id'), COALESCE(json_extract(m.value, '$.priority'), m.key) FROM json_each(NEW.body, '$.user_members') m WHERE json_extract(m.value, '$.user_id') IS NOT NULL;
END;
CREATE TRIGGER revision_groups_insert AFTER INSERT ON groups BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_groups_update AFTER UPDATE ON groups BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER revision_groups_delete AFTER DELETE ON groups BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
"#,
    );
    for table in GROUP_TABLES {
        sql += &sqlite_tenant_triggers(table);
    }
    sql
}

/// Every SQLite step, in order.
fn sqlite_steps() -> Vec<M<'static>> {
    static TENANT_CHANGES: std::sync::LazyLock<String> = std::sync::LazyLock::new(sqlite_tenant_changes);
    static GROUPS: std::sync::LazyLock<String> = std::sync::LazyLock::new(sqlite_groups);
    static TENANT_STAMPS: std::sync::LazyLock<String> = std::sync::LazyLock::new(sqlite_tenant_stamps);
    let mut steps = STEPS.to_vec();
    steps.push(M::up(TENANT_CHANGES.as_str()));
    steps.push(M::up(NODE_ARI));
    steps.push(M::up(GROUPS.as_str()));
    steps.push(M::up(TENANT_STAMPS.as_str()));
    steps
}

/// Step 12 for SQLite: `tenant_changes.changes` becomes the revision of the
/// tenant's last change (a stamp, indexed) instead of a count, and a change
/// of the tenant list stamps the row `#tenants`, so the sync asks only for
/// what changed since the revision it last read
/// (`objects::tenant_changes_since`) instead of reading every tenant's
/// counter and every tenant on each pass. A stamp is the revision as this
/// transaction sees it (before or after its own bump): at least the
/// revision any earlier reader read, so `>=` finds every later change.
fn sqlite_tenant_stamps() -> String {
    let stamp = |key: &str| {
        format!("INSERT INTO tenant_changes (tenant_uuid, changes) VALUES ({key}, (SELECT value FROM revision WHERE id = 1)) ON CONFLICT (tenant_uuid) DO UPDATE SET changes = excluded.changes;")
    };
    let mut sql = String::new();
    for table in TENANT_TABLES.iter().chain(GROUP_TABLES.iter()) {
        let (old, new) = (stamp(&format!("COALESCE(OLD.tenant_uuid, '')")), stamp(&format!("COALESCE(NEW.tenant_uuid, '')")));
        for event in ["insert", "update", "delete"] {
            sql += &format!("DROP TRIGGER tenant_changes_{table}_{event};\n");
        }
        sql += &format!("CREATE TRIGGER tenant_changes_{table}_insert AFTER INSERT ON {table} BEGIN {new} END;\n");
        sql += &format!("CREATE TRIGGER tenant_changes_{table}_update AFTER UPDATE ON {table} BEGIN {old} {new} END;\n");
        sql += &format!("CREATE TRIGGER tenant_changes_{table}_delete AFTER DELETE ON {table} BEGIN {old} END;\n");
    }
    let tenants = stamp("'#tenants'");
    for (event, when) in [("insert", "INSERT"), ("update", "UPDATE"), ("delete", "DELETE")] {
        sql += &format!("CREATE TRIGGER tenant_changes_tenants_{event} AFTER {when} ON tenants BEGIN {tenants} END;\n");
    }
    sql += "CREATE INDEX tenant_changes_changes ON tenant_changes(changes);\n";
    sql
}

/// Step 10: a node's optional ARI access (`crate::ari`): when set, the
/// PJSIP objects of its tenants' trunks are pushed into Asterisk's sorcery
/// memory wizard instead of being written to their file. The secret is
/// write-only, as the AMI one. A change wakes the sync (revision).
const NODE_ARI: &str = r#"
ALTER TABLE nodes ADD COLUMN ari_url TEXT;
ALTER TABLE nodes ADD COLUMN ari_username TEXT;
ALTER TABLE nodes ADD COLUMN ari_secret TEXT;
CREATE TRIGGER revision_nodes_ari AFTER UPDATE OF ari_url, ari_username, ari_secret ON nodes BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
"#;

/// The same steps for PostgreSQL, numbered alike (step N here is step N
/// above), in its dialect: BIGINT integers, documents as TEXT read with
/// `body::jsonb #>> '{key}'` in STORED generated columns, `COLLATE "C"` on
/// every text column (lists order by bytes, as SQLite's BINARY does),
/// plpgsql functions for the triggers. A PostgreSQL database starts empty,
/// so steps 1 and 4 create the per-resource tables directly: the `objects`
/// table of step 1 and the copy of step 4 only ever held data on SQLite.
/// Step 6 (SQLite's FTS5 trigram index) is a pg_trgm index here.
/// The version is kept in `schema_version` (SQLite: `user_version`).
pub mod postgres {
    use crate::store::{Connection, StoreError};

    /// Step 4's tables: name, the columns generated from the document
    /// (name, `TEXT` or `BIGINT`, path) and the table's indexes and checks
    /// (`{t}` is the table). Every table has `id`, `uuid`, `tenant_uuid`
    /// (indexed), `body` and the revision trigger. Never edit: append a step.
    /// A table: its name, its generated columns, its indexes and checks.
    type Resource = (&'static str, &'static [(&'static str, &'static str, &'static str)], &'static str);

    const RESOURCES: [Resource; 16] = [
        ("contexts", &[("name", "TEXT", "name"), ("label", "TEXT", "label"), ("type", "TEXT", "type")],
         "ALTER TABLE contexts ADD CHECK (type IS NULL OR type IN ('internal', 'incall', 'outcall', 'services', 'others'));\nCREATE UNIQUE INDEX contexts_name ON contexts(name);"),
        ("extensions", &[("context", "TEXT", "context"), ("exten", "TEXT", "exten")],
         "CREATE UNIQUE INDEX extensions_exten_context ON extensions(exten, context);\nCREATE INDEX extensions_context ON extensions(context);\nCREATE INDEX extensions_exten ON extensions(exten, id);"),
        ("trunks", &[("context", "TEXT", "context"), ("endpoint_sip_uuid", "TEXT", "endpoint_sip,uuid"), ("endpoint_iax_id", "BIGINT", "endpoint_iax,id"), ("endpoint_custom_id", "BIGINT", "endpoint_custom,id")],
         "CREATE INDEX trunks_endpoint_sip ON trunks(endpoint_sip_uuid);"),
        ("endpoint_sip", &[("name", "TEXT", "name"), ("label", "TEXT", "label")], "CREATE UNIQUE INDEX endpoint_sip_name ON endpoint_sip(name);"),
        ("sip_templates", &[("name", "TEXT", "name"), ("label", "TEXT", "label")],
         "CREATE INDEX sip_templates_name ON sip_templates(name);\nCREATE INDEX sip_templates_label ON sip_templates(tenant_uuid, label);"),
        ("endpoint_iax", &[("name", "TEXT", "name")], "CREATE UNIQUE INDEX endpoint_iax_name ON endpoint_iax(name);"),
        ("endpoint_custom", &[("interface", "TEXT", "interface")], "CREATE UNIQUE INDEX endpoint_custom_interface ON endpoint_custom(interface);"),
        ("register_sip", &[], ""),
        ("register_iax", &[], ""),
        ("transports", &[("name", "TEXT", "name")], "CREATE UNIQUE INDEX transports_name ON transports(name);"),
        ("outcalls", &[("name", "TEXT", "name")], "CREATE UNIQUE INDEX outcalls_name ON outcalls(name);"),
        ("incalls", &[("extension_id", "BIGINT", "extension_id"), ("user_id", "BIGINT", "destination,user_id")],
         "CREATE INDEX incalls_extension ON incalls(extension_id);\nCREATE INDEX incalls_user ON incalls(user_id);"),
        ("users", &[("firstname", "TEXT", "firstname"), ("lastname", "TEXT", "lastname")], ""),
        ("lines", &[("user_id", "BIGINT", "user_id"), ("extension_id", "BIGINT", "extension_id"), ("endpoint_sip_uuid", "TEXT", "endpoint_sip,uuid")],
         "CREATE INDEX lines_user ON lines(user_id);\nCREATE INDEX lines_extension ON lines(extension_id);\nCREATE INDEX lines_endpoint_sip ON lines(endpoint_sip_uuid);"),
        ("settings", &[], ""),
        ("kazoo_connectivity", &[], ""),
    ];

    /// The SQL of step 4's tables.
    fn resource_tables() -> String {
        let mut sql = String::new();
        for (table, columns, extra) in RESOURCES {
            sql.push_str(&format!(
                "CREATE TABLE {table} (\n    id BIGINT PRIMARY KEY,\n    uuid TEXT COLLATE \"C\" UNIQUE,\n    \
                 tenant_uuid TEXT COLLATE \"C\" REFERENCES tenants(uuid) ON DELETE CASCADE,\n    \
                 body TEXT COLLATE \"C\" NOT NULL CHECK (jsonb_typeof(body::jsonb) = 'object')"
            ));
            for (name, kind, path) in columns {
                let value = match *kind {
                    "BIGINT" => format!("(body::jsonb #>> '{{{path}}}')::bigint"),
                    _ => format!("body::jsonb #>> '{{{path}}}'"),
                };
                let collate = if *kind == "TEXT" { " COLLATE \"C\"" } else { "" };
                sql.push_str(&format!(",\n    {name} {kind}{collate} GENERATED ALWAYS AS ({value}) STORED"));
            }
            sql.push_str(&format!(
                "\n);\nCREATE INDEX {table}_tenant ON {table}(tenant_uuid);\n{extra}\n\
                 CREATE TRIGGER revision_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION pb_bump_revision();\n"
            ));
        }
        sql
    }

    /// The steps, in order (step 4 starts with its tables).
    pub fn steps() -> Vec<String> {
        let mut steps: Vec<String> = STEPS.iter().map(|step| step.to_string()).collect();
        steps[3] = resource_tables() + &steps[3];
        steps
    }

    const STEPS: [&str; 12] = [
        // 1: tenants, accounts, tokens, audit. `rowid` keeps creation
        // order, which lists of tenants follow (SQLite's implicit rowid).
        // The functions SQLite has that queries use, with the same names:
        // `json_extract` (as text; a document's `body` is `COLLATE "C"`,
        // so is what is read from it), `instr`, `pb_lower` (Unicode, as
        // Rust's `to_lowercase`).
        r#"
CREATE FUNCTION json_extract(doc TEXT, path TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT doc::jsonb #>> string_to_array(substr(path, 3), '.')
$$;
CREATE FUNCTION instr(haystack TEXT, needle TEXT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
    SELECT strpos(haystack, needle)
$$;
CREATE FUNCTION pb_lower(text TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(text COLLATE "und-x-icu")
$$;
CREATE TABLE tenants (
    rowid       BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    uuid        TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    slug        TEXT COLLATE "C" NOT NULL UNIQUE,
    parent_uuid TEXT COLLATE "C" REFERENCES tenants(uuid)
);
CREATE TABLE accounts (
    uuid          TEXT COLLATE "C" PRIMARY KEY,
    tenant_uuid   TEXT COLLATE "C" NOT NULL REFERENCES tenants(uuid) ON DELETE CASCADE,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('master_admin', 'tenant_admin'))
);
CREATE TABLE tokens (
    token        TEXT COLLATE "C" PRIMARY KEY,
    account_uuid TEXT COLLATE "C" NOT NULL REFERENCES accounts(uuid) ON DELETE CASCADE,
    expires_at   BIGINT NOT NULL
);
CREATE TABLE audit (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    account     TEXT COLLATE "C" NOT NULL,
    tenant_uuid TEXT COLLATE "C",
    action      TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    object_id   TEXT COLLATE "C" NOT NULL,
    before      TEXT,
    after       TEXT
);
"#,
        // 2
        r#"
CREATE TABLE kazoo_credentials (
    account_uuid TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts(uuid) ON DELETE CASCADE,
    md5          TEXT NOT NULL
);
"#,
        // 3: the revision, moved by every row written (as SQLite's
        // per-row triggers do).
        r#"
CREATE TABLE revision (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);
CREATE FUNCTION pb_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE revision SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER revision_tenants AFTER INSERT OR UPDATE OR DELETE ON tenants FOR EACH ROW EXECUTE FUNCTION pb_bump_revision();
"#,
        // 4: a table per resource (`RESOURCES`, written before this), the
        // ordered links and the SIP names.
        r#"
CREATE TABLE outcall_trunks (
    outcall_id BIGINT NOT NULL REFERENCES outcalls(id) ON DELETE CASCADE,
    position   BIGINT NOT NULL,
    trunk_id   BIGINT NOT NULL,
    PRIMARY KEY (outcall_id, position)
);
CREATE INDEX outcall_trunks_trunk ON outcall_trunks(trunk_id);
CREATE TABLE outcall_extensions (
    outcall_id   BIGINT NOT NULL REFERENCES outcalls(id) ON DELETE CASCADE,
    position     BIGINT NOT NULL,
    extension_id BIGINT NOT NULL,
    PRIMARY KEY (outcall_id, position)
);
CREATE INDEX outcall_extensions_extension ON outcall_extensions(extension_id);
-- The elements of a document's array (nothing when the key holds no array).
CREATE FUNCTION pb_elements(body TEXT, key TEXT) RETURNS TABLE (idx BIGINT, value JSONB) LANGUAGE sql IMMUTABLE AS $$
    SELECT e.ordinality - 1, e.value
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(body::jsonb -> key) = 'array' THEN body::jsonb -> key ELSE '[]'::jsonb END) WITH ORDINALITY AS e(value, ordinality)
$$;
CREATE FUNCTION pb_outcall_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM outcall_trunks WHERE outcall_id = OLD.id;
        DELETE FROM outcall_extensions WHERE outcall_id = OLD.id;
    END IF;
    INSERT INTO outcall_trunks SELECT NEW.id, t.idx, (t.value ->> 'id')::bigint FROM pb_elements(NEW.body, 'trunks') t WHERE t.value ->> 'id' IS NOT NULL;
    INSERT INTO outcall_extensions SELECT NEW.id, e.idx, COALESCE(e.value ->> 'id', e.value ->> 'extension_id')::bigint FROM pb_elements(NEW.body, 'extensions') e WHERE COALESCE(e.value ->> 'id', e.value ->> 'extension_id') IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER outcall_links_insert AFTER INSERT ON outcalls FOR EACH ROW EXECUTE FUNCTION pb_outcall_links();
CREATE TRIGGER outcall_links_update AFTER UPDATE OF body ON outcalls FOR EACH ROW EXECUTE FUNCTION pb_outcall_links();
-- SIP endpoints, templates and transports share one namespace of section
-- names: `sip_name_taken`, SQLSTATE 23505 (a unique violation).
CREATE FUNCTION pb_sip_name_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name IS NOT NULL AND (
        EXISTS (SELECT 1 FROM endpoint_sip WHERE name = NEW.name AND NOT (TG_TABLE_NAME = 'endpoint_sip' AND id = NEW.id))
        OR EXISTS (SELECT 1 FROM sip_templates WHERE name = NEW.name)
        OR EXISTS (SELECT 1 FROM transports WHERE name = NEW.name AND NOT (TG_TABLE_NAME = 'transports' AND id = NEW.id))
    ) THEN
        RAISE EXCEPTION 'sip_name_taken' USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER endpoint_sip_name_insert AFTER INSERT ON endpoint_sip FOR EACH ROW EXECUTE FUNCTION pb_sip_name_check();
CREATE TRIGGER endpoint_sip_name_update AFTER UPDATE OF body ON endpoint_sip FOR EACH ROW EXECUTE FUNCTION pb_sip_name_check();
CREATE TRIGGER transports_name_insert AFTER INSERT ON transports FOR EACH ROW EXECUTE FUNCTION pb_sip_name_check();
CREATE TRIGGER transports_name_update AFTER UPDATE OF body ON transports FOR EACH ROW EXECUTE FUNCTION pb_sip_name_check();
"#,
        // 5: trunk health and change sets.
        r#"
CREATE TABLE trunk_health (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    endpoint   TEXT COLLATE "C" NOT NULL,
    at_ms      BIGINT NOT NULL,
    transition TEXT NOT NULL CHECK (transition::jsonb IS NOT NULL)
);
CREATE INDEX trunk_health_by_endpoint ON trunk_health(endpoint, id);
CREATE TABLE trunk_health_policy (
    endpoint TEXT COLLATE "C" PRIMARY KEY,
    policy   TEXT NOT NULL CHECK (policy::jsonb IS NOT NULL)
);
ALTER TABLE audit ADD COLUMN change_set BIGINT;
CREATE INDEX audit_by_change_set ON audit(change_set);
"#,
        // 6: the trigram search index: pg_trgm (a trusted extension, in
        // Debian's postgresql package) over the same text SQLite's FTS5
        // table holds (`pb_extension_search`). Without pg_trgm the same
        // query scans.
        r#"
CREATE FUNCTION pb_extension_search(id BIGINT, exten TEXT, context TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT id::text || chr(31) || COALESCE(exten, '') || chr(31) || COALESCE(context, '')
$$;
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX extensions_search ON extensions USING gin (pb_extension_search(id, exten, context) gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): extension searches scan', SQLERRM;
END $$;
"#,
        // 7: nodes.
        r#"
CREATE TABLE nodes (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL UNIQUE,
    host       TEXT NOT NULL,
    port       BIGINT NOT NULL CHECK (port BETWEEN 1 AND 65535),
    username   TEXT NOT NULL,
    secret     TEXT NOT NULL,
    is_default BIGINT NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1))
);
CREATE UNIQUE INDEX nodes_one_default ON nodes(is_default) WHERE is_default = 1;
ALTER TABLE tenants ADD COLUMN node_id BIGINT REFERENCES nodes(id);
ALTER TABLE tenants ADD COLUMN moving_from BIGINT REFERENCES nodes(id);
CREATE TRIGGER revision_nodes_update AFTER UPDATE OF is_default ON nodes FOR EACH ROW EXECUTE FUNCTION pb_bump_revision();
"#,
        // 8: node leases (`crate::lease`).
        r#"
CREATE TABLE node_leases (
    node_id       BIGINT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
    holder        TEXT COLLATE "C" NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    progress      TEXT NOT NULL DEFAULT ''
);
"#,
        // 9: per tenant, a counter every change of one of its rows bumps
        // (`super::TENANT_TABLES`): one trigger function for every table.
        r#"
CREATE TABLE tenant_changes (
    tenant_uuid TEXT COLLATE "C" PRIMARY KEY,
    changes     BIGINT NOT NULL
);
CREATE FUNCTION pb_count_tenant_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO tenant_changes (tenant_uuid, changes) VALUES (COALESCE(OLD.tenant_uuid, ''), 1)
            ON CONFLICT (tenant_uuid) DO UPDATE SET changes = tenant_changes.changes + 1;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO tenant_changes (tenant_uuid, changes) VALUES (COALESCE(NEW.tenant_uuid, ''), 1)
            ON CONFLICT (tenant_uuid) DO UPDATE SET changes = tenant_changes.changes + 1;
    END IF;
    RETURN NULL;
END $$;
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['contexts', 'extensions', 'trunks', 'endpoint_sip', 'sip_templates', 'transports', 'endpoint_iax', 'endpoint_custom', 'outcalls', 'incalls', 'users', 'lines', 'settings'] LOOP
        EXECUTE format('CREATE TRIGGER tenant_changes_%s AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION pb_count_tenant_change()', t, t);
    END LOOP;
END $$;
"#,
        // 10: a node's optional ARI access.
        r#"
ALTER TABLE nodes ADD COLUMN ari_url TEXT;
ALTER TABLE nodes ADD COLUMN ari_username TEXT;
ALTER TABLE nodes ADD COLUMN ari_secret TEXT;
CREATE TRIGGER revision_nodes_ari AFTER UPDATE OF ari_url, ari_username, ari_secret ON nodes FOR EACH ROW EXECUTE FUNCTION pb_bump_revision();
"#,
        // 11: groups and their members in ringing order (SQLite's
        // `sqlite_groups`); the tenant counter as step 9's tables.
        r#"
CREATE TABLE groups (
    id BIGINT PRIMARY KEY,
    uuid TEXT COLLATE "C" UNIQUE,
    tenant_uuid TEXT COLLATE "C" REFERENCES tenants(uuid) ON DELETE CASCADE,
    body TEXT COLLATE "C" NOT NULL CHECK (jsonb_typeof(body::jsonb) = 'object'),
    name TEXT COLLATE "C" GENERATED ALWAYS AS (body::jsonb #>> '{name}') STORED,
    label TEXT COLLATE "C" GENERATED ALWAYS AS (body::jsonb #>> '{label}') STORED,
    extension_id BIGINT GENERATED ALWAYS AS ((body::jsonb #>> '{extension_id}')::bigint) STORED
);
CREATE INDEX groups_tenant ON groups(tenant_uuid);
CREATE UNIQUE INDEX groups_name ON groups(name);
CREATE UNIQUE INDEX groups_extension ON groups(extension_id);
CREATE TRIGGER revision_groups AFTER INSERT OR UPDATE OR DELETE ON groups FOR EACH ROW EXECUTE FUNCTION pb_bump_revision();
CREATE TRIGGER tenant_changes_groups AFTER INSERT OR UPDATE OR DELETE ON groups FOR EACH ROW EXECUTE FUNCTION pb_count_tenant_change();
CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    user_id  BIGINT NOT NULL,
    priority BIGINT NOT NULL,
    PRIMARY KEY (group_id, position),
    UNIQUE (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);
CREATE FUNCTION pb_group_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM group_members WHERE group_id = OLD.id;
    END IF;
    INSERT INTO group_members SELECT NEW.id, m.idx, (m.value ->> 'user_id')::bigint, COALESCE((m.value ->> 'priority')::bigint, m.idx) FROM pb_elements(NEW.body, 'user_members') m WHERE m.value ->> 'user_id' IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER group_members_insert AFTER INSERT ON groups FOR EACH ROW EXECUTE FUNCTION pb_group_members();
CREATE TRIGGER group_members_update AFTER UPDATE OF body ON groups FOR EACH ROW EXECUTE FUNCTION pb_group_members();
"#,
        // 12: the tenant counter becomes the revision of the tenant's last
        // change (SQLite's `sqlite_tenant_stamps`), and `#tenants` stamps a
        // change of the tenant list. Triggers on one table fire in name
        // order: `revision_…` before `tenant_changes_…`, so the stamp is
        // this transaction's bumped revision, and the revision row's lock,
        // held from that bump to the commit, orders stamps as commits.
        r#"
CREATE OR REPLACE FUNCTION pb_count_tenant_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    stamp BIGINT;
BEGIN
    SELECT value INTO stamp FROM revision WHERE id = 1;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO tenant_changes (tenant_uuid, changes) VALUES (COALESCE(OLD.tenant_uuid, ''), stamp)
            ON CONFLICT (tenant_uuid) DO UPDATE SET changes = EXCLUDED.changes;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO tenant_changes (tenant_uuid, changes) VALUES (COALESCE(NEW.tenant_uuid, ''), stamp)
            ON CONFLICT (tenant_uuid) DO UPDATE SET changes = EXCLUDED.changes;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION pb_stamp_tenants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_changes (tenant_uuid, changes) SELECT '#tenants', value FROM revision WHERE id = 1
        ON CONFLICT (tenant_uuid) DO UPDATE SET changes = EXCLUDED.changes;
    RETURN NULL;
END $$;
CREATE TRIGGER tenant_changes_tenants AFTER INSERT OR UPDATE OR DELETE ON tenants FOR EACH ROW EXECUTE FUNCTION pb_stamp_tenants();
CREATE INDEX tenant_changes_changes ON tenant_changes(changes);
"#,
    ];

    /// Held while migrating, so Patchbays starting together migrate once.
    const MIGRATION_LOCK: i64 = 0x7062_6d67; // "pbmg"

    /// Applies the steps not applied yet, each in its own transaction.
    pub fn to_latest(conn: &Connection) -> Result<(), StoreError> {
        conn.execute_batch(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
        let migrated = apply(conn);
        let unlocked = conn.execute_batch(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
        migrated.and(unlocked)
    }

    fn apply(conn: &Connection) -> Result<(), StoreError> {
        conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
        let version: Option<i64> = conn.query_opt("SELECT version FROM schema_version", &[], |row| row.get(0))?;
        let version = match version {
            Some(version) => version,
            None => {
                conn.execute_batch("INSERT INTO schema_version (version) VALUES (0)")?;
                0
            }
        };
        for (done, step) in steps().iter().enumerate().skip(version.max(0) as usize) {
            conn.execute_batch("BEGIN")?;
            let applied = conn.execute_batch(step).and_then(|()| conn.execute_batch(&format!("UPDATE schema_version SET version = {}", done + 1)));
            match applied {
                Ok(()) => conn.execute_batch("COMMIT")?,
                Err(error) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(error);
                }
            }
        }
        Ok(())
    }
}

pub fn all() -> Migrations<'static> {
    Migrations::new(sqlite_steps())
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::all().validate().is_ok());
    }

    #[test]
    fn both_dialects_have_the_same_steps() {
        assert_eq!(super::sqlite_steps().len(), super::postgres::steps().len(), "a step added to one dialect is added to the other, with the same number");
    }
}
