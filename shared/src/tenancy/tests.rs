use super::*;
use crate::fixtures;
use crate::render;

const ALPHA: &str = "tenant-alpha";
const BRAVO: &str = "tenant-bravo";

/// Seed 000 and the other trunk kinds, copied into one tenant whose every
/// name and id carries its marker (`alpha`/`bravo`, ids offset by `base`).
fn population(tenant: &str, marker: &str, base: u64) -> Snapshot {
    let mut s = fixtures::seed_000();
    let kinds = fixtures::trunk_kinds();
    let offset = |id: u64| id + base;
    let rename = |name: &str| format!("{name}-{marker}");
    s.tenants = vec![Tenant { uuid: tenant.into(), name: marker.into(), slug: marker.into() }];
    for c in &mut s.contexts {
        c.id = ContextId(offset(c.id.0));
        c.name = rename(&c.name);
        c.tenant_uuid = tenant.into();
        for include in &mut c.contexts {
            include.id = ContextId(offset(include.id.0));
        }
    }
    for e in &mut s.extensions {
        e.id = ExtensionId(offset(e.id.0));
        e.context = rename(&e.context);
        e.tenant_uuid = tenant.into();
    }
    s.endpoints_sip.extend(kinds.endpoints_sip.iter().filter(|e| e.uuid != "ep-alice").cloned());
    for e in &mut s.endpoints_sip {
        e.uuid = rename(&e.uuid);
        e.name = rename(&e.name);
        e.tenant_uuid = tenant.into();
    }
    s.endpoints_iax = kinds.endpoints_iax.clone();
    for e in &mut s.endpoints_iax {
        e.id = IaxId(offset(e.id.0));
        e.name = rename(&e.name);
        e.tenant_uuid = tenant.into();
        e.options.push(("context".into(), format!("from-extern-{marker}")));
    }
    s.endpoints_custom = kinds.endpoints_custom.clone();
    for e in &mut s.endpoints_custom {
        e.id = CustomId(offset(e.id.0));
        e.interface_suffix = Some(format!("@default-{marker}"));
        e.tenant_uuid = tenant.into();
    }
    s.trunks.push(fixtures::trunk(2, None, Some(TrunkEndpoint::Iax(IaxId(1)))));
    s.trunks.push(fixtures::trunk(3, None, Some(TrunkEndpoint::Custom(CustomId(1)))));
    for t in &mut s.trunks {
        t.id = TrunkId(offset(t.id.0));
        t.context = t.context.as_deref().map(rename);
        t.tenant_uuid = tenant.into();
        t.endpoint = match t.endpoint.take() {
            Some(TrunkEndpoint::Sip(uuid)) => Some(TrunkEndpoint::Sip(rename(&uuid))),
            Some(TrunkEndpoint::Iax(id)) => Some(TrunkEndpoint::Iax(IaxId(offset(id.0)))),
            Some(TrunkEndpoint::Custom(id)) => Some(TrunkEndpoint::Custom(CustomId(offset(id.0)))),
            None => None,
        };
    }
    for o in &mut s.outcalls {
        o.id = OutcallId(offset(o.id.0));
        o.name = rename(&o.name);
        o.tenant_uuid = tenant.into();
        o.preprocess_subroutine = Some(rename("default"));
        for t in &mut o.trunks {
            t.id = TrunkId(offset(t.id.0));
        }
        o.trunks.push(IdRef { id: TrunkId(offset(2)) });
        o.trunks.push(IdRef { id: TrunkId(offset(3)) });
        for e in &mut o.extensions {
            e.extension_id = ExtensionId(offset(e.extension_id.0));
        }
    }
    for i in &mut s.incalls {
        i.id = IncallId(offset(i.id.0));
        i.tenant_uuid = tenant.into();
        i.extension_id = i.extension_id.map(|id| ExtensionId(offset(id.0)));
        if let Destination::User { user_id, .. } = &mut i.destination {
            *user_id = UserId(offset(user_id.0));
        }
    }
    for u in &mut s.users {
        u.id = UserId(offset(u.id.0));
        u.uuid = rename(&u.uuid);
        u.tenant_uuid = tenant.into();
    }
    for l in &mut s.lines {
        l.id = LineId(offset(l.id.0));
        l.tenant_uuid = tenant.into();
        l.user_id = l.user_id.map(|id| UserId(offset(id.0)));
        l.extension_id = l.extension_id.map(|id| ExtensionId(offset(id.0)));
        l.endpoint_sip = l.endpoint_sip.as_ref().map(|e| UuidRef::new(rename(&e.uuid)));
    }
    s.transports.clear();
    s
}

