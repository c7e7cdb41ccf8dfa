//! CSV export and import on a list page (incalls, users, outcall
//! patterns), through `/api/patchbay/1.0/csv/{kind}`. Export fetches the
//! tenant's rows and offers them as a download. Import takes the CSV pasted
//! into the text box or read from a file picked on the computer (the file's
//! text lands in the box, where it can still be edited). It previews first: the
//! server runs every row through the API's own checks and rolls back; each
//! row shows its errors (in Wazo's wording) beside it. "Import" is offered
//! only when no row has an error, and writes all rows or none.

use crate::api;
use crate::app::DataVersion;
use crate::ui::{humanize, query_escape, run, text};
use leptos::prelude::*;
use crate::ui::Show;
use leptos::task::spawn_local;
use serde_json::Value;
use wasm_bindgen::JsCast;

const CSV: &str = "/api/patchbay/1.0/csv";

#[component]
pub fn CsvTools(kind: &'static str, file_name: &'static str, example: &'static str) -> impl IntoView {
    let version = expect_context::<DataVersion>();
    let exported = RwSignal::new(None::<String>);
    let input = RwSignal::new(String::new());
    let report = RwSignal::new(None::<Value>);
    let message = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let export = move |_| {
        run(busy, |token| async move { api::send_text(&token, "GET", &format!("{CSV}/{kind}"), None).await }, move |answer| {
            match answer {
                Ok((200, csv)) => {
                    exported.try_set(Some(csv));
                    message.try_set(None);
                }
                Ok((status, body)) => {
                    message.try_set(Some(format!("Export failed (HTTP {status}): {}", humanize(&body))));
                }
                Err(e) => {
                    message.try_set(Some(humanize(&e.0)));
                }
            }
        });
    };
    let import = move |apply: bool| {
        if busy.get_untracked() {
            return;
        }
        message.set(None);
        let body = input.get_untracked();
        let path = format!("{CSV}/{kind}{}", if apply { "?apply=true" } else { "" });
        run(busy, |token| async move { api::send_text(&token, "POST", &path, Some(body)).await }, move |answer| {
            match answer {
                Ok((status, answer)) => match serde_json::from_str::<Value>(&answer) {
                    Ok(found) if found.is_object() => {
                        if found["applied"] == true {
                            let count = found["rows"].as_array().map_or(0, Vec::len);
                            message.try_set(Some(format!("Imported {count} row{}.", if count == 1 { "" } else { "s" })));
                            report.try_set(None);
                            input.try_set(String::new());
                            version.bump();
                        } else {
                            report.try_set(Some(found));
                        }
                    }
                    // A refused file (columns, quoting): Wazo's message list.
                    Ok(Value::Array(list)) => {
                        report.try_set(None);
                        message.try_set(Some(humanize(&list.iter().map(text).collect::<Vec<_>>().join("; "))));
                    }
                    _ => {
                        message.try_set(Some(format!("HTTP {status}")));
                    }
                },
                Err(e) => {
                    message.try_set(Some(humanize(&e.0)));
                }
            }
        });
    };
    // A file picked on the computer: its text goes into the box, to preview.
    let picked = move |ev: leptos::ev::Event| {
        let Some(picker) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = picker.files().and_then(|files| files.get(0)) else { return };
        let name = file.name();
        report.set(None);
        spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text()).await.ok().and_then(|text| text.as_string()) {
                Some(text) => {
                    input.try_set(text);
                    message.try_set(Some(format!("Read {name}: preview it before importing.")));
                }
                None => {
                    message.try_set(Some(format!("Could not read {name}.")));
                }
            }
        });
        // The same file picked again (after an edit on disk) fires again.
        picker.set_value("");
    };
    let errors = move || report.with(|r| r.as_ref().map_or(0, |r| r["errors"].as_u64().unwrap_or(0)));

    view! {
        <details class="csv" data-kind=kind>
            <summary>"CSV export / import"</summary>
            <div class="actions">
                <button type="button" class="small export" disabled=move || busy.get() on:click=export>"Export CSV"</button>
                {move || exported.get().map(|csv| view! {
                    <a class="download" download=file_name href=format!("data:text/csv;charset=utf-8,{}", query_escape(&csv))>{format!("Download {file_name}")}</a>
                })}
            </div>
            <label>"Or read a CSV file"
                <input type="file" name="csv-file" accept=".csv,text/csv,text/plain" disabled=move || busy.get() on:change=picked />
            </label>
            <label>{format!("CSV to import (first line: the columns, e.g. {example})")}
                <textarea name="csv" rows="6" spellcheck="false" prop:value=move || input.get()
                    on:input=move |ev| { input.set(event_target_value(&ev)); report.set(None); }></textarea>
            </label>
            <div class="actions">
                <button type="button" class="small preview" disabled=move || busy.get() || input.with(|i| i.trim().is_empty()) on:click=move |_| import(false)>"Preview"</button>
                <Show when=move || report.with(|r| r.is_some()) && errors() == 0>
                    <button type="button" class="small import" disabled=move || busy.get() on:click=move |_| import(true)>"Import all rows"</button>
                </Show>
            </div>
            <p class="status" role="status">{move || message.get()}</p>
            {move || report.get().map(|r| {
                let columns: Vec<String> = r["columns"].as_array().map(|c| c.iter().map(text).collect()).unwrap_or_default();
                let summary = match r["errors"].as_u64().unwrap_or(0) {
                    0 => "Every row is valid: nothing is written until you import.".to_string(),
                    1 => "1 row has an error: fix it and preview again (nothing is written while any row has one).".to_string(),
                    n => format!("{n} rows have errors: fix them and preview again (nothing is written while any row has one)."),
                };
                view! {
                    <p class="csv-summary">{summary}</p>
                    <div class="table-wrap"><table class="csv-preview">
                        <thead><tr><th>"Line"</th>{columns.iter().map(|c| view! { <th>{c.clone()}</th> }).collect_view()}<th>"Check"</th></tr></thead>
                        <tbody>{r["rows"].as_array().cloned().unwrap_or_default().into_iter().map(|row| {
                            let errors: Vec<String> = row["errors"].as_array().map(|e| e.iter().map(|m| humanize(&text(m))).collect()).unwrap_or_default();
                            let ok = errors.is_empty();
                            view! {
                                <tr class:has-error=!ok data-line=text(&row["line"])>
                                    <td data-label="Line">{text(&row["line"])}</td>
                                    {columns.iter().map(|c| view! { <td data-label=c.clone()>{text(&row["values"][c.as_str()])}</td> }).collect_view()}
                                    <td class="csv-errors" data-label="Check">{if ok { view! { <span class="badge ok">"ok"</span> }.into_any() } else {
                                        view! { <ul>{errors.into_iter().map(|e| view! { <li role="alert">{e}</li> }).collect_view()}</ul> }.into_any()
                                    }}</td>
                                </tr>
                            }
                        }).collect_view()}</tbody>
                    </table></div>
                }
            })}
        </details>
    }
}
