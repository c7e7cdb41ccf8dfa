//! The fleet page (master admin): the Asterisk nodes with their state
//! (connected, in sync, registrations, refused objects and drift, last
//! apply, last error) and the tenants on each;
//! a node added or edited (the AMI secret is write-only: left empty, it is
//! kept); a tenant moved to another node (the API answers once the new node
//! holds it). [`TenantNode`] names the acting tenant's node on other pages.

use crate::api;
use crate::app::{DataVersion, Session};
use crate::ui::{load_list, page_title, submit, text};
use leptos::prelude::*;
use crate::ui::{Show, keyed_rows};
use leptos::task::spawn_local;
use serde_json::{Map, Value, json};

pub const NODES: &str = "/api/patchbay/1.0/nodes";

#[component]
pub fn NodesPage() -> impl IntoView {
    page_title("Nodes");
    let nodes = RwSignal::new(Vec::<Value>::new());
    let loading = RwSignal::new(true);
    let error = RwSignal::new(None::<String>);
    load_list(NODES.to_string(), nodes, loading, error);
    let tenants = crate::pages::trunk_sharing::other_tenants();
    let editing = RwSignal::new(None::<Value>);
    view! {
        <section class="nodes">
            <h1>"Nodes"</h1>
            <p class="muted">"The Asterisk servers Patchbay configures. Each tenant is applied to its node only; new tenants go to the default node."</p>
            <div class="table-wrap">
            <table class="nodes-list cards">
                <thead><tr><th>"Name"</th><th>"AMI"</th><th>"State"</th><th>"Last apply"</th><th>"Last error"</th><th>"Tenants"</th><th></th></tr></thead>
                <tbody>
                    <Show when=move || loading.get()><tr><td colspan="7" class="muted loading">"Loading…"</td></tr></Show>
                    <Show when=move || !loading.get() && nodes.with(Vec::is_empty)>
                        <tr><td colspan="7" class="muted">"No node yet: add the first Asterisk below."</td></tr>
                    </Show>
                    {keyed_rows(move || nodes.get(), move |node: Value| (
                        view! { <NodeRow node=node nodes=nodes tenants=tenants editing=editing/> }
                    ).into_any())}
                </tbody>
            </table>
            </div>
            <p class="error" role="alert">{move || error.get()}</p>
            <NodeForm editing=editing/>
        </section>
    }
}

fn state_of(status: &Value) -> (&'static str, &'static str) {
    match (status["connected"].as_bool(), status["in_sync"].as_bool()) {
        (Some(true), Some(true)) => ("ok", "connected, in sync"),
        (Some(true), _) => ("pending", "connected, not in sync"),
        (Some(false), _) => ("bad", "down"),
        _ => ("none", "not started"),
    }
}

#[component]
fn NodeRow(node: Value, nodes: RwSignal<Vec<Value>>, tenants: RwSignal<Vec<Value>>, editing: RwSignal<Option<Value>>) -> impl IntoView {
    let name = text(&node["name"]);
    let status = node["status"].clone();
    let (class, word) = state_of(&status);
    let last_apply = status["last_apply"]["at"].as_u64().map(|at| format!("{} ({} ms)", time_of(at), status["last_apply"]["millis"])).unwrap_or_else(|| "—".into());
    let leaving: Vec<String> = node["tenants_leaving"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_string)).collect();
    let on: Vec<String> = node["tenants"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_string)).collect();
    let id = node["id"].as_i64().unwrap_or_default();
    let default = node["is_default"] == json!(true);
    let edit_node = node.clone();
    view! {
        <tr data-node=name.clone()>
            <td data-label="Name">{name.clone()}{default.then(|| view! { " " <span class="badge none">"default"</span> })}</td>
            <td data-label="AMI">{format!("{}@{}:{}", text(&node["username"]), text(&node["host"]), text(&node["port"]))}</td>
            <td data-label="State">
                <span class=format!("badge {class} node-state") data-state=class>{word}</span>
                " "<span class="muted registrations">{format!("{}/{} registered", status["registrations"]["registered"], status["registrations"]["total"])}</span>
                {(status["drift"].as_u64().unwrap_or(0) + status["failed"].as_u64().unwrap_or(0) > 0)
                    .then(|| view! { " " <span class="badge bad drift">{format!("{} refused, {} differ", status["failed"], status["drift"])}</span> })}
            </td>
            <td data-label="Last apply">{last_apply}</td>
            <td data-label="Last error" class="last-error">{text(&status["last_error"])}</td>
            <td data-label="Tenants">
                <ul class="node-tenants">
                    {on.into_iter().map(|uuid| view! { <TenantPlacement uuid=uuid node_id=id nodes=nodes tenants=tenants/> }).collect_view()}
                    {leaving.into_iter().map(|uuid| {
                        let name = move || tenants.with(|all| all.iter().find(|t| t["uuid"] == uuid.as_str()).map(|t| text(&t["name"]))).unwrap_or_else(|| "platform".into());
                        view! { <li class="muted leaving">{move || format!("{} (leaving)", name())}</li> }
                    }).collect_view()}
                </ul>
            </td>
            <td><button class="link edit" on:click=move |_| editing.set(Some(edit_node.clone()))>"Edit"</button></td>
        </tr>
    }
}

/// A tenant on a node (named once the tenants are loaded).
#[component]
fn TenantPlacement(uuid: String, node_id: i64, nodes: RwSignal<Vec<Value>>, tenants: RwSignal<Vec<Value>>) -> impl IntoView {
    move || match tenants.with(|all| all.iter().find(|t| t["uuid"] == uuid.as_str()).cloned()) {
        Some(tenant) => view! { <TenantMove tenant=tenant node_id=node_id nodes=nodes/> }.into_any(),
        // The platform's own tenant: it is not moved from here.
        None => view! { <li class="muted platform">"platform"</li> }.into_any(),
    }
}

