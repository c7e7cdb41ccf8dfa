//! Kazoo 4.3's connectivity (trunkstore) API, seed 004: a customer PBX
//! ("server") connects to Patchbay, which hands it the DIDs carriers send
//! in and carries its calls out.
//!
//! - [`schema`]: the document's schema exactly as the seed's table states it,
//!   Kazoo-style errors naming the failing key path, the defaults, and the
//!   JSON merge of `PATCH`.
//! - [`Connectivity`]: the document, typed (read after validation).
//! - [`map()`]: the document onto the *same* model as the Wazo API, no
//!   second model: each server is a `Trunk` with a SIP endpoint, each DID
//!   an `Extension` in the tenant's incall context plus an `Incall` whose
//!   destination is `Destination::Trunk` (the server).
//! - [`caller_id`]: the caller-ID precedence (DID > server > account).
//! - [`md5`]: for `PUT /v2/user_auth` credentials.

pub mod md5;
mod map;
pub mod schema;
#[cfg(test)]
mod tests;

pub use map::{Allocator, CallerIdLevel, Mapped, Tenancy, caller_id, inbound_number, map};
pub use schema::{KazooError, errors_data, fill_defaults, merge_patch, validate};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A connectivity document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Connectivity {
    /// Human-friendly name of the trunkstore account.
    #[serde(default)]
    pub name: Option<String>,
    /// What applies to the account as a whole.
    #[serde(default)]
    pub account: Option<AccountOptions>,
    /// The servers allowed to make and receive calls.
    #[serde(default)]
    pub servers: Vec<Server>,
}

/// `account`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountOptions {
    /// Caller ID of the account.
    #[serde(default)]
    pub caller_id: Option<KazooCallerId>,
    /// Caller ID for emergency calls.
    #[serde(default)]
    pub emergency_caller_id: Option<KazooCallerId>,
    /// Two-way trunks purchased: the concurrent-call limit.
    #[serde(default)]
    pub trunks: Option<i64>,
}

/// `caller_id` / `emergency_caller_id` objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KazooCallerId {
    /// Name.
    #[serde(default)]
    pub cid_name: Option<String>,
    /// Number.
    #[serde(default)]
    pub cid_number: Option<String>,
}

impl KazooCallerId {
    /// Whether it sets a name or a number.
    pub fn is_set(&self) -> bool {
        self.cid_name.as_deref().is_some_and(|n| !n.is_empty()) || self.cid_number.as_deref().is_some_and(|n| !n.is_empty())
    }
}

/// `servers[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Server {
    /// Human-friendly name.
    #[serde(default)]
    pub name: Option<String>,
    /// How the server authenticates.
    pub auth: ServerAuth,
    /// Options.
    #[serde(default)]
    pub options: ServerOptions,
    /// The DIDs routed to this server, keyed `^\+?\d*$`.
    #[serde(default, rename = "DIDs")]
    pub dids: BTreeMap<String, DidOptions>,
}

/// `auth.auth_method`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMethod {
    /// `password` / `Password`: SIP digest with `auth_user` / `auth_password`.
    #[default]
    #[serde(rename = "password", alias = "Password")]
    Password,
    /// `IP` / `ip`: calls from `auth.ip` are the server's.
    #[serde(rename = "IP", alias = "ip")]
    Ip,
}

/// `servers[].auth`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerAuth {
    /// Missing means `password`.
    #[serde(default)]
    pub auth_method: Option<AuthMethod>,
    /// Password of `auth_user`.
    #[serde(default)]
    pub auth_password: Option<String>,
    /// Username.
    #[serde(default)]
    pub auth_user: Option<String>,
    /// The server's IP.
    #[serde(default)]
    pub ip: Option<String>,
    /// The server's SIP port.
    #[serde(default)]
    pub port: Option<i64>,
}

/// `options.inbound_format`: how the DID is written in the INVITE to the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InboundFormat {
    /// `+1NPANXXXXXX`.
    #[serde(rename = "e164")]
    E164,
    /// `NPANXXXXXX` (Kazoo's default).
    #[default]
    #[serde(rename = "npan")]
    Npan,
    /// `1NPANXXXXXX`.
    #[serde(rename = "1npan")]
    OneNpan,
    /// The server's `auth_user`.
    #[serde(rename = "username")]
    Username,
}

/// `options.media_handling`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaHandling {
    /// Patchbay stays in the media path.
    Process,
    /// Media flows directly (default).
    #[default]
    Bypass,
}

/// `failover`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failover {
    /// An E.164 DID to dial.
    #[serde(default)]
    pub e164: Option<String>,
    /// A SIP URI to call.
    #[serde(default)]
    pub sip: Option<String>,
}

impl Failover {
    fn is_set(&self) -> bool {
        self.e164.as_deref().is_some_and(|s| !s.is_empty()) || self.sip.as_deref().is_some_and(|s| !s.is_empty())
    }
}

fn yes() -> bool {
    true
}

/// `servers[].options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerOptions {
    /// Caller ID of the server.
    #[serde(default)]
    pub caller_id: Option<KazooCallerId>,
    /// Seconds to wait before calling the server.
    #[serde(default)]
    pub delay: i64,
    /// Stored only.
    #[serde(default)]
    pub dynamic_flags: Vec<String>,
    /// Emergency caller ID of the server.
    #[serde(default)]
    pub emergency_caller_id: Option<KazooCallerId>,
    /// `false` rejects the server's calls.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Where calls go when the server does not answer.
    #[serde(default)]
    pub failover: Option<Failover>,
    /// Stored only.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Send the server's DIDs over the carriers instead.
    #[serde(default)]
    pub force_outbound: bool,
    /// Stored only.
    #[serde(default)]
    pub hunt_account_id: Option<String>,
    /// Stored only.
    #[serde(default)]
    pub hunt_non_reconcilable: bool,
    /// Stored only.
    #[serde(default)]
    pub ignore_early_media: Option<bool>,
    /// How the DID is written to the server.
    #[serde(default)]
    pub inbound_format: Option<InboundFormat>,
    /// The server's IP (where calls are sent).
    #[serde(default)]
    pub ip: Option<String>,
    /// In or out of the media path.
    #[serde(default)]
    pub media_handling: MediaHandling,
    /// The server's SIP port.
    #[serde(default)]
    pub port: Option<i64>,
    /// Seconds to wait for progress.
    #[serde(default)]
    pub progress_timeout: Option<i64>,
    /// Headers added to the INVITE: objects of `name: value`.
    #[serde(default)]
    pub sip_headers: Vec<Map<String, Value>>,
    /// Seconds to wait for an answer.
    #[serde(default)]
    pub timeout: Option<i64>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        serde_json::from_value(Value::Object(Map::new())).expect("every option has a default")
    }
}

/// `servers[].DIDs.<number>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DidOptions {
    /// Caller ID for calls from this DID.
    #[serde(default)]
    pub caller_id: Option<KazooCallerId>,
    /// Failover of this DID (beats the server's).
    #[serde(default)]
    pub failover: Option<Failover>,
    /// Send over the carriers instead of to the server.
    #[serde(default)]
    pub force_outbound: bool,
    /// Stored only.
    #[serde(default)]
    pub options: Vec<String>,
}

impl Connectivity {
    /// The typed document; run [`validate`] first (then this cannot fail).
    pub fn from_value(doc: &Value) -> Result<Connectivity, String> {
        serde_json::from_value(doc.clone()).map_err(|e| e.to_string())
    }
}
