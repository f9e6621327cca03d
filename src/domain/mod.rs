//! The pure domain core: tenders, their lifecycle, and the events that record
//! every change. Nothing here does I/O; the store and HTTP layers call in with
//! the current time and persist what comes out.

pub mod bid;
pub mod draw;
pub mod error;
pub mod event;
pub mod objection;
mod objection_session;
pub mod record;
pub mod session;
pub mod staff;
pub mod tender;
pub mod text;

pub use error::DomainError;
pub use event::{EventDraft, EventKind};
pub use staff::Role;
pub use tender::{Tender, TenderDraft, TenderState};
pub use text::{Lines, Text};
