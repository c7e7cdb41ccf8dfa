//! The trunk page's inbound match test: paste a raw SIP INVITE, see which
//! trunk it is identified as (by source address, From user or header),
//! which incall each candidate number reaches, and why. All of it is
//! `shared::inbound` running in the browser on the tenant's snapshot; the
//! server is asked for the snapshot only.

use crate::api;
use crate::app::{DataVersion, Session};
use leptos::prelude::*;
use leptos::task::spawn_local;
use patchbay_shared::inbound::{InboundMatch, match_invite, parse_invite};
use patchbay_shared::model::Snapshot;
use patchbay_shared::simulate::RouteKind;
use std::sync::Arc;

const EXAMPLE: &str = "INVITE sip:5551234@pbx.example.com SIP/2.0\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK1\nFrom: <sip:5145550123@provider.example.com>;tag=1\nTo: <sip:5551234@pbx.example.com>\nCall-ID: 1@203.0.113.10\nCSeq: 1 INVITE";

#[component]
pub fn InviteMatch() -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let snapshot = RwSignal::new(None::<Arc<Snapshot>>);
    let invite = RwSignal::new(String::new());
    let source = RwSignal::new(String::new());
    Effect::new(move |_| {
        version.0.track();
        spawn_local(async move {
            if let Ok(s) = api::get::<Snapshot>(&session.token(), "/api/patchbay/1.0/snapshot").await {
                snapshot.try_set(Some(Arc::new(s)));
            }
        });
    });
    let tenant = move || api::acting_tenant().or_else(|| session.1.with(|a| a.as_ref().map(|a| a.tenant_uuid.clone()))).unwrap_or_default();
    let outcome = move || -> Option<Result<InboundMatch, String>> {
        let text = invite.get();
        if text.trim().is_empty() {
            return None;
        }
        let s = snapshot.get()?;
        Some(parse_invite(&text).map(|parsed| match_invite(&s, &tenant(), &parsed, Some(source.get().as_str()))))
    };
    view! {
        <section class="invite-match">
            <h2>"Inbound match test"</h2>
            <p class="muted">"Paste an INVITE as a provider sends it (from " <code>"pjsip set logger on"</code> " or a capture): it is matched against this tenant's trunks as Asterisk would."</p>
            <label>"INVITE" <textarea name="invite" rows="8" spellcheck="false" placeholder=EXAMPLE prop:value=move || invite.get() on:input=move |ev| invite.set(event_target_value(&ev))></textarea></label>
            <label>"Source address (optional: else the top Via's)" <input name="source" placeholder="203.0.113.10" prop:value=move || source.get() on:input=move |ev| source.set(event_target_value(&ev))/></label>
            {move || outcome().map(|result| match result {
                Err(message) => view! { <p class="error invite-error" role="alert">{message}</p> }.into_any(),
                Ok(found) => result_view(&snapshot.get_untracked(), found).into_any(),
            })}
        </section>
    }
}

fn result_view(s: &Option<Arc<Snapshot>>, found: InboundMatch) -> impl IntoView + use<> {
    let source = found.source.clone().unwrap_or_else(|| "unknown".into());
    let identified = match &found.identified {
        Some(i) => view! {
            <p class="identified" data-endpoint=i.endpoint.clone() data-method=i.method>
                "Identified as " <strong class="endpoint">{i.endpoint.clone()}</strong> " by " {i.method} ": " {i.why.clone()}
            </p>
        }
        .into_any(),
        None => view! { <p class="identified none" data-endpoint="">"No trunk identified (source " {source.clone()} "): Asterisk answers with 401/403 or sends it to the anonymous endpoint."</p> }.into_any(),
    };
    let context = found.trunk.and_then(|id| s.as_ref()?.trunk(id)?.context.clone());
    let rows = found
        .numbers
        .into_iter()
        .map(|(from, number, trace)| {
            let (reached, why) = match &trace {
                Some(t) if t.kind == RouteKind::Incall => {
                    let did = t.winner.as_ref().map(|w| w.exten.clone()).unwrap_or_default();
                    (Some((did, t.destination.clone().unwrap_or_else(|| "hangs up".into()))), t.explanation.join(" · "))
                }
                Some(t) => (None, t.explanation.join(" · ")),
                None if number.is_none() => (None, "no number in this header".to_string()),
                None => (None, "no trunk identified: no context to look it up in".to_string()),
            };
            let uses = if from == patchbay_shared::inbound::NumberSource::RequestUri { " (what Asterisk dials)" } else { "" };
            let incall_did = reached.as_ref().map(|(did, _)| did.clone()).unwrap_or_default();
            view! {
                <tr data-source=from.label() data-incall=incall_did>
                    <td data-label="From">{from.label()}{uses}</td>
                    <td data-label="Number"><code class="number">{number.unwrap_or_else(|| "—".into())}</code></td>
                    <td data-label="Reaches" class="reaches">{match reached {
                        Some((did, destination)) => view! { "incall " <code class="did">{did}</code> " → " <code class="destination">{destination}</code> }.into_any(),
                        None => view! { <span class="muted">"no incall"</span> }.into_any(),
                    }}</td>
                    <td data-label="Why" class="why muted">{why}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {identified}
        {context.map(|c| view! { <p class="muted">"Its calls enter context " <code>{c}</code> "."</p> })}
        {(!found.not_matched.is_empty()).then(|| view! {
            <details class="not-matched"><summary>"Identifiers that did not match"</summary>
                <ul>{found.not_matched.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}</ul>
            </details>
        })}
        <div class="table-wrap">
        <table class="invite-numbers cards">
            <thead><tr><th>"From"</th><th>"Number"</th><th>"Reaches"</th><th>"Why"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        </div>
    }
}
