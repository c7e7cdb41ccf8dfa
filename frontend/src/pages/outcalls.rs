//! Outgoing routes: the list (edit, delete) and one form that creates or
//! edits a route: name, pattern with strip / prefix / caller ID, the
//! tenant's outcall context, and trunks in failover order (↑/↓ reorder).
//!
//! Lint runs in wasm as you type: the tenant's snapshot (fetched once per
//! data change) plus the draft route goes through `patchbay_shared::lint`,
//! and the findings about the draft show under the pattern (`418.` without
//! `_`, shadowed patterns, patterns swallowing internal numbers, a route
//! without a usable trunk).

use crate::api;
use crate::app::{DataVersion, Session};
use crate::pages::routes::{FieldError, Undo, field_error, to_field, trunk_label};
use crate::ui::{C, ContextPicker, ListQuery, ListTools, Pager, delete_after_confirm, load_query_list, load_side_list, page_title, submit, tenant_contexts, text};
use leptos::prelude::*;
use crate::ui::{Show, keyed_rows};
use leptos::task::spawn_local;
use patchbay_shared::lint::{Lint, lint_snapshot};
use patchbay_shared::model::{FailoverPolicy, ObjectKind, Snapshot};
use serde_json::{Value, json};
use std::sync::Arc;

/// Ids the draft route and pattern take in the linted snapshot.
const DRAFT_OUTCALL: u64 = u64::MAX / 2;
const DRAFT_EXTENSION: u64 = u64::MAX / 2;

/// The route being edited: its id and its first pattern's extension id.
#[derive(Clone, Debug, PartialEq)]
struct EditingOutcall {
    id: i64,
    extension_id: Option<i64>,
}

