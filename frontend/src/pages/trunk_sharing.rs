//! The master admin shares a trunk of its own tenant with chosen tenants
//! (`shared_with` on `PUT /trunks/{id}`): their routes may then dial it,
//! and their admins see its name and state, nothing else.

use crate::api;
use crate::app::Session;
use crate::ui::{C, submit};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

/// The other tenants (everything but the master's own), for the checkboxes.
pub fn other_tenants() -> RwSignal<Vec<Value>> {
    let session = expect_context::<Session>();
    let tenants = RwSignal::new(Vec::new());
    Effect::new(move |_| {
        let own = session.1.with(|a| a.as_ref().map(|a| a.tenant_uuid.clone())).unwrap_or_default();
        spawn_local(async move {
            if let Ok(list) = api::get_own::<Value>(&session.token(), "/api/auth/0.1/tenants").await {
                let others = crate::ui::items(&list).into_iter().filter(|t| t["uuid"] != own.as_str()).collect();
                tenants.try_set(others);
            }
        });
    });
    tenants
}

/// The tenants `trunk` is shared with, by name, and a checkbox per tenant.
#[component]
pub fn ShareControl(trunk: Value, tenants: RwSignal<Vec<Value>>) -> impl IntoView {
    let id = trunk["id"].as_i64().unwrap_or_default();
    let shared: Vec<String> = trunk["shared_with"].as_array().cloned().unwrap_or_default().iter().filter_map(|t| t.as_str().map(str::to_string)).collect();
    let chosen = RwSignal::new(shared);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let names = move || {
        let chosen = chosen.get();
        let names: Vec<String> = tenants.with(|all| {
            all.iter().filter(|t| chosen.iter().any(|c| t["uuid"] == c.as_str())).filter_map(|t| t["name"].as_str().map(str::to_string)).collect()
        });
        if names.is_empty() { "not shared".to_string() } else { names.join(", ") }
    };
    let toggle = move |uuid: String, on: bool| {
        let mut next = chosen.get_untracked();
        next.retain(|t| *t != uuid);
        if on {
            next.push(uuid);
        }
        let path = format!("{C}/trunks/{id}");
        let body = json!({"shared_with": next});
        submit(busy, error, |token| async move { api::send(&token, "PUT", &path, &body).await }, move |_| {
            chosen.try_set(next);
        });
    };
    view! {
        <details class="share">
            <summary class="shared-with">{names}</summary>
            <fieldset disabled=move || busy.get()>
                <legend>"Tenants whose routes may use this trunk"</legend>
                {move || tenants.get().into_iter().map(|t| {
                    let uuid = t["uuid"].as_str().unwrap_or_default().to_string();
                    let checked = chosen.with_untracked(|c| c.contains(&uuid));
                    let value = uuid.clone();
                    view! {
                        <label class="check">
                            <input type="checkbox" name="share" value=value checked=checked
                                on:change=move |ev| toggle(uuid.clone(), event_target_checked(&ev))/>
                            {t["name"].as_str().unwrap_or_default().to_string()}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <p class="error" role="alert">{move || error.get()}</p>
        </details>
    }
}
