//! The AMI protocol state machine of one connection: login, `ActionID`
//! correlation, list responses, keepalive and timeouts.
//!
//! Sans-IO contract: no socket, no async, no clock. Time is an argument, bytes
//! come in through [`AmiSession::handle_bytes`] and go out through
//! [`AmiSession::poll_transmit`]; the tokio shell in `connection.rs` only moves
//! them. That keeps every protocol rule testable with byte literals and a
//! virtual clock.
//!
//! Methods, by role:
//! - input: `handle_bytes(now, bytes)`, `handle_timeout(now)`, `handle_closed()`;
//! - commands: `send_action(now, action) -> ActionId`;
//! - output: `poll_transmit(&mut buf)`, `poll_event()`, `poll_timeout()`.
//!
//! A shell loop feeds input, then drains `poll_transmit` and `poll_event`, then
//! sleeps until `poll_timeout` or the next input.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use super::codec::{self, AmiMessage, Decoder, EncodeError, Frame};
use super::error::AmiError;

/// A password that never shows in `Debug` or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The clear text, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub secret: Secret,
}

#[derive(Debug, Clone, Copy)]
pub struct SessionTimers {
    /// How long an action may wait for its (complete) answer.
    pub action_timeout: Duration,
    /// How long a `Reload` may take: Asterisk answers once the module has
    /// reloaded, and res_pjsip re-reads every tenant's file (over 10 s at
    /// 1,000 tenants on a loaded machine).
    pub reload_timeout: Duration,
    /// Silence after which a `Ping` checks that Asterisk is still there.
    pub keepalive_interval: Duration,
}

impl Default for SessionTimers {
    fn default() -> Self {
        Self {
            action_timeout: Duration::from_secs(10),
            reload_timeout: Duration::from_secs(120),
            keepalive_interval: Duration::from_secs(20),
        }
    }
}

/// The `ActionID` the session gave an action; its answer carries it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionId(u64);

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "patchbay-{}", self.0)
    }
}

/// Asterisk's whole answer to one action: the response, plus for a list action
/// (`EventList: start`) the events up to and including the `Complete` one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionResponse {
    pub response: AmiMessage,
    pub events: Vec<AmiMessage>,
}

impl ActionResponse {
    pub fn message(&self) -> Option<&str> {
        self.response.get("Message")
    }

    /// The output lines of a `Command` action.
    pub fn output(&self) -> Vec<&str> {
        self.response.get_all("Output").collect()
    }

    /// The list events without the closing `…Complete` one.
    pub fn items(&self) -> impl Iterator<Item = &AmiMessage> {
        self.events.iter().filter(|event| {
            !event
                .get("EventList")
                .is_some_and(|v| v.eq_ignore_ascii_case("Complete"))
        })
    }
}

/// What the session reports to its shell.
#[derive(Debug)]
pub enum SessionEvent {
    /// Login accepted; actions flow from now on.
    LoggedIn,
    /// An action got its answer, failed, or timed out.
    Completed {
        id: ActionId,
        result: Result<ActionResponse, AmiError>,
    },
    /// An event no pending list claimed (including `OriginateResponse`, which
    /// carries the `ActionID` of an already answered `Originate`).
    Event(AmiMessage),
    /// The session is over; the shell should drop the socket.
    Closed(CloseReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    AuthenticationFailed {
        message: String,
    },
    /// A keepalive `Ping` went unanswered.
    Unresponsive,
    /// The peer sent something that is not AMI.
    Protocol(String),
    /// The socket closed.
    ConnectionLost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Login,
    Keepalive,
    Caller,
}

#[derive(Debug)]
struct Pending {
    action: String,
    purpose: Purpose,
    deadline: Instant,
    /// Set once `Response: Success` with `EventList: start` arrived.
    list_response: Option<AmiMessage>,
    events: Vec<AmiMessage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    LoggingIn,
    Ready,
    Closed,
}

#[derive(Debug)]
pub struct AmiSession {
    state: State,
    timers: SessionTimers,
    decoder: Decoder,
    read_buffer: Vec<u8>,
    transmit: Vec<u8>,
    next_id: u64,
    pending: HashMap<u64, Pending>,
    /// Actions asked for before the login answer; sent once it is accepted.
    held: Vec<(u64, AmiMessage)>,
    events: VecDeque<SessionEvent>,
    /// When to send the next keepalive `Ping` (pushed back by any input).
    keepalive_at: Instant,
    keepalive_outstanding: bool,
}

impl AmiSession {
    /// Starts a session whose first transmit is the `Login` action.
    pub fn new(now: Instant, credentials: &Credentials, timers: SessionTimers) -> Self {
        let mut session = Self {
            state: State::LoggingIn,
            timers,
            decoder: Decoder::new(),
            read_buffer: Vec::new(),
            transmit: Vec::new(),
            next_id: 1,
            pending: HashMap::new(),
            held: Vec::new(),
            events: VecDeque::new(),
            keepalive_at: now + timers.keepalive_interval,
            keepalive_outstanding: false,
        };
        let login = AmiMessage::new()
            .with("Username", credentials.username.as_str())
            .with("Secret", credentials.secret.expose())
            // Every event class the AMI user may read; manager.conf narrows it.
            .with("Events", "on");
        let queued = session.queue("Login", login, Purpose::Login, now);
        if let Err(error) = queued {
            session.close(CloseReason::AuthenticationFailed {
                message: format!("credentials cannot be sent: {error}"),
            });
        }
        session
    }

