//! Trunk health, live: the task that drives `shared::health::Monitor` from
//! what Asterisk reports, and the table that keeps each trunk's transitions
//! across restarts.
//!
//! Where each fact comes from (Asterisk 22):
//! - Reachability: `ContactStatus` events (`pjsip_options.c` sends one only
//!   when a contact's status *changes*, with `RoundtripUsec`), so an OPTIONS
//!   that fails again or is answered again sends nothing. Patchbay therefore
//!   asks for its own OPTIONS (`PJSIPQualify`) every `probe_every_ms` and
//!   reads each contact's status and round trip (`PJSIPShowEndpoint`) once
//!   Asterisk's `qualify_timeout` has passed; an event in between is taken
//!   as that OPTIONS' outcome. Asterisk keeps no answer for an AOR without
//!   `qualify_frequency`: such a trunk stays `unknown`.
//! - Registration: `Registry` events (`res_pjsip_outbound_registration.c`)
//!   carry the status (`Registered`, `Rejected`, `Unregistered`…) and no
//!   cause (it publishes `NULL`); the SIP code and reason of the registrar's
//!   last answer come from PJSIP's message history (`pjsip show history`
//!   through AMI `Command`, `res_pjsip_history`): the answer whose Call-ID
//!   and CSeq are those of a REGISTER sent to the registration's server
//!   for its client URI (`ami::endpoint_ops::SipHistory`, which also
//!   clears Asterisk's copy once read).
//!
//! The decisions (what counts as a miss, hysteresis, history bounds, when
//! to probe) are the pure core's; this only executes and stores.

use crate::ami::{AmiClient, AmiStatus, endpoint_ops};
use crate::live::{Live, LiveUpdate, TrunkHealthView};
use crate::store::{Store, StoreError};
use patchbay_shared::health::{Action, ContactReport, HealthPolicy, Input, Monitor, RegistrationReport, Transition};
use crate::store::{Connection, params};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Asterisk's default `qualify_timeout` (3 s) and a margin.
const WINDOW_MS: u64 = 3_600;
/// How often the watched trunks are read again from the store.
/// (A trunk's first event, or a new registration, looks at once.)
const RECONFIGURE_EVERY: Duration = Duration::from_secs(10);

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A SIP trunk to watch: its PJSIP endpoint name and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub endpoint: String,
    pub trunk_id: i64,
}

/// The trunks live health watches, by PJSIP endpoint name as Asterisk
/// knows it: every trunk with a SIP endpoint, and no other. An IAX or
/// custom trunk (the only kinds that can be disabled: their interface's
/// `enabled`) is never probed, enabled or not; a trunk whose endpoint is
/// missing neither. A watched trunk is still only sent OPTIONS when one of
/// its AORs has a `qualify_frequency`. One indexed join: loading and
/// parsing every tenant's objects here cost what the server holds, on every
/// new trunk.
pub fn watched_trunks(conn: &Connection) -> Result<BTreeMap<String, i64>, StoreError> {
    let rows = conn.query_all(
        "SELECT endpoint_sip.name, trunks.id FROM trunks JOIN endpoint_sip ON endpoint_sip.uuid = trunks.endpoint_sip_uuid WHERE endpoint_sip.name IS NOT NULL",
        &[],
        |row| Ok((row.get::<String>(0)?, row.get::<i64>(1)?)),
    )?;
    Ok(rows.into_iter().map(|(name, trunk)| (patchbay_shared::render::escape::section_name(&name), trunk)).collect())
}

/// The stored policy of a trunk, or the defaults.
pub fn policy(conn: &Connection, endpoint: &str) -> Result<HealthPolicy, StoreError> {
    let stored: Option<String> = conn.query_opt("SELECT policy FROM trunk_health_policy WHERE endpoint = ?1", params![endpoint], |r| r.get(0))?;
    Ok(stored.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
}

pub fn set_policy(conn: &Connection, endpoint: &str, policy: &HealthPolicy) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO trunk_health_policy (endpoint, policy) VALUES (?1, ?2) ON CONFLICT (endpoint) DO UPDATE SET policy = excluded.policy",
        params![endpoint, serde_json::to_string(policy)?],
    )?;
    Ok(())
}

