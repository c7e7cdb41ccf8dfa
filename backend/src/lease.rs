//! Several Patchbays on one database: which instance applies to a node.
//!
//! Every instance serves the whole API; for each node exactly one, the
//! holder of the node's lease (`store::leases`), runs its sync apply and
//! health probes. The lease is a row with a holder and an expiry: an
//! instance takes it when it is free or expired, renews it every
//! [`Timers::renew_every_ms`], and its drivers stop when a renewal has not
//! been confirmed [`Timers::safety_ms`] before the expiry it asked for. When
//! a holder stops (killed, its database link gone), its lease expires after
//! [`Timers::ttl_ms`] and another instance takes it and starts its driver,
//! whose first pass reads everything back, as after a reconnect.
//!
//! **Clocks.** The expiry is written in the asking instance's wall clock
//! (Unix ms) and compared with the asking instance's wall clock: instances'
//! clocks must agree within less than `safety_ms` (1.5 s; NTP keeps them
//! within milliseconds). The holder counts its lease from the moment it
//! *sent* the renewal (a slow commit only shortens it), so with clocks that
//! agree the holder has stopped applying before any other instance can
//! take the lease. The database's clock is not used (SQLite and
//! PostgreSQL spell "now" differently; the SQL stays portable).
//!
//! With each renewal the holder writes its [`Progress`] (the revision
//! Asterisk verifiably holds, per tenant, and whether its last pass was
//! complete); the other instances show it in their status, so
//! `/status?wait_for=` answers on every instance. A change of progress
//! renews early (at most every [`Timers::publish_gap_ms`]), so the others
//! see a pass's result a few hundred milliseconds after the holder.
//!
//! [`LeaseCore`] holds the decisions, sans-IO like `sync::core`: it is
//! given the time and the result of the last database call, and says what
//! to do next ([`Action`]); it never reads the clock. [`hold`] runs it.

use crate::store::{Store, StoreError, leases};
use crate::sync::core::{Held, Revision};
use crate::sync::{AsteriskLink, AsteriskStatus};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the holder last verified of its node, for the other instances'
/// status (the lists of refused objects stay the holder's).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    pub connected: bool,
    /// The last pass was complete (connected, transports listed).
    pub ok: bool,
    pub message: String,
    /// The highest revision a finished pass covered.
    pub checked: Option<Revision>,
    /// The revision Asterisk holds, and the tenants behind it.
    pub held: Option<Revision>,
    pub behind: BTreeMap<String, Option<Revision>>,
    pub last_check_at: Option<u64>,
}

impl Progress {
    pub fn of(status: &AsteriskStatus) -> Progress {
        Progress {
            connected: status.connected,
            ok: status.globally_ok,
            message: status.message.clone(),
            checked: status.revision_checked,
            held: status.held.revision,
            behind: status.held.behind.clone(),
            last_check_at: status.last_check_at,
        }
    }

    /// `status` (a link that does not apply) as the holder `holder` reported.
    pub fn show_in(self, status: &mut AsteriskStatus, holder: &str) {
        status.connected = self.connected;
        status.globally_ok = self.ok;
        status.in_sync = self.ok;
        status.message = format!("applied by Patchbay instance {holder}: {}", self.message);
        status.revision_checked = self.checked;
        status.held = Held { revision: self.held, behind: self.behind };
        status.last_check_at = self.last_check_at;
    }
}

/// Every delay the lease decides with, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Timers {
    /// How long a taken or renewed lease lasts after it was asked for.
    pub ttl_ms: u64,
    /// How often the holder renews.
    pub renew_every_ms: u64,
    /// How often an instance without the lease (or after a failed call)
    /// asks again.
    pub retry_every_ms: u64,
    /// The holder stops applying this long before its lease's expiry: the
    /// allowed disagreement between instances' clocks, and the time a pass
    /// takes to stop.
    pub safety_ms: u64,
    /// The holder's progress changed: renewed (publishing it) this long
    /// after the previous call at the earliest.
    pub publish_gap_ms: u64,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers { ttl_ms: 5_000, renew_every_ms: 1_000, retry_every_ms: 500, safety_ms: 1_500, publish_gap_ms: 100 }
    }
}