fn two_tenants() -> Snapshot {
    let mut s = population(ALPHA, "alpha", 0);
    let b = population(BRAVO, "bravo", 1000);
    s.tenants.extend(b.tenants);
    s.contexts.extend(b.contexts);
    s.extensions.extend(b.extensions);
    s.endpoints_sip.extend(b.endpoints_sip);
    s.endpoints_iax.extend(b.endpoints_iax);
    s.endpoints_custom.extend(b.endpoints_custom);
    s.trunks.extend(b.trunks);
    s.outcalls.extend(b.outcalls);
    s.incalls.extend(b.incalls);
    s.users.extend(b.users);
    s.lines.extend(b.lines);
    s.transports = fixtures::base().transports;
    s
}

/// Every way an object of bravo could point at alpha, one object each.
fn bravo_points_at_alpha(s: &mut Snapshot) -> Vec<ObjectRef> {
    let mut poisoned = Vec::new();
    let alpha_trunk = TrunkId(1);
    let bravo_ctx_incall = "from-extern-bravo";
    let mut next_ext = 5000;
    let mut bravo_extension = |s: &mut Snapshot, exten: &str| {
        next_ext += 1;
        s.extensions.push(Extension {
            id: ExtensionId(next_ext),
            tenant_uuid: BRAVO.into(),
            exten: exten.into(),
            context: bravo_ctx_incall.into(),
            enabled: true,
        });
        ExtensionId(next_ext)
    };
    // Incall → alpha's trunk; → alpha's context; → trunk failover into alpha's context; → alpha's user.
    let to_trunk = |trunk_id: TrunkId, failover: Option<TrunkFailover>| {
        Destination::Trunk(Box::new(TrunkDestination {
            trunk_id,
            number: None,
            enabled: true,
            delay: None,
            timeout: None,
            progress_timeout: None,
            sip_headers: vec![],
            call_limit: None,
            failover,
        }))
    };
    let destinations = [
        to_trunk(alpha_trunk, None),
        Destination::Extension { exten: "1001".into(), context: "default-alpha".into() },
        to_trunk(TrunkId(1001), Some(TrunkFailover::Extension { exten: "1001".into(), context: "default-alpha".into() })),
        Destination::User { user_id: UserId(1), ring_time: None },
    ];
    for (n, destination) in destinations.into_iter().enumerate() {
        let ext = bravo_extension(s, &format!("555000{n}"));
        let id = IncallId(6000 + n as u64);
        s.incalls.push(Incall {
            id,
            tenant_uuid: BRAVO.into(),
            destination,
            caller_id_mode: None,
            caller_id_name: None,
            extension_id: Some(ext),
            description: None,
        });
        poisoned.push(ObjectRef::new(ObjectKind::Incall, id));
    }
    // Outcall through alpha's trunk; outcall with alpha's subroutine.
    let mut via_trunk = fixtures::outcall(7001, "steal-trunk-bravo", &[1], vec![]);
    via_trunk.tenant_uuid = BRAVO.into();
    let mut via_subroutine = fixtures::outcall(7002, "steal-subroutine-bravo", &[1001], vec![]);
    via_subroutine.tenant_uuid = BRAVO.into();
    via_subroutine.preprocess_subroutine = Some("default-alpha".into());
    poisoned.push(ObjectRef::new(ObjectKind::Outcall, 7001));
    poisoned.push(ObjectRef::new(ObjectKind::Outcall, 7002));
    s.outcalls.extend([via_trunk, via_subroutine]);
    // SIP endpoints: alpha's context, alpha's outbound auth (its provider
    // password), alpha's aor, identify into alpha's endpoint, a template of alpha.
    let sip_poisons: [(&str, SipSections); 5] = [
        ("ctx", SipSections { endpoint_section_options: fixtures::opts(&[("context", "default-alpha")]), ..Default::default() }),
        (
            "oauth",
            SipSections {
                endpoint_section_options: fixtures::opts(&[("outbound_auth", "outbound_auth_wazo-trunk-alpha")]),
                aor_section_options: fixtures::opts(&[("contact", "sip:attacker.example.com")]),
                ..Default::default()
            },
        ),
        ("aors", SipSections { endpoint_section_options: fixtures::opts(&[("aors", "alice-phone-alpha")]), ..Default::default() }),
        ("ident", SipSections { identify_section_options: fixtures::opts(&[("endpoint", "wazo-trunk-alpha"), ("match", "10.0.0.1")]), ..Default::default() }),
        ("regauth", SipSections {
            registration_section_options: fixtures::opts(&[
                ("server_uri", "sip:attacker.example.com"),
                ("client_uri", "sip:x@attacker.example.com"),
                ("outbound_auth", "auth_reg_wazo-trunk-alpha"),
            ]),
            ..Default::default()
        }),
    ];
    for (name, sections) in sip_poisons {
        let mut e = fixtures::endpoint(&format!("ep-{name}-bravo"), &format!("{name}-bravo"), sections);
        e.tenant_uuid = BRAVO.into();
        poisoned.push(ObjectRef::new(ObjectKind::EndpointSip, &e.uuid));
        s.endpoints_sip.push(e);
    }
    let mut templated = fixtures::endpoint("ep-tpl-bravo", "tpl-bravo", SipSections::default());
    templated.tenant_uuid = BRAVO.into();
    templated.templates = vec![UuidRef::new("tpl-alpha")];
    let mut template = fixtures::endpoint("tpl-alpha", "template-alpha", SipSections::default());
    template.tenant_uuid = ALPHA.into();
    s.sip_templates.push(template);
    poisoned.push(ObjectRef::new(ObjectKind::EndpointSip, "ep-tpl-bravo"));
    s.endpoints_sip.push(templated);
    // IAX and Local channel into alpha's contexts.
    s.endpoints_iax.push(EndpointIax {
        id: IaxId(8001),
        tenant_uuid: BRAVO.into(),
        name: "iax-steal-bravo".into(),
        kind: PeerType::Friend,
        host: "dynamic".into(),
        options: fixtures::opts(&[("context", "default-alpha")]),
    });
    s.endpoints_custom.push(EndpointCustom {
        id: CustomId(8002),
        tenant_uuid: BRAVO.into(),
        interface: "Local".into(),
        interface_suffix: Some("@default-alpha/n".into()),
        enabled: true,
    });
    poisoned.push(ObjectRef::new(ObjectKind::EndpointIax, 8001));
    poisoned.push(ObjectRef::new(ObjectKind::EndpointCustom, 8002));
    // A trunk of bravo on alpha's endpoint and into alpha's context; a context
    // of bravo including alpha's; an extension in alpha's context; a line on
    // alpha's endpoint.
    let mut trunk = fixtures::trunk(9001, Some("default-alpha"), Some(TrunkEndpoint::Sip("ep-wazo-alpha".into())));
    trunk.tenant_uuid = BRAVO.into();
    s.trunks.push(trunk);
    let mut context = fixtures::context(9002, "sneaky-bravo", ContextKind::Internal, &[1]);
    context.tenant_uuid = BRAVO.into();
    s.contexts.push(context);
    s.extensions.push(Extension {
        id: ExtensionId(9003),
        tenant_uuid: BRAVO.into(),
        exten: "666".into(),
        context: "default-alpha".into(),
        enabled: true,
    });
    s.lines.push(Line {
        id: LineId(9004),
        tenant_uuid: BRAVO.into(),
        user_id: None,
        endpoint_sip: Some(UuidRef::new("ep-alice-alpha")),
        extension_id: None,
    });
    poisoned.extend([
        ObjectRef::new(ObjectKind::Trunk, 9001),
        ObjectRef::new(ObjectKind::Context, 9002),
        ObjectRef::new(ObjectKind::Extension, 9003),
        ObjectRef::new(ObjectKind::Line, 9004),
    ]);
    poisoned
}

