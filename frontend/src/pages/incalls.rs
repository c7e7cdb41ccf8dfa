//! Incoming routes: a DID in one of the tenant's incall contexts sent to
//! any destination the API has (a user, a group, nothing, a hangup with a
//! cause, an extension of a context, a trunk with a number). Edit and delete.

use crate::api;
use crate::pages::outcalls::scroll_to;
use crate::pages::routes::{FieldError, Undo, field_error, to_field, trunk_label};
use crate::ui::{C, ContextPicker, ListQuery, ListTools, Pager, delete_after_confirm, load_query_list, load_side_list, page_title, submit, tenant_contexts, text};
use leptos::prelude::*;
use crate::ui::{Show, keyed_rows};
use serde_json::{Value, json};

/// The destination as one line.
pub fn describe_destination(d: &Value, trunks: &[Value], groups: &[Value]) -> String {
    match d["type"].as_str() {
        Some("user") => format!("user {} {} (#{})", text(&d["user_firstname"]), text(&d["user_lastname"]), d["user_id"]).replace("  ", " "),
        Some("group") => {
            let label = groups.iter().find(|g| g["id"] == d["group_id"]).map(|g| text(&g["label"])).unwrap_or_else(|| text(&d["group_name"]));
            format!("group {label} (#{})", d["group_id"])
        }
        Some("hangup") => format!("hang up ({})", d["cause"].as_str().unwrap_or("normal")),
        Some("extension") => format!("extension {} @{}", text(&d["exten"]), text(&d["context"])),
        Some("trunk") => {
            let trunk = trunks.iter().find(|t| t["id"] == d["trunk_id"]).map(trunk_label).unwrap_or_else(|| format!("trunk {}", d["trunk_id"]));
            format!("trunk {trunk}{}", d["number"].as_str().map(|n| format!(" as {n}")).unwrap_or_default())
        }
        Some("none") => "nothing (hang up)".to_string(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

#[component]
pub fn IncallsPage() -> impl IntoView {
    page_title("Incoming routes");
    let incalls = RwSignal::new(Vec::<Value>::new());
    let users = RwSignal::new(Vec::<Value>::new());
    let trunks = RwSignal::new(Vec::<Value>::new());
    let groups = RwSignal::new(Vec::<Value>::new());
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(true);
    let query = ListQuery::new("exten");
    load_query_list(format!("{C}/incalls"), query, incalls, loading, error);
    load_side_list(format!("{C}/users"), users);
    load_side_list(format!("{C}/groups"), groups);
    // Own trunks and those shared with this tenant, by name.
    load_side_list(crate::pages::usable_trunks::USABLE_TRUNKS.to_string(), trunks);
    let editing = RwSignal::new(None::<Value>);
    let busy = RwSignal::new(false);
    let remove = move |incall: Value| {
        let dids: Vec<String> = incall["extensions"].as_array().cloned().unwrap_or_default().iter().map(|e| text(&e["exten"])).collect();
        let question = format!("Delete the incoming route for {}? Calls to it will no longer be answered.", if dids.is_empty() { "(no DID)".into() } else { dids.join(", ") });
        let mut paths = vec![format!("{C}/incalls/{}", incall["id"])];
        paths.extend(incall["extensions"].as_array().cloned().unwrap_or_default().iter().map(|e| format!("{C}/extensions/{}", e["id"])));
        delete_after_confirm(question, paths, busy, error);
    };
    view! {
        <section>
            <h1>"Incoming routes"</h1>
            <ListTools query=query orders=&[("exten", "DID"), ("id", "Created")] what="DIDs"/>
            <crate::pages::csv::CsvTools kind="incalls" file_name="incalls.csv" example="did,context,destination,target,ring_time"/>
            <div class="table-wrap">
            <table class="incalls">
                <thead><tr><th>"DID"</th><th>"Destination"</th><th></th></tr></thead>
                <tbody>
                    <Show when=move || loading.get()><tr><td colspan="3" class="muted loading">"Loading…"</td></tr></Show>
                    <Show when=move || !loading.get() && incalls.with(Vec::is_empty)><tr><td colspan="3" class="muted">"No incoming route yet."</td></tr></Show>
                    {keyed_rows(move || incalls.get(), move |incall: Value| (
                        {
                            let dids = incall["extensions"].as_array().cloned().unwrap_or_default().iter()
                                .map(|e| format!("{} @{}", text(&e["exten"]), text(&e["context"]))).collect::<Vec<_>>().join(", ");
                            let first_did = incall["extensions"][0]["exten"].as_str().unwrap_or_default().to_string();
                            let destination = incall["destination"].clone();
                            let for_edit = incall.clone();
                            let for_delete = incall.clone();
                            view! { <tr data-incall=first_did>
                                <td>{dids}</td>
                                <td>{move || trunks.with(|t| groups.with(|g| describe_destination(&destination, t, g)))}</td>
                                <td class="row-actions">
                                    <button type="button" class="small edit" disabled=move || busy.get() on:click=move |_| { editing.set(Some(for_edit.clone())); scroll_to("form.new-incall"); }>"Edit"</button>
                                    <button type="button" class="small danger delete" disabled=move || busy.get() on:click=move |_| remove(for_delete.clone())>"Delete"</button>
                                </td>
                            </tr> }
                        }
                    ).into_any())}
                </tbody>
            </table>
            </div>
            <Pager query=query/>
            <p class="error" role="alert">{move || error.get()}</p>
            {move || {
                let current = editing.get();
                view! { <IncallForm users=users groups=groups trunks=trunks editing=current on_done=move || editing.set(None)/> }
            }}
        </section>
    }
}

#[component]
fn IncallForm(users: RwSignal<Vec<Value>>, groups: RwSignal<Vec<Value>>, trunks: RwSignal<Vec<Value>>, editing: Option<Value>, on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let contexts = tenant_contexts();
    let original = editing.clone().unwrap_or(Value::Null);
    let d = original["destination"].clone();
    let first = original["extensions"][0].clone();
    let did = RwSignal::new(text(&first["exten"]));
    let context = RwSignal::new(text(&first["context"]));
    let kind = RwSignal::new(d["type"].as_str().unwrap_or("user").to_string());
    let user = RwSignal::new(text(&d["user_id"]));
    let group = RwSignal::new(text(&d["group_id"]));
    let ring_time = RwSignal::new(text(&d["ring_time"]));
    let cause = RwSignal::new(d["cause"].as_str().unwrap_or("normal").to_string());
    let exten = RwSignal::new(text(&d["exten"]));
    let exten_context = RwSignal::new(text(&d["context"]));
    let trunk = RwSignal::new(text(&d["trunk_id"]));
    let number = RwSignal::new(text(&d["number"]));
    let error = RwSignal::new(None::<FieldError>);
    let busy = RwSignal::new(false);
    let incall_id = original["id"].as_i64();
    let extension_id = first["id"].as_i64();
    let editing_now = incall_id.is_some();

    let destination = move || -> Result<Value, FieldError> {
        let missing = |field: &str, what: &str| FieldError { field: field.into(), message: format!("{what}: choose one.") };
        Ok(match kind.get_untracked().as_str() {
            "user" => {
                let id = user.get_untracked().parse::<i64>().map_err(|_| missing("user", "User"))?;
                let ring = ring_time.get_untracked();
                let mut d = json!({"type": "user", "user_id": id});
                if !ring.trim().is_empty() {
                    d["ring_time"] = json!(ring.trim().parse::<f64>().map_err(|_| FieldError { field: "ring_time".into(), message: "Ring time: seconds, a number.".into() })?);
                }
                d
            }
            "group" => {
                let id = group.get_untracked().parse::<i64>().map_err(|_| missing("group", "Group"))?;
                let ring = ring_time.get_untracked();
                let mut d = json!({"type": "group", "group_id": id});
                if !ring.trim().is_empty() {
                    d["ring_time"] = json!(ring.trim().parse::<f64>().map_err(|_| FieldError { field: "ring_time".into(), message: "Ring time: seconds, a number.".into() })?);
                }
                d
            }
            "hangup" => json!({"type": "hangup", "cause": cause.get_untracked()}),
            "extension" => json!({"type": "extension", "exten": exten.get_untracked().trim(), "context": exten_context.get_untracked()}),
            "trunk" => {
                let id = trunk.get_untracked().parse::<i64>().map_err(|_| missing("trunk_id", "Trunk"))?;
                let n = number.get_untracked();
                json!({"type": "trunk", "trunk_id": id, "number": if n.trim().is_empty() { Value::Null } else { json!(n.trim()) }})
            }
            _ => json!({"type": "none"}),
        })
    };
    let rename: &'static [(&'static str, &'static str)] =
        &[("destination", "destination"), ("user_id", "user"), ("group_id", "group"), ("actionarg1", "user"), ("exten", "did"), ("trunk_id", "trunk_id"), ("number", "number")];
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let destination = match destination() {
            Ok(d) => d,
            Err(e) => return error.set(Some(e)),
        };
        // Incall contexts drop a leading `+` before looking the number up
        // (`_+.`), so the DID is stored without it.
        let typed = did.get_untracked();
        let did_value = typed.trim().trim_start_matches('+').to_string();
        let context_value = context.get_untracked();
        let request = move |token: String| async move {
            match (incall_id, extension_id) {
                (Some(id), Some(ext)) => {
                    api::send(&token, "PUT", &format!("{C}/incalls/{id}"), &json!({"destination": destination})).await.map_err(|f| to_field(f, rename, "destination"))?;
                    api::send(&token, "PUT", &format!("{C}/extensions/{ext}"), &json!({"exten": did_value, "context": context_value}))
                        .await
                        .map_err(|f| to_field(f, &[("exten", "did")], "did"))?;
                    Ok(())
                }
                _ => {
                    let mut undo = Undo::default();
                    let incall = api::send(&token, "POST", &format!("{C}/incalls"), &json!({"destination": destination})).await.map_err(|f| to_field(f, rename, "destination"))?;
                    undo.push(format!("{C}/incalls/{}", incall["id"]));
                    let ext = match api::send(&token, "POST", &format!("{C}/extensions"), &json!({"exten": did_value, "context": context_value})).await {
                        Ok(e) => e,
                        Err(f) => return Err(undo.run(&token, to_field(f, &[("exten", "did")], "did")).await),
                    };
                    undo.push(format!("{C}/extensions/{}", ext["id"]));
                    if let Err(f) = api::send(&token, "PUT", &format!("{C}/incalls/{}/extensions/{}", incall["id"], ext["id"]), &json!({})).await {
                        return Err(undo.run(&token, to_field(f, &[("exten", "did")], "did")).await);
                    }
                    Ok::<(), FieldError>(())
                }
            }
        };
        submit(busy, error, request, move |()| {
            did.try_set(String::new());
            on_done();
        });
    };
    let shown = ["did", "user", "group", "ring_time", "trunk_id", "number", "destination"];
    view! {
        <form class="new-incall" on:submit=submit data-editing=incall_id.map(|i| i.to_string())>
            <h2>{if editing_now { "Edit incoming route" } else { "New incoming route" }}</h2>
            <label>"DID (public number)" <input name="did" bind:value=did inputmode="tel" required placeholder="+15145550100"/> {field_error(error, "did")}
                {move || did.with(|d| d.trim().starts_with('+')).then(|| view! {
                    <span class="muted plus-note">"Saved without the +: incoming calls to +… lose their + before the lookup, so they reach this route."</span>
                })}
            </label>
            <label>"Incall context" <ContextPicker kind="incall" value=context name="context" contexts=contexts/></label>
            <label>"Destination"
                <select name="destination" prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                    {[("user", "A user"), ("group", "A group (its members ring together)"), ("extension", "An extension"), ("trunk", "A trunk (a PBX behind Patchbay)"), ("hangup", "Hang up"), ("none", "Nothing")]
                        .into_iter().map(|(v, l)| view! { <option value=v selected=kind.get_untracked() == v>{l}</option> }).collect_view()}
                </select>
                {field_error(error, "destination")}
            </label>
            <Show when=move || kind.get() == "user">
                <label>"User"
                    <select name="user" prop:value=move || user.get() on:change=move |ev| user.set(event_target_value(&ev))>
                        <option value="">"— choose —"</option>
                        {move || users.get().into_iter().map(|u| {
                            let id = text(&u["id"]);
                            let selected = user.get_untracked() == id;
                            view! { <option value=id selected=selected>{format!("{} {}", text(&u["firstname"]), text(&u["lastname"]))}</option> }
                        }).collect_view()}
                    </select>
                    {field_error(error, "user")}
                </label>
                <label>"Ring time (seconds, empty: no limit)" <input name="ring_time" type="number" min="1" bind:value=ring_time/> {field_error(error, "ring_time")}</label>
            </Show>
            <Show when=move || kind.get() == "group">
                <label>"Group"
                    <select name="group" prop:value=move || group.get() on:change=move |ev| group.set(event_target_value(&ev))>
                        <option value="">"— choose —"</option>
                        {move || groups.get().into_iter().map(|g| {
                            let id = text(&g["id"]);
                            let selected = group.get_untracked() == id;
                            let members = g["members"]["users"].as_array().map(Vec::len).unwrap_or(0);
                            view! { <option value=id selected=selected>{format!("{} ({members} members)", text(&g["label"]))}</option> }
                        }).collect_view()}
                    </select>
                    {field_error(error, "group")}
                </label>
                <label>"Ring time (seconds, empty: the group's timeout)" <input name="ring_time" type="number" min="1" bind:value=ring_time/> {field_error(error, "ring_time")}</label>
            </Show>
            <Show when=move || kind.get() == "hangup">
                <label>"Cause"
                    <select name="cause" prop:value=move || cause.get() on:change=move |ev| cause.set(event_target_value(&ev))>
                        {["normal", "busy", "congestion"].into_iter().map(|c| view! { <option value=c selected=cause.get_untracked() == c>{c}</option> }).collect_view()}
                    </select>
                </label>
            </Show>
            <Show when=move || kind.get() == "extension">
                <label>"Extension" <input name="exten" bind:value=exten inputmode="tel"/></label>
                <label>"Of context" <ContextPicker kind="internal" value=exten_context name="exten_context" contexts=contexts/></label>
            </Show>
            <Show when=move || kind.get() == "trunk">
                <label>"Trunk"
                    <select name="trunk_id" prop:value=move || trunk.get() on:change=move |ev| trunk.set(event_target_value(&ev))>
                        <option value="">"— choose —"</option>
                        {move || trunks.get().into_iter().map(|t| {
                            let id = text(&t["id"]);
                            let selected = trunk.get_untracked() == id;
                            view! { <option value=id selected=selected>{trunk_label(&t)}</option> }
                        }).collect_view()}
                    </select>
                    {field_error(error, "trunk_id")}
                </label>
                <label>"Number sent to the trunk (empty: the DID)" <input name="number" bind:value=number/> {field_error(error, "number")}</label>
            </Show>
            <div class="actions">
                <button type="submit" disabled=move || busy.get()>{move || if busy.get() { "Saving…" } else if editing_now { "Save route" } else { "Create route" }}</button>
                {editing_now.then(|| view! { <button type="button" class="link" on:click=move |_| on_done()>"Cancel"</button> })}
            </div>
            <p class="error" role="alert">{move || error.get().filter(|e| !shown.contains(&e.field.as_str())).map(|e| e.message)}</p>
        </form>
    }
}
