//! The client's error type.

use reqwest::StatusCode;

use super::types::ErrorBody;

/// Why a call to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused the request with its JSON error body.
    #[error("server refused ({status}): {code}: {message}")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// Stable machine-readable code, e.g. `deadline_passed`.
        code: String,
        /// The server's explanation.
        message: String,
        /// The offending field, when the server named one.
        field: Option<String>,
    },
    /// The server answered with an error status and no error body.
    #[error("server answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: StatusCode,
        /// The start of the body, for a person.
        body: String,
    },
    /// The server could not be reached or the connection broke.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The server's URL is not usable.
    #[error("invalid server URL {0}")]
    InvalidUrl(String),
    /// The server answered something the client cannot read.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
    /// A local file to upload could not be read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ClientError {
    /// Builds the error for a non-success answer.
    pub(super) fn from_response(status: StatusCode, body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(e) => ClientError::Api { status, code: e.code, message: e.message, field: e.field },
            Err(_) => {
                // Bounded: a proxy's HTML error page is not worth printing whole.
                let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
                ClientError::Status { status, body: text }
            }
        }
    }

    /// Whether the same request may succeed if tried again later: the server
    /// could not be reached, the connection broke, or it answered that it is
    /// unavailable (5xx, 429). A refusal of the request itself is final.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Http(e) => !e.is_builder() && !e.is_redirect(),
            ClientError::Api { status, .. } | ClientError::Status { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            // A local file that cannot be read will not be readable on a retry either.
            ClientError::Io(_) | ClientError::InvalidUrl(_) | ClientError::Unexpected(_) => false,
        }
    }

    /// The server's error code, if it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_codes() {
        let e = ClientError::from_response(
            StatusCode::CONFLICT,
            br#"{"code":"deadline_passed","message":"the deadline has passed"}"#,
        );
        assert_eq!(e.code(), Some("deadline_passed"));
        assert!(e.to_string().contains("deadline_passed: the deadline has passed"), "{e}");
        let e = ClientError::from_response(StatusCode::BAD_GATEWAY, "<html>".repeat(100).as_bytes());
        assert_eq!(e.code(), None);
        assert!(e.to_string().len() < 300, "long bodies are cut: {e}");
        assert!(e.is_transient(), "a 502 may pass");
    }

    #[test]
    fn refusals_are_final_and_outages_transient() {
        let refused = ClientError::from_response(StatusCode::CONFLICT, br#"{"code":"x","message":"y"}"#);
        assert!(!refused.is_transient());
        let busy = ClientError::from_response(StatusCode::SERVICE_UNAVAILABLE, br#"{"code":"x","message":"y"}"#);
        assert!(busy.is_transient());
        assert!(!ClientError::Unexpected("?".into()).is_transient());
    }
}