    /// Queues an action. `action` holds the headers after `Action:`; the session
    /// adds `Action` and `ActionID`. Refused at once (nothing is sent) when a
    /// header is invalid, e.g. a value with CR/LF.
    pub fn send_action(
        &mut self,
        now: Instant,
        name: &str,
        headers: AmiMessage,
    ) -> Result<ActionId, EncodeError> {
        self.queue(name, headers, Purpose::Caller, now)
            .map(ActionId)
    }

    fn queue(
        &mut self,
        name: &str,
        headers: AmiMessage,
        purpose: Purpose,
        now: Instant,
    ) -> Result<u64, EncodeError> {
        for reserved in ["Action", "ActionID"] {
            if headers.get(reserved).is_some() {
                return Err(EncodeError::ReservedKey {
                    key: reserved.to_owned(),
                });
            }
        }
        let id = self.next_id;
        let mut wire = AmiMessage::new()
            .with("Action", name)
            .with("ActionID", ActionId(id).to_string());
        wire.headers.extend(headers.headers);
        codec::validate(&wire)?;
        self.next_id += 1;

        if self.state == State::Closed {
            self.events.push_back(SessionEvent::Completed {
                id: ActionId(id),
                result: Err(AmiError::Disconnected),
            });
            return Ok(id);
        }
        self.pending.insert(
            id,
            Pending {
                action: name.to_owned(),
                purpose,
                deadline: now + if name.eq_ignore_ascii_case("Reload") { self.timers.reload_timeout } else { self.timers.action_timeout },
                list_response: None,
                events: Vec::new(),
            },
        );
        if self.state == State::Ready || purpose == Purpose::Login {
            codec::encode(&wire, &mut self.transmit)?;
        } else {
            self.held.push((id, wire));
        }
        Ok(id)
    }

