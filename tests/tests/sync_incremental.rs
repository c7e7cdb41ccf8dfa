//! Incremental dialplan apply against a real Asterisk: one route changed on
//! a 10 000-route dialplan, live (`DialplanExtensionRemove`/`Add`) plus the
//! in-place file edit, against a full `dialplan reload` of the same file.
//! Prints the figures; asserts correctness (live == file), not timings.
//!
//! AMI port 15156, SIP address 127.0.0.56 (the sync_* range).

use patchbay_backend::ami::config_writer::Section;
use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_backend::sync::{IncrementalPlan, apply_live, context_priorities, persist, read_file, same_config};
use patchbay_e2e::asterisk::AsteriskInstance;
use std::time::{Duration, Instant};

const ROUTES: usize = 10_000;
const CONTEXT: &str = "pb-routes";
const CHANGED: usize = 5_000;

fn routes(changed_label: &str) -> Vec<Section> {
    let mut lines = vec![("include".to_string(), "pb-internal".to_string())];
    for i in 0..ROUTES {
        let label = if i == CHANGED { changed_label.to_string() } else { format!("route {i}") };
        lines.push(("exten".into(), format!("7{i:05},1,NoOp({label})")));
        lines.push(("same".into(), format!("n,Dial(PJSIP/${{EXTEN}}@trunk-{},30)", i % 10)));
        lines.push(("same".into(), "n,Hangup()".into()));
    }
    vec![
        Section { name: "pb-internal".into(), lines: vec![("exten".into(), "100,1,Answer()".into())] },
        Section { name: CONTEXT.into(), lines },
    ]
}

fn text(sections: &[Section]) -> String {
    let mut out = String::new();
    for section in sections {
        out.push_str(&format!("[{}]\n", section.name));
        for (key, value) in &section.lines {
            out.push_str(&format!("{key} => {value}\n"));
        }
    }
    out
}

/// What `dialplan show 7NNNNN@pb-routes` says priority 1 does.
async fn route_shows(ami: &AmiClient, label: &str) -> anyhow::Result<bool> {
    let output = ami.command(&format!("dialplan show 7{CHANGED:05}@{CONTEXT}")).await?;
    Ok(output.iter().any(|line| line.contains(&format!("NoOp({label})"))))
}

async fn wait_for_route(ami: &AmiClient, label: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !route_shows(ami, label).await? {
        anyhow::ensure!(Instant::now() < deadline, "route never showed {label}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
async fn one_route_on_10k_routes_incremental_vs_full_reload() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("sync-bench", "127.0.0.56", 15156).await?;
    let ami = asterisk.connect_ami().await?;
    let file = asterisk.config_dir().join("patchbay-extensions.conf");

    // Setup (test-only shortcut: the file is written on disk directly).
    std::fs::write(&file, text(&routes("start")))?;
    ami.command("dialplan reload").await?;
    wait_for_route(&ami, "start").await?;
    assert_eq!(context_priorities(&ami, CONTEXT).await?, Some(ROUTES * 3));

    // Full: the file changes one route, then `dialplan reload` until it shows.
    let mut full = Vec::new();
    for round in 0..3 {
        let label = format!("full {round}");
        std::fs::write(&file, text(&routes(&label)))?;
        let started = Instant::now();
        ami.command("dialplan reload").await?;
        wait_for_route(&ami, &label).await?;
        full.push(started.elapsed());
    }

    // Incremental: what the sync task does when only extensions changed.
    let mut live_times = Vec::new();
    let mut file_times = Vec::new();
    let mut totals = Vec::new();
    for round in 0..3 {
        let label = format!("incremental {round}");
        let current = read_file(&ami, "patchbay-extensions.conf").await?;
        let desired = routes(&label);
        assert!(same_config(&current[1..], &routes(&if round == 0 { "full 2".to_string() } else { format!("incremental {}", round - 1) })[1..]));
        let plan = IncrementalPlan::new(&current, &desired).expect("one changed route is incremental");
        assert_eq!(plan.edits(), 2, "one remove and one add");
        let started = Instant::now();
        apply_live(&ami, &plan).await?;
        let live_done = started.elapsed();
        persist(&ami, &plan).await?;
        let total = started.elapsed();
        assert!(route_shows(&ami, &label).await?, "the live dialplan has the change at once");
        live_times.push(live_done);
        file_times.push(total - live_done);
        totals.push(total);
        // The file on disk says the same as the live dialplan.
        assert!(same_config(&read_file(&ami, "patchbay-extensions.conf").await?, &desired), "file differs after round {round}");
    }
    assert_eq!(context_priorities(&ami, CONTEXT).await?, Some(ROUTES * 3));
    // And a later reload loads exactly that.
    ami.command("dialplan reload").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    wait_for_route(&ami, "incremental 2").await?;
    assert_eq!(context_priorities(&ami, CONTEXT).await?, Some(ROUTES * 3));
    let extensions = ami.send("Command", AmiMessage::new().with("Command", "dialplan show pb-internal")).await?;
    assert!(extensions.output().iter().any(|line| line.contains("Answer")));

    let (full, live, file, total) = (median(full), median(live_times), median(file_times), median(totals));
    eprintln!("10k routes ({} priorities), one route changed, median of 3:", ROUTES * 3);
    eprintln!("  full `dialplan reload` until the change shows: {full:?}");
    eprintln!("  incremental: live edits {live:?} + in-place file edit {file:?} = {total:?}");
    eprintln!(
        "  ratio full / incremental total: {:.1}x; full / live part: {:.1}x",
        full.as_secs_f64() / total.as_secs_f64(),
        full.as_secs_f64() / live.as_secs_f64()
    );
    Ok(())
}
