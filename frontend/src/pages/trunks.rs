//! Trunks: the list (with whether the connected Asterisk really has each
//! endpoint, and the live registration / reachability badges) and a
//! form that creates and edits trunks of every kind (`trunk_form`); each
//! row can be edited or deleted (the confirmation names the outgoing routes
//! that use it). A SIP trunk's "Operate" opens `trunk_ops`: drain, an
//! OPTIONS now, a test call.
//!
//! Live state streams from `/api/patchbay/1.0/events` (Server-Sent Events:
//! a snapshot, then each change) through `EventSource`, which cannot send
//! headers: the token goes as `?token=`, which that route alone accepts.
//! While the stream is down (`EventSource` retries by itself) `/live` is
//! polled every [`LIVE_FALLBACK_EVERY`]. The trunk list and the "in
//! Asterisk" column (`/status`) are still polled every 2 s.

use crate::api;
use crate::app::{DataVersion, Session};
use crate::pages::trunk_form::{Editing, TrunkDraft, TrunkForm};
use crate::pages::trunk_health::{TrunkHealth, reachability_text, registration_text};
use crate::pages::trunk_ops::TrunkOperations;
use crate::pages::trunk_sharing::ShareControl;
use crate::ui::{C, ListQuery, ListTools, Pager, query_escape, text};
use leptos::prelude::*;
use crate::ui::{Show, keyed_rows};
use leptos::task::spawn_local;
use serde_json::{Value, json};
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// How often `/live` is polled while the event stream is down.
const LIVE_FALLBACK_EVERY: Duration = Duration::from_secs(10);