    /// Feeds bytes read from the socket.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        if self.state == State::Closed {
            return;
        }
        self.keepalive_at = now + self.timers.keepalive_interval;
        self.read_buffer.extend_from_slice(bytes);
        loop {
            match self.decoder.decode(&mut self.read_buffer) {
                Ok(None) => break,
                Ok(Some(Frame::Banner(_))) => {}
                Ok(Some(Frame::Message(message))) => self.handle_message(message),
                Err(error) => {
                    self.close(CloseReason::Protocol(error.to_string()));
                    break;
                }
            }
            if self.state == State::Closed {
                break;
            }
        }
    }

    fn handle_message(&mut self, message: AmiMessage) {
        let our_id = message
            .action_id()
            .and_then(|id| id.strip_prefix("patchbay-"))
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|id| self.pending.contains_key(id));
        let Some(id) = our_id else {
            if message.event_name().is_some() {
                self.events.push_back(SessionEvent::Event(message));
            }
            // A response nobody waits for (its action timed out) is dropped.
            return;
        };
        if message.event_name().is_some() {
            self.handle_list_event(id, message);
        } else {
            self.handle_response(id, message);
        }
    }

    fn handle_response(&mut self, id: u64, response: AmiMessage) {
        let is_list_start = response
            .get("EventList")
            .is_some_and(|v| v.eq_ignore_ascii_case("start"));
        let pending = self.pending.get_mut(&id).expect("checked by caller");
        if is_list_start && response.response() == Some("Success") {
            pending.list_response = Some(response);
            return;
        }
        let pending = self.pending.remove(&id).expect("checked by caller");
        // `Follows` is how older Asterisks answer `Command`; `Goodbye` answers `Logoff`.
        let result = match response.response() {
            Some("Success" | "Follows" | "Goodbye") => Ok(ActionResponse {
                response,
                events: Vec::new(),
            }),
            _ => Err(AmiError::ActionFailed {
                action: pending.action.clone(),
                message: failure_message(&response),
            }),
        };
        self.complete(id, pending, result);
    }

    fn handle_list_event(&mut self, id: u64, event: AmiMessage) {
        let pending = self.pending.get_mut(&id).expect("checked by caller");
        if pending.list_response.is_none() {
            // Not a list (or not started yet): an ordinary event that happens to
            // carry our ActionID, like OriginateResponse.
            self.events.push_back(SessionEvent::Event(event));
            return;
        }
        let is_last = event
            .get("EventList")
            .is_some_and(|v| v.eq_ignore_ascii_case("Complete"));
        pending.events.push(event);
        if is_last {
            let mut pending = self.pending.remove(&id).expect("checked by caller");
            let response = pending.list_response.take().expect("list started");
            let events = std::mem::take(&mut pending.events);
            self.complete(id, pending, Ok(ActionResponse { response, events }));
        }
    }

    fn complete(&mut self, id: u64, pending: Pending, result: Result<ActionResponse, AmiError>) {
        match pending.purpose {
            Purpose::Caller => self.events.push_back(SessionEvent::Completed {
                id: ActionId(id),
                result,
            }),
            Purpose::Keepalive => self.keepalive_outstanding = false,
            Purpose::Login => match result {
                Ok(_) => self.become_ready(),
                Err(error) => {
                    let message = match error {
                        AmiError::ActionFailed { message, .. } => message,
                        other => other.to_string(),
                    };
                    self.close(CloseReason::AuthenticationFailed { message });
                }
            },
        }
    }

    fn become_ready(&mut self) {
        self.state = State::Ready;
        self.events.push_back(SessionEvent::LoggedIn);
        for (_, wire) in std::mem::take(&mut self.held) {
            codec::encode(&wire, &mut self.transmit).expect("validated when queued");
        }
    }

    /// Expires overdue actions and sends a keepalive when the line was quiet.
    pub fn handle_timeout(&mut self, now: Instant) {
        let overdue: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, pending)| pending.deadline <= now)
            .map(|(&id, _)| id)
            .collect();
        for id in overdue {
            let pending = self.pending.remove(&id).expect("just listed");
            match pending.purpose {
                Purpose::Caller => self.events.push_back(SessionEvent::Completed {
                    id: ActionId(id),
                    result: Err(AmiError::Timeout {
                        action: pending.action,
                    }),
                }),
                Purpose::Keepalive => self.close(CloseReason::Unresponsive),
                Purpose::Login => self.close(CloseReason::AuthenticationFailed {
                    message: "no answer to Login".to_owned(),
                }),
            }
        }
        if self.keepalive_due() && self.keepalive_at <= now {
            self.keepalive_outstanding = true;
            self.queue("Ping", AmiMessage::new(), Purpose::Keepalive, now)
                .expect("a bare Ping is valid");
        }
    }

    /// The socket reached EOF or failed.
    pub fn handle_closed(&mut self) {
        self.close(CloseReason::ConnectionLost);
    }

    fn close(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.held.clear();
        let mut ids: Vec<u64> = self.pending.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let pending = self.pending.remove(&id).expect("just listed");
            if pending.purpose == Purpose::Caller {
                self.events.push_back(SessionEvent::Completed {
                    id: ActionId(id),
                    result: Err(AmiError::Disconnected),
                });
            }
        }
        self.events.push_back(SessionEvent::Closed(reason));
    }

    /// Moves the bytes to send into `out`; false when there are none.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        if self.transmit.is_empty() {
            return false;
        }
        out.append(&mut self.transmit);
        true
    }

    /// Whether a keepalive `Ping` may be needed: not while an action of a
    /// caller is outstanding. Asterisk answers one session's actions in
    /// order, so a `Ping` behind a long `Reload` would go unanswered and
    /// close a healthy session; the action's own deadline watches it.
    fn keepalive_due(&self) -> bool {
        self.state == State::Ready && !self.keepalive_outstanding && !self.pending.values().any(|pending| pending.purpose == Purpose::Caller)
    }

    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        let keepalive = self.keepalive_due().then_some(self.keepalive_at);
        self.pending
            .values()
            .map(|pending| pending.deadline)
            .chain(keepalive)
            .min()
    }
}

