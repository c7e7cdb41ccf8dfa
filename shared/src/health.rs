//! A trunk's health as decisions over what Asterisk reports, with time
//! passed in (a virtual clock in tests, the wall clock in the backend):
//! reachability from OPTIONS with hysteresis, so that one lost OPTIONS does
//! not flap the trunk "down", and the registration state with the SIP code
//! and reason of the last answer where one is known; every change of state
//! goes into a bounded history.
//!
//! Nothing here reads a clock or Asterisk: the caller feeds [`Probe`]s and
//! [`RegistrationReport`]s stamped with milliseconds since any fixed epoch.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The thresholds of one trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthPolicy {
    /// Consecutive unanswered OPTIONS that make a trunk down.
    pub down_after_misses: u32,
    /// Consecutive answered OPTIONS that bring a down trunk back up.
    pub up_after_answers: u32,
    /// Transitions kept; the oldest go first.
    pub history_len: usize,
    /// Milliseconds between two OPTIONS Patchbay asks for.
    pub probe_every_ms: u64,
}

impl Default for HealthPolicy {
    /// Down after 3 misses (an OPTIONS every 30 s: a dead trunk is down
    /// within 90 s, and a single lost UDP packet never counts); up after 2
    /// answers; the last 50 transitions.
    fn default() -> Self {
        HealthPolicy { down_after_misses: 3, up_after_answers: 2, history_len: 50, probe_every_ms: 30_000 }
    }
}

/// Whether the trunk answers its OPTIONS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// Nothing known yet.
    Unknown,
    /// Answering.
    Up,
    /// Not answering.
    Down,
}

/// The outcome of one OPTIONS.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Probe {
    /// Answered after `rtt_ms`.
    Answered {
        /// Round trip in milliseconds.
        rtt_ms: f64,
    },
    /// No answer within the qualify timeout (or a transport error).
    Missed,
}

/// The registration of a trunk as Asterisk reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationReport {
    /// `Registered`, `Rejected`, `Unregistered`...
    pub status: String,
    /// The SIP code of the registrar's last answer, when known (`403`).
    pub code: Option<u16>,
    /// Its reason phrase (`Forbidden`).
    pub reason: Option<String>,
}

/// One change of state, for the history and the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Transition {
    /// Reachability changed.
    Reachability {
        /// When (ms).
        at_ms: u64,
        /// From.
        from: Reachability,
        /// To.
        to: Reachability,
        /// The last round trip when up.
        rtt_ms: Option<f64>,
    },
    /// The registration changed (status or code).
    Registration {
        /// When (ms).
        at_ms: u64,
        /// The report before, if any.
        from: Option<RegistrationReport>,
        /// The report now.
        to: RegistrationReport,
    },
}

/// One trunk's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrunkHealth {
    /// Reachability after hysteresis.
    pub reachability: Reachability,
    /// The last round trip seen.
    pub last_rtt_ms: Option<f64>,
    /// The last registration report.
    pub registration: Option<RegistrationReport>,
    /// Transitions, oldest first, at most `history_len`.
    pub history: VecDeque<Transition>,
    /// The last outcomes of OPTIONS, oldest first (at most [`SAMPLES`]):
    /// the timeline's round-trip line.
    pub samples: VecDeque<Sample>,
    misses: u32,
    answers: u32,
}

/// Probe outcomes kept per trunk for the timeline.
pub const SAMPLES: usize = 120;

/// One OPTIONS outcome, for the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When (ms).
    pub at_ms: u64,
    /// The round trip, `None` when unanswered.
    pub rtt_ms: Option<f64>,
}

impl Default for TrunkHealth {
    fn default() -> Self {
        TrunkHealth { reachability: Reachability::Unknown, last_rtt_ms: None, registration: None, history: VecDeque::new(), samples: VecDeque::new(), misses: 0, answers: 0 }
    }
}

