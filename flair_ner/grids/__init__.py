"""On top of runs: ``grid`` (many runs on Ray, resumable), ``summary`` (mean +- std, paired bootstrap) and
``crossweigh`` (CrossWeigh's entity-disjoint fold runs as a grid, the likely label mistakes and their weights).
"""
