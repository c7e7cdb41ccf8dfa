//! Context documents as Patchbay creates them (a tenant's defaults, a new
//! context of the API): the shape stored in the `contexts` table.

use serde_json::{Value, json};

/// Wazo's range lists of a context.
pub const RANGE_FIELDS: [&str; 5] = ["user_ranges", "group_ranges", "queue_ranges", "conference_room_ranges", "incall_ranges"];

/// The ranges Patchbay gives the contexts it seeds: every number of 1 to
/// 16 digits (as integers, `0000000000000000`-`9999999999999999`), so a
/// fresh install takes any extension until the administrator narrows them.
pub fn open_ranges() -> Value {
    json!([{"start": "0000000000000000", "end": "9999999999999999"}])
}

/// Builds a context document; `name` is the legacy client-chosen name, if any.
pub fn new_context(tenant_slug: &str, label: &str, kind: &str, name: Option<&str>) -> (String, Value) {
    let uuid = uuid::Uuid::new_v4().to_string();
    let name = name.map(str::to_string).unwrap_or_else(|| format!("ctx-{tenant_slug}-{kind}-{uuid}"));
    let body = json!({
        "name": name, "label": label, "type": kind, "description": null, "enabled": true,
        "contexts": [], "context_uuid": uuid,
    });
    (uuid, body)
}
