"""Files on disk: atomic writes, JSON and CSV (:mod:`.io`), and tidy tables, Parquet or CSV (:mod:`.tables`)."""
