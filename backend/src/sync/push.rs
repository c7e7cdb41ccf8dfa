//! The SIP trunks' objects pushed through ARI into Asterisk's sorcery memory
//! wizard (`memory` plans, this module runs the plan, several tenants at a
//! time), and the switch of a node's ARI access.

use super::*;
use crate::ari::AriError;

/// Where a refused trunk object was to live (`ObjectFailure::file`).
pub(super) const MEMORY_WIZARD: &str = "Asterisk's sorcery memory (ARI)";

/// What `push_memory` did.
#[derive(Default)]
pub(super) struct Pushed {
    /// Something was created or deleted.
    pub(super) changed: bool,
    /// (type, id, listed now) for each object created or deleted.
    pub(super) listed: Vec<(String, String, bool)>,
    /// Patchbay did not know what the memory wizard held (a new session):
    /// everything was pushed afresh, and what else it holds is an orphan.
    pub(super) fresh: bool,
}

/// The node's ARI access changed: the objects pushed with the old access
/// are deleted (best effort: they would shadow nothing, but a file object
/// of the same id would be refused), and the next pass compares every file
/// (the trunks' sections move between the files and memory) and pushes
/// every object again.
pub(super) async fn switch_ari(state: &mut SyncState, ari: Option<crate::store::nodes::Ari>) -> Result<(), Failure> {
    if let (Some((_, old)), Some(held)) = (&state.ari, &state.memory_held) {
        let ops = memory::plan(Some(held), &BTreeMap::new(), &held.tenants().cloned().collect(), &BTreeSet::new());
        for op in ops {
            if let memory::Op::Delete { key, .. } = op
                && let Err(error) = old.delete(&key.0, &key.1).await
            {
                tracing::warn!(%error, kind = key.0, id = key.1, "deleting a trunk object pushed with the previous ARI access");
            }
        }
    }
    state.ari = match ari {
        Some(settings) => Some((settings.clone(), crate::ari::AriClient::new(&settings).map_err(Failure::transient)?)),
        None => None,
    };
    state.memory_held = None;
    state.files_seen.clear();
    state.units.clear();
    state.pjsip_listed = None;
    Ok(())
}

