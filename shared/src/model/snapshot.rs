use super::*;
use serde::{Deserialize, Serialize};

/// Everything Patchbay knows, for all tenants: the single input of
/// validation across objects, rendering, simulation and lint. The backend
/// assembles it from its stored JSON documents; nothing here is derived.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    /// Tenants.
    pub tenants: Vec<Tenant>,
    /// Contexts of all tenants.
    pub contexts: Vec<Context>,
    /// Extensions of all tenants.
    pub extensions: Vec<Extension>,
    /// Trunks.
    pub trunks: Vec<Trunk>,
    /// SIP endpoints (trunks' and lines').
    pub endpoints_sip: Vec<EndpointSip>,
    /// SIP templates.
    pub sip_templates: Vec<SipTemplate>,
    /// Transports (shared by all tenants).
    pub transports: Vec<Transport>,
    /// `[global]` settings.
    pub pjsip_global: PjsipGlobal,
    /// `[system]` settings.
    pub pjsip_system: PjsipSystem,
    /// IAX endpoints.
    pub endpoints_iax: Vec<EndpointIax>,
    /// Custom endpoints.
    pub endpoints_custom: Vec<EndpointCustom>,
    /// Outgoing routes.
    pub outcalls: Vec<Outcall>,
    /// Incoming routes.
    pub incalls: Vec<Incall>,
    /// Users.
    pub users: Vec<User>,
    /// Users' lines.
    pub lines: Vec<Line>,
    /// Groups of users rung together.
    pub groups: Vec<Group>,
}

/// The role an extension plays, found from what is bound to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExtensionOwner<'a> {
    /// A pattern of an outcall.
    Outcall(&'a Outcall, &'a OutcallExtension),
    /// The DID of an incall.
    Incall(&'a Incall),
    /// Rings these lines (all lines bound to the extension).
    Lines,
    /// Rings a group's members.
    Group(&'a Group),
}

impl Snapshot {
    /// The tenant with this uuid.
    pub fn tenant(&self, uuid: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.uuid == uuid)
    }

    /// The context with this Asterisk name.
    pub fn context_named(&self, name: &str) -> Option<&Context> {
        self.contexts.iter().find(|c| c.name == name)
    }

    /// The context with this id.
    pub fn context(&self, id: ContextId) -> Option<&Context> {
        self.contexts.iter().find(|c| c.id == id)
    }

    /// The extension with this id.
    pub fn extension(&self, id: ExtensionId) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.id == id)
    }

    /// The trunk with this id.
    pub fn trunk(&self, id: TrunkId) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.id == id)
    }

    /// The SIP endpoint with this uuid.
    pub fn endpoint_sip(&self, uuid: &str) -> Option<&EndpointSip> {
        self.endpoints_sip.iter().find(|e| e.uuid == uuid)
    }

    /// The SIP template with this uuid.
    pub fn sip_template(&self, uuid: &str) -> Option<&SipTemplate> {
        self.sip_templates.iter().find(|t| t.uuid == uuid)
    }

    /// The transport with this uuid.
    pub fn transport(&self, uuid: &str) -> Option<&Transport> {
        self.transports.iter().find(|t| t.uuid == uuid)
    }

    /// The IAX endpoint with this id.
    pub fn endpoint_iax(&self, id: IaxId) -> Option<&EndpointIax> {
        self.endpoints_iax.iter().find(|e| e.id == id)
    }

    /// The custom endpoint with this id.
    pub fn endpoint_custom(&self, id: CustomId) -> Option<&EndpointCustom> {
        self.endpoints_custom.iter().find(|e| e.id == id)
    }

    /// The outcall with this id.
    pub fn outcall(&self, id: OutcallId) -> Option<&Outcall> {
        self.outcalls.iter().find(|o| o.id == id)
    }

    /// The user with this id.
    pub fn user(&self, id: UserId) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The group with this id.
    pub fn group(&self, id: GroupId) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The lines a group rings: each member's first line (as Wazo rings a
    /// member user's main line), members in priority order.
    pub fn lines_of_group(&self, group: &Group) -> Vec<&Line> {
        let mut members: Vec<&GroupMember> = group.user_members.iter().collect();
        members.sort_by_key(|m| m.priority);
        members.iter().filter_map(|m| self.lines_of_user(m.user_id).first().copied()).collect()
    }

    /// The user's lines, in id order.
    pub fn lines_of_user(&self, id: UserId) -> Vec<&Line> {
        let mut lines: Vec<&Line> = self.lines.iter().filter(|l| l.user_id == Some(id)).collect();
        crate::order::sort_by_key(&mut lines, |l| l.id);
        lines
    }

    /// The lines an extension rings, in id order.
    pub fn lines_of_extension(&self, id: ExtensionId) -> Vec<&Line> {
        let mut lines: Vec<&Line> =
            self.lines.iter().filter(|l| l.extension_id == Some(id)).collect();
        crate::order::sort_by_key(&mut lines, |l| l.id);
        lines
    }

    /// What the extension is bound to, if anything. An extension bound to
    /// nothing is not written to Asterisk (as in Wazo).
    pub fn owner_of(&self, id: ExtensionId) -> Option<ExtensionOwner<'_>> {
        for outcall in &self.outcalls {
            if let Some(ext) = outcall.extensions.iter().find(|e| e.extension_id == id) {
                return Some(ExtensionOwner::Outcall(outcall, ext));
            }
        }
        if let Some(incall) = self.incalls.iter().find(|i| i.extension_id == Some(id)) {
            return Some(ExtensionOwner::Incall(incall));
        }
        if self.lines.iter().any(|l| l.extension_id == Some(id)) {
            return Some(ExtensionOwner::Lines);
        }
        if let Some(group) = self.groups.iter().find(|g| g.extension_id == Some(id)) {
            return Some(ExtensionOwner::Group(group));
        }
        None
    }

    /// The trunk a SIP endpoint is attached to.
    pub fn trunk_of_sip(&self, uuid: &str) -> Option<&Trunk> {
        self.trunks
            .iter()
            .find(|t| matches!(&t.endpoint, Some(TrunkEndpoint::Sip(u)) if u == uuid))
    }

    /// The line a SIP endpoint belongs to.
    pub fn line_of_sip(&self, uuid: &str) -> Option<&Line> {
        self.lines
            .iter()
            .find(|l| l.endpoint_sip.as_ref().is_some_and(|r| r.uuid == uuid))
    }

    /// The internal context a line's phone dials from (its extension's
    /// context).
    pub fn line_context(&self, line: &Line) -> Option<&Context> {
        let ext = self.extension(line.extension_id?)?;
        self.context_named(&ext.context)
    }
}
