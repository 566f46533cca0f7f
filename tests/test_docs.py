"""docs/ says what the contract says and what matcalc does.

- docs/language.md keeps every line of ../shared/SYNTAX.md (the language contract, v1).
- Its "Beyond v1" tables are executable: `| you write | read as |` rows parse to the
  same expression, `| you write | the error says |` rows are refused with that message,
  `| name | kind |` rows have that kind.
- docs/cli.md names every option of `matcalc diff`.
"""
import re
from pathlib import Path

import pytest

import matcalc
from matcalc.commands import _DIFF_OPTIONS

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
CONTRACT = ROOT.parent / "shared" / "SYNTAX.md"


def test_the_reference_keeps_every_line_of_the_contract():
    if not CONTRACT.is_file():
        pytest.skip(f"the contract {CONTRACT} is not beside this checkout")
    ours = set(LANGUAGE.splitlines())
    missing = [line for line in CONTRACT.read_text(encoding="utf-8").splitlines() if line.strip() and line not in ours]
    assert not missing, f"docs/language.md lost {len(missing)} lines of SYNTAX.md, first: {missing[0]!r}"


def _table_rows(second, first="you write"):
    """The (left, right) cells of every table whose header is `| <first> | <second> |`."""
    rows, inside = [], False
    for line in LANGUAGE.split("## Beyond v1", 1)[1].splitlines():
        if line.startswith("| ") and not line.startswith("| `") and "---" not in line:
            inside = [c.strip() for c in line.split("|")[1:3]] == [first, second]
            continue
        if inside and line.startswith("| `"):
            cells = [c.strip().strip("`").replace(r"\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append(tuple(cells))
        elif not line.startswith("|"):
            inside = False
    return rows


READINGS = _table_rows("read as")
REFUSALS = _table_rows("the error says")
KINDS = _table_rows("kind", first="name")


def test_the_tables_are_there():
    assert len(READINGS) >= 20 and len(REFUSALS) >= 6 and len(KINDS) >= 7


@pytest.mark.parametrize("name, kind", KINDS, ids=[n for n, _ in KINDS])
def test_a_name_has_the_kind_the_reference_says(name, kind):
    rows, cols = matcalc.parse(name).shape
    found = "scalar" if (rows, cols) == (1, 1) else "vector" if cols == 1 else "matrix"
    assert found == kind


@pytest.mark.parametrize("written, meant", READINGS, ids=[w for w, _ in READINGS])
def test_a_spelling_reads_as_the_reference_says(written, meant):
    read, expected = matcalc.parse(written), matcalc.parse(meant)
    assert (str(read), read.shape) == (str(expected), expected.shape)


@pytest.mark.parametrize("written, message", REFUSALS, ids=[w for w, _ in REFUSALS])
def test_a_refusal_says_what_the_reference_says(written, message):
    with pytest.raises(matcalc.MatcalcError) as refused:
        matcalc.parse(written)
    assert message in refused.value.message


def test_the_cli_reference_names_every_option():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for option, _ in _DIFF_OPTIONS:
        assert f"`{option}" in text, option
    assert "`--version`" in text
