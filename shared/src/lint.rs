//! Problems that are legal but almost certainly not what the user meant.
//! Lint never fails: it returns a list, most severe first.
//!
//! Every routing lint runs on the dialplan Patchbay renders
//! (`render::DialplanPlan`) through the real Asterisk matcher, so "never
//! wins" and "swallows" are what a real Asterisk would do.

use crate::model::*;
use crate::pattern::Dialplan;
use crate::render::{self, DialplanPlan, ExtensionRole, PlannedExtension, Rejected};
use serde::Serialize;

/// How bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Calls will fail or go to the wrong place.
    Error,
    /// Probably a mistake.
    Warning,
    /// Worth knowing.
    Info,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lint {
    /// How bad.
    pub severity: Severity,
    /// Stable identifier, e.g. `literal-with-pattern-characters`.
    pub code: &'static str,
    /// What is wrong and what to do.
    pub message: String,
    /// The objects involved.
    pub objects: Vec<ObjectRef>,
}

fn lint(severity: Severity, code: &'static str, message: String, objects: Vec<ObjectRef>) -> Lint {
    Lint { severity, code, message, objects }
}

fn ext_ref(id: ExtensionId) -> ObjectRef {
    ObjectRef::new(ObjectKind::Extension, id)
}

/// All lints for the snapshot.
pub fn lint_snapshot(s: &Snapshot) -> Vec<Lint> {
    let plan = DialplanPlan::new(s);
    let (dialplan, rejected) = plan.matcher();
    let mut out = Vec::new();
    literal_patterns(s, &mut out);
    duplicates(&plan, &rejected, &mut out);
    shadowed(&plan, &dialplan, &rejected, &mut out);
    swallowed_internal_numbers(&plan, &dialplan, &mut out);
    outcalls_without_trunks(s, &mut out);
    unused_trunks(s, &mut out);
    incall_destinations(s, &mut out);
    registrations(s, &mut out);
    transports(s, &mut out);
    emergency_routes(s, &plan, &dialplan, &mut out);
    crate::order::sort_by_key(&mut out, |l| l.severity);
    out
}

/// A name without `_` is a literal to Asterisk, whatever it contains.
fn literal_patterns(s: &Snapshot, out: &mut Vec<Lint>) {
    for ext in &s.extensions {
        if !ext.exten.starts_with('_') && ext.exten.contains(['X', 'x', 'Z', 'z', 'N', 'n', '.', '!', '[']) {
            out.push(lint(
                Severity::Warning,
                "literal-with-pattern-characters",
                format!(
                    "Asterisk treats this as the literal string `{0}`; did you mean `_{0}`? As written it only matches someone dialling `{0}` exactly.",
                    ext.exten
                ),
                vec![ext_ref(ext.id)],
            ));
        }
    }
}

fn planned_id(ext: &PlannedExtension) -> Option<ExtensionId> {
    match ext.role {
        ExtensionRole::Lines { extension_id }
        | ExtensionRole::Group { extension_id, .. }
        | ExtensionRole::Incall { extension_id, .. }
        | ExtensionRole::Outcall { extension_id, .. } => Some(extension_id),
        ExtensionRole::StripPlus | ExtensionRole::OutcallSubroutine { .. } | ExtensionRole::IncallHeaders { .. } | ExtensionRole::TrunkInbound { .. } | ExtensionRole::NumberFormat { .. } | ExtensionRole::CallerIdByNumber { .. } => None,
    }
}

fn refs_of(plan: &DialplanPlan, context: &str, exten: &str) -> Vec<ObjectRef> {
    plan.context(context)
        .into_iter()
        .flat_map(|c| c.extensions.iter().filter(|e| e.name == exten))
        .filter_map(planned_id)
        .map(ext_ref)
        .collect()
}

/// Asterisk keeps the first of two extensions it orders as equal.
fn duplicates(plan: &DialplanPlan, rejected: &[Rejected], out: &mut Vec<Lint>) {
    for r in rejected {
        out.push(lint(
            Severity::Error,
            "duplicate-extension",
            format!("`{}` in `{}` never runs: {}", r.exten, r.context, r.reason),
            refs_of(plan, &r.context, &r.exten),
        ));
    }
}