/// Pushes the SIP trunks' objects of `tenants` (every tenant when Patchbay
/// does not know what Asterisk's memory wizard holds) through ARI
/// (`memory::plan`). An object Asterisk refuses (ARI answers 400 for a
/// field, 403 when a file holds that id) is reported with its owner and
/// the others go on; Asterisk unreachable fails the pass (retried).
pub(super) async fn push_memory(
    state: &mut SyncState,
    tenants: &BTreeSet<String>,
    owners: &verdict::Owners,
    failed: &mut Vec<verdict::ObjectFailure>,
) -> Result<Pushed, Failure> {
    let Some((_, ari)) = state.ari.clone() else { return Ok(Pushed::default()) };
    let fresh = state.memory_held.is_none();
    let existing: BTreeSet<String> = state.renders.tenants().cloned().collect();
    let scope: BTreeSet<String> = if fresh { existing.clone() } else { tenants.clone() };
    let mut desired = BTreeMap::new();
    for tenant in &scope {
        desired.extend(memory::objects(tenant, &state.renders.pjsip_unit_and_trunk_objects(tenant).1));
    }
    let ops = memory::plan(state.memory_held.as_ref(), &desired, &scope, &existing);
    // The lanes run at once; each stops at its first unreachable answer.
    let mut running = tokio::task::JoinSet::new();
    for (lane, ops) in memory::lanes(ops, ARI_LANES).into_iter().enumerate() {
        let ari = ari.clone();
        running.spawn(async move {
            let mut done = Vec::with_capacity(ops.len());
            for op in ops {
                let answer = match op {
                    memory::Op::Delete { key, known, .. } => {
                        let answer = ari.delete(&key.0, &key.1).await;
                        Answer::Deleted { key, known, answer }
                    }
                    memory::Op::Create { key, object } => {
                        let answer = ari.put(&key.0, &key.1, &object.fields).await;
                        Answer::Created { key, object, answer }
                    }
                };
                let stop = matches!(answer, Answer::Deleted { answer: Err(AriError::Unreachable(_)), .. } | Answer::Created { answer: Err(AriError::Unreachable(_)), .. });
                done.push(answer);
                if stop {
                    break;
                }
            }
            (lane, done)
        });
    }
    let mut lanes = Vec::new();
    while let Some(joined) = running.join_next().await {
        lanes.push(joined.map_err(|error| Failure::transient(format!("pushing trunk objects through ARI: {error}")))?);
    }
    lanes.sort_by_key(|(lane, _)| *lane);
    let mut held = state.memory_held.take().unwrap_or_default();
    let mut pushed = Pushed { fresh, ..Pushed::default() };
    let mut unreachable = None;
    for answer in lanes.into_iter().flat_map(|(_, done)| done) {
        match answer {
            Answer::Deleted { key, answer: Ok(was), .. } => {
                held.remove(&key);
                pushed.changed |= was;
                pushed.listed.push((key.0, key.1, false));
            }
            // Not ours to delete (a file holds it): the creation says why.
            Answer::Deleted { known: false, answer: Err(AriError::Refused { .. }), .. } => {}
            Answer::Deleted { key, answer: Err(AriError::Refused { status, message }), .. } => {
                tracing::warn!(status, message, kind = key.0, id = key.1, "Asterisk refused to delete a trunk object");
            }
            Answer::Created { key, object, answer: Ok(back) } => {
                pushed.changed = true;
                pushed.listed.push((key.0.clone(), key.1.clone(), true));
                // A registration counts once Asterisk runs it as pushed:
                // its answer is the object it now holds (read back, and
                // one object, not a listing of every registration).
                let differ: Vec<&str> = ["server_uri", "client_uri"]
                    .into_iter()
                    .filter(|wanted| key.0 == "registration" && memory::field(&object.fields, wanted) != memory::field(&back, wanted))
                    .collect();
                if !differ.is_empty() {
                    failed.push(verdict::ObjectFailure {
                        file: MEMORY_WIZARD.into(),
                        owner: owners.get(PJSIP_FILE, &key.1).cloned(),
                        reason: format!(
                            "Asterisk holds registration [{}] but does not run it as pushed ({} read back differently)",
                            key.1,
                            differ.join(", ")
                        ),
                        section: key.1.clone(),
                        section_type: key.0.clone(),
                    });
                }
                held.insert(key, object);
            }
            Answer::Created { key, answer: Err(AriError::Refused { status, message }), .. } => failed.push(verdict::ObjectFailure {
                file: MEMORY_WIZARD.into(),
                owner: owners.get(PJSIP_FILE, &key.1).cloned(),
                reason: format!(
                    "Asterisk refused {} {} pushed through ARI ({status}: {message}){}",
                    key.0,
                    key.1,
                    if status == 403 { "; a file Patchbay does not own may define it" } else { "" }
                ),
                section: key.1,
                section_type: key.0,
            }),
            Answer::Deleted { answer: Err(error @ AriError::Unreachable(_)), .. } | Answer::Created { answer: Err(error @ AriError::Unreachable(_)), .. } => {
                unreachable = Some(error)
            }
        }
    }
    match unreachable {
        Some(error) => {
            // A fresh push cut short leaves objects of unknown state: the
            // retry starts afresh (deleting before creating, then orphans).
            state.memory_held = if fresh { None } else { Some(held) };
            Err(Failure::transient(format!("pushing trunk objects through ARI: {error}")))
        }
        None => {
            state.memory_held = Some(held);
            Ok(pushed)
        }
    }
}

/// After a fresh push (`Pushed::fresh`), deletes what Asterisk lists
/// (`loaded`) that no file defines (`in_files`: (id, type)) and Patchbay
/// did not push: `memory::orphans`. Keeps `loaded` level; returns whether
/// something was deleted.
pub(super) async fn delete_orphans(state: &SyncState, loaded: &mut verdict::Loaded, in_files: &BTreeSet<(String, String)>) -> Result<bool, Failure> {
    let (Some((_, ari)), Some(held)) = (&state.ari, &state.memory_held) else { return Ok(false) };
    let mut deleted = false;
    for key in memory::orphans(&loaded.0, in_files, held) {
        match ari.delete(&key.0, &key.1).await {
            Ok(true) => {
                tracing::info!(kind = key.0, id = key.1, "deleted a trunk object an earlier run pushed for a trunk gone since");
                if let Some(names) = loaded.0.get_mut(key.0.as_str()) {
                    names.remove(&key.1);
                }
                deleted = true;
            }
            // Gone already, or a file holds it after all (403).
            Ok(false) | Err(AriError::Refused { .. }) => {}
            Err(error) => return Err(Failure::transient(format!("deleting trunk objects through ARI: {error}"))),
        }
    }
    Ok(deleted)
}

/// ARI requests in flight at once while pushing (`memory::lanes`).
pub(super) const ARI_LANES: usize = 8;

/// An operation of the plan with what ARI answered.
pub(super) enum Answer {
    /// A delete: whether there was an object.
    Deleted { key: memory::Key, known: bool, answer: Result<bool, AriError> },
    /// A creation: the object as Asterisk now holds it.
    Created { key: memory::Key, object: memory::Object, answer: Result<Vec<crate::ari::Field>, AriError> },
}
