import sys

from fvtrust.cli import main

sys.exit(main())
