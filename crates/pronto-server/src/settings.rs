//! Settings: defaults < `pronto.toml` (or `--config FILE`) < the environment (`PRONTO_*`,
//! `DATABASE_URL`). A bad setting is an error that names it; secrets are never printed.

use crate::crypto::SecretKey;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone)]
pub struct Settings {
    /// `PRONTO_LISTEN`: where the HTTP server listens.
    pub listen: SocketAddr,
    /// `DATABASE_URL`: `sqlite://path` or `postgres://...`.
    pub database_url: String,
    /// `PRONTO_PUBLIC_URL`: how people and Meta reach this server (webhook URLs, cookies'
    /// `Secure` flag when it is https).
    pub public_url: Option<String>,
    /// `PRONTO_DATA_DIR`: where the generated secret key (and the default SQLite file) live.
    pub data_dir: PathBuf,
    /// `PRONTO_SECRET_KEY`: seals channel secrets; generated into the data folder if unset.
    pub secret_key: Option<SecretKey>,
    /// `PRONTO_LOG`: a level (`info`) or a filter (`pronto_server=debug,info`).
    pub log: String,
    /// `PRONTO_LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `PRONTO_BODY_LIMIT`: the largest request body, in bytes.
    pub body_limit: usize,
    /// `PRONTO_SESSION_DAYS`: how long a browser session lasts.
    pub session_days: u32,
    /// `PRONTO_SNAPSHOT_SECONDS`: how often the live badges are saved.
    pub snapshot_interval: Duration,
    /// `PRONTO_FIGURES_SECONDS`: how often the figures are re-evaluated as time passes (pending
    /// starts settle after the reply window without any new event).
    pub figures_interval: Duration,
    /// `PRONTO_LATE_HOURS`: how late an event may arrive (behind the latest of its inbox) and
    /// still be placed by the live badge without reading its log again; a conversation silent
    /// for longer (and out of the figures' reach) is let go from memory and read back from the
    /// store at its next message. Memory grows with this and the window, not with the years.
    pub late_horizon: Duration,
    /// The installation's Meta app (Messenger and Instagram).
    pub meta: MetaSettings,
}

/// The installation's Meta app: `PRONTO_META_*`, or `meta_*` in `pronto.toml`.
#[derive(Clone, PartialEq, Eq)]
pub struct MetaSettings {
    /// `PRONTO_META_APP_SECRET`: signs Meta's webhook deliveries. Without it, `/webhooks/meta`
    /// refuses every delivery (nothing unsigned is ever taken in).
    pub app_secret: Option<String>,
    /// `PRONTO_META_INSTAGRAM_APP_SECRET`: the Instagram app secret of the app's "Instagram API
    /// with Instagram Login" product, when it differs: Instagram deliveries may be signed with
    /// either, and both are accepted.
    pub instagram_app_secret: Option<String>,
    /// `PRONTO_META_VERIFY_TOKEN`: the token typed into Meta's webhook settings, echoed back in
    /// the subscription handshake.
    pub verify_token: Option<String>,
    /// `PRONTO_META_APP_ID`: the app's id; echoes carrying it are Pronto's own replies.
    pub app_id: Option<String>,
    /// `PRONTO_META_GRAPH_URL`: the Graph API for Messenger (Facebook Login, Page tokens).
    pub graph_url: String,
    /// `PRONTO_META_INSTAGRAM_GRAPH_URL`: the Graph API for Instagram (Instagram Login).
    pub instagram_graph_url: String,
    /// `PRONTO_META_API_VERSION`: such as `v23.0`.
    pub api_version: String,
    /// `PRONTO_META_AUTOMATION_APP_IDS`: further app ids (bots, auto-responders) whose echoes
    /// are automation, comma-separated.
    pub automation_app_ids: Vec<String>,
    /// `PRONTO_META_ATTACHMENT_LIMIT`: the largest attachment fetched and kept, in bytes.
    pub attachment_limit: usize,
}

impl Default for MetaSettings {
    fn default() -> Self {
        Self {
            app_secret: None,
            instagram_app_secret: None,
            verify_token: None,
            app_id: None,
            graph_url: "https://graph.facebook.com".to_owned(),
            instagram_graph_url: "https://graph.instagram.com".to_owned(),
            api_version: "v23.0".to_owned(),
            automation_app_ids: Vec::new(),
            attachment_limit: 25 * 1024 * 1024,
        }
    }
}

