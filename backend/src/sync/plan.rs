//! What a pass writes, decided from what Asterisk reported: a pure function
//! of the files as Asterisk has them (or as Patchbay last read them back),
//! the files the database renders, and what earlier writes read back as.

use super::{EXTENSIONS_FILE, Files, IncrementalPlan};
use crate::ami::config_writer::Section;
use std::collections::BTreeMap;

/// How one file is brought level with the database.
#[derive(Debug)]
pub enum Write {
    /// Live dialplan edits, the file following in the background.
    Live(IncrementalPlan),
    /// The whole file written, then its module reloaded.
    Whole,
}

/// Per file, the last sections written and what Asterisk read back right
/// after.
pub type WrittenBack = BTreeMap<&'static str, (Vec<Section>, Vec<Section>)>;

/// The files to write (by name), and how. A file that differs
/// only as Asterisk altered it on the way last time (`written_back`) is not
/// written again: that stays a reported difference, not a write every pass.
/// `forced` extensions are re-applied live whatever the live dialplan says
/// (a reload may have lost them). `partial`: the files hold only the units
/// of some tenants (an empty dialplan is then not one never written, and
/// new contexts go live).
pub fn plan_writes(current: &Files, desired: &Files, written_back: &WrittenBack, forced: &[(String, String)], partial: bool) -> Vec<(&'static str, Write)> {
    let mut writes = Vec::new();
    for (&file, now) in current {
        let wanted = &desired[file];
        let altered_on_the_way = written_back.get(file).is_some_and(|(written, back)| written == wanted && back == now);
        let is_dialplan = file == EXTENSIONS_FILE;
        let differs = now != wanted && !altered_on_the_way;
        if !differs && !(is_dialplan && !forced.is_empty()) {
            continue;
        }
        let live = is_dialplan.then(|| if partial { IncrementalPlan::between(now, wanted) } else { IncrementalPlan::new(now, wanted) }).flatten();
        writes.push((
            file,
            match live {
                Some(mut plan) => {
                    plan.force(forced, wanted);
                    Write::Live(plan)
                }
                None => Write::Whole,
            },
        ));
    }
    writes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::verdict::PJSIP_FILE;

    fn section(name: &str, lines: &[(&str, &str)]) -> Section {
        Section { name: name.into(), lines: lines.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    fn files(pjsip: Vec<Section>, dialplan: Vec<Section>) -> Files {
        Files::from([(PJSIP_FILE, pjsip), (EXTENSIONS_FILE, dialplan)])
    }

    fn kinds(writes: &[(&'static str, Write)]) -> Vec<(&'static str, &'static str)> {
        writes.iter().map(|(file, write)| (*file, if matches!(write, Write::Live(_)) { "live" } else { "whole" })).collect()
    }

    #[test]
    fn only_what_differs_is_written_and_the_dialplan_live() {
        let endpoint = vec![section("trunk", &[("type", "endpoint")])];
        let dialplan = vec![section("out", &[("exten", "_0X.,1,NoOp(a)"), ("same", "n(dial),Dial(PJSIP/x)")])];
        let current = files(endpoint.clone(), dialplan.clone());
        assert!(plan_writes(&current, &current, &WrittenBack::new(), &[], false).is_empty());
        let route = vec![section("out", &[("exten", "_0X.,1,NoOp(b)"), ("same", "n(dial),Dial(PJSIP/x)")])];
        assert_eq!(kinds(&plan_writes(&current, &files(endpoint.clone(), route.clone()), &WrittenBack::new(), &[], false)), [(EXTENSIONS_FILE, "live")]);
        let trunk = vec![section("trunk", &[("type", "endpoint"), ("context", "in")])];
        assert_eq!(kinds(&plan_writes(&current, &files(trunk, route), &WrittenBack::new(), &[], false)), [(EXTENSIONS_FILE, "live"), (PJSIP_FILE, "whole")]);
    }

    #[test]
    fn a_value_asterisk_alters_on_the_way_is_not_written_every_pass() {
        let wanted = vec![section("trunk", &[("type", "endpoint"), ("callerid", "A <1>")])];
        let back = vec![section("trunk", &[("type", "endpoint"), ("callerid", "\"A\" <1>")])];
        let current = files(back.clone(), vec![]);
        let desired = files(wanted.clone(), vec![]);
        assert_eq!(kinds(&plan_writes(&current, &desired, &WrittenBack::new(), &[], false)), [(PJSIP_FILE, "whole")]);
        let written_back = WrittenBack::from([(PJSIP_FILE, (wanted, back))]);
        assert!(plan_writes(&current, &desired, &written_back, &[], false).is_empty());
    }

    #[test]
    fn a_new_tenants_contexts_go_live_when_only_some_units_are_compared() {
        let new = files(vec![], vec![section("out-new", &[("exten", "_0X.,1,NoOp(a)"), ("same", "n(dial),Dial(PJSIP/x)")])]);
        let nothing = files(vec![], vec![]);
        assert_eq!(kinds(&plan_writes(&nothing, &new, &WrittenBack::new(), &[], false)), [(EXTENSIONS_FILE, "whole")], "a dialplan never written");
        assert_eq!(kinds(&plan_writes(&nothing, &new, &WrittenBack::new(), &[], true)), [(EXTENSIONS_FILE, "live")], "a tenant new to a dialplan");
    }

    #[test]
    fn forced_extensions_are_reapplied_live_even_when_equal() {
        let dialplan = vec![section("out", &[("exten", "100,1,NoOp()")])];
        let current = files(vec![], dialplan);
        let writes = plan_writes(&current, &current, &WrittenBack::new(), &[("out".into(), "100".into())], false);
        let Some((_, Write::Live(plan))) = writes.first() else { panic!("{writes:?}") };
        assert_eq!(plan.touched(), [("out".to_string(), "100".to_string())]);
    }
}
