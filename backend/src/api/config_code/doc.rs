//! The configuration document: what `patchbay export` writes and `plan` /
//! `apply` read, in YAML (default), TOML or JSON. Objects refer to each
//! other by the names an admin sees (endpoint names, outcall names, context
//! names, user uuids), never by database ids, so one file can be applied to
//! another server. Secrets are references (`{secret: "env:NAME"}` or
//! `{secret: "keep"}`), never values.
//!
//! Every absent field means its default (the document is the whole desired
//! state of its tenants, not a patch); unknown keys are refused so that a
//! typo cannot silently reset a field.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The version of the document format; a file of another version is refused.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigDoc {
    /// The format version ([`FORMAT_VERSION`]).
    pub patchbay_config: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<TenantDoc>,
}

/// One tenant and everything it owns that Patchbay renders.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantDoc {
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contexts: Vec<ContextDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sip_templates: Vec<SipDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trunks: Vec<TrunkDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcalls: Vec<OutcallDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incalls: Vec<IncallDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupDoc>,
    /// Extensions bound to nothing (they are not rendered, but they exist).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<ExtensionDoc>,
}

fn is_true(value: &bool) -> bool {
    *value
}
fn is_false(value: &bool) -> bool {
    !*value
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextDoc {
    /// The Asterisk context name: the context's identity.
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Included contexts by name, in include order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<String>,
}

/// A PJSIP option value: text, or a reference to a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Text {
    Plain(String),
    Secret(SecretRef),
}

/// `{secret: "env:NAME"}`: the value of the environment variable `NAME` of
/// the process that applies (the server, for the API), or, when it is not
/// set, the value the server already has. `{secret: "keep"}`: the value the
/// server already has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub secret: String,
}

pub type OptionList = Vec<(String, Text)>;

/// A SIP endpoint or template: the seven option lists under short names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipDoc {
    /// The section name. Given for templates and lines' endpoints; a trunk's
    /// endpoint takes the trunk's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Templates by name, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<String>,
    /// Transport by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asterisk_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoint: OptionList,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aor: OptionList,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth: OptionList,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identify: OptionList,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registration: OptionList,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registration_outbound_auth: OptionList,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound_auth: OptionList,
}

/// (document key, stored key) of the seven SIP option lists.
pub const SIP_SECTIONS: [(&str, &str); 7] = [
    ("endpoint", "endpoint_section_options"),
    ("aor", "aor_section_options"),
    ("auth", "auth_section_options"),
    ("identify", "identify_section_options"),
    ("registration", "registration_section_options"),
    ("registration_outbound_auth", "registration_outbound_auth_section_options"),
    ("outbound_auth", "outbound_auth_section_options"),
];

impl SipDoc {
    pub fn section(&self, key: &str) -> &OptionList {
        match key {
            "endpoint" => &self.endpoint,
            "aor" => &self.aor,
            "auth" => &self.auth,
            "identify" => &self.identify,
            "registration" => &self.registration,
            "registration_outbound_auth" => &self.registration_outbound_auth,
            _ => &self.outbound_auth,
        }
    }

    pub fn section_mut(&mut self, key: &str) -> &mut OptionList {
        match key {
            "endpoint" => &mut self.endpoint,
            "aor" => &mut self.aor,
            "auth" => &mut self.auth,
            "identify" => &mut self.identify,
            "registration" => &mut self.registration,
            "registration_outbound_auth" => &mut self.registration_outbound_auth,
            _ => &mut self.outbound_auth,
        }
    }
}

/// A trunk, named by its endpoint (SIP or IAX name, custom interface); it
/// has exactly one of `sip`, `iax`, `custom`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkDoc {
    pub name: String,
    /// Context inbound calls land in, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub twilio_incoming: bool,
    #[serde(default = "default_caller_id_format")]
    pub outgoing_caller_id_format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip: Option<SipDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iax: Option<IaxDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomDoc>,
    /// The legacy `/registers/sip` object attached to the trunk (its
    /// registration also shows in `sip.registration`): fields as in the API,
    /// `auth_password` as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<Value>,
    /// The trunk's number plan (country, number and caller-ID formats,
    /// where the DID is), as the API's `number_plan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_plan: Option<patchbay_shared::numbers::NumberPlan>,
}

