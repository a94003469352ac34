#!/usr/bin/env python3
"""abi_drift.py - checks that every ABI fact outside host/api and host/core agrees with them.

The source of truth is what tests/abi/abi_dump prints (built from host/api's import tables,
host/core/features.h and host/core/app.h). Checked against it, one group per line
("RESULT ok|FAIL group", details before it):
  - the C SDK's imports: a wasm probe compiled by the apps' clang references every function the
    headers declare with PORTAL_IMPORT; its imports and types (wasm-objdump) must match the table,
    and every table import must be declared (exceptions below);
  - WASI: every function wasi-libc can import is provided by the host with the same type;
  - the Zig SDK's imports: the same with a probe the pinned Zig compiles from ffi.zig;
  - feature bits and error codes of both SDKs: compiled probes assert each value;
  - the docs: every import signature, feature bit and error code stated in a docs/ table or in the
    first line of an import's section, and every table import documented somewhere.
Usage: abi_drift.py DUMP_FILE SOURCE_DIR WORK_DIR CLANG ZIG|- WASM_OBJDUMP
"""
import os
import re
import subprocess
import sys

# Imports the host tables have that an SDK does not declare, and why.
C_SDK_OMITS = {
    # WASI is the C library's (wasi-libc declares it), not the SDK's.
    ("wasi_snapshot_preview1", "*"),
}
ZIG_SDK_OMITS = {
    # Zig's std declares WASI itself.
    ("wasi_snapshot_preview1", "*"),
}
# Imports an SDK declares that portal-host's tables do not have: the firmware's Wi-Fi scan
# (docs/spec-net.md lists them with their WebAssembly types; checked against that instead).
SDK_ONLY = {("portal_net", n) for n in (
    "wifiScanStart", "wifiScanIsRunning", "wifiScanGetCount", "wifiScanGetBest",
    "wifiScanGetRecord")}
# Imports no doc needs to list one by one: WASI preview1 is specified by WASI itself
# (docs/abi.md#wasi says what portal-host does with it).
DOC_EXEMPT_MODULES = {"wasi_snapshot_preview1"}

WASM_VALTYPE = {"i32": "i", "i64": "I", "f32": "f", "f64": "F"}
results = []


def report(group, problems):
    for p in problems:
        print("  " + group + ": " + p)
    results.append((group, not problems))
    print("RESULT " + ("ok" if not problems else "FAIL") + " " + group, flush=True)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def omitted(omits, key):
    return key in omits or (key[0], "*") in omits


# ---------------------------------------------------------------- the truth
def load_dump(path):
    imports, features, errors = {}, {}, {}
    for line in read(path).splitlines():
        f = line.split()
        if f[0] == "import":
            imports[(f[1], f[2])] = (f[3], f[4])
        elif f[0] == "feature":
            features[f[1]] = int(f[2])
        elif f[0] == "error":
            errors[f[1]] = int(f[2])
    return imports, features, errors


def check_dump_complete(src, features, errors):
    problems = []
    named = set(re.findall(r"#define (PORTAL_FEATURES?_\w+)", read(src + "/host/core/features.h")))
    named.discard("PORTAL_FEATURES_H")  # the include guard
    if named != set(features):
        problems.append("only in features.h: %s; only in abi_dump: %s" % (
            sorted(named - set(features)), sorted(set(features) - named)))
    enum = re.search(r"enum \{([^}]*PORTAL_OK[^}]*)\}", read(src + "/host/core/app.h")).group(1)
    named = set(re.findall(r"(PORTAL_\w+)\s*=", enum))
    if named != set(errors):
        problems.append("only in app.h: %s; only in abi_dump: %s" % (
            sorted(named - set(errors)), sorted(set(errors) - named)))
    if not any(k[0] != "wasi_snapshot_preview1" for k in IMPORTS):
        problems.append("no import in the dump")
    report("abi_dump lists every feature bit and error code of host/core", problems)


# ---------------------------------------------------------------- wasm modules
def wasm_imports(objdump, wasm):
    """{(module, name): wasm type "params:results"} of a module's function imports."""
    out = subprocess.run([objdump, "-x", wasm], check=True, capture_output=True, text=True).stdout
    types = {}
    for m in re.finditer(r"- type\[(\d+)\] \(([^)]*)\) -> (\S+)", out):
        params = "".join(WASM_VALTYPE[t.strip()] for t in m.group(2).split(",") if t.strip())
        res = m.group(3)
        results_ = "" if res == "nil" else "".join(WASM_VALTYPE[t] for t in res.strip("()").split(","))
        types[int(m.group(1))] = params + ":" + results_
    imports = {}
    for m in re.finditer(r"- func\[\d+\] sig=(\d+) <[^>]*> <- (\w+)\.(\w+)", out):
        imports[(m.group(2), m.group(3))] = types[int(m.group(1))]
    return imports


