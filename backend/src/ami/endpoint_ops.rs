//! Operations on one PJSIP endpoint at run time, without touching its
//! configuration: maintenance (drain), an OPTIONS now, and what its contacts
//! answered. Each is one AMI action of Asterisk 22 and its answer read back.
//!
//! Maintenance (`res_pjsip_maintenance`, Asterisk 22.10): new inbound
//! out-of-dialog requests get 503, new outbound calls are refused before any
//! SIP is sent (`Dial()` ends at once with `CHANUNAVAIL`), dialogs in
//! progress are untouched. The state lives in Asterisk's memory only.

use super::{AmiClient, AmiError, AmiMessage};
use patchbay_shared::health::{HistoryLine, HistoryOutput, RegisterLedger, history_output};

/// `PJSIPSetMaintenance`: puts `endpoint` into maintenance (`on`) or back.
pub async fn set_maintenance(client: &AmiClient, endpoint: &str, on: bool) -> Result<(), AmiError> {
    let headers = AmiMessage::new().with("Endpoint", endpoint).with("State", if on { "on" } else { "off" });
    client.send("PJSIPSetMaintenance", headers).await.map(|_| ())
}

/// `PJSIPShowMaintenance` for `endpoint`: whether Asterisk holds it in
/// maintenance (its `PJSIPMaintenanceStatus` says `enabled`).
pub async fn in_maintenance(client: &AmiClient, endpoint: &str) -> Result<bool, AmiError> {
    let answer = client.send("PJSIPShowMaintenance", AmiMessage::new().with("Endpoint", endpoint)).await?;
    Ok(answer
        .items()
        .filter(|e| e.event_name() == Some("PJSIPMaintenanceStatus") && e.get("Endpoint") == Some(endpoint))
        .any(|e| e.get("Status") == Some("enabled")))
}

/// `PJSIPQualify`: an OPTIONS to every contact of `endpoint`'s AORs now.
/// The answers arrive later: read them with [`contact_statuses`].
pub async fn qualify(client: &AmiClient, endpoint: &str) -> Result<(), AmiError> {
    client.send("PJSIPQualify", AmiMessage::new().with("Endpoint", endpoint)).await.map(|_| ())
}

/// One contact of an endpoint as `PJSIPShowEndpoint` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContactStatus {
    /// `sip:provider.example:5060`.
    pub uri: String,
    /// `Reachable`, `Unreachable`, `NonQualified`, `Unknown`, `Created`, `Removed`.
    pub status: String,
    /// Round trip of the last OPTIONS, in microseconds (0 when none answered).
    pub roundtrip_usec: u64,
}

/// The contacts of `endpoint` (its `ContactStatusDetail` events).
pub async fn contact_statuses(client: &AmiClient, endpoint: &str) -> Result<Vec<ContactStatus>, AmiError> {
    let answer = client.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", endpoint)).await?;
    Ok(answer
        .items()
        .filter(|e| e.event_name() == Some("ContactStatusDetail"))
        .map(|e| ContactStatus {
            uri: e.get("URI").unwrap_or_default().to_owned(),
            status: e.get("Status").unwrap_or_default().to_owned(),
            roundtrip_usec: e.get("RoundtripUsec").and_then(|v| v.parse().ok()).unwrap_or(0),
        })
        .collect())
}

/// Whether one of `endpoint`'s AORs has a `qualify_frequency` (its
/// `AorDetail`'s `QualifyFrequency`): only then does Asterisk keep what an
/// OPTIONS answered (a contact's status reads `NonQualified` both before
/// its first qualify and when it is never qualified).
pub async fn is_qualified(client: &AmiClient, endpoint: &str) -> Result<bool, AmiError> {
    let answer = client.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", endpoint)).await?;
    Ok(answer
        .items()
        .filter(|e| e.event_name() == Some("AorDetail"))
        .any(|e| e.get("QualifyFrequency").and_then(|v| v.parse::<u64>().ok()).is_some_and(|f| f > 0)))
}

/// One outbound registration as `PJSIPShowRegistrationsOutbound` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboundRegistration {
    /// The registration section.
    pub name: String,
    /// `sip:provider.example`.
    pub server_uri: String,
    /// `sip:account@provider.example` (the REGISTER's To).
    pub client_uri: String,
    /// `Registered`, `Rejected`, `Unregistered`...
    pub status: String,
    /// The endpoint it registers for (may differ from `name`).
    pub endpoint: String,
}

/// The outbound registrations whose `endpoint` is `endpoint` (the
/// registration `Registry` events carry no SIP code: see [`SipHistory`]).
pub async fn registrations_of(client: &AmiClient, endpoint: &str) -> Result<Vec<OutboundRegistration>, AmiError> {
    Ok(outbound_registrations(client).await?.into_iter().filter(|r| r.endpoint == endpoint).collect())
}

