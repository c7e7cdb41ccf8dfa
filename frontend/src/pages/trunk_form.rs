//! The trunk form, for every kind the API has: SIP (IP authentication,
//! password authentication, registration, or authentication without
//! registering as in seed 003), IAX and custom (interface + suffix).
//!
//! The options people set most are real fields; every other PJSIP option
//! goes in the advanced list, whose key box offers Asterisk's option names
//! for the chosen section (from `patchbay_shared::validate::OptionSet`).
//! On edit, the endpoint's options are read back into those fields and the
//! rest into the advanced list, so a save keeps them.
//!
//! Secrets are write-only: the password box starts empty; left empty, the
//! value the API gave (the secret, or the `********` placeholder a tenant
//! admin reads, which the API keeps) is sent back unchanged.

use crate::api;
use crate::pages::routes::Undo;
use crate::ui::{C, ContextPicker, FieldError, submit, text};
use leptos::prelude::*;
use crate::ui::Show;
use patchbay_shared::validate::OptionSet;
use serde_json::{Value, json};

/// The codecs offered as checkboxes (Asterisk format names).
const CODECS: &[&str] = &["ulaw", "alaw", "g722", "g729", "opus", "gsm"];

/// Advanced-list sections: (API field, label, option set offered as you type).
const SECTIONS: &[(&str, &str, OptionSet)] = &[
    ("endpoint_section_options", "endpoint", OptionSet::Endpoint),
    ("aor_section_options", "aor", OptionSet::Aor),
    ("auth_section_options", "inbound auth", OptionSet::Auth),
    ("outbound_auth_section_options", "outbound auth", OptionSet::Auth),
    ("identify_section_options", "identify", OptionSet::Identify),
    ("registration_section_options", "registration", OptionSet::Registration),
];

/// Endpoint options the form shows as fields (so not in the advanced list).
const ENDPOINT_FIELDS: &[&str] = &["allow", "disallow", "rtp_symmetric", "rewrite_contact", "force_rport", "direct_media", "from_user", "from_domain", "identify_by"];
/// Registration options the form writes itself.
const REGISTRATION_FIELDS: &[&str] = &[
    "server_uri", "client_uri", "expiration", "transport", "auth_rejection_permanent", "retry_interval", "forbidden_retry_interval", "fatal_retry_interval", "max_retries",
];

/// How the trunk authenticates.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AuthMode {
    /// By address only: no credentials either way.
    Ip,
    /// We send credentials when the provider challenges us (seed 003).
    Outbound,
    /// Both ways: the far end must authenticate to us as well (a PBX peer).
    Both,
}

impl AuthMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::Outbound => "outbound",
            Self::Both => "both",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "outbound" => Self::Outbound,
            "both" => Self::Both,
            _ => Self::Ip,
        }
    }
}

/// The form's state. Every field is a signal; `Copy` so closures share it.
#[derive(Clone, Copy)]
pub struct TrunkDraft {
    pub kind: RwSignal<String>,
    pub name: RwSignal<String>,
    pub label: RwSignal<String>,
    pub context: RwSignal<String>,
    pub host: RwSignal<String>,
    pub port: RwSignal<String>,
    pub auth: RwSignal<AuthMode>,
    pub username: RwSignal<String>,
    /// What the user typed (empty: keep `kept_password`).
    pub password: RwSignal<String>,
    pub kept_password: RwSignal<Option<String>>,
    pub register: RwSignal<bool>,
    /// The far end registers to us (chan_sip's `host=dynamic`, seed 000's
    /// side B): the AOR takes one contact, replaced at each REGISTER.
    pub accept_register: RwSignal<bool>,
    pub qualify: RwSignal<bool>,
    pub qualify_frequency: RwSignal<String>,
    pub codecs: RwSignal<Vec<String>>,
    pub transport: RwSignal<String>,
    pub rtp_symmetric: RwSignal<bool>,
    pub rewrite_contact: RwSignal<bool>,
    pub force_rport: RwSignal<bool>,
    pub direct_media: RwSignal<bool>,
    pub from_user: RwSignal<String>,
    pub from_domain: RwSignal<String>,
    /// `ip` (match addresses) or `header` (match a header).
    pub identify: RwSignal<String>,
    pub match_ips: RwSignal<String>,
    pub match_header: RwSignal<String>,
    /// (section field, key, value).
    pub advanced: RwSignal<Vec<(String, String, String)>>,
    /// IAX peer type and custom suffix / enabled.
    pub iax_type: RwSignal<String>,
    pub suffix: RwSignal<String>,
    pub enabled: RwSignal<bool>,
    /// The trunk's number plan and its preview.
    pub numbers: crate::pages::trunk_numbers::PlanDraft,
}

