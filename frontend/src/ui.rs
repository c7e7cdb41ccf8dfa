//! Pieces every form shares: human labels for API field names, the
//! tenant's context picker, a delete button that says what depends on the
//! object, the page title, and the panic banner.
//!
//! Async completions write with `try_set`/`try_update`: a page left while
//! its request runs has disposed its signals, and a plain `set` would panic.

use crate::api;
use crate::app::{DataVersion, Session};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

pub use crate::pages::routes::{FieldError, field_of};

pub const C: &str = "/api/confd/1.1";

/// What a user calls an API field (errors name the API's fields).
pub fn human_label(field: &str) -> String {
    let label = match field {
        "exten" | "pattern" => "Pattern / number",
        "did" => "DID (public number)",
        "context" => "Context",
        "name" => "Name",
        "label" => "Label",
        "strip_digits" => "Strip digits",
        "external_prefix" => "Prefix",
        "caller_id" => "Caller ID",
        "outgoing_caller_id" => "Outgoing caller ID",
        "firstname" => "First name",
        "lastname" => "Last name",
        "user" | "user_id" => "User",
        "trunks" => "Trunks",
        "host" | "remote_host" => "Host",
        "interface" => "Interface",
        "interface_suffix" => "Suffix",
        "username" | "auth_username" => "Username",
        "password" | "secret" | "auth_password" => "Password",
        "endpoint_section_options" => "Endpoint options",
        "aor_section_options" => "Contact and qualify options",
        "auth_section_options" => "Inbound authentication",
        "identify_section_options" => "Inbound identification",
        "registration_section_options" => "Registration",
        "registration_outbound_auth_section_options" => "Registration credentials",
        "outbound_auth_section_options" => "Outbound credentials",
        "options" => "Options",
        "destination" => "Destination",
        "cause" => "Hangup cause",
        "trunk_id" => "Trunk",
        "number" => "Number",
        "transport" => "Transport",
        other => return other.replace('_', " "),
    };
    label.to_string()
}

/// An API error message with its field names replaced by their labels:
/// `Input Error - strip_digits: [...]` → `Strip digits: [...]`.
pub fn humanize(message: &str) -> String {
    message
        .split("; ")
        .map(|one| {
            let rest = one.strip_prefix("Input Error - ").unwrap_or(one);
            if let Some(field) = rest.strip_prefix("field '").and_then(|r| r.split_once('\'')).map(|(f, _)| f) {
                let after = rest.split_once("':").map(|(_, a)| a.trim()).unwrap_or(rest);
                return format!("{}: {after}", human_label(field));
            }
            match rest.split_once(':') {
                Some((field, after)) if !field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    format!("{}:{after}", human_label(field))
                }
                _ => one.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn items(value: &Value) -> Vec<Value> {
    value["items"].as_array().cloned().unwrap_or_default()
}

pub fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Loads `path`'s `items` into `into` after every data change; `loading`
/// is true until the first answer.
/// A list a page needs beside its own (users for an incall's picker...):
/// loaded like [`load_list`], its loading state and errors not shown.
pub fn load_side_list(path: String, into: RwSignal<Vec<Value>>) {
    load_list(path, into, RwSignal::new(true), RwSignal::new(None));
}

pub fn load_list(path: String, into: RwSignal<Vec<Value>>, loading: RwSignal<bool>, error: RwSignal<Option<String>>) {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    Effect::new(move |_| {
        version.0.track();
        let path = path.clone();
        spawn_local(async move {
            match api::get::<Value>(&session.token(), &path).await {
                Ok(list) => {
                    into.try_set(items(&list));
                }
                Err(failure) => {
                    error.try_set(Some(humanize(&failure.0)));
                }
            }
            loading.try_set(false);
        });
    });
}

/// The current tenant's contexts (reloaded on every data change).
pub fn tenant_contexts() -> RwSignal<Vec<Value>> {
    let contexts = RwSignal::new(Vec::new());
    load_list(format!("{C}/contexts"), contexts, RwSignal::new(true), RwSignal::new(None));
    contexts
}

/// A `<select>` of the tenant's contexts of `kind` (`internal`, `incall`,
/// `outcall`). When `value` names none of them (a new form, or a tenant
/// switch), it takes the first one, so nothing foreign is ever prefilled.
#[component]
pub fn ContextPicker(kind: &'static str, value: RwSignal<String>, name: &'static str, contexts: RwSignal<Vec<Value>>) -> impl IntoView {
    let names = move || -> Vec<(String, String)> {
        contexts.with(|all| {
            all.iter()
                .filter(|c| c["type"] == kind)
                .filter_map(|c| {
                    let name = c["name"].as_str()?.to_string();
                    let label = c["label"].as_str().filter(|l| !l.is_empty() && *l != name).map(|l| format!("{l} ({name})")).unwrap_or_else(|| name.clone());
                    Some((name, label))
                })
                .collect()
        })
    };
    Effect::new(move |_| {
        let names = names();
        if !names.is_empty() && !names.iter().any(|(n, _)| value.with_untracked(|v| v == n)) {
            value.set(names[0].0.clone());
        }
    });
    view! {
        <select name=name data-context-kind=kind prop:value=move || value.get() on:change=move |ev| value.set(event_target_value(&ev))>
            {move || {
                let names = names();
                if names.is_empty() {
                    view! { <option value="">{format!("(no {kind} context in this tenant)")}</option> }.into_any()
                } else {
                    names.into_iter().map(|(n, label)| {
                        let selected = value.with_untracked(|v| *v == n);
                        view! { <option value=n selected=selected>{label}</option> }
                    }).collect_view().into_any()
                }
            }}
        </select>
    }
}

/// Asks the browser to confirm `what`, listing what depends on it.
pub fn confirm(question: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(false)
}

/// Deletes `paths` in order after a confirmation, then bumps the data
/// version. `busy` disables the button meanwhile; failures go to `error`.
pub fn delete_after_confirm(question: String, paths: Vec<String>, busy: RwSignal<bool>, error: RwSignal<Option<String>>) {
    if !confirm(&question) {
        return;
    }
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    busy.set(true);
    spawn_local(async move {
        let token = session.token();
        for path in paths {
            if let Err(failure) = api::delete(&token, &path).await {
                error.try_set(Some(humanize(&failure.0)));
                busy.try_set(false);
                return;
            }
        }
        busy.try_set(false);
        error.try_set(None);
        version.bump();
    });
}

/// Sets the document title (`<page> · Patchbay`).
pub fn page_title(page: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(&format!("{page} · Patchbay"));
    }
}

/// A panic shows a banner (with a reload button) instead of a frozen page,
/// after the console message of `console_error_panic_hook`.
pub fn install_panic_banner() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let Some(body) = document.body() else { return };
        if document.get_element_by_id("fatal-error").is_some() {
            return;
        }
        if let Ok(banner) = document.create_element("div") {
            banner.set_id("fatal-error");
            let _ = banner.set_attribute("role", "alert");
            banner.set_inner_html("Something went wrong in this page. <button onclick=\"location.reload()\">Reload</button>");
            let _ = body.prepend_with_node_1(&banner);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::humanize;

    #[test]
    fn api_field_names_become_labels() {
        assert_eq!(humanize("Input Error - strip_digits: ['Not a valid integer.']"), "Strip digits: ['Not a valid integer.']");
        assert_eq!(humanize("Input Error - field 'context': Context was not found ('context': 'x')"), "Context: Context was not found ('context': 'x')");
        assert_eq!(humanize("Resource Error - Outcall already exists"), "Resource Error - Outcall already exists");
    }
}
