"""Audit requirements.txt with pip-audit; ignore only the advisories justified in .pip-audit-ignore.

Exit 1 on any advisory not listed there. A dependency pip-audit could not look up (no
vulnerability data reachable, as on machines whose package index serves no advisory data)
is reported in a loud banner but is not a finding: the run says how many were audited.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / ".pip-audit-ignore"


def ignored_ids() -> set[str]:
    """IDs listed one per line as `ID  # justification`; a line without a justification is refused."""
    ids = set()
    for line in IGNORE_FILE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        vuln_id, _, why = line.partition("#")
        if not why.strip():
            sys.exit(f".pip-audit-ignore: {vuln_id.strip()} has no justification")
        ids.add(vuln_id.strip())
    return ids


def main() -> int:
    pip_audit = str(Path(sys.executable).with_name("pip-audit"))
    cmd = [pip_audit, "--progress-spinner", "off", "-f", "json", "--no-deps", "--disable-pip"]
    cmd += ["-r", str(ROOT / "requirements.txt")]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        print(result.stdout, result.stderr, sep="\n")
        return 1
    ignore = ignored_ids()
    deps = report.get("dependencies", [])
    found, skipped = [], []
    for dep in deps:
        if "skip_reason" in dep:
            skipped.append(f"{dep['name']} {dep.get('version', '')}: {dep['skip_reason']}")
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            if not ids & ignore:
                fix = vuln.get("fix_versions")
                found.append(f"{dep['name']} {dep['version']}: {vuln['id']} (fix: {fix})")
    for line in found:
        print("VULNERABLE", line)
    if skipped:
        print("!" * 78)
        print(f"!!! pip-audit could NOT audit {len(skipped)} of {len(deps)} packages:")
        for line in skipped:
            print("!!!  ", line)
        print("!!! (no vulnerability data reachable). The dependency audit did NOT fully run.")
        print("!" * 78)
    if found:
        return 1
    print(f"pip-audit: no unjustified advisories ({len(deps) - len(skipped)} audited)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
