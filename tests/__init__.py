"""The test suite; its folders mirror the packages (harness, adapters, tasks)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project's root: children run from here
