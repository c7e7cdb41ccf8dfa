//! The legacy chan_sip shapes (`/endpoints/sip` with `username`/`secret`,
//! `/registers/sip`, `/asterisk/sip/general`) translated to the PJSIP model
//! following reference §3.3. Pure functions: the backend parses the body,
//! calls these, then stores and validates the result like any PJSIP body.
//!
//! chan_sip options with no PJSIP equivalent are not dropped silently: they
//! come back in `ignored`, with the reason, for the backend to report.

use crate::model::{OptionPair, PeerType, SipSectionKind, SipSections};
use crate::validate::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `POST /endpoints/sip`, legacy body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacySipEndpoint {
    /// Auth user name; also the section name when `name` is absent.
    #[serde(default)]
    pub username: Option<String>,
    /// Section name.
    #[serde(default)]
    pub name: Option<String>,
    /// Password.
    #[serde(default)]
    pub secret: Option<String>,
    /// chan_sip peer type.
    #[serde(rename = "type", default)]
    pub kind: PeerType,
    /// `dynamic` or the peer's host.
    #[serde(default = "crate::model::default_dynamic_host")]
    pub host: String,
    /// Extra chan_sip options.
    #[serde(default)]
    pub options: Vec<OptionPair>,
}


/// What the endpoint is for: trunks also answer challenges with the same
/// credentials (outbound auth); phones do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointUse {
    /// Attached to a trunk.
    Trunk,
    /// A user's phone.
    Line,
}

/// Which tenant template the backend should attach (our §5.4 deviation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestedTemplate {
    /// The tenant's `global` template.
    Global,
    /// The tenant's `registration_trunk` template (registration present).
    RegistrationTrunk,
}

/// A chan_sip option that has no PJSIP equivalent here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    /// The option.
    pub key: String,
    /// Its value.
    pub value: String,
    /// Why it was not carried over.
    pub reason: String,
}

/// The PJSIP shape of a legacy endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TranslatedEndpoint {
    /// Section name.
    pub name: String,
    /// Label (= name).
    pub label: String,
    /// The option lists.
    pub sections: SipSections,
    /// Template to attach.
    pub suggested_template: SuggestedTemplate,
    /// Options not carried over.
    pub ignored: Vec<Ignored>,
}

fn check(errors: &mut Vec<FieldError>, field: &str, ok: bool, message: &str) {
    if !ok {
        errors.push(FieldError::new(field, message));
    }
}

fn legacy_name_ok(s: &str) -> bool {
    (1..=40).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))
}

fn host_ok(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:[]".contains(c))
}

