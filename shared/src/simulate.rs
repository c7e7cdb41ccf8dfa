//! "What happens when this caller dials this string?" Loads the dialplan
//! Patchbay renders (`render::DialplanPlan`) into the Asterisk matcher of
//! `pattern`, so the winner here is the extension a real Asterisk runs, then
//! follows it: the outcall's number and trunks with their exact dial
//! strings, the caller ID with its reasons, or the incall's destination.

use crate::callerid::{self, CallerIdInputs, CallingUser, Presented, Resolved};
use crate::model::*;
use crate::pattern::{Dialplan, Match};
use crate::render::{
    DialplanPlan, ExtensionRole, inbound_plan, number_for_trunks, outbound_plan, trunk_dial_by_id,
    trunk_destination_dial, trunk_failover_sip_dial, trunk_timeouts,
};
use crate::numbers::{self, OutboundFormat};
use serde::Serialize;
use std::borrow::Borrow;

/// Who dials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    /// A user, from the context of their first line.
    User(UserId),
    /// A call arriving on a trunk, in the trunk's context.
    Trunk(TrunkId),
    /// Any context, by name.
    Context(&'a str),
}

/// What the winning extension is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    /// An outgoing route to trunks.
    Outcall,
    /// An incoming DID.
    Incall,
    /// A user's line.
    User,
    /// Nothing matches (yet).
    None,
}

/// Overlap dialling: what a phone that sends digits one by one would hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Overlap {
    /// A full match exists.
    pub exists: bool,
    /// A match exists now or after more digits.
    pub canmatch: bool,
    /// More digits could still match.
    pub matchmore: bool,
    /// The conclusion.
    pub verdict: OverlapVerdict,
}

/// The four outcomes of reference table §6 of the pattern spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverlapVerdict {
    /// Route now; nothing longer can match.
    Complete,
    /// Routable now, but longer numbers match too.
    CompleteButLongerMatches,
    /// Keep dialling (SIP 484 Address Incomplete).
    KeepDialling,
    /// No route (404).
    NoRoute,
}

/// One trunk of an outcall, in failover order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrunkAttempt {
    /// The trunk.
    pub trunk_id: TrunkId,
    /// What `Dial()` receives, or `None` when the trunk is skipped.
    pub dial: Option<String>,
    /// The called number in the trunk's format: the user part of the
    /// INVITE's Request-URI.
    pub number: String,
    /// The caller ID number in the trunk's format (From, PAI), when its
    /// number plan converts it.
    pub caller_id_number: Option<String>,
    /// Why it is skipped.
    pub skipped: Option<String>,
    /// What happens after each example failure of this trunk
    /// ([`AttemptResult::EXAMPLES`]); empty for a skipped trunk.
    pub on_failure: Vec<FailureBranch>,
}

/// One failure of one trunk and what the outcall does next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureBranch {
    /// How the attempt ended.
    pub failure: AttemptResult,
    /// What the policy decides.
    pub action: FailoverAction,
    /// In words: "trunk 2 is tried next", "the call ends: the caller gets 486 Busy Here".
    pub next: String,
}

/// How an outcall handles the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutcallTrace {
    /// The outcall.
    pub outcall_id: OutcallId,
    /// Its name.
    pub name: String,
    /// Disabled outcalls hang up.
    pub enabled: bool,
    /// `strip_digits` applied.
    pub strip_digits: u32,
    /// `external_prefix` applied.
    pub external_prefix: String,
    /// The number the trunks receive.
    pub number: String,
    /// Trunks in failover order.
    pub trunks: Vec<TrunkAttempt>,
    /// Which failures move to the next trunk and which end the call.
    pub failover_policy: FailoverPolicy,
    /// The caller ID presented, and why.
    pub caller_id: Resolved,
}

/// The full answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    /// The dialled string looked up (after a `+` was stripped, if any).
    pub dialled: String,
    /// The context the lookup starts in.
    pub context: Option<String>,
    /// Contexts in the order Asterisk searches them.
    pub contexts_searched: Vec<String>,
    /// The extension that runs.
    pub winner: Option<Match>,
    /// Other extensions that match, in the order Asterisk considers them.
    pub runner_ups: Vec<Match>,
    /// What the winner is.
    pub kind: RouteKind,
    /// Overlap-dialling state.
    pub overlap: Overlap,
    /// For outcalls.
    pub outcall: Option<OutcallTrace>,
    /// For incalls and lines: what is dialled (`PJSIP/alice-phone`), if anything.
    pub destination: Option<String>,
    /// Human explanation, in order.
    pub explanation: Vec<String>,
}

