//! The dialplan Patchbay writes, as data: contexts, includes, extensions and
//! their priorities. `render::extensions` writes it to extensions.conf and
//! `simulate` loads the very same names into the matcher, so a simulated
//! winner is what Asterisk runs.
//!
//! Outgoing calls (reference §3.5, rendered statically since there is no
//! AGI): each outcall pattern resolves the caller ID with the precedence of
//! `callerid` (user choices arrive as channel variables set on the line's
//! endpoint) and then `Gosub`s the outcall's subroutine `pb-outcall-<id>`
//! with the number to dial, which tries the trunks in order and after each
//! failed attempt moves on or stops as the outcall's `FailoverPolicy` says,
//! from the SIP code of that attempt.
//!
//! The number handed to a trunk is `FILTER(0-9*#+, …)` of the stripped
//! dialled string: a pattern such as `_**99.` also matches `**99101&PJSIP/x`,
//! and without the filter the `&` would add a second dial target.

use super::escape;
use super::pjsip::outgoing_vars;
use crate::callerid;
use crate::model::*;
use crate::numbers::{DidSource, Habits, OutboundFormat, forms};
use crate::pattern::{Added, Dialplan, DialplanBuilder};
use serde::Serialize;

/// Prefix of generated subroutine contexts (reserved by validation).
pub const SUBROUTINE_PREFIX: &str = "pb-outcall-";

/// Prefix of the generated pre-dial handlers adding an incall's SIP headers.
pub const INCALL_HEADERS_PREFIX: &str = "pb-incall-headers-";

/// The `GROUP()` category of call limits ([`CallLimit`]).
pub const CALL_LIMIT_CATEGORY: &str = "pb-limit";

/// Prefix of the context a trunk's inbound calls enter when its number plan
/// normalises DIDs (`pb-trunk-in-<trunk id>`).
pub const TRUNK_INBOUND_PREFIX: &str = "pb-trunk-in-";

/// Prefix of the subroutines that write a number in a trunk's format
/// (`pb-number-<trunk id>-<format>`).
pub const NUMBER_FORMAT_PREFIX: &str = "pb-number-";

/// Prefix of the subroutine holding a trunk's caller IDs by calling number
/// (`pb-trunk-cid-<trunk id>`).
pub const CALLER_ID_BY_NUMBER_PREFIX: &str = "pb-trunk-cid-";

/// Channel variables of the per-trunk number conversion.
pub mod number_vars {
    /// The caller ID number as the route left it, before any trunk's format.
    pub const CALLER_NUM: &str = "PB_CALLER_NUM";
    /// The caller ID number, filtered, as the conversion reads it.
    pub const CALLER_DIGITS: &str = "PB_CALLER_DIGITS";
    /// The called number in the trunk's format.
    pub const NUMBER: &str = "PB_NUMBER";
}

/// Characters kept in a number sent to a trunk.
pub const DIALLED_NUMBER_CHARS: &str = "0-9*#+";

/// The whole generated dialplan.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DialplanPlan {
    /// Contexts in file order.
    pub contexts: Vec<PlannedContext>,
}

/// One `[context]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedContext {
    /// Context name.
    pub name: String,
    /// Its type, `None` for generated subroutines.
    pub kind: Option<ContextKind>,
    /// Included context names, in order.
    pub includes: Vec<String>,
    /// Extensions in file order.
    pub extensions: Vec<PlannedExtension>,
}

/// One extension and what it is for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedExtension {
    /// The name written (and matched).
    pub name: String,
    /// Why it exists.
    pub role: ExtensionRole,
    /// Priorities 1, n, n...
    pub priorities: Vec<Priority>,
}

/// What an extension does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExtensionRole {
    /// Rings the lines bound to this extension.
    Lines {
        /// The extension.
        extension_id: ExtensionId,
    },
    /// Rings the members of a group (its extension).
    Group {
        /// The group.
        group_id: GroupId,
        /// Its extension.
        extension_id: ExtensionId,
    },
    /// A DID of an incall.
    Incall {
        /// The incall.
        incall_id: IncallId,
        /// Its extension.
        extension_id: ExtensionId,
    },
    /// A pattern of an outcall.
    Outcall {
        /// The outcall.
        outcall_id: OutcallId,
        /// The pattern's extension.
        extension_id: ExtensionId,
    },
    /// `_+.` in incall contexts: drops a leading `+` and looks up again.
    StripPlus,
    /// `s` of an outcall's trunk-failover subroutine.
    OutcallSubroutine {
        /// The outcall.
        outcall_id: OutcallId,
    },
    /// `s` of the pre-dial handler adding an incall's SIP headers
    /// (`type: trunk` destinations).
    IncallHeaders {
        /// The incall.
        incall_id: IncallId,
    },
    /// A form of number in the context a trunk's calls enter: the DID
    /// rewritten, then looked up in the trunk's context.
    TrunkInbound {
        /// The trunk.
        trunk_id: TrunkId,
    },
    /// A form of number in a trunk's format subroutine.
    NumberFormat {
        /// The trunk.
        trunk_id: TrunkId,
    },
    /// A calling number of a trunk's caller IDs by number, or the `s` that
    /// looks it up.
    CallerIdByNumber {
        /// The trunk.
        trunk_id: TrunkId,
    },
}

/// A trunk's inbound normalisation: the format DIDs are written in and the
/// country habits that read them, when its plan has one and calls have a
/// context to go to.
pub fn inbound_plan(trunk: &Trunk) -> Option<(OutboundFormat, Habits)> {
    let plan = trunk.number_plan.as_ref()?;
    let format = plan.inbound.filter(|f| *f != OutboundFormat::AsDialled);
    if format.is_none() && plan.did_from == DidSource::RequestUri {
        return None;
    }
    trunk.context.as_ref()?;
    Some((format.unwrap_or(OutboundFormat::AsDialled), plan.habits()?))
}

