//! Bytes ↔ AMI messages, with no socket in sight.
//!
//! AMI frames are blocks of `Key: Value\r\n` lines ended by a blank line, after a
//! single banner line (`Asterisk Call Manager/11.0.0`) sent when the connection
//! opens. Keys repeat (`Output`, `Line-0-1`, …), so a message is an ordered list of
//! pairs, never a map.
//!
//! Encoding is where AMI's safety rules live: a value holding CR or LF would start
//! a new header (or a new action) on Asterisk's side, so it is refused, as is a
//! message longer than Asterisk's 128 header lines (it would be cut silently).

use std::fmt;

/// Asterisk keeps at most this many header lines per message (`AST_MAX_MANHEADERS`);
/// `Action` and `ActionID` count.
pub const MAX_HEADER_LINES: usize = 128;

/// One AMI message — response, event or action — as the ordered `(key, value)`
/// pairs it was sent with.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AmiMessage {
    pub headers: Vec<(String, String)>,
}

impl AmiMessage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a header; the order is kept on the wire.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// The first value under `key`; AMI keys are case-insensitive.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Every value under `key`, in order (`Output` lines of a `Command`, say).
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// `Some(name)` for an event (`Event: FullyBooted`).
    pub fn event_name(&self) -> Option<&str> {
        self.get("Event")
    }

    /// `Some("Success" | "Error" | …)` for a response to an action.
    pub fn response(&self) -> Option<&str> {
        self.get("Response")
    }

    pub fn action_id(&self) -> Option<&str> {
        self.get("ActionID")
    }
}

/// Debug output hides secrets — a `Secret` header, a config line such as
/// `Line-0-3: password=…`, the `Value-N` paired with `Var-N: password` in an
/// `UpdateConfig` — so a message can be logged as it is.
impl fmt::Debug for AmiMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        let mut secret_value_key = None;
        for (key, value) in &self.headers {
            let hidden = is_secret_name(key)
                || secret_value_key.as_deref() == Some(key.as_str())
                || value
                    .split_once('=')
                    .is_some_and(|(name, _)| is_secret_name(name.trim()));
            if let Some(index) = key.strip_prefix("Var-") {
                secret_value_key = is_secret_name(value).then(|| format!("Value-{index}"));
            }
            if hidden {
                list.entry(&format_args!("{key}: <redacted>"));
            } else {
                list.entry(&format_args!("{key}: {value}"));
            }
        }
        list.finish()
    }
}

fn is_secret_name(name: &str) -> bool {
    ["secret", "password", "md5_cred"]
        .iter()
        .any(|secret| name.eq_ignore_ascii_case(secret))
}

/// What one decoding step found at the front of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The `Asterisk Call Manager/x.y` line sent once at connection start.
    Banner(String),
    Message(AmiMessage),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not valid UTF-8 in an AMI line")]
    InvalidUtf8,
    #[error("the AMI banner was expected, got {0:?}")]
    NotAmi(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("AMI header {key:?} holds a CR, LF or NUL; sending it would inject headers")]
    ForbiddenCharacter { key: String },
    #[error("AMI header key {key:?} is empty or holds ':' or whitespace")]
    InvalidKey { key: String },
    #[error("AMI header {key:?} is set by the session and cannot be given by the caller")]
    ReservedKey { key: String },
    #[error("AMI message has {count} header lines; Asterisk keeps only {MAX_HEADER_LINES}")]
    TooManyLines { count: usize },
}

/// Incremental decoder: feed it bytes, take whole frames out.
///
/// It remembers whether the banner was seen, because the banner is the one line
/// of AMI not ended by a blank line.
#[derive(Debug, Default)]
pub struct Decoder {
    banner_seen: bool,
    /// Where the scan for the blank line ending the current message resumes
    /// (a line start): a large answer (`GetConfig` of a big file, a long
    /// `Command` output) arrives in many reads and is not rescanned each time.
    scanned: usize,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes and returns the first whole frame in `buffer`, or `Ok(None)` when
    /// more bytes are needed.
    ///
    /// Lines end in CRLF, but a bare LF is accepted: Asterisk itself sends some
    /// error messages with a stray `\n` inside (`Message: Unable to retrieve
    /// endpoint x\n\r\n\r\n`). Blank lines between messages are skipped.
    pub fn decode(&mut self, buffer: &mut Vec<u8>) -> Result<Option<Frame>, DecodeError> {
        if !self.banner_seen {
            let Some(end) = buffer.iter().position(|&b| b == b'\n') else {
                return Ok(None);
            };
            let line = take_line(buffer, end)?;
            if !line.starts_with("Asterisk Call Manager/") {
                return Err(DecodeError::NotAmi(line));
            }
            self.banner_seen = true;
            return Ok(Some(Frame::Banner(line)));
        }
        loop {
            let end = match message_end(buffer, self.scanned.min(buffer.len())) {
                Ok(end) => end,
                Err(resume) => {
                    self.scanned = resume;
                    return Ok(None);
                }
            };
            self.scanned = 0;
            let block: Vec<u8> = buffer.drain(..end).collect();
            let text = std::str::from_utf8(&block).map_err(|_| DecodeError::InvalidUtf8)?;
            let message = parse_block(text);
            if !message.headers.is_empty() {
                return Ok(Some(Frame::Message(message)));
            }
        }
    }
}

