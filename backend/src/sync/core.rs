//! The sans-IO heart of the sync task: when to compare Asterisk with the
//! database, when to write the deferred dialplan file, when to look for a
//! reload nobody announced, and which revision Asterisk verifiably holds for
//! each tenant.
//!
//! Shaped like quinn-proto's `Connection`: [`SyncCore::handle`] takes an
//! [`Input`] (a committed revision, the AMI session coming and going, the
//! outcome of an action) with the time it happened; [`SyncCore::poll_action`]
//! returns the next [`Action`] to run; [`SyncCore::poll_timeout`] says when to
//! ask again if nothing happens. It never reads the clock and never touches a
//! socket, so every schedule below is tested with a virtual clock; the loop
//! in `sync::run` only runs the actions and feeds their outcomes back.
//!
//! One action runs at a time. Changes committed while one runs are not lost
//! and not each given a pass: they become one pass after it (batching), and
//! changes arriving within [`Timers::batch_quiet`] of each other become one
//! pass too (debounce, bounded by [`Timers::batch_at_most`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The store's revision: every committed write gets the next one.
pub type Revision = u64;

/// Every delay the core decides with.
#[derive(Debug, Clone, Copy)]
pub struct Timers {
    /// A change waits this long for others to join it in one pass.
    pub batch_quiet: Duration,
    /// A stream of changes puts its pass off at most this long.
    pub batch_at_most: Duration,
    /// A comparison with Asterisk runs at least this often.
    pub reconcile_every: Duration,
    /// The first retry after a failure that was not Asterisk refusing the
    /// configuration (a lost connection, a timeout); doubles up to
    /// `retry_at_most`.
    pub retry_first: Duration,
    pub retry_at_most: Duration,
    /// A live dialplan edit waits this long for more before its file is
    /// written; a stream of edits puts the write off at most
    /// `persist_at_most`.
    pub persist_quiet: Duration,
    pub persist_at_most: Duration,
    /// Live edits are watched for a reload (the sentinel) this long after
    /// their file write: a reload may have read the file just before it.
    pub reload_grace: Duration,
    /// How often the sentinel is checked while watching.
    pub watch_every: Duration,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            batch_quiet: Duration::from_millis(5),
            batch_at_most: Duration::from_millis(100),
            reconcile_every: Duration::from_secs(15),
            retry_first: Duration::from_millis(250),
            retry_at_most: Duration::from_secs(4),
            persist_quiet: Duration::from_millis(1500),
            persist_at_most: Duration::from_secs(10),
            reload_grace: Duration::from_secs(60),
            watch_every: Duration::from_secs(1),
        }
    }
}

/// Something that happened, fed to [`SyncCore::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The database committed `revision` (notifications may arrive out of
    /// order or be merged: the highest counts).
    Changed(Revision),
    /// A new AMI session: possibly a restarted Asterisk, whose live
    /// dialplan and objects are whatever its files say.
    Connected,
    /// The AMI session is gone: nothing Asterisk holds can be read back.
    Disconnected,
    /// Asterisk reported a reload (`Reload` event, or events were lost):
    /// its live dialplan may have gone back to the file.
    ReloadSeen,
    /// The outcome of the action with this id.
    Done { id: u64, outcome: Outcome },
}

