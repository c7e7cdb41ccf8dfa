//! Routes: outcalls (ordered trunks), incalls (DID → user) and users' caller
//! IDs, in the Wazo shapes. API errors are shown next to the field they name.

use crate::api::{self, ApiFailure};
use crate::app::{DataVersion, Session};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

const C: &str = "/api/confd/1.1";

/// The field a Wazo error names: `Input Error - strip_digits: [...]`,
/// `Input Error - field 'context': ...` or `exten: [...]`.
pub fn field_of(message: &str) -> Option<String> {
    if let Some(start) = message.find("field '") {
        let rest = &message[start + 7..];
        return rest.find('\'').map(|end| rest[..end].to_string());
    }
    let rest = message.strip_prefix("Input Error - ").unwrap_or(message);
    let (field, _) = rest.split_once(':')?;
    let field = field.trim().trim_matches('\'');
    (!field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then(|| field.to_string())
}

/// An error from one step of a form, tagged with the form field it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Objects a multi-step form created, deleted (newest first) when a later
/// step fails, so no half-created route stays behind.
#[derive(Default)]
pub struct Undo(Vec<String>);

impl Undo {
    pub fn push(&mut self, path: String) {
        self.0.push(path);
    }

    /// Deletes everything recorded and returns `error`, with a note if some
    /// deletion failed too.
    pub async fn run(self, token: &str, mut error: FieldError) -> FieldError {
        let mut left = Vec::new();
        for path in self.0.into_iter().rev() {
            if let Err(failure) = api::delete(token, &path).await {
                left.push(format!("{path} ({})", failure.0));
            }
        }
        if !left.is_empty() {
            error.message = format!("{} — and could not undo: {}", error.message, left.join(", "));
        }
        error
    }
}

/// Maps an API failure to a form field: `rename` turns API field names into
/// the form's (e.g. `exten` → `pattern`); unknown fields go to `fallback`.
fn to_field(failure: ApiFailure, rename: &[(&str, &str)], fallback: &str) -> FieldError {
    let api_field = field_of(&failure.0).unwrap_or_default();
    let field = rename
        .iter()
        .find(|(from, _)| *from == api_field)
        .map(|(_, to)| to.to_string())
        .unwrap_or_else(|| if api_field.is_empty() { fallback.to_string() } else { api_field });
    FieldError { field, message: failure.0 }
}

/// The inline message for `field`, if the last error is about it.
fn field_error(error: RwSignal<Option<FieldError>>, field: &'static str) -> impl IntoView {
    move || {
        error.get().filter(|e| e.field == field).map(|e| view! { <span class="field-error" role="alert" data-field=field>{e.message}</span> })
    }
}

fn items(value: &Value) -> Vec<Value> {
    value["items"].as_array().cloned().unwrap_or_default()
}

fn load(path: &'static str, into: RwSignal<Vec<Value>>, error: RwSignal<Option<String>>) {
    let session = expect_context::<Session>();
    spawn_local(async move {
        match api::get::<Value>(&session.token(), path).await {
            Ok(list) => into.set(items(&list)),
            Err(failure) => error.set(Some(failure.0)),
        }
    });
}

/// Replaces `into`'s value by the tenant's first context of `kind` unless it
/// already names one of them (a sub-tenant's contexts are not `to-extern`).
fn default_context(kind: &'static str, into: RwSignal<String>) {
    let session = expect_context::<Session>();
    spawn_local(async move {
        if let Ok(list) = api::get::<Value>(&session.token(), &format!("{C}/contexts")).await {
            let names: Vec<String> = items(&list).iter().filter(|c| c["type"] == kind).filter_map(|c| c["name"].as_str().map(str::to_string)).collect();
            if !names.contains(&into.get_untracked()) {
                if let Some(first) = names.first() {
                    into.set(first.clone());
                }
            }
        }
    });
}

fn trunk_label(trunk: &Value) -> String {
    let name = trunk["endpoint_sip"]["name"].as_str().or(trunk["endpoint_custom"]["interface"].as_str());
    match name {
        Some(name) => name.to_string(),
        None => format!("trunk {}", trunk["id"]),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[component]
pub fn OutcallsPage() -> impl IntoView {
    let version = expect_context::<DataVersion>();
    let outcalls = RwSignal::new(Vec::<Value>::new());
    let trunks = RwSignal::new(Vec::<Value>::new());
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        version.0.track();
        load("/api/confd/1.1/outcalls", outcalls, error);
        load("/api/confd/1.1/trunks", trunks, error);
    });
    view! {
        <section>
            <h1>"Outgoing routes"</h1>
            <table class="outcalls">
                <thead><tr><th>"Name"</th><th>"Patterns"</th><th>"Trunks (failover order)"</th></tr></thead>
                <tbody>
                    <For each=move || outcalls.get() key=|o| (o["id"].as_i64(), o.to_string()) let:outcall>
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
                        </tr>
                    </For>
                </tbody>
            </table>
            <p class="error" role="alert">{move || error.get()}</p>
            <NewOutcallForm trunks=trunks/>
        </section>
    }
}

/// One outgoing route, by id (`/outcalls/7`). Another tenant's id shows
/// only "not found": the API answers 404 and nothing else is fetched.
#[component]
pub fn OutcallPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let params = leptos_router::hooks::use_params_map();
    let outcall = RwSignal::new(None::<Value>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        version.0.track();
        let id = params.with(|p| p.get("id").unwrap_or_default());
        outcall.set(None);
        error.set(None);
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            return error.set(Some("No such outgoing route.".into()));
        }
        spawn_local(async move {
            match api::get::<Value>(&session.token(), &format!("{C}/outcalls/{id}")).await {
                Ok(o) => outcall.set(Some(o)),
                Err(failure) => error.set(Some(format!("No such outgoing route in your tenant ({}).", failure.0))),
            }
        });
    });
    view! {
        <section class="outcall-detail">
            <p><a href="/outcalls">"← Outgoing routes"</a></p>
            <p class="error" role="alert">{move || error.get()}</p>
            {move || outcall.get().map(|o| view! {
                <h1 data-outcall=text(&o["name"])>"Outgoing route " {text(&o["name"])}</h1>
                <dl class="facts">
                    <dt>"Enabled"</dt><dd>{if o["enabled"] == json!(false) { "no" } else { "yes" }}</dd>
                    <dt>"Internal caller ID"</dt><dd>{if o["internal_caller_id"] == json!(true) { "yes" } else { "no" }}</dd>
                    <dt>"Trunks (failover order)"</dt>
                    <dd>{o["trunks"].as_array().cloned().unwrap_or_default().iter().map(trunk_label).collect::<Vec<_>>().join(" → ")}</dd>
                </dl>
                <table class="patterns">
                    <thead><tr><th>"Pattern"</th><th>"Context"</th><th>"Strip"</th><th>"Prefix"</th><th>"Caller ID"</th></tr></thead>
                    <tbody>{o["extensions"].as_array().cloned().unwrap_or_default().into_iter().map(|e| view! {
                        <tr><td><code>{text(&e["exten"])}</code></td><td>{text(&e["context"])}</td><td>{text(&e["strip_digits"])}</td>
                            <td>{text(&e["external_prefix"])}</td><td>{text(&e["caller_id"])}</td></tr>
                    }).collect_view()}</tbody>
                </table>
            })}
        </section>
    }
}

