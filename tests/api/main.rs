//! Integration tests: a real server on port 0, over HTTP, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL.

mod common;

mod auth;
mod bids;
mod cli;
mod crash;
mod engine;
mod errors;
mod export;
mod extremes;
mod flaky;
mod group_commit;
mod health;
mod lifecycle;
mod live;
mod opening;
mod scheduler;
mod stream;
mod tasks;
mod upload_cli;
mod uploads;