/// Prefix of the context that holds a trunk's forms of DID when the DID is
/// read from a header (`pb-trunk-did-<trunk id>`).
pub const TRUNK_DID_PREFIX: &str = "pb-trunk-did-";

/// The context a trunk's inbound calls enter (the endpoint's `context`):
/// its own, or `pb-trunk-in-<id>` when its plan normalises DIDs first.
pub fn trunk_entry_context(trunk: &Trunk) -> Option<String> {
    match inbound_plan(trunk) {
        Some(_) => Some(format!("{TRUNK_INBOUND_PREFIX}{}", trunk.id)),
        None => trunk.context.clone(),
    }
}

/// The formats a trunk converts called numbers and caller IDs to on the way
/// out (`None`: untouched), with its country's habits.
pub fn outbound_plan(trunk: &Trunk) -> Option<(Option<OutboundFormat>, Option<OutboundFormat>, Habits)> {
    let plan = trunk.number_plan.as_ref()?;
    let converts = |f: OutboundFormat| (f != OutboundFormat::AsDialled).then_some(f);
    let (number, caller_id) = (converts(plan.outbound), converts(plan.caller_id));
    if number.is_none() && caller_id.is_none() {
        return None;
    }
    Some((number, caller_id, plan.habits()?))
}

fn number_format_context(trunk: TrunkId, format: OutboundFormat) -> String {
    format!("{NUMBER_FORMAT_PREFIX}{trunk}-{}", format.as_str().replace('_', "-"))
}

/// One priority: an optional label and `App(args)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Priority {
    /// `n(label)`.
    pub label: Option<String>,
    /// The application call, e.g. `Dial(PJSIP/${ARG1}@wazo-trunk)`.
    pub app: String,
}

/// An extension the matcher refused or dropped as a duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// Context name.
    pub context: String,
    /// The extension name.
    pub exten: String,
    /// Why Asterisk will not run it.
    pub reason: String,
}

struct Priorities(Vec<Priority>);

impl Priorities {
    fn new() -> Self {
        Self(Vec::new())
    }
    fn add(&mut self, app: impl Into<String>) -> &mut Self {
        self.0.push(Priority { label: None, app: app.into() });
        self
    }
    fn labelled(&mut self, label: &str, app: impl Into<String>) -> &mut Self {
        self.0.push(Priority { label: Some(label.into()), app: app.into() });
        self
    }
}

impl DialplanPlan {
    /// Builds the dialplan of every enabled context of the snapshot.
    pub fn new(s: &Snapshot) -> Self {
        let mut contexts: Vec<&Context> = s.contexts.iter().filter(|c| c.enabled).collect();
        crate::order::sort_by(&mut contexts, |a, b| a.name.cmp(&b.name));
        let mut plan = DialplanPlan::default();
        for ctx in contexts {
            plan.contexts.push(context(s, ctx));
        }
        let mut outcalls: Vec<&Outcall> = s.outcalls.iter().collect();
        crate::order::sort_by_key(&mut outcalls, |o| o.id);
        for o in outcalls {
            plan.contexts.push(subroutine(s, o));
        }
        let mut trunks: Vec<&Trunk> = s.trunks.iter().collect();
        crate::order::sort_by_key(&mut trunks, |t| t.id);
        for trunk in trunks {
            plan.contexts.extend(trunk_number_contexts(trunk));
        }
        let mut incalls: Vec<&Incall> = s.incalls.iter().collect();
        crate::order::sort_by_key(&mut incalls, |i| i.id);
        for i in incalls {
            if let Destination::Trunk(d) = &i.destination
                && !d.sip_headers.is_empty()
            {
                plan.contexts.push(headers_handler(i.id, d));
            }
        }
        plan
    }

    /// Loads the plan into the matcher, exactly as pbx_config would load the
    /// rendered file, and reports what Asterisk would refuse.
    pub fn matcher(&self) -> (Dialplan, Vec<Rejected>) {
        let mut builder = DialplanBuilder::new();
        let mut rejected = Vec::new();
        for ctx in &self.contexts {
            builder.add_context(&ctx.name);
            for include in &ctx.includes {
                builder.add_include(&ctx.name, include);
            }
            for ext in &ctx.extensions {
                let reason = match builder.add_extension(&ctx.name, &ext.name) {
                    Ok(Added::New) => continue,
                    Ok(Added::DuplicateOf(first)) => format!("Asterisk treats it as the same extension as `{first}`, which comes first: it is dropped"),
                    Err(e) => format!("not a valid extension name: {e:?}"),
                };
                rejected.push(Rejected { context: ctx.name.clone(), exten: ext.name.clone(), reason });
            }
        }
        (builder.build(), rejected)
    }

    /// The planned extension `exten` of `context`.
    pub fn extension(&self, context: &str, exten: &str) -> Option<&PlannedExtension> {
        self.contexts.iter().find(|c| c.name == context)?.extensions.iter().find(|e| e.name == exten)
    }

    /// The planned context named `name`.
    pub fn context(&self, name: &str) -> Option<&PlannedContext> {
        self.contexts.iter().find(|c| c.name == name)
    }
}

