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
}

impl Default for HealthPolicy {
    /// Down after 3 misses (with Asterisk's 60 s qualify, a trunk is down
    /// within 3 minutes, and a single lost UDP packet never counts); up after
    /// 2 answers; the last 50 transitions.
    fn default() -> Self {
        HealthPolicy { down_after_misses: 3, up_after_answers: 2, history_len: 50 }
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
    misses: u32,
    answers: u32,
}

impl Default for TrunkHealth {
    fn default() -> Self {
        TrunkHealth { reachability: Reachability::Unknown, last_rtt_ms: None, registration: None, history: VecDeque::new(), misses: 0, answers: 0 }
    }
}

impl TrunkHealth {
    /// Takes one OPTIONS outcome at `at_ms`; returns the transition it
    /// caused, if any. The first answer of an unknown trunk makes it up at
    /// once, and so do `down_after_misses` misses: hysteresis only slows a
    /// change away from a known state.
    pub fn observe(&mut self, policy: &HealthPolicy, at_ms: u64, probe: Probe) -> Option<Transition> {
        let from = self.reachability;
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
        let eager = HealthPolicy { down_after_misses: 1, up_after_answers: 1, history_len: 10 };
        let mut h = TrunkHealth::default();
        assert_eq!(h.observe(&eager, 1, Probe::Missed).map(|t| to_of(&t)), Some(Reachability::Down));
        assert_eq!(h.observe(&eager, 2, answered(1.0)).map(|t| to_of(&t)), Some(Reachability::Up));
    }

    #[test]
    fn the_history_keeps_the_latest_transitions_only() {
        let policy = HealthPolicy { down_after_misses: 1, up_after_answers: 1, history_len: 4 };
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
