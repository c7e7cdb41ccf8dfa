//! API errors in Wazo's wire shape: a JSON array of messages, each naming the
//! field or resource concerned (clients match on phrases such as
//! `was not found`, `already exists`, `different tenants`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

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
    pub fn resource(message: impl std::fmt::Display) -> ApiError {
        ApiError::BadRequest(vec![format!("Resource Error - {message}")])
    }
    pub fn not_found(resource: &str, key: &str, value: impl std::fmt::Display) -> ApiError {
        ApiError::NotFound(format!("Resource Not Found - {resource} was not found ('{key}': {value})"))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> ApiError {
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
