//! extensions.conf from the [`DialplanPlan`]: `include =>` lines, then
//! `exten => NAME,1,App(args)` and `same => n,App(args)` per extension.

use super::config::{ConfigFile, Section};
use super::dialplan::DialplanPlan;

/// Renders the plan. Names in the plan were escaped when it was built.
pub fn extensions_conf(plan: &DialplanPlan) -> ConfigFile {
    let mut file = ConfigFile::default();
    for ctx in &plan.contexts {
        let mut section = Section::new(ctx.name.clone());
        section.comment = ctx.kind.map(|k| format!("{} context", k.as_str()));
        for include in &ctx.includes {
            section.line("include", include.clone());
        }
        for ext in &ctx.extensions {
            for (i, priority) in ext.priorities.iter().enumerate() {
                let label = priority.label.as_ref().map(|l| format!("({l})")).unwrap_or_default();
                if i == 0 {
                    section.line("exten", format!("{},1{label},{}", ext.name, priority.app));
                } else {
                    section.line("same", format!("n{label},{}", priority.app));
                }
            }
        }
        file.sections.push(section);
    }
    file
}