def compare_imports(sdk, probe, declared, omits, doc_types):
    """Problems of one SDK: its imports against the table, and the table against it."""
    problems = []
    for key in sorted(declared):
        if key not in probe:
            problems.append("%s.%s is declared but not imported by the probe" % key)
    for key, wt in sorted(probe.items()):
        if key in IMPORTS:
            if IMPORTS[key][0] != wt:
                problems.append("%s.%s has type %s, host/api says %s" % (key + (wt, IMPORTS[key][0])))
        elif key in SDK_ONLY:
            if doc_types.get(key[1]) != wt:
                problems.append("%s.%s (firmware only) has type %s, the docs say %s"
                                % (key + (wt, doc_types.get(key[1]))))
        else:
            problems.append("%s.%s is not provided by the host" % key)
    for key in sorted(IMPORTS):
        if key not in declared and not omitted(omits, key):
            problems.append("%s.%s (host/api) is not declared by the %s" % (key + (sdk,)))
    return problems


# ---------------------------------------------------------------- C SDK
def c_declarations(src):
    """(module, import name, C name) of every PORTAL_IMPORT declaration, and the count of uses."""
    decls, uses = [], 0
    inc = src + "/sdk/c/include/portal"
    for h in sorted(os.listdir(inc)):
        text = re.sub(r"/\*.*?\*/", "", read(inc + "/" + h), flags=re.S)
        text = re.sub(r"#define PORTAL_IMPORT.*", "", text)
        uses += len(re.findall(r"\bPORTAL_IMPORT\(", text))
        for m in re.finditer(r"PORTAL_IMPORT\((\w+),\s*(\w+)\)[^;(]*?(\w+)\s*\(", text):
            decls.append((m.group(1), m.group(2), m.group(3)))
    return decls, uses


def c_probe_imports(src, work, clang):
    decls, uses = c_declarations(src)
    problems = [] if len(decls) == uses else [
        "found %d PORTAL_IMPORT declarations of %d uses (the parser missed some)" % (len(decls), uses)]
    headers = sorted(os.listdir(src + "/sdk/c/include/portal"))
    c = ["/* generated by tests/abi/abi_drift.py: references every C SDK import */"]
    c += ['#include <portal/%s>' % h for h in headers]
    c.append("typedef void (*abi_any_fn)(void);")
    c.append("static abi_any_fn const abi_refs[] = {")
    c += ["    (abi_any_fn)&%s," % d[2] for d in decls]
    c.append("};")
    c.append('__attribute__((export_name("abi_probe_import"))) abi_any_fn abi_probe_import(int i)')
    c.append("{ return abi_refs[i]; }")
    path = work + "/c_probe.c"
    with open(path, "w") as f:
        f.write("\n".join(c) + "\n")
    run = subprocess.run([clang, "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-std=c11",
                          "-Wall", "-Wextra", "-Werror", "-I" + src + "/sdk/c/include",
                          "-o", work + "/c_probe.wasm", path], capture_output=True, text=True)
    if run.returncode != 0:
        return None, problems + ["the C probe does not build:\n" + run.stderr]
    return ({(d[0], d[1]) for d in decls}, wasm_imports(OBJDUMP, work + "/c_probe.wasm")), problems