/// What the loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run the compare-and-set (`leases::take`) at `now_ms`, the lease not
    /// held: it is free or expired, or it is not ours.
    Acquire { now_ms: u64 },
    /// The same compare-and-set, the lease held: extend it.
    Renew { now_ms: u64 },
    /// The lease is held: start the node's driver (its first pass
    /// reconciles).
    StartDriver,
    /// The lease is lost or about to run out: stop the driver now.
    StopDriver,
    /// Nothing until then (`None`: until the outstanding call answers).
    Wait { until_ms: Option<u64> },
}

/// What the last database call said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The compare-and-set changed the row: this instance holds the lease.
    Held,
    /// Another instance holds it.
    NotHeld,
    /// The database did not answer (an error, busy): nothing is known.
    Failed,
}

pub struct LeaseCore {
    timers: Timers,
    /// Until when (by this instance's clock) the lease is surely ours: the
    /// sending time of the last successful call + TTL − safety.
    valid_until: Option<u64>,
    /// The outstanding call, by its sending time.
    in_flight: Option<u64>,
    /// The sending time of the last call.
    last_sent: u64,
    /// The progress changed since the last call was sent.
    publish: bool,
    /// When the next call is due.
    next_call: u64,
    /// Whether the driver runs.
    applying: bool,
}

impl LeaseCore {
    /// A core that asks for the lease at once.
    pub fn new(timers: Timers) -> LeaseCore {
        LeaseCore { timers, valid_until: None, in_flight: None, last_sent: 0, publish: false, next_call: 0, applying: false }
    }

    /// Whether the lease is surely held at `now_ms`.
    pub fn holds(&self, now_ms: u64) -> bool {
        self.valid_until.is_some_and(|until| now_ms < until)
    }

    /// Whether the driver runs (as the last actions said).
    pub fn applying(&self) -> bool {
        self.applying
    }