impl TrunkDraft {
    pub fn new() -> Self {
        TrunkDraft {
            kind: RwSignal::new("sip".into()),
            name: RwSignal::new(String::new()),
            label: RwSignal::new(String::new()),
            context: RwSignal::new(String::new()),
            host: RwSignal::new(String::new()),
            port: RwSignal::new(String::new()),
            auth: RwSignal::new(AuthMode::Ip),
            username: RwSignal::new(String::new()),
            password: RwSignal::new(String::new()),
            kept_password: RwSignal::new(None),
            register: RwSignal::new(false),
            accept_register: RwSignal::new(false),
            qualify: RwSignal::new(true),
            qualify_frequency: RwSignal::new("60".into()),
            codecs: RwSignal::new(vec!["ulaw".into(), "alaw".into()]),
            transport: RwSignal::new(String::new()),
            rtp_symmetric: RwSignal::new(true),
            rewrite_contact: RwSignal::new(true),
            force_rport: RwSignal::new(true),
            direct_media: RwSignal::new(false),
            from_user: RwSignal::new(String::new()),
            from_domain: RwSignal::new(String::new()),
            identify: RwSignal::new("ip".into()),
            match_ips: RwSignal::new(String::new()),
            match_header: RwSignal::new(String::new()),
            advanced: RwSignal::new(Vec::new()),
            iax_type: RwSignal::new("peer".into()),
            suffix: RwSignal::new(String::new()),
            enabled: RwSignal::new(true),
            numbers: crate::pages::trunk_numbers::PlanDraft::new(),
        }
    }

    /// The password to send: what was typed, else what the API gave.
    fn secret(&self) -> String {
        let typed = self.password.get_untracked();
        if typed.is_empty() { self.kept_password.get_untracked().unwrap_or_default() } else { typed }
    }

    /// `host[:port]`.
    fn hostport(&self) -> String {
        let (host, port) = (self.host.get_untracked(), self.port.get_untracked());
        if port.trim().is_empty() { host.trim().to_string() } else { format!("{}:{}", host.trim(), port.trim()) }
    }

