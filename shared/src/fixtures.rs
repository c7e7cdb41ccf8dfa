//! Test fixtures: the seed scenarios as snapshots, built from small helpers.
//! One tenant (`T`) with Wazo's legacy contexts `default` (internal, includes
//! `to-extern`), `from-extern` (incall) and `to-extern` (outcall), and user
//! Alice on line 1001.

use crate::model::*;

pub const T: &str = "tenant-a";

pub fn opts(pairs: &[(&str, &str)]) -> Vec<OptionPair> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn context(id: u64, name: &str, kind: ContextKind, includes: &[u64]) -> Context {
    Context {
        id: ContextId(id),
        uuid: format!("ctx-uuid-{id}"),
        tenant_uuid: T.into(),
        name: name.into(),
        label: name.into(),
        kind,
        description: None,
        enabled: true,
        contexts: includes.iter().map(|&id| IdRef { id: ContextId(id) }).collect(),
        ranges: ContextRanges::default(),
    }
}

pub fn extension(id: u64, exten: &str, context: &str) -> Extension {
    Extension { id: ExtensionId(id), tenant_uuid: T.into(), exten: exten.into(), context: context.into(), enabled: true }
}

pub fn endpoint(uuid: &str, name: &str, sections: SipSections) -> EndpointSip {
    EndpointSip {
        uuid: uuid.into(),
        tenant_uuid: T.into(),
        name: name.into(),
        label: Some(format!("{name} label")),
        sections,
        templates: vec![],
        transport: Some(UuidRef::new("tr-udp")),
        asterisk_id: None,
    }
}

pub fn trunk(id: u64, context: Option<&str>, endpoint: Option<TrunkEndpoint>) -> Trunk {
    Trunk {
        id: TrunkId(id),
        tenant_uuid: T.into(),
        context: context.map(str::to_owned),
        twilio_incoming: false,
        outgoing_caller_id_format: CallerIdFormat::PlusE164,
        endpoint,
        shared_with: Vec::new(),
        number_plan: None,
        caller_id_by_number: Vec::new(),
    }
}

pub fn outcall(id: u64, name: &str, trunks: &[u64], extensions: Vec<OutcallExtension>) -> Outcall {
    Outcall {
        id: OutcallId(id),
        tenant_uuid: T.into(),
        name: name.into(),
        internal_caller_id: false,
        ring_time: None,
        description: None,
        enabled: true,
        preprocess_subroutine: None,
        trunks: trunks.iter().map(|&id| IdRef { id: TrunkId(id) }).collect(),
        extensions,
        failover_policy: FailoverPolicy::default(),
        emergency: None,
    }
}

pub fn pattern(extension_id: u64, strip: Option<u32>, caller_id: Option<&str>) -> OutcallExtension {
    OutcallExtension {
        extension_id: ExtensionId(extension_id),
        strip_digits: strip,
        external_prefix: None,
        prefix: None,
        caller_id: caller_id.map(str::to_owned),
    }
}

pub fn incall_to_user(id: u64, extension_id: u64, user_id: u64) -> Incall {
    Incall {
        id: IncallId(id),
        tenant_uuid: T.into(),
        destination: Destination::User { user_id: UserId(user_id), ring_time: None },
        caller_id_mode: None,
        caller_id_name: None,
        extension_id: Some(ExtensionId(extension_id)),
        description: None,
    }
}