fn context(s: &Snapshot, ctx: &Context) -> PlannedContext {
    let includes = ctx
        .contexts
        .iter()
        .filter_map(|r| s.context(r.id))
        .filter(|c| c.enabled)
        .map(|c| escape::context_name(&c.name))
        .collect();
    let mut extensions = Vec::new();
    if ctx.kind == ContextKind::Incall {
        let mut p = Priorities::new();
        p.add("Goto(${EXTEN:1},1)");
        extensions.push(PlannedExtension { name: "_+.".into(), role: ExtensionRole::StripPlus, priorities: p.0 });
    }
    let mut exts: Vec<&Extension> = s.extensions.iter().filter(|e| e.enabled && e.context == ctx.name).collect();
    crate::order::sort_by(&mut exts, |a, b| a.exten.cmp(&b.exten).then(a.id.cmp(&b.id)));
    for ext in exts {
        let planned = match s.owner_of(ext.id) {
            Some(ExtensionOwner::Lines) => lines_extension(s, ext),
            Some(ExtensionOwner::Group(group)) => group_extension(s, ext, group),
            Some(ExtensionOwner::Incall(incall)) => incall_extension(s, ext, incall),
            Some(ExtensionOwner::Outcall(outcall, pattern)) => {
                let by_number = s.trunks.iter().any(|t| t.tenant_uuid == outcall.tenant_uuid && !t.caller_id_by_number.is_empty());
                outcall_extension(ext, outcall, pattern, by_number)
            }
            None => continue,
        };
        extensions.push(planned);
    }
    PlannedContext { name: escape::context_name(&ctx.name), kind: Some(ctx.kind), includes, extensions }
}

/// `PJSIP/a&PJSIP/b` for the lines' endpoints, if any.
fn lines_target(s: &Snapshot, lines: &[&Line]) -> Option<String> {
    let targets: Vec<String> = lines
        .iter()
        .filter_map(|l| s.endpoint_sip(&l.endpoint_sip.as_ref()?.uuid))
        .map(|ep| format!("PJSIP/{}", escape::dial_token(&ep.name)))
        .collect();
    (!targets.is_empty()).then(|| targets.join("&"))
}

fn lines_extension(s: &Snapshot, ext: &Extension) -> PlannedExtension {
    let mut p = Priorities::new();
    match lines_target(s, &s.lines_of_extension(ext.id)) {
        Some(target) => p.add(format!("Dial({target})")),
        None => p.add("NoOp(no line endpoint)"),
    };
    p.add("Hangup()");
    PlannedExtension { name: escape::extension_name(&ext.exten), role: ExtensionRole::Lines { extension_id: ext.id }, priorities: p.0 }
}

fn incall_extension(s: &Snapshot, ext: &Extension, incall: &Incall) -> PlannedExtension {
    let mut p = Priorities::new();
    p.add(format!("NoOp(incall {})", incall.id));
    caller_id_name(&mut p, incall.caller_id_mode, incall.caller_id_name.as_deref());
    match &incall.destination {
        Destination::User { user_id, ring_time } => {
            match lines_target(s, &s.lines_of_user(*user_id)) {
                Some(target) => {
                    let timeout = ring_time.filter(|t| *t > 0.0).map(|t| format!(",{}", t.ceil() as u64)).unwrap_or_default();
                    p.add(format!("Dial({target}{timeout})"))
                }
                None => p.add(format!("NoOp(user {user_id} has no line)")),
            };
            p.add("Hangup()");
        }
        Destination::Group { group_id, ring_time } => {
            match s.group(*group_id) {
                Some(group) => ring_group(s, group, *ring_time, &mut p),
                None => {
                    p.add(format!("NoOp(group {group_id} does not exist)"));
                }
            }
            p.add("Hangup()");
        }
        Destination::None => {
            p.add("Hangup()");
        }
        // Wazo's `endcall` subroutine: Hangup(), Busy(timeout), Congestion(timeout).
        Destination::Hangup { cause, timeout } => {
            let timeout = timeout.filter(|t| t.is_finite() && *t > 0.0).map(|t| (t.ceil() as u64).to_string()).unwrap_or_default();
            match cause {
                HangupCause::Normal => p.add("Hangup()"),
                HangupCause::Busy => p.add(format!("Busy({timeout})")),
                HangupCause::Congestion => p.add(format!("Congestion({timeout})")),
            };
        }
        Destination::Custom { command } => {
            p.add(custom_command(command));
        }
        Destination::Extension { exten, context } => {
            p.add(format!("Goto({},{},1)", escape::context_name(context), escape::extension_name(exten)));
        }
        Destination::Trunk(d) => trunk_destination(s, incall.id, d, &mut p),
    }
    PlannedExtension {
        name: escape::extension_name(&ext.exten),
        role: ExtensionRole::Incall { incall_id: incall.id, extension_id: ext.id },
        priorities: p.0,
    }
}

/// `Set(CALLERID(name)=…)` for a `caller_id_mode` and its name (incalls,
/// groups).
fn caller_id_name(p: &mut Priorities, mode: Option<CallerIdMode>, name: Option<&str>) {
    if let Some(name) = name.map(escape::dialplan_text) {
        let value = match mode {
            Some(CallerIdMode::Prepend) => format!("{name} - ${{CALLERID(name)}}"),
            Some(CallerIdMode::Append) => format!("${{CALLERID(name)}} - {name}"),
            Some(CallerIdMode::Overwrite) => name,
            None => String::new(),
        };
        if mode.is_some() {
            p.add(format!("Set(CALLERID(name)={value})"));
        }
    }
}

/// The `Dial()` of a group: every member's line at once (`ringall`), for
/// `ring_time` seconds (an incall's), else the group's `timeout`; `None`
/// when no member has a line endpoint.
pub fn group_dial(s: &Snapshot, group: &Group, ring_time: Option<f64>) -> Option<String> {
    let target = lines_target(s, &s.lines_of_group(group))?;
    let timeout = match ring_time.filter(|t| t.is_finite() && *t > 0.0) {
        Some(t) => Some(t.ceil() as u64),
        None => group.timeout.filter(|t| *t > 0).map(|t| t as u64),
    };
    Some(match timeout {
        Some(t) => format!("Dial({target},{t})"),
        None => format!("Dial({target})"),
    })
}

