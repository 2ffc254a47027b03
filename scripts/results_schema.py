"""Draft a chapter's results JSON Schema from the results it wrote at several presets.

The schemas in ``helpers/schemas/`` are reviewed files; this script drafts one from real
results so the review starts from what the chapter writes::

    python scripts/results_schema.py lam build_smoke/results build_embedded/results ...

Rules: the top level, and a dict whose keys are the same in every sample and are field
names, is a record (keys present in every sample required, no others allowed); a dict
whose keys vary between samples, are all names of networks, datasets or scales, or that
is always empty, is a map (any key, each value of the merged schema). Numbers are
``number`` (an int and a float at one place merge) or ``null`` (an undefined number is
written as None on purpose), and ``null`` joins the other types where some sample has
it. Writes
``helpers/schemas/<chapter>.schema.json`` (``--print`` to show it instead).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from helpers.results import SCHEMA_DIR, split_timings  # noqa: E402

# keys that name things a user can choose (networks, sets, images, labels, scales)
_NAME = re.compile(
    r"^(x\d+|.*_x\d+|edsr.*|rcan.*|nlsn.*|srresnet.*|fsrcnn.*|carn.*|imdn|pan|grl.*|"
    r"bicubic|set5|set14|b100|urban100|manga109|div2k.*|embedded.*|dtd.*|procedural.*)$"
)


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_map(samples: list[dict[str, Any]]) -> bool:
    keysets = {tuple(sorted(s)) for s in samples}
    keys = set().union(*keysets)
    fieldlike = all(re.fullmatch(r"[a-z][a-z0-9_]*", k) for k in keys)
    named = bool(keys) and all(_NAME.match(k) for k in keys)
    # always empty (e.g. networks skipped): nothing says which keys it will hold
    return len(keysets) > 1 or not keys or not fieldlike or named


def infer(samples: list[Any], *, record: bool = False) -> dict[str, Any]:
    """A schema every sample fits (see the module docstring for the rules); ``record``
    forces a dict to be a record (the top level: its keys are the chapter's fields)."""
    types = sorted({_type(s) for s in samples})
    if "number" in types and "null" not in types:
        types.append("null")  # None is how a chapter writes an undefined number, on purpose
    present = [s for s in samples if s is not None]
    schema: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    objects = [s for s in present if isinstance(s, dict)]
    arrays = [s for s in present if isinstance(s, list)]
    if objects:
        if not record and _is_map(objects):
            values = [v for o in objects for v in o.values()]
            if values:
                schema["additionalProperties"] = infer(values)
        else:
            keys = sorted(set().union(*objects))
            schema["properties"] = {k: infer([o[k] for o in objects if k in o]) for k in keys}
            schema["required"] = [k for k in keys if all(k in o for o in objects)]
            schema["additionalProperties"] = False
    items = [v for a in arrays for v in a]
    if items:
        schema["items"] = infer(items)
    return schema


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("chapter")
    ap.add_argument("results_dirs", nargs="+", type=Path)
    ap.add_argument("--print", action="store_true", help="print instead of writing")
    args = ap.parse_args(argv)
    samples = []
    for folder in args.results_dirs:
        path = folder / f"{args.chapter}.json"
        if path.is_file():
            samples.append(split_timings(json.loads(path.read_text()))[0])
    if not samples:
        print(f"no {args.chapter}.json in {args.results_dirs}", file=sys.stderr)
        return 1
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"results of chapter {args.chapter}",
        **infer(samples, record=True),
    }
    text = json.dumps(schema, indent=2) + "\n"
    if args.print:
        print(text)
    else:
        SCHEMA_DIR.mkdir(exist_ok=True)
        (SCHEMA_DIR / f"{args.chapter}.schema.json").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
