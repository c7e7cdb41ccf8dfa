//! Keeps a real Asterisk equal to the database, over AMI only.
//!
//! One task per Asterisk. Each pass renders the whole configuration from a
//! snapshot of the database and compares it with what Asterisk really has in
//! Patchbay's own files (`patchbay-*.conf`, pulled in by `#tryinclude` from
//! the base files), read back with `GetConfig` — never with an in-memory
//! cache, which is wrong after an Asterisk restart with a wiped config dir.
//! Files that differ are written and only their modules reloaded; then the
//! result is verified (objects listed by `PJSIPShow*`, priorities counted by
//! `dialplan show`). If Asterisk did not take the new configuration, the last
//! good files are written back and reloaded, and the status says why: an
//! apply is all-or-nothing from the user's view.
//!
//! A pass runs after every change (requests collapse), on every (re)connect
//! once Asterisk is fully booted, and every [`RECONCILE_EVERY`]. Nothing about
//! a pending apply is kept outside the database, so a Patchbay restart
//! re-derives it on its first pass.
//!
//! When only dialplan extensions changed (same contexts, same includes) the
//! change is applied live with `DialplanExtensionRemove`/`Add` and reported
//! applied at once; the file is brought level later, in the background
//! ([`PERSIST_DEBOUNCE`], many edits coalesced into one in-place
//! `UpdateConfig`, no reload). Asterisk rewrites the whole file for any
//! `UpdateConfig`, which on a 10 000-route dialplan costs far more than the
//! live edits. Correctness does not depend on that write:
//! - the database is the ground truth, and every pass re-derives the
//!   change from it;
//! - a reload of the dialplan is detected: `dialplan reload` (CLI) emits no
//!   AMI event, so a sentinel context ([`SENTINEL_CONTEXT`]) that exists only
//!   live (added by `DialplanExtensionAdd`, wiped by any reload) is checked
//!   every [`WATCH_EVERY`] while recent live edits exist; a `Reload` event
//!   (`module reload`) and a new AMI session count too. Then the next pass
//!   distrusts its model of the live dialplan: it reads the file
//!   (what a reload loads) and re-applies live, besides the file→database
//!   difference, every extension edited live in the last [`RELOAD_GRACE`]
//!   (persisted or not), so a reload that read the file before the deferred
//!   write cannot lose a change.

use crate::ami::config_writer::{self, Section as AmiSection};
use crate::ami::{AmiClient, AmiError, AmiMessage, AmiStatus, AmiUrl, ClientOptions};
use crate::live::Live;
use crate::store::Store;
use patchbay_shared::render::{self, ConfigFile};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

