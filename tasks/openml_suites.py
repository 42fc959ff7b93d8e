"""OpenML benchmark suites: the well-known study ids, and ``suite:openml-lite``, a curated quick subset.

``suite:openml:ID`` takes any OpenML suite's task list (resolved by :mod:`tasks.openml_tasks`);
:data:`KNOWN_SUITES` names the ones this harness is made for. ``suite:openml-lite`` is a fixed
list of 18 tasks of the AMLB suites (271 classification, 269 regression): 6 binary, 6 multiclass
and 6 regression tasks of 240 to 6,497 rows and 3 to 856 columns, with numeric and categorical
features, missing values (eucalyptus, Moneyball) and imbalanced classes (kc1, churn, car). Large
data sets are left out on purpose: the subset is for quick runs, 10 folds each. Each task keeps
OpenML's target and its official 10-fold splits; rows and columns are OpenML's data qualities
(feature columns before cleaning), the target is the task's own. Metrics follow AMLB: ROC-AUC for
binary, log loss for multiclass, RMSE for regression. Nothing here loads data or uses the network.
"""

from __future__ import annotations

from tasks.lite import METRIC
from tasks.metrics import metrics_for
from tasks.spec import TaskSpec

TASK_PREFIX = "openml-task"  # an OpenML task's name and source: openml-task:ID
KNOWN_SUITES: dict[int, str] = {
    271: "AMLB classification (71 tasks)",
    269: "AMLB regression (33 tasks)",
    99: "OpenML-CC18 (72 classification tasks)",
}

# (task id, data set name, problem type, target, (rows, columns), why it is in the subset)
_LITE: tuple[tuple[int, str, str, str, tuple[int, int], str], ...] = (
    (359955, "blood-transfusion-service-center", "binary", "Class", (748, 4), "tiny, numeric, 24 % donors"),
    (146818, "Australian", "binary", "A15", (690, 14), "small credit approval, mostly categorical"),
    (168757, "credit-g", "binary", "class", (1000, 20), "German credit, mostly categorical, 30 % bad"),
    (359962, "kc1", "binary", "defects", (2109, 21), "software defects, imbalanced (15 % defective)"),
    (168350, "phoneme", "binary", "Class", (5404, 5), "mid-size, few numeric columns"),
    (359968, "churn", "binary", "class", (5000, 20), "telecom churn, mixed types, 14 % churners"),
    (359954, "eucalyptus", "multiclass", "Utility", (736, 19), "5 classes, missing values"),
    (190146, "vehicle", "multiclass", "Class", (846, 18), "4 balanced classes, numeric"),
    (359957, "cnae-9", "multiclass", "Class", (1080, 856), "9 classes, wide and sparse text counts"),
    (359959, "cmc", "multiclass", "Contraceptive_method_used", (1473, 9), "3 classes, categorical"),
    (359960, "car", "multiclass", "class", (1728, 6), "4 classes, all categorical, 4 % smallest"),
    (359963, "segment", "multiclass", "class", (2310, 19), "7 balanced classes, image features"),
    (359934, "tecator", "regression", "fat", (240, 124), "tiny and wide (spectra)"),
    (359931, "sensory", "regression", "Score", (576, 11), "small, all categorical features"),
    (167210, "Moneyball", "regression", "RS", (1232, 14), "baseball runs, missing values"),
    (359930, "quake", "regression", "col_4", (2178, 3), "three features, hard to predict"),
    (359944, "abalone", "regression", "Class_number_of_rings", (4177, 8), "classic, one categorical"),
    (359935, "wine_quality", "regression", "quality", (6497, 11), "mid-size, numeric"),
)


def task_name(tid: int) -> str:
    return f"{TASK_PREFIX}:{tid}"


def _spec(tid: int, name: str, problem_type: str, target: str, shape: tuple[int, int], why: str) -> TaskSpec:
    return TaskSpec(
        name=task_name(tid),
        source=task_name(tid),
        problem_type=problem_type,
        metric=METRIC[problem_type],
        metrics=tuple(metrics_for(problem_type)),
        target=target,
        n_rows=shape[0],
        n_cols=shape[1],
        image_shape=None,
        description=f"{name} (OpenML task {tid}, AMLB): {why}; official 10-fold splits",
    )


OPENML_LITE_TASKS: tuple[TaskSpec, ...] = tuple(_spec(*row) for row in _LITE)
OPENML_LITE: tuple[str, ...] = tuple(t.name for t in OPENML_LITE_TASKS)
