import sys

from emotive.apps.cli import main

sys.exit(main())
