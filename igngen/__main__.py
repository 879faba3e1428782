import sys

from igngen.cli import main

sys.exit(main())