/// Simulates `dialled` from `caller` in `tenant`. Builds the dialplan and its
/// matcher each time: to ask many questions of one snapshot (a keystroke at a
/// time), build a [`Simulator`] once.
pub fn simulate(s: &Snapshot, tenant: &str, caller: Caller<'_>, dialled: &str) -> Trace {
    Simulator::new(s).simulate(tenant, caller, dialled)
}

/// The dialplan of one snapshot, planned and compiled into the matcher once;
/// [`Simulator::simulate`] then costs one lookup, whatever the number of
/// extensions. `S` is how the snapshot is held: `&Snapshot`, `Arc<Snapshot>`…
#[derive(Debug, Clone)]
pub struct Simulator<S> {
    snapshot: S,
    plan: DialplanPlan,
    dialplan: Dialplan,
}

impl<S: Borrow<Snapshot>> Simulator<S> {
    /// Plans and compiles the dialplan of `snapshot`.
    pub fn new(snapshot: S) -> Self {
        let plan = DialplanPlan::new(snapshot.borrow());
        let (dialplan, _) = plan.matcher();
        Simulator { snapshot, plan, dialplan }
    }

    /// The snapshot simulated on.
    pub fn snapshot(&self) -> &Snapshot {
        self.snapshot.borrow()
    }

    /// Simulates `dialled` from `caller` in `tenant`.
    pub fn simulate(&self, tenant: &str, caller: Caller<'_>, dialled: &str) -> Trace {
        let (s, plan, dialplan) = (self.snapshot.borrow(), &self.plan, &self.dialplan);
        let mut explanation = Vec::new();
        let (context, user) = start(s, tenant, caller, &mut explanation);
        let Some(context) = context else {
            return empty_trace(dialled, explanation);
        };
        let user = user.as_ref().map(|(u, number)| (*u, number.as_str()));
        let normalised;
        let mut dialled = dialled;
        if let Caller::Trunk(id) = caller
            && let Some((format, habits)) = s.trunk(id).and_then(inbound_plan)
        {
            if let Some(header) = s.trunk(id).and_then(|t| t.number_plan.as_ref()).and_then(|p| p.did_from.header()) {
                explanation.push(format!("trunk {id} takes the DID from the {header} header (here: `{dialled}`)"));
            }
            let (number, error) = numbers::inbound(&numbers::filtered(dialled), format, &habits);
            explanation.push(match error {
                None => format!("trunk {id} reads the DID `{dialled}` as a number of {} and writes it `{number}` ({})", habits.country, format.as_str()),
                Some(e) => format!("trunk {id} keeps the DID `{dialled}` as it is: {e}"),
            });
            normalised = number;
            dialled = &normalised;
        }
        let mut trace = lookup(s, plan, dialplan, &context, user, dialled, explanation);
        // `_+.` in incall contexts drops a leading `+` and looks up again.
        if let Some(ExtensionRole::StripPlus) = trace.winner.as_ref().and_then(|w| plan.extension(&w.context, &w.exten)).map(|e| e.role) {
            let mut why = trace.explanation.clone();
            why.push(format!("`_+.` strips the leading `+`: looking up {} again", &dialled[1..]));
            trace = lookup(s, plan, dialplan, &context, user, &dialled[1..], why);
        }
        trace
    }
}

fn empty_trace(dialled: &str, explanation: Vec<String>) -> Trace {
    Trace {
        dialled: dialled.to_owned(),
        context: None,
        contexts_searched: vec![],
        winner: None,
        runner_ups: vec![],
        kind: RouteKind::None,
        overlap: Overlap { exists: false, canmatch: false, matchmore: false, verdict: OverlapVerdict::NoRoute },
        outcall: None,
        destination: None,
        explanation,
    }
}

