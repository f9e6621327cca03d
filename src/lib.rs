#![forbid(unsafe_code)]
//! bidroom: a livestreamed, cryptographically verifiable bid-opening room.
//!
//! See `docs/ARCHITECTURE.md` for the map of this crate.

pub mod app;
pub mod cli;
pub mod client;
pub mod config;
pub mod domain;
pub mod http;
pub mod launch;
pub mod ledger;
pub mod live;
pub mod opening;
pub mod schedule;
pub mod seal;
pub mod store;
pub mod verify;
