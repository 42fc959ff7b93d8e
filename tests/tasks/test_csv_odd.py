"""Odd but usable data files are cleaned by one set of rules, with a note for every change."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.loading import load_dataset
from tasks.registry import get_task


def load(path: Path, target: str = "y"):
    return load_dataset(get_task(f"csv:{path}", target=target))


def table(n: int, **cols: Callable[[int], object]) -> str:
    """CSV text of ``n`` rows whose cells are ``f(i)`` for each named column."""
    lines = [",".join(cols)]
    lines += [",".join(str(f(i)) for f in cols.values()) for i in range(n)]
    return "\n".join(lines) + "\n"


def test_missing_value_spellings(write_file) -> None:
    tokens = ["?", "NA", "", "  ", "N/A", "nan"]
    path = write_file("m.csv", table(60, x=lambda i: tokens[i] if i < 6 else i * 1.5, y=lambda i: i % 2))
    ds = load(path)
    assert ds.X["x"].dtype == np.float64
    assert ds.X["x"].isna().sum() == 6
    assert ds.X["x"].iloc[10] == pytest.approx(15.0)


def test_string_targets_keep_their_names(write_file) -> None:
    path = write_file("yn.csv", table(20, x=lambda i: i * 0.5, y=lambda i: ["yes", "no", " yes "][i % 3]))
    ds = load(path)
    assert ds.problem_type == "binary" and ds.classes == ("no", "yes")
    assert list(ds.y[:3]) == [1, 0, 1]
    path = write_file("tf.csv", table(20, x=lambda i: i * 0.5, y=lambda i: ["True", "False"][i % 2]))
    ds = load(path)
    assert ds.classes == ("False", "True") and list(ds.y[:2]) == [1, 0]
    assert ds.metric == "accuracy" and "roc_auc" in ds.metrics


def test_numeric_class_labels_sort_as_numbers(write_file) -> None:
    path = write_file("k.csv", table(30, x=lambda i: i * 0.5, y=lambda i: [2, 10, 1][i % 3]))
    ds = load(path)
    assert ds.problem_type == "multiclass" and ds.classes == ("1", "2", "10")
    assert list(ds.y[:3]) == [1, 2, 0]


def test_problem_type_is_inferred_from_the_target(write_file) -> None:
    reg = load(write_file("r.csv", table(30, x=lambda i: i % 7, y=lambda i: i * 0.37)))
    assert reg.problem_type == "regression" and reg.metric == "rmse" and reg.classes == ()
    many_ints = load(write_file("c.csv", table(60, x=lambda i: i % 7, y=lambda i: i % 25)))
    assert many_ints.problem_type == "regression"  # more than 20 distinct integers
    few_ints = load(write_file("f.csv", table(60, x=lambda i: i % 7, y=lambda i: i % 4)))
    assert few_ints.problem_type == "multiclass" and few_ints.classes == ("0", "1", "2", "3")


def test_categoricals_with_stray_spaces_become_one_category(write_file) -> None:
    colours = ["red", " red", "red ", "blue", " blue "]
    path = write_file("s.csv", table(20, colour=lambda i: colours[i % 5], x=lambda i: i, y=lambda i: i % 2))
    ds = load(path)
    assert isinstance(ds.X["colour"].dtype, pd.CategoricalDtype)
    assert list(ds.X["colour"].cat.categories) == ["blue", "red"]
    assert (ds.X["colour"] == "red").sum() == 12


def test_id_like_and_constant_columns_are_dropped_with_notes(write_file) -> None:
    path = write_file(
        "ids.csv",
        table(
            80,
            row=lambda i: i + 1,  # consecutive integers, all unique
            customer=lambda i: f"C{i:05d}",  # unique strings
            ID=lambda i: 1000 - 7 * i,  # named id, unique
            same=lambda i: "x",
            code=lambda i: f"K{i % 30}",  # 30 distinct strings: a real category
            x=lambda i: (i * 7) % 11,
            y=lambda i: i % 2,
        ),
    )
    ds = load(path)
    assert list(ds.X.columns) == ["code", "x"]
    joined = " | ".join(ds.notes)
    assert "id-like column(s) 'row', 'customer', 'ID'" in joined and "constant column(s) 'same'" in joined


def test_booleans_become_0_1_and_mixed_columns_are_handled(write_file) -> None:
    path = write_file(
        "b.csv",
        table(
            40,
            flag=lambda i: ["true", "False", "TRUE"][i % 3],
            size=lambda i: "unknown" if i == 5 else i * 2,  # numbers with one stray word
            grade=lambda i: ["1", "2", "A", "B"][i % 4],  # half numbers, half text: a category
            y=lambda i: i % 2,
        ),
    )
    ds = load(path)
    assert ds.X["flag"].dtype == np.int64 and list(ds.X["flag"][:3]) == [1, 0, 1]
    assert ds.X["size"].dtype == np.float64 and np.isnan(ds.X["size"][5]) and ds.X["size"][6] == 12
    assert isinstance(ds.X["grade"].dtype, pd.CategoricalDtype)
    assert any("'size' mixes numbers and text: 1 text cell(s) such as 'unknown'" in n for n in ds.notes)


def test_rows_with_a_missing_target_are_dropped(write_file) -> None:
    path = write_file(
        "t.csv", table(30, x=lambda i: i * 0.5, y=lambda i: "?" if i % 10 == 0 else ["a", "b"][i % 2])
    )
    ds = load(path)
    assert len(ds.y) == 27 and len(ds.X) == 27 and isinstance(ds.X.index, pd.RangeIndex)
    assert "dropped 3 rows whose target 'y' is missing" in ds.notes


def test_semicolons_tsv_and_parquet_give_the_same_data(write_file, tmp_path: Path) -> None:
    text = table(
        30, colour=lambda i: ["red", "blue"][i % 2], x=lambda i: i * 0.5, y=lambda i: ["a", "b", "c"][i % 3]
    )
    comma = load(write_file("c.csv", text))
    semi = load(write_file("s.csv", text.replace(",", ";")))
    tab = load(write_file("t.tsv", text.replace(",", "\t")))
    pq_path = tmp_path / "p.parquet"
    pd.read_csv(tmp_path / "c.csv").to_parquet(pq_path)
    parquet = load(pq_path)
    assert comma.fingerprint == semi.fingerprint == tab.fingerprint == parquet.fingerprint
    assert comma.classes == ("a", "b", "c")


def test_same_file_same_fingerprint_every_time(write_file) -> None:
    path = write_file(
        "d.csv", table(30, c=lambda i: ["u", "v"][i % 2], x=lambda i: i * 0.5, y=lambda i: i % 3)
    )
    assert load(path).fingerprint == load(path).fingerprint


def test_latin1_and_gzipped_files_are_read(write_file, tmp_path: Path) -> None:
    text = table(20, town=lambda i: ["Orléans", "Besançon"][i % 2], x=lambda i: i * 0.5, y=lambda i: i % 2)
    late = "\n".join(text.splitlines()[:1] + ["Paris,0.25,1"] * 7000 + text.splitlines()[1:]) + "\n"
    for name, content in (("early.csv", text), ("late.csv", late)):  # late: first non-UTF-8 byte after 64 KB
        ds = load(write_file(name, content.encode("latin-1")))
        assert "Orléans" in list(ds.X["town"].cat.categories)
        assert f"{name} is not UTF-8; read it as Latin-1" in ds.notes
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    assert load(gz).fingerprint == load(write_file("plain.csv", text)).fingerprint