fn default_caller_id_format() -> String {
    "+E164".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IaxDoc {
    #[serde(rename = "type", default = "default_peer_type")]
    pub kind: String,
    #[serde(default = "default_host")]
    pub host: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: OptionList,
}

fn default_peer_type() -> String {
    "friend".into()
}
fn default_host() -> String {
    "dynamic".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_suffix: Option<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcallDoc {
    /// Unique across the server: the outcall's identity.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub internal_caller_id: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_time: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preprocess_subroutine: Option<String>,
    /// Trunks by name, in failover order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trunks: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<PatternDoc>,
    /// Which trunk failures move on and which end the call; absent = the
    /// default policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_policy: Option<patchbay_shared::model::FailoverPolicy>,
    /// Set on the tenant's emergency route: the callback number it sends
    /// and the number its test mode calls, as the API's `emergency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<patchbay_shared::model::Emergency>,
}

/// One dial pattern of an outcall: its extension and the per-pattern settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternDoc {
    pub exten: String,
    pub context: String,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_digits: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
}

/// An incoming route, identified by its DID (`exten` in `context`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncallDoc {
    pub exten: String,
    pub context: String,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// As in the API, with `user_id` replaced by `user` (the user's uuid) and
    /// `trunk_id` by `trunk` (the trunk's name).
    pub destination: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDoc {
    /// The user's identity (kept when applied to another server).
    pub uuid: String,
    pub firstname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing_caller_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineDoc>,
}

/// A group of users rung together, identified by its `name` (generated
/// `grp-…` when it was created, kept when applied to another server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDoc {
    pub name: String,
    pub label: String,
    /// The API's other group fields that differ from Wazo's defaults
    /// (`timeout`, `ring_strategy`, `user_timeout`, …).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub settings: serde_json::Map<String, Value>,
    /// Its members' uuids, in ringing order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<ExtensionDoc>,
}

/// A user's line, identified by its SIP endpoint's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineDoc {
    pub endpoint: SipDoc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<ExtensionDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionDoc {
    pub exten: String,
    pub context: String,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
}

/// How a document is written or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
    Json,
}

impl Format {
    pub fn parse_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// From a file name's extension; YAML unless it says otherwise.
    pub fn of_path(path: &std::path::Path) -> Format {
        path.extension().and_then(|e| e.to_str()).and_then(Format::parse_name).unwrap_or(Format::Yaml)
    }

    /// From a Content-Type; YAML unless it says JSON or TOML.
    pub fn of_content_type(content_type: &str) -> Format {
        let lower = content_type.to_ascii_lowercase();
        if lower.contains("json") {
            Format::Json
        } else if lower.contains("toml") {
            Format::Toml
        } else {
            Format::Yaml
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Yaml => "application/yaml",
            Format::Toml => "application/toml",
            Format::Json => "application/json",
        }
    }
}

/// Nulls inside free-form values (registers, destinations) have no TOML
/// spelling, and an absent field means the same: they are left out.
pub fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

impl ConfigDoc {
    pub fn to_text(&self, format: Format) -> Result<String, String> {
        match format {
            Format::Yaml => serde_yaml::to_string(self).map_err(|e| e.to_string()),
            Format::Toml => toml::to_string(self).map_err(|e| e.to_string()),
            Format::Json => serde_json::to_string_pretty(self).map(|text| text + "\n").map_err(|e| e.to_string()),
        }
    }

    /// Parses a document; the error says where the text is wrong.
    pub fn from_text(text: &str, format: Format) -> Result<ConfigDoc, String> {
        let doc: ConfigDoc = match format {
            Format::Yaml => serde_yaml::from_str(text).map_err(|e| e.to_string())?,
            Format::Toml => toml::from_str(text).map_err(|e| e.to_string())?,
            Format::Json => serde_json::from_str(text).map_err(|e| e.to_string())?,
        };
        if doc.patchbay_config != FORMAT_VERSION {
            return Err(format!("patchbay_config: version {} is not supported (this Patchbay reads version {FORMAT_VERSION})", doc.patchbay_config));
        }
        Ok(doc)
    }
}
