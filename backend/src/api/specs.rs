//! How the confd resources that refer to one another are named (URLs,
//! links, messages). A leaf: a resource's module shows another's relation
//! (`links`, a summary) or finds it by key without importing that module,
//! so the resource modules depend on one another one way only.

use super::resource::Spec;
use crate::store::Kind;

pub const EXTENSION: Spec = Spec { kind: Kind::Extension, noun: "Extension", path: "extensions", rel: "extensions", by_uuid: false };
pub const OUTCALL: Spec = Spec { kind: Kind::Outcall, noun: "Outcall", path: "outcalls", rel: "outcalls", by_uuid: false };
pub const INCALL: Spec = Spec { kind: Kind::Incall, noun: "Incall", path: "incalls", rel: "incalls", by_uuid: false };
pub const USER: Spec = Spec { kind: Kind::User, noun: "User", path: "users", rel: "users", by_uuid: false };
pub const GROUP: Spec = Spec { kind: Kind::Group, noun: "Group", path: "groups", rel: "groups", by_uuid: false };
pub const LINE: Spec = Spec { kind: Kind::Line, noun: "Line", path: "lines", rel: "lines", by_uuid: false };
pub const TRUNK: Spec = Spec { kind: Kind::Trunk, noun: "Trunk", path: "trunks", rel: "trunks", by_uuid: false };
pub const ENDPOINT_SIP: Spec = Spec { kind: Kind::EndpointSip, noun: "EndpointSIP", path: "endpoints/sip", rel: "endpoint_sip", by_uuid: true };
pub const ENDPOINT_IAX: Spec = Spec { kind: Kind::EndpointIax, noun: "IAXEndpoint", path: "endpoints/iax", rel: "endpoint_iax", by_uuid: false };
pub const ENDPOINT_CUSTOM: Spec = Spec { kind: Kind::EndpointCustom, noun: "CustomEndpoint", path: "endpoints/custom", rel: "endpoint_custom", by_uuid: false };
pub const REGISTER_SIP: Spec = Spec { kind: Kind::RegisterSip, noun: "RegisterSIP", path: "registers/sip", rel: "register_sip", by_uuid: false };
pub const REGISTER_IAX: Spec = Spec { kind: Kind::RegisterIax, noun: "IAXRegister", path: "registers/iax", rel: "register_iax", by_uuid: false };
pub const SIP_TEMPLATE: Spec = Spec { kind: Kind::SipTemplate, noun: "EndpointSIP", path: "endpoints/sip/templates", rel: "endpoint_sip_templates", by_uuid: true };
