//! Patchbay's server: the REST API on SQLite, the browser app's files, and the
//! AMI link to Asterisk. Domain logic lives in `patchbay_shared`; this crate
//! only does I/O around it.

pub mod ami;
pub mod api;
pub mod ari;
pub mod backup;
pub mod bootstrap;
pub mod calls;
pub mod config;
pub mod doctor;
pub mod fleet;
pub mod health;
pub mod lease;
pub mod live;
pub mod metrics;
pub mod secrets;
pub mod server;
pub mod snapshot;
pub mod store;
pub mod sync;
