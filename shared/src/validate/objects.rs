//! Per-object validators (everything but SIP endpoints, see `sip.rs`).

use super::pjsip_options::OptionSet;
use super::sip::{pjsip_object_name, unknown_key};
use super::{Errors, FieldError, text};
use crate::callerid;
use crate::model::*;

/// Context names Asterisk or Wazo reserve.
const RESERVED_CONTEXTS: [&str; 7] = [
    "authentication", "general", "global", "globals", "parkedcalls", "xivo-features", "zonemessages",
];

/// Prefix of the contexts Patchbay generates (outcall subroutines).
pub const GENERATED_CONTEXT_PREFIX: &str = "pb-";

/// A tenant.
pub fn tenant(t: &Tenant) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("uuid", text::uuid(&t.uuid));
    errors.check("name", text::free_text(&t.name, 1, 128));
    errors.check("slug", text::charset(&t.slug, 1, 10, |c| c.is_ascii_alphanumeric() || c == '_', "letters, digits and `_`"));
    errors.into_vec()
}

/// A context name (also used for `preprocess_subroutine` and destinations).
fn context_name(name: &str) -> Option<String> {
    text::context_like_name(name, 79).or_else(|| {
        if RESERVED_CONTEXTS.contains(&name) {
            Some(format!("`{name}` is a reserved context name"))
        } else if name.starts_with(GENERATED_CONTEXT_PREFIX) {
            Some(format!("names starting with `{GENERATED_CONTEXT_PREFIX}` are reserved for Patchbay's generated contexts"))
        } else {
            None
        }
    })
}

/// A context.
pub fn context(c: &Context) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("tenant_uuid", text::uuid(&c.tenant_uuid));
    errors.check("name", context_name(&c.name));
    errors.check("label", text::free_text(&c.label, 1, 128));
    if let Some(d) = &c.description {
        errors.check("description", text::free_text(d, 0, 4096));
    }
    for (i, include) in c.contexts.iter().enumerate() {
        if include.id == c.id {
            errors.push("contexts", "Operation not permitted: a context cannot include itself");
        }
        if c.contexts[..i].contains(include) {
            errors.push("contexts", format!("context {} is included twice", include.id));
        }
    }
    errors.into_vec()
}

/// Characters of Wazo's pattern charset (after the optional `_` / `+`).
fn is_pattern_char(c: char) -> bool {
    c.is_ascii_digit() || "*#_XxZzNn[].!-".contains(c)
}

/// An extension, against the type of the context it lives in (Wazo's exten
/// regexes, reference §2.2), plus balanced brackets: Asterisk's line splitter
/// swallows the rest of the line after an unclosed `[`.
pub fn extension(e: &Extension, kind: ContextKind) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("tenant_uuid", text::uuid(&e.tenant_uuid));
    errors.check("context", context_name(&e.context));
    errors.check("exten", exten(&e.exten, kind));
    errors.into_vec()
}

fn exten(exten: &str, kind: ContextKind) -> Option<String> {
    let shape_ok = if kind == ContextKind::Outcall {
        let body = exten.strip_prefix('_').unwrap_or(exten);
        let body = body.strip_prefix('+').unwrap_or(body);
        !body.is_empty() && exten.len() <= 40 && body.chars().all(is_pattern_char)
    } else if let Some(body) = exten.strip_prefix('_') {
        (1..=39).contains(&body.len()) && body.chars().all(is_pattern_char)
    } else {
        (1..=40).contains(&exten.len()) && exten.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#')
    };
    if !shape_ok {
        let allowed = if kind == ContextKind::Outcall {
            "an optional `_`, an optional `+`, then `0-9 * # X Z N . ! [ ] -` (at most 40)"
        } else {
            "`_` followed by `0-9 * # X Z N . ! [ ] -` (at most 40), or 1..40 of `0-9 * #`"
        };
        return Some(format!("String does not match expected pattern: use {allowed}"));
    }
    brackets(exten)
}

fn brackets(exten: &str) -> Option<String> {
    let mut open = false;
    for c in exten.chars() {
        match (c, open) {
            ('[', true) => return Some("`[` inside `[...]`: character sets do not nest".into()),
            ('[', false) => open = true,
            (']', true) => open = false,
            (']', false) => return Some("`]` without a matching `[`".into()),
            _ => {}
        }
    }
    open.then(|| "unclosed `[`".into())
}

