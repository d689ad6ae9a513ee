"""MCRAG application shell: settings, the ``mcrag`` CLI, the HTTP service and the web UI.

The shell sits on top of the three layers and may import all of them (``vlm`` -> ``reasoning`` ->
``kg``); none of them imports the shell.
"""

from __future__ import annotations

__version__ = "0.1.0"