/// The audit action of a change of thresholds (`PUT …/trunks/{id}/health`),
/// and of its rollback.
pub const AUDIT_POLICY: &str = "health_policy";
pub const AUDIT_POLICY_ROLLBACK: &str = "rollback_health_policy";

/// A trunk's thresholds as the audit records them (the API's names, and
/// the endpoint whose thresholds they are).
pub fn policy_audit(endpoint: &str, policy: &HealthPolicy) -> serde_json::Value {
    serde_json::json!({"endpoint": endpoint, "down_after_misses": policy.down_after_misses, "up_after_answers": policy.up_after_answers,
                       "probe_every_s": policy.probe_every_ms / 1000, "history_len": policy.history_len})
}

fn policy_of_audit(value: &serde_json::Value) -> Option<(String, HealthPolicy)> {
    let number = |field: &str| value.get(field).and_then(serde_json::Value::as_u64);
    Some((value.get("endpoint")?.as_str()?.to_owned(), HealthPolicy {
        down_after_misses: number("down_after_misses")? as u32,
        up_after_answers: number("up_after_answers")? as u32,
        probe_every_ms: number("probe_every_s")? * 1000,
        history_len: number("history_len")? as usize,
    }))
}

/// Rolls back one audited change of thresholds: `Ok(Err(why))` when the
/// thresholds changed since (a conflict), else the audit images of the
/// rollback (before, after).
#[allow(clippy::type_complexity)]
pub fn roll_back_policy(tx: &Connection, before: Option<&serde_json::Value>, after: Option<&serde_json::Value>) -> Result<Result<(serde_json::Value, serde_json::Value), String>, StoreError> {
    let (Some((endpoint, old)), Some((_, new))) = (before.and_then(policy_of_audit), after.and_then(policy_of_audit)) else {
        return Ok(Err("its thresholds are not recorded".to_owned()));
    };
    let now = policy(tx, &endpoint)?;
    if now != new {
        return Ok(Err(format!("the health thresholds of {endpoint} changed after this change set: roll back the later change sets first (and_later)")));
    }
    set_policy(tx, &endpoint, &old)?;
    Ok(Ok((policy_audit(&endpoint, &now), policy_audit(&endpoint, &old))))
}

/// The stored transitions of a trunk, oldest first.
pub fn history(conn: &Connection, endpoint: &str) -> Result<Vec<Transition>, StoreError> {
    let rows = conn.query_all("SELECT transition FROM trunk_health WHERE endpoint = ?1 ORDER BY id", params![endpoint], |r| r.get::<String>(0))?;
    Ok(rows.iter().filter_map(|row| serde_json::from_str(row).ok()).collect())
}

/// Appends a transition and keeps the last `keep` of the trunk.
pub fn record(conn: &Connection, endpoint: &str, transition: &Transition, keep: usize) -> Result<(), StoreError> {
    let at_ms = match transition {
        Transition::Reachability { at_ms, .. } | Transition::Registration { at_ms, .. } => *at_ms,
    };
    conn.execute("INSERT INTO trunk_health (endpoint, at_ms, transition) VALUES (?1, ?2, ?3)", params![endpoint, at_ms as i64, serde_json::to_string(transition)?])?;
    conn.execute(
        "DELETE FROM trunk_health WHERE endpoint = ?1 AND id NOT IN (SELECT id FROM trunk_health WHERE endpoint = ?1 ORDER BY id DESC LIMIT ?2)",
        params![endpoint, keep as i64],
    )?;
    Ok(())
}

struct Task {
    monitor: Monitor,
    ids: BTreeMap<String, i64>,
    live: Live,
    client: AmiClient,
    store: Store,
    restored: bool,
}

