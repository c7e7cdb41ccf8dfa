//! `patchbay doctor` (and `GET /api/patchbay/1.0/doctor`): checks an Asterisk
//! before Patchbay drives it, over AMI only.
//!
//! [`observe`] asks Asterisk (every question harmless: reads, `ListCommands`,
//! CLI `show` commands); [`diagnose`] turns the answers into [`Finding`]s, a
//! pure function so every rule is unit-tested. What the checks rely on:
//! - `ListCommands` lists only the actions the logged-in user may run, and CLI
//!   `manager show user NAME` prints its read and write classes (needs the
//!   `command` class; without it the write classes are inferred from the
//!   actions).
//! - `GetConfig` of a base file returns the categories of the files it
//!   includes, in place, read from disk at that moment. So `pjsip.conf`
//!   includes `patchbay-pjsip.conf` exactly when the latter's categories
//!   appear, in order, inside the former's; what remains is the admin's own.
//! - AMI 22 has no transport list action: CLI `pjsip show transports`.

use crate::ami::config_writer::{Section, get_config};
use crate::ami::{AmiClient, AmiError, AmiMessage, AmiUrl, ClientOptions};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The classes Patchbay's AMI user needs, for reading (events) and writing
/// (actions) alike (README, "Connecting an Asterisk").
pub const NEEDED_CLASSES: [&str; 5] = ["system", "config", "call", "command", "originate"];

/// Each base file and the file of Patchbay's it must include.
pub const INCLUDES: [(&str, &str); 3] = [
    ("pjsip.conf", "patchbay-pjsip.conf"),
    ("extensions.conf", "patchbay-extensions.conf"),
    ("iax.conf", "patchbay-iax.conf"),
];

/// PJSIP object types Asterisk allows once, whatever the section's name.
const PJSIP_SINGLETONS: [&str; 2] = ["global", "system"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    /// Could not be checked, or works but deserves a look.
    Warning,
    /// Patchbay will not work right until it is fixed.
    Problem,
}

/// One check's outcome, in the admin's words, with the exact lines to add
/// (or the sections to remove) when something is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable name of the check: `ami`, `permissions`, `include`,
    /// `collisions`, `transports`, `modules`.
    pub check: &'static str,
    pub severity: Severity,
    pub message: String,
    pub fix: Vec<String>,
}

impl Finding {
    fn new(check: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Self { check, severity, message: message.into(), fix: Vec::new() }
    }

    fn with_fix(mut self, lines: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.fix = lines.into_iter().map(Into::into).collect();
        self
    }
}

/// One base file and Patchbay's, as Asterisk answered for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileObservation {
    pub base: &'static str,
    pub patchbay: &'static str,
    /// `GetConfig` of the base file, or Asterisk's refusal.
    pub base_sections: Result<Vec<Section>, String>,
    /// `GetConfig` of Patchbay's file; `None` when it is not there (yet).
    pub patchbay_sections: Option<Vec<Section>>,
    /// What Patchbay will write (rendered from its database), when known;
    /// collisions are checked against it, else against `patchbay_sections`.
    pub desired: Option<Vec<Section>>,
}

/// What Asterisk answered, gathered by [`observe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observations {
    pub user: String,
    /// `CoreSettings`' `AsteriskVersion`.
    pub version: Option<String>,
    /// The actions `ListCommands` offered this user.
    pub allowed_actions: BTreeSet<String>,
    /// `manager show user USER`, when the user may run CLI commands.
    pub manager_user: Option<Vec<String>>,
    pub files: Vec<FileObservation>,
    /// `pjsip show transports`, when the user may run CLI commands.
    pub transports: Option<Vec<String>>,
    /// `ModuleCheck` for each of [`MODULES`], in that order.
    pub modules: Vec<ModuleState>,
}

/// The Asterisk modules what Patchbay writes and does relies on: the module,
/// what needs it (in the admin's words), and whether Patchbay's core work
/// (trunks, routes, DIDs) fails without it or only one operation does.
pub const MODULES: &[(&str, &str, bool)] = &[
    ("res_pjsip.so", "SIP trunks", true),
    ("chan_pjsip.so", "SIP calls", true),
    ("pbx_config.so", "the dialplan Patchbay writes to extensions.conf", true),
    ("app_dial.so", "outgoing routes (Dial)", true),
    ("res_pjsip_outbound_registration.so", "trunks that register", true),
    ("res_pjsip_endpoint_identifier_ip.so", "trunks identified by their address", true),
    ("func_hangupcause.so", "failover by SIP response (HANGUPCAUSE, HangupCauseClear)", true),
    ("res_pjsip_maintenance.so", "draining a trunk (Asterisk 22.10 and later)", false),
    ("res_pjsip_history.so", "a registration's SIP response code", false),
    ("chan_iax2.so", "IAX trunks", false),
    ("func_dialplan.so", "trunk number plans: a DID refused when no incall has it (DIALPLAN_EXISTS)", false),
    ("func_cut.so", "trunk number plans: a DID read from the To, P-Preferred-Identity or Diversion header (CUT)", false),
    ("res_pjsip_header_funcs.so", "SIP headers read or added by the dialplan (PJSIP_HEADER)", false),
];