/// Tenant, contexts, transport, and user Alice (id 1) on line 1001 (SIP
/// endpoint `alice-phone`).
pub fn base() -> Snapshot {
    Snapshot {
        tenants: vec![Tenant { uuid: T.into(), name: "Tenant A".into(), slug: "a".into() }],
        contexts: vec![
            context(1, "default", ContextKind::Internal, &[3]),
            context(2, "from-extern", ContextKind::Incall, &[]),
            context(3, "to-extern", ContextKind::Outcall, &[]),
        ],
        extensions: vec![extension(1, "1001", "default")],
        transports: vec![Transport {
            uuid: "tr-udp".into(),
            name: "transport-udp".into(),
            options: opts(&[("protocol", "udp"), ("bind", "0.0.0.0:5060")]),
        }],
        endpoints_sip: vec![endpoint(
            "ep-alice",
            "alice-phone",
            SipSections {
                aor_section_options: opts(&[("max_contacts", "1")]),
                auth_section_options: opts(&[("username", "alice-phone"), ("password", "alicepw")]),
                endpoint_section_options: opts(&[("allow", "!all,ulaw")]),
                ..Default::default()
            },
        )],
        users: vec![User {
            id: UserId(1),
            uuid: "user-alice".into(),
            tenant_uuid: T.into(),
            firstname: "Alice".into(),
            lastname: Some("Doe".into()),
            caller_id: Some("\"Alice Doe\"".into()),
            outgoing_caller_id: None,
        }],
        lines: vec![Line {
            id: LineId(1),
            tenant_uuid: T.into(),
            user_id: Some(UserId(1)),
            endpoint_sip: Some(UuidRef::new("ep-alice")),
            extension_id: Some(ExtensionId(1)),
        }],
        ..Default::default()
    }
}

/// Seed 000: trunk `wazo-trunk` to the other PBX, outcall `_**99.` strip 4,
/// DID `101` in `from-extern` to Alice.
pub fn seed_000() -> Snapshot {
    let mut s = base();
    s.endpoints_sip.push(endpoint(
        "ep-wazo",
        "wazo-trunk",
        SipSections {
            aor_section_options: opts(&[("contact", "sip:wazo-trunk@wazo-b.example.com:5060")]),
            auth_section_options: opts(&[("username", "wazo-trunk"), ("password", "pass")]),
            identify_section_options: opts(&[("match", "wazo-b.example.com")]),
            outbound_auth_section_options: opts(&[("username", "wazo-trunk"), ("password", "pass")]),
            registration_section_options: opts(&[
                ("server_uri", "sip:wazo-b.example.com"),
                ("client_uri", "sip:wazo-trunk@wazo-b.example.com"),
                ("auth_rejection_permanent", "no"),
            ]),
            registration_outbound_auth_section_options: opts(&[("username", "wazo-trunk"), ("password", "pass")]),
            ..Default::default()
        },
    ));
    s.trunks.push(trunk(1, Some("from-extern"), Some(TrunkEndpoint::Sip("ep-wazo".into()))));
    s.extensions.push(extension(17, "_**99.", "to-extern"));
    s.outcalls.push(outcall(3, "to-wazo-b", &[1], vec![pattern(17, Some(4), None)]));
    s.extensions.push(extension(18, "101", "from-extern"));
    s.incalls.push(incall_to_user(4, 18, 1));
    s
}

/// Seed 001: a registering provider trunk, outcall `418.` (a literal!) and
/// DID `4185550100` to Alice.
pub fn seed_001() -> Snapshot {
    let mut s = base();
    s.endpoints_sip.push(endpoint(
        "ep-provider",
        "provider",
        SipSections {
            aor_section_options: opts(&[("contact", "sip:voip.provider.example.com"), ("qualify_frequency", "60")]),
            identify_section_options: opts(&[("match", "voip.provider.example.com")]),
            outbound_auth_section_options: opts(&[("username", "0123456789"), ("password", "s3cret")]),
            registration_section_options: opts(&[
                ("server_uri", "sip:voip.provider.example.com"),
                ("client_uri", "sip:0123456789@voip.provider.example.com"),
                ("auth_rejection_permanent", "no"),
            ]),
            registration_outbound_auth_section_options: opts(&[("username", "0123456789"), ("password", "s3cret")]),
            ..Default::default()
        },
    ));
    s.trunks.push(trunk(1, Some("from-extern"), Some(TrunkEndpoint::Sip("ep-provider".into()))));
    s.extensions.push(extension(20, "418.", "to-extern"));
    s.outcalls.push(outcall(5, "provider-out", &[1], vec![pattern(20, None, None)]));
    s.extensions.push(extension(21, "4185550100", "from-extern"));
    s.incalls.push(incall_to_user(6, 21, 1));
    s
}