/// Rings a group (from its extension or an incall): its caller-ID name,
/// then its members together.
fn ring_group(s: &Snapshot, group: &Group, ring_time: Option<f64>, p: &mut Priorities) {
    p.add(format!("NoOp(group {})", group.id));
    if !group.enabled {
        p.add(format!("NoOp(group {} is disabled)", group.id));
        return;
    }
    caller_id_name(p, group.caller_id_mode, group.caller_id_name.as_deref());
    match group_dial(s, group, ring_time) {
        Some(dial) => p.add(dial),
        None => p.add(format!("NoOp(group {} has no member with a line)", group.id)),
    };
}

fn group_extension(s: &Snapshot, ext: &Extension, group: &Group) -> PlannedExtension {
    let mut p = Priorities::new();
    ring_group(s, group, None, &mut p);
    p.add("Hangup()");
    PlannedExtension {
        name: escape::extension_name(&ext.exten),
        role: ExtensionRole::Group { group_id: group.id, extension_id: ext.id },
        priorities: p.0,
    }
}

/// A `custom` destination's `App(args)` as written: the application name
/// (letters only), its arguments through `escape::application_args`.
pub fn custom_command(command: &str) -> String {
    match command.split_once('(') {
        Some((app, rest)) => {
            let args = rest.strip_suffix(')').unwrap_or(rest);
            let app: String = app.chars().filter(char::is_ascii_alphabetic).collect();
            format!("{app}({})", escape::application_args(args))
        }
        None => format!("NoOp({})", escape::dialplan_text(command)),
    }
}

/// The `Dial()` timeout argument: `answer^progress` (Asterisk 18.20+).
pub fn trunk_timeouts(d: &TrunkDestination) -> String {
    let answer = d.timeout.filter(|t| *t > 0).map(|t| t.to_string()).unwrap_or_default();
    let progress = d.progress_timeout.filter(|t| *t > 0).map(|t| format!("^{t}")).unwrap_or_default();
    format!("{answer}{progress}")
}

/// What `Dial()` receives for a trunk destination (number made safe), or why not.
pub fn trunk_destination_dial(s: &Snapshot, d: &TrunkDestination) -> Result<String, String> {
    let number = d.number.as_deref().map(escape::dial_token).unwrap_or_else(|| "${EXTEN}".into());
    match s.trunk(d.trunk_id) {
        Some(trunk) => trunk_dial_string(s, trunk, &number),
        None => Err(format!("trunk {} does not exist", d.trunk_id)),
    }
}

/// What `Dial()` receives for a SIP-URI failover: the URI through the trunk's
/// own SIP endpoint.
pub fn trunk_failover_sip_dial(s: &Snapshot, d: &TrunkDestination, uri: &str) -> Result<String, String> {
    match s.trunk(d.trunk_id).and_then(|t| t.endpoint.as_ref()) {
        Some(TrunkEndpoint::Sip(uuid)) => s
            .endpoint_sip(uuid)
            .map(|ep| format!("PJSIP/{}/{}", escape::dial_token(&ep.name), escape::dial_token(uri)))
            .ok_or_else(|| format!("trunk {}: its SIP endpoint is missing", d.trunk_id)),
        _ => Err(format!("trunk {} has no SIP endpoint to send the failover through", d.trunk_id)),
    }
}

/// A `type: trunk` incall: refuse when disabled, count against the call
/// limit, wait `delay`, dial the trunk with the headers' pre-dial handler,
/// and fail over unless it answered (or the caller hung up).
fn trunk_destination(s: &Snapshot, incall: IncallId, d: &TrunkDestination, p: &mut Priorities) {
    if !d.enabled {
        p.add(format!("NoOp(trunk {} is disabled: call rejected)", d.trunk_id)).add("Hangup(21)");
        return;
    }
    if let Some(limit) = &d.call_limit {
        let group = escape::context_name(&limit.group);
        p.add(format!("Set(GROUP({CALL_LIMIT_CATEGORY})={group})"));
        p.add(format!("GotoIf($[${{GROUP_COUNT({group}@{CALL_LIMIT_CATEGORY})}} > {}]?full)", limit.max));
    }
    if let Some(delay) = d.delay.filter(|d| *d > 0) {
        p.add(format!("Wait({delay})"));
    }
    match trunk_destination_dial(s, d) {
        Ok(dial) => {
            let options = if d.sip_headers.is_empty() { String::new() } else { format!(",b({INCALL_HEADERS_PREFIX}{incall}^s^1)") };
            let timeouts = trunk_timeouts(d);
            let args = if options.is_empty() && timeouts.is_empty() { String::new() } else { format!(",{timeouts}{options}") };
            p.add(format!("Dial({dial}{args})"));
            p.add(format!("GotoIf($[\"${{DIALSTATUS}}\" = \"{}\"]?done)", DialStatus::Answer.as_str()));
            p.add(format!("GotoIf($[\"${{DIALSTATUS}}\" = \"{}\"]?done)", DialStatus::Cancel.as_str()));
        }
        Err(reason) => {
            p.add(format!("NoOp({})", escape::dialplan_text(&reason)));
        }
    }
    match &d.failover {
        Some(TrunkFailover::Extension { exten, context }) => {
            p.labelled("failover", format!("Goto({},{},1)", escape::context_name(context), escape::extension_name(exten)));
        }
        Some(TrunkFailover::Sip { uri }) => match trunk_failover_sip_dial(s, d, uri) {
            Ok(dial) => {
                p.labelled("failover", format!("Dial({dial})"));
            }
            Err(reason) => {
                p.labelled("failover", format!("NoOp({})", escape::dialplan_text(&reason)));
            }
        },
        None => {
            p.labelled("failover", format!("GotoIf($[\"${{DIALSTATUS}}\" = \"{}\"]?busy)", DialStatus::Busy.as_str()));
            p.add("Hangup(34)");
            p.labelled("busy", "Hangup(17)");
        }
    }
    p.labelled("done", "Hangup()");
    if d.call_limit.is_some() {
        p.labelled("full", "NoOp(call limit reached)").add("Hangup(34)");
    }
}