impl fmt::Debug for MetaSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        f.debug_struct("MetaSettings")
            .field("app_secret", &hidden(&self.app_secret))
            .field("instagram_app_secret", &hidden(&self.instagram_app_secret))
            .field("verify_token", &hidden(&self.verify_token))
            .field("app_id", &self.app_id)
            .field("graph_url", &self.graph_url)
            .field("instagram_graph_url", &self.instagram_graph_url)
            .field("api_version", &self.api_version)
            .field("automation_app_ids", &self.automation_app_ids)
            .field("attachment_limit", &self.attachment_limit)
            .finish()
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("data_dir", &self.data_dir)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("body_limit", &self.body_limit)
            .field("session_days", &self.session_days)
            .field("snapshot_interval", &self.snapshot_interval)
            .field("figures_interval", &self.figures_interval)
            .field("late_horizon", &self.late_horizon)
            .field("meta", &self.meta)
            .finish()
    }
}

/// A database URL with its password hidden, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://pronto-data/pronto.db".to_owned(),
            public_url: None,
            data_dir: PathBuf::from("pronto-data"),
            secret_key: None,
            log: "info".to_owned(),
            log_format: LogFormat::Text,
            body_limit: 1024 * 1024,
            session_days: 14,
            snapshot_interval: Duration::from_secs(300),
            figures_interval: Duration::from_secs(15),
            late_horizon: Duration::from_secs(7 * 24 * 3600),
            meta: MetaSettings::default(),
        }
    }
}

/// A setting that could not be used: which one, and why (never its value when secret).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad setting {setting}: {message}")]
pub struct SettingsError {
    pub setting: String,
    pub message: String,
}

impl SettingsError {
    pub fn new(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            message: message.into(),
        }
    }
}

/// `pronto.toml`: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    database_url: Option<String>,
    public_url: Option<String>,
    data_dir: Option<String>,
    secret_key: Option<String>,
    log: Option<String>,
    log_format: Option<String>,
    body_limit: Option<u64>,
    session_days: Option<u64>,
    snapshot_seconds: Option<u64>,
    figures_seconds: Option<u64>,
    late_hours: Option<u64>,
    meta_app_secret: Option<String>,
    meta_instagram_app_secret: Option<String>,
    meta_verify_token: Option<String>,
    meta_app_id: Option<String>,
    meta_graph_url: Option<String>,
    meta_instagram_graph_url: Option<String>,
    meta_api_version: Option<String>,
    meta_automation_app_ids: Option<String>,
    meta_attachment_limit: Option<u64>,
}

impl Settings {
    /// Loads the settings: `config` if given (it must exist), else `pronto.toml` in the
    /// working directory if there is one; then the environment, read through `env`.
    pub fn load(
        config: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let (file, file_name) = match config {
            Some(path) => (Some(read_file(path)?), path.display().to_string()),
            None => {
                let path = Path::new("pronto.toml");
                if path.exists() {
                    (Some(read_file(path)?), "pronto.toml".to_owned())
                } else {
                    (None, String::new())
                }
            }
        };
        let mut settings = Settings::default();
        if let Some(file) = file {
            let name = |key: &str| format!("{key} (in {file_name})");
            settings.apply(&name, Source::File(file))?;
        }
        settings.apply(&|key: &str| env_name(key).to_owned(), Source::Env(env))?;
        Ok(settings)
    }

    /// Loads from `pronto.toml`/`config` and the process's environment.
    pub fn from_env(config: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load(config, &|name| std::env::var(name).ok())
    }

