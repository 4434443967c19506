"""Makes the generated bindings (written by 40-bindings-python.sh into build/) importable."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "build"))
