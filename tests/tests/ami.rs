//! The AMI client and config writer against a real Asterisk 22.
//!
//! Each test boots its own instance; AMI tests use ports 15101–15109 and SIP
//! addresses 127.0.0.21–29 so they can run in parallel with each other.

use std::time::{Duration, Instant};

use anyhow::Context;

use patchbay_backend::ami::config_writer::{Section, create_config, get_config, write_config};
use patchbay_backend::ami::{
    AmiClient, AmiError, AmiMessage, AmiStatus, AmiUrl, ClientOptions, EncodeError,
};
use patchbay_e2e::asterisk::AsteriskInstance;

fn section(name: &str, lines: &[(&str, &str)]) -> Section {
    Section {
        name: name.to_owned(),
        lines: lines
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// endpoint, aor and auth all named `trunk-a`, with 60 `set_var` lines on the
/// endpoint so the file needs more than one 128-line message.
fn trunk_a() -> Vec<Section> {
    let mut endpoint = section(
        "trunk-a",
        &[
            ("type", "endpoint"),
            ("context", "from-trunk-a"),
            ("disallow", "all"),
            ("allow", "ulaw"),
            ("aors", "trunk-a"),
            ("outbound_auth", "trunk-a"),
        ],
    );
    for i in 0..60 {
        endpoint
            .lines
            .push(("set_var".into(), format!("PATCHBAY_OPTION_{i}=value {i}")));
    }
    vec![
        endpoint,
        section(
            "trunk-a",
            &[("type", "aor"), ("contact", "sip:trunk-a@127.0.0.99:5060")],
        ),
        section(
            "trunk-a",
            &[
                ("type", "auth"),
                ("auth_type", "userpass"),
                ("username", "trunk-a"),
                ("password", "pw-a"),
            ],
        ),
    ]
}

async fn poll_until<T, F, Fut>(timeout: Duration, mut attempt: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = attempt().await {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chunked_write_of_same_named_sections_loads_and_reads_back() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("ami-write", "127.0.0.21", 15101).await?;
    eprintln!("Asterisk booted in {:?}", asterisk.boot_time());
    let ami = asterisk.connect_ami().await?;

    let started = Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        ami.send("Ping", AmiMessage::new()).await?;
    }
    eprintln!("AMI Ping round trip: {:?}", started.elapsed() / rounds);

    assert!(create_config(&ami, "patchbay-pjsip.conf").await?);
    assert!(
        !create_config(&ami, "patchbay-pjsip.conf").await?,
        "second create finds the file"
    );

    let sections = trunk_a();
    let header_lines: usize = sections.iter().map(|s| 5 + 4 * s.lines.len()).sum();
    assert!(header_lines > 128, "the test must need several messages");
    let started = Instant::now();
    write_config(&ami, "patchbay-pjsip.conf", &sections, Some("res_pjsip.so")).await?;
    eprintln!(
        "chunked write of {header_lines} header lines: {:?}",
        started.elapsed()
    );

    // The reload runs after its Success response: poll for the effect.
    let show = || async {
        let headers = AmiMessage::new().with("Endpoint", "trunk-a");
        ami.send("PJSIPShowEndpoint", headers).await.ok()
    };
    let answer = poll_until(Duration::from_secs(10), show)
        .await
        .unwrap_or_else(|| panic!("trunk-a never loaded:\n{}", asterisk.console_tail()));
    let kinds: Vec<&str> = answer.items().filter_map(|e| e.event_name()).collect();
    for kind in ["EndpointDetail", "AorDetail", "AuthDetail"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let endpoint = answer
        .items()
        .find(|e| e.event_name() == Some("EndpointDetail"))
        .unwrap();
    assert_eq!(endpoint.get("Context"), Some("from-trunk-a"));
    assert_eq!(endpoint.get("OutboundAuth"), Some("trunk-a"));

    assert_eq!(get_config(&ami, "patchbay-pjsip.conf").await?, sections);
    // The base file includes ours, so Asterisk sees both.
    let pjsip = get_config(&ami, "pjsip.conf").await?;
    assert_eq!(pjsip.len(), 4);
    assert_eq!(pjsip[0].name, "transport-udp");

    // Rewriting replaces the file rather than adding to it.
    let smaller = vec![section(
        "trunk-b",
        &[("type", "aor"), ("max_contacts", "1")],
    )];
    write_config(&ami, "patchbay-pjsip.conf", &smaller, Some("res_pjsip.so")).await?;
    assert_eq!(get_config(&ami, "patchbay-pjsip.conf").await?, smaller);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn values_with_newlines_are_refused_before_anything_is_sent() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("ami-inject", "127.0.0.22", 15102).await?;
    let ami = asterisk.connect_ami().await?;

    let evil = vec![section(
        "trunk-a",
        &[("type", "aor"), ("contact", "sip:x@127.0.0.1\n[evil]")],
    )];
    let refused = write_config(&ami, "patchbay-evil.conf", &evil, Some("res_pjsip.so")).await;
    assert!(
        matches!(
            refused,
            Err(AmiError::Encode(EncodeError::ForbiddenCharacter { .. }))
        ),
        "{refused:?}"
    );
    let direct = AmiMessage::new().with(
        "Filename",
        "x.conf\r\nAction: Command\r\nCommand: core stop now",
    );
    let refused = ami.send("CreateConfig", direct).await;
    assert!(matches!(refused, Err(AmiError::Encode(_))), "{refused:?}");

    // Nothing reached Asterisk: no file, and the connection is still in sync.
    let missing = get_config(&ami, "patchbay-evil.conf").await;
    assert!(
        matches!(missing, Err(AmiError::ActionFailed { .. })),
        "{missing:?}"
    );
    assert!(!asterisk.config_dir().join("patchbay-evil.conf").exists());
    assert!(!asterisk.config_dir().join("x.conf").exists());
    ami.send("Ping", AmiMessage::new()).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_a_clear_error_and_a_status() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("ami-auth", "127.0.0.23", 15103).await?;
    let wrong: AmiUrl =
        format!("ami://patchbay:wrong@127.0.0.1:{}", asterisk.ami_port()).parse()?;

    let refused = AmiClient::connect(wrong.clone(), ClientOptions::default()).await;
    let Err(AmiError::AuthenticationFailed { message }) = refused else {
        panic!("expected AuthenticationFailed, got {refused:?}")
    };
    assert_eq!(message, "Authentication failed");

    // The long-lived form reports it as a status and refuses actions meanwhile.
    let client = AmiClient::spawn(wrong, ClientOptions::default());
    let mut status = client.status();
    let reported = poll_until(Duration::from_secs(5), || {
        status = client.status();
        let done = matches!(status, AmiStatus::AuthenticationFailed { .. });
        async move { done.then_some(()) }
    })
    .await;
    assert!(reported.is_some(), "status stayed {status:?}");
    let shown = format!("{status:?} {client:?}");
    assert!(!shown.contains("wrong"), "the secret leaked: {shown}");
    let refused = client.send("Ping", AmiMessage::new()).await;
    assert!(
        matches!(refused, Err(AmiError::NotConnected(_))),
        "{refused:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_extension_answers_an_originated_call() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("ami-call", "127.0.0.24", 15104).await?;
    let ami = asterisk.connect_ami().await?;

    for (priority, application, data) in [
        ("1", "Answer", ""),
        ("2", "Wait", "0.2"),
        ("3", "Hangup", ""),
    ] {
        let step = AmiMessage::new()
            .with("Context", "pb-test")
            .with("Extension", "100")
            .with("Priority", priority)
            .with("Application", application)
            .with("ApplicationData", data)
            .with("Replace", "yes");
        ami.send("DialplanExtensionAdd", step).await?;
    }

    let originate = AmiMessage::new()
        .with("Channel", "Local/100@pb-test")
        .with("Application", "Wait")
        .with("Data", "0.2")
        .with("Async", "true");
    let outcome = ami
        .send_awaiting_event(
            "Originate",
            originate,
            "OriginateResponse",
            Duration::from_secs(10),
        )
        .await?;
    assert_eq!(outcome.get("Response"), Some("Success"), "{outcome:?}");
    assert_eq!(outcome.get("Reason"), Some("4"), "4 means answered");

    let nowhere = AmiMessage::new()
        .with("Channel", "Local/999@pb-test")
        .with("Application", "Wait")
        .with("Data", "0.2")
        .with("Async", "true");
    let outcome = ami
        .send_awaiting_event(
            "Originate",
            nowhere,
            "OriginateResponse",
            Duration::from_secs(10),
        )
        .await?;
    assert_eq!(outcome.get("Response"), Some("Failure"), "{outcome:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_reconnects_after_asterisk_restarts() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("ami-restart", "127.0.0.25", 15105).await?;
    let options = ClientOptions {
        min_backoff: Duration::from_millis(200),
        ..ClientOptions::default()
    };
    let ami = AmiClient::connect(asterisk.ami_url().parse()?, options).await?;

    let mut status = ami.watch_status();
    // Asterisk re-executes itself in place (same PID), dropping AMI sessions.
    // Its answer races the restart: success, error or a lost connection.
    let _ = ami.command("core restart now").await;
    let lost = status.wait_for(|status| *status != AmiStatus::Connected);
    tokio::time::timeout(Duration::from_secs(10), lost)
        .await
        .context("the restart never dropped the AMI connection")??;

    ami.wait_connected(Duration::from_secs(20))
        .await
        .with_context(|| {
            format!(
                "no reconnect after the restart:\n{}",
                asterisk.console_tail()
            )
        })?;
    ami.send("Ping", AmiMessage::new()).await?;
    Ok(())
}
