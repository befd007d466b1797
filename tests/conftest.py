import sys
from pathlib import Path

# Hand-made export helpers live beside the tests; the benchmark's scripts (bench/), whose
# computations some tests check, are imported by name too.
sys.path.insert(0, str(Path(__file__).parent))
sys.path.append(str(Path(__file__).parent.parent / "bench"))  # after site-packages: shadows nothing