/// The `Message` of an error response, followed by its `Output` lines: a
/// failing CLI command (`Command`) answers `Response: Error` with the only
/// useful text in its output.
fn failure_message(response: &AmiMessage) -> String {
    let message = response.get("Message").unwrap_or_default().trim();
    let output: Vec<&str> = response.get_all("Output").collect();
    if output.is_empty() {
        message.to_owned()
    } else {
        format!("{message}: {}", output.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BANNER: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";

    fn credentials() -> Credentials {
        Credentials {
            username: "patchbay".into(),
            secret: Secret::new("s3cret"),
        }
    }

    fn transmitted(session: &mut AmiSession) -> String {
        let mut out = Vec::new();
        session.poll_transmit(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn events(session: &mut AmiSession) -> Vec<SessionEvent> {
        std::iter::from_fn(|| session.poll_event()).collect()
    }

    /// A session past its login, with the login's bytes consumed.
    fn logged_in(now: Instant) -> AmiSession {
        let mut session = AmiSession::new(now, &credentials(), SessionTimers::default());
        transmitted(&mut session);
        session.handle_bytes(
            now,
            b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: patchbay-1\r\n\
              Message: Authentication accepted\r\n\r\n",
        );
        assert!(matches!(events(&mut session)[..], [SessionEvent::LoggedIn]));
        session
    }

    #[test]
    fn logs_in_first_and_holds_actions_until_accepted() {
        let now = Instant::now();
        let mut session = AmiSession::new(now, &credentials(), SessionTimers::default());
        let ping = session.send_action(now, "Ping", AmiMessage::new()).unwrap();
        assert_eq!(
            transmitted(&mut session),
            "Action: Login\r\nActionID: patchbay-1\r\nUsername: patchbay\r\nSecret: s3cret\r\n\
             Events: on\r\n\r\n"
        );
        session.handle_bytes(now, BANNER);
        session.handle_bytes(
            now,
            b"Response: Success\r\nActionID: patchbay-1\r\nMessage: Authentication accepted\r\n\r\n",
        );
        assert_eq!(
            transmitted(&mut session),
            format!("Action: Ping\r\nActionID: {ping}\r\n\r\n")
        );
        assert!(matches!(events(&mut session)[..], [SessionEvent::LoggedIn]));
    }

    #[test]
    fn a_refused_login_closes_with_the_reason_and_fails_held_actions() {
        let now = Instant::now();
        let mut session = AmiSession::new(now, &credentials(), SessionTimers::default());
        session.send_action(now, "Ping", AmiMessage::new()).unwrap();
        assert!(transmitted(&mut session).starts_with("Action: Login\r\n"));
        session.handle_bytes(
            now,
            b"Asterisk Call Manager/11.0.0\r\nResponse: Error\r\nActionID: patchbay-1\r\n\
              Message: Authentication failed\r\n\r\n",
        );
        let events = events(&mut session);
        assert!(matches!(
            &events[..],
            [
                SessionEvent::Completed { result: Err(AmiError::Disconnected), .. },
                SessionEvent::Closed(CloseReason::AuthenticationFailed { message }),
            ] if message == "Authentication failed"
        ));
        assert_eq!(transmitted(&mut session), "");
        assert_eq!(session.poll_timeout(), None);
    }

    #[test]
    fn correlates_responses_by_action_id_out_of_order() {
        let now = Instant::now();
        let mut session = logged_in(now);
        let first = session.send_action(now, "Ping", AmiMessage::new()).unwrap();
        let second = session
            .send_action(
                now,
                "CreateConfig",
                AmiMessage::new().with("Filename", "x.conf"),
            )
            .unwrap();
        session.handle_bytes(
            now,
            format!(
                "Response: Error\r\nActionID: {second}\r\nMessage: File exists\r\n\r\n\
                 Response: Success\r\nActionID: {first}\r\nPing: Pong\r\n\r\n"
            )
            .as_bytes(),
        );
        let events = events(&mut session);
        assert!(matches!(
            &events[0],
            SessionEvent::Completed { id, result: Err(AmiError::ActionFailed { action, message }) }
                if *id == second && action == "CreateConfig" && message == "File exists"
        ));
        assert!(matches!(
            &events[1],
            SessionEvent::Completed { id, result: Ok(r) } if *id == first && r.response.get("Ping") == Some("Pong")
        ));
    }

    #[test]
    fn a_failed_command_keeps_its_output_in_the_error() {
        let now = Instant::now();
        let mut session = logged_in(now);
        let id = session
            .send_action(now, "Command", AmiMessage::new().with("Command", "x"))
            .unwrap();
        session.handle_bytes(
            now,
            format!(
                "Response: Error\r\nActionID: {id}\r\nMessage: Command output follows\r\n\
                 Output: No such command 'x'\r\n\r\n"
            )
            .as_bytes(),
        );
        let events = events(&mut session);
        assert!(matches!(
            &events[..],
            [SessionEvent::Completed { result: Err(AmiError::ActionFailed { message, .. }), .. }]
                if message == "Command output follows: No such command 'x'"
        ));
    }

    #[test]
    fn legacy_follows_command_output_is_a_success() {
        let now = Instant::now();
        let mut session = logged_in(now);
        let id = session
            .send_action(now, "Command", AmiMessage::new().with("Command", "x"))
            .unwrap();
        session.handle_bytes(
            now,
            format!("Response: Follows\r\nActionID: {id}\r\nraw line\n--END COMMAND--\r\n\r\n")
                .as_bytes(),
        );
        let events = events(&mut session);
        let [
            SessionEvent::Completed {
                result: Ok(answer), ..
            },
        ] = &events[..]
        else {
            panic!("{events:?}")
        };
        assert_eq!(answer.output(), ["raw line"]);
    }

    #[test]
    fn collects_list_events_and_passes_other_events_through() {
        let now = Instant::now();
        let mut session = logged_in(now);
        let id = session
            .send_action(
                now,
                "PJSIPShowEndpoint",
                AmiMessage::new().with("Endpoint", "trunk-a"),
            )
            .unwrap();
        session.handle_bytes(
            now,
            format!(
                "Response: Success\r\nActionID: {id}\r\nEventList: start\r\n\
                 Message: Following are Events for each object associated with the Endpoint\r\n\r\n\
                 Event: EndpointDetail\r\nActionID: {id}\r\nObjectName: trunk-a\r\n\r\n\
                 Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n\
                 Event: AorDetail\r\nActionID: {id}\r\nObjectName: trunk-a\r\n\r\n\
                 Event: EndpointDetailComplete\r\nActionID: {id}\r\nEventList: Complete\r\n\
                 ListItems: 2\r\n\r\n"
            )
            .as_bytes(),
        );
        let events = events(&mut session);
        let [
            SessionEvent::Event(unsolicited),
            SessionEvent::Completed {
                result: Ok(answer), ..
            },
        ] = &events[..]
        else {
            panic!("{events:?}")
        };
        assert_eq!(unsolicited.event_name(), Some("FullyBooted"));
        let names: Vec<_> = answer.items().map(|e| e.event_name().unwrap()).collect();
        assert_eq!(names, ["EndpointDetail", "AorDetail"]);
        assert_eq!(answer.events.len(), 3);
    }

    #[test]
    fn an_event_for_an_answered_action_is_unsolicited() {
        let now = Instant::now();
        let mut session = logged_in(now);
        let id = session
            .send_action(now, "Originate", AmiMessage::new())
            .unwrap();
        session.handle_bytes(
            now,
            format!(
                "Response: Success\r\nActionID: {id}\r\nMessage: Originate successfully queued\r\n\r\n\
                 Event: OriginateResponse\r\nActionID: {id}\r\nResponse: Success\r\nReason: 4\r\n\r\n"
            )
            .as_bytes(),
        );
        let events = events(&mut session);
        assert!(matches!(
            &events[0],
            SessionEvent::Completed { result: Ok(_), .. }
        ));
        assert!(
            matches!(&events[1], SessionEvent::Event(e) if e.event_name() == Some("OriginateResponse"))
        );
    }

    #[test]
    fn an_unanswered_action_times_out_on_the_virtual_clock() {
        let start = Instant::now();
        let mut session = logged_in(start);
        let id = session
            .send_action(start, "Ping", AmiMessage::new())
            .unwrap();
        let deadline = session.poll_timeout().unwrap();
        assert_eq!(deadline, start + SessionTimers::default().action_timeout);
        session.handle_timeout(deadline - Duration::from_millis(1));
        assert!(events(&mut session).is_empty());
        session.handle_timeout(deadline);
        assert!(matches!(
            &events(&mut session)[..],
            [SessionEvent::Completed { id: got, result: Err(AmiError::Timeout { .. }) }] if *got == id
        ));
        // A late answer is dropped, not misdelivered.
        session.handle_bytes(
            deadline,
            format!("Response: Success\r\nActionID: {id}\r\n\r\n").as_bytes(),
        );
        assert!(events(&mut session).is_empty());
    }

    #[test]
    fn a_reload_may_take_longer_than_other_actions() {
        let start = Instant::now();
        let mut session = logged_in(start);
        session.send_action(start, "Reload", AmiMessage::new().with("Module", "res_pjsip.so")).unwrap();
        let timers = SessionTimers::default();
        assert!(timers.reload_timeout > timers.action_timeout);
        session.handle_timeout(start + timers.action_timeout);
        assert!(events(&mut session).is_empty(), "still waiting after the usual timeout");
        // No keepalive behind it: Asterisk would answer the Ping only after
        // the reload, and the session would close as unresponsive.
        session.handle_timeout(start + timers.keepalive_interval + timers.action_timeout);
        assert!(events(&mut session).is_empty(), "the session stays open");
        assert!(!transmitted(&mut session).contains("Action: Ping"), "no keepalive while an action is outstanding");
        assert_eq!(session.poll_timeout(), Some(start + timers.reload_timeout));
        session.handle_timeout(start + timers.reload_timeout);
        assert!(matches!(&events(&mut session)[..], [SessionEvent::Completed { result: Err(AmiError::Timeout { .. }), .. }]));
    }

    #[test]
    fn pings_when_quiet_and_closes_when_the_ping_goes_unanswered() {
        let start = Instant::now();
        let timers = SessionTimers::default();
        let mut session = logged_in(start);
        let ping_at = session.poll_timeout().unwrap();
        assert_eq!(ping_at, start + timers.keepalive_interval);
        session.handle_timeout(ping_at);
        assert!(transmitted(&mut session).starts_with("Action: Ping\r\n"));
        let give_up_at = session.poll_timeout().unwrap();
        assert_eq!(give_up_at, ping_at + timers.action_timeout);
        session.handle_timeout(give_up_at);
        assert!(matches!(
            &events(&mut session)[..],
            [SessionEvent::Closed(CloseReason::Unresponsive)]
        ));
    }

    #[test]
    fn an_answered_ping_keeps_the_session_alive() {
        let start = Instant::now();
        let mut session = logged_in(start);
        let ping_at = session.poll_timeout().unwrap();
        session.handle_timeout(ping_at);
        let sent = transmitted(&mut session);
        let id = sent
            .lines()
            .nth(1)
            .unwrap()
            .trim_start_matches("ActionID: ");
        session.handle_bytes(
            ping_at,
            format!("Response: Success\r\nActionID: {id}\r\nPing: Pong\r\n\r\n").as_bytes(),
        );
        assert!(events(&mut session).is_empty());
        assert_eq!(
            session.poll_timeout(),
            Some(ping_at + SessionTimers::default().keepalive_interval)
        );
    }

    #[test]
    fn injection_is_refused_before_anything_is_queued() {
        let now = Instant::now();
        let mut session = logged_in(now);
        let evil = AmiMessage::new().with("Filename", "x.conf\r\nAction: Command");
        assert!(matches!(
            session.send_action(now, "CreateConfig", evil),
            Err(EncodeError::ForbiddenCharacter { .. })
        ));
        let spoofed = AmiMessage::new().with("ActionID", "patchbay-1");
        assert!(matches!(
            session.send_action(now, "Ping", spoofed),
            Err(EncodeError::ReservedKey { .. })
        ));
        assert_eq!(transmitted(&mut session), "");
    }

    #[test]
    fn losing_the_socket_fails_pending_actions() {
        let now = Instant::now();
        let mut session = logged_in(now);
        session.send_action(now, "Ping", AmiMessage::new()).unwrap();
        session.handle_closed();
        assert!(matches!(
            &events(&mut session)[..],
            [
                SessionEvent::Completed {
                    result: Err(AmiError::Disconnected),
                    ..
                },
                SessionEvent::Closed(CloseReason::ConnectionLost),
            ]
        ));
    }

    #[test]
    fn credentials_debug_hides_the_secret() {
        assert!(!format!("{:?}", credentials()).contains("s3cret"));
    }
}
