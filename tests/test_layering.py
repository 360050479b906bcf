"""Imports run one way: no stage package reaches up to the presets, the facade, the harness or the CLI.

Every module of the stage packages is parsed, not imported, so a lazy import inside a function counts as
much as one at the top of the file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "timevqvdm"
STAGE_PACKAGES = ("data", "frequency", "tokenizer", "prior", "diffusion", "training", "evaluation")
UPPER_MODULES = (
    "config",
    "model",
    "benchmark",
    "cli",
    "validation",
    # the facade's modules
    "fitting",
    "generate",
    "persistence",
    "inference",
    "sample_labels",
    "data_info",
)
# `timevqvdm/__init__.py` hands these out lazily from `config` and `model`.
UPPER_ATTRIBUTES = ("TimeVQVDM", "TimeVQVDMConfig", "get_preset")


def _stage_modules() -> list[Path]:
    return sorted(path for name in STAGE_PACKAGES for path in (PACKAGE / name).rglob("*.py"))


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, path: Path, package: Path) -> str:
    """The module a ``from ... import`` names, a relative one resolved against the package of `path`."""
    if node.level == 0:
        return node.module or ""
    parent = _module_name(path, package).split(".")
    if path.name != "__init__.py":
        parent = parent[:-1]
    base = parent[: len(parent) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_upper(module: str) -> bool:
    return any(
        module == f"timevqvdm.{name}" or module.startswith(f"timevqvdm.{name}.") for name in UPPER_MODULES
    )


def upward_imports(path: Path, package: Path = PACKAGE) -> list[str]:
    """``"line: module"`` for each import in `path` (a file under `package`) of a module above the stages."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            # The bare top-level package reaches the facade and the presets through its lazy attributes.
            names = [alias.name for alias in node.names if _is_upper(alias.name) or alias.name == "timevqvdm"]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, path, package)
            if _is_upper(module):
                names = [module]
            elif module == "timevqvdm":
                names = [
                    f"timevqvdm.{alias.name}"
                    for alias in node.names
                    if alias.name in UPPER_MODULES + UPPER_ATTRIBUTES or alias.name == "*"
                ]
            else:
                names = []
        elif isinstance(node, ast.Call) and _is_import_call(node):
            names = [
                arg.value for arg in node.args[:1] if isinstance(arg, ast.Constant) and _is_upper(arg.value)
            ]
        else:
            names = []
        found += [f"{node.lineno}: {name}" for name in names]
    return found


def _is_import_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ("import_module", "__import__")


def test_the_stage_packages_are_all_found() -> None:
    found = {path.relative_to(PACKAGE).parts[0] for path in _stage_modules()}
    assert found == set(STAGE_PACKAGES)


@pytest.mark.parametrize("path", _stage_modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_stage_module_imports_the_presets_facade_harness_or_cli(path: Path) -> None:
    assert upward_imports(path) == [], f"{path.relative_to(PACKAGE)} imports a module above the stages"


@pytest.mark.parametrize(
    ("source", "where", "expected"),
    [
        ("from timevqvdm.config import TrainConfig", "training/trainer.py", ["1: timevqvdm.config"]),
        ("def f():\n    import timevqvdm.model", "prior/unet.py", ["2: timevqvdm.model"]),
        ("from ..config import PriorConfig", "prior/latent_prior.py", ["1: timevqvdm.config"]),
        ("from .. import benchmark", "tokenizer/__init__.py", ["1: timevqvdm.benchmark"]),
        ("from ... import cli", "data/sub/reader.py", ["1: timevqvdm.cli"]),
        ("from timevqvdm import get_preset", "evaluation/fcn.py", ["1: timevqvdm.get_preset"]),
        ("importlib.import_module('timevqvdm.validation')", "evaluation/fcn.py", ["1: timevqvdm.validation"]),
        ("from .config import PriorConfig", "prior/latent_prior.py", []),
        ("from timevqvdm.training import TrainConfig", "evaluation/fcn.py", []),
    ],
)
def test_upward_imports_are_recognised_in_every_spelling(
    tmp_path: Path, source: str, where: str, expected: list[str]
) -> None:
    package = tmp_path / "timevqvdm"
    path = package / where
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    assert upward_imports(path, package) == expected
