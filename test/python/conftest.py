"""Fixtures for the command-line tests: the built lowbit-run and lowbit-opt.

The binaries come from build/bin (LOWBIT_BUILD_DIR overrides build/). When
they are missing every test that uses them fails with a message saying so;
a test run without the tools must never look green.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Generous: a run compiles the model first, and CI machines are small.
TOOL_TIMEOUT_S = 300


def build_dir() -> Path:
    return Path(os.environ.get("LOWBIT_BUILD_DIR") or REPO_ROOT / "build").resolve()


class Tool:
    """A built binary. Calling it runs it and returns the CompletedProcess."""

    def __init__(self, name: str):
        self.name = name
        self.path = build_dir() / "bin" / name

    def __call__(self, *args: object, timeout: float = TOOL_TIMEOUT_S) -> subprocess.CompletedProcess:
        if not self.path.is_file():
            pytest.fail(
                f"{self.path} does not exist: build lowbit first (bash scripts/build.sh) "
                f"or point LOWBIT_BUILD_DIR at a build folder",
                pytrace=False,
            )
        return subprocess.run(
            [str(self.path), *map(str, args)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )


@pytest.fixture(scope="session")
def lowbit_run() -> Tool:
    return Tool("lowbit-run")


@pytest.fixture(scope="session")
def lowbit_opt() -> Tool:
    return Tool("lowbit-opt")


@pytest.fixture(scope="session")
def lowbit_cli() -> Tool:
    """The `lowbit` driver."""
    return Tool("lowbit")


def python_package_dir() -> Path:
    return build_dir() / "python_packages"


@pytest.fixture(scope="session")
def lowbit_module():
    """The `lowbit` Python package from the build tree (fails, never skips,
    when it was not built)."""
    import sys

    package = python_package_dir() / "lowbit"
    if not (package / "__init__.py").is_file() or not list(package.glob("_lowbit*.so")):
        pytest.fail(f"{package} has no built lowbit package: build lowbit first (bash scripts/build.sh)",
                    pytrace=False)
    if str(python_package_dir()) not in sys.path:
        sys.path.insert(0, str(python_package_dir()))
    import lowbit

    return lowbit


def run_single_io(lowbit_run: Tool, tmp_path: Path, model, x, *flags):
    """Saves the ONNX `model` (one input `x`, one output `y`) and runs it
    through `lowbit-run` with `flags`; returns `y` (fails on a non-zero exit)."""
    import numpy as np
    import onnx

    model_path, inputs, out = tmp_path / "m.onnx", tmp_path / "in.npz", tmp_path / "out.npz"
    onnx.save(model, model_path)
    np.savez(inputs, x=x)
    proc = lowbit_run(model_path, "--inputs", inputs, "--outputs", out, *flags)
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as data:
        return data["y"]


def error_line(r) -> str:
    """The one "error: ..." line of a tool run that failed with exit code 1
    (the tools' error contract), asserting that there is exactly one."""
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]
