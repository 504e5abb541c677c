"""`make install` says what each step does and lets pip show progress (checked with `make -n`: nothing is installed)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_install_announces_each_step_and_pip_is_not_quiet(tmp_path):
    venv = tmp_path / ".venv"  # does not exist, so make plans the whole install
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under `make test`
    plan = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT), "install", f"VENV={venv}"],
                          env=env, capture_output=True, text=True, check=True, timeout=60).stdout
    steps = [line for line in plan.splitlines() if "==>" in line]
    assert [s.split("==> ", 1)[1].rstrip('"').split(" (")[0] for s in steps] == [
        f"creating {venv}", f"upgrading pip in {venv}", "installing torch 2.13.0",
        "installing newsrag and its dependencies", f"installed into {venv}"]
    pip_lines = [line for line in plan.splitlines() if " -m pip install" in line]
    assert len(pip_lines) == 3 and not any("--quiet" in line or " -q" in line for line in pip_lines)
    # torch first and pinned, then the project; the stamp last
    assert pip_lines[1].endswith("torch==2.13.0") and pip_lines[2].endswith('-e ".[dev]"')
    assert plan.splitlines()[-2] == f"touch {venv}/.installed"