#[component]
fn NewOutcallForm(trunks: RwSignal<Vec<Value>>) -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let name = RwSignal::new(String::new());
    let pattern = RwSignal::new(String::new());
    let context = RwSignal::new("to-extern".to_string());
    Effect::new(move |_| {
        version.0.track();
        default_context("outcall", context);
    });
    let strip = RwSignal::new("0".to_string());
    let prefix = RwSignal::new(String::new());
    let caller_id = RwSignal::new(String::new());
    // Chosen trunk ids, in failover order.
    let chosen = RwSignal::new(Vec::<i64>::new());
    let error = RwSignal::new(None::<FieldError>);
    let done = RwSignal::new(None::<String>);

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        done.set(None);
        let strip_digits = match strip.get_untracked().trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                error.set(Some(FieldError { field: "strip_digits".into(), message: "Input Error - strip_digits: ['Not a valid integer.']".into() }));
                return;
            }
        };
        spawn_local(async move {
            let token = session.token();
            // What the steps created, undone in reverse order if a later step fails.
            let mut undo = Undo::default();
            let outcall = match api::send(&token, "POST", &format!("{C}/outcalls"), &json!({"name": name.get_untracked()})).await {
                Ok(o) => o,
                Err(f) => return error.set(Some(to_field(f, &[], "name"))),
            };
            undo.push(format!("{C}/outcalls/{}", outcall["id"]));
            let ext = match api::send(&token, "POST", &format!("{C}/extensions"), &json!({"exten": pattern.get_untracked(), "context": context.get_untracked()})).await {
                Ok(e) => e,
                Err(f) => return error.set(Some(undo.run(&token, to_field(f, &[("exten", "pattern")], "pattern")).await)),
            };
            undo.push(format!("{C}/extensions/{}", ext["id"]));
            let mut settings = json!({"strip_digits": strip_digits});
            let p = prefix.get_untracked();
            if !p.is_empty() {
                settings["external_prefix"] = json!(p);
            }
            let cid = caller_id.get_untracked();
            if !cid.is_empty() {
                settings["caller_id"] = json!(cid);
            }
            let path = format!("{C}/outcalls/{}/extensions/{}", outcall["id"], ext["id"]);
            if let Err(f) = api::send(&token, "PUT", &path, &settings).await {
                return error.set(Some(undo.run(&token, to_field(f, &[("exten", "pattern"), ("context", "pattern")], "pattern")).await));
            }
            undo.push(path);
            let order: Vec<Value> = chosen.get_untracked().into_iter().map(|id| json!({"id": id})).collect();
            if let Err(f) = api::send(&token, "PUT", &format!("{C}/outcalls/{}/trunks", outcall["id"]), &json!({"trunks": order})).await {
                return error.set(Some(undo.run(&token, to_field(f, &[], "trunks")).await));
            }
            error.set(None);
            done.set(Some(format!("Outcall {} created.", name.get_untracked())));
            // A fresh form for the next route (the context is usually the same).
            for field in [name, pattern, prefix, caller_id] {
                field.set(String::new());
            }
            strip.set("0".into());
            chosen.set(Vec::new());
            version.bump();
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
    let label_of = move |id: i64| trunks.get().iter().find(|t| t["id"].as_i64() == Some(id)).map(trunk_label).unwrap_or_else(|| format!("trunk {id}"));

    view! {
        <form class="new-outcall" on:submit=submit>
            <h2>"New outgoing route"</h2>
            <label>"Name" <input name="name" bind:value=name required/> {field_error(error, "name")}</label>
            <label>"Pattern" <input name="pattern" bind:value=pattern placeholder="_**99." required/> {field_error(error, "pattern")}</label>
            <label>"Outcall context" <input name="context" bind:value=context/></label>
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
            <button type="submit">"Create route"</button>
            <p class="error" role="alert">{move || error.get().filter(|e| !["name", "pattern", "strip_digits", "external_prefix", "caller_id", "trunks"].contains(&e.field.as_str())).map(|e| e.message)}</p>
            <p class="ok">{move || done.get()}</p>
        </form>
    }
}

#[component]
pub fn IncallsPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let incalls = RwSignal::new(Vec::<Value>::new());
    let users = RwSignal::new(Vec::<Value>::new());
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        version.0.track();
        load("/api/confd/1.1/incalls", incalls, error);
        load("/api/confd/1.1/users", users, error);
    });
    let did = RwSignal::new(String::new());
    let context = RwSignal::new("from-extern".to_string());
    Effect::new(move |_| {
        version.0.track();
        default_context("incall", context);
    });
    let user = RwSignal::new(String::new());
    let form_error = RwSignal::new(None::<FieldError>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        spawn_local(async move {
            let token = session.token();
            let user_id: Value = user.get_untracked().parse::<i64>().map(Value::from).unwrap_or(Value::Null);
            let mut undo = Undo::default();
            let incall = match api::send(&token, "POST", &format!("{C}/incalls"), &json!({"destination": {"type": "user", "user_id": user_id}})).await {
                Ok(i) => i,
                Err(f) => return form_error.set(Some(to_field(f, &[("destination", "user"), ("user_id", "user"), ("actionarg1", "user")], "user"))),
            };
            undo.push(format!("{C}/incalls/{}", incall["id"]));
            let ext = match api::send(&token, "POST", &format!("{C}/extensions"), &json!({"exten": did.get_untracked(), "context": context.get_untracked()})).await {
                Ok(e) => e,
                Err(f) => return form_error.set(Some(undo.run(&token, to_field(f, &[("exten", "did")], "did")).await)),
            };
            undo.push(format!("{C}/extensions/{}", ext["id"]));
            if let Err(f) = api::send(&token, "PUT", &format!("{C}/incalls/{}/extensions/{}", incall["id"], ext["id"]), &json!({})).await {
                return form_error.set(Some(undo.run(&token, to_field(f, &[("exten", "did")], "did")).await));
            }
            did.set(String::new());
            form_error.set(None);
            version.bump();
        });
    };
    view! {
        <section>
            <h1>"Incoming routes"</h1>
            <table class="incalls">
                <thead><tr><th>"DID"</th><th>"Destination"</th></tr></thead>
                <tbody>
                    <For each=move || incalls.get() key=|i| (i["id"].as_i64(), i.to_string()) let:incall>
                        {
                            let dids = incall["extensions"].as_array().cloned().unwrap_or_default().iter()
                                .map(|e| format!("{} @{}", text(&e["exten"]), text(&e["context"]))).collect::<Vec<_>>().join(", ");
                            let d = &incall["destination"];
                            let dest = match d["type"].as_str() {
                                Some("user") => format!("user {} {} (#{})", text(&d["user_firstname"]), text(&d["user_lastname"]), d["user_id"]),
                                Some(other) => other.to_string(),
                                None => String::new(),
                            };
                            view! { <tr><td>{dids}</td><td>{dest}</td></tr> }
                        }
                    </For>
                </tbody>
            </table>
            <p class="error" role="alert">{move || error.get()}</p>
            <form class="new-incall" on:submit=submit>
                <h2>"New incoming route"</h2>
                <label>"DID" <input name="did" bind:value=did inputmode="tel" required/> {field_error(form_error, "did")}</label>
                <label>"Incall context" <input name="context" bind:value=context/></label>
                <label>"User"
                    <select name="user" on:change=move |ev| user.set(event_target_value(&ev))>
                        <option value="">"— choose —"</option>
                        {move || users.get().into_iter().map(|u| view! {
                            <option value=text(&u["id"])>{format!("{} {}", text(&u["firstname"]), text(&u["lastname"]))}</option>
                        }).collect_view()}
                    </select>
                    {field_error(form_error, "user")}
                </label>
                <button type="submit">"Create route"</button>
                <p class="error" role="alert">{move || form_error.get().filter(|e| e.field != "did" && e.field != "user").map(|e| e.message)}</p>
            </form>
        </section>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let version = expect_context::<DataVersion>();
    let users = RwSignal::new(Vec::<Value>::new());
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        version.0.track();
        load("/api/confd/1.1/users", users, error);
    });
    view! {
        <section>
            <h1>"Users' caller IDs"</h1>
            <p class="status">"Caller ID: \"Name\" or \"Name\" <number>. Outgoing: default, anonymous or a caller ID."</p>
            <table class="users">
                <thead><tr><th>"User"</th><th>"Caller ID"</th><th>"Outgoing caller ID"</th><th></th></tr></thead>
                <tbody>
                    <For each=move || users.get() key=|u| (u["id"].as_i64(), u.to_string()) let:user>
                        <UserRow user=user/>
                    </For>
                </tbody>
            </table>
            <p class="error" role="alert">{move || error.get()}</p>
        </section>
    }
}

