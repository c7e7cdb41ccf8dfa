//! One pass (`apply`): render what the database wants for the tenants that
//! changed, compare it with what Asterisk's files and objects hold (read
//! back), write and reload only what differs, and verify the result object
//! by object (`verdict`). Driven by `super::execute` when the core says so.

use super::*;
use super::push::{MEMORY_WIZARD, delete_orphans, push_memory, switch_ari};

/// `file` as Asterisk last read it back in this session, or read now.
pub(super) async fn seen(client: &AmiClient, state: &mut SyncState, file: &'static str) -> Result<Vec<AmiSection>, Failure> {
    if let Some(sections) = state.files_seen.get(file) {
        return Ok(sections.clone());
    }
    let sections = read_file(client, file).await.map_err(Failure::transient)?;
    state.files_seen.insert(file, sections.clone());
    Ok(sections)
}

/// Reads the units of the logical file `file` (PJSIP or extensions) into
/// the session's model, unless it holds them already: the main file, the
/// unit of every tenant in `tenants` (a missing one reads as empty), and
/// every unit this session knows.
pub(super) async fn seen_units(client: &AmiClient, state: &mut SyncState, file: &'static str, tenants: &BTreeSet<String>) -> Result<(), Failure> {
    if state.files_seen.contains_key(file) {
        return Ok(());
    }
    let mut names: BTreeSet<String> = tenants.iter().map(|tenant| units::tenant_unit(file, tenant)).collect();
    names.extend(state.units.get(file).into_iter().flat_map(|known| known.keys().cloned()));
    names.insert(file.to_string());
    // Asked many at a time (answers are matched by ActionID), not one
    // round trip after the other: a session's first read of 1,000 tenant
    // files costs Asterisk's time, not 1,000 round trips.
    let mut read = units::Units::new();
    let names: Vec<String> = names.into_iter().collect();
    for batch in names.chunks(32) {
        let mut reads = tokio::task::JoinSet::new();
        for name in batch {
            let (client, name) = (client.clone(), name.clone());
            reads.spawn(async move { read_file(&client, &name).await.map(|sections| (name, sections)) });
        }
        while let Some(done) = reads.join_next().await {
            let (name, sections) = done.map_err(Failure::transient)?.map_err(Failure::transient)?;
            read.insert(name, sections);
        }
    }
    state.units.insert(file, read);
    // For the units, `files_seen` only says the model is whole.
    state.files_seen.insert(file, Vec::new());
    Ok(())
}

/// Units the periodic reread reads again per logical file and pass.
pub(super) const REREAD_SLICE: usize = 64;

/// Reads again the next slice of each per-tenant file's units (and its
/// main file). A unit that reads differently from the session's model
/// is taken as read, and its tenant's units are compared at this pass (or,
/// for a dialplan edited live, its file written again: returns whether
/// one was).
pub(super) async fn reread_units(client: &AmiClient, state: &mut SyncState) -> Result<bool, Failure> {
    let mut edited_dialplan = false;
    for file in units::PER_TENANT {
        if !state.files_seen.contains_key(file) {
            continue; // read whole at this pass anyway
        }
        let Some(known) = state.units.get(file) else { continue };
        let (mut names, cursor) =
            units::reread_slice(known.keys().filter(|name| name.as_str() != file), state.reread_cursor.get(file).map(String::as_str), REREAD_SLICE);
        if let Some(cursor) = cursor {
            state.reread_cursor.insert(file, cursor);
        }
        names.push(file.to_string());
        let mut reads = tokio::task::JoinSet::new();
        for name in names {
            let client = client.clone();
            reads.spawn(async move { read_file(&client, &name).await.map(|sections| (name, sections)) });
        }
        while let Some(done) = reads.join_next().await {
            let (name, sections) = done.map_err(Failure::transient)?.map_err(Failure::transient)?;
            let known = state.units.entry(file).or_default();
            if known.get(&name) == Some(&sections) {
                continue;
            }
            known.insert(name.clone(), sections);
            match units::tenant_of(file, &name) {
                // The live dialplan is what runs: its file is written again.
                Some(tenant) if file == EXTENSIONS_FILE && state.live_dialplan.is_some() => {
                    state.unpersisted.insert(tenant);
                    edited_dialplan = true;
                }
                Some(tenant) => {
                    state.unsettled.insert(tenant);
                }
                // The main file is compared at every pass.
                None => {}
            }
        }
    }
    Ok(edited_dialplan)
}

