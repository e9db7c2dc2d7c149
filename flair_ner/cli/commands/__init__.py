"""One module per subcommand: ``add(commands)`` declares it and its options, ``run(args)`` carries it out."""
