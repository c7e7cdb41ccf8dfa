use super::ids::{ExtensionId, GroupId, UserId};
use super::incall::CallerIdMode;
use serde::{Deserialize, Serialize};

/// A group (`/groups`): users whose lines ring together when the group is
/// called, through its extension or an incall. Field names are Wazo's
/// (`GroupSchema`); the members are stored as `user_members` (Wazo shows
/// them under `members.users`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Integer id.
    pub id: GroupId,
    /// Uuid.
    #[serde(default)]
    pub uuid: String,
    /// Owning tenant.
    pub tenant_uuid: String,
    /// Generated, `grp-<tenant slug>-<uuid>`.
    #[serde(default)]
    pub name: String,
    /// What people call it (`^[-_.a-zA-Z0-9 ]+$`, at most 128).
    pub label: String,
    /// Seconds the members ring; `None` or 0 = no limit.
    #[serde(default)]
    pub timeout: Option<i64>,
    /// How members are rung; Patchbay rings them all (`all`).
    #[serde(default)]
    pub ring_strategy: RingStrategy,
    /// How `caller_id_name` changes the caller's name.
    #[serde(default)]
    pub caller_id_mode: Option<CallerIdMode>,
    /// Name used by `caller_id_mode`.
    #[serde(default)]
    pub caller_id_name: Option<String>,
    /// Seconds each member rings (strategies other than `all`).
    #[serde(default)]
    pub user_timeout: Option<i64>,
    /// Seconds between two rounds.
    #[serde(default)]
    pub retry_delay: Option<i64>,
    /// Music on hold class.
    #[serde(default)]
    pub music_on_hold: Option<String>,
    /// Subroutine run before ringing.
    #[serde(default)]
    pub preprocess_subroutine: Option<String>,
    /// Ring members already on a call.
    #[serde(default = "super::default_true")]
    pub ring_in_use: bool,
    /// Show "answered elsewhere" on the phones that did not answer.
    #[serde(default)]
    pub mark_answered_elsewhere: bool,
    /// Let members toggle recording.
    #[serde(default)]
    pub dtmf_record_toggle: bool,
    /// `false`: the group is not rung (its extension and incalls hang up).
    #[serde(default = "super::default_true")]
    pub enabled: bool,
    /// Calls waiting at once; 0 = no limit.
    #[serde(default)]
    pub max_calls: Option<i64>,
    /// The extension (in an internal context) that rings the group.
    #[serde(default)]
    pub extension_id: Option<ExtensionId>,
    /// The member users, in ringing order (by priority).
    #[serde(default)]
    pub user_members: Vec<GroupMember>,
}

/// One member user of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    /// The user.
    pub user_id: UserId,
    /// Its priority (lower first).
    #[serde(default)]
    pub priority: i64,
}

/// Wazo's `ring_strategy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingStrategy {
    /// Every member at once (Asterisk's `ringall`).
    #[default]
    All,
    /// One at random.
    Random,
    /// The one rung least recently.
    LeastRecent,
    /// In order.
    Linear,
    /// The one with the fewest calls.
    FewestCalls,
    /// Round robin with memory.
    MemorizedRoundRobin,
    /// Random, weighted.
    WeightRandom,
}
