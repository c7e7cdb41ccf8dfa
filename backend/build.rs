//! With the `embed-frontend` feature, compiles the built browser app (Trunk's
//! `dist/`, or `PATCHBAY_EMBED_DIST`) into the binary as a table of
//! `(path, bytes)`, so an installed `patchbay` needs no files beside it.
//! Without the feature the table is empty and nothing is read.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PATCHBAY_EMBED_DIST");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_frontend.rs");
    let mut table = String::from("pub static FILES: &[(&str, &[u8])] = &[\n");
    if env::var_os("CARGO_FEATURE_EMBED_FRONTEND").is_some() {
        let dist = env::var_os("PATCHBAY_EMBED_DIST").map(PathBuf::from).unwrap_or_else(|| {
            Path::new(&env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("../dist")
        });
        let dist = dist.canonicalize().unwrap_or_else(|_| {
            panic!("embed-frontend: {} does not exist; build the browser app first (trunk build --release)", dist.display())
        });
        assert!(dist.join("index.html").is_file(), "embed-frontend: {} has no index.html", dist.display());
        // A directory here makes cargo rerun this script when any file below changes
        // (Trunk's hashed file names change on every rebuild of the app).
        println!("cargo:rerun-if-changed={}", dist.display());
        let mut files = Vec::new();
        collect(&dist, &mut files);
        files.sort();
        for file in files {
            let relative = file.strip_prefix(&dist).expect("below dist").to_str().expect("UTF-8 file name").replace('\\', "/");
            let absolute = file.to_str().expect("UTF-8 path");
            writeln!(table, "    ({relative:?}, include_bytes!({absolute:?})),").expect("writing to a String");
        }
    }
    table.push_str("];\n");
    fs::write(out, table).expect("writing embedded_frontend.rs");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("reading the browser app's directory") {
        let path = entry.expect("reading a directory entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
