#!/usr/bin/env python3
"""Checks dashboards/picket.json and the Prometheus rules against the real Prometheus.

1. Lint: schemaVersion >= 36, no __inputs, a `datasource` variable and job/instance/shard
   variables, only React panels (stat, timeseries, state-timeline, table; rows), every panel
   with a description, a unit and the `${datasource}` data source, unique ids, rate() and
   increase() over [$__rate_interval].
2. Metric names: every picket_*/process_* name in panels and rules is either exported today
   (a `.Name("...")` in lib/metrics/src) or in the planned list of docs/alerts.md.
3. Real Prometheus: starts Debian's `prometheus` on a free loopback port with an empty TSDB
   and asks /api/v1/query for every panel query and rule expression (template variables
   substituted); each must be accepted (status "success").
Grafana itself is not installable here; this is the closest check with real tools.

Usage: check_dashboard.py SOURCE_DIR
"""
import json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request

import yaml

ALLOWED_PANELS = {"stat", "timeseries", "state-timeline", "table", "row"}
SUBST = {"$__rate_interval": "1m", "$__interval": "30s", "$__range": "1h",
         "$job": "picket.*", "$instance": ".*", "$shard": ".*"}


def fail(errors, msg):
    errors.append(msg)


def lint(dash, errors):
    if "__inputs" in dash:
        fail(errors, "dashboard has __inputs (use provisioning with a fixed datasource uid)")
    if dash.get("schemaVersion", 0) < 36:
        fail(errors, "schemaVersion %s < 36" % dash.get("schemaVersion"))
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource":
        fail(errors, "no `datasource` variable of type datasource")
    for name in ("job", "instance", "shard"):
        if name not in variables:
            fail(errors, "no `%s` variable" % name)
    ids = set()
    exprs = []
    for p in dash.get("panels", []):
        where = "panel %r" % p.get("title")
        if p.get("id") in ids:
            fail(errors, where + ": duplicate id")
        ids.add(p.get("id"))
        if p.get("type") not in ALLOWED_PANELS:
            fail(errors, where + ": type %r is not a React panel we allow" % p.get("type"))
        gp = p.get("gridPos", {})
        if gp.get("x", 0) + gp.get("w", 0) > 24:
            fail(errors, where + ": wider than the grid")
        if p.get("type") == "row":
            continue
        if not p.get("description"):
            fail(errors, where + ": no description")
        if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            fail(errors, where + ": no unit")
        if p.get("datasource", {}).get("uid") != "${datasource}":
            fail(errors, where + ": data source is not ${datasource}")
        if not p.get("targets"):
            fail(errors, where + ": no queries")
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("uid") != "${datasource}":
                fail(errors, where + ": query data source is not ${datasource}")
            e = t.get("expr", "")
            for m in re.finditer(r"\b(rate|increase|irate)\([^\[]*\[([^\]]*)\]", e):
                if m.group(2) != "$__rate_interval":
                    fail(errors, where + ": %s over [%s], not [$__rate_interval]" % (m.group(1), m.group(2)))
            exprs.append((where, e))
    return exprs


def substitute(expr):
    for k in sorted(SUBST, key=len, reverse=True):
        expr = expr.replace(k, SUBST[k])
    return expr


def metric_names(expr):
    names = set()
    for m in re.finditer(r"\b((?:picket|process)_[a-z0-9_]+)", expr):
        n = m.group(1)
        for suffix in ("_bucket", "_sum", "_count"):
            if n.endswith(suffix) and n not in ("picket_node_up",):
                n = n[: -len(suffix)]
        names.add(n)
    return names


def known_metrics(src):
    exported = set()
    for root, _, files in os.walk(os.path.join(src, "lib", "metrics", "src")):
        for f in files:
            text = open(os.path.join(root, f), encoding="utf-8").read()
            exported.update(re.findall(r'\.Name\("([a-z0-9_]+)"\)', text))
            exported.update(re.findall(r'"(process_[a-z_]+)"', text))
    planned = set()
    doc = os.path.join(src, "docs", "alerts.md")
    if os.path.exists(doc):
        section = open(doc, encoding="utf-8").read().split("## Metrics the rules expect", 1)
        if len(section) == 2:
            planned.update(re.findall(r"`((?:picket)_[a-z0-9_]+)`", section[1].split("\n## ", 1)[0]))
    return exported, planned


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query_all(exprs):
    prometheus = shutil.which("prometheus")
    if not prometheus:
        return ["prometheus not found in PATH"]
    errors = []
    with tempfile.TemporaryDirectory(prefix="picket-dash-") as tmp:
        cfg = os.path.join(tmp, "prometheus.yml")
        open(cfg, "w").write("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
        port = free_port()
        log = open(os.path.join(tmp, "prometheus.log"), "w")
        proc = subprocess.Popen([prometheus, "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            base = "http://127.0.0.1:%d" % port
            deadline = time.time() + 30
            while True:
                try:
                    if urllib.request.urlopen(base + "/-/ready", timeout=2).status == 200:
                        break
                except Exception:
                    pass
                if time.time() > deadline or proc.poll() is not None:
                    log.flush()
                    return ["prometheus did not become ready:\n" + open(log.name).read()]
                time.sleep(0.2)
            for where, e in exprs:
                q = substitute(e)
                url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
                try:
                    body = json.load(urllib.request.urlopen(url, timeout=10))
                except urllib.error.HTTPError as err:
                    body = json.load(err)
                if body.get("status") != "success":
                    errors.append("%s: Prometheus refused %r: %s" % (where, q, body.get("error")))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return errors


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    errors = []
    dash = json.load(open(os.path.join(src, "dashboards", "picket.json"), encoding="utf-8"))
    exprs = lint(dash, errors)
    rules = yaml.safe_load(open(os.path.join(src, "deploy", "prometheus", "rules", "picket.rules.yml")))
    for g in rules["groups"]:
        for r in g["rules"]:
            exprs.append(("rule %s" % (r.get("alert") or r.get("record")), r["expr"]))
    exported, planned = known_metrics(src)
    used = set()
    for where, e in exprs:
        for n in metric_names(e):
            used.add(n)
            if n not in exported and n not in planned:
                fail(errors, "%s: metric %s is neither exported (lib/metrics) nor planned (docs/alerts.md)" % (where, n))
    errors += query_all(exprs)
    pending = sorted(n for n in used if n not in exported)
    print("checked %d queries (%d panels) against a real Prometheus; %d metric names, %d not exported yet: %s"
          % (len(exprs), len([p for p in dash["panels"] if p["type"] != "row"]), len(used), len(pending),
             ", ".join(pending) or "none"))
    for e in errors:
        print("ERROR:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
