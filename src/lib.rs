#![forbid(unsafe_code)]
pub mod seal;
