//! SIP endpoints and templates: names and the seven option lists.

use super::pjsip_options::{OptionSet, hint_for};
use super::pjsip_values;
use super::{Errors, FieldError, text};
use crate::callerid;
use crate::model::{EndpointSip, SipSectionKind};

/// Most entries Wazo accepts in one option list.
const MAX_OPTIONS: usize = 512;

/// Section names the renderer derives from endpoint names; an endpoint may
/// not be named like them, or its sections would merge with another's.
const GENERATED_PREFIXES: [&str; 2] = ["outbound_auth_", "auth_reg_"];

/// Validates a SIP endpoint or template on its own.
pub fn endpoint_sip(ep: &EndpointSip) -> Vec<FieldError> {
    let mut errors = Errors::default();
    errors.check("uuid", text::uuid(&ep.uuid));
    errors.check("tenant_uuid", text::uuid(&ep.tenant_uuid));
    errors.check("name", pjsip_object_name(&ep.name));
    if let Some(label) = &ep.label {
        errors.check("label", text::free_text(label, 0, 128));
    }
    if let Some(id) = &ep.asterisk_id {
        errors.check("asterisk_id", text::free_text(id, 0, 1024));
    }
    for (i, template) in ep.templates.iter().enumerate() {
        errors.check(format!("templates[{i}].uuid"), text::uuid(&template.uuid));
    }
    if let Some(transport) = &ep.transport {
        errors.check("transport.uuid", text::uuid(&transport.uuid));
    }
    for kind in SipSectionKind::ALL {
        section(&mut errors, kind, ep.sections.get(kind));
    }
    errors.into_vec()
}

/// The name rule shared by endpoints, templates and transports.
pub(super) fn pjsip_object_name(name: &str) -> Option<String> {
    text::section_name(name, 79).or_else(|| match name {
        "global" | "system" => Some(format!("`{name}` is reserved for the PJSIP {name} section")),
        _ => GENERATED_PREFIXES.iter().find(|p| name.starts_with(**p)).map(|p| {
            format!("names starting with `{p}` are reserved for generated auth sections")
        }),
    })
}

/// Which option table a list is checked against.
fn option_set(kind: SipSectionKind) -> OptionSet {
    match kind {
        SipSectionKind::Aor => OptionSet::Aor,
        SipSectionKind::Auth
        | SipSectionKind::OutboundAuth
        | SipSectionKind::RegistrationOutboundAuth => OptionSet::Auth,
        SipSectionKind::Endpoint => OptionSet::Endpoint,
        SipSectionKind::Identify => OptionSet::Identify,
        SipSectionKind::Registration => OptionSet::Registration,
    }
}

fn section(errors: &mut Errors, kind: SipSectionKind, options: &[(String, String)]) {
    let field = kind.field_name();
    if options.len() > MAX_OPTIONS {
        errors.push(field, format!("at most {MAX_OPTIONS} options (got {})", options.len()));
    }
    let set = option_set(kind);
    for (key, value) in options {
        if let Some(message) = unknown_key(set, key) {
            errors.push(field, message);
            continue;
        }
        let problem = text::option_value(value)
            .or_else(|| value_rule(key, value))
            .or_else(|| pjsip_values::refused(set, key, value));
        if let Some(problem) = problem {
            errors.push(field, format!("invalid value for `{key}`: {problem}"));
        }
    }
}

/// Wazo's "invalid variable" error, with a hint when we know the likely
/// intent, and the list of what is accepted.
pub(super) fn unknown_key(set: OptionSet, key: &str) -> Option<String> {
    if set.accepts(key) {
        return None;
    }
    let hint = hint_for(key).map(|h| format!(" ({h})")).unwrap_or_default();
    Some(format!(
        "invalid variable ({key}){hint}: must be one of ({}) for a PJSIP {}",
        set.keys().join(", "),
        set.object_name()
    ))
}

/// Extra rules for keys whose values reach the dialplan or carry syntax.
fn value_rule(key: &str, value: &str) -> Option<String> {
    match key {
        "callerid" => callerid::parse(value).err(),
        "context" | "subscribe_context" | "message_context" | "overlap_context" => {
            text::context_like_name(value, 79)
        }
        "set_var" => match value.split_once('=') {
            None => Some("expected `NAME=value`".into()),
            Some((name, _)) => text::charset(name, 1, 200, |c| c.is_ascii_alphanumeric() || "_(),-".contains(c),
                "letters, digits, `_`, and `(`, `)`, `,`, `-` for functions such as PJSIP_HEADER(add,X-Name)")
                .map(|p| format!("the variable name: {p}")),
        },
        // Asterisk refuses the whole object for a malformed list or URI and
        // silently keeps the old one, so these are checked here instead.
        "allow" | "disallow" => value.split(',').find_map(|codec| {
            text::charset(codec.strip_prefix('!').unwrap_or(codec), 1, 40, |c| c.is_ascii_alphanumeric() || c == '_',
                "codec names (letters, digits, `_`), each optionally preceded by `!`, separated by `,`")
        }),
        "contact" | "server_uri" | "client_uri" | "outbound_proxy" | "outbound_registration_proxy" => sip_uri(value),
        "match_header" => match value.split_once(':') {
            None => Some("expected `Header-Name: value`".into()),
            Some((name, _)) => text::charset(name.trim_end(), 1, 100, |c| c.is_ascii_alphanumeric() || c == '-', "letters, digits and `-`")
                .map(|p| format!("the header name: {p}")),
        },
        _ => None,
    }
}

/// `sip:` / `sips:` URIs, with optional `;name=value` parameters (such as
/// `;transport=tcp` or `;lr`).
fn sip_uri(value: &str) -> Option<String> {
    let Some(rest) = value.strip_prefix("sip:").or_else(|| value.strip_prefix("sips:")) else {
        return Some("expected a SIP URI such as `sip:host` or `sip:user@host:5060`".into());
    };
    let mut parts = rest.split(';');
    let address = parts.next().unwrap_or_default();
    text::charset(address, 1, 255, |c| c.is_ascii_alphanumeric() || "-._~%+@:[]".contains(c),
        "letters, digits and `-._~%+@:[]` in the address part")
        .or_else(|| {
            parts.find_map(|param| {
                let (name, param_value) = param.split_once('=').unwrap_or((param, "x"));
                text::charset(name, 1, 40, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-', "`;name` or `;name=value` parameters")
                    .or_else(|| text::charset(param_value, 1, 100, |c| c.is_ascii_alphanumeric() || "-._".contains(c), "`;name=value` with a plain value"))
            })
        })
}