/// Reloads `file`'s module with the `Reload` action (its answer says
/// whether Asterisk ran it: see `config_writer::reload`); a failure leaves
/// the reload owed to the next pass.
pub(super) async fn reload_owed(client: &AmiClient, state: &mut SyncState, file: OwnedFile, reloaded: &mut Vec<OwnedFile>) -> Result<(), Failure> {
    config_writer::reload(client, file.module).await.map_err(|error| Failure::transient(format!("reloading {}: {error}", file.module)))?;
    state.reload_owed.remove(file.module);
    reloaded.push(file);
    Ok(())
}

/// Writes the units of `file` that differ from what Asterisk has (each a
/// small file, a few `UpdateConfig`s for a tenant's sections), without a
/// reload. Returns the names written.
pub(super) async fn write_units(client: &AmiClient, state: &mut SyncState, file: &'static str, desired: &units::Units) -> Result<Vec<String>, AmiError> {
    let mut written = Vec::new();
    for (name, sections) in desired {
        if state.units.get(file).and_then(|seen| seen.get(name)).is_some_and(|now| same_config(now, sections)) {
            continue;
        }
        // Until read back, the next pass reads every unit again: a failed
        // write leaves a file only a fresh read describes.
        state.files_seen.remove(file);
        config_writer::write_config(client, name, sections, None).await?;
        written.push(name.clone());
    }
    Ok(written)
}

pub(super) struct Applied {
    /// The database revision rendered.
    pub(super) revision: Revision,
    pub(super) dialplan: DialplanWrite,
    /// Endpoint names Asterisk lists, with their owner (`None`: as the
    /// last pass reported, res_pjsip was not listed again).
    pub(super) endpoints: Option<Vec<(String, Option<verdict::Owner>)>>,
    /// `None` when Asterisk already had everything.
    pub(super) mode: Option<&'static str>,
    pub(super) written: Vec<String>,
    /// The configuration Asterisk now has (its texts are made when asked);
    /// `None`: as after the last pass (nothing written).
    pub(super) rendered: Option<Arc<renders::Renders>>,
    pub(super) failed: Vec<verdict::ObjectFailure>,
    pub(super) differences: Vec<verdict::Difference>,
    pub(super) from_base_config: Vec<String>,
}

pub(super) struct Failure {
    pub(super) message: String,
    /// Asterisk refused to write the configuration (as opposed to being
    /// unreachable): not retried until the database changes.
    pub(super) refused: bool,
}

impl Failure {
    pub(super) fn transient(error: impl std::fmt::Display) -> Failure {
        Failure { message: error.to_string(), refused: false }
    }
}