/// A trunk's generated contexts: the entry of its inbound calls (each form
/// of number rewritten, then looked up in the trunk's context; a number the
/// context does not have is refused with cause 1, unallocated, as a missing
/// extension is) and one subroutine per format it sends numbers in (each
/// form `Return`s the number rewritten). Only digits of the country table
/// and `${EXTEN}`, which the forms limit to `0-9*#+`, are written.
fn trunk_number_contexts(trunk: &Trunk) -> Vec<PlannedContext> {
    let mut out = Vec::new();
    if !trunk.caller_id_by_number.is_empty() {
        out.push(caller_id_by_number(trunk));
    }
    if let (Some((format, habits)), Some(context)) = (inbound_plan(trunk), &trunk.context) {
        let context = escape::context_name(context);
        let mut extensions: Vec<PlannedExtension> = forms(&habits)
            .iter()
            .map(|form| {
                let mut p = Priorities::new();
                p.add(format!("Set(__PB_DID_RECEIVED=${{EXTEN}})"));
                p.add(format!("Set(PB_DID={})", form.expression(format, &habits)));
                p.add(format!("GotoIf(${{DIALPLAN_EXISTS({context},${{PB_DID}},1)}}?{context},${{PB_DID}},1)"));
                p.add(format!("NoOp(trunk {}: no DID ${{PB_DID}} in {context})", trunk.id));
                p.add("Hangup(1)");
                PlannedExtension { name: escape::extension_name(&form.pattern), role: ExtensionRole::TrunkInbound { trunk_id: trunk.id }, priorities: p.0 }
            })
            .collect();
        let mut p = Priorities::new();
        p.add(format!("Goto({context},s,1)"));
        extensions.push(PlannedExtension { name: "s".into(), role: ExtensionRole::TrunkInbound { trunk_id: trunk.id }, priorities: p.0 });
        let entry = format!("{TRUNK_INBOUND_PREFIX}{}", trunk.id);
        let did_from = trunk.number_plan.as_ref().map(|p| p.did_from).unwrap_or_default();
        match did_from.header() {
            None => out.push(PlannedContext { name: entry, kind: None, includes: vec![], extensions }),
            Some(header) => {
                let forms_context = format!("{TRUNK_DID_PREFIX}{}", trunk.id);
                out.push(did_from_header(trunk.id, &entry, &forms_context, header));
                out.push(PlannedContext { name: forms_context, kind: None, includes: vec![], extensions });
            }
        }
    }
    if let Some((number, caller_id, habits)) = outbound_plan(trunk) {
        let mut formats: Vec<OutboundFormat> = number.into_iter().chain(caller_id).collect();
        formats.dedup();
        for format in formats {
            let extensions = forms(&habits)
                .iter()
                .map(|form| {
                    let mut p = Priorities::new();
                    p.add(format!("Return({})", form.expression(format, &habits)));
                    PlannedExtension { name: escape::extension_name(&form.pattern), role: ExtensionRole::NumberFormat { trunk_id: trunk.id }, priorities: p.0 }
                })
                .collect();
            out.push(PlannedContext { name: number_format_context(trunk.id, format), kind: None, includes: vec![], extensions });
        }
    }
    out
}

/// The entry of a trunk whose provider puts the DID in `header`: whatever
/// the Request-URI (any user, or none: `s`), the header's URI user, kept to
/// digits and `+`, is looked up among the forms of `forms_context`.
fn did_from_header(trunk: TrunkId, entry: &str, forms_context: &str, header: &str) -> PlannedContext {
    let role = ExtensionRole::TrunkInbound { trunk_id: trunk };
    let extensions = ["_[0-9a-zA-Z*#+]", "_[0-9a-zA-Z*#+].", "s"]
        .into_iter()
        .map(|name| {
            let mut p = Priorities::new();
            p.add(format!("Set(PB_DID_HEADER=${{PJSIP_HEADER(read,{header})}})"));
            p.add("Set(PB_DID_USER=${CUT(PB_DID_HEADER,@,1)})");
            p.add("Set(PB_DID_FOUND=${FILTER(0-9+,${CUT(PB_DID_USER,:,2)})})");
            p.add(format!("GotoIf($[\"${{PB_DID_FOUND}}\" != \"\"]?{forms_context},${{PB_DID_FOUND}},1)"));
            p.add(format!("NoOp(trunk {trunk}: no number in the {header} header)"));
            p.add("Hangup(1)");
            PlannedExtension { name: escape::extension_name(name), role, priorities: p.0 }
        })
        .collect();
    PlannedContext { name: entry.to_owned(), kind: None, includes: vec![], extensions }
}

