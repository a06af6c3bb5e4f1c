//! `pronto`: the command line.

mod badge;
mod commands;
mod read;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "pronto",
    version,
    about = "A self-hosted helpdesk that keeps a business very responsive to messages"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute the responsiveness figures of an event log, as Facebook does for its badge.
    Badge(badge::BadgeArgs),
    /// Run the server (settings: pronto.toml or --config, then PRONTO_* and DATABASE_URL).
    Serve(commands::ServeArgs),
    /// Run the server with a demo workspace (seeded on an empty database) and simulated
    /// customers writing to its playground inboxes.
    Demo(commands::DemoArgs),
    /// Manage users.
    #[command(subcommand)]
    User(commands::UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(commands::TokenCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // Help and version are successes; every other argument problem is a refusal (exit 2).
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Badge(args) => badge::run(args),
        Command::Serve(args) => commands::serve(args),
        Command::Demo(args) => commands::demo(args),
        Command::User(command) => commands::user(command),
        Command::Token(command) => commands::token(command),
    }
}
