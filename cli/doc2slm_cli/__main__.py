import sys

from doc2slm_cli.main import main

sys.exit(main())