/// Seed 003 plus the other trunk kinds: an auth-only SIP trunk that never
/// registers (Bandwidth), a header-matched trunk, a custom `Local` trunk and
/// an IAX trunk, all behind one outcall `_9X.` (strip 1) in this order.
pub fn trunk_kinds() -> Snapshot {
    let mut s = base();
    s.endpoints_sip.push(endpoint(
        "ep-bw",
        "bandwidth",
        SipSections {
            aor_section_options: opts(&[("contact", "sip:realm.bandwidth.example.com")]),
            outbound_auth_section_options: opts(&[("username", "bwuser"), ("password", "bwpass")]),
            ..Default::default()
        },
    ));
    s.endpoints_sip.push(endpoint(
        "ep-hdr",
        "shared-provider",
        SipSections {
            endpoint_section_options: opts(&[
                ("identify_by", "header,auth_username,username"),
                ("set_var", "PJSIP_HEADER(add,X-Tenant)=acme"),
            ]),
            identify_section_options: opts(&[("match_header", "X-Dest-User: abc123")]),
            aor_section_options: opts(&[("contact", "sip:shared.example.com")]),
            ..Default::default()
        },
    ));
    s.endpoints_custom.push(EndpointCustom {
        id: CustomId(1),
        tenant_uuid: T.into(),
        interface: "Local".into(),
        interface_suffix: Some("@pbx-b-in".into()),
        enabled: true,
    });
    s.endpoints_iax.push(EndpointIax {
        id: IaxId(1),
        tenant_uuid: T.into(),
        name: "iax-peer".into(),
        kind: PeerType::Friend,
        host: "iax.example.com".into(),
        options: opts(&[("secret", "iaxpw"), ("qualify", "yes")]),
    });
    s.trunks.push(trunk(1, Some("from-extern"), Some(TrunkEndpoint::Sip("ep-bw".into()))));
    s.trunks.push(trunk(2, Some("from-extern"), Some(TrunkEndpoint::Sip("ep-hdr".into()))));
    s.trunks.push(trunk(3, None, Some(TrunkEndpoint::Custom(CustomId(1)))));
    s.trunks.push(trunk(4, Some("from-extern"), Some(TrunkEndpoint::Iax(IaxId(1)))));
    s.extensions.push(extension(30, "_9X.", "to-extern"));
    let mut route = pattern(30, Some(1), Some("\"ACME\" <5551234>"));
    route.external_prefix = Some("00".into());
    s.outcalls.push(outcall(7, "everything", &[1, 2, 3, 4], vec![route]));
    s
}

/// Seed 000 plus Bob (user 2, endpoint `bob-phone`, line 2 on 1002) and
/// group 5 `sales` (Alice then Bob, 20 s, extension 1500); the DID `101`
/// rings the group.
pub fn group_of_two() -> Snapshot {
    let mut s = seed_000();
    s.endpoints_sip.push(endpoint("ep-bob", "bob-phone", SipSections::default()));
    s.users.push(User {
        id: UserId(2),
        uuid: "user-bob".into(),
        tenant_uuid: T.into(),
        firstname: "Bob".into(),
        lastname: None,
        caller_id: None,
        outgoing_caller_id: None,
    });
    s.extensions.push(extension(2, "1002", "default"));
    s.lines.push(Line { id: LineId(2), tenant_uuid: T.into(), user_id: Some(UserId(2)), endpoint_sip: Some(UuidRef::new("ep-bob")), extension_id: Some(ExtensionId(2)) });
    s.extensions.push(extension(30, "1500", "default"));
    s.groups.push(Group {
        id: GroupId(5),
        uuid: "group-sales".into(),
        tenant_uuid: T.into(),
        name: "grp-a-group-sales".into(),
        label: "sales".into(),
        timeout: Some(20),
        ring_strategy: RingStrategy::All,
        caller_id_mode: None,
        caller_id_name: None,
        user_timeout: Some(15),
        retry_delay: Some(5),
        music_on_hold: None,
        preprocess_subroutine: None,
        ring_in_use: true,
        mark_answered_elsewhere: false,
        dtmf_record_toggle: false,
        enabled: true,
        max_calls: Some(0),
        extension_id: Some(ExtensionId(30)),
        user_members: vec![GroupMember { user_id: UserId(2), priority: 1 }, GroupMember { user_id: UserId(1), priority: 0 }],
    });
    s.incalls[0].destination = Destination::Group { group_id: GroupId(5), ring_time: None };
    s
}
