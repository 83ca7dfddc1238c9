"""`python -m lstmviz …`: see lstmviz.cli."""

import sys

from lstmviz.cli import main

sys.exit(main())