#[component]
pub fn TrunksPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let trunks = RwSignal::new(Vec::<Value>::new());
    let status = RwSignal::new(Value::Null);
    let live = RwSignal::new(Value::Null);
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(true);
    crate::ui::page_title("Trunks");

    let query = ListQuery::new("name");
    let refresh = move || {
        spawn_local(async move {
            let token = session.token();
            let path = query.with_untracked_path(&format!("{C}/trunks"));
            match api::get::<Value>(&token, &path).await {
                Ok(list) => {
                    query.total.try_set(list["total"].as_u64().unwrap_or(0) as usize);
                    trunks.try_set(list["items"].as_array().cloned().unwrap_or_default());
                }
                Err(failure) => {
                    error.try_set(Some(crate::ui::humanize(&failure.0)));
                }
            }
            loading.try_set(false);
            if let Ok(current) = api::get::<Value>(&token, "/api/patchbay/1.0/status").await {
                status.try_set(current);
            }
        });
    };
    let poll_live = move || {
        spawn_local(async move {
            if let Ok(current) = api::get_own::<Value>(&session.token(), "/api/patchbay/1.0/live").await {
                live.try_set(current);
            }
        });
    };
    Effect::new(move |_| {
        version.0.track();
        let _ = query.path("");
        refresh();
    });
    // Asterisk applies changes asynchronously: keep the "in Asterisk" column fresh.
    if let Ok(handle) = set_interval_with_handle(refresh, Duration::from_secs(2)) {
        on_cleanup(move || handle.clear());
    }
    // Live badges: the event stream, else a slow poll.
    let streaming = RwSignal::new(false);
    match open_live_stream(&session.token(), live, streaming) {
        Some(stream) => {
            let stream = StoredValue::new_local(stream);
            // Cleanups run before stored values drop: closed first, so the
            // callbacks are never called once dropped.
            on_cleanup(move || stream.try_with_value(|stream| stream.source.close()).unwrap_or_default());
        }
        None => poll_live(),
    }
    let fallback = move || {
        if !streaming.get_untracked() {
            poll_live();
        }
    };
    if let Ok(handle) = set_interval_with_handle(fallback, LIVE_FALLBACK_EVERY) {
        on_cleanup(move || handle.clear());
    }

    let in_asterisk = move |name: &str| -> String {
        let current = status.get();
        if current["connected"] != json!(true) {
            return "no Asterisk connected".into();
        }
        // A section of this endpoint Asterisk refused (the status lists only
        // the caller's own), with the reason Patchbay could verify.
        let refused = current["failed"].as_array().and_then(|failed| failed.iter().find(|f| f["section"] == name));
        if let Some(failure) = refused {
            return format!("refused: {}", failure["reason"].as_str().unwrap_or_default());
        }
        let present = current["endpoints"].as_array().is_some_and(|names| names.iter().any(|n| n == name));
        String::from(if present { "yes" } else { "not yet" })
    };

    let contexts = crate::ui::tenant_contexts();
    let transports = RwSignal::new(Vec::<Value>::new());
    crate::ui::load_side_list(format!("{C}/sip/transports"), transports);
    // Trunks name only the id of an IAX or custom endpoint: their names come from these.
    let iax = RwSignal::new(Vec::<Value>::new());
    let custom = RwSignal::new(Vec::<Value>::new());
    crate::ui::load_side_list(format!("{C}/endpoints/iax"), iax);
    crate::ui::load_side_list(format!("{C}/endpoints/custom"), custom);
    // Sharing: the master's own tenant's SIP and IAX trunks, while it acts for itself.
    let tenants = crate::pages::trunk_sharing::other_tenants();
    let sharing = move |trunk: Value| {
        let shareable = api::acting_tenant().is_none() && !trunk["endpoint_custom"].is_object();
        shareable.then(|| view! { <ShareControl trunk=trunk tenants=tenants/> })
    };
    let draft = RwSignal::new(TrunkDraft::new());
    let editing = RwSignal::new(None::<Editing>);
    let busy = RwSignal::new(false);
    let operating = RwSignal::new(None::<(i64, String)>);
    let reset = move || {
        editing.set(None);
        draft.set(TrunkDraft::new());
    };
    let edit = move |trunk: Value| {
        let trunk_id = trunk["id"].as_i64().unwrap_or_default();
        let context = text(&trunk["context"]);
        let plan = trunk["number_plan"].clone();
        let (path, kind) = if trunk["endpoint_sip"].is_object() {
            (format!("{C}/endpoints/sip/{}", text(&trunk["endpoint_sip"]["uuid"])), "sip")
        } else if trunk["endpoint_iax"].is_object() {
            (format!("{C}/endpoints/iax/{}", trunk["endpoint_iax"]["id"]), "iax")
        } else if trunk["endpoint_custom"].is_object() {
            (format!("{C}/endpoints/custom/{}", trunk["endpoint_custom"]["id"]), "custom")
        } else {
            return error.set(Some("This trunk has no endpoint to edit.".into()));
        };
        let endpoint_path = path.clone();
        crate::ui::run(busy, |token| async move { api::get::<Value>(&token, &endpoint_path).await }, move |result| {
            match result {
                Ok(endpoint) => {
                    let fresh = TrunkDraft::new();
                    match kind {
                        "iax" => fresh.load_iax(&endpoint),
                        "custom" => fresh.load_custom(&endpoint),
                        _ => fresh.load_sip(&endpoint),
                    }
                    fresh.context.set(context);
                    fresh.numbers.load(&plan);
                    draft.try_set(fresh);
                    editing.try_set(Some(Editing { trunk_id, endpoint_path: path }));
                    if let Some(form) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.query_selector("form.trunk-form").ok().flatten()) {
                        form.scroll_into_view();
                    }
                }
                Err(failure) => {
                    error.try_set(Some(crate::ui::humanize(&failure.0)));
                }
            }
        });
    };
    let remove = move |trunk: Value| {
        let name = trunk_name(&trunk);
        let outcalls: Vec<String> = trunk["outcalls"].as_array().cloned().unwrap_or_default().iter().map(|o| text(&o["name"])).collect();
        let question = if outcalls.is_empty() {
            format!("Delete trunk {name}? No outgoing route uses it.")
        } else {
            format!("Delete trunk {name}? These outgoing routes use it and will no longer dial it: {}.", outcalls.join(", "))
        };
        crate::ui::delete_after_confirm(question, vec![format!("{C}/trunks/{}", trunk["id"])], busy, error);
    };

    view! {
        <section>
            <h1>"Trunks"</h1>
            <p class="status">{move || status.get()["message"].as_str().unwrap_or("").to_string()}</p>
            <ListTools query=query orders=&[("name", "Name"), ("id", "Created"), ("context", "Context")] what="trunks"/>
            <div class="table-wrap">
            <table class="trunks">
                <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Context"</th><th>"In Asterisk"</th><th>"Registration"</th><th>"Reachability"</th><th>"Health"</th><th>"Used by"</th><th>"Shared with"</th><th></th></tr></thead>
                <tbody>
                    <Show when=move || loading.get()><tr><td colspan="10" class="muted loading">"Loading…"</td></tr></Show>
                    <Show when=move || !loading.get() && trunks.with(Vec::is_empty)><tr><td colspan="10" class="muted">"No trunk yet: create one below."</td></tr></Show>
                    {keyed_rows(move || named(trunks.get(), &iax.get(), &custom.get()), move |trunk: Value| (
                        {
                            let name = trunk_name(&trunk);
                            let shown = name.clone();
                            let row_key = name.clone();
                            let badge_name = name.clone();
                            let contact_name = name.clone();
                            let health_name = name.clone();
                            let kind = trunk_kind(&trunk);
                            let used_by = trunk["outcalls"].as_array().cloned().unwrap_or_default().iter().map(|o| text(&o["name"])).collect::<Vec<_>>().join(", ");
                            let for_edit = trunk.clone();
                            let for_delete = trunk.clone();
                            let operate = kind.starts_with("SIP").then(|| (trunk["id"].as_i64().unwrap_or_default(), name.clone()));
                            view! {
                                <tr data-trunk=row_key data-trunk-id=trunk["id"].to_string()>
                                    <td>{shown}</td>
                                    <td>{kind}</td>
                                    <td>{trunk["context"].as_str().unwrap_or("").to_string()}</td>
                                    <td class="asterisk">{move || in_asterisk(&name)}</td>
                                    <td class="registration">{move || live.with(|l| registration_badge(l, &badge_name))}</td>
                                    <td class="reachability">{move || live.with(|l| contact_badge(l, &contact_name))}</td>
                                    <td class="health">{move || live.with(|l| health_badge(l, &health_name))}</td>
                                    <td class="used-by">{used_by}</td>
                                    <td class="sharing">{sharing(trunk.clone())}</td>
                                    <td class="row-actions">
                                        {operate.map(|target| view! {
                                            <button type="button" class="small operate" on:click=move |_| operating.set(Some(target.clone()))>"Operate"</button>
                                        })}
                                        <button type="button" class="small edit" disabled=move || busy.get() on:click=move |_| edit(for_edit.clone())>"Edit"</button>
                                        <button type="button" class="small danger delete" disabled=move || busy.get() on:click=move |_| remove(for_delete.clone())>"Delete"</button>
                                    </td>
                                </tr>
                            }
                        }
                    ).into_any())}
                </tbody>
            </table>
            </div>
            <Pager query=query/>
            <p class="error" role="alert">{move || error.get()}</p>
            {move || operating.get().map(|(id, name)| view! {
                <TrunkHealth trunk_id=id name=name.clone() live=live />
                <TrunkOperations trunk_id=id name=name />
            })}
            {move || {
                let d = draft.get();
                view! { <TrunkForm draft=d editing=editing contexts=contexts transports=transports done=reset/> }
            }}
            <crate::pages::invite_match::InviteMatch/>
        </section>
    }
}

