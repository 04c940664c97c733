"""What the chat gained: /loss draws the loss curve of the current revision (FakeEngine, a
real registry with a revision that recorded its curve), and /prefs marks candidates from
an import, which space confirms."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from personal.adapters.manifest import BaseIdentity, Manifest, Verdict
from personal.adapters.registry import WEIGHTS, Registry
from personal.engine.fake import FakeEngine
from tests.test_tui import SIZE, send, wait_for
from tui.app import PersonalApp
from tui.loss_screen import NONE, LossScreen

pytestmark = pytest.mark.anyio
FINGERPRINT = "0" * 64  # the fake engine's base


def current_revision(loss: dict) -> str:
    reg = Registry()
    staged = reg.stage()
    (staged / "mlx").mkdir()
    save_file({"a.lora_a": np.ones((4, 2), np.float32), "a.lora_b": np.ones((2, 4), np.float32)},
              str(staged / WEIGHTS))  # fmt: skip
    (staged / "loss.json").write_text(json.dumps(loss))
    manifest = Manifest(base=BaseIdentity("fake", "llama", FINGERPRINT), formats={"mlx": "mlx"},
                        verdict=Verdict(True))  # fmt: skip
    rev = reg.commit(staged, manifest)
    reg.set_current(FINGERPRINT, rev, "promote")
    return rev.short


async def test_loss_shows_the_current_revisions_curve(log):
    app = PersonalApp(FakeEngine(model="fake-model"), log)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/loss")
        await wait_for(pilot, lambda: isinstance(app.screen, LossScreen))
        assert str(app.screen.query_one("#caption").render()) == NONE
        await pilot.press("escape")
        short = current_revision({"train": [[i, 3 - i / 20] for i in range(1, 41)],
                                  "val": [[20, 2.2], [40, 1.9]]})  # fmt: skip
        await send(pilot, "/loss")
        await wait_for(pilot, lambda: isinstance(app.screen, LossScreen))
        screen = app.screen
        await pilot.pause()
        caption = str(screen.query_one("#caption").render())
        assert caption == f"Revision {short}: loss 1.000 after 40 steps, validation 1.900"
        plot = str(screen.query_one("#plot").render())
        assert "train" in plot and "validation" in plot
        assert any("\u2800" <= ch <= "\u28ff" for ch in plot)  # the braille line
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LossScreen))


async def test_prefs_screen_marks_candidates_and_space_confirms(log, tmp_path):
    from personal.prefs import importing
    from personal.prefs.preferences import Preferences
    from tests.test_import_chatgpt import code_interpreter_export
    from tui.prefs_screen import PrefsScreen

    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(code_interpreter_export()))
    importing.import_file(log, path)
    name = next(p for p in Preferences(log).candidates() if p.kind == "name")
    app = PersonalApp(FakeEngine(model="fake-model"), log)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/prefs")
        await wait_for(pilot, lambda: isinstance(app.screen, PrefsScreen))
        screen = app.screen
        table = screen.table
        keys = [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]
        assert {str(table.get_row_at(i)[0]) for i in range(table.row_count)} == {"?"}
        table.move_cursor(row=keys.index(name.id))
        await pilot.press("space")
        await pilot.pause()
        assert Preferences(log).get(name.id).confirmed and Preferences(log).get(name.id).active
        assert str(table.get_row_at(keys.index(name.id))[0]) == "✓"
