//! Acceptance of "The interconnection model" on a real Asterisk 22: the
//! seed scenarios are rendered by `patchbay_shared::render`, written over AMI
//! (`patchbay-pjsip.conf` → `res_pjsip.so`, `patchbay-extensions.conf` →
//! `pbx_config`, `patchbay-iax.conf` → `chan_iax2.so`), and Asterisk must
//! accept every section: each endpoint shows, each registration is listed,
//! each context holds every rendered extension and priority, the IAX peer
//! exists, and for a set of dialled strings the first entry of
//! `dialplan show EXTEN@CTX` is `patchbay_shared::simulate`'s winner.
//!
//! Then injection: payloads go into every string field validation accepts
//! them in (and, in a second pass, into every field with validation
//! bypassed); the files as Asterisk parsed them (`GetConfig`) must have the
//! rendered sections and statements only, `dialplan show` the rendered
//! contexts only, and no `SHELL(` / `$[1+1]` may reach the dialplan. Values
//! validation accepts but Asterisk refuses (`allow = ulaw;x`) are printed:
//! a validation gap, not an injection.
//!
//! AMI ports 15131–15132, addresses 127.0.0.31–127.0.0.37 (the far ends
//! are 127.0.0.32–36, where nothing listens).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use patchbay_backend::ami::config_writer::{Section, get_config, write_config};
use patchbay_backend::ami::{AmiClient, AmiError, AmiMessage};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_shared::model::Snapshot;
use patchbay_shared::render::{ConfigFile, Rendered, SUBROUTINE_PREFIX, render};
use patchbay_shared::simulate::{Caller, simulate};

// The shared crate's fixtures (test-only there) are the seed scenarios; the
// file names the model as `crate::model`.
use patchbay_shared::model;
#[allow(dead_code)]
#[path = "../../shared/src/fixtures.rs"]
mod fixtures;

/// Far ends on loopback addresses instead of DNS names: the sandbox has no
/// resolver, and an identify `match` or an IAX `host` that does not resolve
/// is dropped by Asterisk at load time.
fn on_loopback(s: &Snapshot, sip_ip: &str) -> Snapshot {
    let mut json = serde_json::to_string(s).unwrap();
    for (host, ip) in [
        ("wazo-b.example.com", "127.0.0.32"),
        ("voip.provider.example.com", "127.0.0.33"),
        ("realm.bandwidth.example.com", "127.0.0.34"),
        ("shared.example.com", "127.0.0.35"),
        ("iax.example.com", "127.0.0.36"),
    ] {
        json = json.replace(host, ip);
    }
    let mut s: Snapshot = serde_json::from_str(&json).unwrap();
    // The base pjsip.conf owns `transport-udp` on the instance's address,
    // port 5060; the rendered one gets its own name and port (each instance
    // its own address: two tests binding one address collide).
    for t in &mut s.transports {
        t.name = "transport-pb".into();
        for (k, v) in &mut t.options {
            if k == "bind" {
                *v = format!("{sip_ip}:5070");
            }
        }
    }
    s
}

fn sections(file: &ConfigFile) -> Vec<Section> {
    file.sections
        .iter()
        .map(|s| Section {
            name: s.name.clone(),
            lines: s.lines.clone(),
        })
        .collect()
}

