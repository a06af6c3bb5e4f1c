//! A headless Chromium behind chromedriver, started on a free port for one test.

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Browser {
    pub client: Client,
    driver: Child,
    pub base: String,
    name: &'static str,
    shots: std::sync::atomic::AtomicU32,
}

/// The browser to drive, when the environment names one that exists.
pub fn chromium() -> Option<(String, String)> {
    let browser = std::env::var("PRONTO_TEST_CHROMIUM")
        .ok()
        .filter(|p| !p.is_empty())?;
    let driver = std::env::var("PRONTO_TEST_CHROMEDRIVER")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/usr/bin/chromedriver".to_owned());
    if !std::path::Path::new(&browser).exists() || !std::path::Path::new(&driver).exists() {
        return None;
    }
    Some((browser, driver))
}

pub fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and a browser window of `width` x `height` speaking `lang`.
    pub async fn start(
        name: &'static str,
        base: &str,
        width: u32,
        height: u32,
        lang: &str,
    ) -> Browser {
        let (binary, driver_path) = chromium().expect("checked by the caller");
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"), format!("--lang={lang}"),
                    "--force-device-scale-factor=1", "--hide-scrollbars",
                ],
                "prefs": {"intl.accept_languages": lang},
            }),
        );
        if width < 500 {
            // A desktop window is at least 500 px wide: a phone's width needs emulation.
            caps["goog:chromeOptions"]["mobileEmulation"] = serde_json::json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": true},
            });
        }
        let client = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a browser session");
        Browser {
            client,
            driver,
            base: base.to_owned(),
            name,
            shots: std::sync::atomic::AtomicU32::new(0),
        }
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.wait_css(selector, Duration::from_secs(10)).await
    }

    pub async fn wait_css(&self, selector: &str, wait: Duration) -> fantoccini::elements::Element {
        let started = Instant::now();
        loop {
            if let Ok(found) = self.client.find(Locator::Css(selector)).await {
                return found;
            }
            if started.elapsed() > wait {
                self.screenshot("failure").await;
                panic!("{selector} not found on {}", self.path().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn text(&self, selector: &str) -> String {
        for _ in 0..50 {
            if let Ok(text) = self.css(selector).await.text().await {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no text for {selector}");
    }

    /// Waits until the page's text satisfies `ready`.
    pub async fn wait_text(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            // Between two pages there may be no body yet.
            let text = match self.client.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if ready(&text) {
                return text;
            }
            if started.elapsed() > Duration::from_secs(15) {
                self.screenshot("failure").await;
                panic!(
                    "waited in vain for {what} on {}:\n{text}",
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// Presses keys on whatever has the focus.
    pub async fn keys(&self, keys: &str) {
        let focused = self
            .client
            .active_element()
            .await
            .expect("a focused element");
        focused.send_keys(keys).await.unwrap();
    }

    pub async fn screenshot(&self, label: &str) -> PathBuf {
        let n = self.shots.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let path = shots_dir().join(format!("{}-{n:02}-{label}.png", self.name));
        if let Ok(png) = self.client.screenshot().await {
            std::fs::write(&path, png).unwrap();
        }
        path
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
