"""`python -m chaos`: the soak (see chaos.soak)."""

import sys

from chaos.soak import main

sys.exit(main())
