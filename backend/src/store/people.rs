//! Tenants, API accounts and their tokens.

use super::StoreError;
use super::db::{Connection, Row, params};
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and changes every tenant, transports and global settings.
    MasterAdmin,
    /// Self-service: only its own tenant's objects.
    TenantAdmin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::MasterAdmin => "master_admin",
            Role::TenantAdmin => "tenant_admin",
        }
    }
    fn parse(text: &str) -> Role {
        if text == "master_admin" { Role::MasterAdmin } else { Role::TenantAdmin }
    }
}

#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    pub uuid: String,
    pub tenant_uuid: String,
    pub username: String,
    pub role: Role,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Account({} {:?} of {})", self.username, self.role, self.tenant_uuid)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Tenant {
    pub uuid: String,
    pub name: String,
    pub slug: String,
    pub parent_uuid: Option<String>,
}

pub fn insert_tenant(conn: &Connection, tenant: &Tenant) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO tenants (uuid, name, slug, parent_uuid) VALUES (?1, ?2, ?3, ?4)",
        params![tenant.uuid, tenant.name, tenant.slug, tenant.parent_uuid],
    )?;
    Ok(())
}

pub fn tenants(conn: &Connection) -> Result<Vec<Tenant>, StoreError> {
    conn.query_all("SELECT uuid, name, slug, parent_uuid FROM tenants ORDER BY rowid", &[], |row| {
        Ok(Tenant { uuid: row.get(0)?, name: row.get(1)?, slug: row.get(2)?, parent_uuid: row.get(3)? })
    })
}

/// Whether tenant `uuid` exists (one row read, whatever the number of tenants).
pub fn tenant_exists(conn: &Connection, uuid: &str) -> Result<bool, StoreError> {
    Ok(conn.query_opt("SELECT 1 FROM tenants WHERE uuid = ?1", params![uuid], |_| Ok(()))?.is_some())
}

/// The first tenant without a parent (one row read, whatever the number
/// of tenants: every tenant creation asks).
pub fn master_tenant(conn: &Connection) -> Result<Option<Tenant>, StoreError> {
    conn.query_opt("SELECT uuid, name, slug, parent_uuid FROM tenants WHERE parent_uuid IS NULL ORDER BY rowid LIMIT 1", &[], |row| {
        Ok(Tenant { uuid: row.get(0)?, name: row.get(1)?, slug: row.get(2)?, parent_uuid: row.get(3)? })
    })
}

/// Whether a tenant has slug `slug`.
pub fn slug_taken(conn: &Connection, slug: &str) -> Result<bool, StoreError> {
    Ok(conn.query_opt("SELECT 1 FROM tenants WHERE slug = ?1 LIMIT 1", params![slug], |_| Ok(()))?.is_some())
}

pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

pub fn insert_account(conn: &Connection, account: &Account, password: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO accounts (uuid, tenant_uuid, username, password_hash, role) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![account.uuid, account.tenant_uuid, account.username, hash_password(password), account.role.as_str()],
    )?;
    let credentials = patchbay_shared::kazoo::md5::md5_hex(format!("{}:{password}", account.username).as_bytes());
    conn.execute("INSERT INTO kazoo_credentials (account_uuid, md5) VALUES (?1, ?2)", params![account.uuid, credentials])?;
    Ok(())
}

/// Kazoo's `user_auth`: the account of the tenant named `tenant_name` whose
/// md5("user:password") is `credentials` (lowercase hex).
pub fn account_for_kazoo_credentials(conn: &Connection, tenant_name: &str, credentials: &str) -> Result<Option<Account>, StoreError> {
    conn.query_opt(
        "SELECT a.uuid, a.tenant_uuid, a.username, a.role FROM accounts a
         JOIN tenants t ON t.uuid = a.tenant_uuid
         JOIN kazoo_credentials k ON k.account_uuid = a.uuid
         WHERE t.name = ?1 AND k.md5 = ?2",
        params![tenant_name, credentials.to_ascii_lowercase()],
        account_from_row,
    )
}

/// An account from a row whose first columns are uuid, tenant_uuid, username, role.
fn account_from_row(row: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        uuid: row.get(0)?,
        tenant_uuid: row.get(1)?,
        username: row.get(2)?,
        role: Role::parse(&row.get::<String>(3)?),
    })
}

/// The account named `username` and its stored password hash. Read under the
/// database lock; the hash is checked with [`password_matches`] after it is
/// released, as argon2 is slow on purpose and would hold every other request
/// up.
pub fn login_candidate(conn: &Connection, username: &str) -> Result<Option<(Account, StoredHash)>, StoreError> {
    conn.query_opt(
        "SELECT uuid, tenant_uuid, username, role, password_hash FROM accounts WHERE username = ?1",
        params![username],
        |row| Ok((account_from_row(row)?, StoredHash(row.get(4)?))),
    )
}

/// An argon2 PHC string; its Debug shows nothing of it.
pub struct StoredHash(String);

impl std::fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredHash(..)")
    }
}

/// A hash no password matches, checked for unknown usernames so that they
/// cost as much as a wrong password and answer as late: the answer time does
/// not tell which usernames exist.
fn unknown_user_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&uuid::Uuid::new_v4().to_string()))
}

/// Whether `password` matches `stored` (`None`: an unknown username, checked
/// against a hash no password matches, at the same cost). Slow: call it off
/// the async workers and outside the database lock.
pub fn password_matches(stored: Option<&StoredHash>, password: &str) -> bool {
    let text = stored.map_or(unknown_user_hash(), |StoredHash(text)| text.as_str());
    let matches = PasswordHash::new(text).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok());
    matches && stored.is_some()
}

pub fn insert_token(conn: &Connection, token: &str, account_uuid: &str, expires_at: i64) -> Result<(), StoreError> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    conn.execute("DELETE FROM tokens WHERE expires_at < ?1", params![now])?;
    conn.execute(
        "INSERT INTO tokens (token, account_uuid, expires_at) VALUES (?1, ?2, ?3)",
        params![token, account_uuid, expires_at],
    )?;
    Ok(())
}

/// The account behind a token that has not expired at `now` (unix seconds).
pub fn account_for_token(conn: &Connection, token: &str, now: i64) -> Result<Option<Account>, StoreError> {
    Ok(token_info(conn, token, now)?.map(|(account, _)| account))
}

/// A live token: its account and expiry (unix seconds).
pub fn token_info(conn: &Connection, token: &str, now: i64) -> Result<Option<(Account, i64)>, StoreError> {
    // Every API request asks this (its token): a cached statement.
    conn.query_opt(
        "SELECT a.uuid, a.tenant_uuid, a.username, a.role, t.expires_at FROM tokens t JOIN accounts a ON a.uuid = t.account_uuid
         WHERE t.token = ?1 AND t.expires_at > ?2",
        params![token, now],
        |row| Ok((account_from_row(row)?, row.get(4)?)),
    )
}

/// Revokes a token; revoking an unknown one is not an error (as wazo-auth).
pub fn delete_token(conn: &Connection, token: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM tokens WHERE token = ?1", params![token])?;
    Ok(())
}
