//! The HTTP contract of the confd routes, in process: the real router on
//! an in-memory store, requests through `tower::ServiceExt::oneshot` (no
//! socket, no Asterisk). End-to-end tests (`tests/`) cover the rest.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use patchbay_backend::api::{self, AppState};
use patchbay_backend::store::testing::TestStore;
use serde_json::{Value, json};
use std::net::SocketAddr;
use tower::ServiceExt;

const PASSWORD: &str = "router-test-password";

struct App {
    router: Router,
    token: String,
    _database: TestStore,
}

impl App {
    async fn new() -> App {
        let database = TestStore::new();
        let store = database.store.clone();
        patchbay_backend::bootstrap::seed_if_empty(&store, Some(PASSWORD)).unwrap();
        let state = AppState {
            store,
            asterisk: Default::default(),
            fleet: None,
            login: std::sync::Arc::new(api::auth::LoginGuard::from_env().unwrap()),
        };
        let router = api::router(state);
        let basic = base64_basic("admin", PASSWORD);
        let mut request = Request::post("/api/auth/0.1/token").header(header::AUTHORIZATION, basic).body(Body::empty()).unwrap();
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        let (status, body) = send(&router, request).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        App { router, token: body["data"]["token"].as_str().unwrap().to_string(), _database: database }
    }

    async fn call(&self, method: &str, path: &str, body: Option<&str>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("X-Auth-Token", &self.token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty))
            .unwrap();
        send(&self.router, request).await
    }
}

fn base64_basic(user: &str, password: &str) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { TABLE[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    format!("Basic {out}")
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() })
}