/// A trunk.
pub fn trunk(t: &Trunk) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("tenant_uuid", text::uuid(&t.tenant_uuid));
    if let Some(ctx) = &t.context {
        errors.check("context", context_name(ctx));
    }
    if let Some(TrunkEndpoint::Sip(uuid)) = &t.endpoint {
        errors.check("endpoint_sip.uuid", text::uuid(uuid));
    }
    if let Some(plan) = &t.number_plan
        && plan.habits().is_none()
    {
        let known: Vec<&str> = crate::numbers::COUNTRIES.iter().map(|c| c.iso).collect();
        errors.push("number_plan.country", format!("unknown country `{}` (known: {})", plan.country, known.join(", ")));
    }
    errors.into_vec()
}

/// A transport: Wazo's charset for keys and values, and real option keys.
pub fn transport(t: &Transport) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("uuid", text::uuid(&t.uuid));
    errors.check("name", pjsip_object_name(&t.name));
    if t.options.len() > 128 {
        errors.push("options", format!("at most 128 options (got {})", t.options.len()));
    }
    let transport_char = |c: char| c.is_ascii_alphanumeric() || "-_/.:,".contains(c);
    for (key, value) in &t.options {
        if let Some(message) = unknown_key(OptionSet::Transport, key) {
            errors.push("options", message);
            continue;
        }
        errors.check(
            "options",
            text::charset(value, 1, text::MAX_OPTION_VALUE, transport_char, "letters, digits and `-_/.:,`")
                .map(|p| format!("invalid value for `{key}`: {p}")),
        );
    }
    errors.into_vec()
}

fn section_settings(settings: &PjsipSectionSettings, set: OptionSet) -> Vec<FieldError> {
    let mut errors = Errors::default();
    for (key, value) in &settings.options {
        if let Some(message) = unknown_key(set, key) {
            errors.push("options", message);
            continue;
        }
        errors.check("options", text::option_value(value).map(|p| format!("invalid value for `{key}`: {p}")));
    }
    errors.into_vec()
}

/// `/asterisk/pjsip/global`.
pub fn pjsip_global(g: &PjsipGlobal) -> Vec<FieldError> {
    section_settings(g, OptionSet::Global)
}

/// `/asterisk/pjsip/system`.
pub fn pjsip_system(s: &PjsipSystem) -> Vec<FieldError> {
    section_settings(s, OptionSet::System)
}

/// An IAX endpoint. There is no static iax.conf table: keys are checked for
/// shape, and `type`/`host` must use their own fields.
/// An IAX register: Wazo's `RegisterIAXSchema` rules and messages, then
/// Patchbay's (no control characters, `;`, brackets, `$` or `=`: the line is
/// config text).
pub fn register_iax(r: &RegisterIax) -> Vec<FieldError> {
    let mut errors = Errors::default();
    let pattern = "String does not match expected pattern.";
    let config_safe = |v: &str| !v.chars().any(|c| c.is_control() || ";[]$={}\\\",".contains(c));
    let fields = [
        ("auth_username", r.auth_username.as_deref(), ":/ "),
        ("auth_password", r.auth_password.as_deref(), ":/ "),
        ("remote_host", Some(r.remote_host.as_str()), ":/? "),
        ("callback_extension", r.callback_extension.as_deref(), "? "),
        ("callback_context", r.callback_context.as_deref(), ""),
    ];
    for (field, value, refused) in fields {
        let Some(value) = value else { continue };
        if value.chars().any(|c| refused.contains(c)) {
            errors.push(field, pattern);
        } else if !config_safe(value) {
            errors.push(field, "no control characters or any of `; [ ] $ = { } \\ \" ,`");
        }
    }
    if r.remote_host.is_empty() {
        errors.push("remote_host", "Shorter than minimum length 1.");
    }
    if r.remote_port.is_some_and(|p| p > 65535) {
        errors.push("remote_port", "Must be greater than or equal to 0 and less than or equal to 65535.");
    }
    // marshmallow runs the schema-wide checks only when every field passed.
    if !errors.0.is_empty() {
        return errors.into_vec();
    }
    let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    if set(&r.auth_username) && !set(&r.auth_password) {
        errors.push("auth_username", "Cannot set field \"auth_username\" if the field \"auth_password\" is not set");
    }
    if set(&r.callback_context) && !set(&r.callback_extension) {
        errors.push("callback_context", "Cannot set field \"callback_context\" if the field \"callback_extension\" is not set");
    }
    if r.register_line().chars().count() > 255 {
        errors.push("_schema", "The sum of all fields is longer than maximum length 255");
    }
    errors.into_vec()
}