/// Every outbound registration (`PJSIPShowRegistrationsOutbound`; its
/// `AuthDetail` items, which hold passwords, are not read). None is an
/// empty list (Asterisk answers an error then).
pub async fn outbound_registrations(client: &AmiClient) -> Result<Vec<OutboundRegistration>, AmiError> {
    let answer = match client.send("PJSIPShowRegistrationsOutbound", AmiMessage::new()).await {
        Ok(answer) => answer,
        Err(AmiError::ActionFailed { .. }) => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    Ok(answer
        .items()
        .filter(|e| e.event_name() == Some("OutboundRegistrationDetail"))
        .map(|e| OutboundRegistration {
            name: e.get("ObjectName").unwrap_or_default().to_owned(),
            server_uri: e.get("ServerUri").unwrap_or_default().to_owned(),
            client_uri: e.get("ClientUri").unwrap_or_default().to_owned(),
            status: e.get("Status").unwrap_or_default().to_owned(),
            endpoint: e.get("Endpoint").unwrap_or_default().to_owned(),
        })
        .collect())
}

/// `PJSIPRegister`: a REGISTER for `registration` now.
pub async fn register_now(client: &AmiClient, registration: &str) -> Result<(), AmiError> {
    client.send("PJSIPRegister", AmiMessage::new().with("Registration", registration)).await.map(|_| ())
}

/// PJSIP's own message history (`res_pjsip_history`) as Patchbay reads it:
/// where a REGISTER's answer code is found, since AMI's registration events
/// carry none. One per Asterisk, shared by every reader (the health task,
/// `GET …/registration`): the entries read go into one
/// [`RegisterLedger`], and Asterisk's history (kept in its memory, growing
/// with every SIP message) is cleared once [`patchbay_shared::health::CLEAR_AFTER`] were read, so
/// no reader loses an answer another one cleared.
#[derive(Clone, Default)]
pub struct SipHistory(std::sync::Arc<tokio::sync::Mutex<HistoryState>>);

#[derive(Default)]
struct HistoryState {
    ledger: RegisterLedger,
    /// Someone asked: the history is on and is read and cleared from now on.
    used: bool,
}

/// How long a clear may take to run (it is a PJSIP task run after the
/// command answers).
const CLEAR_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl SipHistory {
    /// Reads what the history holds since the last read (turning it on
    /// first), clears Asterisk's copy when enough was read, and answers the
    /// ledger.
    pub async fn read(&self, client: &AmiClient) -> Result<RegisterLedger, AmiError> {
        let mut state = self.0.lock().await;
        state.used = true;
        client.command("pjsip set history on").await?;
        let mut listed = list(client, &state.ledger).await?;
        if listed.is_empty() && state.ledger.clear_witness() > 0 && !holds(client, state.ledger.clear_witness()).await? {
            // Numbering restarted under us (Asterisk restarted, or someone
            // cleared the history): read it from the start.
            state.ledger.cleared();
            listed = list(client, &state.ledger).await?;
        }
        for number in state.ledger.wanted(&listed) {
            if let HistoryOutput::Entry(entry) = history_output(&client.command(&RegisterLedger::entry_command(number)).await?) {
                state.ledger.take(&entry);
            }
        }
        state.ledger.read_up_to(&listed);
        if state.ledger.should_clear() {
            client.command("pjsip set history clear").await?;
            let witness = state.ledger.clear_witness();
            let deadline = tokio::time::Instant::now() + CLEAR_WAIT;
            while holds(client, witness).await? && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            state.ledger.cleared();
        }
        Ok(state.ledger.clone())
    }

    /// Reads (and so clears when due) only once someone used the history.
    pub async fn tidy(&self, client: &AmiClient) -> Result<(), AmiError> {
        if self.0.lock().await.used {
            self.read(client).await?;
        }
        Ok(())
    }
}

/// The entries not read yet (a single one is printed whole: listed alone).
async fn list(client: &AmiClient, ledger: &RegisterLedger) -> Result<Vec<HistoryLine>, AmiError> {
    Ok(match history_output(&client.command(&ledger.list_command()).await?) {
        HistoryOutput::List(lines) => lines,
        HistoryOutput::Entry(entry) => vec![HistoryLine { number: entry.number, at: entry.at, sent: entry.sent, address: entry.address.chars().take(24).collect(), start: entry.start }],
    })
}

/// Whether the history holds the entry numbered `number`.
async fn holds(client: &AmiClient, number: u32) -> Result<bool, AmiError> {
    Ok(matches!(history_output(&client.command(&RegisterLedger::entry_command(number)).await?), HistoryOutput::Entry(e) if e.number == number))
}