#[component]
pub fn OutcallsPage() -> impl IntoView {
    page_title("Outgoing routes");
    let outcalls = RwSignal::new(Vec::<Value>::new());
    let trunks = RwSignal::new(Vec::<Value>::new());
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(true);
    let query = ListQuery::new("name");
    load_query_list(format!("{C}/outcalls"), query, outcalls, loading, error);
    // Own trunks and those shared with this tenant, by name.
    load_side_list(crate::pages::usable_trunks::USABLE_TRUNKS.to_string(), trunks);
    let busy = RwSignal::new(false);
    let editing = RwSignal::new(None::<(EditingOutcall, Value)>);
    let remove = move |outcall: Value| {
        let name = text(&outcall["name"]);
        let patterns: Vec<String> = outcall["extensions"].as_array().cloned().unwrap_or_default().iter().map(|e| text(&e["exten"])).collect();
        let question = format!(
            "Delete outgoing route {name}? Its patterns ({}) are deleted too: users dialling them will no longer reach a trunk.",
            if patterns.is_empty() { "none".to_string() } else { patterns.join(", ") }
        );
        let mut paths = vec![format!("{C}/outcalls/{}", outcall["id"])];
        paths.extend(outcall["extensions"].as_array().cloned().unwrap_or_default().iter().map(|e| format!("{C}/extensions/{}", e["id"])));
        delete_after_confirm(question, paths, busy, error);
    };
    view! {
        <section>
            <h1>"Outgoing routes"</h1>
            <ListTools query=query orders=&[("name", "Name"), ("id", "Created")] what="routes"/>
            <crate::pages::csv::CsvTools kind="outcalls" file_name="outcall-patterns.csv" example="outcall,pattern,context,strip_digits,prefix,external_prefix,caller_id"/>
            <div class="table-wrap">
            <table class="outcalls">
                <thead><tr><th>"Name"</th><th>"Patterns"</th><th>"Trunks (failover order)"</th><th></th></tr></thead>
                <tbody>
                    <Show when=move || loading.get()><tr><td colspan="4" class="muted loading">"Loading…"</td></tr></Show>
                    <Show when=move || !loading.get() && outcalls.with(Vec::is_empty)><tr><td colspan="4" class="muted">"No outgoing route yet."</td></tr></Show>
                    {keyed_rows(move || outcalls.get(), move |outcall: Value| (
                        {
                            let for_edit = outcall.clone();
                            let for_delete = outcall.clone();
                            view! {
                                <tr data-outcall=text(&outcall["name"])>
                                    <td><a href=format!("/outcalls/{}", outcall["id"])>{text(&outcall["name"])}</a></td>
                                    <td>{outcall["extensions"].as_array().cloned().unwrap_or_default().iter().map(|e| {
                                        let strip = e["strip_digits"].as_u64().unwrap_or(0);
                                        let prefix = text(&e["external_prefix"]);
                                        let cid = text(&e["caller_id"]);
                                        view! { <div><code>{text(&e["exten"])}</code>
                                            <span class="muted">{format!(" @{} · strip {strip}", text(&e["context"]))}
                                            {(!prefix.is_empty()).then(|| format!(" · prefix {prefix}"))}
                                            {(!cid.is_empty()).then(|| format!(" · caller ID {cid}"))}</span></div> }
                                    }).collect_view()}</td>
                                    <td>{outcall["trunks"].as_array().cloned().unwrap_or_default().iter().map(trunk_label).collect::<Vec<_>>().join(" → ")}</td>
                                    <td class="row-actions">
                                        <button type="button" class="small edit" disabled=move || busy.get() on:click=move |_| {
                                            let first = for_edit["extensions"][0]["id"].as_i64();
                                            editing.set(Some((EditingOutcall { id: for_edit["id"].as_i64().unwrap_or_default(), extension_id: first }, for_edit.clone())));
                                            scroll_to("form.new-outcall");
                                        }>"Edit"</button>
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
            {move || {
                let current = editing.get();
                view! { <OutcallForm trunks=trunks editing=current on_done=move || editing.set(None)/> }
            }}
        </section>
    }
}

/// Scrolls the first element matching `css` into view.
pub fn scroll_to(css: &str) {
    if let Some(element) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.query_selector(css).ok().flatten()) {
        element.scroll_into_view();
    }
}

/// The lints the draft route causes: `snapshot` with the draft pattern and
/// route added (the edited ones replaced).
fn draft_lints(snapshot: &Snapshot, editing: Option<&EditingOutcall>, name: &str, pattern: &str, context: &str, strip: u32, trunks: &[i64]) -> Vec<Lint> {
    if pattern.is_empty() || context.is_empty() {
        return Vec::new();
    }
    let mut s = snapshot.clone();
    let Some(tenant) = s.contexts.iter().find(|c| c.name == context).map(|c| c.tenant_uuid.clone()) else { return Vec::new() };
    if let Some(edit) = editing {
        s.outcalls.retain(|o| o.id.0 as i64 != edit.id);
        if let Some(ext) = edit.extension_id {
            s.extensions.retain(|e| e.id.0 as i64 != ext);
        }
    }
    let Ok(extension) = crate::api::from_json(&json!({"id": DRAFT_EXTENSION, "tenant_uuid": tenant, "exten": pattern, "context": context})) else { return Vec::new() };
    s.extensions.push(extension);
    let trunks: Vec<Value> = trunks.iter().map(|id| json!({"id": id})).collect();
    let outcall = json!({"id": DRAFT_OUTCALL, "tenant_uuid": tenant, "name": if name.is_empty() { "(this route)" } else { name },
                         "trunks": trunks, "extensions": [{"id": DRAFT_EXTENSION, "strip_digits": strip}]});
    let Ok(outcall) = crate::api::from_json(&outcall) else { return Vec::new() };
    s.outcalls.push(outcall);
    let draft_ids = [DRAFT_EXTENSION.to_string(), DRAFT_OUTCALL.to_string()];
    lint_snapshot(&s)
        .into_iter()
        .filter(|l| l.objects.iter().any(|o| matches!(o.kind, ObjectKind::Extension | ObjectKind::Outcall) && draft_ids.contains(&o.id)))
        .collect()
}

#[component]
fn OutcallForm(trunks: RwSignal<Vec<Value>>, editing: Option<(EditingOutcall, Value)>, on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let contexts = tenant_contexts();
    let original = editing.as_ref().map(|(_, o)| o.clone());
    let edit = editing.map(|(e, _)| e);
    let first = original.as_ref().map(|o| o["extensions"][0].clone()).unwrap_or(Value::Null);
    let name = RwSignal::new(original.as_ref().map(|o| text(&o["name"])).unwrap_or_default());
    let pattern = RwSignal::new(text(&first["exten"]));
    let context = RwSignal::new(text(&first["context"]));
    let strip = RwSignal::new(first["strip_digits"].as_u64().unwrap_or(0).to_string());
    let prefix = RwSignal::new(text(&first["external_prefix"]));
    let caller_id = RwSignal::new(text(&first["caller_id"]));
    // Chosen trunk ids, in failover order.
    let chosen = RwSignal::new(
        original.as_ref().and_then(|o| o["trunks"].as_array().cloned()).unwrap_or_default().iter().filter_map(|t| t["id"].as_i64()).collect::<Vec<i64>>(),
    );
    // The failover policy as comma-separated entries (`5xx, 408, no_answer`).
    let stored_policy = original.as_ref().map(|o| o["failover_policy"].clone()).filter(Value::is_object).unwrap_or_else(|| json!(FailoverPolicy::default()));
    let joined = |list: &Value| list.as_array().map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default();
    let next_on = RwSignal::new(joined(&stored_policy["next_trunk_on"]));
    let stop_on = RwSignal::new(joined(&stored_policy["stop_on"]));
    let otherwise = RwSignal::new(stored_policy["otherwise"].as_str().unwrap_or("next_trunk").to_string());
    let error = RwSignal::new(None::<FieldError>);
    let done = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    // The tenant's snapshot, for lint as you type.
    let snapshot = RwSignal::new(None::<Arc<Snapshot>>);
    Effect::new(move |_| {
        version.0.track();
        spawn_local(async move {
            if let Ok(s) = api::get::<Snapshot>(&session.token(), "/api/patchbay/1.0/snapshot").await {
                snapshot.try_set(Some(Arc::new(s)));
            }
        });
    });
    let edit_for_lint = edit.clone();
    let lints = Memo::new(move |_| {
        let strip_digits = strip.with(|s| s.trim().parse::<u32>().unwrap_or(0));
        snapshot.with(|s| match s {
            Some(s) => draft_lints(s, edit_for_lint.as_ref(), &name.get(), &pattern.get(), &context.get(), strip_digits, &chosen.get()),
            None => Vec::new(),
        })
    });

    let edit_for_submit = edit.clone();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        done.set(None);
        let strip_digits = match strip.get_untracked().trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                error.set(Some(FieldError { field: "strip_digits".into(), message: "Strip digits: a whole number, 0 or more.".into() }));
                return;
            }
        };
        let (name_value, pattern_value, context_value) = (name.get_untracked(), pattern.get_untracked(), context.get_untracked());
        let mut settings = json!({"strip_digits": strip_digits});
        let p = prefix.get_untracked();
        settings["external_prefix"] = if p.is_empty() { Value::Null } else { json!(p) };
        let cid = caller_id.get_untracked();
        settings["caller_id"] = if cid.is_empty() { Value::Null } else { json!(cid) };
        let order: Vec<Value> = chosen.get_untracked().into_iter().map(|id| json!({"id": id})).collect();
        let entries = |text: String| text.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_string).collect::<Vec<_>>();
        let policy = json!({"next_trunk_on": entries(next_on.get_untracked()), "stop_on": entries(stop_on.get_untracked()), "otherwise": otherwise.get_untracked()});
        let edit = edit_for_submit.clone();
        let saved = format!("Outgoing route {name_value} saved.");
        let request = move |token: String| async move {
            match edit {
                Some(edit) => save_outcall(&token, &edit, &name_value, &pattern_value, &context_value, &settings, &order, &policy).await,
                None => create_outcall(&token, &name_value, &pattern_value, &context_value, &settings, &order, &policy).await,
            }
        };
        submit(busy, error, request, move |()| {
            done.try_set(Some(saved));
            // A fresh form for the next route (the context is usually the same).
            for field in [name, pattern, prefix, caller_id] {
                field.try_set(String::new());
            }
            strip.try_set("0".into());
            chosen.try_set(Vec::new());
            let defaults = json!(FailoverPolicy::default());
            next_on.try_set(joined(&defaults["next_trunk_on"]));
            stop_on.try_set(joined(&defaults["stop_on"]));
            otherwise.try_set("next_trunk".into());
            on_done();
        });
    };

    let toggle = move |id: i64| chosen.update(|c| if let Some(i) = c.iter().position(|x| *x == id) { c.remove(i); } else { c.push(id); });
    let shift = move |id: i64, up: bool| {
        chosen.update(|c| {
            if let Some(i) = c.iter().position(|x| *x == id) {
                let j = if up { i.checked_sub(1) } else { Some(i + 1).filter(|j| *j < c.len()) };
                if let Some(j) = j {
                    c.swap(i, j);
                }
            }
        })
    };
    let label_of = move |id: i64| trunks.with(|t| t.iter().find(|t| t["id"].as_i64() == Some(id)).map(trunk_label)).unwrap_or_else(|| format!("trunk {id}"));
    let editing_now = edit.is_some();

    view! {
        <form class="new-outcall" on:submit=submit data-editing=edit.as_ref().map(|e| e.id.to_string())>
            <h2>{if editing_now { "Edit outgoing route" } else { "New outgoing route" }}</h2>
            <label>"Name" <input name="name" bind:value=name required/> {field_error(error, "name")}</label>
            <label>"Pattern" <input name="pattern" bind:value=pattern placeholder="_**99." required autocomplete="off"/> {field_error(error, "pattern")}</label>
            <ul class="lints draft-lints" aria-live="polite">
                {move || lints.get().into_iter().map(|l| {
                    let class = format!("lint {}", serde_json::to_value(l.severity).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default());
                    view! { <li class=class data-code=l.code>{l.message}</li> }
                }).collect_view()}
            </ul>
            <label>"Outcall context" <ContextPicker kind="outcall" value=context name="context" contexts=contexts/> {field_error(error, "context")}</label>
            <label>"Strip digits" <input name="strip_digits" type="number" min="0" bind:value=strip/> {field_error(error, "strip_digits")}</label>
            <label>"Prefix (added after stripping)" <input name="external_prefix" bind:value=prefix/> {field_error(error, "external_prefix")}</label>
            <label>"Caller ID" <input name="caller_id" bind:value=caller_id placeholder="\"ACME\" <5551234>"/> {field_error(error, "caller_id")}</label>
            <fieldset class="trunk-picker">
                <legend>"Trunks"</legend>
                {move || trunks.get().into_iter().map(|t| {
                    let id = t["id"].as_i64().unwrap_or_default();
                    view! { <label class="check"><input type="checkbox" name="trunk" value=id.to_string()
                        prop:checked=move || chosen.get().contains(&id) on:change=move |_| toggle(id)/> {trunk_label(&t)}</label> }
                }).collect_view()}
                <ol class="failover">
                    {move || chosen.get().into_iter().map(|id| view! {
                        <li data-trunk-id=id.to_string()>{label_of(id)}
                            <button type="button" class="small" aria-label="Move up" on:click=move |_| shift(id, true)>"↑"</button>
                            <button type="button" class="small" aria-label="Move down" on:click=move |_| shift(id, false)>"↓"</button>
                        </li>
                    }).collect_view()}
                </ol>
                {field_error(error, "trunks")}
            </fieldset>
            <fieldset class="failover-policy-editor">
                <legend>"When a trunk fails"</legend>
                <p class="muted">"SIP codes (486), classes (5xx), no_answer or unreachable, separated by commas. A code beats its class."</p>
                <label>"Try the next trunk on" <input name="next_trunk_on" bind:value=next_on autocomplete="off"/></label>
                <label>"End the call on" <input name="stop_on" bind:value=stop_on autocomplete="off"/></label>
                <label>"Any other failure"
                    <select name="otherwise" prop:value=move || otherwise.get() on:change=move |ev| otherwise.set(event_target_value(&ev))>
                        <option value="next_trunk">"tries the next trunk"</option>
                        <option value="stop">"ends the call"</option>
                    </select>
                </label>
                {field_error(error, "failover_policy")}
            </fieldset>
            <div class="actions">
                <button type="submit" disabled=move || busy.get()>{move || if busy.get() { "Saving…" } else if editing_now { "Save route" } else { "Create route" }}</button>
                {editing_now.then(|| view! { <button type="button" class="link" on:click=move |_| on_done()>"Cancel"</button> })}
            </div>
            <p class="error" role="alert">{move || error.get().filter(|e| !["name", "pattern", "context", "strip_digits", "external_prefix", "caller_id", "trunks", "failover_policy"].contains(&e.field.as_str())).map(|e| e.message)}</p>
            <p class="ok">{move || done.get()}</p>
        </form>
    }
}