/// Translates `POST /endpoints/sip` (legacy). Wazo generated a missing
/// username and secret; generating needs randomness, so the backend fills
/// them in before calling (a missing secret here means "no auth sections").
pub fn translate_sip_endpoint(body: &LegacySipEndpoint, usage: EndpointUse) -> Result<TranslatedEndpoint, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = body.name.clone().or_else(|| body.username.clone()).unwrap_or_default();
    check(&mut errors, if body.name.is_some() { "name" } else { "username" }, legacy_name_ok(&name), "required; use 1..40 of letters, digits, `_`, `+`, `-`");
    if let Some(u) = &body.username {
        check(&mut errors, "username", legacy_name_ok(u), "use 1..40 of letters, digits, `_`, `+`, `-`");
    }
    if let Some(secret) = &body.secret {
        check(&mut errors, "secret", (1..=80).contains(&secret.chars().count()) && !secret.chars().any(char::is_control), "1..80 printable characters");
    }
    check(&mut errors, "host", host_ok(&body.host), "`dynamic` or a host name / address (at most 255)");
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut sections = SipSections::default();
    let mut ignored = Vec::new();
    let option = |key: &str| body.options.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let insecure_invite = option("insecure").is_some_and(|v| v.split(',').any(|p| p.trim() == "invite"));
    let username = body.username.clone().unwrap_or_else(|| name.clone());

    if let Some(secret) = &body.secret {
        // chan_sip matched `peer`s by address and never challenged them;
        // `insecure=invite` asked for the same. An inbound auth section would
        // make Asterisk answer 401 to such a provider.
        if body.kind != PeerType::Peer && !insecure_invite {
            sections.push(SipSectionKind::Auth, "username", username.clone());
            sections.push(SipSectionKind::Auth, "password", secret.clone());
            if usage == EndpointUse::Trunk {
                // chan_sip found a friend's calls by the peer's address (a
                // `host=dynamic` one by where it registered from). PJSIP
                // matches neither: the far PBX's INVITE carries its caller's
                // number in From, so without `auth_username` it finds no
                // endpoint and even its authenticated retry is refused ("No
                // matching endpoint found"); found by
                // tests/tests/calls_two_pbx.rs (seed 000).
                sections.push(SipSectionKind::Endpoint, "identify_by", "username,ip,auth_username");
            }
        }
        if usage == EndpointUse::Trunk && body.kind != PeerType::User {
            sections.push(SipSectionKind::OutboundAuth, "username", username.clone());
            sections.push(SipSectionKind::OutboundAuth, "password", secret.clone());
        }
    }
    if body.host == "dynamic" {
        sections.push(SipSectionKind::Aor, "max_contacts", "1");
        sections.push(SipSectionKind::Aor, "remove_existing", "yes");
    } else if body.kind != PeerType::User {
        let port = option("port").unwrap_or("5060");
        sections.push(SipSectionKind::Aor, "contact", format!("sip:{username}@{}:{port}", body.host));
        sections.push(SipSectionKind::Identify, "match", body.host.clone());
    }
    let mut codecs = Codecs::default();
    for (key, value) in &body.options {
        if matches!(key.as_str(), "insecure" | "port") {
            continue;
        }
        match translate_option(key, value, &mut codecs) {
            Translation::To(targets) => {
                for (kind, k, v) in targets {
                    set(sections.get_mut(kind), k, v);
                }
            }
            Translation::Codec => {}
            Translation::Ignored(reason) => ignored.push(Ignored { key: key.clone(), value: value.clone(), reason }),
        }
    }
    if let Some(allow) = codecs.allow() {
        set(sections.get_mut(SipSectionKind::Endpoint), "allow", allow);
    }
    Ok(TranslatedEndpoint { label: name.clone(), name, sections, suggested_template: SuggestedTemplate::Global, ignored })
}

/// Sets `key` once (a later chan_sip option overrides an earlier one).
fn set(list: &mut Vec<OptionPair>, key: &str, value: String) {
    match list.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value,
        None => list.push((key.to_owned(), value)),
    }
}

/// `allow`/`disallow` folded into one PJSIP `allow` (`disallow=all` → `!all`).
/// chan_sip's codecs before any `allow` / `disallow` (its `DEFAULT_CAPABILITY`, audio).
const CHAN_SIP_DEFAULT_CODECS: [&str; 3] = ["ulaw", "gsm", "alaw"];

#[derive(Default)]
struct Codecs {
    disallow_all: bool,
    allowed: Vec<String>,
}

impl Codecs {
    fn allow(&self) -> Option<String> {
        if self.allowed.is_empty() && !self.disallow_all {
            return None;
        }
        let mut parts = Vec::new();
        if self.disallow_all {
            parts.push("!all".to_owned());
        } else {
            // chan_sip's `allow` adds to its default codecs; PJSIP's starts
            // from none. Without them, seed 000's `allow = gsm` ("activate
            // some codecs") left trunks with gsm only and a ulaw phone's call
            // failed ("No path to translate"); found by
            // tests/tests/calls_two_pbx.rs.
            parts.extend(CHAN_SIP_DEFAULT_CODECS.iter().map(|c| (*c).to_owned()));
        }
        for codec in &self.allowed {
            if !parts.contains(codec) {
                parts.push(codec.clone());
            }
        }
        Some(parts.join(","))
    }
}

