//! The Kazoo 4.3 connectivity (trunkstore) schema, exactly as its table
//! states it: types, string lengths, enums, defaults and the DID key
//! pattern `^\+?\d*$`. Errors are Kazoo's: keyed by the dotted path of the
//! failing key, then by the rule (`type`, `minLength`, `maxLength`, `enum`,
//! `required`, `pattern`), each with a `message` and a `target`.
//!
//! Unknown keys are kept (the schema does not forbid them).

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// One failed rule.
#[derive(Debug, Clone, PartialEq)]
pub struct KazooError {
    /// Dotted key path: `servers.0.auth.auth_method`.
    pub path: String,
    /// The rule: `type`, `minLength`, `maxLength`, `enum`, `required`, `pattern`...
    pub rule: String,
    /// Human message.
    pub message: String,
    /// What the rule wanted (a type name, a length, the enum values...).
    pub target: Value,
}

impl KazooError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, rule: &str, message: impl Into<String>, target: Value) -> Self {
        Self { path: path.into(), rule: rule.into(), message: message.into(), target }
    }
}

/// Kazoo's `data` of a 400 `invalid data`: `{"<path>": {"<rule>": {"message", "target"}}}`.
pub fn errors_data(errors: &[KazooError]) -> Value {
    let mut data: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for e in errors {
        data.entry(&e.path).or_default().insert(e.rule.clone(), json!({"message": e.message, "target": e.target}));
    }
    json!(data)
}

/// The `auth.auth_method` values.
pub const AUTH_METHODS: [&str; 4] = ["password", "Password", "IP", "ip"];
/// The `options.inbound_format` values.
pub const INBOUND_FORMATS: [&str; 4] = ["e164", "npan", "1npan", "username"];
/// The `options.media_handling` values.
pub const MEDIA_HANDLING: [&str; 2] = ["process", "bypass"];

/// Whether `key` is a DID key (`^\+?\d*$`).
pub fn did_key_ok(key: &str) -> bool {
    let digits = key.strip_prefix('+').unwrap_or(key);
    digits.chars().all(|c| c.is_ascii_digit())
}

#[derive(Default)]
struct Checker {
    errors: Vec<KazooError>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Checker {
    fn type_error(&mut self, path: &str, wanted: &str) {
        self.errors.push(KazooError::new(path, "type", format!("Value did not match type(s): {wanted}"), json!(wanted)));
    }

    /// `Some(value)` if present and of `wanted` type; a type error otherwise.
    fn typed<'a>(&mut self, obj: &'a Map<String, Value>, key: &str, path: &str, wanted: &str) -> Option<&'a Value> {
        let value = obj.get(key)?;
        if type_name(value) == wanted {
            Some(value)
        } else {
            self.type_error(&join(path, key), wanted);
            None
        }
    }

    /// `string(min..max)`.
    fn string(&mut self, obj: &Map<String, Value>, key: &str, path: &str, min: usize, max: Option<usize>) {
        let Some(Value::String(s)) = self.typed(obj, key, path, "string") else { return };
        let len = s.chars().count();
        let at = join(path, key);
        if len < min {
            self.errors.push(KazooError::new(&at, "minLength", format!("String must be at least {min} characters"), json!(min)));
        }
        if let Some(max) = max
            && len > max
        {
            self.errors.push(KazooError::new(&at, "maxLength", format!("String must not be more than {max} characters"), json!(max)));
        }
    }

    fn enumeration(&mut self, obj: &Map<String, Value>, key: &str, path: &str, values: &[&str]) {
        let Some(Value::String(s)) = self.typed(obj, key, path, "string") else { return };
        if !values.contains(&s.as_str()) {
            self.errors.push(KazooError::new(join(path, key), "enum", "Value not found in enumerated list of values", json!(values)));
        }
    }

    fn integer(&mut self, obj: &Map<String, Value>, key: &str, path: &str) {
        self.typed(obj, key, path, "integer");
    }

    fn boolean(&mut self, obj: &Map<String, Value>, key: &str, path: &str) {
        self.typed(obj, key, path, "boolean");
    }

    fn strings(&mut self, obj: &Map<String, Value>, key: &str, path: &str) {
        let Some(Value::Array(items)) = self.typed(obj, key, path, "array") else { return };
        let at = join(path, key);
        for (i, item) in items.iter().enumerate() {
            if !item.is_string() {
                self.type_error(&join(&at, &i.to_string()), "string");
            }
        }
    }

    fn object<'a>(&mut self, obj: &'a Map<String, Value>, key: &str, path: &str) -> Option<&'a Map<String, Value>> {
        self.typed(obj, key, path, "object").and_then(Value::as_object)
    }

    /// `caller_id` / `emergency_caller_id`: `cid_name`, `cid_number` of `string(min..35)`.
    fn caller_id(&mut self, obj: &Map<String, Value>, key: &str, path: &str, min: usize) {
        if let Some(cid) = self.object(obj, key, path) {
            let at = join(path, key);
            self.string(cid, "cid_name", &at, min, Some(35));
            self.string(cid, "cid_number", &at, min, Some(35));
        }
    }

    fn failover(&mut self, obj: &Map<String, Value>, path: &str) {
        if let Some(failover) = self.object(obj, "failover", path) {
            let at = join(path, "failover");
            self.string(failover, "e164", &at, 0, None);
            self.string(failover, "sip", &at, 0, None);
        }
    }

    fn account(&mut self, doc: &Map<String, Value>) {
        let Some(account) = self.object(doc, "account", "") else { return };
        self.caller_id(account, "caller_id", "account", 0);
        self.caller_id(account, "emergency_caller_id", "account", 0);
        self.integer(account, "trunks", "account");
    }

    fn server(&mut self, server: &Value, path: &str) {
        let Some(server) = server.as_object() else {
            self.type_error(path, "object");
            return;
        };
        match server.get("auth") {
            None => self.errors.push(KazooError::new(join(path, "auth"), "required", "Field is required but missing", json!(true))),
            Some(_) => {
                if let Some(auth) = self.object(server, "auth", path) {
                    let at = join(path, "auth");
                    self.enumeration(auth, "auth_method", &at, &AUTH_METHODS);
                    self.string(auth, "auth_password", &at, 1, None);
                    self.string(auth, "auth_user", &at, 1, None);
                    self.string(auth, "ip", &at, 0, None);
                    self.integer(auth, "port", &at);
                }
            }
        }
        self.string(server, "name", path, 1, None);
        if let Some(options) = self.object(server, "options", path) {
            let at = join(path, "options");
            self.caller_id(options, "caller_id", &at, 1);
            self.integer(options, "delay", &at);
            self.strings(options, "dynamic_flags", &at);
            self.caller_id(options, "emergency_caller_id", &at, 0);
            self.boolean(options, "enabled", &at);
            self.failover(options, &at);
            self.strings(options, "flags", &at);
            self.boolean(options, "force_outbound", &at);
            self.string(options, "hunt_account_id", &at, 0, None);
            self.boolean(options, "hunt_non_reconcilable", &at);
            self.boolean(options, "ignore_early_media", &at);
            self.enumeration(options, "inbound_format", &at, &INBOUND_FORMATS);
            self.string(options, "ip", &at, 0, None);
            self.enumeration(options, "media_handling", &at, &MEDIA_HANDLING);
            self.integer(options, "port", &at);
            self.integer(options, "progress_timeout", &at);
            if let Some(Value::Array(headers)) = self.typed(options, "sip_headers", &at, "array") {
                for (i, header) in headers.iter().enumerate() {
                    if !header.is_object() {
                        self.type_error(&format!("{at}.sip_headers.{i}"), "object");
                    }
                }
            }
            self.integer(options, "timeout", &at);
        }
        if let Some(dids) = self.object(server, "DIDs", path) {
            let at = join(path, "DIDs");
            for (number, did) in dids {
                let did_path = join(&at, number);
                if !did_key_ok(number) {
                    self.errors.push(KazooError::new(&did_path, "pattern", "Key does not match ^\\+?\\d*$", json!("^\\+?\\d*$")));
                    continue;
                }
                let Some(did) = did.as_object() else {
                    self.type_error(&did_path, "object");
                    continue;
                };
                self.caller_id(did, "caller_id", &did_path, 1);
                self.failover(did, &did_path);
                self.boolean(did, "force_outbound", &did_path);
                self.strings(did, "options", &did_path);
            }
        }
    }
}

