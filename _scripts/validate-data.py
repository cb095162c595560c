"""pre-render: check data/ against the data dictionary before any chapter runs (ipsreport.hooks)."""

import sys
from pathlib import Path

root = Path.cwd()
sys.path.insert(0, str(root))  # the project's own ipsreport package
from ipsreport.hooks import validate_data_main  # noqa: E402

sys.exit(validate_data_main(root))