    fn apply(
        &mut self,
        name: &dyn Fn(&str) -> String,
        source: Source<'_>,
    ) -> Result<(), SettingsError> {
        let get = |key: &str| -> Option<String> {
            match &source {
                Source::File(file) => file.get(key),
                Source::Env(env) => env(env_name(key)).filter(|v| !v.is_empty()),
            }
        };
        let number = |key: &str, min: u64, max: u64| -> Result<Option<u64>, SettingsError> {
            let Some(text) = get(key) else {
                return Ok(None);
            };
            let value: u64 = text.trim().parse().map_err(|_| {
                SettingsError::new(name(key), format!("{text:?} is not a whole number"))
            })?;
            if !(min..=max).contains(&value) {
                return Err(SettingsError::new(
                    name(key),
                    format!("{value} is not between {min} and {max}"),
                ));
            }
            Ok(Some(value))
        };
        if let Some(listen) = get("listen") {
            self.listen = listen.trim().parse().map_err(|_| {
                SettingsError::new(
                    name("listen"),
                    format!("{listen:?} is not an address and port such as 127.0.0.1:8080"),
                )
            })?;
        }
        if let Some(url) = get("database_url") {
            let url = url.trim();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(SettingsError::new(
                    name("database_url"),
                    format!(
                        "{:?} is neither sqlite://PATH nor postgres://...",
                        redact_url(url)
                    ),
                ));
            }
            self.database_url = url.to_owned();
        }
        if let Some(url) = get("public_url") {
            let url = url.trim().trim_end_matches('/');
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
                return Err(SettingsError::new(
                    name("public_url"),
                    format!("{url:?} is not an http:// or https:// URL"),
                ));
            }
            self.public_url = Some(url.to_owned());
        }
        if let Some(dir) = get("data_dir") {
            self.data_dir = PathBuf::from(dir.trim());
        }
        if let Some(key) = get("secret_key") {
            // The message never repeats the value.
            self.secret_key = Some(
                SecretKey::from_base64(&key)
                    .map_err(|error| SettingsError::new(name("secret_key"), error.to_string()))?,
            );
        }
        if let Some(log) = get("log") {
            tracing_subscriber::EnvFilter::try_new(log.trim()).map_err(|error| {
                SettingsError::new(
                    name("log"),
                    format!("{log:?} is not a level or filter: {error}"),
                )
            })?;
            self.log = log.trim().to_owned();
        }
        if let Some(format) = get("log_format") {
            self.log_format = match format.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(SettingsError::new(
                        name("log_format"),
                        format!("{other:?} is neither text nor json"),
                    ));
                }
            };
        }
        if let Some(limit) = number("body_limit", 1024, 1 << 30)? {
            self.body_limit = limit as usize;
        }
        if let Some(days) = number("session_days", 1, 3650)? {
            self.session_days = days as u32;
        }
        if let Some(seconds) = number("snapshot_seconds", 1, 86_400)? {
            self.snapshot_interval = Duration::from_secs(seconds);
        }
        if let Some(seconds) = number("figures_seconds", 1, 3_600)? {
            self.figures_interval = Duration::from_secs(seconds);
        }
        if let Some(hours) = number("late_hours", 1, 24 * 366)? {
            self.late_horizon = Duration::from_secs(hours * 3600);
        }
        self.apply_meta(name, &get, &number)
    }

    fn apply_meta(
        &mut self,
        name: &dyn Fn(&str) -> String,
        get: &dyn Fn(&str) -> Option<String>,
        number: &NumberSetting<'_>,
    ) -> Result<(), SettingsError> {
        let meta = &mut self.meta;
        let digits = |key: &str, value: &str| -> Result<String, SettingsError> {
            let value = value.trim();
            if value.is_empty() || value.len() > 32 || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SettingsError::new(
                    name(key),
                    format!("{value:?} is not a Meta app id (digits)"),
                ));
            }
            Ok(value.to_owned())
        };
        for (key, slot) in [
            ("meta_app_secret", &mut meta.app_secret),
            ("meta_instagram_app_secret", &mut meta.instagram_app_secret),
        ] {
            if let Some(secret) = get(key) {
                let secret = secret.trim();
                if secret.len() < 8 || secret.chars().any(char::is_whitespace) {
                    // The message never repeats the value.
                    return Err(SettingsError::new(
                        name(key),
                        "give the app secret from the Meta app's settings",
                    ));
                }
                *slot = Some(secret.to_owned());
            }
        }
        if let Some(token) = get("meta_verify_token") {
            let token = token.trim();
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                return Err(SettingsError::new(
                    name("meta_verify_token"),
                    "give a verify token without spaces",
                ));
            }
            meta.verify_token = Some(token.to_owned());
        }
        if let Some(id) = get("meta_app_id") {
            meta.app_id = Some(digits("meta_app_id", &id)?);
        }
        for (key, slot) in [
            ("meta_graph_url", &mut meta.graph_url),
            ("meta_instagram_graph_url", &mut meta.instagram_graph_url),
        ] {
            if let Some(url) = get(key) {
                let url = url.trim().trim_end_matches('/');
                if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
                    return Err(SettingsError::new(
                        name(key),
                        format!("{url:?} is not an http:// or https:// URL"),
                    ));
                }
                *slot = url.to_owned();
            }
        }
        if let Some(version) = get("meta_api_version") {
            let version = version.trim();
            let well_formed = version.strip_prefix('v').is_some_and(|rest| {
                rest.split_once('.').is_some_and(|(major, minor)| {
                    !major.is_empty()
                        && !minor.is_empty()
                        && major
                            .bytes()
                            .chain(minor.bytes())
                            .all(|b| b.is_ascii_digit())
                })
            });
            if !well_formed {
                return Err(SettingsError::new(
                    name("meta_api_version"),
                    format!("{version:?} is not a Graph API version such as v23.0"),
                ));
            }
            meta.api_version = version.to_owned();
        }
        if let Some(ids) = get("meta_automation_app_ids") {
            meta.automation_app_ids = ids
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| digits("meta_automation_app_ids", id))
                .collect::<Result<_, _>>()?;
        }
        if let Some(limit) = number("meta_attachment_limit", 1024, 1 << 31)? {
            self.meta.attachment_limit = limit as usize;
        }
        Ok(())
    }

    /// Whether browsers reach the server over https (cookies are then `Secure`).
    pub fn https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }

    /// The file of a `sqlite://` URL, if the URL names one (not `:memory:`).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or("");
        (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
    }

    /// The secret key: the setting, else the one in `DATA_DIR/secret.key`, else a new one
    /// written there (mode 0600). Returns whether it was generated now.
    pub fn resolve_secret_key(&self) -> Result<(SecretKey, bool), SettingsError> {
        if let Some(key) = &self.secret_key {
            return Ok((key.clone(), false));
        }
        let path = self.data_dir.join("secret.key");
        let setting = || format!("PRONTO_SECRET_KEY (unset, so {})", path.display());
        match std::fs::read_to_string(&path) {
            Ok(text) => SecretKey::from_base64(&text)
                .map(|key| (key, false))
                .map_err(|error| SettingsError::new(setting(), error.to_string())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.data_dir).map_err(|error| {
                    SettingsError::new(setting(), format!("cannot create the data folder: {error}"))
                })?;
                let key = SecretKey::generate();
                write_private(&path, format!("{}\n", key.to_base64()).as_bytes()).map_err(
                    |error| SettingsError::new(setting(), format!("cannot write it: {error}")),
                )?;
                Ok((key, true))
            }
            Err(error) => Err(SettingsError::new(
                setting(),
                format!("cannot read it: {error}"),
            )),
        }
    }
}

