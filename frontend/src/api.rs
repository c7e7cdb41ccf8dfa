//! The one way the app talks to the backend: JSON over fetch, with the token.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

const TOKEN_KEY: &str = "patchbay-token";

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
    builder.header("X-Auth-Token", token)
}

pub async fn login(username: &str, password: &str) -> Result<String, ApiFailure> {
    let basic = web_sys::window()
        .and_then(|window| window.btoa(&format!("{username}:{password}")).ok())
        .unwrap_or_default();
    let response = Request::post("/api/auth/0.1/token")
        .header("Authorization", &format!("Basic {basic}"))
        .send()
        .await
        .map_err(|error| ApiFailure(error.to_string()))?;
    let body: Value = read(response).await?;
    body["data"]["token"].as_str().map(str::to_string).ok_or_else(|| ApiFailure("no token in the answer".into()))
}

pub async fn get<T: DeserializeOwned>(token: &str, path: &str) -> Result<T, ApiFailure> {
    let response = authed(Request::get(path), token).send().await.map_err(|error| ApiFailure(error.to_string()))?;
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
    read(response).await
}