/// What `ModuleCheck` said of one module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleState {
    Loaded,
    NotLoaded,
    /// Asterisk answered something else (no `system` class, for one).
    Unknown(String),
}

/// Asks Asterisk everything [`diagnose`] needs. `desired` maps Patchbay's
/// file names to what it will write, when a database is at hand.
pub async fn observe(client: &AmiClient, user: &str, desired: &BTreeMap<&str, Vec<Section>>) -> Observations {
    let version = client
        .send("CoreSettings", AmiMessage::new())
        .await
        .ok()
        .and_then(|answer| answer.response.get("AsteriskVersion").map(str::to_owned));
    let allowed_actions = match client.send("ListCommands", AmiMessage::new()).await {
        Ok(answer) => answer
            .response
            .headers
            .iter()
            .map(|(action, _)| action.clone())
            .filter(|action| action != "Response" && action != "ActionID")
            .collect(),
        Err(_) => BTreeSet::new(),
    };
    let manager_user = client.command(&format!("manager show user {user}")).await.ok();
    let mut files = Vec::new();
    for (base, patchbay) in INCLUDES {
        let base_sections = get_config(client, base).await.map_err(|error| match error {
            AmiError::ActionFailed { message, .. } => message,
            other => other.to_string(),
        });
        let patchbay_sections = get_config(client, patchbay).await.ok();
        files.push(FileObservation { base, patchbay, base_sections, patchbay_sections, desired: desired.get(patchbay).cloned() });
    }
    let transports = client.command("pjsip show transports").await.ok();
    let mut modules = Vec::with_capacity(MODULES.len());
    for (module, ..) in MODULES {
        modules.push(match client.send("ModuleCheck", AmiMessage::new().with("Module", *module)).await {
            Ok(_) => ModuleState::Loaded,
            Err(AmiError::ActionFailed { message, .. }) if message.to_ascii_lowercase().contains("not loaded") => ModuleState::NotLoaded,
            Err(AmiError::ActionFailed { message, .. }) => ModuleState::Unknown(message),
            Err(other) => ModuleState::Unknown(other.to_string()),
        });
    }
    Observations { user: user.to_owned(), version, allowed_actions, manager_user, files, transports, modules }
}

/// Logs in with `url` and runs every check (`patchbay doctor`).
pub async fn check_url(url: AmiUrl) -> Vec<Finding> {
    let user = url.credentials.username.clone();
    match AmiClient::connect(url, ClientOptions::default()).await {
        Ok(client) => diagnose(&observe(&client, &user, &BTreeMap::new()).await),
        Err(AmiError::AuthenticationFailed { message }) => vec![login_refused(&user, &message)],
        Err(error) => vec![unreachable(&error.to_string())],
    }
}

/// Every finding, in the order an admin fixes things.
pub fn diagnose(seen: &Observations) -> Vec<Finding> {
    let mut findings = vec![Finding::new(
        "ami",
        Severity::Ok,
        format!(
            "Logged in to Asterisk {} over AMI as `{}`.",
            seen.version.as_deref().unwrap_or("(version hidden: no `system` class)"),
            seen.user
        ),
    )];
    findings.push(check_permissions(&seen.user, seen.manager_user.as_deref(), &seen.allowed_actions));
    for file in &seen.files {
        findings.extend(check_file(file));
    }
    findings.push(check_transports(seen.transports.as_deref(), &seen.files));
    findings.extend(check_modules(&seen.modules));
    findings
}

