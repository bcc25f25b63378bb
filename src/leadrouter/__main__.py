"""`python -m leadrouter` runs the command line."""

import sys

from leadrouter.cli import main

sys.exit(main())