/// A tenant with a picker of the other nodes to move it to.
#[component]
fn TenantMove(tenant: Value, node_id: i64, nodes: RwSignal<Vec<Value>>) -> impl IntoView {
    let uuid = text(&tenant["uuid"]);
    let (name, slug) = (text(&tenant["name"]), text(&tenant["slug"]));
    let target = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let others = move || nodes.with(|all| all.iter().filter(|n| n["id"].as_i64() != Some(node_id)).map(|n| (text(&n["id"]), text(&n["name"]))).collect::<Vec<_>>());
    let path = format!("/api/patchbay/1.0/tenants/{uuid}/node");
    let move_it = move |_| {
        let Ok(to) = target.get_untracked().parse::<i64>() else { return };
        let path = path.clone();
        submit(busy, error, |token| async move { api::send(&token, "PUT", &path, &json!({"node_id": to})).await }, |_| {});
    };
    view! {
        <li data-tenant=slug>
            <span class="tenant">{name}</span>
            " "
            <select name="move-to" prop:value=move || target.get() on:change=move |ev| target.set(event_target_value(&ev))>
                <option value="">"move to…"</option>
                {move || others().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
            </select>
            <button class="move" disabled=move || busy.get() || target.get().is_empty() on:click=move_it>
                {move || if busy.get() { "Moving…" } else { "Move" }}
            </button>
            <span class="error" role="alert">{move || error.get()}</span>
        </li>
    }
}

/// Add a node, or edit the one picked (fields left as they are kept; an
/// empty secret keeps the stored one).
#[component]
fn NodeForm(editing: RwSignal<Option<Value>>) -> impl IntoView {
    let fields = ["name", "host", "port", "username", "secret"].map(|_| RwSignal::new(String::new()));
    let [name, host, port, username, secret] = fields;
    let is_default = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    Effect::new(move |_| {
        let node = editing.get();
        let value = |key: &str| node.as_ref().map(|n| text(&n[key])).unwrap_or_default();
        name.set(value("name"));
        host.set(value("host"));
        port.set(node.as_ref().map_or_else(|| "5038".into(), |n| text(&n["port"])));
        username.set(value("username"));
        secret.set(String::new());
        is_default.set(node.as_ref().is_some_and(|n| n["is_default"] == json!(true)));
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut body = Map::new();
        for (key, signal) in [("name", name), ("host", host), ("username", username), ("secret", secret)] {
            let value = signal.get_untracked();
            if !(key == "secret" && value.is_empty() && editing.get_untracked().is_some()) {
                body.insert(key.into(), json!(value));
            }
        }
        body.insert("port".into(), port.get_untracked().trim().parse::<u64>().map_or_else(|_| json!(port.get_untracked()), |p| json!(p)));
        body.insert("is_default".into(), json!(is_default.get_untracked()));
        let (method, path) = match editing.get_untracked() {
            Some(node) => ("PUT", format!("{NODES}/{}", node["id"])),
            None => ("POST", NODES.to_string()),
        };
        submit(
            busy,
            error,
            |token| async move { api::send(&token, method, &path, &Value::Object(body)).await },
            move |_| {
                editing.try_set(None);
                secret.try_set(String::new());
            },
        );
    };
    let input = move |label: &'static str, key: &'static str, signal: RwSignal<String>, kind: &'static str| {
        view! {
            <label>{label}" "
                <input name=key type=kind prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev))
                    placeholder=move || if key == "secret" && editing.get().is_some() { "unchanged" } else { "" }/>
            </label>
        }
    };
    view! {
        <form class="node-form" on:submit=save>
            <h2>{move || if editing.get().is_some() { "Edit node" } else { "Add a node" }}</h2>
            {input("Name", "name", name, "text")}
            {input("AMI host", "host", host, "text")}
            {input("AMI port", "port", port, "text")}
            {input("AMI user", "username", username, "text")}
            {input("AMI secret", "secret", secret, "password")}
            <label><input type="checkbox" name="is_default" prop:checked=move || is_default.get() on:change=move |ev| is_default.set(event_target_checked(&ev))/>" default node for new tenants"</label>
            <button type="submit" disabled=move || busy.get()>{move || if editing.get().is_some() { "Save" } else { "Add node" }}</button>
            <Show when=move || editing.get().is_some()><button type="button" class="link" on:click=move |_| editing.set(None)>"Cancel"</button></Show>
            <p class="error" role="alert">{move || error.get()}</p>
        </form>
    }
}

/// `HH:MM:SS` (UTC) of a Unix time.
fn time_of(at: u64) -> String {
    let day = at % 86_400;
    format!("{:02}:{:02}:{:02} UTC", day / 3600, day % 3600 / 60, day % 60)
}

/// The acting tenant's node (from `/status`), when Patchbay drives nodes.
#[component]
pub fn TenantNode() -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let node = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        version.0.track();
        spawn_local(async move {
            if let Ok(status) = api::get::<Value>(&session.token(), "/api/patchbay/1.0/status").await {
                node.try_set(status["node"]["name"].as_str().map(str::to_string));
            }
        });
    });
    move || {
        node.get().map(|name| {
            let attr = name.clone();
            view! { <p class="tenant-node muted">"Asterisk node: " <strong data-node=attr>{name}</strong></p> }
        })
    }
}
