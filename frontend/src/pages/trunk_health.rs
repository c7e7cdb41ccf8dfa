//! A SIP trunk's health on the trunks page: the state after hysteresis, the
//! registration with the registrar's last SIP code and reason, a timeline
//! (a strip chart: the state band over time and the OPTIONS round trips),
//! the transitions with their times, and the thresholds. It follows the
//! live stream of the trunks page (`health` updates, no reload); the first
//! view comes from `GET …/trunks/{id}/health`.

use crate::api;
use crate::app::Session;
use crate::pages::audit::utc;
use crate::ui::fixed;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

/// The trunk's state in a few words, for the list and the panel:
/// "up, 1.2 ms", "down", "unknown".
pub fn reachability_text(health: &Value) -> String {
    let state = health["reachability"].as_str().unwrap_or("unknown");
    match (state, health["last_rtt_ms"].as_f64()) {
        ("up", Some(rtt)) => format!("up, {} ms", fixed(rtt, 1)),
        (state, _) => state.to_string(),
    }
}

/// The registration with its last SIP answer: "Rejected — 403 Forbidden".
pub fn registration_text(health: &Value) -> Option<String> {
    let reg = health["registration"].as_object()?;
    let status = reg.get("status").and_then(Value::as_str).unwrap_or("Unknown");
    Some(match reg.get("code").and_then(Value::as_u64) {
        Some(code) => format!("{status} — {code} {}", reg.get("reason").and_then(Value::as_str).unwrap_or("")).trim_end().to_string(),
        None => status.to_string(),
    })
}

/// One transition as a line of the history.
fn describe_transition(t: &Value) -> String {
    let when = utc((t["at_ms"].as_i64().unwrap_or(0)) / 1000);
    match t["kind"].as_str() {
        Some("reachability") => {
            let rtt = t["rtt_ms"].as_f64().map(|ms| format!(" ({} ms)", fixed(ms, 1))).unwrap_or_default();
            format!("{when}: {} → {}{rtt}", t["from"].as_str().unwrap_or("?"), t["to"].as_str().unwrap_or("?"))
        }
        _ => {
            let to = registration_text(&json!({"registration": t["to"]})).unwrap_or_default();
            format!("{when}: registration {to}")
        }
    }
}

const WIDTH: f64 = 600.0;
const BAND: f64 = 14.0;
const PLOT: f64 = 60.0;

/// The part of the plot after the last point, in ms: 4% of the span, at
/// least 2 s.
fn margin_ms(span_ms: f64) -> f64 {
    (span_ms * 0.04).max(2_000.0)
}

/// The state band over a plot of `span_ms` from `start`: each change holds
/// until the next, the last to the plot's right edge; `(x, width, state)`
/// in the chart's units, each at least 2 wide.
fn bands(changes: &[(f64, String)], start: f64, span_ms: f64) -> Vec<(f64, f64, String)> {
    let x = |at: f64| ((at - start) / span_ms * WIDTH).clamp(0.0, WIDTH);
    changes
        .iter()
        .enumerate()
        .map(|(i, (at, to))| {
            let until = changes.get(i + 1).map_or(WIDTH, |next| x(next.0));
            (x(*at), (until - x(*at)).max(2.0), to.clone())
        })
        .collect()
}

