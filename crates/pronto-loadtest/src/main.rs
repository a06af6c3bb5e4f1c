//! `pronto-loadtest`: the Graph API stand-in as a process, a webhook load generator, a plain
//! INSERT ceiling, and the acknowledged-messages check. See the crate docs.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pronto_loadtest::db::{self, Db};
use pronto_loadtest::graph::StandIn;
use pronto_loadtest::{payload, webhooks};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    /// Serves the Graph API stand-in until killed; prints its URL.
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
    /// Sends signed Messenger webhook deliveries to a server and measures what it acknowledges.
    Webhooks {
        /// The server's base URL; deliveries go to `{url}/webhooks/meta`. Several nodes:
        /// comma-separated, each POST to the next one in turn.
        #[arg(long)]
        url: String,
        /// The Meta app secret (the server's `PRONTO_META_APP_SECRET`).
        #[arg(long)]
        secret: String,
        /// The Page whose customers write (the Messenger inbox's Page).
        #[arg(long)]
        page_id: String,
        /// Messages per second, open loop; 0 sends as fast as the server answers (closed loop).
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Seconds of sending.
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// Messages per POST.
        #[arg(long, default_value_t = 1)]
        per_post: usize,
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Distinct customers (PSIDs).
        #[arg(long, default_value_t = 1000)]
        customers: u64,
        /// Appends each acknowledged mid to this file, one a line.
        #[arg(long)]
        acked: Option<PathBuf>,
        /// Sends a POST not answered 200 again, up to this many times (Meta retries too).
        #[arg(long, default_value_t = 0)]
        retries: u32,
        /// Seconds before an unanswered POST counts as a transport error.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        /// Threads for the generator (it shares the machine with the server: keep it small).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Also prints the summary as one JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Answers signed deliveries to `/webhooks/meta` with 200 (others with 403) and stores
    /// nothing: what the generator achieves alone, to tell its limits from the server's.
    Sink {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        #[arg(long)]
        secret: String,
    },
    /// Times what an agent's screen asks of a server with a big workspace: every view's first
    /// page and a deep page, the view counts, an inbox's responsiveness (p50, p99, max).
    Reads {
        /// The server's base URL.
        #[arg(long)]
        url: String,
        /// An API token of a member of the workspace.
        #[arg(long)]
        token: String,
        /// The inbox asked for its responsiveness and listed on its own.
        #[arg(long)]
        inbox: i64,
        /// Requests per measured endpoint.
        #[arg(long, default_value_t = 200)]
        samples: usize,
        /// How many pages deep the deep page is.
        #[arg(long, default_value_t = 100)]
        depth: usize,
        /// Rows per page.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Measures plain batched INSERTs of message rows: the database's ceiling.
    Ceiling {
        /// `sqlite://path` or `postgres://...`.
        #[arg(long)]
        database_url: String,
        /// Rows to insert.
        #[arg(long, default_value_t = 200_000)]
        rows: u64,
        /// Rows per transaction.
        #[arg(long, default_value_t = 100)]
        batch: u64,
        /// Also prints the result as one JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Checks that every acknowledged mid is stored exactly once in Pronto's `messages`.
    Count {
        /// Pronto's database.
        #[arg(long)]
        database_url: String,
        /// The file `webhooks --acked` wrote.
        #[arg(long)]
        acked: PathBuf,
        /// Also prints the result as one JSON line.
        #[arg(long)]
        json: bool,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The generator runs on few threads so as to leave the cores to the server it measures.
    let threads = match &cli.command {
        Command::Webhooks { threads, .. } => *threads,
        _ => 2,
    };
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("pronto-loadtest: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pronto-loadtest: {e}");
            ExitCode::FAILURE
        }
    }
}

type Failure = Box<dyn std::error::Error>;

async fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Graph {
            listen,
            page,
            instagram,
        } => graph(listen, page, instagram).await,
        Command::Sink { listen, secret } => sink(listen, secret).await,
        Command::Webhooks {
            url,
            secret,
            page_id,
            rate,
            duration,
            per_post,
            connections,
            customers,
            acked,
            retries,
            timeout,
            threads: _,
            json,
        } => {
            let options = webhooks::Options {
                url,
                secret,
                page_id,
                rate,
                duration: Duration::from_secs(duration),
                per_post: per_post.max(1),
                connections: connections.max(1),
                customers,
                acked,
                retries,
                timeout: Duration::from_secs(timeout),
            };
            let progress = bar("{elapsed_precise} [{bar:30}] {pos}/{len} s  {msg}");
            let report = webhooks::run(options.clone(), &progress).await?;
            progress.finish_and_clear();
            println!("{}", report.summary(&options));
            if json {
                println!("{}", report.to_json(&options));
            }
            Ok(if report.acked_messages > 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Reads {
            url,
            token,
            inbox,
            samples,
            depth,
            limit,
        } => {
            let settings = pronto_loadtest::reads::ReadSettings {
                url,
                token,
                inbox,
                samples: samples.max(1),
                depth,
                limit,
            };
            let measured = pronto_loadtest::reads::measure(&settings).await?;
            println!("| request | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|");
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            for m in measured {
                println!(
                    "| {} | {:.1} | {:.1} | {:.1} |",
                    m.name,
                    ms(m.p50),
                    ms(m.p99),
                    ms(m.max)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ceiling {
            database_url,
            rows,
            batch,
            json,
        } => {
            let db = Db::connect(&database_url, true).await?;
            let progress = bar("{elapsed_precise} [{bar:30}] {pos}/{len} rows");
            let result = db::ceiling(&db, rows, batch, &progress).await;
            progress.finish_and_clear();
            db.close().await;
            let ceiling = result?;
            println!(
                "ceiling: {} rows on {} in transactions of {}: {:.1} s, {:.0} rows/s",
                ceiling.rows,
                ceiling.backend,
                ceiling.batch,
                ceiling.elapsed.as_secs_f64(),
                ceiling.rows_per_second()
            );
            if json {
                let line = serde_json::json!({
                    "backend": ceiling.backend,
                    "rows": ceiling.rows,
                    "batch": ceiling.batch,
                    "seconds": ceiling.elapsed.as_secs_f64(),
                    "rows_per_second": ceiling.rows_per_second(),
                });
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Count {
            database_url,
            acked,
            json,
        } => {
            let text = std::fs::read_to_string(&acked)
                .map_err(|e| format!("cannot read {}: {e}", acked.display()))?;
            let mids: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            let db = Db::connect(&database_url, false).await?;
            let progress = bar("{elapsed_precise} [{bar:30}] {pos}/{len} lookups");
            let result = db::count(&db, &mids, &progress).await;
            progress.finish_and_clear();
            db.close().await;
            let count = result?;
            println!(
                "count: {} acknowledged, {} stored once, {} missing, {} duplicated",
                count.acked,
                count.stored_once,
                count.missing.len(),
                count.duplicated.len()
            );
            for mid in count.missing.iter().take(10) {
                println!("  missing: {mid}");
            }
            for (mid, n) in count.duplicated.iter().take(10) {
                println!("  stored {n} times: {mid}");
            }
            if json {
                let line = serde_json::json!({
                    "acked": count.acked,
                    "stored_once": count.stored_once,
                    "missing": count.missing.len(),
                    "duplicated": count.duplicated.len(),
                });
                println!("{line}");
            }
            Ok(if count.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// A progress bar on stderr (drawn only on a terminal).
fn bar(template: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

async fn graph(
    listen: SocketAddr,
    pages: Vec<(String, String)>,
    instagram: Vec<(String, String)>,
) -> Result<ExitCode, Failure> {
    let stand_in = StandIn::start_on(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    for (id, token) in &pages {
        stand_in.add_page(id, &format!("Page {id}"), token);
    }
    for (id, token) in &instagram {
        stand_in.add_instagram(id, &format!("account_{id}"), token);
    }
    println!("{}", stand_in.url());
    // Serves until the process is killed (or interrupted).
    let _ = tokio::signal::ctrl_c().await;
    Ok(ExitCode::SUCCESS)
}

async fn sink(listen: SocketAddr, secret: String) -> Result<ExitCode, Failure> {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    let secret = std::sync::Arc::new(secret);
    let check = move |headers: HeaderMap, body: Bytes| async move {
        let signature = headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok());
        if signature == Some(payload::sign(secret.as_bytes(), &body).as_str()) {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        }
    };
    let app = axum::Router::new().route("/webhooks/meta", axum::routing::post(check));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}
