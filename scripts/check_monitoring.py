#!/usr/bin/env python3
"""Checks the chart's Grafana dashboard and Prometheus alert rules.

Fails (exit 1, one line per problem) when the dashboard is not a usable
Grafana dashboard, a panel queries nothing or something that is not PromQL,
the rules file is not loadable Prometheus rules, an alert lacks what paging
needs (for, severity, summary, description, runbook_url), a runbook link
points at no section of docs/operations.md, or two alerts share a name.

PromQL is parsed with `promql-parser` (PyPI) when it is installed; without
it expressions get a structural check only (balanced brackets and quotes, a
metric or function name, no stray characters), and a notice says so.

    python3 scripts/check_monitoring.py             # the repository's files
    python3 scripts/check_monitoring.py --self-test # proves the checks bite
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover - reported at start-up
    yaml = None

try:
    import promql_parser
except ImportError:
    promql_parser = None

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DASHBOARD = REPO / "charts/zhongtai/files/grafana/zhongtai-overview.json"
DEFAULT_RULES = REPO / "charts/zhongtai/files/prometheus/alerts.yaml"
DEFAULT_OPERATIONS = REPO / "docs/operations.md"
RUNBOOK_BASE = "https://github.com/zhongtai/zhongtai/blob/main/docs/operations.md#"
SEVERITIES = ("critical", "warning")
MIN_SCHEMA_VERSION = 36

# Grafana's own variables and what stands in for them while parsing. Interval
# variables become a duration, the `_s`/`_ms` forms a number.
GRAFANA_BUILTINS = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "1h",
    "__interval_ms": "60000",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
GRAFANA_GLOBALS = {"__dashboard", "__org", "__user", "__name", "timeFilter", "__from", "__to"}
# $name, ${name}, ${name:format} and the deprecated [[name]].
VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


class Problems:
    """Collects what is wrong, each with the file and place it was found."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def __bool__(self) -> bool:
        return bool(self.items)


# --- PromQL -------------------------------------------------------------------


def promql_error(expr: str) -> str | None:
    """Why `expr` is not an instant-vector or scalar PromQL query, or None."""
    if not expr.strip():
        return "empty expression"
    if promql_parser is not None:
        try:
            parsed = promql_parser.parse(expr)
        except ValueError as error:
            return f"does not parse as PromQL: {error}"
        if isinstance(parsed, (promql_parser.MatrixSelector, promql_parser.SubqueryExpr)):
            return "is a range vector; wrap it in a function such as rate() or max_over_time()"
        if isinstance(parsed, promql_parser.StringLiteral):
            return "is a string, not a query"
        return None
    return structural_promql_error(expr)


def structural_promql_error(expr: str) -> str | None:
    """A rough check for when no parser is installed: catches unbalanced
    brackets and quotes, stray characters and operators with nothing after
    them, not type errors or unknown functions."""
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote = None
    escaped = False
    for position, char in enumerate(expr):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'`":
            quote = char
        elif char in "([{":
            stack.append(char)
        elif char in closing:
            if not stack or stack.pop() != closing[char]:
                return f"does not parse as PromQL: unbalanced {char!r} at offset {position}"
        elif char == "#":
            break
        elif not (char.isalnum() or char.isspace() or char in "_:.,+-*/%^=!<>~@"):
            return f"does not parse as PromQL: unexpected character {char!r} at offset {position}"
    if quote:
        return "does not parse as PromQL: unterminated string"
    if stack:
        return f"does not parse as PromQL: unclosed {stack[-1]!r}"
    if not re.search(r"[A-Za-z_:][A-Za-z0-9_:]*|\d", expr):
        return "does not parse as PromQL: no metric, function or number"
    if re.search(r"(\band|\bor|\bunless|[-+*/%^]|[=!<>]=|[<>])\s*$", expr.strip()):
        return "does not parse as PromQL: an operator has no right-hand side"
    return None


def substitute_grafana_variables(expr: str, defined: set[str]) -> tuple[str, list[str]]:
    """The expression with Grafana variables replaced by parseable stand-ins,
    and the names it uses that the dashboard does not define."""
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name in GRAFANA_BUILTINS:
            return GRAFANA_BUILTINS[name]
        if name not in defined and name not in GRAFANA_GLOBALS:
            unknown.append(name)
        # Template variables sit inside label matchers ("$namespace"); a
        # value that also reads as a duration or number keeps other places
        # parseable.
        return "1"

    return VARIABLE.sub(replace, expr), unknown


# --- Dashboard ------------------------------------------------------------------


