//! The trunk form's number plan (`number_plan` on `PUT /trunks/{id}`) and
//! its live preview: a number typed in the form, read and written by
//! `shared::numbers` in the browser at each keystroke, as Asterisk will
//! (the renderer writes the same forms into the dialplan).

use leptos::prelude::*;
use crate::ui::Show;
use patchbay_shared::numbers::{self, COUNTRIES, DidSource, Habits, NumberPlan, OutboundFormat};
use serde_json::{Value, json};

/// The plan's fields; `country` empty means "no plan".
#[derive(Clone, Copy)]
pub struct PlanDraft {
    pub country: RwSignal<String>,
    pub outbound: RwSignal<String>,
    pub caller_id: RwSignal<String>,
    /// Empty: DIDs are looked up as they arrive.
    pub inbound: RwSignal<String>,
    /// Where the DID is (`request_uri`, `to`…).
    pub did_from: RwSignal<String>,
    /// The number typed into the preview.
    pub sample: RwSignal<String>,
}

impl PlanDraft {
    pub fn new() -> Self {
        PlanDraft {
            country: RwSignal::new(String::new()),
            outbound: RwSignal::new(OutboundFormat::AsDialled.as_str().into()),
            caller_id: RwSignal::new(OutboundFormat::AsDialled.as_str().into()),
            inbound: RwSignal::new(String::new()),
            did_from: RwSignal::new(DidSource::RequestUri.as_str().into()),
            sample: RwSignal::new(String::new()),
        }
    }

    /// Fills the fields from a trunk's `number_plan` (or its absence).
    pub fn load(&self, plan: &Value) {
        let plan: Option<NumberPlan> = crate::api::from_json(plan).ok();
        self.country.set(plan.as_ref().map(|p| p.country.clone()).unwrap_or_default());
        let format = |f: Option<OutboundFormat>| f.map(|f| f.as_str().to_string()).unwrap_or_default();
        self.outbound.set(plan.as_ref().map_or("as_dialled", |p| p.outbound.as_str()).into());
        self.caller_id.set(plan.as_ref().map_or("as_dialled", |p| p.caller_id.as_str()).into());
        self.did_from.set(plan.as_ref().map_or(DidSource::RequestUri, |p| p.did_from).as_str().into());
        self.inbound.set(format(plan.and_then(|p| p.inbound)));
    }

    /// The plan the fields describe, `None` without a country.
    fn plan(&self, tracked: bool) -> Option<NumberPlan> {
        let get = |s: RwSignal<String>| if tracked { s.get() } else { s.get_untracked() };
        let country = get(self.country);
        if country.is_empty() {
            return None;
        }
        let format = |s: RwSignal<String>| OutboundFormat::from_name(&get(s)).unwrap_or(OutboundFormat::AsDialled);
        Some(NumberPlan {
            country,
            outbound: format(self.outbound),
            caller_id: format(self.caller_id),
            inbound: OutboundFormat::from_name(&get(self.inbound)).filter(|f| *f != OutboundFormat::AsDialled),
            did_from: DidSource::ALL.into_iter().find(|d| d.as_str() == get(self.did_from)).unwrap_or_default(),
        })
    }

    /// `number_plan` for the trunk's PUT/POST body (`null`: no plan).
    pub fn body(&self) -> Value {
        self.plan(false).map_or(Value::Null, |p| json!(p))
    }
}

fn format_label(format: OutboundFormat) -> &'static str {
    match format {
        OutboundFormat::E164 => "E.164 (15145550100)",
        OutboundFormat::PlusE164 => "+E.164 (+15145550100)",
        OutboundFormat::National => "National, with trunk prefix",
        OutboundFormat::NationalSignificant => "National significant number",
        OutboundFormat::AsDialled => "As dialled (unchanged)",
    }
}

/// One step of the preview: `step` names it for tests and styles.
fn step(step: &'static str, label: &'static str, value: String) -> impl IntoView {
    view! { <li data-step=step><span class="muted">{label}</span>" " <code>{value}</code></li> }
}

/// The preview of `sample` under `plan`.
fn preview(plan: &NumberPlan, habits: &Habits, sample: &str) -> impl IntoView + use<> {
    let read = match numbers::normalise(sample, habits) {
        Ok(number) => number.with_plus(),
        Err(e) => format!("not read: {e}"),
    };
    let digits = numbers::filtered(sample);
    let (out, _) = numbers::outbound(&digits, plan.outbound, habits);
    let (caller, _) = numbers::outbound(&digits, plan.caller_id, habits);
    let inbound = plan.inbound.map(|f| numbers::inbound(&digits, f, habits).0);
    view! {
        <ol class="number-steps">
            {step("typed", "typed", sample.to_string())}
            {step("e164", "read as", read)}
            {step("outbound", "called number sent (Request-URI)", out)}
            {step("caller_id", "as caller ID (From, PAI)", caller)}
            {step("inbound", "as a DID arriving: looked up as", inbound.unwrap_or_else(|| format!("{sample} (unchanged)")))}
        </ol>
    }
}

/// The plan's fields and the preview, inside the trunk form.
#[component]
pub fn NumberPlanFields(draft: PlanDraft) -> impl IntoView {
    let select = |signal: RwSignal<String>, name: &'static str, none: Option<&'static str>| {
        view! {
            <select name=name prop:value=move || signal.get() on:change=move |ev| signal.set(event_target_value(&ev))>
                {none.map(|label| view! { <option value="">{label}</option> })}
                {OutboundFormat::ALL.into_iter().filter(move |f| none.is_none() || *f != OutboundFormat::AsDialled)
                    .map(|f| view! { <option value=f.as_str()>{format_label(f)}</option> }).collect_view()}
            </select>
        }
    };
    view! {
        <fieldset class="number-plan">
            <legend>"Numbers"</legend>
            <div class="grid2">
                <label>"Country (number plan)"
                    <select name="number_country" prop:value=move || draft.country.get() on:change=move |ev| draft.country.set(event_target_value(&ev))>
                        <option value="">"None: numbers pass unchanged"</option>
                        {COUNTRIES.iter().map(|c| view! { <option value=c.iso>{format!("{} (+{})", c.iso, c.code)}</option> }).collect_view()}
                    </select>
                </label>
                <Show when=move || !draft.country.get().is_empty()>
                    <label>"Called numbers sent as" {select(draft.outbound, "number_outbound", None)}</label>
                    <label>"Caller ID sent as" {select(draft.caller_id, "number_caller_id", None)}</label>
                    <label>"Incoming DIDs looked up as" {select(draft.inbound, "number_inbound", Some("As they arrive (unchanged)"))}</label>
                    <label>"The DID is in"
                        <select name="number_did_from" prop:value=move || draft.did_from.get() on:change=move |ev| draft.did_from.set(event_target_value(&ev))>
                            <option value="request_uri">"the Request-URI"</option>
                            <option value="to">"the To header"</option>
                            <option value="p_preferred_identity">"P-Preferred-Identity"</option>
                            <option value="diversion">"Diversion"</option>
                        </select>
                    </label>
                </Show>
            </div>
            <Show when=move || !draft.country.get().is_empty()>
                <div class="number-preview">
                    <label>"Try a number" <input name="number_sample" inputmode="tel" placeholder="514 555 0100" bind:value=draft.sample/></label>
                    {move || {
                        let sample = draft.sample.get();
                        let plan = draft.plan(true)?;
                        let habits = plan.habits()?;
                        (!sample.trim().is_empty()).then(|| preview(&plan, &habits, &sample))
                    }}
                </div>
            </Show>
        </fieldset>
    }
}
