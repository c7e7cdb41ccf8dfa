//! Asterisk's extension matcher, exactly as Asterisk 22 does it with the
//! classic matcher (`extenpatternmatchnew = no`); the rules are written up in
//! `shared/spec/dialplan-patterns.md` and checked against a corpus recorded
//! from a real Asterisk ([`corpus`]).
//!
//! Reading order:
//! - `parse`: a written name becomes a stored [`Extension`] (§2).
//! - `order`: Asterisk's sort order, [`compare`] (§4).
//! - `matching`: one extension against one dialled string, [`match_one`] (§3).
//! - `dialplan`: contexts, includes, ignore patterns and the lookup (§5, §6):
//!   [`DialplanBuilder`] → [`Dialplan`].
//! - `index`: the compiled trie that makes a lookup independent of the number
//!   of extensions; [`LinearScan`] is the plain scan it is tested against.
//! - [`corpus`]: replays a recorded corpus and reports disagreements.
//!
//! Caller-ID patterns (`exten => NAME/CID,...`) are not supported: such names
//! are rejected by [`Extension::parse`].

mod byteset;
pub mod corpus;
mod dialplan;
mod error;
mod index;
mod matching;
mod order;
mod parse;

pub use dialplan::{Added, Dialplan, DialplanBuilder, LinearScan, Match};
pub use error::PatternError;
pub use matching::{MatchResult, Mode, match_one};
pub use parse::{Extension, compare};
