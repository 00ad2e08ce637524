import sys

from haechi.cli import main

sys.exit(main())
