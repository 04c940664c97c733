"""User tools from tools.toml: real commands, timeouts, and config errors that say where."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from personal.errors import ToolConfigError
from personal.tools import load_registry

PY = json.dumps(sys.executable)  # a TOML string is a JSON string, for paths with spaces too


def write(folder: Path, text: str) -> Path:
    path = folder / "tools.toml"
    path.write_text(text)
    return path


def yes(tool, args) -> bool:
    return True


def test_a_command_tool(tmp_path):
    path = write(
        tmp_path,
        """
[[tool]]
name = "weather"
description = "Today's forecast for a city"
command = ["printf", "%s|%s|%s", "{city}", "--days={days}", "{{literal}}"]
side_effects = false
timeout = 5
[tool.args.city]
type = "string"
description = "City name"
required = true
[tool.args.days]
type = "integer"
default = 1
""",
    )
    registry = load_registry(config_path=path)
    weather = registry.get("weather")
    assert weather.source == f"config:{path}" and weather.timeout == 5
    assert weather.schema()["function"]["parameters"] == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "days": {"type": "integer", "default": 1},
        },
        "required": ["city"],
    }
    # a hostile value stays one argument: there is no shell
    result = registry.call("weather", {"city": "Paris; rm -rf ~ $(id)", "days": "3"})
    assert result.content == "Paris; rm -rf ~ $(id)|--days=3|{literal}"
    assert registry.parse_command("/weather New York") == (
        "weather",
        {"city": "New York", "days": 1},
    )
    assert registry.call("weather", {"city": "Oslo"}).content == "Oslo|--days=1|{literal}"


def test_command_tools_ask_first_by_default_and_report_failures(tmp_path):
    path = write(
        tmp_path,
        f"""
[[tool]]
name = "fail"
description = "Fails"
command = [{PY}, "-c", "import sys; print('partial'); sys.exit('{{why}}')"]
[tool.args.why]
required = true

[[tool]]
name = "optional"
description = "Drops elements for absent arguments"
command = "printf '[%s]' start {{flag}} end"
side_effects = false
[tool.args.flag]
type = "boolean"

[[tool]]
name = "missing"
description = "Not installed"
command = ["surely-not-an-installed-program-xyz"]
side_effects = false
""",
    )
    registry = load_registry(config_path=path)
    assert registry.get("fail").side_effects
    assert "confirmation" in registry.call("fail", {"why": "x"}).error
    failed = registry.call("fail", {"why": "disk full"}, confirm=yes)
    assert failed.error == "tool 'fail' failed (exit status 1): disk full"
    assert registry.call("optional", {}).content == "[start][end]"
    assert registry.call("optional", {"flag": True}).content == "[start][true][end]"
    missing = registry.call("missing", {})
    assert "command not found: surely-not-an-installed-program-xyz" in missing.error


def test_a_hanging_command_is_killed(tmp_path):
    pid_file = tmp_path / "pid"
    script = (
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    )
    path = write(
        tmp_path,
        f"""
[[tool]]
name = "hang"
description = "Sleeps"
command = [{PY}, "-c", {json.dumps(script)}]
side_effects = false
timeout = 0.5
""",
    )
    start = time.monotonic()
    result = load_registry(config_path=path).call("hang", {})
    assert not result.ok and "did not finish within 0.5 s" in result.error
    assert time.monotonic() - start < 3
    pid = int(pid_file.read_text())
    for _ in range(100):  # the tool's thread kills and reaps it just after the timeout
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the timed-out command is still running")


def test_allowed_folders_come_from_the_config(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text("hello")
    path = write(tmp_path, '[files]\nallowed_folders = ["notes"]\n')  # relative to the file
    assert load_registry(config_path=path).call("read_file", {"path": "a.md"}).content == "hello"


BROKEN = [
    ("[[tool]\nname = 1\n", 1, "invalid TOML"),
    (
        '[[tool]]\nname = "w"\ndescription = "d"\ncommand = ["x"]\n\ntimeout = "5"\n',
        "tools.toml:6: tool 'w': field 'timeout' must be a number",
    ),
    (
        '[[tool]]\nname = "w"\ndescription = "d"\ncommand = ["x", "{cty}"]\n'
        '[tool.args.city]\ntype = "strng"\n',
        "tools.toml:6: tool 'w': field 'args.city.type' must be one of string, integer",
    ),
    (
        '[[tool]]\nname = "Bad Name"\n',
        "tools.toml:2: tool 'Bad Name': field 'name' must be lowercase",
    ),
    (
        '[[tool]]\nname = "calc"\ndescription = "d"\ncommand = "x"\n',
        "field 'name' is taken: another tool is already called 'calc'",
    ),
    (
        '[[tool]]\nname = "w"\ndescription = "d"\n',
        "tools.toml:1: tool 'w': field 'command' must be a list",
    ),
    (
        '[[tool]]\nname = "w"\ndescription = "d"\ncommand = "x {a}"\ncomand = 1\n',
        "tools.toml:5: tool 'w': field 'comand' is not a known field",
    ),
    ('[[tools]]\nname = "w"\n', "tools.toml:1: unknown section 'tools' (did you mean [[tool]]?)"),
    (
        '[files]\nallowed_folders = "~/notes"\n',
        "tools.toml:2: field 'allowed_folders' must be a list",
    ),
    (
        '[[tool]]\nname = "w"\ndescription = "d"\ncommand = "x"\n[tool.args.n]\ntype = "integer"\n'
        'default = "3"\n',
        "tools.toml:7: tool 'w': field 'args.n.default' must be an integer",
    ),
]


@pytest.mark.parametrize("case", BROKEN, ids=lambda case: case[-1][:40])
def test_config_errors_name_file_line_and_field(tmp_path, case):
    text, expected = case[0], case[-1]
    path = write(tmp_path, text)
    with pytest.raises(ToolConfigError) as error:
        load_registry(config_path=path)
    assert str(path.parent) in error.value.message
    assert expected in error.value.message
    if len(case) == 3:  # a TOML syntax error: tomllib's own line
        assert error.value.line == case[1]


def test_a_broken_config_does_not_break_the_chat(tmp_path):
    path = write(
        tmp_path,
        """
[[tool]]
name = "good"
description = "Works"
command = ["printf", "ok"]
side_effects = false

[[tool]]
name = "bad"
description = "Broken"
command = ["printf", "{nothing}"]
timeout = -1
""",
    )
    registry = load_registry(config_path=path, strict=False)
    assert registry.call("good", {}).content == "ok"
    assert "bad" not in registry.names() and "calc" in registry.names()
    assert registry.problems == [
        f"{path}:12: tool 'bad': field 'timeout' must be more than 0 and at most 600 seconds",
        f"{path}:11: tool 'bad': field 'command' uses {{nothing}} but there is no [tool.args.nothing]",
    ]
    syntax = load_registry(config_path=write(tmp_path, "[[tool]\n"), strict=False)
    assert "calc" in syntax.names() and "invalid TOML" in syntax.problems[0]


def test_missing_configs(tmp_path, personal_home):
    assert "calc" in load_registry().names()  # no $PERSONAL_HOME/tools.toml: built-ins only
    with pytest.raises(ToolConfigError, match="no such file"):
        load_registry(config_path=tmp_path / "elsewhere.toml")
    personal_home.mkdir(exist_ok=True)
    write(personal_home, '[[tool]]\nname = "hi"\ndescription = "d"\ncommand = "printf hi"\n')
    assert "hi" in load_registry().names()  # the default place
