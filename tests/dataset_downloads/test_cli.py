"""The command line: argument handling that needs no running server."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataset_downloads.cli import main


def test_serve_refuses_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--data", str(tmp_path / "nope")]) == 2
    assert "sample-data" in capsys.readouterr().err


def test_serve_s3_needs_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--data", "s3://bucket/prefix/", "--s3"]) == 2
    assert "--data DIR" in capsys.readouterr().err


def test_a_subcommand_is_required() -> None:
    with pytest.raises(SystemExit):
        main([])


def test_traces_options_reach_the_traces_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["traces", "--dir", str(tmp_path)]) == 0
    assert str(tmp_path) in capsys.readouterr().err  # "no traces under DIR": the option reached `traces`
    assert main(["traces", "--dir", str(tmp_path), "1-00000000-000000000000000000000000"]) == 1
