//! The client's error type.

use reqwest::StatusCode;

use super::types::{BidEnded, ErrorBody};

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
    /// The envelope sent was received before, but its bid no longer stands
    /// (`409 bid_withdrawn` / `bid_replaced`): the answer names what ended it.
    #[error("server refused ({status}): {}: {}", .ended.code, .ended.message)]
    BidEnded {
        /// HTTP status (409).
        status: StatusCode,
        /// The bid, and the receipt of the withdrawal or of the replacing bid.
        ended: Box<BidEnded>,
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
        if status == StatusCode::CONFLICT
            && let Ok(ended) = serde_json::from_slice::<BidEnded>(body)
            && matches!(ended.code.as_str(), "bid_withdrawn" | "bid_replaced")
        {
            return ClientError::BidEnded { status, ended: Box::new(ended) };
        }
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
            ClientError::BidEnded { .. } => false,
            // A local file that cannot be read will not be readable on a retry either.
            ClientError::Io(_) | ClientError::InvalidUrl(_) | ClientError::Unexpected(_) => false,
        }
    }

    /// The server's error code, if it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            ClientError::BidEnded { ended, .. } => Some(&ended.code),
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

    #[test]
    fn ended_bids_keep_what_ended_them() {
        let receipt = serde_json::json!({"checkpoint": "c", "leaf_index": 3, "tree_size": 4, "inclusion": [],
            "entry": "", "envelope_hash": "ab", "received_at": "2026-11-27T10:00:00Z"});
        let bid = "00000000-0000-0000-0000-000000000001";
        let body = serde_json::json!({"code": "bid_replaced", "message": "m", "bid_id": bid,
            "ended_by": {"bid_id": "00000000-0000-0000-0000-000000000002", "receipt": receipt}});
        let e = ClientError::from_response(StatusCode::CONFLICT, body.to_string().as_bytes());
        let ClientError::BidEnded { ended, .. } = &e else { panic!("not an ended bid: {e:?}") };
        assert!(ended.replaced());
        assert_eq!((ended.ended_by.receipt.leaf_index, e.code()), (3, Some("bid_replaced")));
        assert!(!e.is_transient());
        // Another 409 stays a plain refusal.
        let e = ClientError::from_response(StatusCode::CONFLICT, br#"{"code":"deadline_passed","message":"m"}"#);
        assert!(matches!(e, ClientError::Api { .. }));
    }
}