impl TrunkHealth {
    /// Takes one OPTIONS outcome at `at_ms`; returns the transition it
    /// caused, if any. The first answer of an unknown trunk makes it up at
    /// once, and so do `down_after_misses` misses: hysteresis only slows a
    /// change away from a known state.
    pub fn observe(&mut self, policy: &HealthPolicy, at_ms: u64, probe: Probe) -> Option<Transition> {
        let from = self.reachability;
        let rtt_ms = match probe {
            Probe::Answered { rtt_ms } => Some(rtt_ms),
            Probe::Missed => None,
        };
        self.samples.push_back(Sample { at_ms, rtt_ms });
        while self.samples.len() > SAMPLES {
            self.samples.pop_front();
        }
        match probe {
            Probe::Answered { rtt_ms } => {
                self.last_rtt_ms = Some(rtt_ms);
                self.misses = 0;
                self.answers = self.answers.saturating_add(1);
                let to_up = match from {
                    Reachability::Up => false,
                    Reachability::Unknown => true,
                    Reachability::Down => self.answers >= policy.up_after_answers.max(1),
                };
                to_up.then(|| self.record(policy, Transition::Reachability { at_ms, from, to: Reachability::Up, rtt_ms: Some(rtt_ms) }))
            }
            Probe::Missed => {
                self.answers = 0;
                self.misses = self.misses.saturating_add(1);
                let to_down = from != Reachability::Down && self.misses >= policy.down_after_misses.max(1);
                to_down.then(|| self.record(policy, Transition::Reachability { at_ms, from, to: Reachability::Down, rtt_ms: None }))
            }
        }
    }

    /// Takes a registration report at `at_ms`; a change of status or code
    /// is a transition (a refresh that says the same is not).
    pub fn observe_registration(&mut self, policy: &HealthPolicy, at_ms: u64, report: RegistrationReport) -> Option<Transition> {
        let same = self.registration.as_ref().is_some_and(|r| r.status == report.status && r.code == report.code);
        if same {
            self.registration = Some(report);
            return None;
        }
        let from = self.registration.replace(report.clone());
        Some(self.record(policy, Transition::Registration { at_ms, from, to: report }))
    }

    /// A health rebuilt from a stored history (oldest first): the state its
    /// last transitions left, with no probe counted yet.
    pub fn restored(history: impl IntoIterator<Item = Transition>, policy: &HealthPolicy) -> TrunkHealth {
        let mut health = TrunkHealth::default();
        for transition in history {
            if let Transition::Registration { to, .. } = &transition {
                health.registration = Some(to.clone());
            }
            health.record(policy, transition);
        }
        health
    }

    fn record(&mut self, policy: &HealthPolicy, transition: Transition) -> Transition {
        if let Transition::Reachability { to, .. } = &transition {
            self.reachability = *to;
        }
        self.history.push_back(transition.clone());
        while self.history.len() > policy.history_len {
            self.history.pop_front();
        }
        transition
    }
}

/// One answer to a REGISTER, read from `pjsip show history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterAnswer {
    /// The history's timestamp (Unix seconds).
    pub at: u64,
    /// The SIP code (`403`).
    pub code: u16,
    /// The reason phrase (`Forbidden`).
    pub reason: String,
}

/// The answers `host` gave to REGISTERs, oldest first, from the lines of
/// `pjsip show history` (`00001 1796234904 * <== 127.0.5.14:5060  SIP/2.0
/// 403 Forbidden`). The summary does not name the method a response
/// answers: a response counts when the last request sent to that address
/// was a REGISTER, so a qualify OPTIONS in flight at the same moment could
/// be taken for one (rare: they are seconds apart).
pub fn register_answers(history: &[String], host: &str) -> Vec<RegisterAnswer> {
    let mut last_request_was_register = false;
    let mut answers = Vec::new();
    for line in history {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // No., timestamp, optional `*`, direction, address, message.
        let Some(direction_at) = fields.iter().position(|f| *f == "==>" || *f == "<==") else { continue };
        let (Some(address), Some(at)) = (fields.get(direction_at + 1), fields.get(1).and_then(|t| t.parse::<u64>().ok())) else { continue };
        let address_host = address.rsplit_once(':').map_or(*address, |(h, _)| h);
        if address_host != host {
            continue;
        }
        let message = &fields[direction_at + 2..];
        match (fields[direction_at], message) {
            ("==>", [method, ..]) => last_request_was_register = *method == "REGISTER",
            ("<==", ["SIP/2.0", code, reason @ ..]) if last_request_was_register => {
                if let Ok(code) = code.parse::<u16>()
                    && code >= 200
                {
                    answers.push(RegisterAnswer { at, code, reason: reason.join(" ") });
                }
            }
            _ => {}
        }
    }
    answers
}

