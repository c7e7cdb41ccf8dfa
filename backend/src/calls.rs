//! Test calls: an AMI `Originate` (`Async: true`) whose outcome is its
//! `OriginateResponse`, with the hang-up cause of the originated channels.
//!
//! Every input is checked against a strict alphabet before it reaches a dial
//! string: no `,` `&` `/` `@` `|` `(` `$` or control characters can slip in
//! (the AMI codec refuses CR/LF on its own as a last line of defence).

use crate::ami::{AmiClient, AmiError, AmiMessage};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::broadcast;

/// How long the callee may ring.
const RING_TIMEOUT: Duration = Duration::from_secs(20);
/// Extra time for Asterisk to answer the originate after ringing ends.
const ANSWER_MARGIN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    /// Caller number shown, and with `context`: call as this extension would.
    pub from_extension: Option<String>,
    pub context: Option<String>,
    /// `PJSIP/name`: ring that endpoint (dialling `to` through it if given).
    pub device: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallOutcome {
    /// `answered`, `busy` or `failed`.
    pub result: &'static str,
    pub cause: CallCause,
    /// The channel Asterisk created.
    pub channel: String,
    /// From the `Originate` to its outcome (the answer, or the hang-up).
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallCause {
    /// `OriginateResponse`'s `Reason` (4 answered, 5 busy, 3 no answer, 8 congestion, 0 failed).
    pub reason: Option<u32>,
    pub reason_text: &'static str,
    /// Q.850 cause of the first hang-up seen for the call, if any.
    pub hangup_cause: Option<u32>,
    pub hangup_cause_text: Option<String>,
    /// The SIP final response of a PJSIP call: 200 when answered, else the
    /// `Hangup` event's `TechCause` (Asterisk 22.7+), absent when Asterisk
    /// gave none (the channel could not even be created).
    pub sip_code: Option<u32>,
}

/// A request refused before anything reached Asterisk: (field, message).
#[derive(Debug)]
pub struct InvalidCall(pub &'static str, pub String);

fn check(field: &'static str, value: &str, max: usize, allowed: impl Fn(char) -> bool) -> Result<(), InvalidCall> {
    if value.is_empty() || value.len() > max {
        return Err(InvalidCall(field, format!("must be 1 to {max} characters")));
    }
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(InvalidCall(field, format!("must not contain {bad:?}")));
    }
    Ok(())
}

fn dialable(c: char) -> bool {
    c.is_ascii_alphanumeric() || "*#+".contains(c)
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-.".contains(c)
}

/// The `Channel` and `CallerID` of the originate, from a checked request.
pub fn plan(request: &CallRequest) -> Result<(String, Option<String>), InvalidCall> {
    if let Some(to) = &request.to {
        check("to", to, 40, dialable)?;
    }
    if let Some(from) = &request.from_extension {
        check("from_extension", from, 40, dialable)?;
    }
    if let Some(device) = &request.device {
        if request.context.is_some() {
            return Err(InvalidCall("context", "give either device or context, not both".into()));
        }
        let endpoint = device.strip_prefix("PJSIP/").ok_or_else(|| InvalidCall("device", "must be PJSIP/<endpoint name>".into()))?;
        check("device", endpoint, 79, name_char)?;
        let channel = match &request.to {
            Some(to) => format!("PJSIP/{to}@{endpoint}"),
            None => format!("PJSIP/{endpoint}"),
        };
        return Ok((channel, request.from_extension.clone()));
    }
    let context = request.context.as_deref().ok_or_else(|| InvalidCall("context", "context (with to) or device is required".into()))?;
    check("context", context, 79, name_char)?;
    let to = request.to.as_deref().ok_or_else(|| InvalidCall("to", "is required with context".into()))?;
    Ok((format!("Local/{to}@{context}"), request.from_extension.clone()))
}

fn reason_text(reason: Option<u32>) -> &'static str {
    match reason {
        Some(4) => "answered",
        Some(5) => "busy",
        Some(3) => "no answer",
        Some(8) => "congestion",
        Some(1) => "hung up",
        Some(0) => "failed (no such extension or channel could not be created)",
        _ => "unknown",
    }
}