/// Strings a pattern matches, for shadowing checks: each position expanded
/// to its members while the product stays small, `.` and `!` to a few tails.
fn samples(pattern: &str) -> Vec<String> {
    const LIMIT: usize = 2000;
    let body = pattern.strip_prefix('_').unwrap_or(pattern);
    let mut out = vec![String::new()];
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        let choices: Vec<String> = match c {
            '-' => continue,
            'X' | 'x' => ('0'..='9').map(String::from).collect(),
            'Z' | 'z' => ('1'..='9').map(String::from).collect(),
            'N' | 'n' => ('2'..='9').map(String::from).collect(),
            '.' => vec!["0".into(), "5".into(), "19".into(), "*".into(), "#1".into()],
            '!' => vec![String::new(), "0".into(), "55".into()],
            '[' => {
                let mut set = Vec::new();
                let mut prev: Option<char> = None;
                while let Some(m) = chars.next() {
                    match m {
                        ']' => break,
                        '-' if prev.is_some() && chars.peek().is_some_and(|n| *n != ']') => {
                            let (lo, hi) = (prev.unwrap(), chars.next().unwrap());
                            set.pop(); // `lo` was pushed as a single member
                            set.extend((lo..=hi).map(String::from));
                            prev = None;
                        }
                        m => {
                            set.push(m.to_string());
                            prev = Some(m);
                        }
                    }
                }
                set
            }
            c => vec![c.to_string()],
        };
        // Past the limit, keep an evenly spread subset (always the first
        // member, the last when two fit) so the walk stays bounded.
        let room = (LIMIT / out.len()).max(1);
        let choices: Vec<String> = if choices.len() > room {
            (0..room).map(|i| choices[i * (choices.len() - 1) / (room - 1).max(1)].clone()).collect()
        } else {
            choices
        };
        out = out.iter().flat_map(|p| choices.iter().map(move |c| format!("{p}{c}"))).collect();
        if matches!(c, '.' | '!') {
            break; // the rest of a pattern after `.`/`!` is dead (spec §8.2)
        }
    }
    out
}

/// A pattern is shadowed when, for every sampled string it matches, an
/// earlier extension of the same context wins.
fn shadowed(plan: &DialplanPlan, dialplan: &Dialplan, rejected: &[Rejected], out: &mut Vec<Lint>) {
    for ctx in &plan.contexts {
        for ext in ctx.extensions.iter().filter(|e| e.name.starts_with('_') && planned_id(e).is_some()) {
            if rejected.iter().any(|r| r.context == ctx.name && r.exten == ext.name) {
                continue;
            }
            let mut winners = Vec::new();
            let mut matched_any = false;
            let mut ever_wins = false;
            for sample in samples(&ext.name) {
                let matches = dialplan.matches(&ctx.name, &sample);
                if !matches.iter().any(|m| m.context == ctx.name && m.exten == ext.name) {
                    continue;
                }
                matched_any = true;
                match matches.first() {
                    Some(w) if w.context == ctx.name && w.exten == ext.name => {
                        ever_wins = true;
                        break;
                    }
                    Some(w) if !winners.contains(&w.exten) => winners.push(w.exten.clone()),
                    _ => {}
                }
            }
            if matched_any && !ever_wins {
                out.push(lint(
                    Severity::Warning,
                    "shadowed-pattern",
                    format!(
                        "`{}` in `{}` never wins: every number it matches is taken first by {}",
                        ext.name,
                        ctx.name,
                        winners.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ")
                    ),
                    planned_id(ext).into_iter().map(ext_ref).collect(),
                ));
            }
        }
    }
}

/// Internal numbers that an outcall pattern takes when dialled from an
/// internal context. A context's own extensions are searched before any
/// include, so a pattern only swallows numbers that live in contexts
/// searched after the outcall context.
fn swallowed_internal_numbers(plan: &DialplanPlan, dialplan: &Dialplan, out: &mut Vec<Lint>) {
    let line_numbers: Vec<(&str, &str, ExtensionId)> = plan
        .contexts
        .iter()
        .flat_map(|c| c.extensions.iter().map(move |e| (c, e)))
        .filter_map(|(c, e)| match e.role {
            ExtensionRole::Lines { extension_id } => Some((c.name.as_str(), e.name.as_str(), extension_id)),
            _ => None,
        })
        .collect();
    for ctx in plan.contexts.iter().filter(|c| c.kind == Some(ContextKind::Internal)) {
        for &(home, number, ext_id) in &line_numbers {
            let matches = dialplan.matches(&ctx.name, number);
            let Some(winner) = matches.first() else { continue };
            let winner_role = plan.extension(&winner.context, &winner.exten).map(|e| e.role);
            if let Some(ExtensionRole::Outcall { outcall_id, extension_id }) = winner_role {
                out.push(lint(
                    Severity::Error,
                    "outcall-swallows-internal-number",
                    format!(
                        "from `{}`, dialling {number} (a line in `{home}`) matches outcall pattern `{}` in `{}` first and goes out to a trunk instead of ringing the line",
                        ctx.name, winner.exten, winner.context
                    ),
                    vec![ext_ref(ext_id), ext_ref(extension_id), ObjectRef::new(ObjectKind::Outcall, outcall_id)],
                ));
            } else if home == ctx.name {
                for m in &matches[1..] {
                    if let Some(ExtensionRole::Outcall { extension_id, .. }) = plan.extension(&m.context, &m.exten).map(|e| e.role) {
                        out.push(lint(
                            Severity::Info,
                            "outcall-pattern-overlaps-internal-number",
                            format!(
                                "outcall pattern `{}` in `{}` also matches {number}, but {number} is an extension of `{}` itself, which Asterisk searches before its includes: callers in `{}` reach the line",
                                m.exten, m.context, ctx.name, ctx.name
                            ),
                            vec![ext_ref(ext_id), ext_ref(extension_id)],
                        ));
                    }
                }
            }
        }
    }
}

