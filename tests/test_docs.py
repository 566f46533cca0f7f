"""docs/ says what the contract says and what matcalc does.

- docs/language.md keeps every line of ../shared/SYNTAX.md (the language contract, v1).
- Its "Beyond v1" tables are executable: `| you write | read as |` rows parse to the
  same expression, `| you write | the error says |` rows are refused with that message.
- docs/cli.md names every option of `matcalc diff`.
"""
import re
from pathlib import Path

import pytest

import matcalc
from matcalc.cli import _DIFF_OPTIONS

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
CONTRACT = ROOT.parent / "shared" / "SYNTAX.md"


def test_the_reference_keeps_every_line_of_the_contract():
    if not CONTRACT.is_file():
        pytest.skip(f"the contract {CONTRACT} is not beside this checkout")
    ours = set(LANGUAGE.splitlines())
    missing = [line for line in CONTRACT.read_text(encoding="utf-8").splitlines() if line.strip() and line not in ours]
    assert not missing, f"docs/language.md lost {len(missing)} lines of SYNTAX.md, first: {missing[0]!r}"


def _table_rows(heading_columns):
    """The (left, right) cells of every table whose header is `| you write | <heading> |`."""
    rows, inside = [], False
    for line in LANGUAGE.split("## Beyond v1", 1)[1].splitlines():
        if line.startswith("| you write |"):
            inside = line.split("|")[2].strip() == heading_columns
            continue
        if inside and line.startswith("| `"):
            cells = [c.strip().strip("`").replace(r"\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append(tuple(cells))
        elif not line.startswith("|"):
            inside = False
    return rows


READINGS = _table_rows("read as")
REFUSALS = _table_rows("the error says")


def test_the_tables_are_there():
    assert len(READINGS) >= 15 and len(REFUSALS) >= 5


@pytest.mark.parametrize("written, meant", READINGS, ids=[w for w, _ in READINGS])
def test_a_spelling_reads_as_the_reference_says(written, meant):
    assert str(matcalc.parse(written)) == str(matcalc.parse(meant))


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
