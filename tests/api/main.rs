//! Integration tests: a real server on port 0, over HTTP, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL; without it the PostgreSQL variants are
//! reported as ignored.

// Test and benchmark code: a failed unwrap is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod common;

mod auth;
mod backup;
mod bidder_held;
mod bids;
mod cli;
mod crash;
mod custody_takeover;
// --- draws ---
mod draws;
mod edge;
mod engine;
mod envelope_pages;
mod errors;
mod event_entries;
mod evidence;
mod export;
mod extremes;
mod fault_shares;
mod flaky;
mod group_commit;
mod health;
mod lifecycle;
mod live;
mod live_stalled;
mod metrics;
mod objections;
mod ocds;
mod odd_input;
mod opening;
mod pace_nodes;
mod partial_failure;
mod questions;
mod release_coverage;
mod replays;
mod scheduler;
mod seal_retry;
mod session;
// --- perf ---
mod small_ciphertexts;
mod store_rules;
mod stream;
mod tasks;
mod tls;
mod upload_cli;
mod uploads;
mod verify_terms;
