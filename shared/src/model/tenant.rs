use serde::{Deserialize, Serialize};

/// A tenant: every other object belongs to exactly one. The slug is part of
/// generated context names (`ctx-<slug>-<type>-<uuid>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Tenant uuid (the `Wazo-Tenant` header value).
    pub uuid: String,
    /// Display name.
    pub name: String,
    /// Short lowercase identifier used in generated context names.
    pub slug: String,
}