pub fn endpoint_iax(e: &EndpointIax) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("tenant_uuid", text::uuid(&e.tenant_uuid));
    errors.check("name", text::context_like_name(&e.name, 40));
    errors.check("host", text::charset(&e.host, 1, 255, |c| c.is_ascii_alphanumeric() || ".:_-[]".contains(c), "a host name, an address or `dynamic`"));
    for (key, value) in &e.options {
        if matches!(key.as_str(), "type" | "host") {
            errors.push("options", format!("`{key}` is set through its own field"));
            continue;
        }
        errors.check("options", text::charset(key, 1, 64, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_', "lowercase letters, digits and `_`").map(|p| format!("invalid key {key:?}: {p}")));
        errors.check("options", text::option_value(value).map(|p| format!("invalid value for `{key}`: {p}")));
    }
    errors.into_vec()
}

/// Characters of a custom interface and its suffix (Wazo's interface regex).
fn interface_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "#*./_@:-".contains(c)
}

/// A custom endpoint.
pub fn endpoint_custom(e: &EndpointCustom) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("tenant_uuid", text::uuid(&e.tenant_uuid));
    errors.check("interface", text::charset(&e.interface, 1, 128, interface_char, "letters, digits and `#*./_@:-`"));
    if let Some(suffix) = &e.interface_suffix {
        errors.check("interface_suffix", text::charset(suffix, 0, 32, interface_char, "letters, digits and `#*./_@:-`"));
    }
    errors.into_vec()
}

/// An outcall and its patterns' settings.
pub fn outcall(o: &Outcall) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("tenant_uuid", text::uuid(&o.tenant_uuid));
    errors.check("name", text::free_text(&o.name, 1, 128));
    if let Some(d) = &o.description {
        errors.check("description", text::free_text(d, 0, 4096));
    }
    if let Some(sub) = &o.preprocess_subroutine {
        errors.check("preprocess_subroutine", context_name(sub));
    }
    for (i, trunk) in o.trunks.iter().enumerate() {
        if o.trunks[..i].contains(trunk) {
            errors.push("trunks", "Operation not permitted. Cannot associate same trunk more than once");
        }
    }
    if let Some(emergency) = &o.emergency {
        errors.check("emergency.callback_number", text::dial_digits(&emergency.callback_number, 32).or_else(|| {
            emergency.callback_number.is_empty().then(|| "the callback number sent with emergency calls is required".to_string())
        }));
        if let Some(test) = &emergency.test_number {
            errors.check("emergency.test_number", text::dial_digits(test, 32));
        }
    }
    for outcome in o.failover_policy.contradictions() {
        errors.push("failover_policy", format!("`{outcome}` is both in next_trunk_on and in stop_on: keep it in one list"));
    }
    for (i, ext) in o.extensions.iter().enumerate() {
        if o.extensions[..i].iter().any(|e| e.extension_id == ext.extension_id) {
            errors.push("extensions", format!("extension {} is associated twice", ext.extension_id));
        }
        for FieldError { field, message } in outcall_extension(ext) {
            errors.push(format!("extensions[{i}].{field}"), message);
        }
    }
    errors.into_vec()
}

/// The body of `PUT /outcalls/{id}/extensions/{extension_id}`.
pub fn outcall_extension(e: &OutcallExtension) -> Vec<FieldError> {
    let mut errors = Errors::default();
    if let Some(p) = &e.external_prefix {
        errors.check("external_prefix", text::dial_digits(p, 64));
    }
    if let Some(p) = &e.prefix {
        errors.check("prefix", text::dial_digits(p, 32));
    }
    if let Some(cid) = e.caller_id.as_deref().filter(|c| !c.is_empty()) {
        errors.check("caller_id", text::length(cid, 0, 80).or_else(|| callerid::parse(cid).err()));
    }
    errors.into_vec()
}

