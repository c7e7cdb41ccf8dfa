//! The dial simulator: the tenant's snapshot is fetched once (and again after
//! every change) and compiled once into a [`Simulator`]; each keystroke then
//! runs one lookup right here in wasm — no round trip. Lints sit beside the
//! routes they concern.
//!
//! `?synthetic=10000` adds that many generated outcall patterns to the
//! fetched snapshot, in the browser only (to measure a keystroke at scale);
//! `?caller=user:3&dialled=**99101` preselects the inputs.

use crate::api;
use crate::app::{DataVersion, Session};
use crate::ui::fixed;
use leptos::prelude::*;
use leptos::task::spawn_local;
use patchbay_shared::lint::{Lint, Severity, lint_snapshot};
use patchbay_shared::model::{ExtensionId, ObjectKind, Snapshot, TrunkEndpoint, TrunkId, UserId};
use patchbay_shared::model::{AttemptResult, FailureOutcome};
use patchbay_shared::simulate::{Caller, OutcallTrace, OverlapVerdict, RouteKind, Simulator, Trace, follow_failures};
use serde_json::json;
use std::sync::Arc;

/// The compiled simulator of the current snapshot.
type Compiled = Arc<Simulator<Arc<Snapshot>>>;

/// At most this many extension rows are drawn (the simulator uses them all).
const ROWS_SHOWN: usize = 300;

/// Adds `n` generated outcall patterns (an outcall `synthetic` on the first
/// trunk, in the first outcall context) to `s`: a third `_6NNNNNX.`, a third
/// `_7NNNNN[1-5]XX`, a third literal `8NNNNN`.
pub fn add_synthetic_patterns(s: &mut Snapshot, n: usize) {
    let Some(context) = s
        .contexts
        .iter()
        .find(|c| c.kind == patchbay_shared::model::ContextKind::Outcall)
        .or(s.contexts.first())
        .cloned()
    else {
        return;
    };
    let first_id = s.extensions.iter().map(|e| e.id.0).max().unwrap_or(0) + 1_000_000;
    let mut patterns = Vec::with_capacity(n);
    for i in 0..n {
        let id = first_id + i as u64;
        let exten = match i % 3 {
            0 => format!("_6{i:05}X."),
            1 => format!("_7{i:05}[1-5]XX"),
            _ => format!("8{i:05}"),
        };
        let extension = json!({"id": id, "tenant_uuid": context.tenant_uuid, "exten": exten, "context": context.name});
        if let Ok(extension) = crate::api::from_json(&extension) {
            s.extensions.push(extension);
            patterns.push(json!({"id": id, "strip_digits": 1}));
        }
    }
    let trunks: Vec<_> = s.trunks.iter().filter(|t| t.tenant_uuid == context.tenant_uuid).take(1).map(|t| json!({"id": t.id})).collect();
    let outcall_id = s.outcalls.iter().map(|o| o.id.0).max().unwrap_or(0) + 1_000_000;
    let outcall = json!({"id": outcall_id, "tenant_uuid": context.tenant_uuid, "name": "synthetic", "trunks": trunks, "extensions": patterns});
    if let Ok(outcall) = crate::api::from_json(&outcall) {
        s.outcalls.push(outcall);
    }
}

/// Milliseconds since page load (`performance.now()`).
fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

/// A caller as the `<select>` encodes it: `user:3`, `trunk:1`, `ctx:to-extern`.
fn parse_caller(value: &str) -> Option<Caller<'_>> {
    let (kind, rest) = value.split_once(':')?;
    match kind {
        "user" => rest.parse().ok().map(|id| Caller::User(UserId(id))),
        "trunk" => rest.parse().ok().map(|id| Caller::Trunk(TrunkId(id))),
        "ctx" => Some(Caller::Context(rest)),
        _ => None,
    }
}

/// The tenant the chosen caller belongs to.
fn tenant_of(s: &Snapshot, caller: Caller<'_>) -> String {
    let tenant = match caller {
        Caller::User(id) => s.user(id).map(|u| u.tenant_uuid.clone()),
        Caller::Trunk(id) => s.trunk(id).map(|t| t.tenant_uuid.clone()),
        Caller::Context(name) => s.context_named(name).map(|c| c.tenant_uuid.clone()),
    };
    tenant.or_else(|| s.tenants.first().map(|t| t.uuid.clone())).unwrap_or_default()
}

