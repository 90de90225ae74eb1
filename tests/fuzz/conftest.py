"""The program fuzzer's pytest set-up (issue 16): its hypothesis profiles (registered
by ``program_strategy.register_profiles`` when this imports it), the ``fuzz`` marker, and
a count of the programs run.

- ``fuzz-ci`` (the default for the fuzz tests): 30 derandomized examples per property;
- ``long``: 4000 random examples per property. Run it with
  ``pytest tests/fuzz -m fuzz --hypothesis-profile=long`` (or ``FAD_FUZZ_PROFILE=long``
  in the environment), ``--hypothesis-show-statistics`` for hypothesis' counts;
  ``FAD_FUZZ_EXAMPLES=N`` sets the number of examples per property.

At the end of a session that ran fuzz tests, the number of programs each property ran
is printed, and written (JSON) to the file ``FAD_FUZZ_COUNT_FILE`` names, if set.
"""
import json
import os

from program_strategy import COUNTS  # (registers the hypothesis profiles)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "fuzz: property tests over random programs (tests/fuzz); a long run: "
        "pytest tests/fuzz -m fuzz --hypothesis-profile=long")


def pytest_terminal_summary(terminalreporter):
    if not COUNTS:
        return
    total = sum(COUNTS.values())
    terminalreporter.write_line(f"fuzz: {total} programs run: " + ", ".join(
        f"{name} {n}" for name, n in sorted(COUNTS.items())))
    path = os.environ.get("FAD_FUZZ_COUNT_FILE")
    if path:
        with open(path, "w") as f:
            json.dump({"total": total, **COUNTS}, f, indent=1)