def check_c_values(src, work, clang):
    sdk = read(src + "/sdk/c/include/portal/portal.h")
    problems = []
    sdk_features = set(re.findall(r"#define (PP_FEATURE_\w+)", sdk))
    sdk_errors = set(re.findall(r"\b(PP_OK|PP_ERR_\w+)\s*=", sdk))
    host_features = {n.replace("PORTAL_", "PP_", 1) for n in FEATURES if n != "PORTAL_FEATURES_DESKTOP"}
    host_errors = {n.replace("PORTAL_", "PP_", 1) for n in ERRORS}
    for mine, theirs, what in ((sdk_features, host_features, "feature bit"),
                               (sdk_errors, host_errors, "error code")):
        for n in sorted(mine - theirs):
            problems.append("portal.h has %s %s, host/core has not" % (what, n))
        for n in sorted(theirs - mine):
            problems.append("portal.h lacks %s %s" % (what, n))
    c = ["/* generated by tests/abi/abi_drift.py: the C SDK's values against host/core's */",
         "#include <portal/portal.h>"]
    for n, v in FEATURES.items():
        pp = n.replace("PORTAL_", "PP_", 1)
        if pp in sdk_features:
            c.append('_Static_assert(%s == UINT64_C(%d), "%s is not %d (host/core)");' % (pp, v, pp, v))
    for n, v in ERRORS.items():
        pp = n.replace("PORTAL_", "PP_", 1)
        if pp in sdk_errors:
            c.append('_Static_assert(%s == %d, "%s is not %d (host/core)");' % (pp, v, pp, v))
    path = work + "/c_values.c"
    with open(path, "w") as f:
        f.write("\n".join(c) + "\n")
    run = subprocess.run([clang, "--target=wasm32-wasi", "-std=c11", "-fsyntax-only",
                          "-I" + src + "/sdk/c/include", path], capture_output=True, text=True)
    problems += re.findall(r"error: ([^\n]*)", run.stderr)
    if run.returncode != 0 and not problems:
        problems.append("the C value probe does not build:\n" + run.stderr)
    report("C SDK feature bits and error codes (portal.h) = host/core", problems)