/// The starting context and, for a user, their caller-ID settings.
fn start<'a>(s: &'a Snapshot, tenant: &str, caller: Caller<'_>, why: &mut Vec<String>) -> (Option<String>, Option<(&'a User, String)>) {
    match caller {
        Caller::User(id) => {
            let Some(user) = s.user(id).filter(|u| u.tenant_uuid == tenant) else {
                why.push(format!("user {id} does not exist in this tenant"));
                return (None, None);
            };
            let line = s.lines_of_user(id).into_iter().find_map(|l| {
                let ext = s.extension(l.extension_id?)?;
                Some((ext.context.clone(), ext.exten.clone()))
            });
            match line {
                Some((ctx, number)) => {
                    why.push(format!("user {id} dials from context `{ctx}` (their line {number})"));
                    (Some(ctx), Some((user, number)))
                }
                None => {
                    why.push(format!("user {id} has no line with an extension: they cannot dial"));
                    (None, None)
                }
            }
        }
        Caller::Trunk(id) => match s.trunk(id).filter(|t| t.tenant_uuid == tenant) {
            None => {
                why.push(format!("trunk {id} does not exist in this tenant"));
                (None, None)
            }
            Some(Trunk { context: None, .. }) => {
                why.push(format!("trunk {id} has no context: its inbound calls go nowhere"));
                (None, None)
            }
            Some(Trunk { context: Some(ctx), .. }) => {
                why.push(format!("calls from trunk {id} enter context `{ctx}`"));
                (Some(ctx.clone()), None)
            }
        },
        Caller::Context(name) => match s.context_named(name).filter(|c| c.tenant_uuid == tenant) {
            None => {
                why.push(format!("context `{name}` does not exist in this tenant"));
                (None, None)
            }
            Some(_) => (Some(name.to_owned()), None),
        },
    }
}

/// Contexts in lookup order: the context itself, then its includes depth
/// first, each once (names compared ignoring case, as Asterisk does).
fn search_order(plan: &DialplanPlan, context: &str) -> Vec<String> {
    fn walk(plan: &DialplanPlan, name: &str, seen: &mut Vec<String>) {
        if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            return;
        }
        let Some(ctx) = plan.context(name) else { return };
        seen.push(name.to_owned());
        for include in &ctx.includes {
            walk(plan, include, seen);
        }
    }
    let mut seen = Vec::new();
    walk(plan, context, &mut seen);
    seen
}

fn overlap(dialplan: &Dialplan, context: &str, dialled: &str) -> Overlap {
    let exists = dialplan.exists(context, dialled);
    let canmatch = exists || dialplan.canmatch(context, dialled);
    let matchmore = dialplan.matchmore(context, dialled);
    let verdict = match (exists, matchmore, canmatch) {
        (true, false, _) => OverlapVerdict::Complete,
        (true, true, _) => OverlapVerdict::CompleteButLongerMatches,
        (false, true, _) | (false, false, true) => OverlapVerdict::KeepDialling,
        (false, false, false) => OverlapVerdict::NoRoute,
    };
    Overlap { exists, canmatch, matchmore, verdict }
}

fn lookup(
    s: &Snapshot,
    plan: &DialplanPlan,
    dialplan: &Dialplan,
    context: &str,
    user: Option<(&User, &str)>,
    dialled: &str,
    mut explanation: Vec<String>,
) -> Trace {
    let contexts_searched = search_order(plan, context);
    let mut matches = dialplan.matches(context, dialled);
    let overlap = overlap(dialplan, context, dialled);
    let mut trace = Trace {
        dialled: dialled.to_owned(),
        context: Some(context.to_owned()),
        contexts_searched,
        winner: None,
        runner_ups: vec![],
        kind: RouteKind::None,
        overlap,
        outcall: None,
        destination: None,
        explanation: vec![],
    };
    if matches.is_empty() {
        explanation.push(match overlap.verdict {
            _ if dialled.is_empty() => "an empty number runs no extension: Asterisk starts such a call at `s`".to_owned(),
            OverlapVerdict::KeepDialling => format!("nothing matches `{dialled}` yet, but a longer number would: keep dialling"),
            _ => format!("no extension reachable from `{context}` matches `{dialled}`"),
        });
        trace.explanation = explanation;
        return trace;
    }
    let winner = matches.remove(0);
    explanation.push(format!("`{}` in `{}` wins", winner.exten, winner.context));
    for other in &matches {
        explanation.push(format!("`{}` in `{}` also matches but comes later in Asterisk's order", other.exten, other.context));
    }
    if overlap.verdict == OverlapVerdict::CompleteButLongerMatches {
        explanation.push("longer numbers would match too; a phone doing overlap dialling may wait for more digits".into());
    }
    let role = plan.extension(&winner.context, &winner.exten).map(|e| e.role);
    match role {
        Some(ExtensionRole::Outcall { outcall_id, extension_id }) => {
            trace.kind = RouteKind::Outcall;
            trace.outcall = outcall(s, outcall_id, extension_id, user, dialled, &mut explanation);
        }
        Some(ExtensionRole::Incall { incall_id, .. }) => {
            trace.kind = RouteKind::Incall;
            trace.destination = incall(s, incall_id, &mut explanation);
        }
        Some(ExtensionRole::Lines { extension_id }) => {
            trace.kind = RouteKind::User;
            trace.destination = lines(s, &s.lines_of_extension(extension_id));
            explanation.push(match &trace.destination {
                Some(d) => format!("rings {d}"),
                None => "the extension has no line endpoint: the call hangs up".into(),
            });
        }
        Some(ExtensionRole::Group { group_id, .. }) => {
            trace.kind = RouteKind::User;
            trace.destination = match s.group(group_id) {
                Some(group) => ring_group(s, group, None, "the extension", &mut explanation),
                None => None,
            };
        }
        Some(ExtensionRole::StripPlus) | Some(ExtensionRole::OutcallSubroutine { .. }) | Some(ExtensionRole::IncallHeaders { .. }) | Some(ExtensionRole::TrunkInbound { .. }) | Some(ExtensionRole::NumberFormat { .. }) | Some(ExtensionRole::CallerIdByNumber { .. }) | None => {}
    }
    trace.winner = Some(winner);
    trace.runner_ups = matches;
    trace.explanation = explanation;
    trace
}