/// One finding for the modules: missing required ones are a problem, missing
/// optional ones a warning naming what will not work, with the
/// `modules.conf` lines that load them.
fn check_modules(states: &[ModuleState]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut unknown = Vec::new();
    for ((module, needed_for, required), state) in MODULES.iter().zip(states) {
        match state {
            ModuleState::Loaded => {}
            ModuleState::NotLoaded => {
                let severity = if *required { Severity::Problem } else { Severity::Warning };
                findings.push(
                    Finding::new("modules", severity, format!("Asterisk has not loaded {module}, which {needed_for} needs. Add to modules.conf, then restart Asterisk:"))
                        .with_fix([format!("load = {module}")]),
                );
            }
            ModuleState::Unknown(answer) => unknown.push(format!("{module} ({answer})")),
        }
    }
    if !unknown.is_empty() {
        findings.push(Finding::new("modules", Severity::Warning, format!("Could not check the modules {}: the AMI user needs the `system` class.", unknown.join(", "))));
    }
    if findings.is_empty() {
        findings.push(Finding::new("modules", Severity::Ok, format!("The {} modules Patchbay relies on are loaded.", MODULES.len())));
    }
    findings
}

/// The finding when AMI cannot be reached.
pub fn unreachable(reason: &str) -> Finding {
    Finding::new("ami", Severity::Problem, format!("Cannot reach Asterisk's AMI: {reason}. Check the host and port, and that manager.conf has:"))
        .with_fix(["[general]", "enabled = yes", "port = 5038", "bindaddr = 127.0.0.1"])
}

/// The finding when Asterisk refuses the user or secret.
pub fn login_refused(user: &str, message: &str) -> Finding {
    Finding::new(
        "ami",
        Severity::Problem,
        format!("Asterisk refused the AMI login of `{user}` ({message}). manager.conf needs this user, with the secret given to Patchbay:"),
    )
    .with_fix([
        format!("[{user}]"),
        "secret = THE SECRET IN --ami".to_owned(),
        format!("read = {}", NEEDED_CLASSES.join(",")),
        format!("write = {}", NEEDED_CLASSES.join(",")),
        "; then: asterisk -rx 'manager reload'".to_owned(),
    ])
}

/// Whether nothing needs fixing.
pub fn all_good(findings: &[Finding]) -> bool {
    findings.iter().all(|finding| finding.severity != Severity::Problem)
}

/// The findings as the CLI prints them.
pub fn to_text(findings: &[Finding]) -> String {
    let mut text = String::new();
    for finding in findings {
        let label = match finding.severity {
            Severity::Ok => "ok     ",
            Severity::Warning => "WARNING",
            Severity::Problem => "PROBLEM",
        };
        text.push_str(&format!("{label}  {}\n", finding.message));
        for line in &finding.fix {
            text.push_str(&format!("             {line}\n"));
        }
    }
    let problems = findings.iter().filter(|f| f.severity == Severity::Problem).count();
    text.push_str(&match problems {
        0 => "Asterisk is ready for Patchbay.\n".to_owned(),
        n => format!("{n} problem(s) to fix before Patchbay can drive this Asterisk.\n"),
    });
    text
}

/// The actions that need exactly one class each: seeing one in
/// `ListCommands` proves that write class.
const CLASS_WITNESSES: [(&str, &str); 5] = [
    ("system", "DialplanExtensionAdd"),
    ("config", "UpdateConfig"),
    ("call", "Redirect"),
    ("command", "Command"),
    ("originate", "Originate"),
];

fn check_permissions(user: &str, manager_user: Option<&[String]>, allowed_actions: &BTreeSet<String>) -> Finding {
    let classes_of = |prefix: &str| -> Option<BTreeSet<String>> {
        let line = manager_user?.iter().find_map(|line| line.trim().strip_prefix(prefix))?;
        Some(line.split(',').map(|class| class.trim().to_owned()).filter(|class| !class.is_empty()).collect())
    };
    let missing = |classes: &BTreeSet<String>| -> Vec<&str> {
        if classes.contains("all") {
            return Vec::new();
        }
        NEEDED_CLASSES.into_iter().filter(|class| !classes.contains(*class)).collect()
    };
    let (missing_read, missing_write, read_known) = match (classes_of("read perm:"), classes_of("write perm:")) {
        (Some(read), Some(write)) => (missing(&read), missing(&write), true),
        _ => {
            let write = CLASS_WITNESSES
                .into_iter()
                .filter(|(_, action)| allowed_actions.contains(*action))
                .map(|(class, _)| class.to_owned())
                .collect();
            (Vec::new(), missing(&write), false)
        }
    };
    let needed = NEEDED_CLASSES.join(",");
    let fix = [
        format!("; manager.conf, in the section [{user}]:"),
        format!("read = {needed}"),
        format!("write = {needed}"),
        "; then: asterisk -rx 'manager reload'".to_owned(),
    ];
    if missing_read.is_empty() && missing_write.is_empty() {
        return if read_known {
            Finding::new("permissions", Severity::Ok, format!("The AMI user `{user}` has the classes Patchbay needs ({needed})."))
        } else {
            Finding::new(
                "permissions",
                Severity::Warning,
                format!("The AMI user `{user}` may run the actions Patchbay needs; its read classes cannot be checked."),
            )
            .with_fix(fix)
        };
    }
    let mut gaps = Vec::new();
    if !missing_read.is_empty() {
        gaps.push(format!("read {}", missing_read.join(",")));
    }
    if !missing_write.is_empty() {
        gaps.push(format!("write {}", missing_write.join(",")));
    }
    Finding::new(
        "permissions",
        Severity::Problem,
        format!("The AMI user `{user}` lacks the class(es) {} that Patchbay needs.", gaps.join("; ")),
    )
    .with_fix(fix)
}