/// An incall.
pub fn incall(i: &Incall) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("tenant_uuid", text::uuid(&i.tenant_uuid));
    if let Some(d) = &i.description {
        errors.check("description", text::free_text(d, 0, 4096));
    }
    if let Some(name) = &i.caller_id_name {
        errors.check(
            "caller_id_name",
            text::length(name, 0, 80).or_else(|| {
                name.chars().find(|&c| !callerid::is_name_char(c)).map(|c| {
                    format!("{c:?} is not allowed: use letters, digits, spaces and {:?}", callerid::NAME_PUNCTUATION)
                })
            }),
        );
    }
    match &i.destination {
        Destination::User { ring_time: Some(t), .. } | Destination::Group { ring_time: Some(t), .. } if !(t.is_finite() && *t >= 0.0) => {
            errors.push("destination.ring_time", "Must be greater than or equal to 0.")
        }
        Destination::Extension { exten, context } => {
            errors.check("destination.exten", text::charset(exten, 1, 255, |c| c.is_ascii_digit() || c == '*' || c == '#', "`0-9`, `*`, `#`"));
            errors.check("destination.context", context_name(context));
        }
        Destination::Trunk(d) => trunk_destination(d, &mut errors),
        Destination::Hangup { timeout: Some(t), .. } if !(t.is_finite() && *t >= 0.0) => {
            errors.push("destination.timeout", "Must be greater than or equal to 0.")
        }
        Destination::Custom { command } => errors.check("destination.command", custom_command(command)),
        _ => {}
    }
    errors.into_vec()
}

/// A group, by Wazo's `GroupSchema`: `label` 1..128 of `-_.a-zA-Z0-9 `,
/// `preprocess_subroutine` at most 79, `caller_id_name` at most 80,
/// `music_on_hold` at most 128, the counts at least 0.
pub fn group(g: &Group) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("tenant_uuid", text::uuid(&g.tenant_uuid));
    if g.label.chars().count() > 128 {
        errors.push("label", "Longer than maximum length 128.");
    }
    if g.label.is_empty() || !g.label.chars().all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c)) {
        errors.push("label", "String does not match expected pattern.");
    }
    for (field, value, max) in [
        ("preprocess_subroutine", &g.preprocess_subroutine, 79),
        ("caller_id_name", &g.caller_id_name, 80),
        ("music_on_hold", &g.music_on_hold, 128),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            errors.push(field, format!("Longer than maximum length {max}."));
        }
    }
    if let Some(name) = g.caller_id_name.as_deref()
        && let Some(c) = name.chars().find(|&c| !callerid::is_name_char(c))
    {
        errors.push("caller_id_name", format!("{c:?} is not allowed: use letters, digits, spaces and {:?}", callerid::NAME_PUNCTUATION));
    }
    for (field, value) in [("timeout", g.timeout), ("user_timeout", g.user_timeout), ("retry_delay", g.retry_delay), ("max_calls", g.max_calls)] {
        if value.is_some_and(|v| v < 0) {
            errors.push(field, "Must be greater than or equal to 0.");
        }
    }
    errors.into_vec()
}

/// Applications a `custom` destination may run: they act on the call
/// itself and can reach no other channel, context or tenant (Wazo allows any
/// but `System`; Patchbay's tenants share one Asterisk).
pub const CUSTOM_APPLICATIONS: [&str; 18] = [
    "Answer", "Background", "Busy", "Congestion", "Echo", "Hangup", "Log", "Milliwatt", "MusicOnHold", "NoOp",
    "PlayTones", "Playback", "Progress", "Ringing", "SayAlpha", "SayDigits", "SayNumber", "Wait",
];