pub fn trunk_name(s: &Snapshot, id: TrunkId) -> String {
    match s.trunk(id).and_then(|t| t.endpoint.as_ref()) {
        Some(TrunkEndpoint::Sip(uuid)) => s.endpoint_sip(uuid).map(|e| e.name.clone()).unwrap_or_else(|| format!("trunk {id}")),
        Some(TrunkEndpoint::Iax(iax)) => s.endpoint_iax(*iax).map(|e| e.name.clone()).unwrap_or_else(|| format!("IAX {iax}")),
        Some(TrunkEndpoint::Custom(custom)) => format!("custom {custom}"),
        None => format!("trunk {id} (no endpoint)"),
    }
}

/// The `<option>`s: users, then inbound trunks, then contexts.
fn caller_options(s: &Snapshot) -> Vec<(String, String)> {
    let mut options = Vec::new();
    for user in &s.users {
        let name = format!("{} {}", user.firstname, user.lastname.clone().unwrap_or_default());
        options.push((format!("user:{}", user.id), format!("User {} (#{})", name.trim(), user.id)));
    }
    // Calls arrive on the tenant's own trunks; a shared one lands in its owner's context.
    for trunk in s.trunks.iter().filter(|t| s.tenants.iter().any(|tenant| tenant.uuid == t.tenant_uuid)) {
        options.push((format!("trunk:{}", trunk.id), format!("Inbound on trunk {}", trunk_name(s, trunk.id))));
    }
    for context in &s.contexts {
        options.push((format!("ctx:{}", context.name), format!("Context {} ({})", context.label, context.name)));
    }
    options
}

fn extension_id(s: &Snapshot, context: &str, exten: &str) -> Option<ExtensionId> {
    s.extensions.iter().find(|e| e.context == context && e.exten == exten).map(|e| e.id)
}

fn lints_for(lints: &[Lint], kind: ObjectKind, id: &str) -> Vec<Lint> {
    lints.iter().filter(|l| l.objects.iter().any(|o| o.kind == kind && o.id == id)).cloned().collect()
}

fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "lint error",
        Severity::Warning => "lint warning",
        Severity::Info => "lint info",
    }
}

fn lint_list(lints: Vec<Lint>) -> impl IntoView + use<> {
    view! {
        <ul class="lints">
            {lints.into_iter().map(|l| view! {
                <li class=severity_class(l.severity) data-code=l.code>{l.message.clone()}</li>
            }).collect_view()}
        </ul>
    }
}

fn verdict_text(verdict: OverlapVerdict) -> (&'static str, &'static str) {
    match verdict {
        OverlapVerdict::Complete => ("complete", "Routes now"),
        OverlapVerdict::CompleteButLongerMatches => ("complete-but-longer", "Routes now (longer numbers match too)"),
        OverlapVerdict::KeepDialling => ("keep-dialling", "Keep dialling"),
        OverlapVerdict::NoRoute => ("no-route", "No route"),
    }
}

