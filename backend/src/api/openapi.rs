//! OpenAPI 3 document generated from the route table (the same table the
//! router is checked against in tests).

use axum::Json;
use serde_json::{Map, Value, json};

/// (path under `/api/confd/1.1`, methods, summary).
pub const CONFD_ROUTES: &[(&str, &[&str], &str)] = &[
    ("/trunks", &["get", "post"], "Trunks"),
    ("/trunks/{id}", &["get", "put", "delete"], "One trunk"),
    ("/trunks/{id}/endpoints/sip/{uuid}", &["put", "delete"], "Trunk ↔ SIP endpoint"),
    ("/trunks/{id}/endpoints/iax/{endpoint_id}", &["put", "delete"], "Trunk ↔ IAX endpoint"),
    ("/trunks/{id}/endpoints/custom/{endpoint_id}", &["put", "delete"], "Trunk ↔ custom endpoint"),
    ("/trunks/{id}/registers/sip/{register_id}", &["put", "delete"], "Trunk ↔ legacy SIP register"),
    ("/trunks/{id}/registers/iax/{register_id}", &["put", "delete"], "Trunk ↔ IAX register (not on a SIP or custom trunk; one each way)"),
    ("/endpoints/sip", &["get", "post"], "SIP endpoints (PJSIP or legacy chan_sip body)"),
    ("/endpoints/sip/{uuid}", &["get", "put", "delete"], "One SIP endpoint (GET ?view=merged folds its templates in)"),
    ("/endpoints/sip/templates", &["get", "post"], "SIP templates"),
    ("/endpoints/sip/templates/{uuid}", &["get", "put", "delete"], "One SIP template (GET ?view=merged folds its own templates in)"),
    ("/endpoints/iax", &["get", "post"], "IAX endpoints"),
    ("/endpoints/iax/{id}", &["get", "put", "delete"], "One IAX endpoint"),
    ("/endpoints/custom", &["get", "post"], "Custom endpoints"),
    ("/endpoints/custom/{id}", &["get", "put", "delete"], "One custom endpoint"),
    ("/registers/sip", &["get", "post"], "Legacy SIP registers"),
    ("/registers/sip/{id}", &["get", "put", "delete"], "One legacy SIP register"),
    ("/registers/iax", &["get", "post"], "IAX registers (register => user:secret@host:port/exten?context)"),
    ("/registers/iax/{id}", &["get", "put", "delete"], "One IAX register"),
    ("/sip/transports", &["get", "post"], "SIP transports (writes: master tenant)"),
    ("/sip/transports/{uuid}", &["get", "put", "delete"], "One SIP transport (DELETE ?fallback=<uuid> moves its endpoints and templates there first)"),
    ("/asterisk/pjsip/global", &["get", "put"], "PJSIP [global] (master tenant)"),
    ("/asterisk/pjsip/system", &["get", "put"], "PJSIP [system] (master tenant)"),
    ("/asterisk/sip/general", &["get", "put"], "Legacy chan_sip [general], translated"),
    ("/contexts", &["get", "post"], "Contexts, with user/group/queue/conference_room/incall ranges"),
    ("/contexts/{id}", &["get", "put", "delete"], "One context"),
    ("/contexts/{id}/contexts", &["put"], "Context includes (ordered)"),
    ("/extensions", &["get", "post"], "Extensions"),
    ("/extensions/{id}", &["get", "put", "delete"], "One extension"),
    ("/outcalls", &["get", "post"], "Outgoing calls"),
    ("/outcalls/{id}", &["get", "put", "delete"], "One outgoing call"),
    ("/outcalls/{id}/trunks", &["put"], "Outcall trunks (ordered, failover order)"),
    ("/outcalls/{id}/extensions/{extension_id}", &["put", "delete"], "Outcall ↔ extension (strip_digits, prefixes, caller_id)"),
    ("/incalls", &["get", "post"], "Incoming calls (destinations user, group, none, hangup normal/busy/congestion, custom, extension, trunk)"),
    ("/incalls/{id}", &["get", "put", "delete"], "One incoming call"),
    ("/incalls/{id}/extensions/{extension_id}", &["put", "delete"], "Incall ↔ extension"),
    ("/groups", &["get", "post"], "Groups: users rung together (name generated grp-<slug>-<uuid>, label required)"),
    ("/groups/{id}", &["get", "put", "delete"], "One group (id or uuid)"),
    ("/groups/{id}/members/users", &["put"], "Group member users (ordered by priority; each in the group's tenant, with a line)"),
    ("/groups/{id}/extensions/{extension_id}", &["put", "delete"], "Group ↔ extension (internal context, group_ranges)"),
    ("/users", &["get", "post"], "Users (caller-ID fields)"),
    ("/users/{id}", &["get", "put", "delete"], "One user (id or uuid)"),
    ("/users/{id}/lines/{line_id}", &["put", "delete"], "User ↔ line"),
    ("/users/{id}/callerids/outgoing", &["get"], "Caller IDs the user may present: DIDs of the incalls that ring it (associated), then anonymous"),
    ("/lines", &["get", "post"], "Lines"),
    ("/lines/{id}", &["get", "put", "delete"], "One line"),
    ("/lines/{id}/endpoints/sip/{uuid}", &["put", "delete"], "Line ↔ SIP endpoint"),
    ("/lines/{id}/extensions/{extension_id}", &["put", "delete"], "Line ↔ extension"),
];