/// An outcall error: anything about the policy (`failover_policy.stop_on[1]`)
/// is shown next to the policy's fields.
fn outcall_field(failure: api::ApiFailure) -> FieldError {
    if failure.0.contains("failover_policy") { FieldError { field: "failover_policy".into(), message: failure.0 } } else { to_field(failure, &[], "name") }
}

/// Outcall, pattern, their association, trunks; undone if a step fails.
#[allow(clippy::too_many_arguments)]
async fn create_outcall(token: &str, name: &str, pattern: &str, context: &str, settings: &Value, order: &[Value], policy: &Value) -> Result<(), FieldError> {
    let mut undo = Undo::default();
    let outcall = match api::send(token, "POST", &format!("{C}/outcalls"), &json!({"name": name, "failover_policy": policy})).await {
        Ok(o) => o,
        Err(f) => return Err(outcall_field(f)),
    };
    undo.push(format!("{C}/outcalls/{}", outcall["id"]));
    let ext = match api::send(token, "POST", &format!("{C}/extensions"), &json!({"exten": pattern, "context": context})).await {
        Ok(e) => e,
        Err(f) => return Err(undo.run(token, to_field(f, &[("exten", "pattern")], "pattern")).await),
    };
    undo.push(format!("{C}/extensions/{}", ext["id"]));
    let path = format!("{C}/outcalls/{}/extensions/{}", outcall["id"], ext["id"]);
    if let Err(f) = api::send(token, "PUT", &path, settings).await {
        return Err(undo.run(token, to_field(f, &[("exten", "pattern"), ("context", "pattern")], "pattern")).await);
    }
    undo.push(path);
    if let Err(f) = api::send(token, "PUT", &format!("{C}/outcalls/{}/trunks", outcall["id"]), &json!({"trunks": order})).await {
        return Err(undo.run(token, to_field(f, &[], "trunks")).await);
    }
    Ok(())
}