fn lines(s: &Snapshot, lines: &[&Line]) -> Option<String> {
    let targets: Vec<String> = lines
        .iter()
        .filter_map(|l| s.endpoint_sip(&l.endpoint_sip.as_ref()?.uuid))
        .map(|ep| format!("PJSIP/{}", crate::render::escape::dial_token(&ep.name)))
        .collect();
    (!targets.is_empty()).then(|| targets.join("&"))
}

fn incall(s: &Snapshot, id: IncallId, why: &mut Vec<String>) -> Option<String> {
    let incall = s.incalls.iter().find(|i| i.id == id)?;
    match &incall.destination {
        Destination::User { user_id, .. } => {
            let dest = lines(s, &s.lines_of_user(*user_id));
            why.push(match (&dest, s.user(*user_id)) {
                (_, None) => format!("incall {id} sends the call to user {user_id}, who does not exist: it hangs up"),
                (None, Some(_)) => format!("incall {id} sends the call to user {user_id}, who has no line: it hangs up"),
                (Some(d), Some(_)) => format!("incall {id} rings user {user_id} on {d}"),
            });
            dest
        }
        Destination::Group { group_id, ring_time } => match s.group(*group_id) {
            Some(group) => ring_group(s, group, *ring_time, &format!("incall {id}"), why),
            None => {
                why.push(format!("incall {id} sends the call to group {group_id}, which does not exist: it hangs up"));
                None
            }
        },
        Destination::None => {
            why.push(format!("incall {id} has destination `none`: the call hangs up"));
            None
        }
        Destination::Hangup { cause, .. } => {
            why.push(format!("incall {id} hangs up ({}, cause {})", cause.as_str(), cause.q850()));
            None
        }
        Destination::Custom { command } => {
            why.push(format!("incall {id} runs {}", crate::render::custom_command(command)));
            None
        }
        Destination::Extension { exten, context } => {
            why.push(format!("incall {id} jumps to {exten}@{context}"));
            Some(format!("{exten}@{context}"))
        }
        Destination::Trunk(d) => trunk_destination(s, incall, d, why),
    }
}