#[component]
fn UserRow(user: Value) -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let id = text(&user["id"]);
    let caller_id = RwSignal::new(text(&user["caller_id"]));
    let outgoing = RwSignal::new(text(&user["outgoing_caller_id"]));
    let error = RwSignal::new(None::<FieldError>);
    let saved = RwSignal::new(false);
    let path = format!("{C}/users/{id}");
    let save = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let path = path.clone();
        spawn_local(async move {
            let outgoing_value = outgoing.get_untracked();
            let body = json!({
                "caller_id": caller_id.get_untracked(),
                "outgoing_caller_id": if outgoing_value.is_empty() { Value::Null } else { json!(outgoing_value) },
            });
            match api::send(&session.token(), "PUT", &path, &body).await {
                Ok(_) => {
                    error.set(None);
                    saved.set(true);
                    version.bump();
                }
                Err(f) => {
                    saved.set(false);
                    error.set(Some(to_field(f, &[], "caller_id")));
                }
            }
        });
    };
    let form_id = format!("user-{id}");
    view! {
        <tr data-user=id.clone()>
            <td>{format!("{} {}", text(&user["firstname"]), text(&user["lastname"]))}</td>
            <td><input form=form_id.clone() name="caller_id" bind:value=caller_id/> {field_error(error, "caller_id")}</td>
            <td><input form=form_id.clone() name="outgoing_caller_id" bind:value=outgoing placeholder="default"/> {field_error(error, "outgoing_caller_id")}</td>
            <td><form id=form_id class="inline" on:submit=save><button type="submit">"Save"</button></form>
                {move || saved.get().then_some(view! { <span class="ok">" saved"</span> })}</td>
        </tr>
    }
}

