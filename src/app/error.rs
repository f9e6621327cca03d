//! The application layer's error: what went wrong in a use case, as a kind
//! (which the HTTP adapter maps to a status), a stable machine-readable code
//! and a sentence for a person. No HTTP types here.

use crate::domain::DomainError;
use crate::seal::SealError;
use crate::store::StoreError;

/// What kind of failure, independent of the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is malformed.
    BadRequest,
    /// No or unknown credentials.
    Unauthenticated,
    /// Known caller, not allowed.
    Forbidden,
    /// No such thing (or not visible to this caller).
    NotFound,
    /// The current state does not allow it.
    Conflict,
    /// It existed and is gone for good (expired).
    Gone,
    /// More bytes than accepted.
    TooLarge,
    /// Well-formed but not valid.
    Unprocessable,
    /// A per-caller limit was reached.
    TooMany,
    /// The disk is full; nothing was stored.
    StorageFull,
    /// Temporarily unable; retrying may succeed.
    Unavailable,
    /// The server failed.
    Internal,
}

/// A use case's failure.
#[derive(Debug)]
pub struct AppError {
    /// The kind.
    pub kind: ErrorKind,
    /// Stable code, e.g. `deadline_passed`.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// The offending field, when there is one.
    pub field: Option<String>,
}

/// Result of a use case.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// Builds an error.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        AppError { kind, code, message: message.into(), field: None }
    }

    /// A named kind of thing does not exist (or is not visible).
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorKind::NotFound, "not_found", format!("{what} not found"))
    }

    /// No or unknown credentials.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, "unauthenticated", message)
    }

    /// Known caller, not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", message)
    }

    /// One field is not valid.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        AppError {
            kind: ErrorKind::Unprocessable,
            code: "invalid_field",
            message: format!("{field}: {}", message.into()),
            field: Some(field),
        }
    }

    /// The server failed; the details go to the log, not to the caller.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(ErrorKind::Internal, "internal", "the server failed; the request was not carried out")
    }

    /// More bytes than the use case accepts.
    pub fn too_large() -> Self {
        Self::new(ErrorKind::TooLarge, "body_too_large", "the request body is larger than this endpoint accepts")
    }

    /// A failed write: a full disk is the caller's to know about, the rest is internal.
    pub fn storage(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) {
            return Self::new(
                ErrorKind::StorageFull,
                "storage_full",
                "the server's disk is full; nothing was stored and no receipt issued",
            );
        }
        Self::internal(e)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AppError {}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        let message = e.to_string();
        let with_field = |code, field: String| AppError {
            kind: ErrorKind::Unprocessable,
            code,
            message: message.clone(),
            field: Some(field),
        };
        match e {
            DomainError::Invalid { field, .. } => with_field("invalid_field", field),
            DomainError::TimeInPast { field, .. } => with_field("time_in_past", field.to_string()),
            DomainError::OpeningBeforeDeadline => with_field("opening_before_deadline", "opening_at".into()),
            DomainError::Transition { .. } => AppError::new(ErrorKind::Conflict, "transition_not_allowed", message),
            DomainError::DeadlinePassed { .. } => AppError::new(ErrorKind::Conflict, "deadline_passed", message),
            DomainError::NotAcceptingBids { .. } => AppError::new(ErrorKind::Conflict, "tender_not_open", message),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::not_found(what),
            StoreError::Domain(d) => d.into(),
            StoreError::Conflict(m) => AppError::new(ErrorKind::Conflict, "conflict", m),
            StoreError::Batch(m) => AppError::new(
                ErrorKind::Unavailable,
                "unavailable",
                format!("nothing was recorded ({m}); retry the same submission"),
            ),
            StoreError::Db(sqlx::Error::PoolTimedOut) => {
                AppError::new(ErrorKind::Unavailable, "unavailable", "the database is busy; retry shortly")
            }
            StoreError::NotReady(m) => AppError::new(ErrorKind::Unavailable, "not_ready", m),
            StoreError::CommitterStopped => AppError::new(
                ErrorKind::Unavailable,
                "unavailable",
                "nothing was recorded: the server is restarting; retry the same submission shortly",
            ),
            e @ (StoreError::Encode(_) | StoreError::Sign(_)) => {
                tracing::error!(error = %e, "storing failed");
                AppError::new(ErrorKind::Internal, "storage_failed", "the server could not store the change")
            }
            other => AppError::internal(other),
        }
    }
}

impl From<SealError> for AppError {
    fn from(e: SealError) -> Self {
        let (code, message) = match &e {
            SealError::BadSignature => {
                ("bad_signature", "the signature does not verify against the envelope's bidder key".to_string())
            }
            SealError::WrongTender { .. } | SealError::WrongBid { .. } => ("wrong_tender", e.to_string()),
            SealError::CustodyPolicyMismatch => (
                "policy_mismatch",
                "the envelope is not sealed to this tender's custody policy; fetch /custody and seal again".to_string(),
            ),
            SealError::CiphertextHashMismatch => (
                "ciphertext_mismatch",
                "an uploaded ciphertext does not match the hash or length in the envelope".to_string(),
            ),
            _ => ("invalid_envelope", format!("the envelope is not valid: {e}")),
        };
        AppError::new(ErrorKind::Unprocessable, code, message)
    }
}
