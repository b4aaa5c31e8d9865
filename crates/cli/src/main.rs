//! `provisio`: the engine from a terminal. This binary only parses arguments,
//! calls the engine and prints; every rule lives in `provisio-engine`.

mod args;
mod commands;
mod input;
mod output;

use clap::Parser;

use args::Cli;
use output::Printer;

#[tokio::main]
async fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(usage_error(e)),
    };
    let printer = Printer::new(cli.json);
    let code = match commands::run(cli, &printer).await {
        Ok(code) => code,
        Err(e) => {
            printer.error(&e);
            1
        }
    };
    std::process::exit(code);
}

/// A command line clap cannot parse. Help and version go to stdout as usual;
/// a usage error is an error like any other: under `--json` one JSON error
/// document on stderr, and exit code 1 in both modes (README, "CLI").
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return 0;
    }
    // The flag may sit anywhere before a `--`; the parse failed, so look at the words.
    let json = std::env::args()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    if json {
        let message = e.render().to_string();
        // clap's text minus its usage and help footer, on one line.
        let message = message
            .lines()
            .map(str::trim)
            .take_while(|l| !l.starts_with("Usage:"))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let message = message.trim_start_matches("error: ");
        let body = serde_json::json!({ "error": { "code": "usage", "message": message } });
        eprintln!("{body}");
    } else {
        let _ = e.print();
    }
    1
}
