//! Integration tests: a real server on port 0, over HTTP, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL.

mod common;

mod auth;
mod bids;
mod cli;
mod engine;
mod errors;
mod flaky;
mod group_commit;
mod export;
mod health;
mod lifecycle;
mod live;
mod opening;
mod scheduler;
mod upload_cli;
mod uploads;
mod stream;
