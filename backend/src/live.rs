//! Live status of the Asterisk from AMI events: outbound registrations
//! (`Registry`, `PJSIPShowRegistrationsOutbound`), contacts and their
//! reachability (`ContactStatus`, qualify round trip), endpoint device state
//! (`DeviceStateChange`, `PJSIPShowEndpoints`).
//!
//! Kept in memory only (it is Asterisk's state, not ours), refreshed from
//! the list actions on every connect and every [`REFRESH_EVERY`], updated by
//! events in between, and fanned out to Server-Sent-Events subscribers.
//! Passwords never enter it: `AuthDetail` events are ignored unread.

use crate::ami::{AmiClient, AmiError, AmiMessage, AmiStatus};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;

const REFRESH_EVERY: Duration = Duration::from_secs(10);
/// Status changes kept per registration.
const HISTORY: usize = 20;
/// Updates buffered for a slow SSE subscriber (it then gets a full snapshot).
const UPDATES_BUFFER: usize = 256;

#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveState {
    pub connected: bool,
    pub registrations: BTreeMap<String, Registration>,
    /// By contact URI (with its AOR).
    pub contacts: BTreeMap<String, Contact>,
    pub endpoints: BTreeMap<String, EndpointState>,
    /// Each SIP trunk's health (`crate::health`), by endpoint name.
    pub health: BTreeMap<String, TrunkHealthView>,
    /// Unix time in milliseconds of the last change.
    pub updated_at_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Registration {
    pub name: String,
    pub server_uri: String,
    pub client_uri: String,
    /// `Registered`, `Unregistered`, `Rejected`, … as Asterisk says it.
    pub status: String,
    /// The last cause Asterisk gave with a status change (SIP response).
    pub last_response: Option<String>,
    /// Unix seconds of the next REGISTER, when Asterisk announces it.
    pub next_reg: Option<String>,
    /// Changes of `status`, oldest first.
    pub history: VecDeque<StatusChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusChange {
    pub at_ms: u64,
    pub status: String,
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Contact {
    pub uri: String,
    pub aor: Option<String>,
    pub endpoint: Option<String>,
    /// `Reachable`, `Unreachable`, `NonQualified`, `Unknown`, …
    pub status: String,
    /// Qualify round trip in microseconds.
    pub rtt_us: Option<u64>,
    pub at_ms: u64,
}

/// A trunk's health as the API and the browser see it.
#[derive(Debug, Clone, Serialize)]
pub struct TrunkHealthView {
    /// The trunk's PJSIP endpoint name.
    pub name: String,
    pub trunk_id: i64,
    pub policy: patchbay_shared::health::HealthPolicy,
    #[serde(flatten)]
    pub health: patchbay_shared::health::TrunkHealth,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EndpointState {
    pub name: String,
    /// `Not in use`, `Unavailable`, `In use`, … (`DeviceState`).
    pub device_state: String,
    pub active_channels: Option<String>,
    pub at_ms: u64,
}

impl LiveState {
    /// Only what concerns the PJSIP objects named in `names` (a tenant's
    /// endpoints: registrations, aors and endpoints carry the endpoint's
    /// section name).
    pub fn only(&self, names: &BTreeSet<String>) -> LiveState {
        LiveState {
            connected: self.connected,
            registrations: self.registrations.iter().filter(|(name, _)| names.contains(*name)).map(|(k, v)| (k.clone(), v.clone())).collect(),
            contacts: self.contacts.iter().filter(|(_, contact)| contact.concerns(names)).map(|(k, v)| (k.clone(), v.clone())).collect(),
            endpoints: self.endpoints.iter().filter(|(name, _)| names.contains(*name)).map(|(k, v)| (k.clone(), v.clone())).collect(),
            health: self.health.iter().filter(|(name, _)| names.contains(*name)).map(|(k, v)| (k.clone(), v.clone())).collect(),
            updated_at_ms: self.updated_at_ms,
        }
    }
}

impl Contact {
    fn concerns(&self, names: &BTreeSet<String>) -> bool {
        self.aor.as_ref().is_some_and(|aor| names.contains(aor)) || self.endpoint.as_ref().is_some_and(|endpoint| names.contains(endpoint))
    }
}

/// One change, as pushed to SSE subscribers.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveUpdate {
    Snapshot { state: Box<LiveState> },
    Registration { registration: Registration },
    Contact { contact: Contact },
    Endpoint { endpoint: EndpointState },
    Health { health: Box<TrunkHealthView> },
    Connection { connected: bool },
}

impl LiveUpdate {
    /// The update as a viewer owning only `names` may see it; `None` when it
    /// is about someone else's object.
    pub fn only(self, names: &BTreeSet<String>) -> Option<LiveUpdate> {
        match self {
            LiveUpdate::Snapshot { state } => Some(LiveUpdate::Snapshot { state: Box::new(state.only(names)) }),
            LiveUpdate::Registration { registration } => names.contains(&registration.name).then_some(LiveUpdate::Registration { registration }),
            LiveUpdate::Contact { contact } => contact.concerns(names).then_some(LiveUpdate::Contact { contact }),
            LiveUpdate::Endpoint { endpoint } => names.contains(&endpoint.name).then_some(LiveUpdate::Endpoint { endpoint }),
            LiveUpdate::Health { health } => names.contains(&health.name).then_some(LiveUpdate::Health { health }),
            LiveUpdate::Connection { connected } => Some(LiveUpdate::Connection { connected }),
        }
    }

    /// The PJSIP name the update is about, if any.
    pub fn subject(&self) -> Option<&str> {
        match self {
            LiveUpdate::Registration { registration } => Some(&registration.name),
            LiveUpdate::Contact { contact } => contact.endpoint.as_deref().or(contact.aor.as_deref()),
            LiveUpdate::Endpoint { endpoint } => Some(&endpoint.name),
            LiveUpdate::Health { health } => Some(&health.name),
            LiveUpdate::Snapshot { .. } | LiveUpdate::Connection { .. } => None,
        }
    }
}

struct Inner {
    state: Mutex<LiveState>,
    updates: broadcast::Sender<LiveUpdate>,
    /// Told when a trunk's health settings change.
    health_settings: Arc<tokio::sync::Notify>,
    /// PJSIP's message history as read so far (REGISTER answers).
    sip_history: crate::ami::endpoint_ops::SipHistory,
}

/// Cheap handle on the live state.
#[derive(Clone)]
pub struct Live(Arc<Inner>);

impl Default for Live {
    fn default() -> Self {
        let (updates, _) = broadcast::channel(UPDATES_BUFFER);
        Live(Arc::new(Inner { state: Mutex::default(), updates, health_settings: Arc::default(), sip_history: Default::default() }))
    }
}

impl Live {
    pub fn snapshot(&self) -> LiveState {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Updates from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveUpdate> {
        self.0.updates.subscribe()
    }

    fn change<T>(&self, change: impl FnOnce(&mut LiveState) -> T) -> T {
        let mut state = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        state.updated_at_ms = now_ms();
        change(&mut state)
    }

    /// A trunk's health changed: kept and pushed.
    pub fn set_health(&self, view: TrunkHealthView) {
        self.change(|state| state.health.insert(view.name.clone(), view.clone()));
        self.publish(LiveUpdate::Health { health: Box::new(view) });
    }

    /// Trunks no longer watched.
    pub fn forget_health(&self, names: &[String]) {
        if !names.is_empty() {
            self.change(|state| state.health.retain(|name, _| !names.contains(name)));
        }
    }

    /// Notified when health settings change (the health task waits on it).
    pub fn health_settings(&self) -> Arc<tokio::sync::Notify> {
        self.0.health_settings.clone()
    }

    /// The one reader of PJSIP's message history for this Asterisk.
    pub fn sip_history(&self) -> &crate::ami::endpoint_ops::SipHistory {
        &self.0.sip_history
    }

    fn publish(&self, update: LiveUpdate) {
        let _ = self.0.updates.send(update);
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The task: refresh on connect and periodically, follow events.
pub async fn run(live: Live, client: AmiClient) {
    let mut events = client.subscribe();
    let mut status = client.watch_status();
    let mut refresh = tokio::time::interval(REFRESH_EVERY);
    loop {
        tokio::select! {
            changed = status.changed() => {
                if changed.is_err() { return }
                let connected = *status.borrow_and_update() == AmiStatus::Connected;
                live.change(|state| state.connected = connected);
                live.publish(LiveUpdate::Connection { connected });
                if connected {
                    refresh.reset_immediately();
                }
            }
            _ = refresh.tick() => {
                if client.status() == AmiStatus::Connected {
                    if let Err(error) = refresh_all(&live, &client).await {
                        tracing::debug!(%error, "live status refresh failed");
                    } else {
                        live.publish(LiveUpdate::Snapshot { state: Box::new(live.snapshot()) });
                    }
                }
            }
            event = events.recv() => match event {
                Ok(event) => handle_event(&live, &client, &event).await,
                Err(broadcast::error::RecvError::Lagged(_)) => refresh.reset_immediately(),
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

/// Items of a list action; an empty list is an error answer in Asterisk.
async fn list(client: &AmiClient, action: &str) -> Result<Vec<AmiMessage>, AmiError> {
    match client.send(action, AmiMessage::new()).await {
        Ok(answer) => Ok(answer.items().cloned().collect()),
        Err(AmiError::ActionFailed { .. }) => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}

fn field(event: &AmiMessage, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| event.get(name)).filter(|v| !v.is_empty()).map(str::to_string)
}

async fn refresh_all(live: &Live, client: &AmiClient) -> Result<(), AmiError> {
    let registrations = list(client, "PJSIPShowRegistrationsOutbound").await?;
    let contacts = list(client, "PJSIPShowContacts").await?;
    let endpoints = list(client, "PJSIPShowEndpoints").await?;
    let at = now_ms();
    live.change(|state| {
        let mut seen = Vec::new();
        // Only OutboundRegistrationDetail: AuthDetail carries passwords.
        for item in registrations.iter().filter(|e| e.event_name() == Some("OutboundRegistrationDetail")) {
            let Some(name) = field(item, &["ObjectName"]) else { continue };
            let entry = state.registrations.entry(name.clone()).or_insert_with(|| Registration { name: name.clone(), ..Default::default() });
            entry.server_uri = field(item, &["ServerUri"]).unwrap_or_default();
            entry.client_uri = field(item, &["ClientUri"]).unwrap_or_default();
            entry.next_reg = field(item, &["NextReg"]);
            let status = field(item, &["Status"]).unwrap_or_else(|| "Unknown".into());
            set_registration_status(entry, status, None, at);
            seen.push(name);
        }
        state.registrations.retain(|name, _| seen.contains(name));

        let mut contacts_seen = Vec::new();
        for item in contacts.iter().filter(|e| e.event_name() == Some("ContactList")) {
            let Some(uri) = field(item, &["Uri", "URI"]) else { continue };
            let contact = Contact {
                uri: uri.clone(),
                aor: field(item, &["Aor", "AOR"]),
                endpoint: field(item, &["Endpoint", "EndpointName"]),
                status: field(item, &["Status"]).unwrap_or_else(|| "Unknown".into()),
                rtt_us: field(item, &["RoundtripUsec"]).and_then(|v| v.parse().ok()).filter(|rtt| *rtt > 0),
                at_ms: at,
            };
            contacts_seen.push(uri.clone());
            state.contacts.insert(uri, contact);
        }
        // Static contacts (aor `contact`) are not listed; keep those events told us.
        state.contacts.retain(|uri, contact| contacts_seen.contains(uri) || contact.status != "Removed");

        state.endpoints.clear();
        for item in endpoints.iter().filter(|e| e.event_name() == Some("EndpointList")) {
            let Some(name) = field(item, &["ObjectName"]) else { continue };
            state.endpoints.insert(
                name.clone(),
                EndpointState {
                    name,
                    device_state: field(item, &["DeviceState"]).unwrap_or_default(),
                    active_channels: field(item, &["ActiveChannels"]),
                    at_ms: at,
                },
            );
        }
    });
    Ok(())
}

fn set_registration_status(entry: &mut Registration, status: String, cause: Option<String>, at_ms: u64) {
    let changed = entry.status != status;
    if cause.is_some() {
        entry.last_response = cause.clone();
    }
    if changed {
        entry.history.push_back(StatusChange { at_ms, status: status.clone(), cause });
        while entry.history.len() > HISTORY {
            entry.history.pop_front();
        }
        entry.status = status;
    }
}

async fn handle_event(live: &Live, client: &AmiClient, event: &AmiMessage) {
    match event.event_name() {
        Some("Registry") if event.get("ChannelType").is_none_or(|t| t.eq_ignore_ascii_case("PJSIP")) => {
            let client_uri = field(event, &["Username"]).unwrap_or_default();
            let server_uri = field(event, &["Domain"]).unwrap_or_default();
            let status = field(event, &["Status"]).unwrap_or_else(|| "Unknown".into());
            let cause = field(event, &["Cause"]);
            let found = live.change(|state| {
                let entry = state.registrations.values_mut().find(|r| r.client_uri == client_uri && r.server_uri == server_uri)?;
                set_registration_status(entry, status.clone(), cause.clone(), now_ms());
                Some(entry.clone())
            });
            match found {
                Some(registration) => live.publish(LiveUpdate::Registration { registration }),
                // A registration we have not listed yet: list them again.
                None => {
                    if refresh_all(live, client).await.is_ok() {
                        let registration = live.snapshot().registrations.into_values().find(|r| r.client_uri == client_uri && r.server_uri == server_uri);
                        if let Some(registration) = registration {
                            live.change(|state| {
                                if let Some(entry) = state.registrations.get_mut(&registration.name) {
                                    set_registration_status(entry, status, cause, now_ms());
                                }
                            });
                        }
                        live.publish(LiveUpdate::Snapshot { state: Box::new(live.snapshot()) });
                    }
                }
            }
        }
        Some("ContactStatus") => {
            let Some(uri) = field(event, &["URI", "Uri"]) else { return };
            let contact = Contact {
                uri: uri.clone(),
                aor: field(event, &["AOR", "Aor"]),
                endpoint: field(event, &["EndpointName", "Endpoint"]),
                status: field(event, &["ContactStatus", "Status"]).unwrap_or_else(|| "Unknown".into()),
                rtt_us: field(event, &["RoundtripUsec"]).and_then(|v| v.parse().ok()).filter(|rtt| *rtt > 0),
                at_ms: now_ms(),
            };
            live.change(|state| {
                if contact.status == "Removed" {
                    state.contacts.remove(&uri);
                } else {
                    let previous_rtt = state.contacts.get(&uri).and_then(|c| c.rtt_us);
                    let mut kept = contact.clone();
                    kept.rtt_us = kept.rtt_us.or(previous_rtt);
                    state.contacts.insert(uri, kept);
                }
            });
            live.publish(LiveUpdate::Contact { contact });
        }
        // A reload or a boot changes the lists wholesale.
        Some("Reload" | "FullyBooted") if refresh_all(live, client).await.is_ok() => {
            live.publish(LiveUpdate::Snapshot { state: Box::new(live.snapshot()) });
        }
        Some("DeviceStateChange") => {
            let (Some(device), Some(device_state)) = (field(event, &["Device"]), field(event, &["State"])) else { return };
            let Some(name) = device.strip_prefix("PJSIP/") else { return };
            let endpoint = live.change(|state| {
                let entry = state.endpoints.get_mut(name)?;
                entry.device_state = device_state;
                entry.at_ms = now_ms();
                Some(entry.clone())
            });
            if let Some(endpoint) = endpoint {
                live.publish(LiveUpdate::Endpoint { endpoint });
            }
        }
        _ => {}
    }
}
