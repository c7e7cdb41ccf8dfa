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
    /// The Call-ID of the REGISTER it answers.
    pub call_id: String,
    /// Its CSeq number.
    pub cseq: u32,
}

/// The first line of a SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `REGISTER sip:host SIP/2.0`.
    Request {
        /// `REGISTER`.
        method: String,
        /// `sip:host`.
        uri: String,
    },
    /// `SIP/2.0 403 Forbidden`.
    Response {
        /// `403`.
        code: u16,
        /// `Forbidden`.
        reason: String,
    },
}

impl StartLine {
    fn parse(words: &[&str]) -> Option<StartLine> {
        match words {
            ["SIP/2.0", code, reason @ ..] => Some(StartLine::Response { code: code.parse().ok()?, reason: reason.join(" ") }),
            [method, uri, "SIP/2.0"] => Some(StartLine::Request { method: (*method).to_owned(), uri: (*uri).to_owned() }),
            _ => None,
        }
    }
}

/// One message of PJSIP's history as `pjsip show history` lists it
/// (`res_pjsip_history.c`, `sprint_list_entry`: `%-5.5d %-10.10ld %-5.5s
/// %-24.24s` then the start line): number, timestamp, `* ==>` (sent) or
/// `* <==` (received), the far address cut to 24 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    /// The entry's number (from 0 after each clear).
    pub number: u32,
    /// Unix seconds.
    pub at: u64,
    /// Sent by Asterisk (`==>`), else received.
    pub sent: bool,
    /// `127.0.5.14:5060` (at most 24 characters).
    pub address: String,
    /// The start line.
    pub start: StartLine,
}

/// One message in full, as `pjsip show history where number = N` prints
/// it when exactly one entry matches (`display_single_entry`: `<---
/// History Entry N Sent to|Received from ADDR at TS --->`, then the
/// message as PJSIP prints it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The entry's number.
    pub number: u32,
    /// Unix seconds.
    pub at: u64,
    /// Sent by Asterisk.
    pub sent: bool,
    /// `127.0.5.14:5060`.
    pub address: String,
    /// The start line.
    pub start: StartLine,
    /// The Call-ID header.
    pub call_id: String,
    /// The CSeq number and method (`1 REGISTER`).
    pub cseq: (u32, String),
    /// The To header's URI, without its display name and parameters.
    pub to_uri: String,
}

/// What `pjsip show history` printed: its list, or (when one entry only
/// matches, Asterisk prints that one whole) the single entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryOutput {
    /// The list's lines, oldest first.
    List(Vec<HistoryLine>),
    /// One entry whole.
    Entry(HistoryEntry),
}

/// Reads the output of `pjsip show history [where …]`.
pub fn history_output(lines: &[String]) -> HistoryOutput {
    match history_entry(lines) {
        Some(entry) => HistoryOutput::Entry(entry),
        None => HistoryOutput::List(lines.iter().filter_map(|l| history_line(l)).collect()),
    }
}

fn history_line(line: &str) -> Option<HistoryLine> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let arrow = words.iter().position(|w| *w == "==>" || *w == "<==")?;
    if arrow < 2 {
        return None;
    }
    Some(HistoryLine {
        number: words[0].parse().ok()?,
        at: words[1].parse().ok()?,
        sent: words[arrow] == "==>",
        address: (*words.get(arrow + 1)?).to_owned(),
        start: StartLine::parse(words.get(arrow + 2..)?)?,
    })
}

