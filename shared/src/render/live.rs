//! The live form of a rendered extension.
//!
//! Asterisk's live dialplan edits (AMI `DialplanExtensionAdd`, the CLI's
//! `dialplan add extension`) take a numeric priority and give it no label:
//! pbx_config passes no label to `ast_add_extension`. An extension whose
//! priorities carry labels (`same => n(dial),…`) is therefore added live with
//! every jump to one of its own labels (`Goto(dial)`, `GotoIf(cond?a:b)`)
//! resolved to that label's number: the same call flow, and a later reload
//! of the file brings the labels back.

/// One priority as a live edit adds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePriority {
    pub number: usize,
    pub application: String,
    pub data: String,
}

/// The priorities of one extension as written in a context (`exten` then its
/// `same` lines, values as the file has them: `NAME,1,App(data)`,
/// `n(label),App(data)`), numbered, with jumps to their labels resolved.
/// `None` for what this does not express (explicit priorities other than 1
/// and `n`, a line without an application).
pub fn live_priorities(lines: &[(String, String)]) -> Option<Vec<LivePriority>> {
    let mut labels = Vec::new();
    let mut parsed = Vec::new();
    for (index, (key, value)) in lines.iter().enumerate() {
        let value = value.trim_start_matches('>').trim();
        let rest = if key.trim() == "exten" { value.split_once(',')?.1 } else { value };
        let (priority, application) = rest.split_once(',')?;
        let (step, label) = match priority.trim().split_once('(') {
            Some((step, label)) => (step, Some(label.strip_suffix(')')?)),
            None => (priority.trim(), None),
        };
        if step != if index == 0 { "1" } else { "n" } {
            return None;
        }
        if let Some(label) = label {
            labels.push((label.to_string(), index + 1));
        }
        let application = application.trim();
        let (application, data) = match application.split_once('(') {
            Some((app, data)) => (app.trim(), data.strip_suffix(')')?),
            None => (application, ""),
        };
        if application.is_empty() {
            return None;
        }
        parsed.push((application.to_string(), data.to_string()));
    }
    let number_of = |target: &str| labels.iter().find(|(label, _)| label == target.trim()).map(|(_, number)| number.to_string());
    Some(
        parsed
            .into_iter()
            .enumerate()
            .map(|(index, (application, data))| {
                let data = match application.as_str() {
                    // `Goto(label)`: one argument, a priority of this extension.
                    "Goto" if !data.contains(',') => number_of(&data).unwrap_or(data),
                    // `GotoIf(cond?then[:else])`: each branch that is a label.
                    "GotoIf" => match data.rsplit_once('?') {
                        Some((condition, branches)) => {
                            let branches: Vec<String> = branches
                                .split(':')
                                .map(|branch| if branch.contains(',') { branch.to_string() } else { number_of(branch).unwrap_or(branch.to_string()) })
                                .collect();
                            format!("{condition}?{}", branches.join(":"))
                        }
                        None => data,
                    },
                    _ => data,
                };
                LivePriority { number: index + 1, application, data }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(lines: &[(&str, &str)]) -> Vec<(String, String)> {
        lines.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn check(input: &[(&str, &str)], expected: &[(&str, &str)]) {
        let live = live_priorities(&lines(input)).expect("expressible live");
        let got: Vec<(String, String)> = live.iter().map(|p| (p.application.clone(), p.data.clone())).collect();
        let want: Vec<(String, String)> = expected.iter().map(|(a, d)| (a.to_string(), d.to_string())).collect();
        assert_eq!(got, want);
        assert!(live.iter().enumerate().all(|(index, p)| p.number == index + 1));
    }

    #[test]
    fn jumps_to_labels_become_their_numbers() {
        check(
            &[
                ("exten", "_0X.,1,NoOp(outcall 1)"),
                ("same", "n,GotoIf(${PB_SET}?cid_user)"),
                ("same", "n(cid_route),NoOp(route)"),
                ("same", "n,Goto(dial)"),
                ("same", "n(cid_user),Set(CALLERID(num)=${PB_NUM})"),
                ("same", "n(dial),Gosub(pb-outcall-1,s,1(${EXTEN}))"),
                ("same", "n,GotoIf($[\"${DIALSTATUS}\" = \"BUSY\"]?cid_route:dial)"),
                ("same", "n,Hangup()"),
            ],
            &[
                ("NoOp", "outcall 1"),
                ("GotoIf", "${PB_SET}?5"),
                ("NoOp", "route"),
                ("Goto", "6"),
                ("Set", "CALLERID(num)=${PB_NUM}"),
                ("Gosub", "pb-outcall-1,s,1(${EXTEN})"),
                ("GotoIf", "$[\"${DIALSTATUS}\" = \"BUSY\"]?3:6"),
                ("Hangup", ""),
            ],
        );
    }

    #[test]
    fn jumps_elsewhere_and_unknown_labels_stay() {
        check(
            &[("exten", "s,1,Goto(other,100,1)"), ("same", "n,Goto(nowhere)"), ("same", "n,GotoIf(${X}?other,s,1)")],
            &[("Goto", "other,100,1"), ("Goto", "nowhere"), ("GotoIf", "${X}?other,s,1")],
        );
    }

    #[test]
    fn explicit_priorities_are_not_expressed() {
        assert_eq!(live_priorities(&lines(&[("exten", "s,1,NoOp()"), ("same", "3,Hangup()")])), None);
        assert_eq!(live_priorities(&lines(&[("exten", "s,2,NoOp()")])), None);
        assert!(live_priorities(&lines(&[("exten", "s,1(start),NoOp()"), ("same", "n,Goto(start)")])).is_some());
    }
}