    /// The SIP endpoint body (`POST`/`PUT /endpoints/sip`). `transports`
    /// maps uuids to names (a registration names its transport).
    pub fn sip_body(&self, transports: &[Value]) -> Value {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut endpoint: Vec<(String, String)> = Vec::new();
        let mut aor = Vec::new();
        let mut auth = Vec::new();
        let mut outbound_auth = Vec::new();
        let mut identify = Vec::new();
        let mut registration = Vec::new();
        let mut registration_auth = Vec::new();
        let push = |list: &mut Vec<(String, String)>, k: &str, v: String| list.push((k.to_string(), v));

        let codecs = self.codecs.get_untracked();
        if !codecs.is_empty() {
            push(&mut endpoint, "allow", format!("!all,{}", codecs.join(",")));
        }
        push(&mut endpoint, "rtp_symmetric", yes_no(self.rtp_symmetric.get_untracked()).into());
        push(&mut endpoint, "rewrite_contact", yes_no(self.rewrite_contact.get_untracked()).into());
        push(&mut endpoint, "force_rport", yes_no(self.force_rport.get_untracked()).into());
        push(&mut endpoint, "direct_media", yes_no(self.direct_media.get_untracked()).into());
        for (key, signal) in [("from_user", self.from_user), ("from_domain", self.from_domain)] {
            let value = signal.get_untracked();
            if !value.trim().is_empty() {
                push(&mut endpoint, key, value.trim().to_string());
            }
        }
        let mode = self.auth.get_untracked();
        let by_header = self.identify.get_untracked() == "header";
        let mut identify_by = vec![if by_header { "header" } else { "ip" }];
        if mode == AuthMode::Both {
            identify_by.extend(["username", "auth_username"]);
        }
        if by_header || mode == AuthMode::Both {
            push(&mut endpoint, "identify_by", identify_by.join(","));
        }

        let hostport = self.hostport();
        if mode == AuthMode::Both && self.accept_register.get_untracked() {
            push(&mut aor, "max_contacts", "1".into());
            push(&mut aor, "remove_existing", "yes".into());
        } else if !hostport.is_empty() {
            push(&mut aor, "contact", format!("sip:{hostport}"));
        }
        if self.qualify.get_untracked() {
            let frequency = self.qualify_frequency.get_untracked();
            push(&mut aor, "qualify_frequency", if frequency.trim().is_empty() { "60".into() } else { frequency.trim().to_string() });
        }

        let username = self.username.get_untracked().trim().to_string();
        let secret = self.secret();
        if mode != AuthMode::Ip {
            push(&mut outbound_auth, "username", username.clone());
            push(&mut outbound_auth, "password", secret.clone());
        }
        if mode == AuthMode::Both {
            push(&mut auth, "username", username.clone());
            push(&mut auth, "password", secret.clone());
        }

        if by_header {
            let header = self.match_header.get_untracked();
            if !header.trim().is_empty() {
                push(&mut identify, "match_header", header.trim().to_string());
            }
        } else {
            let ips = self.match_ips.get_untracked();
            let listed: Vec<&str> = ips.split([',', ' ', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect();
            if listed.is_empty() {
                let host = self.host.get_untracked();
                if !host.trim().is_empty() {
                    push(&mut identify, "match", host.trim().to_string());
                }
            }
            for ip in listed {
                push(&mut identify, "match", ip.to_string());
            }
        }

        if self.register.get_untracked() {
            push(&mut registration, "server_uri", format!("sip:{hostport}"));
            push(&mut registration, "client_uri", format!("sip:{username}@{hostport}"));
            push(&mut registration, "expiration", "120".into());
            let transport_uuid = self.transport.get_untracked();
            if let Some(name) = transports.iter().find(|t| t["uuid"] == transport_uuid.as_str()).and_then(|t| t["name"].as_str()) {
                push(&mut registration, "transport", name.to_string());
            }
            // Retries stay on, so a registration sent before the provider
            // knows us recovers by itself (as Wazo's registration template).
            push(&mut registration, "auth_rejection_permanent", "no".into());
            push(&mut registration, "retry_interval", "20".into());
            push(&mut registration, "forbidden_retry_interval", "30".into());
            push(&mut registration, "fatal_retry_interval", "30".into());
            push(&mut registration, "max_retries", "10000".into());
            if mode != AuthMode::Ip {
                push(&mut registration_auth, "username", username.clone());
                push(&mut registration_auth, "password", secret.clone());
            }
        }

        for (section, key, value) in self.advanced.get_untracked() {
            if key.trim().is_empty() {
                continue;
            }
            let list = match section.as_str() {
                "aor_section_options" => &mut aor,
                "auth_section_options" => &mut auth,
                "outbound_auth_section_options" => &mut outbound_auth,
                "identify_section_options" => &mut identify,
                "registration_section_options" => &mut registration,
                _ => &mut endpoint,
            };
            list.push((key.trim().to_string(), value));
        }

        let name = self.name.get_untracked().trim().to_string();
        let label = self.label.get_untracked();
        let transport = self.transport.get_untracked();
        json!({
            "name": name,
            "label": if label.trim().is_empty() { name.clone() } else { label },
            "endpoint_section_options": endpoint,
            "aor_section_options": aor,
            "auth_section_options": auth,
            "outbound_auth_section_options": outbound_auth,
            "identify_section_options": identify,
            "registration_section_options": registration,
            "registration_outbound_auth_section_options": registration_auth,
            "transport": if transport.is_empty() { Value::Null } else { json!({"uuid": transport}) },
        })
    }

    /// Fills the form from a SIP endpoint the API returned.
    pub fn load_sip(&self, endpoint: &Value) {
        let pairs = |field: &str| -> Vec<(String, String)> {
            endpoint[field]
                .as_array()
                .map(|list| list.iter().filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string()))).collect())
                .unwrap_or_default()
        };
        let find = |list: &[(String, String)], key: &str| list.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let endpoint_options = pairs("endpoint_section_options");
        let aor = pairs("aor_section_options");
        let auth = pairs("auth_section_options");
        let outbound_auth = pairs("outbound_auth_section_options");
        let identify = pairs("identify_section_options");
        let registration = pairs("registration_section_options");
        let registration_auth = pairs("registration_outbound_auth_section_options");