/// Checks a connectivity document against the schema.
pub fn validate(doc: &Value) -> Result<(), Vec<KazooError>> {
    let mut c = Checker::default();
    let Some(map) = doc.as_object() else {
        return Err(vec![KazooError::new("data", "type", "Value did not match type(s): object", json!("object"))]);
    };
    c.account(map);
    c.string(map, "name", "", 0, None);
    if let Some(Value::Array(servers)) = c.typed(map, "servers", "", "array") {
        for (i, server) in servers.iter().enumerate() {
            c.server(server, &format!("servers.{i}"));
        }
    }
    if c.errors.is_empty() { Ok(()) } else { Err(c.errors) }
}

/// Fills the schema's defaults in place: `servers: []`; per server
/// `options.enabled: true`, `options.media_handling: "bypass"`,
/// `options.delay: 0`, `options.force_outbound: false`,
/// `options.hunt_non_reconcilable: false`; per DID `force_outbound: false`.
/// Run after [`validate`] succeeded.
pub fn fill_defaults(doc: &mut Value) {
    let Some(map) = doc.as_object_mut() else { return };
    let servers = map.entry("servers").or_insert_with(|| json!([]));
    for server in servers.as_array_mut().into_iter().flatten() {
        let Some(server) = server.as_object_mut() else { continue };
        let options = server.entry("options").or_insert_with(|| json!({}));
        if let Some(options) = options.as_object_mut() {
            for (key, default) in [
                ("enabled", json!(true)),
                ("media_handling", json!("bypass")),
                ("delay", json!(0)),
                ("force_outbound", json!(false)),
                ("hunt_non_reconcilable", json!(false)),
            ] {
                options.entry(key).or_insert(default);
            }
        }
        if let Some(dids) = server.get_mut("DIDs").and_then(Value::as_object_mut) {
            for did in dids.values_mut().filter_map(Value::as_object_mut) {
                did.entry("force_outbound").or_insert(json!(false));
            }
        }
    }
}

/// JSON merge patch (RFC 7386), what Kazoo's PATCH does: objects merge
/// recursively, `null` removes a key, anything else (arrays too) replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let Value::Object(map) = target else { return };
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}
