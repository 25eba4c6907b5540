#!/usr/bin/env python3
"""Renders charts with airlock and with real Helm (PyPI helm-python-sdk)
and compares the documents as data.

    target/venv/bin/python scripts/helm_conformance.py target/release/airlock [--only CHART] [--json OUT] [--bench]

Charts: the real ones in ../shared/testdata/real/charts (redis gets the
`common` library chart vendored into charts/, since nothing can be
fetched) and our own corner-case charts in tests/fixtures/charts. Value
sets: defaults, plus each tests/conformance/CHART/*.yaml.

Each template's output is split the way Helm splits manifests (on `---`
lines), each document trimmed and parsed; empty documents are dropped.
Helm renders twice: fields that differ between its own two renders
(random passwords, generated certificates, their checksums) are masked in
all three renders. Prints `N of M documents identical` per chart and value
set, and each difference. Exit status 1 if any document differs.
With --bench, also times each render (best of 5) for both.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

import helm_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL = os.path.join(ROOT, "..", "shared", "testdata", "real", "charts")
OWN = os.path.join(ROOT, "tests", "fixtures", "charts")
SETS = os.path.join(ROOT, "tests", "conformance")
RELEASE, NAMESPACE = "rel", "ns"
MASK = "<differs between helm's own renders>"


def charts():
    """(name, directory) of every chart to check, prepared for rendering."""
    work = tempfile.mkdtemp(prefix="conformance-")
    out = []
    for name in ("traefik", "redis", "cert-manager"):
        src = os.path.join(REAL, name)
        if not os.path.isdir(src):
            continue
        dst = os.path.join(work, name)
        shutil.copytree(src, dst)
        if name == "redis":
            os.makedirs(os.path.join(dst, "charts"), exist_ok=True)
            shutil.copytree(os.path.join(REAL, "common"), os.path.join(dst, "charts", "common"))
        out.append((name, dst))
    if os.path.isdir(OWN):
        for name in sorted(os.listdir(OWN)):
            out.append((name, os.path.join(OWN, name)))
    return work, out


def value_sets(chart):
    sets = [("defaults", None)]
    d = os.path.join(SETS, chart)
    if os.path.isdir(d):
        for f in sorted(os.listdir(d)):
            if f.endswith(".yaml"):
                sets.append((f[:-5], os.path.join(d, f)))
    return sets


SPLIT = re.compile(r"(?:^|\s*\n)---\s*")


def documents(manifests):
    """template path -> list of parsed documents, as Helm splits them."""
    docs = {}
    for path, text in manifests.items():
        if path.endswith("NOTES.txt"):
            continue
        parsed = []
        for part in SPLIT.split(text):
            part = part.strip()
            if not part:
                continue
            try:
                doc = yaml.safe_load(part)
            except yaml.YAMLError as e:
                doc = {"<unparsable YAML>": str(e).splitlines()[0], "text": part[:200]}
            if doc is not None:
                parsed.append(doc)
        if parsed:
            docs[path] = parsed
    return docs


def helm_render(chart_dir, values):
    with helm_python.Chart.load(chart_dir) as c:
        return c.render(values, name=RELEASE, namespace=NAMESPACE)


def airlock_render(airlock, chart_dir, values_file):
    cmd = [airlock, "--quiet", "template", chart_dir, "--json", "--name", RELEASE, "--namespace", NAMESPACE]
    if values_file:
        cmd += ["-f", values_file]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip())
    return json.loads(p.stdout)


def mask(a, b):
    """`a` with every leaf that differs from `b` replaced by MASK."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: mask(v, b[k]) if k in b else v for k, v in a.items()}
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [mask(x, y) for x, y in zip(a, b)]
    return a if a == b else MASK