/// One line of a diff.
#[derive(Clone, Debug, PartialEq)]
pub enum DiffLine {
    Same(String),
    Added(String),
    Removed(String),
}

/// A line diff of `old` → `new` (longest common subsequence on the part
/// between the common prefix and suffix; a very large middle is shown as
/// removed then added).
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<DiffLine> = a[..prefix].iter().map(|l| DiffLine::Same(l.to_string())).collect();
    if am.len() * bm.len() > 4_000_000 {
        out.extend(am.iter().map(|l| DiffLine::Removed(l.to_string())));
        out.extend(bm.iter().map(|l| DiffLine::Added(l.to_string())));
    } else {
        // lcs[i][j]: LCS length of am[i..] and bm[j..].
        let (n, m) = (am.len(), bm.len());
        let mut lcs = vec![0u32; (n + 1) * (m + 1)];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * (m + 1) + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * (m + 1) + j + 1] + 1
                } else {
                    lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                out.push(DiffLine::Same(am[i].to_string()));
                i += 1;
                j += 1;
            } else if j < m && (i == n || lcs[i * (m + 1) + j + 1] >= lcs[(i + 1) * (m + 1) + j]) {
                out.push(DiffLine::Added(bm[j].to_string()));
                j += 1;
            } else {
                out.push(DiffLine::Removed(am[i].to_string()));
                i += 1;
            }
        }
    }
    out.extend(a[a.len() - suffix..].iter().map(|l| DiffLine::Same(l.to_string())));
    out
}

