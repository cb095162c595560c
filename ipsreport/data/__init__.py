"""The data layer: the data dictionary (``dictionary``), pandera schemas built from it (``schemas``),
validation reporting every problem with its file, line and column (``validate``) and the typed loaders
(``load``)."""