#[component]
pub fn SimulatorPage() -> impl IntoView {
    crate::ui::page_title("Dial simulator");
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let query = leptos_router::hooks::use_query_map();
    let synthetic = query.with_untracked(|q| q.get("synthetic").and_then(|n| n.parse::<usize>().ok())).map(|n| n.min(200_000));
    let snapshot = RwSignal::new(None::<Arc<Snapshot>>);
    // The simulator, rebuilt only when the snapshot changes, and its build time.
    let compiled = RwSignal::new(None::<(Compiled, f64)>);
    let error = RwSignal::new(None::<String>);
    let caller = RwSignal::new(query.with_untracked(|q| q.get("caller")).unwrap_or_default());
    let dialled = RwSignal::new(query.with_untracked(|q| q.get("dialled")).unwrap_or_default());

    Effect::new(move |_| {
        version.0.track();
        spawn_local(async move {
            let answer = api::get::<Snapshot>(&session.token(), "/api/patchbay/1.0/snapshot").await;
            // The page may be gone by now (its signals disposed): stop quietly.
            if error.is_disposed() {
                return;
            }
            match answer {
                Ok(mut s) => {
                    if let Some(n) = synthetic {
                        add_synthetic_patterns(&mut s, n);
                    }
                    if caller.try_get_untracked().is_some_and(|c| c.is_empty())
                        && let Some((value, _)) = caller_options(&s).into_iter().next()
                    {
                        caller.try_set(value);
                    }
                    error.try_set(None);
                    let s = Arc::new(s);
                    let started = now_ms();
                    let simulator = Arc::new(Simulator::new(s.clone()));
                    compiled.try_set(Some((simulator, now_ms() - started)));
                    snapshot.try_set(Some(s));
                }
                Err(failure) => {
                    error.try_set(Some(failure.0));
                }
            }
        });
    });

    // Lints, timed (they are computed once per snapshot too).
    let lints_timed = Memo::new(move |_| {
        snapshot.with(|s| {
            let started = now_ms();
            let lints = s.as_ref().map(|s| lint_snapshot(s)).unwrap_or_default();
            (lints, now_ms() - started)
        })
    });
    let lints = Memo::new(move |_| lints_timed.with(|(lints, _)| lints.clone()));

    // The simulation itself, timed: one lookup per keystroke or caller change.
    let result = Memo::new(move |_| {
        let (sim, _) = compiled.get()?;
        let caller_value = caller.get();
        let number = dialled.get();
        let who = parse_caller(&caller_value)?;
        let tenant = tenant_of(sim.snapshot(), who);
        let started = now_ms();
        let trace = sim.simulate(&tenant, who, &number);
        let ms = now_ms() - started;
        Some((trace, ms))
    });

    let options = move || snapshot.get().map(|s| caller_options(&s)).unwrap_or_default();

    view! {
        <section class="simulator">
            <h1>"Dial simulator"</h1>
            <crate::pages::nodes::TenantNode/>
            <p class="status">"Runs in your browser on the current configuration; nothing is dialled."</p>
            {synthetic.map(|n| view! {
                <p class="synthetic" role="note" data-synthetic=n.to_string()>
                    <strong>"Synthetic dialplan: "</strong>
                    {format!("{n} generated outcall patterns were added in your browser to measure speed at scale. They are not part of your configuration and are never saved. ")}
                    <a href="/simulator">"Back to the real dialplan"</a>
                </p>
            })}
            <p class="muted build-timing">{move || compiled.get().map(|(sim, ms)| {
                let (_, lint_ms) = lints_timed.get();
                format!("{} extension(s) compiled in {} ms; lints in {} ms.", sim.snapshot().extensions.len(), fixed(ms, 1), fixed(lint_ms, 1))
            })}</p>
            <form class="sim-inputs" on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
                <label>"Caller"
                    <select name="caller" on:change=move |ev| caller.set(event_target_value(&ev)) prop:value=move || caller.get()>
                        {move || options().into_iter().map(|(value, label)| {
                            let selected = caller.get_untracked() == value;
                            view! { <option value=value selected=selected>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Dialled number"
                    <input name="dialled" class="dialled" autocomplete="off" inputmode="tel" placeholder="e.g. **99101"
                        prop:value=move || dialled.get() on:input=move |ev| dialled.set(event_target_value(&ev))/>
                </label>
                <button type="button" class="link" on:click=move |_| version.bump()>"Reload configuration"</button>
            </form>
            <p class="error" role="alert">{move || error.get()}</p>
            {move || result.get().map(|(trace, ms)| {
                let s = snapshot.get_untracked().unwrap_or_default();
                trace_view(&s, &lints.get(), trace, ms)
            })}
            <RoutesWithLints snapshot=snapshot lints=lints/>
        </section>
    }
}

fn trace_view(s: &Snapshot, lints: &[Lint], trace: Trace, ms: f64) -> impl IntoView + use<> {
    let (verdict_code, verdict_label) = verdict_text(trace.overlap.verdict);
    let context = trace.context.clone().unwrap_or_default();
    let searched = trace.contexts_searched.join(" → ");
    let winner = trace.winner.clone().map(|w| {
        let ext_lints = extension_id(s, &w.context, &w.exten)
            .map(|id| lints_for(lints, ObjectKind::Extension, &id.to_string()))
            .unwrap_or_default();
        view! {
            <div class="winner">
                <span class="label">"Winning pattern "</span>
                <code class="pattern">{w.exten.clone()}</code>
                <span class="muted">" in " {w.context.clone()}</span>
                {lint_list(ext_lints)}
            </div>
        }
    });
    let runner_ups = trace.runner_ups.clone();
    let kind = match trace.kind {
        RouteKind::Outcall => "outcall",
        RouteKind::Incall => "incall",
        RouteKind::User => "user",
        RouteKind::None => "none",
    };
    let outcall = trace.outcall.clone().map(|o| {
        let cid = o.caller_id.clone();
        let cid_text = format!("\"{}\" <{}>", cid.caller_id.name, cid.caller_id.number);
        let presentation = format!("{:?}", cid.presentation).to_lowercase();
        let outcall_lints = lints_for(lints, ObjectKind::Outcall, &o.outcall_id.to_string());
        view! {
            <div class="outcall" data-outcall=o.outcall_id.to_string()>
                <h3>"Outcall " {o.name.clone()} {(!o.enabled).then_some(" (disabled: the call fails)")}</h3>
                {lint_list(outcall_lints)}
                <p>"Strip " {o.strip_digits} " digit(s), prefix "
                   <code>{if o.external_prefix.is_empty() { "(none)".to_string() } else { o.external_prefix.clone() }}</code>
                   " → the trunks receive " <code class="number">{o.number.clone()}</code></p>
                <h4>"Trunks, in failover order"</h4>
                <ol class="trunks-order">
                    {o.trunks.iter().map(|t| {
                        let name = trunk_name(s, t.trunk_id);
                        match (&t.dial, &t.skipped) {
                            (Some(dial), _) => {
                                // The number and caller ID in the trunk's own format (its number plan).
                                let caller = t.caller_id_number.clone().map(|c| view! { " caller ID " <code class="caller-id">{c}</code> });
                                view! { <li data-trunk=name.clone()>{name.clone()} ": " <code class="dial">{dial.clone()}</code>
                                    " (sends " <code class="number">{t.number.clone()}</code> ")" {caller}</li> }.into_any()
                            }
                            (None, why) => view! { <li data-trunk=name.clone() class="skipped">{name.clone()} ": skipped — " {why.clone().unwrap_or_default()}</li> }.into_any(),
                        }
                    }).collect_view()}
                </ol>
                <FailoverWhatIf outcall=o.clone() names=o.trunks.iter().filter(|t| t.dial.is_some()).map(|t| trunk_name(s, t.trunk_id)).collect() />
                <h4>"Caller ID sent"</h4>
                <p><code class="callerid">{cid_text}</code> " " <span class="muted" data-presentation=presentation.clone()>"(" {presentation.clone()} ")"</span></p>
                <ul class="callerid-why">{cid.explanation.iter().map(|line| view! { <li>{line.clone()}</li> }).collect_view()}</ul>
            </div>
        }
    });
    view! {
        <div class="trace" data-kind=kind data-verdict=verdict_code data-ms=fixed(ms, 3) data-dialled=trace.dialled.clone()>
            <p class="verdict">
                <strong class=format!("verdict {verdict_code}")>{verdict_label}</strong>
                <span class="muted timing">" · simulated in " {fixed(ms, 2)} " ms"</span>
            </p>
            <p class="muted">"Dialled " <code>{trace.dialled.clone()}</code> " from context " <code>{context}</code>
                {(!searched.is_empty()).then(|| view! { " (searched: " {searched} ")" })}</p>
            {winner}
            {(!runner_ups.is_empty()).then(|| view! {
                <div class="runner-ups"><span class="label">"Runner-ups: "</span>
                    {runner_ups.into_iter().map(|m| view! { <code class="pattern">{m.exten}</code> " " }).collect_view()}
                </div>
            })}
            {outcall}
            {trace.destination.clone().map(|d| view! { <p>"Rings " <code class="destination">{d}</code></p> })}
            <h4>"Why"</h4>
            <ol class="explanation">{trace.explanation.iter().map(|line| view! { <li>{line.clone()}</li> }).collect_view()}</ol>
        </div>
    }
}

/// The outcall's failover policy, and "what if": a failure chosen for each
/// trunk (by default the first answers 503) and where the call goes then.
#[component]
fn FailoverWhatIf(outcall: OutcallTrace, names: Vec<String>) -> impl IntoView {
    let list = |v: &[FailureOutcome]| if v.is_empty() { "nothing".to_string() } else { v.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", ") };
    let policy = &outcall.failover_policy;
    let summary = format!("Next trunk on {}; the call ends on {}; anything else: {}.", list(&policy.next_trunk_on), list(&policy.stop_on),
        match policy.otherwise { patchbay_shared::model::FailoverAction::NextTrunk => "next trunk", patchbay_shared::model::FailoverAction::Stop => "the call ends" });
    let choices: Vec<AttemptResult> = std::iter::once(AttemptResult::Answered).chain(AttemptResult::EXAMPLES).collect();
    let initial: Vec<AttemptResult> = (0..names.len()).map(|i| if i == 0 { AttemptResult::Sip(503) } else { AttemptResult::Answered }).collect();
    let failures = RwSignal::new(initial);
    let steps = {
        let outcall = outcall.clone();
        move || follow_failures(&outcall, &failures.get())
    };
    view! {
        <div class="failover-policy">
            <h4>"If a trunk fails"</h4>
            <p class="muted policy-summary">{summary}</p>
            {(!names.is_empty()).then(|| view! {
                <div class="what-if">
                    {names.iter().enumerate().map(|(i, name)| {
                        let field = format!("what-if-{i}");
                        let options = choices.clone();
                        view! {
                            <label for=field.clone()>{format!("{name} answers")}</label>
                            <select id=field data-trunk=name.clone() on:change=move |ev| {
                                let picked = event_target_value(&ev).parse::<usize>().ok().and_then(|k| options.get(k).copied());
                                if let Some(picked) = picked {
                                    failures.update(|f| if let Some(slot) = f.get_mut(i) { *slot = picked });
                                }
                            }>
                                {choices.clone().into_iter().enumerate().map(|(k, c)| {
                                    let selected = move || failures.with(|f| f.get(i) == Some(&c));
                                    view! { <option value=k.to_string() selected=selected>{c.describe()}</option> }
                                }).collect_view()}
                            </select>
                        }
                    }).collect_view()}
                    <ol class="what-if-steps">{move || steps().into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ol>
                </div>
            })}
        </div>
    }
}

/// Every outgoing pattern with the lints about it, then the rest of the lints.
#[component]
fn RoutesWithLints(snapshot: RwSignal<Option<Arc<Snapshot>>>, lints: Memo<Vec<Lint>>) -> impl IntoView {
    move || {
        let s = snapshot.get()?;
        let lints = lints.get();
        let mut shown = Vec::<Lint>::new();
        let hidden = s.extensions.len().saturating_sub(ROWS_SHOWN);
        let rows = s
            .extensions
            .iter()
            .take(ROWS_SHOWN)
            .map(|ext| {
                let owner = s
                    .outcalls
                    .iter()
                    .find(|o| o.extensions.iter().any(|e| e.extension_id == ext.id))
                    .map(|o| format!("outcall {}", o.name))
                    .or_else(|| s.incalls.iter().find(|i| i.extension_id == Some(ext.id)).map(|i| format!("incall #{}", i.id)))
                    .or_else(|| s.lines.iter().any(|l| l.extension_id == Some(ext.id)).then(|| "line".to_string()))
                    .unwrap_or_else(|| "(unassigned)".to_string());
                let mine = lints_for(&lints, ObjectKind::Extension, &ext.id.to_string());
                shown.extend(mine.iter().cloned());
                view! {
                    <tr data-exten=ext.exten.clone()>
                        <td><code>{ext.exten.clone()}</code></td>
                        <td>{ext.context.clone()}</td>
                        <td>{owner}</td>
                        <td>{lint_list(mine)}</td>
                    </tr>
                }
            })
            .collect_view();
        let others: Vec<Lint> = lints.iter().filter(|l| !shown.contains(l)).cloned().collect();
        Some(view! {
            <h2>"Extensions and findings"</h2>
            <table class="routes">
                <thead><tr><th>"Extension"</th><th>"Context"</th><th>"Used by"</th><th>"Lint"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {(hidden > 0).then(|| view! { <p class="muted">{format!("… and {hidden} more extension(s), not drawn (the simulator uses them all).")}</p> })}
            {(!others.is_empty()).then(|| view! { <h3>"Other findings"</h3> {lint_list(others)} })}
        })
    }
}