/// A section's `type` (PJSIP), else empty.
fn section_type(section: &Section) -> &str {
    section.lines.iter().find(|(key, _)| key.trim() == "type").map(|(_, value)| value.trim()).unwrap_or_default()
}

fn same_section(a: &Section, b: &Section) -> bool {
    a.name.trim() == b.name.trim()
        && a.lines.len() == b.lines.len()
        && a.lines.iter().zip(&b.lines).all(|((ka, va), (kb, vb))| ka.trim() == kb.trim() && va.trim() == vb.trim())
}

/// The sections of a tenant (endpoint, aor, auth, identify, registration)
/// live in `patchbay-pjsip_<tenant>.conf`. An Asterisk set up with the
/// older line `#tryinclude patchbay-pjsip.conf` includes the main file (so
/// the include check passes) but none of these: their sections Patchbay
/// means to have are then missing from the base read-back.
fn tenant_files_not_loaded(file: &FileObservation, main_included: bool) -> Option<Finding> {
    let desired = file.desired.as_deref()?;
    let base = file.base_sections.as_ref().ok()?;
    if file.base != "pjsip.conf" || !main_included {
        return None;
    }
    let tenant_types = ["endpoint", "aor", "auth", "identify", "registration"];
    let tenants_sections: Vec<&Section> = desired.iter().filter(|ours| tenant_types.contains(&section_type(ours))).collect();
    // None loaded, not some: a change still pending leaves a few missing.
    let loaded = |ours: &&Section| base.iter().any(|seen| seen.name.trim() == ours.name.trim() && section_type(seen) == section_type(ours));
    let missing = tenants_sections.len();
    (missing > 0 && !tenants_sections.iter().any(loaded)).then(|| {
        Finding::new(
            "include",
            Severity::Problem,
            format!(
                "pjsip.conf includes patchbay-pjsip.conf but not the tenants' files (patchbay-pjsip_<tenant>.conf): none of Patchbay's {missing} trunk sections is loaded. Replace the include line at the end of pjsip.conf with this one, then reload Asterisk:"
            ),
        )
        .with_fix(["#tryinclude patchbay-pjsip*.conf"])
    })
}

/// Where `inner` appears, in order and contiguous, inside `outer`.
fn find_run(outer: &[Section], inner: &[Section]) -> Option<usize> {
    if inner.is_empty() || inner.len() > outer.len() {
        return None;
    }
    (0..=outer.len() - inner.len()).find(|&start| outer[start..start + inner.len()].iter().zip(inner).all(|(a, b)| same_section(a, b)))
}

