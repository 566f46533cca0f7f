"""Shared fixtures."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
KATEX_VERSION = "0.16"


@pytest.fixture(scope="session")
def katex():
    """A function rendering a list of LaTeX strings with KaTeX, returning None or the error for each.

    KaTeX is found in $MATCALC_KATEX or ~/.cache/matcalc/katex, and installed there with npm
    on first use (.ci/run installs it the same way)."""
    configured = os.environ.get("MATCALC_KATEX")
    folder = Path(configured) if configured else Path.home() / ".cache" / "matcalc" / "katex"
    module = folder / "node_modules" / "katex"
    if not module.is_dir():
        if not (shutil.which("node") and shutil.which("npm")):
            pytest.skip("node and npm are needed to render LaTeX with KaTeX")
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(folder),
                        f"katex@{KATEX_VERSION}"], check=True, capture_output=True, timeout=300)

    def render(texts):
        result = subprocess.run(["node", str(HERE / "katex_render.js"), str(module)], input=json.dumps(texts),
                                capture_output=True, text=True, check=True, timeout=300)
        return json.loads(result.stdout)
    return render