enum Translation {
    To(Vec<(SipSectionKind, &'static str, String)>),
    Codec,
    Ignored(String),
}

fn yes_no(v: &str) -> &'static str {
    if matches!(v.trim(), "yes" | "true" | "1" | "on") { "yes" } else { "no" }
}

/// One chan_sip option → PJSIP options (reference §3.3).
fn translate_option(key: &str, value: &str, codecs: &mut Codecs) -> Translation {
    use SipSectionKind::{Aor, Endpoint};
    let v = value.trim().to_owned();
    let one = |kind, k: &'static str, v: String| Translation::To(vec![(kind, k, v)]);
    match key {
        "qualify" => one(Aor, "qualify_frequency", if yes_no(&v) == "yes" || v.parse::<u32>().is_ok_and(|n| n > 0) { "60".into() } else { "0".into() }),
        "qualifyfreq" => one(Aor, "qualify_frequency", v),
        "nat" => {
            let mut out = Vec::new();
            for part in v.split(',').map(str::trim) {
                match part {
                    "yes" => {
                        out.push((Endpoint, "rtp_symmetric", "yes".into()));
                        out.push((Endpoint, "rewrite_contact", "yes".into()));
                    }
                    "force_rport" => {
                        out.push((Endpoint, "force_rport", "yes".into()));
                        out.push((Endpoint, "rewrite_contact", "yes".into()));
                    }
                    "comedia" => out.push((Endpoint, "rtp_symmetric", "yes".into())),
                    _ => {}
                }
            }
            Translation::To(out)
        }
        "dtmfmode" => one(Endpoint, "dtmf_mode", if v == "rfc2833" { "rfc4733".into() } else { v }),
        "allow" => {
            codecs.allowed.extend(v.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()));
            Translation::Codec
        }
        "disallow" => {
            if v.split(',').any(|c| c.trim() == "all") {
                codecs.disallow_all = true;
                codecs.allowed.clear();
            } else {
                codecs.allowed.extend(v.split(',').map(|c| format!("!{}", c.trim())));
            }
            Translation::Codec
        }
        "directmedia" => one(Endpoint, "direct_media", yes_no(&v).into()),
        "fromuser" => one(Endpoint, "from_user", v),
        "fromdomain" => one(Endpoint, "from_domain", v),
        "outboundproxy" => one(Endpoint, "outbound_proxy", v),
        "trustrpid" => one(Endpoint, "trust_id_inbound", yes_no(&v).into()),
        "sendrpid" => match v.as_str() {
            "pai" => one(Endpoint, "send_pai", "yes".into()),
            "yes" | "rpid" => one(Endpoint, "send_rpid", "yes".into()),
            _ => Translation::To(vec![]),
        },
        "session-timers" => one(Endpoint, "timers", match v.as_str() { "originate" => "always", "accept" => "required", _ => "no" }.into()),
        "session-expires" => one(Endpoint, "timers_sess_expires", v),
        "session-minse" => one(Endpoint, "timers_min_se", v),
        "callerid" | "language" | "accountcode" | "context" => one(Endpoint, match key { "callerid" => "callerid", "language" => "language", "accountcode" => "accountcode", _ => "context" }, v),
        "rtptimeout" => one(Endpoint, "rtp_timeout", v),
        "rtpholdtimeout" => one(Endpoint, "rtp_timeout_hold", v),
        "callingpres" => one(Endpoint, "callerid_privacy", v),
        "busylevel" => one(Endpoint, "device_state_busy_at", v),
        "maxexpiry" => one(Aor, "maximum_expiration", v),
        "minexpiry" => one(Aor, "minimum_expiration", v),
        "defaultexpiry" => one(Aor, "default_expiration", v),
        "transport" => one(Endpoint, "transport", format!("transport-{}", v.split(',').next().unwrap_or("udp").trim())),
        _ => Translation::Ignored(format!("`{key}` is a chan_sip option with no PJSIP equivalent in Patchbay")),
    }
}

/// `POST /registers/sip` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacySipRegister {
    /// Auth user; requires `auth_password`.
    #[serde(default)]
    pub auth_username: Option<String>,
    /// Auth password.
    #[serde(default)]
    pub auth_password: Option<String>,
    /// `udp`, `tcp`, `tls`, `ws`, `wss`.
    #[serde(default)]
    pub transport: Option<String>,
    /// The registrar.
    pub remote_host: String,
    /// Registrar port.
    #[serde(default)]
    pub remote_port: Option<u16>,
    /// The user registered (the far side's AOR name); defaults to `auth_username`.
    #[serde(default)]
    pub sip_username: Option<String>,
    /// Our contact user.
    #[serde(default)]
    pub callback_extension: Option<String>,
    /// Seconds; default 120.
    #[serde(default)]
    pub expiration: Option<u32>,
}

