import sys

from flair_ner.cli.main import main

sys.exit(main())