async fn load(ami: &AmiClient, r: &Rendered) -> anyhow::Result<()> {
    // Written without a reload each, then reloaded one module at a time:
    // `UpdateConfig`'s reload runs after its answer, and Asterisk drops a
    // reload requested while another is still in progress.
    for (file, config) in [
        ("patchbay-pjsip.conf", &r.pjsip),
        ("patchbay-iax.conf", &r.iax),
        ("patchbay-extensions.conf", &r.extensions),
    ] {
        write_config(ami, file, &sections(config), None).await?;
    }
    for module in ["res_pjsip.so", "chan_iax2.so", "pbx_config"] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let reload = AmiMessage::new().with("Module", module);
            match ami.send("Reload", reload).await {
                Ok(_) => break,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("reload {module}: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// A CLI command; an error answer (e.g. "There is no existence of") is empty.
async fn cli(ami: &AmiClient, command: &str) -> anyhow::Result<Vec<String>> {
    match ami.command(command).await {
        Ok(out) => Ok(out),
        Err(AmiError::ActionFailed { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

async fn poll<F, Fut>(what: &str, asterisk: &AsteriskInstance, mut ok: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !ok().await? {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{what} never showed:\n{}",
            asterisk.console_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}


/// `-= N extensions (M priorities) in K contexts. =-` → (N, M, K).
fn totals(lines: &[String]) -> Option<(usize, usize, usize)> {
    let line = lines.iter().find(|l| l.contains("priorit") && l.starts_with("-="))?;
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    Some((numbers[0], numbers[1], numbers[2]))
}

/// Per rendered context: (extension names, priorities).
fn rendered_dialplan(r: &Rendered) -> BTreeMap<String, (Vec<String>, usize)> {
    let mut out: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    for s in &r.extensions.sections {
        let entry = out.entry(s.name.clone()).or_default();
        for (k, v) in &s.lines {
            if k == "exten" {
                let name = v.split(',').next().unwrap().trim().to_owned();
                if !entry.0.contains(&name) {
                    entry.0.push(name);
                }
                entry.1 += 1;
            } else if k == "same" {
                entry.1 += 1;
            }
        }
    }
    out
}

async fn endpoint_kinds(ami: &AmiClient, name: &str) -> Option<Vec<String>> {
    let headers = AmiMessage::new().with("Endpoint", name);
    let answer = ami.send("PJSIPShowEndpoint", headers).await.ok()?;
    Some(
        answer
            .items()
            .filter_map(|e| e.event_name().map(str::to_owned))
            .collect(),
    )
}

fn pjsip_names(r: &Rendered, kind: &str) -> Vec<String> {
    r.pjsip
        .sections
        .iter()
        .filter(|s| s.values("type").next() == Some(kind))
        .map(|s| s.name.clone())
        .collect()
}

/// Objects Asterisk refused at load time, from its console.
fn refused_objects(asterisk: &AsteriskInstance) -> Vec<String> {
    asterisk
        .console_tail()
        .lines()
        .filter(|l| l.contains("Could not create an object"))
        .map(|l| l.split(": ").last().unwrap_or(l).to_owned())
        .collect()
}

/// Asserts Asterisk holds everything `r` renders.
async fn assert_accepted(
    label: &str,
    asterisk: &AsteriskInstance,
    ami: &AmiClient,
    r: &Rendered,
) -> anyhow::Result<()> {
    // Nothing refused at load time.
    let refused = refused_objects(asterisk);
    assert!(
        refused.is_empty(),
        "{label}: Asterisk refused {refused:?}:\n{}",
        asterisk.console_tail()
    );
    // Endpoints (with their AOR/auth/identify details).
    for name in pjsip_names(r, "endpoint") {
        poll(&format!("{label}: endpoint {name}"), asterisk, || async {
            Ok(endpoint_kinds(ami, &name).await.is_some())
        })
        .await?;
        let kinds = endpoint_kinds(ami, &name).await.unwrap_or_default();
        assert!(kinds.contains(&"EndpointDetail".to_owned()), "{label}: {name}: {kinds:?}");
        if pjsip_names(r, "identify").contains(&name) {
            assert!(
                kinds.contains(&"IdentifyDetail".to_owned()),
                "{label}: identify of {name} not loaded: {kinds:?}\n{}",
                asterisk.console_tail()
            );
        }
    }
    // Registrations: exactly the rendered ones.
    let answer = ami
        .send("PJSIPShowRegistrationsOutbound", AmiMessage::new())
        .await;
    let shown = format!("{answer:?}");
    let mut listed: Vec<String> = match answer {
        Ok(a) => a
            .items()
            .filter(|e| e.event_name() == Some("OutboundRegistrationDetail"))
            .filter_map(|e| e.get("ObjectName").map(str::to_owned))
            .collect(),
        Err(_) => Vec::new(),
    };
    listed.sort();
    let mut wanted = pjsip_names(r, "registration");
    wanted.sort();
    assert_eq!(
        listed,
        wanted,
        "{label}: registrations: {shown}\n{}",
        asterisk.console_tail()
    );

    // Dialplan: every context, extension and priority.
    let planned = rendered_dialplan(r);
    for (ctx, (names, priorities)) in &planned {
        let out = cli(ami, &format!("dialplan show {ctx}")).await?;
        let blocks = patchbay_e2e::asterisk::parse_dialplan_show(&out);
        let listed = blocks
            .iter()
            .find(|b| &b.0 == ctx)
            .map(|b| b.1.clone())
            .unwrap_or_default();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort();
        let mut names_sorted = names.clone();
        names_sorted.sort();
        assert_eq!(listed_sorted, names_sorted, "{label}: extensions of [{ctx}]: {out:#?}");
        let (_, got_priorities, contexts) =
            totals(&out).unwrap_or_else(|| panic!("{label}: no totals for {ctx}: {out:#?}"));
        assert_eq!(contexts, 1, "{label}: {ctx}");
        assert_eq!(got_priorities, *priorities, "{label}: priorities of [{ctx}]: {out:#?}");
    }
    // IAX peers.
    for s in &r.iax.sections {
        if s.values("type").next().is_some() {
            let out = cli(ami, &format!("iax2 show peer {}", s.name)).await?;
            assert!(
                out.iter().any(|l| l.contains(&s.name)),
                "{label}: IAX peer {} not loaded: {out:#?}\n{}",
                s.name,
                asterisk.console_tail()
            );
        }
    }
    Ok(())
}

const DIALLED: &[&str] = &[
    "**99101", "**991001", "**99", "**9", "1001", "101", "102", "4185550100", "418", "418.",
    "4181234", "912345", "90", "9", "99", "0", "s", "*", "#",
];

async fn assert_simulate_agrees(
    label: &str,
    ami: &AmiClient,
    s: &Snapshot,
    r: &Rendered,
) -> anyhow::Result<usize> {
    let mut compared = 0;
    // The outcall subroutines (`pb-outcall-N`, only reached by Gosub) are
    // not dialled into and not part of the simulated dialplan.
    let dialled_into = rendered_dialplan(r)
        .into_keys()
        .filter(|ctx| !ctx.starts_with(SUBROUTINE_PREFIX));
    for ctx in dialled_into {
        let ctx = ctx.as_str();
        for dialled in DIALLED {
            let trace = simulate(s, fixtures::T, Caller::Context(ctx), dialled);
            let out = cli(ami, &format!("dialplan show {}@{ctx}", trace.dialled)).await?;
            let first = patchbay_e2e::asterisk::parse_dialplan_show(&out)
                .into_iter()
                .find(|b| !b.1.is_empty())
                .map(|b| (b.0, b.1[0].clone()));
            let ours = trace.winner.map(|m| (m.context, m.exten));
            assert_eq!(first, ours, "{label}: {dialled}@{ctx}: Asterisk vs simulate\n{out:#?}");
            compared += 1;
        }
    }
    Ok(compared)
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_scenarios_load_into_asterisk_and_match_the_simulator() -> anyhow::Result<()> {
    let started = Instant::now();
    let asterisk = AsteriskInstance::start("live-render", "127.0.0.31", 15131).await?;
    let ami = asterisk.connect_ami().await?;
    let mut compared = 0;
    for (label, snapshot) in [
        ("seed_000 (two PBXs, **99 strip 4)", fixtures::seed_000()),
        ("seed_001 (provider, registration, DID)", fixtures::seed_001()),
        ("trunk_kinds (auth-only, header match, Local, IAX)", fixtures::trunk_kinds()),
    ] {
        let s = on_loopback(&snapshot, "127.0.0.31");
        assert_eq!(patchbay_shared::validate::snapshot(&s), vec![], "{label}");
        let r = render(&s);
        load(&ami, &r).await?;
        // The reloads run after their answers: wait for the last context.
        let last = rendered_dialplan(&r).keys().last().unwrap().clone();
        let want = r.extensions.sections_named(&last).count();
        poll(&format!("{label}: [{last}]"), &asterisk, || async {
            let out = cli(&ami, &format!("dialplan show {last}")).await?;
            Ok(want > 0 && out.iter().any(|l| l.contains(&format!("'{last}'"))))
        })
        .await?;
        assert_accepted(label, &asterisk, &ami, &r).await?;
        compared += assert_simulate_agrees(label, &ami, &s, &r).await?;
    }
    // The auth-only trunk never registers, the header-matched one identifies by header.
    let kinds = endpoint_kinds(&ami, "shared-provider").await.unwrap_or_default();
    assert!(kinds.contains(&"IdentifyDetail".to_owned()), "{kinds:?}");
    let headers = AmiMessage::new().with("Endpoint", "shared-provider");
    let answer = ami.send("PJSIPShowEndpoint", headers).await?;
    let identify = answer
        .items()
        .find(|e| e.event_name() == Some("IdentifyDetail"))
        .unwrap();
    assert_eq!(identify.get("MatchHeader"), Some("X-Dest-User: abc123"), "{identify:?}");
    let endpoint = answer
        .items()
        .find(|e| e.event_name() == Some("EndpointDetail"))
        .unwrap();
    assert!(
        endpoint.get("IdentifyBy").is_some_and(|v| v.contains("header")),
        "{endpoint:?}"
    );
    eprintln!(
        "live_render: 3 scenarios loaded and checked, {compared} dialled strings agree with simulate, {:?}",
        started.elapsed()
    );
    Ok(())
}

// ---------------------------------------------------------------- injection

const PAYLOADS: [&str; 5] = ["\n[evil]", ";x", "${SHELL(id)}", "$[1+1]", ",n,Hangup"];

type Mutator = (&'static str, fn(&mut Snapshot, &str));

fn sip<'a>(s: &'a mut Snapshot, name: &str) -> &'a mut model::EndpointSip {
    s.endpoints_sip.iter_mut().find(|e| e.name == name).unwrap()
}

fn push_value(list: &mut [(String, String)], index: usize, p: &str) {
    list[index].1.push_str(p);
}

/// The string fields of the scenarios (everything of `trunk_kinds` plus the
/// registering trunk of seed 000).
const MUTATORS: &[Mutator] = &[
    ("tenant.name", |s, p| s.tenants[0].name.push_str(p)),
    ("context.label", |s, p| s.contexts[0].label.push_str(p)),
    ("context.description", |s, p| s.contexts[0].description = Some(format!("d{p}"))),
    ("extension.exten (line)", |s, p| s.extensions[0].exten.push_str(p)),
    ("endpoint.name (line)", |s, p| sip(s, "alice-phone").name.push_str(p)),
    ("endpoint.label", |s, p| sip(s, "wazo-trunk").label = Some(format!("Wazo B{p}"))),
    ("endpoint allow", |s, p| push_value(&mut sip(s, "alice-phone").sections.endpoint_section_options, 0, p)),
    ("endpoint set_var", |s, p| push_value(&mut sip(s, "shared-provider").sections.endpoint_section_options, 1, p)),
    ("aor contact", |s, p| push_value(&mut sip(s, "wazo-trunk").sections.aor_section_options, 0, p)),
    ("auth password", |s, p| push_value(&mut sip(s, "wazo-trunk").sections.auth_section_options, 1, p)),
    ("auth username", |s, p| push_value(&mut sip(s, "wazo-trunk").sections.auth_section_options, 0, p)),
    ("identify match_header", |s, p| push_value(&mut sip(s, "shared-provider").sections.identify_section_options, 0, p)),
    ("outbound auth password", |s, p| push_value(&mut sip(s, "bandwidth").sections.outbound_auth_section_options, 1, p)),
    ("registration client_uri", |s, p| push_value(&mut sip(s, "wazo-trunk").sections.registration_section_options, 1, p)),
    ("registration auth password", |s, p| push_value(&mut sip(s, "wazo-trunk").sections.registration_outbound_auth_section_options, 1, p)),
    ("iax option value", |s, p| push_value(&mut s.endpoints_iax[0].options, 0, p)),
    ("custom interface_suffix", |s, p| s.endpoints_custom[0].interface_suffix = Some(format!("@pbx-b-in{p}"))),
    ("outcall name", |s, p| s.outcalls[0].name.push_str(p)),
    ("outcall description", |s, p| s.outcalls[0].description = Some(format!("d{p}"))),
    ("outcall external_prefix", |s, p| s.outcalls[0].extensions[0].external_prefix = Some(format!("00{p}"))),
    ("outcall caller_id name", |s, p| s.outcalls[0].extensions[0].caller_id = Some(format!("\"AC{p}ME\" <5551234>"))),
    ("incall caller_id_name", |s, p| s.incalls[0].caller_id_name = Some(format!("VIP{p}"))),
    ("incall description", |s, p| s.incalls[0].description = Some(format!("d{p}"))),
    ("user firstname", |s, p| s.users[0].firstname.push_str(p)),
    ("user lastname", |s, p| s.users[0].lastname = Some(format!("Doe{p}"))),
    ("user caller_id", |s, p| s.users[0].caller_id = Some(format!("\"Alice{p}\""))),
    ("user outgoing_caller_id name", |s, p| s.users[0].outgoing_caller_id = Some(format!("\"Bob{p}\" <555>"))),
];

/// trunk_kinds + the registering `wazo-trunk` + a DID with a caller-ID name.
fn everything() -> Snapshot {
    let mut s = fixtures::trunk_kinds();
    let seed = fixtures::seed_000();
    s.endpoints_sip.extend(seed.endpoints_sip.into_iter().filter(|e| e.name == "wazo-trunk"));
    s.trunks.push(fixtures::trunk(5, Some("from-extern"), Some(model::TrunkEndpoint::Sip("ep-wazo".into()))));
    s.extensions.push(fixtures::extension(18, "101", "from-extern"));
    let mut incall = fixtures::incall_to_user(4, 18, 1);
    incall.caller_id_mode = Some(model::CallerIdMode::Prepend);
    incall.caller_id_name = Some("VIP".into());
    incall.description = Some("front desk".into());
    s.incalls.push(incall);
    s.users[0].outgoing_caller_id = Some("\"Bob\" <555>".into());
    on_loopback(&s, "127.0.0.37")
}

/// Section names and, per section, the keys of its lines, as Asterisk read them.
fn shape(sections: &[Section]) -> Vec<(String, Vec<String>)> {
    sections
        .iter()
        .map(|s| (s.name.clone(), s.lines.iter().map(|(k, _)| k.clone()).collect()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_payloads_stay_inert_in_a_real_asterisk() -> anyhow::Result<()> {
    let started = Instant::now();
    let clean = everything();
    assert_eq!(patchbay_shared::validate::snapshot(&clean), vec![], "clean fixture");
    let asterisk = AsteriskInstance::start("live-inject", "127.0.0.37", 15132).await?;
    let ami = asterisk.connect_ami().await?;
    let mut accepted_total = Vec::new();
    // First as the product runs (only what validation accepts), then with
    // validation bypassed: the renderer must not trust a snapshot either.
    let rounds = PAYLOADS.iter().map(|p| (*p, true)).chain(PAYLOADS.iter().map(|p| (*p, false)));
    for (payload, validated) in rounds {
        // Every field validation accepts this payload in, all at once.
        let mut poisoned = clean.clone();
        let mut accepted = Vec::new();
        // Unvalidated, renames (`endpoint.name`) come last so that the
        // fields found by name are still found.
        let order: Vec<&Mutator> = if validated {
            MUTATORS.iter().collect()
        } else {
            MUTATORS.iter().rev().collect()
        };
        for (field, mutate) in order {
            if !validated {
                mutate(&mut poisoned, payload);
                accepted.push(*field);
                continue;
            }
            let mut alone = clean.clone();
            mutate(&mut alone, payload);
            if patchbay_shared::validate::snapshot(&alone).is_empty() {
                let mut together = poisoned.clone();
                mutate(&mut together, payload);
                if patchbay_shared::validate::snapshot(&together).is_empty() {
                    poisoned = together;
                    accepted.push(*field);
                }
            }
        }
        let label = if validated {
            format!("{payload:?} in {accepted:?}")
        } else {
            format!("{payload:?} in every field, unvalidated")
        };
        let r = render(&poisoned);
        load(&ami, &r).await?;
        let last = rendered_dialplan(&r).keys().last().unwrap().clone();
        let marker = r.pjsip.sections.last().map(|s| s.name.clone()).unwrap();
        poll(&format!("{label}: reload"), &asterisk, || async {
            let out = cli(&ami, &format!("dialplan show {last}")).await?;
            let pjsip = get_config(&ami, "patchbay-pjsip.conf").await?;
            Ok(out.iter().any(|l| l.contains(&format!("'{last}'")))
                && pjsip.iter().any(|s| s.name == marker))
        })
        .await?;
        // The files as Asterisk parsed them: the sections and statements written.
        for (file, rendered) in [
            ("patchbay-pjsip.conf", &r.pjsip),
            ("patchbay-extensions.conf", &r.extensions),
            ("patchbay-iax.conf", &r.iax),
        ] {
            let read = get_config(&ami, file).await?;
            assert_eq!(shape(&read), shape(&sections(rendered)), "{label}: {file} parsed differently");
            assert!(!read.iter().any(|s| s.name == "evil"), "{label}: {file}");
        }
        // The loaded dialplan: exactly the rendered contexts and priorities,
        // nothing evaluable from the payload.
        let all = cli(&ami, "dialplan show").await?;
        let contexts: Vec<String> = patchbay_e2e::asterisk::parse_dialplan_show(&all)
            .into_iter()
            .map(|b| b.0)
            .filter(|c| !c.starts_with("__") && c != "parkedcalls")
            .collect();
        let planned = rendered_dialplan(&r);
        let mut listed = contexts.clone();
        listed.sort();
        listed.dedup();
        assert_eq!(listed, planned.keys().cloned().collect::<Vec<_>>(), "{label}: contexts");
        // (`[evil]` may survive as literal text inside a name, e.g. the
        // extension `1001_[evil]`: harmless, and no context is added.)
        for line in &all {
            assert!(!line.contains("SHELL("), "{label}: {line}");
            assert!(!line.contains("$[1+1]"), "{label}: {line}");
        }
        // A payload validation lets through may still be a value Asterisk
        // refuses (`allow = ulaw;x`): that keeps the object's previous
        // version, it adds nothing. Reported, not failed: it is a validation
        // gap, not an injection.
        let refused = refused_objects(&asterisk);
        if !refused.is_empty() {
            eprintln!("{label}: Asterisk refused {refused:?}");
        }
        if validated {
            accepted_total.push((payload, accepted.len()));
        }
    }
    eprintln!(
        "live_render injection: fields accepting each payload {accepted_total:?}, {:?}",
        started.elapsed()
    );
    Ok(())
}
