//! The tokio shell around one [`AmiSession`]: one TCP connection, from connect
//! to close. Reconnecting is the client's job (`client.rs`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::codec::AmiMessage;
use super::error::AmiError;
use super::session::{
    ActionId, ActionResponse, AmiSession, CloseReason, SessionEvent, SessionTimers,
};
use super::url::AmiUrl;

/// How long a TCP connect may take; Asterisk on the same host answers at once.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// AMI messages are small; an event burst (a `PJSIPShowEndpoints` list) arrives in
/// several reads and the session's decoder reassembles it.
const READ_CHUNK: usize = 4096;

/// An action to run, and where its answer goes.
#[derive(Debug)]
pub(crate) struct Request {
    pub name: String,
    pub headers: AmiMessage,
    pub reply: oneshot::Sender<Result<ActionResponse, AmiError>>,
}

/// Why `run` returned.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The session closed; `was_ready` says whether it ever got past login
    /// (the client then restarts its back-off from the shortest delay).
    Closed {
        reason: CloseReason,
        was_ready: bool,
    },
    /// Every client handle was dropped: stop for good.
    ClientGone,
}

pub(crate) async fn connect(url: &AmiUrl) -> Result<TcpStream, AmiError> {
    let address = (url.host.as_str(), url.port);
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Ok(stream) => Ok(stream?),
        Err(_) => Err(AmiError::Io(std::io::ErrorKind::TimedOut.into())),
    }
}

/// Drives one connection: logs in, runs requests, forwards events, until the
/// session closes or the client goes away.
pub(crate) async fn run(
    stream: TcpStream,
    url: &AmiUrl,
    timers: SessionTimers,
    requests: &mut mpsc::Receiver<Request>,
    events: &broadcast::Sender<AmiMessage>,
    on_ready: impl Fn(),
) -> Ended {
    let (mut reader, mut writer) = stream.into_split();
    let mut session = AmiSession::new(Instant::now(), &url.credentials, timers);
    let mut waiting: HashMap<ActionId, oneshot::Sender<Result<ActionResponse, AmiError>>> =
        HashMap::new();
    let mut read_buffer = vec![0; READ_CHUNK];
    let mut outgoing = Vec::new();
    let mut was_ready = false;

    loop {
        while session.poll_transmit(&mut outgoing) {
            let written = writer.write_all(&outgoing).await;
            outgoing.clear();
            if written.is_err() {
                session.handle_closed();
            }
        }
        while let Some(event) = session.poll_event() {
            match event {
                SessionEvent::LoggedIn => {
                    was_ready = true;
                    on_ready();
                }
                SessionEvent::Completed { id, result } => {
                    if let Some(reply) = waiting.remove(&id) {
                        // The caller may have given up waiting; that is fine.
                        let _ = reply.send(result);
                    }
                }
                SessionEvent::Event(message) => {
                    // No subscriber is not an error: events are best effort.
                    let _ = events.send(message);
                }
                SessionEvent::Closed(reason) => {
                    return Ended::Closed { reason, was_ready };
                }
            }
        }

        let wake_at = session.poll_timeout();
        tokio::select! {
            read = reader.read(&mut read_buffer) => match read {
                Ok(0) | Err(_) => session.handle_closed(),
                Ok(n) => session.handle_bytes(Instant::now(), &read_buffer[..n]),
            },
            request = requests.recv() => match request {
                None => return Ended::ClientGone,
                Some(Request { name, headers, reply }) => {
                    match session.send_action(Instant::now(), &name, headers) {
                        Ok(id) => { waiting.insert(id, reply); }
                        Err(refused) => { let _ = reply.send(Err(refused.into())); }
                    }
                }
            },
            () = sleep_until(wake_at) => session.handle_timeout(Instant::now()),
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
