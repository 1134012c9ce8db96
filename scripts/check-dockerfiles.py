"""Syntax-checks the deployment's Dockerfiles without a Docker engine (there is none on the build
machines): each file goes through BuildKit's own parser (the `dockerfile` package wraps it), then
through the checks that parser leaves to build time. Exits non-zero naming every problem.

Usage: check-dockerfiles.py FILE...   (run by cloud/tests/deploy.rs)
"""
import os
import sys

import dockerfile

KNOWN = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
         "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check(path):
    problems = []
    try:
        commands = dockerfile.parse_file(path)
    except dockerfile.GoParseError as e:
        return [f"{path}: {e}"]
    stages = []
    for c in commands:
        where = f"{path}:{c.start_line}"
        if c.cmd not in KNOWN:
            problems.append(f"{where}: unknown instruction {c.cmd}")
            continue
        if not stages and c.cmd not in ("FROM", "ARG"):
            problems.append(f"{where}: {c.cmd} before the first FROM")
        if c.cmd == "FROM":
            v = [x.lower() for x in c.value]
            stages.append(v[2] if len(v) == 3 and v[1] == "as" else None)
        if c.cmd in ("ENTRYPOINT", "CMD") and not c.json:
            problems.append(f"{where}: {c.cmd} should be in exec form (a JSON array), so signals reach the process")
        if any(v.count('"') % 2 for v in c.value if not c.json):
            problems.append(f"{where}: unbalanced quotes in {c.cmd}")
        if c.cmd == "COPY":
            stage = next((f.split("=", 1)[1] for f in c.flags if f.startswith("--from=")), None)
            if stage is not None:
                if stage.lower() not in stages:
                    problems.append(f"{where}: COPY --from={stage} names no earlier stage")
            else:
                for source in c.value[:-1]:
                    if source != "." and not os.path.exists(os.path.join(ROOT, source)):
                        problems.append(f"{where}: COPY source {source} is not in the repository")
    if not stages:
        problems.append(f"{path}: no FROM")
    return problems


problems = [p for f in sys.argv[1:] for p in check(f)]
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
