//! Operations on one SIP trunk, on the trunks page: drain it (Asterisk's
//! maintenance: new calls refused, calls in progress continue) or put it
//! back, send an OPTIONS now, and place a test call through it to a number
//! the admin types, and check its registration. Each reports what Asterisk
//! answered: the maintenance state read back, each contact's status and
//! round trip, the registrar's last SIP code, the test call's SIP code and
//! timing.

use crate::api;
use crate::app::Session;
use crate::ui::run;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

/// `/api/patchbay/1.0/trunks/{id}/…`.
fn path(trunk_id: i64, what: &str) -> String {
    format!("/api/patchbay/1.0/trunks/{trunk_id}/{what}")
}

/// A test call's outcome in words: "busy: SIP 486, after 9 ms".
fn describe_call(answer: &Value) -> String {
    let outcome = &answer["outcome"];
    let result = outcome["result"].as_str().unwrap_or("unknown");
    let code = match outcome["cause"]["sip_code"].as_u64() {
        Some(code) => format!("SIP {code}"),
        None => "no SIP answer".to_string(),
    };
    let cause = outcome["cause"]["hangup_cause_text"].as_str().map(|c| format!(" ({c})")).unwrap_or_default();
    format!("{result}: {code}{cause}, after {} ms", outcome["elapsed_ms"])
}

/// Each contact as "sip:host:5060 — Reachable, 0.8 ms".
fn describe_contacts(answer: &Value) -> Vec<String> {
    answer["contacts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let rtt = c["rtt_ms"].as_f64().map(|ms| format!(", {} ms", crate::ui::fixed(ms, 1))).unwrap_or_default();
            format!("{} — {}{rtt}", c["uri"].as_str().unwrap_or("?"), c["status"].as_str().unwrap_or("?"))
        })
        .collect()
}

/// Each registration as "sip:host — Rejected, last answer 403 Forbidden".
fn describe_registrations(answer: &Value) -> Vec<String> {
    let list = answer["registrations"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return vec!["This trunk does not register.".into()];
    }
    list.iter()
        .map(|r| {
            let last = match r["last_code"].as_u64() {
                Some(code) => format!(", last answer {code} {}", r["last_reason"].as_str().unwrap_or("")),
                None => ", no answer from the registrar yet".to_string(),
            };
            format!("{} — {}{last}", r["server_uri"].as_str().unwrap_or("?"), r["status"].as_str().unwrap_or("?"))
        })
        .collect()
}