/// One pass: compare, write what differs, then check what Asterisk holds.
/// An object Asterisk refuses does not stop the others: res_pjsip and
/// pbx_config load every valid object and skip the refused ones, so the
/// written files stay and the refused objects are reported, each with its
/// owner (one tenant's bad value never blocks another tenant's change).
/// `distrust`: the live dialplan may have been reloaded from the file since
/// Patchbay last edited it (see the module documentation).
///
/// A pass costs what changed: only the tenants whose rows changed since the
/// last pass are rendered (`renders`), and only their units are compared,
/// written and checked, unless Patchbay has no model of Asterisk's files
/// (a new session, the periodic reread, a reload), when every unit is.
/// What earlier passes found about the other units is kept (`verdicts`).
pub(super) async fn apply(client: &AmiClient, store: &Store, state: &mut SyncState, distrust: bool, reread: bool, now: Instant) -> Result<Applied, Failure> {
    // What changed since the last pass, in one read transaction with the
    // revision of exactly the rows read; rendered for its tenants alone.
    let node = state.node;
    let cache = &mut state.snapshot_cache;
    let (revision, mut changes, on_node, ari) = store
        .read(|conn| {
            let revision = crate::store::revision(conn)?;
            let changes = cache.load(conn)?;
            let (on_node, ari) = match node {
                Some(node) => (crate::store::nodes::tenants_on(conn, node)?, crate::store::nodes::get(conn, node)?.and_then(|node| node.ari)),
                None => (None, None),
            };
            Ok::<_, crate::store::StoreError>((revision, changes, on_node, ari))
        })
        .map_err(Failure::transient)?;
    if state.ari.as_ref().map(|(settings, _)| settings) != ari.as_ref() {
        switch_ari(state, ari).await?;
    }
    let rerendered = match &on_node {
        // A node holding only some tenants renders them and what they
        // share with it, whole (a sharing tenant off the node gives only
        // what it shares).
        Some(on) => {
            state.node_rendered = true;
            state.renders.replace_from(&crate::snapshot::restrict(&state.snapshot_cache.snapshot(), on))
        }
        None => {
            changes.shared |= std::mem::take(&mut state.node_rendered);
            state.renders.update(&state.snapshot_cache, &changes)
        }
    };
    state.unsettled.extend(rerendered);
    let rendered_at = Instant::now();

    state.live_edits.retain(|_, persisted| persisted.is_none_or(|at| now.duration_since(at) < RELOAD_GRACE));
    let mut edited_dialplan = false;
    if distrust {
        state.live_dialplan = None;
        state.files_seen.clear();
        state.pjsip_listed = None;
        state.units.clear();
        state.dialplan_checked = false;
    } else if reread {
        // The periodic reread (someone may have edited a file): the files
        // without units again, and a slice of the units in turn, so that it
        // costs a bounded amount whatever the server holds.
        state.files_seen.remove(IAX_FILE);
        edited_dialplan = reread_units(client, state).await?;
    }
    if distrust || !state.sentinel {
        // Before reading the file: a reload after this removes it again.
        crate::ami::dialplan::add_sentinel(client, SENTINEL_CONTEXT).await.map_err(Failure::transient)?;
        state.sentinel = true;
    }
    // Extensions to re-apply live whatever the file says.
    let forced: Vec<(String, String)> = if distrust { state.live_edits.keys().cloned().collect() } else { Vec::new() };

    // Which units this pass compares: every unit when Patchbay has no model
    // of Asterisk's files, else those of the tenants rendered again since
    // the last complete pass.
    let full = !state.files_seen.contains_key(PJSIP_FILE)
        || (!state.files_seen.contains_key(EXTENSIONS_FILE) && state.live_dialplan.is_none())
        || !state.files_seen.contains_key(BASE_PJSIP_FILE)
        || state.base_pjsip.is_none();
    let tenants: BTreeSet<String> = if full {
        state.renders.tenants().cloned().collect()
    } else {
        state.unsettled.clone()
    };
    let mut current = Files::new();
    let mut desired = Files::new();
    let mut desired_units: BTreeMap<&'static str, units::Units> = BTreeMap::new();
    let mut scope: BTreeSet<String> = BTreeSet::from([IAX_FILE.to_string()]);
    for file in units::PER_TENANT {
        let live = file == EXTENSIONS_FILE && state.live_dialplan.is_some();
        if full && !live {
            seen_units(client, state, file, &tenants).await?;
        }
        // Unit name → its tenant (`None`: the main file, or a tenant gone).
        let mut names: BTreeMap<String, Option<&String>> = tenants.iter().map(|tenant| (units::tenant_unit(file, tenant), Some(tenant))).collect();
        names.insert(file.to_string(), None);
        let known = if live { state.live_dialplan.as_ref() } else { state.units.get(file) };
        if full {
            for name in known.into_iter().flat_map(|known| known.keys()) {
                names.entry(name.clone()).or_insert(None);
            }
        }
        let now_units: units::Units =
            names.keys().filter_map(|name| known.and_then(|known| known.get(name)).map(|sections| (name.clone(), sections.clone()))).collect();
        let want_units: units::Units = names
            .iter()
            .map(|(name, tenant)| {
                let sections = match tenant {
                    _ if name == file => state.renders.main_unit(file),
                    // The trunks' objects of a node with ARI access live in
                    // its memory wizard, never in the file too.
                    Some(tenant) if file == PJSIP_FILE && state.ari.is_some() => state.renders.pjsip_unit_and_trunk_objects(tenant).0,
                    Some(tenant) => state.renders.tenant_unit(file, tenant),
                    None => Vec::new(),
                };
                (name.clone(), sections)
            })
            .collect();
        scope.extend(names.into_keys());
        current.insert(file, units::join(file, &now_units));
        desired_units.insert(file, want_units);
    }
    current.insert(IAX_FILE, seen(client, state, IAX_FILE).await?);
    desired.insert(IAX_FILE, state.renders.whole(IAX_FILE));

    // What the base pjsip.conf defines is not written again (transports
    // above all: see `verdict::without_base_duplicates`).
    // Judged when the base file is read (it includes Patchbay's files, as
    // they were then: every unit, since such a pass is full) and kept as
    // long as that read is trusted.
    let base = match &state.base_pjsip {
        Some(base) if state.files_seen.contains_key(BASE_PJSIP_FILE) => base.clone(),
        _ => {
            let whole = seen(client, state, BASE_PJSIP_FILE).await?;
            let base = verdict::base_sections(&whole, &current[PJSIP_FILE]);
            state.base_pjsip = Some(base.clone());
            base
        }
    };
    let mut from_base = Vec::new();
    for sections in desired_units.get_mut(PJSIP_FILE).into_iter().flat_map(|units| units.values_mut()) {
        let (own, duplicates) = verdict::without_base_duplicates(sections, &base);
        *sections = own;
        from_base.extend(duplicates);
    }
    for file in units::PER_TENANT {
        desired.insert(file, units::join(file, &desired_units[file]));
    }
    let owners = if full { state.renders.all_owners() } else { state.renders.owners(&tenants) };
    let mut failed: Vec<verdict::ObjectFailure> = Vec::new();
    let mut from_base_config = Vec::new();
    for section in &from_base {
        let owner = owners.get(PJSIP_FILE, &section.name).cloned();
        let kind = verdict::section_type(section).to_string();
        if owner.as_ref().is_some_and(verdict::Owner::is_shared) {
            from_base_config.push(format!("{} ({kind})", section.name));
        } else {
            failed.push(verdict::ObjectFailure {
                file: PJSIP_FILE.into(),
                reason: format!(
                    "{BASE_PJSIP_FILE} already defines [{}] (type = {kind}) outside Patchbay's file: Patchbay does not write a second one",
                    section.name
                ),
                section: section.name.clone(),
                section_type: kind,
                owner,
            });
        }
    }

    let read_at = Instant::now();
    // A unit that differs only as Asterisk altered it on the way last time
    // is not written again: that stays a reported difference.
    let mut planned = desired.clone();
    for file in units::PER_TENANT {
        let known = if file == EXTENSIONS_FILE && state.live_dialplan.is_some() { state.live_dialplan.as_ref() } else { state.units.get(file) };
        let mut wanted = desired_units[file].clone();
        for (name, sections) in wanted.iter_mut() {
            let held = known.and_then(|known| known.get(name));
            if let (Some((written, back)), Some(held)) = (state.unit_written_back.get(name), held)
                && written == sections
                && back == held
            {
                *sections = held.clone();
            }
        }
        planned.insert(file, units::join(file, &wanted));
    }
    let writes = plan::plan_writes(&current, &planned, &state.written_back, &forced, !full);
    let changed: Vec<OwnedFile> = FILES.into_iter().filter(|file| writes.iter().any(|(name, _)| *name == file.name)).collect();

    let mut mode = None;
    let mut dialplan = DialplanWrite::Untouched;
    let written: Vec<String> = changed.iter().map(|file| file.name.to_string()).collect();
    // Files written whole and reloaded: read back below.
    let mut reloaded: Vec<OwnedFile> = Vec::new();
    // The units written (the others are as Asterisk had them).
    let mut pjsip_written: Vec<String> = Vec::new();
    let mut dialplan_written: Vec<String> = Vec::new();
    // Dialplan extensions edited live by this pass.
    let mut live_edited: Vec<(String, String)> = Vec::new();
    if !changed.is_empty() {
        if let Some((refused, why)) = &state.rejected
            && files_equal(refused, &desired)
        {
            // Unchanged since Asterisk refused to write it.
            return Err(Failure { message: why.clone(), refused: true });
        }
        if changed.iter().any(|file| file.name == PJSIP_FILE) {
            // What Asterisk runs before the write: an object it refuses
            // afterwards is then told apart by the keys that changed.
            // Only for objects this process knows nothing of yet (after a
            // Patchbay restart): the file may hold a version Asterisk kept
            // out, which must not count as loaded.
            let unknown: Vec<AmiSection> = current[PJSIP_FILE]
                .iter()
                .filter(|section| !state.loaded_before.contains_key(&(section.name.clone(), verdict::section_type(section).to_string())))
                .cloned()
                .collect();
            // Listing everything costs what the server holds: only when
            // something is unknown (the first write of a session).
            if !unknown.is_empty() {
                let before = loaded_pjsip(client).await.map_err(Failure::transient)?;
                remember_loaded(state, &unknown, &before);
            }
        }
        mode = Some("full");
        // In `FILES` order: PJSIP objects before the dialplan that dials them.
        for file in &changed {
            if let Some((_, plan::Write::Live(plan))) = writes.iter().find(|(name, _)| *name == file.name) {
                match apply_live(client, plan).await {
                    Ok(()) => {
                        mode = Some("incremental");
                        live_edited = plan.touched();
                        continue;
                    }
                    // Asterisk refused a live edit: the whole file and a
                    // reload say the same, and are checked below.
                    Err(error) if error.downcast_ref::<AmiError>().is_some_and(|e| matches!(e, AmiError::ActionFailed { .. })) => {
                        tracing::warn!(%error, "a live dialplan edit was refused; writing the file instead");
                    }
                    Err(error) => return Err(Failure::transient(error)),
                }
            }
            if file.name == EXTENSIONS_FILE {
                // The units of the tenants whose live edits are not in
                // their file yet are written too: a reload of the dialplan
                // must not lose them.
                let unpersisted: Vec<String> = state.unpersisted.iter().cloned().collect();
                for tenant in unpersisted {
                    let name = units::tenant_unit(EXTENSIONS_FILE, &tenant);
                    scope.insert(name.clone());
                    let sections = state.renders.tenant_unit(EXTENSIONS_FILE, &tenant);
                    desired_units.entry(EXTENSIONS_FILE).or_default().entry(name).or_insert(sections);
                }
            }
            let write = if units::PER_TENANT.contains(&file.name) {
                write_units(client, state, file.name, &desired_units[file.name]).await.map(|names| {
                    if file.name == PJSIP_FILE { pjsip_written = names } else { dialplan_written = names }
                })
            } else {
                config_writer::write_config(client, file.name, &desired[file.name], None).await
            };
            match write {
                Ok(()) => {
                    // Owed until Asterisk says it reloaded: the next pass
                    // finds the file as desired and would write nothing.
                    state.reload_owed.insert(file.module);
                    reload_owed(client, state, *file, &mut reloaded).await?;
                }
                Err(error @ AmiError::ActionFailed { .. }) | Err(error @ AmiError::Encode(_)) => {
                    let message = format!("Asterisk refused to write {}: {error}", file.name);
                    state.rejected = Some((desired.clone(), message.clone()));
                    return Err(Failure { message, refused: true });
                }
                Err(error) => return Err(Failure::transient(format!("writing {}: {error}", file.name))),
            }
        }
        state.rejected = None;
    }
    // A reload a failed pass wrote for but could not get.
    for file in FILES {
        if state.reload_owed.contains(file.module) && !reloaded.iter().any(|done| done.name == file.name) {
            reload_owed(client, state, file, &mut reloaded).await?;
            mode.get_or_insert("full");
        }
    }
    // The trunks' objects of a node with ARI access, after the files: an
    // object that moves from a file to memory must have left the file.
    let pushed = push_memory(state, &tenants, &owners, &mut failed).await?;
    if pushed.changed {
        mode.get_or_insert("memory");
    }
    if mode.is_some() {
        let dialplan_reloaded = reloaded.iter().any(|file| file.name == EXTENSIONS_FILE);
        if dialplan_reloaded || !live_edited.is_empty() {
            // The live dialplan now runs the compared units as desired, and
            // the others as before (their files, or their live edits).
            let mut live = match state.live_dialplan.take() {
                Some(live) => live,
                None => state.units.get(EXTENSIONS_FILE).cloned().unwrap_or_default(),
            };
            live.extend(desired_units[EXTENSIONS_FILE].iter().map(|(name, sections)| (name.clone(), sections.clone())));
            state.live_dialplan = Some(live);
        }
        if dialplan_reloaded {
            // File and live dialplan both equal the database.
            for persisted in state.live_edits.values_mut() {
                persisted.get_or_insert(now);
            }
            state.unpersisted.clear();
            dialplan = DialplanWrite::File;
        } else if !live_edited.is_empty() {
            for edit in live_edited {
                state.live_edits.insert(edit, None);
            }
            state.unpersisted.extend(tenants.iter().cloned());
            dialplan = DialplanWrite::Live;
        }
    }

    if dialplan == DialplanWrite::Untouched && edited_dialplan {
        // A file the reread found edited: written again as the live
        // dialplan runs, in the background.
        dialplan = DialplanWrite::Live;
    }

    let written_at = Instant::now();
    // What Asterisk holds now, file by file, compared key by key.
    let mut differences = Vec::new();
    for file in FILES {
        let back = if units::PER_TENANT.contains(&file.name) && reloaded.iter().any(|written| written.name == file.name) {
            // Only the units written are read back: the others are as read.
            let written = if file.name == PJSIP_FILE { &pjsip_written } else { &dialplan_written };
            for name in written {
                let back = read_file(client, name).await.map_err(Failure::transient)?;
                if let Some(sections) = desired_units[file.name].get(name) {
                    state.unit_written_back.insert(name.clone(), (sections.clone(), back.clone()));
                }
                state.units.entry(file.name).or_default().insert(name.clone(), back);
            }
            let known = state.units.entry(file.name).or_default();
            let back_units: units::Units =
                desired_units[file.name].keys().filter_map(|name| known.get(name).map(|sections| (name.clone(), sections.clone()))).collect();
            // The model holds every unit again.
            state.files_seen.insert(file.name, Vec::new());
            units::join(file.name, &back_units)
        } else if reloaded.iter().any(|written| written.name == file.name) {
            let back = read_file(client, file.name).await.map_err(Failure::transient)?;
            state.written_back.insert(file.name, (desired[file.name].clone(), back.clone()));
            state.files_seen.insert(file.name, back.clone());
            back
        } else if file.name == EXTENSIONS_FILE && state.live_dialplan.is_some() {
            desired[file.name].clone()
        } else {
            current[file.name].clone()
        };
        if back != desired[file.name] {
            differences.extend(verdict::differences(file.name, &desired[file.name], &back, &owners));
        }
    }

    // Every PJSIP object and transport loaded? After a reload, give it time.
    let mut expected = desired[PJSIP_FILE].clone();
    expected.extend(from_base.iter().filter(|section| verdict::section_type(section) == "transport").cloned());
    let pjsip_reloaded = reloaded.iter().any(|file| file.name == PJSIP_FILE);
    let listed_before = state.pjsip_listed.is_some();
    let deadline = tokio::time::Instant::now() + VERIFY_TIMEOUT;
    let loaded = loop {
        let loaded = match &state.pjsip_listed {
            Some(listed) if !pjsip_reloaded => listed.clone(),
            _ => loaded_pjsip(client).await.map_err(Failure::transient)?,
        };
        if !pjsip_reloaded || verdict::not_loaded(&expected, &loaded).is_empty() || tokio::time::Instant::now() >= deadline {
            state.pjsip_listed = Some(loaded.clone());
            break loaded;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // What was pushed is listed as Asterisk answered for it (its PUT
    // returns the object it now holds), without listing everything again.
    let mut loaded = loaded;
    for (kind, name, present) in &pushed.listed {
        let Some(names) = loaded.0.iter_mut().find(|(listed, _)| **listed == kind.as_str()).map(|(_, names)| names) else { continue };
        if *present {
            names.insert(name.clone());
        } else {
            names.remove(name);
        }
    }
    // A fresh push (a new session) compared every tenant: what the memory
    // wizard still holds besides is an earlier run's, for a trunk gone since.
    let orphans_deleted = if pushed.fresh && full {
        let mut in_files: BTreeSet<(String, String)> =
            desired[PJSIP_FILE].iter().map(|section| (section.name.clone(), verdict::section_type(section).to_string())).collect();
        in_files.extend(state.base_pjsip.iter().flatten().cloned());
        delete_orphans(state, &mut loaded, &in_files).await?
    } else {
        false
    };
    if pushed.changed || orphans_deleted {
        state.pjsip_listed = Some(loaded.clone());
    }
    for section in verdict::not_loaded(&expected, &loaded) {
        let identity = (section.name.clone(), verdict::section_type(section).to_string());
        let file = if from_base.contains(section) { BASE_PJSIP_FILE } else { PJSIP_FILE };
        failed.push(verdict::ObjectFailure {
            file: file.into(),
            section: section.name.clone(),
            section_type: identity.1.clone(),
            owner: owners.get(PJSIP_FILE, &section.name).cloned(),
            reason: verdict::refused_reason(file, section, state.loaded_before.get(&identity)),
        });
    }
    // A registration written is in sync once Asterisk runs it as written:
    // listed, with the registrar and address of record of the file (read
    // back from `OutboundRegistrationDetail`, never assumed from the write).
    if pjsip_reloaded {
        let written: Vec<&AmiSection> = pjsip_written
            .iter()
            .filter_map(|name| desired_units[PJSIP_FILE].get(name))
            .flatten()
            .filter(|section| verdict::section_type(section) == "registration")
            .filter(|section| loaded.0.get("registration").is_some_and(|names| names.contains(&section.name)))
            .collect();
        if !written.is_empty() {
            let held = pjsip::registration_details(client).await.map_err(Failure::transient)?;
            for section in written {
                let keys = verdict::registration_not_held(section, held.get(&section.name).unwrap_or(&BTreeMap::new()));
                if !keys.is_empty() {
                    failed.push(verdict::ObjectFailure {
                        file: PJSIP_FILE.into(),
                        section: section.name.clone(),
                        section_type: "registration".into(),
                        owner: owners.get(PJSIP_FILE, &section.name).cloned(),
                        reason: format!(
                            "{PJSIP_FILE}: Asterisk lists registration [{}] but does not run it as written ({} read back differently after the reload)",
                            section.name,
                            keys.join(", ")
                        ),
                    });
                }
            }
        }
    }
    // A changed object Asterisk refused on reload stays listed in its
    // previous version: its changed keys tell. Judged per unit, and kept
    // while the unit is unchanged.
    for (name, sections) in &desired_units[PJSIP_FILE] {
        if pjsip_reloaded {
            let mut kept = Vec::new();
            for section in sections {
                let identity = (section.name.clone(), verdict::section_type(section).to_string());
                let Some(before) = state.loaded_before.get(&identity) else { continue };
                if before == section || !loaded.0.get(identity.1.as_str()).is_some_and(|names| names.contains(&section.name)) {
                    continue;
                }
                let Some(held) = pjsip::detail(client, &identity.1, &section.name).await.map_err(Failure::transient)? else { continue };
                let keys = verdict::retained_keys(before, section, &held);
                if !keys.is_empty() {
                    kept.push(verdict::ObjectFailure {
                        file: PJSIP_FILE.into(),
                        section: section.name.clone(),
                        section_type: identity.1.clone(),
                        owner: owners.get(PJSIP_FILE, &section.name).cloned(),
                        reason: verdict::retained_reason(PJSIP_FILE, section, &keys),
                    });
                }
            }
            state.kept_previous.insert(name.clone(), (sections.clone(), kept));
        }
        match state.kept_previous.get(name) {
            Some((judged, kept)) if judged == sections => failed.extend(kept.iter().cloned()),
            Some(_) => {
                state.kept_previous.remove(name);
            }
            None => {}
        }
    }
    // Remembered as loaded: what Asterisk lists, except what it runs in a
    // previous version.
    if full {
        let identities: BTreeSet<(&str, &str)> = expected.iter().map(|s| (s.name.as_str(), verdict::section_type(s))).collect();
        state.loaded_before.retain(|(name, kind), _| identities.contains(&(name.as_str(), kind.as_str())));
    }
    let taken: Vec<AmiSection> = expected
        .iter()
        .filter(|section| !failed.iter().any(|f| f.section == section.name && f.section_type == verdict::section_type(section)))
        .cloned()
        .collect();
    remember_loaded(state, &taken, &loaded);

    // The dialplan is checked when its file was written (counting a large
    // dialplan on every pass would cost more than the pass).
    if reloaded.iter().any(|file| file.name == EXTENSIONS_FILE) {
        // Counting every context costs what the server holds (one `dialplan
        // show` each): once a session has checked them all, only the
        // contexts this write changed are counted; an unchanged one loads
        // as it did, and keeps its earlier verdict.
        let before: BTreeMap<&str, &AmiSection> = current[EXTENSIONS_FILE].iter().map(|section| (section.name.as_str(), section)).collect();
        for (name, sections) in &desired_units[EXTENSIONS_FILE] {
            let (to_check, unchanged): (Vec<AmiSection>, Vec<AmiSection>) = if state.dialplan_checked {
                sections.iter().cloned().partition(|section| before.get(section.name.as_str()) != Some(&section))
            } else {
                (sections.clone(), Vec::new())
            };
            let mut refused = missing_dialplan(client, &to_check, &owners).await.map_err(Failure::transient)?;
            if let Some((_, earlier)) = state.dialplan_failures.get(name) {
                refused.extend(earlier.iter().filter(|failure| unchanged.iter().any(|section| section.name == failure.section)).cloned());
            }
            state.dialplan_failures.insert(name.clone(), (sections.clone(), refused));
        }
        state.dialplan_checked = true;
    }
    for (name, sections) in &desired_units[EXTENSIONS_FILE] {
        match state.dialplan_failures.get(name) {
            Some((judged, refused)) if judged == sections => failed.extend(refused.iter().cloned()),
            // The dialplan changed since (edited live): judged at its next write.
            Some(_) => {
                state.dialplan_failures.remove(name);
            }
            None => {}
        }
    }

    // What this pass found about the units it compared replaces what
    // earlier passes found about them; the other units' findings stay.
    let unit_of = |file: &str, owner: Option<&verdict::Owner>| -> String {
        let logical = if file == BASE_PJSIP_FILE || file == MEMORY_WIZARD { PJSIP_FILE } else { file };
        match owner.and_then(|owner| owner.tenant_uuid.as_deref()) {
            Some(tenant) if units::PER_TENANT.contains(&logical) => units::tenant_unit(logical, tenant),
            _ => logical.to_string(),
        }
    };
    state.verdicts.retain(|unit, _| !scope.contains(unit));
    for failure in failed {
        state.verdicts.entry(unit_of(&failure.file, failure.owner.as_ref())).or_default().0.push(failure);
    }
    for difference in differences {
        state.verdicts.entry(unit_of(&difference.file, difference.owner.as_ref())).or_default().1.push(difference);
    }
    let failed: Vec<verdict::ObjectFailure> = state.verdicts.values().flat_map(|(failed, _)| failed.iter().cloned()).collect();
    let differences: Vec<verdict::Difference> = state.verdicts.values().flat_map(|(_, differences)| differences.iter().cloned()).collect();

    // The endpoints Asterisk lists, with their owners: again only when
    // res_pjsip was listed again.
    // A pass that is not full rendered only `tenants`: the other endpoints
    // keep the owner found before, and only this pass's tenants are looked
    // up (merging every tenant's owners cost most of a trunk's pass at
    // 1,000 tenants).
    let endpoints = (pjsip_reloaded || pushed.changed || !listed_before || full || !state.endpoints_reported).then(|| {
        let whole = full || state.endpoint_owners.is_empty();
        let all = if full { owners.clone() } else if whole { state.renders.all_owners() } else { owners.clone() };
        let endpoints: Vec<(String, Option<verdict::Owner>)> = loaded
            .0
            .get("endpoint")
            .into_iter()
            .flatten()
            .map(|name| {
                let owner = match all.get(PJSIP_FILE, name) {
                    Some(owner) => Some(owner).filter(|owner| owner.object == "endpoint_sip").cloned(),
                    None if whole => None,
                    None => state
                        .endpoint_owners
                        .get(name)
                        .cloned()
                        .flatten()
                        .filter(|owner| !owner.tenant_uuid.as_ref().is_some_and(|tenant| tenants.contains(tenant))),
                };
                (name.clone(), owner)
            })
            .collect();
        state.endpoint_owners = endpoints.iter().cloned().collect();
        endpoints
    });
    let rendered = (mode.is_some() || !state.texts_published).then(|| Arc::new(state.renders.clone()));
    let ms = |from: Instant, to: Instant| to.saturating_duration_since(from).as_millis() as u64;
    let done = Instant::now();
    if ms(now, done) >= 500 {
        // Where a slow pass spent its time: what a change waits for.
        tracing::info!(
            load_and_render_ms = ms(now, rendered_at),
            read_ms = ms(rendered_at, read_at),
            write_ms = ms(read_at, written_at),
            check_ms = ms(written_at, done),
            pjsip_units_written = pjsip_written.len(),
            full,
            tenants = tenants.len(),
            "slow sync pass"
        );
    }
    state.endpoints_reported |= endpoints.is_some();
    state.texts_published = true;
    state.unsettled.clear();
    Ok(Applied { revision, dialplan, endpoints, mode, written, rendered, failed, differences, from_base_config })
}

pub(super) fn files_equal(a: &Files, b: &Files) -> bool {
    a.len() == b.len() && a.iter().all(|(name, sections)| b.get(name).is_some_and(|other| same_config(sections, other)))
}

/// Keeps, of `sections`, those Asterisk lists as loaded.
pub(super) fn remember_loaded(state: &mut SyncState, sections: &[AmiSection], loaded: &verdict::Loaded) {
    for section in sections {
        let identity = (section.name.clone(), verdict::section_type(section).to_string());
        if loaded.0.get(identity.1.as_str()).is_some_and(|names| names.contains(&section.name)) {
            state.loaded_before.insert(identity, section.clone());
        }
    }
}

/// What Asterisk lists as loaded: every PJSIP object type and transport.
pub(super) async fn loaded_pjsip(client: &AmiClient) -> Result<verdict::Loaded, AmiError> {
    let mut loaded = verdict::Loaded::default();
    for kind in ["endpoint", "aor", "auth", "registration"] {
        loaded.0.insert(kind, pjsip::names(client, kind).await?);
    }
    loaded.0.insert("transport", pjsip::transports(client).await?);
    Ok(loaded)
}

/// Contexts of the file whose priorities Asterisk did not all load, each
/// failed for its owner. pbx_config loads the lines it can: the others
/// keep working. Waits up to [`VERIFY_TIMEOUT`] for the reload to finish.
pub(super) async fn missing_dialplan(client: &AmiClient, sections: &[AmiSection], owners: &verdict::Owners) -> Result<Vec<verdict::ObjectFailure>, AmiError> {
    let deadline = tokio::time::Instant::now() + VERIFY_TIMEOUT;
    loop {
        let mut missing = Vec::new();
        for section in sections {
            let wanted = section.lines.iter().filter(|(key, _)| key == "exten" || key == "same").count();
            let reason = match context_priorities(client, &section.name).await? {
                None => format!("Asterisk did not load dialplan context {}: `dialplan show {}` does not find it", section.name, section.name),
                // `>=`: the base extensions.conf may add to the same context.
                Some(loaded) if loaded < wanted => format!(
                    "dialplan context {}: Asterisk loaded {loaded} of its {wanted} priorities (`dialplan show`); Asterisk's log names the refused lines",
                    section.name
                ),
                Some(_) => continue,
            };
            missing.push(verdict::ObjectFailure {
                file: EXTENSIONS_FILE.into(),
                section: section.name.clone(),
                section_type: "context".into(),
                owner: owners.get(EXTENSIONS_FILE, &section.name).cloned(),
                reason,
            });
        }
        if missing.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(missing);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The PJSIP endpoints Asterisk has loaded (`PJSIPShowEndpoints`).
pub async fn endpoints(client: &AmiClient) -> Result<Vec<String>, AmiError> {
    Ok(pjsip::names(client, "endpoint").await?.into_iter().collect())
}
