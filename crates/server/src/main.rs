use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = gatehouse_server::cli::Cli::parse();
    // The server logs; every other command speaks through its output and one error line, so its
    // logs (and its libraries') are off unless GATEHOUSE_LOG asks for them.
    let default = match cli.command {
        gatehouse_server::cli::Command::Serve(_) => "info",
        _ => "off",
    };
    let filter = EnvFilter::try_from_env("GATEHOUSE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // Colour only for a person at a terminal: a file or a pipe gets plain text.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_writer(std::io::stderr);
    // One JSON object a line for log shippers; human-readable text otherwise.
    if std::env::var("GATEHOUSE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().init();
    } else {
        logs.init();
    }
    gatehouse_server::cli::run(cli).await
}