fn take_line(buffer: &mut Vec<u8>, newline: usize) -> Result<String, DecodeError> {
    let raw: Vec<u8> = buffer.drain(..=newline).collect();
    let text = std::str::from_utf8(&raw).map_err(|_| DecodeError::InvalidUtf8)?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

/// Index just past the first blank line at or after `from` (a line start),
/// i.e. past the end of one message; else the start of the last, incomplete
/// line, where the next scan resumes.
fn message_end(buffer: &[u8], from: usize) -> Result<usize, usize> {
    let mut line_start = from;
    for (i, &byte) in buffer.iter().enumerate().skip(from) {
        if byte == b'\n' {
            let line = &buffer[line_start..i];
            if line.is_empty() || line == b"\r" {
                return Ok(i + 1);
            }
            line_start = i + 1;
        }
    }
    Err(line_start)
}

/// Splits a block into headers. A line without `:` (old `Response: Follows`
/// command output) is kept as an `Output` header, as Asterisk 22 sends it.
fn parse_block(text: &str) -> AmiMessage {
    let headers = text
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.is_empty() && *line != "--END COMMAND--")
        .map(|line| match line.split_once(':') {
            Some((key, value)) => (key.to_owned(), value.trim_start().to_owned()),
            None => ("Output".to_owned(), line.to_owned()),
        })
        .collect();
    AmiMessage { headers }
}

