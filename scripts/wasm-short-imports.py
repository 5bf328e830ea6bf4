#!/usr/bin/env python3
"""Shortens the widget's wasm-bindgen import names, in the .wasm and its JS
glue alike: `__wbg_appendChild_dbf7ad2f48413560` becomes `a`, `b`, … .

wasm-bindgen names each import after the JS it calls plus a 16-hex-digit
hash, and writes every name twice (the wasm's import section, the glue's
import object). Hex hashes do not compress: 103 of them cost the widget
~3.9 KB gzipped of its 40 KB budget (measured: wasm 35,659 → 33,135 B,
glue 4,591 → 3,160 B). Only the names change; the import object is the
glue's own, so nothing outside these two files sees them.

Usage: wasm-short-imports.py <file.wasm> <glue.js>  (rewrites both in place;
exits non-zero and leaves both untouched if the glue does not hold each
name exactly once, e.g. after a wasm-bindgen change of format).
"""
import sys

MODULE = b"./kefu_widget_bg.js"
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def leb(b, i):
    """An unsigned LEB128 at b[i]: (value, index after it)."""
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def uleb(n):
    out = bytearray()
    while True:
        x, n = n & 0x7F, n >> 7
        out.append(x | 0x80 if n else x)
        if not n:
            return bytes(out)


def short(k):
    s = ""
    while True:
        s, k = LETTERS[k % 52] + s, k // 52
        if k == 0:
            return s


def limits(body, p):
    flags = body[p]
    _, p = leb(body, p + 1)
    if flags & 1:
        _, p = leb(body, p)
    return p


def rewrite(wasm):
    """The wasm with its glue imports renamed, and the renaming."""
    out, i, names = bytearray(wasm[:8]), 8, {}
    while i < len(wasm):
        sid = wasm[i]
        size, j = leb(wasm, i + 1)
        body = wasm[j : j + size]
        if sid != 2:
            out += wasm[i : j + size]
            i = j + size
            continue
        count, p = leb(body, 0)
        new = bytearray(uleb(count))
        for _ in range(count):
            ml, p = leb(body, p)
            mod = bytes(body[p : p + ml])
            p += ml
            fl, p = leb(body, p)
            field = bytes(body[p : p + fl])
            p += fl
            kind, start = body[p], p + 1
            p = start
            if kind == 0:  # function: a type index
                _, p = leb(body, p)
            elif kind == 1:  # table: reftype, limits
                p = limits(body, p + 1)
            elif kind == 2:  # memory: limits
                p = limits(body, p)
            elif kind == 3:  # global: valtype, mutability
                p += 2
            else:
                raise ValueError(f"import kind {kind}")
            if mod == MODULE and field.startswith(b"__wbg_"):
                field = names.setdefault(field.decode(), short(len(names))).encode()
            new += uleb(len(mod)) + mod + uleb(len(field)) + field
            new += bytes([kind]) + body[start:p]
        out += bytes([2]) + uleb(len(new)) + new
        i = j + size
    return bytes(out), names


def main():
    wasm_path, js_path = sys.argv[1], sys.argv[2]
    wasm = open(wasm_path, "rb").read()
    js = open(js_path, encoding="utf-8").read()
    new_wasm, names = rewrite(wasm)
    for long, s in names.items():
        if js.count(long) != 1 or js.count(long + ":") != 1:
            sys.exit(f"wasm-short-imports: {long} is not once a key of the glue: left as it is")
        js = js.replace(long + ":", s + ":")
    open(wasm_path, "wb").write(new_wasm)
    open(js_path, "w", encoding="utf-8").write(js)
    print(f"wasm-short-imports: {len(names)} imports renamed", file=sys.stderr)


if __name__ == "__main__":
    main()
