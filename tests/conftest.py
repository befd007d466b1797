import sys
from pathlib import Path

# Hand-made export helpers live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))