/// The URI of a `To`/`From` value: `"Name" <sip:a@b>;tag=x` → `sip:a@b`;
/// `sip:a@b;tag=x` → `sip:a@b`. Also used on Asterisk's `ClientUri`.
pub fn bare_uri(value: &str) -> String {
    let value = value.trim();
    let inner = match (value.find('<'), value.find('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value.split(';').next().unwrap_or(value),
    };
    inner.split(';').next().unwrap_or(inner).trim().to_ascii_lowercase()
}

fn history_entry(lines: &[String]) -> Option<HistoryEntry> {
    let mut rest = lines.iter().map(|l| l.trim_end()).skip_while(|l| !l.starts_with("<--- History Entry "));
    let head: Vec<&str> = rest.next()?.split_whitespace().collect();
    // <--- History Entry N Sent to ADDR at TS --->
    let (number, sent, address, at) = match head.as_slice() {
        ["<---", "History", "Entry", n, "Sent", "to", addr, "at", ts, ..] => (n, true, addr, ts),
        ["<---", "History", "Entry", n, "Received", "from", addr, "at", ts, ..] => (n, false, addr, ts),
        _ => return None,
    };
    let mut rest = rest.skip_while(|l| l.trim().is_empty());
    let start = StartLine::parse(&rest.next()?.split_whitespace().collect::<Vec<_>>())?;
    let (mut call_id, mut cseq, mut to_uri) = (None, None, None);
    for line in rest.take_while(|l| !l.trim().is_empty()) {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "call-id" | "i" => call_id = Some(value.to_owned()),
            "cseq" => {
                let mut words = value.split_whitespace();
                cseq = words.next().and_then(|n| n.parse().ok()).zip(words.next().map(str::to_owned));
            }
            "to" | "t" => to_uri = Some(bare_uri(value)),
            _ => {}
        }
    }
    Some(HistoryEntry {
        number: number.parse().ok()?,
        at: at.parse().ok()?,
        sent,
        address: (*address).to_owned(),
        start,
        call_id: call_id?,
        cseq: cseq?,
        to_uri: to_uri?,
    })
}

/// A REGISTER Asterisk sent whose final answer is not read yet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SentRegister {
    /// The Request-URI (the registration's `server_uri`), bare.
    server_uri: String,
    /// The To URI (its `client_uri`), bare.
    client_uri: String,
    /// The far address as the list prints it (24 characters at most).
    address: String,
}

/// Pending REGISTERs kept at most (the oldest are forgotten first).
const PENDING_KEPT: usize = 256;
/// Answers kept per registration.
pub const ANSWERS_KEPT: usize = 10;
/// History entries read before Patchbay clears Asterisk's history. Well
/// above the messages a few seconds bring, so that once the clear is
/// asked, the entry numbered `CLEAR_AFTER - 1` still being there means the
/// clear has not run yet (`pjsip set history clear` is a task Asterisk
/// runs a moment later, and numbering restarts at 0).
pub const CLEAR_AFTER: u32 = 64;

/// The answers to REGISTERs found in PJSIP's message history, kept by
/// Patchbay so that Asterisk's history can be cleared once read (it lives
/// in Asterisk's memory and grows with every SIP message). Every reader
/// (the health task, `GET …/registration`) goes through the one ledger, so
/// clearing never takes an answer from another reader.
///
/// The list form of the history names neither the Call-ID nor, for a
/// response, the method; so an answer is matched to its REGISTER by
/// Call-ID and CSeq read from the full entries, and attributed to a
/// registration by the REGISTER's Request-URI (`server_uri`) and To
/// (`client_uri`): two registrations on one registrar, or an OPTIONS to
/// the registrar at the same moment, are never confused. Sans-IO: the
/// caller reads the list ([`RegisterLedger::list_command`]), asks for the
/// entries [`RegisterLedger::wanted`] names, hands them to
/// [`RegisterLedger::take`], then [`RegisterLedger::read_up_to`]; when
/// [`RegisterLedger::should_clear`] says so it clears the history and
/// calls [`RegisterLedger::cleared`].
#[derive(Debug, Clone, Default)]
pub struct RegisterLedger {
    /// The number of the next entry to read.
    next: u32,
    /// REGISTERs sent, by (Call-ID, CSeq), oldest first.
    pending: VecDeque<((String, u32), SentRegister)>,
    /// The last answers per (server_uri, client_uri), oldest first.
    answers: std::collections::BTreeMap<(String, String), VecDeque<RegisterAnswer>>,
}

impl RegisterLedger {
    /// The command that lists the entries not read yet.
    pub fn list_command(&self) -> String {
        match self.next {
            0 => "pjsip show history".to_owned(),
            n => format!("pjsip show history where number >= {n}"),
        }
    }

    /// The command that prints entry `number` whole (`entry N` would take
    /// a position in Asterisk's vector, not a number).
    pub fn entry_command(number: u32) -> String {
        format!("pjsip show history where number = {number}")
    }

    /// The entries of `listed` to read whole: every REGISTER sent, and
    /// every final response from an address a REGISTER is waiting on.
    pub fn wanted(&self, listed: &[HistoryLine]) -> Vec<u32> {
        let mut waiting: std::collections::BTreeSet<&str> = self.pending.iter().map(|(_, s)| s.address.as_str()).collect();
        let mut wanted = Vec::new();
        for line in listed.iter().filter(|l| l.number >= self.next) {
            match &line.start {
                StartLine::Request { method, .. } if line.sent && method.eq_ignore_ascii_case("REGISTER") => {
                    waiting.insert(&line.address);
                    wanted.push(line.number);
                }
                StartLine::Response { code, .. } if !line.sent && *code >= 200 && waiting.contains(line.address.as_str()) => wanted.push(line.number),
                _ => {}
            }
        }
        wanted
    }

