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
pub mod plan;
pub mod renders;
pub mod units;
pub mod verdict;
pub use crate::ami::dialplan::context_priorities;
pub use incremental::{IncrementalPlan, apply_live, incremental_dialplan, persist};
pub use verdict::Viewer;

/// How long to wait for a reload to show its effect before calling it failed.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(4);
/// Extensions edited live are re-applied after any reload seen this long
/// after their file write (a reload may have read the file just before it).
const RELOAD_GRACE: Duration = Duration::from_secs(60);
/// A context only the live dialplan has: gone means reloaded.
pub const SENTINEL_CONTEXT: &str = "patchbay-sync-sentinel";

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AsteriskStatus {
    pub connected: bool,
    pub message: String,
    /// Endpoint names Asterisk reported after the last pass.
    pub endpoints: Vec<String>,
    /// Why the last pass failed as a whole (Asterisk could not be reached,
    /// a file could not be written); `None` once a pass succeeds. Never
    /// names a tenant's object: those are in `failed` and `differences`.
    pub last_error: Option<String>,
    /// Whether Asterisk has what the database says, for the viewer: its
    /// files read back as written, every object of the viewer's tenants and
    /// every transport loaded.
    pub in_sync: bool,
    /// Unix time (s) of the last comparison with what Asterisk has.
    pub last_check_at: Option<u64>,
    /// The last pass that changed something in Asterisk.
    pub last_apply: Option<ApplyReport>,
    /// Live dialplan edits applied whose file write is still to come.
    pub dialplan_file_pending: bool,
    /// Objects Asterisk did not load, each with its owner and why; the rest
    /// of the configuration is applied.
    pub failed: Vec<verdict::ObjectFailure>,
    /// Keys that read back from Asterisk differently from what was written.
    pub differences: Vec<verdict::Difference>,
    /// Sections the base `pjsip.conf` defines, which Patchbay therefore
    /// does not write (transports: the base's one is used).
    pub from_base_config: Vec<String>,
    /// The database revision of the last committed change.
    pub revision: Revision,
    /// The revision Asterisk holds for the viewer's tenants, as read back
    /// by the last pass of this AMI session (`None`: nothing read back).
    pub revision_live: Option<Revision>,
    /// A committed change is on its way to Asterisk (no finished pass has
    /// covered it yet).
    pub pending: bool,
    /// The highest revision a finished pass covered: once it reaches a
    /// client's revision, that change is live or listed in `failed`.
    pub revision_checked: Option<Revision>,
    /// `in_sync` apart from `failed` and `differences`: connected, last
    /// pass complete, transports listed.
    #[serde(skip)]
    pub globally_ok: bool,
    /// Which revision Asterisk holds, per tenant.
    #[serde(skip)]
    pub held: self::core::Held,
    /// Owner of each name in `endpoints` (`None`: not Patchbay's).
    #[serde(skip)]
    pub endpoint_owners: BTreeMap<String, Option<verdict::Owner>>,
}

