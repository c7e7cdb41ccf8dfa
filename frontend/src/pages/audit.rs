//! The audit log: who changed what, when, with the object before and after
//! (only the tenants the account may see; the API filters). Each line
//! belongs to a change set (the writes of one request); "Roll back" undoes
//! that whole change set (`POST …/change-sets/{id}/rollback`), "Config
//! change" shows the Asterisk config lines it changed (`…/diff`); a rollback is
//! refused when a later change touched the same objects or a reference
//! would break, and appears here as a change set of its own.

use crate::api;
use crate::app::{DataVersion, Session};
use leptos::prelude::*;
use crate::ui::keyed_rows;
use leptos::task::spawn_local;
use serde_json::Value;

/// `YYYY-MM-DD HH:MM:SS` UTC from Unix seconds.
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Top-level fields that differ between `before` and `after`, as
/// `(field, before, after)`; secrets are already masked by the API.
pub fn changed_fields(before: &Value, after: &Value) -> Vec<(String, String, String)> {
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let show = |v: Option<&Value>| match v {
        None | Some(Value::Null) => "—".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    keys.into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .map(|k| (k.clone(), show(b.get(k)), show(a.get(k))))
        .collect()
}

/// Lines per page.
const PAGE: u64 = 50;

#[component]
pub fn AuditPage() -> impl IntoView {
    crate::ui::page_title("Audit log");
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let items = RwSignal::new(Vec::<Value>::new());
    let total = RwSignal::new(0u64);
    let kind = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let page = RwSignal::new(0u64);
    let rollback_note = RwSignal::new(None::<Result<String, String>>);
    let rollback = move |change_set: i64, what: String| {
        if !crate::ui::confirm(&format!("Roll back the change set of \"{what}\" (every change made with it)?")) {
            return;
        }
        spawn_local(async move {
            let answer = api::send(&session.token(), "POST", &format!("/api/patchbay/1.0/change-sets/{change_set}/rollback"), &serde_json::json!({})).await;
            rollback_note.try_set(Some(match answer {
                Ok(a) => Ok(format!("Rolled back: {} object(s) restored.", a["restored"].as_array().map_or(0, Vec::len))),
                Err(failure) => Err(crate::ui::humanize(&failure.0)),
            }));
            version.bump();
        });
    };
    // The Asterisk config lines a change set changed (`…/diff`), shown above the log.
    let diff_view = RwSignal::new(None::<(i64, Result<Value, String>)>);
    let show_diff = move |change_set: i64| {
        spawn_local(async move {
            let answer = api::get::<Value>(&session.token(), &format!("/api/patchbay/1.0/change-sets/{change_set}/diff")).await;
            diff_view.try_set(Some((change_set, answer.map(|a| a["config_diff"].clone()).map_err(|failure| crate::ui::humanize(&failure.0)))));
        });
    };
    Effect::new(move |_| {
        version.0.track();
        let kind = kind.get();
        let offset = page.get() * PAGE;
        spawn_local(async move {
            let filter = if kind.is_empty() { String::new() } else { format!("&kind={kind}") };
            match api::get::<Value>(&session.token(), &format!("/api/patchbay/1.0/audit?limit={PAGE}&offset={offset}{filter}")).await {
                Ok(answer) => {
                    error.try_set(None);
                    total.try_set(answer["total"].as_u64().unwrap_or(0));
                    items.try_set(answer["items"].as_array().cloned().unwrap_or_default());
                }
                Err(failure) => {
                    error.try_set(Some(failure.0));
                }
            }
        });
    });
    let kinds = ["", "trunk", "endpoint_sip", "outcall", "incall", "extension", "user", "line", "context"];
    view! {
        <section class="audit">
            <h1>"Audit log"</h1>
            <p class="status">"Every change made through the app or the API, newest first."</p>
            <label>"Object kind "
                <select name="kind" on:change=move |ev| { page.set(0); kind.set(event_target_value(&ev)) }>
                    {kinds.iter().map(|k| view! { <option value=*k>{if k.is_empty() { "all" } else { k }}</option> }).collect_view()}
                </select>
            </label>
            <p class="error" role="alert">{move || error.get()}</p>
            {move || rollback_note.get().map(|note| match note {
                Ok(text) => view! { <p class="rollback-result" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="rollback-result error" role="alert">{text}</p> }.into_any(),
            })}
            {move || diff_view.get().map(|(change_set, diff)| view! {
                <section class="config-diff" aria-label="Config change">
                    <h2>{format!("Asterisk config changed by change set {change_set}")}</h2>
                    {match diff {
                        Ok(files) => {
                            let files = files.as_object().cloned().unwrap_or_default();
                            if files.is_empty() {
                                view! { <p class="muted">"No change to Asterisk's config."</p> }.into_any()
                            } else {
                                files.into_iter().map(|(file, lines)| {
                                    let text = lines.as_array().map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n")).unwrap_or_default();
                                    view! { <h3><code>{file}</code></h3><pre class="diff">{text}</pre> }
                                }).collect_view().into_any()
                            }
                        }
                        Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
                    }}
                    <button type="button" class="small" on:click=move |_| diff_view.set(None)>"Close"</button>
                </section>
            })}
            <div class="pager">
                <button type="button" class="small prev" disabled=move || page.get() == 0 on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>"← Newer"</button>
                <span class="muted page-info">{move || {
                    let (total, first) = (total.get(), page.get() * PAGE);
                    if total == 0 { "no change".to_string() } else { format!("{}–{} of {total} change(s)", first + 1, (first + PAGE).min(total)) }
                }}</span>
                <button type="button" class="small next" disabled=move || { (page.get() + 1) * PAGE >= total.get() } on:click=move |_| page.update(|p| *p += 1)>"Older →"</button>
            </div>
            <table class="audit-log">
                <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Change"</th><th></th></tr></thead>
                <tbody>
                    {keyed_rows(move || items.get(), move |item: Value| (
                        {
                            let fields = changed_fields(&item["before"], &item["after"]);
                            let object = item["object_name"].as_str().map(str::to_string)
                                .unwrap_or_else(|| format!("#{}", item["object_id"].as_str().map(str::to_string).unwrap_or_else(|| item["object_id"].to_string())));
                            let what = format!("{} {} {object}", item["action"].as_str().unwrap_or(""), item["kind"].as_str().unwrap_or("").replace('_', " "));
                            let change_set = item["change_set"].as_i64();
                            let label = what.clone();
                            view! {
                                <tr data-audit=item["id"].to_string() data-kind=item["kind"].as_str().unwrap_or("").to_string()>
                                    <td class="when" data-label="When">{utc(item["at"].as_i64().unwrap_or(0))}</td>
                                    <td data-label="Who">{item["account"].as_str().unwrap_or("").to_string()}</td>
                                    <td class="what" data-label="What">{what}</td>
                                    <td data-label="Change">
                                        <ul class="changes">{fields.into_iter().map(|(field, before, after)| view! {
                                            <li><code>{field}</code> ": " <del>{before}</del> " → " <ins>{after}</ins></li>
                                        }).collect_view()}</ul>
                                    </td>
                                    <td class="row-actions">{change_set.map(|cs| view! {
                                        <button type="button" class="small show-diff" data-change-set=cs.to_string() on:click=move |_| show_diff(cs)>"Config change"</button>
                                        <button type="button" class="small rollback" data-change-set=cs.to_string() on:click=move |_| rollback(cs, label.clone())>"Roll back"</button>
                                    })}</td>
                                </tr>
                            }
                        }
                    ).into_any())}
                </tbody>
            </table>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_and_changes() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_709_210_096), "2024-02-29 12:34:56 UTC");
        let changes = changed_fields(&json!({"a": 1, "b": "x"}), &json!({"a": 2, "b": "x", "c": true}));
        assert_eq!(changes, [("a".into(), "1".into(), "2".into()), ("c".into(), "—".into(), "true".into())]);
        assert_eq!(changed_fields(&Value::Null, &json!({"n": "v"})).len(), 1);
    }
}
