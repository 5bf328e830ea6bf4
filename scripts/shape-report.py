#!/usr/bin/env python3
"""Figures about the code's shape, from the tree it runs in (or --root DIR).

Prints: the largest source files, the longest Rust functions, import cycles
between the relay's modules, the error types of the relay's HTTP side, and
contract values that are written in more than one place. Used for the
before/after table of a reshaping:

    scripts/shape-report.py                    # this checkout
    git worktree add /tmp/before <rev> && scripts/shape-report.py --root /tmp/before
"""

import argparse
import os
import re
import sys

SKIP_DIRS = {"target", "node_modules", "vendor", ".git", ".tools", "fuzz", "www/widget", "www/console"}


def sources(root, exts):
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        dirs[:] = [x for x in dirs if os.path.normpath(os.path.join(rel, x)) not in SKIP_DIRS and x not in SKIP_DIRS]
        for f in files:
            if f.endswith(exts):
                yield os.path.normpath(os.path.join(rel, f))


def is_test_path(p):
    return p.startswith("tests/") or "/tests/" in p or p.endswith("/tests.rs") or "browser/" in p


def strip_tests(text):
    """Rust source without its trailing `#[cfg(test)] mod tests { … }`."""
    m = re.search(r"\n#\[cfg\(test\)\]\s*\nmod tests", text)
    return text[: m.start()] if m else text


def functions(text):
    """(name, lines) of every `fn` body, by brace matching (strings and
    comments are blanked first so braces inside them do not count)."""
    blank = re.sub(r'//[^\n]*|r#+".*?"#+|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])\'', lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    out = []
    for m in re.finditer(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)", blank):
        i = blank.find("{", m.end())
        semi = blank.find(";", m.end())
        if i < 0 or (0 <= semi < i):
            continue  # a declaration without a body
        depth, j = 0, i
        while j < len(blank):
            c = blank[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        start = blank.count("\n", 0, m.start()) + 1
        end = blank.count("\n", 0, j) + 1
        out.append((m.group(1), end - start + 1, start))
    return out


def relay_module(path):
    """relay/src/api/sites.rs → api; relay/src/http.rs → http."""
    rest = path[len("relay/src/"):]
    name = rest.split("/")[0]
    return name[:-3] if name.endswith(".rs") else name


def relay_cycles(root):
    graph = {}
    for p in sources(os.path.join(root, "relay/src"), (".rs",)):
        path = "relay/src/" + p
        mod = relay_module(path)
        if mod in ("lib", "main", "bin"):
            continue
        text = strip_tests(open(os.path.join(root, path), encoding="utf-8").read())
        deps = set(re.findall(r"\bcrate::([a-z_]+)", text))
        deps |= set(re.findall(r"\buse crate::\{([^}]*)\}", text) and
                    [d.strip().split("::")[0] for g in re.findall(r"\buse crate::\{([^}]*)\}", text) for d in g.split(",")])
        graph.setdefault(mod, set()).update(d for d in deps if d and d != mod)
    mods = set(graph)
    for k in graph:
        graph[k] &= mods
    cycles, seen = [], set()

    def dfs(node, stack):
        for n in sorted(graph.get(node, ())):
            if n in stack:
                cyc = stack[stack.index(n):] + [n]
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key)
                    cycles.append(" → ".join(cyc))
            elif len(stack) < 8:
                dfs(n, stack + [n])

    for m in sorted(graph):
        dfs(m, [m])
    return cycles


def http_error_types(root):
    """Error/refusal types defined in the relay outside the data path."""
    found = []
    for p in sources(os.path.join(root, "relay/src"), (".rs",)):
        text = open(os.path.join(root, "relay/src", p), encoding="utf-8").read()
        for m in re.finditer(r"pub(?:\([a-z]+\))?\s+(?:struct|enum)\s+(Problem|Refuse|Refused|ApiError|[A-Za-z]*Error)\b|\n(?:struct|enum)\s+(Problem|Refuse|Refused|[A-Za-z]*Error)\b", text):
            found.append(f"{m.group(1) or m.group(2)} (relay/src/{p})")
    return sorted(set(found))


CONTRACT = {
    "default greeting (en)": r"How can we help",
    "reconnect backoff cap": r"(?:BACKOFF_MAX_MS|RECONNECT_MAX_MS)\s*:\s*\w+\s*=\s*[\d_.]+|Math\.min\(\s*30000|reconnect_max_ms\s*:\s*\d+",
    "#rgb/#rrggbb colour check": r"fn valid_colou?r",
    "effective file types rule": r"file_types\s*\.clone\(\)\s*\.unwrap_or|fn effective_file_types|\.file_types\s*\.get_or_insert",
    "placeholder text (en)": r"Write a message",
}


def contract_copies(root):
    rows = []
    files = [p for p in sources(root, (".rs", ".js")) if not is_test_path(p)]
    for what, pat in CONTRACT.items():
        where = []
        for p in files:
            text = open(os.path.join(root, p), encoding="utf-8", errors="replace").read()
            if p.endswith(".rs"):
                text = strip_tests(text)
            n = len(re.findall(pat, text))
            if n:
                where.append(f"{p}×{n}" if n > 1 else p)
        rows.append((what, where))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--top", type=int, default=8)
    a = ap.parse_args()
    root = os.path.abspath(a.root)

    rs = [p for p in sources(root, (".rs",)) if not is_test_path(p)]
    sizes = []
    for p in rs + [p for p in sources(root, (".js",)) if p.startswith("www/")]:
        with open(os.path.join(root, p), encoding="utf-8", errors="replace") as f:
            sizes.append((sum(1 for _ in f), p))
    sizes.sort(reverse=True)
    print(f"## largest source files (outside tests and vendored code)")
    for n, p in sizes[: a.top]:
        print(f"  {n:5}  {p}")
    over = [p for n, p in sizes if n > 700]
    print(f"  files over 700 lines: {len(over)}")

    fns = []
    for p in rs:
        text = strip_tests(open(os.path.join(root, p), encoding="utf-8").read())
        for name, lines, line in functions(text):
            fns.append((lines, f"{name} ({p}:{line})"))
    fns.sort(reverse=True)
    print("## longest functions (outside tests)")
    for n, what in fns[: a.top]:
        print(f"  {n:5}  {what}")
    print(f"  functions over 100 lines: {sum(1 for n, _ in fns if n > 100)}")

    cyc = relay_cycles(root)
    print(f"## relay import cycles: {len(cyc)}")
    for c in cyc:
        print(f"  {c}")

    errs = http_error_types(root)
    print(f"## relay error/refusal types: {len(errs)}")
    for e in errs:
        print(f"  {e}")

    print("## contract values written in more than one place")
    for what, where in contract_copies(root):
        mark = "  " if len(where) <= 1 else "!!"
        print(f"  {mark} {what}: {len(where)} — {', '.join(where) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