/// Creates a file only its owner can read (0600 on Unix).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Reads a whole-number setting within bounds.
type NumberSetting<'a> = dyn Fn(&str, u64, u64) -> Result<Option<u64>, SettingsError> + 'a;

enum Source<'a> {
    File(FileValues),
    Env(&'a dyn Fn(&str) -> Option<String>),
}

/// The file's values as text, so that both sources parse the same way.
struct FileValues(Vec<(&'static str, String)>);

impl FileValues {
    fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }
}

fn read_file(path: &Path) -> Result<FileValues, SettingsError> {
    let setting = || format!("--config {}", path.display());
    let text = std::fs::read_to_string(path)
        .map_err(|error| SettingsError::new(setting(), format!("cannot read it: {error}")))?;
    let file: FileSettings = toml::from_str(&text)
        .map_err(|error| SettingsError::new(path.display().to_string(), error.to_string()))?;
    let mut values = Vec::new();
    let mut put = |key: &'static str, value: Option<String>| {
        if let Some(value) = value {
            values.push((key, value));
        }
    };
    put("listen", file.listen);
    put("database_url", file.database_url);
    put("public_url", file.public_url);
    put("data_dir", file.data_dir);
    put("secret_key", file.secret_key);
    put("log", file.log);
    put("log_format", file.log_format);
    put("body_limit", file.body_limit.map(|v| v.to_string()));
    put("session_days", file.session_days.map(|v| v.to_string()));
    put(
        "snapshot_seconds",
        file.snapshot_seconds.map(|v| v.to_string()),
    );
    put(
        "figures_seconds",
        file.figures_seconds.map(|v| v.to_string()),
    );
    put("late_hours", file.late_hours.map(|v| v.to_string()));
    put("meta_app_secret", file.meta_app_secret);
    put("meta_instagram_app_secret", file.meta_instagram_app_secret);
    put("meta_verify_token", file.meta_verify_token);
    put("meta_app_id", file.meta_app_id);
    put("meta_graph_url", file.meta_graph_url);
    put("meta_instagram_graph_url", file.meta_instagram_graph_url);
    put("meta_api_version", file.meta_api_version);
    put("meta_automation_app_ids", file.meta_automation_app_ids);
    put(
        "meta_attachment_limit",
        file.meta_attachment_limit.map(|v| v.to_string()),
    );
    Ok(FileValues(values))
}

