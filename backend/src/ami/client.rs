//! [`AmiClient`]: a cheap, cloneable handle to one background task that keeps
//! an AMI connection up (reconnecting with back-off), runs actions and fans
//! events out.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::codec::AmiMessage;
use super::connection::{self, Ended, Request};
use super::error::AmiError;
use super::session::{ActionResponse, CloseReason, SessionTimers};
use super::url::AmiUrl;

/// Requests waiting for the task; callers beyond that wait for room.
const REQUEST_QUEUE: usize = 64;
/// Events kept for slow subscribers before they see `Lagged`.
const EVENT_BUFFER: usize = 1024;

/// What the server can show about the link to Asterisk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AmiStatus {
    Connecting,
    Connected,
    /// Asterisk refused the user or secret; retried slowly in case
    /// manager.conf is fixed, but no use hammering it.
    AuthenticationFailed {
        message: String,
    },
    /// Lost or never reached; the next attempt comes after `retry_in_ms`.
    Disconnected {
        reason: String,
        retry_in_ms: u64,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    pub timers: SessionTimers,
    /// The first reconnect delay, doubled after each failure up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timers: SessionTimers::default(),
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Handle to the AMI task. Cloning is cheap; the task stops when the last
/// handle is dropped.
#[derive(Debug, Clone)]
pub struct AmiClient {
    requests: mpsc::Sender<Request>,
    events: broadcast::Sender<AmiMessage>,
    status: watch::Receiver<AmiStatus>,
    /// The AMI user logged in as (`patchbay doctor` checks its classes).
    username: Arc<str>,
    /// Counts the actions sent through this handle and its clones (see
    /// [`AmiClient::counted`]); `None`: not counted.
    counter: Option<Arc<ActionCounter>>,
}

/// Actions sent, and of those the ones that change Asterisk (config
/// writes, reloads, live dialplan edits) rather than read it.
#[derive(Debug, Default)]
pub struct ActionCounter {
    pub all: std::sync::atomic::AtomicU64,
    pub writes: std::sync::atomic::AtomicU64,
}

impl ActionCounter {
    fn count(&self, name: &str, headers: &AmiMessage) {
        use std::sync::atomic::Ordering::Relaxed;
        self.all.fetch_add(1, Relaxed);
        let command = headers.get("Command").unwrap_or_default().trim_start().to_ascii_lowercase();
        let writes = match name {
            "UpdateConfig" | "CreateConfig" | "Reload" | "DialplanExtensionAdd" | "DialplanExtensionRemove" => true,
            "Command" => ["dialplan add", "dialplan remove", "dialplan reload", "module reload", "core reload"].iter().any(|w| command.starts_with(w)),
            _ => false,
        };
        if writes {
            self.writes.fetch_add(1, Relaxed);
        }
    }
}

impl AmiClient {
    /// Starts the background task and returns at once; it keeps trying to
    /// connect for as long as the client lives. Watch [`AmiClient::status`].
    pub fn spawn(url: AmiUrl, options: ClientOptions) -> Self {
        let (requests, request_receiver) = mpsc::channel(REQUEST_QUEUE);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (status_sender, status) = watch::channel(AmiStatus::Connecting);
        let username = Arc::from(url.credentials.username.as_str());
        tokio::spawn(supervise(
            url,
            options,
            request_receiver,
            events.clone(),
            status_sender,
        ));
        Self {
            requests,
            events,
            status,
            username,
            counter: None,
        }
    }

    /// A handle on the same connection whose actions (and its clones')
    /// add one each to `counter`: what one task sends to one Asterisk.
    pub fn counted(&self, counter: Arc<ActionCounter>) -> Self {
        Self { counter: Some(counter), ..self.clone() }
    }

    /// The AMI user this client logs in as.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Spawns and waits for the first login: a wrong secret is an error here
    /// rather than a status (and the task is stopped).
    pub async fn connect(url: AmiUrl, options: ClientOptions) -> Result<Self, AmiError> {
        let client = Self::spawn(url, options);
        client.wait_connected(options.timers.action_timeout).await?;
        Ok(client)
    }

    pub fn status(&self) -> AmiStatus {
        self.status.borrow().clone()
    }

    /// Follows status changes (for a live status display).
    pub fn watch_status(&self) -> watch::Receiver<AmiStatus> {
        self.status.clone()
    }

    /// Waits until logged in; fails on a refused login, or when `timeout`
    /// passes without a connection (with the last failure as the reason).
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), AmiError> {
        let mut status = self.status.clone();
        let outcome = tokio::time::timeout(timeout, async {
            loop {
                match &*status.borrow_and_update() {
                    AmiStatus::Connected => return Ok(()),
                    AmiStatus::AuthenticationFailed { message } => {
                        return Err(AmiError::AuthenticationFailed {
                            message: message.clone(),
                        });
                    }
                    AmiStatus::Connecting | AmiStatus::Disconnected { .. } => {}
                }
                if status.changed().await.is_err() {
                    return Err(AmiError::Disconnected);
                }
            }
        })
        .await;
        outcome.unwrap_or_else(|_| Err(AmiError::NotConnected(describe(&self.status()))))
    }

    /// Runs one action and returns Asterisk's whole answer (list events
    /// included). `headers` are those after `Action:`; `ActionID` is added.
    /// `Response: Error` becomes [`AmiError::ActionFailed`]. Between connections
    /// this fails at once with [`AmiError::NotConnected`].
    pub async fn send(&self, name: &str, headers: AmiMessage) -> Result<ActionResponse, AmiError> {
        if let Some(counter) = &self.counter {
            counter.count(name, &headers);
        }
        let (reply, answer) = oneshot::channel();
        let request = Request {
            name: name.to_owned(),
            headers,
            reply,
        };
        self.requests
            .send(request)
            .await
            .map_err(|_| AmiError::Disconnected)?;
        answer.await.map_err(|_| AmiError::Disconnected)?
    }

    /// Runs an action whose real outcome comes later as an event carrying its
    /// `ActionID` (an `Originate` with `Async: true` and its
    /// `OriginateResponse`), and returns that event. The subscription starts
    /// before the action is sent, so a fast event is not missed.
    pub async fn send_awaiting_event(
        &self,
        name: &str,
        headers: AmiMessage,
        event_name: &str,
        timeout: Duration,
    ) -> Result<AmiMessage, AmiError> {
        let mut events = self.subscribe();
        let answer = self.send(name, headers).await?;
        let action_id = answer.response.action_id().unwrap_or_default().to_owned();
        let wait = async {
            loop {
                match events.recv().await {
                    Ok(event)
                        if event.event_name() == Some(event_name)
                            && event.action_id() == Some(action_id.as_str()) =>
                    {
                        return Ok(event);
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Err(AmiError::Disconnected),
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or_else(|_| {
                Err(AmiError::Timeout {
                    action: name.to_owned(),
                })
            })
    }

    /// Runs a CLI command (`Command` action) and returns its output lines.
    pub async fn command(&self, command: &str) -> Result<Vec<String>, AmiError> {
        let answer = self
            .send("Command", AmiMessage::new().with("Command", command))
            .await?;
        Ok(answer.output().into_iter().map(str::to_owned).collect())
    }

    /// Every event received from now on (those answering a list action are
    /// delivered with its answer instead).
    pub fn subscribe(&self) -> broadcast::Receiver<AmiMessage> {
        self.events.subscribe()
    }
}

fn describe(status: &AmiStatus) -> String {
    match status {
        AmiStatus::Connecting => "connecting".to_owned(),
        AmiStatus::Connected => "connected".to_owned(),
        AmiStatus::AuthenticationFailed { message } => format!("login refused: {message}"),
        AmiStatus::Disconnected { reason, .. } => reason.clone(),
    }
}

/// The task: connect, run the session, wait, reconnect — until the client is gone.
async fn supervise(
    url: AmiUrl,
    options: ClientOptions,
    mut requests: mpsc::Receiver<Request>,
    events: broadcast::Sender<AmiMessage>,
    status: watch::Sender<AmiStatus>,
) {
    let mut backoff = options.min_backoff;
    loop {
        status.send_replace(AmiStatus::Connecting);
        let ended = match connection::connect(&url).await {
            Ok(stream) => {
                let on_ready = || {
                    tracing::info!(%url, "AMI connected");
                    status.send_replace(AmiStatus::Connected);
                };
                connection::run(
                    stream,
                    &url,
                    options.timers,
                    &mut requests,
                    &events,
                    on_ready,
                )
                .await
            }
            Err(error) => Ended::Closed {
                reason: CloseReason::Protocol(error.to_string()),
                was_ready: false,
            },
        };
        let Ended::Closed { reason, was_ready } = ended else {
            return;
        };
        if was_ready {
            backoff = options.min_backoff;
        }
        let next_status = match reason {
            CloseReason::AuthenticationFailed { message } => {
                tracing::warn!(%url, %message, "AMI login refused");
                AmiStatus::AuthenticationFailed { message }
            }
            other => {
                let reason = describe_close(&other);
                tracing::warn!(%url, %reason, retry_in = ?backoff, "AMI disconnected");
                AmiStatus::Disconnected {
                    reason,
                    retry_in_ms: backoff.as_millis() as u64,
                }
            }
        };
        status.send_replace(next_status.clone());
        if !wait_refusing_requests(backoff, &mut requests, &next_status).await {
            return;
        }
        backoff = (backoff * 2).min(options.max_backoff);
    }
}

fn describe_close(reason: &CloseReason) -> String {
    match reason {
        CloseReason::AuthenticationFailed { message } => format!("login refused: {message}"),
        CloseReason::Unresponsive => "Asterisk stopped answering pings".to_owned(),
        CloseReason::Protocol(detail) => detail.clone(),
        CloseReason::ConnectionLost => "connection closed by Asterisk".to_owned(),
    }
}

/// Sleeps `delay`, answering requests with `NotConnected` meanwhile. False
/// when the client was dropped.
async fn wait_refusing_requests(
    delay: Duration,
    requests: &mut mpsc::Receiver<Request>,
    status: &AmiStatus,
) -> bool {
    let wake_at = tokio::time::Instant::now() + delay;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(wake_at) => return true,
            request = requests.recv() => match request {
                Some(request) => {
                    let _ = request.reply.send(Err(AmiError::NotConnected(describe(status))));
                }
                None => return false,
            },
        }
    }
}