fn check_file(file: &FileObservation) -> Vec<Finding> {
    // PJSIP comes as one file per tenant besides the main one
    // (`sync::units`): one glob line includes them all.
    // So does the dialplan, whose main file is then empty.
    let include_line = match file.patchbay {
        "patchbay-pjsip.conf" => "#tryinclude patchbay-pjsip*.conf".to_string(),
        "patchbay-extensions.conf" => "#tryinclude patchbay-extensions*.conf".to_string(),
        other => format!("#tryinclude {other}"),
    };
    let base_sections = match &file.base_sections {
        Ok(sections) => sections,
        Err(message) => {
            return vec![
                Finding::new(
                    "include",
                    Severity::Problem,
                    format!("Asterisk cannot read {} ({message}). Create it in Asterisk's config directory with at least:", file.base),
                )
                .with_fix([include_line]),
            ];
        }
    };
    let own = file.patchbay_sections.as_deref().unwrap_or_default();
    let included_at = find_run(base_sections, own);
    // An empty main file (the dialplan's: every context is in a tenant's
    // file) shows nothing; what Patchbay means to have does.
    let desired = file.desired.as_deref().unwrap_or_default();
    let tenants_included = own.is_empty() && desired.iter().any(|ours| base_sections.iter().any(|seen| same_section(seen, ours)));
    let include = match included_at {
        Some(_) => Finding::new("include", Severity::Ok, format!("{} includes {}.", file.base, file.patchbay)),
        None if tenants_included => Finding::new("include", Severity::Ok, format!("{} includes Patchbay's files.", file.base)),
        None => {
            let (severity, message) = if own.is_empty() && desired.is_empty() && file.patchbay == "patchbay-extensions.conf" {
                (
                    Severity::Warning,
                    format!(
                        "Patchbay writes every dialplan context in its tenant's file (patchbay-extensions_<tenant>.conf); without its database this check cannot tell whether {} includes them. Make sure {} ends with:",
                        file.base, file.base
                    ),
                )
            } else if own.is_empty() && desired.is_empty() {
                (
                    Severity::Warning,
                    format!(
                        "{} is not written yet (Patchbay writes it when it first applies), so whether {} includes it cannot be seen. Make sure {} ends with:",
                        file.patchbay, file.base, file.base
                    ),
                )
            } else {
                (
                    Severity::Problem,
                    format!(
                        "{} does not include {}: Asterisk never loads what Patchbay writes. Add this line at the end of {} (in Asterisk's config directory, usually /etc/asterisk), then reload Asterisk:",
                        file.base, file.patchbay, file.base
                    ),
                )
            };
            Finding::new("include", severity, message).with_fix([include_line])
        }
    };
    let mut findings = vec![include];
    if let Some(missing) = tenant_files_not_loaded(file, included_at.is_some()) {
        findings.push(missing);
    }
    let admins_sections: Vec<&Section> = match included_at {
        Some(start) => base_sections[..start].iter().chain(&base_sections[start + own.len()..]).collect(),
        None => base_sections.iter().collect(),
    };
    // A tenant's object exactly as Patchbay writes it is Patchbay's own,
    // from that tenant's file (`patchbay-pjsip_<tenant>.conf`), not the
    // admin's. Shared sections (transports, `[global]`) stay in the main
    // file, whose run is taken out above.
    let tenant_types = ["endpoint", "aor", "auth", "identify", "registration"];
    let admins_sections: Vec<&Section> = match file.desired.as_deref() {
        Some(desired) if file.base == "pjsip.conf" => admins_sections
            .into_iter()
            .filter(|admin| !(tenant_types.contains(&section_type(admin)) && desired.iter().any(|ours| same_section(admin, ours))))
            .collect(),
        // Every context comes from a tenant's file.
        Some(desired) if file.base == "extensions.conf" => {
            admins_sections.into_iter().filter(|admin| !desired.iter().any(|ours| same_section(admin, ours))).collect()
        }
        _ => admins_sections,
    };
    let patchbay_sections = file.desired.as_deref().unwrap_or(own);
    let is_pjsip = file.base == "pjsip.conf";
    let collides = |admin: &Section, ours: &Section| {
        if !is_pjsip {
            return admin.name.trim() == ours.name.trim();
        }
        let (admin_type, our_type) = (section_type(admin), section_type(ours));
        admin_type == our_type && (admin.name.trim() == ours.name.trim() || PJSIP_SINGLETONS.contains(&our_type))
    };
    let mut collisions: Vec<String> = Vec::new();
    for admin in admins_sections {
        if let Some(ours) = patchbay_sections.iter().find(|ours| collides(admin, ours)) {
            let described = match section_type(admin) {
                "" => format!("[{}]", admin.name),
                kind => format!("[{}] (type = {kind})", admin.name),
            };
            let note = if ours.name == admin.name { String::new() } else { format!(", Patchbay writes [{}]", ours.name) };
            collisions.push(format!("{described}{note}"));
        }
    }
    collisions.dedup();
    if collisions.is_empty() {
        findings.push(Finding::new("collisions", Severity::Ok, format!("No section of {} collides with Patchbay's.", file.base)));
    } else {
        findings.push(
            Finding::new(
                "collisions",
                Severity::Problem,
                format!(
                    "{} defines what Patchbay also writes in {}; Asterisk would load both. Remove or rename these sections in {} (manage them in Patchbay instead):",
                    file.base, file.patchbay, file.base
                ),
            )
            .with_fix(collisions),
        );
    }
    findings
}

