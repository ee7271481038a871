"""The README's "A first session with curl", run as written against a development server.

The server is started with the command ``make run PORT=<free port>`` runs (as ``make -n`` prints
it), in a fresh data folder. The README's block is taken from README.md and run by bash, byte for
byte, from a folder whose ``.venv/bin/funding-engine`` runs this checkout's CLI. Only curl's
configuration file differs from a person's terminal: it sends ``localhost:8000`` to the test's
port, and has curl report each answer's status on standard error, where the test reads it.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_server import START_TIMEOUT, environment, free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECTION = "## A first session with curl"
DEMO_COMMITTED = "5952.37"  # northmere-coast's commitments in the demo year, before the session


def readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    return text.split(SECTION, 1)[1].split("\n## ", 1)[0]


def readme_session() -> str:
    found = re.search(r"```sh\n(.*?)```", readme_section(), re.DOTALL)
    assert found is not None, "the curl session's ```sh block is missing"
    return found.group(1)


def make_run_arguments(port: int) -> list[str]:
    """The arguments ``make run PORT=port`` gives ``.venv/bin/funding-engine``."""
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", f"PORT={port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    (command,) = [line for line in printed.splitlines() if "funding-engine" in line and " serve" in line]
    program, *arguments = shlex.split(command)
    assert program == ".venv/bin/funding-engine", command
    return arguments


@pytest.fixture
def session_folder(tmp_path: Path) -> Path:
    """A folder laid out as the README assumes: ``.venv/bin/funding-engine`` runs this checkout's CLI."""
    for tool in ("bash", "curl", "jq", "make"):
        assert shutil.which(tool), f"{tool} is missing: the README's session needs it (.ci/run installs curl and jq)"
    program = tmp_path / ".venv" / "bin" / "funding-engine"
    program.parent.mkdir(parents=True)
    program.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m funding_engine.cli "$@"\n')
    program.chmod(0o755)
    return tmp_path


@pytest.fixture
def dev_server(session_folder: Path) -> Iterator[tuple[int, dict[str, str], Path]]:
    """``make run`` on a free port, with its data in the session folder: (port, environment, log)."""
    port = free_port()
    env = environment(FUNDING_ENGINE_DATA_DIR=str(session_folder / "var"), CURL_HOME=str(session_folder))
    arguments = make_run_arguments(port)
    assert arguments == ["serve", "--dev", "--port", str(port)], "make run honours PORT"
    log = session_folder / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(session_folder / ".venv" / "bin" / "funding-engine"), *arguments],
            cwd=session_folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"make run's server exited:\n{log.read_text()}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"make run's server did not answer:\n{log.read_text()}"
            time.sleep(0.05)
        yield port, env, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def json_documents(text: str) -> list[Any]:
    decoder, documents, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        document, at = decoder.raw_decode(text, at)
        documents.append(document)
    return documents


def printed_token(log: str, label: str) -> str:
    found = re.search(rf"^\s+{re.escape(label)}\s+(eyJ[\w-]+\.[\w-]+\.[\w-]+)$", log, re.MULTILINE)
    assert found is not None, log
    return found.group(1)


def test_the_readme_names_what_its_session_needs():
    before_the_block = readme_section().split("```sh", 1)[0]
    assert "make run" in before_the_block
    assert "`curl`" in before_the_block and "`jq`" in before_the_block


def test_the_readmes_curl_session_works_as_written_against_make_run(session_folder, dev_server):
    port, env, log = dev_server
    budget_url = f"http://127.0.0.1:{port}/clusters/northmere-coast/budgets/2026-27"
    finance = {"Authorization": f"Bearer {printed_token(log.read_text(), 'finance officer')}"}
    assert httpx.get(budget_url, headers=finance).json()["committed"] == DEMO_COMMITTED
    (session_folder / ".curlrc").write_text(
        f"connect-to = localhost:8000:127.0.0.1:{port}\n"
        'write-out = "%{stderr}HTTP %{response_code} %{method} %{url_effective}\\n"\n'
    )

    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", readme_session()],
        check=False,
        cwd=session_folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    answers = re.findall(r"^HTTP (\d{3}) (\w+) http://localhost:8000(\S*)$", result.stderr, re.MULTILINE)
    request_id = json_documents(result.stdout)[0]["id"]
    assert answers == [
        ("201", "POST", "/requests"),
        ("200", "POST", f"/requests/{request_id}/evidence"),
        ("200", "POST", f"/requests/{request_id}/approve"),
        ("200", "GET", "/clusters/northmere-coast/budgets/2026-27"),
    ], result.stderr
    # Each token was signed with the development server's secret, and `token` said so.
    assert result.stderr.count("signed with the development server's throwaway secret") == 3
    evidenced, approved, budget = json_documents(result.stdout)
    assert (evidenced["status"], evidenced["version"]) == ("evidenced", 2)
    assert (approved["id"], approved["status"], approved["amount_approved"]) == (
        request_id,
        "cluster_approved",
        "2500.00",
    )
    assert approved["version"] == 3
    # "and the balance shows it straight away", as the README says: the demo's 5952.37 and 2500.00.
    assert budget["committed"] == "8452.37"
    assert '"committed": "8452.37"' in readme_section()
    assert httpx.get(budget_url, headers=finance).json() == budget
