import sys

from srlive.cli import main

sys.exit(main())
