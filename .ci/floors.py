"""Print the declared lowest versions of pyproject.toml as pip requirements, one ``name==floor`` a line.

Every runtime dependency and every dev extra must be written ``name>=floor`` (optionally with further
``,<cap`` clauses): this script fails on one without a floor, so the lowest-versions job (.ci/lowest.sh)
and pyproject.toml cannot drift apart. ``--torch SPEC`` replaces torch's floor (see .ci/lowest.sh for why).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip ships the same parser
    from pip._vendor import tomli as tomllib

FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(,.*)?$")


def floors(pyproject: Path, extras: list[str]) -> list[tuple[str, str]]:
    """``(name, floor)`` of every dependency and of the named optional-dependency groups."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    out = []
    for requirement in requirements:
        match = FLOOR.match(requirement)
        if match is None:
            raise SystemExit(
                f"{pyproject}: {requirement!r} has no plain '>=' floor; the lowest job needs one"
            )
        out.append((match.group(1), match.group(3)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pyproject", type=Path, default=Path(__file__).parents[1] / "pyproject.toml")
    parser.add_argument("--extra", action="append", default=[], help="also these optional groups")
    parser.add_argument("--torch", help="requirement that replaces torch's floor, e.g. torch==2.13.0")
    args = parser.parse_args()
    for name, floor in floors(args.pyproject, args.extra):
        if name.lower() == "torch" and args.torch:
            print(f"{name} floor {floor} replaced by {args.torch}", file=sys.stderr)
            print(args.torch)
        else:
            print(f"{name}=={floor}")


if __name__ == "__main__":
    main()
