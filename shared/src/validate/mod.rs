//! Validation: every rule of the Wazo confd reference for the objects of
//! [`crate::model`], plus the injection rules that keep user text out of
//! Asterisk's syntax.
//!
//! Entry points: one function per object (`validate::endpoint_sip(&ep)`...)
//! returning `Vec<FieldError>` (empty = valid), and [`snapshot`] for the
//! rules that span objects (references, tenants, uniqueness), which also runs
//! every per-object check. The backend turns a [`FieldError`] into
//! `Input Error - <field>: <message>` with HTTP 400.
//!
//! # Injection safety, field by field
//!
//! Nothing a user types may change the *structure* of a rendered file. Each
//! field is either restricted to a charset that cannot carry Asterisk syntax,
//! or only ever rendered through `render::escape` in a form Asterisk does not
//! evaluate:
//!
//! | field | rule | why it is inert |
//! |---|---|---|
//! | SIP endpoint / template / transport `name` | `[-_.a-zA-Z0-9]{1,79}`, not `global`/`system`, not `outbound_auth_*`/`auth_reg_*` | section name and dial target; the prefixes are the generated auth sections |
//! | context `name`, `preprocess_subroutine`, destination `context` | `[a-zA-Z0-9_-]{1,79}`, not reserved, not `pb-*` | context names; `pb-` is Patchbay's generated subroutines |
//! | IAX `name` | `[a-zA-Z0-9_-]{1,40}` | section name and dial target |
//! | `exten` | Wazo's charsets (`0-9*#_XxZzNn[].!-`, `+` in outcall contexts), balanced `[]` | extension name: no `,` `;` `=` `$` |
//! | custom `interface`, `interface_suffix` | `[a-zA-Z0-9#*./_@:-]` | written into `Dial()`: no `,` `&` `$` |
//! | `external_prefix`, `prefix` | `+?[0-9*#]*` | digits in `Dial()` |
//! | caller IDs (user, outgoing, outcall pattern, incall name) | parsed by `callerid::parse`: number `+?[0-9*#]`, name = letters, digits, `' .-_&+/@:!?#*` | written into `Set(CALLERID(...))` and `callerid =`: no `$ { } [ ] ( ) ; , = \ | "` |
//! | PJSIP / IAX option keys | a real option of that section (static Asterisk 22 table), never `type` | keys are fixed words |
//! | PJSIP / IAX option values, passwords | no control chars, no `${` / `$[`, no edge blanks; `;` rendered as `\;` | config values are never evaluated; a newline is what could start a new line |
//! | transport option keys/values | `[a-zA-Z0-9-_/.:,]` (Wazo's rule) | addresses and paths only |
//! | labels, descriptions, outcall `name`, user names | no control characters, no `${` / `$[` | written only as `;` comments, one line |
//! | uuids | `[a-zA-Z0-9-]{1,36}` | tenant uuid reaches a `set_var` |

mod objects;
mod pjsip_options;
mod pjsip_values;
mod sip;
mod snapshot;
mod text;

pub use objects::{
    context, endpoint_custom, endpoint_iax, extension, group, incall, line, outcall,
    outcall_extension, pjsip_global, pjsip_system, register_iax, tenant, transport, trunk, user,
};
pub use pjsip_options::{OptionSet, hint_for};
pub use sip::endpoint_sip;
pub use snapshot::{ObjectError, snapshot};

use serde::Serialize;
use std::fmt;

/// One problem with one field: what it is and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The JSON field (`name`, `endpoint_section_options`, `extensions[0].caller_id`).
    pub field: String,
    /// What is wrong and what would be accepted.
    pub message: String,
}

impl FieldError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Collects errors for one object.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    /// Records `problem` (if any) against `field`.
    fn check(&mut self, field: impl Into<String>, problem: Option<String>) {
        if let Some(message) = problem {
            self.0.push(FieldError::new(field, message));
        }
    }

    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

#[cfg(test)]
mod tests;