/// The environment variable of a setting.
fn env_name(key: &str) -> &'static str {
    match key {
        "listen" => "PRONTO_LISTEN",
        "database_url" => "DATABASE_URL",
        "public_url" => "PRONTO_PUBLIC_URL",
        "data_dir" => "PRONTO_DATA_DIR",
        "secret_key" => "PRONTO_SECRET_KEY",
        "log" => "PRONTO_LOG",
        "log_format" => "PRONTO_LOG_FORMAT",
        "body_limit" => "PRONTO_BODY_LIMIT",
        "session_days" => "PRONTO_SESSION_DAYS",
        "snapshot_seconds" => "PRONTO_SNAPSHOT_SECONDS",
        "figures_seconds" => "PRONTO_FIGURES_SECONDS",
        "late_hours" => "PRONTO_LATE_HOURS",
        "meta_app_secret" => "PRONTO_META_APP_SECRET",
        "meta_instagram_app_secret" => "PRONTO_META_INSTAGRAM_APP_SECRET",
        "meta_verify_token" => "PRONTO_META_VERIFY_TOKEN",
        "meta_app_id" => "PRONTO_META_APP_ID",
        "meta_graph_url" => "PRONTO_META_GRAPH_URL",
        "meta_instagram_graph_url" => "PRONTO_META_INSTAGRAM_GRAPH_URL",
        "meta_api_version" => "PRONTO_META_API_VERSION",
        "meta_automation_app_ids" => "PRONTO_META_AUTOMATION_APP_IDS",
        "meta_attachment_limit" => "PRONTO_META_ATTACHMENT_LIMIT",
        _ => "PRONTO_UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pronto-settings-{}-{}",
            std::process::id(),
            crate::crypto::random_token()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let none = env(&[]);
        let defaults = Settings::load(None, &none).unwrap();
        assert_eq!(defaults.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(defaults.database_url, "sqlite://pronto-data/pronto.db");
        assert_eq!(
            defaults.sqlite_path(),
            Some(PathBuf::from("pronto-data/pronto.db"))
        );

        let file = temp_file(
            "pronto.toml",
            "listen = \"0.0.0.0:9000\"\nlog = \"debug\"\ndatabase_url = \"postgres://u:pw@db/pronto\"\n",
        );
        let from_file = Settings::load(Some(&file), &none).unwrap();
        assert_eq!(from_file.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(from_file.log, "debug");
        assert_eq!(from_file.sqlite_path(), None);
        assert!(
            !format!("{from_file:?}").contains("pw"),
            "passwords are redacted"
        );

        let overridden = Settings::load(
            Some(&file),
            &env(&[
                ("PRONTO_LISTEN", "127.0.0.1:7000"),
                ("PRONTO_LOG_FORMAT", "json"),
                ("PRONTO_PUBLIC_URL", "https://help.example.com/"),
            ]),
        )
        .unwrap();
        assert_eq!(overridden.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(overridden.log, "debug");
        assert_eq!(overridden.log_format, LogFormat::Json);
        assert_eq!(
            overridden.public_url.as_deref(),
            Some("https://help.example.com")
        );
        assert!(overridden.https());
    }

    #[test]
    fn bad_settings_name_the_setting_and_hide_secrets() {
        let error = Settings::load(None, &env(&[("PRONTO_LISTEN", "nowhere")])).unwrap_err();
        assert_eq!(error.setting, "PRONTO_LISTEN");
        let error =
            Settings::load(None, &env(&[("PRONTO_SECRET_KEY", "hunter2-secret")])).unwrap_err();
        assert_eq!(error.setting, "PRONTO_SECRET_KEY");
        assert!(!error.to_string().contains("hunter2"));
        let error = Settings::load(None, &env(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
        assert_eq!(error.setting, "DATABASE_URL");
        let error = Settings::load(None, &env(&[("PRONTO_LOG_FORMAT", "xml")])).unwrap_err();
        assert_eq!(error.setting, "PRONTO_LOG_FORMAT");
        let error = Settings::load(None, &env(&[("PRONTO_BODY_LIMIT", "12")])).unwrap_err();
        assert_eq!(error.setting, "PRONTO_BODY_LIMIT");
        let file = temp_file("bad.toml", "listen = \"127.0.0.1:1\"\ncolour = \"blue\"\n");
        let error = Settings::load(Some(&file), &env(&[])).unwrap_err();
        assert!(error.to_string().contains("colour"), "{error}");
        let missing = Settings::load(Some(Path::new("/nonexistent/pronto.toml")), &env(&[]));
        assert!(missing.unwrap_err().setting.starts_with("--config"));
    }

    #[test]
    fn the_secret_key_is_generated_once_with_private_permissions() {
        let dir = temp_file("x", "").parent().unwrap().join("data");
        let settings = Settings {
            data_dir: dir.clone(),
            ..Settings::default()
        };
        let (key, generated) = settings.resolve_secret_key().unwrap();
        assert!(generated);
        let (again, generated) = settings.resolve_secret_key().unwrap();
        assert!(!generated);
        assert_eq!(key, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_meta_app_comes_from_the_file_or_the_environment() {
        let file = temp_file(
            "meta.toml",
            "meta_app_id = \"1234567890\"\nmeta_api_version = \"v22.0\"\nmeta_app_secret = \"file-secret-123\"\n",
        );
        let settings = Settings::load(
            Some(&file),
            &env(&[
                ("PRONTO_META_APP_SECRET", "env-secret-456"),
                ("PRONTO_META_VERIFY_TOKEN", "verify-me"),
                ("PRONTO_META_GRAPH_URL", "http://127.0.0.1:9999/"),
                ("PRONTO_META_AUTOMATION_APP_IDS", "111, 222"),
                ("PRONTO_META_INSTAGRAM_APP_SECRET", "ig-secret-789"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.meta.app_id.as_deref(), Some("1234567890"));
        assert_eq!(settings.meta.api_version, "v22.0");
        assert_eq!(settings.meta.app_secret.as_deref(), Some("env-secret-456"));
        assert_eq!(settings.meta.verify_token.as_deref(), Some("verify-me"));
        assert_eq!(
            settings.meta.instagram_app_secret.as_deref(),
            Some("ig-secret-789")
        );
        assert_eq!(settings.meta.graph_url, "http://127.0.0.1:9999");
        assert_eq!(
            settings.meta.instagram_graph_url,
            "https://graph.instagram.com"
        );
        assert_eq!(settings.meta.automation_app_ids, ["111", "222"]);
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("env-secret") && !shown.contains("verify-me"),
            "{shown}"
        );

        for (variable, value) in [
            ("PRONTO_META_API_VERSION", "23"),
            ("PRONTO_META_APP_ID", "my-app"),
            ("PRONTO_META_GRAPH_URL", "graph.facebook.com"),
            ("PRONTO_META_AUTOMATION_APP_IDS", "1,x"),
            ("PRONTO_META_APP_SECRET", "short"),
        ] {
            let error = Settings::load(None, &env(&[(variable, value)])).unwrap_err();
            assert_eq!(error.setting, variable, "{error}");
        }
    }

    #[test]
    fn urls_lose_their_passwords_in_logs() {
        assert_eq!(
            redact_url("postgres://pronto:s3cret@db:5432/pronto"),
            "postgres://pronto:***@db:5432/pronto"
        );
        assert_eq!(redact_url("sqlite://a/b.db"), "sqlite://a/b.db");
    }
}
