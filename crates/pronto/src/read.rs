//! Reading an event log from a file or standard input.

use pronto_badge::Log;
use pronto_badge::jsonl::{LineError, parse_log};
use std::io::Read;
use std::path::PathBuf;

/// Where a log comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Stdin,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Line(#[from] LineError),
}

/// Reads the whole log. `progress` asks for a progress bar on stderr.
pub fn read_log(source: &Source, _progress: bool) -> Result<Log, ReadError> {
    let (path, bytes) = match source {
        Source::File(path) => (path.display().to_string(), std::fs::read(path)),
        Source::Stdin => {
            let mut bytes = Vec::new();
            let result = std::io::stdin().read_to_end(&mut bytes).map(|_| bytes);
            ("standard input".to_owned(), result)
        }
    };
    let bytes = bytes.map_err(|source| ReadError::Io { path, source })?;
    Ok(parse_log(&bytes)?)
}
