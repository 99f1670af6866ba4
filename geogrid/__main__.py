import sys

from geogrid.cli import main

sys.exit(main())
