"""``python -m conformance``: the conformance runner (see :mod:`conformance.runner`).

Example:
    $ python -m conformance --backends numpy,torch --only ops --profile quick
"""

import sys

from conformance.runner import main

sys.exit(main())
