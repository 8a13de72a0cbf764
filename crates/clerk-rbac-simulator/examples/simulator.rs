//! The simulator as a process, for code in other languages and end-to-end checks:
//!
//! ```text
//! cargo run -p clerk-rbac-simulator --example simulator -- --port 0
//! ```
//!
//! The first line of output is the base URL (use it as `CLERK_API_URL`); it serves until
//! stopped with Ctrl-C. `--help` lists the options.

use std::{io::Write, process::ExitCode};

use clerk_rbac_simulator::ProcessOptions;

#[tokio::main]
async fn main() -> ExitCode {
    let options = match ProcessOptions::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("error: {e}\n\n{}", ProcessOptions::USAGE);
            return ExitCode::from(2);
        }
    };
    if options.help {
        println!("{}", ProcessOptions::USAGE);
        return ExitCode::SUCCESS;
    }
    let started = match options.builder() {
        Ok(builder) => builder.start().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let sim = match started {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", sim.base_url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "Serving until Ctrl-C. Any sk_test_... or sk_live_... key works (the prefix picks the rate limit)."
    );
    // Ctrl-C ends the process, and with it the server.
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
