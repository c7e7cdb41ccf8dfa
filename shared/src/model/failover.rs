//! When an outcall moves on to its next trunk.
//!
//! Wazo's outcall subroutine (reference §3.5) tries the trunks in order and
//! fails over only when `Dial()` ends with `CONGESTION` or `CHANUNAVAIL`.
//! Patchbay decides from the SIP response of each attempt instead
//! ([`FailoverPolicy`]): a trunk problem (5xx, 408, no contact) moves on, an
//! answer about the *callee* (486 Busy, 603 Decline, 404) stops the call,
//! since another trunk would only ring the same busy person again.

use serde::{Deserialize, Serialize};

/// The `DIALSTATUS` channel variable set by `Dial()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DialStatus {
    /// The callee answered.
    Answer,
    /// The callee is busy.
    Busy,
    /// Nobody answered before the timeout.
    NoAnswer,
    /// The caller hung up first.
    Cancel,
    /// The trunk or network is congested.
    Congestion,
    /// The channel could not be created or reached.
    ChanUnavail,
    /// Privacy manager: callee refused.
    DontCall,
    /// Privacy manager: callee sent to torture.
    Torture,
    /// Bad `Dial()` arguments.
    InvalidArgs,
}

impl DialStatus {
    /// The statuses that move the call to the next trunk, in the order the
    /// rendered dialplan tests them.
    pub const FAILOVER: [DialStatus; 2] = [DialStatus::Congestion, DialStatus::ChanUnavail];

    /// Whether this status makes the outcall try its next trunk.
    pub fn fails_over(self) -> bool {
        Self::FAILOVER.contains(&self)
    }

    /// The value Asterisk writes into `DIALSTATUS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answer => "ANSWER",
            Self::Busy => "BUSY",
            Self::NoAnswer => "NOANSWER",
            Self::Cancel => "CANCEL",
            Self::Congestion => "CONGESTION",
            Self::ChanUnavail => "CHANUNAVAIL",
            Self::DontCall => "DONTCALL",
            Self::Torture => "TORTURE",
            Self::InvalidArgs => "INVALIDARGS",
        }
    }

    /// The `DIALSTATUS` a PJSIP trunk's final SIP response leads to: chan_pjsip
    /// turns the response into a Q.850 cause (486/600 → busy, 503 →
    /// congestion, 480 → no answer, 487 → the call was cancelled) and
    /// `Dial()` counts every other failure cause as "channel unavailable".
    /// So a 404 or 403 from one provider fails over to the next one.
    pub fn after_sip_final_response(code: u16) -> DialStatus {
        match code {
            200..=299 => Self::Answer,
            486 | 600 => Self::Busy,
            503 => Self::Congestion,
            480 => Self::NoAnswer,
            487 => Self::Cancel,
            _ => Self::ChanUnavail,
        }
    }
}

/// One way an attempt on a trunk can fail, as a failover policy names it.
/// On the wire: `"5xx"` (a class), `"486"` (a code), `"no_answer"`,
/// `"unreachable"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FailureOutcome {
    /// Every final response of a class: 3 to 6 (`3xx`..`6xx`).
    Class(u8),
    /// One final failure response, 300 to 699.
    Code(u16),
    /// Nobody answered within the outcall's `ring_time` (`DIALSTATUS` NOANSWER).
    NoAnswer,
    /// The trunk gave no SIP answer at all: no contact, transport down, the
    /// INVITE refused locally (an endpoint in maintenance), an IAX/custom
    /// channel unavailable.
    Unreachable,
}

impl FailureOutcome {
    /// What a policy entry looks like, for error messages.
    pub const SYNTAX: &'static str = "a SIP code 300-699 (`486`), a class `3xx`-`6xx`, `no_answer` or `unreachable`";

    /// Parses `"5xx"`, `"486"`, `"no_answer"`, `"unreachable"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not {}", Self::SYNTAX);
        match text {
            "no_answer" => Ok(Self::NoAnswer),
            "unreachable" => Ok(Self::Unreachable),
            _ if text.len() == 3 && text.ends_with("xx") => match text.as_bytes()[0] {
                digit @ b'3'..=b'6' => Ok(Self::Class(digit - b'0')),
                _ => Err(bad()),
            },
            _ if text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()) => match text.parse::<u16>() {
                Ok(code @ 300..=699) => Ok(Self::Code(code)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }

    /// Whether this entry covers `attempt`.
    pub fn covers(self, attempt: AttemptResult) -> bool {
        match (self, attempt) {
            (Self::Code(c), AttemptResult::Sip(code)) => c == code,
            (Self::Class(k), AttemptResult::Sip(code)) => code / 100 == u16::from(k),
            (Self::NoAnswer, AttemptResult::NoAnswer) => true,
            (Self::Unreachable, AttemptResult::Unreachable) => true,
            _ => false,
        }
    }

    /// A specific code beats a class: a policy may move on for `5xx` but stop
    /// on `503`.
    fn specific(self) -> bool {
        !matches!(self, Self::Class(_))
    }
}

impl std::fmt::Display for FailureOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Class(k) => write!(f, "{k}xx"),
            Self::Code(c) => write!(f, "{c}"),
            Self::NoAnswer => f.write_str("no_answer"),
            Self::Unreachable => f.write_str("unreachable"),
        }
    }
}

