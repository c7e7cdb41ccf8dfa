//! Patchbay's domain crate.
//!
//! Contract: no I/O, no async, no clock, no randomness. Everything here is a
//! pure function of its inputs, so the browser (wasm32) and the server run the
//! very same code and give the very same answers.
//!
//! Reading order:
//! - [`pattern`]: Asterisk's extension matcher (parse, order, lookup), exactly
//!   as a real Asterisk 22 does it.

pub mod pattern;