        self.kind.set("sip".into());
        self.name.set(text(&endpoint["name"]));
        self.label.set(text(&endpoint["label"]));
        self.transport.set(text(&endpoint["transport"]["uuid"]));
        let contact = find(&aor, "contact").or_else(|| find(&registration, "server_uri")).unwrap_or_default();
        let hostport = contact.trim_start_matches("sips:").trim_start_matches("sip:");
        let hostport = hostport.rsplit_once('@').map(|(_, h)| h).unwrap_or(hostport);
        let hostport = hostport.split(';').next().unwrap_or_default();
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => (h.to_string(), p.to_string()),
            _ => (hostport.to_string(), String::new()),
        };
        self.host.set(host);
        self.port.set(port);
        let mode = if !auth.is_empty() {
            AuthMode::Both
        } else if !outbound_auth.is_empty() || !registration_auth.is_empty() {
            AuthMode::Outbound
        } else {
            AuthMode::Ip
        };
        self.auth.set(mode);
        let credentials = [&outbound_auth, &auth, &registration_auth];
        self.username.set(credentials.iter().find_map(|l| find(l, "username")).unwrap_or_default());
        self.kept_password.set(credentials.iter().find_map(|l| find(l, "password")));
        self.password.set(String::new());
        self.register.set(!registration.is_empty());
        self.accept_register.set(find(&aor, "max_contacts").is_some_and(|n| n != "0"));
        let frequency = find(&aor, "qualify_frequency").filter(|f| f != "0");
        self.qualify.set(frequency.is_some());
        self.qualify_frequency.set(frequency.unwrap_or_else(|| "60".into()));
        let allow = find(&endpoint_options, "allow").unwrap_or_default();
        self.codecs.set(allow.split(',').map(str::trim).filter(|c| !c.is_empty() && !c.starts_with('!') && *c != "all").map(str::to_string).collect());
        let flag = |key: &str, default: bool| find(&endpoint_options, key).map(|v| matches!(v.as_str(), "yes" | "true" | "on" | "1")).unwrap_or(default);
        self.rtp_symmetric.set(flag("rtp_symmetric", false));
        self.rewrite_contact.set(flag("rewrite_contact", false));
        self.force_rport.set(flag("force_rport", true));
        self.direct_media.set(flag("direct_media", true));
        self.from_user.set(find(&endpoint_options, "from_user").unwrap_or_default());
        self.from_domain.set(find(&endpoint_options, "from_domain").unwrap_or_default());
        let header = find(&identify, "match_header");
        self.identify.set(if header.is_some() { "header".into() } else { "ip".into() });
        self.match_header.set(header.unwrap_or_default());
        let ips: Vec<String> = identify.iter().filter(|(k, _)| k == "match").map(|(_, v)| v.clone()).collect();
        self.match_ips.set(ips.join(", "));

        // Everything the fields above do not cover stays, in the advanced list.
        let mut advanced = Vec::new();
        let mut keep = |section: &str, list: &[(String, String)], shown: &[&str]| {
            for (k, v) in list {
                if !shown.contains(&k.as_str()) {
                    advanced.push((section.to_string(), k.clone(), v.clone()));
                }
            }
        };
        keep("endpoint_section_options", &endpoint_options, ENDPOINT_FIELDS);
        keep("aor_section_options", &aor, &["contact", "qualify_frequency", "max_contacts", "remove_existing"]);
        keep("auth_section_options", &auth, &["username", "password"]);
        keep("outbound_auth_section_options", &outbound_auth, &["username", "password"]);
        keep("identify_section_options", &identify, &["match", "match_header"]);
        keep("registration_section_options", &registration, REGISTRATION_FIELDS);
        self.advanced.set(advanced);
    }

    pub fn load_iax(&self, endpoint: &Value) {
        self.kind.set("iax".into());
        self.name.set(text(&endpoint["name"]));
        self.host.set(text(&endpoint["host"]));
        self.iax_type.set(endpoint["type"].as_str().unwrap_or("peer").to_string());
        let mut advanced = Vec::new();
        for pair in endpoint["options"].as_array().cloned().unwrap_or_default() {
            let (k, v) = (text(&pair[0]), text(&pair[1]));
            match k.as_str() {
                "username" => self.username.set(v),
                "secret" => self.kept_password.set(Some(v)),
                _ => advanced.push(("options".to_string(), k, v)),
            }
        }
        self.password.set(String::new());
        self.advanced.set(advanced);
    }

    pub fn iax_body(&self) -> Value {
        let mut options = Vec::new();
        let username = self.username.get_untracked();
        if !username.trim().is_empty() {
            options.push(json!(["username", username.trim()]));
        }
        let secret = self.secret();
        if !secret.is_empty() {
            options.push(json!(["secret", secret]));
        }
        for (_, k, v) in self.advanced.get_untracked() {
            if !k.trim().is_empty() {
                options.push(json!([k.trim(), v]));
            }
        }
        let host = self.host.get_untracked();
        json!({"name": self.name.get_untracked().trim(), "type": self.iax_type.get_untracked(),
               "host": if host.trim().is_empty() { "dynamic".to_string() } else { host.trim().to_string() }, "options": options})
    }

    pub fn load_custom(&self, endpoint: &Value) {
        self.kind.set("custom".into());
        self.name.set(text(&endpoint["interface"]));
        self.suffix.set(text(&endpoint["interface_suffix"]));
        self.enabled.set(endpoint["enabled"] != json!(false));
    }

    pub fn custom_body(&self) -> Value {
        let suffix = self.suffix.get_untracked();
        json!({"interface": self.name.get_untracked().trim(), "interface_suffix": if suffix.is_empty() { Value::Null } else { json!(suffix) },
               "enabled": self.enabled.get_untracked()})
    }
}

