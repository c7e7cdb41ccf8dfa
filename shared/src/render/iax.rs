//! iax.conf: one section per IAX endpoint attached to a trunk.

use super::config::{ConfigFile, Section};
use super::escape;
use crate::model::*;

/// Renders iax.conf.
pub fn iax_conf(s: &Snapshot) -> ConfigFile {
    let mut file = ConfigFile::default();
    let mut trunks: Vec<&Trunk> = s.trunks.iter().collect();
    crate::order::sort_by_key(&mut trunks, |t| t.id);
    for trunk in trunks {
        let Some(TrunkEndpoint::Iax(id)) = &trunk.endpoint else { continue };
        let Some(ep) = s.endpoint_iax(*id) else { continue };
        let mut section = Section::new(escape::section_name(&ep.name));
        section.line("type", ep.kind.as_str());
        section.line("host", escape::conf_value(&ep.host));
        if let Some(ctx) = &trunk.context {
            section.line("context", escape::context_name(ctx));
        }
        for (k, v) in &ep.options {
            section.line(&escape::section_name(k), escape::conf_value(v));
        }
        file.sections.push(section);
    }
    file
}