/// Replaces the registration sections of `sections` with the PJSIP form of
/// `reg`. Retries are explicit (`auth_rejection_permanent = no`, 20 s / 30 s
/// intervals, as Wazo's `registration_trunk` template), so a registration
/// sent before the far side is configured recovers by itself instead of
/// staying `Rejected` forever.
pub fn apply_register(reg: &LegacySipRegister, sections: &mut SipSections) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let plain = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_control() || " :/~@;,".contains(c));
    check(&mut errors, "remote_host", plain(&reg.remote_host) && host_ok(&reg.remote_host), "required host name or address, without `: / ~` or blanks");
    let user = reg.sip_username.clone().or_else(|| reg.auth_username.clone());
    match &user {
        None => errors.push(FieldError::new("sip_username", "required (or give auth_username)")),
        Some(u) => check(&mut errors, "sip_username", plain(u) && u.len() <= 80, "no `: /`, blanks or control characters"),
    }
    if reg.auth_username.is_some() && reg.auth_password.is_none() {
        errors.push(FieldError::new("auth_password", "required when auth_username is set"));
    }
    let transport = reg.transport.as_deref().unwrap_or("udp");
    check(&mut errors, "transport", ["udp", "tcp", "tls", "ws", "wss"].contains(&transport), "one of udp, tcp, tls, ws, wss");
    if let Some(ext) = &reg.callback_extension {
        check(&mut errors, "callback_extension", plain(ext), "no `: /`, blanks or control characters");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let user = user.unwrap_or_default();
    let hostport = match reg.remote_port {
        Some(port) => format!("{}:{port}", reg.remote_host),
        None => reg.remote_host.clone(),
    };
    let registration = sections.get_mut(SipSectionKind::Registration);
    registration.clear();
    let mut push = |k: &str, v: String| registration.push((k.to_owned(), v));
    push("server_uri", format!("sip:{hostport}"));
    push("client_uri", format!("sip:{user}@{hostport}"));
    if let Some(ext) = &reg.callback_extension {
        push("contact_user", ext.clone());
    }
    push("expiration", reg.expiration.unwrap_or(120).to_string());
    push("transport", format!("transport-{transport}"));
    push("auth_rejection_permanent", "no".into());
    push("retry_interval", "20".into());
    push("forbidden_retry_interval", "30".into());
    push("fatal_retry_interval", "30".into());
    push("max_retries", "10000".into());
    let auth = sections.get_mut(SipSectionKind::RegistrationOutboundAuth);
    auth.clear();
    if let Some(password) = &reg.auth_password {
        auth.push(("username".into(), reg.auth_username.clone().unwrap_or_else(|| user.clone())));
        auth.push(("password".into(), password.clone()));
    }
    Ok(())
}

/// `PUT /asterisk/sip/general` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacySipGeneral {
    /// Unique options.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Options that may repeat, in order.
    #[serde(default)]
    pub ordered_options: Vec<OptionPair>,
}

/// Where the chan_sip `[general]` settings go in PJSIP: `[global]` for the
/// few global ones, the tenant's `global` template for per-endpoint ones
/// (such as codecs: seed 000's `allow = gsm`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TranslatedGeneral {
    /// Options for `/asterisk/pjsip/global`.
    pub global: BTreeMap<String, String>,
    /// Endpoint options for the `global` SIP template.
    pub template_endpoint_options: Vec<OptionPair>,
    /// AOR options for the `global` SIP template.
    pub template_aor_options: Vec<OptionPair>,
    /// Options not carried over.
    pub ignored: Vec<Ignored>,
}

/// Translates `PUT /asterisk/sip/general`.
pub fn translate_sip_general(body: &LegacySipGeneral) -> Result<TranslatedGeneral, Vec<FieldError>> {
    let all: Vec<OptionPair> =
        body.options.iter().map(|(k, v)| (k.clone(), v.clone())).chain(body.ordered_options.iter().cloned()).collect();
    if all.iter().any(|(k, _)| k == "register") {
        return Err(vec![FieldError::new("ordered_options", "`register` is not allowed here: use /registers/sip")]);
    }
    let mut out = TranslatedGeneral::default();
    let mut codecs = Codecs::default();
    for (key, value) in &all {
        match key.as_str() {
            "useragent" => {
                out.global.insert("user_agent".into(), value.clone());
                continue;
            }
            "realm" => {
                out.global.insert("default_realm".into(), value.clone());
                continue;
            }
            _ => {}
        }
        match translate_option(key, value, &mut codecs) {
            Translation::To(targets) => {
                for (kind, k, v) in targets {
                    let list = if kind == SipSectionKind::Aor { &mut out.template_aor_options } else { &mut out.template_endpoint_options };
                    set(list, k, v);
                }
            }
            Translation::Codec => {}
            Translation::Ignored(reason) => out.ignored.push(Ignored { key: key.clone(), value: value.clone(), reason }),
        }
    }
    if let Some(allow) = codecs.allow() {
        set(&mut out.template_endpoint_options, "allow", allow);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
