"""On top of runs: ``grid`` (many runs on Ray, resumable) and ``summary`` (mean +- std, paired bootstrap)."""
