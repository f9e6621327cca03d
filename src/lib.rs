#![forbid(unsafe_code)]

pub mod ledger;