/// Places the call and waits for its outcome.
pub async fn place(client: &AmiClient, request: &CallRequest) -> Result<Result<CallOutcome, InvalidCall>, AmiError> {
    let (channel, caller_id) = match plan(request) {
        Ok(plan) => plan,
        Err(invalid) => return Ok(Err(invalid)),
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (first, second) = (format!("pbcall-{id}-1"), format!("pbcall-{id}-2"));
    let mut headers = AmiMessage::new()
        .with("Channel", channel.as_str())
        .with("Application", "Wait")
        .with("Data", "1")
        .with("Timeout", RING_TIMEOUT.as_millis().to_string())
        .with("ChannelId", first.as_str())
        .with("OtherChannelId", second.as_str())
        .with("Async", "true");
    if let Some(caller_id) = &caller_id {
        headers = headers.with("CallerID", format!("<{caller_id}>"));
    }
    let mut events = client.subscribe();
    let started = std::time::Instant::now();
    let response = client.send_awaiting_event("Originate", headers, "OriginateResponse", RING_TIMEOUT + ANSWER_MARGIN).await?;
    let reason = response.get("Reason").and_then(|r| r.parse().ok());
    let result = match (response.get("Response"), reason) {
        (Some("Success"), _) => "answered",
        (_, Some(5)) => "busy",
        _ => "failed",
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    // Hang-ups of our channels seen so far, then briefly after.
    let mut hangup = None;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(if result == "answered" { 1500 } else { 300 });
    loop {
        let next = tokio::time::timeout_at(deadline, events.recv()).await;
        match next {
            Ok(Ok(event)) => {
                let ours = [event.get("Uniqueid"), event.get("Linkedid")].into_iter().flatten().any(|uid| uid == first || uid == second);
                if event.event_name() == Some("Hangup") && ours && hangup.is_none() {
                    hangup = Some((
                        event.get("Cause").and_then(|c| c.parse().ok()),
                        event.get("Cause-txt").map(str::to_string),
                        event.get("TechCause").and_then(|c| c.parse().ok()),
                    ));
                }
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => break,
        }
        if hangup.is_some() && result != "answered" {
            break;
        }
    }
    let (hangup_cause, hangup_cause_text, tech_cause) = hangup.unwrap_or((None, None, None));
    let result = if result == "failed" && hangup_cause == Some(17) { "busy" } else { result };
    let sip_code = if result == "answered" && channel.starts_with("PJSIP/") { Some(200) } else { tech_cause };
    Ok(Ok(CallOutcome {
        result,
        cause: CallCause { reason, reason_text: reason_text(reason), hangup_cause, hangup_cause_text, sip_code },
        channel: response.get("Channel").unwrap_or(&channel).to_string(),
        elapsed_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> CallRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn plans_local_and_device_channels() {
        let local = plan(&request(serde_json::json!({"from_extension": "1001", "context": "default", "to": "*99"}))).unwrap();
        assert_eq!(local, ("Local/*99@default".to_string(), Some("1001".to_string())));
        let device = plan(&request(serde_json::json!({"device": "PJSIP/trunk-a", "to": "0123"}))).unwrap();
        assert_eq!(device.0, "PJSIP/0123@trunk-a");
    }

    #[test]
    fn refuses_anything_that_could_change_a_dial_string() {
        for (field, bad) in [
            ("to", serde_json::json!({"context": "default", "to": "100&PJSIP/evil"})),
            ("to", serde_json::json!({"context": "default", "to": "100,1"})),
            ("to", serde_json::json!({"context": "default", "to": "100\r\nAction: Command"})),
            ("context", serde_json::json!({"context": "default@x", "to": "100"})),
            ("context", serde_json::json!({"context": "a/b", "to": "100"})),
            ("device", serde_json::json!({"device": "PJSIP/a&b", "to": "100"})),
            ("device", serde_json::json!({"device": "IAX2/a", "to": "100"})),
            ("from_extension", serde_json::json!({"context": "c", "to": "1", "from_extension": "1\" <2>"})),
            ("context", serde_json::json!({"to": "1"})),
        ] {
            let refused = plan(&request(bad.clone())).expect_err(&bad.to_string());
            assert_eq!(refused.0, field, "{bad}");
        }
    }
}