def apply_mask(doc, template):
    """Puts MASK into `doc` wherever `template` (a masked doc) has it."""
    if template == MASK:
        return MASK
    if isinstance(doc, dict) and isinstance(template, dict):
        return {k: apply_mask(v, template[k]) if k in template else v for k, v in doc.items()}
    if isinstance(doc, list) and isinstance(template, list) and len(doc) == len(template):
        return [apply_mask(x, y) for x, y in zip(doc, template)]
    return doc


def first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path}: helm {short(a)} / airlock {short(b)}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                return f"{path}.{k}: only airlock has it ({short(b[k])})"
            if k not in b:
                return f"{path}.{k}: only helm has it ({short(a[k])})"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: helm has {len(a)} items, airlock {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: helm {short(a)} / airlock {short(b)}"


def short(v):
    s = json.dumps(v, default=str)
    return s if len(s) <= 120 else s[:117] + "..."


def best_of(n, f):
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("airlock")
    ap.add_argument("--only")
    ap.add_argument("--json")
    ap.add_argument("--bench", action="store_true")
    args = ap.parse_args()
    helm_python.disable_logging() if hasattr(helm_python, "disable_logging") else None
    work, chart_list = charts()
    results, failed, timings = [], False, []
    try:
        for name, chart_dir in chart_list:
            if args.only and name != args.only:
                continue
            for set_name, values_file in value_sets(name):
                values = {}
                if values_file:
                    with open(values_file) as f:
                        values = yaml.safe_load(f) or {}
                try:
                    helm_a = documents(helm_render(chart_dir, values))
                    helm_b = documents(helm_render(chart_dir, values))
                    helm_error = None
                except helm_python.HelmError as e:
                    helm_a = helm_b = {}
                    helm_error = str(e)
                diffs = []
                try:
                    ours = documents(airlock_render(args.airlock, chart_dir, values_file))
                    our_error = None
                except RuntimeError as e:
                    ours, our_error = {}, str(e)
                total = identical = 0
                if helm_error:
                    # A chart that refuses these values must be refused the same way.
                    total = 1
                    wanted = helm_error.split("execution error at ")[-1]
                    # Schema failures: the same places must be named (the
                    # wording of each failure is the validator's own).
                    places = re.findall(r"- at '([^']*)'", helm_error)
                    same_places = places and our_error and all(f"at '{p}'" in our_error for p in places)
                    if our_error and (wanted in our_error or same_places):
                        identical = 1
                    else:
                        diffs.append(f"helm fails with {wanted!r}; airlock {'fails with ' + repr(our_error) if our_error else 'renders'}")
                elif our_error:
                    diffs.append(f"airlock failed: {our_error}")
                for path in sorted(set(helm_a) | set(ours)):
                    ha, hb, mine = helm_a.get(path, []), helm_b.get(path, []), ours.get(path, [])
                    total += len(ha)
                    if len(ha) != len(mine):
                        diffs.append(f"{path}: helm gives {len(ha)} documents, airlock {len(mine)}")
                    for i, (a, m) in enumerate(zip(ha, mine)):
                        masked = mask(a, hb[i]) if i < len(hb) else a
                        d = first_difference(masked, apply_mask(m, masked))
                        if d:
                            diffs.append(f"{path} [doc {i}] {d}")
                        else:
                            identical += 1
                failed |= bool(diffs)
                print(f"{name} ({set_name}): {identical} of {total} documents identical")
                for d in diffs:
                    print(f"  - {d}")
                results.append({"chart": name, "values": set_name, "identical": identical, "total": total, "differences": diffs})
                if args.bench and set_name == "defaults":
                    h = best_of(5, lambda: helm_render(chart_dir, values))
                    a = best_of(5, lambda: airlock_render(args.airlock, chart_dir, values_file))
                    timings.append((name, h, a))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if timings:
        print("\nrender time, best of 5 (airlock includes process start):")
        for name, h, a in timings:
            print(f"  {name:14} helm-python-sdk {h * 1000:7.1f} ms   airlock {a * 1000:7.1f} ms   {h / a:5.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