    /// Takes one entry read whole: a REGISTER waits for its answer; a
    /// final answer to a waiting REGISTER (same Call-ID and CSeq) is kept
    /// for that REGISTER's registration. Anything else is ignored.
    pub fn take(&mut self, entry: &HistoryEntry) {
        let key = (entry.call_id.clone(), entry.cseq.0);
        match &entry.start {
            StartLine::Request { method, uri } if entry.sent && method.eq_ignore_ascii_case("REGISTER") => {
                if self.pending.iter().any(|(k, _)| *k == key) {
                    return; // a retransmission
                }
                let address: String = entry.address.chars().take(24).collect();
                self.pending.push_back((key, SentRegister { server_uri: bare_uri(uri), client_uri: entry.to_uri.clone(), address }));
                while self.pending.len() > PENDING_KEPT {
                    self.pending.pop_front();
                }
            }
            StartLine::Response { code, reason } if !entry.sent && *code >= 200 && entry.cseq.1.eq_ignore_ascii_case("REGISTER") => {
                let Some(at) = self.pending.iter().position(|(k, _)| *k == key) else { return };
                let (_, sent) = self.pending.remove(at).expect("found");
                let kept = self.answers.entry((sent.server_uri, sent.client_uri)).or_default();
                kept.push_back(RegisterAnswer { at: entry.at, code: *code, reason: reason.clone(), call_id: entry.call_id.clone(), cseq: entry.cseq.0 });
                while kept.len() > ANSWERS_KEPT {
                    kept.pop_front();
                }
            }
            _ => {}
        }
    }

    /// The list was read up to its last entry.
    pub fn read_up_to(&mut self, listed: &[HistoryLine]) {
        if let Some(last) = listed.iter().map(|l| l.number).max() {
            self.next = self.next.max(last + 1);
        }
    }

    /// Whether enough was read to clear Asterisk's history now.
    pub fn should_clear(&self) -> bool {
        self.next >= CLEAR_AFTER
    }

    /// The entry whose absence shows that a clear asked for has run.
    pub fn clear_witness(&self) -> u32 {
        self.next.saturating_sub(1)
    }

    /// Asterisk's history was cleared: numbering restarts at 0.
    pub fn cleared(&mut self) {
        self.next = 0;
    }

    /// The answers to the registration of `client_uri` at `server_uri`
    /// (as `PJSIPShowRegistrationsOutbound` names them), oldest first.
    pub fn answers(&self, server_uri: &str, client_uri: &str) -> Vec<RegisterAnswer> {
        self.answers.get(&(bare_uri(server_uri), bare_uri(client_uri))).map(|a| a.iter().cloned().collect()).unwrap_or_default()
    }
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

}

#[cfg(test)]
mod history_tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    /// A message as `pjsip show history where number = N` prints it.
    fn entry(number: u32, sent: bool, start: &str, call_id: &str, cseq: &str, to: &str) -> Vec<String> {
        let head = if sent { "Sent to" } else { "Received from" };
        lines(&format!(
            "<--- History Entry {number} {head} 127.0.5.14:5060 at 1796234904 --->\n{start}\nVia: SIP/2.0/UDP 127.0.5.13:5060;rport;branch=z9hG4bKPj{number}\n\
             From: <{to}>;tag=f{call_id}\nTo: <{to}>{}\nCall-ID: {call_id}\nCSeq: {cseq}\nContent-Length:  0\n\n",
            if sent { "" } else { ";tag=far" }
        ))
    }

    /// Asterisk's list of 8 messages: two registrations of one registrar
    /// (acct and acct2), their challenges, a qualify OPTIONS to the same
    /// address between them, then acct refused and acct2 accepted.
    const LIST: &str = "No.   Timestamp  (Dir) Address                  SIP Message