/// Which members a group rings, on which lines, for how long, as the
/// rendered `Dial()` does (`render::group_dial`).
fn ring_group(s: &Snapshot, group: &crate::model::Group, ring_time: Option<f64>, from: &str, why: &mut Vec<String>) -> Option<String> {
    let name = format!("group {} ({})", group.id, group.label);
    if !group.enabled {
        why.push(format!("{from} sends the call to {name}, which is disabled: it hangs up"));
        return None;
    }
    let mut members: Vec<&crate::model::GroupMember> = group.user_members.iter().collect();
    members.sort_by_key(|m| m.priority);
    let mut ringing = Vec::new();
    for member in members {
        let user = s.user(member.user_id);
        let who = match user {
            Some(u) => format!("user {} ({})", u.id, u.firstname),
            None => format!("user {}", member.user_id),
        };
        match s.lines_of_user(member.user_id).first().and_then(|l| lines(s, &[*l])) {
            Some(target) => ringing.push(format!("{who} on {target}")),
            None => why.push(format!("{who} is a member of {name} but has no line: it does not ring")),
        }
    }
    let dial = crate::render::group_dial(s, group, ring_time);
    match &dial {
        Some(dial) => {
            let timeout = match ring_time.filter(|t| t.is_finite() && *t > 0.0) {
                Some(t) => format!("for {t} s (the incall's ring_time)"),
                None => match group.timeout.filter(|t| *t > 0) {
                    Some(t) => format!("for {t} s (the group's timeout)"),
                    None => "with no timeout".into(),
                },
            };
            why.push(format!("{from} rings {name}: {} together {timeout} ({dial}); the first to answer takes the call", ringing.join(", ")));
        }
        None => why.push(format!("{from} sends the call to {name}, which has no member with a line: it hangs up")),
    }
    dial.and_then(|_| lines(s, &s.lines_of_group(group)))
}

/// A `type: trunk` incall (a Kazoo connectivity DID): server, number format,
/// limits and failover, in the order the rendered dialplan runs them.
fn trunk_destination(s: &Snapshot, incall: &Incall, d: &TrunkDestination, why: &mut Vec<String>) -> Option<String> {
    let id = incall.id;
    if let Some(description) = &incall.description {
        why.push(format!("incall {id}: {description}"));
    }
    if !d.enabled {
        why.push(format!("trunk {} is disabled: the call is rejected (cause 21)", d.trunk_id));
        return None;
    }
    if let Some(limit) = &d.call_limit {
        why.push(format!("at most {} concurrent call(s) in group `{}`: one more is refused with congestion", limit.max, limit.group));
    }
    if let Some(delay) = d.delay.filter(|d| *d > 0) {
        why.push(format!("waits {delay} s before dialling"));
    }
    let dial = trunk_destination_dial(s, d);
    match &dial {
        Ok(dial) => {
            let number = d.number.as_deref().unwrap_or("the DID as dialled");
            let timeouts = match (d.timeout.filter(|t| *t > 0), d.progress_timeout.filter(|t| *t > 0)) {
                (None, None) => "no timeout".to_string(),
                _ => format!("timeout `{}` (answer^progress seconds)", trunk_timeouts(d)),
            };
            why.push(format!("incall {id} dials trunk {} as {dial}: the server receives `{number}`, {timeouts}", d.trunk_id));
            if !d.sip_headers.is_empty() {
                let names: Vec<&str> = d.sip_headers.iter().map(|(n, _)| n.as_str()).collect();
                why.push(format!("the INVITE carries {}", names.join(", ")));
            }
        }
        Err(reason) => why.push(format!("incall {id} cannot dial its trunk: {reason}")),
    }
    match &d.failover {
        Some(TrunkFailover::Extension { exten, context }) => {
            why.push(format!("unless the server answers, the call continues at {exten}@{context}"))
        }
        Some(TrunkFailover::Sip { uri }) => why.push(match trunk_failover_sip_dial(s, d, uri) {
            Ok(failover) => format!("unless the server answers, the call goes to {uri} ({failover})"),
            Err(reason) => format!("the SIP failover {uri} cannot be dialled: {reason}"),
        }),
        None => why.push("no failover: an unanswered call hangs up (busy stays busy, anything else is congestion)".into()),
    }
    dial.ok()
}

