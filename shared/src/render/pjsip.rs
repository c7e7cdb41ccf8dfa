//! pjsip.conf: `[global]`, `[system]`, transports, then one group of
//! sections per SIP endpoint used by a line or a trunk (reference §3.1-3.2).

use super::config::{ConfigFile, Section};
use super::escape;
use crate::callerid::CallingUser;
use crate::callerid::OutgoingCallerId;
use crate::model::*;
use std::collections::BTreeSet;

/// Keys whose repetitions all count (exact duplicates dropped); they are
/// written after the ordinary keys. Every other key: the last value wins and
/// keeps the position of its first occurrence.
const CUMULATIVE: [&str; 2] = ["set_var", "match"];

/// Channel variables the outcall dialplan reads to apply a user's
/// `outgoing_caller_id` (see `render::dialplan`).
pub(crate) mod outgoing_vars {
    /// `1` when the user forces a caller ID.
    pub const SET: &str = "PB_OUTCID_SET";
    /// `1` when the user is `anonymous`.
    pub const ANONYMOUS: &str = "PB_OUTCID_ANON";
    /// The forced name.
    pub const NAME: &str = "PB_OUTCID_NAME";
    /// The forced number.
    pub const NUMBER: &str = "PB_OUTCID_NUM";
    /// The context holding the caller IDs by calling number of the trunk
    /// the call came from (`pb-trunk-cid-<id>`).
    pub const BY_NUMBER: &str = "PB_OUTCID_BY_NUMBER";
}

/// Renders pjsip.conf.
pub fn pjsip_conf(s: &Snapshot) -> ConfigFile {
    let mut file = ConfigFile::default();
    file.sections.push(settings("global", &s.pjsip_global));
    file.sections.push(settings("system", &s.pjsip_system));
    let mut transports: Vec<&Transport> = s.transports.iter().collect();
    crate::order::sort_by(&mut transports, |a, b| a.name.cmp(&b.name));
    for t in transports {
        let mut section = Section::new(escape::section_name(&t.name));
        section.line("type", "transport");
        for (k, v) in &t.options {
            section.line(&escape::section_name(k), escape::conf_value(v));
        }
        file.sections.push(section);
    }
    let mut written = BTreeSet::new();
    let mut lines: Vec<(&EndpointSip, &Line)> = s
        .lines
        .iter()
        .filter_map(|l| Some((s.endpoint_sip(&l.endpoint_sip.as_ref()?.uuid)?, l)))
        .collect();
    crate::order::sort_by(&mut lines, |a, b| a.0.name.cmp(&b.0.name));
    for (ep, line) in lines {
        if written.insert(&ep.uuid) {
            endpoint_sections(s, ep, line_defaults(s, line), &mut file);
        }
    }
    trunk_sections(s, &mut written, &mut file);
    file
}

/// The sections of the SIP trunks' endpoints (endpoint, AOR, auths,
/// identify, registration), in file order, after the lines' endpoints in
/// `written` (an endpoint a line uses is the line's).
fn trunk_sections<'a>(s: &'a Snapshot, written: &mut BTreeSet<&'a String>, file: &mut ConfigFile) {
    let mut trunks: Vec<&Trunk> = s.trunks.iter().collect();
    crate::order::sort_by_key(&mut trunks, |t| t.id);
    for trunk in trunks {
        let Some(TrunkEndpoint::Sip(uuid)) = &trunk.endpoint else { continue };
        let Some(ep) = s.endpoint_sip(uuid) else { continue };
        if written.insert(&ep.uuid) {
            endpoint_sections(s, ep, trunk_defaults(trunk), file);
        }
    }
}

/// Which sections of [`pjsip_conf`] (name, `type`) belong to SIP trunks:
/// the objects a node with ARI access holds in Asterisk's sorcery memory
/// wizard instead of a file (each section one object: its name the id,
/// its `type` line the object type, its other lines the fields).
/// Contained as [`super::render`] is.
pub fn pjsip_trunk_objects(s: &Snapshot) -> BTreeSet<(String, String)> {
    let (contained, _) = crate::tenancy::contain(s);
    let s = &contained;
    let mut written: BTreeSet<&String> = s.lines.iter().filter_map(|l| Some(&s.endpoint_sip(&l.endpoint_sip.as_ref()?.uuid)?.uuid)).collect();
    let mut file = ConfigFile::default();
    trunk_sections(s, &mut written, &mut file);
    file.sections.iter().map(|section| (section.name.clone(), section.values("type").next().unwrap_or_default().to_owned())).collect()
}