def all_panels(panels: list) -> list:
    """Panels in order, including those nested in collapsed rows."""
    found = []
    for panel in panels:
        if not isinstance(panel, dict):
            found.append(panel)
            continue
        found.append(panel)
        found.extend(all_panels(panel.get("panels") or []))
    return found


def check_dashboard(path: Path, problems: Problems) -> int:
    """Checks the dashboard; returns how many query panels it has."""
    where = str(path)
    try:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        problems.add(where, f"dashboard JSON does not load: {error}")
        return 0
    if not isinstance(dashboard, dict):
        problems.add(where, "dashboard JSON is not an object")
        return 0
    for key in ("title", "uid"):
        if not isinstance(dashboard.get(key), str) or not dashboard[key].strip():
            problems.add(where, f"dashboard has no {key}")
    uid = dashboard.get("uid")
    if isinstance(uid, str) and len(uid) > 40:
        problems.add(where, f"uid {uid!r} is longer than Grafana's 40 characters")
    schema = dashboard.get("schemaVersion")
    if not isinstance(schema, int) or schema < MIN_SCHEMA_VERSION:
        problems.add(where, f"schemaVersion is {schema!r}, expected at least {MIN_SCHEMA_VERSION}")

    templating = dashboard.get("templating")
    variables = templating.get("list") if isinstance(templating, dict) else None
    if not isinstance(variables, list):
        problems.add(where, "dashboard has no templating.list")
        variables = []
    defined = {v.get("name") for v in variables if isinstance(v, dict) and v.get("name")}
    if not any(
        isinstance(v, dict) and v.get("type") == "datasource" and v.get("query") == "prometheus"
        for v in variables
    ):
        problems.add(where, "templating has no Prometheus datasource variable")
    for variable in variables:
        if isinstance(variable, dict) and variable.get("type") == "query":
            query = variable.get("query")
            text = query.get("query") if isinstance(query, dict) else query
            if not isinstance(text, str) or not text.strip():
                problems.add(where, f"variable {variable.get('name')!r} has no query")

    panels = dashboard.get("panels")
    if not isinstance(panels, list) or not panels:
        problems.add(where, "dashboard has no panels")
        return 0

    query_panels = 0
    seen_ids: dict[object, str] = {}
    for index, panel in enumerate(all_panels(panels)):
        if not isinstance(panel, dict):
            problems.add(where, f"panel #{index} is not an object")
            continue
        title = panel.get("title") or f"#{index}"
        place = f"{where}: panel {title!r}"
        panel_id = panel.get("id")
        if panel_id in seen_ids:
            problems.add(place, f"id {panel_id} is also used by panel {seen_ids[panel_id]!r}")
        else:
            seen_ids[panel_id] = title
        if panel.get("type") in ("row", "text"):
            continue
        query_panels += 1
        if not str(panel.get("description") or "").strip():
            problems.add(place, "has no description (say what good looks like)")
        targets = panel.get("targets")
        if not isinstance(targets, list) or not targets:
            problems.add(place, "has no targets")
            continue
        for target in targets:
            ref = target.get("refId", "?") if isinstance(target, dict) else "?"
            expr = target.get("expr") if isinstance(target, dict) else None
            if not isinstance(expr, str) or not expr.strip():
                problems.add(place, f"target {ref} has an empty expr")
                continue
            parseable, unknown = substitute_grafana_variables(expr, defined)
            for name in unknown:
                problems.add(place, f"target {ref} uses ${name}, which the dashboard does not define")
            error = promql_error(parseable)
            if error:
                problems.add(place, f"target {ref} expr {error}")
    return query_panels


# --- Rules ----------------------------------------------------------------------


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: inline markup removed,
    lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.strip().lower()
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in " -_" or category[0] in "LNM":
            kept.append(char)
    return "".join(kept).replace(" ", "-")


def operations_anchors(path: Path, problems: Problems) -> set[str] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        problems.add(str(path), f"cannot read the runbooks: {error}")
        return None
    anchors: set[str] = set()
    counts: dict[str, int] = {}
    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        match = None if in_fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        anchor = github_anchor(match.group(1))
        # GitHub numbers repeated headings: name, name-1, name-2, ...
        count = counts.get(anchor, 0)
        counts[anchor] = count + 1
        anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    return anchors