fn outcalls_without_trunks(s: &Snapshot, out: &mut Vec<Lint>) {
    for o in s.outcalls.iter().filter(|o| o.enabled) {
        let usable = render::outcall_trunks(s, o, "0").iter().filter(|(_, d)| d.is_ok()).count();
        if usable == 0 {
            out.push(lint(
                Severity::Error,
                "outcall-without-trunk",
                format!("outcall `{}` has no usable trunk: its calls fail with congestion", o.name),
                vec![ObjectRef::new(ObjectKind::Outcall, o.id)],
            ));
        }
    }
}

fn unused_trunks(s: &Snapshot, out: &mut Vec<Lint>) {
    for t in &s.trunks {
        if !s.outcalls.iter().any(|o| o.trunks.iter().any(|r| r.id == t.id)) {
            out.push(lint(
                Severity::Info,
                "trunk-not-used-by-any-outcall",
                format!("trunk {} is used by no outcall: it only receives calls", t.id),
                vec![ObjectRef::new(ObjectKind::Trunk, t.id)],
            ));
        }
    }
}

fn incall_destinations(s: &Snapshot, out: &mut Vec<Lint>) {
    for i in &s.incalls {
        let Destination::User { user_id, .. } = i.destination else { continue };
        let me = ObjectRef::new(ObjectKind::Incall, i.id);
        if s.user(user_id).is_none() {
            out.push(lint(Severity::Error, "incall-user-missing", format!("incall {} sends calls to user {user_id}, who does not exist", i.id), vec![me]));
        } else if s.lines_of_user(user_id).is_empty() {
            out.push(lint(Severity::Warning, "incall-user-without-line", format!("incall {} sends calls to user {user_id}, who has no line", i.id), vec![me, ObjectRef::new(ObjectKind::User, user_id)]));
        }
    }
}

/// The user part of a SIP URI (`sip:user@host` → `user`).
fn uri_user(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("sips:").or_else(|| uri.strip_prefix("sip:")).unwrap_or(uri);
    let (user, _) = rest.split_once('@')?;
    Some(user.split(';').next().unwrap_or(user)).filter(|u| !u.is_empty())
}

/// Registering trunks, checked on the rendered registration sections (so
/// templates are taken into account).
fn registrations(s: &Snapshot, out: &mut Vec<Lint>) {
    let pjsip = render::pjsip_conf(s);
    for reg in pjsip.sections.iter().filter(|sec| sec.values("type").next() == Some("registration")) {
        let objects: Vec<ObjectRef> = s
            .endpoints_sip
            .iter()
            .filter(|e| render::escape::section_name(&e.name) == reg.name)
            .map(|e| ObjectRef::new(ObjectKind::EndpointSip, &e.uuid))
            .collect();
        let client = reg.values("client_uri").last();
        let auth_user = reg
            .values("outbound_auth")
            .last()
            .and_then(|auth| pjsip.sections_named(auth).next())
            .and_then(|a| a.values("username").last());
        match (client.and_then(uri_user), auth_user) {
            (None, _) => out.push(lint(
                Severity::Error,
                "registration-without-user",
                format!("registration `{}` has no user in its client_uri: the far side's registrar finds the AOR by that name", reg.name),
                objects.clone(),
            )),
            (Some(user), Some(auth)) if user != auth => out.push(lint(
                Severity::Warning,
                "registration-aor-name",
                format!(
                    "registration `{}` registers as `{user}` but authenticates as `{auth}`: the far side must have an AOR named exactly `{user}`, or the REGISTER is refused",
                    reg.name
                ),
                objects.clone(),
            )),
            _ => {}
        }
        if reg.values("auth_rejection_permanent").last() != Some("no") {
            out.push(lint(
                Severity::Warning,
                "registration-rejection-permanent",
                format!(
                    "registration `{}` keeps auth_rejection_permanent = yes: one rejection before the far side is configured leaves it Rejected forever; set it to `no`",
                    reg.name
                ),
                objects,
            ));
        }
    }
}