fn settings(name: &str, settings: &PjsipSectionSettings) -> Section {
    let mut section = Section::new(name);
    section.line("type", name);
    for (k, v) in &settings.options {
        section.line(&escape::section_name(k), escape::conf_value(v));
    }
    section
}

/// Endpoint lines that come before the templates (so templates and the
/// endpoint's own options override them).
fn trunk_defaults(trunk: &Trunk) -> Vec<OptionPair> {
    let mut d = vec![("set_var".into(), format!("__WAZO_TENANT_UUID={}", trunk.tenant_uuid))];
    if let Some(ctx) = super::dialplan::trunk_entry_context(trunk) {
        d.push(("context".into(), ctx));
    }
    if !trunk.caller_id_by_number.is_empty() {
        d.push(("set_var".into(), format!("{}={}{}", outgoing_vars::BY_NUMBER, super::dialplan::CALLER_ID_BY_NUMBER_PREFIX, trunk.id)));
    }
    d
}

fn line_defaults(s: &Snapshot, line: &Line) -> Vec<OptionPair> {
    let mut d = vec![("set_var".into(), format!("__WAZO_TENANT_UUID={}", line.tenant_uuid))];
    if let Some(ctx) = s.line_context(line) {
        d.push(("context".into(), ctx.name.clone()));
    }
    let number = line.extension_id.and_then(|id| s.extension(id)).map(|e| e.exten.as_str());
    let user = line.user_id.and_then(|id| s.user(id));
    if let (Some(user), Some(number)) = (user, number) {
        let calling = CallingUser { caller_id: user.caller_id.as_deref(), line_number: number, outgoing_caller_id: None };
        let own = calling.own();
        d.push(("callerid".into(), format!("\"{}\" <{}>", escape::dialplan_text(&own.name), escape::digits(&own.number))));
        outgoing_caller_id_vars(user, &own.number, &mut d);
    }
    d
}

/// The user's `outgoing_caller_id`, resolved for this line and handed to the
/// dialplan as channel variables (a name-only value keeps the line's number,
/// a number-only one is also the name, as in `callerid::resolve`).
fn outgoing_caller_id_vars(user: &User, line_number: &str, d: &mut Vec<OptionPair>) {
    use outgoing_vars::*;
    match OutgoingCallerId::from_setting(user.outgoing_caller_id.as_deref()) {
        OutgoingCallerId::Default | OutgoingCallerId::Invalid(_) => {}
        OutgoingCallerId::Anonymous => d.push(("set_var".into(), format!("{ANONYMOUS}=1"))),
        OutgoingCallerId::Forced(parsed) => {
            let number = parsed.number.clone().unwrap_or_else(|| line_number.to_owned());
            let name = parsed.name.clone().unwrap_or_else(|| number.clone());
            d.push(("set_var".into(), format!("{SET}=1")));
            d.push(("set_var".into(), format!("{NAME}={}", escape::dialplan_text(&name))));
            d.push(("set_var".into(), format!("{NUMBER}={}", escape::digits(&number))));
        }
    }
}

/// All options of `kind` for `ep`: templates first (recursively, in order),
/// then the endpoint's own. Cycles are cut (validation refuses them).
fn flattened(s: &Snapshot, ep: &EndpointSip, kind: SipSectionKind, seen: &mut Vec<String>) -> Vec<OptionPair> {
    let mut out = Vec::new();
    for t in &ep.templates {
        if seen.contains(&t.uuid) {
            continue;
        }
        if let Some(tpl) = s.sip_template(&t.uuid) {
            seen.push(t.uuid.clone());
            out.extend(flattened(s, tpl, kind, seen));
            seen.pop();
        }
    }
    out.extend(ep.sections.get(kind).iter().cloned());
    out
}

/// The transport: the endpoint's own, else the last template's that has one.
fn transport<'a>(s: &'a Snapshot, ep: &EndpointSip, depth: usize) -> Option<&'a Transport> {
    if let Some(t) = ep.transport.as_ref().and_then(|t| s.transport(&t.uuid)) {
        return Some(t);
    }
    if depth > 16 {
        return None;
    }
    ep.templates.iter().rev().filter_map(|t| s.sip_template(&t.uuid)).find_map(|tpl| transport(s, tpl, depth + 1))
}

