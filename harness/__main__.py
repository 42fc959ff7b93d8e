"""``python -m harness``."""

import gc
import sys

from harness.cli import main

if __name__ == "__main__":
    code = main()
    # The interpreter's collections at exit would walk every object of pandas, scikit-learn and
    # matplotlib (0.5 s on a 2-core machine); frozen, they are left to the process's end.
    gc.freeze()
    sys.exit(code)