fn looks_like_address(value: &str) -> bool {
    let v = value.trim();
    !v.is_empty() && v.chars().all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':') && (v.contains('.') || v.contains(':'))
}

fn transports(s: &Snapshot, out: &mut Vec<Lint>) {
    for t in &s.transports {
        for (key, value) in &t.options {
            if key == "external_media_port" && looks_like_address(value) {
                out.push(lint(
                    Severity::Error,
                    "external-media-port-holds-address",
                    format!("transport `{}` sets `external_media_port = {value}`: that is an address, and the option is `external_media_address`", t.name),
                    vec![ObjectRef::new(ObjectKind::Transport, &t.uuid)],
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;

/// Whether a call can leave through `outcall`: it is enabled and at least
/// one of its trunks gives a dial string (the trunk exists, has an
/// endpoint, and is not a disabled custom trunk).
fn calls_out(s: &Snapshot, outcall: &Outcall) -> bool {
    outcall.enabled && render::outcall_trunks(s, outcall, "0").iter().any(|(_, dial)| dial.is_ok())
}

/// Emergency routes: a tenant that can call out (an enabled outcall with a
/// usable trunk) but has no emergency route; an emergency number that
/// another extension takes first from a context that reaches the route; an
/// emergency route that is disabled or has no usable trunk (a drained trunk
/// is Asterisk's run-time state: the test mode shows it, lint cannot).
///
/// A tenant whose outcalls are all disabled or trunkless places no call
/// outside, emergency or not: `no-emergency-route` would only be noise
/// there (a tenant being set up, or one that only receives calls).
fn emergency_routes(s: &Snapshot, plan: &DialplanPlan, dialplan: &Dialplan, out: &mut Vec<Lint>) {
    for tenant in &s.tenants {
        let outcalls: Vec<&Outcall> = s.outcalls.iter().filter(|o| o.tenant_uuid == tenant.uuid).collect();
        let can_call_out = outcalls.iter().any(|o| calls_out(s, o));
        if can_call_out && !outcalls.iter().any(|o| o.emergency.is_some()) {
            out.push(lint(
                Severity::Warning,
                "no-emergency-route",
                format!("tenant `{}` can call out through its outgoing routes but has no emergency route: mark an outcall whose patterns are the emergency numbers (112, 911) as emergency", tenant.name),
                vec![ObjectRef::new(ObjectKind::Tenant, tenant.uuid.clone())],
            ));
        }
    }
    for o in s.outcalls.iter().filter(|o| o.emergency.is_some()) {
        let route = ObjectRef::new(ObjectKind::Outcall, o.id);
        if !o.enabled {
            out.push(lint(Severity::Error, "emergency-route-disabled", format!("emergency route `{}` is disabled: emergency calls fail", o.name), vec![route.clone()]));
        }
        let usable = render::outcall_trunks(s, o, "0").iter().filter(|(_, d)| d.is_ok()).count();
        if usable == 0 {
            out.push(lint(Severity::Error, "emergency-route-without-trunk", format!("emergency route `{}` has no usable trunk: emergency calls fail", o.name), vec![route.clone()]));
        }
        for pattern in &o.extensions {
            let Some(ext) = s.extension(pattern.extension_id) else { continue };
            let mut reported: Vec<&str> = Vec::new();
            for number in samples(&ext.exten).into_iter().filter(|n| !n.is_empty()).take(20) {
                for ctx in plan.contexts.iter().filter(|c| c.kind == Some(ContextKind::Internal)) {
                    if reported.contains(&ctx.name.as_str()) {
                        continue;
                    }
                    let matches = dialplan.matches(&ctx.name, &number);
                    if !matches.iter().any(|m| m.context == ext.context && m.exten == ext.exten) {
                        continue;
                    }
                    let Some(winner) = matches.first() else { continue };
                    if winner.context == ext.context && winner.exten == ext.exten {
                        continue;
                    }
                    reported.push(&ctx.name);
                    out.push(lint(
                        Severity::Error,
                        "emergency-number-shadowed",
                        format!(
                            "from `{}`, dialling {number} runs `{}` in `{}` instead of the emergency route `{}`",
                            ctx.name, winner.exten, winner.context, o.name
                        ),
                        vec![route.clone(), ext_ref(ext.id)],
                    ));
                }
            }
        }
    }
}
