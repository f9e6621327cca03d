//! The application layer: the shared state ([`AppState`]) and the use
//! cases — registration, bids (one request and the resumable upload),
//! withdrawal, releases, receipts, tender transitions, document access, the
//! log's reads — and the announcement of committed events. Use cases take
//! plain values and return [`AppResult`]s; the HTTP adapter (`src/http/`)
//! extracts, authenticates, calls one of them and maps the result. The
//! opening engine and the scheduler run on this layer; `src/launch.rs`, the
//! composition root above every layer, builds the state and starts them.

pub mod bidder_release;
pub mod bids;
pub mod decryption_keys;
pub mod documents;
pub mod draws;
pub mod error;
pub mod evidence;
pub mod fault_shares;
pub mod log;
pub mod objections;
pub mod ocds;
pub mod opening;
pub mod questions;
pub mod record_final;
pub mod registry;
pub mod session;
pub mod state;
pub mod tasks;
pub mod tenders;
pub mod tokens;
pub mod uploads;
pub mod work;

pub use error::{AppError, AppResult, ErrorKind};
pub use state::{AppState, OpeningConfig, announce};
