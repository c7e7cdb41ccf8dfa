//! When an outcall moves on to its next trunk.
//!
//! Wazo's outcall subroutine (reference §3.5) tries the trunks in order and
//! fails over only when `Dial()` ends with `CONGESTION` or `CHANUNAVAIL`: the
//! trunk could not carry the call. A `BUSY` callee or a caller who hung up is
//! an answer about the *callee*, and trying another trunk would only ring the
//! same busy person again.

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
}