/// Query parameters beyond the list ones: (path under `/api/confd/1.1`,
/// method, name, description).
pub const QUERY_PARAMETERS: &[(&str, &str, &str, &str)] = &[
    ("/endpoints/sip/{uuid}", "get", "view", "`merged`: every section with the templates' options folded in (later wins)"),
    ("/endpoints/sip/templates/{uuid}", "get", "view", "`merged`: every section with the templates' options folded in (later wins)"),
    ("/sip/transports/{uuid}", "delete", "fallback", "uuid of the transport that takes over the deleted one's endpoints and templates"),
];

/// Other routes: (full path, methods, summary, needs a token).
pub const OTHER_ROUTES: &[(&str, &[&str], &str, bool)] = &[
    ("/api/auth/0.1/token", &["post"], "Token from HTTP Basic credentials (429 + Retry-After after repeated failures for the user or from the address)", false),
    ("/api/auth/0.1/token/{token}", &["get", "head", "delete"], "One token: its data (404 if unknown, expired or revoked; ?tenant= 403 if it may not act for it), HEAD 204/404, DELETE revokes it (200, as wazo-auth)", false),
    ("/api/auth/0.1/tenants", &["get", "post"], "Tenants (create: master tenant)", true),
    ("/api/auth/0.1/users", &["post"], "API accounts (master_admin / tenant_admin)", true),
    ("/api/patchbay/1.0/status", &["get"], "Asterisk link status: the caller's endpoints, refused objects and differences", true),
    ("/api/patchbay/1.0/live", &["get"], "Live status: registrations, contacts, endpoint states (a tenant admin: its own)", true),
    ("/api/patchbay/1.0/events", &["get"], "Live status as Server-Sent Events: a snapshot, then each change (a tenant admin: its own; the token may also be ?token=, as EventSource cannot send headers)", true),
    ("/api/patchbay/1.0/calls", &["post"], "Test call (Originate) and its outcome (master)", true),
    ("/api/patchbay/1.0/trunks/{id}/maintenance", &["get", "put"], "Drain a SIP trunk (PJSIPSetMaintenance: new calls refused, calls in progress continue) or put it back, read back from Asterisk", true),
    ("/api/patchbay/1.0/trunks/{id}/qualify", &["post"], "Send an OPTIONS to the trunk's contacts now; their status and round trip", true),
    ("/api/patchbay/1.0/trunks/{id}/registration", &["get"], "The trunk's outbound registrations with the registrar's last SIP code and reason (from PJSIP's message history, the answer matched to its REGISTER by Call-ID and CSeq)", true),
    ("/api/patchbay/1.0/trunks/{id}/test-call", &["post"], "A test call through the trunk to a number: outcome, SIP code and timing", true),
    ("/api/patchbay/1.0/trunks/{id}/health", &["get", "put"], "The trunk's live health: registration with its last SIP code, qualify reachability with RTT, transitions; PUT sets its thresholds (misses before down, answers before up, OPTIONS interval, history length), audited as a change set that can be rolled back", true),
    ("/api/patchbay/1.0/outcalls/{id}/emergency-test", &["post"], "Test mode of an emergency route: calls its test number (never an emergency number) through its first SIP trunk with the callback number", true),
    ("/api/patchbay/1.0/change-sets", &["get"], "Change sets (the writes of one request), newest first, with each object's before and after", true),
    ("/api/patchbay/1.0/change-sets/{id}/diff", &["get"], "The lines of Asterisk's config the change set changed, per file (409 when later changes overlap it)", true),
    ("/api/patchbay/1.0/change-sets/{id}/rollback", &["post"], "Roll back the change set ({\"and_later\": true}: and every later one) as a new change set; 409 on a conflict, 400 if a reference would break", true),
    ("/api/patchbay/1.0/usable_trunks", &["get"], "The trunks the caller's routes may use (its own and those shared with its tenant): name, kind, registration and reachability only", true),
    ("/api/patchbay/1.0/snapshot", &["get"], "The caller's tenant snapshot", true),
    ("/api/patchbay/1.0/simulate", &["post"], "Simulate a dialled number", true),
    ("/api/patchbay/1.0/lint", &["get"], "Routing lints", true),
    ("/api/patchbay/1.0/config/preview", &["get"], "Rendered Asterisk config (master)", true),
    ("/api/patchbay/1.0/export", &["get"], "Config as code: the caller's tenant as a YAML document (?tenant=SLUG or * for a master, ?format=yaml|toml|json); secrets as references", true),
    ("/api/patchbay/1.0/plan", &["post"], "Config as code: what applying the document in the body (YAML, or JSON/TOML by Content-Type) would change", true),
    ("/api/patchbay/1.0/apply", &["post"], "Config as code: apply the document in the body in one transaction (one change set)", true),
    ("/api/patchbay/1.0/csv/{kind}", &["get", "post"], "CSV of incalls (DIDs), users or outcall patterns: GET exports the tenant's rows; POST checks a CSV body row by row (preview), ?apply=true writes it, all rows or none", true),
    ("/api/patchbay/1.0/doctor", &["get"], "Checks of the connected Asterisk: AMI classes, include lines, colliding sections, transports (master)", true),
    ("/api/patchbay/1.0/nodes", &["get", "post"], "Asterisk nodes (master): name, AMI host, port, username, write-only secret, is_default; each with its state (connected, in sync, last apply, last error, AMI actions) and its tenants", true),
    ("/api/patchbay/1.0/nodes/{id}", &["get", "put", "delete"], "One Asterisk node (master; PUT: the fields sent; DELETE refused while tenants are on it)", true),
    ("/api/patchbay/1.0/tenants/{uuid}/node", &["get", "put"], "The tenant's node; PUT {\"node_id\"} moves it (master): applied on the new node, then removed from the old one; answers once the new node holds it (504 after 30 s, the move goes on)", true),
    ("/api/patchbay/1.0/audit", &["get"], "Audit trail (who changed what, before/after)", true),
    ("/api/patchbay/1.0/openapi.json", &["get"], "This document", false),
];

