"""The CLI builds only the command it runs (typer builds every registered command's parser at start-up otherwise);
what a user sees -- help, errors, output -- is the same as from the whole app."""

from __future__ import annotations

import importlib

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from gapkit.cli import COMMAND_MODULES, _app_for, _command_name, app


def test_command_modules_lists_every_registered_command() -> None:
    found: dict[str, str] = {}
    for module in dict.fromkeys(COMMAND_MODULES.values()):
        holder = typer.Typer()
        importlib.import_module(module).register(holder)
        found.update({_command_name(c): module for c in holder.registered_commands})
        found.update({str(g.name): module for g in holder.registered_groups})
    assert found == COMMAND_MODULES
    assert not set(found) & {_command_name(c) for c in app.registered_commands}


def test_a_command_name_builds_that_command_alone() -> None:
    assert list(typer.main.get_command(_app_for(["gap", "--sector", "transportation"])).commands) == ["gap"]
    assert list(typer.main.get_command(_app_for(["sectors", "show", "x"])).commands) == ["sectors"]
    assert list(typer.main.get_command(_app_for(["ingest"])).commands) == ["ingest"]
    whole = typer.main.get_command(_app_for(["--help"]))
    assert set(COMMAND_MODULES) | {"ingest", "sources"} <= set(whole.commands)
    assert typer.main.get_command(_app_for(["gapp"])).commands.keys() == whole.commands.keys()  # did-you-mean needs all


ALL = sorted({*COMMAND_MODULES, "ingest", "sources"})


@pytest.mark.parametrize("name", ALL)
def test_help_and_errors_as_from_the_whole_app(name: str) -> None:
    runner = CliRunner()
    whole = _app_for([])
    for args in ([name, "--help"], [name, "--no-such-option"]):
        alone = runner.invoke(_app_for(args), args, prog_name="gapkit")
        full = runner.invoke(whole, args, prog_name="gapkit")
        assert (alone.exit_code, alone.output) == (full.exit_code, full.output)
