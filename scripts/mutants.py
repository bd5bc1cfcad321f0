"""`make mutants`' summary: the kill rate of the last `mutmut run`, and every survivor
not listed as equivalent in tests/mutants_equivalent.md (exit 1 if there is one).

A survivor is a mutant of the protocol code that the protocol tests let pass: either a
gap in the tests (kill it with a test) or a change that cannot alter any result (list
it in tests/mutants_equivalent.md, one `- name: reason` line each).
"""

import re
import subprocess
import sys
from pathlib import Path

from digitcmp.files import read_json

EQUIVALENT = Path("tests/mutants_equivalent.md")
# A mutant whose tests run past the time limit is caught (a test run that never ends fails).
NOT_KILLED = ("survived", "no tests", "suspicious", "segfault", "skipped", "not checked")


def listed() -> set[str]:
    text = EQUIVALENT.read_text() if EQUIVALENT.exists() else ""
    return set(re.findall(r"^- `?([\w.]+__mutmut_\d+)`?:", text, flags=re.M))


def statuses(mutmut: str) -> dict[str, str]:
    out = subprocess.run([mutmut, "results", "--all", "true"], capture_output=True, text=True, check=True).stdout
    return dict(line.strip().rsplit(": ", 1) for line in out.splitlines() if "__mutmut_" in line)


def main() -> int:
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    subprocess.run([mutmut, "export-cicd-stats"], capture_output=True, check=True)
    stats = read_json("mutants/mutmut-cicd-stats.json")
    status = statuses(mutmut)
    equivalent = listed() & {name for name, s in status.items() if s in NOT_KILLED}
    left = sorted(name for name, s in status.items() if s in NOT_KILLED and name not in equivalent)
    total, caught = stats["total"], stats["killed"] + stats["timeout"]
    for name in left:
        print(f"  not killed, not listed: {name} ({status[name]}); see `mutmut show {name}`")
    print(f"mutants: {caught} of {total} caught ({100 * caught / total:.1f}%: {stats['killed']} killed, "
          f"{stats['timeout']} timed out); {len(equivalent)} listed as equivalent in {EQUIVALENT}; "
          f"kill rate of the others {100 * caught / max(1, total - len(equivalent)):.1f}%; "
          f"{len(left)} survivors unexplained")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
