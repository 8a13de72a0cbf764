//! The simulator as a process, a thin wrapper over what `clerk-rbac simulator` runs:
//!
//! ```text
//! cargo run -p clerk-rbac-simulator --example simulator -- --port 0
//! ```
//!
//! The first line of output is the base URL (use it as `CLERK_API_URL`); it serves until
//! stopped with Ctrl-C or SIGTERM. `--help` lists the options.

use std::process::ExitCode;

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
    match options.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