impl TryFrom<String> for FailureOutcome {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<FailureOutcome> for String {
    fn from(o: FailureOutcome) -> String {
        o.to_string()
    }
}

/// How one attempt on a trunk ended, as the rendered dialplan sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    /// The callee answered: the call is done when it ends.
    Answered,
    /// The caller hung up while the trunk was ringing.
    CallerHungUp,
    /// A final SIP failure response (300-699).
    Sip(u16),
    /// No answer within `ring_time`.
    NoAnswer,
    /// No SIP answer at all (see [`FailureOutcome::Unreachable`]).
    Unreachable,
}

impl AttemptResult {
    /// Failures worth showing in the simulator, one per row of the default policy.
    pub const EXAMPLES: [AttemptResult; 9] = [
        Self::Sip(503),
        Self::Sip(500),
        Self::Sip(408),
        Self::Sip(403),
        Self::Sip(486),
        Self::Sip(404),
        Self::Sip(603),
        Self::NoAnswer,
        Self::Unreachable,
    ];

    /// Words for a person: "503 Service Unavailable", "no answer".
    pub fn describe(self) -> String {
        match self {
            Self::Answered => "answered".into(),
            Self::CallerHungUp => "the caller hung up".into(),
            Self::Sip(code) => match sip_reason(code) {
                Some(reason) => format!("{code} {reason}"),
                None => format!("SIP {code}"),
            },
            Self::NoAnswer => "no answer".into(),
            Self::Unreachable => "unreachable (no SIP answer)".into(),
        }
    }
}

/// The reason phrase of the usual final responses (RFC 3261 §21).
pub fn sip_reason(code: u16) -> Option<&'static str> {
    Some(match code {
        200 => "OK",
        302 => "Moved Temporarily",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        480 => "Temporarily Unavailable",
        484 => "Address Incomplete",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => return None,
    })
}

/// What the outcall does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailoverAction {
    /// Try the next trunk (or end with congestion after the last one).
    NextTrunk,
    /// End the call with the attempt's cause: the caller hears busy for 486.
    Stop,
}

/// An outcall's failover policy (`failover_policy` on `/outcalls`): which
/// failures of an attempt move the call to the next trunk and which end it.
/// A specific code beats a class; anything listed nowhere gets `otherwise`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FailoverPolicy {
    /// Failures that move on to the next trunk.
    pub next_trunk_on: Vec<FailureOutcome>,
    /// Failures that end the call.
    pub stop_on: Vec<FailureOutcome>,
    /// What every other failure does.
    pub otherwise: FailoverAction,
}

impl Default for FailoverPolicy {
    /// Trunk problems move on (5xx, 408, no answer, unreachable); answers
    /// about the callee stop (486, 600, 603, 404); other codes (403 from a
    /// provider out of credit...) move on, as Wazo's `CHANUNAVAIL` did.
    fn default() -> Self {
        use FailureOutcome::*;
        FailoverPolicy {
            next_trunk_on: vec![Class(5), Code(408), NoAnswer, Unreachable],
            stop_on: vec![Code(486), Code(600), Code(603), Code(404)],
            otherwise: FailoverAction::NextTrunk,
        }
    }
}

impl FailoverPolicy {
    /// Every entry with its action: specific entries (codes, `no_answer`,
    /// `unreachable`) first, then classes, in list order. The first entry
    /// that covers an attempt decides; the rendered dialplan tests them in
    /// this order.
    pub fn rules(&self) -> Vec<(FailureOutcome, FailoverAction)> {
        let all = || {
            self.next_trunk_on
                .iter()
                .map(|o| (*o, FailoverAction::NextTrunk))
                .chain(self.stop_on.iter().map(|o| (*o, FailoverAction::Stop)))
        };
        all().filter(|(o, _)| o.specific()).chain(all().filter(|(o, _)| !o.specific())).collect()
    }

    /// What happens after `attempt`; `None` when the call is over anyway
    /// (answered, or the caller hung up).
    pub fn decide(&self, attempt: AttemptResult) -> Option<FailoverAction> {
        if matches!(attempt, AttemptResult::Answered | AttemptResult::CallerHungUp) {
            return None;
        }
        Some(self.rules().into_iter().find(|(o, _)| o.covers(attempt)).map(|(_, a)| a).unwrap_or(self.otherwise))
    }

