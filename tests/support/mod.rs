//! Test support shared by the `api` and `browser` test crates (each
//! includes it with `#[path = "../support/mod.rs"] mod support;`): the
//! server on port 0, HTTP calls, scratch directories, the one tender-draft
//! builder, sealed bids, bounded waits and an independent Merkle root.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

pub mod bids;
pub mod drafts;
pub mod http;
pub mod merkle;
pub mod scratch;
pub mod server;
pub mod source;
pub mod wait;
