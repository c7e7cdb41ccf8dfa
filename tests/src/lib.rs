//! Helpers shared by the end-to-end tests (see tests/tests/*.rs).

pub mod asterisk;
pub mod app;
pub mod browser;
pub mod sipp;
