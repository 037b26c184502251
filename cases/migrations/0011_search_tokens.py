"""The dashboard's search by whole words and their beginnings, at any number of cases (PostgreSQL only).

Until now a search word was looked for anywhere in the searched text through the
trigram index complaint_search_trgm (0008): the cases holding it were found in the
index, but every one of them was then read from the table to be sorted by due date
before the first page could be shown. A surname held by one case in 300 ("Patel")
meant reading 350 cases at 100,000 and 3,500 at 1,000,000 (14 ms), and two words rare
together ("Priya Patel") meant reading the trigram lists of "PRI", "ATE", "TEL"...,
which are long because the trigrams are common (1.9 ms at 1,000,000).

A search now matches words from their beginning: the searched text (name, email,
organisation, description and reference) is cut into words, each a run of letters or
a run of digits, upper-cased (``complaint_search_tokens``; ``cases.search.tokens`` is
the same rule in Python, a test checks they agree); a search word is cut the same way,
and each of its parts must begin one of the case's words ("pat" finds Patel and
Patrick, "quince-mail" finds quince-mail.test, "atel" finds nothing).

* ``cases_complaint_search_token``: one row per word of each case, with the columns
  the dashboard sorts and filters by (the running deadline, receipt time, state,
  assignee, channel, category). Its index (word, running deadline, newest first)
  INCLUDEs the filter columns, so the first page of a one-word search is the first
  rows of one range of the index, in order, whatever the number of cases that hold
  the word. Statement-level triggers keep it equal to the complaints: on insert, on
  an update that changes a searched or carried column (the case's words are
  replaced: an anonymised case keeps no trace of the erased words), on delete and
  on truncate.
* ``cases_complaint.search_words``: each case's words as a tsvector (lexemes exactly
  as cut, never stemmed), a column PostgreSQL computes and stores on every insert and
  update (``complaint_search_vector``; Django neither reads nor writes it), with the
  GIN index ``complaint_search_words``. A search of several words asks it for the
  cases holding all of them, each word spelled out as the words of the vocabulary
  that begin with it: its posting lists are of whole words, so a pair of words rare
  together costs little however common each is; and where the words are common
  together, PostgreSQL walks the cases in due-date order testing the stored words
  (a microsecond a case, where cutting the text again took forty).
* complaint_search_trgm is dropped (nothing else reads it; it cost every new
  complaint an update of ~100 trigram lists).

Applying it rewrites cases_complaint once (the stored column) and fills the words, in one
transaction during which complaints cannot be written: about a second per 10,000 cases
(2 minutes at 1,000,000, measured). Reversible: going back restores the trigram index.

SQLite (laptops, tests) has neither: ``cases.search`` applies the same rule with a
regular expression over the searched text.
"""

from django.db import migrations, models

SEARCH_TEXT = "(name || ' ' || email || ' ' || organisation || ' ' || description || ' ' || reference)"
# The running deadline of complaint ``c`` (the expression of ``cases.models.CurrentDue``).
CURRENT_DUE = (
    "CASE WHEN c.status = 'received' THEN c.acknowledgement_due "
    "WHEN c.status IN ('acknowledged', 'investigating') THEN c.outcome_due ELSE NULL END"
)
TOKENS = "cases_complaint_search_token"
CARRIED = (
    "search_words",
    "status",
    "acknowledgement_due",
    "outcome_due",
    "received_at",
    "assignee_id",
    "channel",
    "category_id",
)


def _token_rows(source: str) -> str:
    """The search-token rows of the complaints in ``source`` (a table or transition table)."""
    return (
        f"SELECT word, c.id, {CURRENT_DUE}, "
        "c.received_at, c.status, c.assignee_id, c.channel, c.category_id "
        f"FROM {source} AS c, unnest(tsvector_to_array(c.search_words)) AS word"
    )


def _differs(left: str, right: str) -> str:
    return f"({', '.join(f'{left}.{c}' for c in CARRIED)}) IS DISTINCT FROM ({', '.join(f'{right}.{c}' for c in CARRIED)})"


