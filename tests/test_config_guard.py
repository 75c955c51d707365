"""No configuration a user receives makes Python import a module: every entry point, with a real
module whose import leaves a marker file, on ``sys.path`` and in the working folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

from torchgan_lstm.app import cli
from torchgan_lstm.app.config import RunConfig

HOSTILE = "planted_module"


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """A folder on ``sys.path`` (and the working folder) holding ``planted_module.py``, whose
    import writes ``MARKER``; yields the marker's path."""
    marker = tmp_path / "MARKER"
    (tmp_path / f"{HOSTILE}.py").write_text(
        textwrap.dedent(f"""
            import pathlib
            pathlib.Path({str(marker)!r}).write_text("imported")
            import torch.nn as nn
            from torchgan.models import Generator
            class Gen(Generator):
                def __init__(self, **kw):
                    super().__init__(16)
            class Layer(nn.Module):
                pass
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield marker
    assert HOSTILE not in sys.modules, "the planted module was imported"
    assert not marker.exists(), "the planted module ran"


def refused(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _config_file(folder: Path, data: dict, name: str = "run.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["--generator", f"{HOSTILE}.Gen"],
        [f"--generator={HOSTILE}.Gen"],
        ["--generator.class_path", f"{HOSTILE}.Gen"],
        ["--generator.help", f"{HOSTILE}.Gen"],
        ["--discriminator", f"{HOSTILE}.Gen"],
        ["--generator", f'{{"class_path": "{HOSTILE}.Gen"}}'],
        ["--generator.init_args.nonlinearity", f"{HOSTILE}.Layer"],
        ["--generator.init_args.nonlinearity", f"{{class_path: {HOSTILE}.Layer}}"],
        ["--generator", "DCGANGenerator", "--generator.init_args.nonlinearity", f"{HOSTILE}.Layer"],
        ["--discriminator.init_args.nonlinearity", f"{HOSTILE}.Layer"],
        ["--config", f"{{generator: {HOSTILE}.Gen}}"],
        ["--generator", "this.Gen"],  # a standard-library module whose import prints
    ],
)
def test_class_paths_on_the_command_line_import_nothing(planted, capsys, argv):
    err = refused(["train", *argv, "--print-config"], capsys)
    assert "nonlinearity" in err or "registered" in err
    assert "this" not in sys.modules


@pytest.mark.parametrize(
    "document",
    [
        {"generator": {"class_path": f"{HOSTILE}.Gen"}},
        {"generator": f"{HOSTILE}.Gen"},
        {
            "discriminator": {
                "class_path": "ConvDiscriminator",
                "init_args": {"nonlinearity": {"class_path": f"{HOSTILE}.Layer"}},
            }
        },
        {
            "generator": {
                "class_path": "LSTMGenerator",
                "init_args": {"nonlinearity": f"{HOSTILE}.Layer"},
            }
        },
    ],
)
def test_class_paths_in_a_config_file_import_nothing(planted, capsys, tmp_path, document):
    config = _config_file(tmp_path, document)
    err = refused(["train", "--config", str(config), "--print-config"], capsys)
    assert HOSTILE in err or "nonlinearity" in err


def test_a_config_file_naming_another_config_file_imports_nothing(planted, capsys, tmp_path):
    inner = _config_file(tmp_path, {"class_path": f"{HOSTILE}.Gen"}, "inner.yaml")
    outer = _config_file(tmp_path, {"generator": str(inner)})
    assert HOSTILE in refused(["train", "--config", str(outer), "--print-config"], capsys)
    assert HOSTILE in refused(["train", "--generator", str(inner), "--print-config"], capsys)


def test_resuming_a_run_folder_with_a_tampered_config_imports_nothing(planted, capsys, tmp_path):
    run = tmp_path / "downloaded_run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "gan0.model").write_bytes(b"not read")
    config = RunConfig().to_dict()
    config["generator"]["class_path"] = f"{HOSTILE}.Gen"
    _config_file(run, config, "config.yaml")
    err = refused(["train", "--resume", str(run)], capsys)
    assert f"'{HOSTILE}.Gen' is not a registered model" in err and "LSTMGenerator" in err


@pytest.mark.parametrize("command", ["sample", "evaluate", "export"])
def test_a_checkpoints_stored_configuration_imports_nothing(planted, capsys, tmp_path, command):
    config = RunConfig().to_dict()
    config["generator"]["class_path"] = f"{HOSTILE}.Gen"
    checkpoint = tmp_path / "gan0.model"
    torch.save({"run_config": config, "generator": {}}, checkpoint)
    extra = [str(tmp_path / "exported")] if command == "export" else []
    err = refused([command, str(checkpoint), *extra], capsys)
    assert f"'{HOSTILE}.Gen' is not a registered model" in err


def test_registered_names_and_their_import_paths_still_work(capsys):
    names = [
        "LSTMGenerator",
        "torchgan_lstm.LSTMGenerator",
        "torchgan_lstm.models.lstm.LSTMGenerator",
    ]
    for name in [*names, "torchgan.models.DCGANGenerator"]:
        assert cli.main(["train", "--generator", name, "--print-config"]) == 0
    assert "class_path: torchgan.models.DCGANGenerator" in capsys.readouterr().out


def test_a_path_that_would_import_a_module_of_a_trusted_package_is_refused(capsys):
    # find_class once took any dotted path whose first package matched the class's own.
    err = refused(["train", "--generator", "torchgan.trainer.DCGANGenerator"], capsys)
    assert "'torchgan.trainer.DCGANGenerator' is not a registered model" in err


def test_the_users_own_module_is_imported_only_when_the_environment_names_it(
    tmp_path, capsys, monkeypatch
):
    (tmp_path / "my_models.py").write_text(
        textwrap.dedent("""
            import torchgan_lstm
            from torchgan_lstm.models import LSTMGenerator

            @torchgan_lstm.register_model()
            class MyGenerator(LSTMGenerator):
                pass
        """)
    )
    argv = ["train", "--generator", "my_models.MyGenerator", "--print-config"]
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "'my_models.MyGenerator' is not a registered" in refused(argv, capsys)
    assert "my_models" not in sys.modules
    # Named in the environment, in a process of its own (the registry is process-wide).
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "TORCHGAN_LSTM_IMPORT": "my_models"}
    run = subprocess.run(
        [sys.executable, "-m", "torchgan_lstm", *argv], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    assert "class_path: my_models.MyGenerator" in run.stdout


def test_a_module_in_the_working_folder_does_not_run_under_python_m(tmp_path):
    marker = tmp_path / "MARKER"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (tmp_path / "run.yaml").write_text("generator:\n  class_path: evil.Gen\n")
    run = subprocess.run(
        [sys.executable, "-m", "torchgan_lstm", "train", "--config", "run.yaml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 2 and "'evil.Gen' is not a registered model" in run.stderr
    assert not marker.exists()


def test_parsing_refuses_imports_that_the_checks_before_it_did_not_see(
    planted, capsys, monkeypatch
):
    # Defence in depth: with the check before parsing removed, the import guard still holds.
    monkeypatch.setattr(cli, "check_argv", lambda argv: None)
    err = refused(["train", "--generator", f"{HOSTILE}.Gen", "--print-config"], capsys)
    assert f"the configuration names module '{HOSTILE}'" in err


def test_a_later_error_after_a_survived_probe_keeps_its_own_message(planted):
    # jsonargparse probes for optional libraries while it parses; a probe the guard refuses and
    # parsing survives must not turn a later, unrelated error into the refusal message.
    from torchgan_lstm._validation import InputError
    from torchgan_lstm.app.config_guard import guarded_parsing

    with pytest.raises(InputError, match="the checkpoint's own problem"), guarded_parsing():
        with pytest.raises(ImportError, match="is refused"):
            __import__(HOSTILE)
        raise InputError("the checkpoint's own problem")
