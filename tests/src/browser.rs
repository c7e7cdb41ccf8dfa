//! Real headless Chromium (Debian's), driven through chromedriver with
//! fantoccini. Every page error is collected so tests can assert none.

use crate::app::free_port;
use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    pub async fn start() -> anyhow::Result<Browser> {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start chromedriver (Debian package chromium-driver)")?;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", "--disable-quic", "--window-size=1280,900"],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                Ok(client) => return Ok(Browser { client, driver }),
                Err(error) if Instant::now() >= deadline => bail!("chromedriver did not start: {error}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Waits for an element matching `css` and returns its text (found
    /// again if the page replaced it in between, as [`click`](Self::click)).
    pub async fn text_of(&self, css: &str) -> anyhow::Result<String> {
        let mut attempts = 0;
        loop {
            let element = self.client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await.with_context(|| format!("waiting for `{css}`"))?;
            match element.text().await {
                Ok(text) => return Ok(text),
                Err(error) if error.is_stale_element_reference() && attempts < 5 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error).with_context(|| format!("reading `{css}`")),
            }
        }
    }

    /// Waits until the element matching `css` has exactly `expected` as text.
    pub async fn wait_text(&self, css: &str, expected: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                last = element.text().await.unwrap_or_default();
                if last.trim() == expected {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("`{css}` shows {last:?}, expected {expected:?}")
    }

    pub async fn fill(&self, css: &str, value: &str) -> anyhow::Result<()> {
        let element = self.client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await.with_context(|| format!("waiting for `{css}`"))?;
        element.clear().await?;
        element.send_keys(value).await?;
        Ok(())
    }

    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        // A list that reloads (its data version bumped by an earlier save)
        // replaces its rows between finding one and clicking it: find the
        // element again, as a person's second click would.
        let mut attempts = 0;
        loop {
            let element = self.client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await.with_context(|| format!("waiting for `{css}`"))?;
            match element.click().await {
                Ok(()) => return Ok(()),
                Err(error) if error.is_stale_element_reference() && attempts < 5 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error).with_context(|| format!("clicking `{css}`")),
            }
        }
    }

    /// Saves a PNG of the page under `target/screenshots/`.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<std::path::PathBuf> {
        let dir = crate::app::repo_root().join("target").join("screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }

    /// Logs in through the login page.
    pub async fn login(&self, base_url: &str, username: &str, password: &str) -> anyhow::Result<()> {
        self.client.goto(base_url).await?;
        self.fill("input[name=username]", username).await?;
        self.fill("input[name=password]", password).await?;
        self.click("form button[type=submit]").await?;
        self.client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css("header.topbar")).await?;
        Ok(())
    }

    /// Every page error, unhandled rejection and `console.error` since the
    /// page loaded (collected by the app's `index.html`), plus the panic
    /// banner's text if it is shown.
    pub async fn page_errors(&self) -> anyhow::Result<Vec<String>> {
        let errors = self
            .client
            .execute("var e = (window.__patchbayErrors || []).slice(); var b = document.getElementById('fatal-error'); if (b) e.push('banner: ' + b.textContent); return e;", vec![])
            .await?;
        Ok(serde_json::from_value(errors).unwrap_or_default())
    }

    /// The elements that reach past the right edge of the window (a page
    /// usable on a phone has none: it never scrolls sideways).
    pub async fn wider_than_the_window(&self) -> anyhow::Result<Vec<String>> {
        let found = self
            .client
            .execute(
                "var w = document.documentElement.clientWidth, out = []; \
                 document.querySelectorAll('body *').forEach(function (e) { var r = e.getBoundingClientRect(); \
                   if (r.width > 0 && r.right > w + 1) out.push(e.tagName.toLowerCase() + '.' + e.className + ' ends at ' + Math.round(r.right) + ' px'); }); \
                 return out;",
                vec![],
            )
            .await?;
        Ok(serde_json::from_value(found).unwrap_or_default())
    }

    /// Accepts the page's `confirm()` dialog (waits for it to open).
    pub async fn accept_confirm(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.client.accept_alert().await {
                Ok(()) => return Ok(()),
                Err(error) if Instant::now() >= deadline => bail!("no confirmation dialog: {error}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Picks the `<option>` with `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) -> anyhow::Result<()> {
        self.click(&format!("{css} option[value='{value}']")).await
    }

    /// One Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        Ok(self.client.issue_cmd(Cdp { cmd: cmd.to_string(), params }).await?)
    }

    /// `prefers-color-scheme: dark` (or light) from now on.
    pub async fn color_scheme(&self, dark: bool) -> anyhow::Result<()> {
        let value = if dark { "dark" } else { "light" };
        self.cdp("Emulation.setEmulatedMedia", serde_json::json!({"features": [{"name": "prefers-color-scheme", "value": value}]})).await?;
        Ok(())
    }

    /// Every request takes at least `latency_ms` from now on (0: normal).
    pub async fn slow_network(&self, latency_ms: u64) -> anyhow::Result<()> {
        self.cdp("Network.enable", serde_json::json!({})).await?;
        self.cdp(
            "Network.emulateNetworkConditions",
            serde_json::json!({"offline": false, "latency": latency_ms, "downloadThroughput": -1, "uploadThroughput": -1}),
        )
        .await?;
        Ok(())
    }

    pub async fn close(mut self) -> anyhow::Result<()> {
        self.client.clone().close().await?;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A SIP trunk typed into the portal's trunk form (outbound credentials).
pub struct SipTrunk<'a> {
    pub name: &'a str,
    pub host: &'a str,
    pub port: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub register: bool,
    pub qualify: bool,
}

pub async fn create_sip_trunk(browser: &Browser, trunk: &SipTrunk<'_>) -> anyhow::Result<()> {
    let form = "form.trunk-form";
    browser.click(&format!("{form} input[name=kind][value=sip]")).await?;
    browser.fill(&format!("{form} input[name=name]"), trunk.name).await?;
    browser.fill(&format!("{form} input[name=host]"), trunk.host).await?;
    if !trunk.port.is_empty() {
        browser.fill(&format!("{form} input[name=port]"), trunk.port).await?;
    }
    browser.click(&format!("{form} input[name=auth][value=outbound]")).await?;
    browser.fill(&format!("{form} input[name=username]"), trunk.username).await?;
    browser.fill(&format!("{form} input[name=password]"), trunk.password).await?;
    if trunk.register {
        browser.click(&format!("{form} input[name=register]")).await?;
    }
    if !trunk.qualify {
        // On by default; the sipp providers answer nothing but their scenario.
        browser.click(&format!("{form} input[name=qualify]")).await?;
    }
    browser.click(&format!("{form} button[type=submit]")).await?;
    browser.text_of(&format!("tr[data-trunk='{}']", trunk.name)).await?;
    Ok(())
}

/// chromedriver's `goog/cdp/execute` endpoint.
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &reqwest::Url, session_id: Option<&str>) -> Result<reqwest::Url, url_error::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        (reqwest::Method::POST, Some(serde_json::json!({"cmd": self.cmd, "params": self.params}).to_string()))
    }
}

mod url_error {
    pub use reqwest::Url;
    pub type ParseError = <Url as std::str::FromStr>::Err;
}
