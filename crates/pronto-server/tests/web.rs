//! End-to-end tests of the agents' web app in Debian's headless Chromium, driven through
//! chromedriver with fantoccini. They run when `PRONTO_TEST_CHROMIUM` names the browser (CI's
//! `.ci/run` sets `/usr/bin/chromium`; chromedriver is looked up as `/usr/bin/chromedriver` or
//! `PRONTO_TEST_CHROMEDRIVER`), and skip with a line saying so otherwise. Each test saves
//! screenshots under `target/e2e/`.

#[allow(dead_code, unused_imports)]
#[path = "api/harness.rs"]
mod harness;

mod web {
    pub mod browser;
    mod flows;
    mod speed;
}