/// `pb-trunk-cid-<id>`: `s` (argument: the calling number, digits and `+`)
/// jumps to the calling number's extension when there is one, which forces
/// its caller ID as a user's `outgoing_caller_id` would; then returns.
fn caller_id_by_number(trunk: &Trunk) -> PlannedContext {
    use outgoing_vars::*;
    let name = format!("{CALLER_ID_BY_NUMBER_PREFIX}{}", trunk.id);
    let role = ExtensionRole::CallerIdByNumber { trunk_id: trunk.id };
    let mut p = Priorities::new();
    p.add("GotoIf($[\"${ARG1}\" = \"\"]?none)");
    p.add(format!("GotoIf(${{DIALPLAN_EXISTS({name},${{ARG1}},1)}}?{name},${{ARG1}},1)"));
    p.labelled("none", "Return()");
    let mut extensions = vec![PlannedExtension { name: "s".into(), role, priorities: p.0 }];
    for entry in &trunk.caller_id_by_number {
        let calling = escape::digits(&entry.calling);
        if calling.is_empty() {
            continue;
        }
        for exten in [calling.clone(), format!("+{calling}")] {
            let mut p = Priorities::new();
            p.add(format!("Set({SET}=1)"));
            p.add(format!("Set({NAME}={})", escape::dialplan_text(&entry.name)));
            p.add(format!("Set({NUMBER}={})", escape::digits(&entry.number)));
            p.add("Return()");
            if !extensions.iter().any(|e| e.name == exten) {
                extensions.push(PlannedExtension { name: escape::extension_name(&exten), role, priorities: p.0 });
            }
        }
    }
    PlannedContext { name, kind: None, includes: vec![], extensions }
}

/// `s` of `pb-incall-headers-<id>`: runs on the outgoing channel before the
/// INVITE leaves (`Dial(…,b(…))`) and adds each header.
fn headers_handler(incall: IncallId, d: &TrunkDestination) -> PlannedContext {
    let mut p = Priorities::new();
    for (name, value) in &d.sip_headers {
        p.add(format!("Set(PJSIP_HEADER(add,{})={})", escape::sip_header_name(name), escape::sip_header_value(value)));
    }
    p.add("Return()");
    PlannedContext {
        name: format!("{INCALL_HEADERS_PREFIX}{incall}"),
        kind: None,
        includes: vec![],
        extensions: vec![PlannedExtension { name: "s".into(), role: ExtensionRole::IncallHeaders { incall_id: incall }, priorities: p.0 }],
    }
}

/// The caller-ID precedence of `callerid::resolve`, as priorities, then the
/// Gosub to the trunks.
fn outcall_extension(ext: &Extension, outcall: &Outcall, pattern: &OutcallExtension, by_number: bool) -> PlannedExtension {
    let mut p = Priorities::new();
    p.add(format!("NoOp(outcall {} pattern {})", outcall.id, ext.id));
    if !outcall.enabled {
        p.add(format!("NoOp(outcall {} is disabled)", outcall.id)).add("Hangup(34)");
        return PlannedExtension {
            name: escape::extension_name(&ext.exten),
            role: ExtensionRole::Outcall { outcall_id: outcall.id, extension_id: ext.id },
            priorities: p.0,
        };
    }
    if let Some(emergency) = &outcall.emergency {
        // An emergency call always presents the site's callback number.
        p.add(format!("NoOp(outcall {}: emergency route)", outcall.id));
        p.add(format!("Set(CALLERID(num)={})", escape::digits(&emergency.callback_number)));
        p.add("Set(CALLERID(pres)=allowed)");
    } else if !outcall.internal_caller_id {
        use outgoing_vars::*;
        if by_number {
            // The caller ID of the calling number, for a call from a trunk
            // that has caller IDs by number (`pb-trunk-cid-<id>`).
            p.add(format!("GosubIf($[\"${{{BY_NUMBER}}}\" != \"\"]?${{{BY_NUMBER}}},s,1(${{FILTER(0-9+,${{CALLERID(num)}})}}))"));
        }
        p.add(format!("GotoIf(${{{SET}}}?cid_user)"));
        p.add(format!("GotoIf(${{{ANONYMOUS}}}?cid_anon)"));
        p.labelled("cid_route", "NoOp(caller ID of the outcall pattern)");
        let route = pattern.caller_id.as_deref().filter(|c| !c.trim().is_empty()).and_then(|c| callerid::parse(c).ok());
        if let Some(route) = route {
            let name = route.name.as_ref().or(route.number.as_ref());
            if let Some(name) = name {
                p.add(format!("Set(CALLERID(name)={})", escape::dialplan_text(name)));
            }
            if let Some(number) = &route.number {
                p.add(format!("Set(CALLERID(num)={})", escape::digits(number)));
            }
        }
        p.add("Goto(dial)");
        p.labelled("cid_anon", "Set(CALLERID(pres)=prohib)");
        p.add("Goto(cid_route)");
        p.labelled("cid_user", format!("Set(CALLERID(name)=${{{NAME}}})"));
        p.add(format!("Set(CALLERID(num)=${{{NUMBER}}})"));
    }
    let strip = pattern.strip_digits.unwrap_or(0);
    let prefix = escape::digits(pattern.external_prefix.as_deref().unwrap_or(""));
    p.labelled(
        "dial",
        format!("Gosub({SUBROUTINE_PREFIX}{},s,1({prefix}${{FILTER({DIALLED_NUMBER_CHARS},${{EXTEN:{strip}}})}}))", outcall.id),
    );
    p.add("Hangup()");
    PlannedExtension {
        name: escape::extension_name(&ext.exten),
        role: ExtensionRole::Outcall { outcall_id: outcall.id, extension_id: ext.id },
        priorities: p.0,
    }
}