def template_error(text: str) -> str | None:
    """Unbalanced Go template actions in an annotation."""
    if text.count("{{") != text.count("}}"):
        return "has unbalanced {{ }}"
    actions = re.findall(r"\{\{-?\s*(\w+)", text)
    opened = sum(1 for a in actions if a in ("if", "range", "with", "define", "block"))
    closed = sum(1 for a in actions if a == "end")
    if opened != closed:
        return f"opens {opened} template block(s) but ends {closed}"
    return None


def check_rules(path: Path, operations: Path, problems: Problems) -> int:
    """Checks the rules file; returns how many alerts it has."""
    where = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        problems.add(where, f"rules YAML does not load: {error}")
        return 0
    groups = document.get("groups") if isinstance(document, dict) else None
    if not isinstance(groups, list) or not groups:
        problems.add(where, "rules file has no groups")
        return 0
    anchors = operations_anchors(operations, problems)

    alerts: dict[str, str] = {}
    group_names: set[str] = set()
    for group_index, group in enumerate(groups):
        if not isinstance(group, dict):
            problems.add(where, f"group #{group_index} is not a mapping")
            continue
        group_name = group.get("name")
        group_place = f"{where}: group {group_name or '#' + str(group_index)!r}"
        if not group_name:
            problems.add(group_place, "has no name")
        elif group_name in group_names:
            problems.add(group_place, "name is used by another group (Prometheus refuses that)")
        group_names.add(group_name)
        rules = group.get("rules")
        if not isinstance(rules, list) or not rules:
            problems.add(group_place, "has no rules")
            continue
        for rule_index, rule in enumerate(rules):
            if not isinstance(rule, dict):
                problems.add(group_place, f"rule #{rule_index} is not a mapping")
                continue
            name = rule.get("alert") or rule.get("record")
            place = f"{group_place}: rule {name or '#' + str(rule_index)!r}"
            expr = rule.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                problems.add(place, "has no expr")
            else:
                error = promql_error(expr)
                if error:
                    problems.add(place, f"expr {error}")
            if "record" in rule:
                continue
            if not rule.get("alert"):
                problems.add(place, "has neither alert nor record")
                continue
            if name in alerts:
                problems.add(place, f"alert name is also used in group {alerts[name]!r}")
            else:
                alerts[name] = group_name
            check_alert(rule, place, anchors, problems)
    return len(alerts)


