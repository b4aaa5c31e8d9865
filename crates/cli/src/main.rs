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
    let cli = Cli::parse();
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