/// The diff as `+`/`-` lines, with unchanged runs folded to 2 lines of context.
fn diff_view(old: &str, new: &str) -> impl IntoView + use<> {
    let lines = line_diff(old, new);
    let changed: Vec<bool> = lines.iter().map(|l| !matches!(l, DiffLine::Same(_))).collect();
    let near = |i: usize| (i.saturating_sub(2)..(i + 3).min(lines.len())).any(|k| changed[k]);
    let mut rows = Vec::new();
    let mut folded = 0;
    for (i, line) in lines.iter().enumerate() {
        if !near(i) {
            folded += 1;
            continue;
        }
        if folded > 0 {
            rows.push(view! { <div class="diff-fold">{format!("… {folded} unchanged line(s)")}</div> }.into_any());
            folded = 0;
        }
        rows.push(match line {
            DiffLine::Same(l) => view! { <div class="diff-same">{format!("  {l}")}</div> }.into_any(),
            DiffLine::Added(l) => view! { <div class="diff-add">{format!("+ {l}")}</div> }.into_any(),
            DiffLine::Removed(l) => view! { <div class="diff-del">{format!("- {l}")}</div> }.into_any(),
        });
    }
    let unchanged = !changed.iter().any(|c| *c);
    view! {
        <pre class="config-diff">{if unchanged { view! { <div class="muted">"No change since the last apply."</div> }.into_any() } else { rows.collect_view().into_any() }}</pre>
    }
}