/// Saves an edited route: name and policy, first pattern (or a new one), its settings, trunks.
#[allow(clippy::too_many_arguments)]
async fn save_outcall(token: &str, edit: &EditingOutcall, name: &str, pattern: &str, context: &str, settings: &Value, order: &[Value], policy: &Value) -> Result<(), FieldError> {
    api::send(token, "PUT", &format!("{C}/outcalls/{}", edit.id), &json!({"name": name, "failover_policy": policy})).await.map_err(outcall_field)?;
    let extension_id = match edit.extension_id {
        Some(id) => {
            api::send(token, "PUT", &format!("{C}/extensions/{id}"), &json!({"exten": pattern, "context": context}))
                .await
                .map_err(|f| to_field(f, &[("exten", "pattern")], "pattern"))?;
            id
        }
        None => {
            let ext = api::send(token, "POST", &format!("{C}/extensions"), &json!({"exten": pattern, "context": context}))
                .await
                .map_err(|f| to_field(f, &[("exten", "pattern")], "pattern"))?;
            ext["id"].as_i64().unwrap_or_default()
        }
    };
    api::send(token, "PUT", &format!("{C}/outcalls/{}/extensions/{extension_id}", edit.id), settings)
        .await
        .map_err(|f| to_field(f, &[("exten", "pattern")], "pattern"))?;
    api::send(token, "PUT", &format!("{C}/outcalls/{}/trunks", edit.id), &json!({"trunks": order})).await.map_err(|f| to_field(f, &[], "trunks"))?;
    Ok(())
}
