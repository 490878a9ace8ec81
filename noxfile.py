"""nox sessions: tests, lint, typecheck, docs, coverage, plugins, stress, bench, autobahn."""

import os

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session):
    """The whole suite (the README's test command, in a virtualenv)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session):
    """ruff: lint and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "plugins", "tests", "stress", "examples", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "plugins", "tests", "stress", "examples")


@nox.session
def typecheck(session):
    """mypy --strict on src/, and pyright's verifytypes: the public API at 98 % or more."""
    session.install("-e", ".[lint]")
    session.run("mypy")
    report = session.run(
        "pyright",
        "--verifytypes",
        "rttp",
        "--ignoreexternal",
        "--outputjson",
        silent=True,
        success_codes=[0, 1],
    )
    import json

    score = json.loads(report)["typeCompleteness"]["completenessScore"]
    session.log(f"pyright --verifytypes rttp: {score:.1%} of the public symbols fully typed")
    if score < 0.98:
        session.error(f"type completeness {score:.1%} is below the 98 % bar")


@nox.session
def docs(session):
    """Sphinx, warnings as errors."""
    session.install("-e", ".[docs]")
    session.run("python", "-m", "sphinx", "-n", "-W", "-b", "html", "docs", "docs/_build/html")


@nox.session
def coverage(session):
    """The suite under coverage, subprocesses included (`rttp serve`, the probes)."""
    session.install("-e", ".[test,coverage]")
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "html", "--quiet")
    session.run("coverage", "report")


@nox.session
def plugins(session):
    """The example third-party plugin distribution (plugins/rttp-zstd): installed
    beside trio-rttp as a user would install it, found through its entry point, and
    held to the content-encoding contract by its own tests."""
    session.install("-e", ".[test]")
    session.install("./plugins/rttp-zstd[test]")
    listed = session.run("rttp", "plugins", silent=True)
    if "zstd" not in listed:
        session.error(f"rttp plugins does not list the zstd plugin:\n{listed}")
    session.log("rttp plugins lists zstd")
    session.chdir("plugins/rttp-zstd")
    session.run("python", "-m", "pytest", "tests", *session.posargs)


@nox.session
def stress(session):
    """The heavy probes CI does not run (a few minutes; loopback only, bounded): 10,000
    idle connections, SIGTERM under load, slowhttptest's three attacks (installed with
    apt-get when missing and allowed), a 4 MiB message in one-byte fragments, and the
    differential test at 10,000 cases. Figures: benchmarks/results/stress.json."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "stress", "-o", "timeout=900", *session.posargs)
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/unit/test_differential.py",
        "-o",
        "timeout=900",
        env={"RTTP_DIFFERENTIAL_EXAMPLES": "10000"},
    )


@nox.session
def bench(session):
    """Benchmarks side by side with the peers (needs wrk for the best numbers: apt-get install wrk)."""
    session.install("-e", ".[bench]")
    # the docs' table: three interleaved rounds, ratios paired within each round
    args = session.posargs or [
        "--suites",
        *("server", "client", "ws", "ws-roles"),
        *("--seconds", "4", "--rounds", "3"),
    ]
    session.run("python", "benchmarks/run.py", *args)
    if not session.posargs:
        # hosted framework apps and static files (nginx joins when installed), written
        # to their own results files for docs/performance.rst
        for suite in ("asgi", "files", "http2"):
            session.run(
                "python", "benchmarks/run.py", "--suites", suite, "--seconds", "3", "--rounds", "3"
            )
            session.run(
                "cp",
                "benchmarks/results/latest.json",
                f"benchmarks/results/{suite}.json",
                external=True,
            )
        # broadcast across two workers through redis (needs redis-server installed)
        session.install("coredis>=4")
        session.run("python", "benchmarks/broadcast.py", "100", "1000", success_codes=[0, 1])


@nox.session
def mutants(session):
    """Mutation testing of the guard modules (pyproject's [tool.mutmut]): each mutant of a
    security check must make a test fail. Slow (tens of minutes), so CI does not run it;
    prints the score, caught (killed or timed out) over all mutants."""
    session.install("-e", ".[test]", "mutmut>=3.8")
    session.chdir(_mutmut_stage())
    session.run("mutmut", "run", *session.posargs, success_codes=[0, 1])
    session.run("mutmut", "export-cicd-stats")
    session.run("python", "-c", _MUTANT_SCORE)


def _mutmut_stage() -> str:
    """A copy of the project in .mutants-stage/ where the built-in plugins sit under
    src/ beside rttp: mutmut puts only src/ first on sys.path (and names modules from
    it), so a mutant of plugins/rttp_builtin would otherwise never be imported."""
    import pathlib
    import shutil

    root = pathlib.Path(__file__).parent
    stage = root / ".mutants-stage"
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(root / "src", stage / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        root / "plugins" / "rttp_builtin",
        stage / "src" / "rttp_builtin",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(root / "tests", stage / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    config = (root / "pyproject.toml").read_text()
    config = config.replace('"plugins/rttp_builtin/', '"src/rttp_builtin/')
    config = config.replace('source_paths = ["src", "plugins"]', 'source_paths = ["src"]')
    (stage / "pyproject.toml").write_text(config)
    return str(stage)


_MUTANT_SCORE = """
import json
stats = json.load(open("mutants/mutmut-cicd-stats.json"))
caught = stats["killed"] + stats["timeout"]
# the mutants this run checked (a run limited to some names leaves the rest unchecked)
total = caught + sum(stats[k] for k in ("survived", "no_tests", "suspicious", "segfault"))
print(f"mutants caught: {caught} of {total} ({100 * caught / max(total, 1):.1f} %); "
      f"survived {stats['survived']}, no test reached {stats['no_tests']}")
print("the survivors: mutmut results; one of them: mutmut show NAME")
"""


@nox.session
def autobahn(session):
    """Autobahn|Testsuite, both roles, on each WebSocket backend (pass cases, e.g. 12.* 13.*).

    The fuzzer is Python 2.7 software: it runs from ``$WSTEST`` or a pyenv 2.7.18 with
    ``pip install autobahntestsuite``; the session installs it there when it is missing.
    """
    session.install("-e", ".")
    wstest = os.environ.get("WSTEST") or os.path.expanduser("~/.pyenv/versions/2.7.18/bin/wstest")
    if not os.path.exists(wstest):
        pip = os.path.join(os.path.dirname(wstest), "pip")
        if not os.path.exists(pip):
            session.skip(f"no Python 2.7 for Autobahn|Testsuite at {os.path.dirname(wstest)}")
        session.run(pip, "install", "autobahntestsuite", external=True)
    cases = ["--cases", *session.posargs] if session.posargs else []
    session.run("python", "tests/peers/autobahn.py", "--wstest", wstest, *cases)
