//! Patchbay's domain crate.
//!
//! Contract: no I/O, no async, no clock, no randomness. Everything here is a
//! pure function of its inputs, so the browser (wasm32) and the server run the
//! very same code and give the very same answers.
//!
//! Reading order:
//! - [`api`]: request shapes that are not the model: the legacy chan_sip API
//!   (seed docs 000/001) translated to the PJSIP model.
//! - [`callerid`]: parsing caller-ID strings and the outgoing caller-ID
//!   precedence, with an explanation of the choice.
//! - [`health`]: a trunk's reachability with hysteresis and its registration
//!   with the SIP code, as transitions in a bounded history (time passed in).
//! - [`model`]: the Wazo confd objects (wire shapes) and the [`model::Snapshot`]
//!   that gathers them as the one input of everything below.
//! - [`validate`]: every Wazo rule plus the injection rules, per object and
//!   across a whole snapshot; errors name the field and what is allowed.
//! - [`render`]: pjsip.conf, extensions.conf and iax.conf as structured
//!   sections and text; `render::escape` is the only producer of config text.
//! - [`simulate`]: "user U dials X" → a `Trace` over the very dialplan that is
//!   rendered: winner, trunks with dial strings, caller ID, overlap state.
//! - [`lint`]: legal but suspicious configurations (literal `418.`, shadowed
//!   or duplicate patterns, swallowed internal numbers, trunk mistakes).
//! - [`numbers`]: number plans: a tenant's dialling habits, a trunk's
//!   outbound format, inbound numbers to E.164 (pure, not yet wired in).
//! - [`pattern`]: Asterisk's extension matcher (parse, order, lookup), exactly
//!   as a real Asterisk 22 does it.

pub mod api;
pub mod callerid;
pub mod health;
pub mod inbound;
pub mod kazoo;
pub mod lint;
pub mod model;
pub mod numbers;
pub mod order;
pub mod validate;
pub mod pattern;
pub mod render;
pub mod simulate;
pub mod tenancy;

#[cfg(test)]
mod fixtures;
