"""The task registry: built-ins, openml:ID and csv:PATH names, suggestions, and suites."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import HarnessError
from tasks.registry import BUILTINS, SUITE_TASKS, SUITES, expand, get_task, list_tasks


def test_builtins_are_complete_and_consistent() -> None:
    names = [t.name for t in list_tasks()]
    assert names == [
        "titanic",
        "breast_cancer",
        "wine",
        "digits",
        "diabetes",
        "boston",
        "mnist",
        "cifar10",
        "california",
    ]
    for t in list_tasks():
        assert t.problem_type in {"binary", "multiclass", "regression"}
        assert t.metric == ("rmse" if t.problem_type == "regression" else "accuracy")
        assert t.metric in t.metrics and t.n_rows and t.n_cols
    assert get_task("titanic").source == "openml:40945" and get_task("Titanic") == get_task("titanic")
    assert get_task("titanic").drop == ("boat", "body")
    assert get_task("mnist").image_shape == (28, 28, 1) and get_task("mnist").openml_id == 554
    assert get_task("cifar10").image_shape == (32, 32, 3)
    assert get_task("digits").image_shape == (8, 8, 1)
    assert get_task("boston").source == "openml:531" and get_task("california").source == "openml:537"


def test_openml_and_csv_names(tmp_path: Path) -> None:
    spec = get_task("openml:31")
    assert (spec.source, spec.problem_type, spec.target, spec.openml_id) == ("openml:31", None, None, 31)
    assert get_task("openml:31", target="credit").target == "credit"
    data = tmp_path / "d.csv"
    data.write_text("a,y\n1,2\n")
    spec = get_task(f"csv:{data}", target="y")
    assert spec.source == f"csv:{data.resolve()}" and spec.target == "y" and spec.problem_type is None


@pytest.mark.parametrize(
    ("name", "target", "message"),
    [
        ("titanc", None, "did you mean titanic"),
        ("breast-cancer", None, "did you mean breast_cancer"),
        ("zzzz", None, "built-in tasks: titanic"),
        ("openml:abc", None, "not an OpenML id"),
        ("openml:0", None, "not an OpenML id"),
        ("csv:", "y", "needs a path"),
        ("csv:/no/such/file.csv", "y", "does not exist"),
        ("suite:smoke", None, "is a suite"),
        ("titanic", "sex", "fixed target 'survived'"),
    ],
)
def test_bad_names_give_one_clear_line(name: str, target: str | None, message: str) -> None:
    with pytest.raises(HarnessError, match=message) as info:
        get_task(name, target=target)
    assert "\n" not in str(info.value)


def test_csv_needs_a_target(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("a,y\n1,2\n")
    with pytest.raises(HarnessError, match="needs the target column: add --target"):
        get_task(f"csv:{data}")
    with pytest.raises(HarnessError, match="not a file"):
        get_task(f"csv:{tmp_path}", target="y")


def test_suites_expand() -> None:
    assert expand(["suite:smoke"]) == ["breast_cancer", "wine", "diabetes"]
    assert expand(["titanic", "suite:smoke", "wine", "openml:31"]) == [
        "titanic",
        "breast_cancer",
        "wine",
        "diabetes",
        "openml:31",
    ]
    assert set(expand(["suite:tabular"])) == {
        "titanic",
        "breast_cancer",
        "wine",
        "diabetes",
        "boston",
        "california",
    }
    assert expand(["suite:vision"]) == ["digits", "mnist", "cifar10"]
    for members in SUITES.values():
        assert all(m in BUILTINS or m in SUITE_TASKS for m in members)
    with pytest.raises(HarnessError, match="did you mean suite:smoke"):
        expand(["suite:smok"])