/// What Asterisk says of a trunk's contacts after an OPTIONS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ContactReport {
    /// A contact answered; the fastest round trip.
    Reachable {
        /// Milliseconds.
        rtt_ms: f64,
    },
    /// Every qualified contact is unreachable.
    Unreachable,
    /// Nothing to count: no contact, or not qualified (an AOR without
    /// `qualify_frequency` keeps no answer), or not known yet.
    Unknown,
}

impl ContactReport {
    /// From each contact's status and round trip (µs) as Asterisk lists
    /// them (`Reachable`, `Unreachable`, `NonQualified`, `Unknown`, …).
    pub fn of<'a>(contacts: impl IntoIterator<Item = (&'a str, u64)>) -> ContactReport {
        let mut report = ContactReport::Unknown;
        for (status, rtt_us) in contacts {
            match status {
                "Reachable" => {
                    let rtt_ms = rtt_us as f64 / 1000.0;
                    report = match report {
                        ContactReport::Reachable { rtt_ms: best } if best <= rtt_ms => report,
                        _ => ContactReport::Reachable { rtt_ms },
                    };
                }
                "Unreachable" if report == ContactReport::Unknown => report = ContactReport::Unreachable,
                _ => {}
            }
        }
        report
    }

    fn probe(self) -> Option<Probe> {
        match self {
            ContactReport::Reachable { rtt_ms } => Some(Probe::Answered { rtt_ms }),
            ContactReport::Unreachable => Some(Probe::Missed),
            ContactReport::Unknown => None,
        }
    }
}

/// Where a trunk's own OPTIONS stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The next OPTIONS is due at `next_at`.
    Idle { next_at: u64 },
    /// One was sent at `sent_at`; its outcome is read at `read_at`
    /// (`None`: the read was asked for).
    Waiting { sent_at: u64, read_at: Option<u64> },
}

#[derive(Debug, Clone)]
struct Watched {
    policy: HealthPolicy,
    health: TrunkHealth,
    phase: Phase,
}

/// What the monitor wants done now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send an OPTIONS to every contact of these trunks (`PJSIPQualify`).
    Qualify(Vec<String>),
    /// Read these trunks' contacts and report them with [`Input::Read`].
    Read(Vec<String>),
}

/// What happened, as the monitor is told it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A `ContactStatus` event: Asterisk saw a contact's state change.
    Contact {
        /// The trunk (its PJSIP endpoint name).
        trunk: String,
        /// What it says.
        report: ContactReport,
    },
    /// The contacts read after [`Action::Read`].
    Read {
        /// The trunk.
        trunk: String,
        /// What they say.
        report: ContactReport,
    },
    /// A registration report (a `Registry` event with the code from the
    /// message history).
    Registration {
        /// The trunk.
        trunk: String,
        /// The report.
        report: RegistrationReport,
    },
}

/// The health of every watched trunk as a sans-IO state machine: it says
/// when to send OPTIONS and when to read their outcome ([`Monitor::poll_action`],
/// [`Monitor::poll_timeout`]), takes what Asterisk reported
/// ([`Monitor::handle`]) and answers the transitions. One OPTIONS counts
/// once: a `ContactStatus` event while Patchbay's own OPTIONS is in flight
/// is that OPTIONS' outcome (the read is then skipped); one outside it is an
/// OPTIONS of Asterisk's own `qualify_frequency` and counts too.
#[derive(Debug, Clone)]
pub struct Monitor {
    trunks: std::collections::BTreeMap<String, Watched>,
    /// How long after an OPTIONS its outcome is read: Asterisk's
    /// `qualify_timeout` and a margin.
    window_ms: u64,
}

impl Monitor {
    /// A monitor reading outcomes `window_ms` after each OPTIONS.
    pub fn new(window_ms: u64) -> Monitor {
        Monitor { trunks: Default::default(), window_ms }
    }

    /// The trunks to watch and their policies: new ones get their first
    /// OPTIONS one interval later (Asterisk qualifies a new contact itself,
    /// and its `ContactStatus` counts meanwhile), gone ones are forgotten, a
    /// shorter interval takes effect now.
    pub fn configure(&mut self, now: u64, trunks: impl IntoIterator<Item = (String, HealthPolicy)>) {
        let mut kept = std::collections::BTreeMap::new();
        for (name, policy) in trunks {
            let watched = match self.trunks.remove(&name) {
                Some(mut watched) => {
                    if let Phase::Idle { next_at } = &mut watched.phase {
                        *next_at = (*next_at).min(now + policy.probe_every_ms);
                    }
                    watched.policy = policy;
                    watched
                }
                None => Watched { policy, health: TrunkHealth::default(), phase: Phase::Idle { next_at: now + policy.probe_every_ms } },
            };
            kept.insert(name, watched);
        }
        self.trunks = kept;
    }