fn outcall(
    s: &Snapshot,
    outcall_id: OutcallId,
    extension_id: ExtensionId,
    user: Option<(&User, &str)>,
    dialled: &str,
    why: &mut Vec<String>,
) -> Option<OutcallTrace> {
    let outcall = s.outcall(outcall_id)?;
    let pattern = outcall.extensions.iter().find(|e| e.extension_id == extension_id)?;
    let number = number_for_trunks(pattern, dialled);
    let strip = pattern.strip_digits.unwrap_or(0);
    let prefix = pattern.external_prefix.clone().unwrap_or_default();
    why.push(format!(
        "outcall `{}`: strip {strip} digit(s) and prefix `{prefix}`: the trunks receive `{number}`",
        outcall.name
    ));
    let calling = user.as_ref().map(|(u, number)| CallingUser {
        caller_id: u.caller_id.as_deref(),
        line_number: number,
        outgoing_caller_id: u.outgoing_caller_id.as_deref(),
    });
    let default = calling.map(|c| c.own()).unwrap_or(Presented { name: "(inbound name)".into(), number: "(inbound number)".into() });
    let caller_id = callerid::resolve(&CallerIdInputs {
        internal_caller_id: outcall.internal_caller_id,
        user: calling,
        route_caller_id: pattern.caller_id.as_deref(),
        default: &default,
    });
    let mut caller_id = caller_id;
    if let Some(emergency) = &outcall.emergency {
        caller_id.caller_id.number = emergency.callback_number.clone();
        caller_id.explanation.push(format!("emergency route: the callback number {} is sent, whatever the caller's own", emergency.callback_number));
    }
    let mut trunks: Vec<TrunkAttempt> = outcall
        .trunks
        .iter()
        .map(|r| {
            let (sent, caller_id_number) = trunk_numbers(s, r.id, &number, &caller_id.caller_id.number, why);
            let dial = trunk_dial_by_id(s, r.id, &sent);
            match dial {
                Ok(dial) => TrunkAttempt { trunk_id: r.id, dial: Some(dial), number: sent, caller_id_number, skipped: None, on_failure: vec![] },
                Err(reason) => TrunkAttempt { trunk_id: r.id, dial: None, number: sent, caller_id_number, skipped: Some(reason), on_failure: vec![] },
            }
        })
        .collect();
    let usable: Vec<TrunkId> = trunks.iter().filter(|t| t.dial.is_some()).map(|t| t.trunk_id).collect();
    for (position, trunk) in trunks.iter_mut().filter(|t| t.dial.is_some()).enumerate() {
        trunk.on_failure = AttemptResult::EXAMPLES
            .iter()
            .map(|&failure| branch(&outcall.failover_policy, failure, usable.get(position + 1).copied()))
            .collect();
    }
    if !outcall.enabled {
        why.push("the outcall is disabled: the call hangs up".into());
    } else if trunks.iter().all(|t| t.dial.is_none()) {
        why.push("no usable trunk: the call fails with congestion".into());
    } else {
        let order: Vec<&str> = trunks.iter().filter_map(|t| t.dial.as_deref()).collect();
        why.push(format!("dials {}", order.join(", then ")));
        why.push(policy_summary(&outcall.failover_policy));
    }
    why.extend(caller_id.explanation.iter().cloned());
    Some(OutcallTrace {
        outcall_id,
        name: outcall.name.clone(),
        enabled: outcall.enabled,
        strip_digits: strip,
        external_prefix: prefix,
        number,
        trunks,
        failover_policy: outcall.failover_policy.clone(),
        caller_id,
    })
}

/// The called number and caller ID number a trunk sends, in the formats of
/// its number plan (the renderer's format subroutines give the same:
/// `numbers::forms`).
fn trunk_numbers(s: &Snapshot, trunk: TrunkId, number: &str, caller_number: &str, why: &mut Vec<String>) -> (String, Option<String>) {
    let Some((number_format, caller_format, habits)) = s.trunk(trunk).and_then(outbound_plan) else {
        return (number.to_owned(), None);
    };
    let convert = |written: &str, format: Option<OutboundFormat>, what: &str, why: &mut Vec<String>| {
        let format = format?;
        let (out, error) = numbers::outbound(written, format, &habits);
        why.push(match error {
            None => format!("trunk {trunk} sends the {what} `{written}` as `{out}` ({}, {})", format.as_str(), habits.country),
            Some(e) => format!("trunk {trunk} sends the {what} `{written}` as it is: {e}"),
        });
        Some(out)
    };
    let sent = convert(number, number_format, "number", why).unwrap_or_else(|| number.to_owned());
    let caller = numbers::filtered(caller_number);
    let caller_id = if caller.is_empty() { None } else { convert(&caller, caller_format, "caller ID", why) };
    (sent, caller_id)
}

/// What the outcall does after `failure` of a trunk whose next usable trunk
/// is `next`.
fn branch(policy: &FailoverPolicy, failure: AttemptResult, next: Option<TrunkId>) -> FailureBranch {
    let action = policy.decide(failure).unwrap_or(FailoverAction::Stop);
    let text = match (action, next) {
        (FailoverAction::NextTrunk, Some(trunk)) => format!("trunk {trunk} is tried next"),
        (FailoverAction::NextTrunk, None) => "no trunk is left: the call ends with congestion (503 to a SIP caller)".into(),
        (FailoverAction::Stop, _) => match failure {
            AttemptResult::Sip(_) => format!("the call ends: the caller gets {}", failure.describe()),
            _ => format!("the call ends ({})", failure.describe()),
        },
    };
    FailureBranch { failure, action, next: text }
}

