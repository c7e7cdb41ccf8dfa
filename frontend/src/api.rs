//! The one way the app talks to the backend: JSON over fetch, with the token.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

const TOKEN_KEY: &str = "patchbay-token";
const ACCOUNT_KEY: &str = "patchbay-account";
const TENANT_KEY: &str = "patchbay-tenant";

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

pub fn saved_token() -> Option<String> {
    session_storage()?.get_item(TOKEN_KEY).ok()?
}

pub fn save_token(token: Option<&str>) {
    if let Some(storage) = session_storage() {
        let _ = match token {
            Some(token) => storage.set_item(TOKEN_KEY, token),
            None => storage.remove_item(TOKEN_KEY),
        };
    }
}

/// Who is logged in, from the token's metadata.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    pub username: String,
    pub tenant_uuid: String,
    /// `master_admin` or `tenant_admin`.
    pub role: String,
}

impl Account {
    pub fn is_master(&self) -> bool {
        self.role == "master_admin"
    }
}

pub fn saved_account() -> Option<Account> {
    serde_json::from_str(&session_storage()?.get_item(ACCOUNT_KEY).ok()??).ok()
}

pub fn save_account(account: Option<&Account>) {
    if let Some(storage) = session_storage() {
        let _ = match account.and_then(|a| serde_json::to_string(a).ok()) {
            Some(text) => storage.set_item(ACCOUNT_KEY, &text),
            None => storage.remove_item(ACCOUNT_KEY),
        };
    }
}

/// The tenant a master admin acts for (`Wazo-Tenant`); `None`: its own.
pub fn acting_tenant() -> Option<String> {
    session_storage()?.get_item(TENANT_KEY).ok()?.filter(|t| !t.is_empty())
}

pub fn set_acting_tenant(tenant: Option<&str>) {
    if let Some(storage) = session_storage() {
        let _ = match tenant {
            Some(tenant) => storage.set_item(TENANT_KEY, tenant),
            None => storage.remove_item(TENANT_KEY),
        };
    }
}

thread_local! {
    /// The revision (`Patchbay-Revision`) of the last write this app made.
    static LAST_WRITE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The revision of the last write this app made (0: none yet): once
/// `/status` says `revision_live` has reached it, that change is live in
/// Asterisk.
pub fn last_write_revision() -> u64 {
    LAST_WRITE.with(std::cell::Cell::get)
}

fn note_revision(response: &Response) {
    if let Some(revision) = response.headers().get("patchbay-revision").and_then(|value| value.parse::<u64>().ok()) {
        LAST_WRITE.with(|last| last.set(last.get().max(revision)));
    }
}

/// A typed value from a JSON tree. Through the text and `from_str`, not
/// `serde_json::from_value`: every type the app reads already has its
/// `from_str` deserializer compiled in (the API answers), and `from_value`
/// would compile a second one per type (wasm size).
pub fn from_json<T: DeserializeOwned>(value: &Value) -> Result<T, serde_json::Error> {
    serde_json::from_str(&value.to_string())
}

/// An API failure, as a line to show the user (Wazo errors are message arrays).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFailure(pub String);

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiFailure> {
    if response.ok() {
        let text = response.text().await.map_err(|error| ApiFailure(error.to_string()))?;
        let text = if text.is_empty() { "null".to_string() } else { text };
        serde_json::from_str(&text).map_err(|error| ApiFailure(error.to_string()))
    } else {
        let status = response.status();
        let messages: Option<Vec<String>> = response.json().await.ok();
        Err(ApiFailure(messages.map(|m| m.join("; ")).unwrap_or_else(|| format!("HTTP {status}"))))
    }
}

fn authed(builder: RequestBuilder, token: &str) -> RequestBuilder {
    let builder = builder.header("X-Auth-Token", token);
    match acting_tenant() {
        Some(tenant) => builder.header("Wazo-Tenant", &tenant),
        None => builder,
    }
}

pub async fn login(username: &str, password: &str) -> Result<(String, Account), ApiFailure> {
    let basic = web_sys::window()
        .and_then(|window| window.btoa(&format!("{username}:{password}")).ok())
        .unwrap_or_default();
    let response = Request::post("/api/auth/0.1/token")
        .header("Authorization", &format!("Basic {basic}"))
        .send()
        .await
        .map_err(|error| ApiFailure(error.to_string()))?;
    let body: Value = read(response).await?;
    let token = body["data"]["token"].as_str().map(str::to_string).ok_or_else(|| ApiFailure("no token in the answer".into()))?;
    let account = from_json(&body["data"]["metadata"]).map_err(|error| ApiFailure(format!("token metadata: {error}")))?;
    Ok((token, account))
}

pub async fn get<T: DeserializeOwned>(token: &str, path: &str) -> Result<T, ApiFailure> {
    let response = authed(Request::get(path), token).send().await.map_err(|error| ApiFailure(error.to_string()))?;
    read(response).await
}

/// GET as the account itself, without `Wazo-Tenant`.
pub async fn get_own<T: DeserializeOwned>(token: &str, path: &str) -> Result<T, ApiFailure> {
    let response = Request::get(path).header("X-Auth-Token", token).send().await.map_err(|error| ApiFailure(error.to_string()))?;
    read(response).await
}

/// DELETE without a body.
pub async fn delete(token: &str, path: &str) -> Result<Value, ApiFailure> {
    let response = authed(Request::delete(path), token).send().await.map_err(|error| ApiFailure(error.to_string()))?;
    note_revision(&response);
    read(response).await
}

pub async fn send(token: &str, method: &str, path: &str, body: &Value) -> Result<Value, ApiFailure> {
    let builder = match method {
        "POST" => Request::post(path),
        "PUT" => Request::put(path),
        "DELETE" => Request::delete(path),
        _ => Request::get(path),
    };
    let request = authed(builder, token).json(body).map_err(|error| ApiFailure(error.to_string()))?;
    let response = request.send().await.map_err(|error| ApiFailure(error.to_string()))?;
    note_revision(&response);
    read(response).await
}

/// Text in, text out (CSV): the status and the body, whatever the status.
pub async fn send_text(token: &str, method: &str, path: &str, body: Option<String>) -> Result<(u16, String), ApiFailure> {
    let builder = authed(if method == "POST" { Request::post(path) } else { Request::get(path) }, token);
    let request = match body {
        Some(body) => builder.header("Content-Type", "text/csv").body(body).map_err(|error| ApiFailure(error.to_string()))?,
        None => builder.build().map_err(|error| ApiFailure(error.to_string()))?,
    };
    let response = request.send().await.map_err(|error| ApiFailure(error.to_string()))?;
    let status = response.status();
    Ok((status, response.text().await.map_err(|error| ApiFailure(error.to_string()))?))
}
