#![forbid(unsafe_code)]
//! The `bidroom` binary.

use clap::Parser;

// jemalloc, with its background purging thread, returns freed memory to
// the system (glibc malloc kept what a thousand closed live viewers had
// used; docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = bidroom::cli::Cli::parse();
    bidroom::cli::init_tracing(cli.log_format);
    match bidroom::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<bidroom::cli::seal::ReceivedUnchecked>().is_some() {
                return std::process::ExitCode::from(bidroom::cli::seal::EXIT_RECEIVED_UNCHECKED);
            }
            std::process::ExitCode::FAILURE
        }
    }
}
