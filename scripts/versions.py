#!/usr/bin/env python3
"""The versions lowbit is tested with, and whether this machine has them.

Reads python/constraints.txt (every Python package, exact versions) and
scripts/debian-versions.txt (the Debian packages of the toolchain, the
versions last tested), prints one table of pinned against installed, and
exits 1 when a Python package differs from its pin or a Debian package has
another major version than the one recorded. A Debian package of the same
major but another version is reported, not failed: Debian's mirror keeps only
its newest build, so a fresh machine may get a newer point release.

Uses only the standard library, so it runs before anything is installed.

    python3 scripts/versions.py            # print the table, exit 1 on a mismatch
    python3 scripts/versions.py --quiet    # print only the mismatches
    python3 scripts/versions.py --summary  # one line of the main versions, no check
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = REPO_ROOT / "python" / "constraints.txt"
DEBIAN_VERSIONS = REPO_ROOT / "scripts" / "debian-versions.txt"


def canonical(name: str) -> str:
    """PEP 503 name: case and runs of -_. do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path, separator: str) -> list[tuple[str, str]]:
    """(name, version) per 'NAME<separator>VERSION' line; # comments and
    blank lines are skipped. A malformed line is an error naming it."""
    pins = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition(separator)
        if not sep or not name.strip() or not version.strip():
            raise SystemExit(f"versions.py: error: {path}:{number}: expected NAME{separator}VERSION, got '{raw}'")
        pins.append((name.strip(), version.strip()))
    return pins


def installed_python(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def installed_debian(name: str) -> str | None:
    try:
        proc = subprocess.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", name],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    status, _, version = proc.stdout.partition("\t")
    return version if proc.returncode == 0 and status == "install ok installed" else None


def debian_major(version: str) -> str:
    """'1:22.1.8-1~deb12u1' -> '22' (epoch dropped, first number of the upstream version)."""
    upstream = version.split(":", 1)[-1]
    match = re.match(r"\d+", upstream)
    return match.group(0) if match else upstream


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print only the mismatches")
    parser.add_argument("--summary", action="store_true", help="print one line of the main versions and exit 0")
    args = parser.parse_args(argv)

    if args.summary:
        main_python = ("numpy", "onnx", "onnxruntime", "ml_dtypes", "protobuf", "pytest", "lit")
        parts = [f"python {sys.version.split()[0]}"]
        parts += [f"{name} {installed_python(name) or '-'}" for name in main_python]
        parts += [f"llvm-22-dev {installed_debian('llvm-22-dev') or '-'}"]
        print("versions: " + ", ".join(parts))
        return 0

    rows: list[tuple[str, str, str, str]] = []  # (kind, name, pinned, installed or '-')
    errors: list[str] = []
    notes: list[str] = []
    for name, pinned in read_pins(CONSTRAINTS, "=="):
        have = installed_python(name)
        rows.append(("pip", name, pinned, have or "-"))
        if have is None:
            errors.append(f"Python package {name} is not installed (pinned {pinned})")
        elif canonical(have) != canonical(pinned):
            errors.append(f"Python package {name} is {have}, pinned {pinned}")
    for name, recorded in read_pins(DEBIAN_VERSIONS, "="):
        have = installed_debian(name)
        rows.append(("apt", name, recorded, have or "-"))
        if have is None:
            errors.append(f"Debian package {name} is not installed (tested with {recorded})")
        elif debian_major(have) != debian_major(recorded):
            errors.append(f"Debian package {name} is {have}: lowbit is tested with major version "
                          f"{debian_major(recorded)} ({recorded})")
        elif have != recorded:
            notes.append(f"Debian package {name} is {have}, last tested with {recorded} (same major)")

    if not args.quiet:
        width = max(len(name) for _, name, _, _ in rows)
        print(f"versions: python {sys.version.split()[0]} ({sys.executable})")
        print(f"  {'':3}  {'package':<{width}}  {'pinned':<22}  installed")
        for kind, name, pinned, have in rows:
            mark = "" if canonical(have) == canonical(pinned) else "  <-"
            print(f"  {kind:3}  {name:<{width}}  {pinned:<22}  {have}{mark}")
    for note in notes:
        print(f"versions: note: {note}")
    for error in errors:
        print(f"versions: error: {error}", file=sys.stderr)
    if errors:
        print("versions: error: the environment differs from the lock; run scripts/setup.sh "
              "(or scripts/update_lock.sh to move the lock deliberately)", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"versions: all {len(rows)} packages as pinned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
