//! Pieces every form shares: human labels for API field names, the
//! tenant's context picker, a delete button that says what depends on the
//! object, the page title, and the panic banner.
//!
//! Async completions write with `try_set`/`try_update`: a page left while
//! its request runs has disposed its signals, and a plain `set` would panic.

use crate::api;
use crate::app::{DataVersion, Session};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use std::sync::Arc;

pub use crate::pages::routes::{FieldError, field_of};

pub const C: &str = "/api/confd/1.1";

/// What a user calls an API field (errors name the API's fields).
pub fn human_label(field: &str) -> String {
    let label = match field {
        "exten" | "pattern" => "Pattern / number",
        "did" => "DID (public number)",
        "context" => "Context",
        "name" => "Name",
        "label" => "Label",
        "strip_digits" => "Strip digits",
        "external_prefix" => "Prefix",
        "caller_id" => "Caller ID",
        "outgoing_caller_id" => "Outgoing caller ID",
        "firstname" => "First name",
        "lastname" => "Last name",
        "user" | "user_id" => "User",
        "trunks" => "Trunks",
        "host" | "remote_host" => "Host",
        "interface" => "Interface",
        "interface_suffix" => "Suffix",
        "username" | "auth_username" => "Username",
        "password" | "secret" | "auth_password" => "Password",
        "endpoint_section_options" => "Endpoint options",
        "aor_section_options" => "Contact and qualify options",
        "auth_section_options" => "Inbound authentication",
        "identify_section_options" => "Inbound identification",
        "registration_section_options" => "Registration",
        "registration_outbound_auth_section_options" => "Registration credentials",
        "outbound_auth_section_options" => "Outbound credentials",
        "options" => "Options",
        "destination" => "Destination",
        "cause" => "Hangup cause",
        "trunk_id" => "Trunk",
        "number" => "Number",
        "transport" => "Transport",
        other => return other.replace('_', " "),
    };
    label.to_string()
}