/// The strip chart: over the span of the kept samples and transitions, a
/// band coloured by the state in force (up, down, unknown) and below it the
/// round trip of each answered OPTIONS (a missed one is a red tick).
fn timeline(health: &Value) -> impl IntoView + use<> {
    let samples: Vec<(f64, Option<f64>)> = health["samples"]
        .as_array()
        .map(|all| all.iter().map(|s| (s["at_ms"].as_f64().unwrap_or(0.0), s["rtt_ms"].as_f64())).collect())
        .unwrap_or_default();
    let changes: Vec<(f64, String)> = health["history"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|t| t["kind"] == "reachability")
                .map(|t| (t["at_ms"].as_f64().unwrap_or(0.0), t["to"].as_str().unwrap_or("unknown").to_string()))
                .collect()
        })
        .unwrap_or_default();
    let times: Vec<f64> = samples.iter().map(|s| s.0).chain(changes.iter().map(|c| c.0)).collect();
    let (Some(start), Some(end)) = (times.iter().copied().reduce(f64::min), times.iter().copied().reduce(f64::max)) else {
        return view! { <p class="muted timeline-empty">"No OPTIONS outcome yet: a trunk is probed once its AOR has a qualify_frequency."</p> }.into_any();
    };
    // The current state is drawn on past the last point (a right margin of
    // the plot): a change seen at the last OPTIONS is then a band, not a
    // sliver at the edge.
    let span = (end - start).max(1.0) + margin_ms(end - start);
    let x = move |at: f64| (at - start) / span * WIDTH;
    let band = bands(&changes, start, span);
    let top = samples.iter().filter_map(|s| s.1).fold(1.0_f64, f64::max);
    let y = move |rtt: f64| BAND + 4.0 + PLOT - rtt / top * PLOT;
    let line: String = samples.iter().filter_map(|(at, rtt)| rtt.map(|r| format!("{},{}", fixed(x(*at), 1), fixed(y(r), 1)))).collect::<Vec<_>>().join(" ");
    let missed: Vec<f64> = samples.iter().filter(|s| s.1.is_none()).map(|s| x(s.0)).collect();
    let height = BAND + 8.0 + PLOT;
    view! {
        <svg class="health-timeline" viewBox=format!("0 0 {} {}", fixed(WIDTH, 0), fixed(height, 0)) preserveAspectRatio="none" role="img"
            aria-label=format!("State and round trip over the last {} s; highest round trip {} ms", fixed((end - start) / 1000.0, 0), fixed(top, 1))>
            {band.into_iter().map(|(bx, bw, to)| view! {
                <rect class=format!("state {to}") data-state=to.clone() x=fixed(bx, 1) y="0" width=fixed(bw, 1) height=fixed(BAND, 0)></rect>
            }).collect_view()}
            <polyline class="rtt" fill="none" points=line></polyline>
            {missed.into_iter().map(|mx| view! {
                <line class="missed" x1=fixed(mx, 1) x2=fixed(mx, 1) y1=fixed(BAND + 4.0, 0) y2=fixed(height, 0)></line>
            }).collect_view()}
        </svg>
        <p class="muted timeline-scale">{format!("last {} s · round trip up to {} ms", fixed((end - start) / 1000.0, 0), fixed(top, 1))}</p>
    }
    .into_any()
}