/// Wazo's rule for `command` (`App(args)`: 3+ letters, not `System`/`TrySystem`,
/// at most 255 characters), then Patchbay's: an application of
/// [`CUSTOM_APPLICATIONS`] and arguments that render unchanged.
fn custom_command(command: &str) -> Option<String> {
    if command.chars().count() > 255 {
        return Some("Longer than maximum length 255.".into());
    }
    let pattern = || Some("String does not match expected pattern.".to_string());
    let Some((app, rest)) = command.split_once('(') else { return pattern() };
    let shape_ok = app.len() >= 3 && app.chars().all(|c| c.is_ascii_alphabetic()) && rest.ends_with(')');
    let lower = app.to_ascii_lowercase();
    if !shape_ok || lower == "system" || lower == "trysystem" {
        return pattern();
    }
    if !CUSTOM_APPLICATIONS.iter().any(|allowed| allowed.eq_ignore_ascii_case(app)) {
        return Some(format!("`{app}` is not an application a custom destination may run: one of {}", CUSTOM_APPLICATIONS.join(", ")));
    }
    let args = &rest[..rest.len() - 1];
    if crate::render::escape::application_args(args) != args {
        return Some("the arguments may hold letters, digits, blanks and `.'-_&+/@:!?#*,=` only".into());
    }
    None
}

/// A `type: trunk` destination: the number, the headers, the limit group and
/// the failover must be safe to render as they are.
fn trunk_destination(d: &TrunkDestination, errors: &mut Errors) {
    if let Some(number) = &d.number {
        errors.check(
            "destination.number",
            text::charset(number, 1, 64, |c| c.is_ascii_alphanumeric() || "+*#._-".contains(c), "`a-z A-Z 0-9 + * # . _ -`"),
        );
    }
    for (i, (name, value)) in d.sip_headers.iter().enumerate() {
        if !sip_header_name_ok(name) {
            errors.push(format!("destination.sip_headers.{i}"), format!("`{name}` is not an allowed header name: 1 to 64 of `A-Z a-z 0-9 -`, starting with a letter, not a dialog header (Via, From, To, Call-ID...)"));
        }
        if !sip_header_value_ok(value) {
            errors.push(format!("destination.sip_headers.{i}"), "the value must be at most 256 of `A-Z a-z 0-9` and ` .'-_+/@:!?#*=<>`");
        }
    }
    if let Some(limit) = &d.call_limit {
        errors.check("destination.call_limit.group", context_name(&limit.group));
    }
    match &d.failover {
        Some(TrunkFailover::Extension { exten, context }) => {
            errors.check("destination.failover.exten", text::charset(exten, 1, 255, |c| c.is_ascii_digit() || "*#+".contains(c), "`0-9`, `*`, `#`, `+`"));
            errors.check("destination.failover.context", context_name(context));
        }
        Some(TrunkFailover::Sip { uri }) if !TrunkFailover::uri_ok(uri) => {
            errors.push("destination.failover.uri", "must be a SIP URI `sip:user@host[:port]`");
        }
        _ => {}
    }
}

/// A user's caller-ID fields.
pub fn user(u: &User) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("tenant_uuid", text::uuid(&u.tenant_uuid));
    errors.check("firstname", text::free_text(&u.firstname, 0, 128));
    if let Some(last) = &u.lastname {
        errors.check("lastname", text::free_text(last, 0, 128));
    }
    if let Some(cid) = u.caller_id.as_deref().filter(|c| !c.is_empty()) {
        errors.check("caller_id", text::length(cid, 0, 160).or_else(|| internal_caller_id(cid)));
    }
    if let Some(out) = u.outgoing_caller_id.as_deref()
        && !matches!(out, "" | "default" | "anonymous")
    {
        errors.check("outgoing_caller_id", text::length(out, 0, 80).or_else(|| callerid::parse(out).err()));
    }
    errors.into_vec()
}

/// Wazo's `^"(.*)"( <\+?\d+>)?$` for a user's internal caller ID, with our
/// name charset.
fn internal_caller_id(cid: &str) -> Option<String> {
    if !cid.starts_with('"') {
        return Some("String does not match expected pattern: use `\"Name\"` or `\"Name\" <number>`".into());
    }
    callerid::parse(cid).err()
}

/// A line.
pub fn line(l: &Line) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("tenant_uuid", text::uuid(&l.tenant_uuid));
    if let Some(ep) = &l.endpoint_sip {
        errors.check("endpoint_sip.uuid", text::uuid(&ep.uuid));
    }
    errors.into_vec()
}