fn operation(method: &str, path: &str, summary: &str, secured: bool) -> Value {
    let params: Vec<Value> = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    let errors = json!({"description": "Wazo error list", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}});
    let success = match method {
        "post" => json!({"201": {"description": "Created (Location header)", "content": {"application/json": {"schema": {"type": "object"}}}}}),
        "put" | "delete" => json!({"204": {"description": "Done"}}),
        _ => json!({"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}),
    };
    let mut responses = success.as_object().cloned().unwrap_or_default();
    for code in ["400", "401", "404"] {
        responses.insert(code.into(), errors.clone());
    }
    let mut op = json!({"summary": summary, "parameters": params, "responses": responses, "operationId": format!("{method} {path}")});
    if secured {
        op["security"] = json!([{"token": []}]);
    }
    if matches!(method, "post" | "put") {
        op["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object"}}}});
    }
    op
}

pub fn spec() -> Value {
    let mut paths = Map::new();
    for prefix in ["/api/confd/1.1", "/1.1"] {
        for (path, methods, summary) in CONFD_ROUTES {
            let full = format!("{prefix}{path}");
            let item: Map<String, Value> = methods
                .iter()
                .map(|m| {
                    let mut op = operation(m, &full, summary, true);
                    for (_, _, name, description) in QUERY_PARAMETERS.iter().filter(|(p, method, _, _)| p == path && method == m) {
                        if let Some(params) = op["parameters"].as_array_mut() {
                            params.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}}));
                        }
                    }
                    (m.to_string(), op)
                })
                .collect();
            paths.insert(full, Value::Object(item));
        }
    }
    for (path, methods, summary, secured) in OTHER_ROUTES {
        let item: Map<String, Value> = methods.iter().map(|m| (m.to_string(), operation(m, path, summary, *secured))).collect();
        paths.insert(path.to_string(), Value::Object(item));
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Patchbay API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Wazo confd-compatible interconnection resources, tenants and tokens."},
        "paths": paths,
        "components": {
            "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}},
            "schemas": {"Errors": {"type": "array", "items": {"type": "string"}}},
        },
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
