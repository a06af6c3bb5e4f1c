//! `pronto-loadtest`: the Graph API stand-in as a process, a webhook load generator, a plain
//! INSERT ceiling, and the acknowledged-messages check. See the crate docs.

use clap::{Parser, Subcommand};
use pronto_loadtest::graph::StandIn;
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "pronto-loadtest",
    about = "Load and crash tests of Pronto's Meta webhooks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the Graph API stand-in until killed.
    Graph {
        /// Where to listen, such as 127.0.0.1:8091.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// A Page and its Page access token, `ID:TOKEN`; repeatable.
        #[arg(long, value_parser = id_token)]
        page: Vec<(String, String)>,
        /// An Instagram professional account (`user_id`) and its token, `ID:TOKEN`; repeatable.
        #[arg(long, value_parser = id_token)]
        instagram: Vec<(String, String)>,
    },
}

fn id_token(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((id, token)) if !id.is_empty() && !token.is_empty() => {
            Ok((id.to_owned(), token.to_owned()))
        }
        _ => Err(format!("expected ID:TOKEN, got {text:?}")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Graph {
            listen,
            page,
            instagram,
        } => graph(listen, page, instagram).await,
    }
}

async fn graph(
    listen: SocketAddr,
    pages: Vec<(String, String)>,
    instagram: Vec<(String, String)>,
) -> ExitCode {
    let stand_in = match StandIn::start_on(listen).await {
        Ok(stand_in) => stand_in,
        Err(e) => {
            eprintln!("pronto-loadtest graph: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (id, token) in &pages {
        stand_in.add_page(id, &format!("Page {id}"), token);
    }
    for (id, token) in &instagram {
        stand_in.add_instagram(id, &format!("account_{id}"), token);
    }
    println!("{}", stand_in.url());
    // Serves until the process is killed (or interrupted).
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