#[component]
pub fn TrunkOperations(trunk_id: i64, name: String) -> impl IntoView {
    let session = expect_context::<Session>();
    // None while loading; Some(Err) when Asterisk could not say.
    let maintenance = RwSignal::new(None::<Result<bool, String>>);
    let drain_busy = RwSignal::new(false);
    let drain_note = RwSignal::new(None::<String>);
    let options_busy = RwSignal::new(false);
    let options_result = RwSignal::new(None::<Result<Value, String>>);
    let number = RwSignal::new(String::new());
    let call_busy = RwSignal::new(false);
    let call_result = RwSignal::new(None::<Result<String, String>>);
    let registration_busy = RwSignal::new(false);
    let registration_result = RwSignal::new(None::<Result<Vec<String>, String>>);

    spawn_local(async move {
        let answer = api::get::<Value>(&session.token(), &path(trunk_id, "maintenance")).await;
        maintenance.try_set(Some(answer.map(|a| a["maintenance"] == json!(true)).map_err(|f| crate::ui::humanize(&f.0))));
    });
    let toggle = move |_| {
        let wanted = !matches!(maintenance.get_untracked(), Some(Ok(true)));
        run(drain_busy, |token| async move { api::send(&token, "PUT", &path(trunk_id, "maintenance"), &json!({"maintenance": wanted})).await }, move |answer| {
            match answer {
                Ok(a) => {
                    maintenance.try_set(Some(Ok(a["maintenance"] == json!(true))));
                    drain_note.try_set(Some(format!("Asterisk confirmed in {} ms.", a["elapsed_ms"])));
                }
                Err(failure) => {
                    drain_note.try_set(Some(crate::ui::humanize(&failure.0)));
                }
            }
        });
    };
    let send_options = move |_| {
        options_result.set(None);
        run(options_busy, |token| async move { api::send(&token, "POST", &path(trunk_id, "qualify"), &json!({})).await }, move |answer| {
            options_result.try_set(Some(answer.map_err(|f| crate::ui::humanize(&f.0))));
        });
    };
    let place_call = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let to = number.get_untracked().trim().to_string();
        if to.is_empty() {
            call_result.set(Some(Err("Type the number to call through this trunk.".into())));
            return;
        }
        call_result.set(None);
        run(call_busy, |token| async move { api::send(&token, "POST", &path(trunk_id, "test-call"), &json!({"number": to})).await }, move |answer| {
            call_result.try_set(Some(answer.map(|a| describe_call(&a)).map_err(|f| crate::ui::humanize(&f.0))));
        });
    };
    let check_registration = move |_| {
        run(registration_busy, |token| async move { api::get::<Value>(&token, &path(trunk_id, "registration")).await }, move |answer| {
            registration_result.try_set(Some(answer.map(|a| describe_registrations(&a)).map_err(|f| crate::ui::humanize(&f.0))));
        });
    };
    let field = format!("test-number-{trunk_id}");

    view! {
        <section class="trunk-operations" data-trunk-id=trunk_id.to_string() aria-label=format!("Operations on trunk {name}")>
            <h2>"Operations on " {name.clone()}</h2>
            <h3>"Drain"</h3>
            <p class="muted">"A drained trunk refuses new calls at once (routes move on to their next trunk); calls in progress continue. Asterisk forgets it when it restarts."</p>
            <p class="maintenance-state">{move || match maintenance.get() {
                None => "Asking Asterisk…".to_string(),
                Some(Ok(true)) => "Drained: new calls are refused.".to_string(),
                Some(Ok(false)) => "In service.".to_string(),
                Some(Err(e)) => format!("Unknown: {e}"),
            }}</p>
            <button type="button" class="drain" disabled=move || drain_busy.get() || !matches!(maintenance.get(), Some(Ok(_))) on:click=toggle>
                {move || if matches!(maintenance.get(), Some(Ok(true))) { "Put back in service" } else { "Drain this trunk" }}
            </button>
            <p class="muted drain-note" role="status">{move || drain_note.get()}</p>

            <h3>"Reachability"</h3>
            <button type="button" class="qualify" disabled=move || options_busy.get() on:click=send_options>
                {move || if options_busy.get() { "Waiting for the answer…" } else { "Send an OPTIONS now" }}
            </button>
            {move || options_result.get().map(|answer| match answer {
                Ok(a) => view! {
                    <div class="qualify-result" role="status">
                        <ul>{describe_contacts(&a).into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ul>
                        <p class="muted">{(a["updated"] == json!(true)).then(|| format!("Answered in {} ms. ", a["elapsed_ms"]))} {a["note"].as_str().map(str::to_string)}</p>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}

            <h3>"Registration"</h3>
            <button type="button" class="registration-check" disabled=move || registration_busy.get() on:click=check_registration>
                {move || if registration_busy.get() { "Asking Asterisk…" } else { "Check the registration" }}
            </button>
            {move || registration_result.get().map(|answer| match answer {
                Ok(lines) => view! { <ul class="registration-result" role="status">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}

            <h3>"Test call"</h3>
            <form class="test-call" on:submit=place_call>
                <label for=field.clone()>"Number to call through this trunk"</label>
                <input id=field type="tel" inputmode="tel" autocomplete="off" placeholder="e.g. 4185550100"
                    prop:value=move || number.get() on:input=move |ev| number.set(event_target_value(&ev)) />
                <button type="submit" disabled=move || call_busy.get()>
                    {move || if call_busy.get() { "Calling…" } else { "Place test call" }}
                </button>
                {move || call_result.get().map(|result| match result {
                    Ok(text) => view! { <p class="call-result" role="status">{text}</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                })}
            </form>
        </section>
    }
}