/// What `Dial()` receives for `trunk`, with `number` already made safe (the
/// renderer passes `${ARG1}`, the simulator the filtered digits). `Err` says
/// why the trunk is skipped.
pub fn trunk_dial_string(s: &Snapshot, trunk: &Trunk, number: &str) -> Result<String, String> {
    match &trunk.endpoint {
        None => Err(format!("trunk {} has no endpoint", trunk.id)),
        Some(TrunkEndpoint::Sip(uuid)) => s
            .endpoint_sip(uuid)
            .map(|ep| format!("PJSIP/{number}@{}", escape::dial_token(&ep.name)))
            .ok_or_else(|| format!("trunk {}: its SIP endpoint is missing", trunk.id)),
        Some(TrunkEndpoint::Iax(id)) => s
            .endpoint_iax(*id)
            .map(|ep| format!("IAX2/{}/{number}", escape::dial_token(&ep.name)))
            .ok_or_else(|| format!("trunk {}: its IAX endpoint is missing", trunk.id)),
        Some(TrunkEndpoint::Custom(id)) => match s.endpoint_custom(*id) {
            None => Err(format!("trunk {}: its custom endpoint is missing", trunk.id)),
            Some(c) if !c.enabled => Err(format!("trunk {}: its custom endpoint is disabled", trunk.id)),
            Some(c) => Ok(format!(
                "{}/{number}{}",
                escape::dial_token(&c.interface),
                escape::dial_token(c.interface_suffix.as_deref().unwrap_or(""))
            )),
        },
    }
}

/// The trunks an outcall dials, in failover order, with their dial strings
/// (or why each is skipped).
pub fn outcall_trunks(s: &Snapshot, outcall: &Outcall, number: &str) -> Vec<(TrunkId, Result<String, String>)> {
    outcall.trunks.iter().map(|r| (r.id, trunk_dial_by_id(s, r.id, number))).collect()
}

/// [`trunk_dial_string`] of the trunk `id`.
pub fn trunk_dial_by_id(s: &Snapshot, id: TrunkId, number: &str) -> Result<String, String> {
    match s.trunk(id) {
        Some(trunk) => trunk_dial_string(s, trunk, number),
        None => Err(format!("trunk {id} does not exist")),
    }
}

/// The number a trunk receives for `dialled`: stripped, filtered, prefixed.
pub fn number_for_trunks(pattern: &OutcallExtension, dialled: &str) -> String {
    let strip = pattern.strip_digits.unwrap_or(0) as usize;
    let kept: String = dialled.chars().skip(strip).filter(|c| c.is_ascii_digit() || "*#+".contains(*c)).collect();
    format!("{}{kept}", escape::digits(pattern.external_prefix.as_deref().unwrap_or("")))
}

/// Channel variables the subroutine sets after each attempt, for its own
/// decision and for whoever reads the channel afterwards (CDR, logs).
pub mod attempt_vars {
    /// The final SIP response code of the last attempt (`503`), empty when
    /// the trunk gave no SIP answer.
    pub const SIP_CODE: &str = "PB_SIP_CODE";
    /// `HANGUPCAUSE(…,tech)`: `SIP 503 Service Unavailable`.
    pub const TECH_CAUSE: &str = "PB_TECH_CAUSE";
    /// `HANGUPCAUSE(…,ast)`: the Q.850 cause Asterisk translated it to,
    /// which a stopped call hangs up with (486 → 17, the caller hears busy).
    pub const HANGUP_CAUSE: &str = "PB_HANGUP_CAUSE";
    /// Scratch: the channels `HANGUPCAUSE_KEYS()` lists.
    pub const CAUSE_CHANNELS: &str = "PB_CAUSE_CHANNELS";
}

/// The label an action jumps to after attempt `i` (0-based) of `count`.
fn action_label(action: FailoverAction, i: usize, count: usize) -> String {
    match action {
        FailoverAction::Stop => "stop".into(),
        FailoverAction::NextTrunk if i + 1 < count => format!("trunk{}", i + 2),
        FailoverAction::NextTrunk => "exhausted".into(),
    }
}

/// One attempt: clear the causes of earlier attempts (Asterisk never does,
/// reference of `HangupCauseClear`), dial, read the SIP code of the answer
/// from `HANGUPCAUSE(<channel>,tech)`, then jump as `policy` says. Codes are
/// tested before classes; `no_answer` and `unreachable` are known when the
/// plan is made, so they are plain jumps. A non-SIP trunk's `BUSY` counts
/// as 486.
fn attempt(p: &mut Priorities, policy: &FailoverPolicy, trunk: &TrunkDial, timeout: &str, i: usize, count: usize) {
    use attempt_vars::*;
    let target = |result: AttemptResult| action_label(policy.decide(result).unwrap_or(FailoverAction::Stop), i, count);
    let n = i + 1;
    p.labelled(&format!("trunk{n}"), "HangupCauseClear()");
    convert_numbers(p, trunk);
    p.add(format!("Dial({}{timeout})", trunk.dial));
    for status in [DialStatus::Answer, DialStatus::Cancel] {
        p.add(format!("GotoIf($[\"${{DIALSTATUS}}\" = \"{}\"]?done)", status.as_str()));
    }
    p.add(format!("Set({SIP_CODE}=)"));
    p.add(format!("Set({HANGUP_CAUSE}=)"));
    p.add(format!("GotoIf($[\"${{DIALSTATUS}}\" = \"{}\"]?{})", DialStatus::NoAnswer.as_str(), target(AttemptResult::NoAnswer)));
    p.add(format!("GotoIf($[\"${{HANGUPCAUSE_KEYS()}}\" = \"\"]?trunk{n}_nosip)"));
    p.add(format!("Set({CAUSE_CHANNELS}=${{HANGUPCAUSE_KEYS()}})"));
    p.add(format!("Set({CAUSE_CHANNELS}=${{SHIFT({CAUSE_CHANNELS})}})"));
    p.add(format!("Set({TECH_CAUSE}=${{HANGUPCAUSE(${{{CAUSE_CHANNELS}}},tech)}})"));
    p.add(format!("Set({HANGUP_CAUSE}=${{HANGUPCAUSE(${{{CAUSE_CHANNELS}}},ast)}})"));
    p.add(format!("Set({SIP_CODE}=${{IF($[\"${{{TECH_CAUSE}:0:3}}\" = \"SIP\"]?${{{TECH_CAUSE}:4:3}})}})"));
    p.add(format!("GotoIf($[\"${{{SIP_CODE}}}\" = \"\"]?trunk{n}_nosip)"));
    for (outcome, action) in policy.rules() {
        let label = action_label(action, i, count);
        match outcome {
            FailureOutcome::Code(code) => p.add(format!("GotoIf($[\"${{{SIP_CODE}}}\" = \"{code}\"]?{label})")),
            FailureOutcome::Class(class) => p.add(format!("GotoIf($[\"${{{SIP_CODE}:0:1}}\" = \"{class}\"]?{label})")),
            FailureOutcome::NoAnswer | FailureOutcome::Unreachable => continue,
        };
    }
    p.add(format!("Goto({})", action_label(policy.otherwise, i, count)));
    p.labelled(
        &format!("trunk{n}_nosip"),
        format!("GotoIf($[\"${{DIALSTATUS}}\" = \"{}\"]?{})", DialStatus::Busy.as_str(), target(AttemptResult::Sip(486))),
    );
    p.add(format!("Goto({})", target(AttemptResult::Unreachable)));
}