===== ========== ============================== ===================================
00000 1796234904 * ==> 127.0.5.14:5060          REGISTER sip:127.0.5.14 SIP/2.0
00001 1796234904 * ==> 127.0.5.14:5060          REGISTER sip:127.0.5.14 SIP/2.0
00002 1796234904 * <== 127.0.5.14:5060          SIP/2.0 401 Unauthorized
00003 1796234904 * <== 127.0.5.14:5060          SIP/2.0 401 Unauthorized
00004 1796234904 * ==> 127.0.5.14:5060          OPTIONS sip:127.0.5.14:5060 SIP/2.0
00005 1796234904 * ==> 127.0.5.14:5060          REGISTER sip:127.0.5.14 SIP/2.0
00006 1796234904 * <== 127.0.5.14:5060          SIP/2.0 200 OK
00007 1796234904 * <== 127.0.5.14:5060          SIP/2.0 403 Forbidden";

    fn full(number: u32) -> Vec<String> {
        let (a, b) = ("sip:acct@127.0.5.14", "sip:acct2@127.0.5.14");
        match number {
            0 => entry(0, true, "REGISTER sip:127.0.5.14 SIP/2.0", "ca", "10 REGISTER", a),
            1 => entry(1, true, "REGISTER sip:127.0.5.14 SIP/2.0", "cb", "20 REGISTER", b),
            // The challenges come back in the other order.
            2 => entry(2, false, "SIP/2.0 401 Unauthorized", "cb", "20 REGISTER", b),
            3 => entry(3, false, "SIP/2.0 401 Unauthorized", "ca", "10 REGISTER", a),
            5 => entry(5, true, "REGISTER sip:127.0.5.14 SIP/2.0", "ca", "11 REGISTER", a),
            // The OPTIONS' answer: the last request sent there was a
            // REGISTER, but its CSeq says OPTIONS.
            6 => entry(6, false, "SIP/2.0 200 OK", "co", "5 OPTIONS", "sip:127.0.5.14"),
            7 => entry(7, false, "SIP/2.0 403 Forbidden", "ca", "11 REGISTER", a),
            _ => Vec::new(),
        }
    }

    /// What the caller does: list, read the wanted entries whole, take them.
    fn read(ledger: &mut RegisterLedger, listed: &[String]) -> Vec<u32> {
        let HistoryOutput::List(listed) = history_output(listed) else { panic!("a list") };
        let wanted = ledger.wanted(&listed);
        for number in &wanted {
            match history_output(&full(*number)) {
                HistoryOutput::Entry(e) => ledger.take(&e),
                other => panic!("entry {number}: {other:?}"),
            }
        }
        ledger.read_up_to(&listed);
        wanted
    }

    #[test]
    fn the_list_and_an_entry_read_as_asterisk_prints_them() {
        let HistoryOutput::List(listed) = history_output(&lines(LIST)) else { panic!() };
        assert_eq!(listed.len(), 8);
        assert_eq!(listed[7], HistoryLine { number: 7, at: 1796234904, sent: false, address: "127.0.5.14:5060".into(), start: StartLine::Response { code: 403, reason: "Forbidden".into() } });
        assert_eq!(listed[4].start, StartLine::Request { method: "OPTIONS".into(), uri: "sip:127.0.5.14:5060".into() });
        let HistoryOutput::Entry(e) = history_output(&full(7)) else { panic!() };
        assert_eq!((e.number, e.sent, e.call_id.as_str(), e.cseq.clone(), e.to_uri.as_str()), (7, false, "ca", (11, "REGISTER".into()), "sip:acct@127.0.5.14"));
        assert_eq!(bare_uri("\"Acct\" <sip:Acct@Example.com:5060;transport=udp>;tag=1"), "sip:acct@example.com:5060");
        assert_eq!(bare_uri("sip:acct@example.com;tag=1"), "sip:acct@example.com");
        // An empty history is its header only.
        assert_eq!(history_output(&lines(&LIST.lines().take(2).collect::<Vec<_>>().join("\n"))), HistoryOutput::List(Vec::new()));
    }

    #[test]
    fn answers_follow_call_id_and_cseq_not_the_address() {
        let mut ledger = RegisterLedger::default();
        assert_eq!(ledger.list_command(), "pjsip show history");
        let wanted = read(&mut ledger, &lines(LIST));
        assert_eq!(wanted, [0, 1, 2, 3, 5, 6, 7], "the OPTIONS request is not read; its answer is (a REGISTER waits on that address)");
        let a = ledger.answers("sip:127.0.5.14", "sip:acct@127.0.5.14");
        assert_eq!(a.iter().map(|x| (x.code, x.cseq)).collect::<Vec<_>>(), [(401, 10), (403, 11)], "{a:?}");
        let b = ledger.answers("sip:127.0.5.14", "sip:acct2@127.0.5.14");
        assert_eq!(b.iter().map(|x| (x.code, x.cseq)).collect::<Vec<_>>(), [(401, 20)], "the OPTIONS' 200 is not acct2's answer: {b:?}");
        assert!(ledger.answers("sip:127.0.5.15", "sip:acct@127.0.5.14").is_empty(), "another registrar");
        assert_eq!(ledger.list_command(), "pjsip show history where number >= 8");
    }

    #[test]
    fn an_answer_after_a_clear_still_finds_its_register_and_a_retransmission_counts_once() {
        let mut ledger = RegisterLedger::default();
        // Entries 0, 1: the REGISTER and its 401; 5 is sent later.
        let first: Vec<String> = lines(LIST).into_iter().take(2 + 6).collect();
        read(&mut ledger, &first);
        ledger.cleared();
        // After the clear, numbering restarts: the 403 to the REGISTER sent
        // before the clear is entry 0 now; then its retransmission.
        let mut ledger2 = ledger.clone();
        let after = lines("00000 1796234905 * <== 127.0.5.14:5060          SIP/2.0 403 Forbidden\n00001 1796234905 * <== 127.0.5.14:5060          SIP/2.0 403 Forbidden");
        let HistoryOutput::List(listed) = history_output(&after) else { panic!() };
        assert_eq!(ledger2.wanted(&listed), [0, 1], "a REGISTER still waits on that address");
        let HistoryOutput::Entry(refused) = history_output(&full(7)) else { panic!() };
        ledger2.take(&refused);
        ledger2.take(&refused);
        ledger2.read_up_to(&listed);
        let a = ledger2.answers("sip:127.0.5.14", "sip:acct@127.0.5.14");
        assert_eq!(a.iter().map(|x| x.code).collect::<Vec<_>>(), [401, 403]);
        // Nothing waits any more: answers from there are not read whole.
        let HistoryOutput::List(later) = history_output(&lines("00002 1796234960 * <== 127.0.5.14:5060          SIP/2.0 200 OK")) else { panic!() };
        assert_eq!(ledger2.wanted(&later), [] as [u32; 0]);
    }

    #[test]
    fn asterisk_is_cleared_once_enough_was_read() {
        let mut ledger = RegisterLedger::default();
        let many: Vec<String> = (0..CLEAR_AFTER).map(|n| format!("{n:05} 1796234904 * ==> 127.0.5.30:5060          OPTIONS sip:127.0.5.30:5060 SIP/2.0")).collect();
        let HistoryOutput::List(listed) = history_output(&many[..10]) else { panic!() };
        ledger.read_up_to(&listed);
        assert!(!ledger.should_clear());
        let HistoryOutput::List(listed) = history_output(&many) else { panic!() };
        assert!(ledger.wanted(&listed).is_empty(), "no REGISTER: nothing read whole");
        ledger.read_up_to(&listed);
        assert!(ledger.should_clear());
        assert_eq!(ledger.clear_witness(), CLEAR_AFTER - 1);
        ledger.cleared();
        assert!(!ledger.should_clear());
        assert_eq!(ledger.list_command(), "pjsip show history");
        assert_eq!(RegisterLedger::entry_command(7), "pjsip show history where number = 7");
    }

    #[test]
    fn the_pending_registers_and_kept_answers_are_bounded() {
        let mut ledger = RegisterLedger::default();
        for n in 0..(PENDING_KEPT as u32 + 20) {
            let HistoryOutput::Entry(e) = history_output(&entry(n, true, "REGISTER sip:127.0.5.14 SIP/2.0", &format!("c{n}"), &format!("{n} REGISTER"), "sip:a@127.0.5.14")) else { panic!() };
            ledger.take(&e);
        }
        assert_eq!(ledger.pending.len(), PENDING_KEPT);
        for n in 100..130u32 {
            let HistoryOutput::Entry(e) = history_output(&entry(n, false, "SIP/2.0 403 Forbidden", &format!("c{n}"), &format!("{n} REGISTER"), "sip:a@127.0.5.14")) else { panic!() };
            ledger.take(&e);
        }
        let kept = ledger.answers("sip:127.0.5.14", "sip:a@127.0.5.14");
        assert_eq!(kept.len(), ANSWERS_KEPT);
        assert_eq!(kept.last().map(|a| a.cseq), Some(129));
    }
}