/// One sentence for the explanation: the policy's two lists and its default.
fn policy_summary(policy: &FailoverPolicy) -> String {
    let list = |v: &[FailureOutcome]| if v.is_empty() { "nothing".to_string() } else { v.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", ") };
    let otherwise = match policy.otherwise {
        FailoverAction::NextTrunk => "moves on",
        FailoverAction::Stop => "ends the call",
    };
    format!(
        "after a failed attempt: next trunk on {}; the call ends on {}; any other failure {otherwise} (a code beats its class)",
        list(&policy.next_trunk_on),
        list(&policy.stop_on)
    )
}

/// The attempts of an outcall when trunk `i` fails with `failures[i]`
/// (trunks without a chosen failure answer): the "what if" of the
/// simulator. Each step says which trunk was tried, how it ended and what
/// came next; the last step ends the call.
pub fn follow_failures(outcall: &OutcallTrace, failures: &[AttemptResult]) -> Vec<String> {
    let usable: Vec<&TrunkAttempt> = outcall.trunks.iter().filter(|t| t.dial.is_some()).collect();
    let mut steps = Vec::new();
    for (i, trunk) in usable.iter().enumerate() {
        let failure = failures.get(i).copied().unwrap_or(AttemptResult::Answered);
        let dial = trunk.dial.as_deref().unwrap_or_default();
        let Some(action) = outcall.failover_policy.decide(failure) else {
            steps.push(format!("trunk {} ({dial}): {}", trunk.trunk_id, failure.describe()));
            return steps;
        };
        let b = branch(&outcall.failover_policy, failure, usable.get(i + 1).map(|t| t.trunk_id));
        steps.push(format!("trunk {} ({dial}): {}: {}", trunk.trunk_id, failure.describe(), b.next));
        if action == FailoverAction::Stop {
            return steps;
        }
    }
    if usable.is_empty() {
        steps.push("no usable trunk: the call fails with congestion".into());
    }
    steps
}

/// What the test mode of an emergency route calls: its first SIP trunk
/// that can be dialled, the route's test number (never one of its own
/// emergency numbers) and the callback number, each in the trunk's format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmergencyTest {
    /// The trunk the test goes through.
    pub trunk_id: TrunkId,
    /// Its PJSIP endpoint.
    pub endpoint: String,
    /// The number called (Request-URI user).
    pub number: String,
    /// The caller ID number sent (From).
    pub caller_id: String,
}

/// The emergency test call of `outcall`, or why there is none.
pub fn emergency_test(s: &Snapshot, outcall: OutcallId) -> Result<EmergencyTest, String> {
    let o = s.outcall(outcall).ok_or_else(|| format!("outcall {outcall} does not exist"))?;
    let emergency = o.emergency.as_ref().ok_or_else(|| format!("outcall `{}` is not an emergency route", o.name))?;
    let test = emergency.test_number.as_deref().filter(|n| !n.is_empty()).ok_or_else(|| "the emergency route has no test_number".to_string())?;
    let mut builder = crate::pattern::DialplanBuilder::new();
    builder.add_context("emergency");
    for pattern in &o.extensions {
        if let Some(ext) = s.extension(pattern.extension_id) {
            let _ = builder.add_extension("emergency", &ext.exten);
        }
    }
    if builder.build().exists("emergency", test) {
        return Err(format!("the test number {test} is one of the route's emergency numbers: a test never calls them"));
    }
    for r in &o.trunks {
        let Some(trunk) = s.trunk(r.id) else { continue };
        let Some(TrunkEndpoint::Sip(uuid)) = &trunk.endpoint else { continue };
        let Some(endpoint) = s.endpoint_sip(uuid) else { continue };
        let mut why = Vec::new();
        let (number, caller_id) = trunk_numbers(s, trunk.id, test, &emergency.callback_number, &mut why);
        return Ok(EmergencyTest {
            trunk_id: trunk.id,
            endpoint: endpoint.name.clone(),
            number,
            caller_id: caller_id.unwrap_or_else(|| emergency.callback_number.clone()),
        });
    }
    Err(format!("emergency route `{}` has no SIP trunk to test", o.name))
}

#[cfg(test)]
mod tests;