    /// Puts back the stored history of a watched trunk (at start).
    pub fn restore(&mut self, trunk: &str, history: impl IntoIterator<Item = Transition>) {
        if let Some(watched) = self.trunks.get_mut(trunk) {
            watched.health = TrunkHealth::restored(history, &watched.policy);
        }
    }

    /// The trunks watched.
    pub fn trunks(&self) -> impl Iterator<Item = &str> {
        self.trunks.keys().map(String::as_str)
    }

    /// One trunk's health.
    pub fn health(&self, trunk: &str) -> Option<&TrunkHealth> {
        self.trunks.get(trunk).map(|w| &w.health)
    }

    /// One trunk's policy.
    pub fn policy(&self, trunk: &str) -> Option<&HealthPolicy> {
        self.trunks.get(trunk).map(|w| &w.policy)
    }

    /// The next thing to do at `now`, if any: reads first (their OPTIONS
    /// are older), then the OPTIONS due.
    pub fn poll_action(&mut self, now: u64) -> Option<Action> {
        let mut reads = Vec::new();
        for (name, watched) in &mut self.trunks {
            if let Phase::Waiting { read_at: read_at @ Some(_), .. } = &mut watched.phase
                && read_at.is_some_and(|at| at <= now)
            {
                *read_at = None;
                reads.push(name.clone());
            }
        }
        if !reads.is_empty() {
            return Some(Action::Read(reads));
        }
        let window = self.window_ms;
        let mut due = Vec::new();
        for (name, watched) in &mut self.trunks {
            if let Phase::Idle { next_at } = watched.phase
                && next_at <= now
            {
                watched.phase = Phase::Waiting { sent_at: now, read_at: Some(now + window) };
                due.push(name.clone());
            }
        }
        (!due.is_empty()).then_some(Action::Qualify(due))
    }

    /// When [`Monitor::poll_action`] next has something to do.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.trunks
            .values()
            .filter_map(|w| match w.phase {
                Phase::Idle { next_at } => Some(next_at),
                Phase::Waiting { read_at, .. } => read_at,
            })
            .min()
    }

    /// Takes what Asterisk reported at `now`; answers the transition it
    /// caused, with its trunk.
    pub fn handle(&mut self, now: u64, input: Input) -> Option<(String, Transition)> {
        let (trunk, outcome) = match input {
            Input::Registration { trunk, report } => {
                let watched = self.trunks.get_mut(&trunk)?;
                let transition = watched.health.observe_registration(&watched.policy, now, report)?;
                return Some((trunk, transition));
            }
            Input::Contact { trunk, report } => {
                let watched = self.trunks.get_mut(&trunk)?;
                if let Phase::Waiting { sent_at, .. } = watched.phase {
                    watched.phase = Phase::Idle { next_at: (sent_at + watched.policy.probe_every_ms).max(now) };
                }
                (trunk, report)
            }
            Input::Read { trunk, report } => {
                let watched = self.trunks.get_mut(&trunk)?;
                // Already settled by an event: this read says nothing new.
                let Phase::Waiting { sent_at, .. } = watched.phase else { return None };
                watched.phase = Phase::Idle { next_at: (sent_at + watched.policy.probe_every_ms).max(now) };
                (trunk, report)
            }
        };
        let watched = self.trunks.get_mut(&trunk)?;
        let transition = watched.health.observe(&watched.policy, now, outcome.probe()?)?;
        Some((trunk, transition))
    }
}

#[cfg(test)]
mod monitor_tests {
    use super::*;

    const WINDOW: u64 = 4_000;

    fn policy() -> HealthPolicy {
        HealthPolicy { down_after_misses: 3, up_after_answers: 2, history_len: 10, probe_every_ms: 10_000 }
    }

    fn reachable(rtt_ms: f64) -> ContactReport {
        ContactReport::Reachable { rtt_ms }
    }

