//! Logs: `PRONTO_LOG` (a level or a filter) and `PRONTO_LOG_FORMAT` (text or json), on stderr.

use crate::settings::{LogFormat, Settings};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; a second call (tests) does nothing.
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match settings.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