/// The transport names in `pjsip show transports` (its header row excluded).
pub fn parse_transports(output: &[String]) -> Vec<String> {
    crate::ami::dialplan::transport_names(output).into_iter().collect()
}

fn check_transports(output: Option<&[String]>, files: &[FileObservation]) -> Finding {
    let Some(output) = output else {
        return Finding::new(
            "transports",
            Severity::Warning,
            "Cannot list PJSIP transports (`pjsip show transports` needs the `command` class).",
        );
    };
    let loaded = parse_transports(output);
    let pjsip = files.iter().find(|file| file.base == "pjsip.conf");
    let ours = pjsip.and_then(|file| file.desired.as_deref().or(file.patchbay_sections.as_deref())).unwrap_or_default();
    let restart = "; then restart Asterisk: PJSIP binds transports only when it starts";
    let used: BTreeSet<&str> = ours
        .iter()
        .filter(|section| section_type(section) != "transport")
        .flat_map(|section| section.lines.iter().filter(|(key, _)| key.trim() == "transport").map(|(_, value)| value.trim()))
        .collect();
    let missing: Vec<&str> = used.into_iter().filter(|name| !loaded.iter().any(|t| t == name)).collect();
    if !missing.is_empty() {
        let ours_define = |name: &str| ours.iter().any(|s| s.name == name && section_type(s) == "transport");
        let mut fix: Vec<String> = Vec::new();
        for name in &missing {
            if !ours_define(name) {
                fix.extend([format!("[{name}]"), "type = transport".into(), "protocol = udp".into(), "bind = 0.0.0.0:5060".into()]);
            }
        }
        fix.push(restart.into());
        return Finding::new(
            "transports",
            Severity::Problem,
            format!(
                "Patchbay's SIP endpoints use the transport(s) {}, which Asterisk has not loaded. Define them (in pjsip.conf, or in Patchbay's transports):",
                missing.join(", ")
            ),
        )
        .with_fix(fix);
    }
    if loaded.is_empty() {
        return Finding::new(
            "transports",
            Severity::Problem,
            "Asterisk has no PJSIP transport: SIP trunks can neither send nor receive. Add one to pjsip.conf (or in Patchbay's transports):",
        )
        .with_fix(["[transport-udp]", "type = transport", "protocol = udp", "bind = 0.0.0.0:5060", restart]);
    }
    Finding::new("transports", Severity::Ok, format!("PJSIP transports loaded: {}.", loaded.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &str, lines: &[(&str, &str)]) -> Section {
        Section { name: name.into(), lines: lines.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    const ALL: &str = "system,call,log,verbose,command,agent,user,config,dtmf,reporting,cdr,dialplan,originate,agi,cc,aoc,test,security,message,all";

    fn manager_user(read: &str, write: &str) -> Vec<String> {
        lines(&format!("\nusername: patchbay\nsecret: <Set>\nACL: no\nread perm: {read}\nwrite perm: {write}\ndisplayconnects: no\n"))
    }

    fn transport_udp() -> Section {
        section("transport-udp", &[("type", "transport"), ("protocol", "udp"), ("bind", "127.0.0.1:5060")])
    }

    fn ours() -> Vec<Section> {
        vec![
            section("global", &[("type", "global"), ("user_agent", "Patchbay")]),
            section("system", &[("type", "system")]),
            section("trunk-a", &[("type", "endpoint"), ("transport", "transport-udp")]),
            section("trunk-a", &[("type", "aor")]),
        ]
    }

    fn pjsip(base: Vec<Section>, own: Option<Vec<Section>>) -> FileObservation {
        FileObservation { base: "pjsip.conf", patchbay: "patchbay-pjsip.conf", base_sections: Ok(base), patchbay_sections: own, desired: None }
    }

    fn severity_of<'a>(findings: &'a [Finding], check: &str) -> Vec<(Severity, &'a [String])> {
        findings.iter().filter(|f| f.check == check).map(|f| (f.severity, f.fix.as_slice())).collect()
    }

    #[test]
    fn an_included_file_is_found_in_place_and_the_rest_is_the_admins() {
        let mut base = vec![transport_udp()];
        base.extend(ours());
        base.push(section("after", &[("type", "aor")]));
        let findings = check_file(&pjsip(base, Some(ours())));
        assert_eq!(severity_of(&findings, "include"), vec![(Severity::Ok, &[][..])]);
        assert_eq!(severity_of(&findings, "collisions"), vec![(Severity::Ok, &[][..])]);
    }

    #[test]
    fn a_missing_include_says_the_exact_line_to_add() {
        let findings = check_file(&pjsip(vec![transport_udp()], Some(ours())));
        assert_eq!(
            severity_of(&findings, "include"),
            vec![(Severity::Problem, &["#tryinclude patchbay-pjsip*.conf".to_owned()][..])]
        );
        assert!(findings[0].message.starts_with("pjsip.conf does not include patchbay-pjsip.conf"), "{findings:?}");
    }

    #[test]
    fn the_old_include_line_loads_the_main_file_but_not_the_tenants_files() {
        // Main file: the shared sections; the tenant's trunk is in its own file.
        let main = vec![ours()[0].clone(), ours()[1].clone()];
        let mut old_line = pjsip([vec![transport_udp()], main.clone()].concat(), Some(main.clone()));
        old_line.desired = Some(ours());
        let findings = check_file(&old_line);
        assert_eq!(
            severity_of(&findings, "include"),
            vec![(Severity::Ok, &[][..]), (Severity::Problem, &["#tryinclude patchbay-pjsip*.conf".to_owned()][..])]
        );
        assert!(findings[1].message.contains("none of Patchbay's 2 trunk sections"), "{findings:?}");

        let mut glob_line = pjsip([vec![transport_udp()], ours()].concat(), Some(main));
        glob_line.desired = Some(ours());
        assert_eq!(severity_of(&check_file(&glob_line), "include"), vec![(Severity::Ok, &[][..])]);
    }

    #[test]
    fn a_file_patchbay_has_not_written_yet_is_a_warning_not_a_problem() {
        for own in [None, Some(vec![])] {
            let findings = check_file(&pjsip(vec![transport_udp()], own));
            assert_eq!(severity_of(&findings, "include")[0].0, Severity::Warning);
        }
    }

    #[test]
    fn an_included_file_differing_from_patchbays_copy_is_not_taken_for_the_include() {
        let mut stale = ours();
        stale[0].lines[1].1 = "Other".into();
        let mut base = vec![transport_udp()];
        base.extend(stale);
        let findings = check_file(&pjsip(base, Some(ours())));
        assert_eq!(severity_of(&findings, "include")[0].0, Severity::Problem);
    }

    #[test]
    fn a_base_transport_named_like_patchbays_collides_but_an_aor_named_like_an_endpoint_does_not() {
        let mut desired = ours();
        desired.push(transport_udp());
        let base = vec![transport_udp(), section("trunk-a", &[("type", "identify")]), section("other", &[("type", "global")])];
        let mut file = pjsip(base, None);
        file.desired = Some(desired);
        let findings = check_file(&file);
        assert_eq!(
            severity_of(&findings, "collisions"),
            vec![(
                Severity::Problem,
                &["[transport-udp] (type = transport)".to_owned(), "[other] (type = global), Patchbay writes [global]".to_owned()][..]
            )]
        );
    }

    #[test]
    fn dialplan_contexts_collide_by_name() {
        let file = FileObservation {
            base: "extensions.conf",
            patchbay: "patchbay-extensions.conf",
            base_sections: Ok(vec![section("general", &[("static", "yes")]), section("from-trunk", &[("exten", "_X.,1,NoOp()")])]),
            patchbay_sections: None,
            desired: Some(vec![section("from-trunk", &[("exten", "_X.,1,Dial(PJSIP/a)")])]),
        };
        let findings = check_file(&file);
        assert_eq!(severity_of(&findings, "collisions"), vec![(Severity::Problem, &["[from-trunk]".to_owned()][..])]);
    }

    #[test]
    fn an_unreadable_base_file_is_a_problem_naming_asterisks_answer() {
        let file = FileObservation { base: "iax.conf", patchbay: "patchbay-iax.conf", base_sections: Err("Config file not found".into()), patchbay_sections: None, desired: None };
        let findings = check_file(&file);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Problem);
        assert!(findings[0].message.contains("iax.conf (Config file not found)"));
        assert_eq!(findings[0].fix, ["#tryinclude patchbay-iax.conf"]);
    }

    #[test]
    fn permissions_come_from_manager_show_user() {
        let none = BTreeSet::new();
        assert_eq!(check_permissions("patchbay", Some(&manager_user(ALL, ALL)), &none).severity, Severity::Ok);
        let exact = "system,call,command,config,originate";
        assert_eq!(check_permissions("patchbay", Some(&manager_user(exact, exact)), &none).severity, Severity::Ok);
        let finding = check_permissions("pb", Some(&manager_user("system,call", exact)), &none);
        assert_eq!(finding.severity, Severity::Problem);
        assert!(finding.message.contains("read config,command,originate"), "{}", finding.message);
        assert!(!finding.message.contains("write"), "{}", finding.message);
        assert_eq!(finding.fix[0], "; manager.conf, in the section [pb]:");
        assert_eq!(finding.fix[1], "read = system,config,call,command,originate");
        assert_eq!(finding.fix[2], "write = system,config,call,command,originate");
    }

    #[test]
    fn without_the_command_class_write_classes_come_from_list_commands() {
        let limited: BTreeSet<String> = ["GetConfig", "UpdateConfig", "DialplanExtensionAdd", "Ping"].into_iter().map(str::to_owned).collect();
        let finding = check_permissions("limited", None, &limited);
        assert_eq!(finding.severity, Severity::Problem);
        assert!(finding.message.contains("write call,command,originate"), "{}", finding.message);
        let everything: BTreeSet<String> = CLASS_WITNESSES.iter().map(|(_, action)| action.to_string()).collect();
        assert_eq!(check_permissions("p", None, &everything).severity, Severity::Warning);
    }

    const TRANSPORTS: &str = "\nTransport:  <TransportId........>  <Type>  <cos>  <tos>  <BindAddress....................>\n==========\n\nTransport:  transport-udp             udp      0      0  127.0.0.211:5060\n\nObjects found: 1\n";

    #[test]
    fn transports_are_parsed_from_the_cli_table() {
        assert_eq!(parse_transports(&lines(TRANSPORTS)), ["transport-udp"]);
        assert!(parse_transports(&lines("No objects found.\n")).is_empty());
    }

    #[test]
    fn transports_must_exist_and_cover_what_patchbays_endpoints_use() {
        let files = vec![pjsip(vec![], Some(ours()))];
        assert_eq!(check_transports(Some(&lines(TRANSPORTS)), &files).severity, Severity::Ok);
        let none = check_transports(Some(&lines("No objects found.\n")), &[]);
        assert_eq!(none.severity, Severity::Problem);
        assert_eq!(none.fix[..4], ["[transport-udp]", "type = transport", "protocol = udp", "bind = 0.0.0.0:5060"]);
        let mut other = ours();
        other[2].lines[1].1 = "transport-tcp".into();
        let missing = check_transports(Some(&lines(TRANSPORTS)), &[pjsip(vec![], Some(other))]);
        assert_eq!(missing.severity, Severity::Problem);
        assert!(missing.message.contains("transport-tcp"), "{}", missing.message);
        assert_eq!(check_transports(None, &files).severity, Severity::Warning);
    }

    #[test]
    fn the_text_report_shows_fixes_under_their_problem_and_a_verdict() {
        let findings = vec![
            Finding::new("ami", Severity::Ok, "Logged in."),
            Finding::new("include", Severity::Problem, "pjsip.conf does not include it:").with_fix(["#tryinclude patchbay-pjsip*.conf"]),
        ];
        assert!(!all_good(&findings));
        assert_eq!(
            to_text(&findings),
            "ok       Logged in.\nPROBLEM  pjsip.conf does not include it:\n             #tryinclude patchbay-pjsip*.conf\n1 problem(s) to fix before Patchbay can drive this Asterisk.\n"
        );
        assert!(all_good(&findings[..1]));
    }

    #[test]
    fn a_missing_module_names_what_needs_it_and_the_line_that_loads_it() {
        let mut states = vec![ModuleState::Loaded; MODULES.len()];
        assert_eq!(check_modules(&states)[0].severity, Severity::Ok);
        let required = MODULES.iter().position(|(module, ..)| *module == "func_hangupcause.so").unwrap();
        let optional = MODULES.iter().position(|(module, ..)| *module == "res_pjsip_history.so").unwrap();
        states[required] = ModuleState::NotLoaded;
        states[optional] = ModuleState::NotLoaded;
        let findings = check_modules(&states);
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].severity, Severity::Problem);
        assert!(findings[0].message.contains("failover by SIP response"), "{findings:?}");
        assert_eq!(findings[0].fix, ["load = func_hangupcause.so"]);
        assert_eq!(findings[1].severity, Severity::Warning);
        assert_eq!(findings[1].fix, ["load = res_pjsip_history.so"]);
        let unknown = vec![ModuleState::Unknown("Permission denied".into()); MODULES.len()];
        let findings = check_modules(&unknown);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(findings[0].message.contains("`system` class"), "{findings:?}");
    }
}