def check_wasi(work, clang):
    """Every WASI function wasi-libc (the apps' C library) can import must be linked by the host
    with the same type. The host may have more (a newer preview1 function this libc lacks)."""
    pre = subprocess.run([clang, "--target=wasm32-wasi", "-E", "-P", "-"], input="#include <wasi/api.h>\n",
                         capture_output=True, text=True)
    names = sorted(set(re.findall(r"\b(__wasi_[a-z0-9_]+)\(", pre.stdout)))
    problems = [] if names else ["no __wasi_ function found in wasi/api.h:\n" + pre.stderr]
    c = ["/* generated by tests/abi/abi_drift.py: references every wasi-libc WASI call */",
         "#include <wasi/api.h>", "typedef void (*abi_any_fn)(void);",
         "static abi_any_fn const abi_refs[] = {"]
    c += ["    (abi_any_fn)&%s," % n for n in names]
    c += ["};", '__attribute__((export_name("abi_probe_wasi"))) abi_any_fn abi_probe_wasi(int i)',
          "{ return abi_refs[i]; }"]
    with open(work + "/wasi_probe.c", "w") as f:
        f.write("\n".join(c) + "\n")
    run = subprocess.run([clang, "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-std=c11",
                          "-o", work + "/wasi_probe.wasm", work + "/wasi_probe.c"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        problems.append("the WASI probe does not build:\n" + run.stderr)
    else:
        probe = wasm_imports(OBJDUMP, work + "/wasi_probe.wasm")
        wasi = {k: v for k, v in probe.items() if k[0] == "wasi_snapshot_preview1"}
        if len(wasi) < len(names):
            problems.append("%d __wasi_ functions but only %d imports" % (len(names), len(wasi)))
        for key, wt in sorted(probe.items()):
            if key not in IMPORTS:
                problems.append("%s.%s (wasi-libc) is not provided by the host" % key)
            elif IMPORTS[key][0] != wt:
                problems.append("%s.%s has type %s in wasi-libc, host/api says %s"
                                % (key + (wt, IMPORTS[key][0])))
        print("  wasi-libc imports checked: %d (host/api has %d)" % (
            len(wasi), sum(1 for k in IMPORTS if k[0] == "wasi_snapshot_preview1")))
    report("WASI imports of wasi-libc (wasi/api.h) = host/api", problems)


# ---------------------------------------------------------------- Zig SDK
def zig_build(zig, work, root, extra):
    return subprocess.run([zig, "build-lib", "-dynamic", "-rdynamic", "-target", "wasm32-wasi",
                           "-O", "ReleaseSmall", "--cache-dir", work + "/zig-cache",
                           "--global-cache-dir", work + "/zig-global-cache",
                           "--mod", "sdk::" + SRC + "/sdk/zig/sdk.zig", "--deps", "sdk", root,
                           "--name", "probe"] + extra, capture_output=True, text=True, cwd=work)


def zig_probe_imports(src, work, zig):
    ffi = read(src + "/sdk/zig/sdk/ffi.zig")
    declared = set(re.findall(r'^pub extern "(\w+)" fn (\w+)\(', ffi, re.M))
    problems = []
    if len(declared) != len(re.findall(r"\bextern\b", ffi)):
        problems.append("ffi.zig has extern declarations the parser missed")
    run = zig_build(zig, work, src + "/tests/abi/zig_imports_probe.zig",
                    ["-femit-bin=" + work + "/zig_probe.wasm"])
    if run.returncode != 0:
        return None, problems + ["the Zig probe does not build:\n" + run.stderr]
    return (declared, wasm_imports(OBJDUMP, work + "/zig_probe.wasm")), problems


def check_zig_values(work, zig):
    features = {n[len("PORTAL_FEATURE_"):].lower(): v for n, v in FEATURES.items()
                if n != "PORTAL_FEATURES_DESKTOP"}
    codes = {("ok" if n == "PORTAL_OK" else "code_" + n[len("PORTAL_ERR_"):].lower()): v
             for n, v in ERRORS.items()}
    z = ["//! generated by tests/abi/abi_drift.py: the Zig SDK's values against host/core's",
         'const sdk = @import("sdk");', "comptime {"]
    for n, v in features.items():
        z.append('    if (!@hasDecl(sdk.Feature, "%s")) @compileError("Feature.%s is missing");' % (n, n))
        z.append('    if (@field(sdk.Feature, "%s") != %d) @compileError("Feature.%s is not %d");'
                 % (n, v, n, v))
    for n, v in codes.items():
        z.append('    if (!@hasDecl(sdk.errors, "%s")) @compileError("errors.%s is missing");' % (n, n))
        z.append('    if (@field(sdk.errors, "%s") != %d) @compileError("errors.%s is not %d");'
                 % (n, v, n, v))
    known_f = " or ".join('eql(d.name, "%s")' % n for n in features)
    known_e = " or ".join('eql(d.name, "%s")' % n for n in codes)
    z += ["    for (@typeInfo(sdk.Feature).Struct.decls) |d|",
          "        if (!(%s)) @compileError(\"Feature.\" ++ d.name ++ \" is not in host/core\");" % known_f,
          "    for (@typeInfo(sdk.errors).Struct.decls) |d|",
          "        if ((eql(d.name, \"ok\") or startsWith(d.name, \"code_\")) and !(%s))" % known_e,
          "            @compileError(\"errors.\" ++ d.name ++ \" is not in host/core\");",
          "}",
          "fn eql(a: []const u8, b: []const u8) bool {",
          "    return @import(\"std\").mem.eql(u8, a, b);",
          "}",
          "fn startsWith(a: []const u8, b: []const u8) bool {",
          "    return @import(\"std\").mem.startsWith(u8, a, b);",
          "}"]
    path = work + "/zig_values.zig"
    with open(path, "w") as f:
        f.write("\n".join(z) + "\n")
    run = zig_build(zig, work, path, ["-fno-emit-bin"])
    problems = re.findall(r"error: ([^\n]*)", run.stderr)
    if run.returncode != 0 and not problems:
        problems.append("the Zig value probe does not build:\n" + run.stderr)
    report("Zig SDK feature bits and error codes (core.zig, error.zig) = host/core", problems)


# ---------------------------------------------------------------- docs
def wasm_type_of(text):
    """`(i32, i32) -> i32` or `(a: i32) -> ()` -> "ii:i"; None when it is not such a type."""
    m = re.fullmatch(r"\(([^)]*)\) -> (\(\)|i32|i64)", text.strip())
    if not m:
        return None
    params = [p.split(":")[-1].strip() for p in m.group(1).split(",") if p.strip()]
    if any(p not in WASM_VALTYPE for p in params):
        return None
    res = "" if m.group(2) == "()" else WASM_VALTYPE[m.group(2)]
    return "".join(WASM_VALTYPE[p] for p in params) + ":" + res


WAMR_SIG = re.compile(r"`(\([-a-zA-Z*~$]*\)[iIfF]?)`")
NAME_CELL = re.compile(r"(`\w+(\([^`]*\))?`( / |, )?)+( \((ext\.|extension)\))?")
# Prose forms that state facts (docs/extensions.md), matched on a doc's text with lines joined:
#   **Feature bit:** 33 — `PORTAL_FEATURE_X` (`1 << 33`; SDK `PP_FEATURE_X`)
#   Feature bit: `1 << 35` (`PORTAL_FEATURE_X`, SDK `PP_FEATURE_X`)
#   sockPoll(entries: *~, timeout_ms: i32) -> i32   WAMR "(*~i)i", wasm (i32, i32, i32) -> i32
PROSE_BIT = re.compile(r"\*\*Feature bit:\*\* (\d+) — `(PORTAL_FEATURE_\w+)` \(`1 << (\d+)`; SDK "
                       r"`(PP_FEATURE_\w+)`\)")
PROSE_BIT2 = re.compile(r"Feature bit: `1 << (\d+)` \(`(PORTAL_FEATURE_\w+)`, SDK `(PP_FEATURE_\w+)`\)")
PROSE_SIG = re.compile(r"^(\w+)\([^)]*\) -> \w+ +WAMR \"([^\"]*)\", wasm (\([^)]*\) -> \w+)$", re.M)


def doc_facts(src):
    """[(doc, line, kind, name, value)] with kind sig (WAMR), type (wasm), feature, error, absent."""
    facts = []
    docs = src + "/docs"
    for doc in sorted(f for f in os.listdir(docs) if f.endswith(".md")):
        section, exports = None, False
        for no, line in enumerate(read(docs + "/" + doc).splitlines(), 1):
            where = (doc, no)
            h = re.match(r"#+ `(\w+)\(", line)
            if line.startswith("#"):
                section = h.group(1) if h else None
                exports = "export" in line.lower()  # the app's exports are not host imports
                continue
            if line.lstrip().startswith("|") and not exports:
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                m = re.fullmatch(r"`(-?\d+)` \| `(PP_(?:OK|ERR_\w+))`", " | ".join(cells[:2]))
                if m:
                    facts.append(where + ("error", m.group(2), int(m.group(1))))
                m = re.fullmatch(r"(\d+) \| `(PP_FEATURE_\w+)`", " | ".join(cells[:2]))
                if m:
                    facts.append(where + ("feature", m.group(2), 1 << int(m.group(1))))
                names, typed = [], False
                for c in cells:
                    if NAME_CELL.fullmatch(c):
                        names, typed = re.findall(r"`(\w+)", c), False
                    elif names and wasm_type_of(c.strip("`")):
                        facts += [where + ("type", n, wasm_type_of(c.strip("`"))) for n in names]
                        typed = True
                    elif names and WAMR_SIG.fullmatch(c):
                        facts += [where + ("sig", n, c.strip("`")) for n in names]
                        names = []  # the first WAMR column is this host's (spec-net: then upstream's)
                    elif names and typed and c == "—":  # a type but no signature: not provided
                        facts += [where + ("absent", n, None) for n in names]
                        names = []
                    elif c == "":
                        names = []
                continue
            m = re.search(r"\*\*Signature:\*\* `(\w+)(\([^`]*)`, WAMR `([^`]*)`", line)
            if m:
                facts.append(where + ("type", m.group(1), wasm_type_of(m.group(2))))
                facts.append(where + ("sig", m.group(1), m.group(3)))
            if section and line.strip():  # the first line of text under an import's heading
                m = re.match(r"`(\([^`]*\) -> [^`]*)`", line)
                if m and wasm_type_of(m.group(1)):
                    facts.append(where + ("type", section, wasm_type_of(m.group(1))))
                m = re.search(r"WAMR(?: signature)? `([^`]*)`", line)
                if m:
                    facts.append(where + ("sig", section, m.group(1)))
                section = None
        text = read(docs + "/" + doc)
        joined = re.sub(r"\s*\n\s*", " ", text)
        def line_of(name):
            return text[:text.find(name)].count("\n") + 1
        for m in PROSE_BIT.finditer(joined):
            for n in (m.group(2), m.group(4)):
                for bit in sorted({int(m.group(1)), int(m.group(3))}):
                    facts.append((doc, line_of(n), "feature", n, 1 << bit))
        for m in PROSE_BIT2.finditer(joined):
            for n in (m.group(2), m.group(3)):
                facts.append((doc, line_of(n), "feature", n, 1 << int(m.group(1))))
        for m in PROSE_SIG.finditer(text):
            no = text[:m.start()].count("\n") + 1
            facts += [(doc, no, "sig", m.group(1), m.group(2)),
                      (doc, no, "type", m.group(1), wasm_type_of(m.group(3)))]
    return facts


def check_docs(src):
    facts = doc_facts(src)
    by_name = {}
    for key, (wt, sig) in IMPORTS.items():
        by_name.setdefault(key[1], []).append((key, wt, sig))
    problems, documented = [], set()
    pp_features = {n.replace("PORTAL_", "PP_", 1): v for n, v in FEATURES.items()}
    pp_errors = {n.replace("PORTAL_", "PP_", 1): v for n, v in ERRORS.items()}
    counts = {}
    for doc, no, kind, name, value in facts:
        counts[kind] = counts.get(kind, 0) + 1
        at = "docs/%s:%d" % (doc, no)
        rows = by_name.get(name, [])
        if kind == "feature":
            shown, name = name, name.replace("PORTAL_", "PP_", 1)  # prose may name host/core's
            if pp_features.get(name) != value:
                problems.append("%s: %s is bit %d, host/core says %s" % (
                    at, shown, value.bit_length() - 1,
                    "bit %d" % (pp_features[name].bit_length() - 1) if name in pp_features else "none"))
        elif kind == "error":
            if pp_errors.get(name) != value:
                problems.append("%s: %s is %d, host/core says %s" % (at, name, value, pp_errors.get(name)))
        elif kind == "absent":
            if rows:
                problems.append("%s: %s is listed as not provided, host/api has it" % (at, name))
        elif not rows:
            if not (kind == "type" and ("portal_net", name) in SDK_ONLY):
                problems.append("%s: %s is not an import of host/api" % (at, name))
        else:
            documented.add((rows[0][0], kind))
            want = rows[0][1] if kind == "type" else rows[0][2]
            if value != want:
                problems.append("%s: %s has %s %s, host/api says %s" % (
                    at, name, "WebAssembly type" if kind == "type" else "WAMR signature", value, want))
    for key in sorted(IMPORTS):
        for kind, what in (("type", "WebAssembly type"), ("sig", "WAMR signature")):
            if key[0] not in DOC_EXEMPT_MODULES and (key, kind) not in documented:
                problems.append("%s.%s (host/api): no doc states its %s" % (key + (what,)))
    stated = {n.replace("PORTAL_", "PP_", 1) for _, _, k, n, _ in facts if k in ("feature", "error")}
    for n in sorted(set(pp_features) - stated - {"PP_FEATURES_DESKTOP"}):
        problems.append("%s (host/core) is in no feature-bit table of docs/" % n)
    for n in sorted(set(pp_errors) - stated):
        problems.append("%s (host/core) is in no error-code table of docs/" % n)
    desktop = FEATURES["PORTAL_FEATURES_DESKTOP"]
    abi = read(src + "/docs/abi.md")
    m = re.search(r"`(0x[0-9A-Fa-f]+)` \(`PORTAL_FEATURES_DESKTOP`", abi)
    if not m or int(m.group(1), 16) != desktop:
        problems.append("docs/abi.md does not state PORTAL_FEATURES_DESKTOP as `%s`" % hex(desktop))
    for k in ("sig", "type", "feature", "error"):
        if not counts.get(k):
            problems.append("no %s fact found in docs/ (the parser is broken)" % k)
    print("  docs facts checked: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
    report("docs/ signature, feature-bit and error-code tables = host/api, host/core", problems)
    return {n: v for _, _, k, n, v in facts if k == "type"}


# ---------------------------------------------------------------- main
def main():
    global IMPORTS, FEATURES, ERRORS, SRC, OBJDUMP
    dump, SRC, work, clang, zig, OBJDUMP = sys.argv[1:7]
    IMPORTS, FEATURES, ERRORS = load_dump(dump)
    check_dump_complete(SRC, FEATURES, ERRORS)
    doc_types = check_docs(SRC)

    got, problems = c_probe_imports(SRC, work, clang)
    if got:
        problems += compare_imports("C SDK", got[1], got[0], C_SDK_OMITS, doc_types)
    report("C SDK imports (sdk/c/include/portal/*.h) = host/api", problems)
    check_c_values(SRC, work, clang)
    check_wasi(work, clang)

    if zig == "-":
        print("RESULT skip Zig SDK (no Zig in this build)")
    else:
        got, problems = zig_probe_imports(SRC, work, zig)
        if got:
            problems += compare_imports("Zig SDK", got[1], got[0], ZIG_SDK_OMITS, doc_types)
        report("Zig SDK imports (sdk/zig/sdk/ffi.zig) = host/api", problems)
        check_zig_values(work, zig)


if __name__ == "__main__":
    main()
