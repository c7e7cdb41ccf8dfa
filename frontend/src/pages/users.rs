//! Users and their line: one form creates (or edits) the user, its
//! extension in one of the tenant's internal contexts, and the SIP
//! endpoint of its phone — one that registers with a password, or one at a
//! fixed address. The line ties them together. Edit and delete (the
//! confirmation names the incoming routes that ring the user).

use crate::api;
use crate::app::Session;
use crate::pages::outcalls::scroll_to;
use crate::pages::routes::{FieldError, Undo, field_error, to_field};
use crate::ui::{C, ContextPicker, ListQuery, ListTools, Pager, delete_after_confirm, load_query_list, load_side_list, page_title, submit, tenant_contexts, text};
use leptos::prelude::*;
use crate::ui::Show;
use leptos::task::spawn_local;
use serde_json::{Value, json};

/// A user with its line, extension and endpoint, as the tables show them.
#[derive(Clone, Debug, PartialEq)]
struct UserRow {
    user: Value,
    line: Value,
    extension: Value,
    endpoint: Value,
}

fn rows(users: &[Value], lines: &[Value], endpoints: &[Value]) -> Vec<UserRow> {
    users
        .iter()
        .map(|user| {
            let line = lines.iter().find(|l| l["users"].as_array().is_some_and(|u| u.iter().any(|u| u["id"] == user["id"]))).cloned().unwrap_or(Value::Null);
            let extension = line["extensions"][0].clone();
            let endpoint = endpoints.iter().find(|e| e["uuid"] == line["endpoint_sip"]["uuid"]).cloned().unwrap_or(Value::Null);
            UserRow { user: user.clone(), line, extension, endpoint }
        })
        .collect()
}

