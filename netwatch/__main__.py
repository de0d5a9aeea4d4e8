import sys

from netwatch.cli import main

sys.exit(main())
