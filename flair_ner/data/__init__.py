"""Data: ``registry`` (each registered data set: files, URLs, SHA-256, column format), ``fetch`` (downloads
with a mirror and a deadline), ``corpus`` (the one column-file reader) and ``report`` (the sanity report).
"""