/// Appends `message` to `out` as one AMI frame, after checking every key and
/// value. On error nothing is written.
pub fn encode(message: &AmiMessage, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    validate(message)?;
    for (key, value) in &message.headers {
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// The checks `encode` makes, callable ahead of time (by a writer that wants to
/// refuse a whole plan before sending its first part).
pub fn validate(message: &AmiMessage) -> Result<(), EncodeError> {
    let count = message.headers.len();
    if count > MAX_HEADER_LINES {
        return Err(EncodeError::TooManyLines { count });
    }
    for (key, value) in &message.headers {
        if key.is_empty() || key.contains(|c: char| c == ':' || c.is_whitespace() || c == '\0') {
            return Err(EncodeError::InvalidKey { key: key.clone() });
        }
        if value.contains(['\r', '\n', '\0']) {
            return Err(EncodeError::ForbiddenCharacter { key: key.clone() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> (Vec<Frame>, Vec<u8>) {
        let mut decoder = Decoder::new();
        let mut buffer = bytes.to_vec();
        let mut frames = Vec::new();
        while let Some(frame) = decoder.decode(&mut buffer).unwrap() {
            frames.push(frame);
        }
        (frames, buffer)
    }

    #[test]
    fn banner_then_messages_with_repeated_keys_in_order() {
        let bytes = b"Asterisk Call Manager/11.0.0\r\n\
            Response: Success\r\nActionID: 2\r\nMessage: Command output follows\r\n\
            Output: line one\r\nOutput: line: two\r\n\r\n";
        let (frames, rest) = decode_all(bytes);
        assert!(rest.is_empty());
        assert_eq!(
            frames[0],
            Frame::Banner("Asterisk Call Manager/11.0.0".into())
        );
        let Frame::Message(message) = &frames[1] else {
            panic!("{frames:?}")
        };
        assert_eq!(message.response(), Some("Success"));
        assert_eq!(message.action_id(), Some("2"));
        let output: Vec<_> = message.get_all("output").collect();
        assert_eq!(output, ["line one", "line: two"]);
    }

    #[test]
    fn incomplete_message_waits_for_the_blank_line() {
        let mut decoder = Decoder::new();
        let mut buffer = b"Asterisk Call Manager/11.0.0\r\nEvent: FullyBooted\r\n".to_vec();
        assert!(matches!(
            decoder.decode(&mut buffer),
            Ok(Some(Frame::Banner(_)))
        ));
        assert_eq!(decoder.decode(&mut buffer), Ok(None));
        buffer.extend_from_slice(b"Status: Fully Booted\r\n\r");
        assert_eq!(decoder.decode(&mut buffer), Ok(None));
        buffer.extend_from_slice(b"\n");
        let Some(Frame::Message(event)) = decoder.decode(&mut buffer).unwrap() else {
            panic!()
        };
        assert_eq!(event.event_name(), Some("FullyBooted"));
        assert_eq!(event.get("status"), Some("Fully Booted"));
    }

    /// A message fed in pieces cut anywhere decodes the same (the scan
    /// resumes where it stopped rather than starting over).
    #[test]
    fn messages_split_at_any_byte_decode_the_same() {
        let stream = b"Response: Success\r\nLine-0-0: a=b\r\n\r\nEvent: X\r\nK: v\r\n\r\n";
        for cut in 0..stream.len() {
            for second_cut in cut..stream.len() {
                let mut decoder = Decoder { banner_seen: true, ..Decoder::default() };
                let mut buffer = Vec::new();
                let mut frames = Vec::new();
                for piece in [&stream[..cut], &stream[cut..second_cut], &stream[second_cut..]] {
                    buffer.extend_from_slice(piece);
                    while let Some(frame) = decoder.decode(&mut buffer).unwrap() {
                        frames.push(frame);
                    }
                }
                assert_eq!(frames.len(), 2, "cut at {cut}/{second_cut}");
                let Frame::Message(first) = &frames[0] else { panic!() };
                assert_eq!(first.get("Line-0-0"), Some("a=b"));
                assert!(buffer.is_empty());
            }
        }
    }

    /// Recorded from Asterisk 22: an error message with a stray LF, then two blank lines.
    #[test]
    fn stray_lf_in_an_error_message_does_not_desynchronise() {
        let bytes = b"Asterisk Call Manager/11.0.0\r\n\
            Response: Error\r\nActionID: 3\r\nMessage: Unable to retrieve endpoint nope\n\r\n\r\n\
            Response: Success\r\nActionID: 4\r\n\r\n";
        let (frames, rest) = decode_all(bytes);
        assert!(rest.is_empty());
        let ids: Vec<_> = frames[1..]
            .iter()
            .map(|f| match f {
                Frame::Message(m) => m.action_id().unwrap().to_owned(),
                Frame::Banner(_) => panic!(),
            })
            .collect();
        assert_eq!(ids, ["3", "4"]);
    }

    #[test]
    fn legacy_follows_output_becomes_output_headers() {
        let bytes = b"Asterisk Call Manager/1.1\r\n\
            Response: Follows\r\nActionID: 9\r\nraw output\n--END COMMAND--\r\n\r\n";
        let (frames, _) = decode_all(bytes);
        let Frame::Message(message) = &frames[1] else {
            panic!()
        };
        assert_eq!(
            message.get_all("Output").collect::<Vec<_>>(),
            ["raw output"]
        );
    }

    #[test]
    fn a_stream_that_is_not_ami_is_an_error() {
        let mut buffer = b"SSH-2.0-OpenSSH\r\n".to_vec();
        assert!(matches!(
            Decoder::new().decode(&mut buffer),
            Err(DecodeError::NotAmi(_))
        ));
    }

    #[test]
    fn encodes_in_order_with_crlf() {
        let message = AmiMessage::new()
            .with("Action", "Ping")
            .with("ActionID", "7");
        let mut out = Vec::new();
        encode(&message, &mut out).unwrap();
        assert_eq!(out, b"Action: Ping\r\nActionID: 7\r\n\r\n");
    }

    #[test]
    fn refuses_values_that_would_inject_headers_and_writes_nothing() {
        for evil in ["x\r\nAction: Command", "x\n[evil]", "x\r", "x\0y"] {
            let message = AmiMessage::new()
                .with("Action", "UpdateConfig")
                .with("Value-000000", evil);
            let mut out = b"before".to_vec();
            assert_eq!(
                encode(&message, &mut out),
                Err(EncodeError::ForbiddenCharacter {
                    key: "Value-000000".into()
                })
            );
            assert_eq!(out, b"before");
        }
    }

    #[test]
    fn refuses_bad_keys() {
        for key in ["", "Action: Command", "Two words", "Line\n"] {
            let message = AmiMessage::new().with(key, "v");
            assert!(matches!(
                encode(&message, &mut Vec::new()),
                Err(EncodeError::InvalidKey { .. })
            ));
        }
    }

    #[test]
    fn refuses_more_than_128_lines() {
        let mut message = AmiMessage::new();
        for i in 0..MAX_HEADER_LINES {
            message = message.with(format!("Var-{i:06}"), "x");
        }
        assert!(encode(&message, &mut Vec::new()).is_ok());
        message = message.with("One", "more");
        assert_eq!(
            encode(&message, &mut Vec::new()),
            Err(EncodeError::TooManyLines { count: 129 })
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let message = AmiMessage::new()
            .with("Action", "Login")
            .with("Secret", "hunter2")
            .with("Var-000001", "password")
            .with("Value-000001", "hunter3")
            .with("Line-000000-000002", "password=hunter4");
        let shown = format!("{message:?}");
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(shown.contains("Login"));
    }
}
