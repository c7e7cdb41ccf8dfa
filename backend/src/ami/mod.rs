//! Patchbay's link to Asterisk over AMI (the Asterisk Manager Interface).
//!
//! Layout:
//! - `codec`: bytes ↔ [`AmiMessage`]; refuses CR/LF in values and more than
//!   128 header lines, so no caller can inject headers.
//! - `session`: the sans-IO protocol state machine (login, `ActionID`
//!   correlation, list answers, keepalive, timeouts).
//! - `connection`: the tokio shell running one session over one TCP stream.
//! - `client`: [`AmiClient`], the cloneable handle; reconnects with back-off
//!   and publishes an [`AmiStatus`].
//! - `config_writer`: reads and writes whole config files through
//!   `GetConfig` / `UpdateConfig`, chunked within AMI's limits.
//! - `dialplan`: live dialplan edits (`DialplanExtensionAdd`/`Remove`, and
//!   the CLI's include and context commands through `Command`) and the
//!   parsing of `dialplan show` / `pjsip show transports` output.
//! - `pjsip`: what res_pjsip holds (list actions, one object's detail,
//!   transports).
//! - `url`: `ami://USER:SECRET@HOST:PORT`.
//! - `endpoint_ops`: run-time operations on one PJSIP endpoint (maintenance,
//!   qualify now, contact status), without touching its configuration.
//!
//! Secrets never reach logs: [`Secret`], [`AmiUrl`] and [`AmiMessage`] redact
//! them in `Debug`/`Display`.

mod client;
mod codec;
pub mod config_writer;
mod connection;
pub mod dialplan;
pub mod endpoint_ops;
pub mod pjsip;
mod error;
mod session;
mod url;

pub use client::{ActionCounter, AmiClient, AmiStatus, ClientOptions};
pub use codec::{AmiMessage, DecodeError, EncodeError, MAX_HEADER_LINES};
pub use error::AmiError;
pub use session::{ActionResponse, Credentials, Secret, SessionTimers};
pub use url::AmiUrl;
