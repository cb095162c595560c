"""The data layer: the data dictionary (``dictionary``), pandera schemas built from it (``schemas``),
validation reporting every problem with its file, line and column (``validate``, ``problems``), source files
in SPSS, Stata or Excel read through the ``sources:`` mapping of ``dataset.yaml`` (``sources``,
``import_sources``), safe reading of ``dataset.yaml`` (``yaml_file``), the quoting of data text in messages
(``quoting``) and the typed loaders (``load``)."""
