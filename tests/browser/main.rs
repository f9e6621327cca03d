//! Browser tests: Debian's Chromium driven through chromedriver (fantoccini)
//! against a real server on port 0 with a fresh SQLite database.
//!
//! Without Chromium or chromedriver the tests fail (they never skip).
//! Screenshots of every page land in `<target>/test-output/screenshots/`.

// Test and benchmark code: a failed unwrap is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod harness;

mod accounts;
mod bidder;
mod bidder_held;
mod crypto;
mod custodian;
mod draws;
mod host_controls;
mod insecure;
mod live;
mod mybids;
mod pages;
mod public;
mod record;
mod session;
mod signin;
mod staff;
mod stage;
mod upload;
mod whole_session;