    /// The next thing to do at `now_ms`.
    pub fn poll(&mut self, now_ms: u64) -> Action {
        let holds = self.holds(now_ms);
        if self.applying && !holds {
            self.applying = false;
            return Action::StopDriver;
        }
        if holds && !self.applying {
            self.applying = true;
            return Action::StartDriver;
        }
        if self.in_flight.is_none() && now_ms >= self.next_call {
            self.in_flight = Some(now_ms);
            self.last_sent = now_ms;
            self.publish = false;
            return if holds { Action::Renew { now_ms } } else { Action::Acquire { now_ms } };
        }
        let next = if self.in_flight.is_none() { Some(self.next_call) } else { None };
        let until_ms = match (next, self.valid_until.filter(|_| holds)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Action::Wait { until_ms }
    }

    /// The holder's progress changed at `now_ms`: renew soon to publish it.
    pub fn progress_changed(&mut self, now_ms: u64) {
        if !self.holds(now_ms) {
            return;
        }
        self.publish = true;
        if self.in_flight.is_none() {
            self.next_call = self.next_call.min(self.last_sent + self.timers.publish_gap_ms);
        }
    }

    /// The outstanding call's result, known at `now_ms`.
    pub fn handle(&mut self, now_ms: u64, outcome: Outcome) {
        let Some(sent) = self.in_flight.take() else { return };
        match outcome {
            Outcome::Held => {
                let until = sent + self.timers.ttl_ms.saturating_sub(self.timers.safety_ms);
                self.valid_until = Some(self.valid_until.map_or(until, |before| before.max(until)));
                self.next_call = sent + if self.publish { self.timers.publish_gap_ms } else { self.timers.renew_every_ms };
            }
            Outcome::NotHeld => {
                self.valid_until = None;
                self.next_call = now_ms + self.timers.retry_every_ms;
            }
            // Still ours until its deadline if it was: ask again soon.
            Outcome::Failed => self.next_call = now_ms + self.timers.retry_every_ms.min(self.timers.renew_every_ms),
        }
    }
}

/// Unix milliseconds by this instance's clock.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Keeps node `node`'s lease for `instance` while it can, running `link`'s
/// apply exactly while it holds it. Runs until aborted.
pub async fn hold(node: i64, instance: String, store: Store, link: AsteriskLink, timers: Timers) {
    let mut core = LeaseCore::new(timers);
    let mut call: Option<tokio::task::JoinHandle<Result<bool, StoreError>>> = None;
    let mut changes = link.watch_changes();
    let progress = || if link.applying() { serde_json::to_string(&Progress::of(&link.status())).unwrap_or_default() } else { String::new() };
    let mut published = String::new();
    loop {
        match core.poll(now_ms()) {
            Action::Acquire { now_ms } | Action::Renew { now_ms } => {
                let (store, instance) = (store.clone(), instance.clone());
                let ttl = timers.ttl_ms as i64;
                let progress = progress();
                published.clone_from(&progress);
                call = Some(tokio::task::spawn_blocking(move || store.write(|tx| leases::take(tx, node, &instance, now_ms as i64, ttl, &progress))));
            }
            Action::StartDriver => {
                tracing::info!(node, %instance, "this instance holds the node's lease: applying");
                link.start_applying();
            }
            Action::StopDriver => {
                tracing::warn!(node, %instance, "the node's lease is lost or not renewed in time: no longer applying");
                link.stop_applying();
            }
            Action::Wait { until_ms } => {
                let sleep = async move {
                    match until_ms {
                        Some(until) => tokio::time::sleep(Duration::from_millis(until.saturating_sub(now_ms()))).await,
                        None => std::future::pending().await,
                    }
                };
                let answer = async {
                    match call.as_mut() {
                        Some(call) => call.await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    answer = answer => {
                        call = None;
                        let outcome = match answer {
                            Ok(Ok(true)) => Outcome::Held,
                            Ok(Ok(false)) => Outcome::NotHeld,
                            Ok(Err(error)) => {
                                tracing::warn!(node, %error, "taking or renewing the node's lease");
                                Outcome::Failed
                            }
                            Err(_) => Outcome::Failed,
                        };
                        core.handle(now_ms(), outcome);
                    }
                    () = sleep => {}
                    changed = changes.changed() => {
                        if changed.is_ok() && core.applying() && progress() != published {
                            core.progress_changed(now_ms());
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timers = Timers { ttl_ms: 5_000, renew_every_ms: 1_000, retry_every_ms: 500, safety_ms: 1_500, publish_gap_ms: 100 };

    /// A core on a virtual clock, starting at `start` (any value: the core
    /// only ever sees the times it is given).
    struct Harness {
        core: LeaseCore,
        now: u64,
    }

    impl Harness {
        fn new(start: u64) -> Harness {
            Harness { core: LeaseCore::new(T), now: start }
        }
        fn poll(&mut self) -> Action {
            self.core.poll(self.now)
        }
        fn answer(&mut self, outcome: Outcome) {
            self.core.handle(self.now, outcome);
        }
        /// Polls until the core waits; returns what it did meanwhile.
        fn settle(&mut self) -> Vec<Action> {
            let mut done = Vec::new();
            loop {
                match self.poll() {
                    Action::Wait { .. } => return done,
                    action => done.push(action),
                }
            }
        }
        fn advance(&mut self, ms: u64) {
            self.now += ms;
        }
        /// Takes the lease at once.
        fn holding(start: u64) -> Harness {
            let mut h = Harness::new(start);
            assert_eq!(h.poll(), Action::Acquire { now_ms: start });
            h.answer(Outcome::Held);
            assert_eq!(h.poll(), Action::StartDriver);
            h
        }
    }

    #[test]
    fn a_free_or_expired_lease_is_taken_at_once_and_the_driver_starts() {
        // Free (no row) and expired look the same to the core: the
        // compare-and-set answers.
        let mut h = Harness::holding(1_000);
        assert!(h.core.applying());
        assert_eq!(h.poll(), Action::Wait { until_ms: Some(2_000) }, "renewal due after renew_every");
    }

    #[test]
    fn a_contested_lease_is_asked_for_again_without_applying() {
        let mut h = Harness::new(1_000);
        assert_eq!(h.poll(), Action::Acquire { now_ms: 1_000 });
        assert_eq!(h.poll(), Action::Wait { until_ms: None }, "one call at a time");
        h.advance(20);
        h.answer(Outcome::NotHeld);
        assert_eq!(h.poll(), Action::Wait { until_ms: Some(1_520) });
        h.advance(500);
        assert_eq!(h.poll(), Action::Acquire { now_ms: 1_520 });
        h.answer(Outcome::NotHeld);
        assert!(!h.core.applying());
        // A database error is no news: asked again later, nothing started.
        h.advance(500);
        assert_eq!(h.poll(), Action::Acquire { now_ms: 2_020 });
        h.answer(Outcome::Failed);
        assert_eq!(h.settle(), vec![]);
        assert!(!h.core.applying());
    }

    #[test]
    fn renewals_keep_the_driver_running() {
        let mut h = Harness::holding(0);
        for round in 1..=20u64 {
            h.now = round * 1_000;
            assert_eq!(h.poll(), Action::Renew { now_ms: round * 1_000 });
            h.advance(30);
            h.answer(Outcome::Held);
            assert_eq!(h.settle(), vec![], "round {round}");
        }
        assert!(h.core.applying());
    }

    #[test]
    fn a_failing_renewal_stops_the_driver_before_the_ttl_runs_out() {
        let mut h = Harness::holding(10_000);
        // The last confirmed call was sent at 10 000: the lease in the
        // database runs to 15 000; the driver must be stopped before.
        h.advance(1_000);
        assert_eq!(h.poll(), Action::Renew { now_ms: 11_000 });
        h.answer(Outcome::Failed);
        h.advance(500);
        assert_eq!(h.poll(), Action::Renew { now_ms: 11_500 });
        // This call hangs (the database is busy): the core still stops the
        // driver on time, without its answer.
        assert_eq!(h.poll(), Action::Wait { until_ms: Some(13_500) });
        h.now = 13_499;
        assert_eq!(h.settle(), vec![]);
        h.now = 13_500;
        assert_eq!(h.poll(), Action::StopDriver);
        assert!(h.now < 10_000 + T.ttl_ms - 1_000, "stopped with a second to spare");
        // The hung call answers that the lease was lost meanwhile.
        h.advance(3_000);
        h.answer(Outcome::NotHeld);
        assert_eq!(h.settle(), vec![]);
        h.advance(500);
        assert_eq!(h.poll(), Action::Acquire { now_ms: 17_000 });
    }

    #[test]
    fn a_slow_confirmation_counts_from_when_it_was_sent() {
        let mut h = Harness::holding(0);
        h.advance(1_000);
        assert_eq!(h.poll(), Action::Renew { now_ms: 1_000 });
        // Confirmed 3 s after it was sent: valid until 1 000 + 3 500.
        h.advance(3_000);
        h.answer(Outcome::Held);
        assert_eq!(h.poll(), Action::Renew { now_ms: 4_000 }, "overdue: renewed at once");
        assert_eq!(h.poll(), Action::Wait { until_ms: Some(4_500) });
        h.now = 4_500;
        assert_eq!(h.poll(), Action::StopDriver);
        // Confirmed late again: driving again, from a fresh start.
        h.answer(Outcome::Held);
        assert_eq!(h.poll(), Action::StartDriver);
    }

    #[test]
    fn a_change_of_progress_renews_early_but_not_too_often() {
        let mut h = Harness::holding(0);
        h.advance(30);
        h.core.progress_changed(h.now);
        assert_eq!(h.poll(), Action::Wait { until_ms: Some(100) }, "publish_gap after the last call");
        h.now = 100;
        assert_eq!(h.poll(), Action::Renew { now_ms: 100 });
        // A change while that call is out: the next renewal comes early too.
        h.core.progress_changed(150);
        h.now = 160;
        h.answer(Outcome::Held);
        assert_eq!(h.poll(), Action::Wait { until_ms: Some(200) });
        h.now = 200;
        assert_eq!(h.poll(), Action::Renew { now_ms: 200 });
        h.answer(Outcome::Held);
        assert_eq!(h.poll(), Action::Wait { until_ms: Some(1_200) }, "no change: the usual pace");
        // Without the lease, nothing to publish.
        let mut idle = Harness::new(0);
        assert_eq!(idle.poll(), Action::Acquire { now_ms: 0 });
        idle.answer(Outcome::NotHeld);
        idle.core.progress_changed(10);
        assert_eq!(idle.poll(), Action::Wait { until_ms: Some(500) });
    }

    #[test]
    fn another_instance_shows_what_the_holder_verified() {
        let mut holder = AsteriskStatus { connected: true, globally_ok: true, in_sync: true, revision_checked: Some(12), ..Default::default() };
        holder.message = "Asterisk connected; configuration applied".into();
        holder.held = Held { revision: Some(12), behind: BTreeMap::from([("t-bad".to_string(), Some(9))]) };
        let text = serde_json::to_string(&Progress::of(&holder)).unwrap();
        let mut shown = AsteriskStatus::default();
        serde_json::from_str::<Progress>(&text).unwrap().show_in(&mut shown, "abc");
        assert!(shown.connected && shown.globally_ok);
        assert_eq!(shown.message, "applied by Patchbay instance abc: Asterisk connected; configuration applied");
        assert_eq!(shown.revision_checked, Some(12));
        let (good, bad) = (["t-good".to_string()], ["t-bad".to_string()]);
        assert_eq!(shown.for_viewer(crate::sync::Viewer::Tenants(&good)).revision_live, Some(12));
        assert_eq!(shown.for_viewer(crate::sync::Viewer::Tenants(&bad)).revision_live, Some(9), "a tenant behind stays behind");
    }

    #[test]
    fn a_renewal_refused_stops_the_driver_at_once() {
        let mut h = Harness::holding(0);
        h.advance(1_000);
        assert_eq!(h.poll(), Action::Renew { now_ms: 1_000 });
        h.answer(Outcome::NotHeld);
        assert_eq!(h.poll(), Action::StopDriver, "another instance holds it");
    }

    /// Two instances on a shared virtual clock and a model of the row (the
    /// compare-and-set of `store::leases::take`); `a` holds the lease and
    /// at 10 s is killed (`partitioned: false`: no call, no release) or
    /// cut off from the database (`true`: every call fails). Returns when
    /// `a` stopped applying and when `b` started.
    fn takeover(partitioned: bool) -> (Option<u64>, u64) {
        struct Row {
            holder: &'static str,
            expires: u64,
        }
        let mut row = Row { holder: "", expires: 0 };
        let mut cores = [LeaseCore::new(T), LeaseCore::new(T)];
        let names = ["a", "b"];
        let (mut a_stopped, mut b_started) = (None, None);
        // Time starts at 1 s: the free row expired at 0.
        for now in (1_000..30_000).step_by(10) {
            let cut = now >= 10_000;
            for (i, core) in cores.iter_mut().enumerate() {
                if (i == 0 && !partitioned && cut) || (i == 1 && now < 1_100) {
                    continue; // a is dead; b starts after a
                }
                loop {
                    match core.poll(now) {
                        Action::Acquire { now_ms } | Action::Renew { now_ms } => {
                            let outcome = if i == 0 && cut {
                                Outcome::Failed
                            } else if row.holder == names[i] || row.expires < now_ms {
                                row = Row { holder: names[i], expires: now_ms + T.ttl_ms };
                                Outcome::Held
                            } else {
                                Outcome::NotHeld
                            };
                            core.handle(now, outcome);
                        }
                        Action::StartDriver if i == 1 => b_started = Some(now),
                        Action::StopDriver if i == 0 => a_stopped = Some(now),
                        Action::StartDriver | Action::StopDriver => {}
                        Action::Wait { .. } => break,
                    }
                }
            }
            let a_applies = cores[0].applying() && (partitioned || !cut);
            assert!(!(a_applies && cores[1].applying()), "both apply at {now}");
            if now == 9_990 {
                assert!(cores[0].applying() && !cores[1].applying());
            }
        }
        assert_eq!(row.holder, "b");
        (a_stopped, b_started.expect("b takes over"))
    }

    #[test]
    fn takeover_after_the_holder_disappears() {
        let (a_stopped, b_started) = takeover(false);
        assert_eq!(a_stopped, None, "a was killed: it never noticed");
        let took = b_started - 10_000;
        assert!(took <= T.ttl_ms + T.retry_every_ms, "b took over {took} ms after a vanished");
    }

    #[test]
    fn a_holder_cut_off_from_the_database_stops_before_another_takes_over() {
        let (a_stopped, b_started) = takeover(true);
        let a_stopped = a_stopped.expect("a stops on its own");
        assert!(a_stopped + 1_000 <= b_started, "a stopped at {a_stopped}, b started at {b_started}");
    }

    #[test]
    fn the_clock_is_what_the_core_is_given() {
        // The same story at 0 and at the far future: the core reads no
        // clock of its own, so only the differences between the times it
        // was given count.
        for start in [0, 1_700_000_000_000, u64::MAX / 4] {
            let mut h = Harness::holding(start);
            h.advance(3_499);
            assert_eq!(h.poll(), Action::Renew { now_ms: start + 3_499 }, "overdue renewal, start {start}");
            assert_eq!(h.poll(), Action::Wait { until_ms: Some(start + 3_500) });
            h.advance(1);
            assert_eq!(h.poll(), Action::StopDriver, "start {start}");
        }
    }
}