#[tokio::test]
async fn extension_create_conflict_and_wazo_errors() {
    let app = App::new().await;
    let (status, created) = app.call("POST", "/api/confd/1.1/extensions", Some(r#"{"exten": "1001", "context": "default"}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["exten"], json!("1001"));
    assert_eq!(created["type"], json!("internal"), "{created}");
    // Unique per context: Wazo's wording, nothing stored.
    let (status, errors) = app.call("POST", "/api/confd/1.1/extensions", Some(r#"{"exten": "1001", "context": "default"}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{errors}");
    assert_eq!(errors, json!(["Resource Error - Extension already exists ('exten': '1001', 'context': 'default')"]));
    // The same number in another context is another extension.
    let (status, _) = app.call("POST", "/api/confd/1.1/extensions", Some(r#"{"exten": "1001", "context": "to-extern"}"#)).await;
    assert_eq!(status, StatusCode::CREATED);
    // No body: every required field named at once; a missing extension.
    let (status, errors) = app.call("POST", "/api/confd/1.1/extensions", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(errors, json!(["Input Error - exten: ['Missing data for required field.']", "Input Error - context: ['Missing data for required field.']"]));
    let (status, errors) = app.call("GET", "/api/confd/1.1/extensions/999", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(errors, json!(["Resource Not Found - Extension was not found ('id': 999)"]));
}

#[tokio::test]
async fn lists_are_searched_ordered_and_paged() {
    let app = App::new().await;
    for exten in ["1003", "1001", "2001", "1002"] {
        let (status, body) = app.call("POST", "/1.1/extensions", Some(&format!(r#"{{"exten": "{exten}", "context": "default"}}"#))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, page) = app.call("GET", "/1.1/extensions?search=100&order=exten&direction=desc&limit=2&offset=1", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let extens: Vec<&str> = page["items"].as_array().unwrap().iter().map(|e| e["exten"].as_str().unwrap()).collect();
    assert_eq!((extens, &page["total"]), (vec!["1002", "1001"], &json!(3)));
    // Filters by a column, and by the context's type (a joined column).
    let (_, page) = app.call("GET", "/1.1/extensions?exten=2001", None).await;
    assert_eq!(page["total"], json!(1), "{page}");
    let (_, page) = app.call("GET", "/1.1/extensions?type=internal&order=id", None).await;
    assert_eq!(page["total"], json!(4), "{page}");
    let (status, errors) = app.call("GET", "/1.1/extensions?order=secret", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{errors}");
}

/// A search of three characters or more is narrowed by the trigram index
/// (kept by triggers on every insert, update and delete); shorter ones scan.
/// Both answer Wazo's case-insensitive substring of id, number, context or
/// the context's type.
#[tokio::test]
async fn searches_through_the_trigram_index_answer_as_a_scan_does() {
    let app = App::new().await;
    let mut ids = Vec::new();
    for exten in ["4711", "4712", "5811"] {
        let (status, body) = app.call("POST", "/1.1/extensions", Some(&format!(r#"{{"exten": "{exten}", "context": "default"}}"#))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["id"].as_i64().unwrap());
    }
    let extens = |page: &Value| -> Vec<String> { page["items"].as_array().unwrap().iter().map(|e| e["exten"].as_str().unwrap().to_string()).collect() };
    let (_, page) = app.call("GET", "/1.1/extensions?search=471&order=exten", None).await;
    assert_eq!((extens(&page), &page["total"]), (vec!["4711".to_string(), "4712".into()], &json!(2)), "{page}");
    // The context's name (any case) and its type are searched too.
    let (_, page) = app.call("GET", "/1.1/extensions?search=EFAU", None).await;
    assert_eq!(page["total"], json!(3), "{page}");
    let (_, page) = app.call("GET", "/1.1/extensions?search=nterna", None).await;
    assert_eq!(page["total"], json!(3), "{page}");
    // Two characters: the scan, same rule.
    let (_, page) = app.call("GET", "/1.1/extensions?search=11&order=exten&direction=desc", None).await;
    assert_eq!(extens(&page), vec!["5811".to_string(), "4711".into()], "{page}");
    // An edited number is found by its new digits only; a deleted one not at all.
    let (status, body) = app.call("PUT", &format!("/1.1/extensions/{}", ids[1]), Some(r#"{"exten": "4999"}"#)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, page) = app.call("GET", "/1.1/extensions?search=4712", None).await;
    assert_eq!(page["total"], json!(0), "{page}");
    let (_, page) = app.call("GET", "/1.1/extensions?search=4999", None).await;
    assert_eq!(extens(&page), vec!["4999".to_string()], "{page}");
    let (status, body) = app.call("DELETE", &format!("/1.1/extensions/{}", ids[2]), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, page) = app.call("GET", "/1.1/extensions?search=5811", None).await;
    assert_eq!(page["total"], json!(0), "{page}");
}

/// A trunk shows its SIP endpoint summary and the outcalls that dial it,
/// by outcall id, in the list as in its own GET (the list fetches every
/// trunk's relations at once); an extension shows the outcall it serves,
/// and cannot move into a context of another type while it does.
#[tokio::test]
async fn trunks_show_their_outcalls_and_extensions_their_outcall() {
    let app = App::new().await;
    let (status, endpoint) = app
        .call("POST", "/1.1/endpoints/sip", Some(r#"{"name": "carrier", "auth_section_options": [["username", "me"], ["password", "pw-secret"]]}"#))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{endpoint}");
    let (_, trunk) = app.call("POST", "/1.1/trunks", Some(r#"{"context": "from-extern"}"#)).await;
    let (_, other) = app.call("POST", "/1.1/trunks", Some("{}")).await;
    let (status, body) = app.call("PUT", &format!("/1.1/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap()), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let mut outcalls = Vec::new();
    for name in ["second-route", "first-route"] {
        let (_, outcall) = app.call("POST", "/1.1/outcalls", Some(&format!(r#"{{"name": "{name}"}}"#))).await;
        let trunks = format!(r#"{{"trunks": [{{"id": {}}}, {{"id": {}}}]}}"#, other["id"], trunk["id"]);
        let (status, body) = app.call("PUT", &format!("/1.1/outcalls/{}/trunks", outcall["id"]), Some(&trunks)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        outcalls.push(outcall);
    }
    let expected: Vec<Value> = outcalls
        .iter()
        .map(|o| json!({"id": o["id"], "name": o["name"], "links": [{"rel": "outcalls", "href": format!("/api/confd/1.1/outcalls/{}", o["id"])}]}))
        .collect();
    let (_, shown) = app.call("GET", &format!("/1.1/trunks/{}", trunk["id"]), None).await;
    assert_eq!(shown["outcalls"], json!(expected), "{shown}");
    assert_eq!(shown["name"], json!("carrier"), "{shown}");
    assert_eq!(shown["endpoint_sip"]["auth_section_options"], json!([["username", "me"]]), "{shown}");
    let (_, list) = app.call("GET", "/1.1/trunks", None).await;
    let listed = list["items"].as_array().unwrap().iter().find(|t| t["id"] == trunk["id"]).unwrap();
    assert_eq!(listed, &shown, "the list shows what the trunk's GET shows");
    let listed_other = list["items"].as_array().unwrap().iter().find(|t| t["id"] == other["id"]).unwrap();
    assert_eq!((&listed_other["outcalls"], &listed_other["endpoint_sip"]), (&json!(expected), &Value::Null), "{list}");
    // The extension an outcall serves.
    let (_, ext) = app.call("POST", "/1.1/extensions", Some(r#"{"exten": "_0X.", "context": "to-extern"}"#)).await;
    let (status, body) = app.call("PUT", &format!("/1.1/outcalls/{}/extensions/{}", outcalls[0]["id"], ext["id"]), Some("{}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, shown) = app.call("GET", &format!("/1.1/extensions/{}", ext["id"]), None).await;
    assert_eq!(shown["outcall"], expected[0], "{shown}");
    assert_eq!((&shown["incall"], &shown["lines"], &shown["group"]), (&Value::Null, &json!([]), &Value::Null), "{shown}");
    let (status, answer) = app.call("PUT", &format!("/1.1/extensions/{}", ext["id"]), Some(r#"{"context": "default"}"#)).await;
    assert_eq!((status, answer), (StatusCode::BAD_REQUEST, json!(["Resource Error - ContextType 'internal' cannot be associated"])));
}

/// Wazo's PUT is a partial update: `{}` changes nothing, and a body with
/// one field changes that field only. (The other resources:
/// `tests/tests/api_isolation.rs`, `every_put_is_partial`.)
#[tokio::test]
async fn a_put_changes_only_the_fields_it_sends() {
    let app = App::new().await;
    // Each collection, the key its objects are addressed by, a new object.
    let created = [
        ("/1.1/sip/transports", "uuid", r#"{"name": "transport-tcp", "options": [["protocol", "tcp"], ["bind", "0.0.0.0:5060"]]}"#),
        ("/1.1/extensions", "id", r#"{"exten": "1001", "context": "default"}"#),
        ("/1.1/registers/iax", "id", r#"{"remote_host": "iax.example.com", "remote_port": 4569}"#),
        ("/1.1/contexts", "id", r#"{"label": "Office", "user_ranges": [{"start": "1000", "end": "1099"}]}"#),
    ];
    let changes = [
        json!({"options": [["protocol", "tcp"], ["bind", "0.0.0.0:5070"]]}),
        json!({"exten": "1002"}),
        json!({"remote_port": 4570}),
        json!({"description": "the front office"}),
    ];
    for ((collection, key, body), change) in created.into_iter().zip(changes) {
        let (status, object) = app.call("POST", collection, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{collection}: {object}");
        let path = format!("{collection}/{}", object[key].as_str().map_or_else(|| object[key].to_string(), str::to_string));
        let (_, before) = app.call("GET", &path, None).await;
        let (status, answer) = app.call("PUT", &path, Some("{}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "PUT {path} {{}}: {answer}");
        assert_eq!(app.call("GET", &path, None).await.1, before, "PUT {path} {{}} changed the object");
        let (status, answer) = app.call("PUT", &path, Some(&change.to_string())).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "PUT {path} {change}: {answer}");
        let (_, mut after) = app.call("GET", &path, None).await;
        for (field, value) in change.as_object().unwrap() {
            assert_eq!(&after[field], value, "{path}: {after}");
            after[field] = before[field].clone();
        }
        assert_eq!(after, before, "PUT {path} {change} changed another field");
    }
}

/// A context shows Wazo's five range lists, empty when not given, each
/// range with its `end` (a single number's range ends where it starts).
#[tokio::test]
async fn contexts_show_every_range_list() {
    let app = App::new().await;
    let (status, context) = app
        .call("POST", "/1.1/contexts", Some(r#"{"label": "Rooms", "type": "internal", "conference_room_ranges": [{"start": "4000", "end": "4099"}], "group_ranges": [{"start": "3000"}]}"#))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{context}");
    let (_, shown) = app.call("GET", &format!("/1.1/contexts/{}", context["id"]), None).await;
    assert_eq!(shown["conference_room_ranges"], json!([{"start": "4000", "end": "4099"}]), "{shown}");
    assert_eq!(shown["group_ranges"], json!([{"start": "3000", "end": "3000"}]), "{shown}");
    for empty in ["user_ranges", "queue_ranges", "incall_ranges"] {
        assert_eq!(shown[empty], json!([]), "{empty}: {shown}");
    }
}

impl App {
    /// The same call acting for `tenant` (`Wazo-Tenant`).
    async fn call_as(&self, tenant: &str, method: &str, path: &str, body: Option<&str>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("X-Auth-Token", &self.token)
            .header("Wazo-Tenant", tenant)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty))
            .unwrap();
        send(&self.router, request).await
    }

    /// A created object (201), as the API showed it.
    async fn created(&self, path: &str, body: Value) -> Value {
        let (status, shown) = self.call("POST", path, Some(&body.to_string())).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path} {body}: {shown}");
        shown
    }

    /// A user with a SIP line on `exten` in `default`: (user, line).
    async fn user_with_line(&self, firstname: &str, exten: &str) -> (Value, Value) {
        let user = self.created("/1.1/users", json!({"firstname": firstname})).await;
        let line = self.created("/1.1/lines", json!({})).await;
        let endpoint = self.created("/1.1/endpoints/sip", json!({"name": format!("{}-phone", firstname.to_lowercase())})).await;
        let ext = self.created("/1.1/extensions", json!({"exten": exten, "context": "default"})).await;
        for path in [
            format!("/1.1/lines/{}/endpoints/sip/{}", line["id"], endpoint["uuid"].as_str().unwrap()),
            format!("/1.1/lines/{}/extensions/{}", line["id"], ext["id"]),
            format!("/1.1/users/{}/lines/{}", user["id"], line["id"]),
        ] {
            let (status, body) = self.call("PUT", &path, None).await;
            assert_eq!(status, StatusCode::NO_CONTENT, "PUT {path}: {body}");
        }
        (user, line)
    }
}

/// Wazo's groups: `label` required, `name` generated `grp-<slug>-<uuid>`
/// (a body's `name` alone becomes the label), Wazo's defaults, a partial
/// PUT, every bad field named at once, 404 wording, by id or uuid.
#[tokio::test]
async fn groups_are_created_read_updated_and_deleted_as_wazo_does() {
    let app = App::new().await;
    let group = app.created("/1.1/groups", json!({"label": "Sales team"})).await;
    let uuid = group["uuid"].as_str().unwrap().to_string();
    assert_eq!(group["name"], json!(format!("grp-master-{uuid}")), "{group}");
    for (key, value) in [
        ("label", json!("Sales team")), ("ring_strategy", json!("all")), ("timeout", Value::Null), ("user_timeout", json!(15)),
        ("retry_delay", json!(5)), ("ring_in_use", json!(true)), ("enabled", json!(true)), ("max_calls", json!(0)),
        ("mark_answered_elsewhere", json!(false)), ("dtmf_record_toggle", json!(false)), ("caller_id_mode", Value::Null),
        ("extensions", json!([])), ("members", json!({"users": [], "extensions": []})), ("incalls", json!([])),
        ("fallbacks", json!({"noanswer_destination": null})),
    ] {
        assert_eq!(group[key], value, "{key}: {group}");
    }
    assert!(group.get("user_members").is_none() && group.get("extension_id").is_none(), "{group}");
    assert_eq!(group["links"], json!([{"rel": "groups", "href": format!("/api/confd/1.1/groups/{}", group["id"])}]));
    // The deprecated `name`: copied into the label, never kept as the name.
    let legacy = app.created("/1.1/groups", json!({"name": "legacy"})).await;
    assert_eq!(legacy["label"], json!("legacy"));
    assert!(legacy["name"].as_str().unwrap().starts_with("grp-master-"), "{legacy}");
    // No label; every bad field at once.
    let (status, errors) = app.call("POST", "/1.1/groups", None).await;
    assert_eq!((status, errors), (StatusCode::BAD_REQUEST, json!(["Input Error - label: ['Missing data for required field.']"])));
    let (status, errors) = app.call("POST", "/1.1/groups", Some(r#"{"label": "bad\nlabel", "timeout": -1, "ring_strategy": "loud", "enabled": "yes"}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{errors}");
    let text = errors.to_string();
    for field in ["label", "timeout", "ring_strategy", "enabled"] {
        assert!(text.contains(&format!("Input Error - {field}:")), "{field}: {errors}");
    }
    // A partial PUT: only what is sent changes; name and uuid stay.
    let id = group["id"].to_string();
    let (status, body) = app.call("PUT", &format!("/1.1/groups/{id}"), Some(r#"{"timeout": 25, "label": "Sales team", "name": "ignored"}"#)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, shown) = app.call("GET", &format!("/1.1/groups/{uuid}"), None).await;
    assert_eq!((&shown["timeout"], &shown["label"], &shown["name"]), (&json!(25), &json!("Sales team"), &group["name"]), "{shown}");
    let (_, page) = app.call("GET", "/1.1/groups?search=sales", None).await;
    assert_eq!(page["total"], json!(1), "{page}");
    let (status, _) = app.call("DELETE", &format!("/1.1/groups/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, errors) = app.call("GET", &format!("/1.1/groups/{id}"), None).await;
    assert_eq!((status, errors), (StatusCode::NOT_FOUND, json!([format!("Resource Not Found - Group was not found ('id': {id})")])));
}

/// `PUT /groups/{id}/members/users`: ordered by priority (default: the
/// place in the list), each user with a line, none twice; the group and
/// the user show each other; a deleted user leaves its groups.
#[tokio::test]
async fn group_members_are_users_with_lines_in_priority_order() {
    let app = App::new().await;
    let (alice, _) = app.user_with_line("Alice", "1001").await;
    let (bob, _) = app.user_with_line("Bob", "1002").await;
    let carol = app.created("/1.1/users", json!({"firstname": "Carol"})).await;
    let group = app.created("/1.1/groups", json!({"label": "sales"})).await;
    let members = format!("/1.1/groups/{}/members/users", group["id"]);
    let body = json!({"users": [{"uuid": alice["uuid"], "priority": 4}, {"uuid": bob["uuid"], "priority": 1}]}).to_string();
    let (status, errors) = app.call("PUT", &members, Some(&body)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{errors}");
    let (_, shown) = app.call("GET", &format!("/1.1/groups/{}", group["id"]), None).await;
    let users = &shown["members"]["users"];
    assert_eq!((&users[0]["uuid"], &users[0]["priority"], &users[0]["firstname"]), (&bob["uuid"], &json!(1), &json!("Bob")), "{shown}");
    assert_eq!((&users[1]["uuid"], &users[1]["priority"]), (&alice["uuid"], &json!(4)), "{shown}");
    let (_, user) = app.call("GET", &format!("/1.1/users/{}", alice["uuid"].as_str().unwrap()), None).await;
    assert_eq!((&user["groups"][0]["id"], &user["groups"][0]["name"]), (&group["id"], &group["name"]), "{user}");
    // Wazo's refusals, in its words.
    let cases = [
        (json!({"users": [{"uuid": carol["uuid"]}]}), format!("Resource Error - User must be associated with a Line ('user_uuid': '{}')", carol["uuid"].as_str().unwrap())),
        (json!({"users": [{"uuid": alice["uuid"]}, {"uuid": alice["uuid"]}]}), "Resource Error - Operation not permitted. Cannot associate same user more than once".into()),
        (json!({"users": [{"uuid": "99999999-9999-9999-9999-999999999999"}]}), "Input Error - field 'users': User was not found ('uuid': '99999999-9999-9999-9999-999999999999')".into()),
    ];
    for (body, wanted) in cases {
        let (status, errors) = app.call("PUT", &members, Some(&body.to_string())).await;
        assert_eq!((status, errors), (StatusCode::BAD_REQUEST, json!([wanted])), "{body}");
    }
    let (status, errors) = app.call("PUT", &members, Some(r#"{"users": [{"priority": -1}]}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{errors}");
    let text = errors.to_string();
    assert!(text.contains("users") && text.contains("priority") && text.contains("uuid"), "{errors}");
    let (status, _) = app.call("PUT", "/1.1/groups/999/members/users", Some(r#"{"users": []}"#)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A deleted user leaves the group (its line first, as Wazo asks).
    let (status, body) = app.call("DELETE", &format!("/1.1/users/{}", bob["id"]), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, shown) = app.call("GET", &format!("/1.1/groups/{}", group["id"]), None).await;
    assert_eq!(shown["members"]["users"].as_array().map(Vec::len), Some(1), "{shown}");
    // An empty list empties the group.
    let (status, _) = app.call("PUT", &members, Some(r#"{"users": []}"#)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, shown) = app.call("GET", &format!("/1.1/groups/{}", group["id"]), None).await;
    assert_eq!(shown["members"]["users"], json!([]));
}

/// A group's extension: internal context only, one per group, free; the
/// extension then shows its group, and cannot be deleted or moved to an
/// incall context while bound.
#[tokio::test]
async fn a_group_extension_is_internal_free_and_shown_both_ways() {
    let app = App::new().await;
    let group = app.created("/1.1/groups", json!({"label": "support"})).await;
    let other = app.created("/1.1/groups", json!({"label": "other"})).await;
    let ext = app.created("/1.1/extensions", json!({"exten": "1500", "context": "default"})).await;
    let second = app.created("/1.1/extensions", json!({"exten": "1501", "context": "default"})).await;
    let did = app.created("/1.1/extensions", json!({"exten": "1502", "context": "from-extern"})).await;
    let bind = |g: &Value, e: &Value| format!("/1.1/groups/{}/extensions/{}", g["id"], e["id"]);
    let (status, body) = app.call("PUT", &bind(&group, &ext), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, shown) = app.call("GET", &format!("/1.1/extensions/{}", ext["id"]), None).await;
    assert_eq!((&shown["group"]["id"], &shown["group"]["name"], &shown["group"]["label"]), (&group["id"], &group["name"], &json!("support")), "{shown}");
    let (_, shown) = app.call("GET", &format!("/1.1/groups/{}", group["id"]), None).await;
    assert_eq!((&shown["extensions"][0]["id"], &shown["extensions"][0]["exten"]), (&ext["id"], &json!("1500")), "{shown}");
    let (status, errors) = app.call("PUT", &bind(&group, &second), None).await;
    assert_eq!((status, errors), (StatusCode::BAD_REQUEST, json!([format!("Resource Error - Group is associated with a Extension ('group_id': {}, 'extension_id': {})", group["id"], ext["id"])])));
    let (status, errors) = app.call("PUT", &bind(&other, &ext), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{errors}");
    assert!(errors[0].as_str().unwrap().starts_with("Resource Error - Group is associated with a Extension"), "{errors}");
    let (status, errors) = app.call("PUT", &bind(&other, &did), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{errors}");
    assert!(errors[0].as_str().unwrap().contains("ContextType 'incall' cannot be associated"), "{errors}");
    let (status, errors) = app.call("DELETE", &format!("/1.1/extensions/{}", ext["id"]), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{errors}");
    assert!(errors[0].as_str().unwrap().contains("Extension is associated with a group"), "{errors}");
    let (status, errors) = app.call("PUT", &format!("/1.1/extensions/{}", ext["id"]), Some(r#"{"context": "from-extern"}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{errors}");
    let (status, errors) = app.call("DELETE", &bind(&other, &ext), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{errors}");
    assert!(errors[0].as_str().unwrap().starts_with("Resource Not Found - GroupExtension was not found"), "{errors}");
    let (status, _) = app.call("DELETE", &bind(&group, &ext), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, shown) = app.call("GET", &format!("/1.1/extensions/{}", ext["id"]), None).await;
    assert_eq!(shown["group"], Value::Null);
}

/// An incall to a group: `group_id` resolved in the caller's tenant (a
/// foreign group reads as a missing one), `ring_time` validated; the
/// incall and the group show each other; the group's delete sends the
/// incall nowhere. Another tenant neither sees nor reaches the group.
#[tokio::test]
async fn an_incall_rings_a_group_of_its_own_tenant_only() {
    let app = App::new().await;
    let group = app.created("/1.1/groups", json!({"label": "sales"})).await;
    let did = app.created("/1.1/extensions", json!({"exten": "5550100", "context": "from-extern"})).await;
    let incall = app.created("/1.1/incalls", json!({"destination": {"type": "group", "group_id": group["id"], "ring_time": 12.5}})).await;
    assert_eq!(incall["destination"], json!({"type": "group", "group_id": group["id"], "ring_time": 12.5, "group_name": group["name"]}), "{incall}");
    let (status, _) = app.call("PUT", &format!("/1.1/incalls/{}/extensions/{}", incall["id"], did["id"]), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, shown) = app.call("GET", &format!("/1.1/groups/{}", group["id"]), None).await;
    assert_eq!((&shown["incalls"][0]["id"], &shown["incalls"][0]["extensions"][0]["exten"]), (&incall["id"], &json!("5550100")), "{shown}");
    let (status, errors) = app.call("POST", "/1.1/incalls", Some(r#"{"destination": {"type": "group", "group_id": 999}}"#)).await;
    assert_eq!((status, errors), (StatusCode::BAD_REQUEST, json!(["Input Error - field 'destination': Group was not found ('group_id': 999)"])));
    let (status, errors) = app.call("POST", "/1.1/incalls", Some(&json!({"destination": {"type": "group", "group_id": group["id"], "ring_time": -1}}).to_string())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{errors}");
    assert!(errors.to_string().contains("ring_time"), "{errors}");
    // Tenant isolation: bravo sees no group, reaches none.
    let (status, tenant) = app.call("POST", "/api/auth/0.1/tenants", Some(r#"{"name": "Bravo", "slug": "bravo"}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    let bravo = tenant["uuid"].as_str().unwrap();
    let (_, page) = app.call_as(bravo, "GET", "/1.1/groups", None).await;
    assert_eq!(page["total"], json!(0), "{page}");
    for method in ["GET", "PUT", "DELETE"] {
        let (status, _) = app.call_as(bravo, method, &format!("/1.1/groups/{}", group["id"]), Some("{}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
    }
    let (status, errors) = app.call_as(bravo, "POST", "/1.1/incalls", Some(&json!({"destination": {"type": "group", "group_id": group["id"]}}).to_string())).await;
    assert_eq!((status, errors), (StatusCode::BAD_REQUEST, json!([format!("Input Error - field 'destination': Group was not found ('group_id': {})", group["id"])])));
    let theirs = app.call_as(bravo, "POST", "/1.1/groups", Some(r#"{"label": "theirs"}"#)).await.1;
    assert!(theirs["name"].as_str().unwrap().starts_with("grp-bravo-"), "{theirs}");
    let (_, alice_user) = (0, app.user_with_line("Alice", "1001").await.0);
    let (status, errors) = app.call("PUT", &format!("/1.1/groups/{}/members/users", theirs["id"]), Some(&json!({"users": [{"uuid": alice_user["uuid"]}]}).to_string())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{errors}");
    assert!(errors[0].as_str().unwrap().starts_with("Resource Error - different tenants"), "{errors}");
    let (status, errors) = app.call_as(bravo, "PUT", &format!("/1.1/groups/{}/members/users", theirs["id"]), Some(&json!({"users": [{"uuid": alice_user["uuid"]}]}).to_string())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{errors}");
    assert!(errors[0].as_str().unwrap().starts_with("Input Error - field 'users': User was not found"), "{errors}");
    // Deleting the group sends its incall nowhere.
    let (status, _) = app.call("DELETE", &format!("/1.1/groups/{}", group["id"]), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, shown) = app.call("GET", &format!("/1.1/incalls/{}", incall["id"]), None).await;
    assert_eq!(shown["destination"]["type"], json!("none"), "{shown}");
}

/// The incall CSV carries a group destination both ways: exported as
/// `group,<id>,<ring_time>`, imported the same way (a foreign or missing
/// group refused as the REST API refuses it).
#[tokio::test]
async fn incall_csv_carries_group_destinations() {
    let app = App::new().await;
    let group = app.created("/1.1/groups", json!({"label": "sales"})).await;
    let csv = format!("did,context,destination,target,ring_time\n5550111,from-extern,group,{},9\n", group["id"]);
    let request = |method: &str, uri: &str, body: Option<String>| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("X-Auth-Token", &app.token)
            .header(header::CONTENT_TYPE, "text/csv")
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap()
    };
    let raw = |request: Request<Body>| async {
        let response = app.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        (status, String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap())
    };
    let (status, answer) = raw(request("POST", "/api/patchbay/1.0/csv/incalls?apply=true", Some(csv))).await;
    assert!(status.is_success(), "{status}: {answer}");
    let (_, exported) = raw(request("GET", "/api/patchbay/1.0/csv/incalls", None)).await;
    assert!(exported.contains(&format!("5550111,from-extern,group,{},9", group["id"])), "{exported}");
    let (status, answer) = raw(request("POST", "/api/patchbay/1.0/csv/incalls?apply=true", Some("did,context,destination,target\n5550112,from-extern,group,999\n".into()))).await;
    assert!(!status.is_success() || answer.contains("Group was not found"), "{status}: {answer}");
    assert!(answer.contains("Group was not found"), "{answer}");
}

/// Who a request acts for (`Wazo-Tenant`), as resolved once per request:
/// a master acting for a sub-tenant sees that tenant alone, acting for its
/// own tenant (or with no header) sees every tenant, and a tenant that does
/// not exist is refused like one the caller may not act for.
#[tokio::test]
async fn the_wazo_tenant_header_acts_for_one_existing_tenant() {
    let app = App::new().await;
    let mut tenants = Vec::new();
    for slug in ["alpha", "bravo"] {
        let (status, tenant) = app.call("POST", "/api/auth/0.1/tenants", Some(&json!({"name": slug, "slug": slug}).to_string())).await;
        assert_eq!(status, StatusCode::CREATED, "{tenant}");
        tenants.push(tenant["uuid"].as_str().unwrap().to_string());
        app.call_as(tenants.last().unwrap(), "POST", "/1.1/groups", Some(&json!({"label": format!("{slug}-group")}).to_string())).await;
    }
    app.created("/1.1/groups", json!({"label": "master-group"})).await;
    let labels = |page: &Value| -> Vec<String> {
        let mut labels: Vec<String> = page["items"].as_array().unwrap().iter().map(|g| g["label"].as_str().unwrap().to_string()).collect();
        labels.sort();
        labels
    };
    let (status, page) = app.call_as(&tenants[1], "GET", "/1.1/groups?recurse=true", None).await;
    assert_eq!((status, labels(&page)), (StatusCode::OK, vec!["bravo-group".to_string()]), "{page}");
    let (_, page) = app.call("GET", "/1.1/groups?recurse=true", None).await;
    assert_eq!(labels(&page), ["alpha-group", "bravo-group", "master-group"], "{page}");
    let (_, all) = app.call("GET", "/api/auth/0.1/tenants", None).await;
    let master = all["items"].as_array().unwrap().iter().find(|t| t["parent_uuid"].is_null()).expect("the master tenant")["uuid"].as_str().unwrap().to_string();
    let (_, page) = app.call_as(&master, "GET", "/1.1/groups?recurse=true", None).await;
    assert_eq!(labels(&page), ["alpha-group", "bravo-group", "master-group"], "{page}");
    let (status, body) = app.call_as("00000000-0000-4000-8000-000000000000", "GET", "/1.1/groups", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // A slug is one tenant's; new tenants are the master's children.
    let (status, body) = app.call("POST", "/api/auth/0.1/tenants", Some(r#"{"name": "Alpha again", "slug": "alpha"}"#)).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!(["Resource Error - Tenant already exists ('slug': 'alpha')"])));
    assert!(all["items"].as_array().unwrap().iter().filter(|t| t["uuid"] != json!(master)).all(|t| t["parent_uuid"] == json!(master)), "{all}");
}
