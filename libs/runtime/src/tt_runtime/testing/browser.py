"""Browser tests: Debian's chromium driven by Playwright (Playwright's own browser download is never used).

A test module calls ``require_chromium()`` at import: locally a missing chromium skips the module, under
CI it fails the run. Screenshots go to ``tests/artifacts/screenshots/`` below the directory pytest runs in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Nothing but loopback resolves: a page that reaches for the internet fails visibly.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
SHOTS = Path("tests") / "artifacts" / "screenshots"


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is required under CI (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


async def launch(playwright: Any) -> Any:
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


async def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def watch_console(page: Any) -> list[str]:
    """Console errors and uncaught exceptions of ``page``, collected for a final assertion."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.text} at {m.location}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems
