"""The report of an experiment folder: HTML and Markdown (:mod:`.report`) with the figures of :mod:`.figures`."""
