//! Trunks: the list (with whether the connected Asterisk really has each
//! endpoint, and the live registration / reachability badges) and a
//! quick-create form for a SIP trunk.
//!
//! Live state comes from `/api/patchbay/1.0/live`, polled every 2 s. (The
//! same data streams as SSE on `/events`, but `EventSource` cannot send the
//! `X-Auth-Token` header that route requires.)

use crate::api;
use crate::app::{DataVersion, Session};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};
use std::time::Duration;

#[component]
pub fn TrunksPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let trunks = RwSignal::new(Vec::<Value>::new());
    let status = RwSignal::new(Value::Null);
    let live = RwSignal::new(Value::Null);
    let error = RwSignal::new(None::<String>);

    let refresh = move || {
        spawn_local(async move {
            let token = session.token();
            match api::get::<Value>(&token, "/api/confd/1.1/trunks").await {
                Ok(list) => trunks.set(list["items"].as_array().cloned().unwrap_or_default()),
                Err(failure) => error.set(Some(failure.0)),
            }
            if let Ok(current) = api::get::<Value>(&token, "/api/patchbay/1.0/status").await {
                status.set(current);
            }
            if let Ok(current) = api::get_own::<Value>(&token, "/api/patchbay/1.0/live").await {
                live.set(current);
            }
        });
    };
    Effect::new(move |_| {
        version.0.track();
        refresh();
    });
    // Asterisk applies changes asynchronously: keep the "in Asterisk" column fresh.
    if let Ok(handle) = set_interval_with_handle(refresh, Duration::from_secs(2)) {
        on_cleanup(move || handle.clear());
    }

    let in_asterisk = move |name: &str| -> &'static str {
        let current = status.get();
        if current["connected"] != json!(true) {
            return "no Asterisk connected";
        }
        let present = current["endpoints"].as_array().is_some_and(|names| names.iter().any(|n| n == name));
        if present { "yes" } else { "not yet" }
    };

    view! {
        <section>
            <h1>"Trunks"</h1>
            <p class="status">{move || status.get()["message"].as_str().unwrap_or("").to_string()}</p>
            <table class="trunks">
                <thead><tr><th>"Name"</th><th>"Context"</th><th>"In Asterisk"</th><th>"Registration"</th><th>"Reachability"</th></tr></thead>
                <tbody>
                    <For each=move || trunks.get() key=|trunk| trunk["id"].as_i64() let:trunk>
                        {
                            let name = trunk["name"].as_str().unwrap_or("(no endpoint)").to_string();
                            let shown = name.clone();
                            let row_key = name.clone();
                            let badge_name = name.clone();
                            let contact_name = name.clone();
                            view! {
                                <tr data-trunk=row_key>
                                    <td>{shown}</td>
                                    <td>{trunk["context"].as_str().unwrap_or("").to_string()}</td>
                                    <td class="asterisk">{move || in_asterisk(&name)}</td>
                                    <td class="registration">{move || live.with(|l| registration_badge(l, &badge_name))}</td>
                                    <td class="reachability">{move || live.with(|l| contact_badge(l, &contact_name))}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <NewTrunkForm on_created=refresh error=error/>
            <p class="error" role="alert">{move || error.get()}</p>
        </section>
    }
}

/// The registration of `name` as Asterisk last reported it: a badge
/// (`registered`, `rejected`, …) with the last SIP answer.
fn registration_badge(live: &Value, name: &str) -> impl IntoView + use<> {
    let reg = &live["registrations"][name];
    if !reg.is_object() {
        let label = if live["connected"] == json!(true) { "does not register" } else { "—" };
        return view! { <span class="badge none" data-registration="none">{label}</span> }.into_any();
    }
    let status = reg["status"].as_str().unwrap_or("Unknown").to_string();
    let class = match status.to_ascii_lowercase().as_str() {
        "registered" => "ok",
        "rejected" | "failed" => "bad",
        _ => "pending",
    };
    let last = reg["last_response"].as_str().map(str::to_string);
    view! {
        <span class=format!("badge {class}") data-registration=status.to_ascii_lowercase() title=reg["server_uri"].as_str().unwrap_or("").to_string()>
            {status.clone()}
        </span>
        {last.map(|code| view! { " " <span class="muted sip-code">{code}</span> })}
    }
    .into_any()
}

/// The trunk's contact(s): reachable (with the qualify round trip) or not.
fn contact_badge(live: &Value, name: &str) -> impl IntoView + use<> {
    let contacts: Vec<&Value> = live["contacts"]
        .as_object()
        .map(|all| all.values().filter(|c| c["aor"] == name || c["endpoint"] == name).collect())
        .unwrap_or_default();
    let device = live["endpoints"][name]["device_state"].as_str().map(str::to_string);
    let contact = contacts.first().map(|c| {
        let status = c["status"].as_str().unwrap_or("Unknown").to_string();
        let class = match status.as_str() {
            "Reachable" => "ok",
            "Unreachable" => "bad",
            _ => "pending",
        };
        let rtt = c["rtt_us"].as_u64().map(|us| format!(" {:.1} ms", us as f64 / 1000.0));
        view! { <span class=format!("badge {class}") data-contact=status.to_ascii_lowercase()>{status.clone()}{rtt}</span> }
    });
    view! {
        {contact}
        {device.map(|d| view! { " " <span class="muted device-state">{d}</span> })}
    }
}

#[component]
fn NewTrunkForm(on_created: impl Fn() + Copy + Send + Sync + 'static, error: RwSignal<Option<String>>) -> impl IntoView {
    let session = expect_context::<Session>();
    let name = RwSignal::new(String::new());
    let host = RwSignal::new(String::new());
    let context = RwSignal::new("from-extern".to_string());
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        spawn_local(async move {
            let token = session.token();
            let name_value = name.get_untracked();
            let host_value = host.get_untracked();
            let mut endpoint = json!({"name": name_value, "label": name_value});
            if !host_value.is_empty() {
                endpoint["aor_section_options"] = json!([["contact", format!("sip:{host_value}")]]);
                endpoint["identify_section_options"] = json!([["match", host_value]]);
            }
            // Endpoint, trunk, association: undone if a later step fails.
            let mut undo = crate::pages::routes::Undo::default();
            let failed = |f: api::ApiFailure| crate::pages::routes::FieldError { field: String::new(), message: f.0 };
            let result: Result<(), crate::pages::routes::FieldError> = async {
                let endpoint = api::send(&token, "POST", "/api/confd/1.1/endpoints/sip", &endpoint).await.map_err(failed)?;
                let uuid = endpoint["uuid"].as_str().unwrap_or("").to_string();
                undo.push(format!("/api/confd/1.1/endpoints/sip/{uuid}"));
                let trunk = api::send(&token, "POST", "/api/confd/1.1/trunks", &json!({"context": context.get_untracked()})).await.map_err(failed)?;
                undo.push(format!("/api/confd/1.1/trunks/{}", trunk["id"]));
                let path = format!("/api/confd/1.1/trunks/{}/endpoints/sip/{uuid}", trunk["id"]);
                api::send(&token, "PUT", &path, &json!({})).await.map_err(failed)?;
                Ok(())
            }
            .await;
            match result {
                Ok(()) => {
                    error.set(None);
                    name.set(String::new());
                    host.set(String::new());
                    on_created();
                }
                Err(failure) => error.set(Some(undo.run(&token, failure).await.message)),
            }
        });
    };
    view! {
        <form class="new-trunk" on:submit=submit>
            <h2>"New SIP trunk"</h2>
            <label>"Name" <input name="name" bind:value=name required/></label>
            <label>"Far-end host" <input name="host" bind:value=host placeholder="voip.provider.example.com"/></label>
            <label>"Inbound context" <input name="context" bind:value=context/></label>
            <button type="submit">"Create trunk"</button>
        </form>
    }
}
