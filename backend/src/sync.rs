//! Keeps a real Asterisk equal to the database, over AMI only.
//!
//! One task per Asterisk: it renders the whole configuration from a
//! snapshot of the database, writes each of Patchbay's own files
//! (`patchbay-*.conf`, pulled in by `#tryinclude` from the base files) whose
//! text changed, reloads only the modules concerned, then reads back what
//! Asterisk really has. It runs after every change (requests collapse), on
//! (re)connect, and every [`RECONCILE_EVERY`] to repair drift.

use crate::ami::config_writer::{self, Section as AmiSection};
use crate::ami::{AmiClient, AmiMessage, AmiStatus, AmiUrl, ClientOptions};
use crate::store::Store;
use patchbay_shared::render::{self, ConfigFile};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const RECONCILE_EVERY: Duration = Duration::from_secs(30);
/// How long to wait for a reload to show its effect before reporting.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AsteriskStatus {
    pub connected: bool,
    pub message: String,
    /// Endpoint names Asterisk reported after the last apply.
    pub endpoints: Vec<String>,
    /// The last apply's error, if it failed.
    pub last_error: Option<String>,
}

/// The server's handle on "its" Asterisk (or on none).
#[derive(Clone, Default)]
pub struct AsteriskLink {
    status: Arc<Mutex<AsteriskStatus>>,
    wake: Option<mpsc::Sender<()>>,
    client: Option<AmiClient>,
}

impl AsteriskLink {
    pub fn none() -> AsteriskLink {
        let link = AsteriskLink::default();
        link.update(|status| status.message = "no Asterisk connected".into());
        link
    }

    /// Starts the AMI link and the sync task for the Asterisk at `url`.
    pub fn start(url: &str, store: Store) -> anyhow::Result<AsteriskLink> {
        let url: AmiUrl = url.parse().map_err(|error| anyhow::anyhow!("--ami: {error}"))?;
        let client = AmiClient::spawn(url, ClientOptions::default());
        let (wake, woken) = mpsc::channel(1);
        let link = AsteriskLink { status: Arc::default(), wake: Some(wake), client: Some(client.clone()) };
        link.update(|status| status.message = "connecting to Asterisk".into());
        tokio::spawn(run(link.clone(), client, store, woken));
        Ok(link)
    }

    /// Asks the sync task to render and apply the configuration soon.
    /// Several requests in a row collapse into one apply.
    pub fn request_apply(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }

    pub fn status_json(&self) -> Value {
        json!(*self.status.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn client(&self) -> Option<&AmiClient> {
        self.client.as_ref()
    }

    fn update(&self, change: impl FnOnce(&mut AsteriskStatus)) {
        change(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// Patchbay's files in Asterisk's config directory and the module each reloads.
const FILES: &[(&str, &str)] =
    &[("patchbay-pjsip.conf", "res_pjsip.so"), ("patchbay-extensions.conf", "pbx_config"), ("patchbay-iax.conf", "chan_iax2.so")];

async fn run(link: AsteriskLink, client: AmiClient, store: Store, mut woken: mpsc::Receiver<()>) {
    let mut ami_status = client.watch_status();
    // Text of each file as last written to *this connection's* Asterisk; cleared on reconnect.
    let mut applied: BTreeMap<&'static str, String> = BTreeMap::new();
    loop {
        let connected = *ami_status.borrow_and_update() == AmiStatus::Connected;
        link.update(|status| {
            status.connected = connected;
            if !connected {
                status.message = describe(&client.status());
            }
        });
        if connected {
            match apply(&client, &store, &mut applied).await {
                Ok(endpoints) => link.update(|status| {
                    status.message = "Asterisk connected; configuration applied".into();
                    status.endpoints = endpoints;
                    status.last_error = None;
                }),
                Err(error) => {
                    tracing::warn!(%error, "apply failed");
                    applied.clear();
                    link.update(|status| {
                        status.message = "Asterisk connected; last apply failed".into();
                        status.last_error = Some(error.to_string());
                    });
                }
            }
        } else {
            applied.clear();
        }
        tokio::select! {
            changed = ami_status.changed() => if changed.is_err() { return },
            wake = woken.recv() => if wake.is_none() { return },
            _ = tokio::time::sleep(RECONCILE_EVERY) => applied.clear(),
        }
    }
}

fn describe(status: &AmiStatus) -> String {
    match status {
        AmiStatus::Connecting => "connecting to Asterisk".into(),
        AmiStatus::Connected => "Asterisk connected".into(),
        AmiStatus::AuthenticationFailed { message } => format!("Asterisk refused Patchbay's AMI login: {message}"),
        AmiStatus::Disconnected { reason, retry_in_ms } => {
            format!("Asterisk unreachable ({reason}); retrying in {} s", retry_in_ms.div_ceil(1000))
        }
    }
}

fn to_ami(file: &ConfigFile) -> Vec<AmiSection> {
    file.sections.iter().map(|section| AmiSection { name: section.name.clone(), lines: section.lines.clone() }).collect()
}

/// Renders, writes what changed, reloads, and returns the endpoints Asterisk has.
async fn apply(client: &AmiClient, store: &Store, applied: &mut BTreeMap<&'static str, String>) -> anyhow::Result<Vec<String>> {
    let snapshot = store.read(crate::snapshot::load_snapshot)?;
    let rendered = render::render(&snapshot);
    let mut wanted_endpoints = Vec::new();
    for section in &rendered.pjsip.sections {
        if section.values("type").any(|kind| kind == "endpoint") {
            wanted_endpoints.push(section.name.clone());
        }
    }
    for ((file, module), config) in FILES.iter().zip([&rendered.pjsip, &rendered.extensions, &rendered.iax]) {
        let text = render::escape::file_text(config);
        if applied.get(file) == Some(&text) {
            continue;
        }
        config_writer::write_config(client, file, &to_ami(config), Some(module)).await?;
        applied.insert(file, text);
    }
    // Reloads finish after their Success answer: poll until Asterisk shows the endpoints.
    let deadline = tokio::time::Instant::now() + VERIFY_TIMEOUT;
    loop {
        let endpoints = endpoints(client).await?;
        let complete = wanted_endpoints.iter().all(|name| endpoints.contains(name));
        if complete || tokio::time::Instant::now() >= deadline {
            return Ok(endpoints);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The PJSIP endpoints Asterisk has loaded (`PJSIPShowEndpoints`).
pub async fn endpoints(client: &AmiClient) -> anyhow::Result<Vec<String>> {
    let answer = match client.send("PJSIPShowEndpoints", AmiMessage::new()).await {
        Ok(answer) => answer,
        // Asterisk answers an error when there are no endpoints at all.
        Err(crate::ami::AmiError::ActionFailed { .. }) => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    };
    Ok(answer
        .items()
        .filter(|event| event.event_name() == Some("EndpointList"))
        .filter_map(|event| event.get("ObjectName").map(str::to_string))
        .collect())
}