def check_alert(rule: dict, place: str, anchors: set[str] | None, problems: Problems) -> None:
    duration = rule.get("for")
    if duration is None:
        problems.add(place, "has no for (how long the condition must hold)")
    elif not DURATION.match(str(duration)):
        problems.add(place, f"for {duration!r} is not a Prometheus duration")
    labels = rule.get("labels") if isinstance(rule.get("labels"), dict) else {}
    severity = labels.get("severity")
    if severity is None:
        problems.add(place, "has no labels.severity")
    elif severity not in SEVERITIES:
        problems.add(place, f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    annotations = rule.get("annotations") if isinstance(rule.get("annotations"), dict) else {}
    for key in ("summary", "description", "runbook_url"):
        value = annotations.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.add(place, f"has no annotations.{key}")
            continue
        error = template_error(value)
        if error:
            problems.add(place, f"annotations.{key} {error}")
    url = annotations.get("runbook_url")
    if isinstance(url, str) and url.strip():
        if not url.startswith(RUNBOOK_BASE):
            problems.add(place, f"runbook_url {url!r} does not start with {RUNBOOK_BASE}")
        elif anchors is not None:
            anchor = url[len(RUNBOOK_BASE):]
            if anchor not in anchors:
                problems.add(place, f"runbook_url anchor #{anchor} matches no heading in docs/operations.md")


# --- Entry points -----------------------------------------------------------------


def check(dashboard: Path, rules: Path, operations: Path) -> tuple[Problems, int, int]:
    problems = Problems()
    panels = check_dashboard(dashboard, problems)
    alerts = check_rules(rules, operations, problems)
    return problems, panels, alerts


def self_test() -> int:
    """Runs the checks on the repository's files made good and then broken,
    and fails unless each break is reported."""
    failures: list[str] = []
    dashboard = json.loads(DEFAULT_DASHBOARD.read_text(encoding="utf-8"))
    rules = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    operations = DEFAULT_OPERATIONS.read_text(encoding="utf-8")

    def run(name: str, dash: dict | str, rule_doc: dict | str, ops: str, expected: list[str]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            dash_path = Path(folder, "dashboard.json")
            rules_path = Path(folder, "alerts.yaml")
            ops_path = Path(folder, "operations.md")
            dash_path.write_text(dash if isinstance(dash, str) else json.dumps(dash))
            rules_path.write_text(rule_doc if isinstance(rule_doc, str) else yaml.safe_dump(rule_doc))
            ops_path.write_text(ops)
            problems, _, _ = check(dash_path, rules_path, ops_path)
        if not expected and problems:
            failures.append(f"{name}: expected no problems, got: {problems.items}")
        for fragment in expected:
            if not any(fragment in item for item in problems.items):
                failures.append(f"{name}: expected a problem containing {fragment!r}, got: {problems.items}")

    run("the repository's files", dashboard, rules, operations, [])

    broken_rules = copy.deepcopy(rules)
    first_rules = broken_rules["groups"][0]["rules"]
    first = first_rules[0]
    first["expr"] = "sum by (service) (rate(zhongtai_registry_registered[5m])"
    del first["labels"]["severity"]
    first["annotations"]["runbook_url"] = RUNBOOK_BASE + "no-such-section"
    second = first_rules[1]
    second["labels"]["severity"] = "page"
    del second["for"]
    del second["annotations"]["description"]
    duplicate = copy.deepcopy(second)
    duplicate["expr"] = "rate(grpc_server_requests_total)"
    broken_rules["groups"][-1]["rules"].append(duplicate)
    run(
        "a broken rule",
        dashboard,
        broken_rules,
        operations,
        [
            f"rule {first['alert']!r}: expr does not parse as PromQL",
            f"rule {first['alert']!r}: has no labels.severity",
            "anchor #no-such-section matches no heading",
            f"rule {second['alert']!r}: severity 'page' is not one of critical, warning",
            f"rule {second['alert']!r}: has no for",
            f"rule {second['alert']!r}: has no annotations.description",
            f"rule {second['alert']!r}: alert name is also used in group",
        ]
        + (["expr does not parse as PromQL: expected type matrix"] if promql_parser else []),
    )

    broken_dashboard = copy.deepcopy(dashboard)
    query_panels = [p for p in all_panels(broken_dashboard["panels"]) if p.get("type") != "row"]
    query_panels[0]["targets"] = []
    query_panels[1]["targets"][0]["expr"] = 'sum by (service) (rate(grpc_server_requests_total{code="OK"[5m]))'
    query_panels[2]["targets"][0]["expr"] = "  "
    query_panels[3]["targets"][0]["expr"] = 'up{namespace=~"$nowhere"}'
    del query_panels[4]["description"]
    run(
        "a broken panel",
        broken_dashboard,
        rules,
        operations,
        [
            f"panel {query_panels[0]['title']!r}: has no targets",
            f"panel {query_panels[1]['title']!r}: target A expr does not parse as PromQL",
            f"panel {query_panels[2]['title']!r}: target A has an empty expr",
            "uses $nowhere, which the dashboard does not define",
            f"panel {query_panels[4]['title']!r}: has no description",
        ],
    )

    bare = {k: v for k, v in dashboard.items() if k not in ("uid", "templating", "panels")}
    run("a dashboard without uid, templating or panels", bare, rules, operations,
        ["dashboard has no uid", "dashboard has no templating.list", "dashboard has no panels"])
    run("a dashboard that is not JSON", "{ not json", rules, operations, ["dashboard JSON does not load"])
    run("a rules file that is not YAML", dashboard, "groups: [\n", operations, ["rules YAML does not load"])

    for failure in failures:
        print(f"self-test FAILED: {failure}", file=sys.stderr)
    if failures:
        return 1
    print("monitoring check self-test passed: broken rules, panels and files are all reported")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dashboard", type=Path, default=DEFAULT_DASHBOARD)
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--operations", type=Path, default=DEFAULT_OPERATIONS,
                        help="the runbooks every runbook_url must point into")
    parser.add_argument("--self-test", action="store_true",
                        help="check that broken rules and panels are reported, then exit")
    args = parser.parse_args()

    if yaml is None:
        print("check_monitoring: PyYAML is not installed (pip install pyyaml)", file=sys.stderr)
        return 1
    if promql_parser is None:
        print("check_monitoring: notice: promql-parser is not installed; "
              "PromQL is checked structurally only (pip install promql-parser)", file=sys.stderr)
    if args.self_test:
        return self_test()

    problems, panels, alerts = check(args.dashboard, args.rules, args.operations)
    if problems:
        for item in problems.items:
            print(item, file=sys.stderr)
        print(f"monitoring check failed: {len(problems.items)} problem(s)", file=sys.stderr)
        return 1
    print(f"monitoring check passed: {panels} panels, {alerts} alerts, every runbook link resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
