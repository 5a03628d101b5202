"""Supply chain: every Python dependency, direct and indirect, pinned with hashes.

Inputs (*.in) hold the direct pins; scripts/lock.sh turns them into lock files
whose header records the inputs' SHA-256. Both README commands and every image
install a lock with pip --require-hashes.
"""

from __future__ import annotations

import hashlib
import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["directory", "contacts", "sla-monitor", "notifier", "web"]
LOCKS = ["requirements.txt", "requirements-dev.txt"] + [f"services/{s}/requirements.txt" for s in SERVICES]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def header(lock: str) -> tuple[list[str], str]:
    text = (ROOT / lock).read_text()
    inputs = re.search(r"^# inputs: (.+)$", text, re.MULTILINE)
    digest = re.search(r"^# inputs-sha256: ([0-9a-f]{64})$", text, re.MULTILINE)
    assert inputs and digest, f"{lock} was not written by scripts/lock.sh"
    return inputs.group(1).split(), digest.group(1)


def pins(text: str) -> dict[str, str]:
    return {canonical(name): version for name, version in PIN.findall(text)}


def entries(lock: str) -> list[str]:
    """The lock's requirements, each with its continuation lines joined."""
    text = (ROOT / lock).read_text().replace("\\\n", " ")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.mark.parametrize("lock", LOCKS)
def test_a_lock_is_in_step_with_its_inputs(lock):
    inputs, recorded = header(lock)
    joined = b"".join((ROOT / name).read_bytes() for name in inputs)
    assert hashlib.sha256(joined).hexdigest() == recorded, (
        f"{lock} is out of step with {' '.join(inputs)}: run scripts/lock.sh"
    )
    locked = pins((ROOT / lock).read_text())
    for name in inputs:
        for package, version in pins((ROOT / name).read_text()).items():
            assert locked.get(package) == version, (
                f"{name} pins {package}=={version}; {lock} has {locked.get(package)}"
            )


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_is_pinned_with_a_hash(lock):
    for entry in entries(lock):
        assert PIN.match(entry), f"{lock}: not an exact pin: {entry[:80]}"
        assert "--hash=sha256:" in entry, f"{lock}: no hash for {entry.split()[0]}"


def test_the_run_and_test_locks_cover_every_service():
    run_inputs, _ = header("requirements.txt")
    dev_inputs, _ = header("requirements-dev.txt")
    wanted = {"shared/requirements.in", "requirements.in"} | {
        f"services/{s}/requirements.in" for s in SERVICES
    }
    assert wanted <= set(run_inputs)
    assert wanted | {"requirements-dev.in"} <= set(dev_inputs)
    for service in SERVICES:
        inputs, _ = header(f"services/{service}/requirements.txt")
        assert inputs == ["shared/requirements.in", f"services/{service}/requirements.in"]


def test_this_environment_was_installed_from_the_test_lock():
    """What `make test` installed is exactly what requirements-dev.txt says."""
    for package, version in pins((ROOT / "requirements-dev.txt").read_text()).items():
        assert metadata.version(package) == version, (
            f"{package}: installed {metadata.version(package)}, locked {version}"
        )


def test_each_image_installs_its_own_lock_with_hashes():
    """One Dockerfile builds every image; its SERVICE argument picks the service's own lock."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY services/${SERVICE}/requirements.txt requirements.txt" in dockerfile
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert any("--require-hashes -r requirements.txt" in line for line in installs)
    # The project's own packages add nothing unhashed: no dependencies, no build isolation.
    assert all("--require-hashes" in line or "--no-deps --no-build-isolation" in line for line in installs)


def test_both_readme_commands_install_with_hashes():
    makefile = (ROOT / "Makefile").read_text()
    venv = (ROOT / "scripts/venv.sh").read_text()
    assert (
        "scripts/venv.sh requirements.txt" in makefile and "scripts/venv.sh requirements-dev.txt" in makefile
    )
    assert "--require-hashes" in venv and "--no-deps --no-build-isolation" in venv


def test_every_make_target_that_uses_the_venv_installs_it_first():
    """`make lint` after `make run` found no ruff: run's venv holds the runner's locks alone."""
    targets = re.findall(r"^([a-z]+):\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    uses_tools = {name: recipe for name, recipe in targets if ".venv/bin/" in recipe}
    assert set(uses_tools) >= {"run", "test", "lint", "bench"}
    for name, recipe in uses_tools.items():
        first = recipe.splitlines()[0]
        wanted = "requirements.txt" if name == "run" else "requirements-dev.txt"
        assert f"scripts/venv.sh {wanted}" in first, f"make {name} runs {first.strip()!r} first"