#[component]
pub fn ConfigPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    // (file, what will be written, what was last applied if the API says).
    let files = RwSignal::new(Vec::<(String, String, Option<String>)>::new());
    let status = RwSignal::new(Value::Null);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        version.0.track();
        spawn_local(async move {
            let token = session.token();
            match api::get::<Value>(&token, "/api/patchbay/1.0/config/preview").await {
                Ok(Value::Object(map)) => {
                    error.set(None);
                    // Either `{file: text}` or `{"files": {file: text}, "applied": {file: text}}`.
                    let applied = map.get("applied").and_then(Value::as_object).cloned();
                    let current = map.get("files").and_then(Value::as_object).cloned().unwrap_or_else(|| map.clone());
                    files.set(
                        current
                            .into_iter()
                            .filter(|(_, body)| body.is_string())
                            .map(|(name, body)| {
                                let before = applied.as_ref().map(|a| a.get(&name).map(text).unwrap_or_default());
                                (name, text(&body), before)
                            })
                            .collect(),
                    );
                }
                Ok(_) => error.set(Some("unexpected answer".into())),
                Err(failure) => error.set(Some(failure.0)),
            }
            if let Ok(current) = api::get::<Value>(&token, "/api/patchbay/1.0/status").await {
                status.set(current);
            }
        });
    });
    let last_apply = move || {
        let s = status.get();
        let apply = &s["last_apply"];
        let line = if apply.is_object() {
            format!(
                "Last applied {} ({}, {} ms): {}.",
                crate::pages::audit::utc(apply["at"].as_i64().unwrap_or(0)),
                text(&apply["mode"]),
                apply["millis"],
                apply["files"].as_array().map(|f| f.iter().map(text).collect::<Vec<_>>().join(", ")).unwrap_or_default()
            )
        } else if s["connected"] == json!(true) {
            "Nothing applied since Patchbay started.".to_string()
        } else {
            "No Asterisk connected: nothing is applied yet.".to_string()
        };
        let sync = match s["in_sync"].as_bool() {
            Some(true) => " Asterisk's files equal the database.",
            Some(false) if s["connected"] == json!(true) => " Asterisk's files differ from the database: the next apply writes the files below.",
            _ => "",
        };
        format!("{line}{sync}")
    };
    view! {
        <section class="config">
            <h1>"Config review"</h1>
            <p class="status">"What Patchbay will write to Asterisk now."</p>
            <p class="status last-apply">{last_apply}</p>
            <p class="error" role="alert">{move || error.get()}</p>
            {move || {
                let files = files.get();
                let has_applied = files.iter().any(|(_, _, applied)| applied.is_some());
                view! {
                    {(!has_applied && !files.is_empty()).then(|| view! {
                        <p class="muted no-diff">"Nothing applied to Asterisk yet (or no Asterisk connected), so no diff is shown: review the full files."</p>
                    })}
                    {files.into_iter().map(|(name, body, applied)| view! {
                        <details open data-file=name.clone()>
                            <summary>{name.clone()}</summary>
                            {applied.map(|before| view! { <h3>"Changes since the last apply"</h3> {diff_view(&before, &body)} })}
                            <pre class="config-text">{body}</pre>
                        </details>
                    }).collect_view()}
                }
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn line_diffs() {
        use super::{DiffLine::*, line_diff};
        let d = line_diff("a\nb\nc\nd", "a\nc\nx\nd");
        assert_eq!(d, [Same("a".into()), Removed("b".into()), Same("c".into()), Added("x".into()), Same("d".into())]);
        assert_eq!(line_diff("", "x"), [Added("x".into())]);
        assert!(line_diff("same\n", "same\n").iter().all(|l| matches!(l, Same(_))));
    }

    #[test]
    fn fields_named_by_wazo_errors() {
        assert_eq!(field_of("Input Error - strip_digits: ['Must be greater than or equal to 0.']").as_deref(), Some("strip_digits"));
        assert_eq!(field_of("Input Error - field 'context': Context was not found ('context': 'x')").as_deref(), Some("context"));
        assert_eq!(field_of("exten: ['String does not match expected pattern.']").as_deref(), Some("exten"));
        assert_eq!(field_of("Resource Error - Outcall already exists ('name': 'x')"), None);
    }
}
