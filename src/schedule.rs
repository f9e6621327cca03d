//! The scheduler: closes submission exactly at each deadline, and on start
//! catches up with deadlines that passed while the server was down.
//!
//! Time comes from the store (the database clock on PostgreSQL). Sleeping is
//! only an optimisation: every wake-up re-reads what is due, so a missed or
//! early wake-up is harmless and several nodes may run this loop at once (the
//! store's row lock lets exactly one of them close a tender).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::domain::session::Stage;
use crate::domain::{DomainError, EventDraft, Tender};
use crate::store::StoreError;

/// Longest sleep between checks, so changes made by other nodes are seen.
const MAX_SLEEP: Duration = Duration::from_secs(5);

/// Runs until `shutdown` is cancelled; `state.scheduler` wakes it early.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let wake = state.scheduler.clone();
    loop {
        state.faults.check("scheduler");
        let sleep = match tick(&state).await {
            Ok(sleep) => sleep,
            Err(e) => {
                tracing::warn!(error = %e, "scheduler tick failed; retrying");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Closes everything due; returns how long to sleep until the next deadline.
pub async fn tick(state: &AppState) -> Result<Duration, StoreError> {
    let now = state.store.now().await?;
    for id in state.store.due_to_close(now).await? {
        let result =
            state.store.update_tender(id, "scheduler", "close", Box::new(|t, c| t.close(c.now, &c.envelopes))).await;
        match result {
            Ok((tender, events)) => {
                tracing::info!(tender = %id, closed_at = ?tender.closed_at, "submission closed");
                state.after_change(&events);
            }
            // Another node closed it first, or it was cancelled meanwhile.
            Err(StoreError::Domain(DomainError::Transition { .. })) => {}
            Err(e) => return Err(e),
        }
    }
    for id in state.store.session_due(now).await? {
        // The draws' fallback shares the column; a failure is retried next pass.
        if let Err(e) = crate::app::draws::fallback(state, id, now).await {
            tracing::warn!(tender = %id, error = %e, "draw fallback failed; retrying");
        }
        // The confirmation's end seals the final record, built from the log.
        if let Some(t) = state.store.get_tender(id).await?
            && t.tender.session_state.stage == Some(Stage::Confirmation)
        {
            if let Err(e) = crate::app::record_final::end(state, id, None).await {
                tracing::debug!(tender = %id, error = %e.message, "session not ended");
            }
            continue;
        }
        let result =
            state.store.update_tender(id, "scheduler", "session", Box::new(|t, c| session_step(t, c.now))).await;
        match result {
            Ok((_, events)) => state.after_change(&events),
            Err(StoreError::Domain(DomainError::Transition { .. })) => {}
            Err(e) => return Err(e),
        }
    }
    let deadline = state.store.next_deadline().await?;
    let session = state.store.next_session_due().await?;
    let next = match (deadline, session) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let now = state.store.now().await?;
    Ok(match next {
        Some(deadline) if deadline > now => Duration::try_from(deadline - now).unwrap_or(MAX_SLEEP).min(MAX_SLEEP),
        Some(_) => Duration::ZERO,
        None => MAX_SLEEP,
    })
}

/// The session's move that is due: sign-in opens, or confirmation ends.
fn session_step(t: &mut Tender, now: time::OffsetDateTime) -> Result<Vec<EventDraft>, DomainError> {
    match t.session_state.stage {
        None => t.open_sign_in(now),
        Some(Stage::Confirmation) => t.close_session(now),
        Some(_) => Err(DomainError::Transition { action: "move the session of", state: "not due" }),
    }
}
