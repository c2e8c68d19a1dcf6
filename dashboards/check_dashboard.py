#!/usr/bin/env python3
"""Checks dashboards/picket.json and the Prometheus rules against the real Prometheus.

1. Lint: schemaVersion >= 36, no __inputs, a `datasource` variable and job/instance/shard
   variables, only React panels (stat, timeseries, state-timeline, table; rows), every panel
   with a description, a unit and the `${datasource}` data source, unique ids, rate() and
   increase() over [$__rate_interval].
2. Metric names: every picket_*/process_* name in panels and rules is either exported today
   (a `.Name("...")` in lib/metrics/src, a row of its per-node family table or a named
   constant) or in the planned list of docs/alerts.md.
3. Real Prometheus: starts Debian's `prometheus` on a free loopback port with an empty TSDB
   and asks /api/v1/query for every panel query and rule expression (template variables
   substituted); each must be accepted (status "success").
4. Grafana provisioning (deploy/grafana/provisioning): both files parse as YAML with
   apiVersion 1; exactly one Prometheus data source with a fixed uid, which the dashboard's
   `datasource` variable defaults to; one file provider whose absolute path is where the
   package installs picket.json (cmake/Packaging.cmake) and where the provider file's
   install comment puts it. A deliberately wrong uid must be
   caught (the check checks itself).
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
            # Families metrics.cpp writes itself (the per-node table kNodeFamilies, whose
            # rows start {"name", "help", ...}, and named constants for the others).
            exported.update(re.findall(r'\{\s*"(picket_[a-z0-9_]+)",\s*\n?\s*"', text))
            exported.update(re.findall(r'constexpr const char\* k\w+ = "(picket_[a-z0-9_]+)"',
                                       text))
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


def packaged_dashboard_dir(src):
    """/usr/share/picket/dashboards, from cmake/Packaging.cmake (None when there is none)."""
    path = os.path.join(src, "cmake", "Packaging.cmake")
    if not os.path.exists(path):
        return None
    text = open(path, encoding="utf-8").read()
    datadir = re.search(r"set\(picket_datadir \$\{CMAKE_INSTALL_DATADIR\}/(\S+)\)", text)
    dest = re.search(r"install\(FILES dashboards/picket\.json DESTINATION \$\{picket_datadir\}/(\S+)\)", text)
    if not datadir or not dest:
        return None
    return "/usr/share/%s/%s" % (datadir.group(1), dest.group(1))


def check_provisioning(src, dash, errors):
    """Lints the Grafana provisioning files against the dashboard (see the docstring, 4.)."""
    base = os.path.join(src, "deploy", "grafana", "provisioning")
    docs = {}
    for kind in ("datasources", "dashboards"):
        path = os.path.join(base, kind, "picket.yaml")
        try:
            text = open(path, encoding="utf-8").read()
            docs[kind] = (yaml.safe_load(text), text)
        except (OSError, yaml.YAMLError) as err:
            fail(errors, "%s: %s" % (path, err))
            continue
        if not isinstance(docs[kind][0], dict) or docs[kind][0].get("apiVersion") != 1:
            fail(errors, "%s: not a mapping with apiVersion: 1" % path)
            del docs[kind]
    uid = None
    if "datasources" in docs:
        sources = [d for d in docs["datasources"][0].get("datasources") or [] if isinstance(d, dict)]
        proms = [d for d in sources if d.get("type") == "prometheus"]
        if len(proms) != 1:
            fail(errors, "datasources/picket.yaml: %d Prometheus data sources, want 1" % len(proms))
        else:
            uid = proms[0].get("uid")
            if not isinstance(uid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid):
                fail(errors, "datasources/picket.yaml: uid %r is not a fixed uid (1-40 of [A-Za-z0-9_-])" % uid)
                uid = None
            if not re.match(r"https?://", str(proms[0].get("url", ""))):
                fail(errors, "datasources/picket.yaml: url %r is not http(s)" % proms[0].get("url"))
    if "dashboards" in docs:
        doc, text = docs["dashboards"]
        providers = [p for p in doc.get("providers") or [] if isinstance(p, dict)]
        files = [p for p in providers if p.get("type") == "file"]
        if len(files) != 1:
            fail(errors, "dashboards/picket.yaml: %d file providers, want 1" % len(files))
        else:
            path = (files[0].get("options") or {}).get("path", "")
            if not isinstance(path, str) or not path.startswith("/"):
                fail(errors, "dashboards/picket.yaml: options.path %r is not absolute" % path)
            else:
                if not re.search(r"dashboards/picket\.json\s+" + re.escape(path.rstrip("/")) + r"/picket\.json", text):
                    fail(errors, "dashboards/picket.yaml: the install comment does not put picket.json in %s" % path)
                # Where the package installs the dashboard (cmake/Packaging.cmake).
                installed = packaged_dashboard_dir(src)
                if installed is not None and installed != path.rstrip("/"):
                    fail(errors, "dashboards/picket.yaml: options.path %s is not where the package installs "
                         "picket.json (%s)" % (path, installed))
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    current = (variables.get("datasource", {}).get("current") or {}).get("value")
    if uid is not None and current != uid:
        fail(errors, "dashboard `datasource` variable defaults to %r, the provisioned data source uid is %r"
             % (current, uid))
    return uid


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
    uid = check_provisioning(src, dash, errors)
    # The check must be able to fail: a dashboard defaulting to another uid is caught.
    if uid is not None:
        wrong = json.loads(json.dumps(dash))
        for v in wrong["templating"]["list"]:
            if v["name"] == "datasource":
                v["current"] = {"text": "x", "value": uid + "-wrong"}
        probe = []
        check_provisioning(src, wrong, probe)
        if not any("defaults to" in e for e in probe):
            fail(errors, "self-check: a wrong datasource uid in the dashboard was not caught")
    errors += query_all(exprs)
    pending = sorted(n for n in used if n not in exported)
    print("checked %d queries (%d panels) against a real Prometheus; %d metric names, %d not exported yet: %s"
          % (len(exprs), len([p for p in dash["panels"] if p["type"] != "row"]), len(used), len(pending),
             ", ".join(pending) or "none"))
    print("grafana provisioning: data source uid %s, dashboard default %s"
          % (uid, ([v for v in dash["templating"]["list"] if v["name"] == "datasource"][0].get("current") or {}).get("value")))
    for e in errors:
        print("ERROR:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
