"""Dependency audit for CI: fail on a known vulnerability in the lock file;
say plainly when the vulnerability database cannot be reached (these
machines reach PyPI's package index but not its JSON/vulnerability API)."""

import json
import subprocess
import sys

result = subprocess.run(
    [sys.executable, "-m", "pip_audit", "-r", "requirements.lock", "--no-deps", "--disable-pip",
     "--progress-spinner", "off", "-f", "json"],
    capture_output=True, text=True, timeout=600,
)
try:
    report = json.loads(result.stdout or "{}")
except json.JSONDecodeError:
    print("pip-audit produced no report:", result.stderr[-2000:])
    sys.exit(0)
deps = report.get("dependencies", [])
vulnerable = [d for d in deps if d.get("vulns")]
skipped = [d for d in deps if d.get("skip_reason")]
audited = len(deps) - len(skipped)
for d in vulnerable:
    for v in d["vulns"]:
        print(f"VULNERABLE {d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v.get('fix_versions') or ['?'])})")
print(f"pip-audit: {audited} of {len(deps)} pinned packages audited, {len(vulnerable)} vulnerable, "
      f"{len(skipped)} not auditable here (vulnerability database unreachable)")
sys.exit(1 if vulnerable else 0)
