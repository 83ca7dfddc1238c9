"""Upload page in a real browser, as the first page a fresh server serves: a state_dict shows its
inferred config and joins the session's models; a hostile pickle is refused, runs nothing, and
loses nothing."""

from __future__ import annotations

import io
import os

import torch

from .helpers import wait_for_idle


def _bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _choose(page, name: str, data: bytes) -> None:
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Checkpoint")
    uploader.locator('input[type="file"]').set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
    wait_for_idle(page)


def test_upload_page_first_request_good_and_hostile_files(fresh_server, browser_page, tmp_path):
    page = browser_page
    page.goto(fresh_server + "/Upload")
    wait_for_idle(page)
    assert "Bring your own model" in page.locator("h1").first.inner_text()
    assert "50 MB" in page.locator('[data-testid="stMain"]').inner_text()

    _choose(page, "mine.pt", _bytes(torch.nn.GRU(3, 7, num_layers=2, bidirectional=True).state_dict()))
    page.get_by_text("Inferred configuration").wait_for()
    table = " ".join(page.locator('[data-testid="stTable"]').inner_text().split())
    for row in ("kind GRU", "hidden size 7", "layers 2", "bidirectional True", "input size 3"):
        assert row in table, table
    assert page.locator("strong", has_text="mine (GRU 7)").count() >= 1

    marker = tmp_path / "ran"
    _choose(page, "evil.pt", _bytes({"weight_ih_l0": Evil(marker)}))
    error = page.locator('[data-testid="stAlertContentError"]')
    error.wait_for()
    assert error.inner_text().startswith("Could not use evil.pt: refused: the file holds Python objects or code")
    assert not marker.exists()
    assert "mine (GRU 7)" in page.locator('[data-testid="stMain"]').inner_text()  # the earlier model is kept
    assert not page.lstmviz_errors, page.lstmviz_errors