#[test]
fn two_clean_tenants_have_no_foreign_reference() {
    let s = two_tenants();
    assert_eq!(foreign_references(&s), vec![]);
    let directory = SnapshotDirectory::new(&s);
    for object in objects(&s) {
        for reference in references(object) {
            if let Some(owner) = directory.owner(&reference.target) {
                assert_eq!(owner, object.tenant(), "{:?} → {}", object.object_ref(), reference.target);
            }
        }
    }
    // The population really exercises every kind of reference.
    let targets: BTreeSet<&str> = objects(&s)
        .flat_map(references)
        .map(|r| match r.target {
            Target::Context(_) => "context",
            Target::ContextId(_) => "context id",
            Target::Extension(_) => "extension",
            Target::Trunk(_) => "trunk",
            Target::User(_) => "user",
            Target::EndpointSip(_) => "endpoint sip",
            Target::SipTemplate(_) => "template",
            Target::Group(_) => "group",
            Target::EndpointIax(_) => "iax",
            Target::EndpointCustom(_) => "custom",
            Target::SipSection(_) => "section",
        })
        .collect();
    for kind in ["context", "context id", "extension", "trunk", "user", "endpoint sip", "iax", "custom"] {
        assert!(targets.contains(kind), "no {kind} reference in the population: {targets:?}");
    }
}

