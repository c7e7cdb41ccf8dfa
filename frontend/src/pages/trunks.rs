//! Trunks: the list (with whether the connected Asterisk really has each
//! endpoint) and a quick-create form for a SIP trunk.

use crate::api;
use crate::app::Session;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};
use std::time::Duration;

#[component]
pub fn TrunksPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let trunks = RwSignal::new(Vec::<Value>::new());
    let status = RwSignal::new(Value::Null);
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
        });
    };
    refresh();
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
                <thead><tr><th>"Name"</th><th>"Context"</th><th>"In Asterisk"</th></tr></thead>
                <tbody>
                    <For each=move || trunks.get() key=|trunk| trunk["id"].as_i64() let:trunk>
                        {
                            let name = trunk["name"].as_str().unwrap_or("(no endpoint)").to_string();
                            let shown = name.clone();
                            let row_key = name.clone();
                            view! {
                                <tr data-trunk=row_key>
                                    <td>{shown}</td>
                                    <td>{trunk["context"].as_str().unwrap_or("").to_string()}</td>
                                    <td class="asterisk">{move || in_asterisk(&name)}</td>
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
            let name = name.get_untracked();
            let host = host.get_untracked();
            let mut endpoint = json!({"name": name, "label": name});
            if !host.is_empty() {
                endpoint["aor_section_options"] = json!([["contact", format!("sip:{host}")]]);
                endpoint["identify_section_options"] = json!([["match", host]]);
            }
            let created = async {
                let endpoint = api::send(&token, "POST", "/api/confd/1.1/endpoints/sip", &endpoint).await?;
                let trunk = api::send(&token, "POST", "/api/confd/1.1/trunks", &json!({"context": context.get_untracked()})).await?;
                let path = format!("/api/confd/1.1/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap_or(""));
                api::send(&token, "PUT", &path, &json!({})).await
            };
            match created.await {
                Ok(_) => {
                    error.set(None);
                    on_created();
                }
                Err(failure) => error.set(Some(failure.0)),
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
