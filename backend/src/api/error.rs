//! API errors in Wazo's wire shape: a JSON array of messages, each naming the
//! field or resource concerned (clients match on phrases such as
//! `was not found`, `already exists`, `different tenants`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use patchbay_shared::validate::FieldError;

#[derive(Debug)]
pub enum ApiError {
    /// 400: the request is wrong; nothing was changed.
    BadRequest(Vec<String>),
    /// 401: no valid token, or a tenant the token may not act for.
    Unauthorized(String),
    /// 404: the resource does not exist *for this caller*.
    NotFound(String),
    /// 500: our fault; the message is logged, the client gets a generic one.
    Internal(String),
}

impl ApiError {
    pub fn input(field: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError::BadRequest(vec![format!("Input Error - {field}: {message}")])
    }
    /// A schema error on one field, in marshmallow's list form.
    pub fn field(field: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError::BadRequest(vec![ApiError::schema(field, &[message.to_string()])])
    }
    pub fn resource(message: impl std::fmt::Display) -> ApiError {
        ApiError::BadRequest(vec![format!("Resource Error - {message}")])
    }
    pub fn not_found(resource: &str, key: &str, value: impl std::fmt::Display) -> ApiError {
        ApiError::NotFound(format!("Resource Not Found - {resource} was not found ('{key}': {value})"))
    }
    /// Wazo's 404 for a path key: an integer id shows bare (`('id': 42)`),
    /// anything else as a quoted string (`('uuid': 'abc')`), as Python prints
    /// the metadata of xivo-dao's `not_found`.
    pub fn not_found_key(resource: &str, key: &str, value: &str) -> ApiError {
        match value.parse::<i64>() {
            Ok(id) if key == "id" => ApiError::not_found(resource, key, id),
            _ => ApiError::not_found(resource, key, python_str(value)),
        }
    }
    /// A marshmallow (schema) error on `field`: Wazo prints the field's
    /// message list as Python does, `Input Error - name: ['Missing data for required field.']`.
    pub fn schema(field: &str, messages: &[String]) -> String {
        let list: Vec<String> = messages.iter().map(|message| python_str(message)).collect();
        format!("Input Error - {field}: [{}]", list.join(", "))
    }
}

/// A string as Python's `repr` prints it: single quotes unless the text has
/// a single quote and no double quote; backslashes and the chosen quote escaped.
pub fn python_str(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Field errors from the shared validation → Wazo's 400: one message per
/// top-level field, each with the list of what is wrong with it, in the
/// order the fields were first named (marshmallow's error dict).
pub fn field_errors(errors: Vec<FieldError>) -> ApiError {
    ApiError::BadRequest(schema_messages(errors))
}

pub fn schema_messages(errors: Vec<FieldError>) -> Vec<String> {
    let mut fields: Vec<(String, Node)> = Vec::new();
    let mut raw: Vec<String> = Vec::new();
    for error in errors {
        // xivo-dao's own errors (`field 'context': Context was not found ...`)
        // are plain sentences, not marshmallow lists.
        if error.field.starts_with("field '") {
            raw.push(format!("Input Error - {}: {}", error.field, error.message));
            continue;
        }
        let top = top_field(&error.field).to_string();
        let path = nested_keys(&error.field[top.len()..]);
        let index = match fields.iter().position(|(field, _)| *field == top) {
            Some(index) => index,
            None => {
                fields.push((top, Node::default()));
                fields.len() - 1
            }
        };
        fields[index].1.insert(&path, error.message);
    }
    fields.iter().map(|(field, node)| format!("Input Error - {field}: {}", node.python())).chain(raw).collect()
}

/// marshmallow's error tree under one field: messages, or nested keys
/// (`{'command': [...]}`, `{0: {'start': [...]}}`).
#[derive(Default)]
struct Node {
    messages: Vec<String>,
    children: Vec<(String, Node)>,
}

impl Node {
    fn insert(&mut self, path: &[String], message: String) {
        match path.split_first() {
            None => self.messages.push(message),
            Some((key, rest)) => {
                let index = match self.children.iter().position(|(k, _)| k == key) {
                    Some(index) => index,
                    None => {
                        self.children.push((key.clone(), Node::default()));
                        self.children.len() - 1
                    }
                };
                self.children[index].1.insert(rest, message);
            }
        }
    }

    /// As Python prints it: a list of messages, or a dict (integer keys bare).
    fn python(&self) -> String {
        if self.children.is_empty() {
            let list: Vec<String> = self.messages.iter().map(|m| super::error::python_str(m)).collect();
            return format!("[{}]", list.join(", "));
        }
        let mut entries: Vec<String> = self
            .children
            .iter()
            .map(|(key, node)| {
                let key = if key.parse::<u64>().is_ok() { key.clone() } else { super::error::python_str(key) };
                format!("{key}: {}", node.python())
            })
            .collect();
        if !self.messages.is_empty() {
            entries.push(format!("'_schema': {}", Node { messages: self.messages.clone(), children: Vec::new() }.python()));
        }
        format!("{{{}}}", entries.join(", "))
    }
}

/// `.user_id` → `[user_id]`, `[0].id` → `[0, id]`, `.sip_headers.1` → `[sip_headers, 1]`.
fn nested_keys(rest: &str) -> Vec<String> {
    rest.split(['.', '[', ']']).filter(|key| !key.is_empty()).map(str::to_string).collect()
}

/// `destination` of `destination.user_id`, `trunks` of `trunks[0].id`.
pub(crate) fn top_field(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}


pub fn ok_or_400(errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() { Ok(()) } else { Err(field_errors(errors)) }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> ApiError {
        // The schema's own rules, when a write reaches them: Wazo's wording.
        if let Some(noun) = error.unique_violation() {
            return ApiError::resource(format!("{noun} already exists"));
        }
        ApiError::Internal(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, messages) = match self {
            ApiError::BadRequest(messages) => (StatusCode::BAD_REQUEST, messages),
            ApiError::Unauthorized(message) => (StatusCode::UNAUTHORIZED, vec![message]),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, vec![message]),
            ApiError::Internal(message) => {
                tracing::error!(%message, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, vec!["Unexpected error: see the server log".to_string()])
            }
        };
        (status, axum::Json(messages)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_repr_of_strings() {
        assert_eq!(python_str("abc"), "'abc'");
        assert_eq!(python_str("it's"), "\"it's\"");
        assert_eq!(python_str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(ApiError::schema("name", &["Missing data for required field.".into()]), "Input Error - name: ['Missing data for required field.']");
    }
}