#[test]
fn every_foreign_reference_is_found_and_refused() {
    let mut s = two_tenants();
    let poisoned = bravo_points_at_alpha(&mut s);
    let found: BTreeSet<ObjectRef> = foreign_references(&s).into_iter().map(|q| q.object).collect();
    for object in &poisoned {
        assert!(found.contains(object), "{object} points at alpha but was not found");
    }
    assert_eq!(found.len(), poisoned.len(), "only the poisoned objects: {found:?}");
    // The API's view: each poisoned object gets a 400 naming a field; the
    // same object of alpha (its own references) gets none.
    let directory = SnapshotDirectory::new(&s);
    for object in objects(&s) {
        let errors = unresolved(object, &directory);
        let is_poisoned = poisoned.contains(&object.object_ref());
        let dangling_in_fixture = matches!(object, Object::EndpointCustom(_)) && !is_poisoned;
        if is_poisoned {
            assert!(!errors.is_empty(), "{} was accepted", object.object_ref());
            assert!(errors.iter().all(|e| e.field.starts_with("field '") && e.message.contains("was not found")), "{errors:?}");
        } else if !dangling_in_fixture {
            assert_eq!(errors, vec![], "{}", object.object_ref());
        }
    }
}

#[test]
fn missing_and_foreign_read_the_same() {
    let s = two_tenants();
    let directory = SnapshotDirectory::new(&s);
    let mut incall = s.incalls.iter().find(|i| i.tenant_uuid == BRAVO).cloned().unwrap();
    incall.destination = Destination::User { user_id: UserId(1), ring_time: None };
    let foreign = unresolved(Object::Incall(&incall), &directory);
    incall.destination = Destination::User { user_id: UserId(424242), ring_time: None };
    let missing = unresolved(Object::Incall(&incall), &directory);
    assert_eq!(foreign.len(), 1);
    assert_eq!(foreign[0].field, missing[0].field);
    assert_eq!(foreign[0].message.replace("424242", "1"), missing[0].message.replace("424242", "1"));
    assert_eq!(foreign[0].message, "User was not found ('user_id': 1)");
}

fn section_text(section: &render::Section) -> String {
    let lines: Vec<String> = section.lines.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    format!("[{}] {}", section.name, lines.join("; "))
}

/// The section names of the rendered files that belong to bravo, and every
/// value written into them.
fn bravo_text(rendered: &render::Rendered, s: &Snapshot) -> Vec<String> {
    let bravo_outcalls: BTreeSet<String> =
        s.outcalls.iter().filter(|o| o.tenant_uuid == BRAVO).map(|o| format!("{}{}", render::SUBROUTINE_PREFIX, o.id)).collect();
    let bravo_incalls: BTreeSet<String> =
        s.incalls.iter().filter(|i| i.tenant_uuid == BRAVO).map(|i| format!("{}{}", render::INCALL_HEADERS_PREFIX, i.id)).collect();
    let mut out = Vec::new();
    for file in [&rendered.pjsip, &rendered.extensions, &rendered.iax] {
        for section in &file.sections {
            let name = &section.name;
            if name.contains("bravo") || bravo_outcalls.contains(name) || bravo_incalls.contains(name) {
                out.push(section_text(section));
            }
        }
    }
    out
}

