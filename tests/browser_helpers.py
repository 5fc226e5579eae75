"""Shared by the headless-Chromium tests: where their screenshots go, and saving one."""

from __future__ import annotations

from pathlib import Path

# Kept after the run (CI uploads them): outside the per-test temporary outputs.
ARTIFACTS = Path(__file__).resolve().parents[1] / "outputs" / "test-artifacts"


def save_screenshot(page, name: str, note: str = "") -> Path:
    """A full-page screenshot of `page` as ARTIFACTS/name; its path is printed."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / name
    page.screenshot(path=str(shot), full_page=True)
    print(f"\n[screenshot] {shot}{f' ({note})' if note else ''}")
    return shot