/// The trunks with their IAX endpoint's name and custom endpoint's
/// interface filled in from the endpoint lists.
fn named(trunks: Vec<Value>, iax: &[Value], custom: &[Value]) -> Vec<Value> {
    trunks
        .into_iter()
        .map(|mut trunk| {
            for (field, list) in [("endpoint_iax", iax), ("endpoint_custom", custom)] {
                if trunk[field].is_object()
                    && let Some(endpoint) = list.iter().find(|e| e["id"] == trunk[field]["id"]).cloned()
                {
                    trunk[field] = endpoint;
                }
            }
            trunk
        })
        .collect()
}

/// The trunk's name: its SIP/IAX endpoint name or custom interface.
fn trunk_name(trunk: &Value) -> String {
    trunk["name"]
        .as_str()
        .or(trunk["endpoint_sip"]["name"].as_str())
        .or(trunk["endpoint_iax"]["name"].as_str())
        .or(trunk["endpoint_custom"]["interface"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("trunk {}", trunk["id"]))
}

fn trunk_kind(trunk: &Value) -> &'static str {
    if trunk["endpoint_sip"].is_object() {
        if trunk["register_sip"].is_object() { "SIP (registers)" } else { "SIP" }
    } else if trunk["endpoint_iax"].is_object() {
        "IAX2"
    } else if trunk["endpoint_custom"].is_object() {
        "custom"
    } else {
        "no endpoint"
    }
}

/// An open `EventSource` on `/events` and the callbacks it calls.
struct LiveStream {
    source: web_sys::EventSource,
    _callbacks: [Closure<dyn FnMut(web_sys::Event)>; 3],
}

/// Opens the live event stream: each event updates `live`; `streaming` says
/// whether it is up (a snapshot arrives on every (re)connect).
fn open_live_stream(token: &str, live: RwSignal<Value>, streaming: RwSignal<bool>) -> Option<LiveStream> {
    let url = format!("/api/patchbay/1.0/events?token={}", query_escape(token));
    let source = web_sys::EventSource::new(&url).ok()?;
    let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        let Some(data) = event.dyn_ref::<web_sys::MessageEvent>().and_then(|m| m.data().as_string()) else { return };
        if let Ok(update) = serde_json::from_str::<Value>(&data) {
            streaming.try_set(true);
            live.try_update(|state| apply_live_update(state, update));
        }
    });
    let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        streaming.try_set(true);
    });
    // The browser retries on its own; meanwhile the slow poll takes over.
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        streaming.try_set(false);
    });
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Some(LiveStream { source, _callbacks: [on_message, on_open, on_error] })
}

/// One `/events` update applied to the `/live` state, as the server keeps it.
fn apply_live_update(state: &mut Value, update: Value) {
    if !state.is_object() {
        *state = json!({"connected": false, "registrations": {}, "contacts": {}, "endpoints": {}});
    }
    match update["kind"].as_str() {
        Some("snapshot") => *state = update["state"].clone(),
        Some("connection") => state["connected"] = update["connected"].clone(),
        Some("registration") => {
            if let Some(name) = update["registration"]["name"].as_str() {
                state["registrations"][name] = update["registration"].clone();
            }
        }
        Some("health") => {
            if let Some(name) = update["health"]["name"].as_str() {
                if !state["health"].is_object() {
                    state["health"] = json!({});
                }
                state["health"][name] = update["health"].clone();
            }
        }
        Some("endpoint") => {
            if let Some(name) = update["endpoint"]["name"].as_str() {
                state["endpoints"][name] = update["endpoint"].clone();
            }
        }
        Some("contact") => {
            let contact = &update["contact"];
            let Some(uri) = contact["uri"].as_str() else { return };
            if !state["contacts"].is_object() {
                state["contacts"] = json!({});
            }
            let contacts = state["contacts"].as_object_mut().expect("an object");
            if contact["status"] == "Removed" {
                contacts.remove(uri);
            } else {
                let mut kept = contact.clone();
                // A status change without a round trip keeps the last one.
                if kept["rtt_us"].is_null() {
                    kept["rtt_us"] = contacts.get(uri).map(|c| c["rtt_us"].clone()).unwrap_or(Value::Null);
                }
                contacts.insert(uri.to_string(), kept);
            }
        }
        _ => {}
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

/// The trunk's health after hysteresis, with its registration's last SIP
/// answer: "down · Rejected — 403 Forbidden".
fn health_badge(live: &Value, name: &str) -> impl IntoView + use<> {
    let health = &live["health"][name];
    if !health.is_object() {
        return view! { <span class="muted" data-health="none">"—"</span> }.into_any();
    }
    let state = health["reachability"].as_str().unwrap_or("unknown").to_string();
    let class = match state.as_str() {
        "up" => "ok",
        "down" => "bad",
        _ => "pending",
    };
    let registration = registration_text(health);
    view! {
        <span class=format!("badge {class}") data-health=state>{reachability_text(health)}</span>
        {registration.map(|r| view! { " " <span class="health-registration">{r}</span> })}
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
        let rtt = c["rtt_us"].as_u64().map(|us| format!(" {} ms", crate::ui::fixed(us as f64 / 1000.0, 1)));
        view! { <span class=format!("badge {class}") data-contact=status.to_ascii_lowercase()>{status.clone()}{rtt}</span> }
    });
    view! {
        {contact}
        {device.map(|d| view! { " " <span class="muted device-state">{d}</span> })}
    }
}

#[cfg(test)]
mod tests {
    use super::apply_live_update;
    use crate::ui::query_escape;
    use serde_json::json;

    #[test]
    fn live_updates_fold_into_the_live_state() {
        let mut state = serde_json::Value::Null;
        apply_live_update(&mut state, json!({"kind": "snapshot", "state": {"connected": true, "registrations": {}, "contacts": {}, "endpoints": {}}}));
        apply_live_update(&mut state, json!({"kind": "registration", "registration": {"name": "t", "status": "Rejected"}}));
        apply_live_update(&mut state, json!({"kind": "contact", "contact": {"uri": "sip:a", "status": "Reachable", "rtt_us": 900}}));
        apply_live_update(&mut state, json!({"kind": "contact", "contact": {"uri": "sip:a", "status": "Reachable", "rtt_us": null}}));
        assert_eq!(state["registrations"]["t"]["status"], "Rejected");
        assert_eq!(state["contacts"]["sip:a"]["rtt_us"], 900);
        apply_live_update(&mut state, json!({"kind": "contact", "contact": {"uri": "sip:a", "status": "Removed"}}));
        apply_live_update(&mut state, json!({"kind": "connection", "connected": false}));
        assert_eq!(state["contacts"], json!({}));
        assert_eq!(state["connected"], false);
        assert_eq!(query_escape("a b&c=d-1"), "a%20b%26c%3Dd-1");
    }
}
