"""The command line: ``main`` (subcommands, the error policy: bad input is one line, a bug a traceback) and
``console`` (what the terminal shows). Library code never imports this package.
"""