impl AsteriskStatus {
    /// What `viewer` may see: its tenants' endpoints, failures and
    /// differences, and what all tenants share; `in_sync` judged on those.
    pub fn for_viewer(&self, viewer: Viewer) -> AsteriskStatus {
        let mut view = self.clone();
        view.endpoints.retain(|name| viewer.sees(self.endpoint_owners.get(name).and_then(Option::as_ref)));
        view.failed.retain(|failure| viewer.sees(failure.owner.as_ref()));
        view.differences.retain(|difference| viewer.sees(difference.owner.as_ref()));
        if !matches!(viewer, Viewer::All) {
            view.from_base_config.clear();
        }
        view.in_sync = verdict::in_sync_for(viewer, self.globally_ok, &self.failed, &self.differences) && !self.pending;
        view.revision_live = match viewer {
            Viewer::All => self.held.behind.values().fold(self.held.revision, |low, behind| low.min(*behind)),
            Viewer::Tenants(tenants) => tenants.iter().fold(self.held.revision, |low, tenant| low.min(self.held.for_tenant(tenant))),
        };
        if self.connected && self.globally_ok {
            // Another tenant's refused object is no news to this viewer.
            view.message = message_after_pass(view.failed.is_empty() && view.differences.is_empty()).into();
        }
        view
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ApplyReport {
    /// Unix time (s).
    pub at: u64,
    /// `full` (files written and reloaded) or `incremental` (live dialplan
    /// edits).
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

/// `file` as Asterisk last read it back in this session, or read now.
async fn seen(client: &AmiClient, state: &mut SyncState, file: &'static str) -> Result<Vec<AmiSection>, Failure> {
    if let Some(sections) = state.files_seen.get(file) {
        return Ok(sections.clone());
    }
    let sections = read_file(client, file).await.map_err(Failure::transient)?;
    state.files_seen.insert(file, sections.clone());
    Ok(sections)
}

/// Reads the units of the logical file `file` (PJSIP or extensions) into
/// the session's model, unless it holds them already: the main file, the
/// unit of every tenant in `tenants` (a missing one reads as empty), and
/// every unit this session knows.
async fn seen_units(client: &AmiClient, state: &mut SyncState, file: &'static str, tenants: &BTreeSet<String>) -> Result<(), Failure> {
    if state.files_seen.contains_key(file) {
        return Ok(());
    }
    let mut names: BTreeSet<String> = tenants.iter().map(|tenant| units::tenant_unit(file, tenant)).collect();
    names.extend(state.units.get(file).into_iter().flat_map(|known| known.keys().cloned()));
    names.insert(file.to_string());
    // Asked many at a time (answers are matched by ActionID), not one
    // round trip after the other: a session's first read of 1,000 tenant
    // files costs Asterisk's time, not 1,000 round trips.
    let mut read = units::Units::new();
    let names: Vec<String> = names.into_iter().collect();
    for batch in names.chunks(32) {
        let mut reads = tokio::task::JoinSet::new();
        for name in batch {
            let (client, name) = (client.clone(), name.clone());
            reads.spawn(async move { read_file(&client, &name).await.map(|sections| (name, sections)) });
        }
        while let Some(done) = reads.join_next().await {
            let (name, sections) = done.map_err(Failure::transient)?.map_err(Failure::transient)?;
            read.insert(name, sections);
        }
    }
    state.units.insert(file, read);
    // For the units, `files_seen` only says the model is whole.
    state.files_seen.insert(file, Vec::new());
    Ok(())
}

/// Units the periodic reread reads again per logical file and pass.
const REREAD_SLICE: usize = 64;

/// Reads again the next slice of each per-tenant file's units (and its
/// main file). A unit that reads differently from the session's model
/// is taken as read, and its tenant's units are compared at this pass (or,
/// for a dialplan edited live, its file written again: returns whether
/// one was).
async fn reread_units(client: &AmiClient, state: &mut SyncState) -> Result<bool, Failure> {
    let mut edited_dialplan = false;
    for file in units::PER_TENANT {
        if !state.files_seen.contains_key(file) {
            continue; // read whole at this pass anyway
        }
        let Some(known) = state.units.get(file) else { continue };
        let (mut names, cursor) =
            units::reread_slice(known.keys().filter(|name| name.as_str() != file), state.reread_cursor.get(file).map(String::as_str), REREAD_SLICE);
        if let Some(cursor) = cursor {
            state.reread_cursor.insert(file, cursor);
        }
        names.push(file.to_string());
        let mut reads = tokio::task::JoinSet::new();
        for name in names {
            let client = client.clone();
            reads.spawn(async move { read_file(&client, &name).await.map(|sections| (name, sections)) });
        }
        while let Some(done) = reads.join_next().await {
            let (name, sections) = done.map_err(Failure::transient)?.map_err(Failure::transient)?;
            let known = state.units.entry(file).or_default();
            if known.get(&name) == Some(&sections) {
                continue;
            }
            known.insert(name.clone(), sections);
            match units::tenant_of(file, &name) {
                // The live dialplan is what runs: its file is written again.
                Some(tenant) if file == EXTENSIONS_FILE && state.live_dialplan.is_some() => {
                    state.unpersisted.insert(tenant);
                    edited_dialplan = true;
                }
                Some(tenant) => {
                    state.unsettled.insert(tenant);
                }
                // The main file is compared at every pass.
                None => {}
            }
        }
    }
    Ok(edited_dialplan)
}

/// Reloads `file`'s module with the `Reload` action (its answer says
/// whether Asterisk ran it: see `config_writer::reload`); a failure leaves
/// the reload owed to the next pass.
async fn reload_owed(client: &AmiClient, state: &mut SyncState, file: OwnedFile, reloaded: &mut Vec<OwnedFile>) -> Result<(), Failure> {
    config_writer::reload(client, file.module).await.map_err(|error| Failure::transient(format!("reloading {}: {error}", file.module)))?;
    state.reload_owed.remove(file.module);
    reloaded.push(file);
    Ok(())
}

/// Writes the units of `file` that differ from what Asterisk has (each a
/// small file, a few `UpdateConfig`s for a tenant's sections), without a
/// reload. Returns the names written.
async fn write_units(client: &AmiClient, state: &mut SyncState, file: &'static str, desired: &units::Units) -> Result<Vec<String>, AmiError> {
    let mut written = Vec::new();
    for (name, sections) in desired {
        if state.units.get(file).and_then(|seen| seen.get(name)).is_some_and(|now| same_config(now, sections)) {
            continue;
        }
        // Until read back, the next pass reads every unit again: a failed
        // write leaves a file only a fresh read describes.
        state.files_seen.remove(file);
        config_writer::write_config(client, name, sections, None).await?;
        written.push(name.clone());
    }
    Ok(written)
}

struct Applied {
    /// The database revision rendered.
    revision: Revision,
    dialplan: DialplanWrite,
    /// Endpoint names Asterisk lists, with their owner (`None`: as the
    /// last pass reported, res_pjsip was not listed again).
    endpoints: Option<Vec<(String, Option<verdict::Owner>)>>,
    /// `None` when Asterisk already had everything.
    mode: Option<&'static str>,
    written: Vec<String>,
    /// The configuration Asterisk now has (its texts are made when asked);
    /// `None`: as after the last pass (nothing written).
    rendered: Option<Arc<renders::Renders>>,
    failed: Vec<verdict::ObjectFailure>,
    differences: Vec<verdict::Difference>,
    from_base_config: Vec<String>,
}

struct Failure {
    message: String,
    /// Asterisk refused to write the configuration (as opposed to being
    /// unreachable): not retried until the database changes.
    refused: bool,
}

impl Failure {
    fn transient(error: impl std::fmt::Display) -> Failure {
        Failure { message: error.to_string(), refused: false }
    }
}

/// One pass: compare, write what differs, then check what Asterisk holds.
/// An object Asterisk refuses does not stop the others: res_pjsip and
/// pbx_config load every valid object and skip the refused ones, so the
/// written files stay and the refused objects are reported, each with its
/// owner (one tenant's bad value never blocks another tenant's change).
/// `distrust`: the live dialplan may have been reloaded from the file since
/// Patchbay last edited it (see the module documentation).
///
/// A pass costs what changed: only the tenants whose rows changed since the
/// last pass are rendered (`renders`), and only their units are compared,
/// written and checked, unless Patchbay has no model of Asterisk's files
/// (a new session, the periodic reread, a reload), when every unit is.
/// What earlier passes found about the other units is kept (`verdicts`).
async fn apply(client: &AmiClient, store: &Store, state: &mut SyncState, distrust: bool, reread: bool, now: Instant) -> Result<Applied, Failure> {
    // What changed since the last pass, in one read transaction with the
    // revision of exactly the rows read; rendered for its tenants alone.
    let node = state.node;
    let cache = &mut state.snapshot_cache;
    let (revision, mut changes, on_node, ari) = store
        .read(|conn| {
            let revision = crate::store::revision(conn)?;
            let changes = cache.load(conn)?;
            let (on_node, ari) = match node {
                Some(node) => (crate::store::nodes::tenants_on(conn, node)?, crate::store::nodes::get(conn, node)?.and_then(|node| node.ari)),
                None => (None, None),
            };
            Ok::<_, crate::store::StoreError>((revision, changes, on_node, ari))
        })
        .map_err(Failure::transient)?;
    if state.ari.as_ref().map(|(settings, _)| settings) != ari.as_ref() {
        switch_ari(state, ari).await?;
    }
    let rerendered = match &on_node {
        // A node holding only some tenants renders them and what they
        // share with it, whole (a sharing tenant off the node gives only
        // what it shares).
        Some(on) => {
            state.node_rendered = true;
            state.renders.replace_from(&crate::snapshot::restrict(&state.snapshot_cache.snapshot(), on))
        }
        None => {
            changes.shared |= std::mem::take(&mut state.node_rendered);
            state.renders.update(&state.snapshot_cache, &changes)
        }
    };
    state.unsettled.extend(rerendered);
    let rendered_at = Instant::now();

    state.live_edits.retain(|_, persisted| persisted.is_none_or(|at| now.duration_since(at) < RELOAD_GRACE));
    let mut edited_dialplan = false;
    if distrust {
        state.live_dialplan = None;
        state.files_seen.clear();
        state.pjsip_listed = None;
        state.units.clear();
        state.dialplan_checked = false;
    } else if reread {
        // The periodic reread (someone may have edited a file): the files
        // without units again, and a slice of the units in turn, so that it
        // costs a bounded amount whatever the server holds.
        state.files_seen.remove(IAX_FILE);
        edited_dialplan = reread_units(client, state).await?;
    }
    if distrust || !state.sentinel {
        // Before reading the file: a reload after this removes it again.
        crate::ami::dialplan::add_sentinel(client, SENTINEL_CONTEXT).await.map_err(Failure::transient)?;
        state.sentinel = true;
    }
    // Extensions to re-apply live whatever the file says.
    let forced: Vec<(String, String)> = if distrust { state.live_edits.keys().cloned().collect() } else { Vec::new() };

    // Which units this pass compares: every unit when Patchbay has no model
    // of Asterisk's files, else those of the tenants rendered again since
    // the last complete pass.
    let full = !state.files_seen.contains_key(PJSIP_FILE)
        || (!state.files_seen.contains_key(EXTENSIONS_FILE) && state.live_dialplan.is_none())
        || !state.files_seen.contains_key(BASE_PJSIP_FILE)
        || state.base_pjsip.is_none();
    let tenants: BTreeSet<String> = if full {
        state.renders.tenants().cloned().collect()
    } else {
        state.unsettled.clone()
    };
    let mut current = Files::new();
    let mut desired = Files::new();
    let mut desired_units: BTreeMap<&'static str, units::Units> = BTreeMap::new();
    let mut scope: BTreeSet<String> = BTreeSet::from([IAX_FILE.to_string()]);
    for file in units::PER_TENANT {
        let live = file == EXTENSIONS_FILE && state.live_dialplan.is_some();
        if full && !live {
            seen_units(client, state, file, &tenants).await?;
        }
        // Unit name → its tenant (`None`: the main file, or a tenant gone).
        let mut names: BTreeMap<String, Option<&String>> = tenants.iter().map(|tenant| (units::tenant_unit(file, tenant), Some(tenant))).collect();
        names.insert(file.to_string(), None);
        let known = if live { state.live_dialplan.as_ref() } else { state.units.get(file) };
        if full {
            for name in known.into_iter().flat_map(|known| known.keys()) {
                names.entry(name.clone()).or_insert(None);
            }
        }
        let now_units: units::Units =
            names.keys().filter_map(|name| known.and_then(|known| known.get(name)).map(|sections| (name.clone(), sections.clone()))).collect();
        let want_units: units::Units = names
            .iter()
            .map(|(name, tenant)| {
                let sections = match tenant {
                    _ if name == file => state.renders.main_unit(file),
                    // The trunks' objects of a node with ARI access live in
                    // its memory wizard, never in the file too.
                    Some(tenant) if file == PJSIP_FILE && state.ari.is_some() => state.renders.pjsip_unit_and_trunk_objects(tenant).0,
                    Some(tenant) => state.renders.tenant_unit(file, tenant),
                    None => Vec::new(),
                };
                (name.clone(), sections)
            })
            .collect();
        scope.extend(names.into_keys());
        current.insert(file, units::join(file, &now_units));
        desired_units.insert(file, want_units);
    }
    current.insert(IAX_FILE, seen(client, state, IAX_FILE).await?);
    desired.insert(IAX_FILE, state.renders.whole(IAX_FILE));

    // What the base pjsip.conf defines is not written again (transports
    // above all: see `verdict::without_base_duplicates`).
    // Judged when the base file is read (it includes Patchbay's files, as
    // they were then: every unit, since such a pass is full) and kept as
    // long as that read is trusted.
    let base = match &state.base_pjsip {
        Some(base) if state.files_seen.contains_key(BASE_PJSIP_FILE) => base.clone(),
        _ => {
            let whole = seen(client, state, BASE_PJSIP_FILE).await?;
            let base = verdict::base_sections(&whole, &current[PJSIP_FILE]);
            state.base_pjsip = Some(base.clone());
            base
        }
    };
    let mut from_base = Vec::new();
    for sections in desired_units.get_mut(PJSIP_FILE).into_iter().flat_map(|units| units.values_mut()) {
        let (own, duplicates) = verdict::without_base_duplicates(sections, &base);
        *sections = own;
        from_base.extend(duplicates);
    }
    for file in units::PER_TENANT {
        desired.insert(file, units::join(file, &desired_units[file]));
    }
    let owners = if full { state.renders.all_owners() } else { state.renders.owners(&tenants) };
    let mut failed: Vec<verdict::ObjectFailure> = Vec::new();
    let mut from_base_config = Vec::new();
    for section in &from_base {
        let owner = owners.get(PJSIP_FILE, &section.name).cloned();
        let kind = verdict::section_type(section).to_string();
        if owner.as_ref().is_some_and(verdict::Owner::is_shared) {
            from_base_config.push(format!("{} ({kind})", section.name));
        } else {
            failed.push(verdict::ObjectFailure {
                file: PJSIP_FILE.into(),
                reason: format!(
                    "{BASE_PJSIP_FILE} already defines [{}] (type = {kind}) outside Patchbay's file: Patchbay does not write a second one",
                    section.name
                ),
                section: section.name.clone(),
                section_type: kind,
                owner,
            });
        }
    }

    let read_at = Instant::now();
    // A unit that differs only as Asterisk altered it on the way last time
    // is not written again: that stays a reported difference.
    let mut planned = desired.clone();
    for file in units::PER_TENANT {
        let known = if file == EXTENSIONS_FILE && state.live_dialplan.is_some() { state.live_dialplan.as_ref() } else { state.units.get(file) };
        let mut wanted = desired_units[file].clone();
        for (name, sections) in wanted.iter_mut() {
            let held = known.and_then(|known| known.get(name));
            if let (Some((written, back)), Some(held)) = (state.unit_written_back.get(name), held)
                && written == sections
                && back == held
            {
                *sections = held.clone();
            }
        }
        planned.insert(file, units::join(file, &wanted));
    }
    let writes = plan::plan_writes(&current, &planned, &state.written_back, &forced, !full);
    let changed: Vec<OwnedFile> = FILES.into_iter().filter(|file| writes.iter().any(|(name, _)| *name == file.name)).collect();

    let mut mode = None;
    let mut dialplan = DialplanWrite::Untouched;
    let written: Vec<String> = changed.iter().map(|file| file.name.to_string()).collect();
    // Files written whole and reloaded: read back below.
    let mut reloaded: Vec<OwnedFile> = Vec::new();
    // The units written (the others are as Asterisk had them).
    let mut pjsip_written: Vec<String> = Vec::new();
    let mut dialplan_written: Vec<String> = Vec::new();
    // Dialplan extensions edited live by this pass.
    let mut live_edited: Vec<(String, String)> = Vec::new();
    if !changed.is_empty() {
        if let Some((refused, why)) = &state.rejected
            && files_equal(refused, &desired)
        {
            // Unchanged since Asterisk refused to write it.
            return Err(Failure { message: why.clone(), refused: true });
        }
        if changed.iter().any(|file| file.name == PJSIP_FILE) {
            // What Asterisk runs before the write: an object it refuses
            // afterwards is then told apart by the keys that changed.
            // Only for objects this process knows nothing of yet (after a
            // Patchbay restart): the file may hold a version Asterisk kept
            // out, which must not count as loaded.
            let unknown: Vec<AmiSection> = current[PJSIP_FILE]
                .iter()
                .filter(|section| !state.loaded_before.contains_key(&(section.name.clone(), verdict::section_type(section).to_string())))
                .cloned()
                .collect();
            // Listing everything costs what the server holds: only when
            // something is unknown (the first write of a session).
            if !unknown.is_empty() {
                let before = loaded_pjsip(client).await.map_err(Failure::transient)?;
                remember_loaded(state, &unknown, &before);
            }
        }
        mode = Some("full");
        // In `FILES` order: PJSIP objects before the dialplan that dials them.
        for file in &changed {
            if let Some((_, plan::Write::Live(plan))) = writes.iter().find(|(name, _)| *name == file.name) {
                match apply_live(client, plan).await {
                    Ok(()) => {
                        mode = Some("incremental");
                        live_edited = plan.touched();
                        continue;
                    }
                    // Asterisk refused a live edit: the whole file and a
                    // reload say the same, and are checked below.
                    Err(error) if error.downcast_ref::<AmiError>().is_some_and(|e| matches!(e, AmiError::ActionFailed { .. })) => {
                        tracing::warn!(%error, "a live dialplan edit was refused; writing the file instead");
                    }
                    Err(error) => return Err(Failure::transient(error)),
                }
            }
            if file.name == EXTENSIONS_FILE {
                // The units of the tenants whose live edits are not in
                // their file yet are written too: a reload of the dialplan
                // must not lose them.
                let unpersisted: Vec<String> = state.unpersisted.iter().cloned().collect();
                for tenant in unpersisted {
                    let name = units::tenant_unit(EXTENSIONS_FILE, &tenant);
                    scope.insert(name.clone());
                    let sections = state.renders.tenant_unit(EXTENSIONS_FILE, &tenant);
                    desired_units.entry(EXTENSIONS_FILE).or_default().entry(name).or_insert(sections);
                }
            }
            let write = if units::PER_TENANT.contains(&file.name) {
                write_units(client, state, file.name, &desired_units[file.name]).await.map(|names| {
                    if file.name == PJSIP_FILE { pjsip_written = names } else { dialplan_written = names }
                })
            } else {
                config_writer::write_config(client, file.name, &desired[file.name], None).await
            };
            match write {
                Ok(()) => {
                    // Owed until Asterisk says it reloaded: the next pass
                    // finds the file as desired and would write nothing.
                    state.reload_owed.insert(file.module);
                    reload_owed(client, state, *file, &mut reloaded).await?;
                }
                Err(error @ AmiError::ActionFailed { .. }) | Err(error @ AmiError::Encode(_)) => {
                    let message = format!("Asterisk refused to write {}: {error}", file.name);
                    state.rejected = Some((desired.clone(), message.clone()));
                    return Err(Failure { message, refused: true });
                }
                Err(error) => return Err(Failure::transient(format!("writing {}: {error}", file.name))),
            }
        }
        state.rejected = None;
    }
    // A reload a failed pass wrote for but could not get.
    for file in FILES {
        if state.reload_owed.contains(file.module) && !reloaded.iter().any(|done| done.name == file.name) {
            reload_owed(client, state, file, &mut reloaded).await?;
            mode.get_or_insert("full");
        }
    }
    // The trunks' objects of a node with ARI access, after the files: an
    // object that moves from a file to memory must have left the file.
    let pushed = push_memory(state, &tenants, &owners, &mut failed).await?;
    if pushed.changed {
        mode.get_or_insert("memory");
    }
    if mode.is_some() {
        let dialplan_reloaded = reloaded.iter().any(|file| file.name == EXTENSIONS_FILE);
        if dialplan_reloaded || !live_edited.is_empty() {
            // The live dialplan now runs the compared units as desired, and
            // the others as before (their files, or their live edits).
            let mut live = match state.live_dialplan.take() {
                Some(live) => live,
                None => state.units.get(EXTENSIONS_FILE).cloned().unwrap_or_default(),
            };
            live.extend(desired_units[EXTENSIONS_FILE].iter().map(|(name, sections)| (name.clone(), sections.clone())));
            state.live_dialplan = Some(live);
        }
        if dialplan_reloaded {
            // File and live dialplan both equal the database.
            for persisted in state.live_edits.values_mut() {
                persisted.get_or_insert(now);
            }
            state.unpersisted.clear();
            dialplan = DialplanWrite::File;
        } else if !live_edited.is_empty() {
            for edit in live_edited {
                state.live_edits.insert(edit, None);
            }
            state.unpersisted.extend(tenants.iter().cloned());
            dialplan = DialplanWrite::Live;
        }
    }

    if dialplan == DialplanWrite::Untouched && edited_dialplan {
        // A file the reread found edited: written again as the live
        // dialplan runs, in the background.
        dialplan = DialplanWrite::Live;
    }

    let written_at = Instant::now();
    // What Asterisk holds now, file by file, compared key by key.
    let mut differences = Vec::new();
    for file in FILES {
        let back = if units::PER_TENANT.contains(&file.name) && reloaded.iter().any(|written| written.name == file.name) {
            // Only the units written are read back: the others are as read.
            let written = if file.name == PJSIP_FILE { &pjsip_written } else { &dialplan_written };
            for name in written {
                let back = read_file(client, name).await.map_err(Failure::transient)?;
                if let Some(sections) = desired_units[file.name].get(name) {
                    state.unit_written_back.insert(name.clone(), (sections.clone(), back.clone()));
                }
                state.units.entry(file.name).or_default().insert(name.clone(), back);
            }
            let known = state.units.entry(file.name).or_default();
            let back_units: units::Units =
                desired_units[file.name].keys().filter_map(|name| known.get(name).map(|sections| (name.clone(), sections.clone()))).collect();
            // The model holds every unit again.
            state.files_seen.insert(file.name, Vec::new());
            units::join(file.name, &back_units)
        } else if reloaded.iter().any(|written| written.name == file.name) {
            let back = read_file(client, file.name).await.map_err(Failure::transient)?;
            state.written_back.insert(file.name, (desired[file.name].clone(), back.clone()));
            state.files_seen.insert(file.name, back.clone());
            back
        } else if file.name == EXTENSIONS_FILE && state.live_dialplan.is_some() {
            desired[file.name].clone()
        } else {
            current[file.name].clone()
        };
        if back != desired[file.name] {
            differences.extend(verdict::differences(file.name, &desired[file.name], &back, &owners));
        }
    }

    // Every PJSIP object and transport loaded? After a reload, give it time.
    let mut expected = desired[PJSIP_FILE].clone();
    expected.extend(from_base.iter().filter(|section| verdict::section_type(section) == "transport").cloned());
    let pjsip_reloaded = reloaded.iter().any(|file| file.name == PJSIP_FILE);
    let listed_before = state.pjsip_listed.is_some();
    let deadline = tokio::time::Instant::now() + VERIFY_TIMEOUT;
    let loaded = loop {
        let loaded = match &state.pjsip_listed {
            Some(listed) if !pjsip_reloaded => listed.clone(),
            _ => loaded_pjsip(client).await.map_err(Failure::transient)?,
        };
        if !pjsip_reloaded || verdict::not_loaded(&expected, &loaded).is_empty() || tokio::time::Instant::now() >= deadline {
            state.pjsip_listed = Some(loaded.clone());
            break loaded;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // What was pushed is listed as Asterisk answered for it (its PUT
    // returns the object it now holds), without listing everything again.
    let mut loaded = loaded;
    for (kind, name, present) in &pushed.listed {
        let Some(names) = loaded.0.iter_mut().find(|(listed, _)| **listed == kind.as_str()).map(|(_, names)| names) else { continue };
        if *present {
            names.insert(name.clone());
        } else {
            names.remove(name);
        }
    }
    if pushed.changed {
        state.pjsip_listed = Some(loaded.clone());
    }
    for section in verdict::not_loaded(&expected, &loaded) {
        let identity = (section.name.clone(), verdict::section_type(section).to_string());
        let file = if from_base.contains(section) { BASE_PJSIP_FILE } else { PJSIP_FILE };
        failed.push(verdict::ObjectFailure {
            file: file.into(),
            section: section.name.clone(),
            section_type: identity.1.clone(),
            owner: owners.get(PJSIP_FILE, &section.name).cloned(),
            reason: verdict::refused_reason(file, section, state.loaded_before.get(&identity)),
        });
    }
    // A registration written is in sync once Asterisk runs it as written:
    // listed, with the registrar and address of record of the file (read
    // back from `OutboundRegistrationDetail`, never assumed from the write).
    if pjsip_reloaded {
        let written: Vec<&AmiSection> = pjsip_written
            .iter()
            .filter_map(|name| desired_units[PJSIP_FILE].get(name))
            .flatten()
            .filter(|section| verdict::section_type(section) == "registration")
            .filter(|section| loaded.0.get("registration").is_some_and(|names| names.contains(&section.name)))
            .collect();
        if !written.is_empty() {
            let held = pjsip::registration_details(client).await.map_err(Failure::transient)?;
            for section in written {
                let keys = verdict::registration_not_held(section, held.get(&section.name).unwrap_or(&BTreeMap::new()));
                if !keys.is_empty() {
                    failed.push(verdict::ObjectFailure {
                        file: PJSIP_FILE.into(),
                        section: section.name.clone(),
                        section_type: "registration".into(),
                        owner: owners.get(PJSIP_FILE, &section.name).cloned(),
                        reason: format!(
                            "{PJSIP_FILE}: Asterisk lists registration [{}] but does not run it as written ({} read back differently after the reload)",
                            section.name,
                            keys.join(", ")
                        ),
                    });
                }
            }
        }
    }
    // A changed object Asterisk refused on reload stays listed in its
    // previous version: its changed keys tell. Judged per unit, and kept
    // while the unit is unchanged.
    for (name, sections) in &desired_units[PJSIP_FILE] {
        if pjsip_reloaded {
            let mut kept = Vec::new();
            for section in sections {
                let identity = (section.name.clone(), verdict::section_type(section).to_string());
                let Some(before) = state.loaded_before.get(&identity) else { continue };
                if before == section || !loaded.0.get(identity.1.as_str()).is_some_and(|names| names.contains(&section.name)) {
                    continue;
                }
                let Some(held) = pjsip::detail(client, &identity.1, &section.name).await.map_err(Failure::transient)? else { continue };
                let keys = verdict::retained_keys(before, section, &held);
                if !keys.is_empty() {
                    kept.push(verdict::ObjectFailure {
                        file: PJSIP_FILE.into(),
                        section: section.name.clone(),
                        section_type: identity.1.clone(),
                        owner: owners.get(PJSIP_FILE, &section.name).cloned(),
                        reason: verdict::retained_reason(PJSIP_FILE, section, &keys),
                    });
                }
            }
            state.kept_previous.insert(name.clone(), (sections.clone(), kept));
        }
        match state.kept_previous.get(name) {
            Some((judged, kept)) if judged == sections => failed.extend(kept.iter().cloned()),
            Some(_) => {
                state.kept_previous.remove(name);
            }
            None => {}
        }
    }
    // Remembered as loaded: what Asterisk lists, except what it runs in a
    // previous version.
    if full {
        let identities: BTreeSet<(&str, &str)> = expected.iter().map(|s| (s.name.as_str(), verdict::section_type(s))).collect();
        state.loaded_before.retain(|(name, kind), _| identities.contains(&(name.as_str(), kind.as_str())));
    }
    let taken: Vec<AmiSection> = expected
        .iter()
        .filter(|section| !failed.iter().any(|f| f.section == section.name && f.section_type == verdict::section_type(section)))
        .cloned()
        .collect();
    remember_loaded(state, &taken, &loaded);

    // The dialplan is checked when its file was written (counting a large
    // dialplan on every pass would cost more than the pass).
    if reloaded.iter().any(|file| file.name == EXTENSIONS_FILE) {
        // Counting every context costs what the server holds (one `dialplan
        // show` each): once a session has checked them all, only the
        // contexts this write changed are counted; an unchanged one loads
        // as it did, and keeps its earlier verdict.
        let before: BTreeMap<&str, &AmiSection> = current[EXTENSIONS_FILE].iter().map(|section| (section.name.as_str(), section)).collect();
        for (name, sections) in &desired_units[EXTENSIONS_FILE] {
            let (to_check, unchanged): (Vec<AmiSection>, Vec<AmiSection>) = if state.dialplan_checked {
                sections.iter().cloned().partition(|section| before.get(section.name.as_str()) != Some(&section))
            } else {
                (sections.clone(), Vec::new())
            };
            let mut refused = missing_dialplan(client, &to_check, &owners).await.map_err(Failure::transient)?;
            if let Some((_, earlier)) = state.dialplan_failures.get(name) {
                refused.extend(earlier.iter().filter(|failure| unchanged.iter().any(|section| section.name == failure.section)).cloned());
            }
            state.dialplan_failures.insert(name.clone(), (sections.clone(), refused));
        }
        state.dialplan_checked = true;
    }
    for (name, sections) in &desired_units[EXTENSIONS_FILE] {
        match state.dialplan_failures.get(name) {
            Some((judged, refused)) if judged == sections => failed.extend(refused.iter().cloned()),
            // The dialplan changed since (edited live): judged at its next write.
            Some(_) => {
                state.dialplan_failures.remove(name);
            }
            None => {}
        }
    }

    // What this pass found about the units it compared replaces what
    // earlier passes found about them; the other units' findings stay.
    let unit_of = |file: &str, owner: Option<&verdict::Owner>| -> String {
        let logical = if file == BASE_PJSIP_FILE || file == MEMORY_WIZARD { PJSIP_FILE } else { file };
        match owner.and_then(|owner| owner.tenant_uuid.as_deref()) {
            Some(tenant) if units::PER_TENANT.contains(&logical) => units::tenant_unit(logical, tenant),
            _ => logical.to_string(),
        }
    };
    state.verdicts.retain(|unit, _| !scope.contains(unit));
    for failure in failed {
        state.verdicts.entry(unit_of(&failure.file, failure.owner.as_ref())).or_default().0.push(failure);
    }
    for difference in differences {
        state.verdicts.entry(unit_of(&difference.file, difference.owner.as_ref())).or_default().1.push(difference);
    }
    let failed: Vec<verdict::ObjectFailure> = state.verdicts.values().flat_map(|(failed, _)| failed.iter().cloned()).collect();
    let differences: Vec<verdict::Difference> = state.verdicts.values().flat_map(|(_, differences)| differences.iter().cloned()).collect();

    // The endpoints Asterisk lists, with their owners: again only when
    // res_pjsip was listed again.
    let endpoints = (pjsip_reloaded || pushed.changed || !listed_before || full || !state.endpoints_reported).then(|| {
        let all = if full { owners.clone() } else { state.renders.all_owners() };
        let endpoints: Vec<(String, Option<verdict::Owner>)> = loaded
            .0
            .get("endpoint")
            .into_iter()
            .flatten()
            .map(|name| (name.clone(), all.get(PJSIP_FILE, name).filter(|owner| owner.object == "endpoint_sip").cloned()))
            .collect();
        endpoints
    });
    let rendered = (mode.is_some() || !state.texts_published).then(|| Arc::new(state.renders.clone()));
    let ms = |from: Instant, to: Instant| to.saturating_duration_since(from).as_millis() as u64;
    let done = Instant::now();
    if ms(now, done) >= 500 {
        // Where a slow pass spent its time: what a change waits for.
        tracing::info!(
            load_and_render_ms = ms(now, rendered_at),
            read_ms = ms(rendered_at, read_at),
            write_ms = ms(read_at, written_at),
            check_ms = ms(written_at, done),
            pjsip_units_written = pjsip_written.len(),
            full,
            tenants = tenants.len(),
            "slow sync pass"
        );
    }
    state.endpoints_reported |= endpoints.is_some();
    state.texts_published = true;
    state.unsettled.clear();
    Ok(Applied { revision, dialplan, endpoints, mode, written, rendered, failed, differences, from_base_config })
}
/// Where a refused trunk object was to live (`ObjectFailure::file`).
const MEMORY_WIZARD: &str = "Asterisk's sorcery memory (ARI)";

/// What `push_memory` did.
#[derive(Default)]
struct Pushed {
    /// Something was created or deleted.
    changed: bool,
    /// (type, id, listed now) for each object created or deleted.
    listed: Vec<(String, String, bool)>,
}

/// The node's ARI access changed: the objects pushed with the old access
/// are deleted (best effort: they would shadow nothing, but a file object
/// of the same id would be refused), and the next pass compares every file
/// (the trunks' sections move between the files and memory) and pushes
/// every object again.
async fn switch_ari(state: &mut SyncState, ari: Option<crate::store::nodes::Ari>) -> Result<(), Failure> {
    if let (Some((_, old)), Some(held)) = (&state.ari, &state.memory_held) {
        let ops = memory::plan(Some(held), &BTreeMap::new(), &held.values().map(|object| object.tenant.clone()).collect(), &BTreeSet::new());
        for op in ops {
            if let memory::Op::Delete { key, .. } = op
                && let Err(error) = old.delete(&key.0, &key.1).await
            {
                tracing::warn!(%error, kind = key.0, id = key.1, "deleting a trunk object pushed with the previous ARI access");
            }
        }
    }
    state.ari = match ari {
        Some(settings) => Some((settings.clone(), crate::ari::AriClient::new(&settings).map_err(Failure::transient)?)),
        None => None,
    };
    state.memory_held = None;
    state.files_seen.clear();
    state.units.clear();
    state.pjsip_listed = None;
    Ok(())
}

/// Pushes the SIP trunks' objects of `tenants` (every tenant when Patchbay
/// does not know what Asterisk's memory wizard holds) through ARI
/// (`memory::plan`). An object Asterisk refuses (ARI answers 400 for a
/// field, 403 when a file holds that id) is reported with its owner and
/// the others go on; Asterisk unreachable fails the pass (retried).
async fn push_memory(
    state: &mut SyncState,
    tenants: &BTreeSet<String>,
    owners: &verdict::Owners,
    failed: &mut Vec<verdict::ObjectFailure>,
) -> Result<Pushed, Failure> {
    let Some((_, ari)) = state.ari.clone() else { return Ok(Pushed::default()) };
    let existing: BTreeSet<String> = state.renders.tenants().cloned().collect();
    let scope: BTreeSet<String> = if state.memory_held.is_none() { existing.clone() } else { tenants.clone() };
    let mut desired = BTreeMap::new();
    for tenant in &scope {
        desired.extend(memory::objects(tenant, &state.renders.pjsip_unit_and_trunk_objects(tenant).1));
    }
    let ops = memory::plan(state.memory_held.as_ref(), &desired, &scope, &existing);
    let mut held = state.memory_held.take().unwrap_or_default();
    let mut pushed = Pushed::default();
    let unreachable = |error: crate::ari::AriError| Failure::transient(format!("pushing trunk objects through ARI: {error}"));
    for op in ops {
        match op {
            memory::Op::Delete { key, known } => match ari.delete(&key.0, &key.1).await {
                Ok(was) => {
                    held.remove(&key);
                    pushed.changed |= was;
                    pushed.listed.push((key.0, key.1, false));
                }
                // Not ours to delete (a file holds it): the creation says why.
                Err(crate::ari::AriError::Refused { .. }) if !known => {}
                Err(crate::ari::AriError::Refused { status, message }) => {
                    tracing::warn!(status, message, kind = key.0, id = key.1, "Asterisk refused to delete a trunk object");
                }
                Err(error) => {
                    state.memory_held = Some(held);
                    return Err(unreachable(error));
                }
            },
            memory::Op::Create { key, object } => match ari.put(&key.0, &key.1, &object.fields).await {
                Ok(back) => {
                    pushed.changed = true;
                    pushed.listed.push((key.0.clone(), key.1.clone(), true));
                    // A registration counts once Asterisk runs it as pushed:
                    // its answer is the object it now holds (read back, and
                    // one object, not a listing of every registration).
                    let differ: Vec<&str> = ["server_uri", "client_uri"]
                        .into_iter()
                        .filter(|wanted| key.0 == "registration" && memory::field(&object.fields, wanted) != memory::field(&back, wanted))
                        .collect();
                    if !differ.is_empty() {
                        failed.push(verdict::ObjectFailure {
                            file: MEMORY_WIZARD.into(),
                            owner: owners.get(PJSIP_FILE, &key.1).cloned(),
                            reason: format!(
                                "Asterisk holds registration [{}] but does not run it as pushed ({} read back differently)",
                                key.1,
                                differ.join(", ")
                            ),
                            section: key.1.clone(),
                            section_type: key.0.clone(),
                        });
                    }
                    held.insert(key, object);
                }
                Err(crate::ari::AriError::Refused { status, message }) => failed.push(verdict::ObjectFailure {
                    file: MEMORY_WIZARD.into(),
                    owner: owners.get(PJSIP_FILE, &key.1).cloned(),
                    reason: format!(
                        "Asterisk refused {} {} pushed through ARI ({status}: {message}){}",
                        key.0,
                        key.1,
                        if status == 403 { "; a file Patchbay does not own may define it" } else { "" }
                    ),
                    section: key.1,
                    section_type: key.0,
                }),
                Err(error) => {
                    state.memory_held = Some(held);
                    return Err(unreachable(error));
                }
            },
        }
    }
    state.memory_held = Some(held);
    Ok(pushed)
}

/// The deferred file write: makes each extensions file (one per tenant,
/// see `units`) say what the live dialplan runs (one in-place
/// `UpdateConfig` when it fits, else a whole write of that file), without a
/// reload, and checks it by reading it back. Only the files whose tenant
/// changed are written: the cost is the change's, not the server's.
async fn persist_dialplan(client: &AmiClient, state: &mut SyncState, now: Instant) -> anyhow::Result<()> {
    let Some(live) = &state.live_dialplan else {
        // A reload since: the next pass re-derives everything.
        return Ok(());
    };
    // Taken out of the model while the files are written: a write that
    // fails half-way leaves a file only a fresh read describes.
    let whole = state.files_seen.contains_key(EXTENSIONS_FILE);
    let (mut seen, names): (units::Units, Vec<String>) = match state.files_seen.remove(EXTENSIONS_FILE) {
        // Only the units of the tenants edited live can differ.
        Some(_) => {
            let mut names: Vec<String> = state.unpersisted.iter().map(|tenant| units::tenant_unit(EXTENSIONS_FILE, tenant)).collect();
            names.push(EXTENSIONS_FILE.to_string());
            (state.units.remove(EXTENSIONS_FILE).unwrap_or_default(), names)
        }
        None => (units::Units::new(), live.keys().cloned().collect()),
    };
    let target: units::Units = names.into_iter().filter_map(|name| live.get(&name).map(|sections| (name, sections.clone()))).collect();
    let mut failure = None;
    for (name, wanted) in &target {
        match persist_unit(client, name, wanted, seen.get(name).cloned()).await {
            Ok(back) => {
                seen.insert(name.clone(), back);
            }
            Err(error) => {
                // Read again next time; the other units stay known, and
                // only the tenants still unpersisted are tried again.
                seen.remove(name);
                failure = Some(error);
                break;
            }
        }
    }
    if whole || failure.is_none() {
        state.files_seen.insert(EXTENSIONS_FILE, Vec::new());
    }
    state.units.insert(EXTENSIONS_FILE, seen);
    if let Some(error) = failure {
        return Err(error);
    }
    state.unpersisted.clear();
    for persisted in state.live_edits.values_mut() {
        persisted.get_or_insert(now);
    }
    Ok(())
}

/// Makes the extensions file `name` say `wanted` (in place when one message
/// does it, else written whole) unless `file` (what it holds, or read now)
/// already does; returns it as read back.
async fn persist_unit(client: &AmiClient, name: &str, wanted: &[AmiSection], file: Option<Vec<AmiSection>>) -> anyhow::Result<Vec<AmiSection>> {
    let file = match file {
        Some(file) => file,
        None => read_file(client, name).await?,
    };
    if same_config(&file, wanted) {
        return Ok(file);
    }
    match IncrementalPlan::new(&file, wanted).filter(|plan| plan.file_message(name).is_some()) {
        Some(plan) => persist(client, name, &plan).await?,
        None => config_writer::write_config(client, name, wanted, None).await?,
    }
    let back = read_file(client, name).await?;
    anyhow::ensure!(same_config(&back, wanted), "{name} reads back differently from what was written");
    Ok(back)
}

fn files_equal(a: &Files, b: &Files) -> bool {
    a.len() == b.len() && a.iter().all(|(name, sections)| b.get(name).is_some_and(|other| same_config(sections, other)))
}

/// Keeps, of `sections`, those Asterisk lists as loaded.
fn remember_loaded(state: &mut SyncState, sections: &[AmiSection], loaded: &verdict::Loaded) {
    for section in sections {
        let identity = (section.name.clone(), verdict::section_type(section).to_string());
        if loaded.0.get(identity.1.as_str()).is_some_and(|names| names.contains(&section.name)) {
            state.loaded_before.insert(identity, section.clone());
        }
    }
}

/// What Asterisk lists as loaded: every PJSIP object type and transport.
async fn loaded_pjsip(client: &AmiClient) -> Result<verdict::Loaded, AmiError> {
    let mut loaded = verdict::Loaded::default();
    for kind in ["endpoint", "aor", "auth", "registration"] {
        loaded.0.insert(kind, pjsip::names(client, kind).await?);
    }
    loaded.0.insert("transport", pjsip::transports(client).await?);
    Ok(loaded)
}

/// Contexts of the file whose priorities Asterisk did not all load, each
/// failed for its owner. pbx_config loads the lines it can: the others
/// keep working. Waits up to [`VERIFY_TIMEOUT`] for the reload to finish.
async fn missing_dialplan(client: &AmiClient, sections: &[AmiSection], owners: &verdict::Owners) -> Result<Vec<verdict::ObjectFailure>, AmiError> {
    let deadline = tokio::time::Instant::now() + VERIFY_TIMEOUT;
    loop {
        let mut missing = Vec::new();
        for section in sections {
            let wanted = section.lines.iter().filter(|(key, _)| key == "exten" || key == "same").count();
            let reason = match context_priorities(client, &section.name).await? {
                None => format!("Asterisk did not load dialplan context {}: `dialplan show {}` does not find it", section.name, section.name),
                // `>=`: the base extensions.conf may add to the same context.
                Some(loaded) if loaded < wanted => format!(
                    "dialplan context {}: Asterisk loaded {loaded} of its {wanted} priorities (`dialplan show`); Asterisk's log names the refused lines",
                    section.name
                ),
                Some(_) => continue,
            };
            missing.push(verdict::ObjectFailure {
                file: EXTENSIONS_FILE.into(),
                section: section.name.clone(),
                section_type: "context".into(),
                owner: owners.get(EXTENSIONS_FILE, &section.name).cloned(),
                reason,
            });
        }
        if missing.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(missing);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The PJSIP endpoints Asterisk has loaded (`PJSIPShowEndpoints`).
pub async fn endpoints(client: &AmiClient) -> Result<Vec<String>, AmiError> {
    Ok(pjsip::names(client, "endpoint").await?.into_iter().collect())
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