impl Task {
    fn publish(&self, endpoint: &str) {
        let (Some(health), Some(policy), Some(trunk_id)) = (self.monitor.health(endpoint), self.monitor.policy(endpoint), self.ids.get(endpoint)) else { return };
        self.live.set_health(TrunkHealthView { name: endpoint.to_owned(), trunk_id: *trunk_id, policy: *policy, health: health.clone() });
    }

    fn reconfigure(&mut self) {
        let now = now_ms();
        let loaded = self.store.read(|conn| -> Result<_, StoreError> {
            let ids = watched_trunks(conn)?;
            let mut with_policy = Vec::new();
            let mut histories = Vec::new();
            for name in ids.keys() {
                with_policy.push((name.clone(), policy(conn, name)?));
                if !self.restored || self.monitor.health(name).is_none() {
                    histories.push((name.clone(), history(conn, name)?));
                }
            }
            Ok((ids, with_policy, histories))
        });
        let (ids, with_policy, histories) = match loaded {
            Ok(loaded) => loaded,
            Err(error) => return tracing::warn!(%error, "trunk health: reading the trunks failed"),
        };
        self.monitor.configure(now, with_policy);
        for (name, history) in histories {
            self.monitor.restore(&name, history);
        }
        self.restored = true;
        let gone: Vec<String> = self.ids.keys().filter(|k| !ids.contains_key(*k)).cloned().collect();
        self.ids = ids;
        self.live.forget_health(&gone);
        for name in self.ids.keys() {
            self.publish(name);
        }
    }

    fn take(&mut self, input: Input) {
        let trunk = match &input {
            Input::Contact { trunk, .. } | Input::Read { trunk, .. } | Input::Registration { trunk, .. } => trunk.clone(),
        };
        if let Some((endpoint, transition)) = self.monitor.handle(now_ms(), input) {
            let keep = self.monitor.policy(&endpoint).map_or(50, |p| p.history_len);
            if let Err(error) = self.store.write(|tx| record(tx, &endpoint, &transition, keep)) {
                tracing::warn!(%error, "trunk health: storing a transition failed");
            }
        }
        self.publish(&trunk);
    }

    async fn act(&mut self, action: Action) {
        match action {
            Action::Qualify(trunks) => {
                for trunk in trunks {
                    // No OPTIONS to a trunk nobody asked to qualify: Asterisk
                    // would keep no answer anyway (its read says `Unknown`).
                    if !endpoint_ops::is_qualified(&self.client, &trunk).await.unwrap_or(false) {
                        continue;
                    }
                    if let Err(error) = endpoint_ops::qualify(&self.client, &trunk).await {
                        tracing::debug!(%error, trunk, "trunk health: PJSIPQualify failed");
                    }
                }
            }
            Action::Read(trunks) => {
                for trunk in trunks {
                    let contacts = endpoint_ops::contact_statuses(&self.client, &trunk).await.unwrap_or_default();
                    let report = ContactReport::of(contacts.iter().map(|c| (c.status.as_str(), c.roundtrip_usec)));
                    self.take(Input::Read { trunk, report });
                }
            }
        }
    }

    /// The registrations (`only` the one named so, or each whose trunk has
    /// no code yet or another status) with the code of the registrar's last
    /// answer to a REGISTER, from the message history. A registration is
    /// named apart from its endpoint: the list says whose it is.
    async fn registrations(&mut self, only: Option<&str>) {
        let Ok(all) = endpoint_ops::outbound_registrations(&self.client).await else { return };
        if all.iter().any(|r| !self.ids.contains_key(&r.endpoint)) {
            // A trunk created since the last look.
            self.reconfigure();
        }
        let mut ledger = None;
        for registration in all {
            if only.is_some_and(|name| name != registration.name) || !self.ids.contains_key(&registration.endpoint) {
                continue;
            }
            let known = self.monitor.health(&registration.endpoint).and_then(|h| h.registration.as_ref());
            if only.is_none() && known.is_some_and(|r| r.status == registration.status && r.code.is_some()) {
                continue;
            }
            if ledger.is_none() {
                ledger = Some(self.live.sip_history().read(&self.client).await.unwrap_or_default());
            }
            let answers = ledger.as_ref().map(|l| l.answers(&registration.server_uri, &registration.client_uri)).unwrap_or_default();
            let last = answers.last();
            let report = RegistrationReport { status: registration.status.clone(), code: last.map(|a| a.code), reason: last.map(|a| a.reason.clone()) };
            self.take(Input::Registration { trunk: registration.endpoint.clone(), report });
        }
    }