#[component]
pub fn UsersPage() -> impl IntoView {
    page_title("Users");
    let users = RwSignal::new(Vec::<Value>::new());
    let lines = RwSignal::new(Vec::<Value>::new());
    let endpoints = RwSignal::new(Vec::<Value>::new());
    let incalls = RwSignal::new(Vec::<Value>::new());
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(true);
    let query = ListQuery::new("firstname");
    load_query_list(format!("{C}/users"), query, users, loading, error);
    load_side_list(format!("{C}/lines"), lines);
    load_side_list(format!("{C}/endpoints/sip"), endpoints);
    load_side_list(format!("{C}/incalls"), incalls);
    let table = Memo::new(move |_| users.with(|u| lines.with(|l| endpoints.with(|e| rows(u, l, e)))));
    let editing = RwSignal::new(None::<UserRow>);
    let busy = RwSignal::new(false);
    let remove = move |row: UserRow| {
        let name = format!("{} {}", text(&row.user["firstname"]), text(&row.user["lastname"])).trim().to_string();
        let ringing: Vec<String> = incalls.with(|all| {
            all.iter()
                .filter(|i| i["destination"]["type"] == "user" && i["destination"]["user_id"] == row.user["id"])
                .flat_map(|i| i["extensions"].as_array().cloned().unwrap_or_default())
                .map(|e| text(&e["exten"]))
                .collect()
        });
        let question = if ringing.is_empty() {
            format!("Delete user {name}, its line, extension and phone endpoint?")
        } else {
            format!("Delete user {name}, its line, extension and phone endpoint? Incoming routes ring this user and will fail: {}.", ringing.join(", "))
        };
        let mut paths = vec![format!("{C}/users/{}", row.user["id"])];
        if row.line.is_object() {
            paths.push(format!("{C}/lines/{}", row.line["id"]));
        }
        if row.extension.is_object() {
            paths.push(format!("{C}/extensions/{}", row.extension["id"]));
        }
        if row.endpoint.is_object() {
            paths.push(format!("{C}/endpoints/sip/{}", text(&row.endpoint["uuid"])));
        }
        delete_after_confirm(question, paths, busy, error);
    };
    view! {
        <section>
            <h1>"Users"</h1>
            <p class="status">"Caller ID: \"Name\" or \"Name\" <number>. Outgoing caller ID: empty (default), anonymous, or a caller ID."</p>
            <ListTools query=query orders=&[("firstname", "First name"), ("lastname", "Last name"), ("id", "Created")] what="users"/>
            <crate::pages::csv::CsvTools kind="users" file_name="users.csv" example="firstname,lastname,exten,context,caller_id,outgoing_caller_id"/>
            <div class="table-wrap">
            <table class="users">
                <thead><tr><th>"User"</th><th>"Extension"</th><th>"Phone (SIP endpoint)"</th><th>"Caller ID"</th><th>"Outgoing caller ID"</th><th></th></tr></thead>
                <tbody>
                    <Show when=move || loading.get()><tr><td colspan="6" class="muted loading">"Loading…"</td></tr></Show>
                    <Show when=move || !loading.get() && users.with(Vec::is_empty)><tr><td colspan="6" class="muted">"No user yet."</td></tr></Show>
                    <For each=move || table.get() key=|r| format!("{}{}{}{}", r.user, r.line, r.extension, r.endpoint) let:row>
                        {
                            let for_edit = row.clone();
                            let for_delete = row.clone();
                            let exten = if row.extension.is_object() { format!("{} @{}", text(&row.extension["exten"]), text(&row.extension["context"])) } else { "—".into() };
                            view! {
                                <tr data-user=text(&row.user["id"])>
                                    <td>{format!("{} {}", text(&row.user["firstname"]), text(&row.user["lastname"]))}</td>
                                    <td class="exten">{exten}</td>
                                    <td>{text(&row.endpoint["name"])}</td>
                                    <td class="caller-id">{text(&row.user["caller_id"])}</td>
                                    <td class="outgoing-caller-id">{text(&row.user["outgoing_caller_id"])}</td>
                                    <td class="row-actions">
                                        <button type="button" class="small edit" disabled=move || busy.get() on:click=move |_| { editing.set(Some(for_edit.clone())); scroll_to("form.user-form"); }>"Edit"</button>
                                        <button type="button" class="small danger delete" disabled=move || busy.get() on:click=move |_| remove(for_delete.clone())>"Delete"</button>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            </div>
            <Pager query=query/>
            <p class="error" role="alert">{move || error.get()}</p>
            {move || {
                let current = editing.get();
                view! { <UserForm editing=current on_done=move || editing.set(None)/> }
            }}
        </section>
    }
}

#[component]
fn UserForm(editing: Option<UserRow>, on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let session = expect_context::<Session>();
    let contexts = tenant_contexts();
    let row = editing.clone();
    let user_v = row.as_ref().map(|r| r.user.clone()).unwrap_or(Value::Null);
    let ext_v = row.as_ref().map(|r| r.extension.clone()).unwrap_or(Value::Null);
    let ep_v = row.as_ref().map(|r| r.endpoint.clone()).unwrap_or(Value::Null);
    let firstname = RwSignal::new(text(&user_v["firstname"]));
    let lastname = RwSignal::new(text(&user_v["lastname"]));
    let caller_id = RwSignal::new(text(&user_v["caller_id"]));
    let outgoing = RwSignal::new(text(&user_v["outgoing_caller_id"]));
    let exten = RwSignal::new(text(&ext_v["exten"]));
    let context = RwSignal::new(text(&ext_v["context"]));
    let endpoint_name = RwSignal::new(text(&ep_v["name"]));
    // The endpoint's full body (fetched on edit) keeps options this form does not show.
    let endpoint_full = RwSignal::new(Value::Null);
    let phone_kind = RwSignal::new("register".to_string());
    let password = RwSignal::new(String::new());
    let kept_password = RwSignal::new(None::<String>);
    let address = RwSignal::new(String::new());
    if ep_v.is_object() {
        let path = format!("{C}/endpoints/sip/{}", text(&ep_v["uuid"]));
        spawn_local(async move {
            if let Ok(full) = api::get::<Value>(&session.token(), &path).await {
                let find = |field: &str, key: &str| {
                    full[field].as_array().and_then(|l| l.iter().rev().find(|p| p[0] == key)).map(|p| text(&p[1]))
                };
                if let Some(ip) = find("identify_section_options", "match") {
                    phone_kind.try_set("address".into());
                    address.try_set(ip);
                } else {
                    kept_password.try_set(find("auth_section_options", "password"));
                }
                endpoint_full.try_set(full);
            }
        });
    }
    let error = RwSignal::new(None::<FieldError>);
    let busy = RwSignal::new(false);
    let editing_now = row.is_some();

    let endpoint_body = move || -> Value {
        let name = endpoint_name.get_untracked().trim().to_string();
        let mut body = endpoint_full.get_untracked();
        if !body.is_object() {
            body = json!({"endpoint_section_options": [["allow", "!all,ulaw,alaw,g722"], ["direct_media", "no"], ["rtp_symmetric", "yes"], ["rewrite_contact", "yes"]]});
        }
        body["name"] = json!(name);
        body["label"] = json!(format!("{} {}", firstname.get_untracked(), lastname.get_untracked()).trim());
        if phone_kind.get_untracked() == "address" {
            let ip = address.get_untracked().trim().to_string();
            let number = exten.get_untracked().trim().to_string();
            body["aor_section_options"] = json!([["contact", format!("sip:{number}@{ip}")]]);
            body["identify_section_options"] = json!([["match", ip.split(':').next().unwrap_or_default()]]);
            body["auth_section_options"] = json!([]);
        } else {
            let typed = password.get_untracked();
            let secret = if typed.is_empty() { kept_password.get_untracked().unwrap_or_default() } else { typed };
            body["aor_section_options"] = json!([["max_contacts", "1"], ["remove_existing", "yes"], ["qualify_frequency", "60"]]);
            body["identify_section_options"] = json!([]);
            body["auth_section_options"] = json!([["username", name], ["password", secret]]);
        }
        for key in ["uuid", "tenant_uuid", "links", "trunk", "line", "asterisk_id"] {
            if let Some(map) = body.as_object_mut() {
                map.remove(key);
            }
        }
        body
    };

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let outgoing_value = outgoing.get_untracked();
        let cid = caller_id.get_untracked();
        let last = lastname.get_untracked();
        let user_body = json!({
            "firstname": firstname.get_untracked(),
            "lastname": if last.is_empty() { Value::Null } else { json!(last) },
            "caller_id": if cid.is_empty() { Value::Null } else { json!(cid) },
            "outgoing_caller_id": if outgoing_value.is_empty() { Value::Null } else { json!(outgoing_value) },
        });
        let ext_body = json!({"exten": exten.get_untracked().trim(), "context": context.get_untracked()});
        let wants_phone = !endpoint_name.get_untracked().trim().is_empty();
        let ep_body = endpoint_body();
        let row = row.clone();
        let request = move |token: String| async move {
            match row {
                Some(row) => save_user(&token, &row, &user_body, &ext_body, wants_phone.then_some(&ep_body)).await,
                None => create_user(&token, &user_body, &ext_body, wants_phone.then_some(&ep_body)).await,
            }
        };
        submit(busy, error, request, move |()| {
            for field in [firstname, lastname, caller_id, outgoing, exten, endpoint_name, password, address] {
                field.try_set(String::new());
            }
            on_done();
        });
    };
    let shown = ["firstname", "lastname", "caller_id", "outgoing_caller_id", "exten", "endpoint"];
    view! {
        <form class="user-form" on:submit=submit data-editing=editing.as_ref().map(|r| text(&r.user["id"]))>
            <h2>{if editing_now { "Edit user" } else { "New user" }}</h2>
            <div class="grid2">
                <label>"First name" <input name="firstname" bind:value=firstname required/> {field_error(error, "firstname")}</label>
                <label>"Last name" <input name="lastname" bind:value=lastname/> {field_error(error, "lastname")}</label>
                <label>"Caller ID" <input name="caller_id" bind:value=caller_id placeholder="\"Front desk\" <1001>"/> {field_error(error, "caller_id")}</label>
                <label>"Outgoing caller ID" <input name="outgoing_caller_id" bind:value=outgoing placeholder="default"/> {field_error(error, "outgoing_caller_id")}</label>
                <label>"Extension" <input name="exten" bind:value=exten inputmode="tel" placeholder="1001"/> {field_error(error, "exten")}</label>
                <label>"Internal context" <ContextPicker kind="internal" value=context name="context" contexts=contexts/></label>
            </div>
            <fieldset class="phone">
                <legend>"Phone (SIP endpoint; empty name: no phone)"</legend>
                <label>"Endpoint name" <input name="endpoint_name" bind:value=endpoint_name autocomplete="off" placeholder="front-desk"/> {field_error(error, "endpoint")}</label>
                <label class="check"><input type="radio" name="phone_kind" value="register" prop:checked=move || phone_kind.get() == "register" on:change=move |_| phone_kind.set("register".into())/>
                    "Registers with a password (username: the endpoint name)"</label>
                <label class="check"><input type="radio" name="phone_kind" value="address" prop:checked=move || phone_kind.get() == "address" on:change=move |_| phone_kind.set("address".into())/>
                    "At a fixed address (no registration)"</label>
                <Show when=move || phone_kind.get() == "register">
                    <label>"Password" <input name="phone_password" type="password" bind:value=password autocomplete="new-password"
                        placeholder=move || if kept_password.get().is_some() { "unchanged (type to replace)" } else { "" }/></label>
                </Show>
                <Show when=move || phone_kind.get() == "address">
                    <label>"Address (host or host:port)" <input name="phone_address" bind:value=address placeholder="192.0.2.20:5060"/></label>
                </Show>
            </fieldset>
            <div class="actions">
                <button type="submit" disabled=move || busy.get()>{move || if busy.get() { "Saving…" } else if editing_now { "Save user" } else { "Create user" }}</button>
                {editing_now.then(|| view! { <button type="button" class="link" on:click=move |_| on_done()>"Cancel"</button> })}
            </div>
            <p class="error" role="alert">{move || error.get().filter(|e| !shown.contains(&e.field.as_str())).map(|e| e.message)}</p>
        </form>
    }
}

/// User, extension, endpoint, line and their associations; undone if a step fails.
async fn create_user(token: &str, user: &Value, extension: &Value, endpoint: Option<&Value>) -> Result<(), FieldError> {
    let mut undo = Undo::default();
    let created = api::send(token, "POST", &format!("{C}/users"), user).await.map_err(|f| to_field(f, &[], "firstname"))?;
    undo.push(format!("{C}/users/{}", created["id"]));
    let steps: Result<(), FieldError> = async {
        let has_extension = !extension["exten"].as_str().unwrap_or_default().is_empty();
        if !has_extension && endpoint.is_none() {
            return Ok(());
        }
        let line = api::send(token, "POST", &format!("{C}/lines"), &json!({})).await.map_err(|f| to_field(f, &[], "exten"))?;
        undo.push(format!("{C}/lines/{}", line["id"]));
        if has_extension {
            let ext = api::send(token, "POST", &format!("{C}/extensions"), extension).await.map_err(|f| to_field(f, &[], "exten"))?;
            undo.push(format!("{C}/extensions/{}", ext["id"]));
            api::send(token, "PUT", &format!("{C}/lines/{}/extensions/{}", line["id"], ext["id"]), &json!({})).await.map_err(|f| to_field(f, &[], "exten"))?;
        }
        if let Some(endpoint) = endpoint {
            let ep = api::send(token, "POST", &format!("{C}/endpoints/sip"), endpoint).await.map_err(|f| to_field(f, &[("name", "endpoint")], "endpoint"))?;
            undo.push(format!("{C}/endpoints/sip/{}", text(&ep["uuid"])));
            api::send(token, "PUT", &format!("{C}/lines/{}/endpoints/sip/{}", line["id"], text(&ep["uuid"])), &json!({}))
                .await
                .map_err(|f| to_field(f, &[], "endpoint"))?;
        }
        api::send(token, "PUT", &format!("{C}/users/{}/lines/{}", created["id"], line["id"]), &json!({})).await.map_err(|f| to_field(f, &[], "exten"))?;
        Ok(())
    }
    .await;
    match steps {
        Ok(()) => Ok(()),
        Err(e) => Err(undo.run(token, e).await),
    }
}

/// Saves an edited user: the user, its extension, its endpoint (created
/// with a line when it had none).
async fn save_user(token: &str, row: &UserRow, user: &Value, extension: &Value, endpoint: Option<&Value>) -> Result<(), FieldError> {
    api::send(token, "PUT", &format!("{C}/users/{}", row.user["id"]), user).await.map_err(|f| to_field(f, &[], "firstname"))?;
    if row.extension.is_object() {
        api::send(token, "PUT", &format!("{C}/extensions/{}", row.extension["id"]), extension).await.map_err(|f| to_field(f, &[], "exten"))?;
    }
    if let (Some(endpoint), true) = (endpoint, row.endpoint.is_object()) {
        api::send(token, "PUT", &format!("{C}/endpoints/sip/{}", text(&row.endpoint["uuid"])), endpoint)
            .await
            .map_err(|f| to_field(f, &[("name", "endpoint")], "endpoint"))?;
    }
    Ok(())
}
