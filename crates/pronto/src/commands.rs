//! The server's commands: `serve`, `demo`, `user add`, `token add`. Each picks the store by
//! `DATABASE_URL` (SQLite or PostgreSQL) and runs on a Tokio runtime.

use clap::{Args, Subcommand};
use pronto_core::ChannelKind;
use pronto_core::history::HistoryLoader;
use pronto_core::store::Store;
use pronto_server::admin::{self, DEFAULT_WORKSPACE};
use pronto_server::settings::redact_url;
use pronto_server::{Clock, Server, Settings, SystemClock};
use pronto_store_postgres::PgStore;
use pronto_store_sqlite::SqliteStore;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The settings file (default: pronto.toml in the working directory, if there is one).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Seed a big workspace instead of the small demo: this many conversations (about ten
    /// messages each) over `--days`, written in bulk, for trying Pronto at scale.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    conversations: Option<u64>,
    /// How far back the big workspace's history goes, in days.
    #[arg(long, value_name = "DAYS", default_value_t = 730, requires = "conversations",
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    days: u32,
    /// Seed (if the database is empty), save the live badges' snapshots, and exit without
    /// serving.
    #[arg(long)]
    seed_only: bool,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user (or reset an existing one's password) and add them to a workspace. The
    /// password is read from standard input, or prompted for on a terminal.
    Add {
        email: String,
        /// The name shown to the team (default: the email's local part).
        #[arg(long)]
        name: Option<String>,
        /// Make them an admin of the workspace (else an agent).
        #[arg(long)]
        admin: bool,
        /// The workspace, created if it does not exist.
        #[arg(long, default_value = DEFAULT_WORKSPACE)]
        workspace: String,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token for a user; it is printed once (only its hash is kept).
    Add {
        email: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        label: String,
        /// The workspace the token works in (default: the user's first).
        #[arg(long)]
        workspace: Option<String>,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// A failure: exit 2 for bad settings or input, 1 for the rest.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    fn runtime(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}

fn finish(command: &str, result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("pronto {command}: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn settings(config: Option<&std::path::Path>) -> Result<Settings, Failure> {
    Settings::from_env(config).map_err(|error| Failure::usage(error.to_string()))
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::runtime(format!("cannot start the async runtime: {error}")))
}

/// What differs between the stores around the server: flushing and closing, and hearing
/// the changes other nodes commit.
trait Close {
    async fn close_store(&self);
    /// Other nodes' committed changes, for [`pronto_server::cluster::spawn_hearing`]; `None`
    /// where one process owns the data.
    async fn announcements(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<pronto_server::cluster::Announcement>>, Failure>;
}

impl Close for SqliteStore {
    async fn close_store(&self) {
        self.close().await;
    }

    async fn announcements(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<pronto_server::cluster::Announcement>>, Failure>
    {
        Ok(None)
    }
}

impl Close for PgStore {
    async fn close_store(&self) {
        self.close().await;
    }

    async fn announcements(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<pronto_server::cluster::Announcement>>, Failure>
    {
        let mut listener = self.listen().await.map_err(|error| {
            Failure::runtime(format!("cannot listen to the other nodes: {error}"))
        })?;
        let (sender, receiver) = tokio::sync::mpsc::channel(1024);
        let pool = self.pool().clone();
        tokio::spawn(async move {
            loop {
                match listener.next().await {
                    Ok(heard) => {
                        if sender
                            .send((heard.workspace, heard.first, heard.last))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                    // The store is closing: the node is stopping (retrying would keep
                    // it from ever stopping).
                    Err(_) if pool.is_closed() => break,
                    Err(error) => {
                        tracing::warn!(%error, "listening to the other nodes; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(receiver))
    }
}

/// Opens the store of `DATABASE_URL` and runs `$body` with it bound to `$store`.
macro_rules! with_store {
    ($settings:expr, |$store:ident| $body:expr) => {{
        let url = $settings.database_url.clone();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let $store = PgStore::connect(&url).await.map_err(|error| {
                Failure::runtime(format!("cannot open {}: {error}", redact_url(&url)))
            })?;
            $body
        } else {
            let $store = SqliteStore::open(&url).await.map_err(|error| {
                Failure::runtime(format!("cannot open {}: {error}", redact_url(&url)))
            })?;
            $body
        }
    }};
}

pub fn serve(args: ServeArgs) -> ExitCode {
    run("serve", &args, None)
}

pub fn demo(args: DemoArgs) -> ExitCode {
    run("demo", &args.serve, Some(&args))
}

fn run(command: &str, args: &ServeArgs, demo: Option<&DemoArgs>) -> ExitCode {
    let result = (|| {
        let settings = settings(args.config.as_deref())?;
        pronto_server::telemetry::init(&settings);
        runtime()?.block_on(async {
            with_store!(settings, |store| run_server(store, settings, demo).await)
        })
    })();
    finish(command, result)
}

/// Seeds the demo's workspace, small or big, with a progress bar.
async fn seed_demo<S: Store + HistoryLoader>(
    app: &pronto_server::App<S>,
    args: &DemoArgs,
) -> Result<Option<pronto_server::demo::Demo>, Failure> {
    // A bar on a terminal; plain lines in logs and pipes.
    let (template, unit, every) = match args.conversations {
        Some(_) => (
            "Seeding the big demo {bar:40} day {pos}/{len} ({eta} left)",
            "days",
            30,
        ),
        None => (
            "Seeding the demo {bar:40} {pos}/{len} conversations ({eta} left)",
            "conversations",
            500,
        ),
    };
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template(template).expect("a valid template"),
        )
    } else {
        indicatif::ProgressBar::hidden()
    };
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
        if bar.is_hidden() && (done == total || done.is_multiple_of(every)) {
            eprintln!("Seeding the demo: {done}/{total} {unit}");
        }
    };
    let started = std::time::Instant::now();
    let seeded = match args.conversations {
        Some(conversations) => {
            let options = pronto_server::demo::BigOptions {
                conversations,
                days: args.days,
                ..Default::default()
            };
            pronto_server::demo::prepare_big(app, &options, progress).await
        }
        None => pronto_server::demo::prepare(app, progress).await,
    };
    bar.finish_and_clear();
    let seeded =
        seeded.map_err(|error| Failure::runtime(format!("cannot seed the demo: {error}")))?;
    if seeded.as_ref().is_some_and(|demo| demo.login.is_some()) {
        eprintln!("Seeded in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(seeded)
}

async fn run_server<S: Store + HistoryLoader + Close>(
    store: S,
    settings: Settings,
    demo_args: Option<&DemoArgs>,
) -> Result<(), Failure> {
    let demo = demo_args.is_some();
    let listen = settings.listen;
    let public_url = settings.public_url.clone();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| {
            Failure::runtime(format!(
                "cannot listen on {listen} (PRONTO_LISTEN): {error}"
            ))
        })?;
    let seed_only = demo_args.is_some_and(|args| args.seed_only);
    // Only a node that serves listens to the others (a listener would also hold a connection
    // that closing the store waits for).
    let announcements = if seed_only {
        None
    } else {
        store.announcements().await?
    };
    let mut server = Server::new(store, settings);
    if let Some(announcements) = announcements {
        server =
            server.worker(move |app| pronto_server::cluster::spawn_hearing(app, announcements));
    }
    let mut replies = None;
    if demo {
        let (sender, receiver) = pronto_server::demo::playground_sender();
        server = server.sender(ChannelKind::Playground, sender);
        replies = Some(receiver);
    }
    let prepared = server
        .build()
        .map_err(|error| Failure::usage(error.to_string()))?;
    let app = prepared.app.clone();
    // The demo is seeded before the workers start (it claims the playground's outbox itself).
    let demo = match demo_args {
        Some(args) => Some(seed_demo(&app, args).await?),
        None => None,
    };
    if seed_only {
        app.store.close_store().await;
        println!("Seeded; not serving (--seed-only).");
        return Ok(());
    }
    let users = app
        .store
        .user_count()
        .await
        .map_err(|error| Failure::runtime(error.to_string()))?;
    let running = prepared
        .start(listener)
        .await
        .map_err(|error| Failure::runtime(error.to_string()))?;
    let url = public_url.unwrap_or_else(|| format!("http://{}", running.addr));
    println!("Pronto is listening on http://{} ({url})", running.addr);
    let mut customers = None;
    match &demo {
        Some(Some(demo)) => {
            if let Some(login) = &demo.login {
                println!(
                    "Demo workspace {:?} ({} conversations): log in at {url}/login as {} with password {}",
                    login.workspace, login.conversations, login.email, login.password
                );
            } else {
                println!("Demo workspace found: log in at {url}/login");
            }
            println!(
                "Simulated customers write to its {} playground inboxes every few minutes.",
                demo.inboxes.len()
            );
            customers = Some(pronto_server::demo::spawn_customers(
                running.app.clone(),
                demo,
                replies.take(),
                Default::default(),
            ));
        }
        Some(None) => {
            println!(
                "The database holds another workspace: no demo was seeded. Log in at {url}/login"
            );
        }
        None => {}
    }
    if users == 0 {
        println!("No user yet. Create an admin with:  pronto user add you@example.com --admin");
    }
    let _ = std::io::stdout().flush();
    let app = running.app.clone();
    tokio::select! {
        _ = pronto_server::server::shutdown_signal() => {
            tracing::info!("shutting down");
            app.begin_shutdown();
        }
        _ = app.shutdown_started() => {}
    }
    let result = running.wait().await;
    if let Some(customers) = customers {
        let _ = customers.await;
    }
    app.store.close_store().await;
    result.map_err(|error| Failure::runtime(format!("the server stopped with an error: {error}")))
}

/// The password: from standard input when it is not a terminal (one line), else prompted
/// twice without echo.
fn read_password() -> Result<String, Failure> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")
            .map_err(|error| Failure::runtime(format!("cannot read the password: {error}")))?;
        let again = rpassword::prompt_password("Password again: ")
            .map_err(|error| Failure::runtime(format!("cannot read the password: {error}")))?;
        if first != again {
            return Err(Failure::usage("the passwords differ"));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|error| {
                Failure::runtime(format!(
                    "cannot read the password from standard input: {error}"
                ))
            })?;
        Ok(line.trim_end_matches(['\n', '\r']).to_owned())
    }
}

pub fn user(command: UserCommand) -> ExitCode {
    let UserCommand::Add {
        email,
        name,
        admin,
        workspace,
        config,
    } = command;
    let result = (|| {
        let settings = settings(config.as_deref())?;
        let password = read_password()?;
        runtime()?.block_on(async {
            with_store!(settings, |store| {
                let result = admin::add_user(
                    &store,
                    &email,
                    name.as_deref(),
                    &password,
                    admin,
                    &workspace,
                    SystemClock.now(),
                )
                .await;
                store.close_store().await;
                let added = result.map_err(|error| match error {
                    admin::AdminError::Invalid(message) => Failure::usage(message),
                    admin::AdminError::Store(error) => Failure::runtime(error.to_string()),
                })?;
                println!(
                    "{} {} ({}) as {} of workspace {:?}{}",
                    if added.created { "Created" } else { "Updated" },
                    added.user.email,
                    added.user.name,
                    added.role,
                    added.workspace.name,
                    if added.workspace_created {
                        " (new workspace)"
                    } else {
                        ""
                    },
                );
                Ok(())
            })
        })
    })();
    finish("user add", result)
}

pub fn token(command: TokenCommand) -> ExitCode {
    let TokenCommand::Add {
        email,
        label,
        workspace,
        config,
    } = command;
    let result = (|| {
        let settings = settings(config.as_deref())?;
        runtime()?.block_on(async {
            with_store!(settings, |store| {
                let result =
                    admin::add_token(&store, &email, &label, workspace.as_deref(), SystemClock.now()).await;
                store.close_store().await;
                let (token, _record, workspace) = result.map_err(|error| match error {
                    admin::AdminError::Invalid(message) => Failure::usage(message),
                    admin::AdminError::Store(error) => Failure::runtime(error.to_string()),
                })?;
                eprintln!(
                    "API token for {email} in workspace {:?} (shown once; send it as Authorization: Bearer TOKEN):",
                    workspace.name
                );
                println!("{token}");
                Ok(())
            })
        })
    })();
    finish("token add", result)
}