/// What an action found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `core waitfullybooted` answered (or not).
    Booted { ok: bool },
    /// A pass compared Asterisk with the database at `revision` and checked
    /// what it holds.
    Checked(Checked),
    /// Asterisk refused to write the configuration: not retried until the
    /// database changes or the session is new.
    Refused,
    /// Anything else (Asterisk away, a timeout): retried with back-off.
    Failed,
    /// The deferred dialplan file write finished (or not).
    Persisted { ok: bool },
    /// Whether the sentinel context is still in the live dialplan.
    Sentinel { present: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checked {
    /// The database revision the pass rendered.
    pub revision: Revision,
    /// Tenants with an object Asterisk did not take (or read back
    /// differently): they do not hold this revision.
    pub failing_tenants: BTreeSet<String>,
    /// An object every tenant shares (a transport, `[global]`) failed:
    /// no tenant holds this revision.
    pub shared_failing: bool,
    /// What the pass did to the dialplan.
    pub dialplan: DialplanWrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DialplanWrite {
    /// Left as it was.
    #[default]
    Untouched,
    /// Edited live: the file follows later ([`Action::PersistDialplan`]).
    Live,
    /// The file written whole and reloaded: file and live dialplan agree.
    File,
}

/// What the loop must run next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Wait until Asterisk has loaded every module (a reload before that
    /// races the boot).
    WaitFullyBooted { id: u64 },
    /// Compare with Asterisk and write what differs. `distrust`: the live
    /// dialplan may have been reloaded from the file since Patchbay edited
    /// it, so it is read again and recent live edits are re-applied.
    /// `reread`: read files again even where a model is kept (the files
    /// without units, and the next slice of the per-tenant units).
    Pass { id: u64, distrust: bool, reread: bool },
    /// Make the dialplan file say what the live dialplan runs.
    PersistDialplan { id: u64 },
    /// Is the sentinel context still live? Gone means a reload.
    CheckSentinel { id: u64 },
}

impl Action {
    fn id(&self) -> u64 {
        match self {
            Action::WaitFullyBooted { id } | Action::Pass { id, .. } | Action::PersistDialplan { id } | Action::CheckSentinel { id } => *id,
        }
    }
}

/// Which revision Asterisk holds, as last read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// The revision of the last pass that checked Asterisk in this session,
    /// for every tenant not listed in `behind` (`None`: none yet).
    pub revision: Option<Revision>,
    /// Tenants whose objects Asterisk did not all take, with the last
    /// revision they were whole at (`None`: not in this session).
    pub behind: BTreeMap<String, Option<Revision>>,
}

impl Held {
    /// The revision Asterisk holds for `tenant`.
    pub fn for_tenant(&self, tenant: &str) -> Option<Revision> {
        match self.behind.get(tenant) {
            Some(revision) => *revision,
            None => self.revision,
        }
    }
}

pub struct SyncCore {
    timers: Timers,
    next_id: u64,
    /// The action running, if any: only its outcome is accepted.
    running: Option<Action>,
    connected: bool,
    booted: bool,
    /// Highest revision committed, and the highest a finished pass covered
    /// (checked or refused).
    requested: Revision,
    covered: Option<Revision>,
    /// First and last change not yet covered by a pass that started.
    batch: Option<(Instant, Instant)>,
    /// Revision a pass running now may cover at most (`requested` when it
    /// started).
    running_covers: Revision,
    /// The next pass reads the live dialplan again and re-applies.
    distrust: bool,
    /// After a failure: retry then, and the delay to double next time.
    retry: Option<(Instant, Duration)>,
    /// Asterisk refused the configuration at this revision.
    refused_at: Option<Revision>,
    last_compare: Instant,
    last_reread: Instant,
    /// The deferred file write: when due, and when its first edit was made.
    persist: Option<(Instant, Instant)>,
    /// Watch for a reload until then, checking at most every `watch_every`.
    watch_until: Option<Instant>,
    last_watch: Instant,
    held: Held,
}

