//! The API tests' helpers under the names the test files use; they live in
//! the support module shared with the browser tests (`tests/support/`).

// Not every name is used today; test files being written use them.
#![allow(unused_imports)]

pub use crate::support::drafts::{Draft, draft_json, parse_time, published_tender, rfc3339, server_now};
pub use crate::support::server::{
    ADMIN_TOKEN, Backend, TestApp, Tweak, postgres_url, run_postgres, run_postgres_with, run_sqlite, run_sqlite_with,
};
pub use crate::support::wait::{events, poll, wait_events, wait_for_state};