    /// Runs the monitor on a virtual clock up to `until`, answering each
    /// read with `answer(now)`; returns the transitions with their times.
    fn run(monitor: &mut Monitor, from: u64, until: u64, answer: impl Fn(u64) -> ContactReport) -> Vec<(u64, Transition)> {
        let mut now = from;
        let mut seen = Vec::new();
        while now <= until {
            while let Some(action) = monitor.poll_action(now) {
                if let Action::Read(trunks) = action {
                    for trunk in trunks {
                        if let Some((_, t)) = monitor.handle(now, Input::Read { trunk, report: answer(now) }) {
                            seen.push((now, t));
                        }
                    }
                }
            }
            match monitor.poll_timeout() {
                Some(next) if next > now => now = next,
                Some(_) => unreachable!("an action due now was not taken"),
                None => break,
            }
        }
        seen
    }

    #[test]
    fn options_go_out_every_interval_and_are_read_after_the_window() {
        let mut m = Monitor::new(WINDOW);
        m.configure(0, [("t1".to_string(), policy())]);
        assert_eq!(m.poll_action(0), None, "a new trunk waits one interval");
        assert_eq!(m.poll_timeout(), Some(10_000));
        assert_eq!(m.poll_action(10_000), Some(Action::Qualify(vec!["t1".into()])));
        assert_eq!(m.poll_action(10_000), None);
        assert_eq!(m.poll_timeout(), Some(10_000 + WINDOW));
        assert_eq!(m.poll_action(10_000 + WINDOW), Some(Action::Read(vec!["t1".into()])));
        assert_eq!(m.poll_timeout(), None, "waiting for the read");
        let up = m.handle(10_000 + WINDOW, Input::Read { trunk: "t1".into(), report: reachable(3.5) });
        assert!(matches!(up, Some((_, Transition::Reachability { to: Reachability::Up, rtt_ms: Some(_), .. }))), "{up:?}");
        assert_eq!(m.poll_timeout(), Some(20_000), "the next OPTIONS one interval after the last");
    }

    #[test]
    fn down_after_n_missed_options_and_up_after_m_answered() {
        let mut m = Monitor::new(WINDOW);
        m.configure(0, [("t1".to_string(), policy())]);
        // Answering until 30 s, silent until 70 s, answering again.
        let answer = |now: u64| if (30_000..70_000).contains(&now) { ContactReport::Unreachable } else { reachable(2.0) };
        let seen = run(&mut m, 0, 120_000, answer);
        let states: Vec<(u64, Reachability)> = seen
            .iter()
            .filter_map(|(at, t)| match t {
                Transition::Reachability { to, .. } => Some((*at, *to)),
                Transition::Registration { .. } => None,
            })
            .collect();
        // Reads at 14, 24 s answered; 34, 44, 54 s missed (down at the
        // third); 64 s missed; 74 s and 84 s answered (up at the second).
        assert_eq!(states, [(14_000, Reachability::Up), (54_000, Reachability::Down), (84_000, Reachability::Up)]);
        let health = m.health("t1").unwrap();
        assert_eq!(health.last_rtt_ms, Some(2.0));
        assert_eq!(health.samples.iter().filter(|s| s.rtt_ms.is_none()).count(), 4);
    }

    #[test]
    fn an_event_in_flight_is_that_options_outcome_and_one_outside_counts_too() {
        let mut m = Monitor::new(WINDOW);
        let eager = HealthPolicy { down_after_misses: 2, ..policy() };
        m.configure(0, [("t1".to_string(), eager)]);
        assert!(matches!(m.poll_action(10_000), Some(Action::Qualify(_))));
        // Asterisk's event at 13 s settles this OPTIONS: no read follows.
        assert!(m.handle(13_000, Input::Contact { trunk: "t1".into(), report: ContactReport::Unreachable }).is_none());
        assert_eq!(m.poll_timeout(), Some(20_000));
        assert!(m.handle(13_100, Input::Read { trunk: "t1".into(), report: ContactReport::Unreachable }).is_none(), "a late read is ignored");
        // An event between two OPTIONS (Asterisk's own qualify): the second miss.
        let down = m.handle(16_000, Input::Contact { trunk: "t1".into(), report: ContactReport::Unreachable });
        assert!(matches!(down, Some((_, Transition::Reachability { to: Reachability::Down, .. }))), "{down:?}");
        // Not qualified says nothing.
        assert!(m.handle(17_000, Input::Contact { trunk: "t1".into(), report: ContactReport::Unknown }).is_none());
        assert_eq!(m.health("t1").unwrap().reachability, Reachability::Down);
    }

