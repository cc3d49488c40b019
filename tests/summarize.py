#!/usr/bin/env python3
"""Counts every TAP subtest in meson's testlog.json; prints 'N passed, N failed, N skipped'."""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        out = t.get("stdout") or ""
        p = fl = s = 0
        for l in out.splitlines():
            if re.match(r"^ok\b", l):
                if re.search(r"#\s*SKIP", l, re.I):
                    s += 1
                else:
                    p += 1
            elif re.match(r"^not ok\b", l):
                if re.search(r"#\s*TODO", l, re.I):
                    s += 1
                else:
                    fl += 1
        if t.get("result") in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS") and fl == 0:
            fl += 1  # the program crashed, timed out or broke its plan
            print(f"# {t['name']}: {t['result']}", file=sys.stderr)
        if p + fl + s == 0:
            if t.get("result") == "OK":
                p += 1
            elif t.get("result") == "SKIP":
                s += 1
        passed += p
        failed += fl
        skipped += s
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
