//! Keeps a real Asterisk equal to the database, over AMI only.
//!
//! One task per Asterisk. Each pass renders the whole configuration from a
//! snapshot of the database and compares it with what Asterisk really has in
//! Patchbay's own files (`patchbay-*.conf`, pulled in by `#tryinclude` from
//! the base files), read back with `GetConfig` — never with an in-memory
//! cache, which is wrong after an Asterisk restart with a wiped config dir.
//! Files that differ are written and only their modules reloaded; then the
//! result is verified: every file is read back and compared with what was
//! written key by key, every PJSIP object and transport must be listed
//! (`PJSIPShow*`, `pjsip show transports`), and a written dialplan's
//! priorities are counted (`dialplan show`). res_pjsip and pbx_config load
//! every valid object and skip the refused ones, so a refused object is not
//! rolled back for everyone: it is reported, with its owner and what
//! Patchbay can verify of why (`verdict`), and every other object applies.
//! The status a caller reads shows its own tenants' objects only.
//!
//! Sections the base `pjsip.conf` already defines (its `[transport-udp]`)
//! are not written again: one owner per section, or Asterisk logs a
//! duplicate on every reload and, after a restart, binds no transport.
//!
//! When a pass runs, and what else the task does, is decided by
//! [`core::SyncCore`], a sans-IO state machine fed with the time: a pass
//! after a change (changes arriving together, or during a pass, become one
//! pass), on every (re)connect once Asterisk is fully booted, after a
//! reload, with back-off after a failure, and periodically. The loop here
//! ([`run`]) only runs its actions. Nothing about a pending apply is kept
//! outside the database, so a Patchbay restart re-derives it on its first
//! pass. Every pass renders one database revision (`store::revision`, read
//! in the same transaction as the snapshot), so the status says which
//! revision Asterisk holds, per tenant, as read back.
//!
//! When only the dialplan changed in ways a live edit can express
//! (extensions, labelled priorities included; new or removed contexts;
//! includes added at the end of a context or removed: see `incremental`),
//! the change is applied live (`DialplanExtensionRemove`/`Add`, and the
//! CLI's `dialplan add include` through `Command`) and reported applied at
//! once; the file is brought level later, in the background (many edits
//! coalesced into one in-place `UpdateConfig`, no reload). Asterisk rewrites
//! the whole file for any `UpdateConfig`, which on a 10 000-route dialplan
//! costs far more than the live edits. Correctness does not depend on that
//! write:
//! - the database is the ground truth, and every pass re-derives the
//!   change from it;
//! - a reload of the dialplan is detected: `dialplan reload` (CLI) emits no
//!   AMI event, so a sentinel context ([`SENTINEL_CONTEXT`]) that exists only
//!   live (added by `DialplanExtensionAdd`, wiped by any reload) is checked
//!   every second while recent live edits exist; a `Reload` event
//!   (`module reload`) and a new AMI session count too. Then the next pass
//!   distrusts its model of the live dialplan: it reads the file
//!   (what a reload loads) and re-applies live, besides the file→database
//!   difference, every extension edited live in the last [`RELOAD_GRACE`]
//!   (persisted or not), so a reload that read the file before the deferred
//!   write cannot lose a change.

use crate::ami::config_writer::{self, Section as AmiSection};
use crate::ami::{AmiClient, AmiError, AmiStatus, AmiUrl, ClientOptions, pjsip};
use crate::live::Live;
use crate::store::Store;
use patchbay_shared::render::{self, ConfigFile};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use self::core::{Action, Checked, DialplanWrite, Input, Outcome, Revision, SyncCore, Timers};

pub mod core;
mod incremental;
pub mod memory;
mod pass;
mod persist;
mod push;
mod status;
pub mod plan;
pub mod renders;
pub mod units;
pub mod verdict;
pub use crate::ami::dialplan::context_priorities;
pub use incremental::{IncrementalPlan, apply_live, incremental_dialplan, persist};
pub use verdict::Viewer;
pub use pass::endpoints;
pub use status::{ApplyReport, AsteriskStatus};
use pass::{Failure, apply};
use persist::persist_dialplan;

/// How long to wait for a reload to show its effect before calling it failed.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(4);
/// Extensions edited live are re-applied after any reload seen this long
/// after their file write (a reload may have read the file just before it).
const RELOAD_GRACE: Duration = Duration::from_secs(60);
/// A context only the live dialplan has: gone means reloaded.
pub const SENTINEL_CONTEXT: &str = "patchbay-sync-sentinel";