    #[test]
    fn trunks_come_and_go_and_keep_their_state() {
        let mut m = Monitor::new(WINDOW);
        m.configure(0, [("a".to_string(), policy()), ("b".to_string(), policy())]);
        assert_eq!(m.poll_action(10_000), Some(Action::Qualify(vec!["a".into(), "b".into()])));
        m.handle(11_000, Input::Contact { trunk: "a".into(), report: reachable(1.0) });
        m.configure(12_000, [("a".to_string(), HealthPolicy { probe_every_ms: 5_000, ..policy() })]);
        assert_eq!(m.trunks().collect::<Vec<_>>(), ["a"]);
        assert_eq!(m.health("a").unwrap().reachability, Reachability::Up);
        assert_eq!(m.poll_timeout(), Some(17_000), "a shorter interval now");
        assert!(m.handle(13_000, Input::Read { trunk: "b".into(), report: reachable(1.0) }).is_none(), "a forgotten trunk");
    }

    #[test]
    fn a_stored_history_is_restored_with_the_last_registration() {
        let refused = RegistrationReport { status: "Rejected".into(), code: Some(403), reason: Some("Forbidden".into()) };
        let history = vec![
            Transition::Reachability { at_ms: 1, from: Reachability::Unknown, to: Reachability::Up, rtt_ms: Some(1.0) },
            Transition::Registration { at_ms: 2, from: None, to: refused.clone() },
        ];
        let mut m = Monitor::new(WINDOW);
        m.configure(0, [("t".to_string(), policy())]);
        m.restore("t", history.clone());
        let health = m.health("t").unwrap();
        assert_eq!(health.registration, Some(refused.clone()));
        assert_eq!(health.reachability, Reachability::Up);
        assert_eq!(Vec::from(health.history.clone()), history);
        // The same report again is no transition.
        assert!(m.handle(5, Input::Registration { trunk: "t".into(), report: refused }).is_none());
    }

