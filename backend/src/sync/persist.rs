//! The dialplan file following the live edits in the background (no
//! reload), read back.

use super::*;

/// The deferred file write: makes each extensions file (one per tenant,
/// see `units`) say what the live dialplan runs (one in-place
/// `UpdateConfig` when it fits, else a whole write of that file), without a
/// reload, and checks it by reading it back. Only the files whose tenant
/// changed are written: the cost is the change's, not the server's.
pub(super) async fn persist_dialplan(client: &AmiClient, state: &mut SyncState, now: Instant) -> anyhow::Result<()> {
    let Some(live) = &state.live_dialplan else {
        // A reload since: the next pass re-derives everything.
        return Ok(());
    };
    // Taken out of the model while the files are written: a write that
    // fails half-way leaves a file only a fresh read describes.
    let whole = state.files_seen.contains_key(EXTENSIONS_FILE);
    let (mut seen, names): (units::Units, Vec<String>) = match state.files_seen.remove(EXTENSIONS_FILE) {
        // Only the units of the tenants edited live can differ.
        Some(_) => {
            let mut names: Vec<String> = state.unpersisted.iter().map(|tenant| units::tenant_unit(EXTENSIONS_FILE, tenant)).collect();
            names.push(EXTENSIONS_FILE.to_string());
            (state.units.remove(EXTENSIONS_FILE).unwrap_or_default(), names)
        }
        None => (units::Units::new(), live.keys().cloned().collect()),
    };
    let target: units::Units = names.into_iter().filter_map(|name| live.get(&name).map(|sections| (name, sections.clone()))).collect();
    let mut failure = None;
    for (name, wanted) in &target {
        match persist_unit(client, name, wanted, seen.get(name).cloned()).await {
            Ok(back) => {
                seen.insert(name.clone(), back);
            }
            Err(error) => {
                // Read again next time; the other units stay known, and
                // only the tenants still unpersisted are tried again.
                seen.remove(name);
                failure = Some(error);
                break;
            }
        }
    }
    if whole || failure.is_none() {
        state.files_seen.insert(EXTENSIONS_FILE, Vec::new());
    }
    state.units.insert(EXTENSIONS_FILE, seen);
    if let Some(error) = failure {
        return Err(error);
    }
    state.unpersisted.clear();
    for persisted in state.live_edits.values_mut() {
        persisted.get_or_insert(now);
    }
    Ok(())
}

/// Makes the extensions file `name` say `wanted` (in place when one message
/// does it, else written whole) unless `file` (what it holds, or read now)
/// already does; returns it as read back.
pub(super) async fn persist_unit(client: &AmiClient, name: &str, wanted: &[AmiSection], file: Option<Vec<AmiSection>>) -> anyhow::Result<Vec<AmiSection>> {
    let file = match file {
        Some(file) => file,
        None => read_file(client, name).await?,
    };
    if same_config(&file, wanted) {
        return Ok(file);
    }
    match IncrementalPlan::new(&file, wanted).filter(|plan| plan.file_message(name).is_some()) {
        Some(plan) => persist(client, name, &plan).await?,
        None => config_writer::write_config(client, name, wanted, None).await?,
    }
    let back = read_file(client, name).await?;
    anyhow::ensure!(same_config(&back, wanted), "{name} reads back differently from what was written");
    Ok(back)
}
