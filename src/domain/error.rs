//! Errors raised by domain rules. Each maps to one stable API error code.

/// A rule of the domain was broken by the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field failed validation; `field` names it for the client.
    #[error("{field}: {message}")]
    Invalid {
        /// Dotted path of the offending field, e.g. `lots[0].fields[1].key`.
        field: String,
        /// What is wrong, for a person.
        message: String,
    },
    /// A time lies in the past where a future time is required.
    #[error("{field} must be in the future (server time {now})")]
    TimeInPast {
        /// Which time.
        field: &'static str,
        /// Server time used for the check, RFC 3339.
        now: String,
    },
    /// The opening time would come before the submission deadline.
    #[error("the opening time must not be before the submission deadline")]
    OpeningBeforeDeadline,
    /// Submission closed at the deadline.
    #[error("the submission deadline {deadline} has passed (server time {now}); nothing was stored")]
    DeadlinePassed {
        /// The deadline, RFC 3339.
        deadline: String,
        /// Server time of the refusal, RFC 3339.
        now: String,
    },
    /// The tender is not accepting bids in its state.
    #[error("the tender is {state} and does not accept bids")]
    NotAcceptingBids {
        /// Current state.
        state: &'static str,
    },
    /// The tender's state does not allow this action.
    #[error("cannot {action} a tender that is {state}")]
    Transition {
        /// The attempted action.
        action: &'static str,
        /// The current state.
        state: &'static str,
    },
}

impl DomainError {
    /// Shorthand for a validation failure.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid { field: field.into(), message: message.into() }
    }
}
