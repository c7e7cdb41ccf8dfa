use super::codec::{DecodeError, EncodeError};

/// Everything that can go wrong talking to Asterisk.
#[derive(Debug, thiserror::Error)]
pub enum AmiError {
    #[error("invalid AMI URL: {0}")]
    InvalidUrl(String),
    #[error("AMI connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("AMI protocol error: {0}")]
    Decode(#[from] DecodeError),
    #[error("refused to send AMI action: {0}")]
    Encode(#[from] EncodeError),
    /// Wrong user or secret, or the user is not allowed from this address.
    #[error("Asterisk refused the AMI login: {message}")]
    AuthenticationFailed { message: String },
    /// Asterisk answered `Response: Error`.
    #[error("AMI action {action} failed: {message}")]
    ActionFailed { action: String, message: String },
    #[error("AMI action {action} got no answer in time")]
    Timeout { action: String },
    /// The connection closed while the action was outstanding.
    #[error("AMI connection lost")]
    Disconnected,
    /// The client is between connections (reconnecting, or the login was refused).
    #[error("not connected to Asterisk ({0})")]
    NotConnected(String),
}
