//! Shared pieces of the routing pages (errors next to the field they name,
//! undo of half-created objects), one outgoing route's page, and the config
//! review. The lists and forms are in `outcalls`, `incalls` and `users`.

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
pub fn to_field(failure: ApiFailure, rename: &[(&str, &str)], fallback: &str) -> FieldError {
    let api_field = field_of(&failure.0).unwrap_or_default();
    let field = rename
        .iter()
        .find(|(from, _)| *from == api_field)
        .map(|(_, to)| to.to_string())
        .unwrap_or_else(|| if api_field.is_empty() { fallback.to_string() } else { api_field });
    FieldError { field, message: failure.0 }
}

/// The inline message for `field`, if the last error is about it.
pub fn field_error(error: RwSignal<Option<FieldError>>, field: &'static str) -> impl IntoView {
    move || {
        error.get().filter(|e| e.field == field).map(|e| view! { <span class="field-error" role="alert" data-field=field>{e.message}</span> })
    }
}

pub fn trunk_label(trunk: &Value) -> String {
    let name = trunk["name"].as_str().or(trunk["endpoint_sip"]["name"].as_str()).or(trunk["endpoint_custom"]["interface"].as_str());
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

/// One outgoing route, by id (`/outcalls/7`). Another tenant's id shows
/// only "not found": the API answers 404 and nothing else is fetched.
#[component]
pub fn OutcallPage() -> impl IntoView {
    crate::ui::page_title("Outgoing route");
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
                Ok(o) => {
                    outcall.try_set(Some(o));
                }
                Err(failure) => {
                    error.try_set(Some(format!("No such outgoing route in your tenant ({}).", failure.0)));
                }
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
    crate::ui::page_title("Config review");
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
                    error.try_set(None);
                    // Either `{file: text}` or `{"files": {file: text}, "applied": {file: text}}`.
                    let applied = map.get("applied").and_then(Value::as_object).cloned();
                    let current = map.get("files").and_then(Value::as_object).cloned().unwrap_or_else(|| map.clone());
                    files.try_set(
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
                Ok(_) => {
                    error.try_set(Some("unexpected answer".into()));
                }
                Err(failure) => {
                    error.try_set(Some(failure.0));
                }
            }
            if let Ok(current) = api::get::<Value>(&token, "/api/patchbay/1.0/status").await {
                status.try_set(current);
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
