//! Trunk queries: what a list of trunks shows besides the trunks
//! themselves, fetched for the whole list at once (two queries for any
//! number of trunks, not two per trunk).

use super::StoreError;
use super::objects::{ObjectRow, query_rows};
use super::db::{Connection, Dialect, Value as SqlValue};
use std::collections::HashMap;

/// An outcall that dials a trunk, as the trunk shows it.
#[derive(Debug, Clone)]
pub struct OutcallRef {
    pub id: i64,
    pub name: Option<String>,
}

/// What a trunk's answer shows of its relations.
#[derive(Debug, Default)]
pub struct Relations {
    /// The SIP endpoint's row, its body cut to what a trunk shows: `name`,
    /// `label`, the `username` of `auth_section_options` and the
    /// `client_uri` of `registration_section_options`.
    pub endpoint_sip: Option<ObjectRow>,
    /// By outcall id.
    pub outcalls: Vec<OutcallRef>,
}

fn ids_json(trunks: &[ObjectRow]) -> String {
    serde_json::Value::from(trunks.iter().map(|t| t.id).collect::<Vec<_>>()).to_string()
}

/// The SIP endpoint and the outcalls (of `visible` tenants; `None`: all)
/// of each of `trunks`, in the same order.
pub fn relations(conn: &Connection, trunks: &[ObjectRow], visible: Option<&[String]>) -> Result<Vec<Relations>, StoreError> {
    let ids = [SqlValue::Text(ids_json(trunks))];
    let mut by_trunk: HashMap<i64, Relations> = HashMap::with_capacity(trunks.len());
    // Only what the summary shows, picked out in SQL: endpoint documents
    // carry every option list, and parsing them whole per trunk was most
    // of a trunk list's cost.
    let (endpoints, outcalls) = match conn.dialect() {
        Dialect::Sqlite => (
            "SELECT t.id, e.id, e.uuid, e.tenant_uuid, json_object(\
               'name', json_extract(e.body, '$.name'), 'label', json_extract(e.body, '$.label'), \
               'auth_section_options', (SELECT json_group_array(json(value)) FROM json_each(e.body, '$.auth_section_options') \
                                        WHERE json_extract(value, '$[0]') = 'username'), \
               'registration_section_options', (SELECT json_group_array(json(value)) FROM json_each(e.body, '$.registration_section_options') \
                                                WHERE json_extract(value, '$[0]') = 'client_uri')) \
             FROM trunks t JOIN endpoint_sip e ON e.uuid = t.endpoint_sip_uuid \
             WHERE t.id IN (SELECT value FROM json_each(?1))",
            "SELECT DISTINCT ot.trunk_id, o.id, o.name, o.tenant_uuid FROM outcall_trunks ot JOIN outcalls o ON o.id = ot.outcall_id \
             WHERE ot.trunk_id IN (SELECT value FROM json_each(?1)) ORDER BY ot.trunk_id, o.id",
        ),
        Dialect::Postgres => (
            "SELECT t.id, e.id, e.uuid, e.tenant_uuid, jsonb_build_object(\
               'name', e.body::jsonb -> 'name', 'label', e.body::jsonb -> 'label', \
               'auth_section_options', (SELECT COALESCE(jsonb_agg(o.value ORDER BY o.idx), '[]') FROM pb_elements(e.body, 'auth_section_options') o \
                                        WHERE o.value ->> 0 = 'username'), \
               'registration_section_options', (SELECT COALESCE(jsonb_agg(o.value ORDER BY o.idx), '[]') FROM pb_elements(e.body, 'registration_section_options') o \
                                                WHERE o.value ->> 0 = 'client_uri'))::text \
             FROM trunks t JOIN endpoint_sip e ON e.uuid = t.endpoint_sip_uuid \
             WHERE t.id IN (SELECT value::bigint FROM jsonb_array_elements_text(CAST(?1 AS TEXT)::jsonb))",
            "SELECT DISTINCT ot.trunk_id, o.id, o.name, o.tenant_uuid FROM outcall_trunks ot JOIN outcalls o ON o.id = ot.outcall_id \
             WHERE ot.trunk_id IN (SELECT value::bigint FROM jsonb_array_elements_text(CAST(?1 AS TEXT)::jsonb)) ORDER BY ot.trunk_id, o.id",
        ),
    };
    let endpoints = conn.query_all(endpoints, &ids, |row| {
        let body: String = row.get(4)?;
        Ok((row.get::<i64>(0)?, ObjectRow { id: row.get(1)?, uuid: row.get(2)?, tenant_uuid: row.get(3)?, body: serde_json::from_str(&body)? }))
    })?;
    for (trunk, endpoint) in endpoints {
        by_trunk.entry(trunk).or_default().endpoint_sip = Some(endpoint);
    }
    let outcalls = conn.query_all(outcalls, &ids, |row| Ok((row.get::<i64>(0)?, row.get::<Option<String>>(3)?, OutcallRef { id: row.get(1)?, name: row.get(2)? })))?;
    for (trunk, tenant, outcall) in outcalls {
        let seen = match (visible, &tenant) {
            (Some(tenants), Some(tenant)) => tenants.contains(tenant),
            _ => true,
        };
        if seen {
            by_trunk.entry(trunk).or_default().outcalls.push(outcall);
        }
    }
    Ok(trunks.iter().map(|trunk| by_trunk.remove(&trunk.id).unwrap_or_default()).collect())
}

/// The trunk a SIP endpoint is attached to, if any (`trunks_endpoint_sip`).
pub fn of_sip_endpoint(conn: &Connection, uuid: &str) -> Result<Option<ObjectRow>, StoreError> {
    Ok(query_rows(
        conn,
        "SELECT id, uuid, tenant_uuid, body FROM trunks WHERE endpoint_sip_uuid = ?1 ORDER BY id LIMIT 1",
        &[SqlValue::Text(uuid.to_string())],
    )?
    .pop())
}

/// The uuid of the SIP endpoint a stored trunk document points at.
pub fn sip_uuid(trunk: &serde_json::Value) -> Option<&str> {
    trunk.get("endpoint_sip")?.get("uuid")?.as_str()
}
