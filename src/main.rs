#![forbid(unsafe_code)]
//! The `bidroom` binary.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = bidroom::cli::Cli::parse();
    bidroom::cli::init_tracing(cli.log_format);
    match bidroom::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
