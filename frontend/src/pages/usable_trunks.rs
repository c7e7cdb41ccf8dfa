//! The trunks a tenant admin's routes may dial: the tenant's own and those
//! the platform shares with it (`/api/patchbay/1.0/usable_trunks`), with
//! their name, kind and state only. Nothing else of a shared trunk (host,
//! credentials, options, the platform's routes) reaches this page.

use crate::ui::{load_list, page_title, text};
use leptos::prelude::*;
use crate::ui::{Show, keyed_rows};
use serde_json::Value;

pub const USABLE_TRUNKS: &str = "/api/patchbay/1.0/usable_trunks";

#[component]
pub fn UsableTrunksPage() -> impl IntoView {
    page_title("Trunks");
    let trunks = RwSignal::new(Vec::<Value>::new());
    let loading = RwSignal::new(true);
    let error = RwSignal::new(None::<String>);
    load_list(USABLE_TRUNKS.to_string(), trunks, loading, error);
    view! {
        <section>
            <h1>"Trunks"</h1>
            <p class="muted">"The trunks your outgoing routes and DIDs may use: your own, and those the platform shares with you."</p>
            <div class="table-wrap">
            <table class="usable-trunks cards">
                <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Provided by"</th><th>"Registration"</th><th>"Reachability"</th></tr></thead>
                <tbody>
                    <Show when=move || loading.get()><tr><td colspan="5" class="muted loading">"Loading…"</td></tr></Show>
                    <Show when=move || !loading.get() && trunks.with(Vec::is_empty)>
                        <tr><td colspan="5" class="muted">"No trunk: ask the platform administrator to share one with this tenant."</td></tr>
                    </Show>
                    {keyed_rows(move || trunks.get(), move |trunk: Value| (
                        {
                            let name = text(&trunk["name"]);
                            let shared = trunk["shared"] == Value::Bool(true);
                            view! {
                                <tr data-trunk=name.clone() data-shared=shared.to_string()>
                                    <td data-label="Name">{name.clone()}</td>
                                    <td data-label="Kind">{kind_label(trunk["kind"].as_str().unwrap_or_default())}</td>
                                    <td data-label="Provided by" class="owner">{if shared { "the platform (shared)" } else { "this tenant" }}</td>
                                    <td data-label="Registration" class="registration">{state_badge(&trunk["registration"], "does not register", &trunk["connected"])}</td>
                                    <td data-label="Reachability" class="reachability">{state_badge(&trunk["reachability"], "not qualified", &trunk["connected"])}</td>
                                </tr>
                            }
                        }
                    ).into_any())}
                </tbody>
            </table>
            </div>
            <p class="error" role="alert">{move || error.get()}</p>
        </section>
    }
}

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "sip" => "SIP",
        "iax" => "IAX2",
        "custom" => "custom",
        _ => "no endpoint",
    }
}

/// A state word as a badge: good, bad, or pending; `none` without a state.
fn state_badge(state: &Value, none: &'static str, connected: &Value) -> impl IntoView + use<> {
    let Some(status) = state.as_str().map(str::to_string) else {
        let label = if *connected == Value::Bool(true) { none } else { "—" };
        return view! { <span class="badge none">{label}</span> }.into_any();
    };
    let class = match status.as_str() {
        "Registered" | "Reachable" => "ok",
        "Rejected" | "Failed" | "Unreachable" => "bad",
        _ => "pending",
    };
    view! { <span class=format!("badge {class}") data-state=status.to_ascii_lowercase()>{status.clone()}</span> }.into_any()
}
