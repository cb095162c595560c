"""post-render: merge the values the chapters registered into results.json (ipsreport.hooks)."""

import sys
from pathlib import Path

root = Path.cwd()
sys.path.insert(0, str(root))  # the project's own ipsreport package, when it has one
from ipsreport.hooks import collect_results_main  # noqa: E402

sys.exit(collect_results_main(root))