    #[test]
    fn the_fastest_reachable_contact_is_the_report() {
        assert_eq!(ContactReport::of([("Unreachable", 0), ("Reachable", 2500), ("Reachable", 1500)]), reachable(1.5));
        assert_eq!(ContactReport::of([("Unreachable", 0), ("NonQualified", 0)]), ContactReport::Unreachable);
        assert_eq!(ContactReport::of([("NonQualified", 0)]), ContactReport::Unknown);
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    /// A qualify every 60 s, on a virtual clock.
    struct Clock(u64);

    impl Clock {
        fn tick(&mut self) -> u64 {
            self.0 += 60_000;
            self.0
        }
    }

    fn answered(ms: f64) -> Probe {
        Probe::Answered { rtt_ms: ms }
    }

    fn to_of(t: &Transition) -> Reachability {
        match t {
            Transition::Reachability { to, .. } => *to,
            Transition::Registration { .. } => panic!("not a reachability transition"),
        }
    }

    #[test]
    fn down_only_after_n_misses_and_up_only_after_m_answers() {
        let policy = HealthPolicy::default();
        let (mut h, mut clock) = (TrunkHealth::default(), Clock(0));
        assert_eq!(h.observe(&policy, clock.tick(), answered(12.0)).map(|t| to_of(&t)), Some(Reachability::Up));
        // Two misses, then an answer: a flap absorbed.
        assert!(h.observe(&policy, clock.tick(), Probe::Missed).is_none());
        assert!(h.observe(&policy, clock.tick(), Probe::Missed).is_none());
        assert!(h.observe(&policy, clock.tick(), answered(15.0)).is_none());
        assert_eq!(h.reachability, Reachability::Up);
        // Three in a row: down, at the third.
        assert!(h.observe(&policy, clock.tick(), Probe::Missed).is_none());
        assert!(h.observe(&policy, clock.tick(), Probe::Missed).is_none());
        let down = h.observe(&policy, clock.tick(), Probe::Missed).expect("down");
        assert_eq!(down, Transition::Reachability { at_ms: 420_000, from: Reachability::Up, to: Reachability::Down, rtt_ms: None });
        assert!(h.observe(&policy, clock.tick(), Probe::Missed).is_none(), "already down");
        // One answer is not enough; a miss resets the count; two in a row are.
        assert!(h.observe(&policy, clock.tick(), answered(20.0)).is_none());
        assert!(h.observe(&policy, clock.tick(), Probe::Missed).is_none());
        assert!(h.observe(&policy, clock.tick(), answered(20.0)).is_none());
        let up = h.observe(&policy, clock.tick(), answered(18.0)).expect("up");
        assert_eq!(up, Transition::Reachability { at_ms: 720_000, from: Reachability::Down, to: Reachability::Up, rtt_ms: Some(18.0) });
        assert_eq!(h.history.len(), 3);
        assert_eq!(h.last_rtt_ms, Some(18.0));
    }

    #[test]
    fn thresholds_are_per_trunk() {
        let eager = HealthPolicy { down_after_misses: 1, up_after_answers: 1, history_len: 10, ..HealthPolicy::default() };
        let mut h = TrunkHealth::default();
        assert_eq!(h.observe(&eager, 1, Probe::Missed).map(|t| to_of(&t)), Some(Reachability::Down));
        assert_eq!(h.observe(&eager, 2, answered(1.0)).map(|t| to_of(&t)), Some(Reachability::Up));
    }

    #[test]
    fn the_history_keeps_the_latest_transitions_only() {
        let policy = HealthPolicy { down_after_misses: 1, up_after_answers: 1, history_len: 4, ..HealthPolicy::default() };
        let mut h = TrunkHealth::default();
        for i in 0..10u64 {
            h.observe(&policy, i * 2, Probe::Missed);
            h.observe(&policy, i * 2 + 1, answered(5.0));
        }
        assert_eq!(h.history.len(), 4);
        let first_at = match &h.history[0] {
            Transition::Reachability { at_ms, .. } | Transition::Registration { at_ms, .. } => *at_ms,
        };
        assert_eq!(first_at, 16, "the oldest dropped first");
    }

    #[test]
    fn a_registration_change_is_recorded_with_its_code_and_a_refresh_is_not() {
        let policy = HealthPolicy::default();
        let mut h = TrunkHealth::default();
        let ok = RegistrationReport { status: "Registered".into(), code: Some(200), reason: Some("OK".into()) };
        let refused = RegistrationReport { status: "Rejected".into(), code: Some(403), reason: Some("Forbidden".into()) };
        assert!(h.observe_registration(&policy, 1_000, ok.clone()).is_some());
        assert!(h.observe_registration(&policy, 61_000, ok.clone()).is_none(), "a refresh");
        let change = h.observe_registration(&policy, 121_000, refused.clone()).expect("rejected");
        assert_eq!(change, Transition::Registration { at_ms: 121_000, from: Some(ok), to: refused.clone() });
        assert_eq!(h.registration, Some(refused));
        assert_eq!(h.history.len(), 2);
    }

    #[test]
    fn register_answers_come_from_the_history_of_that_server_only() {
        let history: Vec<String> = [
            "No.   Timestamp  (Dir) Address                  SIP Message",
            "===== ========== ============================== ===================================",
            "00000 1796234904 * ==> 127.0.5.14:5060          REGISTER sip:127.0.5.14 SIP/2.0",
            "00001 1796234904 * <== 127.0.5.14:5060          SIP/2.0 401 Unauthorized",
            "00002 1796234904 * ==> 127.0.5.20:5060          REGISTER sip:127.0.5.20 SIP/2.0",
            "00003 1796234904 * <== 127.0.5.20:5060          SIP/2.0 200 OK",
            "00004 1796234905 * ==> 127.0.5.14:5060          REGISTER sip:127.0.5.14 SIP/2.0",
            "00005 1796234905 * <== 127.0.5.14:5060          SIP/2.0 100 Trying",
            "00006 1796234905 * <== 127.0.5.14:5060          SIP/2.0 403 Forbidden",
            "00007 1796234960 * ==> 127.0.5.14:5060          OPTIONS sip:127.0.5.14:5060 SIP/2.0",
            "00008 1796234960 * <== 127.0.5.14:5060          SIP/2.0 200 OK",
        ]
        .map(String::from)
        .to_vec();
        let answers = register_answers(&history, "127.0.5.14");
        assert_eq!(answers, [
            RegisterAnswer { at: 1796234904, code: 401, reason: "Unauthorized".into() },
            RegisterAnswer { at: 1796234905, code: 403, reason: "Forbidden".into() },
        ]);
        assert_eq!(register_answers(&history, "127.0.5.20").len(), 1);
        assert!(register_answers(&history, "127.0.5.1").is_empty());
    }
}
