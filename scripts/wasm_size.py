#!/usr/bin/env python3
"""What the browser app's wasm is made of (no twiggy needed).

    scripts/wasm_size.py FILE.wasm [--top N]
    scripts/wasm_size.py --split dist/app-HASH/

Prints the file's size raw and gzipped, the size of each section, and the
code size per crate and the biggest functions, from the `name` section
(cargo's wasm32 build before wasm-bindgen keeps it:
target/frontend/wasm32-unknown-unknown/wasm-release/patchbay-frontend.wasm).

With --split, the built app's directory (scripts/build-wasm.sh): what the
first load fetches (the main module and its JavaScript), then for each
group of pages what showing one of them first fetches on top (the group's
module and the chunks it needs, read from the loader `__wasm_split.js`),
gzipped file by file as the server sends them.
"""

import gzip
import os
import re
import sys
from collections import Counter


def leb(data, i):
    result = shift = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, i


def sections(data):
    i = 8
    while i < len(data):
        kind = data[i]
        size, j = leb(data, i + 1)
        yield kind, data[j:j + size]
        i = j + size


def demangle_path(name):
    """`_ZN4core3fmt5write17h…E` → ['core', 'fmt', 'write']."""
    if name.startswith("_ZN"):
        parts, i = [], 3
        while i < len(name) and name[i].isdigit():
            j = i
            while name[j].isdigit():
                j += 1
            n = int(name[i:j])
            parts.append(name[j:j + n])
            i = j + n
        return [p for p in parts if not (p.startswith("h") and len(p) == 17)]
    if name.startswith("_R"):
        return ["(v0) " + name[:40]]
    return [name]


def crate_of(path):
    first = path[0] if path else "?"
    if first.startswith("_<") or first.startswith("<"):
        # `<T as Trait>::f`: the implementing type's crate.
        inner = first.lstrip("_<").split("..")[0].split("$")[0]
        return inner or first
    return first


LOADER = re.compile(
    r'const (__wasm_split_load_\w+|__chunk_\d+) = (?:wrapAsyncCb\()?makeLoad\(.*?new URL\("\./([^"]+)".*?, \[([^\]]*)\]',
    re.S)


def split_report(app):
    def gz(name):
        return len(gzip.compress(open(os.path.join(app, name), "rb").read(), 9))

    first = ("patchbay-frontend_bg.wasm", "patchbay-frontend.js", "__wasm_split.js")
    first_gz = sum(gz(f) for f in first)
    print(f"first load (the shell, the login page, what every page shares): {first_gz:,} B gzipped")
    for f in first:
        print(f"  {f:<40} {os.path.getsize(os.path.join(app, f)):>10,} B  gzipped {gz(f):>9,} B")
    loaders = {}
    for name, file, deps in LOADER.findall(open(os.path.join(app, "__wasm_split.js")).read()):
        loaders[name] = (file, [d.strip() for d in deps.split(",") if d.strip()])

    def files_of(name, seen):
        if name in seen:
            return
        seen.add(name)
        file, deps = loaders[name]
        yield file
        for dep in deps:
            yield from files_of(dep, seen)

    pages = sorted(n for n in loaders if n.startswith("__wasm_split_load_"))
    print(f"\neach group of pages, shown first, on top of the first load ({len(loaders) - len(pages)} shared chunks):")
    every = set()
    for page in pages:
        files = list(files_of(page, set()))
        every.update(files)
        label = page.removeprefix("__wasm_split_load_")
        print(f"  {label:<20} {sum(gz(f) for f in files):>9,} B gzipped in {len(files):>3} files")
    total = first_gz + sum(gz(f) for f in every)
    print(f"\nevery file of the app: {total:,} B gzipped")


def main():
    if sys.argv[1] == "--split":
        split_report(sys.argv[2])
        return
    path = sys.argv[1]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 25
    data = open(path, "rb").read()
    print(f"{path}: {len(data):,} B, gzipped {len(gzip.compress(data, 9)):,} B")
    names_of = {0: "custom", 1: "type", 2: "import", 3: "function", 5: "memory", 6: "global", 7: "export",
                9: "element", 10: "code", 11: "data", 12: "datacount"}
    bodies, imports, func_names = [], 0, {}
    for kind, body in sections(data):
        label = names_of.get(kind, str(kind))
        if kind == 0:
            n, j = leb(body, 0)
            label = "custom " + body[j:j + n].decode(errors="replace")
            if body[j:j + n] == b"name":
                k = j + n
                while k < len(body):
                    sub, k = body[k], k + 1
                    size, k = leb(body, k)
                    if sub == 1:
                        count, m = leb(body, k)
                        for _ in range(count):
                            idx, m = leb(body, m)
                            ln, m = leb(body, m)
                            func_names[idx] = body[m:m + ln].decode(errors="replace")
                            m += ln
                    k += size
        if kind == 2:
            count, j = leb(body, 0)
            for _ in range(count):
                for _ in range(2):
                    ln, j = leb(body, j)
                    j += ln
                desc = body[j]
                j += 1
                if desc == 0:
                    _, j = leb(body, j)
                    imports += 1
                elif desc == 1:
                    j += 1
                    flag = body[j]; j += 1
                    _, j = leb(body, j)
                    if flag & 1:
                        _, j = leb(body, j)
                elif desc == 2:
                    flag = body[j]; j += 1
                    _, j = leb(body, j)
                    if flag & 1:
                        _, j = leb(body, j)
                else:
                    j += 2
        if kind == 10:
            count, j = leb(body, 0)
            for _ in range(count):
                size, j2 = leb(body, j)
                bodies.append(j2 - j + size)
                j = j2 + size
        print(f"  {label:<24} {len(body):>10,} B  gzipped {len(gzip.compress(body, 9)):>9,} B")
    if not bodies:
        return
    by_crate, by_fn = Counter(), Counter()
    for n, size in enumerate(bodies):
        name = func_names.get(imports + n, f"func{imports + n}")
        p = demangle_path(name)
        by_crate[crate_of(p)] += size
        by_fn["::".join(p)[:110]] += size
    total = sum(bodies)
    print(f"\ncode by crate ({len(bodies):,} functions, {total:,} B):")
    for crate, size in by_crate.most_common(top):
        print(f"  {size:>9,} B {100 * size / total:5.1f}%  {crate}")
    print(f"\nbiggest functions:")
    for fn, size in by_fn.most_common(top):
        print(f"  {size:>9,} B  {fn}")


if __name__ == "__main__":
    main()