/// The trunk being edited: its id and endpoint path (`None` while creating).
#[derive(Clone, Debug, PartialEq)]
pub struct Editing {
    pub trunk_id: i64,
    pub endpoint_path: String,
}

/// Create (`editing` is `None`) or edit a trunk. `done` runs after a save.
#[component]
pub fn TrunkForm(
    draft: TrunkDraft,
    editing: RwSignal<Option<Editing>>,
    contexts: RwSignal<Vec<Value>>,
    transports: RwSignal<Vec<Value>>,
    done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let error = RwSignal::new(None::<FieldError>);
    let busy = RwSignal::new(false);
    let is_sip = move || draft.kind.get() == "sip";
    let is_iax = move || draft.kind.get() == "iax";
    let is_custom = move || draft.kind.get() == "custom";

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let kind = draft.kind.get_untracked();
        let body = match kind.as_str() {
            "iax" => draft.iax_body(),
            "custom" => draft.custom_body(),
            _ => draft.sip_body(&transports.get_untracked()),
        };
        let context = draft.context.get_untracked();
        let number_plan = draft.numbers.body();
        let editing_now = editing.get_untracked();
        error.set(None);
        let request = move |token: String| async move {
            let failed = |f: api::ApiFailure| {
                let field = crate::ui::field_of(&f.0).unwrap_or_default();
                FieldError { field, message: f.0 }
            };
            let trunk_body = json!({"context": if context.is_empty() { Value::Null } else { json!(context) }, "number_plan": number_plan});
            match editing_now {
                Some(edit) => async {
                    api::send(&token, "PUT", &edit.endpoint_path, &body).await.map_err(failed)?;
                    api::send(&token, "PUT", &format!("{C}/trunks/{}", edit.trunk_id), &trunk_body).await.map_err(failed)?;
                    Ok(())
                }
                .await,
                None => {
                    // Endpoint, trunk, association: undone if a later step fails.
                    let mut undo = Undo::default();
                    let steps: Result<(), FieldError> = async {
                        let (path, key) = match kind.as_str() {
                            "iax" => ("endpoints/iax", "id"),
                            "custom" => ("endpoints/custom", "id"),
                            _ => ("endpoints/sip", "uuid"),
                        };
                        let endpoint = api::send(&token, "POST", &format!("{C}/{path}"), &body).await.map_err(failed)?;
                        let endpoint_id = text(&endpoint[key]);
                        undo.push(format!("{C}/{path}/{endpoint_id}"));
                        let trunk = api::send(&token, "POST", &format!("{C}/trunks"), &trunk_body).await.map_err(failed)?;
                        undo.push(format!("{C}/trunks/{}", trunk["id"]));
                        let kind_path = path.trim_start_matches("endpoints/");
                        api::send(&token, "PUT", &format!("{C}/trunks/{}/endpoints/{kind_path}/{endpoint_id}", trunk["id"]), &json!({})).await.map_err(failed)?;
                        Ok(())
                    }
                    .await;
                    match steps {
                        Ok(()) => Ok::<(), FieldError>(()),
                        Err(e) => Err(undo.run(&token, e).await),
                    }
                }
            }
        };
        submit(busy, error, request, move |()| done());
    };

    let field_error = move |fields: &'static [&'static str]| {
        move || {
            error.get().filter(|e| fields.contains(&e.field.as_str())).map(|e| view! { <span class="field-error" role="alert" data-field=e.field.clone()>{e.message}</span> })
        }
    };
    let check = |signal: RwSignal<bool>, name: &'static str, label: &'static str, hint: &'static str| {
        view! {
            <label class="check" title=hint><input type="checkbox" name=name prop:checked=move || signal.get() on:change=move |ev| signal.set(event_target_checked(&ev))/> {label}</label>
        }
    };
    let datalist_id = |section: &str| format!("options-{section}");

    view! {
        <form class="trunk-form" on:submit=submit data-editing=move || editing.get().map(|e| e.trunk_id.to_string())>
            <h2>{move || if editing.get().is_some() { "Edit trunk" } else { "New trunk" }}</h2>
            <fieldset class="kind" disabled=move || editing.get().is_some()>
                <legend>"Kind"</legend>
                {[("sip", "SIP"), ("iax", "IAX2"), ("custom", "Custom interface")].into_iter().map(|(value, label)| view! {
                    <label class="check"><input type="radio" name="kind" value=value prop:checked=move || draft.kind.get() == value
                        on:change=move |_| draft.kind.set(value.into())/> {label}</label>
                }).collect_view()}
            </fieldset>
            <div class="grid2">
                <label>{move || if is_custom() { "Interface" } else { "Name" }}
                    <input name="name" bind:value=draft.name required placeholder=move || if is_custom() { "Local or DAHDI/g1" } else { "provider" }/>
                    {field_error(&["name", "interface", "username"])}
                </label>
                <Show when=is_sip><label>"Label" <input name="label" bind:value=draft.label/></label></Show>
                <Show when=is_custom><label>"Suffix (after the number)" <input name="interface_suffix" bind:value=draft.suffix placeholder="@from-pbx-b"/>
                    {field_error(&["interface_suffix"])}</label></Show>
                <label>"Inbound context (calls from this trunk)"
                    <ContextPicker kind="incall" value=draft.context name="context" contexts=contexts/>
                    {field_error(&["context"])}
                </label>
            </div>
            <crate::pages::trunk_numbers::NumberPlanFields draft=draft.numbers/>
            <Show when=is_custom>
                {check(draft.enabled, "enabled", "Enabled", "A disabled custom trunk is skipped when dialling")}
            </Show>
            <Show when=move || !is_custom()>
                <div class="grid2">
                    <label>"Registrar / proxy host" <input name="host" bind:value=draft.host placeholder="voip.provider.example.com"/>
                        {field_error(&["host", "aor_section_options"])}</label>
                    <Show when=is_sip><label>"Port" <input name="port" bind:value=draft.port inputmode="numeric" placeholder="5060"/></label></Show>
                    <Show when=is_iax><label>"Peer type"
                        <select name="iax_type" prop:value=move || draft.iax_type.get() on:change=move |ev| draft.iax_type.set(event_target_value(&ev))>
                            <option value="peer">"peer"</option><option value="friend">"friend"</option><option value="user">"user"</option>
                        </select></label></Show>
                </div>
            </Show>
            <Show when=is_sip>
                <fieldset class="auth">
                    <legend>"Authentication"</legend>
                    {[(AuthMode::Ip, "By address only (IP authentication)"), (AuthMode::Outbound, "We authenticate to the provider (username and password)"),
                      (AuthMode::Both, "Both ways (the far end authenticates to us too)")].into_iter().map(|(mode, label)| view! {
                        <label class="check"><input type="radio" name="auth" value=mode.as_str() prop:checked=move || draft.auth.get() == mode
                            on:change=move |ev| draft.auth.set(AuthMode::parse(&event_target_value(&ev)))/> {label}</label>
                    }).collect_view()}
                    <Show when=move || draft.auth.get() != AuthMode::Ip>
                        <div class="grid2">
                            <label>"Username" <input name="username" bind:value=draft.username autocomplete="off"/>
                                {field_error(&["outbound_auth_section_options", "auth_section_options", "registration_outbound_auth_section_options"])}</label>
                            <label>"Password"
                                <input name="password" type="password" bind:value=draft.password autocomplete="new-password"
                                    placeholder=move || if draft.kept_password.get().is_some() { "unchanged (type to replace)" } else { "" }/>
                            </label>
                        </div>
                        {check(draft.register, "register", "Register to the provider (it sends our calls to where we registered from)", "An outbound registration (REGISTER); leave off for seed 003's authenticate-without-registering")}
                        <Show when=move || draft.auth.get() == AuthMode::Both>
                            {check(draft.accept_register, "accept_register", "The far end registers to us (its address is where it registered from)", "chan_sip's host=dynamic: the AOR keeps one contact (max_contacts = 1, remove_existing)")}
                        </Show>
                    </Show>
                    {field_error(&["registration_section_options"])}
                </fieldset>
                <fieldset class="media">
                    <legend>"Reachability, codecs, transport"</legend>
                    <div class="grid2">
                        {check(draft.qualify, "qualify", "Qualify (send OPTIONS to keep NAT open and see reachability)", "aor qualify_frequency")}
                        <Show when=move || draft.qualify.get()>
                            <label>"Qualify every (seconds)" <input name="qualify_frequency" type="number" min="1" max="86400" bind:value=draft.qualify_frequency/></label>
                        </Show>
                    </div>
                    <div class="codecs" role="group" aria-label="Codecs">
                        <span class="muted">"Codecs: "</span>
                        {CODECS.iter().map(|codec| {
                            let codec = *codec;
                            view! { <label class="check"><input type="checkbox" name="codec" value=codec
                                prop:checked=move || draft.codecs.get().iter().any(|c| c == codec)
                                on:change=move |ev| { let on = event_target_checked(&ev); draft.codecs.update(|list| { list.retain(|c| c != codec); if on { list.push(codec.to_string()); } }); }/> {codec}</label> }
                        }).collect_view()}
                    </div>
                    <label>"Transport"
                        <select name="transport" prop:value=move || draft.transport.get() on:change=move |ev| draft.transport.set(event_target_value(&ev))>
                            <option value="">"default"</option>
                            {move || transports.get().into_iter().map(|t| {
                                let uuid = text(&t["uuid"]);
                                let selected = draft.transport.get_untracked() == uuid;
                                view! { <option value=uuid selected=selected>{text(&t["name"])}</option> }
                            }).collect_view()}
                        </select>
                        {field_error(&["transport"])}
                    </label>
                </fieldset>
                <fieldset class="nat">
                    <legend>"NAT"</legend>
                    {check(draft.rtp_symmetric, "rtp_symmetric", "Symmetric RTP (rtp_symmetric)", "Send media back to where it comes from")}
                    {check(draft.rewrite_contact, "rewrite_contact", "Rewrite contact (rewrite_contact)", "Use the source address instead of the Contact header")}
                    {check(draft.force_rport, "force_rport", "Force rport (force_rport)", "Answer to the source port")}
                    {check(draft.direct_media, "direct_media", "Direct media (direct_media)", "Let media flow between the two ends, bypassing Asterisk")}
                </fieldset>
                <fieldset class="identity">
                    <legend>"Identity and inbound matching"</legend>
                    <div class="grid2">
                        <label>"From user (from_user)" <input name="from_user" bind:value=draft.from_user/>{field_error(&["endpoint_section_options"])}</label>
                        <label>"From domain (from_domain)" <input name="from_domain" bind:value=draft.from_domain/></label>
                    </div>
                    <label class="check"><input type="radio" name="identify" value="ip" prop:checked=move || draft.identify.get() == "ip" on:change=move |_| draft.identify.set("ip".into())/>
                        "Calls from this trunk are recognised by address"</label>
                    <label class="check"><input type="radio" name="identify" value="header" prop:checked=move || draft.identify.get() == "header" on:change=move |_| draft.identify.set("header".into())/>
                        "… by a SIP header"</label>
                    <Show when=move || draft.identify.get() == "ip">
                        <label>"Addresses or networks (comma separated; empty: the host)" <input name="match" bind:value=draft.match_ips placeholder="203.0.113.10, 198.51.100.0/24"/>
                            {field_error(&["identify_section_options"])}</label>
                    </Show>
                    <Show when=move || draft.identify.get() == "header">
                        <label>"Header (Name: value)" <input name="match_header" bind:value=draft.match_header placeholder="X-Provider: acme"/>
                            {field_error(&["identify_section_options"])}</label>
                    </Show>
                </fieldset>
            </Show>
            <Show when=is_iax>
                <div class="grid2">
                    <label>"Username" <input name="username" bind:value=draft.username autocomplete="off"/></label>
                    <label>"Secret" <input name="password" type="password" bind:value=draft.password autocomplete="new-password"
                        placeholder=move || if draft.kept_password.get().is_some() { "unchanged (type to replace)" } else { "" }/></label>
                </div>
            </Show>
            <Show when=move || !is_custom()>
                <details class="advanced" open=move || !draft.advanced.get().is_empty()>
                    <summary>"Advanced options"</summary>
                    {SECTIONS.iter().map(|(field, _, set)| view! {
                        <datalist id=datalist_id(field)>{set.keys().iter().map(|k| view! { <option value=*k/> }).collect_view()}</datalist>
                    }).collect_view()}
                    <table class="advanced-options">
                        <thead><tr><th>"Section"</th><th>"Option"</th><th>"Value"</th><th></th></tr></thead>
                        <tbody>
                            {move || draft.advanced.get().into_iter().enumerate().map(|(i, (section, key, value))| {
                                let list = datalist_id(&section);
                                view! {
                                    <tr data-advanced=i.to_string()>
                                        <td><Show when=is_sip fallback=|| view! { <span class="muted">"iax.conf"</span> }>
                                            <select name="advanced_section" aria-label="Section" on:change=move |ev| { let v = event_target_value(&ev); draft.advanced.update(|a| a[i].0 = v); }>
                                            {SECTIONS.iter().map(|(f, label, _)| view! { <option value=*f selected=section == *f>{*label}</option> }).collect_view()}
                                        </select></Show></td>
                                        <td><input name="advanced_key" aria-label="Option" list=list prop:value=key.clone()
                                            on:change=move |ev| { let v = event_target_value(&ev); draft.advanced.update(|a| a[i].1 = v); }/></td>
                                        <td><input name="advanced_value" aria-label="Value" prop:value=value.clone()
                                            on:change=move |ev| { let v = event_target_value(&ev); draft.advanced.update(|a| a[i].2 = v); }/></td>
                                        <td><button type="button" class="small" aria-label="Remove option" on:click=move |_| draft.advanced.update(|a| { a.remove(i); })>"✕"</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    <button type="button" class="small add-option" on:click=move |_| {
                        let section = if is_sip() { "endpoint_section_options" } else { "options" };
                        draft.advanced.update(|a| a.push((section.into(), String::new(), String::new())));
                    }>"+ Add option"</button>
                    {field_error(&["options"])}
                </details>
            </Show>
            <p class="error" role="alert">{move || error.get().filter(|e| !KNOWN_FIELDS.contains(&e.field.as_str())).map(|e| e.message)}</p>
            <div class="actions">
                <button type="submit" disabled=move || busy.get()>
                    {move || match (busy.get(), editing.get().is_some()) { (true, _) => "Saving…", (false, true) => "Save trunk", (false, false) => "Create trunk" }}
                </button>
                <Show when=move || editing.get().is_some()><button type="button" class="link" on:click=move |_| done()>"Cancel"</button></Show>
            </div>
        </form>
    }
}

/// Fields that have their own inline message in the form.
const KNOWN_FIELDS: &[&str] = &[
    "name", "interface", "username", "interface_suffix", "context", "host", "aor_section_options", "outbound_auth_section_options", "auth_section_options",
    "registration_outbound_auth_section_options", "registration_section_options", "transport", "endpoint_section_options", "identify_section_options", "options",
];

