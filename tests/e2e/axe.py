"""axe-core in Chromium: inject the pinned build (tests/node, exact version in
its lock) into a Playwright page and run the WCAG 2.0/2.1/2.2 A and AA rules."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "tests" / "node" / "node_modules" / "axe-core" / "axe.min.js"
AXE_PACKAGE = AXE_JS.parent / "package.json"

# every rule axe tags with one of these: WCAG 2.0, 2.1 and 2.2, levels A and AA
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# Wagtail's userbar (shown to editors on the site) lives in a shadow root Wagtail
# ships and tests; Wagtail's own checker leaves it out the same way.
EXCLUDE = [{"fromShadowDom": ["wagtail-userbar"]}, {"fromShadowDom": ["wagtail-inline-userbar"]}]


def axe_version():
    return json.loads(AXE_PACKAGE.read_text())["version"] if AXE_PACKAGE.exists() else None


def run_axe(page, include=None):
    """Run axe on the page as it is now; return its violations (a list of dicts)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    context = {"include": include or [["html"]], "exclude": EXCLUDE}
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    return page.evaluate("([context, options]) => axe.run(context, options).then(r => r.violations)",
                         [context, options])


def describe(violations, where):
    """One line per failing element: rule, impact, element and page."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            target = " ".join(json.dumps(t) if not isinstance(t, str) else t for t in node["target"])
            lines.append(f"{where}: {v['id']} ({v['impact']}) at {target}\n    {node['html'][:200]}\n"
                         f"    {node.get('failureSummary', '').splitlines()[-1:] or ''} — {v['helpUrl']}")
    return "\n".join(lines)
