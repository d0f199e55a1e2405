"""`python -m careshare.cli`."""

import sys

from careshare.cli import main

sys.exit(main())
