//! Asterisk's REST interface, for one thing: its dynamic configuration
//! (`/ari/asterisk/config/dynamic/res_pjsip/{type}/{id}`), which creates,
//! reads and deletes single PJSIP objects in a sorcery wizard that accepts
//! them (the memory wizard `sorcery.conf` maps after the config one) with
//! no reload: the object's fields go through their handlers and its type's
//! apply, then the sorcery observers run, so a new endpoint is identified,
//! a registration starts and a static contact is qualified at once
//! (README, "A new trunk without a whole res_pjsip reload").
//!
//! **Invariant:** only this module knows ARI's wire format. The secret is
//! sent as basic authentication and is in no `Debug`, log or error text.

use crate::store::nodes::Ari;
use serde_json::{Value, json};
use std::time::Duration;

/// Every PJSIP object type lives in res_pjsip's one sorcery instance,
/// registered under this module name (the identify and registration
/// modules add their types to it; their own names answer 404).
const CONFIG_CLASS: &str = "res_pjsip";

/// One request's limit: a registration's creation waits on a pjsip
/// serializer (seconds when a thousand registrations run).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A field as ARI carries it: `{"attribute": …, "value": …}`.
pub type Field = (String, String);

#[derive(Debug, thiserror::Error)]
pub enum AriError {
    /// Asterisk was not reached, or did not answer in time.
    #[error("ARI unreachable: {0}")]
    Unreachable(String),
    /// Asterisk answered with an error: 400 for a field it refuses, 403
    /// for an object a read-only wizard (a file) holds, 401 for the
    /// credentials.
    #[error("ARI answered {status}: {message}")]
    Refused { status: u16, message: String },
}

/// A client of one Asterisk's ARI.
#[derive(Clone)]
pub struct AriClient {
    base: String,
    username: String,
    secret: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for AriClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AriClient({} {})", self.username, self.base)
    }
}

impl AriClient {
    pub fn new(ari: &Ari) -> Result<AriClient, AriError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|error| AriError::Unreachable(error.to_string()))?;
        Ok(AriClient { base: ari.url.trim_end_matches('/').to_owned(), username: ari.username.clone(), secret: ari.secret.clone(), http })
    }

    /// `http://host:port` (what a node's `ari_url` may be): a host, a
    /// port, nothing else.
    pub fn valid_base(url: &str) -> bool {
        let Some(rest) = url.strip_prefix("http://") else { return false };
        let rest = rest.trim_end_matches('/');
        let Some((host, port)) = rest.rsplit_once(':') else { return false };
        !host.is_empty()
            && host.chars().all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c))
            && port.parse::<u16>().is_ok_and(|port| port > 0)
    }

    fn url(&self, kind: &str, id: &str) -> String {
        format!("{}/ari/asterisk/config/dynamic/{CONFIG_CLASS}/{}/{}", self.base, encode(kind), encode(id))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, Value), AriError> {
        let response = request
            .basic_auth(&self.username, Some(&self.secret))
            .send()
            .await
            .map_err(|error| AriError::Unreachable(error.without_url().to_string()))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|error| AriError::Unreachable(error.without_url().to_string()))?;
        let value = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
        Ok((status, value))
    }

    /// Creates object `kind`/`id` with `fields` (keys may repeat) and
    /// returns it as Asterisk now holds it (every field, with defaults):
    /// the read back. An existing object is updated instead, which
    /// Asterisk does on a copy (fields not sent are kept; an endpoint with
    /// `set_var` cannot be copied): replace one with [`delete`](Self::delete)
    /// first.
    pub async fn put(&self, kind: &str, id: &str, fields: &[Field]) -> Result<Vec<Field>, AriError> {
        let body = json!({"fields": fields.iter().map(|(attribute, value)| json!({"attribute": attribute, "value": value})).collect::<Vec<_>>()});
        match self.send(self.http.put(self.url(kind, id)).json(&body)).await? {
            (200, value) => Ok(fields_of(&value)),
            (status, value) => Err(refused(status, &value)),
        }
    }

    /// Object `kind`/`id` as Asterisk holds it, `None` when it has none.
    pub async fn get(&self, kind: &str, id: &str) -> Result<Option<Vec<Field>>, AriError> {
        match self.send(self.http.get(self.url(kind, id))).await? {
            (200, value) => Ok(Some(fields_of(&value))),
            (404, _) => Ok(None),
            (status, value) => Err(refused(status, &value)),
        }
    }

    /// Deletes object `kind`/`id`; `false` when there was none.
    pub async fn delete(&self, kind: &str, id: &str) -> Result<bool, AriError> {
        match self.send(self.http.delete(self.url(kind, id))).await? {
            (204 | 200, _) => Ok(true),
            (404, _) => Ok(false),
            (status, value) => Err(refused(status, &value)),
        }
    }
}

fn refused(status: u16, value: &Value) -> AriError {
    let message = value.get("message").or_else(|| value.get("error")).and_then(Value::as_str).unwrap_or("").to_owned();
    AriError::Refused { status, message }
}

fn fields_of(value: &Value) -> Vec<Field> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|field| Some((field.get("attribute")?.as_str()?.to_owned(), field.get("value")?.as_str()?.to_owned())))
        .collect()
}

/// A path segment: unreserved characters as they are, every other byte
/// percent-encoded.
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_is_http_host_and_port_only() {
        assert!(AriClient::valid_base("http://127.0.0.1:8088"));
        assert!(AriClient::valid_base("http://pbx-1.example.net:8088/"));
        assert!(!AriClient::valid_base("https://127.0.0.1:8088"));
        assert!(!AriClient::valid_base("http://127.0.0.1"));
        assert!(!AriClient::valid_base("http://127.0.0.1:8088/ari"));
        assert!(!AriClient::valid_base("http://user@127.0.0.1:8088"));
    }

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(encode("auth_reg_a/b c"), "auth_reg_a%2Fb%20c");
        assert_eq!(encode("trunk-1.x"), "trunk-1.x");
    }

    #[test]
    fn the_debug_form_has_no_secret() {
        let client = AriClient::new(&Ari { url: "http://127.0.0.1:8088".into(), username: "pb".into(), secret: "hunter2".into() }).unwrap();
        assert!(!format!("{client:?}").contains("hunter2"));
    }
}
