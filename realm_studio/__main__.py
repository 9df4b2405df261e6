"""``python -m realm_studio`` starts the app."""

import sys

from .app import main

sys.exit(main())