CREATE = [
    # Letter runs and digit runs, upper-cased, each kept to 64 characters, once each.
    "CREATE FUNCTION complaint_search_tokens(text) RETURNS text[] "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 500 AS $$ "
    "SELECT coalesce(array_agg(DISTINCT left(m[1], 64)), '{}') "
    "FROM regexp_matches(upper($1), '[[:alpha:]]+|[[:digit:]]+', 'g') AS m $$",
    "CREATE FUNCTION complaint_search_vector(text) RETURNS tsvector "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 500 AS $$ "
    "SELECT array_to_tsvector(complaint_search_tokens($1)) $$",
    "ALTER TABLE cases_complaint ADD COLUMN search_words tsvector "
    f"GENERATED ALWAYS AS (complaint_search_vector({SEARCH_TEXT})) STORED",
    f"CREATE TABLE {TOKENS} ("
    'token text COLLATE "C" NOT NULL, complaint_id bigint NOT NULL, current_due date, '
    "received_at timestamptz NOT NULL, status varchar(20) NOT NULL, assignee_id integer, "
    "channel varchar(12) NOT NULL, category_id bigint)",
    f"INSERT INTO {TOKENS} {_token_rows('cases_complaint')}",
    f"CREATE INDEX complaint_search_token_order ON {TOKENS} "
    "(token, current_due ASC NULLS LAST, received_at DESC, complaint_id DESC) "
    "INCLUDE (status, assignee_id, channel, category_id)",
    f"CREATE INDEX complaint_search_token_case ON {TOKENS} (complaint_id)",
    f"CREATE INDEX complaint_search_words ON cases_complaint USING gin (search_words)",
    "DROP INDEX IF EXISTS complaint_search_trgm",
    # The triggers that keep the words equal to the complaints.
    "CREATE FUNCTION cases_complaint_search_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"INSERT INTO {TOKENS} {_token_rows('added')}; RETURN NULL; END $$",
    "CREATE FUNCTION cases_complaint_search_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"WITH changed AS (SELECT a.* FROM after_rows AS a JOIN before_rows AS b ON b.id = a.id WHERE {_differs('a', 'b')}), "
    f"removed AS (DELETE FROM {TOKENS} AS t USING changed WHERE t.complaint_id = changed.id) "
    f"INSERT INTO {TOKENS} {_token_rows('changed')}; RETURN NULL; END $$",
    "CREATE FUNCTION cases_complaint_search_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"DELETE FROM {TOKENS} AS t USING removed_rows AS r WHERE t.complaint_id = r.id; RETURN NULL; END $$",
    "CREATE FUNCTION cases_complaint_search_emptied() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"TRUNCATE {TOKENS}; RETURN NULL; END $$",
    "CREATE TRIGGER cases_complaint_search_added AFTER INSERT ON cases_complaint "
    "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION cases_complaint_search_added()",
    "CREATE TRIGGER cases_complaint_search_changed AFTER UPDATE ON cases_complaint "
    "REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION cases_complaint_search_changed()",
    "CREATE TRIGGER cases_complaint_search_removed AFTER DELETE ON cases_complaint "
    "REFERENCING OLD TABLE AS removed_rows FOR EACH STATEMENT EXECUTE FUNCTION cases_complaint_search_removed()",
    "CREATE TRIGGER cases_complaint_search_emptied AFTER TRUNCATE ON cases_complaint "
    "FOR EACH STATEMENT EXECUTE FUNCTION cases_complaint_search_emptied()",
    f"ANALYZE {TOKENS}",
    "ANALYZE cases_complaint",
]
DROP = [
    *[f"DROP TRIGGER IF EXISTS cases_complaint_search_{name} ON cases_complaint" for name in ("added", "changed", "removed", "emptied")],
    *[f"DROP FUNCTION IF EXISTS cases_complaint_search_{name}()" for name in ("added", "changed", "removed", "emptied")],
    f"DROP TABLE IF EXISTS {TOKENS}",
    "ALTER TABLE cases_complaint DROP COLUMN IF EXISTS search_words",
    "DROP FUNCTION IF EXISTS complaint_search_vector(text)",
    "DROP FUNCTION IF EXISTS complaint_search_tokens(text)",
    "CREATE INDEX IF NOT EXISTS complaint_search_trgm "
    f"ON cases_complaint USING gin (UPPER({SEARCH_TEXT}::text) gin_trgm_ops)",
    "ALTER INDEX complaint_search_trgm ALTER COLUMN 1 SET STATISTICS 500",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite (laptops, tests): cases.search reads the complaints themselves
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("cases", "0010_open_category_search_statistics")]

    operations = [
        migrations.CreateModel(
            name="ComplaintSearchToken",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "token", "complaint", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("token", models.TextField()),
                ("current_due", models.DateField(null=True)),
                ("received_at", models.DateTimeField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("received", "Received"),
                            ("acknowledged", "Acknowledged"),
                            ("investigating", "Under investigation"),
                            ("awaiting_client", "Waiting for information from the client"),
                            ("responded", "Responded"),
                            ("under_appeal", "Under appeal"),
                            ("closed", "Closed"),
                            ("withdrawn", "Withdrawn"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("web", "Web form"),
                            ("phone", "Phone"),
                            ("email", "Email"),
                            ("letter", "Letter"),
                            ("in_person", "In person"),
                        ],
                        max_length=12,
                    ),
                ),
            ],
            options={"db_table": "cases_complaint_search_token", "managed": False},
        ),
        migrations.RunPython(_run(CREATE), _run(DROP), elidable=False),
    ]
