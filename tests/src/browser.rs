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

    /// Waits for an element matching `css` and returns its text.
    pub async fn text_of(&self, css: &str) -> anyhow::Result<String> {
        let element = self.client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await?;
        Ok(element.text().await?)
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
        let element = self.client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await?;
        element.clear().await?;
        element.send_keys(value).await?;
        Ok(())
    }

    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await?.click().await?;
        Ok(())
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