impl SyncCore {
    pub fn new(timers: Timers, now: Instant) -> SyncCore {
        SyncCore {
            timers,
            next_id: 1,
            running: None,
            connected: false,
            booted: false,
            requested: 0,
            covered: None,
            batch: None,
            running_covers: 0,
            distrust: true,
            retry: None,
            refused_at: None,
            last_compare: now,
            last_reread: now,
            persist: None,
            watch_until: None,
            last_watch: now,
            held: Held::default(),
        }
    }

    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Changed(revision) => {
                if revision <= self.requested {
                    return; // late or repeated news
                }
                self.requested = revision;
                self.batch = Some(match self.batch {
                    Some((first, _)) => (first, now),
                    None => (now, now),
                });
            }
            Input::Connected => {
                self.connected = true;
                self.booted = false;
                // Anything may have happened while away: the live dialplan
                // is whatever the files say; refusals get a new chance.
                self.distrust = true;
                self.refused_at = None;
                self.retry = None;
                self.running = None;
            }
            Input::Disconnected => {
                self.connected = false;
                self.booted = false;
                // An outcome of the old session is stale.
                self.running = None;
                // Nothing can be read back: no revision is held any more.
                self.held = Held::default();
            }
            Input::ReloadSeen => self.distrust = true,
            Input::Done { id, outcome } => {
                if self.running.as_ref().is_none_or(|running| running.id() != id) {
                    return; // stale (the session changed since) or unknown
                }
                let running = self.running.take();
                self.finish(now, running, outcome);
            }
        }
    }

    fn finish(&mut self, now: Instant, running: Option<Action>, outcome: Outcome) {
        match outcome {
            Outcome::Booted { ok: true } => {
                self.booted = true;
                self.retry = None;
            }
            Outcome::Booted { ok: false } => self.fail(now),
            Outcome::Checked(checked) => {
                self.retry = None;
                self.last_compare = now;
                if let Some(Action::Pass { reread: true, .. }) = running {
                    self.last_reread = now;
                }
                self.refused_at = None;
                self.cover(checked.revision.max(self.running_covers));
                self.hold(&checked);
                match checked.dialplan {
                    DialplanWrite::Untouched => {}
                    DialplanWrite::Live => {
                        let first = self.persist.map_or(now, |(_, first)| first);
                        let due = (now + self.timers.persist_quiet).min(first + self.timers.persist_at_most);
                        self.persist = Some((due, first));
                        // Watched until `reload_grace` after the file write.
                        self.watch_until = None;
                    }
                    DialplanWrite::File => {
                        if self.persist.take().is_some() || self.watch_until.is_some() {
                            self.watch_until = Some(now + self.timers.reload_grace);
                        }
                    }
                }
            }
            Outcome::Refused => {
                self.last_compare = now;
                self.retry = None;
                self.refused_at = Some(self.running_covers);
                self.cover(self.running_covers);
            }
            Outcome::Failed => self.fail(now),
            Outcome::Persisted { ok: true } => {
                self.persist = None;
                self.watch_until = Some(now + self.timers.reload_grace);
            }
            Outcome::Persisted { ok: false } => {
                if let Some((_, first)) = self.persist {
                    self.persist = Some((now + self.retry_delay(), first));
                }
            }
            Outcome::Sentinel { present } => {
                self.last_watch = now;
                if !present {
                    self.distrust = true;
                }
            }
        }
    }

    fn cover(&mut self, revision: Revision) {
        self.covered = Some(self.covered.map_or(revision, |covered| covered.max(revision)));
    }

    /// Which tenants now hold `checked.revision`.
    fn hold(&mut self, checked: &Checked) {
        let before = self.held.clone();
        if checked.shared_failing {
            // Nobody holds it whole; each keeps what it had.
            return;
        }
        if before.revision.is_some_and(|held| held > checked.revision) {
            return; // an older snapshot than one already checked
        }
        self.held.revision = Some(checked.revision);
        self.held.behind = checked.failing_tenants.iter().map(|tenant| (tenant.clone(), before.for_tenant(tenant))).collect();
    }

    fn retry_delay(&self) -> Duration {
        self.retry.map_or(self.timers.retry_first, |(_, delay)| delay)
    }

    fn fail(&mut self, now: Instant) {
        let delay = self.retry_delay();
        self.retry = Some((now + delay, (delay * 2).min(self.timers.retry_at_most)));
    }

    /// When the pending change's pass is due (`None`: no change waits, or
    /// the last refusal covers it).
    fn change_due(&self) -> Option<Instant> {
        let (first, last) = self.batch?;
        if self.refused_at.is_some_and(|refused| refused >= self.requested) {
            return None;
        }
        Some((last + self.timers.batch_quiet).min(first + self.timers.batch_at_most))
    }

    fn watching(&self, now: Instant) -> bool {
        self.persist.is_some() || self.watch_until.is_some_and(|until| until > now)
    }

    /// The next action to run now, if any.
    pub fn poll_action(&mut self, now: Instant) -> Option<Action> {
        if self.running.is_some() || !self.connected {
            return None;
        }
        let retry_due = self.retry.is_none_or(|(at, _)| at <= now);
        let id = self.next_id;
        let action = if !self.booted {
            retry_due.then_some(Action::WaitFullyBooted { id })?
        } else if !retry_due {
            // Backing off: only the file write and the watch may run.
            self.side_action(now, id)?
        } else if self.retry.is_some() || self.distrust || self.change_due().is_some_and(|due| due <= now) {
            self.pass(now, id)
        } else if let Some(action) = self.side_action(now, id) {
            action
        } else if self.last_compare + self.timers.reconcile_every <= now {
            self.pass(now, id)
        } else {
            return None;
        };
        self.next_id += 1;
        self.running = Some(action.clone());
        Some(action)
    }

    fn side_action(&self, now: Instant, id: u64) -> Option<Action> {
        if self.persist.is_some_and(|(due, _)| due <= now) {
            return Some(Action::PersistDialplan { id });
        }
        if self.watching(now) && self.last_watch + self.timers.watch_every <= now {
            return Some(Action::CheckSentinel { id });
        }
        None
    }

    fn pass(&mut self, now: Instant, id: u64) -> Action {
        let distrust = std::mem::take(&mut self.distrust);
        // The periodic check reads every file again (someone may have
        // edited one), unless a write of the dialplan is pending.
        let reread = self.persist.is_none() && self.last_reread + self.timers.reconcile_every <= now;
        self.batch = None;
        self.running_covers = self.requested;
        Action::Pass { id, distrust, reread }
    }

    /// When to call [`poll_action`](Self::poll_action) again if no input
    /// comes (`None`: only an input can make something due).
    pub fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        if self.running.is_some() || !self.connected {
            return None;
        }
        let mut due: Vec<Instant> = Vec::new();
        let retry_at = self.retry.map(|(at, _)| at);
        if !self.booted {
            return Some(retry_at.unwrap_or(now));
        }
        due.extend(retry_at);
        due.extend(self.persist.map(|(at, _)| at));
        if self.watching(now) {
            due.push(self.last_watch + self.timers.watch_every);
        }
        if retry_at.is_none_or(|at| at <= now) {
            if self.distrust {
                due.push(now);
            }
            due.extend(self.change_due());
            due.push(self.last_compare + self.timers.reconcile_every);
        }
        due.into_iter().min()
    }

    /// Highest revision committed.
    pub fn requested(&self) -> Revision {
        self.requested
    }

    /// Highest revision a finished pass covered: a client waiting for its
    /// revision has its answer (live, or refused) once this reaches it.
    pub fn covered(&self) -> Option<Revision> {
        self.covered
    }

    pub fn held(&self) -> &Held {
        &self.held
    }

    /// A committed change no finished pass has covered yet.
    pub fn pending(&self) -> bool {
        self.requested > self.covered.unwrap_or(0)
    }

    /// A live dialplan edit's file write is still to come.
    pub fn dialplan_file_pending(&self) -> bool {
        self.persist.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core on a virtual clock, with the actions it asked for.
    struct Harness {
        core: SyncCore,
        now: Instant,
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    impl Harness {
        fn new() -> Harness {
            let now = Instant::now();
            Harness { core: SyncCore::new(Timers::default(), now), now }
        }

        fn input(&mut self, input: Input) {
            self.core.handle(self.now, input);
        }

        fn advance(&mut self, by: Duration) {
            self.now += by;
        }

        fn poll(&mut self) -> Option<Action> {
            self.core.poll_action(self.now)
        }

        /// Advances to the core's next timeout (at most `limit`) and polls.
        fn next(&mut self, limit: Duration) -> Option<Action> {
            let until = self.now + limit;
            if let Some(action) = self.poll() {
                return Some(action);
            }
            let at = self.core.poll_timeout(self.now)?;
            if at > until {
                self.now = until;
                return None;
            }
            self.now = self.now.max(at);
            self.poll()
        }

        fn done(&mut self, action: &Action, outcome: Outcome) {
            self.input(Input::Done { id: action.id(), outcome });
        }

        fn checked(&mut self, action: &Action, revision: Revision) {
            self.done(action, Outcome::Checked(Checked { revision, ..Checked::default() }));
        }

        /// Connected, booted, first pass checked at `revision`.
        fn ready(revision: Revision) -> Harness {
            let mut h = Harness::new();
            h.input(Input::Changed(revision));
            h.input(Input::Connected);
            let boot = h.poll().expect("boot wait");
            assert!(matches!(boot, Action::WaitFullyBooted { .. }));
            h.done(&boot, Outcome::Booted { ok: true });
            let pass = h.poll().expect("first pass");
            assert!(matches!(pass, Action::Pass { distrust: true, .. }), "{pass:?}");
            h.checked(&pass, revision);
            assert_eq!(h.poll(), None);
            h
        }
    }

    fn is_pass(action: &Option<Action>) -> bool {
        matches!(action, Some(Action::Pass { .. }))
    }

    #[test]
    fn changes_arriving_together_become_one_pass() {
        let mut h = Harness::ready(1);
        h.input(Input::Changed(2));
        assert_eq!(h.poll(), None, "waits for more");
        h.advance(ms(2));
        h.input(Input::Changed(3));
        h.advance(ms(2));
        h.input(Input::Changed(4));
        assert_eq!(h.poll(), None);
        let pass = h.next(ms(50));
        assert!(is_pass(&pass), "{pass:?}");
        assert!(h.core.pending());
        h.checked(pass.as_ref().unwrap(), 4);
        assert_eq!(h.core.held().revision, Some(4));
        assert_eq!(h.core.covered(), Some(4));
        assert!(!h.core.pending());
        assert_eq!(h.next(ms(1000)), None, "one pass for the three changes");
    }

    #[test]
    fn a_stream_of_changes_is_not_put_off_forever() {
        let mut h = Harness::ready(1);
        let start = h.now;
        let mut revision = 1;
        let pass = loop {
            revision += 1;
            h.input(Input::Changed(revision));
            h.advance(ms(3));
            if let Some(action) = h.poll() {
                break action;
            }
        };
        assert!(matches!(pass, Action::Pass { .. }));
        assert!(h.now - start <= Timers::default().batch_at_most + ms(3));
    }

    #[test]
    fn changes_during_a_pass_become_one_pass_after_it() {
        let mut h = Harness::ready(1);
        h.input(Input::Changed(2));
        let pass = h.next(ms(50)).unwrap();
        h.input(Input::Changed(3));
        h.input(Input::Changed(4));
        assert_eq!(h.next(ms(500)), None, "one action at a time");
        h.checked(&pass, 2);
        assert_eq!(h.core.held().revision, Some(2));
        assert!(h.core.pending(), "3 and 4 are on their way");
        let second = h.next(ms(50)).unwrap();
        assert!(matches!(second, Action::Pass { .. }));
        h.checked(&second, 4);
        assert_eq!(h.next(ms(1000)), None);
        assert_eq!(h.core.held().revision, Some(4));
    }

    #[test]
    fn a_failed_pass_is_retried_with_back_off_then_succeeds() {
        let mut h = Harness::ready(1);
        h.input(Input::Changed(2));
        let mut action = h.next(ms(50)).unwrap();
        let mut delays = Vec::new();
        for _ in 0..6 {
            let failed_at = h.now;
            h.done(&action, Outcome::Failed);
            action = h.next(ms(60_000)).unwrap();
            assert!(matches!(action, Action::Pass { .. }));
            delays.push(h.now - failed_at);
        }
        assert_eq!(delays, [ms(250), ms(500), ms(1000), ms(2000), ms(4000), ms(4000)]);
        assert_eq!(h.core.held().revision, Some(1), "2 not held while failing");
        h.checked(&action, 2);
        assert_eq!(h.core.held().revision, Some(2));
        // The back-off starts over.
        h.input(Input::Changed(3));
        let pass = h.next(ms(50)).unwrap();
        let failed_at = h.now;
        h.done(&pass, Outcome::Failed);
        h.next(ms(60_000)).unwrap();
        assert_eq!(h.now - failed_at, ms(250));
    }

    #[test]
    fn a_refused_configuration_waits_for_the_next_change() {
        let mut h = Harness::ready(1);
        h.input(Input::Changed(2));
        let pass = h.next(ms(50)).unwrap();
        h.done(&pass, Outcome::Refused);
        let refused_at = h.now;
        assert_eq!(h.core.covered(), Some(2), "the client waiting for 2 has its answer");
        assert!(!h.core.pending());
        assert_eq!(h.core.held().revision, Some(1));
        // Only the periodic check, not a retry loop.
        let next = h.next(ms(60_000)).unwrap();
        assert_eq!(h.now - refused_at, Timers::default().reconcile_every);
        assert!(matches!(next, Action::Pass { .. }));
        h.done(&next, Outcome::Refused);
        h.input(Input::Changed(3));
        assert!(is_pass(&h.next(ms(50))), "a new change is tried at once");
    }

    #[test]
    fn a_partial_failure_holds_back_only_the_failing_tenant() {
        let mut h = Harness::ready(1);
        h.input(Input::Changed(2));
        let pass = h.next(ms(50)).unwrap();
        let failing = BTreeSet::from(["bravo".to_string()]);
        h.done(&pass, Outcome::Checked(Checked { revision: 2, failing_tenants: failing.clone(), ..Checked::default() }));
        assert_eq!(h.core.held().for_tenant("acme"), Some(2));
        assert_eq!(h.core.held().for_tenant("bravo"), Some(1), "bravo still runs what it had");
        h.input(Input::Changed(3));
        let pass = h.next(ms(50)).unwrap();
        h.done(&pass, Outcome::Checked(Checked { revision: 3, failing_tenants: failing, ..Checked::default() }));
        assert_eq!(h.core.held().for_tenant("bravo"), Some(1), "still behind since 1");
        h.input(Input::Changed(4));
        let pass = h.next(ms(50)).unwrap();
        h.checked(&pass, 4);
        assert_eq!(h.core.held().for_tenant("bravo"), Some(4));
        // A shared object failing: nobody holds the new revision.
        h.input(Input::Changed(5));
        let pass = h.next(ms(50)).unwrap();
        h.done(&pass, Outcome::Checked(Checked { revision: 5, shared_failing: true, ..Checked::default() }));
        assert_eq!(h.core.held().for_tenant("acme"), Some(4));
        assert_eq!(h.core.covered(), Some(5));
    }

    #[test]
    fn an_asterisk_restart_is_a_full_comparison_after_the_boot() {
        let mut h = Harness::ready(3);
        h.input(Input::Disconnected);
        assert_eq!(h.core.held().revision, None, "nothing read back while away");
        assert_eq!(h.next(ms(10_000)), None);
        h.input(Input::Changed(4));
        assert_eq!(h.next(ms(10_000)), None, "nothing to run without Asterisk");
        h.input(Input::Connected);
        let boot = h.poll().unwrap();
        assert!(matches!(boot, Action::WaitFullyBooted { .. }));
        h.done(&boot, Outcome::Booted { ok: false });
        assert_eq!(h.poll(), None, "retried after a pause");
        let boot = h.next(ms(1000)).unwrap();
        assert!(matches!(boot, Action::WaitFullyBooted { .. }));
        h.done(&boot, Outcome::Booted { ok: true });
        let pass = h.poll().unwrap();
        assert!(matches!(pass, Action::Pass { distrust: true, .. }), "{pass:?}");
        h.checked(&pass, 4);
        assert_eq!(h.core.held().revision, Some(4));
    }

    #[test]
    fn an_external_reload_distrusts_the_live_dialplan_at_once() {
        let mut h = Harness::ready(1);
        h.input(Input::ReloadSeen);
        let pass = h.poll().unwrap();
        assert!(matches!(pass, Action::Pass { distrust: true, .. }));
        h.checked(&pass, 1);
        // A reload nobody announced: the sentinel is gone.
        h.input(Input::Changed(2));
        let pass = h.next(ms(50)).unwrap();
        assert!(matches!(pass, Action::Pass { distrust: false, .. }));
        h.done(&pass, Outcome::Checked(Checked { revision: 2, dialplan: DialplanWrite::Live, ..Checked::default() }));
        let check = h.next(ms(1000)).unwrap();
        assert!(matches!(check, Action::CheckSentinel { .. }), "{check:?}");
        h.done(&check, Outcome::Sentinel { present: true });
        let persist = h.next(ms(1000)).unwrap();
        assert!(matches!(persist, Action::PersistDialplan { .. }), "{persist:?}");
        h.done(&persist, Outcome::Persisted { ok: true });
        // Still watched after the file write: a reload may have read the
        // file just before it.
        let check = h.next(ms(1000)).unwrap();
        assert!(matches!(check, Action::CheckSentinel { .. }), "{check:?}");
        h.done(&check, Outcome::Sentinel { present: false });
        let pass = h.poll().unwrap();
        assert!(matches!(pass, Action::Pass { distrust: true, .. }));
    }

    #[test]
    fn live_edits_get_one_file_write_after_the_burst_then_are_watched_for_a_while() {
        let t = Timers::default();
        let mut h = Harness::ready(1);
        let first_edit = h.now;
        for revision in 2..=4 {
            h.input(Input::Changed(revision));
            let pass = h.next(ms(50)).unwrap();
            h.done(&pass, Outcome::Checked(Checked { revision, dialplan: DialplanWrite::Live, ..Checked::default() }));
            assert!(h.core.dialplan_file_pending());
            h.advance(ms(400));
        }
        let persist = loop {
            match h.next(ms(10_000)).unwrap() {
                check @ Action::CheckSentinel { .. } => h.done(&check, Outcome::Sentinel { present: true }),
                other => break other,
            }
        };
        assert!(matches!(persist, Action::PersistDialplan { .. }), "{persist:?}");
        assert!(h.now - first_edit >= ms(800) + t.persist_quiet && h.now - first_edit <= t.persist_at_most);
        h.done(&persist, Outcome::Persisted { ok: true });
        assert!(!h.core.dialplan_file_pending());
        let written = h.now;
        let mut checks = 0;
        while let Some(action) = h.next(t.reload_grace + ms(1)) {
            match action {
                Action::CheckSentinel { .. } => {
                    checks += 1;
                    h.done(&action, Outcome::Sentinel { present: true })
                }
                Action::Pass { .. } => h.checked(&action, 4),
                other => panic!("unexpected {other:?}"),
            }
            if h.now > written + t.reload_grace + t.watch_every {
                break;
            }
        }
        assert!(checks >= 50, "watched through the grace period ({checks})");
        // After it, only the periodic comparison.
        let next = h.next(t.reconcile_every + ms(1)).unwrap();
        assert!(matches!(next, Action::Pass { .. }), "{next:?}");
    }

    #[test]
    fn a_failed_file_write_is_retried() {
        let mut h = Harness::ready(1);
        h.input(Input::Changed(2));
        let pass = h.next(ms(50)).unwrap();
        h.done(&pass, Outcome::Checked(Checked { revision: 2, dialplan: DialplanWrite::Live, ..Checked::default() }));
        let persist = loop {
            match h.next(ms(10_000)).unwrap() {
                check @ Action::CheckSentinel { .. } => h.done(&check, Outcome::Sentinel { present: true }),
                other => break other,
            }
        };
        h.done(&persist, Outcome::Persisted { ok: false });
        assert!(h.core.dialplan_file_pending());
        let again = loop {
            match h.next(ms(10_000)).unwrap() {
                check @ Action::CheckSentinel { .. } => h.done(&check, Outcome::Sentinel { present: true }),
                other => break other,
            }
        };
        assert!(matches!(again, Action::PersistDialplan { .. }));
    }

    #[test]
    fn events_out_of_order_change_nothing_they_should_not() {
        let mut h = Harness::ready(1);
        h.input(Input::Changed(5));
        h.input(Input::Changed(3)); // a late notification of an older commit
        assert_eq!(h.core.requested(), 5);
        let pass = h.next(ms(50)).unwrap();
        // The session drops while the pass runs; its outcome arrives late.
        h.input(Input::Disconnected);
        h.input(Input::Connected);
        h.checked(&pass, 5);
        assert_eq!(h.core.held().revision, None, "the old session's outcome is ignored");
        assert_eq!(h.core.covered(), Some(1));
        let boot = h.poll().unwrap();
        // An outcome for an action never asked for is ignored too.
        h.input(Input::Done { id: 999, outcome: Outcome::Booted { ok: true } });
        assert_eq!(h.poll(), None, "still waiting for the boot");
        h.done(&boot, Outcome::Booted { ok: true });
        let pass = h.poll().unwrap();
        h.checked(&pass, 5);
        assert_eq!(h.core.held().revision, Some(5));
        // A pass that read an older snapshot than one already checked does
        // not move the held revision back.
        h.input(Input::Changed(6));
        let pass = h.next(ms(50)).unwrap();
        h.checked(&pass, 4);
        assert_eq!(h.core.held().revision, Some(5));
    }

    #[test]
    fn the_periodic_comparison_rereads_the_files() {
        let t = Timers::default();
        let mut h = Harness::ready(1);
        let pass = h.next(t.reconcile_every + ms(1)).unwrap();
        assert!(matches!(pass, Action::Pass { distrust: false, reread: true, .. }), "{pass:?}");
        h.checked(&pass, 1);
        assert_eq!(h.next(t.reconcile_every - ms(1)), None);
    }
}