#[test]
fn rendered_config_of_a_tenant_names_only_its_own_things() {
    let mut s = two_tenants();
    bravo_points_at_alpha(&mut s);
    let rendered = render::render(&s);
    let text = bravo_text(&rendered, &s);
    assert!(text.len() > 10, "bravo renders sections: {text:#?}");
    for section in &text {
        assert!(!section.contains("alpha"), "bravo's section names alpha: {section}");
    }
    // And alpha's own configuration is unchanged by bravo's attempts.
    let clean = render::render(&two_tenants());
    let alpha_sections = |r: &render::Rendered| -> Vec<String> {
        [&r.pjsip, &r.extensions, &r.iax]
            .iter()
            .flat_map(|f| f.sections.iter().filter(|sec| sec.name.contains("alpha")).map(section_text))
            .collect()
    };
    assert_eq!(alpha_sections(&rendered), alpha_sections(&clean));
}

#[test]
fn containment_keeps_a_clean_snapshot_as_it_is() {
    let s = two_tenants();
    let (contained, quarantined) = contain(&s);
    assert_eq!(quarantined, vec![]);
    assert_eq!(contained, s);
}

#[test]
fn local_channel_contexts() {
    assert_eq!(local_channel_context("Local", Some("@pbx-b-in")), Some("pbx-b-in".into()));
    assert_eq!(local_channel_context("Local", Some("@ctx/n")), Some("ctx".into()));
    assert_eq!(local_channel_context("local/1@ctx", None).as_deref(), Some("ctx"));
    assert_eq!(local_channel_context("Local/mastermark", None), Some("default".into()));
    assert_eq!(local_channel_context("DAHDI/g1", None), None);
    assert_eq!(local_channel_context("PJSIP", Some("@x")), None);
}

/// Alpha shares its SIP and IAX trunks (and, refused, its custom one) with
/// bravo; bravo's route dials them. Only the trunk ids are lent.
#[test]
fn a_shared_trunk_resolves_for_the_tenants_it_is_shared_with_only() {
    let mut s = two_tenants();
    for t in s.trunks.iter_mut().filter(|t| t.tenant_uuid == ALPHA) {
        t.shared_with = vec![BRAVO.into()];
    }
    let [sip, iax, custom] = [TrunkId(1), TrunkId(2), TrunkId(3)];
    let bravo_route = s.outcalls.iter_mut().find(|o| o.tenant_uuid == BRAVO).unwrap();
    bravo_route.trunks = vec![IdRef { id: sip }, IdRef { id: iax }];
    let route_id = bravo_route.id;
    let directory = SnapshotDirectory::new(&s);
    for id in [sip, iax] {
        assert!(directory.resolves(BRAVO, &Target::Trunk(id)), "{id}");
        assert!(!directory.resolves("tenant-charlie", &Target::Trunk(id)), "{id} is not shared with charlie");
    }
    assert!(!directory.resolves(BRAVO, &Target::Trunk(custom)), "a custom interface enters alpha's dialplan: never shared");
    // The trunk is lent, not its endpoint or its sections.
    assert!(!directory.resolves(BRAVO, &Target::EndpointSip("ep-wazo-alpha".into())));
    assert!(!directory.resolves(BRAVO, &Target::SipSection("outbound_auth_wazo-trunk-alpha".into())));
    assert_eq!(foreign_references(&s), vec![]);
    let (contained, _) = contain(&s);
    assert!(contained.outcalls.iter().any(|o| o.id == route_id), "bravo's route through alpha's shared trunks is rendered");
    let route = contained.outcalls.iter().find(|o| o.id == route_id).unwrap();
    let dials: Vec<String> = render::outcall_trunks(&contained, route, "0").into_iter().filter_map(|(_, d)| d.ok()).collect();
    assert_eq!(dials.len(), 2, "{dials:?}");

    // The custom trunk (and a trunk shared with another tenant) stays foreign.
    let bravo_route = s.outcalls.iter_mut().find(|o| o.id == route_id).unwrap();
    bravo_route.trunks.push(IdRef { id: custom });
    s.trunks.iter_mut().find(|t| t.id == sip).unwrap().shared_with = vec!["tenant-charlie".into()];
    let foreign: Vec<Target> = foreign_references(&s).into_iter().map(|q| q.reference.target).collect();
    assert_eq!(foreign, vec![Target::Trunk(sip), Target::Trunk(custom)]);
}
