//! What res_pjsip holds, over AMI: the names its list actions report, one
//! object's details (never an auth's: `AuthDetail` carries the password),
//! and the transports, which only the CLI lists.

use super::{AmiClient, AmiError, AmiMessage};
use std::collections::{BTreeMap, BTreeSet};

/// The list action and its item event for each object type.
fn list_action(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "endpoint" => ("PJSIPShowEndpoints", "EndpointList"),
        "aor" => ("PJSIPShowAors", "AorList"),
        "auth" => ("PJSIPShowAuths", "AuthList"),
        "registration" => ("PJSIPShowRegistrationsOutbound", "OutboundRegistrationDetail"),
        _ => return None,
    })
}

/// The `ObjectName`s of every `kind` object Asterisk has loaded (nothing
/// when it has none). Only the names are read: `AuthList` items may carry
/// more than a name.
pub async fn names(client: &AmiClient, kind: &str) -> Result<BTreeSet<String>, AmiError> {
    let Some((action, event)) = list_action(kind) else { return Ok(BTreeSet::new()) };
    let answer = match client.send(action, AmiMessage::new()).await {
        Ok(answer) => answer,
        // Asterisk answers an error when the list is empty.
        Err(AmiError::ActionFailed { .. }) => return Ok(BTreeSet::new()),
        Err(error) => return Err(error),
    };
    Ok(answer
        .items()
        .filter(|item| item.event_name() == Some(event))
        .filter_map(|item| item.get("ObjectName").map(str::to_string))
        .collect())
}

/// An object's options as Asterisk holds them (CamelCase names), for the
/// types whose detail AMI gives without a secret: `EndpointDetail`,
/// `AorDetail` (through the endpoint of the same name, as the renderer
/// names aors), `OutboundRegistrationDetail`. `AuthDetail` carries the
/// password and is never read. `None`: not available.
pub async fn detail(client: &AmiClient, kind: &str, name: &str) -> Result<Option<BTreeMap<String, String>>, AmiError> {
    let (action, headers, event) = match kind {
        "endpoint" => ("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", name), "EndpointDetail"),
        "aor" => ("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", name), "AorDetail"),
        "registration" => ("PJSIPShowRegistrationsOutbound", AmiMessage::new(), "OutboundRegistrationDetail"),
        _ => return Ok(None),
    };
    let answer = match client.send(action, headers).await {
        Ok(answer) => answer,
        Err(AmiError::ActionFailed { .. }) => return Ok(None),
        Err(error) => return Err(error),
    };
    Ok(answer
        .items()
        .find(|item| item.event_name() == Some(event) && item.get("ObjectName") == Some(name))
        .map(|item| item.headers.iter().map(|(key, value)| (key.clone(), value.clone())).collect()))
}

/// Every outbound registration's `OutboundRegistrationDetail` (CamelCase
/// options, `Status`), by name, from one `PJSIPShowRegistrationsOutbound`.
pub async fn registration_details(client: &AmiClient) -> Result<BTreeMap<String, BTreeMap<String, String>>, AmiError> {
    let answer = match client.send("PJSIPShowRegistrationsOutbound", AmiMessage::new()).await {
        Ok(answer) => answer,
        Err(AmiError::ActionFailed { .. }) => return Ok(BTreeMap::new()),
        Err(error) => return Err(error),
    };
    Ok(answer
        .items()
        .filter(|item| item.event_name() == Some("OutboundRegistrationDetail"))
        .filter_map(|item| {
            let name = item.get("ObjectName")?.to_string();
            Some((name, item.headers.iter().map(|(key, value)| (key.clone(), value.clone())).collect()))
        })
        .collect())
}

/// The transports `pjsip show transports` lists (AMI has no transport list
/// action in Asterisk 22).
pub async fn transports(client: &AmiClient) -> Result<BTreeSet<String>, AmiError> {
    match client.command("pjsip show transports").await {
        Ok(output) => Ok(super::dialplan::transport_names(&output)),
        Err(AmiError::ActionFailed { .. }) => Ok(BTreeSet::new()),
        Err(error) => Err(error),
    }
}
