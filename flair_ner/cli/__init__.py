"""The command line: ``main`` (the parser, the error policy: bad input is one line, a bug a traceback), ``commands``
(one module per subcommand: its options and what it does), ``common`` (what several commands share) and
``console`` (what the terminal shows). Library code never imports this package.
"""
