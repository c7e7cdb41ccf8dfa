//! The Asterisk page (master admin): `patchbay doctor`'s checks on the
//! connected Asterisk, each problem with the lines to fix.

use crate::api;
use crate::app::{DataVersion, Session};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

#[component]
pub fn AsteriskPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let report = RwSignal::new(Value::Null);
    let error = RwSignal::new(None::<String>);
    let check = move || {
        spawn_local(async move {
            match api::get::<Value>(&session.token(), "/api/patchbay/1.0/doctor").await {
                Ok(answer) => {
                    error.set(None);
                    report.set(answer);
                }
                Err(failure) => error.set(Some(failure.0)),
            }
        });
    };
    Effect::new(move |_| {
        version.0.track();
        check();
    });
    let verdict = move || match report.get()["ok"].as_bool() {
        Some(true) => "Asterisk is ready for Patchbay.",
        Some(false) => "Fix the problems below, then check again.",
        None => "Checking…",
    };
    view! {
        <section class="asterisk">
            <h1>"Asterisk"</h1>
            <crate::pages::nodes::TenantNode/>
            <p class="status">{verdict}</p>
            <button on:click=move |_| check()>"Check again"</button>
            <p class="error" role="alert">{move || error.get()}</p>
            <ul class="findings">
                {move || report.get()["findings"].as_array().cloned().unwrap_or_default().into_iter().map(|finding| {
                    let severity = finding["severity"].as_str().unwrap_or_default().to_owned();
                    let label = severity.clone();
                    let fix: Vec<String> = finding["fix"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect();
                    view! {
                        <li data-check=finding["check"].as_str().unwrap_or_default().to_owned() data-severity=severity>
                            <strong>{label}</strong> " " {finding["message"].as_str().unwrap_or_default().to_owned()}
                            {(!fix.is_empty()).then(|| view! { <pre class="fix">{fix.join("\n")}</pre> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