/// Wazo's merge rule (module doc of [`CUMULATIVE`]).
fn merge(options: Vec<OptionPair>) -> Vec<OptionPair> {
    let mut ordinary: Vec<OptionPair> = Vec::new();
    let mut cumulative: Vec<OptionPair> = Vec::new();
    for (k, v) in options {
        if CUMULATIVE.contains(&k.as_str()) {
            if !cumulative.iter().any(|(ck, cv)| *ck == k && *cv == v) {
                cumulative.push((k, v));
            }
        } else if let Some(slot) = ordinary.iter_mut().find(|(ok, _)| *ok == k) {
            slot.1 = v;
        } else {
            ordinary.push((k, v));
        }
    }
    ordinary.extend(cumulative);
    ordinary
}

fn section(name: &str, kind: &str, options: Vec<OptionPair>) -> Section {
    let mut section = Section::new(name);
    section.line("type", kind);
    for (k, v) in options {
        // Keys come from a fixed table after validation; escaping keeps a
        // stray key from carrying syntax anyway.
        section.line(&escape::section_name(&k), escape::conf_value(&v));
    }
    section
}

fn endpoint_sections(s: &Snapshot, ep: &EndpointSip, defaults: Vec<OptionPair>, file: &mut ConfigFile) {
    let name = escape::section_name(&ep.name);
    let list = |kind| merge(flattened(s, ep, kind, &mut Vec::new()));
    let aor = list(SipSectionKind::Aor);
    let auth = list(SipSectionKind::Auth);
    let identify = list(SipSectionKind::Identify);
    let outbound_auth = list(SipSectionKind::OutboundAuth);
    let registration_auth = list(SipSectionKind::RegistrationOutboundAuth);
    let registration = list(SipSectionKind::Registration);

    let mut endpoint = defaults;
    endpoint.extend(flattened(s, ep, SipSectionKind::Endpoint, &mut Vec::new()));
    if let Some(t) = transport(s, ep, 0) {
        endpoint.push(("transport".into(), t.name.clone()));
    }
    if !aor.is_empty() {
        endpoint.push(("aors".into(), name.clone()));
    }
    if !auth.is_empty() {
        endpoint.push(("auth".into(), name.clone()));
    }
    if !outbound_auth.is_empty() {
        endpoint.push(("outbound_auth".into(), format!("outbound_auth_{name}")));
    }
    let mut endpoint_section = section(&name, "endpoint", merge(endpoint));
    endpoint_section.comment = ep.label.as_ref().map(|l| escape::comment(l));
    file.sections.push(endpoint_section);

    if !aor.is_empty() {
        file.sections.push(section(&name, "aor", aor));
    }
    if !auth.is_empty() {
        file.sections.push(section(&name, "auth", auth));
    }
    if !identify.is_empty() {
        let mut with_endpoint = vec![("endpoint".to_owned(), name.clone())];
        with_endpoint.extend(identify);
        file.sections.push(section(&name, "identify", merge(with_endpoint)));
    }
    if !outbound_auth.is_empty() {
        file.sections.push(section(&format!("outbound_auth_{name}"), "auth", outbound_auth));
    }
    if !registration_auth.is_empty() {
        file.sections.push(section(&format!("auth_reg_{name}"), "auth", registration_auth.clone()));
    }
    if !registration.is_empty() {
        let mut reg = registration;
        // `endpoint` on a registration is only accepted with `line = yes`:
        // Asterisk 22 otherwise refuses the whole registration ("An endpoint
        // has been specified on outbound registration '...' without enabling
        // line support"), found by tests/tests/live_render.rs. `line = yes`
        // is also what makes calls from the registrar match this endpoint.
        reg.push(("line".into(), "yes".into()));
        reg.push(("endpoint".into(), name.clone()));
        if !registration_auth.is_empty() {
            reg.push(("outbound_auth".into(), format!("auth_reg_{name}")));
        }
        file.sections.push(section(&name, "registration", merge(reg)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_first_position_last_value_and_accumulates_set_var_and_match() {
        let merged = merge(crate::fixtures::opts(&[
            ("allow", "ulaw"), ("set_var", "A=1"), ("context", "x"), ("match", "1.2.3.4"),
            ("allow", "alaw"), ("set_var", "A=1"), ("set_var", "B=2"), ("match", "5.6.7.8"),
        ]));
        assert_eq!(merged, crate::fixtures::opts(&[
            ("allow", "alaw"), ("context", "x"), ("set_var", "A=1"), ("match", "1.2.3.4"),
            ("set_var", "B=2"), ("match", "5.6.7.8"),
        ]));
    }
}