    async fn on_live(&mut self, update: LiveUpdate) {
        match update {
            LiveUpdate::Contact { contact } => {
                let Some(trunk) = contact.endpoint.clone().or(contact.aor.clone()) else { return };
                if !self.ids.contains_key(&trunk) {
                    self.reconfigure();
                }
                let report = ContactReport::of([(contact.status.as_str(), contact.rtt_us.unwrap_or(0))]);
                self.take(Input::Contact { trunk, report });
            }
            LiveUpdate::Registration { registration } => self.registrations(Some(&registration.name)).await,
            LiveUpdate::Snapshot { state } if !state.registrations.is_empty() => self.registrations(None).await,
            LiveUpdate::Snapshot { .. } => {}
            LiveUpdate::Endpoint { .. } | LiveUpdate::Connection { .. } | LiveUpdate::Health { .. } => {}
        }
    }
}

/// The task: watch every SIP trunk while Asterisk is connected.
pub async fn run(live: Live, client: AmiClient, store: Store) {
    let mut updates = live.subscribe();
    let settings = live.health_settings();
    let mut task = Task { monitor: Monitor::new(WINDOW_MS), ids: BTreeMap::new(), live, client, store, restored: false };
    task.reconfigure();
    let mut reconfigure = tokio::time::interval(RECONFIGURE_EVERY);
    loop {
        let connected = task.client.status() == AmiStatus::Connected;
        if connected {
            while let Some(action) = task.monitor.poll_action(now_ms()) {
                task.act(action).await;
            }
        }
        // While Asterisk is away nothing is due: look again each second.
        let next = task.monitor.poll_timeout().filter(|_| connected);
        let sleep_ms = next.map_or(1_000, |at| at.saturating_sub(now_ms()).clamp(10, 1_000));
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
            _ = reconfigure.tick() => {
                task.reconfigure();
                // Keeps Asterisk's message history small once it is on.
                if connected && let Err(error) = task.live.sip_history().tidy(&task.client).await {
                    tracing::debug!(%error, "trunk health: reading PJSIP's history failed");
                }
            }
            _ = settings.notified() => task.reconfigure(),
            update = updates.recv() => match update {
                Ok(update) => task.on_live(update).await,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchbay_shared::health::Reachability;

    fn change(at_ms: u64) -> Transition {
        Transition::Reachability { at_ms, from: Reachability::Up, to: Reachability::Down, rtt_ms: None }
    }

    fn at(t: &Transition) -> u64 {
        match t {
            Transition::Reachability { at_ms, .. } | Transition::Registration { at_ms, .. } => *at_ms,
        }
    }

    #[test]
    fn the_stored_history_keeps_the_last_transitions_of_each_trunk_and_its_policy() {
        let store = crate::store::testing::TestStore::new();
        store
            .write(|tx| {
                for i in 0..5 {
                    record(tx, "a", &change(i), 3)?;
                }
                record(tx, "b", &change(9), 3)
            })
            .unwrap();
        let a = store.read(|c| history(c, "a")).unwrap();
        assert_eq!(a.iter().map(at).collect::<Vec<_>>(), [2, 3, 4], "the oldest go first");
        assert_eq!(store.read(|c| history(c, "b")).unwrap().len(), 1, "per trunk");
        assert_eq!(store.read(|c| policy(c, "a")).unwrap(), HealthPolicy::default());
        let eager = HealthPolicy { down_after_misses: 1, ..HealthPolicy::default() };
        store.write(|tx| set_policy(tx, "a", &eager)).unwrap();
        store.write(|tx| set_policy(tx, "a", &eager)).unwrap();
        assert_eq!(store.read(|c| policy(c, "a")).unwrap(), eager);
    }
}