/// The server's handle on "its" Asterisk (or on none).
#[derive(Clone, Default)]
pub struct AsteriskLink {
    status: Arc<Mutex<AsteriskStatus>>,
    wake: Option<mpsc::Sender<()>>,
    client: Option<AmiClient>,
    /// Where the committed revision is read.
    store: Option<Store>,
    live: Live,
    /// The text of each file (named as in the config preview) of the last
    /// configuration Asterisk verifiably took; `None` until the first pass
    /// confirms one.
    applied: Arc<Mutex<Option<Arc<renders::Renders>>>>,
    /// Tells waiting clients each time the status changes.
    changed: Arc<watch::Sender<()>>,
    /// The node this link drives (`None`: the one Asterisk of `--ami`
    /// without a fleet, which renders every tenant).
    node: Option<i64>,
    /// AMI actions the sync task sent to this Asterisk (and how many of
    /// them wrote).
    actions: Arc<crate::ami::ActionCounter>,
    /// The tasks of this link, stopped with it.
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    /// What the apply (sync and health tasks) runs on, started and stopped
    /// apart from the AMI session and live events: a fleet node's apply
    /// follows this instance's lease on the node (`crate::lease`).
    applier: Option<Arc<Applier>>,
}

/// The parts of a link's apply, kept to start it again.
struct Applier {
    client: AmiClient,
    /// `client`, counting the sync's actions.
    counted: AmiClient,
    store: Store,
    /// The wake channel's receiver: the running sync task holds its lock.
    woken: Arc<tokio::sync::Mutex<mpsc::Receiver<()>>>,
    reloaded: Arc<AtomicBool>,
    /// The sync and health tasks while applying.
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
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
        Ok(AsteriskLink::start_node(url, store, None, true))
    }

    /// Starts the link of one node: its sync task renders only the tenants
    /// placed on `node` (and what they share); `None` renders every tenant.
    /// Without `apply`, only the AMI session and live events start: the
    /// apply waits for [`start_applying`](Self::start_applying).
    pub fn start_node(url: AmiUrl, store: Store, node: Option<i64>, apply: bool) -> AsteriskLink {
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
            store: Some(store.clone()),
            live: live.clone(),
            applied: Arc::default(),
            changed: Arc::default(),
            node,
            actions: Arc::default(),
            tasks: Arc::default(),
            applier: None,
        };
        link.update(|status| status.message = "connecting to Asterisk".into());
        let reloaded = Arc::new(AtomicBool::new(false));
        let counted = client.counted(link.actions.clone());
        let tasks = [
            tokio::spawn(watch_reloads(client.clone(), reloaded.clone(), wake)).abort_handle(),
            tokio::spawn(crate::live::run(live, client.clone())).abort_handle(),
        ];
        link.tasks.lock().unwrap_or_else(|p| p.into_inner()).extend(tasks);
        let applier = Applier { client, counted, store, woken: Arc::new(tokio::sync::Mutex::new(woken)), reloaded, tasks: Mutex::default() };
        let link = AsteriskLink { applier: Some(Arc::new(applier)), ..link };
        if apply {
            link.start_applying();
        } else {
            link.update(|status| status.message = STANDBY.into());
        }
        link
    }

    /// Starts the apply (sync and health tasks) if it is not running. The
    /// sync starts afresh: its first pass reads everything back, as after
    /// a reconnect.
    pub fn start_applying(&self) {
        let Some(applier) = &self.applier else { return };
        let mut tasks = applier.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if !tasks.is_empty() {
            return;
        }
        let (client, store) = (applier.client.clone(), applier.store.clone());
        tasks.push(tokio::spawn(crate::health::run(self.live.clone(), client, store.clone())).abort_handle());
        let sync = run(self.clone(), applier.counted.clone(), store, applier.woken.clone(), applier.reloaded.clone());
        tasks.push(tokio::spawn(sync).abort_handle());
    }

    /// Stops the apply; the AMI session and live events go on.
    pub fn stop_applying(&self) {
        let Some(applier) = &self.applier else { return };
        for task in applier.tasks.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            task.abort();
        }
        self.update(|status| {
            status.message = STANDBY.into();
            status.in_sync = false;
            status.globally_ok = false;
        });
    }

    /// Whether this link's apply runs.
    pub fn applying(&self) -> bool {
        self.applier.as_ref().is_some_and(|applier| !applier.tasks.lock().unwrap_or_else(|p| p.into_inner()).is_empty())
    }

    /// Stops this link's tasks (a node removed or changed): its AMI
    /// session ends with its last handle.
    pub fn stop(&self) {
        self.stop_applying();
        for task in self.tasks.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            task.abort();
        }
    }

    /// AMI actions the sync task has sent to this Asterisk.
    pub fn ami_actions(&self) -> u64 {
        self.actions.all.load(Ordering::Relaxed)
    }

    /// Of [`ami_actions`](Self::ami_actions), those that changed Asterisk
    /// (config writes, reloads, live dialplan edits).
    pub fn ami_writes(&self) -> u64 {
        self.actions.writes.load(Ordering::Relaxed)
    }

    /// Asks the sync task to render and apply the configuration soon.
    /// Several requests in a row collapse into one apply.
    pub fn request_apply(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }

    /// The status as `viewer` may see it.
    pub fn status_json(&self, viewer: Viewer) -> Value {
        json!(self.status().for_viewer(viewer))
    }

    /// The status as `viewer` may see it once a finished pass has covered
    /// `revision` (the change is then live, or listed in `failed`), or at
    /// `timeout`, whichever comes first.
    pub async fn status_when_checked(&self, viewer: Viewer<'_>, revision: Revision, timeout: Duration) -> Value {
        let mut changed = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let status = self.status();
            if status.revision_checked.is_some_and(|checked| checked >= revision) || self.wake.is_none() {
                return json!(status.for_viewer(viewer));
            }
            if tokio::time::timeout_at(deadline, changed.changed()).await.is_err() {
                return json!(status.for_viewer(viewer));
            }
        }
    }

    pub fn status(&self) -> AsteriskStatus {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        // The revision committed now, not when the task last looked: a
        // write answered before this read is pending until a pass covers it.
        if let Some(Ok(revision)) = self.store.as_ref().map(Store::revision) {
            status.revision = status.revision.max(revision);
            status.pending = status.revision > status.revision_checked.unwrap_or(0);
        }
        status
    }

    /// What the sync task last wrote to (or found equal in) Asterisk, as
    /// preview texts; kept while Asterisk is away (it is what Asterisk had
    /// when last seen), `None` when nothing was confirmed since start.
    pub fn applied(&self) -> Option<Texts> {
        // Texts made when asked (the review page), not on every pass: they
        // cost what the server holds.
        let rendered = self.applied.lock().unwrap_or_else(|p| p.into_inner()).clone();
        rendered.map(|rendered| renders::texts(&rendered))
    }

    pub fn client(&self) -> Option<&AmiClient> {
        self.client.as_ref()
    }

    /// Registrations, contacts and endpoint states from AMI events.
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// Tells each time the status changes.
    pub fn watch_changes(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut AsteriskStatus)) {
        change(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
        self.changed.send_replace(());
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

use verdict::{EXTENSIONS_FILE, IAX_FILE, PJSIP_FILE};

/// The base file that includes Patchbay's `patchbay-pjsip.conf`.
const BASE_PJSIP_FILE: &str = "pjsip.conf";

/// File name → its sections.
pub type Files = BTreeMap<&'static str, Vec<AmiSection>>;

/// Preview file name (`pjsip.conf`, …) → its text, as the config preview
/// shows it.
pub type Texts = BTreeMap<String, String>;

/// The texts of `snapshot`'s configuration as the sync writes it (the
/// per-tenant files joined: main file, then tenant by tenant), keyed as
/// `GET /config/preview` returns them: what the review page compares with
/// [`AsteriskLink::applied`].
pub fn snapshot_texts(snapshot: &patchbay_shared::model::Snapshot) -> Texts {
    let mut renders = renders::Renders::default();
    renders.replace_from(snapshot);
    renders::texts(&renders)
}

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
    /// A configuration Asterisk refused to write, and why: not retried
    /// until the database changes (or Asterisk reconnects).
    rejected: Option<(Files, String)>,
    /// Per file, the last sections written and what Asterisk read back
    /// right after: when the database has not changed and Asterisk still
    /// reads that back, writing again would change nothing (a value
    /// Asterisk alters on the way stays a reported difference, not a write
    /// every pass).
    written_back: plan::WrittenBack,
    /// PJSIP sections as they were when Asterisk last listed them, by
    /// (name, type): a refused object's reason names the keys changed since.
    loaded_before: BTreeMap<(String, String), AmiSection>,
    /// Per unit, the dialplan contexts Asterisk did not fully load at the
    /// last write of the extensions files, with the unit's sections
    /// written then: still true while the unit has not changed.
    dialplan_failures: BTreeMap<String, (Vec<AmiSection>, Vec<verdict::ObjectFailure>)>,
    /// Per unit, the PJSIP objects Asterisk kept in their previous version
    /// at the last reload, with the unit's sections written then.
    kept_previous: BTreeMap<String, (Vec<AmiSection>, Vec<verdict::ObjectFailure>)>,
    /// Per unit of the per-tenant files, the sections last written and what
    /// Asterisk read back right after (see `written_back`).
    unit_written_back: BTreeMap<String, (Vec<AmiSection>, Vec<AmiSection>)>,
    /// Every tenant's rendered configuration, rendered again only for the
    /// tenants whose rows changed.
    renders: renders::Renders,
    /// Tenants rendered again since the last complete pass: their units are
    /// compared at the next pass.
    unsettled: BTreeSet<String>,
    /// Tenants whose dialplan was edited live and whose files do not say
    /// so yet.
    unpersisted: BTreeSet<String>,
    /// The renders are a fleet node's (some tenants only), not every
    /// tenant's.
    node_rendered: bool,
    /// Per unit (or logical file without units), the objects Asterisk did
    /// not take and the keys it read back differently, as the last pass
    /// that compared that unit found them.
    verdicts: BTreeMap<String, (Vec<verdict::ObjectFailure>, Vec<verdict::Difference>)>,
    /// The endpoints with their owners were reported in this process.
    endpoints_reported: bool,
    /// The owner of each endpoint Asterisk listed at the last report, kept
    /// so a pass that renders some tenants looks up only theirs.
    endpoint_owners: BTreeMap<String, Option<verdict::Owner>>,
    /// Per per-tenant file, the last unit the periodic reread read.
    reread_cursor: BTreeMap<&'static str, String>,
    /// The extensions files (units) as the live dialplan holds them, when
    /// Patchbay edited it live; trusted until a reload or a new session.
    live_dialplan: Option<units::Units>,
    /// (context, extension) edited live → when its file write was done
    /// (`None`: not yet).
    live_edits: BTreeMap<(String, String), Option<Instant>>,
    /// The sentinel context was added since the last distrusted pass.
    sentinel: bool,
    /// Each file (Patchbay's and the base `pjsip.conf`) as Asterisk last
    /// read it back in this session: trusted until a reread, a reload or a
    /// new session, so a pass reads only what it wrote (a change costs what
    /// the change is, not what the server holds).
    files_seen: BTreeMap<&'static str, Vec<AmiSection>>,
    /// What res_pjsip last listed, trusted as long as `files_seen`: listed
    /// again after every write of the PJSIP file.
    pjsip_listed: Option<verdict::Loaded>,
    /// The PJSIP and extensions files one by one (`units`, by logical
    /// file) as Asterisk last read them back; `files_seen[file]` is their
    /// join, and both are dropped together.
    units: BTreeMap<&'static str, units::Units>,
    /// The sections (name, type) the base `pjsip.conf` itself defines, as
    /// judged when `files_seen` last read it.
    base_pjsip: Option<BTreeSet<(String, String)>>,
    /// `AsteriskLink::applied` has been set in this process.
    texts_published: bool,
    /// Every context of the dialplan file was counted in this session
    /// (later writes count only the contexts they change).
    dialplan_checked: bool,
    /// Modules whose files were written but whose reload Asterisk has not
    /// confirmed yet.
    reload_owed: BTreeSet<&'static str>,
    /// The node this task renders for (`None`: every tenant).
    node: Option<i64>,
    /// The node's ARI access and its client: the SIP trunks' objects are
    /// pushed into Asterisk's memory wizard (`memory`), not written.
    ari: Option<(crate::store::nodes::Ari, crate::ari::AriClient)>,
    /// The trunk objects pushed and answered for in this AMI session
    /// (`None`: unknown, as after a reconnect, when Asterisk may have
    /// restarted with an empty memory wizard: every object is pushed again).
    memory_held: Option<memory::Held>,
    /// The database's documents as parsed by the last pass: a pass parses
    /// only what changed since.
    snapshot_cache: crate::snapshot::SnapshotCache,
}

/// Sets `reloaded` and wakes the sync task on every `Reload` event: the
/// live dialplan may have gone back to the file.
async fn watch_reloads(client: AmiClient, reloaded: Arc<AtomicBool>, wake: mpsc::Sender<()>) {
    let mut events = client.subscribe();
    loop {
        match events.recv().await {
            // Only a reload of the dialplan can undo live edits: Patchbay's
            // own res_pjsip reload after every trunk change must not make
            // the next pass distrust (and re-read) the whole dialplan.
            Ok(event) if event.event_name() == Some("Reload") && event.get("Module").is_none_or(reloads_dialplan) => {
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

/// Whether a `Reload` event's `Module` may have reloaded the dialplan
/// (pbx_config, or everything).
fn reloads_dialplan(module: &str) -> bool {
    let module = module.to_ascii_lowercase();
    module.contains("pbx_config") || module.contains("extensions") || module == "all" || module.is_empty()
}

/// The status message of a link that does not apply (another Patchbay
/// instance holds the node's lease).
const STANDBY: &str = "another Patchbay instance applies to this Asterisk (this one waits for the node's lease)";

/// The I/O loop: feeds the [`SyncCore`] what happens (commits, the AMI
/// session, reloads, outcomes) and runs the actions it returns. Every
/// decision about when and what is the core's.
async fn run(link: AsteriskLink, client: AmiClient, store: Store, woken: Arc<tokio::sync::Mutex<mpsc::Receiver<()>>>, reloaded: Arc<AtomicBool>) {
    // A stopped task's loop lets go of the receiver when it is dropped.
    let mut woken = woken.lock().await;
    let mut ami_status = client.watch_status();
    let mut core = SyncCore::new(Timers::default(), Instant::now());
    let mut state = SyncState { node: link.node, ..SyncState::default() };
    let mut connected = false;
    loop {
        // What happened since the last turn.
        let now = Instant::now();
        let is_connected = *ami_status.borrow_and_update() == AmiStatus::Connected;
        if is_connected != connected {
            connected = is_connected;
            core.handle(now, if connected { Input::Connected } else { Input::Disconnected });
            if connected {
                // A restarted Asterisk loads from the files: nothing is kept.
                state.rejected = None;
                state.kept_previous.clear();
                state.memory_held = None;
            }
        }
        if !connected {
            link.update(|status| {
                status.connected = false;
                status.in_sync = false;
                status.globally_ok = false;
                status.message = describe(&client.status());
            });
        }
        match store.revision() {
            Ok(revision) => core.handle(now, Input::Changed(revision)),
            Err(error) => tracing::warn!(%error, "reading the revision"),
        }
        if reloaded.swap(false, Ordering::SeqCst) {
            core.handle(now, Input::ReloadSeen);
        }

        if let Some(action) = core.poll_action(Instant::now()) {
            let id = action_id(&action);
            let outcome = execute(&link, &client, &store, &mut state, action).await;
            if matches!(outcome, Outcome::Failed) && client.status() != AmiStatus::Connected && connected {
                connected = false;
                core.handle(Instant::now(), Input::Disconnected);
            }
            core.handle(Instant::now(), Input::Done { id, outcome });
            publish(&link, &core);
            continue;
        }
        publish(&link, &core);

        let timeout = core.poll_timeout(Instant::now());
        let sleep = async move {
            match timeout {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = ami_status.changed() => if changed.is_err() { return },
            wake = woken.recv() => if wake.is_none() { return },
            _ = sleep => {}
        }
    }
}

fn action_id(action: &Action) -> u64 {
    match action {
        Action::WaitFullyBooted { id } | Action::Pass { id, .. } | Action::PersistDialplan { id } | Action::CheckSentinel { id } => *id,
    }
}

/// What the core knows about revisions, into the shared status.
fn publish(link: &AsteriskLink, core: &SyncCore) {
    link.update(|status| {
        status.revision = core.requested();
        status.revision_checked = core.covered();
        status.held = core.held().clone();
        status.pending = core.pending();
        status.dialplan_file_pending = core.dialplan_file_pending();
    });
}

/// Runs one action of the core and says what came of it.
async fn execute(link: &AsteriskLink, client: &AmiClient, store: &Store, state: &mut SyncState, action: Action) -> Outcome {
    match action {
        Action::WaitFullyBooted { .. } => {
            // AMI answers before every module is loaded: a reload then would
            // race the boot. This command returns once Asterisk is fully booted.
            link.update(|status| {
                status.connected = true;
                status.message = "Asterisk connected; waiting for it to finish booting".into();
            });
            Outcome::Booted { ok: client.command("core waitfullybooted").await.is_ok() }
        }
        Action::CheckSentinel { .. } => match crate::ami::dialplan::context_priorities(client, SENTINEL_CONTEXT).await {
            Ok(found) => Outcome::Sentinel { present: found.is_some() },
            Err(error) => {
                tracing::warn!(%error, "checking the dialplan sentinel");
                Outcome::Failed
            }
        },
        Action::PersistDialplan { .. } => match persist_dialplan(client, state, Instant::now()).await {
            Ok(()) => Outcome::Persisted { ok: true },
            Err(error) => {
                tracing::warn!(%error, "writing the dialplan file failed");
                Outcome::Persisted { ok: false }
            }
        },
        Action::Pass { distrust, reread, .. } => {
            let started = Instant::now();
            match apply(client, store, state, distrust, reread, started).await {
                Ok(outcome) => {
                    if let Some(rendered) = &outcome.rendered {
                        *link.applied.lock().unwrap_or_else(|p| p.into_inner()) = Some(rendered.clone());
                    }
                    let complete = outcome.failed.is_empty() && outcome.differences.is_empty();
                    if !complete {
                        tracing::warn!(failed = outcome.failed.len(), differences = outcome.differences.len(), "Asterisk did not take everything");
                    }
                    let owners = outcome.failed.iter().map(|f| &f.owner).chain(outcome.differences.iter().map(|d| &d.owner));
                    let mut checked = Checked { revision: outcome.revision, dialplan: outcome.dialplan, ..Checked::default() };
                    for owner in owners {
                        match owner {
                            Some(verdict::Owner { tenant_uuid: Some(tenant), .. }) => {
                                checked.failing_tenants.insert(tenant.clone());
                            }
                            _ => checked.shared_failing = true,
                        }
                    }
                    link.update(|status| {
                        status.connected = true;
                        status.message = message_after_pass(complete).into();
                        if let Some(endpoints) = outcome.endpoints {
                            status.endpoint_owners = endpoints.iter().map(|(name, owner)| (name.clone(), owner.clone())).collect();
                            status.endpoints = endpoints.into_iter().map(|(name, _)| name).collect();
                        }
                        status.last_error = None;
                        status.globally_ok = true;
                        status.in_sync = complete;
                        status.failed = outcome.failed;
                        status.differences = outcome.differences;
                        status.from_base_config = outcome.from_base_config;
                        status.last_check_at = Some(unix_now());
                        if let Some(mode) = outcome.mode {
                            crate::metrics::apply_finished(mode, started.elapsed());
                            status.last_apply =
                                Some(ApplyReport { at: unix_now(), mode, files: outcome.written, millis: started.elapsed().as_millis() as u64 });
                        }
                    });
                    Outcome::Checked(checked)
                }
                Err(failure) => {
                    tracing::warn!(error = %failure.message, "apply failed");
                    link.update(|status| {
                        status.message = if failure.refused {
                            "Asterisk connected; it refused to write the last change".into()
                        } else {
                            "Asterisk connected; last apply failed".into()
                        };
                        status.last_error = Some(failure.message.clone());
                        status.in_sync = false;
                        status.globally_ok = false;
                        status.last_check_at = Some(unix_now());
                    });
                    if failure.refused { Outcome::Refused } else { Outcome::Failed }
                }
            }
        }
    }
}

/// The status message after a complete pass: everything taken, or not.
fn message_after_pass(complete: bool) -> &'static str {
    if complete { "Asterisk connected; configuration applied" } else { "Asterisk connected; configuration applied except what is listed" }
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

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_dialplan_reload_distrusts_the_live_dialplan() {
        assert!(super::reloads_dialplan("pbx_config"));
        assert!(super::reloads_dialplan("pbx_config.so"));
        assert!(super::reloads_dialplan("All"));
        assert!(!super::reloads_dialplan("res_pjsip.so"));
        assert!(!super::reloads_dialplan("chan_iax2.so"));
    }
}
