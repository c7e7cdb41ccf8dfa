//! The modules of `backend/src` form layers: no import cycle between them
//! (issue #12). Reads the sources, as `ARCHITECTURE.md` describes: a
//! module's imports are the `crate::…` paths its files name outside
//! comments and its `mod tests`, counted per top-level module (`api`
//! with all its submodules is one).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_module_imports_a_module_that_imports_it() {
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.len() > 10 && graph["api"].contains("store"), "the scan reads the sources: {graph:?}");
    let cyclic = in_or_above_a_cycle(&graph);
    let edges: Vec<String> = cyclic.iter().map(|module| format!("{module} -> {:?}", graph[module].intersection(&cyclic).collect::<Vec<_>>())).collect();
    assert!(cyclic.is_empty(), "import cycles among these modules:\n{}", edges.join("\n"));
}

#[test]
fn the_scan_finds_a_cycle_and_reads_grouped_imports() {
    let graph = Graph::from([
        ("a".into(), parse_imports("use crate::{b::X, c};").into_iter().collect()),
        ("b".into(), parse_imports("// crate::a\nfn f() { crate::c::g() }").into_iter().collect()),
        ("c".into(), parse_imports("use crate::a;\n#[cfg(test)]\nmod tests { use crate::d; }").into_iter().collect()),
        ("d".into(), BTreeSet::new()),
    ]);
    assert_eq!(graph["a"], BTreeSet::from(["b".into(), "c".into()]));
    assert_eq!(graph["b"], BTreeSet::from(["c".into()]), "comments do not count");
    assert_eq!(graph["c"], BTreeSet::from(["a".into()]), "test modules do not count");
    assert_eq!(in_or_above_a_cycle(&graph), BTreeSet::from(["a".into(), "b".into(), "c".into()]));
}

/// Top-level module → the other top-level modules it imports.
fn module_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
            continue;
        }
        let relative = path.strip_prefix(src).unwrap();
        let top = relative.components().next().unwrap().as_os_str().to_str().unwrap().trim_end_matches(".rs").to_string();
        if path.extension().is_none_or(|ext| ext != "rs") || top == "main" || top == "lib" {
            continue;
        }
        let imports = parse_imports(&std::fs::read_to_string(&path).unwrap());
        graph.entry(top.clone()).or_default().extend(imports.into_iter().filter(|module| *module != top));
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    graph.values_mut().for_each(|imports| imports.retain(|module| modules.contains(module)));
    graph
}

/// The first segment of every `crate::` path in `source`, outside line
/// comments and a trailing `#[cfg(test)] mod tests`.
fn parse_imports(source: &str) -> BTreeSet<String> {
    let mut code = String::new();
    for line in source.lines() {
        code.push_str(line.split("//").next().unwrap());
        code.push('\n');
    }
    if let Some(at) = code.match_indices("#[cfg(test)]").map(|(at, _)| at).find(|at| code[at + 12..].trim_start().starts_with("mod tests")) {
        code.truncate(at);
    }
    let ident = |text: &str| text.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect::<String>();
    let mut imports = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + 7..];
        match rest.strip_prefix('{') {
            // `crate::{a, b::c, d::{e, f}}`: the first segment of each item.
            Some(group) => {
                let mut depth = 0;
                let mut item_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if c.is_whitespace() => {}
                        _ if item_start => {
                            imports.insert(ident(&group[i..]));
                            item_start = false;
                        }
                        _ => {}
                    }
                }
            }
            None => {
                imports.insert(ident(rest));
            }
        }
    }
    imports.remove("");
    imports
}

/// The modules left once every module whose imports are all removed is
/// removed, again and again (a topological sort): those on a cycle and
/// those above one. Empty when the graph is layered.
fn in_or_above_a_cycle(graph: &Graph) -> BTreeSet<String> {
    let mut left: BTreeSet<String> = graph.keys().cloned().collect();
    loop {
        let free: Vec<String> = left.iter().filter(|module| graph[*module].iter().all(|import| !left.contains(import))).cloned().collect();
        if free.is_empty() {
            return left;
        }
        free.iter().for_each(|module| {
            left.remove(module);
        });
    }
}