/// An API error message with its field names replaced by their labels:
/// `Input Error - strip_digits: [...]` → `Strip digits: [...]`.
pub fn humanize(message: &str) -> String {
    message
        .split("; ")
        .map(|one| {
            let rest = one.strip_prefix("Input Error - ").unwrap_or(one);
            if let Some(field) = rest.strip_prefix("field '").and_then(|r| r.split_once('\'')).map(|(f, _)| f) {
                let after = rest.split_once("':").map(|(_, a)| a.trim()).unwrap_or(rest);
                return format!("{}: {after}", human_label(field));
            }
            match rest.split_once(':') {
                Some((field, after)) if !field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    format!("{}:{after}", human_label(field))
                }
                _ => one.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn items(value: &Value) -> Vec<Value> {
    value["items"].as_array().cloned().unwrap_or_default()
}

pub fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Loads `path`'s `items` into `into` after every data change; `loading`
/// is true until the first answer.
/// A list a page needs beside its own (users for an incall's picker...):
/// loaded like [`load_list`], its loading state and errors not shown.
pub fn load_side_list(path: String, into: RwSignal<Vec<Value>>) {
    load_list(path, into, RwSignal::new(true), RwSignal::new(None));
}

pub fn load_list(path: String, into: RwSignal<Vec<Value>>, loading: RwSignal<bool>, error: RwSignal<Option<String>>) {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    Effect::new(move |_| {
        version.0.track();
        let path = path.clone();
        spawn_local(async move {
            match api::get::<Value>(&session.token(), &path).await {
                Ok(list) => {
                    into.try_set(items(&list));
                }
                Err(failure) => {
                    error.try_set(Some(humanize(&failure.0)));
                }
            }
            loading.try_set(false);
        });
    });
}

/// The current tenant's contexts (reloaded on every data change).
pub fn tenant_contexts() -> RwSignal<Vec<Value>> {
    let contexts = RwSignal::new(Vec::new());
    load_list(format!("{C}/contexts"), contexts, RwSignal::new(true), RwSignal::new(None));
    contexts
}

/// A `<select>` of the tenant's contexts of `kind` (`internal`, `incall`,
/// `outcall`). When `value` names none of them (a new form, or a tenant
/// switch), it takes the first one, so nothing foreign is ever prefilled.
#[component]
pub fn ContextPicker(kind: &'static str, value: RwSignal<String>, name: &'static str, contexts: RwSignal<Vec<Value>>) -> impl IntoView {
    let names = move || -> Vec<(String, String)> {
        contexts.with(|all| {
            all.iter()
                .filter(|c| c["type"] == kind)
                .filter_map(|c| {
                    let name = c["name"].as_str()?.to_string();
                    let label = c["label"].as_str().filter(|l| !l.is_empty() && *l != name).map(|l| format!("{l} ({name})")).unwrap_or_else(|| name.clone());
                    Some((name, label))
                })
                .collect()
        })
    };
    Effect::new(move |_| {
        let names = names();
        if !names.is_empty() && !names.iter().any(|(n, _)| value.with_untracked(|v| v == n)) {
            value.set(names[0].0.clone());
        }
    });
    view! {
        <select name=name data-context-kind=kind prop:value=move || value.get() on:change=move |ev| value.set(event_target_value(&ev))>
            {move || {
                let names = names();
                if names.is_empty() {
                    view! { <option value="">{format!("(no {kind} context in this tenant)")}</option> }.into_any()
                } else {
                    names.into_iter().map(|(n, label)| {
                        let selected = value.with_untracked(|v| *v == n);
                        view! { <option value=n selected=selected>{label}</option> }
                    }).collect_view().into_any()
                }
            }}
        </select>
    }
}

/// Asks the browser to confirm `what`, listing what depends on it.
pub fn confirm(question: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(false)
}

/// Deletes `paths` in order after a confirmation, then bumps the data
/// version (through [`submit`]). `busy` disables the button meanwhile;
/// failures go to `error`.
pub fn delete_after_confirm(question: String, paths: Vec<String>, busy: RwSignal<bool>, error: RwSignal<Option<String>>) {
    if !confirm(&question) {
        return;
    }
    submit(
        busy,
        error,
        |token| async move {
            for path in paths {
                api::delete(&token, &path).await?;
            }
            Ok::<(), api::ApiFailure>(())
        },
        |()| {},
    );
}

/// An error as the page shows it: API field names replaced by their labels.
pub trait Shown {
    fn shown(self) -> Self;
}

impl Shown for String {
    fn shown(self) -> String {
        humanize(&self)
    }
}

impl Shown for FieldError {
    fn shown(self) -> FieldError {
        FieldError { message: humanize(&self.message), ..self }
    }
}

impl From<api::ApiFailure> for String {
    fn from(failure: api::ApiFailure) -> String {
        failure.0
    }
}

/// Runs `request` (given the session's token) with `busy` set, releases
/// `busy` when it ends and hands its outcome to `finish`. Completions
/// write with `try_set`: the page may be gone by then.
pub fn run<R: 'static, F: Future<Output = R> + 'static>(busy: RwSignal<bool>, request: impl FnOnce(String) -> F, finish: impl FnOnce(R) + 'static) {
    let pending = request(expect_context::<Session>().token());
    busy.set(true);
    spawn_local(async move {
        let outcome = pending.await;
        busy.try_set(false);
        finish(outcome);
    });
}

/// A write (one request or several in `request`), the pattern of every
/// form and button that changes data: [`run`], then either its failure in
/// `error` (with human labels), or `error` cleared, `done` given the
/// answer, and the data version bumped (every list reloads).
pub fn submit<T: 'static, R: Into<E> + 'static, E: Shown + Send + Sync + 'static, F: Future<Output = Result<T, R>> + 'static>(
    busy: RwSignal<bool>,
    error: RwSignal<Option<E>>,
    request: impl FnOnce(String) -> F,
    done: impl FnOnce(T) + 'static,
) {
    let version = expect_context::<DataVersion>();
    run(busy, request, move |outcome| match outcome {
        Ok(answer) => {
            error.try_set(None);
            done(answer);
            version.bump();
        }
        Err(failure) => {
            error.try_set(Some(failure.into().shown()));
        }
    });
}

/// Sets the document title (`<page> · Patchbay`).
pub fn page_title(page: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(&format!("{page} · Patchbay"));
    }
}

/// `value` with `decimals` digits after the point, as `format!("{value:.N}")`
/// writes it (ties round away from zero instead of to even). Integer
/// arithmetic only: Rust's float formatting would add about 11 KB of code
/// to the wasm for a few timings and the health chart's coordinates.
pub fn fixed(value: f64, decimals: u32) -> String {
    let unit = 10_u64.pow(decimals);
    // `as` saturates: NaN → 0, huge values → u64::MAX (never met here).
    let scaled = (value.abs() * unit as f64).round() as u64;
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if decimals == 0 {
        format!("{sign}{scaled}")
    } else {
        format!("{sign}{}.{:0width$}", scaled / unit, scaled % unit, width = decimals as usize)
    }
}

/// A panic shows a banner (with a reload button) instead of a frozen page,
/// after the console message of `console_error_panic_hook`.
pub fn install_panic_banner() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let Some(body) = document.body() else { return };
        if document.get_element_by_id("fatal-error").is_some() {
            return;
        }
        if let Ok(banner) = document.create_element("div") {
            banner.set_id("fatal-error");
            let _ = banner.set_attribute("role", "alert");
            banner.set_inner_html("Something went wrong in this page. <button onclick=\"location.reload()\">Reload</button>");
            let _ = body.prepend_with_node_1(&banner);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::{fixed, humanize};

    #[test]
    fn fixed_writes_as_format_precision_does() {
        for (value, decimals) in [(0.0, 1), (1.04, 1), (1.06, 1), (12.345, 2), (0.0004, 3), (3.9996, 3), (599.96, 1), (82.0, 0), (14.0, 0), (1234.5678, 3)] {
            assert_eq!(fixed(value, decimals), format!("{value:.*}", decimals as usize), "{value} {decimals}");
        }
        assert_eq!(fixed(-2.5, 1), "-2.5");
    }

    #[test]
    fn api_field_names_become_labels() {
        assert_eq!(humanize("Input Error - strip_digits: ['Not a valid integer.']"), "Strip digits: ['Not a valid integer.']");
        assert_eq!(humanize("Input Error - field 'context': Context was not found ('context': 'x')"), "Context: Context was not found ('context': 'x')");
        assert_eq!(humanize("Resource Error - Outcall already exists"), "Resource Error - Outcall already exists");
    }
}

/// Rows per page of the lists.
pub const PAGE_SIZE: usize = 25;

/// A list's search, sort and page, sent to the API (`search`, `order`,
/// `direction`, `limit`, `offset`: the API filters, sorts and pages), and
/// the `total` it answered.
#[derive(Clone, Copy)]
pub struct ListQuery {
    pub search: RwSignal<String>,
    pub order: RwSignal<String>,
    pub descending: RwSignal<bool>,
    pub page: RwSignal<usize>,
    pub total: RwSignal<usize>,
}

impl ListQuery {
    pub fn new(order: &str) -> ListQuery {
        ListQuery {
            search: RwSignal::new(String::new()),
            order: RwSignal::new(order.to_string()),
            descending: RwSignal::new(false),
            page: RwSignal::new(0),
            total: RwSignal::new(0),
        }
    }

    /// [`ListQuery::path`] without subscribing (for polls).
    pub fn with_untracked_path(&self, base: &str) -> String {
        leptos::prelude::untrack(|| self.path(base))
    }

    /// `base` with the query (tracked: an effect reading it reruns on change).
    pub fn path(&self, base: &str) -> String {
        let search = self.search.get();
        let search = search.trim();
        let mut path = format!(
            "{base}?order={}&direction={}&limit={PAGE_SIZE}&offset={}",
            self.order.get(),
            if self.descending.get() { "desc" } else { "asc" },
            self.page.get() * PAGE_SIZE
        );
        if !search.is_empty() {
            path.push_str("&search=");
            path.push_str(&query_escape(search));
        }
        path
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn query_escape(value: &str) -> String {
    value.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Like [`load_list`], one page of `base` as `query` asks for it.
pub fn load_query_list(base: String, query: ListQuery, into: RwSignal<Vec<Value>>, loading: RwSignal<bool>, error: RwSignal<Option<String>>) {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    Effect::new(move |_| {
        version.0.track();
        let path = query.path(&base);
        spawn_local(async move {
            match api::get::<Value>(&session.token(), &path).await {
                Ok(list) => {
                    query.total.try_set(list["total"].as_u64().unwrap_or(0) as usize);
                    into.try_set(items(&list));
                    error.try_set(None);
                }
                Err(failure) => {
                    error.try_set(Some(humanize(&failure.0)));
                }
            }
            loading.try_set(false);
        });
    });
}

/// The search box and the sort order of a list (`orders`: API column, label).
#[component]
pub fn ListTools(query: ListQuery, orders: &'static [(&'static str, &'static str)], what: &'static str) -> impl IntoView {
    view! {
        <div class="list-tools">
            <label>{format!("Search {what}")}
                <input type="search" name="search" prop:value=move || query.search.get()
                    on:input=move |ev| { query.page.set(0); query.search.set(event_target_value(&ev)) }/>
            </label>
            <label>"Sort by"
                <select name="order" prop:value=move || query.order.get() on:change=move |ev| { query.page.set(0); query.order.set(event_target_value(&ev)) }>
                    {orders.iter().map(|(column, label)| view! { <option value=*column>{*label}</option> }).collect_view()}
                </select>
            </label>
            <label class="check"><input type="checkbox" name="descending" prop:checked=move || query.descending.get()
                on:change=move |ev| { query.page.set(0); query.descending.set(event_target_checked(&ev)) }/>"Descending"</label>
        </div>
    }
}

/// Previous / next page, and where this page is in the total.
#[component]
pub fn Pager(query: ListQuery) -> impl IntoView {
    view! {
        <div class="pager">
            <button type="button" class="small prev" disabled=move || query.page.get() == 0 on:click=move |_| query.page.update(|p| *p = p.saturating_sub(1))>"← Previous"</button>
            <span class="muted page-info">{move || {
                let (total, first) = (query.total.get(), query.page.get() * PAGE_SIZE);
                if total == 0 { "none".to_string() } else { format!("{}–{} of {total}", first + 1, (first + PAGE_SIZE).min(total)) }
            }}</span>
            <button type="button" class="small next" disabled=move || { (query.page.get() + 1) * PAGE_SIZE >= query.total.get() } on:click=move |_| query.page.update(|p| *p += 1)>"Next →"</button>
        </div>
    }
}

/// Leptos's `<Show>` (same props, same behaviour: `when` memoized, the
/// children or the fallback), compiled once: the condition and the children
/// are boxed before any generic code, where Leptos's own `Show` compiles its
/// memo, its children glue and its view per call site (the app has about 40).
#[component]
pub fn Show(children: ChildrenFn, when: impl Fn() -> bool + Send + Sync + 'static, #[prop(optional, into)] fallback: ViewFn) -> impl IntoView {
    show_boxed(Arc::new(when), children, fallback)
}

fn show_boxed(when: Arc<dyn Fn() -> bool + Send + Sync>, children: ChildrenFn, fallback: ViewFn) -> AnyView {
    let shown = Memo::new(move |_| when());
    (move || if shown.get() { children() } else { fallback.run() }).into_any()
}

/// Leptos's `<For>` over JSON rows keyed by their text (a row whose
/// document changed is rebuilt), compiled once for every list: `row` builds
/// one row.
pub fn keyed_rows(each: impl Fn() -> Vec<Value> + Send + Sync + 'static, row: impl Fn(Value) -> AnyView + Send + Sync + 'static) -> AnyView {
    rows_boxed(Arc::new(each), Arc::new(row))
}

fn rows_boxed(each: Arc<dyn Fn() -> Vec<Value> + Send + Sync>, row: Arc<dyn Fn(Value) -> AnyView + Send + Sync>) -> AnyView {
    view! { <For each=move || each() key=|value: &Value| value.to_string() children=move |value| row(value)/> }.into_any()
}
