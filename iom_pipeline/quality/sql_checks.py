"""The SQL checks in `sql/checks/`: one check per file, a query returning the offending rows.

A file starts with a header of `-- key: value` lines:

    -- asset: marts.csp_return       the table (asset) the check is about
    -- blocking: true                a failure stops the publication; false: a warning
    -- description: ...              what must hold, as the UI shows it
    -- examines: <from clause>       optional: the rows the check reads, counted for the UI
                                     (default: the asset's rows of the year)
    -- examples: 100                 optional: offending rows shown (default 10)
    -- count_by: warning             optional: the offending rows are also counted by this column
    -- applies_when: <query>         optional: a query returning one boolean; when false the check
                                     does not apply this year (e.g. no published.csv was supplied)
                                     and says so instead of examining anything

The check's name is the file's name. `{{ year }}` is the survey year, in the header and in the
query. A file may hold several statements (e.g. `set variable`); the last one returns the rows.

A blocking check that applies but examined no row fails: a gate that looked at nothing has not
shown that anything is right.

A warning (`blocking: false`) warns about what is new: its offending rows are remembered per
year in `audit.check_finding` (a digest of each row, never its values), and the check passes,
with its counts, when every row it finds was already found by the year's previous run. A row
that changes, or appears, makes it warn again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from iom_pipeline.paths import SQL_DIR

CHECKS_DIR = SQL_DIR / "checks"
_HEADER = re.compile(r"^--\s*([a-z_]+):\s*(.*?)\s*$")
_YEAR = re.compile(r"\{\{\s*year\s*\}\}")
_KEYS = {"asset", "blocking", "description", "examines", "examples", "count_by", "applies_when"}


@dataclass(frozen=True)
class SqlCheck:
    name: str
    asset: str  # schema.table
    blocking: bool
    description: str
    sql: str
    examines: str
    max_examples: int = 10
    count_by: str | None = None
    applies_when: str | None = None

    def query(self, year: int) -> str:
        return _YEAR.sub(str(int(year)), self.sql)

    def examined_rows_query(self, year: int) -> str:
        return "select count(*) from " + _YEAR.sub(str(int(year)), self.examines)


def read_check(path: Path) -> SqlCheck:
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        if match := _HEADER.match(line):
            header[match.group(1)] = match.group(2)
    unknown, missing = set(header) - _KEYS, {"asset", "blocking", "description"} - set(header)
    if unknown or missing or header["blocking"] not in ("true", "false"):
        raise ValueError(f"{path}: the header needs asset, blocking (true/false) and description; "
                         f"unknown {sorted(unknown)}, missing {sorted(missing)}")
    return SqlCheck(
        name=path.stem,
        asset=header["asset"],
        blocking=header["blocking"] == "true",
        description=header["description"],
        sql=text,
        examines=header.get("examines") or f"{header['asset']} where survey_year = {{{{ year }}}}",
        max_examples=int(header.get("examples", 10)),
        count_by=header.get("count_by"),
        applies_when=header.get("applies_when"),
    )


@cache
def discover_checks(directory: Path = CHECKS_DIR) -> tuple[SqlCheck, ...]:
    """Every check in the directory, by name."""
    return tuple(read_check(path) for path in sorted(directory.glob("*.sql")))


@dataclass(frozen=True)
class CheckOutcome:
    check: SqlCheck
    offending_rows: int
    examples: "object"  # a pandas DataFrame: the first offending rows
    rows_examined: int
    counts: dict[str, int]  # offending rows by the check's count_by column
    applies: bool = True
    new_findings: int = 0  # a warning's offending rows that the year's previous run did not find

    @property
    def examined_nothing(self) -> bool:
        """A blocking check that applies and looked at no row: it cannot pass."""
        return self.applies and self.check.blocking and self.rows_examined == 0

    @property
    def passed(self) -> bool:
        if not self.check.blocking:
            return self.new_findings == 0
        return self.offending_rows == 0 and not self.examined_nothing


def evaluate(con, check: SqlCheck, year: int) -> CheckOutcome:
    """Run one check for one survey year."""
    if check.applies_when and not con.execute(_YEAR.sub(str(int(year)), check.applies_when)).fetchall()[0][0]:
        return CheckOutcome(check, 0, None, 0, {}, applies=False)
    *setup, query = con.extract_statements(check.query(year))
    for statement in setup:
        con.execute(statement.query)
    # The rows stay in DuckDB: a warning may list a million of them, and only a few are shown.
    con.execute(f"create or replace temp table check_rows as {query.query}")
    try:
        offending = con.execute("select count(*) from check_rows").fetchall()[0][0]
        examples = con.execute(f"select * from check_rows limit {int(check.max_examples)}").df()
        counts = {} if not check.count_by else dict(
            con.execute(f'select "{check.count_by}", count(*) from check_rows group by all order by all').fetchall())
        new = 0 if check.blocking else _remember_findings(con, check.name, year)
    finally:
        con.execute("drop table check_rows")
    examined = con.execute(check.examined_rows_query(year)).fetchall()[0][0]
    return CheckOutcome(check, int(offending), examples, int(examined), {str(k): int(v) for k, v in counts.items()},
                        new_findings=new)


def _remember_findings(con, check_name: str, year: int) -> int:
    """How many of `check_rows` the year's previous run did not find; then remember this run's."""
    con.execute("create table if not exists audit.check_finding "
                "(survey_year INTEGER, check_name VARCHAR, finding VARCHAR)")
    scope = [int(year), check_name]
    # Each row digested once: a warning may find a million rows.
    con.execute("create or replace temp table check_row_findings as select md5(c::varchar) as finding from check_rows c")
    try:
        new = con.execute(
            """select count(*) from check_row_findings
               where finding not in (select finding from audit.check_finding where survey_year = ? and check_name = ?)""",
            scope,
        ).fetchall()[0][0]
        # (no transaction of its own: the caller's, if any, covers both statements)
        con.execute("delete from audit.check_finding where survey_year = ? and check_name = ?", scope)
        con.execute("insert into audit.check_finding select ?, ?, finding from check_row_findings", scope)
    finally:
        con.execute("drop table check_row_findings")
    return int(new)
