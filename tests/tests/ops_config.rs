//! The config file on the real binary: `serve --config FILE` takes the
//! database and log format from the file, the environment overrides its
//! listen address, logs come out as JSON lines; a named config file that is
//! missing or wrong stops the start with an error naming the key.

use patchbay_e2e::app::{TempDir, free_port, patchbay_binary};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the server when the test ends, however it ends.
struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_reads_the_config_file_under_the_environment() -> anyhow::Result<()> {
    let dir = TempDir::new("config");
    let db = dir.0.join("from-file.db");
    let (file_port, env_port) = (free_port(), free_port());
    let config = dir.0.join("patchbay.toml");
    std::fs::write(
        &config,
        format!("# Patchbay\nlisten = \"127.0.0.201:{file_port}\"\ndb = \"sqlite://{}\"\nlog_format = \"json\"\n", db.display()),
    )?;
    let log = dir.0.join("log");
    let log_file = std::fs::File::create(&log)?;
    let mut command = Command::new(patchbay_binary()?);
    command
        .args(["serve", "--config"])
        .arg(&config)
        .env("PATCHBAY_LISTEN", format!("127.0.0.201:{env_port}"))
        .env("PATCHBAY_ADMIN_PASSWORD", "config-test-password")
        .env_remove("PATCHBAY_DB")
        .env_remove("PATCHBAY_LOG_FORMAT")
        .env_remove("PATCHBAY_AMI")
        .stdout(Stdio::from(log_file.try_clone()?))
        .stderr(Stdio::from(log_file));
    let _server = Killed(command.spawn()?);
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        if let Ok(response) = reqwest::get(format!("http://127.0.0.201:{env_port}/healthz")).await {
            break response.text().await?;
        }
        anyhow::ensure!(Instant::now() < deadline, "no answer on the environment's address; log:\n{}", std::fs::read_to_string(&log)?);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answer, "ok");
    assert!(reqwest::get(format!("http://127.0.0.201:{file_port}/healthz")).await.is_err(), "the file's address lost to the environment");
    assert!(db.exists(), "the database named by the file's sqlite:// URL was created");
    let text = std::fs::read_to_string(&log)?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let entry: serde_json::Value = serde_json::from_str(line).map_err(|e| anyhow::anyhow!("not JSON ({e}): {line}"))?;
        assert!(entry["level"].is_string() && entry["fields"].is_object(), "{line}");
    }
    assert!(lines.iter().any(|l| l.contains("Patchbay listening")), "{text}");
    Ok(())
}

#[test]
fn a_named_config_that_is_missing_or_wrong_is_an_error_naming_the_key() -> anyhow::Result<()> {
    let dir = TempDir::new("config-errors");
    let run = |config: &std::path::Path, extra: &[&str]| -> anyhow::Result<(i32, String)> {
        let output = Command::new(patchbay_binary()?).arg("serve").arg("--config").arg(config).args(extra).output()?;
        Ok((output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).to_string()))
    };
    let (code, stderr) = run(&dir.0.join("absent.toml"), &[])?;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("absent.toml") && stderr.contains("`config`"), "{stderr}");

    let wrong = dir.0.join("wrong.toml");
    std::fs::write(&wrong, "log_format = \"xml\"\n")?;
    let (code, stderr) = run(&wrong, &[])?;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`log_format`") && stderr.contains("wrong.toml"), "{stderr}");
    // A flag above the bad value wins, so only the listen error remains.
    std::fs::write(&wrong, "log_format = \"xml\"\nlisten = \"nowhere\"\n")?;
    let (code, stderr) = run(&wrong, &["--log-format", "text"])?;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`listen` must be an address") && !stderr.contains("log_format"), "{stderr}");
    std::fs::write(&wrong, "listen = 8080\n")?;
    let (code, stderr) = run(&wrong, &[])?;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`listen` must be a string"), "{stderr}");

    std::fs::write(&wrong, "listen = \"127.0.0.201:1\"\nasterisk = \"ami://x:y@z\"\n")?;
    let (code, stderr) = run(&wrong, &[])?;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`asterisk` is not a setting"), "{stderr}");
    Ok(())
}
