#!/usr/bin/env python3
"""The reference docs cover what the code has.

1. docs/metrics.md names every metric lib/metrics registers (`.Name("...")` in
   lib/metrics/src/metrics.cpp, the process_* gauges of process_collector.cpp).
2. docs/configuration.md documents every key of picketd's effective configuration (what
   `picketd --check-config` prints with every default filled in) in that key's section: the
   example deploy/examples/picket.yml (which sets receivers and alertmanager) is rendered with
   its secret files created in a temporary directory.
3. The README links the reference docs.

usage: docs_reference_test.py SOURCE_DIR PICKETD
"""
import os
import re
import subprocess
import sys
import tempfile

src, picketd = sys.argv[1], sys.argv[2]
failures = []


def read(path):
    with open(os.path.join(src, path), encoding="utf-8") as f:
        return f.read()


# 1. Metrics.
code = read("lib/metrics/src/metrics.cpp") + read("lib/metrics/src/process_collector.cpp")
names = set(re.findall(r'\.Name\("([a-z_]+)"\)', code))
names |= set(re.findall(r'gauge\("(process_[a-z_]+)"', code))
metrics_doc = read("docs/metrics.md")
if len(names) < 30:
    failures.append(f"found only {len(names)} metric names in lib/metrics: the pattern broke")
for n in sorted(names):
    if f"`{n}`" not in metrics_doc:
        failures.append(f"docs/metrics.md does not document metric {n}")
print(f"ok: {len(names)} metrics of lib/metrics checked against docs/metrics.md")

# 2. Configuration keys, per section.
with tempfile.TemporaryDirectory() as tmp:
    example = read("deploy/examples/picket.yml")
    example = example.replace("/etc/picket/", tmp + "/")
    for secret in set(re.findall(re.escape(tmp) + r"/[a-z.]+", example)):
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"0123456789abcdef0123456789abcdef\n")
        os.close(fd)
    conf = os.path.join(tmp, "picket.yml")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(example)
    run = subprocess.run([picketd, "--check-config", "--config", conf], capture_output=True,
                         text=True, timeout=60)
    if run.returncode != 0:
        sys.exit(f"FAIL: picketd --check-config rejected the example: {run.stderr}")
    effective = run.stdout

config_doc = read("docs/configuration.md")
sections = {}
for m in re.finditer(r"^### `([a-z_]+)`.*?(?=^### |^## |\Z)", config_doc, re.M | re.S):
    sections[m.group(1)] = m.group(0)
keys = 0
section = None
for line in effective.splitlines():
    top = re.match(r"^([a-z_]+):", line)
    if top:
        section = top.group(1)
        if section not in sections:
            failures.append(f"docs/configuration.md has no section ### `{section}`")
        continue
    # "  key: value", "  - key: value" (list items), "  # key: (not set)" (unset optional).
    m = re.match(r"^\s+(?:- )?([a-z_]+):", line) or re.match(r"^\s+# ([a-z_]+): \(not set\)", line)
    if not m or section not in sections:
        continue
    keys += 1
    if f"`{m.group(1)}`" not in sections[section]:
        failures.append(f"docs/configuration.md, section {section}: key {m.group(1)} is not documented")
if keys < 60:
    failures.append(f"parsed only {keys} keys from the effective configuration: the format changed?")
print(f"ok: {keys} keys of the effective configuration checked against docs/configuration.md")

# 3. README links.
readme = read("README.md")
for doc in ("docs/configuration.md", "docs/metrics.md", "docs/alerts.md", "docs/operations.md",
            "docs/deploy.md", "docs/architecture.md"):
    if f"]({doc})" not in readme:
        failures.append(f"README.md does not link {doc}")

for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print("PASS")
