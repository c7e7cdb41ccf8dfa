//! Fuzzes the parser and the lookups: nothing may panic or hang, and the
//! compiled index must answer exactly like the linear scan.
//!
//! The input is read as lines of a tiny dialplan script:
//! `c NAME` switches context, `e NAME` adds an extension, `i NAME` an include,
//! `g PATTERN` an ignore pattern, `q STRING` queries every context.
#![no_main]

use std::cmp::Ordering;

use libfuzzer_sys::fuzz_target;
use patchbay_shared::pattern::{DialplanBuilder, Extension, compare};

fuzz_target!(|data: &[u8]| {
    let script = String::from_utf8_lossy(data);
    let mut builder = DialplanBuilder::new();
    let mut context = String::from("c");
    let mut contexts = vec![context.clone()];
    let mut queries = Vec::new();
    let mut extensions = Vec::new();
    for line in script.lines() {
        let mut chars = line.chars();
        let command = chars.next();
        let argument = chars.as_str();
        let argument = argument.strip_prefix(' ').unwrap_or(argument);
        match command {
            Some('c') => {
                context = argument.to_owned();
                contexts.push(context.clone());
                builder.add_context(&context);
            }
            Some('e') => {
                if let Ok(extension) = Extension::parse(argument) {
                    extensions.push(extension);
                }
                let _ = builder.add_extension(&context, argument);
            }
            Some('i') => builder.add_include(&context, argument),
            Some('g') => {
                let _ = builder.add_ignorepat(&context, argument);
            }
            _ => queries.push(line.strip_prefix("q ").unwrap_or(line).to_owned()),
        }
    }
    for a in &extensions {
        for b in &extensions {
            assert_eq!(compare(a, b), compare(b, a).reverse());
            if compare(a, b) == Ordering::Equal {
                assert_eq!(a.is_pattern(), b.is_pattern());
            }
        }
    }
    let dialplan = builder.build();
    let reference = dialplan.linear_scan();
    for dialled in &queries {
        for context in &contexts {
            let matches = dialplan.matches(context, dialled);
            assert_eq!(matches, reference.matches(context, dialled));
            assert_eq!(dialplan.winner(context, dialled).as_ref(), matches.first());
            assert_eq!(
                dialplan.canmatch(context, dialled),
                reference.canmatch(context, dialled)
            );
            assert_eq!(
                dialplan.matchmore(context, dialled),
                reference.matchmore(context, dialled)
            );
            let _ = dialplan.ignorepat(context, dialled);
        }
    }
});