#[component]
pub fn TrunkHealth(trunk_id: i64, name: String, live: RwSignal<Value>) -> impl IntoView {
    let session = expect_context::<Session>();
    let fetched = RwSignal::new(Value::Null);
    let settings_note = RwSignal::new(None::<String>);
    let misses = RwSignal::new(String::new());
    let answers = RwSignal::new(String::new());
    let every = RwSignal::new(String::new());
    let path = format!("/api/patchbay/1.0/trunks/{trunk_id}/health");
    {
        let path = path.clone();
        spawn_local(async move {
            if let Ok(answer) = api::get::<Value>(&session.token(), &path).await {
                misses.try_set(answer["policy"]["down_after_misses"].to_string());
                answers.try_set(answer["policy"]["up_after_answers"].to_string());
                every.try_set((answer["policy"]["probe_every_ms"].as_u64().unwrap_or(30_000) / 1000).to_string());
                fetched.try_set(answer);
            }
        });
    }
    let key = name.clone();
    // The live stream's view once it has one; the fetched one until then.
    let health = Memo::new(move |_| {
        let pushed = live.with(|l| l["health"][key.as_str()].clone());
        if pushed.is_object() { pushed } else { fetched.get() }
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parse = |s: RwSignal<String>| s.get_untracked().trim().parse::<u64>().ok();
        let body = json!({"down_after_misses": parse(misses), "up_after_answers": parse(answers), "probe_every_s": parse(every)});
        let body = Value::Object(body.as_object().cloned().unwrap_or_default().into_iter().filter(|(_, v)| !v.is_null()).collect());
        let path = path.clone();
        spawn_local(async move {
            let answer = api::send(&session.token(), "PUT", &path, &body).await;
            settings_note.try_set(Some(match answer {
                Ok(_) => "Saved.".to_string(),
                Err(failure) => crate::ui::humanize(&failure.0),
            }));
        });
    };
    view! {
        <section class="trunk-health" data-trunk-id=trunk_id.to_string() aria-label=format!("Health of trunk {name}")>
            <h2>"Health of " {name.clone()}</h2>
            <p class="health-state">
                <span class=move || format!("badge {}", match health.with(|h| h["reachability"].as_str().unwrap_or("unknown").to_string()).as_str() { "up" => "ok", "down" => "bad", _ => "pending" })
                    data-health=move || health.with(|h| h["reachability"].as_str().unwrap_or("unknown").to_string())>
                    {move || health.with(reachability_text)}
                </span>
                " "
                <span class="health-registration">{move || health.with(registration_text)}</span>
            </p>
            {move || health.with(timeline)}
            <h3>"Transitions"</h3>
            <ul class="health-history">
                {move || health.with(|h| h["history"].as_array().cloned().unwrap_or_default()).iter().rev().map(|t| view! { <li>{describe_transition(t)}</li> }).collect_view()}
            </ul>
            <form class="health-settings" on:submit=save>
                <label>"Down after " <input name="down_after_misses" type="number" min="1" max="100" prop:value=move || misses.get() on:input=move |ev| misses.set(event_target_value(&ev))/> " missed OPTIONS"</label>
                <label>"Up after " <input name="up_after_answers" type="number" min="1" max="100" prop:value=move || answers.get() on:input=move |ev| answers.set(event_target_value(&ev))/> " answered"</label>
                <label>"An OPTIONS every " <input name="probe_every_s" type="number" min="1" max="3600" prop:value=move || every.get() on:input=move |ev| every.set(event_target_value(&ev))/> " s"</label>
                <button type="submit">"Save thresholds"</button>
                <p class="muted settings-note" role="status">{move || settings_note.get()}</p>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_registrations_in_words() {
        assert_eq!(reachability_text(&json!({"reachability": "up", "last_rtt_ms": 1.234})), "up, 1.2 ms");
        assert_eq!(reachability_text(&json!({"reachability": "down", "last_rtt_ms": 1.2})), "down");
        assert_eq!(reachability_text(&Value::Null), "unknown");
        let refused = json!({"registration": {"status": "Rejected", "code": 403, "reason": "Forbidden"}});
        assert_eq!(registration_text(&refused).as_deref(), Some("Rejected — 403 Forbidden"));
        assert_eq!(registration_text(&json!({"registration": {"status": "Registered"}})).as_deref(), Some("Registered"));
        assert_eq!(registration_text(&json!({})), None);
    }

    #[test]
    fn the_state_at_the_last_point_is_a_band_not_a_sliver() {
        // Up at 0 s, down at 100 s, up again at the last point (200 s).
        let changes = [(0.0, "up".to_string()), (100_000.0, "down".to_string()), (200_000.0, "up".to_string())];
        let span = 200_000.0 + margin_ms(200_000.0);
        let b = bands(&changes, 0.0, span);
        assert_eq!(b.len(), 3);
        let (x, w, state) = &b[2];
        assert_eq!(state, "up");
        assert!((x + w - WIDTH).abs() < 1e-9, "the current state reaches the right edge: {b:?}");
        assert!(*w >= WIDTH * 0.035, "wide enough to see: {w}");
        assert!((b[0].0 + b[0].1 - b[1].0).abs() < 1e-9 && (b[1].0 + b[1].1 - b[2].0).abs() < 1e-9, "contiguous: {b:?}");
        // A change just before the last point still shows.
        let b = bands(&[(0.0, "down".to_string()), (199_999.0, "up".to_string())], 0.0, span);
        assert!(b[1].1 > 20.0, "{b:?}");
    }
}