/// One trunk of the subroutine: its dial string and the conversions its
/// number plan asks for.
struct TrunkDial {
    dial: String,
    trunk_id: TrunkId,
    number: Option<OutboundFormat>,
    caller_id: Option<OutboundFormat>,
    /// Another trunk of the outcall converts the caller ID: restore it.
    restore_caller_id: bool,
}

/// The trunk's formats, as `Gosub`s into its format subroutines: the called
/// number into `PB_NUMBER` (which the dial string then uses), the caller ID
/// number from the one the route set (kept in `PB_CALLER_NUM`, so a trunk
/// never converts what the previous one converted).
fn convert_numbers(p: &mut Priorities, trunk: &TrunkDial) {
    use number_vars::*;
    if let Some(format) = trunk.number {
        p.add("Set(GOSUB_RETVAL=)");
        p.add(format!("GosubIf($[\"${{ARG1}}\" != \"\"]?{},${{ARG1}},1)", number_format_context(trunk.trunk_id, format)));
        p.add(format!("Set({NUMBER}=${{GOSUB_RETVAL}})"));
    }
    match trunk.caller_id {
        Some(format) => {
            p.add("Set(GOSUB_RETVAL=)");
            p.add(format!("Set({CALLER_DIGITS}=${{FILTER({DIALLED_NUMBER_CHARS},${{{CALLER_NUM}}})}})"));
            p.add(format!("GosubIf($[\"${{{CALLER_DIGITS}}}\" != \"\"]?{},${{{CALLER_DIGITS}}},1)", number_format_context(trunk.trunk_id, format)));
            p.add(format!("Set(CALLERID(num)=${{IF($[\"${{{CALLER_DIGITS}}}\" = \"\"]?${{{CALLER_NUM}}}:${{GOSUB_RETVAL}})}})"));
        }
        None if trunk.restore_caller_id => {
            p.add(format!("Set(CALLERID(num)=${{{CALLER_NUM}}})"));
        }
        None => {}
    }
}

/// The usable trunks of an outcall as the subroutine dials them.
fn trunk_dials(s: &Snapshot, outcall: &Outcall) -> Vec<TrunkDial> {
    let mut dials: Vec<TrunkDial> = outcall
        .trunks
        .iter()
        .filter_map(|r| {
            let trunk = s.trunk(r.id)?;
            let (number, caller_id) = outbound_plan(trunk).map(|(n, c, _)| (n, c)).unwrap_or_default();
            let target = if number.is_some() { format!("${{{}}}", number_vars::NUMBER) } else { "${ARG1}".into() };
            let dial = trunk_dial_string(s, trunk, &target).ok()?;
            Some(TrunkDial { dial, trunk_id: trunk.id, number, caller_id, restore_caller_id: false })
        })
        .collect();
    let any_caller_id = dials.iter().any(|d| d.caller_id.is_some());
    for d in &mut dials {
        d.restore_caller_id = any_caller_id;
    }
    dials
}

fn subroutine(s: &Snapshot, outcall: &Outcall) -> PlannedContext {
    let mut p = Priorities::new();
    p.add(format!("NoOp(outcall {}: trunks in failover order)", outcall.id));
    if let Some(sub) = &outcall.preprocess_subroutine {
        p.add(format!("Gosub({},s,1)", escape::context_name(sub)));
    }
    let timeout = outcall.ring_time.filter(|t| *t > 0).map(|t| format!(",{t}")).unwrap_or_default();
    let dials = trunk_dials(s, outcall);
    if dials.iter().any(|d| d.caller_id.is_some()) {
        p.add(format!("Set({}=${{CALLERID(num)}})", number_vars::CALLER_NUM));
    }
    for (i, dial) in dials.iter().enumerate() {
        attempt(&mut p, &outcall.failover_policy, dial, &timeout, i, dials.len());
    }
    p.labelled("exhausted", "Hangup(34)");
    p.labelled("stop", format!("GotoIf($[\"${{{}}}\" = \"\"]?done)", attempt_vars::HANGUP_CAUSE));
    p.add(format!("Hangup(${{{}}})", attempt_vars::HANGUP_CAUSE));
    p.labelled("done", format!("GotoIf($[\"${{DIALSTATUS}}\" = \"{}\"]?busy)", DialStatus::Busy.as_str()));
    p.add("Hangup()");
    p.labelled("busy", "Hangup(17)");
    PlannedContext {
        name: format!("{SUBROUTINE_PREFIX}{}", outcall.id),
        kind: None,
        includes: vec![],
        extensions: vec![PlannedExtension { name: "s".into(), role: ExtensionRole::OutcallSubroutine { outcall_id: outcall.id }, priorities: p.0 }],
    }
}
