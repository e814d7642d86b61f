import sys

from nids.cli import main

sys.exit(main())
