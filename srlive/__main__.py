import sys

from srlive.cli import main

if __name__ == "__main__":  # not when a sender process (srlive.live.sender) imports it as its parent's main
    sys.exit(main())
