"""``siyu explore``: the knobs reach the model, the comparison is the engine's, and the page works in a real browser.

The browser test starts ``siyu explore`` and drives the page with Playwright in headless Chromium:
the plots fill with data as days pass, moving a policy slider and pressing Reset changes the run,
and the comparison button plays every baseline. It saves screenshots under the folder it prints
(``SIYU_ARTEFACTS``, default ``<tmp>/siyu-artefacts``). It is skipped, saying why, when Playwright
or a Chromium it can drive is missing (``pip install playwright`` and ``apt-get install chromium``,
or ``playwright install chromium`` where its download site is reachable).
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from agents.explorer import ExplorerModel, compare, knobbed_policy
from agents.mesa_model import PoolModel
from tests.test_extras import run_cli

ROOT = Path(__file__).resolve().parents[1]
CHROMIUMS = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome")
"""Chromium builds from the system's packages, tried when Playwright's own browser is not installed."""


def test_knobs_reach_the_scenario_and_the_policy():
    m = ExplorerModel("beauty", "fatigue_capped", customers=600, days=5, seed="3", min_gap_days=2,
                      fatigue_half_life_days=11, group_size=100, customers_per_guide=250)
    assert m.seed == 3 and m.policy.params.min_gap_days == 2
    assert m.scenario.dynamics.fatigue_half_life_days == 11 and m.scenario.staff.customers_per_guide == 250
    assert len(m.groups) == 6 and len(m.staff) == 3
    assert knobbed_policy("no_contact", {"min_gap_days": 2}).name == "no_contact"  # knobs it lacks are ignored
    with pytest.raises(ValueError, match="seed must be a whole number"):
        ExplorerModel(customers=600, seed="x1")


def test_comparison_replays_each_policy_on_the_same_pool():
    m = ExplorerModel("beauty", "fatigue_capped", customers=600, days=6, seed=2)
    result = compare(m, ("no_contact", "rfm_tiered"))
    solo = PoolModel("beauty", "rfm_tiered", customers=600, days=6, seed=2)
    solo.run_model()
    assert result["totals"]["rfm_tiered"] == solo.summary()["total_value"]
    assert np.array_equal(result["curves"]["rfm_tiered"],
                          solo.datacollector.get_model_vars_dataframe()["cumulative_net_profit"].to_numpy())
    assert list(result["curves"]) == ["no_contact", "rfm_tiered"]


def test_explore_without_the_extra_is_one_line_and_exit_3():
    proc, _ = run_cli(["explore", "--no-open"], block=("solara",))
    assert proc.returncode == 3
    # the last line: a cold numba cache adds a line saying it compiles first
    assert proc.stderr.strip().splitlines()[-1] == "siyu explore needs the Mesa extra: pip install 'siyu[mesa]'"


def test_explore_with_a_bad_scenario_is_one_line_and_exit_2():
    proc, _ = run_cli(["explore", "--scenario", "nope", "--no-open"])
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("siyu explore: error:") and "unknown" in last and "'nope'" in last


# --- the page in a real browser --------------------------------------------------------------------

def chromium() -> str | None:
    """Path of a Chromium Playwright can drive ("" for its own build); None when there is none."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as p:
        if Path(p.chromium.executable_path).exists():
            return ""
    for name in CHROMIUMS:
        found = shutil.which(name) if "/" not in name else (name if Path(name).exists() else None)
        if found:
            return found
    return None


BROWSER = chromium()


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """``siyu explore`` on a small pool, in its own process group (ended with it)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "experiments.cli", "explore", "--no-open", "--port", str(port),
                             "--customers", "1500", "--days", "60", "--seed", "1"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"siyu explore did not serve {url} (exit code {proc.poll()})")
                time.sleep(1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def settled_shot(locator, tries: int = 10) -> bytes:
    """A screenshot of ``locator``, retried while the page swaps the element for a re-rendered one."""
    from playwright.sync_api import Error
    for attempt in range(tries):
        try:
            return locator.screenshot(timeout=30_000)
        except Error:
            if attempt == tries - 1:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


def artefacts() -> Path:
    """Folder for the screenshots (printed, so a CI log says where they are)."""
    folder = Path(os.environ.get("SIYU_ARTEFACTS", Path(tempfile.gettempdir()) / "siyu-artefacts"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"explorer screenshots in {folder}")
    return folder


def line_pixels(png: bytes, rgb: tuple[int, int, int] = (31, 119, 180)) -> int:
    """Pixels of a plot image in matplotlib's first line colour (C0): 0 for an empty plot."""
    import matplotlib.image
    image = (matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(int)
    return int((np.abs(image - np.array(rgb)).sum(axis=-1) < 40).sum())


@pytest.mark.skipif(BROWSER is None, reason="no browser for the explorer test: needs `pip install playwright` and "
                                            "Chromium (`apt-get install chromium`, or `playwright install chromium`)")
def test_the_page_plots_data_and_a_slider_changes_the_run(server):
    from playwright.sync_api import expect, sync_playwright
    out = artefacts()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=BROWSER or None, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server, timeout=120_000)
            kpis = page.locator(".siyu-kpis")
            expect(kpis).to_contain_text("day 0", timeout=120_000)
            plot = page.locator("img").first
            expect(plot).to_be_visible(timeout=120_000)
            empty = line_pixels(settled_shot(plot))

            def play(days: int) -> str:
                for _ in range(days):
                    page.get_by_role("button", name="Step").click()
                expect(kpis).to_contain_text(f"day {days} ", timeout=60_000)
                return kpis.inner_text()

            before = play(10)
            assert line_pixels(settled_shot(page.locator("img").first)) > empty + 50  # the KPI line is drawn
            page.screenshot(path=str(out / "explorer-day10.png"))

            gap = page.locator(".v-input", has_text="policy min gap (days)").get_by_role("slider")
            start = gap.get_attribute("aria-valuenow")
            gap.focus()
            for _ in range(5):
                page.keyboard.press("ArrowLeft")
            assert int(gap.get_attribute("aria-valuenow")) == int(start) - 5
            page.get_by_role("button", name="Reset").click()
            expect(kpis).to_contain_text("day 0", timeout=60_000)
            after = play(10)
            assert after != before, "moving the min-gap slider did not change the run"

            page.get_by_role("button", name="Run comparison").click()
            expect(page.locator(".siyu-comparison")).to_contain_text("best:", timeout=120_000)
            page.screenshot(path=str(out / "explorer.png"), full_page=True)
        finally:
            browser.close()
