"""Every bad data file gives one clear HarnessError line that names the problem and the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import HarnessError
from tasks.loading import load_dataset
from tasks.registry import get_task


def load(path: Path, target: str = "y"):
    return load_dataset(get_task(f"csv:{path}", target=target))


def rows(n: int, fmt: str) -> str:
    return "".join(fmt.format(i=i, m=i % 2, k=i % 3) + "\n" for i in range(n))


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"

CASES: list[tuple[str, str | bytes, str, str]] = [
    # (file name, content, target, expected message)
    ("empty.csv", "", "y", "is empty"),
    ("blank.csv", "\n\n  \n", "y", "is empty"),
    ("header_only.csv", "a,b,y\n", "y", "header but no data rows"),
    ("one_column.csv", "y\n" + rows(10, "{m}"), "y", "only one column"),
    ("no_target.csv", "a,b,label\n" + rows(10, "{i},{k},{m}"), "lable", "'lable' is not in no_target.csv"),
    (
        "constant.csv",
        "a,y\n" + rows(10, "{i}.5,yes"),
        "y",
        "is constant \\('yes' in all 10 rows\\): there is nothing to predict",
    ),
    ("constant_num.csv", "a,y\n" + rows(10, "{i}.5,3"), "y", "is constant \\('3' in all"),
    ("all_missing.csv", "a,y\n" + rows(10, "{i}.5,?"), "y", "no values"),
    ("singleton.csv", "a,y\n" + rows(10, "{i}.5,{m}") + "3.5,2\n", "y", "single row \\('2'\\)"),
    ("dupes.csv", "a,b,a,y\n" + rows(10, "{i},{k},{i},{m}"), "y", "duplicate column names \\(a\\)"),
    ("dupes_spaces.csv", "a, a ,y\n" + rows(10, "{i},{k},{m}"), "y", "duplicate column names \\(a\\)"),
    ("binary.csv", PNG + bytes(range(256)), "y", "not a CSV file"),
    ("prose.csv", "This is not a table.\nJust some words.\n", "y", "only one column"),
    ("ragged.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,7,8,9\n", "y", "cannot parse"),
    (
        "mixed_target.csv",
        "a,y\n" + rows(40, "{i},{i}.25") + "1,oops\n",
        "y",
        "mixes numbers and text \\(e.g. 'oops'\\)",
    ),
    ("only_id.csv", "id,y\n" + rows(10, "{i},{m}"), "y", "no usable feature columns"),
    ("garbage.parquet", "this is not parquet", "y", "cannot read .* as Parquet"),
]


@pytest.mark.parametrize(("name", "content", "target", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_file_is_one_clear_line(
    write_file: Callable[..., Path], name: str, content: str | bytes, target: str, message: str
) -> None:
    path = write_file(name, content)
    with pytest.raises(HarnessError, match=message) as info:
        load(path, target)
    text = str(info.value)
    assert "\n" not in text and len(text) < 400
    assert name in text  # the message names the file


def test_missing_target_suggests_the_closest_column(write_file: Callable[..., Path]) -> None:
    path = write_file("d.csv", "age,income,label\n" + rows(10, "{i},{k},{m}"))
    with pytest.raises(HarnessError, match="did you mean 'label'.*columns: age, income, label"):
        load(path, "lable")


def test_file_removed_after_the_task_was_resolved(write_file: Callable[..., Path]) -> None:
    path = write_file("d.csv", "a,y\n1,0\n")
    spec = get_task(f"csv:{path}", target="y")
    path.unlink()
    with pytest.raises(HarnessError, match="does not exist"):
        load_dataset(spec)


def test_regression_target_of_text_is_rejected(write_file: Callable[..., Path]) -> None:
    import pandas as pd

    from tasks.clean import clean

    frame = pd.DataFrame({"a": range(6), "y": ["lo", "hi"] * 3})
    with pytest.raises(HarnessError, match="has text such as 'lo', not numbers"):
        clean(frame, "y", problem_type="regression")
