import sys

from flair_ner.cli import main

sys.exit(main())