    /// Entries listed in both lists (each once), which validation refuses.
    pub fn contradictions(&self) -> Vec<FailureOutcome> {
        let mut both: Vec<FailureOutcome> = self.next_trunk_on.iter().filter(|o| self.stop_on.contains(o)).copied().collect();
        both.sort();
        both.dedup();
        both
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_congestion_and_chanunavail_fail_over() {
        let all = [
            (DialStatus::Answer, false),
            (DialStatus::Busy, false),
            (DialStatus::NoAnswer, false),
            (DialStatus::Cancel, false),
            (DialStatus::Congestion, true),
            (DialStatus::ChanUnavail, true),
            (DialStatus::DontCall, false),
            (DialStatus::Torture, false),
            (DialStatus::InvalidArgs, false),
        ];
        for (status, expected) in all {
            assert_eq!(status.fails_over(), expected, "{status:?}");
        }
    }

    #[test]
    fn sip_responses_map_to_the_expected_dialstatus() {
        let table = [
            (200, DialStatus::Answer, false),
            (486, DialStatus::Busy, false),
            (600, DialStatus::Busy, false),
            (503, DialStatus::Congestion, true),
            (404, DialStatus::ChanUnavail, true),
            (403, DialStatus::ChanUnavail, true),
            (480, DialStatus::NoAnswer, false),
            (487, DialStatus::Cancel, false),
        ];
        for (code, status, fails_over) in table {
            let got = DialStatus::after_sip_final_response(code);
            assert_eq!(got, status, "SIP {code}");
            assert_eq!(got.fails_over(), fails_over, "SIP {code}");
        }
    }

    #[test]
    fn dialstatus_serializes_as_asterisk_spells_it() {
        assert_eq!(
            serde_json::to_string(&DialStatus::ChanUnavail).unwrap(),
            "\"CHANUNAVAIL\""
        );
        assert_eq!(DialStatus::NoAnswer.as_str(), "NOANSWER");
    }

    #[test]
    fn the_default_policy_moves_on_for_trunk_problems_and_stops_for_the_callee() {
        let p = FailoverPolicy::default();
        use AttemptResult::*;
        use FailoverAction::*;
        let table = [
            (Sip(503), Some(NextTrunk)),
            (Sip(500), Some(NextTrunk)),
            (Sip(408), Some(NextTrunk)),
            (Sip(403), Some(NextTrunk)),
            (NoAnswer, Some(NextTrunk)),
            (Unreachable, Some(NextTrunk)),
            (Sip(486), Some(Stop)),
            (Sip(600), Some(Stop)),
            (Sip(603), Some(Stop)),
            (Sip(404), Some(Stop)),
            (Answered, None),
            (CallerHungUp, None),
        ];
        for (attempt, expected) in table {
            assert_eq!(p.decide(attempt), expected, "{attempt:?}");
        }
    }

    #[test]
    fn a_code_beats_its_class_whatever_the_list_order() {
        let p = FailoverPolicy {
            next_trunk_on: vec![FailureOutcome::Class(5)],
            stop_on: vec![FailureOutcome::Code(503)],
            otherwise: FailoverAction::Stop,
        };
        assert_eq!(p.decide(AttemptResult::Sip(503)), Some(FailoverAction::Stop));
        assert_eq!(p.decide(AttemptResult::Sip(502)), Some(FailoverAction::NextTrunk));
        assert_eq!(p.decide(AttemptResult::Sip(486)), Some(FailoverAction::Stop), "otherwise");
        assert_eq!(p.rules()[0], (FailureOutcome::Code(503), FailoverAction::Stop));
    }

    #[test]
    fn outcomes_parse_and_print_as_on_the_wire() {
        for text in ["5xx", "3xx", "6xx", "486", "300", "699", "no_answer", "unreachable"] {
            assert_eq!(FailureOutcome::parse(text).unwrap().to_string(), text);
        }
        for bad in ["2xx", "7xx", "200", "700", "48", "4860", "busy", "", "5XX", "x5x"] {
            assert!(FailureOutcome::parse(bad).is_err(), "{bad}");
        }
        let p: FailoverPolicy = serde_json::from_value(serde_json::json!({"stop_on": ["486"]})).unwrap();
        assert_eq!(p.stop_on, [FailureOutcome::Code(486)]);
        assert_eq!(p.next_trunk_on, FailoverPolicy::default().next_trunk_on, "missing keys keep their defaults");
        let json = serde_json::to_value(FailoverPolicy::default()).unwrap();
        assert_eq!(json["next_trunk_on"], serde_json::json!(["5xx", "408", "no_answer", "unreachable"]));
        assert_eq!(json["otherwise"], "next_trunk");
    }

    #[test]
    fn an_outcome_in_both_lists_is_a_contradiction() {
        let p = FailoverPolicy {
            next_trunk_on: vec![FailureOutcome::Code(486), FailureOutcome::Class(5)],
            stop_on: vec![FailureOutcome::Code(486), FailureOutcome::Code(486)],
            otherwise: FailoverAction::NextTrunk,
        };
        assert_eq!(p.contradictions(), [FailureOutcome::Code(486)]);
        assert!(FailoverPolicy::default().contradictions().is_empty());
    }
}
