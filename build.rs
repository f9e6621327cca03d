//! Rebuild when a migration changes: `sqlx::migrate!` embeds them.
//!
//! Also sets `cfg(bidroom_pg)` when `TEST_DATABASE_URL` is set, so the
//! integration tests' PostgreSQL variants run then and are reported as
//! ignored (with the reason) otherwise, instead of passing untested.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(bidroom_pg)");
    if std::env::var_os("TEST_DATABASE_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=bidroom_pg");
    }
}