const RECONCILE_EVERY: Duration = Duration::from_secs(15);
/// After a failure that was not Asterisk refusing the config (a lost
/// connection, a timeout), the next attempt comes this soon.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(2);
/// How long to wait for a reload to show its effect before calling it failed.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(4);
/// Extension changes up to this many are applied live rather than by reload.
const INCREMENTAL_LIMIT: usize = 200;
/// A live dialplan edit waits this long for more before its file is written.
pub const PERSIST_DEBOUNCE: Duration = Duration::from_millis(1500);
/// A stream of edits puts the file write off at most this long.
const PERSIST_AT_MOST: Duration = Duration::from_secs(10);
/// Extensions edited live are re-applied after any reload seen this long
/// after their file write (a reload may have read the file just before it).
const RELOAD_GRACE: Duration = Duration::from_secs(60);
/// How often the sentinel is checked while recent live edits exist.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// A context only the live dialplan has: gone means reloaded.
pub const SENTINEL_CONTEXT: &str = "patchbay-sync-sentinel";

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AsteriskStatus {
    pub connected: bool,
    pub message: String,
    /// Endpoint names Asterisk reported after the last pass.
    pub endpoints: Vec<String>,
    /// Why the last apply failed (Asterisk refused it, or could not be
    /// reached); `None` once an apply succeeds.
    pub last_error: Option<String>,
    /// Whether Asterisk's Patchbay files equal the database (last check).
    pub in_sync: bool,
    /// Unix time (s) of the last comparison with what Asterisk has.
    pub last_check_at: Option<u64>,
    /// The last pass that changed something in Asterisk.
    pub last_apply: Option<ApplyReport>,
    /// Live dialplan edits applied whose file write is still to come.
    pub dialplan_file_pending: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ApplyReport {
    /// Unix time (s).
    pub at: u64,
    /// `full` (files written and reloaded), `incremental` (live dialplan
    /// edits) or `rolled_back`.
    pub mode: &'static str,
    pub files: Vec<String>,
    pub millis: u64,
}

/// The server's handle on "its" Asterisk (or on none).
#[derive(Clone, Default)]
pub struct AsteriskLink {
    status: Arc<Mutex<AsteriskStatus>>,
    wake: Option<mpsc::Sender<()>>,
    client: Option<AmiClient>,
    live: Live,
    /// The text of each file (named as in the config preview) of the last
    /// configuration Asterisk verifiably took; `None` until the first pass
    /// confirms one.
    applied: Arc<Mutex<Option<Texts>>>,
}

impl AsteriskLink {
    pub fn none() -> AsteriskLink {
        let link = AsteriskLink::default();
        link.update(|status| status.message = "no Asterisk connected".into());
        link
    }

    /// Starts the AMI link, the sync task and the live-status task for the
    /// Asterisk at `url`.
    pub fn start(url: &str, store: Store) -> anyhow::Result<AsteriskLink> {
        let url: AmiUrl = url.parse().map_err(|error| anyhow::anyhow!("--ami: {error}"))?;
        // Short back-off: an Asterisk that comes back must be in sync within
        // seconds, and a refused login is retried without hammering.
        let options =
            ClientOptions { min_backoff: Duration::from_millis(500), max_backoff: Duration::from_secs(2), ..ClientOptions::default() };
        let client = AmiClient::spawn(url, options);
        let (wake, woken) = mpsc::channel(1);
        let live = Live::default();
        let link = AsteriskLink {
            status: Arc::default(),
            wake: Some(wake.clone()),
            client: Some(client.clone()),
            live: live.clone(),
            applied: Arc::default(),
        };
        link.update(|status| status.message = "connecting to Asterisk".into());
        let reloaded = Arc::new(AtomicBool::new(false));
        tokio::spawn(watch_reloads(client.clone(), reloaded.clone(), wake));
        tokio::spawn(run(link.clone(), client.clone(), store, woken, reloaded));
        tokio::spawn(crate::live::run(live, client));
        Ok(link)
    }

    /// Asks the sync task to render and apply the configuration soon.
    /// Several requests in a row collapse into one apply.
    pub fn request_apply(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }

    pub fn status_json(&self) -> Value {
        json!(*self.status.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn status(&self) -> AsteriskStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What the sync task last wrote to (or found equal in) Asterisk, as
    /// preview texts; kept while Asterisk is away (it is what Asterisk had
    /// when last seen), `None` when nothing was confirmed since start.
    pub fn applied(&self) -> Option<Texts> {
        self.applied.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn client(&self) -> Option<&AmiClient> {
        self.client.as_ref()
    }

    /// Registrations, contacts and endpoint states from AMI events.
    pub fn live(&self) -> &Live {
        &self.live
    }

    fn update(&self, change: impl FnOnce(&mut AsteriskStatus)) {
        change(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// One of Patchbay's files in Asterisk's config directory.
#[derive(Debug, Clone, Copy)]
struct OwnedFile {
    name: &'static str,
    /// What to reload after writing it.
    module: &'static str,
}

const FILES: [OwnedFile; 3] = [
    OwnedFile { name: "patchbay-pjsip.conf", module: "res_pjsip.so" },
    OwnedFile { name: "patchbay-extensions.conf", module: "pbx_config" },
    OwnedFile { name: "patchbay-iax.conf", module: "chan_iax2.so" },
];

const EXTENSIONS_FILE: &str = "patchbay-extensions.conf";

/// File name → its sections.
pub type Files = BTreeMap<&'static str, Vec<AmiSection>>;

/// Preview file name (`pjsip.conf`, …) → its text, as the config preview
/// shows it.
pub type Texts = BTreeMap<String, String>;

/// The texts of a rendering, keyed as `GET /config/preview` returns them.
pub fn preview_texts(rendered: &render::Rendered) -> Texts {
    [("pjsip.conf", &rendered.pjsip), ("extensions.conf", &rendered.extensions), ("iax.conf", &rendered.iax)]
        .into_iter()
        .map(|(name, file)| (name.to_string(), render::escape::file_text(file)))
        .collect()
}

/// What the task remembers between passes. Only ever an optimisation or a
/// fallback: every pass starts from what Asterisk reports.
#[derive(Default)]
struct SyncState {
    /// The files of the last configuration Asterisk verifiably took: what a
    /// failed apply goes back to.
    last_good: Files,
    /// A configuration Asterisk refused, and why: not retried until the
    /// database changes (or Asterisk reconnects).
    rejected: Option<(Files, String)>,
    /// The extensions file as the live dialplan holds it, when Patchbay
    /// edited it live; trusted until a reload or a new session.
    live_dialplan: Option<Vec<AmiSection>>,
    /// (context, extension) edited live → when its file write was done
    /// (`None`: not yet).
    live_edits: BTreeMap<(String, String), Option<Instant>>,
    /// When the deferred file write is due, and when the first edit it
    /// carries was made.
    persist_due: Option<(Instant, Instant)>,
    /// The sentinel context was added since the last distrusted pass.
    sentinel: bool,
}

/// Sets `reloaded` and wakes the sync task on every `Reload` event: the
/// live dialplan may have gone back to the file.
async fn watch_reloads(client: AmiClient, reloaded: Arc<AtomicBool>, wake: mpsc::Sender<()>) {
    let mut events = client.subscribe();
    loop {
        match events.recv().await {
            Ok(event) if event.event_name() == Some("Reload") => {
                reloaded.store(true, Ordering::SeqCst);
                let _ = wake.try_send(());
            }
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                reloaded.store(true, Ordering::SeqCst);
                let _ = wake.try_send(());
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn run(link: AsteriskLink, client: AmiClient, store: Store, mut woken: mpsc::Receiver<()>, reloaded: Arc<AtomicBool>) {
    let mut ami_status = client.watch_status();
    let mut state = SyncState::default();
    let mut session_ready = false;
    // A pass started by the timer (not by a change or a reload).
    let mut timed = false;
    let mut last_reconcile = Instant::now();
    loop {
        let connected = *ami_status.borrow_and_update() == AmiStatus::Connected;
        if !connected {
            session_ready = false;
            link.update(|status| {
                status.connected = false;
                status.in_sync = false;
                status.message = describe(&client.status());
            });
        }
        let mut next_pass = RECONCILE_EVERY;
        if connected && !session_ready {
            // AMI answers before every module is loaded: a reload then would
            // race the boot. This command returns once Asterisk is fully booted.
            link.update(|status| {
                status.connected = true;
                status.message = "Asterisk connected; waiting for it to finish booting".into();
            });
            session_ready = client.command("core waitfullybooted").await.is_ok();
            // A new Asterisk (or a restarted one) deserves a new try; events
            // may have been missed, so the live dialplan is not trusted.
            state.rejected = None;
            reloaded.store(true, Ordering::SeqCst);
            if !session_ready {
                next_pass = RETRY_AFTER_ERROR;
            }
        }
        if connected && session_ready {
            let started = Instant::now();
            let distrust = reloaded.swap(false, Ordering::SeqCst);
            // The periodic check reads the file again (someone may have
            // edited it), unless a write of it is pending.
            let reread = timed && last_reconcile.elapsed() >= RECONCILE_EVERY && state.persist_due.is_none();
            if reread || !timed {
                last_reconcile = Instant::now();
            }
            match apply(&client, &store, &mut state, distrust, reread).await {
                Ok(outcome) => {
                    *link.applied.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome.texts.clone());
                    link.update(|status| {
                    status.connected = true;
                    status.message = "Asterisk connected; configuration applied".into();
                    status.endpoints = outcome.endpoints;
                    status.last_error = None;
                    status.in_sync = true;
                    status.last_check_at = Some(unix_now());
                    if let Some(mode) = outcome.mode {
                        crate::metrics::apply_finished(mode, started.elapsed());
                        status.last_apply = Some(ApplyReport {
                            at: unix_now(),
                            mode,
                            files: outcome.written,
                            millis: started.elapsed().as_millis() as u64,
                        });
                    }
                    status.dialplan_file_pending = state.persist_due.is_some();
                    })
                }
                Err(failure) => {
                    tracing::warn!(error = %failure.message, "apply failed");
                    let lost = client.status() != AmiStatus::Connected;
                    if lost {
                        session_ready = false;
                    }
                    if !failure.refused {
                        next_pass = RETRY_AFTER_ERROR;
                    }
                    link.update(|status| {
                        status.message = if failure.refused {
                            "Asterisk connected; it refused the last change, previous configuration kept".into()
                        } else {
                            "Asterisk connected; last apply failed".into()
                        };
                        status.last_error = Some(failure.message.clone());
                        status.in_sync = false;
                        status.last_check_at = Some(unix_now());
                        if let Some(endpoints) = failure.endpoints {
                            status.endpoints = endpoints;
                        }
                        if failure.rolled_back {
                            crate::metrics::apply_finished("rolled_back", started.elapsed());
                            status.last_apply = Some(ApplyReport {
                                at: unix_now(),
                                mode: "rolled_back",
                                files: failure.written,
                                millis: started.elapsed().as_millis() as u64,
                            });
                        }
                    });
                }
            }
            if state.persist_due.is_some_and(|(due, _)| due <= Instant::now()) {
                match persist_dialplan(&client, &mut state).await {
                    Ok(()) => link.update(|status| status.dialplan_file_pending = false),
                    Err(error) => {
                        tracing::warn!(error = %error, "writing the dialplan file failed");
                        next_pass = next_pass.min(RETRY_AFTER_ERROR);
                    }
                }
            }
        }
        if let Some((due, _)) = state.persist_due {
            next_pass = next_pass.min(due.saturating_duration_since(Instant::now()));
        }
        if !state.live_edits.is_empty() {
            next_pass = next_pass.min(WATCH_EVERY);
        }
        timed = false;
        tokio::select! {
            changed = ami_status.changed() => if changed.is_err() { return },
            wake = woken.recv() => if wake.is_none() { return },
            _ = tokio::time::sleep(next_pass) => timed = true,
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn describe(status: &AmiStatus) -> String {
    match status {
        AmiStatus::Connecting => "connecting to Asterisk".into(),
        AmiStatus::Connected => "Asterisk connected".into(),
        AmiStatus::AuthenticationFailed { message } => {
            format!("Asterisk refused Patchbay's AMI login ({message}): check the user and secret in --ami and manager.conf")
        }
        AmiStatus::Disconnected { reason, retry_in_ms } => {
            format!("Asterisk unreachable ({reason}); retrying in {} s", retry_in_ms.div_ceil(1000))
        }
    }
}

fn to_ami(file: &ConfigFile) -> Vec<AmiSection> {
    file.sections.iter().map(|section| AmiSection { name: section.name.clone(), lines: section.lines.clone() }).collect()
}

/// The files Patchbay wants in Asterisk for this rendering.
pub fn desired_files(rendered: &render::Rendered) -> Files {
    FILES.iter().zip([&rendered.pjsip, &rendered.extensions, &rendered.iax]).map(|(file, config)| (file.name, to_ami(config))).collect()
}

/// Sections as Asterisk's parser keeps them: keys and values trimmed, a
/// `=>` the same as `=`.
fn normalized(sections: &[AmiSection]) -> Vec<(&str, Vec<(&str, &str)>)> {
    sections
        .iter()
        .map(|section| {
            let lines = section.lines.iter().map(|(key, value)| (key.trim(), value.trim_start_matches('>').trim())).collect();
            (section.name.trim(), lines)
        })
        .collect()
}

/// Whether two versions of a file say the same to Asterisk.
pub fn same_config(a: &[AmiSection], b: &[AmiSection]) -> bool {
    normalized(a) == normalized(b)
}

/// A file as Asterisk has it; a missing file reads as empty (`#tryinclude`
/// ignores it).
pub async fn read_file(client: &AmiClient, file: &str) -> Result<Vec<AmiSection>, AmiError> {
    match config_writer::get_config(client, file).await {
        Ok(sections) => Ok(sections),
        Err(AmiError::ActionFailed { message, .. }) if message.to_ascii_lowercase().contains("not found") => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}

struct Applied {
    endpoints: Vec<String>,
    /// `None` when Asterisk already had everything.
    mode: Option<&'static str>,
    written: Vec<String>,
    /// The texts of the configuration Asterisk now has.
    texts: Texts,
}

struct Failure {
    message: String,
    /// Asterisk refused the configuration (as opposed to being unreachable).
    refused: bool,
    rolled_back: bool,
    written: Vec<String>,
    endpoints: Option<Vec<String>>,
}

impl Failure {
    fn transient(error: impl std::fmt::Display) -> Failure {
        Failure { message: error.to_string(), refused: false, rolled_back: false, written: Vec::new(), endpoints: None }
    }
}

/// One pass: compare, write what differs, verify, roll back on refusal.
/// `distrust`: the live dialplan may have been reloaded from the file since
/// Patchbay last edited it (see the module documentation).
async fn apply(client: &AmiClient, store: &Store, state: &mut SyncState, mut distrust: bool, reread: bool) -> Result<Applied, Failure> {
    let snapshot = store.read(crate::snapshot::load_snapshot).map_err(Failure::transient)?;
    let rendered = render::render(&snapshot);
    let desired = desired_files(&rendered);
    let texts = preview_texts(&rendered);

    let now = Instant::now();
    state.live_edits.retain(|_, persisted| persisted.is_none_or(|at| now.duration_since(at) < RELOAD_GRACE));
    if !distrust && state.sentinel && !state.live_edits.is_empty() {
        distrust = context_priorities(client, SENTINEL_CONTEXT).await.map_err(Failure::transient)?.is_none();
    }
    if distrust || reread {
        state.live_dialplan = None;
    }
    if distrust || !state.sentinel {
        // Before reading the file: a reload after this removes it again.
        let headers = AmiMessage::new()
            .with("Context", SENTINEL_CONTEXT)
            .with("Extension", "s")
            .with("Priority", "1")
            .with("Application", "NoOp")
            .with("ApplicationData", "patchbay: gone after a dialplan reload")
            .with("Replace", "yes");
        client.send("DialplanExtensionAdd", headers).await.map_err(Failure::transient)?;
        state.sentinel = true;
    }
    // Extensions to re-apply live whatever the file says.
    let forced: Vec<(String, String)> = if distrust { state.live_edits.keys().cloned().collect() } else { Vec::new() };

    let mut current = Files::new();
    for file in FILES {
        let sections = match &state.live_dialplan {
            // What the live dialplan runs: the file may lag behind it.
            Some(live) if file.name == EXTENSIONS_FILE => live.clone(),
            _ => read_file(client, file.name).await.map_err(Failure::transient)?,
        };
        current.insert(file.name, sections);
    }
    let changed: Vec<OwnedFile> = FILES
        .into_iter()
        .filter(|file| !same_config(&current[file.name], &desired[file.name]) || (file.name == EXTENSIONS_FILE && !forced.is_empty()))
        .collect();

    if changed.is_empty() {
        state.rejected = None;
        state.last_good = desired.clone();
        let endpoints = endpoints(client).await.map_err(Failure::transient)?;
        return Ok(Applied { endpoints, mode: None, written: Vec::new(), texts });
    }
    if let Some((refused, why)) = &state.rejected
        && files_equal(refused, &desired)
    {
        // Unchanged since Asterisk refused it: keep the previous config and
        // the reason, without reloading every pass.
        return Err(Failure { message: why.clone(), refused: true, rolled_back: false, written: Vec::new(), endpoints: None });
    }
    // What to go back to: the last verified config, else what Asterisk had
    // before this pass (after a Patchbay restart).
    let previous: Files = FILES
        .iter()
        .map(|file| (file.name, state.last_good.get(file.name).unwrap_or(&current[file.name]).clone()))
        .collect();

    let written: Vec<String> = changed.iter().map(|file| file.name.to_string()).collect();
    let mut mode = "full";
    let mut outcome = Ok(());
    // Files written and reloaded (verified by reading them back).
    let mut reloaded = Vec::new();
    let mut live_edited: Vec<(String, String)> = Vec::new();
    for file in &changed {
        let result = if file.name == EXTENSIONS_FILE
            && let Some(mut plan) = IncrementalPlan::new(&current[file.name], &desired[file.name])
        {
            mode = "incremental";
            plan.force(&forced, &desired[file.name]);
            live_edited = plan.touched();
            apply_live(client, &plan).await
        } else {
            reloaded.push(*file);
            config_writer::write_config(client, file.name, &desired[file.name], Some(file.module)).await.map_err(anyhow::Error::from)
        };
        if let Err(error) = result {
            outcome = Err(format!("writing {}: {error:#}", file.name));
            break;
        }
    }
    let verified = match outcome {
        Ok(()) => verify(client, &reloaded, &desired).await,
        Err(error) => Err(VerifyError::Refused(error)),
    };
    match verified {
        Ok(endpoints) => {
            state.rejected = None;
            let extensions = desired[EXTENSIONS_FILE].clone();
            if reloaded.iter().any(|file| file.name == EXTENSIONS_FILE) {
                // File and live dialplan both equal the database.
                for persisted in state.live_edits.values_mut() {
                    persisted.get_or_insert(now);
                }
                state.persist_due = None;
                state.live_dialplan = Some(extensions);
            } else if !live_edited.is_empty() {
                for edit in live_edited {
                    state.live_edits.insert(edit, None);
                }
                let first = state.persist_due.map_or(now, |(_, first)| first);
                state.persist_due = Some(((now + PERSIST_DEBOUNCE).min(first + PERSIST_AT_MOST), first));
                state.live_dialplan = Some(extensions);
            }
            state.last_good = desired;
            Ok(Applied { endpoints, mode: Some(mode), written, texts })
        }
        Err(VerifyError::Ami(error)) if !matches!(error, AmiError::ActionFailed { .. }) => Err(Failure::transient(error)),
        Err(error) => {
            let reason = error.to_string();
            // Put the previous files back, whatever state the failed write left.
            let mut restore_error = None;
            for file in &changed {
                if let Err(error) = config_writer::write_config(client, file.name, &previous[file.name], Some(file.module)).await {
                    restore_error = Some(format!("restoring {}: {error}", file.name));
                }
            }
            let message = match restore_error {
                None => format!("Asterisk refused the new configuration ({reason}); the previous configuration was restored"),
                Some(restore) => format!("Asterisk refused the new configuration ({reason}); restoring the previous one failed too ({restore})"),
            };
            state.rejected = Some((desired, message.clone()));
            // The restore reloaded the files: the live dialplan is the file.
            state.live_dialplan = None;
            state.persist_due = None;
            state.live_edits.clear();
            let endpoints = endpoints(client).await.ok();
            Err(Failure { message, refused: true, rolled_back: true, written, endpoints })
        }
    }
}

/// The deferred file write: makes the extensions file say what the live
/// dialplan runs (one in-place `UpdateConfig` when it fits, else a whole
/// write), without a reload, and checks it by reading it back.
async fn persist_dialplan(client: &AmiClient, state: &mut SyncState) -> anyhow::Result<()> {
    let Some(target) = state.live_dialplan.clone() else {
        // A reload since: the next pass re-derives everything.
        state.persist_due = None;
        return Ok(());
    };
    let file = read_file(client, EXTENSIONS_FILE).await?;
    if !same_config(&file, &target) {
        match IncrementalPlan::new(&file, &target).filter(|plan| plan.file_message().is_some()) {
            Some(plan) => persist(client, &plan).await?,
            None => config_writer::write_config(client, EXTENSIONS_FILE, &target, None).await?,
        }
        let back = read_file(client, EXTENSIONS_FILE).await?;
        anyhow::ensure!(same_config(&back, &target), "{EXTENSIONS_FILE} reads back differently from what was written");
    }
    let now = Instant::now();
    for persisted in state.live_edits.values_mut() {
        persisted.get_or_insert(now);
    }
    state.persist_due = None;
    Ok(())
}

fn files_equal(a: &Files, b: &Files) -> bool {
    a.len() == b.len() && a.iter().all(|(name, sections)| b.get(name).is_some_and(|other| same_config(sections, other)))
}

#[derive(Debug, thiserror::Error)]
enum VerifyError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Ami(#[from] AmiError),
}

/// Checks that Asterisk really took the changed files; returns its endpoints.
async fn verify(client: &AmiClient, changed: &[OwnedFile], desired: &Files) -> Result<Vec<String>, VerifyError> {
    for file in changed {
        let back = read_file(client, file.name).await?;
        if !same_config(&back, &desired[file.name]) {
            return Err(VerifyError::Refused(format!("{} reads back differently from what was written", file.name)));
        }
    }
    let pjsip_changed = changed.iter().any(|file| file.name == "patchbay-pjsip.conf");
    let extensions_changed = changed.iter().any(|file| file.name == EXTENSIONS_FILE);
    let deadline = tokio::time::Instant::now() + VERIFY_TIMEOUT;
    loop {
        let mut missing = Vec::new();
        if pjsip_changed {
            missing.extend(missing_pjsip_objects(client, &desired["patchbay-pjsip.conf"]).await?);
        }
        if extensions_changed {
            missing.extend(missing_dialplan(client, &desired[EXTENSIONS_FILE]).await?);
        }
        if missing.is_empty() {
            return Ok(endpoints(client).await?);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(VerifyError::Refused(missing.join("; ")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// PJSIP objects of the file Asterisk did not load, as messages.
async fn missing_pjsip_objects(client: &AmiClient, sections: &[AmiSection]) -> Result<Vec<String>, AmiError> {
    // type → (list action, list event); identify and transport have none.
    const LISTS: [(&str, &str, &str); 4] = [
        ("endpoint", "PJSIPShowEndpoints", "EndpointList"),
        ("aor", "PJSIPShowAors", "AorList"),
        ("auth", "PJSIPShowAuths", "AuthList"),
        ("registration", "PJSIPShowRegistrationsOutbound", "OutboundRegistrationDetail"),
    ];
    let mut missing = Vec::new();
    for (kind, action, event) in LISTS {
        let wanted: Vec<&str> = sections
            .iter()
            .filter(|section| section.lines.iter().any(|(key, value)| key == "type" && value == kind))
            .map(|section| section.name.as_str())
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let loaded = list_names(client, action, event).await?;
        missing.extend(wanted.into_iter().filter(|name| !loaded.contains(*name)).map(|name| format!("{kind} {name} did not load")));
    }
    Ok(missing)
}

/// `ObjectName`s of a PJSIP list action (nothing when Asterisk has none).
/// Only the names are read: `AuthDetail` events carry passwords.
async fn list_names(client: &AmiClient, action: &str, event: &str) -> Result<BTreeSet<String>, AmiError> {
    let answer = match client.send(action, AmiMessage::new()).await {
        Ok(answer) => answer,
        // Asterisk answers an error when the list is empty.
        Err(AmiError::ActionFailed { .. }) => return Ok(BTreeSet::new()),
        Err(error) => return Err(error),
    };
    Ok(answer
        .items()
        .filter(|item| item.event_name() == Some(event))
        .filter_map(|item| item.get("ObjectName").map(str::to_string))
        .collect())
}

/// Contexts of the file whose priorities Asterisk did not all load.
async fn missing_dialplan(client: &AmiClient, sections: &[AmiSection]) -> Result<Vec<String>, AmiError> {
    let mut missing = Vec::new();
    for section in sections {
        let wanted = section.lines.iter().filter(|(key, _)| key == "exten" || key == "same").count();
        let loaded = context_priorities(client, &section.name).await?;
        match loaded {
            None => missing.push(format!("dialplan context {} did not load", section.name)),
            // `>=`: the base extensions.conf may add to the same context.
            Some(loaded) if loaded < wanted => missing.push(format!(
                "dialplan context {}: Asterisk loaded {loaded} of its {wanted} priorities (see Asterisk's log for the refused lines)",
                section.name
            )),
            Some(_) => {}
        }
    }
    Ok(missing)
}

/// The number of priorities `dialplan show CONTEXT` counts; `None` when
/// Asterisk has no such context.
pub async fn context_priorities(client: &AmiClient, context: &str) -> Result<Option<usize>, AmiError> {
    let output = match client.command(&format!("dialplan show {context}")).await {
        Ok(output) => output,
        Err(AmiError::ActionFailed { message, .. }) if message.contains("There is no existence") => return Ok(None),
        Err(error) => return Err(error),
    };
    if output.iter().any(|line| line.contains("There is no existence")) {
        return Ok(None);
    }
    // "-= 3 extensions (5 priorities) in 1 context. =-"
    Ok(output.iter().rev().find(|line| line.trim_start().starts_with("-=")).and_then(|line| {
        let after = line.split_once('(')?.1;
        after.split_whitespace().next()?.parse().ok()
    }))
}

/// The PJSIP endpoints Asterisk has loaded (`PJSIPShowEndpoints`).
pub async fn endpoints(client: &AmiClient) -> Result<Vec<String>, AmiError> {
    Ok(list_names(client, "PJSIPShowEndpoints", "EndpointList").await?.into_iter().collect())
}

// ---------------------------------------------------------------------------
// Incremental dialplan

/// One `exten` and its `same` lines, as written in a context.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileExtension {
    /// The extension name (pattern, possibly with `/callerid`).
    name: String,
    /// The lines, `exten` first.
    lines: Vec<(String, String)>,
}

/// `key = value` lines.
type Lines = Vec<(String, String)>;

/// A context split into its non-extension lines and its extensions.
fn split_context(section: &AmiSection) -> Option<(Lines, Vec<FileExtension>)> {
    let mut other = Vec::new();
    let mut extensions: Vec<FileExtension> = Vec::new();
    for (key, value) in &section.lines {
        let value = value.trim_start_matches('>').trim();
        match key.trim() {
            "exten" => {
                let name = value.split(',').next()?.trim().to_string();
                extensions.push(FileExtension { name, lines: vec![("exten".into(), value.to_string())] });
            }
            "same" => extensions.last_mut()?.lines.push(("same".into(), value.to_string())),
            key => other.push((key.to_string(), value.to_string())),
        }
    }
    Some((other, extensions))
}

/// The live edits that turn one extensions file into another, when only
/// extensions (not contexts, includes or their order) differ.
#[derive(Debug, Default)]
pub struct IncrementalPlan {
    /// (context, extension) to remove entirely.
    remove: Vec<(String, String)>,
    /// (context, extension, priorities as (application, data)).
    add: Vec<(String, String, Lines)>,
    /// The same change to the file, edited in place (no reload).
    file_edits: Vec<FileEdit>,
}

/// In context `context`, replace `delete` lines from index `at` by `insert`.
#[derive(Debug)]
struct FileEdit {
    context: String,
    at: usize,
    delete: usize,
    insert: Lines,
}

/// The window of `new` that differs from `old`: (start, old lines to drop,
/// new lines to put there).
fn changed_window(old: &[(String, String)], new: &[(String, String)]) -> (usize, usize, Lines) {
    let same = |a: &(String, String), b: &(String, String)| a.0.trim() == b.0.trim() && a.1.trim_start_matches('>').trim() == b.1.trim_start_matches('>').trim();
    let prefix = old.iter().zip(new).take_while(|(a, b)| same(a, b)).count();
    let room = old.len().min(new.len()) - prefix;
    let suffix = old.iter().rev().zip(new.iter().rev()).take(room).take_while(|(a, b)| same(a, b)).count();
    (prefix, old.len() - prefix - suffix, new[prefix..new.len() - suffix].to_vec())
}

impl IncrementalPlan {
    /// `None` when the change needs a reload (contexts or includes changed,
    /// labels, too many edits, a line this cannot express).
    pub fn new(current: &[AmiSection], desired: &[AmiSection]) -> Option<IncrementalPlan> {
        if current.len() != desired.len() || current.is_empty() {
            return None;
        }
        let mut plan = IncrementalPlan::default();
        for (old, new) in current.iter().zip(desired) {
            if old.name.trim() != new.name.trim() {
                return None;
            }
            let (old_other, old_extensions) = split_context(old)?;
            let (new_other, new_extensions) = split_context(new)?;
            if old_other != new_other {
                return None;
            }
            let (at, delete, insert) = changed_window(&old.lines, &new.lines);
            if delete > 0 || !insert.is_empty() {
                plan.file_edits.push(FileEdit { context: new.name.clone(), at, delete, insert });
            }
            let old_by_name: BTreeMap<&str, &FileExtension> = old_extensions.iter().map(|e| (e.name.as_str(), e)).collect();
            let new_by_name: BTreeMap<&str, &FileExtension> = new_extensions.iter().map(|e| (e.name.as_str(), e)).collect();
            if old_by_name.len() != old_extensions.len() || new_by_name.len() != new_extensions.len() {
                return None; // an extension split over several `exten` blocks
            }
            for (name, old_extension) in &old_by_name {
                if new_by_name.get(name) != Some(old_extension) {
                    plan.remove.push((old.name.clone(), name.to_string()));
                }
            }
            for (name, new_extension) in &new_by_name {
                if old_by_name.get(name) != Some(new_extension) {
                    plan.add.push((new.name.clone(), name.to_string(), priorities(new_extension)?));
                }
            }
        }
        // The file edit need not fit one message: it is written later, and
        // written whole when it does not.
        (plan.remove.len() + plan.add.len() <= INCREMENTAL_LIMIT).then_some(plan)
    }

    /// Also re-applies `extensions` (context, extension) as `desired` has
    /// them (removes them when it has none), whatever the live dialplan has.
    pub fn force(&mut self, extensions: &[(String, String)], desired: &[AmiSection]) {
        for (context, name) in extensions {
            let key = (context.clone(), name.clone());
            if !self.remove.contains(&key) {
                self.remove.push(key);
            }
            if self.add.iter().any(|(c, n, _)| c == context && n == name) {
                continue;
            }
            let found = desired
                .iter()
                .filter(|section| section.name.trim() == context)
                .filter_map(split_context)
                .flat_map(|(_, extensions)| extensions)
                .find(|extension| &extension.name == name);
            if let Some(lines) = found.as_ref().and_then(priorities) {
                self.add.push((context.clone(), name.clone(), lines));
            }
        }
    }

    /// The (context, extension) pairs the live edits touch.
    pub fn touched(&self) -> Vec<(String, String)> {
        let mut touched: Vec<(String, String)> = self.remove.clone();
        touched.extend(self.add.iter().map(|(context, name, _)| (context.clone(), name.clone())));
        touched.sort();
        touched.dedup();
        touched
    }

    /// The one `UpdateConfig` (source = destination, no reload) that makes
    /// the file say what the live edits did; `None` when it would not fit
    /// in one AMI message.
    pub fn file_message(&self) -> Option<AmiMessage> {
        let mut message = AmiMessage::new().with("SrcFilename", EXTENSIONS_FILE).with("DstFilename", EXTENSIONS_FILE);
        let mut number = 0;
        let mut push = |message: &mut AmiMessage, fields: &[(&str, &str)]| {
            for (key, value) in fields {
                message.headers.push((format!("{key}-{number:06}"), value.to_string()));
            }
            number += 1;
        };
        for edit in &self.file_edits {
            let at = edit.at.to_string();
            for _ in 0..edit.delete {
                // By line index: `same` lines repeat, a value match would not do.
                push(&mut message, &[("Action", "Delete"), ("Cat", &edit.context), ("Line", &at)]);
            }
            for (offset, (key, value)) in edit.insert.iter().enumerate() {
                let line = (edit.at + offset).to_string();
                push(&mut message, &[("Action", "Insert"), ("Cat", &edit.context), ("Var", key), ("Value", value), ("Line", &line)]);
            }
        }
        // + Action and ActionID.
        (message.headers.len() + 2 <= crate::ami::MAX_HEADER_LINES).then_some(message)
    }

    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.add.is_empty()
    }

    pub fn edits(&self) -> usize {
        self.remove.len() + self.add.len()
    }
}

/// `exten => NAME,1,App(data)` / `same => n,App(data)` → (App, data), in
/// order. `None` for labels or explicit priorities other than 1, n.
fn priorities(extension: &FileExtension) -> Option<Vec<(String, String)>> {
    extension
        .lines
        .iter()
        .enumerate()
        .map(|(index, (key, value))| {
            let rest = if key == "exten" { value.split_once(',')?.1 } else { value.as_str() };
            let (priority, application) = rest.split_once(',')?;
            let expected = if index == 0 { "1" } else { "n" };
            if priority.trim() != expected {
                return None;
            }
            let application = application.trim();
            Some(match application.split_once('(') {
                Some((app, data)) => (app.trim().to_string(), data.strip_suffix(')')?.to_string()),
                None => (application.to_string(), String::new()),
            })
        })
        .collect()
}

/// Applies `plan` to the live dialplan (`DialplanExtensionRemove`/`Add`, no
/// reload), then edits the file in place without reloading so a later
/// reload loads the same thing. The caller verifies both (GetConfig and
/// `dialplan show`) and falls back to a full write and reload.
pub async fn incremental_dialplan(client: &AmiClient, plan: &IncrementalPlan) -> anyhow::Result<()> {
    apply_live(client, plan).await?;
    persist(client, plan).await
}

/// The file part of [`incremental_dialplan`] alone.
pub async fn persist(client: &AmiClient, plan: &IncrementalPlan) -> anyhow::Result<()> {
    let message = plan.file_message().ok_or_else(|| anyhow::anyhow!("the file edit does not fit in one AMI message"))?;
    client.send("UpdateConfig", message).await?;
    Ok(())
}

/// The live part of [`incremental_dialplan`] alone.
pub async fn apply_live(client: &AmiClient, plan: &IncrementalPlan) -> anyhow::Result<()> {
    for (context, extension) in &plan.remove {
        let headers = AmiMessage::new().with("Context", context.as_str()).with("Extension", extension.as_str());
        match client.send("DialplanExtensionRemove", headers).await {
            // Already absent (a forced re-apply after a reload): that is
            // what a remove wants.
            Ok(_) | Err(AmiError::ActionFailed { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    for (context, extension, priorities) in &plan.add {
        for (number, (application, data)) in priorities.iter().enumerate() {
            let headers = AmiMessage::new()
                .with("Context", context.as_str())
                .with("Extension", extension.as_str())
                .with("Priority", (number + 1).to_string())
                .with("Application", application.as_str())
                .with("ApplicationData", data.as_str())
                .with("Replace", "yes");
            client.send("DialplanExtensionAdd", headers).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(name: &str, lines: &[(&str, &str)]) -> AmiSection {
        AmiSection { name: name.into(), lines: lines.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    #[test]
    fn one_changed_route_is_one_remove_and_one_add() {
        let old = [context("out", &[("include", "x"), ("exten", "_0X.,1,NoOp(a)"), ("same", "n,Dial(PJSIP/${EXTEN}@t,30)"), ("exten", "100,1,Hangup()")])];
        let new = [context("out", &[("include", "x"), ("exten", "_0X.,1,NoOp(b)"), ("same", "n,Dial(PJSIP/${EXTEN}@t,30)"), ("exten", "100,1,Hangup()")])];
        let plan = IncrementalPlan::new(&old, &new).unwrap();
        assert_eq!(plan.remove, [("out".to_string(), "_0X.".to_string())]);
        assert_eq!(plan.add.len(), 1);
        assert_eq!(plan.add[0].2, [("NoOp".to_string(), "b".to_string()), ("Dial".to_string(), "PJSIP/${EXTEN}@t,30".to_string())]);
        let file = plan.file_message().unwrap();
        let edits: Vec<(&str, &str)> = file.headers.iter().skip(2).map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            edits,
            [
                ("Action-000000", "Delete"),
                ("Cat-000000", "out"),
                ("Line-000000", "1"),
                ("Action-000001", "Insert"),
                ("Cat-000001", "out"),
                ("Var-000001", "exten"),
                ("Value-000001", "_0X.,1,NoOp(b)"),
                ("Line-000001", "1"),
            ]
        );
    }

    #[test]
    fn include_or_context_changes_need_a_reload() {
        let old = [context("out", &[("include", "x"), ("exten", "1,1,NoOp()")])];
        let new = [context("out", &[("include", "y"), ("exten", "1,1,NoOp()")])];
        assert!(IncrementalPlan::new(&old, &new).is_none());
        let renamed = [context("out2", &[("include", "x"), ("exten", "1,1,NoOp()")])];
        assert!(IncrementalPlan::new(&old, &renamed).is_none());
        let labelled = [context("out", &[("include", "x"), ("exten", "1,1(start),NoOp()")])];
        assert!(IncrementalPlan::new(&old, &labelled).is_none());
    }

    #[test]
    fn comparison_ignores_what_asterisk_normalises() {
        let written = [context("a", &[("exten", "1,1,NoOp()")])];
        let read = [context("a", &[("exten", ">1,1,NoOp() ")])];
        assert!(same_config(&written, &read));
        assert!(!same_config(&written, &[]));
    }
}
